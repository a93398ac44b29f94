//! The validated scaling policy the core decides with. The config module builds it; the core
//! trusts its invariants (checked there): `0 < scale_in < 1 < scale_out`, weights non-negative
//! and not all zero, targets positive, activations non-negative, steps at least one.
//!
//! **Targets mean what AAS and the HPA mean:** a metric's `target` is the value trimtab holds it
//! at. Each metric's *ratio* is how far it is from its target (1.0 = on target), read according
//! to its [`TargetType`]; the thresholds are ratios too, so `scale_out = 1.10` with a CPU target
//! of 70 scales out above 77% CPU.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::schedule::ScheduleWindow;
use super::types::Bounds;

/// What a metric measures. The score treats every kind alike (higher means busier); sources use
/// the kind to know what to read (for example `ecs` reads CPU or memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Cpu,
    Memory,
    Latency,
    ErrorRate,
    RequestsPerTask,
    PoolPressure,
    Custom,
}

impl MetricKind {
    /// The kind a metric name suggests when the config does not say.
    pub fn infer(name: &str) -> Self {
        let n = name.to_ascii_lowercase();
        let has = |s: &str| n.contains(s);
        if has("cpu") {
            MetricKind::Cpu
        } else if has("mem") {
            MetricKind::Memory
        } else if has("latency") || has("duration") || has("response_time") {
            MetricKind::Latency
        } else if has("error") || has("5xx") {
            MetricKind::ErrorRate
        } else if has("request") || has("rps") {
            MetricKind::RequestsPerTask
        } else if has("pool") {
            MetricKind::PoolPressure
        } else {
            MetricKind::Custom
        }
    }
}

/// How a metric's value compares with its target, in the words of the HPA and KEDA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetType {
    /// A per-task figure (CPU %, p95 latency, requests per task): ratio = value / target, and
    /// the count it asks for is `current × ratio` (proportional sizing).
    #[default]
    Utilization,
    /// A fleet total (a queue's backlog, requests summed over the service): the count it asks
    /// for is `total / target`, whatever the current count; ratio = that count / current.
    AverageValue,
}

impl TargetType {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Utilization => "utilization",
            TargetType::AverageValue => "average_value",
        }
    }
}

/// One input to the score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricSpec {
    pub name: String,
    pub kind: MetricKind,
    /// Relative importance; zero keeps the metric visible in `explain` without steering.
    pub weight: f64,
    /// The value to hold this metric at (per task for an average value).
    pub target: f64,
    pub target_type: TargetType,
    /// KEDA's activation: with `min = 0`, the service wakes from zero only when this metric is
    /// above it, and goes to zero only when every weighted metric has been at or below its own.
    pub activation: f64,
}

impl MetricSpec {
    /// A utilization metric with no activation, the common case (handy in tests).
    pub fn utilization(name: &str, weight: f64, target: f64) -> Self {
        MetricSpec {
            name: name.to_owned(),
            kind: MetricKind::infer(name),
            weight,
            target,
            target_type: TargetType::Utilization,
            activation: 0.0,
        }
    }
}

/// What a missing, stale or invalid weighted metric does, with the semantics of AWS Application
/// Auto Scaling (scale out if any policy asks, scale in only if all agree). In every mode a
/// scale-out that the usable metrics call for goes ahead, and with no usable metric at all the
/// count holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnMissingData {
    /// Scale out on what is usable; never scale in while anything is missing.
    #[default]
    Hold,
    /// As `Hold`, and also scale in on what is usable (the user's explicit choice).
    UseAvailable,
    /// As `Hold`, plus one task out when nothing usable asks for more (cooldown and max apply).
    ScaleOut,
}

impl OnMissingData {
    /// What the rule does, in the words `explain`, `/status` and the README use.
    pub fn meaning(self) -> &'static str {
        match self {
            OnMissingData::Hold => "scale out on what is usable; never scale in while anything is missing",
            OnMissingData::UseAvailable => "scale out and in on what is usable",
            OnMissingData::ScaleOut => {
                "scale out on what is usable, else add one task; never scale in while anything is missing"
            }
        }
    }

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OnMissingData::Hold => "hold",
            OnMissingData::UseAvailable => "use-available",
            OnMissingData::ScaleOut => "scale-out",
        }
    }
}

/// The tolerance band around the target, as ratios (1.0 = every metric on its target, where
/// proportional sizing aims). `1 + scale_out_tolerance` and `1 - scale_in_tolerance` in config.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    /// Scale in below this score (e.g. 0.90).
    pub scale_in: f64,
    /// Scale out above this score (e.g. 1.10).
    pub scale_out: f64,
}

impl Thresholds {
    /// The HPA's default tolerance: 10% either side of the target.
    pub const DEFAULT: Thresholds = Thresholds { scale_in: 0.90, scale_out: 1.10 };

    /// The value of a metric at which a threshold fires, for `explain`: `ratio × target` for a
    /// utilization, and the fleet total at `current` tasks for an average value.
    pub fn value_at(m: &MetricSpec, ratio: f64, current: u32) -> f64 {
        match m.target_type {
            TargetType::Utilization => ratio * m.target,
            TargetType::AverageValue => ratio * m.target * f64::from(current.max(1)),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub bounds: Bounds,
    pub thresholds: Thresholds,
    pub scale_out_cooldown: TimeDelta,
    pub scale_in_cooldown: TimeDelta,
    pub scale_in_stabilization: TimeDelta,
    pub max_scale_out_step: u32,
    pub max_scale_in_step: u32,
    pub on_missing_data: OnMissingData,
    /// Samples older than this (relative to `now`) count as missing.
    pub max_metric_age: TimeDelta,
    pub metrics: Vec<MetricSpec>,
    pub schedules: Vec<ScheduleWindow>,
    /// Predictive term: project the score's trend this far ahead (`None`: off).
    pub lookahead: Option<TimeDelta>,
    /// The span of remembered scores the trend is fitted on.
    pub trend_window: TimeDelta,
}
