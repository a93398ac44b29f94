//! Each config key's default, and the fixed ranges the schema states, in one place.
//!
//! A key the file leaves out takes the constant named here: the validators (`validate/*`) read
//! these constants instead of literals, and the JSON Schema (`schema.rs`, through the attributes
//! on the raw structs) states the same constants as each key's `default`, `minimum` and
//! `maximum`. So `trimtab schema`, the README's reference and what `trimtab check` does cannot
//! disagree about a default. One module per section, named as the section is; the keys of
//! `[scaling]` are also those of a controller's `[policies.NAME]`, and a template's value comes
//! before the default here.

/// `[agent]`.
pub mod agent {
    pub const INTERVAL: &str = "15s";
    /// Loopback only.
    pub const LISTEN: &str = "127.0.0.1:9464";
    pub const DRY_RUN: bool = false;
    pub const MODE: &str = "sidecar";
    pub const LEADER_CHECK: &str = "60s";
    /// An API token needs at least this many characters (bytes), from the file or the environment.
    pub const MIN_TOKEN_LEN: usize = 16;
}

/// `[service]`.
pub mod service {
    pub const LAUNCH_TYPE: &str = "fargate";
    pub const ARCHITECTURE: &str = "x86_64";
    pub const OS: &str = "linux";
    /// Fargate includes 20 GiB; up to 200 may be configured.
    pub const EPHEMERAL_STORAGE_GIB: i64 = 20;
    pub const MAX_EPHEMERAL_STORAGE_GIB: i64 = 200;
    /// Far above any instance (the largest have 448 vCPUs and 24 TiB): keeps sizes and prices
    /// exact.
    pub const MAX_CPU: u32 = 1_048_576;
    pub const MAX_MEMORY: u32 = 33_554_432;
}

/// `[scaling]` and `[policies.NAME]`, when neither the file nor the template sets a key.
pub mod scaling {
    pub const TEMPLATE: &str = crate::config::templates::DEFAULT;
    pub const MIN: i64 = 1;
    pub const MAX: i64 = 10;
    pub const SCALE_OUT_TOLERANCE: f64 = 0.10;
    pub const SCALE_IN_TOLERANCE: f64 = 0.10;
    /// Largest scale-out tolerance: scale out only above 11× the target.
    pub const MAX_SCALE_OUT_TOLERANCE: f64 = 10.0;
    pub const SCALE_OUT_COOLDOWN: &str = "60s";
    pub const SCALE_IN_COOLDOWN: &str = "300s";
    pub const SCALE_IN_STABILIZATION: &str = "300s";
    pub const MAX_SCALE_OUT_STEP: i64 = 4;
    pub const MAX_SCALE_IN_STEP: i64 = 1;
    pub const ON_MISSING_DATA: &str = "hold";
    pub const ON_MISSING_DATA_VALUES: &[&str] = &["hold", "use-available", "scale-out"];
    pub const MAX_METRIC_AGE: &str = "180s";
    pub const TREND_WINDOW: &str = "5m";
    /// The most tasks any count may name (bounds, steps, schedule windows). ECS's default
    /// quota is 5,000 tasks per service; twice that leaves room for a raised quota, and keeps
    /// every cost figure and allocation that a count sizes small.
    pub const MAX_TASKS: u32 = 10_000;
}

/// `[[scaling.metrics]]`.
pub mod metric {
    pub const WEIGHT: f64 = 1.0;
    /// Weights are relative; a bound keeps their sum finite.
    pub const MAX_WEIGHT: f64 = 1e6;
    /// The smallest weight that steers. Anything between 0 and this (a subnormal `5e-324` was
    /// accepted once, and its rounding inverted a decision) is a typo, not a preference.
    pub const MIN_WEIGHT: f64 = 1e-6;
    /// Targets from a millionth to a trillion: any real metric fits, and every ratio stays
    /// finite.
    pub const MIN_TARGET: f64 = 1e-6;
    pub const MAX_TARGET: f64 = 1e12;
    pub const TARGET_TYPE: &str = "utilization";
    pub const TARGET_TYPES: &[&str] = &["utilization", "average_value"];
    pub const KINDS: &[&str] =
        &["cpu", "memory", "latency", "error_rate", "requests_per_task", "pool_pressure", "custom"];
    pub const ACTIVATION: f64 = 0.0;
    pub const SCOPE: &str = "service";
    pub const SCOPES: &[&str] = &["service", "task"];
    /// The metrics path of a `port` metric.
    pub const PATH: &str = "/metrics";
    pub const AGGREGATE: &str = "avg";
    pub const SCALE: f64 = 1.0;
    pub const STATISTIC: &str = "Average";
    pub const PERIOD: &str = "60s";
    /// CloudWatch's limit on a metric's dimensions.
    pub const MAX_DIMENSIONS: usize = 30;
}

/// `[[schedule]]` and `[[policies.NAME.schedule]]`.
pub mod schedule {
    pub const TIMEZONE: &str = "UTC";
    pub const PRIORITY: i64 = 0;
}

/// `[budget]`.
pub mod budget {
    pub const WARN_AT: f64 = 0.75;
    pub const CRITICAL_AT: f64 = 0.90;
    pub const TIMEZONE: &str = "UTC";
    pub const CAP: &str = "none";
    pub const CAPS: &[&str] = &["none", "warn", "critical"];
    /// The largest budget or budget level, in dollars: a billion a period keeps every sum of
    /// money exact and far from overflow.
    pub const MAX_USD: f64 = 1e9;
}

/// `[cost]`.
pub mod cost {
    use crate::core::cost::pricing::DEFAULT_SPOT_DISCOUNT_PPM;

    /// The low end of the observed 61-70 %, so estimates err high.
    pub const SPOT_DISCOUNT: f64 = DEFAULT_SPOT_DISCOUNT_PPM as f64 / 1e6;
    /// The largest price per hour of one unit (vCPU, GB, instance): above any AWS price by far.
    pub const MAX_PRICE_USD: f64 = 10_000.0;
    pub const MAX_INSTANCE_VCPUS: u32 = 1024;
    pub const MAX_INSTANCE_MEMORY_GIB: u32 = 65_536;
}

/// `[[notify]]`.
pub mod notify {
    pub const TYPES: &[&str] = &["webhook", "slack", "sns"];
}

/// `[alarms]`.
pub mod alarms {
    pub const ENABLED: bool = false;
    pub const CPU_HIGH: f64 = 85.0;
    pub const MEMORY_HIGH: f64 = 90.0;
    pub const HEARTBEAT_MINUTES: i64 = 3;
    /// A day.
    pub const MAX_HEARTBEAT_MINUTES: u32 = 1440;
    pub const BUDGET_FORECAST: bool = true;
}

/// `[pools.NAME]`.
pub mod pool {
    /// The unit of a pool other than `cpu` (`cpu-units`) and `memory` (`MiB`).
    pub const UNIT: &str = "units";
    pub const PREEMPTION: bool = false;
    pub const MAX_WAIT: &str = "30s";
    pub const DEFAULT_TTL: &str = "5m";
    pub const MAX_TTL: &str = "1h";
    /// `max_queue` and `max_active` bound what a pool keeps per request (a few hundred bytes
    /// each), so that no client can grow the agent's memory without bound; the defaults keep a
    /// pool under a few MiB, and the limits under a few tens.
    pub const MAX_QUEUE: i64 = 1000;
    pub const MOST_QUEUE: i64 = 100_000;
    pub const MAX_ACTIVE: i64 = 10_000;
    pub const MOST_ACTIVE: i64 = 100_000;
    /// Amounts stay far from overflow and exact in JSON numbers.
    pub const MAX_CAPACITY: i64 = 1 << 53;
}

/// `[vertical]`.
pub mod vertical {
    pub const MODE: &str = "recommend";
    pub const INTERVAL: &str = "24h";
    pub const MIN_CHANGE: f64 = 0.10;
    pub const LEAST_MIN_CHANGE: f64 = 0.01;
    pub const MARGIN: f64 = 0.15;
}

/// `[local]` and `[local.alerts]`.
pub mod local {
    pub const SAMPLE_INTERVAL: &str = "5s";
    pub const HISTORY: &str = "1h";
    pub const ALERT_CPU: f64 = 90.0;
    pub const ALERT_MEMORY: f64 = 90.0;
    pub const ALERT_THROTTLING: f64 = 0.0;
    pub const ALERT_DISK_BPS: f64 = 0.0;
    pub const ALERT_NETWORK_BPS: f64 = 0.0;
    pub const ALERT_FOR: &str = "1m";
    pub const ALERT_COOLDOWN: &str = "15m";
}

/// `[protection]`.
pub mod protection {
    pub const ENABLED: bool = false;
    /// ECS's own default.
    pub const EXPIRES: &str = "2h";
    /// Long enough that a task between two jobs keeps its protection over a tick or two.
    pub const GRACE: &str = "30s";
}

/// `[controller]`.
pub mod controller {
    pub const CONTAINER: &str = "trimtab";
}

/// `[discovery]`.
pub mod discovery {
    pub const TAG: &str = "trimtab:policy";
    pub const INTERVAL: &str = "5m";
    /// AWS's longest tag key.
    pub const MAX_TAG_KEY: usize = 128;
}

/// What a duration looks like (`"90s"`, `"1h30m"`, `"250ms"`): numbers with units, as
/// [`super::duration::parse`] reads them. Each key's range is in its description.
pub const DURATION_PATTERN: &str = r"^\s*([0-9]+(ms|s|m|h|d))+\s*$";
