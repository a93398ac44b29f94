//! Right-sizing one task the way the Kubernetes VPA recommender sizes a container: decaying
//! histograms of what the task used, a percentile of each, a safety margin, and bounds that are
//! wide while there is little history and close in as it grows.
//!
//! **What is remembered.** An [`Estimator`] holds two [`DecayingHistogram`]s over exponential
//! buckets, each 5% wider than the one before, from 1 CPU unit (1 MiB) up to 1,024 vCPU (1 TiB):
//! 224 buckets each, so its size never depends on how many samples it has seen. Every CPU sample
//! of the whole task goes into the CPU histogram with the same weight (the VPA weighs a sample by
//! the container's request; a task's size is fixed between deployments, so that is a constant
//! here). Memory goes in as *one peak per 24-hour interval*: a spike counts once a day however
//! many ticks saw it, because a task over its memory is killed, and it is the day's worst moment
//! that the size must hold. A sample's weight is `2^((t − reference) / 24 h)`: yesterday counts
//! half as much as today, last week 1/128, so the estimate follows the service as it changes
//! without a window for old data to fall off. Only relative weights matter, so when the exponent
//! would pass 100 the reference moves up to the new sample and every weight is scaled down alike.
//!
//! **Out of memory.** An OOM kill is remembered as a memory peak of `max(used × 1.2, used +
//! 100 MiB)`, where `used` is the larger of the memory in use at the kill and the interval's
//! observed peak (earlier OOM bumps are left out, so repeated kills do not compound).
//!
//! **What is recommended.** With `c` the confidence, the history in days (the span from the first
//! to the last CPU sample, but no more than the samples count for at one per five minutes, so
//! a span with the agent mostly down is not trusted), and `m` the 15% margin:
//!
//! ```text
//! target = p90 × (1 + m)        lower = p50 × (1 + m) × (1 + 0.001/c)^-2
//!                               upper = p95 × (1 + m) × (1 + 1/c)
//! ```
//!
//! CPU over all samples, memory over the daily peaks (the VPA's defaults); a percentile is the end
//! of its bucket, so it errs high by at most 5%. After two hours the upper bound is thirteen times
//! the p95, after a week 1.14 times; confidence is low under a day, high from a week, medium
//! between. Each need is then snapped
//! to the *cheapest* valid Fargate size that holds both its CPU and memory (priced by the sheet;
//! Windows needs at least 1024 CPU); a need beyond the largest size is held to its CPU and memory.
//! On EC2 no size table applies: needs are rounded up to whole CPU units and 128 MiB steps.
//!
//! A change is **recommended** only when the current size lies outside the (unsnapped) bounds in
//! CPU or memory, as the VPA updater decides, *and* the target differs from the current size by at
//! least 10% in CPU or memory, whichever moved more: a resize redeploys every task, and a size
//! inside the bounds is one the evidence cannot fault. Otherwise [`recommend`] still returns a
//! [`Sizing`] whose reasons say why not. It returns `None` only when there is too little to say
//! anything: under an hour of history or ten CPU samples, no memory sample, or no sample in the
//! last eight days (when the VPA forgets a container).
//!
//! Nothing here reads a clock: samples carry their time and `now` is an argument.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::core::cost::Confidence;
use crate::core::cost::pricing::{Os, PriceSheet, Rate, TaskShape, Used};
use crate::core::{Money, fargate};

mod estimator;

pub use estimator::*;

/// The VPA's confidence multipliers `(multiplier, exponent)`: `(1 + multiplier / c)^exponent`.
const UPPER_CONFIDENCE: (f64, i32) = (1.0, 1);
const LOWER_CONFIDENCE: (f64, i32) = (0.001, -2);
/// With no sample for this long the estimate says nothing (the VPA's aggregation window).
const STALE_AFTER: TimeDelta = TimeDelta::days(8);
const MEDIUM_FROM_DAYS: f64 = 1.0;
const HIGH_FROM_DAYS: f64 = 7.0;
const WINDOWS_MIN_CPU: u32 = 1024;
const EC2_MEMORY_STEP: f64 = 128.0;
const MONTH_HOURS: u32 = 730;

/// A task size: CPU units and MiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Size {
    pub cpu: u32,
    pub memory: u32,
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} CPU / {} MiB", self.cpu, self.memory)
    }
}

/// The unsnapped needs for the three estimates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Raw {
    pub lower: Need,
    pub target: Need,
    pub upper: Need,
}

/// Which percentiles make the lower bound, the target and the upper bound (0..=1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Percentiles {
    pub lower: f64,
    pub target: f64,
    pub upper: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub cpu: Percentiles,
    /// Percentiles of the daily memory peaks.
    pub memory: Percentiles,
    /// Added to every percentile: 0.15 = 15%.
    pub margin: f64,
    /// The smallest change worth a redeploy, relative to the current size (0.10 = 10%).
    pub min_change: f64,
    /// Below this span, or `min_samples` CPU samples, there is no recommendation at all.
    pub min_span: TimeDelta,
    pub min_samples: u64,
}

impl Default for Params {
    fn default() -> Self {
        let vpa = Percentiles { lower: 0.50, target: 0.90, upper: 0.95 };
        Params {
            cpu: vpa,
            memory: vpa,
            margin: 0.15,
            min_change: 0.10,
            min_span: TimeDelta::hours(1),
            min_samples: 10,
        }
    }
}

/// The task being sized and the prices to size it by.
#[derive(Clone, Copy, Debug)]
pub struct PriceCtx<'a> {
    /// Launch type, platform and storage of the task; its CPU and memory are replaced by each
    /// size priced.
    pub shape: &'a TaskShape,
    pub sheet: &'a PriceSheet,
}

impl PriceCtx<'_> {
    fn rate(&self, s: Size) -> Rate {
        let shape = TaskShape { cpu: s.cpu, memory: s.memory, ..self.shape.clone() };
        self.sheet.task_rate(&shape, Used::default()).total
    }

    fn min_cpu(&self) -> u32 {
        if self.shape.os == Os::Windows { WINDOWS_MIN_CPU } else { 0 }
    }
}

/// What `[vertical]` does with the right-sizer's result: nothing, recommend only, or resize the
/// task. A plain value here so that the status snapshot can show it without naming the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerticalMode {
    Off,
    Recommend,
    Apply,
}

impl VerticalMode {
    pub const NAMES: &'static [&'static str] = &["off", "recommend", "apply"];
}

/// A right-size estimate and whether it is worth acting on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sizing {
    pub target: Size,
    pub lower: Size,
    pub upper: Size,
    pub raw: Raw,
    pub confidence: Confidence,
    pub confidence_days: f64,
    pub current: Size,
    /// Per task-hour.
    #[serde(rename = "current_rate_usd")]
    pub current_rate: Rate,
    #[serde(rename = "target_rate_usd")]
    pub target_rate: Rate,
    /// `(current − target rate) × 730 h`: positive is a saving.
    #[serde(rename = "monthly_difference_per_task_usd")]
    pub monthly_difference_per_task: Money,
    /// How far the target is from the current size, in percent of the dimension that moved more.
    pub change_pct: f64,
    /// The current size is inside `[raw.lower, raw.upper]` in both CPU and memory.
    pub within_bounds: bool,
    pub recommended: bool,
    pub reasons: Vec<String>,
}

/// The percentiles read from the estimator, `[lower, target, upper]`, before any margin.
struct Observed {
    cpu: [f64; 3],
    memory: [f64; 3],
    days: f64,
    span: TimeDelta,
}

fn observe(est: &Estimator, p: &Params, now: DateTime<Utc>) -> Option<Observed> {
    let span = est.observed_span(now);
    let stale = est.last.is_none_or(|l| now - l > STALE_AFTER);
    if stale || span < p.min_span || est.samples < p.min_samples {
        return None;
    }
    let peaks = est.memory_peaks_now();
    let at = |q: Percentiles, f: &dyn Fn(f64) -> Option<f64>| Some([f(q.lower)?, f(q.target)?, f(q.upper)?]);
    let cpu = at(p.cpu, &|q| est.percentile_cpu(q))?;
    let memory = at(p.memory, &|q| peaks.percentile(q))?;
    Some(Observed { cpu, memory, days: est.confidence_days(now), span })
}

fn confidence_factor((multiplier, exponent): (f64, i32), days: f64) -> f64 {
    (1.0 + multiplier / days).powi(exponent)
}

fn needs(o: &Observed, p: &Params) -> Raw {
    let m = 1.0 + p.margin;
    let (lo, hi) = (confidence_factor(LOWER_CONFIDENCE, o.days), confidence_factor(UPPER_CONFIDENCE, o.days));
    Raw {
        lower: Need { cpu: o.cpu[0] * m * lo, memory: o.memory[0] * m * lo },
        target: Need { cpu: o.cpu[1] * m, memory: o.memory[1] * m },
        upper: Need { cpu: o.cpu[2] * m * hi, memory: o.memory[2] * m * hi },
    }
}

fn level(days: f64) -> Confidence {
    match days {
        d if d >= HIGH_FROM_DAYS => Confidence::High,
        d if d >= MEDIUM_FROM_DAYS => Confidence::Medium,
        _ => Confidence::Low,
    }
}

/// The size for `need`, and whether the need had to be held to the largest Fargate size.
fn snap(need: Need, ctx: &PriceCtx) -> (Size, bool) {
    if !ctx.shape.launch.is_fargate() {
        let memory = (need.memory / EC2_MEMORY_STEP).ceil().max(1.0) * EC2_MEMORY_STEP;
        return (Size { cpu: need.cpu.ceil().max(1.0) as u32, memory: memory as u32 }, false);
    }
    let allowed: Vec<Size> = fargate::sizes()
        .into_iter()
        .filter(|&(c, _)| c >= ctx.min_cpu())
        .map(|(cpu, memory)| Size { cpu, memory })
        .collect();
    let largest = |f: fn(&Size) -> u32| allowed.iter().map(f).max().map_or(0.0, f64::from);
    let (cpu, memory) = (need.cpu.min(largest(|s| s.cpu)), need.memory.min(largest(|s| s.memory)));
    let holds = |s: &&Size| f64::from(s.cpu) >= cpu && f64::from(s.memory) >= memory;
    let best = allowed.iter().filter(holds).min_by_key(|s| (ctx.rate(**s), s.cpu, s.memory));
    (best.copied().unwrap_or(Size { cpu: 16384, memory: 122880 }), cpu < need.cpu || memory < need.memory)
}

/// `|to − from| / from`; any change from zero counts as 100%.
fn relative_change(from: u32, to: u32) -> f64 {
    match from {
        0 => f64::from(u8::from(to != 0)),
        _ => (f64::from(to) - f64::from(from)).abs() / f64::from(from),
    }
}

fn within(current: Size, raw: &Raw) -> bool {
    let inside = |v: u32, lo: f64, hi: f64| (lo..=hi).contains(&f64::from(v));
    inside(current.cpu, raw.lower.cpu, raw.upper.cpu)
        && inside(current.memory, raw.lower.memory, raw.upper.memory)
}

/// The right size for a task now `current` from what `est` observed; `None` when there is too
/// little data to say anything.
pub fn recommend(
    est: &Estimator,
    current: Size,
    ctx: &PriceCtx,
    params: &Params,
    now: DateTime<Utc>,
) -> Option<Sizing> {
    let observed = observe(est, params, now)?;
    let raw = needs(&observed, params);
    let snapped = [raw.lower, raw.target, raw.upper].map(|n| snap(n, ctx));
    let [(lower, _), (target, _), (upper, _)] = snapped;
    let (current_rate, target_rate) = (ctx.rate(current), ctx.rate(target));
    let change = relative_change(current.cpu, target.cpu).max(relative_change(current.memory, target.memory));
    let within_bounds = within(current, &raw);
    let mut sizing = Sizing {
        target,
        lower,
        upper,
        raw,
        confidence: level(observed.days),
        confidence_days: observed.days,
        current,
        current_rate,
        target_rate,
        monthly_difference_per_task: current_rate.minus(target_rate).over_hours(MONTH_HOURS),
        change_pct: change * 100.0,
        within_bounds,
        recommended: !within_bounds && change >= params.min_change,
        reasons: Vec::new(),
    };
    let capped = ["lower bound", "target", "upper bound"].into_iter().zip(snapped).filter(|(_, s)| s.1);
    let capped: Vec<&str> = capped.map(|(name, _)| name).collect();
    sizing.reasons = explain(&sizing, &observed, est, ctx, params, &capped);
    Some(sizing)
}

fn explain(
    s: &Sizing,
    o: &Observed,
    est: &Estimator,
    ctx: &PriceCtx,
    p: &Params,
    capped: &[&str],
) -> Vec<String> {
    let (span, n, r, days) = (span_text(o.span), est.samples, s.raw, s.confidence_days);
    let (cpu, memory, margin) =
        (quantiles(o.cpu, p.cpu, "CPU units"), quantiles(o.memory, p.memory, "MiB"), p.margin * 100.0);
    let level = format!("{:?}", s.confidence).to_lowercase();
    let mut out = vec![
        format!(
            "over {span} ({n} samples) CPU use was {cpu}, and the daily memory peaks {memory}; \
             newer samples weigh more, halving every 24 h"
        ),
        format!(
            "with a {margin:.0}% safety margin a task needs {:.0} CPU units and {:.0} MiB",
            r.target.cpu, r.target.memory
        ),
        format!(
            "confidence is {level} ({days:.2} days of history), so the bounds are {:.0}–{:.0} CPU units and \
             {:.0}–{:.0} MiB; they narrow as history grows",
            r.lower.cpu, r.upper.cpu, r.lower.memory, r.upper.memory
        ),
    ];
    out.extend(est.last_oom.map(|oom| {
        let (count, at) = (oom.count, oom.at.format("%Y-%m-%d %H:%M UTC"));
        format!(
            "{count} OOM kill(s) recorded; the last, at {at}, with {:.0} MiB in use, counts as a {:.0} MiB peak",
            oom.used, oom.recorded
        )
    }));
    out.push(snapping(s, ctx, capped));
    out.extend(verdict(s, p));
    out
}

fn quantiles(v: [f64; 3], q: Percentiles, unit: &str) -> String {
    let [l, t, u] = [q.lower, q.target, q.upper].map(|x| x * 100.0);
    format!("{:.0} {unit} at p{l:.0}, {:.0} at p{t:.0} and {:.0} at p{u:.0}", v[0], v[1], v[2])
}

fn span_text(d: TimeDelta) -> String {
    let hours = d.num_milliseconds() as f64 / 3_600_000.0;
    if hours < 48.0 { format!("{hours:.1} h") } else { format!("{:.1} days", hours / 24.0) }
}

fn snapping(s: &Sizing, ctx: &PriceCtx, capped: &[&str]) -> String {
    let windows = if ctx.min_cpu() > 0 { " (Windows needs at least 1024 CPU)" } else { "" };
    let how = match ctx.shape.launch.is_fargate() {
        true => format!("the cheapest valid Fargate size that holds it{windows}"),
        false => "rounded up to whole CPU units and 128 MiB (no size table on EC2)".to_owned(),
    };
    let cap = match capped {
        [] => String::new(),
        names => {
            format!("; no Fargate size holds the {}, so it is held to the largest", names.join(" or the "))
        }
    };
    let (t, tr, c, cr) = (s.target, s.target_rate, s.current, s.current_rate);
    format!("{how} is {t} at {tr}/task-hour, against {c} at {cr} now{cap}")
}

fn verdict(s: &Sizing, p: &Params) -> Vec<String> {
    let (min, pct, cur, tgt) = (p.min_change * 100.0, s.change_pct, s.current, s.target);
    if s.recommended {
        let m = s.monthly_difference_per_task;
        let effect = match m >= Money::ZERO {
            true => format!("save {m}"),
            false => format!("cost {} more", Money::from_micros(-m.micros())),
        };
        return vec![format!(
            "recommended: {cur} is outside the bounds and {tgt} differs from it by {pct:.0}% \
             (at least {min:.0}%); it would {effect} a month per task"
        )];
    }
    let inside = s.within_bounds.then(|| format!("not recommended: {cur} lies within the bounds"));
    let small = (pct < min).then(|| {
        format!("not recommended: {tgt} differs from {cur} by only {pct:.0}%, under the {min:.0}% worth a redeploy")
    });
    inside.into_iter().chain(small).collect()
}

#[cfg(test)]
#[path = "rightsize_tests.rs"]
mod tests;
