//! Phase one: the config file as written. Every struct denies unknown keys; every field is
//! optional here so templates can fill gaps and phase two can report *all* missing or invalid
//! values at once. Enumerations and durations stay strings until validation, for the same reason.

use serde::Deserialize;

/// `[agent]`: how the agent itself runs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAgent {
    /// Time between two ticks, e.g. `"15s"`. Default `"15s"`.
    pub interval: Option<String>,
    /// Address of the local API. Default `"127.0.0.1:9464"`.
    pub listen: Option<String>,
    /// Log decisions but change nothing in AWS. Default `false`.
    pub dry_run: Option<bool>,
}

/// `[service]`: the ECS service to scale.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub cluster: Option<String>,
    pub name: Option<String>,
    pub region: Option<String>,
    /// `fargate` | `fargate-spot` | `ec2`. Default `fargate`.
    pub launch_type: Option<String>,
    /// Task CPU units (1024 = 1 vCPU).
    pub cpu: Option<i64>,
    /// Task memory in MiB.
    pub memory: Option<i64>,
    /// `x86_64` | `arm64`. Default `x86_64`.
    pub architecture: Option<String>,
}

/// `[scaling]`: the policy, optionally on top of a template.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScaling {
    pub template: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub scale_out_threshold: Option<f64>,
    pub scale_in_threshold: Option<f64>,
    pub setpoint: Option<f64>,
    pub drift_tolerance: Option<f64>,
    pub scale_out_cooldown: Option<String>,
    pub scale_in_cooldown: Option<String>,
    pub scale_in_stabilization: Option<String>,
    pub max_scale_out_step: Option<i64>,
    pub max_scale_in_step: Option<i64>,
    pub on_missing_data: Option<String>,
    pub max_metric_age: Option<String>,
    pub lookahead: Option<String>,
    pub trend_window: Option<String>,
    /// Deserialized element by element (see `parse`), so each bad metric is reported; `None`
    /// marks an element phase one could not read (already reported).
    #[serde(skip)]
    pub metrics: Option<Vec<Option<RawMetric>>>,
}

/// `[[scaling.metrics]]`: one input to the score.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetric {
    pub name: Option<String>,
    /// `ecs` | `cloudwatch` | `prometheus` | `host` | `pools`.
    pub source: Option<String>,
    /// `cpu` | `memory` | `latency` | `error_rate` | `requests_per_task` | `pool_pressure` | `custom`.
    pub kind: Option<String>,
    pub weight: Option<f64>,
    pub target: Option<f64>,
}

/// `[[schedule]]`: a time window that changes the bounds.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub name: Option<String>,
    pub cron: Option<String>,
    pub at: Option<toml::value::Datetime>,
    pub duration: Option<String>,
    pub timezone: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub desired: Option<i64>,
    pub priority: Option<i64>,
}

/// `[budget]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    pub monthly_usd: Option<f64>,
    pub warn_at: Option<f64>,
    pub critical_at: Option<f64>,
}

/// The whole file after phase one.
#[derive(Clone, Debug, Default)]
pub struct RawConfig {
    pub agent: Option<RawAgent>,
    pub service: Option<RawService>,
    pub scaling: Option<RawScaling>,
    /// `None` marks an element phase one could not read (already reported).
    pub schedule: Vec<Option<RawSchedule>>,
    pub budget: Option<RawBudget>,
}
