//! Configuration: a TOML file read in two phases.
//!
//! Phase one ([`parse`]) turns text into raw structs that deny unknown keys, collecting every
//! syntax error and every wrong-type or unknown key, each by key path. Phase two ([`validate`])
//! merges the named policy template under the user's `[scaling]` and checks every value,
//! again collecting every problem. Nothing is applied unless both phases pass. Each problem is
//! then located — `FILE:LINE:COL: key.path: message` — in the user's file, or in the template's
//! file when the offending value came from the template.

pub mod duration;
pub mod error;
pub mod fleet;
pub mod model;
pub mod parse;
pub mod raw;
pub mod span;
pub mod templates;
pub mod validate;

use std::path::Path;

pub use error::{ConfigError, Diagnostic};
pub use model::{
    AgentConfig, Architecture, Budget, Config, CostConfig, LaunchType, MetricSource, NotifyTarget,
    ScalingConfig, ServiceConfig, SourceKind,
};
pub use validate::cost::price_sheet;

use error::{Problem, Problems};
use parse::Parsed;
use raw::RawScaling;
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
    let (parsed, mut problems) = parse::parse(file, text).map_err(ConfigError::Invalid)?;
    let name = parsed
        .raw
        .scaling
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_else(|| templates::DEFAULT.into());
    if templates::get(&name).is_none() {
        let known = templates::names().join(", ");
        problems.push("scaling.template", format!("unknown template {name:?}; known templates: {known}"));
    }
    // With an unknown name, validate on the default template so no follow-on errors appear.
    let t = templates::get(&name)
        .or_else(|| templates::get(templates::DEFAULT))
        .expect("the default template exists");
    let (template_file, template) = (t.file(), load_template(t)?);
    let empty = RawScaling::default();
    let base = template.raw.scaling.as_ref().unwrap_or(&empty);
    let more = match validate::validate(file, &parsed.raw, base) {
        Ok(config) if problems.is_empty() => return Ok(config),
        Ok(_) => Problems::default(),
        Err(p) => p,
    };
    let located =
        Locator { file, index: &parsed.index, template: Some((template_file.as_str(), &template.index)) };
    let mut diags: Vec<Diagnostic> =
        problems.into_inner().into_iter().chain(more.into_inner()).map(|p| located.diagnostic(p)).collect();
    diags.sort();
    diags.dedup();
    Err(ConfigError::Invalid(diags))
}

/// Parses a shipped template; it must hold nothing but a valid `[scaling]` table.
fn load_template(t: &templates::Template) -> Result<Parsed, ConfigError> {
    let (parsed, problems) = parse::parse(&t.file(), t.text).map_err(ConfigError::Invalid)?;
    let stray = parsed.raw.agent.is_some()
        || parsed.raw.service.is_some()
        || parsed.raw.budget.is_some()
        || parsed.raw.cost.is_some()
        || !parsed.raw.notify.is_empty()
        || !parsed.raw.schedule.is_empty();
    if problems.is_empty() && !stray {
        return Ok(parsed);
    }
    let locator = Locator { file: &t.file(), index: &parsed.index, template: None };
    let mut diags: Vec<Diagnostic> =
        problems.into_inner().into_iter().map(|p| locator.diagnostic(p)).collect();
    if stray {
        let p = Problem {
            path: "scaling".into(),
            message: "a template may hold only a [scaling] table".into(),
            offset: None,
        };
        diags.push(locator.diagnostic(p));
    }
    Err(ConfigError::Invalid(diags))
}

/// Finds the file, line and column a key path refers to.
struct Locator<'a> {
    file: &'a str,
    index: &'a SpanIndex,
    template: Option<(&'a str, &'a SpanIndex)>,
}

impl Locator<'_> {
    fn diagnostic(&self, p: Problem) -> Diagnostic {
        let (file, index) = self.owner(&p.path);
        let at = match p.offset {
            Some(offset) => index.locate_in(&p.path, offset),
            None => index.locate(&p.path),
        };
        let (line, column) = at.unwrap_or((1, 1));
        Diagnostic { file: file.to_owned(), line, column, path: Some(p.path), message: p.message }
    }

    /// A `scaling` value the user did not write came from the template. The metric list is
    /// owned whole: by the user if they wrote `scaling.metrics`, else by the template.
    fn owner(&self, path: &str) -> (&str, &SpanIndex) {
        let user = (self.file, self.index);
        let Some((tfile, tindex)) = self.template else { return user };
        let key = if path.starts_with("scaling.metrics") { "scaling.metrics" } else { path };
        let from_template = key.starts_with("scaling.") && !self.index.contains(key) && tindex.contains(key);
        if from_template { (tfile, tindex) } else { user }
    }
}

#[cfg(test)]
mod schedule_tests;
#[cfg(test)]
mod tests;
