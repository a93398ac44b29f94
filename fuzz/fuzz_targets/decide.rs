//! `core::decide` on any policy (within what config validation allows), observation, history and
//! clock: never a panic, and the rules the decision model promises (`core::decide`'s essay) hold
//! for every input, not just the ones the proptests draw:
//!
//! - the desired count is within the bounds in force (the policy's under an override);
//! - an active override gets exactly its count, held to the policy's bounds;
//! - with a weighted metric missing, stale or invalid the count never goes down, unless
//!   `on_missing_data = "use-available"`, a lowered maximum or a schedule pin forces it;
//! - an ECS deployment in progress never sees a scale-in (same exceptions);
//! - the budget never lifts the count above what it affords, the current count or the minimum;
//! - no change of direction inside a cooldown, unless the bounds force the move;
//! - the steps chain from the current count to the desired one.
#![no_main]

use arbitrary::Unstructured;
use chrono::{DateTime, TimeDelta, Utc};
use libfuzzer_sys::fuzz_target;
use trimtab::core::{OnMissingData, Replicas, decide};
use trimtab_fuzz::decide_input::{Case, case};
use trimtab_fuzz::known::guard;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = case(&mut Unstructured::new(data)) else { return };
    guard(|| check(&c));
});

fn check(c: &Case) {
    let Case { policy, obs, history, now } = c;
    let d = decide(policy, obs, history, *now);
    let current = obs.current;
    let why = || format!("{:?} {} → {}: {}\n{c:#?}", d.reason, current, d.desired, d.message);

    assert_eq!(d.current, current);
    assert_eq!(d.steps.first().map(|s| s.from), Some(current), "{}", why());
    assert!(d.steps.windows(2).all(|w| w[0].to == w[1].from), "steps chain: {:?}", d.steps);
    assert_eq!(d.steps.last().map(|s| s.to), Some(d.desired), "{}", why());

    let overridden = obs.manual_override.as_ref().filter(|o| o.is_active(*now));
    if let Some(o) = overridden {
        assert_eq!(d.desired, policy.bounds.clamp(o.count), "override: {}", why());
        return;
    }
    let bounds = d.bounds.bounds;
    assert!(bounds.contains(d.desired), "outside {bounds}: {}", why());
    if d.bounds.pinned.is_some() {
        return;
    }
    let floor = current.min(bounds.max());
    if !d.score.unusable().is_empty() && policy.on_missing_data != OnMissingData::UseAvailable {
        assert!(d.desired >= floor, "scale-in on missing data: {}", why());
    }
    if obs.deployment_in_progress {
        assert!(d.desired >= floor, "scale-in during a deployment: {}", why());
    }
    if let Some(cap) = obs.budget_cap {
        assert!(d.desired <= cap.max(current).max(bounds.min()), "above the budget: {}", why());
    }
    cooldown(c, d.desired, bounds.clamp(current), &why);
    let mut remembered = history.clone();
    d.remember(&mut remembered, policy);
}

/// No change of direction inside a cooldown (bounds may force a move at any time): scale-out
/// waits `scale_out_cooldown` after a scale-out; scale-in waits `scale_in_cooldown` after a
/// scale-in and the longer of both after a scale-out.
fn cooldown(c: &Case, desired: Replicas, bounded: Replicas, why: &dyn Fn() -> String) {
    let Case { policy, obs, history, now } = c;
    if desired == bounded {
        return;
    }
    let inside = |last: Option<DateTime<Utc>>, cd: TimeDelta| {
        last.is_some_and(|t| t.checked_add_signed(cd).is_none_or(|end| *now < end))
    };
    let (out_cd, in_cd) = (policy.scale_out_cooldown, policy.scale_in_cooldown);
    if inside(history.last_scale_out(), out_cd) {
        assert!(desired <= obs.current, "scale-out inside the scale-out cooldown: {}", why());
    }
    if inside(history.last_scale_out(), out_cd.max(in_cd)) || inside(history.last_scale_in(), in_cd) {
        assert!(desired >= obs.current, "scale-in inside a cooldown: {}", why());
    }
}
