//! The load stage: from the score to a recommended count, with the missing-data rules and
//! activation at zero. Every later stage only guards what this one recommends.
//!
//! The rules, in the order they apply:
//!
//! 1. **At zero tasks** only a weighted metric above its activation wakes the service, to the
//!    count the score asks for (at least one). Metrics read from tasks are missing at zero by
//!    nature, so missing data neither wakes nor alarms here.
//! 2. **No usable metric at all**: hold, in every `on_missing_data` mode.
//! 3. **Above the band** (`score > scale_out`): scale out to `ceil(current × score)` on the
//!    usable metrics, whatever else is missing.
//! 4. **Something missing** and the usable metrics do not ask for more: `hold` holds (no
//!    scale-in on partial data), `scale-out` adds one task, `use-available` goes on with what
//!    is usable.
//! 5. **Below the band**: scale in, but never below the count any usable metric asks for, so
//!    no metric ends past its target. With `min = 0` and every metric at or below its
//!    activation, the recommendation is zero.
//! 6. **Inside the band**: hold.

use chrono::{DateTime, Utc};

use super::{Reason, Run, Trend};
use crate::core::history::History;
use crate::core::policy::{OnMissingData, Policy};
use crate::core::score::{Score, proportional};
use crate::core::types::Replicas;

/// The recommended count, its reason and the arithmetic behind it. `may_idle`: the bounds in
/// force allow zero tasks.
pub(super) fn stage(
    policy: &Policy,
    score: &Score,
    trend: Option<Trend>,
    current: Replicas,
    may_idle: bool,
) -> (Replicas, Reason, String) {
    if current == Replicas(0) {
        return wake(score);
    }
    let unusable = score.unusable();
    let Some(measured) = score.value else {
        return (current, Reason::MissingData, format!("{}; holding at {current}", missing_list(&unusable)));
    };
    // The trend may only raise the score: scale out before a ramp arrives, never scale in on
    // a forecast.
    let s = trend.map_or(measured, |t| measured.max(t.projected));
    let t = policy.thresholds;
    if s > t.scale_out {
        return scale_out(score, trend, current, s, measured, t.scale_out, &unusable);
    }
    if !unusable.is_empty() {
        match policy.on_missing_data {
            // Conservative: with part of the data missing a low score may only be the missing part.
            OnMissingData::Hold if s < t.scale_in => {
                let msg = format!(
                    "score {s:.3} below scale-in threshold {:.2}, but scale-in is suspended: {}",
                    t.scale_in,
                    missing_list(&unusable)
                );
                return (current, Reason::MissingData, msg);
            }
            OnMissingData::ScaleOut => {
                let msg = format!(
                    "score {s:.3} asks for no more tasks, but {}; on_missing_data = scale-out adds one task",
                    missing_list(&unusable)
                );
                return (current.saturating_add(1), Reason::MissingData, msg);
            }
            _ => {}
        }
    }
    if may_idle && score.is_quiet() {
        let msg = "every weighted metric is at or below its activation: scale to zero".to_owned();
        return (Replicas(0), Reason::ScaleIn, msg);
    }
    if s < t.scale_in {
        return scale_in(score, current, s, t.scale_in);
    }
    let note = if unusable.is_empty() { String::new() } else { format!("; {}", missing_list(&unusable)) };
    let msg = format!("score {s:.3} within tolerance band [{:.2}, {:.2}]{note}", t.scale_in, t.scale_out);
    (current, Reason::WithinTolerance, msg)
}

/// At zero tasks: wake on a metric above its activation, to what the score asks for.
fn wake(score: &Score) -> (Replicas, Reason, String) {
    let (Some(s), false) = (score.value, score.active().is_empty()) else {
        let missing = score.unusable();
        let also =
            if missing.is_empty() { String::new() } else { format!(" ({} missing)", missing.join(", ")) };
        let msg = format!("at zero tasks and no weighted metric above its activation{also}: staying at zero");
        return (Replicas(0), Reason::Activation, msg);
    };
    let to = Replicas(proportional(0, s).max(1));
    let above: Vec<String> = score
        .contributions
        .iter()
        .filter(|c| c.steers() && c.is_active())
        .map(|c| format!("{} {:.2} above its activation {:.2}", c.name, c.value.unwrap_or(0.0), c.activation))
        .collect();
    let msg = format!("wake from zero: {}; score {s:.3}, sized as for one task → {to}", above.join(", "));
    (to, Reason::ScaleOut, msg)
}

fn scale_out(
    score: &Score,
    trend: Option<Trend>,
    current: Replicas,
    s: f64,
    measured: f64,
    threshold: f64,
    unusable: &[&str],
) -> (Replicas, Reason, String) {
    let sized = Replicas(proportional(current.get(), s));
    let projected = match trend {
        Some(t) if s > measured => {
            format!(
                " (projected {}s ahead from {measured:.3}, trend {:+.3}/min)",
                t.lookahead_seconds, t.per_minute
            )
        }
        _ => String::new(),
    };
    let missing = if unusable.is_empty() {
        String::new()
    } else {
        format!("; {} missing or stale, scaling out on what is usable", unusable.join(", "))
    };
    let msg = format!(
        "score {s:.3} above scale-out threshold {threshold:.2}{}{projected}: {current} × {s:.3} → {sized}{missing}",
        saturation_note(score)
    );
    (sized.max(current), Reason::ScaleOut, msg)
}

/// Scale-in to the largest count any usable metric asks for: a scale-in that takes one metric
/// past its target is one the next tick must undo (churn, paid twice), and it is what AWS
/// Application Auto Scaling means by "scale in only if all policies agree".
fn scale_in(score: &Score, current: Replicas, s: f64, threshold: f64) -> (Replicas, Reason, String) {
    let sized = Replicas(proportional(current.get(), s));
    let sizing =
        format!("score {s:.3} below scale-in threshold {threshold:.2}: {current} × {s:.3} → {sized}");
    let busiest = score
        .contributions
        .iter()
        .filter(|c| c.steers())
        .filter_map(|c| Some((c.name.as_str(), c.normalized?, c.asks?)))
        .max_by_key(|c| c.2);
    match busiest {
        Some((name, ratio, asks)) if Replicas(asks) > sized => {
            let to = Replicas(asks).min(current);
            let guard = format!(
                "{sizing}; {name} at {ratio:.3} of its target asks for {asks}: no scale-in takes a metric past its target"
            );
            let reason = if to == current { Reason::ScaleInBlocked } else { Reason::ScaleIn };
            (to, reason, guard)
        }
        _ if sized >= current => (current, Reason::ScaleInBlocked, format!("{sizing}, the current count")),
        _ => (sized, Reason::ScaleIn, sizing),
    }
}

fn saturation_note(score: &Score) -> String {
    match (&score.saturated_by, score.weighted_mean) {
        (Some(m), Some(mean)) => format!(" ({m} at or above its target lifts the weighted mean {mean:.3})"),
        _ => String::new(),
    }
}

fn missing_list(unusable: &[&str]) -> String {
    if unusable.is_empty() {
        "no weighted metric is usable".to_owned()
    } else {
        format!("{} missing or stale", unusable.join(", "))
    }
}

/// Going to zero waits until every weighted metric has been at or below its activation for the
/// whole scale-in stabilization window, as remembered in `history` (so a restart waits a full
/// window again).
pub(super) fn to_zero(
    run: &mut Run,
    policy: &Policy,
    score: &Score,
    history: &History,
    now: DateTime<Utc>,
    may_idle: bool,
) {
    if !may_idle || run.n > Replicas(0) || run.current == Replicas(0) {
        return;
    }
    let window = policy.scale_in_stabilization;
    let quiet_for = history.quiet_since().filter(|_| score.is_quiet()).map(|t| now - t);
    if quiet_for.is_some_and(|q| q >= window) {
        return;
    }
    let msg = format!(
        "scale to zero waits until every weighted metric has been at or below its activation for {}s (quiet for {}s)",
        window.num_seconds(),
        quiet_for.map_or(0, |q| q.num_seconds())
    );
    run.set(Reason::Activation, Replicas(1), msg);
}
