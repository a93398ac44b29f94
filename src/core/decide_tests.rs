//! Table-driven tests and properties of the decision pipeline.

use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use croner::Cron;
use proptest::prelude::*;

use super::*;
use crate::core::policy::{MetricSpec, OnMissingData, TargetType};
use crate::core::schedule::{ScheduleWindow, WindowTime};
use crate::core::types::{Bounds, ManualOverride};

fn t0() -> DateTime<Utc> {
    // A Sunday (2027-01-17T08:00:00Z), so the test schedule below is closed.
    DateTime::parse_from_rfc3339("2027-01-17T08:00:00Z").unwrap().with_timezone(&Utc)
}

fn metric(name: &str, weight: f64, target: f64) -> MetricSpec {
    MetricSpec::utilization(name, weight, target)
}

/// The foundation example's policy: 2..20, 10% either side of the targets, 60 s / 300 s
/// cooldowns, 300 s window.
fn policy() -> Policy {
    Policy {
        bounds: Bounds::new(2, 20).unwrap(),
        thresholds: Thresholds::DEFAULT,
        scale_out_cooldown: TimeDelta::seconds(60),
        scale_in_cooldown: TimeDelta::seconds(300),
        scale_in_stabilization: TimeDelta::seconds(300),
        max_scale_out_step: 4,
        max_scale_in_step: 1,
        on_missing_data: OnMissingData::Hold,
        max_metric_age: TimeDelta::seconds(120),
        metrics: vec![
            metric("cpu", 0.4, 70.0),
            metric("memory", 0.2, 80.0),
            metric("latency_p95_ms", 0.3, 500.0),
            metric("error_rate_pct", 0.1, 2.0),
        ],
        schedules: vec![],
        lookahead: None,
        trend_window: TimeDelta::seconds(300),
    }
}

/// All four metrics at the same fraction `f` of their targets.
fn obs_at(current: u32, f: f64) -> Observation {
    let p = policy();
    p.metrics.iter().fold(Observation::new(current), |o, m| o.with_sample(&m.name, m.target * f, t0()))
}

fn secs(s: i64) -> TimeDelta {
    TimeDelta::seconds(s)
}

#[test]
fn scenarios() {
    struct Case {
        name: &'static str,
        obs: Observation,
        history: History,
        want: u32,
        reason: Reason,
    }
    let scaled_out_30s_ago = {
        let mut h = History::default();
        h.record_action(t0() - secs(30), Replicas(2), Replicas(4));
        h
    };
    let scaled_in_100s_ago = {
        let mut h = History::default();
        h.record_action(t0() - secs(100), Replicas(5), Replicas(4));
        h
    };
    let busy_window = {
        let mut h = History::default();
        h.record_recommendation(t0() - secs(120), Replicas(6), secs(300));
        h
    };
    let cases = vec![
        Case {
            name: "on target holds",
            obs: obs_at(4, 1.0),
            history: History::default(),
            want: 4,
            reason: Reason::WithinTolerance,
        },
        Case {
            name: "edge of band holds",
            obs: obs_at(4, 1.09),
            history: History::default(),
            want: 4,
            reason: Reason::WithinTolerance,
        },
        Case {
            name: "proportional scale-out",
            obs: obs_at(4, 1.5),
            history: History::default(),
            want: 6,
            reason: Reason::ScaleOut,
        },
        Case {
            name: "step limit",
            obs: obs_at(4, 3.0),
            history: History::default(),
            want: 8,
            reason: Reason::StepLimit,
        },
        Case {
            name: "proportional scale-in, one step",
            obs: obs_at(10, 0.5),
            history: History::default(),
            want: 9,
            reason: Reason::StepLimit,
        },
        Case {
            name: "scale-in stops at min",
            obs: obs_at(2, 0.0),
            history: History::default(),
            want: 2,
            reason: Reason::Bounds,
        },
        Case {
            name: "scale-out cooldown holds",
            obs: obs_at(4, 1.5),
            history: scaled_out_30s_ago.clone(),
            want: 4,
            reason: Reason::ScaleOutCooldown,
        },
        Case {
            name: "scale-in after scale-out waits",
            obs: obs_at(4, 0.1),
            history: scaled_out_30s_ago,
            want: 4,
            reason: Reason::ScaleInCooldown,
        },
        Case {
            name: "scale-out allowed in scale-in cooldown",
            obs: obs_at(4, 2.0),
            history: scaled_in_100s_ago.clone(),
            want: 8,
            reason: Reason::ScaleOut,
        },
        Case {
            name: "scale-in cooldown",
            obs: obs_at(4, 0.1),
            history: scaled_in_100s_ago,
            want: 4,
            reason: Reason::ScaleInCooldown,
        },
        Case {
            name: "stabilization window holds scale-in",
            obs: obs_at(5, 0.1),
            history: busy_window,
            want: 5,
            reason: Reason::Stabilization,
        },
        Case {
            name: "below min raised",
            obs: obs_at(1, 1.0),
            history: History::default(),
            want: 2,
            reason: Reason::Bounds,
        },
        Case {
            name: "above max lowered",
            obs: obs_at(25, 1.0),
            history: History::default(),
            want: 20,
            reason: Reason::Bounds,
        },
    ];
    for c in cases {
        let d = decide(&policy(), &c.obs, &c.history, t0());
        assert_eq!((d.desired.get(), d.reason), (c.want, c.reason), "{}: {}", c.name, d.message);
    }
}

#[test]
fn foundation_example_scales_out_and_says_why() {
    // The issue's acceptance case: cpu=95 memory=40 latency=300 errors=0.5 at 4 tasks.
    let obs = Observation::new(4)
        .with_sample("cpu", 95.0, t0())
        .with_sample("memory", 40.0, t0())
        .with_sample("latency_p95_ms", 300.0, t0())
        .with_sample("error_rate_pct", 0.5, t0());
    let d = decide(&policy(), &obs, &History::default(), t0());
    assert!(d.desired > Replicas(4), "{d:?}");
    assert_eq!(d.score.saturated_by.as_deref(), Some("cpu"));
    assert_eq!(d.steps[0].stage, Reason::ScaleOut);
    assert_eq!(d.steps[0].to, Replicas(6)); // ceil(4 × 95 / 70) = ceil(5.43)
    assert_eq!((d.desired, d.reason), (Replicas(6), Reason::ScaleOut));
}

/// Issue 13, reproduction 1: CPU at 150 against a target of 70 while the app's `/metrics`
/// endpoint is down (latency and errors missing) used to hold 4 → 4 (missing_data). AAS
/// scales out when any policy asks: 4 × 150 / 70 = 8.6 → 9, as far as the step limit allows.
#[test]
fn issue_13_a_missing_metric_never_freezes_scale_out() {
    let obs = Observation::new(4).with_sample("cpu", 150.0, t0()).with_sample("memory", 95.0, t0());
    for rule in [OnMissingData::Hold, OnMissingData::ScaleOut, OnMissingData::UseAvailable] {
        let d = decide(&Policy { on_missing_data: rule, ..policy() }, &obs, &History::default(), t0());
        assert_eq!(d.steps[0].to, Replicas(9), "{rule:?}: {}", d.steps[0].message);
        assert_eq!((d.desired, d.reason), (Replicas(8), Reason::StepLimit), "{rule:?}");
        assert!(
            d.steps[0]
                .message
                .contains("latency_p95_ms, error_rate_pct missing or stale, scaling out on what is usable"),
            "{}",
            d.steps[0].message
        );
    }
}

#[test]
fn missing_data_rules() {
    let low = Observation::new(6).with_sample("cpu", 0.0, t0());
    let on_target = Observation::new(6).with_sample("cpu", 70.0, t0());
    let overloaded = Observation::new(6).with_sample("cpu", 140.0, t0());
    let stale = Observation::new(6).with_sample("cpu", 140.0, t0() - secs(600));
    let nothing = Observation::new(6);
    use OnMissingData::{Hold, ScaleOut, UseAvailable};
    // (rule, observation, want, reason)
    let cases = [
        // Low usable data never scales in while something is missing, unless the user opts in.
        (Hold, &low, 6, Reason::MissingData),
        (ScaleOut, &low, 7, Reason::MissingData),
        (UseAvailable, &low, 5, Reason::StepLimit),
        // On target: scale-out mode adds a task, the others hold.
        (Hold, &on_target, 6, Reason::WithinTolerance),
        (ScaleOut, &on_target, 7, Reason::MissingData),
        (UseAvailable, &on_target, 6, Reason::WithinTolerance),
        // Overload on what is usable scales out in every mode: ceil(6 × 2) = 12, step-limited.
        (Hold, &overloaded, 10, Reason::StepLimit),
        (ScaleOut, &overloaded, 10, Reason::StepLimit),
        (UseAvailable, &overloaded, 10, Reason::StepLimit),
        // No usable metric at all: hold, in every mode.
        (Hold, &stale, 6, Reason::MissingData),
        (ScaleOut, &stale, 6, Reason::MissingData),
        (UseAvailable, &stale, 6, Reason::MissingData),
        (ScaleOut, &nothing, 6, Reason::MissingData),
    ];
    for (rule, obs, want, reason) in cases {
        let p = Policy { on_missing_data: rule, ..policy() };
        let d = decide(&p, obs, &History::default(), t0());
        assert_eq!((d.desired.get(), d.reason), (want, reason), "{rule:?}: {}", d.message);
    }
}

#[test]
fn override_wins_until_it_expires_within_hard_bounds() {
    let mut obs = obs_at(4, 1.8);
    obs.manual_override =
        Some(ManualOverride { count: Replicas(30), reason: "load test".into(), expires_at: t0() + secs(60) });
    let d = decide(&policy(), &obs, &History::default(), t0());
    assert_eq!((d.desired, d.reason), (Replicas(20), Reason::Override));
    assert_eq!(d.steps.len(), 1, "nothing after the override moved the count");
    let later = decide(&policy(), &obs, &History::default(), t0() + secs(60));
    assert_eq!(later.steps[0].stage, Reason::ScaleOut);
}

#[test]
fn budget_cap_limits_scale_out_only() {
    let mut obs = obs_at(4, 2.0);
    obs.budget_cap = Some(Replicas(5));
    let d = decide(&policy(), &obs, &History::default(), t0());
    assert_eq!((d.desired, d.reason), (Replicas(5), Reason::BudgetCapped));
    assert!(d.message.contains("held 3 below"), "{}", d.message);
    // Already above the cap: the cap does not shrink the service.
    let mut obs = obs_at(8, 1.0);
    obs.budget_cap = Some(Replicas(5));
    assert_eq!(decide(&policy(), &obs, &History::default(), t0()).desired, Replicas(8));
    // Never below min.
    let mut obs = obs_at(1, 2.0);
    obs.budget_cap = Some(Replicas(0));
    assert_eq!(decide(&policy(), &obs, &History::default(), t0()).desired, Replicas(2));
}

fn business_hours(min: u32, max: u32, desired: Option<u32>) -> ScheduleWindow {
    ScheduleWindow {
        name: "business-hours".into(),
        time: WindowTime::Cron(Box::new(Cron::from_str("0 8 * * MON-FRI").unwrap().into())),
        duration: TimeDelta::hours(10),
        tz: chrono_tz::Europe::Berlin,
        min: Some(min),
        max: Some(max),
        desired,
        priority: 0,
    }
}

#[test]
fn schedule_raises_min_and_pins() {
    let monday_9_berlin = t0() + TimeDelta::days(1); // 2027-01-18T08:00Z = 09:00 CET
    let p = Policy { schedules: vec![business_hours(6, 30, None)], ..policy() };
    let d = decide(&p, &obs_at(2, 0.5), &History::default(), monday_9_berlin);
    assert_eq!((d.desired, d.reason), (Replicas(6), Reason::ScheduleBounds));
    // Even inside a scale-out cooldown, bounds apply.
    let mut h = History::default();
    h.record_action(monday_9_berlin - secs(10), Replicas(1), Replicas(2));
    assert_eq!(decide(&p, &obs_at(2, 0.5), &h, monday_9_berlin).desired, Replicas(6));
    // Outside the window the base bounds are back.
    assert_eq!(decide(&p, &obs_at(2, 0.5), &History::default(), t0()).desired, Replicas(2));
    let pinned = Policy { schedules: vec![business_hours(6, 30, Some(12))], ..policy() };
    let d = decide(&pinned, &obs_at(4, 0.1), &History::default(), monday_9_berlin);
    assert_eq!((d.desired, d.reason), (Replicas(12), Reason::SchedulePin));
}

#[test]
fn decision_remembers_raw_recommendation() {
    let p = policy();
    let mut h = History::default();
    let d = decide(&p, &obs_at(4, 3.0), &h, t0());
    d.remember(&mut h, &p);
    assert_eq!(h.highest_within(t0(), secs(300)), Some(Replicas(12)));
}

// ---- properties ----

fn arb_obs() -> impl Strategy<Value = Observation> {
    let sample = prop::option::of((0.0f64..300.0, 0i64..400));
    (0u32..40, prop::collection::vec(sample, 4)).prop_map(|(current, samples)| {
        let p = policy();
        let mut obs = Observation::new(current);
        for (m, s) in p.metrics.iter().zip(samples) {
            if let Some((v, age)) = s {
                obs = obs.with_sample(&m.name, m.target * v / 100.0, t0() - secs(age));
            }
        }
        obs
    })
}

fn arb_history() -> impl Strategy<Value = History> {
    (
        prop::option::of(0i64..600),
        prop::option::of(0i64..600),
        prop::collection::vec((0i64..600, 0u32..40), 0..5),
    )
        .prop_map(|(out, inn, recs)| {
            let mut h = History::default();
            if let Some(a) = inn {
                h.record_action(t0() - secs(a), Replicas(5), Replicas(4));
            }
            if let Some(a) = out {
                h.record_action(t0() - secs(a), Replicas(4), Replicas(5));
            }
            let mut recs = recs;
            recs.sort_by_key(|r| -r.0);
            for (ago, r) in recs {
                h.record_recommendation(t0() - secs(ago), Replicas(r), secs(300));
            }
            h
        })
}

fn arb_policy() -> impl Strategy<Value = Policy> {
    let cooldown = prop::sample::select(vec![0i64, 60, 300, 600]);
    (1u32..6, 0u32..10, 0u32..3, prop::bool::ANY, cooldown.clone(), cooldown).prop_map(
        |(min, span, rule, scheduled, out, inn)| {
            let rule =
                [OnMissingData::Hold, OnMissingData::UseAvailable, OnMissingData::ScaleOut][rule as usize];
            let schedules =
                if scheduled { vec![business_hours(min + 3, min + span + 8, None)] } else { vec![] };
            Policy {
                bounds: Bounds::new(min, min + span).unwrap(),
                on_missing_data: rule,
                schedules,
                scale_out_cooldown: secs(out),
                scale_in_cooldown: secs(inn),
                ..policy()
            }
        },
    )
}

/// A policy with room to move (1..40) and each missing-data mode; `use_available` says whether
/// that mode is among them.
fn arb_wide_policy(use_available: bool) -> impl Strategy<Value = Policy> {
    let rules = if use_available {
        vec![OnMissingData::Hold, OnMissingData::ScaleOut, OnMissingData::UseAvailable]
    } else {
        vec![OnMissingData::Hold, OnMissingData::ScaleOut]
    };
    (prop::sample::select(rules), 1u32..10).prop_map(|(rule, step)| Policy {
        bounds: Bounds::new(1, 40).unwrap(),
        on_missing_data: rule,
        max_scale_in_step: step,
        max_scale_out_step: step,
        ..policy()
    })
}

/// 4..40 tasks; at least one of the four metrics missing or stale, at least one usable, every
/// usable one at a ratio drawn from `ratios`.
fn arb_partial(ratios: std::ops::Range<f64>) -> impl Strategy<Value = Observation> {
    let present = prop::collection::vec(prop::bool::ANY, 4)
        .prop_filter("some present, some not", |v| v.iter().any(|p| *p) && !v.iter().all(|p| *p));
    let values = prop::collection::vec(ratios, 4);
    (4u32..40, present, values, prop::bool::ANY).prop_map(|(current, present, values, stale)| {
        let mut obs = Observation::new(current);
        for ((m, on), v) in policy().metrics.iter().zip(present).zip(values) {
            if on {
                obs = obs.with_sample(&m.name, m.target * v, t0());
            } else if stale {
                obs = obs.with_sample(&m.name, m.target * v, t0() - secs(3600));
            }
        }
        obs
    })
}

proptest! {
    #[test]
    fn result_always_within_effective_bounds(p in arb_policy(), obs in arb_obs(), h in arb_history(), hours in 0i64..(24 * 7)) {
        let now = t0() + TimeDelta::hours(hours);
        let d = decide(&p, &obs, &h, now);
        prop_assert!(d.bounds.bounds.contains(d.desired), "{:?} outside {}", d.desired, d.bounds.bounds);
    }

    #[test]
    fn never_scales_in_on_missing_data(p in arb_policy(), obs in arb_obs(), h in arb_history()) {
        let d = decide(&p, &obs, &h, t0());
        if !d.score.unusable().is_empty() && p.on_missing_data != OnMissingData::UseAvailable {
            // Only a lowered maximum may take the service below its current count.
            prop_assert!(d.desired >= obs.current.min(d.bounds.bounds.max()), "{}", d.message);
        }
    }

    /// Issue 13: the focused form of the rule above. Every case has a weighted metric missing
    /// and the usable ones low, on a service with room to shrink, so removing the guard fails
    /// at once rather than at 20,000 cases.
    #[test]
    fn low_partial_data_never_scales_in(p in arb_wide_policy(false), obs in arb_partial(0.0..0.85)) {
        let d = decide(&p, &obs, &History::default(), t0());
        prop_assert!(!d.score.unusable().is_empty());
        prop_assert!(d.desired >= obs.current, "{:?}: {}", p.on_missing_data, d.message);
    }

    /// Issue 13: a missing metric never blocks the scale-out the usable ones call for, in any
    /// `on_missing_data` mode (AAS scales out when any policy asks).
    #[test]
    fn missing_data_never_blocks_a_scale_out(p in arb_wide_policy(true), obs in arb_partial(1.2..4.0)) {
        let d = decide(&p, &obs, &History::default(), t0());
        let usable = d.score.value.expect("one usable metric");
        prop_assert!(usable > p.thresholds.scale_out);
        let wanted = crate::core::score::proportional(obs.current.get(), usable).min(40);
        let allowed = obs.current.saturating_add(p.max_scale_out_step).min(Replicas(40));
        prop_assert_eq!(d.desired, Replicas(wanted).min(allowed), "{:?}: {}", p.on_missing_data, d.message);
    }

    /// With no usable metric at all the count holds, whatever the mode.
    #[test]
    fn no_usable_metric_holds(p in arb_wide_policy(true), current in 1u32..40, h in arb_history()) {
        let d = decide(&p, &Observation::new(current), &h, t0());
        prop_assert_eq!(d.desired, Replicas(current), "{}", d.message);
    }

    #[test]
    fn no_change_of_direction_inside_a_cooldown(p in arb_policy(), obs in arb_obs(), h in arb_history()) {
        let d = decide(&p, &obs, &h, t0());
        let bounded = d.bounds.bounds.clamp(obs.current);
        // Bounds may force a move at any time; everything else respects the cooldowns.
        if d.desired != bounded {
            if let Some(last) = h.last_scale_out() {
if t0() - last < p.scale_in_cooldown.max(p.scale_out_cooldown) {
                    prop_assert!(d.desired >= obs.current, "scale-in {}s after a scale-out", (t0() - last).num_seconds());
                }
                if t0() - last < p.scale_out_cooldown {
                    prop_assert!(d.desired <= obs.current, "scale-out inside the scale-out cooldown");
                }
            }
            if let Some(last) = h.last_scale_in()
                && t0() - last < p.scale_in_cooldown
            {
                prop_assert!(d.desired >= obs.current, "second scale-in inside the scale-in cooldown");
            }
        }
    }

    #[test]
    fn decisions_are_reproducible(p in arb_policy(), obs in arb_obs(), h in arb_history()) {
        prop_assert_eq!(decide(&p, &obs, &h, t0()), decide(&p, &obs, &h, t0()));
    }
}

// ---- review findings, pinned ----

#[test]
fn no_scale_in_takes_a_metric_past_its_target() {
    // cpu and memory idle, latency just under its target: the weighted mean is low, but removing
    // tasks would put latency over its target and the next tick would scale straight back out.
    let obs = Observation::new(10)
        .with_sample("cpu", 1.0, t0())
        .with_sample("memory", 1.0, t0())
        .with_sample("latency_p95_ms", 480.0, t0())
        .with_sample("error_rate_pct", 0.0, t0());
    let d = decide(&policy(), &obs, &History::default(), t0());
    assert_eq!((d.desired, d.reason), (Replicas(10), Reason::ScaleInBlocked), "{}", d.message);
    assert!(d.message.contains("latency_p95_ms at 0.960 of its target asks for 10"), "{}", d.message);
    // With room to spare, scale-in goes only as far as keeps latency at its target.
    let p = Policy { max_scale_in_step: 10, ..policy() };
    let obs = obs.with_sample("latency_p95_ms", 200.0, t0());
    let d = decide(&p, &obs, &History::default(), t0());
    assert_eq!(d.desired, Replicas(4), "ceil(10 × 200 / 500) = 4: {}", d.message);
}

#[test]
fn sizing_that_keeps_the_count_says_so() {
    let p = Policy { bounds: Bounds::new(1, 20).unwrap(), ..policy() };
    let d = decide(&p, &obs_at(1, 0.2), &History::default(), t0());
    assert_eq!((d.desired, d.reason), (Replicas(1), Reason::ScaleInBlocked), "{}", d.message);
}

#[test]
fn scale_in_waits_out_a_longer_scale_out_cooldown() {
    let p = Policy { scale_out_cooldown: secs(600), scale_in_cooldown: secs(60), ..policy() };
    let mut h = History::default();
    h.record_action(t0() - secs(120), Replicas(3), Replicas(4));
    let d = decide(&p, &obs_at(4, 0.1), &h, t0());
    assert_eq!((d.desired, d.reason), (Replicas(4), Reason::ScaleInCooldown), "{}", d.message);
    let later = t0() + secs(481);
    let fresh =
        p.metrics.iter().fold(Observation::new(4), |o, m| o.with_sample(&m.name, m.target * 0.1, later));
    assert_eq!(decide(&p, &fresh, &h, later).desired, Replicas(3));
}

#[test]
fn override_message_shows_the_count_applied() {
    let mut obs = obs_at(4, 0.5);
    obs.manual_override =
        Some(ManualOverride { count: Replicas(50), reason: "test".into(), expires_at: t0() + secs(60) });
    let d = decide(&policy(), &obs, &History::default(), t0());
    assert!(d.message.starts_with("manual override to 20 (asked 50"), "{}", d.message);
}

#[test]
fn extreme_durations_saturate_instead_of_panicking() {
    let mut w = business_hours(3, 30, None);
    w.duration = TimeDelta::MAX;
    let p = Policy { scale_in_cooldown: TimeDelta::MAX, schedules: vec![w], ..policy() };
    let mut h = History::default();
    h.record_action(t0() - secs(10), Replicas(5), Replicas(4));
    let d = decide(&p, &obs_at(4, 0.1), &h, t0());
    assert_eq!(d.reason, Reason::ScaleInCooldown);
}

#[test]
fn a_wider_scale_in_tolerance_waits_longer_and_goes_through_the_window() {
    let wide = Policy {
        thresholds: Thresholds { scale_in: 0.80, ..Thresholds::DEFAULT },
        max_scale_in_step: 10,
        ..policy()
    };
    // 0.75 of the targets is below 0.80: ceil(10 × 0.75) = 8.
    let d = decide(&wide, &obs_at(10, 0.75), &History::default(), t0());
    assert_eq!((d.desired, d.reason), (Replicas(8), Reason::ScaleIn), "{}", d.message);
    // 0.85 is inside the wider band (but below the default one).
    assert_eq!(decide(&wide, &obs_at(10, 0.85), &History::default(), t0()).reason, Reason::WithinTolerance);
    let default = Policy { max_scale_in_step: 10, ..policy() };
    assert_eq!(decide(&default, &obs_at(10, 0.85), &History::default(), t0()).desired, Replicas(9));
    // Like any scale-in, it waits for the stabilization window.
    let mut h = History::default();
    h.record_recommendation(t0() - secs(100), Replicas(10), secs(300));
    assert_eq!(decide(&wide, &obs_at(10, 0.75), &h, t0()).reason, Reason::Stabilization);
}

#[test]
fn a_rising_trend_scales_out_before_the_threshold_and_a_falling_one_changes_nothing() {
    let p = Policy { lookahead: Some(secs(120)), ..policy() };
    // Scores rose 0.05 per minute over five minutes to 1.06 now: projected 1.16 in 2 min.
    let history = |slope: f64| {
        let mut h = History::default();
        for m in (1..=5).rev() {
            h.record_score(t0() - secs(60 * m), 1.06 - slope * m as f64, secs(300));
        }
        h
    };
    let d = decide(&p, &obs_at(10, 1.06), &history(0.05), t0());
    let trend = d.trend.expect("five minutes of scores fit a trend");
    assert!((trend.per_minute - 0.05).abs() < 1e-6 && (trend.projected - 1.16).abs() < 1e-6, "{trend:?}");
    assert_eq!((d.desired, d.reason), (Replicas(12), Reason::ScaleOut), "{}", d.message);
    assert!(d.steps[0].message.contains("projected 120s ahead from 1.060"), "{}", d.steps[0].message);
    // Without the predictive term the same load holds.
    assert_eq!(decide(&policy(), &obs_at(10, 1.06), &history(0.05), t0()).reason, Reason::WithinTolerance);
    // A falling trend never scales in by itself.
    let d = decide(&p, &obs_at(10, 0.95), &history(-0.05), t0());
    assert_eq!(d.reason, Reason::WithinTolerance, "{}", d.message);
}

#[test]
fn no_trend_is_fitted_on_too_little_history() {
    let p = Policy { lookahead: Some(secs(120)), ..policy() };
    let mut h = History::default();
    h.record_score(t0() - secs(30), 0.2, secs(300));
    h.record_score(t0() - secs(15), 0.4, secs(300));
    assert_eq!(decide(&p, &obs_at(10, 0.6), &h, t0()).trend, None);
}

#[test]
fn remember_keeps_scores_only_with_a_predictive_term() {
    let mut h = History::default();
    decide(&policy(), &obs_at(4, 0.5), &h, t0()).remember(&mut h, &policy());
    assert_eq!(h.scores_within(t0() + secs(1), secs(300)).count(), 0);
    let p = Policy { lookahead: Some(secs(60)), ..policy() };
    decide(&p, &obs_at(4, 0.5), &h, t0()).remember(&mut h, &p);
    let kept: Vec<_> = h.scores_within(t0() + secs(1), secs(300)).collect();
    assert!(kept.len() == 1 && kept[0].0 == t0() && (kept[0].1 - 0.5).abs() < 1e-9, "{kept:?}");
}

#[test]
fn a_deployment_suspends_scale_in_but_not_scale_out() {
    let mut quiet = obs_at(10, 0.1);
    quiet.deployment_in_progress = true;
    let d = decide(&policy(), &quiet, &History::default(), t0());
    assert_eq!((d.desired, d.reason), (Replicas(10), Reason::Deployment));
    assert!(d.message.contains("suspended while an ECS deployment is in progress"), "{}", d.message);
    quiet.deployment_in_progress = false;
    assert_eq!(decide(&policy(), &quiet, &History::default(), t0()).desired, Replicas(9));
    let mut busy = obs_at(4, 2.0);
    busy.deployment_in_progress = true;
    let d = decide(&policy(), &busy, &History::default(), t0());
    assert_eq!((d.desired, d.reason), (Replicas(8), Reason::ScaleOut));
}

// ---- issue 13: average values, scale to and from zero ----

/// The issue's SQS worker: a backlog target of 100 messages per task, activation 0, `min = 0`.
fn worker() -> Policy {
    let backlog = MetricSpec {
        target_type: TargetType::AverageValue,
        ..MetricSpec::utilization("backlog", 1.0, 100.0)
    };
    Policy { bounds: Bounds::new(0, 40).unwrap(), metrics: vec![backlog], ..policy() }
}

fn backlog(current: u32, total: f64, at: DateTime<Utc>) -> Observation {
    Observation::new(current).with_sample("backlog", total, at)
}

/// Issue 13, reproduction 2: a backlog of 1,000 with 100 per task at 10 tasks asked for 154.
#[test]
fn issue_13_a_fleet_total_asks_for_total_over_target() {
    let d = decide(&worker(), &backlog(10, 1000.0, t0()), &History::default(), t0());
    assert_eq!((d.desired, d.reason), (Replicas(10), Reason::WithinTolerance), "{}", d.message);
    // The same backlog at 4 tasks asks for 10 (step-limited to 8), at 30 for 10 (step -1).
    let p = Policy { max_scale_in_step: 40, max_scale_out_step: 40, ..worker() };
    for (current, want) in [(4, 10), (30, 10), (10, 10)] {
        let d = decide(&p, &backlog(current, 1000.0, t0()), &History::default(), t0());
        assert_eq!(d.desired, Replicas(want), "at {current}: {}", d.message);
    }
    let d = decide(&p, &backlog(10, 2500.0, t0()), &History::default(), t0());
    assert_eq!((d.desired, d.reason), (Replicas(25), Reason::ScaleOut), "{}", d.message);
}

#[test]
fn at_zero_tasks_only_activation_wakes_the_service() {
    let p = worker();
    // Backlog 60 at zero tasks: ceil(60 / 100) = 1.
    let d = decide(&p, &backlog(0, 60.0, t0()), &History::default(), t0());
    assert_eq!((d.desired, d.reason), (Replicas(1), Reason::ScaleOut), "{}", d.message);
    assert!(
        d.message.contains(
            "wake from zero: backlog 60.00 above its activation 0.00; score 0.600, sized as for one task → 1"
        ),
        "{}",
        d.message
    );
    // A large backlog asks for more, within the step limit.
    let d = decide(&p, &backlog(0, 1000.0, t0()), &History::default(), t0());
    assert_eq!(d.desired, Replicas(4), "{}", d.message);
    // At or below the activation it stays at zero; so it does with no data at all.
    let quiet = Policy { metrics: vec![MetricSpec { activation: 5.0, ..p.metrics[0].clone() }], ..p.clone() };
    for obs in [backlog(0, 5.0, t0()), Observation::new(0)] {
        let d = decide(&quiet, &obs, &History::default(), t0());
        assert_eq!((d.desired, d.reason), (Replicas(0), Reason::Activation), "{}", d.message);
    }
}

#[test]
fn to_zero_only_after_the_whole_window_is_quiet() {
    let p = worker();
    let mut h = History::default();
    // Idle (backlog 0) from t0 on, one tick a minute.
    for m in 0..=5 {
        let now = t0() + secs(60 * m);
        let d = decide(&p, &backlog(1, 0.0, now), &h, now);
        let want = if m < 5 { (Replicas(1), Reason::Activation) } else { (Replicas(0), Reason::ScaleIn) };
        assert_eq!((d.desired, d.reason), want, "minute {m}: {}", d.message);
        d.remember(&mut h, &p);
    }
    // One busy tick restarts the wait.
    let mut h2 = h.clone();
    let now = t0() + secs(360);
    decide(&p, &backlog(1, 50.0, now), &h2, now).remember(&mut h2, &p);
    let later = now + secs(60);
    assert_eq!(decide(&p, &backlog(1, 0.0, later), &h2, later).desired, Replicas(1));
    // A missing metric is never quiet: no scale to zero on no data.
    let d = decide(&p, &Observation::new(1), &h, t0() + secs(600));
    assert_eq!(d.desired, Replicas(1), "{}", d.message);
}

#[test]
fn with_min_above_zero_activation_changes_nothing() {
    let p = Policy { bounds: Bounds::new(2, 40).unwrap(), ..worker() };
    let d = decide(&p, &backlog(3, 0.0, t0()), &History::default(), t0());
    assert_eq!(d.desired, Replicas(2), "{}", d.message);
    assert!(d.steps.iter().all(|s| s.stage != Reason::Activation), "{:?}", d.steps);
}
