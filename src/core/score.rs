//! The weighted multi-metric score.
//!
//! Each metric is normalized against its target: `normalized = value / target`, so 1.0 means the
//! metric is at the level its target calls a fully loaded task. The combined score is the
//! weight-averaged normalized value of the metrics that are present, **lifted to the highest
//! normalized value of any metric at or above its target**. The lift is what keeps one saturated
//! metric from being hidden by idle ones: p95 latency at twice its target scores 2.0 even when CPU
//! and memory idle and latency carries only 10% of the weight. Because the policy's scale-out
//! threshold is below 1.0, no metric can sit at its target without the service scaling out.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::policy::{MetricKind, MetricSpec};
use super::types::Sample;

/// Why a metric did or did not count.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum MetricStatus {
    Ok,
    /// At or above its target: lifts the score to its own normalized value.
    Saturated,
    Missing,
    Stale {
        age_seconds: i64,
    },
    /// Not a finite, non-negative number.
    Invalid,
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
    pub value: Option<f64>,
    pub target: f64,
    /// The configured weight.
    pub weight: f64,
    /// `value / target`.
    pub normalized: Option<f64>,
    /// This metric's share of the weighted mean: `weight × normalized / Σ weight`.
    pub contribution: Option<f64>,
    #[serde(flatten)]
    pub status: MetricStatus,
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
    /// The usable weighted metric with the highest normalized value.
    pub fn peak(&self) -> Option<(&str, f64)> {
        peak(&self.contributions)
    }

    /// Names of weighted metrics that were missing, stale or invalid.
    pub fn unusable(&self) -> Vec<&str> {
        self.contributions
            .iter()
            .filter(|c| c.weight > 0.0 && !c.status.is_usable())
            .map(|c| c.name.as_str())
            .collect()
    }
}

/// Scores `samples` against `metrics` at `now`; samples older than `max_age` count as missing.
pub fn score(
    metrics: &[MetricSpec],
    samples: &BTreeMap<String, Sample>,
    now: DateTime<Utc>,
    max_age: TimeDelta,
) -> Score {
    let mut contributions: Vec<Contribution> =
        metrics.iter().map(|m| assess(m, samples.get(&m.name), now, max_age)).collect();
    let usable = |c: &&Contribution| c.weight > 0.0 && c.status.is_usable();
    let total_weight: f64 = contributions.iter().filter(usable).map(|c| c.weight).sum();
    if total_weight <= 0.0 {
        return Score { value: None, weighted_mean: None, saturated_by: None, contributions };
    }
    for c in contributions.iter_mut().filter(|c| c.weight > 0.0) {
        c.contribution = c.status.is_usable().then(|| c.weight * c.normalized.unwrap_or(0.0) / total_weight);
    }
    let mean: f64 = contributions.iter().filter_map(|c| c.contribution).sum();
    // Saturated means usable and at or above target (normalized >= 1).
    let (value, saturated_by) = match peak(&contributions) {
        Some((name, n)) if n >= 1.0 && n > mean => (n, Some(name.to_owned())),
        _ => (mean, None),
    };
    Score { value: Some(value), weighted_mean: Some(mean), saturated_by, contributions }
}

/// The usable weighted metric with the highest normalized value.
fn peak(contributions: &[Contribution]) -> Option<(&str, f64)> {
    contributions
        .iter()
        .filter(|c| c.weight > 0.0 && c.status.is_usable())
        .filter_map(|c| Some((c.name.as_str(), c.normalized?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn assess(m: &MetricSpec, sample: Option<&Sample>, now: DateTime<Utc>, max_age: TimeDelta) -> Contribution {
    let status = match sample {
        None => MetricStatus::Missing,
        Some(s) if !s.value.is_finite() || s.value < 0.0 => MetricStatus::Invalid,
        // A sample from the future is as untrustworthy as an old one: clocks disagree.
        Some(s) if now - s.at > max_age || s.at - now > max_age => {
            MetricStatus::Stale { age_seconds: (now - s.at).num_seconds() }
        }
        Some(s) if s.value / m.target >= 1.0 => MetricStatus::Saturated,
        Some(_) => MetricStatus::Ok,
    };
    let value = sample.map(|s| s.value);
    Contribution {
        name: m.name.clone(),
        kind: m.kind,
        value,
        target: m.target,
        weight: m.weight,
        normalized: value.filter(|_| status.is_usable()).map(|v| v / m.target),
        contribution: None,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, weight: f64, target: f64) -> MetricSpec {
        MetricSpec { name: name.into(), kind: MetricKind::infer(name), weight, target }
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
            let s = score(&example_metrics(), &samples(pairs), t0(), TimeDelta::seconds(60));
            assert!((s.value.unwrap() - want).abs() < 1e-9, "{case}: {:?}", s.value);
            assert_eq!(s.saturated_by.as_deref(), *lifted, "{case}");
        }
    }

    #[test]
    fn contributions_sum_to_the_weighted_mean() {
        let s = score(
            &example_metrics(),
            &samples(&[("cpu", 35.0), ("memory", 20.0), ("latency_p95_ms", 100.0), ("error_rate_pct", 1.0)]),
            t0(),
            TimeDelta::seconds(60),
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
        let out = score(&example_metrics(), &s, t0(), TimeDelta::seconds(60));
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
        let out = score(&example_metrics(), &BTreeMap::new(), t0(), TimeDelta::seconds(60));
        assert_eq!(out.value, None);
    }

    #[test]
    fn zero_weight_metrics_are_shown_but_do_not_steer() {
        let metrics = vec![spec("cpu", 1.0, 100.0), spec("queue", 0.0, 10.0)];
        let out = score(&metrics, &samples(&[("cpu", 50.0), ("queue", 100.0)]), t0(), TimeDelta::seconds(60));
        assert_eq!(out.value, Some(0.5));
        assert_eq!(out.contributions[1].normalized, Some(10.0));
        assert_eq!(out.contributions[1].contribution, None);
    }
}
