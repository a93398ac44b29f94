//! `[scaling]` and `[[scaling.metrics]]`, merged over the template: a key the user writes wins;
//! a key the user leaves out comes from the template; `metrics`, when given, replace the
//! template's list whole. A controller's `[policies.NAME]` is read the same way, at its own
//! key paths ([`At`]).

use super::{At, Keys, MAX_TASKS, ONE_DAY, ONE_WEEK, Templates, schedule};
use crate::config::defaults::{metric as dm, scaling as ds};
use crate::config::error::Problems;
use crate::config::model::{MetricSource, Mode, ScalingConfig, SourceKind, SourceSpec};
use crate::config::raw::{RawMetric, RawScaling, RawSchedule};
use crate::config::templates;
use crate::core::policy::TargetType;
use crate::core::{Bounds, MetricKind, MetricSpec, OnMissingData, Policy, Thresholds};

#[path = "scaling_migrate.rs"]
mod migrate;

use dm::{KINDS, MAX_WEIGHT, MIN_WEIGHT};

/// Targets from a millionth to a trillion.
const TARGETS: (f64, f64) = (dm::MIN_TARGET, dm::MAX_TARGET);
const KIND_VALUES: &[MetricKind] = &[
    MetricKind::Cpu,
    MetricKind::Memory,
    MetricKind::Latency,
    MetricKind::ErrorRate,
    MetricKind::RequestsPerTask,
    MetricKind::PoolPressure,
    MetricKind::Custom,
];

/// The policy `user` writes at `at`, over the template it names (the default one if none), with
/// its `schedules`.
pub fn scaling(
    at: &At,
    user: &RawScaling,
    templates: &Templates,
    schedules: &[Option<RawSchedule>],
    p: &mut Problems,
) -> Option<ScalingConfig> {
    let mut k = Keys { path: at.scaling.clone(), p };
    let m = merge(user, template(&mut k, user, templates));
    let bounds = bounds(&mut k, &m, user);
    let thresholds = thresholds(&mut k, &m, user);
    let scale_out_cooldown =
        k.duration("scale_out_cooldown", m.scale_out_cooldown.as_deref(), ds::SCALE_OUT_COOLDOWN, ONE_DAY);
    let scale_in_cooldown =
        k.duration("scale_in_cooldown", m.scale_in_cooldown.as_deref(), ds::SCALE_IN_COOLDOWN, ONE_DAY);
    let scale_in_stabilization = k.duration(
        "scale_in_stabilization",
        m.scale_in_stabilization.as_deref(),
        ds::SCALE_IN_STABILIZATION,
        ONE_DAY,
    );
    let max_metric_age =
        k.positive_duration("max_metric_age", m.max_metric_age.as_deref(), ds::MAX_METRIC_AGE, ONE_WEEK);
    let lookahead = match m.lookahead.as_deref() {
        Some(text) => k.positive_duration("lookahead", Some(text), "", ONE_DAY).map(Some),
        None => Some(None),
    };
    let trend_window =
        k.positive_duration("trend_window", m.trend_window.as_deref(), ds::TREND_WINDOW, ONE_DAY);
    let max_scale_out_step =
        k.count("max_scale_out_step", m.max_scale_out_step, ds::MAX_SCALE_OUT_STEP, 1, MAX_TASKS);
    let max_scale_in_step =
        k.count("max_scale_in_step", m.max_scale_in_step, ds::MAX_SCALE_IN_STEP, 1, MAX_TASKS);
    let on_missing_data = k.one_of(
        "on_missing_data",
        m.on_missing_data.as_deref(),
        ds::ON_MISSING_DATA,
        ds::ON_MISSING_DATA_VALUES,
        &[OnMissingData::Hold, OnMissingData::UseAvailable, OnMissingData::ScaleOut],
    );
    let metrics = metrics(&mut k, m.metrics.as_deref().unwrap_or_default(), at.mode);
    let windows = schedule::windows(at, schedules, bounds, k.p);
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
    if policy.bounds.min().get() == 0 && !can_leave_zero(&policy, &sources) {
        k.problem("min", CANNOT_LEAVE_ZERO);
        return None;
    }
    let template = user.template.clone().unwrap_or_else(|| ds::TEMPLATE.to_owned());
    Some(ScalingConfig { template, policy, sources })
}

/// The template `user` builds on. An unknown name is reported, and the default template stands
/// in for it so that no follow-on errors appear.
fn template<'t>(k: &mut Keys<'_>, user: &RawScaling, shipped: &'t Templates) -> &'t RawScaling {
    let name = user.template.as_deref().unwrap_or(ds::TEMPLATE);
    shipped.get(name).unwrap_or_else(|| {
        let names = templates::names();
        let hint = crate::config::suggest::did_you_mean(name, names.iter().copied());
        k.problem(
            "template",
            format!("unknown template {name:?}; {hint}known templates: {}", names.join(", ")),
        );
        &shipped[templates::DEFAULT]
    })
}

fn merge(user: &RawScaling, t: &RawScaling) -> RawScaling {
    let u = user.clone();
    RawScaling {
        template: u.template,
        min: u.min.or(t.min),
        max: u.max.or(t.max),
        scale_out_tolerance: u.scale_out_tolerance.or(t.scale_out_tolerance),
        scale_in_tolerance: u.scale_in_tolerance.or(t.scale_in_tolerance),
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
    let min = k.count("min", m.min, ds::MIN, 0, MAX_TASKS);
    let max = k.count("max", m.max, ds::MAX, 1, MAX_TASKS);
    let (min, max) = (min?, max?);
    Bounds::new(min, max).or_else(|| {
        let key = if user.min.is_none() && user.max.is_some() { "max" } else { "min" };
        k.problem(key, format!("min ({min}) must not exceed max ({max})"));
        None
    })
}

use ds::MAX_SCALE_OUT_TOLERANCE;

/// The band around the targets. The pre-issue-13 keys (a score of 1.0 meant "fully loaded")
/// are refused with the keys and targets that keep the policy's behaviour.
fn thresholds(k: &mut Keys<'_>, m: &RawScaling, user: &RawScaling) -> Option<Thresholds> {
    if migrate::old_band(k, user, m) {
        return None;
    }
    let mut tolerance = |key: &str, v: Option<f64>, default: f64, below_one: bool| {
        let v = v.unwrap_or(default);
        let ok = v.is_finite() && v >= 0.0 && if below_one { v < 1.0 } else { v <= MAX_SCALE_OUT_TOLERANCE };
        if !ok {
            let range = if below_one {
                "from 0 to below 1".to_owned()
            } else {
                format!("from 0 to {MAX_SCALE_OUT_TOLERANCE}")
            };
            k.problem(key, format!("must be a fraction {range} (0.10 = 10% off the target), got {v}"));
        }
        ok.then_some(v)
    };
    let out = tolerance("scale_out_tolerance", m.scale_out_tolerance, ds::SCALE_OUT_TOLERANCE, false);
    let inn = tolerance("scale_in_tolerance", m.scale_in_tolerance, ds::SCALE_IN_TOLERANCE, true);
    Some(Thresholds { scale_out: 1.0 + out?, scale_in: 1.0 - inn? })
}

fn metrics(
    k: &mut Keys<'_>,
    raw: &[Option<RawMetric>],
    mode: Mode,
) -> Option<Vec<(MetricSpec, MetricSource)>> {
    let at = k.at("metrics");
    if raw.is_empty() {
        k.problem("metrics", format!("at least one [[{at}]] entry is needed"));
        return None;
    }
    let names = raw.iter().map(|r| r.as_ref().and_then(|r| r.name.as_deref()));
    super::report_duplicates(&at, "metric", names, k.p);
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let mut mk = Keys { path: format!("{at}[{i}]"), p: &mut *k.p };
        out.push(r.as_ref().and_then(|r| metric(&mut mk, r, mode)));
    }
    let out: Vec<_> = out.into_iter().collect::<Option<_>>()?;
    if out.iter().all(|(m, _): &(MetricSpec, MetricSource)| m.weight == 0.0) {
        k.problem("metrics", "all weights are 0; at least one metric needs a positive weight");
        return None;
    }
    Some(out)
}

/// One metric, read by a sidecar or a controller (`mode`).
fn metric(k: &mut Keys<'_>, r: &RawMetric, mode: Mode) -> Option<(MetricSpec, MetricSource)> {
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
    let weight = r.weight.unwrap_or(dm::WEIGHT);
    let weight_ok = weight == 0.0 || (MIN_WEIGHT..=MAX_WEIGHT).contains(&weight);
    if !weight_ok {
        k.problem(
            "weight",
            format!("must be 0 (shown, not steering) or from {MIN_WEIGHT} to {MAX_WEIGHT}, got {weight:?}"),
        );
    }
    let target = k.required("target", &r.target).filter(|t| {
        let ok = (TARGETS.0..=TARGETS.1).contains(t);
        if !ok {
            let msg = format!("must be a number from {} to {}, got {t:?}", TARGETS.0, TARGETS.1);
            k.p.push(format!("{}.target", k.path), msg);
        }
        ok
    });
    let target_type = k.one_of(
        "target_type",
        r.target_type.as_deref(),
        dm::TARGET_TYPE,
        dm::TARGET_TYPES,
        &[TargetType::Utilization, TargetType::AverageValue],
    );
    let activation = activation(k, r, target_type, target);
    let readable = source.is_none_or(|s| mode == Mode::Sidecar || controller_reads(k, r, s));
    let detail = source.and_then(|s| super::source::spec(k, r, s, kind, mode));
    if let (
        Some(TargetType::AverageValue),
        Some(s @ (SourceKind::Ecs | SourceKind::Host | SourceKind::Pools)),
    ) = (target_type, source)
    {
        let name = SourceKind::NAMES[s as usize];
        k.problem(
            "target_type",
            format!(
                "source = {name:?} reads a per-task percentage, not a fleet total: use target_type = \"utilization\" \
                 (average_value is for totals such as a queue's backlog, from cloudwatch or prometheus)"
            ),
        );
        return None;
    }
    if !readable {
        return None;
    }
    let name = name?;
    let spec = MetricSpec {
        name: name.clone(),
        kind: kind?,
        weight: weight_ok.then_some(weight)?,
        target: target?,
        target_type: target_type?,
        activation: activation?,
    };
    Some((spec, MetricSource { name, source: source?, spec: detail? }))
}

/// Whether a controller can read the metric (it reads CloudWatch only); reports it if not.
fn controller_reads(k: &mut Keys<'_>, r: &RawMetric, source: SourceKind) -> bool {
    let name = r.name.as_deref().unwrap_or_default();
    let task_scope = r.scope.as_deref() == Some("task");
    let Some((key, why)) = super::fleet::unreadable(name, source, task_scope) else { return true };
    k.problem(key, why);
    false
}

/// KEDA's activation: a non-negative value, below the target for a utilization (else a loaded
/// service would count as idle and could go to zero).
fn activation(k: &mut Keys<'_>, r: &RawMetric, tt: Option<TargetType>, target: Option<f64>) -> Option<f64> {
    let v = r.activation.unwrap_or(dm::ACTIVATION);
    if !(v.is_finite() && v >= 0.0) {
        k.problem("activation", format!("must be a number >= 0, got {v}"));
        return None;
    }
    match (tt, target) {
        (Some(TargetType::Utilization), Some(t)) if v >= t => {
            k.problem(
                "activation",
                format!("must be below the target ({t}): at or above it a loaded service would count as idle and could scale to zero"),
            );
            None
        }
        _ => Some(v),
    }
}

/// Namespaces whose metrics the service's own tasks produce: at zero tasks they have no data.
const FROM_TASKS: &[&str] = &["AWS/ECS", "ECS/ContainerInsights"];

/// Whether a metric can be read while no task of the service runs: only a CloudWatch metric
/// that the tasks do not produce (an SQS queue, a load balancer, a custom namespace).
fn readable_at_zero(s: &MetricSource) -> bool {
    matches!(&s.spec, SourceSpec::Cloudwatch(q) if !FROM_TASKS.contains(&q.namespace.as_str()))
}

/// A service allowed to reach zero tasks must be able to leave zero again: a weighted metric
/// that exists at zero tasks (its activation wakes the service), or a schedule window that
/// raises `min`. With no usable metric trimtab holds, so `on_missing_data` cannot wake it.
/// Checked for `[scaling]` and `[policies.NAME]` here, and for a controller's `trimtab:min` tag
/// in [`crate::config::fleet::policy_for`].
pub(in crate::config) fn can_leave_zero(policy: &Policy, sources: &[MetricSource]) -> bool {
    let readable = policy.metrics.iter().zip(sources).any(|(m, s)| m.weight > 0.0 && readable_at_zero(s));
    let raised = policy.schedules.iter().any(|w| w.min.unwrap_or(0) > 0 || w.desired.unwrap_or(0) > 0);
    readable || raised
}

/// Why `min = 0` is refused when [`can_leave_zero`] is false.
pub(in crate::config) const CANNOT_LEAVE_ZERO: &str = "min = 0 could never scale up again: every weighted \
    metric is read from the service's own tasks (ecs, host, prometheus, pools, or CloudWatch AWS/ECS and \
    ECS/ContainerInsights), so at zero tasks there is no data, and with no data trimtab holds. Add a weighted \
    cloudwatch metric the tasks do not produce (e.g. namespace = \"AWS/SQS\", metric = \
    \"ApproximateNumberOfMessagesVisible\", target_type = \"average_value\", activation = 0), a schedule window \
    that raises min, or use min = 1";
