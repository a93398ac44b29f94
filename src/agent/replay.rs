//! `trimtab simulate --from-cloudwatch`: the service's own recent history as a load trace, so a
//! new policy can be tried on last week's traffic before it is deployed.
//!
//! Load is measured in **busy tasks**: CPU utilization of the service (`AWS/ECS`
//! `CPUUtilization`, average over its tasks) × the number of tasks at that minute. The task
//! count comes from Container Insights (`ECS/ContainerInsights` `RunningTaskCount`) when it is
//! on, else from the agent's own `Trimtab` `DesiredCount`. One task fully busy is load 1, so at
//! a target utilization u a task serves load u: that is the default capacity per task.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::aws::{CloudWatch, Datapoints, MetricQuery};
use crate::config::model::ServiceConfig;

/// The longest history: CloudWatch keeps 1-minute data 15 days and 5-minute data 63 days.
pub const MAX_DAYS: u32 = 63;

/// The period for a history of `days`: 1 minute up to 15 days, else 5 minutes.
pub fn period(days: u32) -> i64 {
    if days <= 15 { 60 } else { 300 }
}

pub fn queries(svc: &ServiceConfig, period: i64) -> Vec<MetricQuery> {
    let ecs =
        vec![("ClusterName".to_owned(), svc.cluster.clone()), ("ServiceName".to_owned(), svc.name.clone())];
    let q = |id: &str, ns: &str, metric: &str, dims: Vec<(String, String)>| MetricQuery {
        id: id.into(),
        namespace: ns.into(),
        metric: metric.into(),
        dimensions: dims,
        statistic: "Average".into(),
        period_seconds: i32::try_from(period).unwrap_or(60),
    };
    vec![
        q("cpu", "AWS/ECS", "CPUUtilization", ecs.clone()),
        q("running", "ECS/ContainerInsights", "RunningTaskCount", ecs),
        q(
            "desired",
            super::restore::NAMESPACE,
            super::restore::DESIRED,
            super::restore::dimensions(&svc.cluster, &svc.name),
        ),
    ]
}

/// Builds the load history from the three series (by query id). Gaps of a few periods are bridged by holding the last value; a history
/// with more gaps than data is refused, since it would replay mostly invented load.
/// Load history at a fixed step, ready to become a simulation trace.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadHistory {
    pub name: String,
    pub step: u64,
    pub values: Vec<f64>,
    pub start: DateTime<Utc>,
}

pub fn build(name: &str, data: &BTreeMap<String, Datapoints>, period: i64) -> Result<LoadHistory, String> {
    let series = |id: &str| -> BTreeMap<i64, f64> {
        data.get(id).map(|p| p.iter().map(|(t, v)| (t.timestamp(), *v)).collect()).unwrap_or_default()
    };
    let cpu = series("cpu");
    if cpu.is_empty() {
        return Err("no AWS/ECS CPUUtilization datapoints for the service in that span".into());
    }
    let (running, desired) = (series("running"), series("desired"));
    let (tasks, source) = if !running.is_empty() {
        (running, "ECS/ContainerInsights RunningTaskCount")
    } else if !desired.is_empty() {
        (desired, "Trimtab DesiredCount")
    } else {
        return Err(
            "no task count history: turn on Container Insights (RunningTaskCount) or run the agent, \
                    which publishes Trimtab DesiredCount"
                .into(),
        );
    };
    let first = *cpu.keys().next().expect("not empty");
    let last = *cpu.keys().next_back().expect("not empty");
    let mut values = Vec::new();
    let (mut have, mut load, mut n) = (0usize, None::<f64>, None::<f64>);
    let mut t = first;
    while t <= last {
        n = tasks.get(&t).copied().or(n);
        let c = cpu.get(&t).copied();
        if let (Some(c), Some(n)) = (c, n) {
            load = Some(c.max(0.0) / 100.0 * n.max(0.0));
            have += 1;
        }
        values.push(load.unwrap_or(0.0));
        t += period;
    }
    if have * 2 < values.len() {
        return Err(format!(
            "only {have} of {} periods have both CPU and a task count ({source}); too sparse to replay",
            values.len()
        ));
    }
    let start = DateTime::from_timestamp(first, 0).ok_or("timestamp out of range")?;
    Ok(LoadHistory {
        name: format!("{name} (CPU × tasks from {source}, {} × {period} s)", values.len()),
        step: u64::try_from(period).unwrap_or(60),
        values,
        start,
    })
}

/// Fetches `days` of history ending now (one `GetMetricData`, paged).
pub async fn fetch(
    cw: &CloudWatch,
    svc: &ServiceConfig,
    days: u32,
    now: DateTime<Utc>,
) -> Result<LoadHistory, String> {
    let period = period(days);
    let end = DateTime::from_timestamp(now.timestamp() / period * period, 0).unwrap_or(now);
    let start = end - TimeDelta::days(i64::from(days));
    let mut data =
        cw.get_metric_data(&queries(svc, period), start, end).await.map_err(|e| e.to_string())?.points;
    within(&mut data, start, end);
    build(&format!("cloudwatch:{}/{}", svc.cluster, svc.name), &data, period)
}

/// Keeps only the datapoints inside `[start, end)`, the span asked for: `build` makes one value
/// per period from the first datapoint to the last, so one stamped years away (issue 14) would
/// make millions of them.
fn within(data: &mut BTreeMap<String, Datapoints>, start: DateTime<Utc>, end: DateTime<Utc>) {
    for points in data.values_mut() {
        points.retain(|(t, _)| (start..end).contains(t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(m: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + 60 * m, 0).unwrap()
    }

    #[test]
    fn load_is_cpu_times_tasks_and_short_gaps_hold() {
        let mut data = BTreeMap::new();
        data.insert("cpu".to_owned(), vec![(at(3), 50.0), (at(1), 80.0), (at(0), 40.0)]);
        data.insert("desired".to_owned(), vec![(at(0), 4.0), (at(3), 2.0)]);
        let trace = build("x", &data, 60).unwrap();
        assert_eq!(trace.start, at(0));
        // m0: 0.4 × 4; m1: 0.8 × 4 (tasks held); m2: no CPU, held; m3: 0.5 × 2.
        assert_eq!(trace.values, vec![1.6, 3.2, 3.2, 1.0]);
        assert_eq!(trace.step, 60);
        assert!(trace.name.contains("Trimtab DesiredCount"), "{}", trace.name);
    }

    #[test]
    fn datapoints_outside_the_span_asked_for_are_dropped() {
        let mut data = BTreeMap::new();
        let far = DateTime::parse_from_rfc3339("9999-12-31T23:59:00Z").unwrap().to_utc();
        data.insert("cpu".to_owned(), vec![(far, 50.0), (at(1), 80.0), (at(0), 40.0), (at(-1), 1.0)]);
        within(&mut data, at(0), at(2));
        assert_eq!(data["cpu"], vec![(at(1), 80.0), (at(0), 40.0)]);
    }

    #[test]
    fn container_insights_wins_and_sparse_or_missing_history_is_refused() {
        let mut data = BTreeMap::new();
        data.insert("cpu".to_owned(), vec![(at(0), 50.0)]);
        data.insert("running".to_owned(), vec![(at(0), 3.0)]);
        data.insert("desired".to_owned(), vec![(at(0), 9.0)]);
        assert_eq!(build("x", &data, 60).unwrap().values, vec![1.5]);
        data.insert("cpu".to_owned(), vec![(at(0), 50.0), (at(10), 50.0)]);
        assert!(build("x", &data, 60).unwrap_err().contains("only 2 of 11 periods"));
        data.remove("running");
        data.remove("desired");
        assert!(build("x", &data, 60).unwrap_err().contains("no task count history"));
        assert!(build("x", &BTreeMap::new(), 60).unwrap_err().contains("no AWS/ECS CPUUtilization"));
    }
}
