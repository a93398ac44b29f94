//! What the budget watch tells the world: an alert when spend (or its forecast) crosses a level,
//! and a recovery notice when a forecast falls back below one. `notify/` delivers these.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::core::Money;

/// How far along the budget spend is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    Ok,
    Warning,
    Critical,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which amount crossed: what was spent, or where the period is forecast to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    Actual,
    Forecast,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Actual => "actual",
            Signal::Forecast => "forecast",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// `amount` rose to or above `threshold`.
    Alert,
    /// A forecast fell back below `threshold` after an alert in the same period.
    Recovery,
}

/// One notification-worthy change of the budget state. At most one `Alert` per
/// (signal, level, period).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BudgetEvent {
    pub kind: EventKind,
    pub signal: Signal,
    /// The level crossed: `Warning` or `Critical`.
    pub level: Level,
    /// The budget period, e.g. `"2026-11"` (monthly) or `"2026-11-22"` (daily).
    pub period: String,
    /// The amount that crossed: spend to date for `Actual`, the forecast for `Forecast`.
    #[serde(rename = "amount_usd")]
    pub amount: Money,
    /// The level's amount of money.
    #[serde(rename = "threshold_usd")]
    pub threshold: Money,
    /// The whole budget for the period.
    #[serde(rename = "budget_usd")]
    pub budget: Money,
    /// Spend to date and the forecast at the time of the event.
    #[serde(rename = "spent_usd")]
    pub spent: Money,
    #[serde(rename = "forecast_usd")]
    pub forecast: Money,
    pub at: DateTime<Utc>,
    /// One line for people, e.g. "forecast $463.10 for 2026-11 crossed the warning level $375.00
    /// (75% of $500.00)".
    pub message: String,
}

/// Notifications delivered and dropped since start, for the status API and metrics. `notify/`
/// counts them; the type lives here, with the budget events, so that the status snapshot can
/// hold it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NotifyCounters {
    pub sent: u64,
    /// Given up on after the retries (or that had nothing to deliver with).
    pub failed: u64,
    /// Events dropped because they repeated one sent within the de-duplication window.
    pub duplicates: u64,
    /// Deliveries dropped because their target's rate limit was spent.
    pub rate_limited: u64,
    /// The last delivery given up on: where to (a webhook by its host only) and why.
    pub last_failure: Option<String>,
}
