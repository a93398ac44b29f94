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

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::core::Bounds;
    use crate::sim::engine::Simulation;
    use crate::sim::trace::Trace;

    /// Issue 13: a queue worker at `min = 0` on its backlog (an average value, 70 per task) rests
    /// at zero through a quiet spell and wakes when work arrives, through the same `decide`.
    #[test]
    fn a_queue_worker_rests_at_zero_and_wakes_when_work_arrives() {
        let text = "[scaling]\nmin = 0\nmax = 20\n[[scaling.metrics]]\nname = \"backlog\"\nsource = \"cloudwatch\"\n\
                    namespace = \"AWS/SQS\"\nmetric = \"ApproximateNumberOfMessagesVisible\"\n\
                    target_type = \"average_value\"\ntarget = 70.0\n";
        let policy = crate::config::from_str("t.toml", text).unwrap().scaling.policy;
        // 20 minutes of 140 (2 tasks' worth), 30 quiet, then 350 (5 tasks' worth) for 20.
        let values = [vec![140.0; 20], vec![0.0; 30], vec![350.0; 20]].concat();
        let trace = Trace { name: "queue".into(), step: 60, values, interpolate: false };
        let start = DateTime::parse_from_rfc3339("2026-01-05T00:00:00Z").unwrap().with_timezone(&Utc);
        let mut c = TrimtabController::new("worker", policy, 15);
        let sim = Simulation::new(
            &trace,
            crate::sim::world::test_params(),
            start,
            Bounds::new(0, 20).unwrap(),
            &[15],
        );
        let rows = sim.run(&mut c).timeline.rows;
        let desired_at = |minute: u64| rows.iter().find(|r| r.t == minute * 60).map(|r| r.desired).unwrap();
        assert_eq!(desired_at(15), 2, "140 / 70 per task");
        // The backlog is seen empty a minute late and must stay so for the 300 s window.
        assert!((21..26).all(|m| desired_at(m) > 0), "no scale to zero before the window passed");
        assert_eq!(desired_at(40), 0, "at rest through the quiet spell");
        assert_eq!(desired_at(49), 0);
        // Work arrives at minute 50 and is seen at 51: 350 / 70 = 5 tasks, within the +4 step
        // from zero, then the rest after the scale-out cooldown.
        assert_eq!(desired_at(52), 4);
        assert_eq!(desired_at(60), 5);
    }
}
