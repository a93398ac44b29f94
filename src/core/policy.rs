//! The validated scaling policy the core decides with. The config module builds it; the core
//! trusts its invariants (checked there): `0 < scale_in < setpoint < scale_out < 1`, weights
//! non-negative and not all zero, targets positive, steps at least one.

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

/// One input to the score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricSpec {
    pub name: String,
    pub kind: MetricKind,
    /// Relative importance; zero keeps the metric visible in `explain` without steering.
    pub weight: f64,
    /// The value at which this metric alone calls a task fully loaded (score 1.0).
    pub target: f64,
}

/// What to do when a weighted metric is missing or stale. Scale-in never happens then.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnMissingData {
    /// Keep the current count (bounds are still enforced).
    #[default]
    Hold,
    /// Score on the metrics that are present; only scale-out may result.
    UseAvailable,
    /// Treat missing data as overload: add one task (cooldown and max still apply).
    ScaleOut,
}

impl OnMissingData {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OnMissingData::Hold => "hold",
            OnMissingData::UseAvailable => "use-available",
            OnMissingData::ScaleOut => "scale-out",
        }
    }
}

/// The tolerance band and the point proportional sizing aims at.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    pub scale_in: f64,
    pub scale_out: f64,
    pub setpoint: f64,
    /// When set, a score inside the band but more than this fraction below the setpoint also
    /// recommends scaling in to the setpoint (through the stabilization window like any
    /// scale-in), so a falling load is followed without waiting for `scale_in`.
    pub drift_tolerance: Option<f64>,
}

impl Thresholds {
    /// The score below which a scale-in is recommended.
    pub fn scale_in_below(&self) -> f64 {
        match self.drift_tolerance {
            Some(tol) => self.scale_in.max(self.setpoint * (1.0 - tol)),
            None => self.scale_in,
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
