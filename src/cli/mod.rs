//! What the subcommands print. `main.rs` parses arguments and maps errors to exit codes; the
//! text and JSON shown to users is built here, where tests can read it.

pub mod args;
pub mod cost;
pub mod explain;
pub mod logs;
pub mod rightsize;
pub mod schedule;
pub mod setup;
pub mod simulate;
pub mod table;

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

/// `trimtab check`'s one-line summary of a valid config.
pub fn check_summary(c: &Config) -> String {
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

/// `trimtab alarms`: one line per alarm with what applying did (or would do).
pub fn alarms_table(plan: &[(crate::aws::AlarmSpec, crate::agent::alarms::Change)], applied: bool) -> String {
    use crate::agent::alarms::Change;
    let mut t =
        table::Table::new(["alarm", if applied { "result" } else { "would be" }, "metric", "condition"]);
    for (a, change) in plan {
        let op = match a.comparison {
            crate::aws::Comparison::Above => ">",
            crate::aws::Comparison::Below => "<",
        };
        t.row(vec![
            a.name.clone(),
            change.as_str().to_owned(),
            format!("{}/{} {}", a.namespace, a.metric, a.statistic),
            format!(
                "{op} {} for {}x{}s, missing data: {}",
                a.threshold, a.evaluation_periods, a.period_seconds, a.treat_missing_data
            ),
        ]);
    }
    let changed = plan.iter().filter(|(_, c)| *c != Change::Unchanged).count();
    let mut out = t.render();
    let verb = if applied { "changed" } else { "would change; run with --apply to put them" };
    out.push_str(&format!("{changed} of {} alarms {verb}\n", plan.len()));
    out
}

/// `trimtab run --once`: the tick's decision, metric by metric, and what was done about it.
pub fn tick_report(t: &crate::status::Tick, policy: &crate::core::Policy) -> String {
    use crate::status::Action;
    let mut out = String::new();
    if let Some(s) = &t.service {
        let deploying = if s.deployment_in_progress { ", deployment in progress" } else { "" };
        out.push_str(&format!(
            "service: desired {}, running {}, pending {}{deploying}\n",
            s.desired, s.running, s.pending
        ));
    }
    for (metric, why) in &t.problems {
        out.push_str(&format!("missing: {metric}: {why}\n"));
    }
    if let Some(d) = &t.decision {
        out.push('\n');
        out.push_str(&explain::render(d, policy));
    }
    let action = match &t.action {
        Action::Skipped => format!("none: {}", t.error.as_deref().unwrap_or("no decision")),
        other => other.to_string(),
    };
    out.push_str(&format!("\naction: {action}\n"));
    // A tick that decided can still have stopped short (its deadline) or failed after.
    if let (Some(error), false) = (&t.error, t.action == Action::Skipped) {
        out.push_str(&format!("error: {error}\n"));
    }
    out
}
