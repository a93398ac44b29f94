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
    /// Bearer token for the API's mutating endpoints (`POST /override`). Also read from the
    /// `TRIMTAB_API_TOKEN` environment variable. Without one, mutating endpoints are off.
    pub api_token: Option<String>,
    /// `sidecar`: in the tasks of the one service `[service]` names, scaling it by `[scaling]`.
    /// `controller`: an ECS service of its own that scales the services listed in `[[services]]`
    /// or found by `[discovery]`, each by a `[policies.NAME]` or a template. Default `sidecar`.
    pub mode: Option<String>,
    /// Sidecars: how often a follower reads the service's tasks from ECS to learn who leads, when
    /// it cannot ask the leader's agent itself (its API listens on `127.0.0.1`); jittered per
    /// task by ±25 %. Default `"60s"`.
    pub leader_check: Option<String>,
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
    /// Endpoint for every AWS client (tests, VPC endpoints). The standard `AWS_ENDPOINT_URL*`
    /// environment variables work too.
    pub endpoint_url: Option<String>,
    /// `linux` | `windows`. Default `linux`.
    pub os: Option<String>,
    /// Task ephemeral storage, GiB (Fargate includes 20). Default 20.
    pub ephemeral_storage_gib: Option<i64>,
}

/// `[scaling]`: the policy, optionally on top of a template.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScaling {
    pub template: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// Scale out when the score is more than this fraction above 1.0 (every metric on its
    /// target). Default 0.10: above 77% CPU for a target of 70.
    pub scale_out_tolerance: Option<f64>,
    /// Scale in when the score is more than this fraction below 1.0. Default 0.10.
    pub scale_in_tolerance: Option<f64>,
    /// Gone since targets became hold points (issue 13); read only to say what to write instead.
    pub scale_out_threshold: Option<f64>,
    /// Gone, as `scale_out_threshold`.
    pub scale_in_threshold: Option<f64>,
    /// Gone, as `scale_out_threshold`.
    pub setpoint: Option<f64>,
    /// Gone, as `scale_out_threshold`.
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
    /// The value to hold the metric at (per task, for an average value).
    pub target: Option<f64>,
    /// `utilization` (a per-task figure, sized proportionally; default) | `average_value` (a
    /// fleet total: desired = ceil(total / target)).
    pub target_type: Option<String>,
    /// With `min = 0`: wake from zero above this value; go to zero only when every weighted
    /// metric is at or below its own. Default 0.
    pub activation: Option<f64>,
    /// `ecs`: `service` (CloudWatch `AWS/ECS`, all tasks; default) | `task` (this task's
    /// metadata endpoint).
    pub scope: Option<String>,
    // prometheus
    /// One endpoint, `http://…`; or `port` (+ `path`) to scrape every RUNNING task.
    pub url: Option<String>,
    /// Scrape every RUNNING task of the service at `http://<task IP>:<port><path>`.
    pub port: Option<i64>,
    /// With `port`: the metrics path. Default `/metrics`.
    pub path: Option<String>,
    /// With `port` and `gauge`: `avg` (default) | `max` | `sum` across tasks.
    pub aggregate: Option<String>,
    pub gauge: Option<String>,
    /// A counter read as a per-second rate between two scrapes.
    pub rate: Option<String>,
    /// `[numerator, denominator]` counters: `100 * d(num) / d(den)`.
    pub ratio: Option<Vec<String>>,
    pub histogram: Option<String>,
    pub quantile: Option<f64>,
    /// Multiplies the value (e.g. seconds -> ms). Default 1.
    pub scale: Option<f64>,
    /// Only series whose labels include these.
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    // cloudwatch
    pub namespace: Option<String>,
    pub metric: Option<String>,
    /// In a controller's `[policies.NAME]`, a value may hold `{cluster}` and `{service}`: they
    /// are kept as written and filled in with each scaled service's cluster and name (e.g.
    /// `QueueName = "{service}-jobs"`). A sidecar's `[scaling]` sends every value as written.
    pub dimensions: Option<std::collections::BTreeMap<String, String>>,
    pub statistic: Option<String>,
    pub period: Option<String>,
    // pools
    /// The pool whose pressure this metric reads; default: the most pressed pool.
    pub pool: Option<String>,
}

/// `[[schedule]]`: a time window that changes the bounds.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub name: Option<String>,
    /// Unix cron (`0 8 * * MON-FRI`) or AWS cron (`cron(0 8 ? * MON-FRI *)`).
    pub cron: Option<String>,
    /// A TOML date-time with offset, or the string `at(yyyy-mm-ddThh:mm:ss)` in `timezone`.
    pub at: Option<toml::Value>,
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
    /// A monthly budget, USD (calendar months in `timezone`).
    pub monthly_usd: Option<f64>,
    /// A daily budget, USD (instead of `monthly_usd`).
    pub daily_usd: Option<f64>,
    /// A fraction of the budget (`0.75`) or an amount (`"$375"`). Default 0.75.
    pub warn_at: Option<toml::Value>,
    /// Default 0.90.
    pub critical_at: Option<toml::Value>,
    /// IANA time zone of the period boundaries. Default `UTC`.
    pub timezone: Option<String>,
    /// `none` | `warn` | `critical`: past that level, scale-out stops at what the rest of the
    /// budget affords. Default `none`.
    pub cap: Option<String>,
}

/// `[cost]`: price overrides and facts the shipped table cannot know.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCost {
    pub vcpu_hour_usd: Option<f64>,
    pub gb_hour_usd: Option<f64>,
    /// Windows OS licence per vCPU-hour.
    pub licence_vcpu_hour_usd: Option<f64>,
    /// Ephemeral storage above 20 GiB, per GB-hour.
    pub storage_gb_hour_usd: Option<f64>,
    /// Fargate Spot: the fraction taken off on-demand. Default 0.61 (the low end of observed).
    pub spot_discount: Option<f64>,
    /// EC2: the container instance type, and its price and size when not in the shipped table.
    pub instance_type: Option<String>,
    pub instance_hourly_usd: Option<f64>,
    pub instance_vcpus: Option<i64>,
    pub instance_memory_gib: Option<i64>,
    /// Whether the service tolerates interruptions (for the Fargate Spot recommendation).
    pub interruption_tolerant: Option<bool>,
}

/// `[[notify]]`: a destination for notifications.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    /// `webhook` | `slack` | `sns`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub url: Option<String>,
    pub topic_arn: Option<String>,
    /// The types of event this destination receives, any of `budget`, `scaling`, `resize`,
    /// `local_alert`, `operator`, `ownership`. Default `["budget"]`.
    pub events: Option<Vec<String>>,
}

/// `[alarms]`: CloudWatch alarms for the service and the agent.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlarms {
    /// Put the alarms when `run` starts. Default `false`.
    pub enabled: Option<bool>,
    /// Service CPU % that raises the CPU alarm. Default 85.
    pub cpu_high: Option<f64>,
    /// Service memory % that raises the memory alarm. Default 90.
    pub memory_high: Option<f64>,
    /// Minutes without a heartbeat before the agent alarm fires. Default 3.
    pub heartbeat_minutes: Option<i64>,
    /// ARNs notified when an alarm fires (e.g. an SNS topic).
    pub actions: Option<Vec<String>>,
    /// With a `[budget]`: an alarm when the agent's forecast passes the critical level.
    /// Default `true`.
    pub budget_forecast: Option<bool>,
}

/// `[pools.NAME]`: a resource pool the app reserves from over the local API.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    /// A whole number in the pool's unit, or `"auto"` for the `cpu` (CPU units) and `memory`
    /// (MiB) pools: the task's limits.
    pub capacity: Option<toml::Value>,
    /// The unit, for display. Default: `cpu-units` for `cpu`, `MiB` for `memory`, else `units`.
    pub unit: Option<String>,
    /// Whether `critical` and `high` requests may take from lower priorities. Default `false`.
    pub preemption: Option<bool>,
    /// The longest a request may queue. Default `"30s"`.
    pub max_wait: Option<String>,
    /// A reservation's lifetime when the request names none. Default `"5m"`.
    pub default_ttl: Option<String>,
    /// The longest lifetime a request may ask for. Default `"1h"`.
    pub max_ttl: Option<String>,
    /// The most requests that may wait at once. Default 1000.
    pub max_queue: Option<i64>,
    /// The most reservations that may be held at once. Default 10000.
    pub max_active: Option<i64>,
}

/// `[vertical]`: right-sizing the task.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVertical {
    /// `off` | `recommend` | `apply`. Default `recommend`.
    pub mode: Option<String>,
    /// Apply at most once per this long. Default `"24h"`.
    pub interval: Option<String>,
    /// The smallest change worth a redeployment, as a fraction. Default 0.10.
    pub min_change: Option<f64>,
    /// Head-room over the observed percentile. Default 0.15.
    pub margin: Option<f64>,
}

/// `[local]`: the monitor of this task's own cgroup.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLocal {
    /// How often the monitor samples. Default `"5s"`.
    pub sample_interval: Option<String>,
    /// How much history it keeps. Default `"1h"`.
    pub history: Option<String>,
    pub alerts: Option<RawLocalAlerts>,
}

/// `[local.alerts]`: thresholds for log and notification alerts about this task.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLocalAlerts {
    /// CPU % of the cgroup limit. Default 90; 0 turns it off.
    pub cpu: Option<f64>,
    /// Memory % of the cgroup limit. Default 90; 0 turns it off.
    pub memory: Option<f64>,
    /// % of CPU periods throttled. Default 0 (off).
    pub throttling: Option<f64>,
    /// Disk read + write, bytes/s. Default 0 (off).
    pub disk_bps: Option<f64>,
    /// Network receive + transmit, bytes/s. Default 0 (off).
    pub network_bps: Option<f64>,
    /// How long a value must stay above its threshold. Default `"1m"`.
    #[serde(rename = "for")]
    pub for_: Option<String>,
    /// The least time between two alerts for the same resource. Default `"15m"`.
    pub cooldown: Option<String>,
}

/// `[protection]`: ECS task scale-in protection while this task is busy.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProtection {
    /// Protect the task while it is busy (needs `$ECS_AGENT_URI`, set by ECS). Default `false`.
    pub enabled: Option<bool>,
    /// How long one set (or renewal) protects the task, `"1m"` to `"48h"`, whole minutes.
    /// Default `"2h"` (ECS's own default).
    pub expires: Option<String>,
    /// How long the task stays protected after it turns idle. Default `"30s"`.
    pub grace: Option<String>,
    /// The app's own word: `GET` answers `true`/`false` (or JSON `{"busy": true}`).
    pub busy_url: Option<String>,
}

/// `[controller]`: controller mode's AWS connection and its own ECS service.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawController {
    /// `None`: the environment's AWS region.
    pub region: Option<String>,
    /// Endpoint for every AWS client (tests, VPC endpoints).
    pub endpoint_url: Option<String>,
    /// The controller's own ECS service, whose healthy tasks share the services between them.
    /// Give both or neither; without them this process is the only controller.
    pub cluster: Option<String>,
    pub service: Option<String>,
    /// The container whose ECS health makes a task of that service a member. Default `trimtab`.
    pub container: Option<String>,
}

/// `[policies.NAME]`: a named policy, written as a `[scaling]` table is (on top of a template),
/// with its own `[[policies.NAME.metrics]]` and `[[policies.NAME.schedule]]`.
#[derive(Clone, Debug, Default)]
pub struct RawPolicy {
    pub scaling: RawScaling,
    /// `None` marks an element phase one could not read (already reported).
    pub schedule: Vec<Option<RawSchedule>>,
}

/// `[[services]]`: one service a controller scales.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFleetService {
    pub cluster: Option<String>,
    pub name: Option<String>,
    /// A `[policies.NAME]` name, or a template's name.
    pub policy: Option<String>,
}

/// `[discovery]`: services a controller adopts by tag.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDiscovery {
    /// The clusters to look in.
    pub clusters: Option<Vec<String>>,
    /// The tag whose value names a service's policy (a `[policies]` name or a template's).
    /// Default `trimtab:policy`. `trimtab:min` and `trimtab:max` tags override its bounds.
    pub tag: Option<String>,
    /// Time between two looks, from `"30s"` to `"1d"`. Default `"5m"`.
    pub interval: Option<String>,
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
    pub alarms: Option<RawAlarms>,
    pub cost: Option<RawCost>,
    /// `None` marks an element phase one could not read (already reported).
    pub notify: Vec<Option<RawNotify>>,
    /// By name, in file order; `None` marks a pool phase one could not read (already reported).
    pub pools: Vec<(String, Option<RawPool>)>,
    pub vertical: Option<RawVertical>,
    pub local: Option<RawLocal>,
    pub protection: Option<RawProtection>,
    pub controller: Option<RawController>,
    /// By name, in file order; `None` marks a policy phase one could not read (already reported).
    pub policies: Vec<(String, Option<RawPolicy>)>,
    /// `None` marks an element phase one could not read (already reported).
    pub services: Vec<Option<RawFleetService>>,
    pub discovery: Option<RawDiscovery>,
}
