//! `[scaling]` and `[[scaling.metrics]]`, merged over the template: a key the user writes wins;
//! a key the user leaves out comes from the template; `metrics`, when given, replace the
//! template's list whole.

use super::{Keys, ONE_DAY, ONE_WEEK, schedule};
use crate::config::error::Problems;
use crate::config::model::{MetricSource, ScalingConfig, SourceKind};
use crate::config::raw::{RawMetric, RawScaling, RawSchedule};
use crate::core::{Bounds, MetricKind, MetricSpec, OnMissingData, Policy, Thresholds};

/// Weights are relative; a bound keeps their sum finite.
const MAX_WEIGHT: f64 = 1e6;

pub(super) const KINDS: &[&str] =
    &["cpu", "memory", "latency", "error_rate", "requests_per_task", "pool_pressure", "custom"];
const KIND_VALUES: &[MetricKind] = &[
    MetricKind::Cpu,
    MetricKind::Memory,
    MetricKind::Latency,
    MetricKind::ErrorRate,
    MetricKind::RequestsPerTask,
    MetricKind::PoolPressure,
    MetricKind::Custom,
];

pub fn scaling(
    user: &RawScaling,
    template: &RawScaling,
    schedules: &[Option<RawSchedule>],
    now: chrono::DateTime<chrono::Utc>,
    p: &mut Problems,
) -> Option<ScalingConfig> {
    let m = merge(user, template);
    let mut k = Keys { path: "scaling".into(), p };
    let bounds = bounds(&mut k, &m, user);
    let thresholds = thresholds(&mut k, &m, user);
    let scale_out_cooldown =
        k.duration("scale_out_cooldown", m.scale_out_cooldown.as_deref(), "60s", ONE_DAY);
    let scale_in_cooldown = k.duration("scale_in_cooldown", m.scale_in_cooldown.as_deref(), "300s", ONE_DAY);
    let scale_in_stabilization =
        k.duration("scale_in_stabilization", m.scale_in_stabilization.as_deref(), "300s", ONE_DAY);
    let max_metric_age = k.positive_duration("max_metric_age", m.max_metric_age.as_deref(), "180s", ONE_WEEK);
    let lookahead = match m.lookahead.as_deref() {
        Some(text) => k.positive_duration("lookahead", Some(text), "", ONE_DAY).map(Some),
        None => Some(None),
    };
    let trend_window = k.positive_duration("trend_window", m.trend_window.as_deref(), "5m", ONE_DAY);
    let max_scale_out_step = k.count("max_scale_out_step", m.max_scale_out_step, 4, 1);
    let max_scale_in_step = k.count("max_scale_in_step", m.max_scale_in_step, 1, 1);
    let on_missing_data = k.one_of(
        "on_missing_data",
        m.on_missing_data.as_deref(),
        "hold",
        &["hold", "use-available", "scale-out"],
        &[OnMissingData::Hold, OnMissingData::UseAvailable, OnMissingData::ScaleOut],
    );
    let metrics = metrics(&mut k, m.metrics.as_deref().unwrap_or_default());
    let windows = schedule::windows(schedules, bounds, now, k.p);
    let (metrics, sources): (Vec<_>, Vec<_>) = metrics?.into_iter().unzip();
    let policy = Policy {
        bounds: bounds?,
        thresholds: thresholds?,
        scale_out_cooldown: scale_out_cooldown?,
        scale_in_cooldown: scale_in_cooldown?,
        scale_in_stabilization: scale_in_stabilization?,
        max_scale_out_step: max_scale_out_step?,
        max_scale_in_step: max_scale_in_step?,
        on_missing_data: on_missing_data?,
        max_metric_age: max_metric_age?,
        metrics,
        schedules: windows?,
        lookahead: lookahead?,
        trend_window: trend_window?,
    };
    wakes_from_zero(&mut k, &policy, &sources)?;
    let template = user.template.clone().unwrap_or_else(|| super::super::templates::DEFAULT.to_owned());
    Some(ScalingConfig { template, policy, sources })
}

fn merge(user: &RawScaling, t: &RawScaling) -> RawScaling {
    let u = user.clone();
    RawScaling {
        template: u.template,
        min: u.min.or(t.min),
        max: u.max.or(t.max),
        scale_out_threshold: u.scale_out_threshold.or(t.scale_out_threshold),
        scale_in_threshold: u.scale_in_threshold.or(t.scale_in_threshold),
        setpoint: u.setpoint.or(t.setpoint),
        drift_tolerance: u.drift_tolerance.or(t.drift_tolerance),
        scale_out_cooldown: u.scale_out_cooldown.or(t.scale_out_cooldown.clone()),
        scale_in_cooldown: u.scale_in_cooldown.or(t.scale_in_cooldown.clone()),
        scale_in_stabilization: u.scale_in_stabilization.or(t.scale_in_stabilization.clone()),
        max_scale_out_step: u.max_scale_out_step.or(t.max_scale_out_step),
        max_scale_in_step: u.max_scale_in_step.or(t.max_scale_in_step),
        on_missing_data: u.on_missing_data.or(t.on_missing_data.clone()),
        max_metric_age: u.max_metric_age.or(t.max_metric_age.clone()),
        lookahead: u.lookahead.or(t.lookahead.clone()),
        trend_window: u.trend_window.or(t.trend_window.clone()),
        metrics: u.metrics.or(t.metrics.clone()),
    }
}

fn bounds(k: &mut Keys<'_>, m: &RawScaling, user: &RawScaling) -> Option<Bounds> {
    let min = k.count("min", m.min, 1, 0);
    let max = k.count("max", m.max, 10, 1);
    let (min, max) = (min?, max?);
    Bounds::new(min, max).or_else(|| {
        let key = if user.min.is_none() && user.max.is_some() { "max" } else { "min" };
        k.problem(key, format!("min ({min}) must not exceed max ({max})"));
        None
    })
}

fn thresholds(k: &mut Keys<'_>, m: &RawScaling, user: &RawScaling) -> Option<Thresholds> {
    let mut unit = |key: &str, v: f64| {
        if v > 0.0 && v < 1.0 {
            Some(v)
        } else {
            k.problem(key, format!("must be between 0 and 1 (exclusive), got {v}"));
            None
        }
    };
    let out = unit("scale_out_threshold", m.scale_out_threshold.unwrap_or(0.70));
    let inn = unit("scale_in_threshold", m.scale_in_threshold.unwrap_or(0.30));
    let (out, inn) = (out?, inn?);
    if inn >= out {
        // Point at the threshold the user wrote; the other may come from the template.
        let key = if user.scale_in_threshold.is_none() && user.scale_out_threshold.is_some() {
            "scale_out_threshold"
        } else {
            "scale_in_threshold"
        };
        k.problem(key, format!("scale_in_threshold ({inn}) must be below scale_out_threshold ({out})"));
        return None;
    }
    let setpoint = m.setpoint.unwrap_or((inn + out) / 2.0);
    if !(setpoint > inn && setpoint < out) {
        k.problem("setpoint", format!("must lie strictly between scale_in_threshold ({inn}) and scale_out_threshold ({out}), got {setpoint}"));
        return None;
    }
    let drift_tolerance = match m.drift_tolerance {
        Some(d) if !(d > 0.0 && d < 1.0) => {
            k.problem("drift_tolerance", format!("must be between 0 and 1 (exclusive), got {d}"));
            return None;
        }
        d => d,
    };
    Some(Thresholds { scale_in: inn, scale_out: out, setpoint, drift_tolerance })
}

fn metrics(k: &mut Keys<'_>, raw: &[Option<RawMetric>]) -> Option<Vec<(MetricSpec, MetricSource)>> {
    if raw.is_empty() {
        k.problem("metrics", "at least one [[scaling.metrics]] entry is needed");
        return None;
    }
    let names = raw.iter().map(|r| r.as_ref().and_then(|r| r.name.as_deref()));
    super::report_duplicates("scaling.metrics", "metric", names, k.p);
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let mut mk = Keys { path: format!("scaling.metrics[{i}]"), p: &mut *k.p };
        out.push(r.as_ref().and_then(|r| metric(&mut mk, r)));
    }
    let out: Vec<_> = out.into_iter().collect::<Option<_>>()?;
    if out.iter().all(|(m, _): &(MetricSpec, MetricSource)| m.weight == 0.0) {
        k.problem("metrics", "all weights are 0; at least one metric needs a positive weight");
        return None;
    }
    Some(out)
}

fn metric(k: &mut Keys<'_>, r: &RawMetric) -> Option<(MetricSpec, MetricSource)> {
    let name = k.required("name", &r.name).filter(|n| {
        let ok = !n.trim().is_empty();
        if !ok {
            k.p.push(format!("{}.name", k.path), "must not be empty");
        }
        ok
    });
    let source = k.required("source", &r.source).and_then(|s| {
        let values = [
            SourceKind::Ecs,
            SourceKind::Cloudwatch,
            SourceKind::Prometheus,
            SourceKind::Host,
            SourceKind::Pools,
        ];
        k.one_of("source", Some(&s), "", SourceKind::NAMES, &values)
    });
    let inferred = name.as_deref().map(MetricKind::infer).unwrap_or(MetricKind::Custom);
    let kind = match r.kind.as_deref() {
        Some(text) => k.one_of("kind", Some(text), "", KINDS, KIND_VALUES),
        None => Some(inferred),
    };
    let weight = r.weight.unwrap_or(1.0);
    let weight_ok = (0.0..=MAX_WEIGHT).contains(&weight);
    if !weight_ok {
        k.problem("weight", format!("must be a number from 0 to {MAX_WEIGHT}, got {weight}"));
    }
    let target = k.required("target", &r.target).filter(|t| {
        let ok = t.is_finite() && *t > 0.0;
        if !ok {
            k.p.push(format!("{}.target", k.path), format!("must be a number > 0, got {t}"));
        }
        ok
    });
    let detail = source.and_then(|s| super::source::spec(k, r, s, kind));
    let name = name?;
    let spec =
        MetricSpec { name: name.clone(), kind: kind?, weight: weight_ok.then_some(weight)?, target: target? };
    Some((spec, MetricSource { name, source: source?, spec: detail? }))
}

/// A service allowed to reach zero tasks must be able to leave zero again. Metrics read from
/// running tasks (`ecs`, `host`, `prometheus`, `pools`) do not exist at zero tasks, so with
/// `hold` such a service would stay at zero for good unless a schedule window raises it.
fn wakes_from_zero(k: &mut Keys<'_>, policy: &Policy, sources: &[MetricSource]) -> Option<()> {
    let from_tasks = |s: &MetricSource| s.source != SourceKind::Cloudwatch;
    let weighted_from_tasks =
        policy.metrics.iter().zip(sources).filter(|(m, _)| m.weight > 0.0).all(|(_, s)| from_tasks(s));
    let raised = policy.schedules.iter().any(|w| w.min.unwrap_or(0) > 0 || w.desired.unwrap_or(0) > 0);
    let stuck = policy.bounds.min().get() == 0
        && policy.on_missing_data != OnMissingData::ScaleOut
        && weighted_from_tasks
        && !raised;
    if stuck {
        k.problem(
            "min",
            "min = 0 could never scale up again: every weighted metric is read from running tasks, \
             so at zero tasks there is no data and on_missing_data holds. Use min >= 1, a cloudwatch \
             metric (e.g. queue depth), on_missing_data = \"scale-out\", or a schedule window that raises min",
        );
        return None;
    }
    Some(())
}
