//! `trimtab rightsize`: the right size for the `[service]` task from a history of what it used,
//! and why. The history is a CSV file (`--history`) or the service's last two weeks in
//! CloudWatch; either becomes a list of [`Sample`]s, which is fed into the same
//! [`rightsize::Estimator`] the agent keeps, and [`rightsize::recommend`] sizes it at `now`.
//!
//! **The CSV.** A header row names the columns, in any order: `timestamp` (RFC 3339 or Unix
//! seconds), CPU as `cpu_units` (of the whole task, 1024 = 1 vCPU) or `cpu_pct` (of the task's
//! configured CPU), memory as `memory_mib` or `memory_pct` (of its configured memory), and an
//! optional `oom` (1 where an out-of-memory kill happened, with that row's memory in use). An
//! empty cell is a value not measured; a row with no cells at all is skipped. Every error names
//! `FILE:LINE: column: message`, and the first one stops the read: nothing is sized from a file
//! that is half understood.
//!
//! **CloudWatch.** `AWS/ECS` `CPUUtilization` and `MemoryUtilization` of the service, statistic
//! `Maximum` over 5 minutes: the busiest task's use, since a size must hold every task.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::args::RightsizeArgs;
use super::cost::MONTH_HOURS;
use super::setup::{cloudwatch, load, region, runtime};
use super::{UsageError, out};
use crate::aws::{AwsError, CloudWatch, Datapoints, MetricQuery};
use crate::config::model::{Config, ServiceConfig};
use crate::config::price_sheet;
use crate::core::Money;
use crate::core::cost::pricing::{PriceSheet, Rate, TaskShape, Used};
use crate::core::rightsize::{self, Estimator, Need, Params, PriceCtx, Size, Sizing};

/// The history read from CloudWatch without `--history`.
pub const CLOUDWATCH_DAYS: i64 = 14;
const CLOUDWATCH_PERIOD: i32 = 300;

/// `trimtab rightsize`: sizes the task from `--history` (or CloudWatch) and shows why.
pub fn command(args: RightsizeArgs) -> anyhow::Result<()> {
    let cfg = load(&args.config)?;
    let (svc, shape) = subject(&cfg).map_err(|e| UsageError(format!("{}: {e}", cfg.file)))?;
    let region = region(&cfg, svc, args.region.clone())?;
    let sheet = price_sheet(&svc.platform(), &cfg.cost, &region)
        .map_err(|(k, m)| UsageError(format!("{}: {k}: {m}", cfg.file)))?;
    let size = Size { cpu: shape.cpu, memory: shape.memory };
    let (source, samples, now) = usage(&args, svc, &region, size)?;
    let outcome = report(&cfg, &sheet, (&source, &samples), args.tasks, now)
        .map_err(|e| UsageError(format!("{}: {e}", cfg.file)))?;
    let format = args.output.format;
    match outcome {
        Outcome::TooLittle(why) => {
            let json = serde_json::json!({ "recommended": false, "too_little_history": why });
            out::emit(format, &json, |_| format!("{why}\n"))?
        }
        Outcome::Sized(r) => out::emit(format, &r, |r| render(r))?,
    }
    Ok(())
}

/// The usage history `rightsize` sizes from: where it came from, its samples, and `now`.
fn usage(
    args: &RightsizeArgs,
    svc: &ServiceConfig,
    region: &str,
    size: Size,
) -> anyhow::Result<(String, Vec<Sample>, DateTime<Utc>)> {
    let Some(path) = &args.history else {
        let now = args.now.unwrap_or_else(Utc::now);
        let svc = ServiceConfig { region: Some(region.to_owned()), ..svc.clone() };
        let source = format!("CloudWatch AWS/ECS Maximum over the last {} days", CLOUDWATCH_DAYS);
        return Ok((source, cloudwatch_usage(&svc, size, now)?, now));
    };
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| UsageError(format!("--history {name}: {e}")))?;
    let samples = read_csv(&name, &text, size).map_err(|e| UsageError(e.to_string()))?;
    let now = args.now.or(samples.last().map(|s| s.at)).unwrap_or_else(Utc::now);
    Ok((name, samples, now))
}

/// `rightsize` without `--history`: the service's usage from CloudWatch.
fn cloudwatch_usage(svc: &ServiceConfig, size: Size, now: DateTime<Utc>) -> anyhow::Result<Vec<Sample>> {
    let rt = runtime()?;
    let what = format!("reading {}/{}'s CPU and memory from CloudWatch", svc.cluster, svc.name);
    rt.block_on(async {
        let cw = cloudwatch(svc, true).await;
        fetch(&cw, svc, size, now).await
    })
    .map_err(|e| match e.message.contains("loading credentials") {
        true => anyhow::Error::new(UsageError(format!(
            "{what}: no AWS credentials found (environment, profile, task or instance role); \
             provide some allowed cloudwatch:GetMetricData, or pass --history FILE.csv"
        ))),
        false => anyhow::Error::new(e).context(what),
    })
}

/// What the whole task used at one time: CPU units and MiB (either may be unmeasured).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    /// An OOM kill happened at `at`, with `memory` in use.
    pub oom: bool,
}

/// A CSV problem at `FILE:LINE: column: message`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {column}: {message}")]
pub struct CsvError {
    pub file: String,
    pub line: usize,
    pub column: String,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Col {
    Time,
    CpuUnits,
    CpuPct,
    MemoryMib,
    MemoryPct,
    Oom,
}

const COLUMNS: [(&str, Col); 6] = [
    ("timestamp", Col::Time),
    ("cpu_units", Col::CpuUnits),
    ("cpu_pct", Col::CpuPct),
    ("memory_mib", Col::MemoryMib),
    ("memory_pct", Col::MemoryPct),
    ("oom", Col::Oom),
];

/// A problem before its file and line are known: `(column, message)`.
type CellError = (String, String);

/// Reads a usage CSV; percentages are of `size`, the task's configured size.
pub fn read_csv(file: &str, text: &str, size: Size) -> Result<Vec<Sample>, CsvError> {
    let at = |line: usize| {
        move |(column, message): CellError| CsvError { file: file.into(), line, column, message }
    };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let (_, first) = lines.next().unwrap_or((1, ""));
    let cols = header(first).map_err(at(1))?;
    let mut samples: Vec<Sample> = Vec::new();
    for (n, line) in lines {
        let Some(s) = row(&cols, line, size).map_err(at(n))? else { continue };
        if let Some(prev) = samples.last().filter(|p| s.at < p.at) {
            let message = format!("{} is before the previous row's {}", s.at, prev.at);
            return Err(at(n)(("timestamp".into(), message)));
        }
        samples.push(s);
    }
    Ok(samples)
}

fn header(line: &str) -> Result<Vec<Col>, CellError> {
    if line.trim().is_empty() {
        return Err(("header".into(), "no header row, e.g. timestamp,cpu_units,memory_mib".into()));
    }
    let mut cols = Vec::new();
    for name in line.split(',').map(|c| c.trim().to_ascii_lowercase()) {
        let Some(&(_, col)) = COLUMNS.iter().find(|(n, _)| *n == name) else {
            let known: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
            return Err((name, format!("unknown column; expected {}", known.join(", "))));
        };
        if cols.contains(&col) {
            return Err((name, "column given twice".into()));
        }
        cols.push(col);
    }
    let has = |c: &[Col]| cols.iter().filter(|x| c.contains(x)).count();
    for (need, name, what) in [
        (&[Col::Time][..], "timestamp", "missing column: every row needs its time"),
        (&[Col::CpuUnits, Col::CpuPct], "cpu", "missing column: give cpu_units or cpu_pct"),
        (&[Col::MemoryMib, Col::MemoryPct], "memory", "missing column: give memory_mib or memory_pct"),
    ] {
        match has(need) {
            0 => return Err((name.into(), what.into())),
            1 => {}
            _ => return Err((name.into(), "give one of its columns, not both".into())),
        }
    }
    Ok(cols)
}

fn name(c: Col) -> String {
    COLUMNS.iter().find(|(_, x)| *x == c).map_or("?", |(n, _)| n).to_owned()
}

/// One data row; `None` when all its cells are empty.
fn row(cols: &[Col], line: &str, size: Size) -> Result<Option<Sample>, CellError> {
    let cells: Vec<&str> = line.split(',').map(str::trim).collect();
    if cells.iter().all(|c| c.is_empty()) {
        return Ok(None);
    }
    if cells.len() != cols.len() {
        let message = format!("{} fields, but the header has {} columns", cells.len(), cols.len());
        return Err(("row".into(), message));
    }
    let (mut at, mut s) = (None, Sample { at: DateTime::UNIX_EPOCH, cpu: None, memory: None, oom: false });
    for (&col, &cell) in cols.iter().zip(&cells).filter(|(_, c)| !c.is_empty()) {
        let err = |m: String| (name(col), m);
        let of = |total: u32| number(cell).map(|v| v / 100.0 * f64::from(total)).map_err(err);
        match col {
            Col::Time => at = Some(time(cell).map_err(err)?),
            Col::CpuUnits => s.cpu = Some(number(cell).map_err(err)?),
            Col::CpuPct => s.cpu = Some(of(size.cpu)?),
            Col::MemoryMib => s.memory = Some(number(cell).map_err(err)?),
            Col::MemoryPct => s.memory = Some(of(size.memory)?),
            Col::Oom => s.oom = oom(cell).map_err(err)?,
        }
    }
    s.at = at.ok_or(("timestamp".to_owned(), "empty: every row with values needs its time".to_owned()))?;
    if s.oom && s.memory.is_none() {
        return Err(("oom".into(), "an OOM row needs the memory in use at the kill".into()));
    }
    Ok(Some(s))
}

fn number(cell: &str) -> Result<f64, String> {
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(v) if v < 0.0 => Err(format!("negative value {cell}")),
        _ => Err(format!("{cell:?} is not a number")),
    }
}

fn time(cell: &str) -> Result<DateTime<Utc>, String> {
    let epoch = cell.parse::<i64>().ok().and_then(|s| DateTime::from_timestamp(s, 0));
    let rfc = || DateTime::parse_from_rfc3339(cell).ok().map(|t| t.with_timezone(&Utc));
    epoch.or_else(rfc).ok_or(format!("{cell:?} is not an RFC 3339 time or Unix seconds"))
}

fn oom(cell: &str) -> Result<bool, String> {
    match cell {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(format!("{cell:?}: expected 1 (an OOM kill) or 0")),
    }
}

/// The two series the CloudWatch history is made of.
pub fn queries(svc: &ServiceConfig) -> Vec<MetricQuery> {
    let q = |id: &str, metric: &str| MetricQuery {
        id: id.into(),
        namespace: "AWS/ECS".into(),
        metric: metric.into(),
        dimensions: vec![
            ("ClusterName".into(), svc.cluster.clone()),
            ("ServiceName".into(), svc.name.clone()),
        ],
        statistic: "Maximum".into(),
        period_seconds: CLOUDWATCH_PERIOD,
    };
    vec![q("cpu", "CPUUtilization"), q("memory", "MemoryUtilization")]
}

/// Samples, oldest first, from the `cpu` and `memory` series in percent of `size`.
pub fn from_cloudwatch(data: &BTreeMap<String, Datapoints>, size: Size) -> Vec<Sample> {
    let mut by_time: BTreeMap<DateTime<Utc>, Sample> = BTreeMap::new();
    let mut put = |id: &str, total: u32, set: fn(&mut Sample, f64)| {
        for &(at, pct) in data.get(id).into_iter().flatten() {
            let s = by_time.entry(at).or_insert(Sample { at, cpu: None, memory: None, oom: false });
            set(s, pct / 100.0 * f64::from(total));
        }
    };
    put("cpu", size.cpu, |s, v| s.cpu = Some(v));
    put("memory", size.memory, |s, v| s.memory = Some(v));
    by_time.into_values().collect()
}

/// The service's last [`CLOUDWATCH_DAYS`] days before `now`, in one paged `GetMetricData`.
pub async fn fetch(
    cw: &CloudWatch,
    svc: &ServiceConfig,
    size: Size,
    now: DateTime<Utc>,
) -> Result<Vec<Sample>, AwsError> {
    let period = i64::from(CLOUDWATCH_PERIOD);
    let end = DateTime::from_timestamp(now.timestamp() / period * period, 0).unwrap_or(now);
    let data = cw.get_metric_data(&queries(svc), end - TimeDelta::days(CLOUDWATCH_DAYS), end).await?;
    Ok(from_cloudwatch(&data.points, size))
}

/// Every sample into a fresh estimator, in order.
pub fn estimate(samples: &[Sample]) -> Estimator {
    let mut est = Estimator::new();
    for s in samples {
        s.cpu.inspect(|&v| est.add_cpu(s.at, v));
        s.memory.inspect(|&v| est.add_memory(s.at, v));
        if let (true, Some(mib)) = (s.oom, s.memory) {
            est.add_oom(s.at, mib);
        }
    }
    est
}

/// The recommendation with what `--format json` adds to it; the rest is for the text only.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub sizing: Sizing,
    pub floor: Need,
    pub tasks: u32,
    /// The monthly difference per task × `tasks`: positive is a saving.
    #[serde(rename = "monthly_difference_total_usd")]
    pub monthly_difference_total: Money,
    #[serde(skip)]
    pub heading: String,
    #[serde(skip)]
    pub history: String,
    /// Per task-hour at the lower and upper bound.
    #[serde(skip)]
    pub bound_rates: [Rate; 2],
}

/// What `trimtab rightsize` has to say.
#[derive(Clone, Debug)]
pub enum Outcome {
    Sized(Box<Report>),
    /// Too little history: a sentence saying how much there is and how much is needed.
    TooLittle(String),
}

/// The service and its current size; `Err` names what the config lacks.
pub fn subject(cfg: &Config) -> Result<(&ServiceConfig, TaskShape), String> {
    let svc = cfg.service.as_ref().ok_or("rightsize sizes the [service] task: add a [service] section")?;
    let shape = svc.shape().ok_or(
        "rightsize needs the task's current size: set service.cpu (CPU units) and service.memory (MiB)",
    )?;
    Ok((svc, shape))
}

/// Sizes the config's service from `samples` (read from `source`) at `now`.
pub fn report(
    cfg: &Config,
    sheet: &PriceSheet,
    (source, samples): (&str, &[Sample]),
    tasks: Option<u32>,
    now: DateTime<Utc>,
) -> Result<Outcome, String> {
    let (svc, shape) = subject(cfg)?;
    let est = estimate(samples);
    let params =
        Params { margin: cfg.vertical.margin, min_change: cfg.vertical.min_change, ..Params::default() };
    let current = Size { cpu: shape.cpu, memory: shape.memory };
    let ctx = PriceCtx { shape: &shape, sheet };
    let Some(sizing) = rightsize::recommend(&est, current, &ctx, &params, now) else {
        return Ok(Outcome::TooLittle(too_little(&est, &params, source, now)));
    };
    let tasks = tasks.unwrap_or(cfg.scaling.policy.bounds.min().get());
    let rate = |s: Size| {
        sheet.task_rate(&TaskShape { cpu: s.cpu, memory: s.memory, ..shape.clone() }, Used::default())
    };
    let total = sizing.current_rate.minus(sizing.target_rate).times(tasks).over_hours(MONTH_HOURS);
    Ok(Outcome::Sized(Box::new(Report {
        heading: format!(
            "{}/{}: {} in {}",
            svc.cluster,
            svc.name,
            super::cost::describe(&shape),
            sheet.region
        ),
        history: history_line(source, samples),
        bound_rates: [rate(sizing.lower).total, rate(sizing.upper).total],
        floor: rightsize::floor(&est),
        tasks,
        monthly_difference_total: total,
        sizing,
    })))
}

fn history_line(source: &str, samples: &[Sample]) -> String {
    let (first, last) = (samples.first().map(|s| s.at), samples.last().map(|s| s.at));
    let (Some(first), Some(last)) = (first, last) else { return format!("{source}, no rows") };
    let m = (last - first).num_minutes();
    let span = format!("{} d {} h {} min", m / 1440, m % 1440 / 60, m % 60);
    let t = |at: DateTime<Utc>| at.format("%Y-%m-%d %H:%M");
    format!("{source}, {} rows from {} to {} UTC ({span})", samples.len(), t(first), t(last))
}

fn too_little(est: &Estimator, p: &Params, source: &str, now: DateTime<Utc>) -> String {
    let hours = est.observed_span(now).num_minutes() as f64 / 60.0;
    let need = format!("{} h and {} CPU samples", p.min_span.num_hours(), p.min_samples);
    if hours < p.min_span.num_minutes() as f64 / 60.0 || est.samples() < p.min_samples {
        let n = est.samples();
        return format!(
            "too little history to right-size: {source} covers {hours:.1} h with {n} CPU samples; a recommendation needs at least {need}"
        );
    }
    if est.peak_memory_percentile(0.5).is_none() {
        return format!(
            "too little history to right-size: {source} has no memory samples; a recommendation needs memory as well as CPU"
        );
    }
    format!(
        "too little recent history to right-size: the last sample in {source} is more than 8 days before {now}; a recommendation needs at least {need} within the last 8 days"
    )
}

/// The text `trimtab rightsize` prints.
pub fn render(r: &Report) -> String {
    let (z, f) = (&r.sizing, r.floor);
    let confidence = format!("{:?}", z.confidence).to_lowercase();
    let mut out = format!("{}\nhistory: {}; confidence {confidence}\n\n", r.heading, r.history);
    let mut t = super::table::Table::new(["", "size", "per task-hour", "need"]);
    let need = |n: Need| format!("{:.0} CPU units / {:.0} MiB", n.cpu, n.memory);
    t.row(vec!["current".into(), z.current.to_string(), z.current_rate.to_string(), String::new()]);
    t.row(vec!["target".into(), z.target.to_string(), z.target_rate.to_string(), need(z.raw.target)]);
    t.row(vec!["lower".into(), z.lower.to_string(), r.bound_rates[0].to_string(), need(z.raw.lower)]);
    t.row(vec!["upper".into(), z.upper.to_string(), r.bound_rates[1].to_string(), need(z.raw.upper)]);
    t.row(vec!["observed peak".into(), String::new(), String::new(), need(f)]);
    out += &t.render();
    out += &format!("\nper 730-h month: {}\n\nwhy:\n", difference(z.monthly_difference_per_task, r));
    z.reasons.iter().for_each(|reason| out += &format!("  - {reason}\n"));
    out += &format!("\n{}\n", verdict(z));
    out
}

fn difference(per_task: Money, r: &Report) -> String {
    let words = |m: Money| match m.micros() {
        0 => "no difference".to_owned(),
        x if x > 0 => format!("{m} saving"),
        x => format!("{} extra cost", Money::from_micros(-x)),
    };
    let tasks = if r.tasks == 1 { "1 task".to_owned() } else { format!("{} tasks", r.tasks) };
    format!("{} per task, {} at {tasks}", words(per_task), words(r.monthly_difference_total))
}

fn verdict(z: &Sizing) -> String {
    let t = z.target;
    if z.recommended {
        return format!(
            "recommended: set service.cpu = {} and service.memory = {} (or vertical.mode = \"apply\")",
            t.cpu, t.memory
        );
    }
    let why: Vec<&str> = z.reasons.iter().filter_map(|r| r.strip_prefix("not recommended: ")).collect();
    format!("not recommended: keep {}; {}", z.current, why.join("; "))
}

#[cfg(test)]
#[path = "rightsize_tests.rs"]
mod tests;
