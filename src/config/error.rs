//! Config errors: every problem found, each with file, line, column and key path.

use std::fmt;
use std::path::PathBuf;

/// One problem in a config file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The key path, e.g. `scaling.metrics[1].weight`; `None` for syntax errors.
    pub path: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if let Some(p) = &self.path {
            write!(f, "{p}: ")?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
}

impl ConfigError {
    /// The individual problems (empty for a read error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Invalid(d) => d,
            ConfigError::Read { .. } => &[],
        }
    }
}

fn render(diags: &[Diagnostic]) -> String {
    let n = diags.len();
    let mut out = format!("invalid config: {n} error{}", if n == 1 { "" } else { "s" });
    for d in diags {
        out.push_str("\n  ");
        out.push_str(&d.to_string());
    }
    out
}

/// A problem found by key path, before it is located in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
    /// For a problem with one part of a string value: the part's byte offset in the value.
    pub offset: Option<usize>,
}

/// Problems found by key path, before they are located in a file.
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { path: path.into(), message: message.into(), offset: None });
    }

    /// A problem with the part of `path`'s string value that starts at byte `offset`.
    pub fn push_in(&mut self, path: impl Into<String>, offset: usize, message: impl Into<String>) {
        self.0.push(Problem { path: path.into(), message: message.into(), offset: Some(offset) });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_inner(self) -> Vec<Problem> {
        self.0
    }
}
