//! Configuration: a TOML file read in two phases.
//!
//! Phase one ([`parse`]) turns text into raw structs that deny unknown keys, collecting every
//! syntax error and every wrong-type or unknown key, each by key path. Phase two ([`validate`])
//! merges the named policy template under the user's `[scaling]` (or under each of a
//! controller's `[policies.NAME]`) and checks every value, again collecting every problem.
//! Nothing is applied unless both phases pass. Each problem is then located —
//! `FILE:LINE:COL: key.path: message` — in the user's file, or in the template's file when the
//! offending value came from the template. [`fleet`] holds what a controller checks at run time:
//! the policy a discovered service's tags ask for.

pub mod defaults;
pub mod duration;
pub mod error;
pub mod fleet;
pub mod model;
pub mod parse;
pub mod raw;
pub mod schema;
pub mod span;
pub mod suggest;
pub mod templates;
pub mod validate;

use std::path::Path;

pub use error::{ConfigError, Diagnostic};
pub use fleet::policy_for;
pub use model::{
    AgentConfig, Architecture, Budget, Config, CostConfig, EventType, FleetConfig, LaunchType, MetricSource,
    Mode, NotifyConfig, NotifyTarget, ScalingConfig, ServiceConfig, SourceKind,
};
pub use validate::cost::price_sheet;

use error::{Problem, Problems};
use parse::Parsed;
use raw::RawConfig;
use span::SpanIndex;

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    from_str(&path.display().to_string(), &text)
}

/// Validates config `text`; `file` names it in error messages. Validation does not depend on
/// the date: a schedule window whose years are past is valid (it never opens again, which is
/// harmless), so a config that ran yesterday never stops the agent today.
pub fn from_str(file: &str, text: &str) -> Result<Config, ConfigError> {
    let (parsed, problems) = parse::parse(file, text).map_err(ConfigError::Invalid)?;
    let shipped = shipped_templates()?;
    let raws: validate::Templates =
        shipped.iter().map(|(t, p)| (t.name, p.raw.scaling.clone().unwrap_or_default())).collect();
    let more = match validate::validate(file, &parsed.raw, &raws) {
        Ok(config) if problems.is_empty() => return Ok(config),
        Ok(_) => Problems::default(),
        Err(p) => p,
    };
    let located = Locator { file, index: &parsed.index, templates: template_owners(&parsed.raw, &shipped) };
    let mut diags: Vec<Diagnostic> =
        problems.into_inner().into_iter().chain(more.into_inner()).map(|p| located.diagnostic(p)).collect();
    diags.sort();
    diags.dedup();
    Err(ConfigError::Invalid(diags))
}

/// Every shipped template, parsed.
fn shipped_templates() -> Result<Vec<(&'static templates::Template, Parsed)>, ConfigError> {
    templates::ALL.iter().map(|t| Ok((t, load_template(t)?))).collect()
}

/// Each policy table of `raw` (`scaling`, `policies.NAME`) with the file and index of the
/// template it builds on (the default one for an unknown name, as validation did).
fn template_owners<'t>(
    raw: &RawConfig,
    shipped: &'t [(&'static templates::Template, Parsed)],
) -> Vec<(String, String, &'t SpanIndex)> {
    let tables = std::iter::once(("scaling".to_owned(), raw.scaling.as_ref()))
        .chain(raw.policies.iter().map(|(n, p)| (format!("policies.{n}"), p.as_ref().map(|p| &p.scaling))));
    let by_name = |n: &str| shipped.iter().find(|(t, _)| t.name == n);
    tables
        .map(|(prefix, user)| {
            let name = user.and_then(|s| s.template.as_deref()).unwrap_or(templates::DEFAULT);
            let (t, parsed) =
                by_name(name).or_else(|| by_name(templates::DEFAULT)).expect("the default template exists");
            (prefix, t.file(), &parsed.index)
        })
        .collect()
}

/// Parses a shipped template; it must hold nothing but a valid `[scaling]` table. Any other
/// section it writes, known or not, is refused at that section.
fn load_template(t: &templates::Template) -> Result<Parsed, ConfigError> {
    let (parsed, problems) = parse::parse(&t.file(), t.text).map_err(ConfigError::Invalid)?;
    let stray: Vec<&String> = parsed.sections.iter().filter(|s| *s != "scaling").collect();
    if problems.is_empty() && stray.is_empty() {
        return Ok(parsed);
    }
    let locator = Locator { file: &t.file(), index: &parsed.index, templates: vec![] };
    let stray = stray.into_iter().map(|s| Problem {
        path: s.clone(),
        message: format!("a template may hold only a [scaling] table, not [{s}]"),
        offset: None,
    });
    let mut diags: Vec<Diagnostic> =
        problems.into_inner().into_iter().chain(stray).map(|p| locator.diagnostic(p)).collect();
    diags.sort();
    diags.dedup();
    Err(ConfigError::Invalid(diags))
}

/// Finds the file, line and column a key path refers to.
struct Locator<'a> {
    file: &'a str,
    index: &'a SpanIndex,
    /// Each policy table's key path prefix (`scaling`, `policies.NAME`) with its template's file
    /// and index.
    templates: Vec<(String, String, &'a SpanIndex)>,
}

impl Locator<'_> {
    fn diagnostic(&self, p: Problem) -> Diagnostic {
        let (file, index, path) = self.owner(&p.path);
        let at = match p.offset {
            Some(offset) => index.locate_in(&path, offset),
            None => index.locate(&path),
        };
        let (line, column) = at.unwrap_or((1, 1));
        Diagnostic { file: file.to_owned(), line, column, path: Some(p.path), message: p.message }
    }

    /// Where `path` is written, and its path there. A value of a policy table that the user did
    /// not write came from the table's template, where it sits under `scaling`. The metric list
    /// is owned whole: by the user if they wrote the table's `metrics`, else by the template.
    fn owner(&self, path: &str) -> (&str, &SpanIndex, String) {
        let user = (self.file, self.index, path.to_owned());
        let Some((prefix, tfile, tindex)) = self
            .templates
            .iter()
            .find(|(prefix, ..)| path.strip_prefix(prefix.as_str()).is_some_and(|r| r.starts_with('.')))
        else {
            return user;
        };
        let rest = &path[prefix.len()..];
        let (mine, theirs) = if rest.starts_with(".metrics") {
            (format!("{prefix}.metrics"), "scaling.metrics".to_owned())
        } else {
            (path.to_owned(), format!("scaling{rest}"))
        };
        if self.index.contains(&mine) || !tindex.contains(&theirs) {
            return user;
        }
        (tfile, tindex, format!("scaling{rest}"))
    }
}

#[cfg(test)]
mod fleet_tests;
#[cfg(test)]
mod schedule_tests;
#[cfg(test)]
mod tests;
