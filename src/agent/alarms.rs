//! The service's CloudWatch alarms: high CPU, high memory, the agent's own heartbeat (missing
//! data counts as breaching, so a dead or stuck scaler raises an alarm), and with a `[budget]`
//! the forecast passing the critical level (the agent publishes `BudgetForecast` each tick). Names are
//! prefixed `trimtab-<cluster>-<service>-`; applying is idempotent: an alarm that already
//! matches is left alone.

use crate::aws::{AlarmSpec, AwsError, CloudWatch, Comparison};
use crate::config::model::{AlarmsConfig, ServiceConfig};

use super::restore;

pub fn prefix(svc: &ServiceConfig) -> String {
    format!("trimtab-{}-{}-", svc.cluster, svc.name)
}

/// The alarms the config asks for.
pub fn wanted(svc: &ServiceConfig, a: &AlarmsConfig) -> Vec<AlarmSpec> {
    let ecs_dims =
        vec![("ClusterName".to_owned(), svc.cluster.clone()), ("ServiceName".to_owned(), svc.name.clone())];
    let p = prefix(svc);
    let high = |what: &str, metric: &str, threshold: f64| AlarmSpec {
        name: format!("{p}{what}-high"),
        description: format!(
            "trimtab: {} service {}/{} average {what} above {threshold}% for 3 minutes",
            "ECS", svc.cluster, svc.name
        ),
        namespace: "AWS/ECS".into(),
        metric: metric.into(),
        dimensions: ecs_dims.clone(),
        statistic: "Average".into(),
        period_seconds: 60,
        evaluation_periods: 3,
        threshold,
        comparison: Comparison::Above,
        treat_missing_data: "missing".into(),
        actions: a.actions.clone(),
    };
    let heartbeat = AlarmSpec {
        name: format!("{p}heartbeat-missing"),
        description: format!(
            "trimtab: the scaling agent of {}/{} sent no heartbeat for {} minutes",
            svc.cluster, svc.name, a.heartbeat_minutes
        ),
        namespace: restore::NAMESPACE.into(),
        metric: restore::HEARTBEAT.into(),
        dimensions: restore::dimensions(&svc.cluster, &svc.name),
        statistic: "SampleCount".into(),
        period_seconds: 60,
        evaluation_periods: i32::try_from(a.heartbeat_minutes).unwrap_or(3),
        threshold: 1.0,
        comparison: Comparison::Below,
        treat_missing_data: "breaching".into(),
        actions: a.actions.clone(),
    };
    let mut all = vec![
        high("cpu", "CPUUtilization", a.cpu_high),
        high("memory", "MemoryUtilization", a.memory_high),
        heartbeat,
    ];
    if let Some(critical) = a.budget_forecast {
        all.push(AlarmSpec {
            name: format!("{p}budget-forecast"),
            description: format!(
                "trimtab: {}/{} is forecast to spend more than {critical} (the budget's critical level) this period",
                svc.cluster, svc.name
            ),
            namespace: restore::NAMESPACE.into(),
            metric: super::spend::FORECAST.into(),
            dimensions: restore::dimensions(&svc.cluster, &svc.name),
            statistic: "Maximum".into(),
            period_seconds: 300,
            evaluation_periods: 1,
            threshold: critical.as_usd(),
            comparison: Comparison::Above,
            treat_missing_data: "notBreaching".into(),
            actions: a.actions.clone(),
        });
    }
    all
}

/// What `apply` did to each alarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Updated => "updated",
            Change::Unchanged => "unchanged",
        }
    }
}

/// What would change, without changing anything (one `DescribeAlarms`).
pub async fn plan(
    cw: &CloudWatch,
    svc: &ServiceConfig,
    a: &AlarmsConfig,
) -> Result<Vec<(AlarmSpec, Change)>, AwsError> {
    let existing = cw.alarms(&prefix(svc)).await?;
    Ok(wanted(svc, a)
        .into_iter()
        .map(|w| {
            let change = match existing.iter().find(|e| e.name == w.name) {
                None => Change::Created,
                Some(e) if same(e, &w) => Change::Unchanged,
                Some(_) => Change::Updated,
            };
            (w, change)
        })
        .collect())
}

/// Puts the alarms that are missing or differ; returns the plan that was carried out.
pub async fn apply(
    cw: &CloudWatch,
    svc: &ServiceConfig,
    a: &AlarmsConfig,
) -> Result<Vec<(AlarmSpec, Change)>, AwsError> {
    let plan = plan(cw, svc, a).await?;
    for (spec, change) in &plan {
        if *change != Change::Unchanged {
            cw.put_alarm(spec).await?;
        }
    }
    Ok(plan)
}

/// Equal as far as `PutMetricAlarm` is concerned (order of dimensions aside).
fn same(a: &AlarmSpec, b: &AlarmSpec) -> bool {
    let sorted = |d: &[(String, String)]| {
        let mut d = d.to_vec();
        d.sort();
        d
    };
    a.description == b.description
        && a.namespace == b.namespace
        && a.metric == b.metric
        && sorted(&a.dimensions) == sorted(&b.dimensions)
        && a.statistic == b.statistic
        && a.period_seconds == b.period_seconds
        && a.evaluation_periods == b.evaluation_periods
        && a.threshold == b.threshold
        && a.comparison == b.comparison
        && a.treat_missing_data == b.treat_missing_data
        && a.actions == b.actions
}
