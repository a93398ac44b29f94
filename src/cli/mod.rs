//! What the subcommands do and print. `main.rs` parses the arguments ([`args`]), calls the
//! command's function here and maps its error to an exit code; each command's logic lives in its
//! module (`explain::command`, `simulate::command`, …), and the text and JSON shown to users is
//! built by plain functions that tests can read, and written to stdout through [`out`] (one
//! `--format table|json` on every command that prints, and a quiet exit 0 on a closed pipe).

pub mod alarms;
pub mod args;
pub mod check;
pub mod cost;
pub mod docs;
pub mod explain;
pub mod fleet;
pub mod health;
pub mod logs;
pub mod out;
pub mod policies;
pub mod rightsize;
pub mod run;
pub mod schedule;
pub mod setup;
pub mod simulate;
pub mod table;
pub mod tags;

use crate::config::Config;

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

/// `trimtab check`.
pub fn check(args: &args::CheckArgs) -> anyhow::Result<()> {
    check::command(args)
}

/// `trimtab policies [NAME]`.
pub fn policies(args: args::PoliciesArgs) -> anyhow::Result<()> {
    policies::command(args)
}

/// `trimtab check`'s summary of a valid config (printed after `ok: FILE: `).
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
