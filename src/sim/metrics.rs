//! Elasticity metrics of the SPEC Research Group (as in the BUNGEE benchmark), over demand `d`
//! and supply `s` (running tasks) sampled every `Δt` over a span `T`:
//!
//! - under-provisioning accuracy θ_U = 100/T · Σ max(d − s, 0)/d · Δt (how short, on average, in %)
//! - over-provisioning accuracy θ_O = 100/T · Σ max(s − d, 0)/d · Δt
//! - timeshares τ_U, τ_O: % of time with s < d, s > d
//! - instability: % of step transitions in which supply and demand move in opposite directions
//! - scaling actions, billed task-hours (per-second billing, one-minute minimum per task), and
//!   SLO-style: minutes in which the load exceeded the running tasks' full capacity (> 100% CPU);
//! - the time-weighted mean CPU of the running tasks (steps with no task running left out), the
//!   figure an AWS target-tracking user compares with their target.

use serde::Serialize;

use super::timeline::Timeline;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Elasticity {
    pub theta_u: f64,
    pub theta_o: f64,
    pub tau_u: f64,
    pub tau_o: f64,
    pub instability: f64,
    pub actions: usize,
    pub task_hours: f64,
    pub overload_minutes: f64,
    pub hours: f64,
    /// Mean CPU % of the running tasks over the steps when some ran (`None`: never any).
    pub mean_cpu: Option<f64>,
}

/// Measures a run; `full_capacity` is the load one task serves at 100% CPU.
pub fn measure(t: &Timeline, billed_seconds: u64, full_capacity: f64) -> Elasticity {
    let n = t.rows.len().max(1) as f64;
    let mut sums = [0.0f64; 5]; // θ_U, θ_O, τ_U, τ_O, overloaded steps
    for r in &t.rows {
        let (d, s) = (f64::from(r.demand), f64::from(r.running));
        sums[0] += (d - s).max(0.0) / d;
        sums[1] += (s - d).max(0.0) / d;
        sums[2] += f64::from(u8::from(s < d));
        sums[3] += f64::from(u8::from(s > d));
        sums[4] += f64::from(u8::from(r.load > s * full_capacity));
    }
    let pct = |x: f64| 100.0 * x / n;
    Elasticity {
        theta_u: pct(sums[0]),
        theta_o: pct(sums[1]),
        tau_u: pct(sums[2]),
        tau_o: pct(sums[3]),
        instability: instability(t),
        actions: t.events.len(),
        task_hours: billed_seconds as f64 / 3600.0,
        overload_minutes: sums[4] * t.step as f64 / 60.0,
        hours: t.rows.len() as f64 * t.step as f64 / 3600.0,
        mean_cpu: mean_cpu(t),
    }
}

/// Mean of the running tasks' CPU % over the steps when at least one task ran.
fn mean_cpu(t: &Timeline) -> Option<f64> {
    let (sum, n) =
        t.rows.iter().filter(|r| r.running > 0).fold((0.0, 0u64), |(s, n), r| (s + r.cpu_pct, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// % of transitions between consecutive steps where one of supply and demand rises while the
/// other falls.
fn instability(t: &Timeline) -> f64 {
    let transitions = t.rows.len().saturating_sub(1);
    if transitions == 0 {
        return 0.0;
    }
    let opposite = t
        .rows
        .windows(2)
        .filter(|w| {
            let ds = w[1].running.cmp(&w[0].running) as i8;
            let dd = w[1].demand.cmp(&w[0].demand) as i8;
            ds * dd < 0
        })
        .count();
    100.0 * opposite as f64 / transitions as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::timeline::{Event, Row};

    /// A timeline from (demand, running) pairs, one per 60 s step, load = demand × 10.
    fn curve(pairs: &[(u32, u32)]) -> Timeline {
        let rows = pairs
            .iter()
            .enumerate()
            .map(|(i, &(demand, running))| Row {
                t: 60 * i as u64,
                load: f64::from(demand) * 10.0,
                demand,
                desired: running,
                running,
                cpu_pct: 50.0 * f64::from(i as u32 % 2),
            })
            .collect();
        Timeline { step: 60, rows, events: vec![] }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn accuracy_and_timeshare_on_a_hand_computed_curve() {
        // d: 2 2 4 4, s: 2 3 2 4 → under: 0 0 2/4 0, over: 0 1/2 0 0.
        let m = measure(&curve(&[(2, 2), (2, 3), (4, 2), (4, 4)]), 0, 10.0);
        assert!(close(m.theta_u, 100.0 * 0.5 / 4.0), "{}", m.theta_u);
        assert!(close(m.theta_o, 100.0 * 0.5 / 4.0), "{}", m.theta_o);
        assert!(close(m.tau_u, 25.0) && close(m.tau_o, 25.0));
        assert!(close(m.hours, 4.0 / 60.0));
        // cpu 0, 50, 0, 50 over four running steps.
        assert_eq!(m.mean_cpu, Some(25.0));
    }

    #[test]
    fn mean_cpu_leaves_out_steps_with_no_task_running() {
        let mut t = curve(&[(1, 1), (1, 0), (1, 1), (1, 0)]);
        t.rows[2].cpu_pct = 80.0;
        assert_eq!(measure(&t, 0, 10.0).mean_cpu, Some(40.0));
        let none = curve(&[(1, 0), (1, 0)]);
        assert_eq!(measure(&none, 0, 10.0).mean_cpu, None);
    }

    #[test]
    fn instability_counts_only_opposite_moves() {
        // transitions: d↑ s↓ (opposite), d= s↑ (no), d↓ s↑ (opposite), d↑ s↑ (no)
        let m = measure(&curve(&[(2, 3), (3, 2), (3, 3), (2, 4), (3, 5)]), 0, 10.0);
        assert!(close(m.instability, 50.0), "{}", m.instability);
    }

    #[test]
    fn overload_minutes_task_hours_and_actions() {
        // load = 10 × demand; full capacity 15 per task: (4 demand → 40 load) on 2 tasks = 30 < 40.
        let mut t = curve(&[(1, 1), (4, 2), (4, 3), (1, 1)]);
        t.events.push(Event { t: 60, from: 1, to: 2, reason: "x".into() });
        let m = measure(&t, 7200, 15.0);
        assert!(close(m.overload_minutes, 1.0), "{}", m.overload_minutes);
        assert!(close(m.task_hours, 2.0));
        assert_eq!(m.actions, 1);
    }

    #[test]
    fn a_perfect_supply_scores_zero_everywhere() {
        let m = measure(&curve(&[(1, 1), (3, 3), (5, 5), (2, 2)]), 0, 100.0);
        assert_eq!((m.theta_u, m.theta_o, m.tau_u, m.tau_o, m.instability), (0.0, 0.0, 0.0, 0.0, 0.0));
    }
}
