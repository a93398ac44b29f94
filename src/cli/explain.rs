//! `trimtab explain`: one decision, metric by metric and guard by guard.

use std::fmt::Write;

use anyhow::bail;
use chrono::{DateTime, TimeDelta, Utc};

use super::args::ExplainArgs;
use super::setup::load;
use super::table::Table;
use super::{UsageError, out};
use crate::config::model::{Aggregate, EcsScope, PromRead, PromTarget, SourceSpec};
use crate::core::policy::TargetType;
use crate::core::{
    self, Contribution, Decision, History, ManualOverride, MetricKind, MetricStatus, Observation, Policy,
    Reason, Replicas, Thresholds,
};

/// `trimtab explain`: decides once from the flags and shows the decision.
pub fn command(args: ExplainArgs) -> anyhow::Result<()> {
    let config = load(&args.config)?;
    let policy = &config.scaling.policy;
    let now = args.at.unwrap_or_else(Utc::now);
    let mut obs = Observation::new(args.current);
    let mut per_task = String::new();
    for (name, values) in &args.metrics {
        let Some(source) = config.scaling.sources.iter().find(|s| &s.name == name) else {
            let known: Vec<&str> = policy.metrics.iter().map(|m| m.name.as_str()).collect();
            let unknown = crate::config::suggest::unknown("metric", name, &known);
            bail!(UsageError(format!("--metric {name}: {unknown} (the metrics of {})", config.file)));
        };
        let value = match values.as_slice() {
            [one] => *one,
            many => {
                let combine = combining(&source.spec).map_err(|why| {
                    UsageError(format!("--metric {name}: {} values given, but {why}", many.len()))
                })?;
                let (value, line) = across_tasks(name, combine, many);
                per_task.push_str(&line);
                value
            }
        };
        obs = obs.with_sample(name, value, now);
    }
    obs.budget_cap = args.budget_cap.map(Replicas);
    let mut budget_line = String::new();
    if let Some(usd) = args.spent {
        let spent = core::Money::from_usd(usd)
            .filter(|_| usd >= 0.0)
            .ok_or_else(|| UsageError(format!("--spent {usd}: expected an amount of dollars ≥ 0")))?;
        let (cap, line) = super::cost::budget_for_explain(&config, now, args.current, spent)
            .map_err(|e| UsageError(format!("{}: {e}", config.file)))?;
        obs.budget_cap = cap;
        budget_line = line;
    }
    obs.deployment_in_progress = args.deployment_in_progress;
    obs.manual_override = args.override_count.map(|n| ManualOverride {
        count: Replicas(n),
        reason: "set with trimtab explain --override".into(),
        expires_at: now + TimeDelta::hours(1),
    });
    let history = history_from(&args, now, args.current);
    let decision = core::decide(policy, &obs, &history, now);
    out::emit(args.output.format, &decision, |d| format!("{budget_line}{per_task}{}", render(d, policy)))?;
    Ok(())
}

/// How the agent combines the tasks' values of a metric read from every task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Combine {
    Avg,
    Max,
    Sum,
}

fn combining(spec: &SourceSpec) -> Result<Combine, &'static str> {
    match spec {
        SourceSpec::Ecs { scope: EcsScope::Task, .. } | SourceSpec::Pools { .. } => Ok(Combine::Avg),
        SourceSpec::Prometheus(q) if matches!(q.target, PromTarget::Tasks { .. }) => match q.read {
            PromRead::Gauge(_) => Ok(match q.aggregate {
                Aggregate::Avg => Combine::Avg,
                Aggregate::Max => Combine::Max,
                Aggregate::Sum => Combine::Sum,
            }),
            PromRead::Rate(_) => Ok(Combine::Sum),
            PromRead::Ratio(..) | PromRead::Histogram { .. } => {
                Err("a ratio or a quantile is not combined from the tasks' own values (PromQL divides the \
                 summed increases, or merges the buckets): give the service-wide value")
            }
        },
        _ => Err("it is one reading for the whole service: give one value"),
    }
}

/// The tasks' values combined, and a line naming the hottest task (tasks numbered from 1 in
/// the order given).
fn across_tasks(name: &str, combine: Combine, values: &[f64]) -> (f64, String) {
    let value = match combine {
        Combine::Avg => values.iter().sum::<f64>() / values.len() as f64,
        Combine::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Combine::Sum => values.iter().sum(),
    };
    let (hot, top) =
        values.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).expect("two values at least");
    let how = format!("{combine:?}").to_lowercase();
    let line =
        format!("{name}: {} tasks, {how} {value:.3}; hottest: task {} ({top:.3})\n", values.len(), hot + 1);
    (value, line)
}

/// The scaling history the flags describe: earlier recommendations and the last scale-out and
/// scale-in, as times ago from `now`.
fn history_from(args: &ExplainArgs, now: DateTime<Utc>, current: u32) -> History {
    let mut h = History::default();
    let mut recs = args.recommendations.clone();
    recs.sort_by_key(|(ago, _)| -*ago);
    for (ago, n) in recs {
        h.record_recommendation(now - ago, Replicas(n), TimeDelta::days(1));
    }
    let c = Replicas(current);
    if let Some(ago) = args.last_scale_in {
        h.record_action(now - ago, c.saturating_add(1), c);
    }
    if let Some(ago) = args.last_scale_out {
        h.record_action(now - ago, c.saturating_sub(1), c.max(Replicas(1)));
    }
    h
}

/// The human-readable explanation of `d`, made under `policy`.
pub fn render(d: &Decision, policy: &Policy) -> String {
    let mut out = String::new();
    out.push_str(&metrics_table(&d.score.contributions));
    let _ = writeln!(out);
    let score = d.score.value.map_or("none (no usable metric)".into(), |s| format!("{s:.3}"));
    let _ = writeln!(out, "score: {score}");
    if let (Some(by), Some(mean)) = (&d.score.saturated_by, d.score.weighted_mean) {
        let _ = writeln!(
            out,
            "  weighted mean {mean:.3}, lifted by {by}: a metric at or above its target is never averaged away"
        );
    }
    if let Some(tr) = d.trend {
        let _ = writeln!(
            out,
            "trend: {:+.3}/min, projected {:.3} in {}s (the projection can only raise the score)",
            tr.per_minute, tr.projected, tr.lookahead_seconds
        );
    }
    let t = d.thresholds;
    let _ = writeln!(
        out,
        "band:  scale out above {:.2}, scale in below {:.2} (ratios to the targets; sizing aims at 1.00, every metric on its target)",
        t.scale_out, t.scale_in
    );
    let _ = writeln!(out);
    out.push_str(&sizing_table(d, policy));
    let _ = writeln!(
        out,
        "any metric past its scale-out value scales out; a scale-in needs the score below {:.2} and goes no lower \
         than the most any metric asks for",
        t.scale_in
    );
    let rule = policy.on_missing_data;
    let _ = writeln!(out, "on missing data ({}): {}", rule.as_str(), rule.meaning());
    let _ = writeln!(out);
    out.push_str(&guards_table(d, policy));
    let _ = writeln!(out, "\nwhy:");
    for step in &d.steps {
        let _ = writeln!(out, "  {}: {}", step.stage, step.message);
    }
    let _ = writeln!(out);
    let arrow = match d.desired.cmp(&d.current) {
        std::cmp::Ordering::Greater => "scale out",
        std::cmp::Ordering::Less => "scale in",
        std::cmp::Ordering::Equal => "hold",
    };
    let _ = writeln!(out, "decision: {arrow} {} → {} (reason: {})", d.current, d.desired, d.reason);
    let _ = writeln!(out, "  {}", d.message);
    out
}

fn metrics_table(cs: &[Contribution]) -> String {
    let mut t =
        Table::new(["metric", "value", "target", "ratio", "asks", "weight", "contribution", "status"]);
    for c in cs {
        let opt = |v: Option<f64>, p: usize| v.map_or("-".into(), |v| format!("{v:.p$}"));
        let per_task = if c.target_type == TargetType::AverageValue { "/task" } else { "" };
        t.row(vec![
            c.name.clone(),
            opt(c.value, 2),
            format!("{:.2}{per_task}", c.target),
            opt(c.normalized, 3),
            c.asks.map_or("-".into(), |a| a.to_string()),
            format!("{:.2}", c.weight),
            opt(c.contribution, 3),
            status(c.status),
        ]);
    }
    t.render()
}

/// Each metric's arithmetic, by its target type, and the values at which the band's edges fire.
fn sizing_table(d: &Decision, p: &Policy) -> String {
    let current = d.current.get();
    let mut t = Table::new([
        "metric",
        "target type",
        "arithmetic",
        "scale out above",
        "scale in below",
        "wakes above",
    ]);
    for (c, m) in d.score.contributions.iter().zip(&p.metrics).filter(|(c, _)| c.steers()) {
        let at = |ratio: f64| value(c.kind, Thresholds::value_at(m, ratio, current));
        let wakes = if p.bounds.min().get() == 0 { value(c.kind, c.activation) } else { "-".into() };
        t.row(vec![
            c.name.clone(),
            c.target_type.as_str().into(),
            arithmetic(c, current),
            at(d.thresholds.scale_out),
            at(d.thresholds.scale_in),
            wakes,
        ]);
    }
    t.render()
}

fn arithmetic(c: &Contribution, current: u32) -> String {
    let (Some(v), Some(r), Some(asks)) = (c.value, c.normalized, c.asks) else {
        return "-".into();
    };
    match c.target_type {
        TargetType::Utilization => {
            format!("{v:.2} / {:.2} = {r:.3}; {} × {r:.3} → {asks}", c.target, current.max(1))
        }
        TargetType::AverageValue => format!("{v:.2} / {:.2} per task → {asks}", c.target),
    }
}

/// A metric value with its unit where the kind implies one.
fn value(kind: MetricKind, v: f64) -> String {
    match kind {
        MetricKind::Cpu | MetricKind::Memory | MetricKind::ErrorRate | MetricKind::PoolPressure => {
            format!("{v:.1}%")
        }
        MetricKind::Latency => format!("{v:.0} ms"),
        _ => format!("{v:.2}"),
    }
}

fn status(s: MetricStatus) -> String {
    match s {
        MetricStatus::Ok => "ok".into(),
        MetricStatus::Saturated => "saturated (≥ target)".into(),
        MetricStatus::Missing => "missing".into(),
        MetricStatus::Partial => "partial (some tasks unheard; under its target)".into(),
        MetricStatus::Stale { age_seconds } => format!("stale ({age_seconds}s old)"),
        MetricStatus::Invalid => "invalid".into(),
    }
}

/// Every stage of the pipeline, in order, and what it did.
fn guards_table(d: &Decision, p: &Policy) -> String {
    let stages: [(&str, String, &[Reason]); 9] = [
        ("override", "manual override".into(), &[Reason::Override]),
        (
            "load",
            format!(
                "band [{:.2}, {:.2}] of the targets, on missing data {}",
                p.thresholds.scale_in,
                p.thresholds.scale_out,
                p.on_missing_data.as_str()
            ),
            &[
                Reason::ScaleOut,
                Reason::ScaleIn,
                Reason::ScaleInBlocked,
                Reason::WithinTolerance,
                Reason::MissingData,
                Reason::Activation,
            ],
        ),
        (
            "stabilization",
            format!("scale-in window {}s", p.scale_in_stabilization.num_seconds()),
            &[Reason::Stabilization],
        ),
        (
            "cooldown",
            format!(
                "scale-out {}s, scale-in {}s",
                p.scale_out_cooldown.num_seconds(),
                p.scale_in_cooldown.num_seconds()
            ),
            &[Reason::ScaleOutCooldown, Reason::ScaleInCooldown],
        ),
        (
            "step limit",
            format!("+{} / -{} per decision", p.max_scale_out_step, p.max_scale_in_step),
            &[Reason::StepLimit],
        ),
        ("deployment", "scale-in waits while an ECS deployment rolls out".into(), &[Reason::Deployment]),
        ("schedule", schedule_note(d), &[Reason::SchedulePin, Reason::ScheduleBounds]),
        ("budget cap", "most tasks the remaining budget affords".into(), &[Reason::BudgetCapped]),
        ("bounds", format!("policy {}", p.bounds), &[Reason::Bounds]),
    ];
    let mut t = Table::new(["stage", "setting", "effect"]);
    for (name, setting, reasons) in stages {
        let hits: Vec<String> = d
            .steps
            .iter()
            .filter(|s| reasons.contains(&s.stage))
            .map(|s| format!("{} → {} ({})", s.from, s.to, s.stage))
            .collect();
        let effect = if hits.is_empty() { "-".to_owned() } else { hits.join("; ") };
        t.row(vec![name.into(), setting, effect]);
    }
    t.render()
}

fn schedule_note(d: &Decision) -> String {
    match &d.bounds.window {
        Some(w) => format!("window {w} open: bounds {}", d.bounds.bounds),
        None => "no window open".into(),
    }
}
