//! What the subcommands do and print. `main.rs` parses the arguments ([`args`]), calls the
//! command's function here and maps its error to an exit code; each command's logic lives in its
//! module (`explain::command`, `simulate::command`, …), and the text and JSON shown to users is
//! built by plain functions that tests can read.

pub mod alarms;
pub mod args;
pub mod cost;
pub mod explain;
pub mod fleet;
pub mod health;
pub mod logs;
pub mod rightsize;
pub mod run;
pub mod schedule;
pub mod setup;
pub mod simulate;
pub mod table;
pub mod tags;

use anyhow::bail;

use crate::config::{Config, templates};

/// The example config embedded in the binary: the default when no `--config` is given.
pub const EMBEDDED_EXAMPLE: &str = include_str!("../../examples/trimtab.toml");
pub const EMBEDDED_NAME: &str = "<embedded examples/trimtab.toml>";

/// What `trimtab run` says of a config without `[service]`, and `check` says before it.
pub const RUN_NEEDS_SERVICE: &str =
    "`trimtab run` needs a [service] section (cluster, name) to scale, or --local to try it on this machine";

/// A failure that is the user's input, not the runtime: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// `trimtab check`: the config's one-line summary, or its errors.
pub fn check(arg: &args::ConfigArg) -> anyhow::Result<()> {
    println!("{}", check_summary(&setup::load(arg)?));
    Ok(())
}

/// `trimtab policies [NAME]`: the list of templates, or one template in full.
pub fn policies(name: Option<String>) -> anyhow::Result<()> {
    match name {
        None => print!("{}", policies_list()),
        Some(n) => match templates::get(&n) {
            Some(t) => print!("{}", t.text),
            None => {
                bail!(UsageError(format!("unknown template {n:?}; known: {}", templates::names().join(", "))))
            }
        },
    }
    Ok(())
}

/// `trimtab schema`: the config's JSON Schema, pretty-printed.
pub fn schema() -> anyhow::Result<()> {
    print!("{}", crate::config::schema::pretty());
    Ok(())
}

/// `trimtab check`'s one-line summary of a valid config.
pub fn check_summary(c: &Config) -> String {
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
            "ok: {}: controller ({members}), {} polic{} ({}), {} listed service{}{discovery}",
            c.file,
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
        "ok: {}: {service}, template {}, {} metric{}, bounds {}, {windows} schedule window{}{budget}",
        c.file,
        c.scaling.template,
        p.metrics.len(),
        plural(p.metrics.len()),
        p.bounds,
        plural(windows),
    )
}

/// `trimtab policies`: one line per template.
pub fn policies_list() -> String {
    let width = templates::ALL.iter().map(|t| t.name.len()).max().unwrap_or(0);
    templates::ALL.iter().map(|t| format!("{:<width$}  {}\n", t.name, t.summary())).collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
