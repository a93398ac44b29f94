//! The decision pipeline: `decide(policy, observation, history, now) -> Decision`.
//!
//! Stages run in a fixed order over a running count that starts at the current desired count.
//! The first stage turns the score into a load-based recommendation; each later stage may move
//! the count and records a [`Step`] saying why. Conservative rules, each pinned by tests:
//!
//! - inside the tolerance band (by default 10% either side of the targets) nothing changes;
//! - a scale-out that the usable metrics call for always goes ahead, whatever is missing (AWS
//!   Application Auto Scaling scales out if *any* policy asks); missing, stale or invalid data
//!   never allows a scale-in unless `on_missing_data = "use-available"`; with no usable metric
//!   at all the count holds;
//! - a scale-in never takes any metric past its target (AAS scales in only if *all* agree): it
//!   goes to the largest count any metric asks for;
//! - at zero tasks only a metric above its activation wakes the service, and it goes to zero
//!   only after every weighted metric has been at or below its activation for the whole
//!   stabilization window (KEDA's activation);
//! - scale-in takes the highest recommendation of the stabilization window, so one quiet tick
//!   cannot shrink the service;
//! - a scale-out waits out the scale-out cooldown after the last scale-out; a scale-in waits out
//!   the scale-in cooldown after the last action in **either** direction (so the direction never
//!   flips inside a cooldown), while a scale-out may happen during a scale-in cooldown, as AWS
//!   Application Auto Scaling does;
//! - while an ECS deployment is in progress, scale-in waits (scale-out does not);
//! - bounds (schedule, then policy) are enforced last and override cooldowns and step limits:
//!   a window that raises `min` raises the service when it opens.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::history::History;
use super::policy::{Policy, Thresholds};
use super::schedule::{self, EffectiveBounds};
use super::score::{self, Score};
use super::types::{ManualOverride, Observation, Replicas, later};

#[path = "decide_load.rs"]
mod load;

/// Why the desired count is what it is. Also the name of the stage that set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    ScaleOut,
    ScaleIn,
    /// The score is below the band, but sizing keeps the count (see the message).
    ScaleInBlocked,
    WithinTolerance,
    MissingData,
    /// At or towards zero tasks: what activation allows (KEDA's activation).
    Activation,
    Override,
    Stabilization,
    ScaleOutCooldown,
    ScaleInCooldown,
    /// Scale-in waits while an ECS deployment is in progress.
    Deployment,
    StepLimit,
    SchedulePin,
    ScheduleBounds,
    BudgetCapped,
    Bounds,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ScaleOut => "scale_out",
            Reason::ScaleIn => "scale_in",
            Reason::ScaleInBlocked => "scale_in_blocked",
            Reason::WithinTolerance => "within_tolerance",
            Reason::MissingData => "missing_data",
            Reason::Activation => "activation",
            Reason::Override => "override",
            Reason::Stabilization => "stabilization",
            Reason::ScaleOutCooldown => "scale_out_cooldown",
            Reason::ScaleInCooldown => "scale_in_cooldown",
            Reason::Deployment => "deployment",
            Reason::StepLimit => "step_limit",
            Reason::SchedulePin => "schedule_pin",
            Reason::ScheduleBounds => "schedule_bounds",
            Reason::BudgetCapped => "budget_capped",
            Reason::Bounds => "bounds",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The score's trend, projected ahead.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Trend {
    /// Score change per minute, fitted by least squares over the trend window.
    pub per_minute: f64,
    /// The score projected `lookahead` ahead.
    pub projected: f64,
    pub lookahead_seconds: i64,
}

/// One stage's effect on the running count.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub stage: Reason,
    pub from: Replicas,
    pub to: Replicas,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub at: DateTime<Utc>,
    pub current: Replicas,
    pub desired: Replicas,
    /// The load-based recommendation before any guard; what stabilization remembers.
    pub recommended: Replicas,
    pub reason: Reason,
    pub message: String,
    pub score: Score,
    /// The predictive term, when the policy has one and enough history to fit it.
    pub trend: Option<Trend>,
    pub thresholds: Thresholds,
    pub bounds: EffectiveBounds,
    /// The load stage first, then every guard that moved the count.
    pub steps: Vec<Step>,
}

impl Decision {
    /// Records this decision's recommendation into `history` (the applied action is recorded
    /// separately, once it succeeded).
    pub fn remember(&self, history: &mut History, policy: &Policy) {
        history.record_recommendation(self.at, self.recommended, policy.scale_in_stabilization);
        history.record_quiet(self.at, self.score.is_quiet());
        if let Some(s) = self.score.value.filter(|_| policy.lookahead.is_some()) {
            history.record_score(self.at, s, policy.trend_window);
        }
    }
}

/// Decides the desired count for one service at `now`.
pub fn decide(policy: &Policy, obs: &Observation, history: &History, now: DateTime<Utc>) -> Decision {
    let bounds = schedule::effective(policy.bounds, &policy.schedules, now);
    let score = score::score(
        &policy.metrics,
        &obs.samples,
        &obs.partial,
        now,
        policy.max_metric_age,
        obs.current.get(),
    );
    let trend = score.value.and_then(|s| fit_trend(policy, history, now, s));
    let current = obs.current;
    let mut run = Run { current, n: current, steps: Vec::new() };
    let overridden = obs.manual_override.as_ref().filter(|o| o.is_active(now));
    let recommended = match overridden {
        Some(o) => {
            let to = policy.bounds.clamp(o.count);
            run.set_always(Reason::Override, to, override_message(o, to));
            to
        }
        None => {
            let may_idle = bounds.bounds.min() == Replicas(0);
            let (to, reason, message) = load::stage(policy, &score, trend, current, may_idle);
            run.set_always(reason, to, message);
            load::to_zero(&mut run, policy, &score, history, now, may_idle);
            stabilize(&mut run, policy, history, now);
            cooldown(&mut run, policy, history, now);
            step_limit(&mut run, policy);
            deployment(&mut run, obs.deployment_in_progress);
            pin(&mut run, &bounds);
            budget_cap(&mut run, obs.budget_cap);
            to
        }
    };
    clamp_bounds(&mut run, policy, &bounds, overridden.is_some());
    run.finish(now, recommended, score, trend, policy.thresholds, bounds)
}

/// Least-squares slope of the remembered scores and the current one, projected `lookahead`
/// ahead. Needs three samples spanning half the window: a trend is not fitted on noise.
fn fit_trend(policy: &Policy, history: &History, now: DateTime<Utc>, s: f64) -> Option<Trend> {
    let lookahead = policy.lookahead?;
    let points: Vec<(f64, f64)> = history
        .scores_within(now, policy.trend_window)
        .map(|(t, v)| ((t - now).num_milliseconds() as f64 / 1000.0, v))
        .chain([(0.0, s)])
        .collect();
    let span = -points.first()?.0;
    if points.len() < 3 || span < policy.trend_window.num_seconds() as f64 / 2.0 {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    let projected = s + slope * lookahead.num_seconds() as f64;
    slope.is_finite().then_some(Trend {
        per_minute: 60.0 * slope,
        projected,
        lookahead_seconds: lookahead.num_seconds(),
    })
}

fn override_message(o: &ManualOverride, to: Replicas) -> String {
    let clamped =
        if to == o.count { String::new() } else { format!(" (asked {}, held to policy bounds)", o.count) };
    format!("manual override to {to}{clamped} until {}: {}", o.expires_at, o.reason)
}

/// The running count and the steps that moved it.
struct Run {
    current: Replicas,
    n: Replicas,
    steps: Vec<Step>,
}

impl Run {
    /// Moves the count and records why, if it changes.
    fn set(&mut self, stage: Reason, to: Replicas, message: String) {
        if to != self.n {
            self.set_always(stage, to, message);
        }
    }

    fn set_always(&mut self, stage: Reason, to: Replicas, message: String) {
        self.steps.push(Step { stage, from: self.n, to, message });
        self.n = to;
    }

    fn finish(
        self,
        at: DateTime<Utc>,
        recommended: Replicas,
        score: Score,
        trend: Option<Trend>,
        thresholds: Thresholds,
        bounds: EffectiveBounds,
    ) -> Decision {
        let last = self.steps.last().expect("the first stage always records a step");
        Decision {
            at,
            current: self.current,
            desired: self.n,
            recommended,
            reason: last.stage,
            message: last.message.clone(),
            score,
            trend,
            thresholds,
            bounds,
            steps: self.steps,
        }
    }
}

/// Scale-in only to the highest recommendation of the stabilization window.
fn stabilize(run: &mut Run, policy: &Policy, history: &History, now: DateTime<Utc>) {
    if run.n >= run.current {
        return;
    }
    let window = policy.scale_in_stabilization;
    let highest = history.highest_within(now, window).unwrap_or(run.n);
    let to = run.n.max(highest).min(run.current);
    let msg = format!(
        "scale-in stabilization: highest recommendation in the last {}s is {highest}",
        window.num_seconds()
    );
    run.set(Reason::Stabilization, to, msg);
}

/// When a cooldown ends, and the action that started it.
pub type CooldownEnd = Option<(DateTime<Utc>, DateTime<Utc>)>;

/// Each direction's cooldown, `(scale-out, scale-in)`. Scale-out waits `scale_out_cooldown`
/// after the last scale-out. Scale-in waits `scale_in_cooldown` after the last scale-in, and
/// the longer of both cooldowns after the last scale-out, so the direction never flips inside
/// either cooldown. The pipeline and the agent's `/status` both read it from here.
pub fn cooldowns(policy: &Policy, history: &History) -> (CooldownEnd, CooldownEnd) {
    let (out_cd, in_cd) = (policy.scale_out_cooldown, policy.scale_in_cooldown);
    let after = |t: Option<DateTime<Utc>>, d| t.map(|t| (later(t, d), t));
    let out = after(history.last_scale_out(), out_cd);
    let inn = after(history.last_scale_out(), out_cd.max(in_cd)).max(after(history.last_scale_in(), in_cd));
    (out, inn)
}

fn cooldown(run: &mut Run, policy: &Policy, history: &History, now: DateTime<Utc>) {
    let (out, inn) = cooldowns(policy, history);
    let (until, reason, what) = if run.n > run.current {
        (out, Reason::ScaleOutCooldown, "scale-out")
    } else if run.n < run.current {
        (inn, Reason::ScaleInCooldown, "scale-in")
    } else {
        return;
    };
    let Some((until, last)) = until.filter(|(until, _)| *until > now) else { return };
    let msg = format!(
        "{what} cooldown: last scaling {}s ago, {}s left (cooldowns: scale-out {}s, scale-in {}s)",
        (now - last).num_seconds(),
        (until - now).num_seconds(),
        policy.scale_out_cooldown.num_seconds(),
        policy.scale_in_cooldown.num_seconds()
    );
    run.set(reason, run.current, msg);
}

fn step_limit(run: &mut Run, policy: &Policy) {
    let up = run.current.saturating_add(policy.max_scale_out_step);
    let down = run.current.saturating_sub(policy.max_scale_in_step);
    if run.n > up {
        let msg = format!("scale-out limited to +{} per step (asked {})", policy.max_scale_out_step, run.n);
        run.set(Reason::StepLimit, up, msg);
    } else if run.n < down {
        let msg = format!("scale-in limited to -{} per step (asked {})", policy.max_scale_in_step, run.n);
        run.set(Reason::StepLimit, down, msg);
    }
}

fn deployment(run: &mut Run, in_progress: bool) {
    if in_progress && run.n < run.current {
        let msg = format!("scale-in to {} suspended while an ECS deployment is in progress", run.n);
        run.set(Reason::Deployment, run.current, msg);
    }
}

fn pin(run: &mut Run, bounds: &EffectiveBounds) {
    if let (Some(p), Some(w)) = (bounds.pinned, &bounds.window) {
        run.set(Reason::SchedulePin, p, format!("schedule window {w} pins the desired count to {p}"));
    }
}

/// The budget only limits scale-out; it never shrinks a service that is already larger.
fn budget_cap(run: &mut Run, cap: Option<Replicas>) {
    let Some(cap) = cap else { return };
    let limit = cap.max(run.current);
    if run.n > limit {
        let msg = format!(
            "budget cap: the remaining budget affords {cap} tasks; held {} below the {} asked",
            run.n.get() - limit.get(),
            run.n
        );
        run.set(Reason::BudgetCapped, limit, msg);
    }
}

fn clamp_bounds(run: &mut Run, policy: &Policy, eff: &EffectiveBounds, overridden: bool) {
    let (bounds, reason, whose) = match &eff.window {
        Some(w) if !overridden => (eff.bounds, Reason::ScheduleBounds, format!("schedule window {w}")),
        _ => (policy.bounds, Reason::Bounds, "policy".to_owned()),
    };
    let to = bounds.clamp(run.n);
    run.set(reason, to, format!("{whose} bounds {bounds} (asked {})", run.n));
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
