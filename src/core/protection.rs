//! Task scale-in protection: keep ECS from stopping a task that is in the middle of work.
//!
//! ECS lets a task protect itself from scale-in (and from deployments) for a while, from 1 minute
//! to 48 hours, through the ECS agent's endpoint inside the task. While a task is protected, a
//! lower desired count stops the *other* tasks; when every task is protected, ECS waits until
//! one is not. So a sidecar that protects its task while the task is busy, and clears the
//! protection once it is idle, makes ECS remove idle tasks first.
//!
//! Two pure rules live here:
//!
//! - [`next`]: one task's agent, each tick, from whether the task is [`Busy`] and what it last
//!   set ([`State`]), says what to do ([`Step`]): **set** protection for the configured expiry
//!   when busy and not protected; **renew** it when busy and less than half the expiry remains
//!   (so a long job is never left unprotected between two ticks); **clear** it once the task has
//!   been idle for the grace period (a task between two jobs is not flapped); otherwise nothing.
//!   When busy-ness cannot be read, nothing changes: an unknown is neither a reason to protect
//!   nor to drop protection (it expires on its own).
//! - [`all_protected`]: the leader, before a scale-in, asks ECS which running tasks are
//!   protected; when all of them are, the scale-in is deferred with reason
//!   [`TASKS_PROTECTED`] rather than recorded as done (ECS would not stop any of them).
//!
//! Time enters as `now`; the caller keeps the [`State`].

use chrono::{DateTime, TimeDelta, Utc};

/// The reason a scale-in waits: every running task is protected.
pub const TASKS_PROTECTED: &str = "tasks_protected";

/// The configured rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rule {
    /// How long one set (or renewal) protects the task: whole minutes, 1 to 2880.
    pub expires: TimeDelta,
    /// How long the task must stay idle before its protection is cleared.
    pub grace: TimeDelta,
}

/// Whether the task has work in hand this tick.
#[derive(Clone, Debug, PartialEq)]
pub enum Busy {
    /// Busy, and why (`pool jobs holds 2 reservations`, `the app says busy`).
    Yes(String),
    No,
    /// It could not be told, and why.
    Unknown(String),
}

/// What this agent knows of its task's protection.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct State {
    /// `None` until the agent has set or cleared protection once (a restarted agent does not know
    /// what the previous one left); then `Some(until)`, `Some(None)` when not protected.
    pub known: Option<Option<DateTime<Utc>>>,
    /// Since when the task has been idle (`None` while busy or unknown).
    pub idle_since: Option<DateTime<Utc>>,
}

impl State {
    /// Protected at `now` as far as this agent knows.
    pub fn protected(&self, now: DateTime<Utc>) -> bool {
        matches!(self.known, Some(Some(until)) if until > now)
    }

    /// Protection set until `until` (the endpoint's answer, else now + the minutes asked).
    pub fn set(&mut self, until: DateTime<Utc>) {
        self.known = Some(Some(until));
    }

    pub fn cleared(&mut self) {
        self.known = Some(None);
    }
}

/// What to do this tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Set (or renew) protection for this many minutes.
    Set {
        minutes: u32,
    },
    /// Clear protection.
    Clear,
    Nothing,
}

/// The step for this tick, and the state's idle clock after it (the caller records the result of
/// the step itself with [`State::set`] / [`State::cleared`] once the endpoint accepted it).
pub fn next(rule: &Rule, state: &State, busy: &Busy, now: DateTime<Utc>) -> (Step, Option<DateTime<Utc>>) {
    match busy {
        Busy::Yes(_) => (busy_step(rule, state, now), None),
        Busy::Unknown(_) => (Step::Nothing, state.idle_since),
        Busy::No => {
            let since = state.idle_since.unwrap_or(now);
            (idle_step(rule, state, since, now), Some(since))
        }
    }
}

fn busy_step(rule: &Rule, state: &State, now: DateTime<Utc>) -> Step {
    let renew_at = |until: DateTime<Utc>| until - rule.expires / 2;
    match state.known {
        // Still more than half the expiry to go.
        Some(Some(until)) if now < renew_at(until) => Step::Nothing,
        _ => Step::Set { minutes: minutes(rule.expires) },
    }
}

fn idle_step(rule: &Rule, state: &State, since: DateTime<Utc>, now: DateTime<Utc>) -> Step {
    // Known to be unprotected (or expired, which ECS clears itself): nothing to clear. Unknown
    // (a restart) is cleared like a protection this agent set, after the same grace.
    let maybe_protected = match state.known {
        None => true,
        Some(until) => until.is_some_and(|u| u > now),
    };
    if maybe_protected && now - since >= rule.grace { Step::Clear } else { Step::Nothing }
}

/// The whole minutes of `d`, within ECS's 1..=2880.
pub fn minutes(d: TimeDelta) -> u32 {
    u32::try_from(d.num_minutes()).unwrap_or(MAX_MINUTES).clamp(1, MAX_MINUTES)
}

/// ECS's longest protection: 48 hours.
pub const MAX_MINUTES: u32 = 2880;
/// ECS's protection when no expiry is given: 2 hours.
pub const DEFAULT_MINUTES: u32 = 120;

/// One task as `GetTaskProtection` reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskProtection {
    pub task: String,
    pub enabled: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

impl TaskProtection {
    pub fn protected(&self, now: DateTime<Utc>) -> bool {
        self.enabled && self.expires_at.is_none_or(|e| e > now)
    }
}

/// Why a scale-in of the service's `running` tasks waits, when every one of them is protected
/// (a task ECS did not report counts as unprotected). `None` when at least one is not, or
/// there are no tasks.
pub fn all_protected(running: &[String], reported: &[TaskProtection], now: DateTime<Utc>) -> Option<String> {
    let protected = |arn: &String| reported.iter().any(|r| &r.task == arn && r.protected(now));
    if running.is_empty() || !running.iter().all(protected) {
        return None;
    }
    let until = reported.iter().filter_map(|r| r.expires_at).filter(|e| *e > now).min();
    let first = until.map(|u| format!("; the first protection ends at {}", u.format("%Y-%m-%dT%H:%M:%SZ")));
    Some(format!(
        "{TASKS_PROTECTED}: all {} running tasks have scale-in protection{}",
        running.len(),
        first.unwrap_or_default()
    ))
}

#[cfg(test)]
#[path = "protection_tests.rs"]
mod tests;
