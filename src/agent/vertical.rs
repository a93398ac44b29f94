//! `vertical.mode = "apply"`: the leader resizes the task when the right-sizer recommends it.
//!
//! A resize registers a new revision of the service's task definition — a copy of the current
//! one with the new task CPU and memory — and points the service at it, which ECS rolls out as a
//! deployment. Because that replaces every task, it is guarded:
//! - only a recommended size of at least medium confidence (a day of history);
//! - never during another deployment (a rollout in progress, or more than one deployment live);
//! - at most once per `vertical.interval`, also across restarts: a revision trimtab registered
//!   carries the tag `trimtab:resized-from`, and one younger than the interval is waited out;
//! - never below what the observed peaks need (the undecayed maximum of CPU and memory);
//! - never when a container declares more CPU or memory than the new task would have (checked
//!   before anything is registered).
//!
//! A revision registered whose deployment then failed is reused by the next attempt rather than
//! registered again. A failed attempt waits an hour (or the interval, if shorter). Within the
//! tick's deadline (see [`super::deadline`]): a cut leaves nothing half-done that is forgotten
//! (a revision registered but not yet deployed is deployed by the next attempt).

use chrono::{DateTime, TimeDelta, Utc};
use tracing::{info, warn};

use super::deadline::{Cut, Deadline};
use crate::aws::{AwsError, Ecs, ServiceState, TaskDefinitionInfo};
use crate::core::cost::Confidence;
use crate::core::rightsize::{Need, Size, Sizing};
use crate::core::types::later;
use crate::status::VerticalStatus;

#[derive(Debug, Default)]
pub struct Applier {
    /// No attempt before this (the interval since the last resize, or a back-off after a failure).
    not_before: Option<DateTime<Utc>>,
    /// A revision registered for `Size` whose deployment has not been made yet.
    registered: Option<(String, Size)>,
    pub last: Option<VerticalStatus>,
}

/// Why a recommended resize is not applied now, if it is not.
fn hold(z: &Sizing, floor: Need, state: &ServiceState) -> Option<(&'static str, String)> {
    if !z.recommended {
        return Some(("not_recommended", z.reasons.last().cloned().unwrap_or_default()));
    }
    if z.confidence < Confidence::Medium {
        return Some(("low_confidence", "less than a day of history: recommending only".into()));
    }
    if f64::from(z.target.cpu) < floor.cpu || f64::from(z.target.memory) < floor.memory {
        let m = format!(
            "{} is below the observed peak of {:.0} CPU units / {:.0} MiB",
            z.target, floor.cpu, floor.memory
        );
        return Some(("below_observed_peak", m));
    }
    if state.deployment_in_progress() {
        return Some(("deployment_in_progress", "another deployment is in progress".into()));
    }
    None
}

impl Applier {
    /// Resizes if everything allows it; returns the new size when a deployment was started, and
    /// the cut when the tick's deadline or a shutdown stopped it first.
    pub async fn consider(
        &mut self,
        ecs: &Ecs,
        state: &ServiceState,
        sizing: (&Sizing, Need),
        cfg: &crate::config::model::VerticalConfig,
        now: DateTime<Utc>,
        dl: &Deadline,
    ) -> Result<Option<Size>, Cut> {
        let (z, floor) = sizing;
        let status = |outcome: &str, message: String, td: Option<String>| VerticalStatus {
            mode: cfg.mode,
            at: now,
            outcome: outcome.to_owned(),
            message,
            task_definition: td,
        };
        if let Some((outcome, why)) = hold(z, floor, state) {
            self.last = Some(status(outcome, why, None));
            return Ok(None);
        }
        if let Some(t) = self.not_before.filter(|t| now < *t) {
            self.last = Some(status("waiting", format!("no resize before {t} (vertical.interval)"), None));
            return Ok(None);
        }
        let outcome = match self.apply(ecs, state, z.target, cfg.interval, now, dl).await {
            Ok(Ok(step)) => Ok(step),
            Ok(Err(e)) => Err(e),
            Err(cut) => {
                self.last = Some(status("waiting", cut.to_string(), None));
                return Err(cut);
            }
        };
        Ok(match outcome {
            Ok(Step::Deployed(arn)) => {
                info!(size = %z.target, task_definition = %arn, "resized the task: deployment started");
                self.not_before = Some(later(now, cfg.interval));
                let m = format!("{} → {}: {}", z.current, z.target, z.reasons.join("; "));
                self.last = Some(status("applied", m, Some(arn)));
                Some(z.target)
            }
            Ok(Step::Wait(why)) => {
                self.last = Some(status("waiting", why, None));
                None
            }
            Err(e) => {
                warn!(error = %e, size = %z.target, "could not resize the task");
                self.not_before = Some(later(now, cfg.interval.min(TimeDelta::hours(1))));
                self.last = Some(status("failed", e.to_string(), None));
                None
            }
        })
    }

    /// The steps of a resize; the outer `Result` is a cut by the tick's deadline or a shutdown.
    async fn apply(
        &mut self,
        ecs: &Ecs,
        state: &ServiceState,
        size: Size,
        interval: TimeDelta,
        now: DateTime<Utc>,
        dl: &Deadline,
    ) -> Result<Result<Step, AwsError>, Cut> {
        let current = state.task_definition.clone().unwrap_or_default();
        let arn = match self.registered.take().filter(|(_, s)| *s == size) {
            Some((arn, _)) => arn,
            None => {
                let td = match dl.read("ecs:DescribeTaskDefinition", ecs.task_definition(&current)).await? {
                    Ok(td) => td,
                    Err(e) => return Ok(Err(e)),
                };
                if let Some((at, until)) = resized_within(&td, interval, now) {
                    self.not_before = Some(until);
                    let why =
                        format!("the current revision was registered at {at}, within vertical.interval");
                    return Ok(Ok(Step::Wait(why)));
                }
                // A change: checked before it starts, never cut once sent.
                dl.check("ecs:RegisterTaskDefinition")?;
                match ecs.register_resized(&current, size.cpu, size.memory).await {
                    Ok(td) => td.arn,
                    Err(e) => return Ok(Err(e)),
                }
            }
        };
        if let Err(cut) = dl.check("ecs:UpdateService (deploy)") {
            self.registered = Some((arn, size));
            return Err(cut);
        }
        if let Err(e) = ecs.deploy(&arn).await {
            self.registered = Some((arn, size));
            return Ok(Err(e));
        }
        Ok(Ok(Step::Deployed(arn)))
    }
}

/// When the service runs a revision trimtab registered (this agent before a restart, or another
/// task's) less than `interval` ago: when it was registered, and when the next resize may come.
/// Without a registration time, or with one after `now` (no real time: issue 14), it counts as
/// registered now, so the whole interval is waited out.
fn resized_within(
    td: &TaskDefinitionInfo,
    interval: TimeDelta,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if !td.resized_by_trimtab {
        return None;
    }
    let at = td.registered_at.filter(|at| *at <= now).unwrap_or(now);
    (now - at < interval).then(|| (at, later(at, interval)))
}

/// How far an attempt got.
enum Step {
    /// The service was pointed at this new revision.
    Deployed(String),
    /// Nothing done yet, and why.
    Wait(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn td(registered_at: Option<DateTime<Utc>>, ours: bool) -> TaskDefinitionInfo {
        TaskDefinitionInfo {
            arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2".into(),
            family: "web".into(),
            revision: 2,
            registered_at,
            resized_by_trimtab: ours,
            cpu: Some(512),
            memory: Some(1024),
            containers: vec![],
            arch: None,
            os: None,
            storage_gib: None,
        }
    }

    #[test]
    fn a_recent_resize_is_waited_out_and_absurd_registration_times_count_as_now() {
        let now = DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z").unwrap().to_utc();
        let day = TimeDelta::days(1);
        let hour = TimeDelta::hours(1);
        assert_eq!(
            resized_within(&td(Some(now - hour), true), day, now),
            Some((now - hour, now + day - hour))
        );
        assert_eq!(resized_within(&td(Some(now - day - hour), true), day, now), None, "long enough ago");
        assert_eq!(resized_within(&td(Some(now - hour), false), day, now), None, "not ours");
        // No time, a time after now, the end of time: the interval counts from now.
        let end = DateTime::<Utc>::MAX_UTC - TimeDelta::seconds(30);
        for at in [None, Some(now + hour), Some(end)] {
            assert_eq!(resized_within(&td(at, true), day, now), Some((now, now + day)), "{at:?}");
        }
        // An interval reaching past the end of time saturates.
        let late = DateTime::<Utc>::MAX_UTC - hour;
        assert_eq!(resized_within(&td(Some(late), true), day, late), Some((late, DateTime::<Utc>::MAX_UTC)));
    }
}
