//! A policy, observation, history and `now` for `core::decide`, read from fuzz bytes.
//!
//! Policies keep the invariants config validation guarantees and the core trusts (see
//! `core::policy`): weights in `[0, 1e6]` and not all zero, targets finite and positive,
//! activations finite, non-negative and below a utilization target, `scale_in` in `(0, 1]`,
//! `scale_out` in `[1, 11]`, steps at least one, `min <= max`. Everything the world supplies
//! (samples, ages, the current count, overrides, budget caps, history, the clock) is unconstrained
//! within what the types can hold, extremes included.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use arbitrary::{Result, Unstructured};
use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use trimtab::core::policy::TargetType;
use trimtab::core::schedule::CronExpr;
use trimtab::core::{
    Bounds, History, ManualOverride, MetricSpec, Observation, OnMissingData, Policy, Replicas, Sample,
    ScheduleWindow, Thresholds, WindowTime,
};

/// One call's inputs.
#[derive(Debug)]
pub struct Case {
    pub policy: Policy,
    pub obs: Observation,
    pub history: History,
    pub now: DateTime<Utc>,
}

const NAMES: [&str; 4] = ["cpu", "memory", "latency_p95_ms", "backlog"];

/// Config validation's largest weight (`config::validate::scaling::MAX_WEIGHT`).
const MAX_WEIGHT: f64 = 1e6;

/// Reads a case; `Err` when the bytes run out in a way that leaves no usable case.
pub fn case(u: &mut Unstructured<'_>) -> Result<Case> {
    let now = base() + TimeDelta::seconds(u.int_in_range(-315_360_000..=315_360_000)?);
    let policy = policy(u, now)?;
    let obs = observation(u, &policy, now)?;
    let history = history(u, &policy, now)?;
    Ok(Case { policy, obs, history, now })
}

/// 2027-01-17T08:00:00Z, a Sunday, the base the core's own tests use.
fn base() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("a valid instant")
}

fn policy(u: &mut Unstructured<'_>, now: DateTime<Utc>) -> Result<Policy> {
    let (min, max) = (count(u)?, count(u)?);
    let bounds = Bounds::new(min.min(max), min.max(max)).expect("min <= max");
    let mut metrics = Vec::new();
    for name in NAMES.iter().take(u.int_in_range(1..=NAMES.len())?) {
        metrics.push(metric(u, name)?);
    }
    if metrics.iter().all(|m| m.weight == 0.0) {
        metrics[0].weight = 1.0;
    }
    let schedules = (0..u.int_in_range(0..=2)?).map(|i| window(u, i, now)).collect::<Result<_>>()?;
    Ok(Policy {
        bounds,
        thresholds: Thresholds { scale_in: 1.0 - fraction(u)? * 0.999, scale_out: 1.0 + fraction(u)? * 10.0 },
        scale_out_cooldown: duration(u)?,
        scale_in_cooldown: duration(u)?,
        scale_in_stabilization: duration(u)?,
        max_scale_out_step: count(u)?.max(1),
        max_scale_in_step: count(u)?.max(1),
        on_missing_data: *u.choose(&[
            OnMissingData::Hold,
            OnMissingData::UseAvailable,
            OnMissingData::ScaleOut,
        ])?,
        max_metric_age: duration(u)?,
        metrics,
        schedules,
        lookahead: if u.arbitrary()? { Some(duration(u)?) } else { None },
        trend_window: duration(u)?,
    })
}

fn metric(u: &mut Unstructured<'_>, name: &str) -> Result<MetricSpec> {
    let target_type = if u.arbitrary()? { TargetType::AverageValue } else { TargetType::Utilization };
    let target = positive(u)?;
    let activation = match u.int_in_range(0..=2)? {
        0 => 0.0,
        // Below the target, as validation requires of a utilization.
        1 => target * fraction(u)? * 0.999,
        _ if target_type == TargetType::AverageValue => positive(u)?,
        _ => 0.0,
    };
    let weight = match u.int_in_range(0..=3)? {
        0 => 0.0,
        1 => 1.0,
        2 => fraction(u)? * MAX_WEIGHT,
        _ => positive(u)?.min(MAX_WEIGHT),
    };
    Ok(MetricSpec { target_type, activation, ..MetricSpec::utilization(name, weight, target) })
}

fn window(u: &mut Unstructured<'_>, i: usize, now: DateTime<Utc>) -> Result<ScheduleWindow> {
    let time = if u.arbitrary()? {
        WindowTime::At(now + TimeDelta::seconds(u.int_in_range(-864_000..=864_000)?))
    } else {
        WindowTime::Cron(Box::new(u.choose(crons())?.clone()))
    };
    let option = |u: &mut Unstructured<'_>| -> Result<Option<u32>> {
        if u.arbitrary()? { Ok(Some(count(u)?)) } else { Ok(None) }
    };
    Ok(ScheduleWindow {
        name: format!("w{i}"),
        time,
        duration: duration(u)?,
        tz: *u.choose(&[Tz::UTC, Tz::Europe__Berlin, Tz::America__New_York, Tz::Australia__Lord_Howe])?,
        min: option(u)?,
        max: option(u)?,
        desired: option(u)?,
        priority: u.int_in_range(-2..=2)?,
    })
}

/// A few cron expressions of both dialects, parsed once.
fn crons() -> &'static [CronExpr] {
    static CRONS: OnceLock<Vec<CronExpr>> = OnceLock::new();
    CRONS.get_or_init(|| {
        ["0 8 * * MON-FRI", "*/20 2 * * *", "cron(0 18 ? * MON-FRI *)", "30 2 * * SUN"]
            .iter()
            .map(|c| CronExpr::parse(c).expect("a valid cron expression"))
            .collect()
    })
}

fn observation(u: &mut Unstructured<'_>, policy: &Policy, now: DateTime<Utc>) -> Result<Observation> {
    let mut samples = BTreeMap::new();
    for m in &policy.metrics {
        if u.arbitrary()? {
            let at = now - TimeDelta::seconds(seconds(u)?);
            samples.insert(m.name.clone(), Sample { value: reading(u, m.target)?, at });
        }
    }
    let manual_override = if u.ratio(1, 4)? {
        let expires_at = now + TimeDelta::seconds(u.int_in_range(-3600..=86_400)?);
        Some(ManualOverride { count: Replicas(count(u)?), reason: "fuzz".into(), expires_at })
    } else {
        None
    };
    Ok(Observation {
        current: Replicas(count(u)?),
        samples: samples.clone(),
        manual_override,
        budget_cap: if u.ratio(1, 4)? { Some(Replicas(count(u)?)) } else { None },
        deployment_in_progress: u.ratio(1, 4)?,
        // Some readings only a lower bound: some tasks did not answer (issue 16).
        partial: partial(u, &samples)?,
    })
}

fn partial(
    u: &mut Unstructured<'_>,
    samples: &BTreeMap<String, Sample>,
) -> Result<std::collections::BTreeSet<String>> {
    let mut out = std::collections::BTreeSet::new();
    for name in samples.keys() {
        if u.ratio(1, 4)? {
            out.insert(name.clone());
        }
    }
    Ok(out)
}

fn history(u: &mut Unstructured<'_>, policy: &Policy, now: DateTime<Utc>) -> Result<History> {
    let mut h = History::default();
    let ago = |u: &mut Unstructured<'_>| -> Result<DateTime<Utc>> {
        Ok(now - TimeDelta::seconds(u.int_in_range(-60..=7200)?))
    };
    for _ in 0..u.int_in_range(0..=2)? {
        let (at, from, to) = (ago(u)?, Replicas(count(u)?), Replicas(count(u)?));
        h.record_action(at, from, to);
    }
    let mut recs = (0..u.int_in_range(0..=6)?)
        .map(|_| Ok((ago(u)?, Replicas(count(u)?), reading(u, 1.0)?)))
        .collect::<Result<Vec<_>>>()?;
    recs.sort_by_key(|r| r.0);
    for (at, r, score) in recs {
        h.record_recommendation(at, r, policy.scale_in_stabilization);
        h.record_score(at, score, policy.trend_window);
    }
    if u.arbitrary()? {
        h.record_quiet(ago(u)?, true);
    }
    Ok(h)
}

/// A task count: small mostly, sometimes anywhere up to `u32::MAX`.
fn count(u: &mut Unstructured<'_>) -> Result<u32> {
    if u.ratio(7, 8)? { u.int_in_range(0..=50) } else { u.arbitrary() }
}

/// A duration: a usual one, zero, or an extreme one (up to `TimeDelta::MAX`).
fn duration(u: &mut Unstructured<'_>) -> Result<TimeDelta> {
    Ok(match u.int_in_range(0..=7)? {
        0 => TimeDelta::zero(),
        1 => TimeDelta::MAX,
        2 => TimeDelta::milliseconds(u.int_in_range(0..=i64::MAX)?),
        _ => TimeDelta::seconds(u.int_in_range(0..=7200)?),
    })
}

/// Seconds of age, either side of `now`, mostly near it.
fn seconds(u: &mut Unstructured<'_>) -> Result<i64> {
    if u.ratio(7, 8)? { u.int_in_range(-60..=3600) } else { u.int_in_range(-3_000_000_000..=3_000_000_000) }
}

/// A fraction in `[0, 1]`.
fn fraction(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(f64::from(u.arbitrary::<u16>()?) / f64::from(u16::MAX))
}

/// A finite positive number, from tiny to huge.
fn positive(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(match u.int_in_range(0..=3)? {
        0 => *u.choose(&[1.0, 2.0, 70.0, 100.0, 0.5])?,
        1 => 1.0 + fraction(u)? * 999.0,
        _ => {
            let v = f64::from_bits(u.arbitrary()?).abs();
            if v.is_finite() && v > 0.0 { v } else { 1.0 }
        }
    })
}

/// A metric reading around `target`: usually a sensible multiple, sometimes any float at all
/// (negative, NaN and infinite ones are invalid samples the score must reject).
fn reading(u: &mut Unstructured<'_>, target: f64) -> Result<f64> {
    Ok(match u.int_in_range(0..=4)? {
        0 => 0.0,
        1 => f64::from_bits(u.arbitrary()?),
        _ => target * fraction(u)? * 4.0,
    })
}
