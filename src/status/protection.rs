//! What `/status` shows of the task's scale-in protection (see [`crate::core::protection`]).

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProtectionView {
    /// Protected now, as far as this agent knows (it set protection and it has not run out).
    pub protected: bool,
    /// When the protection this agent set runs out.
    pub expires_at: Option<DateTime<Utc>>,
    /// Busy this tick: `true`, `false`, or `null` when it could not be told.
    pub busy: Option<bool>,
    /// Why busy (`pool jobs holds 2 reservations`), or why it could not be told.
    pub why: Option<String>,
    /// Since when the task has been idle (the grace counts from here).
    pub idle_since: Option<DateTime<Utc>>,
    /// The last change this agent made, and when.
    pub last_change: Option<(DateTime<Utc>, &'static str)>,
    /// What went wrong this tick (the ECS agent endpoint's error, or the app's busy endpoint).
    pub problem: Option<String>,
    pub sets_total: u64,
    pub clears_total: u64,
    pub failures_total: u64,
}
