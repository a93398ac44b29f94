//! The simulated world: tasks that take time to start and bill by the second, and the metrics a
//! scaler would observe.
//!
//! **Capacity.** One task serves `C_full` load units at 100% CPU. Demand is defined at a
//! *target utilization* `u*` (default 0.7, the usual target-tracking value): `C = u* × C_full`
//! is the load one task serves at the target, and the demand is `max(1, ceil(load / C))` tasks —
//! a service always needs one task. The oracle supplies exactly that; every baseline targets
//! `u*`; a trimtab policy scores what it observes.
//!
//! **Observed metrics** of `running` ready tasks at utilization `u = load / (running × C_full)`:
//! CPU% = `100 × min(u, 1)`; memory% = `30 + 20 × min(u, 1)` (a resident base plus buffers that
//! grow with load); p95 latency = `L0 / (1 − min(u, 0.99))` ms (M/M/1-like: flat when idle,
//! steep near saturation; `L0` = 50 ms by default); error rate% = `100 × (1 − 1/u)` above
//! saturation (the share of requests that cannot be served), else 0; requests per task =
//! `load / running`. With no running task there are no metrics (what a sidecar would see).
//!
//! **Tasks** start `start_delay` after launch (image pull, health check) and stop at once; a
//! scale-in stops tasks that are still starting first, then the newest. **Billing** is per
//! second from launch to stop with a one-minute minimum per task, counted in whole seconds.

use std::collections::VecDeque;

/// The world's parameters.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct WorldParams {
    /// `C`: load one task serves at the target utilization.
    pub capacity: f64,
    pub target_utilization: f64,
    pub start_delay: u64,
    pub metric_delay: u64,
    pub base_latency_ms: f64,
}

impl WorldParams {
    /// Load one task serves at 100% CPU.
    pub fn full_capacity(&self) -> f64 {
        self.capacity / self.target_utilization
    }

    /// Tasks needed at the target utilization.
    pub fn demand(&self, load: f64) -> u32 {
        ((load / self.capacity - 1e-9).ceil().max(1.0)).min(f64::from(u32::MAX)) as u32
    }

    /// What the running tasks would report; `None` with no running task.
    pub fn observe(&self, load: f64, running: u32) -> Option<Observed> {
        if running == 0 {
            return None;
        }
        let u = load / (f64::from(running) * self.full_capacity());
        let busy = u.min(1.0);
        Some(Observed {
            running,
            utilization: u,
            cpu_pct: 100.0 * busy,
            memory_pct: 30.0 + 20.0 * busy,
            latency_ms: self.base_latency_ms / (1.0 - u.min(0.99)),
            error_pct: if u > 1.0 { 100.0 * (1.0 - 1.0 / u) } else { 0.0 },
            requests_per_task: load / f64::from(running),
        })
    }
}

/// Metrics of the running tasks at one instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observed {
    /// The tasks that reported these metrics.
    pub running: u32,
    /// Load over full capacity; above 1 the service is overloaded.
    pub utilization: f64,
    pub cpu_pct: f64,
    pub memory_pct: f64,
    pub latency_ms: f64,
    pub error_pct: f64,
    pub requests_per_task: f64,
}

/// The service's tasks, by launch time in seconds (oldest first). Tasks that were running
/// when the simulation began have a launch time before 0 and are billed from 0.
#[derive(Clone, Debug, Default)]
pub struct Tasks {
    launches: VecDeque<i64>,
    start_delay: u64,
    billed_seconds: u64,
}

/// Shortest billed time per task launch.
pub const MIN_BILLED_SECONDS: u64 = 60;

impl Tasks {
    /// `n` tasks that are already running at time `t`.
    pub fn warm(n: u32, t: u64, start_delay: u64) -> Self {
        let launched = t as i64 - start_delay as i64;
        Tasks {
            launches: std::iter::repeat_n(launched, n as usize).collect(),
            start_delay,
            billed_seconds: 0,
        }
    }

    pub fn desired(&self) -> u32 {
        self.launches.len() as u32
    }

    /// Launches or stops tasks at `t` so that `n` exist.
    pub fn set_desired(&mut self, t: u64, n: u32) {
        let n = n as usize;
        while self.launches.len() < n {
            self.launches.push_back(t as i64);
        }
        while self.launches.len() > n {
            let launched = self.launches.pop_back().expect("more tasks than wanted");
            self.bill(launched, t);
        }
    }

    /// Tasks that finished starting by `t`.
    pub fn running(&self, t: u64) -> u32 {
        self.launches.partition_point(|&l| l + self.start_delay as i64 <= t as i64) as u32
    }

    /// Bills every task still alive at `t` and returns the total billed seconds.
    pub fn finish(mut self, t: u64) -> u64 {
        self.set_desired(t, 0);
        self.billed_seconds
    }

    fn bill(&mut self, launched: i64, stopped: u64) {
        self.billed_seconds += match u64::try_from(launched) {
            Ok(l) => stopped.saturating_sub(l).max(MIN_BILLED_SECONDS),
            // Running before the simulation began: billed from its start, no minimum.
            Err(_) => stopped,
        };
    }
}

/// The world of the unit tests: C = 70 at 70% (so 100 per task at full CPU), 60 s delays.
#[cfg(test)]
pub(crate) fn test_params() -> WorldParams {
    WorldParams {
        capacity: 70.0,
        target_utilization: 0.7,
        start_delay: 60,
        metric_delay: 60,
        base_latency_ms: 50.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> WorldParams {
        test_params()
    }

    #[test]
    fn demand_is_tasks_at_the_target_utilization_and_at_least_one() {
        let p = params();
        assert_eq!(p.full_capacity(), 100.0);
        let cases = [(0.0, 1), (70.0, 1), (70.1, 2), (140.0, 2), (700.0, 10)];
        for (load, want) in cases {
            assert_eq!(p.demand(load), want, "load {load}");
        }
    }

    #[test]
    fn metric_model_matches_its_documentation() {
        let p = params();
        let half = p.observe(100.0, 2).unwrap(); // u = 0.5
        assert_eq!(
            (half.cpu_pct, half.memory_pct, half.latency_ms, half.error_pct),
            (50.0, 40.0, 100.0, 0.0)
        );
        let over = p.observe(400.0, 2).unwrap(); // u = 2
        assert_eq!((over.cpu_pct, over.error_pct, over.requests_per_task), (100.0, 50.0, 200.0));
        assert!((over.latency_ms - 5000.0).abs() < 1e-9);
        assert_eq!(p.observe(100.0, 0), None);
    }

    #[test]
    fn tasks_start_late_stop_at_once_and_bill_with_a_minimum() {
        let mut tasks = Tasks::warm(2, 0, 60);
        assert_eq!(tasks.running(0), 2);
        tasks.set_desired(100, 4);
        assert_eq!((tasks.running(159), tasks.running(160)), (2, 4));
        // Scale-in at 130 stops the two still starting (30 s each, billed 60 s each).
        tasks.set_desired(130, 2);
        assert_eq!(tasks.running(200), 2);
        // The warm tasks are billed from the start of the simulation to 1000: 2 × 1000 s.
        assert_eq!(tasks.finish(1000), 2 * 1000 + 2 * 60);
    }
}
