//! trimtab's own record of a service, read back from CloudWatch for `trimtab status` and
//! `trimtab history` on an operator's laptop. The acting agent (a sidecar's leader, or the
//! controller that owns the service) publishes one set of values each tick, in the `Trimtab`
//! namespace with the dimensions `Cluster` and `Service` (see [`restore`], which rebuilds
//! cooldowns from the same series, and [`super::spend`] for the cost ones):
//!
//! | series | statistic read | what it says |
//! |---|---|---|
//! | `Heartbeat` | `SampleCount` | a tick was decided and published (how many in the bucket) |
//! | `DesiredCount` | `Maximum` | the count the agent decided for the service |
//! | `RecommendedCount` | `Maximum` | what the load asked for, before the guards |
//! | `Score` | `Average` | the combined score (only when the metrics gave one) |
//! | `ScaleOut`, `ScaleIn` | `Sum` | the agent changed the desired count, up or down |
//! | `MonthToDateCost`, `TodayCost` | `Maximum` | spend so far, when the task is priced |
//!
//! Values are per bucket of `period` seconds; a bucket is read as "at its start", and the time
//! the agent last reported is the end of the newest bucket with a heartbeat (never after `now`).
//! A follower, an agent in dry run, and one that cannot reach CloudWatch publish nothing, so an
//! empty record means "no agent has acted for this service", not "nothing happened".

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::restore::{self, DESIRED, HEARTBEAT, SCORE};
use super::spend::Spend;
use crate::aws::{Datapoints, MetricQuery};
use crate::core::Money;
use crate::core::types::later;

/// Every series the CLI reads of `cluster`/`service`, `period` seconds apart: the rebuild's
/// ([`restore::queries_every`]: `out`, `in`, `rec`), the cost ones a restart reads
/// ([`Spend::restore_queries`]: `mtd` and `today`; not its budget levels), and `desired`,
/// `score` and `beat`.
pub fn queries(cluster: &str, service: &str, period: i32) -> Vec<MetricQuery> {
    let own = |id: &str, metric: &str, stat: &str| restore::own(cluster, service, id, metric, stat, period);
    let mut q = restore::queries_every(cluster, service, period);
    q.extend([
        own("desired", DESIRED, "Maximum"),
        own("score", SCORE, "Average"),
        own("beat", HEARTBEAT, "SampleCount"),
    ]);
    let spend = Spend::restore_queries(cluster, service, period);
    q.extend(spend.into_iter().filter(|q| q.id == "mtd" || q.id == "today"));
    q
}

/// What the agent published in one bucket.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bucket {
    /// The bucket's start.
    pub at: DateTime<Utc>,
    pub desired: Option<u32>,
    pub recommended: Option<u32>,
    pub score: Option<f64>,
    /// Ticks published in the bucket (the heartbeat's sample count).
    pub reports: u32,
    pub scaled_out: bool,
    pub scaled_in: bool,
}

/// A published count as a task count: `None` unless finite, not negative and within `u32`.
fn count(v: f64) -> Option<u32> {
    (v.is_finite() && v >= 0.0 && v <= f64::from(u32::MAX)).then(|| v.round() as u32)
}

/// The record as buckets, oldest first; a bucket with nothing of the agent's in it is absent.
pub fn buckets(points: &BTreeMap<String, Datapoints>) -> Vec<Bucket> {
    let mut by_time: BTreeMap<DateTime<Utc>, Bucket> = BTreeMap::new();
    let mut each = |id: &str, set: fn(&mut Bucket, f64)| {
        for (t, v) in points.get(id).into_iter().flatten() {
            set(by_time.entry(*t).or_insert_with(|| Bucket { at: *t, ..Bucket::default() }), *v);
        }
    };
    each("desired", |b, v| b.desired = count(v));
    each("rec", |b, v| b.recommended = count(v));
    each("score", |b, v| b.score = Some(v).filter(|v| v.is_finite()));
    each("beat", |b, v| b.reports = count(v).unwrap_or(0));
    each("out", |b, v| b.scaled_out = v > 0.0);
    each("in", |b, v| b.scaled_in = v > 0.0);
    by_time.into_values().collect()
}

/// The newest of the record: what `trimtab status` shows of the agent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Latest {
    /// The end of the newest bucket with a heartbeat.
    pub last_report: Option<DateTime<Utc>>,
    /// The newest bucket with a desired count: the agent's last decision.
    pub decision: Option<Bucket>,
    pub last_scale_out: Option<DateTime<Utc>>,
    pub last_scale_in: Option<DateTime<Utc>>,
    pub spend: Option<Spent>,
}

/// Spend to date, as the agent last published it.
#[derive(Clone, Debug, PartialEq)]
pub struct Spent {
    /// The start of the bucket the totals were published in.
    pub at: DateTime<Utc>,
    pub month_to_date: Money,
    /// `None` when the same bucket holds no total for the day.
    pub today: Option<Money>,
}

/// The newest of everything in `points` (buckets `period` long, datapoints newest first as
/// [`crate::aws::CloudWatch::get_metric_data`] returns them), as of `now`.
pub fn latest(points: &BTreeMap<String, Datapoints>, period: TimeDelta, now: DateTime<Utc>) -> Latest {
    let all = buckets(points);
    let end = |t: DateTime<Utc>| later(t, period).min(now);
    let since = DateTime::<Utc>::MIN_UTC;
    Latest {
        last_report: all.iter().rev().find(|b| b.reports > 0).map(|b| end(b.at)),
        decision: all.iter().rev().find(|b| b.desired.is_some()).cloned(),
        last_scale_out: restore::last_action(points, "out", period, since, now),
        last_scale_in: restore::last_action(points, "in", period, since, now),
        spend: spent(points),
    }
}

/// The newest month-to-date total, with the day's total of the same bucket.
fn spent(points: &BTreeMap<String, Datapoints>) -> Option<Spent> {
    let newest = |id: &str| points.get(id)?.iter().copied().max_by_key(|(t, _)| *t);
    let money = |v: f64| Money::from_usd(v).filter(|m| *m >= Money::ZERO);
    let (at, mtd) = newest("mtd")?;
    let today =
        points.get("today").into_iter().flatten().find(|(t, _)| *t == at).and_then(|(_, v)| money(*v));
    Some(Spent { at, month_to_date: money(mtd)?, today })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 10, minute, 0).unwrap()
    }

    fn record(series: &[(&str, &[(u32, f64)])]) -> BTreeMap<String, Datapoints> {
        series
            .iter()
            .map(|(id, points)| {
                let mut p: Datapoints = points.iter().map(|(m, v)| (at(*m), *v)).collect();
                p.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
                ((*id).to_owned(), p)
            })
            .collect()
    }

    #[test]
    fn the_queries_cover_every_series_the_agent_publishes_under_unique_ids() {
        let q = queries("prod", "web", 300);
        let ids: std::collections::BTreeSet<&str> = q.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids.len(), q.len(), "ids are unique");
        for id in ["out", "in", "rec", "desired", "score", "beat", "mtd", "today"] {
            assert!(ids.contains(id), "{id}");
        }
        assert!(q.iter().all(|q| q.period_seconds == 300 && q.namespace == "Trimtab"));
        assert!(q.iter().all(|q| q.dimensions == restore::dimensions("prod", "web")));
    }

    #[test]
    fn the_latest_view_takes_the_newest_bucket_of_each_series() {
        let now = at(30);
        let points = record(&[
            ("beat", &[(20, 4.0), (21, 4.0), (22, 3.0)]),
            ("desired", &[(20, 4.0), (21, 6.0), (22, 6.0)]),
            ("rec", &[(22, 7.0)]),
            ("score", &[(22, 1.25)]),
            ("out", &[(20, 0.0), (21, 1.0), (22, 0.0)]),
            ("in", &[(5, 1.0)]),
            ("mtd", &[(21, 10.5), (22, 12.345678)]),
            ("today", &[(22, 1.2)]),
        ]);
        let l = latest(&points, TimeDelta::minutes(1), now);
        assert_eq!(l.last_report, Some(at(23)), "the end of the newest bucket with a heartbeat");
        let d = l.decision.unwrap();
        assert_eq!((d.at, d.desired, d.recommended, d.score), (at(22), Some(6), Some(7), Some(1.25)));
        assert_eq!((l.last_scale_out, l.last_scale_in), (Some(at(22)), Some(at(6))));
        let s = l.spend.unwrap();
        assert_eq!(
            (s.at, s.month_to_date, s.today),
            (at(22), Money::from_micros(12_345_678), Money::from_usd(1.2))
        );
    }

    #[test]
    fn an_empty_record_says_nothing_and_absurd_values_are_dropped() {
        assert_eq!(latest(&BTreeMap::new(), TimeDelta::minutes(1), at(0)), Latest::default());
        let points = record(&[("desired", &[(1, -3.0), (2, f64::NAN), (3, 1e12)]), ("mtd", &[(1, -5.0)])]);
        let b = buckets(&points);
        assert!(b.iter().all(|b| b.desired.is_none()), "{b:?}");
        assert_eq!(latest(&points, TimeDelta::minutes(1), at(9)).spend, None);
    }
}
