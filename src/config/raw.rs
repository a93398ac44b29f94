//! Phase one: the config file as written. Every struct denies unknown keys; every field is
//! optional here so templates can fill gaps and phase two can report *all* missing or invalid
//! values at once. Enumerations and durations stay strings until validation, for the same reason.
//!
//! These structs are also the source of the JSON Schema (`trimtab schema`, [`super::schema`]):
//! each field's doc comment is its description there, and its `schemars` attributes state the
//! default, range, values and duration pattern from [`super::defaults`], the constants the
//! validators use. [`RawConfig`]'s fields are the config's sections.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::defaults::{self as d, DURATION_PATTERN};
use super::model::{Aggregate, LaunchType, Mode, SourceKind, VerticalMode};

/// `[agent]`: how the agent itself runs.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAgent {
    /// Time between two ticks (decisions), from 1s to 1d; a controller's at least 10s.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::agent::INTERVAL))]
    pub interval: Option<String>,
    /// Address of the local API, `IP:PORT`. One other hosts can reach (anything but loopback)
    /// needs an API token, else `trimtab run` refuses to start.
    #[schemars(extend("default" = d::agent::LISTEN))]
    pub listen: Option<String>,
    /// Decide and log, but change nothing in AWS (only read calls are made).
    #[schemars(extend("default" = d::agent::DRY_RUN))]
    pub dry_run: Option<bool>,
    /// Bearer token for the API's writes (`POST`/`DELETE /override`, pool reservations from
    /// other hosts). Also read from the `TRIMTAB_API_TOKEN` environment variable. Without one,
    /// those are off.
    #[schemars(length(min = d::agent::MIN_TOKEN_LEN))]
    pub api_token: Option<String>,
    /// `sidecar`: in the tasks of the one service `[service]` names, scaling it by `[scaling]`.
    /// `controller`: an ECS service of its own that scales the services listed in `[[services]]`
    /// or found by `[discovery]`, each by a `[policies.NAME]` or a template.
    #[schemars(extend("enum" = Mode::NAMES, "default" = d::agent::MODE))]
    pub mode: Option<String>,
    /// Sidecars: how often a follower reads the service's tasks from ECS to learn who leads, when
    /// it cannot ask the leader's agent itself (its API listens on `127.0.0.1`); jittered per
    /// task by ±25 %. From 5s to 1d.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::agent::LEADER_CHECK))]
    pub leader_check: Option<String>,
}

/// `[service]`: the ECS service to scale (sidecar mode).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    /// ECS cluster name. Required.
    #[schemars(required)]
    pub cluster: Option<String>,
    /// ECS service name. Required.
    #[schemars(required)]
    pub name: Option<String>,
    /// AWS region, e.g. `us-east-1`. Default: the AWS environment's.
    pub region: Option<String>,
    /// How tasks run (and are priced).
    #[schemars(extend("enum" = LaunchType::NAMES, "default" = d::service::LAUNCH_TYPE))]
    pub launch_type: Option<String>,
    /// Task CPU units (1024 = 1 vCPU); required on Fargate, where it is one of 256, 512, 1024,
    /// 2048, 4096, 8192, 16384.
    #[schemars(range(min = 1, max = d::service::MAX_CPU))]
    pub cpu: Option<i64>,
    /// Task memory in MiB; required on Fargate, where it must be valid for `cpu`.
    #[schemars(range(min = 1, max = d::service::MAX_MEMORY))]
    pub memory: Option<i64>,
    /// CPU architecture.
    #[schemars(extend("enum" = ["x86_64", "arm64"], "default" = d::service::ARCHITECTURE))]
    pub architecture: Option<String>,
    /// Endpoint for every AWS client (tests, VPC endpoints), an `http://` or `https://` URL. The
    /// standard `AWS_ENDPOINT_URL*` environment variables work too.
    pub endpoint_url: Option<String>,
    /// The task's operating system (Windows pays a licence fee and needs at least 1 vCPU).
    #[schemars(extend("enum" = ["linux", "windows"], "default" = d::service::OS))]
    pub os: Option<String>,
    /// Task ephemeral storage, GiB (Fargate includes 20; above that it is billed).
    #[schemars(
        range(min = d::service::EPHEMERAL_STORAGE_GIB, max = d::service::MAX_EPHEMERAL_STORAGE_GIB),
        extend("default" = d::service::EPHEMERAL_STORAGE_GIB)
    )]
    pub ephemeral_storage_gib: Option<i64>,
}

/// `[scaling]`: the policy, optionally on top of a template. A key left out comes from the
/// template; the defaults stated here apply where the template sets none either.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScaling {
    /// The policy template to start from (`trimtab policies` lists them).
    #[schemars(extend("enum" = crate::config::templates::names(), "default" = d::scaling::TEMPLATE))]
    pub template: Option<String>,
    /// Fewest tasks. `0` only if the service can start again from zero: a weighted `cloudwatch`
    /// metric the tasks do not produce, or a schedule window that raises `min`.
    #[schemars(range(min = 0, max = d::scaling::MAX_TASKS), extend("default" = d::scaling::MIN))]
    pub min: Option<i64>,
    /// Most tasks; `min <= max`.
    #[schemars(range(min = 1, max = d::scaling::MAX_TASKS), extend("default" = d::scaling::MAX))]
    pub max: Option<i64>,
    /// Scale out when the score is more than this fraction above 1.0 (every metric on its
    /// target): 0.10 scales out above 77% CPU for a target of 70.
    #[schemars(
        range(min = 0.0, max = d::scaling::MAX_SCALE_OUT_TOLERANCE),
        extend("default" = d::scaling::SCALE_OUT_TOLERANCE)
    )]
    pub scale_out_tolerance: Option<f64>,
    /// Scale in when the score is more than this fraction below 1.0 (through the stabilization
    /// window); below 1.
    #[schemars(
        range(min = 0.0),
        extend("exclusiveMaximum" = 1.0, "default" = d::scaling::SCALE_IN_TOLERANCE)
    )]
    pub scale_in_tolerance: Option<f64>,
    /// Retired (issue 13): refused, with the keys and targets to write instead.
    #[schemars(extend("deprecated" = true))]
    pub scale_out_threshold: Option<f64>,
    /// Retired, as `scale_out_threshold`.
    #[schemars(extend("deprecated" = true))]
    pub scale_in_threshold: Option<f64>,
    /// Retired, as `scale_out_threshold`.
    #[schemars(extend("deprecated" = true))]
    pub setpoint: Option<f64>,
    /// Retired, as `scale_out_threshold`.
    #[schemars(extend("deprecated" = true))]
    pub drift_tolerance: Option<f64>,
    /// Wait after a scale-out before the next scale-out; at most 1d.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::scaling::SCALE_OUT_COOLDOWN))]
    pub scale_out_cooldown: Option<String>,
    /// Wait after a scale-in before the next scale-in (after a scale-out, scale-in waits the
    /// longer of both cooldowns); at most 1d.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::scaling::SCALE_IN_COOLDOWN))]
    pub scale_in_cooldown: Option<String>,
    /// Scale in only to the highest recommendation within this window; at most 1d.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::scaling::SCALE_IN_STABILIZATION))]
    pub scale_in_stabilization: Option<String>,
    /// Most tasks added by one decision.
    #[schemars(
        range(min = 1, max = d::scaling::MAX_TASKS),
        extend("default" = d::scaling::MAX_SCALE_OUT_STEP)
    )]
    pub max_scale_out_step: Option<i64>,
    /// Most tasks removed by one decision.
    #[schemars(
        range(min = 1, max = d::scaling::MAX_TASKS),
        extend("default" = d::scaling::MAX_SCALE_IN_STEP)
    )]
    pub max_scale_in_step: Option<i64>,
    /// What missing or stale data does besides never blocking a scale-out: `hold` (no
    /// scale-in), `use-available` (also scale in on what is usable), or `scale-out` (add a task
    /// when nothing usable asks for more).
    #[schemars(extend(
        "enum" = d::scaling::ON_MISSING_DATA_VALUES,
        "default" = d::scaling::ON_MISSING_DATA
    ))]
    pub on_missing_data: Option<String>,
    /// Older samples count as missing; longer than zero, at most 7d.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::scaling::MAX_METRIC_AGE))]
    pub max_metric_age: Option<String>,
    /// Predictive term: project the score's trend over `trend_window` this far ahead (at most
    /// 1d); the projection can only raise the score. Default: off.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub lookahead: Option<String>,
    /// Span of recent scores the trend is fitted on; longer than zero, at most 1d.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::scaling::TREND_WINDOW))]
    pub trend_window: Option<String>,
    /// The metrics of the score (`[[scaling.metrics]]`); when given, they replace the
    /// template's whole.
    // Read element by element (`parse` takes them out of the table before the rest is
    // deserialized), so each bad metric is reported; `None` marks an element phase one could
    // not read (already reported).
    #[schemars(with = "Option<Vec<RawMetric>>")]
    pub metrics: Option<Vec<Option<RawMetric>>>,
}

/// `[[scaling.metrics]]`: one input to the score (names unique; at least one weight above 0).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMetric {
    /// The metric's name, used in `explain --metric NAME=VALUE`. Required.
    #[schemars(required)]
    pub name: Option<String>,
    /// Where the agent reads it. Required.
    #[schemars(required, extend("enum" = SourceKind::NAMES))]
    pub source: Option<String>,
    /// What it measures. Default: inferred from the name.
    #[schemars(extend("enum" = d::metric::KINDS))]
    pub kind: Option<String>,
    /// Relative importance: 0 shows the metric in `explain` without steering; else from
    /// 0.000001 to 1000000.
    #[schemars(range(min = 0.0, max = d::metric::MAX_WEIGHT), extend("default" = d::metric::WEIGHT))]
    pub weight: Option<f64>,
    /// The value to hold the metric at (per task, for an `average_value`). Required.
    #[schemars(required, range(min = d::metric::MIN_TARGET, max = d::metric::MAX_TARGET))]
    pub target: Option<f64>,
    /// `utilization`: a per-task figure, sized proportionally. `average_value`: a fleet total,
    /// desired = ceil(total / target).
    #[schemars(extend("enum" = d::metric::TARGET_TYPES, "default" = d::metric::TARGET_TYPE))]
    pub target_type: Option<String>,
    /// With `min = 0`: wake from zero above this value; go to zero only when every weighted
    /// metric is at or below its own. Below `target` for a utilization.
    #[schemars(range(min = 0.0), extend("default" = d::metric::ACTIVATION))]
    pub activation: Option<f64>,
    /// `ecs`: `service` (CloudWatch `AWS/ECS`, all tasks) or `task` (this task's metadata
    /// endpoint).
    #[schemars(extend("enum" = d::metric::SCOPES, "default" = d::metric::SCOPE))]
    pub scope: Option<String>,
    // prometheus
    /// `prometheus`: one endpoint, `http://…`; or `port` (+ `path`) to scrape every RUNNING task.
    pub url: Option<String>,
    /// `prometheus`: scrape every RUNNING task of the service at
    /// `http://<task IP>:<port><path>`.
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i64>,
    /// `prometheus`, with `port`: the metrics path.
    #[schemars(extend("default" = d::metric::PATH))]
    pub path: Option<String>,
    /// `prometheus`, with `port` and `gauge`: how the tasks' values combine.
    #[schemars(extend("enum" = Aggregate::NAMES, "default" = d::metric::AGGREGATE))]
    pub aggregate: Option<String>,
    /// `prometheus`: a gauge's value (summed over matching series). One of `gauge`, `rate`,
    /// `ratio`, `histogram`.
    pub gauge: Option<String>,
    /// `prometheus`: a counter read as a per-second rate between two scrapes.
    pub rate: Option<String>,
    /// `prometheus`: `[numerator, denominator]` counters: `100 * d(num) / d(den)`.
    #[schemars(length(min = 2, max = 2))]
    pub ratio: Option<Vec<String>>,
    /// `prometheus`: a histogram's base name; its `quantile` between two scrapes.
    pub histogram: Option<String>,
    /// `prometheus`, with `histogram`: the quantile, between 0 and 1 (exclusive). Required with
    /// `histogram`.
    #[schemars(extend("exclusiveMinimum" = 0.0, "exclusiveMaximum" = 1.0))]
    pub quantile: Option<f64>,
    /// `prometheus`: multiplies the value (e.g. 1000 for seconds to ms); above 0.
    #[schemars(extend("exclusiveMinimum" = 0.0, "default" = d::metric::SCALE))]
    pub scale: Option<f64>,
    /// `prometheus`: only series whose labels include these.
    pub labels: Option<BTreeMap<String, String>>,
    // cloudwatch
    /// `cloudwatch`: the namespace, e.g. `AWS/SQS`. Required.
    pub namespace: Option<String>,
    /// `cloudwatch`: the metric's name. Required.
    pub metric: Option<String>,
    /// `cloudwatch`: the dimensions (at most 30). In a controller's `[policies.NAME]`, a value
    /// may hold `{cluster}` and `{service}`: they are filled in with each scaled service's
    /// cluster and name (e.g. `QueueName = "{service}-jobs"`). A sidecar's `[scaling]` sends
    /// every value as written.
    #[schemars(extend("maxProperties" = d::metric::MAX_DIMENSIONS))]
    pub dimensions: Option<BTreeMap<String, String>>,
    /// `cloudwatch`: `Average`, `Sum`, `Minimum`, `Maximum`, `SampleCount`, or an extended
    /// statistic (`p99`, `p99.9`, `tm90`, `IQM`, …).
    #[schemars(extend("default" = d::metric::STATISTIC))]
    pub statistic: Option<String>,
    /// `cloudwatch`: 1s, 5s, 10s, 30s or a multiple of 60s; the newest datapoint is used.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::metric::PERIOD))]
    pub period: Option<String>,
    // pools
    /// `pools`: the pool whose pressure this metric reads. Default: the most pressed pool.
    pub pool: Option<String>,
}

/// `[[schedule]]`: a time window that changes the bounds.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// Unique window name, shown in decisions. Required.
    #[schemars(required)]
    pub name: Option<String>,
    /// When the window opens, repeatedly: Unix cron (`0 8 * * MON-FRI`) or AWS cron
    /// (`cron(0 8 ? * MON-FRI *)`). One of `cron` and `at`.
    pub cron: Option<String>,
    /// When the window opens, once: a TOML date-time with offset, or the string
    /// `at(yyyy-mm-ddThh:mm:ss)` in `timezone`. One of `cron` and `at`.
    #[schemars(with = "Option<String>")]
    pub at: Option<toml::Value>,
    /// How long the window stays open; longer than zero, at most 366d. Required.
    #[schemars(required, regex(pattern = DURATION_PATTERN))]
    pub duration: Option<String>,
    /// IANA time zone of `cron` and of `at(...)`.
    #[schemars(extend("default" = d::schedule::TIMEZONE))]
    pub timezone: Option<String>,
    /// Fewest tasks while open. Default: the policy's `min`.
    #[schemars(range(min = 0, max = d::scaling::MAX_TASKS))]
    pub min: Option<i64>,
    /// Most tasks while open. Default: the policy's `max`.
    #[schemars(range(min = 1, max = d::scaling::MAX_TASKS))]
    pub max: Option<i64>,
    /// Pin the desired count while open. Default: none.
    #[schemars(range(min = 0, max = d::scaling::MAX_TASKS))]
    pub desired: Option<i64>,
    /// Higher wins when windows overlap.
    #[schemars(range(min = i32::MIN, max = i32::MAX), extend("default" = d::schedule::PRIORITY))]
    pub priority: Option<i64>,
}

/// `[budget]`: what the service may cost a month or a day (sidecar mode).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    /// A monthly budget, USD (calendar months in `timezone`). One of `monthly_usd` and
    /// `daily_usd`.
    #[schemars(range(max = d::budget::MAX_USD), extend("exclusiveMinimum" = 0.0))]
    pub monthly_usd: Option<f64>,
    /// A daily budget, USD (instead of `monthly_usd`).
    #[schemars(range(max = d::budget::MAX_USD), extend("exclusiveMinimum" = 0.0))]
    pub daily_usd: Option<f64>,
    /// The warning level, for spend to date and for the forecast: a fraction of the budget
    /// (`0.75`) or an amount (`"$375"`); below `critical_at`.
    #[schemars(with = "Option<super::schema::Level>", extend("default" = d::budget::WARN_AT))]
    pub warn_at: Option<toml::Value>,
    /// The critical level: a fraction of the budget or an amount.
    #[schemars(with = "Option<super::schema::Level>", extend("default" = d::budget::CRITICAL_AT))]
    pub critical_at: Option<toml::Value>,
    /// IANA time zone of the period boundaries.
    #[schemars(extend("default" = d::budget::TIMEZONE))]
    pub timezone: Option<String>,
    /// Past this level, scale-out stops at what the rest of the budget affords (never below
    /// `min`).
    #[schemars(extend("enum" = d::budget::CAPS, "default" = d::budget::CAP))]
    pub cap: Option<String>,
}

/// `[cost]`: price overrides and facts the shipped table cannot know (all optional; each
/// price defaults to the shipped table's).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCost {
    /// Fargate price per vCPU-hour, USD.
    #[schemars(range(max = d::cost::MAX_PRICE_USD), extend("exclusiveMinimum" = 0.0))]
    pub vcpu_hour_usd: Option<f64>,
    /// Fargate price per GB-hour of memory, USD.
    #[schemars(range(max = d::cost::MAX_PRICE_USD), extend("exclusiveMinimum" = 0.0))]
    pub gb_hour_usd: Option<f64>,
    /// Windows OS licence per vCPU-hour, USD.
    #[schemars(range(max = d::cost::MAX_PRICE_USD), extend("exclusiveMinimum" = 0.0))]
    pub licence_vcpu_hour_usd: Option<f64>,
    /// Ephemeral storage above the included 20 GiB, per GB-hour, USD.
    #[schemars(range(max = d::cost::MAX_PRICE_USD), extend("exclusiveMinimum" = 0.0))]
    pub storage_gb_hour_usd: Option<f64>,
    /// Fargate Spot: the fraction taken off on-demand, below 1 (the price floats; the default
    /// is the low end of the observed 61-70 %, so estimates err high).
    #[schemars(range(min = 0.0), extend("exclusiveMaximum" = 1.0, "default" = d::cost::SPOT_DISCOUNT))]
    pub spot_discount: Option<f64>,
    /// EC2: the container instance type, e.g. `m6i.large`. Required on EC2.
    pub instance_type: Option<String>,
    /// EC2: the instance's on-demand price per hour, USD (required outside the shipped table).
    #[schemars(range(max = d::cost::MAX_PRICE_USD), extend("exclusiveMinimum" = 0.0))]
    pub instance_hourly_usd: Option<f64>,
    /// EC2: the instance's vCPUs (required outside the shipped table).
    #[schemars(range(min = 1, max = d::cost::MAX_INSTANCE_VCPUS))]
    pub instance_vcpus: Option<i64>,
    /// EC2: the instance's memory, GiB (required outside the shipped table).
    #[schemars(range(min = 1, max = d::cost::MAX_INSTANCE_MEMORY_GIB))]
    pub instance_memory_gib: Option<i64>,
    /// Whether the service tolerates interruptions: `true` makes the Fargate Spot
    /// recommendation firm, `false` drops it. Default: unset.
    pub interruption_tolerant: Option<bool>,
}

/// `[[notify]]`: a destination for notifications.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    /// `webhook`: POST of the event as JSON; `slack`: POST of a Slack-compatible message;
    /// `sns`: `Publish` to a topic. Required.
    #[serde(rename = "type")]
    #[schemars(required, extend("enum" = d::notify::TYPES))]
    pub kind: Option<String>,
    /// Where to POST, an `http://` or `https://` URL. Required for `webhook` and `slack`.
    pub url: Option<String>,
    /// The SNS topic ARN to publish to. Required for `sns`.
    pub topic_arn: Option<String>,
    /// The types of event this destination receives, any of `budget`, `scaling`, `resize`,
    /// `local_alert`, `operator`, `ownership`. Default `["budget"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "event_types")]
    pub events: Option<Vec<String>>,
}

/// `[[notify]] events`: a non-empty list of the known event types.
fn event_types(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = super::model::EventType::ALL.iter().map(|e| e.as_str()).collect();
    schemars::json_schema!({ "type": "array", "items": { "enum": names }, "minItems": 1, "default": ["budget"] })
}

/// `[alarms]`: CloudWatch alarms for the service and the agent.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlarms {
    /// Put the alarms when `trimtab run` starts (`trimtab alarms --apply` puts them by hand).
    #[schemars(extend("default" = d::alarms::ENABLED))]
    pub enabled: Option<bool>,
    /// Service CPU % that raises the CPU alarm (average over 3 minutes); above 0, at most 100.
    #[schemars(range(max = 100.0), extend("exclusiveMinimum" = 0.0, "default" = d::alarms::CPU_HIGH))]
    pub cpu_high: Option<f64>,
    /// Service memory % that raises the memory alarm; above 0, at most 100.
    #[schemars(range(max = 100.0), extend("exclusiveMinimum" = 0.0, "default" = d::alarms::MEMORY_HIGH))]
    pub memory_high: Option<f64>,
    /// Minutes without a heartbeat before the agent alarm fires (missing data counts as
    /// breaching).
    #[schemars(
        range(min = 1, max = d::alarms::MAX_HEARTBEAT_MINUTES),
        extend("default" = d::alarms::HEARTBEAT_MINUTES)
    )]
    pub heartbeat_minutes: Option<i64>,
    /// ARNs notified on ALARM and OK (e.g. an SNS topic).
    pub actions: Option<Vec<String>>,
    /// With a `[budget]`: an alarm when the agent's forecast passes the critical level.
    #[schemars(extend("default" = d::alarms::BUDGET_FORECAST))]
    pub budget_forecast: Option<bool>,
}

/// `[pools.NAME]`: a resource pool the app reserves from over the local API (sidecar mode).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    /// The pool's size, a whole number in its unit; or `"auto"` for the `cpu` (CPU units) and
    /// `memory` (MiB) pools: the task's limits. Required.
    #[schemars(required, with = "super::schema::Capacity")]
    pub capacity: Option<toml::Value>,
    /// The unit, for display. Default: `cpu-units` for `cpu`, `MiB` for `memory`, else `units`.
    pub unit: Option<String>,
    /// Whether `critical` and `high` requests may take from strictly lower priorities.
    #[schemars(extend("default" = d::pool::PREEMPTION))]
    pub preemption: Option<bool>,
    /// The longest a request may queue; at most 1h.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::pool::MAX_WAIT))]
    pub max_wait: Option<String>,
    /// A reservation's lifetime when the request names none; at most 1d and `max_ttl`.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::pool::DEFAULT_TTL))]
    pub default_ttl: Option<String>,
    /// The longest lifetime a request may ask for; at most 7d.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::pool::MAX_TTL))]
    pub max_ttl: Option<String>,
    /// The most requests that may wait at once (0: none wait).
    #[schemars(range(min = 0, max = d::pool::MOST_QUEUE), extend("default" = d::pool::MAX_QUEUE))]
    pub max_queue: Option<i64>,
    /// The most reservations that may be held at once.
    #[schemars(range(min = 1, max = d::pool::MOST_ACTIVE), extend("default" = d::pool::MAX_ACTIVE))]
    pub max_active: Option<i64>,
}

/// `[vertical]`: right-sizing the task (sidecar mode).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVertical {
    /// `apply` resizes Fargate tasks through a new task-definition revision (needs
    /// `service.cpu` and `memory`).
    #[schemars(extend("enum" = VerticalMode::NAMES, "default" = d::vertical::MODE))]
    pub mode: Option<String>,
    /// Apply at most once per this long; from 1h to 7d.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::vertical::INTERVAL))]
    pub interval: Option<String>,
    /// The smallest change worth a redeployment, as a fraction.
    #[schemars(
        range(min = d::vertical::LEAST_MIN_CHANGE, max = 1.0),
        extend("default" = d::vertical::MIN_CHANGE)
    )]
    pub min_change: Option<f64>,
    /// Head-room over the observed percentile, as a fraction.
    #[schemars(range(min = 0.0, max = 1.0), extend("default" = d::vertical::MARGIN))]
    pub margin: Option<f64>,
}

/// `[local]`: the monitor of this task's own cgroup.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLocal {
    /// How often the monitor samples; at least 1s.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::local::SAMPLE_INTERVAL))]
    pub sample_interval: Option<String>,
    /// How much history it keeps; at most 1d and 100000 samples.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::local::HISTORY))]
    pub history: Option<String>,
    /// Thresholds for alerts about this task (`[local.alerts]`).
    pub alerts: Option<RawLocalAlerts>,
}

/// `[local.alerts]`: thresholds for log and notification alerts about this task.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLocalAlerts {
    /// CPU % of the cgroup limit; 0 turns it off.
    #[schemars(range(min = 0.0, max = 100.0), extend("default" = d::local::ALERT_CPU))]
    pub cpu: Option<f64>,
    /// Memory % of the cgroup limit; 0 turns it off.
    #[schemars(range(min = 0.0, max = 100.0), extend("default" = d::local::ALERT_MEMORY))]
    pub memory: Option<f64>,
    /// % of CPU periods throttled; 0 turns it off.
    #[schemars(range(min = 0.0, max = 100.0), extend("default" = d::local::ALERT_THROTTLING))]
    pub throttling: Option<f64>,
    /// Disk read + write, bytes/s; 0 turns it off.
    #[schemars(range(min = 0.0), extend("default" = d::local::ALERT_DISK_BPS))]
    pub disk_bps: Option<f64>,
    /// Network receive + transmit, bytes/s; 0 turns it off.
    #[schemars(range(min = 0.0), extend("default" = d::local::ALERT_NETWORK_BPS))]
    pub network_bps: Option<f64>,
    /// How long a value must stay above its threshold; at most 1d.
    #[serde(rename = "for")]
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::local::ALERT_FOR))]
    pub for_: Option<String>,
    /// The least time between two alerts for the same resource; at most 1d.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::local::ALERT_COOLDOWN))]
    pub cooldown: Option<String>,
}

/// `[protection]`: ECS task scale-in protection while this task is busy (sidecar mode).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProtection {
    /// Protect the task while it is busy (needs `$ECS_AGENT_URI`, set by ECS).
    #[schemars(extend("default" = d::protection::ENABLED))]
    pub enabled: Option<bool>,
    /// How long one set (or renewal) protects the task, `"1m"` to `"48h"`, whole minutes.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::protection::EXPIRES))]
    pub expires: Option<String>,
    /// How long the task stays protected after it turns idle; at most 1h.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::protection::GRACE))]
    pub grace: Option<String>,
    /// The app's busy endpoint, an `http://` URL: `GET` answers `true`/`false` (or JSON
    /// `{"busy": true}`).
    pub busy_url: Option<String>,
}

/// `[controller]`: controller mode's AWS connection and its own ECS service (all optional).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawController {
    /// The AWS region of the services. Default: the environment's.
    pub region: Option<String>,
    /// Endpoint for every AWS client (tests, VPC endpoints).
    pub endpoint_url: Option<String>,
    /// The cluster of the controller's own ECS service, with `service`. Without both, this
    /// process is the only controller.
    pub cluster: Option<String>,
    /// The controller's own ECS service, with `cluster`: its RUNNING tasks whose `container` is
    /// HEALTHY share the services between them.
    pub service: Option<String>,
    /// The container whose ECS health makes a task of that service a member.
    #[schemars(extend("default" = d::controller::CONTAINER))]
    pub container: Option<String>,
}

/// `[policies.NAME]`: a named policy, written as a `[scaling]` table is (on top of a template),
/// with its own `[[policies.NAME.metrics]]` and `[[policies.NAME.schedule]]`.
#[derive(Clone, Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    #[serde(flatten)]
    pub scaling: RawScaling,
    /// The policy's schedule windows (`[[policies.NAME.schedule]]`).
    // `None` marks an element phase one could not read (already reported).
    #[schemars(with = "Option<Vec<RawSchedule>>")]
    pub schedule: Vec<Option<RawSchedule>>,
}

/// `[[services]]`: one service a controller scales.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFleetService {
    /// The service's cluster (a name, not an ARN). Required.
    #[schemars(required)]
    pub cluster: Option<String>,
    /// The service's name (not an ARN). Required.
    #[schemars(required)]
    pub name: Option<String>,
    /// A `[policies.NAME]` name, or a template's name. Required.
    #[schemars(required)]
    pub policy: Option<String>,
}

/// `[discovery]`: services a controller adopts by tag.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDiscovery {
    /// The clusters to look in (names, at least one). Required.
    #[schemars(required, length(min = 1))]
    pub clusters: Option<Vec<String>>,
    /// The tag whose value names a service's policy (a `[policies]` name or a template's).
    /// `trimtab:min` and `trimtab:max` tags override its bounds.
    #[schemars(length(min = 1, max = d::discovery::MAX_TAG_KEY), extend("default" = d::discovery::TAG))]
    pub tag: Option<String>,
    /// Time between two looks, from `"30s"` to `"1d"`.
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = d::discovery::INTERVAL))]
    pub interval: Option<String>,
}

// The whole file after phase one. Its fields are the config's sections: `super::schema`
// lists them from here, for the parser's messages and the template check alike.
/// A trimtab config file.
#[derive(Clone, Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// How the agent runs: its interval, API, mode.
    pub agent: Option<RawAgent>,
    /// Sidecar mode: the ECS service to scale.
    pub service: Option<RawService>,
    /// Sidecar mode: the policy, optionally on top of a template.
    pub scaling: Option<RawScaling>,
    /// Sidecar mode: time windows that change the bounds.
    // `None` marks an element phase one could not read (already reported); so below.
    #[schemars(with = "Option<Vec<RawSchedule>>")]
    pub schedule: Vec<Option<RawSchedule>>,
    /// Sidecar mode: what the service may cost.
    pub budget: Option<RawBudget>,
    /// CloudWatch alarms for the service and the agent.
    pub alarms: Option<RawAlarms>,
    /// Price overrides and facts the shipped table cannot know.
    pub cost: Option<RawCost>,
    /// Where notifications go.
    #[schemars(with = "Option<Vec<RawNotify>>")]
    pub notify: Vec<Option<RawNotify>>,
    /// Sidecar mode: resource pools the app reserves from, by name (1-63 of `a-z 0-9 - _`).
    // In file order.
    #[schemars(with = "Option<BTreeMap<String, RawPool>>", extend("propertyNames" = {"pattern": "^[a-z0-9][a-z0-9_-]{0,62}$"}))]
    pub pools: Vec<(String, Option<RawPool>)>,
    /// Sidecar mode: right-sizing the task.
    pub vertical: Option<RawVertical>,
    /// The monitor of this task's own cgroup.
    pub local: Option<RawLocal>,
    /// Sidecar mode: scale-in protection while the task is busy.
    pub protection: Option<RawProtection>,
    /// Controller mode: its AWS connection and its own ECS service.
    pub controller: Option<RawController>,
    /// Controller mode: named policies, by name (1-128 of `A-Z a-z 0-9 - _`).
    // In file order.
    #[schemars(with = "Option<BTreeMap<String, RawPolicy>>", extend("propertyNames" = {"pattern": "^[A-Za-z0-9_-]{1,128}$"}))]
    pub policies: Vec<(String, Option<RawPolicy>)>,
    /// Controller mode: the services to scale.
    #[schemars(with = "Option<Vec<RawFleetService>>")]
    pub services: Vec<Option<RawFleetService>>,
    /// Controller mode: services adopted by tag.
    pub discovery: Option<RawDiscovery>,
}
