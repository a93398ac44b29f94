//! `[scaling]` and `[[scaling.metrics]]`, merged over the template: a key the user writes wins;
//! a key the user leaves out comes from the template; `metrics`, when given, replace the
//! template's list whole.

use std::collections::HashSet;

use super::{Keys, schedule};
use crate::config::error::Problems;
use crate::config::model::{MetricSource, ScalingConfig, SourceKind};
use crate::config::raw::{RawMetric, RawScaling, RawSchedule};
use crate::core::{Bounds, MetricKind, MetricSpec, OnMissingData, Policy, Thresholds};

const KINDS: &[&str] =
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
    p: &mut Problems,
) -> Option<ScalingConfig> {
    let m = merge(user, template);
    let mut k = Keys { path: "scaling".into(), p };
    let bounds = bounds(&mut k, &m);
    let thresholds = thresholds(&mut k, &m);
    let scale_out_cooldown = k.duration("scale_out_cooldown", m.scale_out_cooldown.as_deref(), "60s");
    let scale_in_cooldown = k.duration("scale_in_cooldown", m.scale_in_cooldown.as_deref(), "300s");
    let scale_in_stabilization =
        k.duration("scale_in_stabilization", m.scale_in_stabilization.as_deref(), "300s");
    let max_metric_age = k.positive_duration("max_metric_age", m.max_metric_age.as_deref(), "180s");
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
    let windows = schedule::windows(schedules, bounds, k.p);
    let (metrics, sources): (Vec<_>, Vec<_>) = metrics?.into_iter().unzip();
    let policy = Policy {
        bounds: bounds?,
        thresholds: thresholds?,
        scale_out_cooldown: nonnegative(&mut k, "scale_out_cooldown", scale_out_cooldown?)?,
        scale_in_cooldown: nonnegative(&mut k, "scale_in_cooldown", scale_in_cooldown?)?,
        scale_in_stabilization: nonnegative(&mut k, "scale_in_stabilization", scale_in_stabilization?)?,
        max_scale_out_step: max_scale_out_step?,
        max_scale_in_step: max_scale_in_step?,
        on_missing_data: on_missing_data?,
        max_metric_age: max_metric_age?,
        metrics,
        schedules: windows?,
    };
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
        scale_out_cooldown: u.scale_out_cooldown.or(t.scale_out_cooldown.clone()),
        scale_in_cooldown: u.scale_in_cooldown.or(t.scale_in_cooldown.clone()),
        scale_in_stabilization: u.scale_in_stabilization.or(t.scale_in_stabilization.clone()),
        max_scale_out_step: u.max_scale_out_step.or(t.max_scale_out_step),
        max_scale_in_step: u.max_scale_in_step.or(t.max_scale_in_step),
        on_missing_data: u.on_missing_data.or(t.on_missing_data.clone()),
        max_metric_age: u.max_metric_age.or(t.max_metric_age.clone()),
        metrics: u.metrics.or(t.metrics.clone()),
    }
}

fn nonnegative(k: &mut Keys<'_>, key: &str, d: chrono::TimeDelta) -> Option<chrono::TimeDelta> {
    (d >= chrono::TimeDelta::zero()).then_some(d).or_else(|| {
        k.problem(key, "must not be negative");
        None
    })
}

fn bounds(k: &mut Keys<'_>, m: &RawScaling) -> Option<Bounds> {
    let min = k.count("min", m.min, 1, 0);
    let max = k.count("max", m.max, 10, 1);
    let (min, max) = (min?, max?);
    Bounds::new(min, max).or_else(|| {
        k.problem("min", format!("min ({min}) must not exceed max ({max})"));
        None
    })
}

fn thresholds(k: &mut Keys<'_>, m: &RawScaling) -> Option<Thresholds> {
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
        k.problem(
            "scale_in_threshold",
            format!("scale_in_threshold ({inn}) must be below scale_out_threshold ({out})"),
        );
        return None;
    }
    let setpoint = m.setpoint.unwrap_or((inn + out) / 2.0);
    if !(setpoint > inn && setpoint < out) {
        k.problem("setpoint", format!("must lie strictly between scale_in_threshold ({inn}) and scale_out_threshold ({out}), got {setpoint}"));
        return None;
    }
    Some(Thresholds { scale_in: inn, scale_out: out, setpoint })
}

fn metrics(k: &mut Keys<'_>, raw: &[Option<RawMetric>]) -> Option<Vec<(MetricSpec, MetricSource)>> {
    if raw.is_empty() {
        k.problem("metrics", "at least one [[scaling.metrics]] entry is needed");
        return None;
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut ok = true;
    for (i, r) in raw.iter().enumerate() {
        let Some(r) = r else {
            ok = false;
            continue;
        };
        let mut mk = Keys { path: format!("scaling.metrics[{i}]"), p: &mut *k.p };
        match metric(&mut mk, r) {
            Some((spec, _)) if !seen.insert(spec.name.clone()) => {
                mk.problem("name", format!("duplicate metric name {:?}", spec.name));
                ok = false;
            }
            Some(pair) => out.push(pair),
            None => ok = false,
        }
    }
    if ok && out.iter().all(|(m, _)| m.weight == 0.0) {
        k.problem("metrics", "all weights are 0; at least one metric needs a positive weight");
        return None;
    }
    ok.then_some(out)
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
    if !(weight.is_finite() && weight >= 0.0) {
        k.problem("weight", format!("must be a number >= 0, got {weight}"));
    }
    let target = k.required("target", &r.target).filter(|t| {
        let ok = t.is_finite() && *t > 0.0;
        if !ok {
            k.p.push(format!("{}.target", k.path), format!("must be a number > 0, got {t}"));
        }
        ok
    });
    let name = name?;
    let spec = MetricSpec {
        name: name.clone(),
        kind: kind?,
        weight: (weight.is_finite() && weight >= 0.0).then_some(weight)?,
        target: target?,
    };
    Some((spec, MetricSource { name, source: source? }))
}
