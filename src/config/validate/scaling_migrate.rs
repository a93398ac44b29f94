//! The band keys before issue 13 (`scale_out_threshold`, `scale_in_threshold`, `setpoint`,
//! `drift_tolerance`) measured a score where 1.0 meant "fully loaded", so `target = 70` with a
//! setpoint of 0.65 held CPU near 45%. Targets are now hold points. A config that still writes
//! the old keys is refused, with the keys and targets that keep its old behaviour and the one
//! change that makes its targets mean what AWS target tracking means.

use super::Keys;
use crate::config::raw::RawScaling;

/// An old template's band, as shipped before issue 13, so a config that leaned on one is
/// translated exactly.
struct OldBand {
    template: &'static str,
    out: f64,
    inn: f64,
    setpoint: Option<f64>,
    drift: Option<f64>,
}

const fn band(template: &'static str, out: f64, inn: f64) -> OldBand {
    OldBand { template, out, inn, setpoint: None, drift: None }
}

const OLD_TEMPLATES: &[OldBand] = &[
    OldBand { setpoint: Some(0.65), drift: Some(0.10), ..band("web-balanced", 0.70, 0.30) },
    band("web-aggressive", 0.60, 0.40),
    band("api-performance", 0.60, 0.40),
    band("batch-cost-optimized", 0.80, 0.20),
    band("ml-gpu", 0.75, 0.25),
    band("dev-minimal", 0.90, 0.10),
];

const OLD_KEYS: [&str; 4] = ["scale_out_threshold", "scale_in_threshold", "setpoint", "drift_tolerance"];

/// Reports the old keys the user wrote, if any; `true` when there were some.
pub(super) fn old_band(k: &mut Keys<'_>, user: &RawScaling, merged: &RawScaling) -> bool {
    let written: Vec<&str> = OLD_KEYS
        .into_iter()
        .zip([user.scale_out_threshold, user.scale_in_threshold, user.setpoint, user.drift_tolerance])
        .filter_map(|(key, v)| v.map(|_| key))
        .collect();
    let Some(first) = written.first() else { return false };
    k.problem(first, advice(user, merged));
    for key in &written[1..] {
        let see = k.at(first);
        k.problem(key, format!("gone with the old score scale; see {see}"));
    }
    true
}

fn advice(user: &RawScaling, merged: &RawScaling) -> String {
    let template = user.template.as_deref().unwrap_or(crate::config::templates::DEFAULT);
    let old = OLD_TEMPLATES.iter().find(|t| t.template == template);
    let out = user.scale_out_threshold.or(old.map(|t| t.out)).unwrap_or(0.70);
    let inn = user.scale_in_threshold.or(old.map(|t| t.inn)).unwrap_or(0.30);
    let setpoint = user.setpoint.or(old.and_then(|t| t.setpoint)).unwrap_or((inn + out) / 2.0);
    let drift = user.drift_tolerance.or(old.and_then(|t| t.drift));
    let in_below = drift.map_or(inn, |d| inn.max(setpoint * (1.0 - d)));
    let targets = match (&user.metrics, &merged.metrics) {
        (Some(_), Some(list)) => {
            let each: Vec<String> = list
                .iter()
                .flatten()
                .filter_map(|m| {
                    Some(format!("{} {} → {}", m.name.as_deref()?, m.target?, round(m.target? * setpoint)))
                })
                .collect();
            format!(" and multiply every target by {} ({})", round(setpoint), each.join(", "))
        }
        _ => format!(" (the {template} template's metrics now state hold-point targets themselves)"),
    };
    format!(
        "thresholds are now ratios to each metric's target (1.0 = on target, where trimtab holds it), so \
         scale_out_threshold, scale_in_threshold, setpoint and drift_tolerance are gone. To keep this policy's \
         behaviour write scale_out_tolerance = {} and scale_in_tolerance = {}{targets}. To hold each metric at \
         the target you wrote, as AWS target tracking does, delete these keys (the default tolerance is 10% either side)",
        round(out / setpoint - 1.0).max(0.0),
        round(1.0 - in_below / setpoint).clamp(0.0, 0.99),
    )
}

/// Two decimals for a tolerance, three significant places for a target.
fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
