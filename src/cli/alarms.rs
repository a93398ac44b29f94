//! `trimtab alarms`: the service's CloudWatch alarms, as they are and as the config wants them;
//! with `--apply`, put the ones missing or different. With `--format json`: `{"applied",
//! "changed","alarms":[{"name","change",…}]}`, where `change` is what applying did (or, without
//! `--apply`, would do): `created`, `updated` or `unchanged`.

use std::collections::BTreeMap;

use anyhow::bail;
use serde::Serialize;

use super::args::AlarmsArgs;
use super::setup::{cloudwatch, runtime};
use super::table::Table;
use super::{UsageError, out};
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
    let plan_view = PlanView::of(&plan, args.apply);
    out::emit(args.output.format, &plan_view, |_| table(&plan, args.apply))?;
    Ok(())
}

/// `trimtab alarms --format json`.
#[derive(Debug, Serialize)]
pub struct PlanView {
    /// Whether the alarms were put (`--apply`) or only compared.
    pub applied: bool,
    /// How many alarms were (or would be) created or updated.
    pub changed: usize,
    pub alarms: Vec<AlarmView>,
}

/// One alarm as trimtab wants it, and what applying did (or would do) to it.
#[derive(Debug, Serialize)]
pub struct AlarmView {
    pub name: String,
    /// `created`, `updated` or `unchanged`.
    pub change: &'static str,
    pub description: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: BTreeMap<String, String>,
    pub statistic: String,
    /// `above` or `below` the threshold.
    pub comparison: &'static str,
    pub threshold: f64,
    pub period_seconds: i32,
    pub evaluation_periods: i32,
    pub treat_missing_data: String,
    pub actions: Vec<String>,
}

impl PlanView {
    pub fn of(plan: &[(AlarmSpec, Change)], applied: bool) -> PlanView {
        let alarms: Vec<AlarmView> = plan.iter().map(|(a, c)| AlarmView::of(a, *c)).collect();
        let changed = plan.iter().filter(|(_, c)| *c != Change::Unchanged).count();
        PlanView { applied, changed, alarms }
    }
}

impl AlarmView {
    fn of(a: &AlarmSpec, change: Change) -> AlarmView {
        AlarmView {
            name: a.name.clone(),
            change: change.as_str(),
            description: a.description.clone(),
            namespace: a.namespace.clone(),
            metric: a.metric.clone(),
            dimensions: a.dimensions.iter().cloned().collect(),
            statistic: a.statistic.clone(),
            comparison: match a.comparison {
                Comparison::Above => "above",
                Comparison::Below => "below",
            },
            threshold: a.threshold,
            period_seconds: a.period_seconds,
            evaluation_periods: a.evaluation_periods,
            treat_missing_data: a.treat_missing_data.clone(),
            actions: a.actions.clone(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_plan_names_each_alarm_and_what_applying_does() {
        let cfg = config::from_str("t.toml", super::super::EMBEDDED_EXAMPLE).unwrap();
        let wanted = alarms::wanted(cfg.service.as_ref().unwrap(), &cfg.alarms);
        let plan: Vec<(AlarmSpec, Change)> =
            wanted.into_iter().zip([Change::Created, Change::Unchanged, Change::Updated]).collect();
        let v = serde_json::to_value(PlanView::of(&plan, false)).unwrap();
        assert_eq!((&v["applied"], &v["changed"]), (&serde_json::json!(false), &serde_json::json!(2)));
        let first = &v["alarms"][0];
        assert_eq!((&first["change"], &first["comparison"]), (&"created".into(), &"above".into()));
        assert_eq!(first["dimensions"]["ServiceName"], "web", "{first:#}");
        assert_eq!(v["alarms"][1]["change"], "unchanged");
    }
}
