//! The simulation loop. Time advances in fixed steps; at each of its decision times a
//! [`Controller`] sees what a live scaler would see — the desired and running counts and the
//! metrics of `metric_delay` ago — and may set a new desired count. Only the oracle is allowed
//! to look ahead, through [`Ctx::peak_demand_ahead`].

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};

use super::timeline::{Event, Row, Timeline};
use super::trace::Trace;
use super::world::{Observed, Tasks, WorldParams};
use crate::core::Bounds;

/// A scaling algorithm under simulation.
pub trait Controller {
    fn name(&self) -> String;
    /// Seconds between two decisions.
    fn interval(&self) -> u64;
    /// A new desired count and the reason for it, or `None` to leave it.
    fn decide(&mut self, ctx: &Ctx<'_>) -> Option<(u32, String)>;
}

/// What a controller sees at one decision time.
pub struct Ctx<'a> {
    pub t: u64,
    pub start: DateTime<Utc>,
    pub desired: u32,
    pub running: u32,
    pub params: &'a WorldParams,
    step: u64,
    /// The load and the metrics of past steps, newest last, long enough for the delay plus a
    /// minute.
    seen: &'a VecDeque<Seen>,
    demand: &'a [u32],
}

impl Ctx<'_> {
    /// Wall-clock time of simulation second `t`.
    pub fn wall_at(&self, t: u64) -> DateTime<Utc> {
        self.start + TimeDelta::seconds(t as i64)
    }

    pub fn wall(&self) -> DateTime<Utc> {
        self.wall_at(self.t)
    }

    /// The newest metrics a scaler has now: those of `metric_delay` ago, with their time.
    pub fn observed(&self) -> Option<(u64, Observed)> {
        self.delayed().and_then(|s| s.observed.map(|o| (s.t, o)))
    }

    /// The service's total load of `metric_delay` ago, with its time: a fleet total that exists
    /// whether or not a task runs (a queue's backlog, requests at the load balancer).
    pub fn observed_load(&self) -> Option<(u64, f64)> {
        self.delayed().map(|s| (s.t, s.load))
    }

    fn delayed(&self) -> Option<&Seen> {
        let back = (self.params.metric_delay / self.step) as usize;
        let i = self.seen.len().saturating_sub(1 + back);
        self.seen.get(i)
    }

    /// Mean CPU% of the delayed metrics over the last `window` seconds (a CloudWatch
    /// one-minute datapoint, say); `None` when no task reported in that window.
    pub fn average_cpu(&self, window: u64) -> Option<f64> {
        let back = (self.params.metric_delay / self.step) as usize;
        let n = ((window / self.step) as usize).max(1);
        let end = self.seen.len().saturating_sub(back);
        let samples: Vec<f64> = self
            .seen
            .range(end.saturating_sub(n)..end)
            .filter_map(|s| s.observed.map(|o| o.cpu_pct))
            .collect();
        (!samples.is_empty()).then(|| samples.iter().sum::<f64>() / samples.len() as f64)
    }

    /// The highest demand from now to `horizon` seconds ahead. For the oracle only.
    pub fn peak_demand_ahead(&self, horizon: u64) -> u32 {
        let i = (self.t / self.step) as usize;
        let j = (i + (horizon / self.step) as usize).min(self.demand.len() - 1);
        self.demand[i..=j].iter().copied().max().unwrap_or(1)
    }
}

/// What the world showed at one step.
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    t: u64,
    load: f64,
    /// `None` with no running task.
    observed: Option<Observed>,
}

/// One controller's run.
pub struct Outcome {
    pub name: String,
    pub timeline: Timeline,
    pub billed_seconds: u64,
}

/// A trace and a world, ready to run controllers through.
pub struct Simulation<'a> {
    pub trace: &'a Trace,
    pub params: WorldParams,
    pub start: DateTime<Utc>,
    pub bounds: Bounds,
    /// Seconds per step: divides the trace step, the delays and every decision interval.
    pub step: u64,
    demand: Vec<u32>,
}

impl<'a> Simulation<'a> {
    /// Prepares a run; `intervals` are the decision intervals of the controllers to be run.
    pub fn new(
        trace: &'a Trace,
        params: WorldParams,
        start: DateTime<Utc>,
        bounds: Bounds,
        intervals: &[u64],
    ) -> Self {
        let step = intervals
            .iter()
            .chain([&trace.step, &params.start_delay, &params.metric_delay])
            .fold(0, |g, &x| gcd(g, x))
            .max(1);
        let steps = trace.duration() / step;
        let demand = (0..steps).map(|i| params.demand(trace.at(i * step))).collect();
        Simulation { trace, params, start, bounds, step, demand }
    }

    pub fn demand(&self) -> &[u32] {
        &self.demand
    }

    /// Runs `controller` from a warm start.
    pub fn run(&self, controller: &mut dyn Controller) -> Outcome {
        let p = &self.params;
        // Everyone starts warm with what the first start delay needs, so no controller (the
        // oracle included) begins short for reasons of its own start.
        let first_needed = self.demand.iter().take((p.start_delay / self.step) as usize + 1).max();
        let first = self.bounds.clamp(crate::core::Replicas(first_needed.copied().unwrap_or(1))).get();
        let mut tasks = Tasks::warm(first, 0, p.start_delay);
        let keep = ((p.metric_delay + 60) / self.step) as usize + 2;
        let mut seen: VecDeque<Seen> = VecDeque::with_capacity(keep + 1);
        let mut timeline =
            Timeline { step: self.step, rows: Vec::with_capacity(self.demand.len()), events: vec![] };
        let every = controller.interval().max(self.step);
        for (i, &demand) in self.demand.iter().enumerate() {
            let t = i as u64 * self.step;
            let load = self.trace.at(t);
            let before = tasks.running(t);
            let observed = p.observe(load, before);
            seen.push_back(Seen { t, load, observed });
            if seen.len() > keep {
                seen.pop_front();
            }
            if t.is_multiple_of(every) {
                self.decide(controller, &mut tasks, &seen, t, &mut timeline.events);
            }
            // A scale-in stops tasks at once; only then is the step observed again.
            let running = tasks.running(t);
            let after = if running == before { observed } else { p.observe(load, running) };
            let cpu_pct = after.map_or(if load > 0.0 { 100.0 } else { 0.0 }, |o| o.cpu_pct);
            timeline.rows.push(Row { t, load, demand, desired: tasks.desired(), running, cpu_pct });
        }
        let end = self.demand.len() as u64 * self.step;
        Outcome { name: controller.name(), timeline, billed_seconds: tasks.finish(end) }
    }

    fn decide(
        &self,
        controller: &mut dyn Controller,
        tasks: &mut Tasks,
        seen: &VecDeque<Seen>,
        t: u64,
        events: &mut Vec<Event>,
    ) {
        let ctx = Ctx {
            t,
            start: self.start,
            desired: tasks.desired(),
            running: tasks.running(t),
            params: &self.params,
            step: self.step,
            seen,
            demand: &self.demand,
        };
        let Some((to, reason)) = controller.decide(&ctx) else { return };
        let to = self.bounds.clamp(crate::core::Replicas(to)).get();
        if to != ctx.desired {
            events.push(Event { t, from: ctx.desired, to, reason });
            tasks.set_desired(t, to);
        }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}
