//! Small value types shared by every stage: task counts, bounds, samples and the observation.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// `t + d`, saturating at the end of representable time instead of panicking.
pub fn later(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `t - d`, saturating at the start of representable time.
pub fn earlier(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_sub_signed(d).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A number of ECS tasks. Arithmetic on it saturates instead of wrapping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Replicas(pub u32);

impl Replicas {
    pub fn get(self) -> u32 {
        self.0
    }

    pub fn saturating_add(self, n: u32) -> Self {
        Replicas(self.0.saturating_add(n))
    }

    pub fn saturating_sub(self, n: u32) -> Self {
        Replicas(self.0.saturating_sub(n))
    }
}

impl fmt::Display for Replicas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Inclusive task-count bounds; `min <= max` always holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Bounds {
    min: Replicas,
    max: Replicas,
}

impl Bounds {
    /// Bounds from `min` and `max`, or `None` when `min > max`.
    pub fn new(min: u32, max: u32) -> Option<Self> {
        (min <= max).then_some(Bounds { min: Replicas(min), max: Replicas(max) })
    }

    pub fn min(self) -> Replicas {
        self.min
    }

    pub fn max(self) -> Replicas {
        self.max
    }

    pub fn clamp(self, r: Replicas) -> Replicas {
        r.clamp(self.min, self.max)
    }

    pub fn contains(self, r: Replicas) -> bool {
        self.min <= r && r <= self.max
    }
}

impl fmt::Display for Bounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.min, self.max)
    }
}

/// One metric reading with the time it describes (not the time it was fetched).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub value: f64,
    pub at: DateTime<Utc>,
}

/// An operator's manual override: hold the service at `count` until `expires_at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManualOverride {
    pub count: Replicas,
    pub reason: String,
    pub expires_at: DateTime<Utc>,
}

impl ManualOverride {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

/// Everything the world tells the core at one tick.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// The service's current desired count.
    pub current: Replicas,
    /// Latest sample per metric name; a metric with no entry is missing.
    pub samples: BTreeMap<String, Sample>,
    /// Metrics whose sample is only a lower bound: read from every task, some of which did not
    /// answer (the others' sum, or their sum over all tasks for an average). Such a sample may
    /// raise the count when it is already past its target, and otherwise counts as missing.
    pub partial: std::collections::BTreeSet<String>,
    /// A manual override, if an operator set one.
    pub manual_override: Option<ManualOverride>,
    /// The largest count the remaining budget can afford, from the cost module.
    pub budget_cap: Option<Replicas>,
    /// An ECS deployment is rolling out: scale-in waits, scale-out goes on (as AWS Application
    /// Auto Scaling does), so a rollout is never starved of the tasks it is replacing.
    pub deployment_in_progress: bool,
}

impl Observation {
    pub fn new(current: u32) -> Self {
        Observation { current: Replicas(current), ..Observation::default() }
    }

    /// Adds a sample (builder style, handy in tests and the CLI).
    pub fn with_sample(mut self, name: &str, value: f64, at: DateTime<Utc>) -> Self {
        self.samples.insert(name.to_owned(), Sample { value, at });
        self
    }
}

/// An amount of US dollars, held exactly as integer micro-dollars; in JSON an exact decimal
/// string of dollars (`"12.345678"`, see [`super::usd`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

/// Micro-dollars: six decimal places.
const MONEY_PLACES: u32 = 6;

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::usd::format(self.0, MONEY_PLACES))
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::usd::deserialize(d, MONEY_PLACES).map(Money)
    }
}

impl Money {
    /// Dollars given as a float (from config), rounded to the micro-dollar; `None` if not finite
    /// or out of range.
    pub fn from_usd(usd: f64) -> Option<Self> {
        let micros = (usd * 1e6).round();
        (usd.is_finite() && micros.abs() < 9.0e18).then_some(Money(micros as i64))
    }

    pub const ZERO: Money = Money(0);

    pub fn from_micros(micros: i64) -> Self {
        Money(micros)
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    /// Dollars as a float, for display and JSON only; sums stay in micro-dollars.
    pub fn as_usd(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let cents = (abs + 5_000) / 10_000;
        write!(f, "{sign}${}.{:02}", cents / 100, cents % 100)
    }
}
