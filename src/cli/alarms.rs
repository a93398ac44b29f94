//! `trimtab alarms`: the service's CloudWatch alarms, as they are and as the config wants them;
//! with `--apply`, put the ones missing or different.

use anyhow::bail;

use super::UsageError;
use super::args::AlarmsArgs;
use super::setup::{cloudwatch, runtime};
use super::table::Table;
use crate::agent::alarms::{self, Change};
use crate::aws::{AlarmSpec, Comparison};
use crate::config;

pub fn command(args: AlarmsArgs) -> anyhow::Result<()> {
    let cfg = config::load(&args.config)?;
    let Some(svc) = &cfg.service else {
        bail!(UsageError(format!("{}: alarms watch a service: add a [service] section", cfg.file)));
    };
    let rt = runtime()?;
    let plan = rt.block_on(async {
        let cw = cloudwatch(svc, false).await;
        if args.apply {
            alarms::apply(&cw, svc, &cfg.alarms).await
        } else {
            alarms::plan(&cw, svc, &cfg.alarms).await
        }
    })?;
    print!("{}", table(&plan, args.apply));
    Ok(())
}

/// `trimtab alarms`: one line per alarm with what applying did (or would do).
pub fn table(plan: &[(AlarmSpec, Change)], applied: bool) -> String {
    let mut t = Table::new(["alarm", if applied { "result" } else { "would be" }, "metric", "condition"]);
    for (a, change) in plan {
        let op = match a.comparison {
            Comparison::Above => ">",
            Comparison::Below => "<",
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
