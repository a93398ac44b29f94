//! trimtab's own policy as a simulated controller: the observed metrics become an
//! [`Observation`] and go through the very same [`core::decide`](crate::core::decide) the live
//! agent calls; the decision is remembered in a [`History`] exactly as the agent does.
//!
//! A utilization metric reads the running tasks' figure of its kind (none with no task
//! running); an average-value metric reads the service's total load in the trace's unit, which
//! exists at zero tasks too, as a queue's backlog or a load balancer's request count does.

use super::engine::{Controller, Ctx};
use super::world::Observed;
use crate::core::policy::TargetType;
use crate::core::{self, History, MetricKind, Observation, Policy, Replicas};

pub struct TrimtabController {
    name: String,
    policy: Policy,
    interval: u64,
    history: History,
}

impl TrimtabController {
    pub fn new(name: impl Into<String>, policy: Policy, interval: u64) -> Self {
        TrimtabController { name: name.into(), policy, interval, history: History::default() }
    }
}

impl Controller for TrimtabController {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn interval(&self) -> u64 {
        self.interval
    }

    fn decide(&mut self, ctx: &Ctx<'_>) -> Option<(u32, String)> {
        let now = ctx.wall();
        let mut obs = Observation::new(ctx.desired);
        for m in &self.policy.metrics {
            let reading = match m.target_type {
                TargetType::AverageValue => ctx.observed_load(),
                TargetType::Utilization => {
                    ctx.observed().and_then(|(t, seen)| Some((t, metric_value(m.kind, &seen)?)))
                }
            };
            if let Some((t, v)) = reading {
                obs = obs.with_sample(&m.name, v, ctx.wall_at(t));
            }
        }
        let d = core::decide(&self.policy, &obs, &self.history, now);
        d.remember(&mut self.history, &self.policy);
        if d.desired == Replicas(ctx.desired) {
            return None;
        }
        self.history.record_action(now, Replicas(ctx.desired), d.desired);
        Some((d.desired.get(), d.reason.as_str().to_owned()))
    }
}

/// The simulated value of a metric of this kind; custom metrics do not exist in the model.
pub fn metric_value(kind: MetricKind, o: &Observed) -> Option<f64> {
    match kind {
        MetricKind::Cpu => Some(o.cpu_pct),
        MetricKind::Memory => Some(o.memory_pct),
        MetricKind::Latency => Some(o.latency_ms),
        MetricKind::ErrorRate => Some(o.error_pct),
        MetricKind::RequestsPerTask => Some(o.requests_per_task),
        MetricKind::PoolPressure => Some(100.0 * o.utilization.min(1.0)),
        MetricKind::Custom => None,
    }
}
