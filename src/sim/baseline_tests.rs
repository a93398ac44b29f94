//! Each baseline on a hand-traced scenario: 2 tasks at exactly the target, then at t = 600 s
//! the load doubles (4 tasks needed). Metrics arrive 60 s late; tasks start in 60 s.

use chrono::{DateTime, Utc};

use super::*;
use crate::core::Bounds;
use crate::sim::engine::Simulation;
use crate::sim::trace::Trace;
use crate::sim::world::WorldParams;

fn params() -> WorldParams {
    crate::sim::world::test_params()
}

/// 60 s steps: `before` load for 10 minutes, then `after` for `minutes_after`.
fn jump(before: f64, after: f64, minutes_after: usize) -> Trace {
    let mut values = vec![before; 10];
    values.extend(std::iter::repeat_n(after, minutes_after));
    Trace { name: "jump".into(), step: 60, values, interpolate: false }
}

/// 4 tasks' worth of load (280) for 10 minutes, then 1 task's worth (70) for 30.
fn drop() -> Trace {
    Trace {
        name: "drop".into(),
        step: 60,
        values: [vec![280.0; 10], vec![70.0; 30]].concat(),
        interpolate: false,
    }
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-05T00:00:00Z").unwrap().with_timezone(&Utc)
}

fn events(trace: &Trace, c: &mut dyn Controller) -> Vec<(u64, u32, u32)> {
    let sim = Simulation::new(trace, params(), start(), Bounds::new(1, 50).unwrap(), &[c.interval()]);
    sim.run(c).timeline.events.iter().map(|e| (e.t, e.from, e.to)).collect()
}

#[test]
fn target_tracking_waits_exactly_three_breaching_minutes() {
    // Load 140 → 280 at t=600: 2 tasks at 100% CPU. The first breaching one-minute datapoint is
    // seen at 660 (60 s metric delay); the third at 780, when it scales out to
    // ceil(2 × 100 / 70) = 3.
    let e = events(&jump(140.0, 280.0, 20), &mut AwsTargetTracking::new(70.0));
    assert_eq!(e.first(), Some(&(780, 2, 3)), "{e:?}");
}

#[test]
fn target_tracking_scales_in_after_fifteen_low_minutes_and_not_in_cooldown() {
    // Load 280 → 70 at t=600 on 4 tasks: CPU 17.5% from 660 on; the 15th low datapoint is at
    // 660 + 14 × 60 = 1500 → ceil(4 × 17.5 / 70) = 1.
    let trace = drop();
    let e = events(&trace, &mut AwsTargetTracking::new(70.0));
    assert_eq!(e, vec![(1500, 4, 1)]);
}

#[test]
fn hpa_reacts_at_its_first_sync_with_the_new_metric_and_is_rate_limited() {
    // 15 s syncs. CPU 100% is first seen at 660: ceil(2 × 1.0 / 0.7) = 3. The third task runs
    // from 720, but its metric only arrives at 780 (usage 2.0 over 3 tasks counts it as 0%:
    // ratio 0.95, within tolerance). At 780 all three report 93%: ceil(2.8 / 0.7) = 4.
    let e = events(&jump(140.0, 280.0, 20), &mut K8sHpa::new(0.7));
    assert_eq!(e, vec![(660, 2, 3), (780, 3, 4)], "{e:?}");
}

#[test]
fn hpa_scale_down_waits_for_its_stabilization_window() {
    // 4 tasks, load 280 → 70 at 600 (seen at 660). Recommendations of 4 made up to 645 leave
    // the 300 s window at 945; from then the max in the window is 1.
    let trace = drop();
    let e = events(&trace, &mut K8sHpa::new(0.7));
    assert_eq!(e, vec![(945, 4, 1)]);
}

#[test]
fn step_policy_adds_one_task_then_cools_down() {
    let e = events(&jump(140.0, 280.0, 20), &mut StepPolicy::default());
    assert_eq!(&e[..2], &[(660, 2, 3), (960, 3, 4)], "{e:?}");
}

#[test]
fn oracle_starts_tasks_one_start_delay_early_and_is_never_short() {
    let trace = jump(140.0, 280.0, 20);
    let mut oracle = Oracle;
    let sim = Simulation::new(&trace, params(), start(), Bounds::new(1, 50).unwrap(), &[0]);
    let run = sim.run(&mut oracle);
    let e: Vec<_> = run.timeline.events.iter().map(|e| (e.t, e.from, e.to)).collect();
    // Up one start delay early, plus the minute it looks ahead for restarts.
    assert_eq!(e, vec![(480, 2, 4)]);
    assert!(run.timeline.rows.iter().all(|r| r.running >= r.demand));
}

#[test]
fn oracle_keeps_a_task_it_needs_again_within_the_billing_minimum() {
    // Demand 2 → 1 for 30 s → 2 (15 s steps): restarting would bill an extra minute.
    let mut values = vec![140.0; 40];
    values[20] = 70.0;
    values[21] = 70.0;
    let trace = Trace { name: "dip".into(), step: 15, values, interpolate: false };
    let sim = Simulation::new(&trace, params(), start(), Bounds::new(1, 50).unwrap(), &[0]);
    assert!(sim.run(&mut Oracle).timeline.events.is_empty());
}
