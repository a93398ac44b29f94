//! `trimtab check`: validates one config and prints its one-line summary, or every problem in
//! it. The config is the one asked for explicitly: `--config FILE`, else the TOML in
//! `$TRIMTAB_CONFIG` (as a task definition passes it), else `--example` for the example
//! embedded in the binary. With none of them it is a usage error: checking the embedded
//! example silently would report "ok" for a file nobody wrote.
//!
//! With `--format json` the answer is one document on stdout, `{"ok":true,"file","summary"}`
//! or `{"ok":false,"file","problems":[…]}`, each problem located as the text form locates it
//! (`file`, `line`, `column`, `key`, `message`); a bad config exits 2 either way.

use serde::Serialize;

use super::args::{CheckArgs, Format};
use super::{UsageError, out, setup};
use crate::config::{self, Config, ConfigError, Diagnostic};

/// What `check` says when it is given no config at all.
pub const NO_CONFIG: &str = "no config to check: pass --config FILE, set TRIMTAB_CONFIG to the config's TOML, \
                             or pass --example to check the example embedded in trimtab";

/// `trimtab check`.
pub fn command(args: &CheckArgs) -> anyhow::Result<()> {
    let (file, loaded) = load(args)?;
    match (args.output.format, loaded) {
        (Format::Table, Ok(c)) => out::line(&format!("ok: {}: {}", c.file, summary(&c)))?,
        (Format::Table, Err(e)) => return Err(e.into()),
        (Format::Json, Ok(c)) => out::json(&Checked::valid(&c))?,
        (Format::Json, Err(e)) => {
            let checked = Checked::invalid(file, &e);
            out::before_failing(out::json(&checked))?;
            let n = checked.problems.len();
            return Err(UsageError(format!("{n} problem{} in config", if n == 1 { "" } else { "s" })).into());
        }
    }
    Ok(())
}

/// The config's name and the config (or why it is not one), from the flag or the environment.
fn load(args: &CheckArgs) -> Result<(String, Result<Config, ConfigError>), UsageError> {
    if args.example {
        let c = config::from_str(super::EMBEDDED_NAME, super::EMBEDDED_EXAMPLE);
        return Ok((super::EMBEDDED_NAME.to_owned(), c));
    }
    if let Some(path) = &args.config {
        return Ok((path.display().to_string(), config::load(path)));
    }
    let name = setup::CONFIG_ENV_NAME;
    match setup::config_from_env() {
        Some(text) => Ok((name.to_owned(), config::from_str(name, &text))),
        None => Err(UsageError(NO_CONFIG.to_owned())),
    }
}

/// `check --format json`'s document: the same fields whether the config is valid or not.
#[derive(Debug, Serialize)]
pub struct Checked {
    pub ok: bool,
    /// The config as named in messages: its path, `$TRIMTAB_CONFIG`, or the embedded example.
    pub file: String,
    /// The one-line summary of a valid config (without the `ok: FILE: ` of the text form).
    pub summary: Option<String>,
    /// Every problem of an invalid config; empty when it is valid.
    pub problems: Vec<Problem>,
}

/// One problem, located as the text form locates it (`FILE:LINE:COL: key: message`).
#[derive(Debug, Serialize)]
pub struct Problem {
    /// The file the problem is in: the config, or the template a bad value came from.
    pub file: String,
    /// 1-based; `None` when the file could not be read.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The key path, e.g. `scaling.metrics[1].weight`; `None` for a syntax error.
    pub key: Option<String>,
    pub message: String,
}

impl Checked {
    pub fn valid(c: &Config) -> Checked {
        Checked { ok: true, file: c.file.clone(), summary: Some(summary(c)), problems: vec![] }
    }

    pub fn invalid(file: String, e: &ConfigError) -> Checked {
        let problems = match e {
            ConfigError::Invalid(diags) => diags.iter().map(Problem::from).collect(),
            ConfigError::Read { path, source } => vec![Problem {
                file: path.display().to_string(),
                line: None,
                column: None,
                key: None,
                message: format!("{e}: {source}"),
            }],
        };
        Checked { ok: false, file, summary: None, problems }
    }
}

impl From<&Diagnostic> for Problem {
    fn from(d: &Diagnostic) -> Problem {
        Problem {
            file: d.file.clone(),
            line: Some(d.line),
            column: Some(d.column),
            key: d.path.clone(),
            message: d.message.clone(),
        }
    }
}

/// `trimtab check`'s summary of a valid config (printed after `ok: FILE: `).
pub fn summary(c: &Config) -> String {
    if let Some(f) = &c.fleet {
        let discovery = f
            .discovery
            .as_ref()
            .map_or(String::new(), |d| format!(", discovery by tag {} in {}", d.tag, d.clusters.join(", ")));
        let members = match (&f.controller.cluster, &f.controller.service) {
            (Some(c), Some(s)) => format!("shares the fleet with the healthy tasks of {c}/{s}"),
            _ => "runs alone".to_owned(),
        };
        let names: Vec<&str> = f.policies.keys().map(String::as_str).collect();
        return format!(
            "controller ({members}), {} polic{} ({}), {} listed service{}{discovery}",
            names.len(),
            if names.len() == 1 { "y" } else { "ies" },
            names.join(", "),
            f.services.len(),
            plural(f.services.len()),
        );
    }
    let p = &c.scaling.policy;
    let service = c.service.as_ref().map_or_else(
        || "no [service] (fine for explain and simulate; `trimtab run` needs one, or --local)".to_owned(),
        |s| format!("service {}/{}", s.cluster, s.name),
    );
    let budget = c.budget.as_ref().map_or(String::new(), |b| {
        format!(
            ", budget {}/{}",
            b.amount,
            if b.period == crate::core::cost::PeriodKind::Daily { "day" } else { "month" }
        )
    });
    let windows = p.schedules.len();
    format!(
        "{service}, template {}, {} metric{}, bounds {}, {windows} schedule window{}{budget}",
        c.scaling.template,
        p.metrics.len(),
        plural(p.metrics.len()),
        p.bounds,
        plural(windows),
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
