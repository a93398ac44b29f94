//! The weighted multi-metric score.
//!
//! Each metric is read against its target according to its [`TargetType`], giving a *ratio*
//! (`normalized`): 1.0 means the metric is on its target, the level trimtab holds it at.
//!
//! - **utilization** (a per-task figure): ratio = value / target; alone it asks for
//!   `ceil(current × ratio)` tasks, the HPA's proportional sizing.
//! - **average value** (a fleet total such as a queue's backlog): alone it asks for
//!   `ceil(total / target)` tasks, whatever the current count (KEDA's scalers); its ratio is
//!   that ask over the current count (taken as 1 at zero tasks), so it blends with the others.
//!
//! The combined score is the weight-averaged ratio of the metrics that are usable, **lifted to
//! the highest ratio of any metric at or above its target**. The lift is what keeps one metric
//! over its target from being hidden by idle ones (AWS Application Auto Scaling scales out when
//! *any* policy asks): p95 latency at twice its target scores 2.0 even when CPU and memory idle
//! and latency carries only 10% of the weight.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::policy::{MetricKind, MetricSpec, TargetType};
use super::types::Sample;

/// Why a metric did or did not count.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum MetricStatus {
    Ok,
    /// At or above its target: lifts the score to its own ratio.
    Saturated,
    Missing,
    Stale {
        age_seconds: i64,
    },
    /// Not a finite, non-negative number.
    Invalid,
    /// A lower bound (some tasks not heard from) below its target: it could only have raised
    /// the count, and it does not; otherwise it counts as missing.
    Partial,
}

impl MetricStatus {
    pub fn is_usable(self) -> bool {
        matches!(self, MetricStatus::Ok | MetricStatus::Saturated)
    }
}

/// One metric's part in the score, as `explain` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Contribution {
    pub name: String,
    pub kind: MetricKind,
    pub target_type: TargetType,
    pub value: Option<f64>,
    pub target: f64,
    /// The configured weight.
    pub weight: f64,
    /// The ratio to the target (1.0 = on target); see the module essay for each target type.
    pub normalized: Option<f64>,
    /// The task count this metric alone asks for.
    pub asks: Option<u32>,
    /// This metric's share of the weighted mean: `weight × normalized / Σ weight`.
    pub contribution: Option<f64>,
    pub activation: f64,
    #[serde(flatten)]
    pub status: MetricStatus,
}

impl Contribution {
    /// Weighted metrics steer; the others are only shown.
    pub fn steers(&self) -> bool {
        self.weight > 0.0
    }

    /// Usable and above its activation value: enough to wake a service from zero.
    pub fn is_active(&self) -> bool {
        self.status.is_usable() && self.value.is_some_and(|v| v > self.activation)
    }
}

/// The combined score and how it came about.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Score {
    /// The combined score, or `None` when no weighted metric is usable.
    pub value: Option<f64>,
    /// The weighted mean before any saturation lift.
    pub weighted_mean: Option<f64>,
    /// The metric that lifted the score, if one did.
    pub saturated_by: Option<String>,
    pub contributions: Vec<Contribution>,
}

impl Score {
    /// Names of weighted metrics that were missing, stale or invalid.
    pub fn unusable(&self) -> Vec<&str> {
        self.contributions
            .iter()
            .filter(|c| c.steers() && !c.status.is_usable())
            .map(|c| c.name.as_str())
            .collect()
    }

    /// Weighted metrics above their activation value (the ones that keep or wake a service).
    pub fn active(&self) -> Vec<&str> {
        self.contributions.iter().filter(|c| c.steers() && c.is_active()).map(|c| c.name.as_str()).collect()
    }

    /// Every weighted metric is usable and at or below its activation: the service is idle.
    pub fn is_quiet(&self) -> bool {
        self.contributions.iter().filter(|c| c.steers()).all(|c| c.status.is_usable() && !c.is_active())
    }
}

/// Scores `samples` against `metrics` at `now` for a service of `current` tasks; samples older
/// than `max_age` count as missing, and those named in `partial` (lower bounds) count only when
/// they are already at or past their target.
pub fn score(
    metrics: &[MetricSpec],
    samples: &BTreeMap<String, Sample>,
    partial: &std::collections::BTreeSet<String>,
    now: DateTime<Utc>,
    max_age: TimeDelta,
    current: u32,
) -> Score {
    let mut contributions: Vec<Contribution> = metrics
        .iter()
        .map(|m| assess(m, samples.get(&m.name), partial.contains(&m.name), now, max_age, current))
        .collect();
    let usable = |c: &&Contribution| c.steers() && c.status.is_usable();
    let total_weight: f64 = contributions.iter().filter(usable).map(|c| c.weight).sum();
    if total_weight <= 0.0 {
        return Score { value: None, weighted_mean: None, saturated_by: None, contributions };
    }
    for c in contributions.iter_mut().filter(|c| c.steers()) {
        c.contribution = c.status.is_usable().then(|| c.weight * c.normalized.unwrap_or(0.0) / total_weight);
    }
    let mean: f64 = contributions.iter().filter_map(|c| c.contribution).sum();
    // Saturated means usable and at or above target (ratio >= 1).
    let (value, saturated_by) = match peak(&contributions) {
        Some((name, n)) if n >= 1.0 && n > mean => (n, Some(name.to_owned())),
        _ => (mean, None),
    };
    Score { value: Some(value), weighted_mean: Some(mean), saturated_by, contributions }
}

/// `ceil(base × ratio)`, the count that brings a ratio back to 1.0 if the load stays the same.
/// An empty service is sized as if it had one task.
pub fn proportional(current: u32, ratio: f64) -> u32 {
    let base = f64::from(current.max(1));
    // The epsilon keeps 4 × 1.25 / 1.25 from becoming 5 through rounding noise.
    let wanted = (base * ratio - 1e-9).ceil();
    // Float-to-int casts saturate, so an absurd ratio cannot wrap around.
    wanted.max(0.0) as u32
}

/// The usable weighted metric with the highest ratio.
fn peak(contributions: &[Contribution]) -> Option<(&str, f64)> {
    contributions
        .iter()
        .filter(|c| c.steers() && c.status.is_usable())
        .filter_map(|c| Some((c.name.as_str(), c.normalized?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Ratio and ask of one usable value.
fn read(m: &MetricSpec, v: f64, current: u32) -> (f64, u32) {
    match m.target_type {
        TargetType::Utilization => {
            let ratio = v / m.target;
            (ratio, proportional(current, ratio))
        }
        TargetType::AverageValue => {
            let per_task = v / m.target;
            (per_task / f64::from(current.max(1)), proportional(1, per_task))
        }
    }
}

fn assess(
    m: &MetricSpec,
    sample: Option<&Sample>,
    partial: bool,
    now: DateTime<Utc>,
    max_age: TimeDelta,
    current: u32,
) -> Contribution {
    let status = match sample {
        None => MetricStatus::Missing,
        Some(s) if !s.value.is_finite() || s.value < 0.0 => MetricStatus::Invalid,
        // A sample from the future is as untrustworthy as an old one: clocks disagree.
        Some(s) if now - s.at > max_age || s.at - now > max_age => {
            MetricStatus::Stale { age_seconds: (now - s.at).num_seconds() }
        }
        Some(s) if read(m, s.value, current).0 >= 1.0 => MetricStatus::Saturated,
        // A lower bound under its target says nothing about the whole: as good as missing.
        Some(_) if partial => MetricStatus::Partial,
        Some(_) => MetricStatus::Ok,
    };
    let value = sample.map(|s| s.value);
    let read = value.filter(|_| status.is_usable()).map(|v| read(m, v, current));
    Contribution {
        name: m.name.clone(),
        kind: m.kind,
        target_type: m.target_type,
        value,
        target: m.target,
        weight: m.weight,
        normalized: read.map(|r| r.0),
        asks: read.map(|r| r.1),
        contribution: None,
        activation: m.activation,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, weight: f64, target: f64) -> MetricSpec {
        MetricSpec::utilization(name, weight, target)
    }

    fn none() -> std::collections::BTreeSet<String> {
        std::collections::BTreeSet::new()
    }

    /// Issue 16: a lower bound (some tasks not heard from) counts only once it is past its target.
    #[test]
    fn a_partial_sample_counts_only_when_it_already_calls_for_more() {
        let partial: std::collections::BTreeSet<String> = ["cpu".to_owned()].into();
        let at = |cpu: f64| {
            let s = samples(&[("cpu", cpu), ("memory", 20.0)]);
            score(&example_metrics(), &s, &partial, t0(), TimeDelta::seconds(60), 4)
        };
        let low = at(30.0);
        let cpu = low.contributions.iter().find(|c| c.name == "cpu").unwrap();
        assert_eq!(cpu.status, MetricStatus::Partial);
        assert!(low.unusable().contains(&"cpu"), "below its target it is as good as missing");
        let high = at(90.0);
        let cpu = high.contributions.iter().find(|c| c.name == "cpu").unwrap();
        assert_eq!(cpu.status, MetricStatus::Saturated, "a lower bound past the target is past it");
        assert_eq!(high.saturated_by.as_deref(), Some("cpu"));
    }

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn samples(pairs: &[(&str, f64)]) -> BTreeMap<String, Sample> {
        pairs.iter().map(|(n, v)| (n.to_string(), Sample { value: *v, at: t0() })).collect()
    }

    fn example_metrics() -> Vec<MetricSpec> {
        vec![
            spec("cpu", 0.4, 70.0),
            spec("memory", 0.2, 80.0),
            spec("latency_p95_ms", 0.3, 500.0),
            spec("error_rate_pct", 0.1, 2.0),
        ]
    }

    #[test]
    fn table_of_scores() {
        // (case, samples, expected score, expected lifting metric)
        type Case<'a> = (&'a str, &'a [(&'a str, f64)], f64, Option<&'a str>);
        let cases: &[Case] = &[
            (
                "all at half target",
                &[("cpu", 35.0), ("memory", 40.0), ("latency_p95_ms", 250.0), ("error_rate_pct", 1.0)],
                0.5,
                None,
            ),
            (
                "idle",
                &[("cpu", 0.0), ("memory", 0.0), ("latency_p95_ms", 0.0), ("error_rate_pct", 0.0)],
                0.0,
                None,
            ),
            (
                "cpu saturated lifts the mean",
                &[("cpu", 95.0), ("memory", 40.0), ("latency_p95_ms", 300.0), ("error_rate_pct", 0.5)],
                95.0 / 70.0,
                Some("cpu"),
            ),
            (
                "light-weight latency saturated is not hidden",
                &[("cpu", 7.0), ("memory", 8.0), ("latency_p95_ms", 1000.0), ("error_rate_pct", 0.0)],
                2.0,
                Some("latency_p95_ms"),
            ),
        ];
        for (case, pairs, want, lifted) in cases {
            let s = score(&example_metrics(), &samples(pairs), &none(), t0(), TimeDelta::seconds(60), 4);
            assert!((s.value.unwrap() - want).abs() < 1e-9, "{case}: {:?}", s.value);
            assert_eq!(s.saturated_by.as_deref(), *lifted, "{case}");
        }
    }

    #[test]
    fn contributions_sum_to_the_weighted_mean() {
        let s = score(
            &example_metrics(),
            &samples(&[("cpu", 35.0), ("memory", 20.0), ("latency_p95_ms", 100.0), ("error_rate_pct", 1.0)]),
            &none(),
            t0(),
            TimeDelta::seconds(60),
            4,
        );
        let sum: f64 = s.contributions.iter().filter_map(|c| c.contribution).sum();
        assert!((sum - s.weighted_mean.unwrap()).abs() < 1e-12);
        // 0.4*0.5 + 0.2*0.25 + 0.3*0.2 + 0.1*0.5
        assert!((sum - 0.36).abs() < 1e-12);
    }

    #[test]
    fn missing_stale_and_invalid_samples_are_excluded_and_reweighted() {
        let mut s = samples(&[("cpu", 35.0), ("memory", f64::NAN)]);
        s.insert("latency_p95_ms".into(), Sample { value: 100.0, at: t0() - TimeDelta::seconds(600) });
        let out = score(&example_metrics(), &s, &none(), t0(), TimeDelta::seconds(60), 4);
        let status: Vec<_> = out.contributions.iter().map(|c| c.status).collect();
        assert_eq!(
            status,
            vec![
                MetricStatus::Ok,
                MetricStatus::Invalid,
                MetricStatus::Stale { age_seconds: 600 },
                MetricStatus::Missing
            ]
        );
        // Only cpu is usable: its normalized 0.5 is the whole mean.
        assert_eq!(out.value, Some(0.5));
        assert_eq!(out.unusable(), vec!["memory", "latency_p95_ms", "error_rate_pct"]);
    }

    #[test]
    fn no_usable_metric_gives_no_score() {
        let out = score(&example_metrics(), &BTreeMap::new(), &none(), t0(), TimeDelta::seconds(60), 4);
        assert_eq!(out.value, None);
    }

    #[test]
    fn zero_weight_metrics_are_shown_but_do_not_steer() {
        let metrics = vec![spec("cpu", 1.0, 100.0), spec("queue", 0.0, 10.0)];
        let out = score(
            &metrics,
            &samples(&[("cpu", 50.0), ("queue", 100.0)]),
            &none(),
            t0(),
            TimeDelta::seconds(60),
            4,
        );
        assert_eq!(out.value, Some(0.5));
        assert_eq!(out.contributions[1].normalized, Some(10.0));
        assert_eq!(out.contributions[1].contribution, None);
    }

    fn backlog(target: f64, activation: f64) -> MetricSpec {
        MetricSpec {
            target_type: TargetType::AverageValue,
            activation,
            ..MetricSpec::utilization("backlog", 1.0, target)
        }
    }

    /// Issue 13: a fleet total asks for total ÷ target tasks, whatever the current count
    /// (proportional sizing asked 154 for a backlog of 1,000 at 10 tasks).
    #[test]
    fn an_average_value_asks_for_total_over_target_at_any_count() {
        let at = |current: u32, total: f64| {
            let out = score(
                &[backlog(100.0, 0.0)],
                &samples(&[("backlog", total)]),
                &none(),
                t0(),
                TimeDelta::seconds(60),
                current,
            );
            let c = &out.contributions[0];
            (c.asks.unwrap(), c.normalized.unwrap(), out.value.unwrap())
        };
        // (current, total, asks, ratio)
        for (current, total, asks, ratio) in [
            (10, 1000.0, 10, 1.0),
            (4, 1000.0, 10, 2.5),
            (40, 1000.0, 10, 0.25),
            (0, 60.0, 1, 0.6),
            (3, 0.0, 0, 0.0),
        ] {
            let (a, r, s) = at(current, total);
            assert_eq!(a, asks, "{total} at {current}");
            assert!((r - ratio).abs() < 1e-12 && (s - ratio).abs() < 1e-12, "{total} at {current}: {r}");
        }
    }

    #[test]
    fn activation_decides_quiet_and_active() {
        let metrics = [backlog(100.0, 5.0), MetricSpec { activation: 2.0, ..spec("cpu", 1.0, 70.0) }];
        let quiet = score(
            &metrics,
            &samples(&[("backlog", 5.0), ("cpu", 1.5)]),
            &none(),
            t0(),
            TimeDelta::seconds(60),
            1,
        );
        assert!(quiet.is_quiet() && quiet.active().is_empty());
        let busy = score(
            &metrics,
            &samples(&[("backlog", 6.0), ("cpu", 1.5)]),
            &none(),
            t0(),
            TimeDelta::seconds(60),
            1,
        );
        assert_eq!((busy.is_quiet(), busy.active()), (false, vec!["backlog"]));
        // A missing metric is never quiet: the service does not go to zero on no data.
        let partial =
            score(&metrics, &samples(&[("backlog", 0.0)]), &none(), t0(), TimeDelta::seconds(60), 1);
        assert!(!partial.is_quiet());
    }
}
