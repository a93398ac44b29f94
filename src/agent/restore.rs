//! Durable state without a disk. A sidecar's memory dies with it; on start the agent rebuilds
//! the history that cooldowns and stabilization need from the systems of record, so a restart
//! never causes a second scale inside a cooldown:
//!
//! - its own metrics in CloudWatch (`Trimtab` namespace, published each tick by the leader):
//!   `ScaleOut`/`ScaleIn` (1 in a minute with an action) give the last action times,
//!   `RecommendedCount` (maximum per minute) refills the stabilization window;
//! - the service's events from `DescribeServices`: a "has started"/"has stopped" event inside
//!   the cooldown window counts as a possible scale-out/in. Deployments and replacements also
//!   start tasks, so this can delay a scale-out by at most one cooldown after a restart; it
//!   covers the case where the agent died between `UpdateService` and publishing its metrics.
//!
//! Times are rounded up to the end of their minute: a cooldown restored this way is never
//! shorter than the real one. A time after `now` counts as `now`, for the same reason; the
//! arithmetic saturates, so no timestamp CloudWatch or ECS sends can panic the rebuild (issue
//! 14), and times no AWS answer can carry are dropped where they are read (`aws::to_chrono`).

use chrono::{DateTime, TimeDelta, Utc};

use crate::aws::{Datapoints, MetricQuery};
use crate::core::types::{earlier, later};
use crate::core::{History, Policy, Replicas};

pub const NAMESPACE: &str = "Trimtab";
pub const DESIRED: &str = "DesiredCount";
pub const RECOMMENDED: &str = "RecommendedCount";
pub const SCORE: &str = "Score";
pub const HEARTBEAT: &str = "Heartbeat";
pub const SCALE_OUT: &str = "ScaleOut";
pub const SCALE_IN: &str = "ScaleIn";

/// The dimensions of the agent's own metrics.
pub fn dimensions(cluster: &str, service: &str) -> Vec<(String, String)> {
    vec![("Cluster".into(), cluster.into()), ("Service".into(), service.into())]
}

/// How far back the rebuild looks: the longest window any guard uses, plus a minute.
pub fn window(policy: &Policy) -> TimeDelta {
    policy.scale_out_cooldown.max(policy.scale_in_cooldown).max(policy.scale_in_stabilization)
        + TimeDelta::minutes(1)
}

/// A query `id` for one of the agent's own series of this service.
pub fn own(cluster: &str, service: &str, id: &str, metric: &str, stat: &str, period: i32) -> MetricQuery {
    MetricQuery {
        id: id.into(),
        namespace: NAMESPACE.into(),
        metric: metric.into(),
        dimensions: dimensions(cluster, service),
        statistic: stat.into(),
        period_seconds: period,
    }
}

/// The three series the rebuild reads, in one `GetMetricData`.
pub fn queries(cluster: &str, service: &str) -> Vec<MetricQuery> {
    queries_every(cluster, service, 60)
}

/// [`queries`] with datapoints `period` seconds apart (`trimtab status` and `history` read
/// weeks by the hour).
pub fn queries_every(cluster: &str, service: &str, period: i32) -> Vec<MetricQuery> {
    let q = |id: &str, metric: &str, stat: &str| own(cluster, service, id, metric, stat, period);
    vec![q("out", SCALE_OUT, "Sum"), q("in", SCALE_IN, "Sum"), q("rec", RECOMMENDED, "Maximum")]
}

/// The end of the newest bucket of series `id` with an action in it (a value above zero), of
/// the buckets `period` long that start at or after `since`; never after `now`. The time a
/// `ScaleOut` or `ScaleIn` series says the agent last acted, rounded up: a cooldown restored
/// from it is never shorter than the real one.
pub fn last_action(
    metrics: &std::collections::BTreeMap<String, Datapoints>,
    id: &str,
    period: TimeDelta,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let points = metrics.get(id)?.iter().filter(|(t, v)| *v > 0.0 && *t >= since);
    points.map(|(t, _)| later(*t, period).min(now)).max()
}

/// What the rebuild found, for the startup log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Restored {
    pub last_scale_out: Option<DateTime<Utc>>,
    pub last_scale_in: Option<DateTime<Utc>>,
    pub recommendations: usize,
}

/// Rebuilds `History` from the agent's own metrics (by query id, as [`queries`] names them) and
/// the service's events.
pub fn rebuild(
    policy: &Policy,
    metrics: &std::collections::BTreeMap<String, Datapoints>,
    events: &[(DateTime<Utc>, String)],
    now: DateTime<Utc>,
) -> (History, Restored) {
    let since = earlier(now, window(policy));
    let minute_end = |t: DateTime<Utc>| later(t, TimeDelta::minutes(1)).min(now);
    let newest = |id: &str| last_action(metrics, id, TimeDelta::minutes(1), since, now);
    let event = |needle: &str| {
        events.iter().filter(|(t, m)| *t >= since && *t <= now && m.contains(needle)).map(|(t, _)| *t).max()
    };
    let last_out = newest("out").max(event("has started"));
    let last_in = newest("in").max(event("has stopped"));
    let mut h = History::default();
    let mut recs: Vec<(DateTime<Utc>, f64)> = metrics
        .get("rec")
        .map(|p| p.iter().filter(|(t, v)| *t >= since && v.is_finite() && *v >= 0.0).copied().collect())
        .unwrap_or_default();
    recs.sort_by_key(|(t, _)| *t);
    for (t, v) in &recs {
        h.record_recommendation(minute_end(*t), Replicas(*v as u32), policy.scale_in_stabilization);
    }
    // Oldest first, so the newest of each direction wins.
    let mut actions: Vec<(DateTime<Utc>, bool)> =
        last_out.map(|t| (t, true)).into_iter().chain(last_in.map(|t| (t, false))).collect();
    actions.sort();
    for (t, out) in actions {
        let (from, to) = if out { (Replicas(0), Replicas(1)) } else { (Replicas(1), Replicas(0)) };
        h.record_action(t, from, to);
    }
    (h, Restored { last_scale_out: last_out, last_scale_in: last_in, recommendations: recs.len() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Observation, decide};
    use chrono::TimeZone;
    use std::collections::BTreeMap;

    #[test]
    fn a_restart_inside_the_cooldown_does_not_scale_again() {
        let policy = crate::config::from_str("t.toml", "").unwrap().scaling.policy;
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 30).unwrap();
        // Scaled out in the minute starting 11:59 (a minute ago); cooldown is 2m (web-balanced).
        let mut m = BTreeMap::new();
        m.insert(
            "out".to_owned(),
            vec![(now - TimeDelta::seconds(90), 1.0), (now - TimeDelta::seconds(150), 0.0)],
        );
        m.insert("rec".to_owned(), vec![(now - TimeDelta::seconds(90), 6.0)]);
        let (h, r) = rebuild(&policy, &m, &[], now);
        assert_eq!(r.last_scale_out, Some(now - TimeDelta::seconds(30)), "rounded up to the minute's end");
        let busy = policy
            .metrics
            .iter()
            .fold(Observation::new(6), |o, s| o.with_sample(&s.name, s.target * 1.5, now));
        let d = decide(&policy, &busy, &h, now);
        assert_eq!((d.desired.get(), d.reason.as_str()), (6, "scale_out_cooldown"), "{}", d.message);
        // Without the rebuilt history it would have scaled again.
        assert!(decide(&policy, &busy, &History::default(), now).desired.get() > 6);
        // And the remembered recommendation holds a scale-in back (stabilization).
        let idle = policy.metrics.iter().fold(Observation::new(6), |o, s| o.with_sample(&s.name, 1.0, now));
        assert_eq!(decide(&policy, &idle, &h, now + TimeDelta::minutes(3)).desired.get(), 6);
    }

    #[test]
    fn service_events_count_when_the_metrics_are_missing() {
        let policy = crate::config::from_str("t.toml", "").unwrap().scaling.policy;
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap();
        let events = vec![
            (
                now - TimeDelta::seconds(40),
                "(service web) has started 2 tasks: (task 1) (task 2).".to_owned(),
            ),
            (now - TimeDelta::hours(2), "(service web) has stopped 1 running tasks: (task 3).".to_owned()),
        ];
        let (h, r) = rebuild(&policy, &BTreeMap::new(), &events, now);
        assert_eq!(r.last_scale_out, Some(now - TimeDelta::seconds(40)));
        assert_eq!(r.last_scale_in, None, "outside the window");
        assert_eq!(h.last_scale_out(), r.last_scale_out);
    }
}
