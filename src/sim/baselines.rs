//! The algorithms users have today, as documented by their authors, plus a clairvoyant oracle.
//! Each targets the world's target utilization `u*` (CPU% = 100 × u*), except `step`, whose
//! classic thresholds are fixed.
//!
//! - **aws-target-tracking** (Application Auto Scaling): one-minute CPU datapoints; scale out
//!   when 3 consecutive datapoints are above the target, to `ceil(reporting tasks × cpu / target)`;
//!   scale in when 15 consecutive datapoints are more than 10% below the target, to the same
//!   proportional count; 300 s cooldowns. A scale-out may happen during the scale-in cooldown;
//!   no scale-in happens during either cooldown. Capacity still starting is not double counted.
//! - **k8s-hpa** (Horizontal Pod Autoscaler): every 15 s, `ceil(usage / u*)` unless the usage
//!   ratio is within the 0.1 tolerance; tasks without a metric yet count as 0% for scale-up and
//!   100% for scale-down; scale-down takes the highest recommendation of the last 300 s; rates:
//!   up by at most max(4 tasks, 100%) and down by at most 100% per 15 s.
//! - **step**: every minute, +1 task when CPU is above 70%, −1 below 30%, 300 s cooldown after
//!   any action.
//! - **oracle**: knows the future; keeps the peak demand of the next start delay plus one
//!   minute, so every task it needs has started by the time it is needed, and a task that will
//!   be needed again within its one-minute billing minimum is kept rather than restarted. The
//!   least cost with no shortage (up to that one-minute look at restarts).

use std::collections::VecDeque;

use super::engine::{Controller, Ctx};

const MINUTE: u64 = 60;

pub const NAMES: &[&str] = &["aws-target-tracking", "k8s-hpa", "step", "oracle"];

/// The baseline called `name`, or `None`.
pub fn by_name(name: &str, target_utilization: f64) -> Option<Box<dyn Controller>> {
    Some(match name {
        "aws-target-tracking" => Box::new(AwsTargetTracking::new(100.0 * target_utilization)),
        "k8s-hpa" => Box::new(K8sHpa::new(target_utilization)),
        "step" => Box::new(StepPolicy::default()),
        "oracle" => Box::new(Oracle),
        _ => return None,
    })
}

/// `ceil(usage / target)`: tasks needed for the measured total usage at the target.
fn needed(usage: f64, target: f64) -> u32 {
    (usage / target - 1e-9).ceil().max(1.0) as u32
}

#[derive(Debug)]
pub struct AwsTargetTracking {
    target_pct: f64,
    breaching_high: u32,
    breaching_low: u32,
    last_out: Option<u64>,
    last_in: Option<u64>,
}

impl AwsTargetTracking {
    pub const COOLDOWN: u64 = 300;

    pub fn new(target_pct: f64) -> Self {
        AwsTargetTracking { target_pct, breaching_high: 0, breaching_low: 0, last_out: None, last_in: None }
    }

    fn cooling(last: Option<u64>, t: u64) -> bool {
        last.is_some_and(|l| t < l + Self::COOLDOWN)
    }
}

impl Controller for AwsTargetTracking {
    fn name(&self) -> String {
        "aws-target-tracking".into()
    }

    fn interval(&self) -> u64 {
        MINUTE
    }

    fn decide(&mut self, ctx: &Ctx<'_>) -> Option<(u32, String)> {
        let cpu = ctx.average_cpu(MINUTE)?;
        let reporting = ctx.observed().map_or(ctx.running, |(_, o)| o.running);
        self.breaching_high = if cpu > self.target_pct { self.breaching_high + 1 } else { 0 };
        self.breaching_low = if cpu < 0.9 * self.target_pct { self.breaching_low + 1 } else { 0 };
        // The datapoint averages the tasks that reported it, so tasks started since do not
        // count twice (AWS counts capacity added during a cooldown the same way).
        let want = needed(f64::from(reporting) * cpu, self.target_pct);
        if self.breaching_high >= 3 && want > ctx.desired {
            self.last_out = Some(ctx.t);
            return Some((want, "3 datapoints above target".into()));
        }
        let cooling = Self::cooling(self.last_out, ctx.t) || Self::cooling(self.last_in, ctx.t);
        if self.breaching_low >= 15 && want < ctx.desired && !cooling {
            self.last_in = Some(ctx.t);
            return Some((want, "15 datapoints 10% below target".into()));
        }
        None
    }
}

#[derive(Debug)]
pub struct K8sHpa {
    target: f64,
    /// `(time, recommendation)` of the last 300 s.
    recommendations: VecDeque<(u64, u32)>,
}

impl K8sHpa {
    pub const SYNC: u64 = 15;
    pub const TOLERANCE: f64 = 0.1;
    pub const DOWN_STABILIZATION: u64 = 300;

    pub fn new(target: f64) -> Self {
        K8sHpa { target, recommendations: VecDeque::new() }
    }

    /// The HPA's replica calculation. Tasks started since the metric was taken have none: they
    /// count as 0% when scaling up and 100% when scaling down, as the HPA treats missing pods.
    fn recommend(&self, ctx: &Ctx<'_>) -> Option<u32> {
        let (_, seen) = ctx.observed()?;
        // CPU as the tasks report it: a task cannot use more than its limit.
        let per_task = seen.cpu_pct / 100.0;
        let now = ctx.running.max(1);
        let reporting = seen.running.min(now);
        let missing = f64::from(now - reporting);
        let usage = per_task * f64::from(reporting);
        // The direction comes from the tasks that have a metric.
        let up = per_task > self.target;
        let usage = if up { usage } else { usage + missing };
        let ratio = usage / (self.target * f64::from(now));
        if (ratio - 1.0).abs() <= Self::TOLERANCE {
            return Some(ctx.desired);
        }
        Some(needed(usage, self.target))
    }
}

impl Controller for K8sHpa {
    fn name(&self) -> String {
        "k8s-hpa".into()
    }

    fn interval(&self) -> u64 {
        Self::SYNC
    }

    fn decide(&mut self, ctx: &Ctx<'_>) -> Option<(u32, String)> {
        let rec = self.recommend(ctx)?;
        self.recommendations.push_back((ctx.t, rec));
        while self.recommendations.front().is_some_and(|&(t, _)| t + Self::DOWN_STABILIZATION <= ctx.t) {
            self.recommendations.pop_front();
        }
        let current = ctx.desired;
        let stabilized = if rec < current {
            self.recommendations.iter().map(|&(_, r)| r).max().unwrap_or(rec).min(current)
        } else {
            rec
        };
        let up_limit = current + current.max(4);
        let to = stabilized.min(up_limit);
        (to != current).then(|| (to, if to > current { "scale up" } else { "scale down" }.into()))
    }
}

#[derive(Debug, Default)]
pub struct StepPolicy {
    last_action: Option<u64>,
}

impl StepPolicy {
    pub const COOLDOWN: u64 = 300;
}

impl Controller for StepPolicy {
    fn name(&self) -> String {
        "step".into()
    }

    fn interval(&self) -> u64 {
        MINUTE
    }

    fn decide(&mut self, ctx: &Ctx<'_>) -> Option<(u32, String)> {
        if self.last_action.is_some_and(|l| ctx.t < l + Self::COOLDOWN) {
            return None;
        }
        let cpu = ctx.average_cpu(MINUTE)?;
        let to = if cpu > 70.0 {
            ctx.desired + 1
        } else if cpu < 30.0 && ctx.desired > 1 {
            ctx.desired - 1
        } else {
            return None;
        };
        self.last_action = Some(ctx.t);
        Some((to, if to > ctx.desired { "cpu above 70%" } else { "cpu below 30%" }.into()))
    }
}

#[derive(Debug)]
pub struct Oracle;

impl Controller for Oracle {
    fn name(&self) -> String {
        "oracle".into()
    }

    /// Zero: every step.
    fn interval(&self) -> u64 {
        0
    }

    fn decide(&mut self, ctx: &Ctx<'_>) -> Option<(u32, String)> {
        let want = ctx.peak_demand_ahead(ctx.params.start_delay + super::world::MIN_BILLED_SECONDS);
        (want != ctx.desired).then(|| (want, "future demand".into()))
    }
}

#[cfg(test)]
#[path = "baseline_tests.rs"]
mod tests;
