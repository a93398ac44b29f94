//! Phase two's result: the validated configuration. Every value here has been checked; code
//! that holds a `Config` need not check again.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use chrono::TimeDelta;
use serde::Serialize;

use crate::core::Policy;
use crate::core::cost::pricing::{PriceSheet, Rate, TaskShape};
pub use crate::core::cost::{Budget, Level, PeriodKind, Threshold};
pub use crate::core::rightsize::VerticalMode;

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file it came from, for messages.
    pub file: String,
    pub agent: AgentConfig,
    pub service: Option<ServiceConfig>,
    /// `[scaling]` over its template. In controller mode, where `[scaling]` is refused, the
    /// default template's policy; each service's policy is in [`Config::fleet`] instead.
    pub scaling: ScalingConfig,
    pub budget: Option<Budget>,
    pub alarms: AlarmsConfig,
    pub cost: CostConfig,
    /// `[[notify]]`: each destination with the event types it receives.
    pub notify: Vec<NotifyConfig>,
    /// The price of one task, when the region is known from the file (else resolved at run time
    /// from the environment's region by [`crate::config::price_sheet`]).
    pub prices: Option<PriceSheet>,
    /// `[pools.NAME]`, by name.
    pub pools: Vec<PoolConfig>,
    pub vertical: VerticalConfig,
    pub local: LocalConfig,
    /// `[protection]`: off unless enabled.
    pub protection: ProtectionConfig,
    /// Controller mode's services and policies; `None` in sidecar mode.
    pub fleet: Option<FleetConfig>,
}

/// Where the local API listens unless `agent.listen` says otherwise: loopback only.
pub const DEFAULT_LISTEN: &str = super::defaults::agent::LISTEN;

/// An API token needs at least this many characters (bytes), from the file or the environment.
pub const MIN_TOKEN_LEN: usize = super::defaults::agent::MIN_TOKEN_LEN;

#[derive(Clone, Debug, PartialEq)]
pub struct AgentConfig {
    pub interval: TimeDelta,
    pub listen: SocketAddr,
    pub dry_run: bool,
    /// From the file; the environment's `TRIMTAB_API_TOKEN` is consulted at run time.
    pub api_token: Option<String>,
    pub mode: Mode,
    /// Sidecars: a follower's period for reading the tasks from ECS when it cannot ask the
    /// leader's agent (see `agent::leader`).
    pub leader_check: TimeDelta,
}

/// `agent.leader_check` unless set.
pub const DEFAULT_LEADER_CHECK: &str = super::defaults::agent::LEADER_CHECK;

pub use crate::core::cost::pricing::{Arch as Architecture, Launch as LaunchType, Os};

#[derive(Clone, Debug, PartialEq)]
pub struct ServiceConfig {
    pub cluster: String,
    pub name: String,
    /// `None`: taken from the environment's AWS configuration at run time.
    pub region: Option<String>,
    pub launch_type: LaunchType,
    /// Task CPU units and memory MiB; required for Fargate.
    pub cpu: Option<u32>,
    pub memory: Option<u32>,
    pub architecture: Architecture,
    pub endpoint_url: Option<String>,
    pub os: Os,
    pub storage_gib: u32,
}

impl ServiceConfig {
    /// What picks the service's price sheet (its size aside).
    pub fn platform(&self) -> crate::core::cost::pricing::Platform {
        crate::core::cost::pricing::Platform {
            launch: self.launch_type,
            arch: self.architecture,
            os: self.os,
            storage_gib: self.storage_gib,
        }
    }

    /// The task as the cost module prices it; `None` without a CPU and memory size (EC2 tasks
    /// may leave them to the containers).
    pub fn shape(&self) -> Option<TaskShape> {
        Some(TaskShape {
            launch: self.launch_type,
            arch: self.architecture,
            os: self.os,
            cpu: self.cpu?,
            memory: self.memory?,
            storage_gib: self.storage_gib,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Ecs,
    Cloudwatch,
    Prometheus,
    Host,
    Pools,
}

impl SourceKind {
    pub const NAMES: &'static [&'static str] = &["ecs", "cloudwatch", "prometheus", "host", "pools"];
}

/// Where a metric of the policy comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSource {
    pub name: String,
    pub source: SourceKind,
    pub spec: SourceSpec,
}

/// What `ecs` and `host` metrics measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    Cpu,
    Memory,
}

/// `ecs` metrics: the whole service (CloudWatch `AWS/ECS`) or this task (metadata endpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EcsScope {
    Service,
    Task,
}

/// One CloudWatch metric query.
#[derive(Clone, Debug, PartialEq)]
pub struct CloudwatchQuery {
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    /// `Average`, `Sum`, `Maximum`, `Minimum`, `SampleCount`, or an extended statistic (`p99`).
    pub statistic: String,
    pub period: TimeDelta,
}

/// How a Prometheus metric becomes one number.
#[derive(Clone, Debug, PartialEq)]
pub enum PromRead {
    Gauge(String),
    /// Per-second increase of a counter between two scrapes.
    Rate(String),
    /// `100 * d(numerator) / d(denominator)` between two scrapes.
    Ratio(String, String),
    /// A quantile of the observations between two scrapes, as `histogram_quantile` computes it.
    Histogram {
        name: String,
        quantile: f64,
    },
}

/// Where a Prometheus metric is scraped.
#[derive(Clone, Debug, PartialEq)]
pub enum PromTarget {
    /// `url`: one endpoint (the leader's own task over loopback, or a local run).
    Url(String),
    /// `port` (+ `path`): every RUNNING task of the service, at
    /// `http://<task private IP>:<port><path>`, aggregated across tasks as PromQL would.
    Tasks { port: u16, path: String },
}

/// `aggregate`: how the tasks' values of a gauge combine into one (rates, ratios and
/// histograms have one fixed PromQL rule each: see `sources::prom_tasks`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    /// `avg(x)`: a per-task figure, what a utilization target holds (the default).
    #[default]
    Avg,
    /// `max(x)`: the hottest task.
    Max,
    /// `sum(x)`: a fleet total (e.g. for `target_type = "average_value"`).
    Sum,
}

impl Aggregate {
    pub const NAMES: &'static [&'static str] = &["avg", "max", "sum"];
    pub const ALL: [Aggregate; 3] = [Aggregate::Avg, Aggregate::Max, Aggregate::Sum];
}

#[derive(Clone, Debug, PartialEq)]
pub struct PromQuery {
    pub target: PromTarget,
    pub labels: Vec<(String, String)>,
    pub read: PromRead,
    pub scale: f64,
    /// Gauges read from every task; `Avg` (and unused) otherwise.
    pub aggregate: Aggregate,
}

/// The source-specific part of a metric.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceSpec {
    Ecs {
        resource: Resource,
        scope: EcsScope,
    },
    Host {
        resource: Resource,
    },
    Cloudwatch(CloudwatchQuery),
    Prometheus(PromQuery),
    /// Pool pressure: one pool's, or (`None`) the most pressed pool's.
    Pools {
        pool: Option<String>,
    },
}

/// `[alarms]`.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmsConfig {
    pub enabled: bool,
    pub cpu_high: f64,
    pub memory_high: f64,
    pub heartbeat_minutes: u32,
    pub actions: Vec<String>,
    /// The forecast alarm's threshold (the budget's critical level); `None`: no such alarm.
    pub budget_forecast: Option<crate::core::Money>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScalingConfig {
    /// The template the policy was built on.
    pub template: String,
    pub policy: Policy,
    /// One per `policy.metrics` entry, same order.
    pub sources: Vec<MetricSource>,
}

/// `[[notify]]`: one destination and the types of event it receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyConfig {
    pub target: NotifyTarget,
    /// Never empty: `notify.events` defaults to [`DEFAULT_EVENTS`].
    pub events: BTreeSet<EventType>,
}

impl NotifyConfig {
    pub fn wants(&self, kind: EventType) -> bool {
        self.events.contains(&kind)
    }
}

/// A target with the default events (budget alerts only, as before `events` existed).
impl From<NotifyTarget> for NotifyConfig {
    fn from(target: NotifyTarget) -> Self {
        NotifyConfig { target, events: DEFAULT_EVENTS.into_iter().collect() }
    }
}

/// What a `[[notify]]` target receives when it names no `events`: budget alerts only.
pub const DEFAULT_EVENTS: [EventType; 1] = [EventType::Budget];

/// The types of event a `[[notify]]` target may opt into (`events = [...]`). The name is the
/// `kind` of every notification of that type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    /// A budget level reached, or a forecast back below one.
    Budget,
    /// A desired-count change applied.
    Scaling,
    /// A task size change applied, or a new size recommended.
    Resize,
    /// The local monitor's threshold alerts, firing and resolved.
    LocalAlert,
    /// A pause, resume or manual override seen, or an override ending.
    Operator,
    /// A controller taking or handing over services.
    Ownership,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::Budget,
        EventType::Scaling,
        EventType::Resize,
        EventType::LocalAlert,
        EventType::Operator,
        EventType::Ownership,
    ];
    /// The config spelling, and the `kind` of the notification.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Budget => "budget",
            EventType::Scaling => "scaling",
            EventType::Resize => "resize",
            EventType::LocalAlert => "local_alert",
            EventType::Operator => "operator",
            EventType::Ownership => "ownership",
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[[notify]]`: where notifications go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyTarget {
    /// POST of the event as JSON.
    Webhook { url: String },
    /// POST of a Slack-compatible `{"text": ...}` payload (Slack, Mattermost, Teams workflows).
    Slack { url: String },
    /// SNS `Publish` to a topic.
    Sns { topic_arn: String },
}

/// `[cost]`: price overrides; `None` takes the shipped table's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CostConfig {
    pub vcpu_hour: Option<Rate>,
    pub gb_hour: Option<Rate>,
    pub licence_vcpu_hour: Option<Rate>,
    pub storage_gb_hour: Option<Rate>,
    pub spot_discount_ppm: Option<i64>,
    pub instance_type: Option<String>,
    pub instance_hourly: Option<Rate>,
    pub instance_vcpus: Option<u32>,
    pub instance_memory_gib: Option<u32>,
    pub interruption_tolerant: Option<bool>,
}

/// A pool's size: a number in its unit, or the task's own limit (`cpu`, `memory`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolCapacity {
    Fixed(u64),
    /// `cpu`: the cgroup's CPU limit in CPU units; `memory`: its memory limit in MiB (else the
    /// task size in `[service]`).
    Auto,
}

/// `[pools.NAME]`.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolConfig {
    pub name: String,
    pub capacity: PoolCapacity,
    pub unit: String,
    pub preemption: bool,
    pub max_wait: TimeDelta,
    pub default_ttl: TimeDelta,
    pub max_ttl: TimeDelta,
    pub max_queue: usize,
    pub max_active: usize,
}

/// `[vertical]`.
#[derive(Clone, Debug, PartialEq)]
pub struct VerticalConfig {
    pub mode: VerticalMode,
    /// At most one applied resize per this long.
    pub interval: TimeDelta,
    /// Fraction; a smaller change is not recommended.
    pub min_change: f64,
    /// Fraction of head-room over the observed percentile.
    pub margin: f64,
}

/// `[local]` and `[local.alerts]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalConfig {
    pub sample_interval: TimeDelta,
    pub history: TimeDelta,
    /// `(resource, threshold)` for each alert that is on: `cpu`, `memory`, `throttling` in %,
    /// `disk`, `network` in bytes/s.
    pub alerts: Vec<(&'static str, f64)>,
    pub alert_for: TimeDelta,
    pub alert_cooldown: TimeDelta,
}

/// `[protection]`: ECS task scale-in protection while the task is busy (see
/// [`crate::core::protection`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ProtectionConfig {
    pub enabled: bool,
    /// How long each set protects the task: whole minutes, 1m to 48h.
    pub expires: TimeDelta,
    /// How long an idle task keeps its protection.
    pub grace: TimeDelta,
    /// The app's busy endpoint, if any.
    pub busy_url: Option<String>,
}

impl ProtectionConfig {
    pub fn rule(&self) -> crate::core::protection::Rule {
        crate::core::protection::Rule { expires: self.expires, grace: self.grace }
    }
}

/// `agent.mode`: one service from inside its tasks, or many from a service of their own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// In the scaled service's own tasks, leader-elected (`[service]` names it).
    #[default]
    Sidecar,
    /// An ECS service of its own that scales many services (`[[services]]`, `[discovery]`).
    Controller,
}

impl Mode {
    pub const NAMES: &'static [&'static str] = &["sidecar", "controller"];
}

/// Controller mode: what it scales and where it runs. Present exactly when `agent.mode =
/// "controller"`.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetConfig {
    /// `[controller]`: the AWS connection and the controller's own ECS service.
    pub controller: ControllerConfig,
    /// `[policies.NAME]`, each a `[scaling]` table of its own, validated; by name.
    pub policies: std::collections::BTreeMap<String, ScalingConfig>,
    /// Every shipped template, validated, so a `trimtab:policy` tag may name one.
    pub templates: std::collections::BTreeMap<String, ScalingConfig>,
    /// `[[services]]`, in file order.
    pub services: Vec<FleetService>,
    pub discovery: Option<Discovery>,
}

impl FleetConfig {
    /// The policy `name` stands for: a `[policies]` entry first, else a shipped template.
    pub fn policy(&self, name: &str) -> Option<&ScalingConfig> {
        self.policies.get(name).or_else(|| self.templates.get(name))
    }

    /// The tag that names a discovered service's policy.
    pub fn policy_tag(&self) -> &str {
        self.discovery.as_ref().map_or(DEFAULT_DISCOVERY_TAG, |d| d.tag.as_str())
    }
}

/// `controller.container` unless the file says otherwise.
pub const DEFAULT_CONTAINER: &str = super::defaults::controller::CONTAINER;

/// `[controller]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ControllerConfig {
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// The controller's own ECS service, whose healthy tasks share the fleet. `None`: this
    /// process is the only member.
    pub cluster: Option<String>,
    pub service: Option<String>,
    /// The container whose ECS health status makes a task a member. Default `trimtab`.
    pub container: String,
}

/// `[[services]]`: one service to scale, by name, with a policy named in `[policies]` or a
/// template's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetService {
    pub cluster: String,
    pub name: String,
    pub policy: String,
}

/// `discovery.tag` unless the file says otherwise.
pub const DEFAULT_DISCOVERY_TAG: &str = super::defaults::discovery::TAG;
/// `discovery.interval` unless the file says otherwise.
pub const DEFAULT_DISCOVERY_INTERVAL: &str = super::defaults::discovery::INTERVAL;

/// `[discovery]`: adopt every service of `clusters` that carries `tag`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    pub clusters: Vec<String>,
    pub tag: String,
    pub interval: TimeDelta,
}
