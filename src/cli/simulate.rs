//! `trimtab simulate`: runs the policy (and baselines) over a trace and reports the elasticity
//! metrics, as a table or JSON, with an optional per-step CSV timeline.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::args::SimulateArgs;
use super::setup::{cloudwatch, load, runtime};
use super::table::Table;
use super::{UsageError, out};
use crate::agent::replay;
use crate::config::{self, Config};
use crate::core::{Bounds, Policy};
use crate::sim::baselines::{self, Oracle};
use crate::sim::trimtab::TrimtabController;
use crate::sim::{Controller, Elasticity, Outcome, Simulation, Timeline, Trace, WorldParams, measure};

/// `trimtab simulate`: builds the trace, the world and the controllers from the flags, runs them,
/// and writes the report (and the timeline and plot when asked).
pub fn command(args: SimulateArgs) -> anyhow::Result<()> {
    let config = match &args.template {
        Some(t) => {
            let t = super::policies::find(t).map_err(|e| UsageError(format!("--template {t}: {e}")))?.name;
            config::from_str(&format!("<template {t}>"), &format!("[scaling]\ntemplate = {t:?}\n"))?
        }
        None => load(&args.config)?,
    };
    let mut args = args;
    let trace = match &args.trace {
        _ if args.from_cloudwatch => {
            let (trace, start) = history_trace(&config, args.days)?;
            args.start = start;
            if args.capacity_per_task.is_none() && args.fit_peak.is_none() {
                args.capacity_per_task = Some(args.target_utilization);
            }
            trace
        }
        Some(path) => Trace::load(path).map_err(|e| UsageError(format!("{e:#}")))?,
        None => Trace::parse(crate::sim::trace::EMBEDDED_NASA_NAME, crate::sim::trace::EMBEDDED_NASA)?,
    };
    let trace = Trace { interpolate: !args.hold_steps, ..trace };
    let (params, fit) = world_params(&args, &trace)?;
    let policy = &config.scaling.policy;
    let bounds = Bounds::new(
        args.min.unwrap_or(policy.bounds.min().get()),
        args.max.unwrap_or(policy.bounds.max().get()),
    )
    .ok_or_else(|| UsageError("--min must not exceed --max".into()))?;
    let peak = params.demand(trace.peak());
    if bounds.max().get() < peak {
        out::note(&format!(
            "warning: max {} is below the peak demand of {peak} tasks; pass --max to allow more",
            bounds.max()
        ));
    }
    let mode = sim_mode(&args)?;
    let interval = u64::try_from(config.agent.interval.num_seconds()).unwrap_or(15).max(1);
    // Name the policy by what the user chose: a template, or a config file.
    let label = match &args.template {
        Some(t) => format!("trimtab ({t})"),
        None => format!("trimtab ({})", config.file.trim_start_matches("<embedded ").trim_end_matches('>')),
    };
    let started = std::time::Instant::now();
    // --min/--max bind the policy itself, not just the simulated world.
    let policy = Policy { bounds, ..policy.clone() };
    let report =
        run(Request { trace, params, start: args.start, bounds, policy, interval, label, mode, fit });
    out::note(&format!("simulated {} runs in {:.1} s", report.runs.len(), started.elapsed().as_secs_f64()));
    if let Some(path) = &args.timeline {
        std::fs::write(path, timeline_csv(&report)).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.plot {
        write_plot(path, &report, args.plot_range.unwrap_or((0, u64::MAX)))?;
    }
    out::emit(args.output.format, &report, render)?;
    Ok(())
}

/// `--from-cloudwatch`: the service's history as a trace, and when it starts.
fn history_trace(config: &Config, days: u32) -> anyhow::Result<(Trace, DateTime<Utc>)> {
    let Some(svc) = &config.service else {
        bail!(UsageError(format!(
            "{}: --from-cloudwatch reads the history of [service]; add one",
            config.file
        )));
    };
    if !(1..=replay::MAX_DAYS).contains(&days) {
        bail!(UsageError(format!("--days {days}: must be from 1 to {}", replay::MAX_DAYS)));
    }
    let rt = runtime()?;
    rt.block_on(async {
        let cw = cloudwatch(svc, true).await;
        replay::fetch(&cw, svc, days, Utc::now()).await
    })
    .map(|h| (Trace { name: h.name, step: h.step, values: h.values, interpolate: true }, h.start))
    .map_err(|e| anyhow::anyhow!("--from-cloudwatch: {e}"))
}

/// The simulated world from the flags, and how its capacity was chosen.
fn world_params(args: &SimulateArgs, trace: &Trace) -> anyhow::Result<(WorldParams, String)> {
    let (capacity, fit) = capacity(args, trace)?;
    let u = args.target_utilization;
    if !(u > 0.0 && u <= 1.0) {
        bail!(UsageError(format!("--target-utilization {u}: must be in (0, 1]")));
    }
    let secs = |d: TimeDelta, flag: &str| {
        u64::try_from(d.num_seconds()).map_err(|_| UsageError(format!("{flag} must not be negative")))
    };
    let params = WorldParams {
        capacity,
        target_utilization: u,
        start_delay: secs(args.start_delay, "--start-delay")?,
        metric_delay: secs(args.metric_delay, "--metric-delay")?,
        base_latency_ms: args.base_latency_ms,
    };
    Ok((params, fit))
}

/// Which controllers `--baseline` / `--compare` ask for.
fn sim_mode(args: &SimulateArgs) -> anyhow::Result<Mode> {
    use baselines::NAMES;
    Ok(match (&args.baseline, args.compare) {
        (Some(b), _) if !NAMES.contains(&b.as_str()) => {
            bail!(UsageError(format!("unknown baseline {b:?}; known: {}", NAMES.join(", "))))
        }
        (Some(b), _) => Mode::Baseline(b.clone()),
        (None, true) => Mode::Compare,
        (None, false) => Mode::Policy,
    })
}

/// Charts the first run against the baselines over `(from, to)` seconds of the trace.
fn write_plot(path: &Path, report: &Report, (from, to): (u64, u64)) -> anyhow::Result<()> {
    let (first, others) = report.outcomes.split_first().context("no run to plot")?;
    // The oracle is left out: the demand area already shows what it follows.
    let others: Vec<(&str, Timeline)> = others
        .iter()
        .filter(|o| o.name != "oracle")
        .map(|o| (o.name.as_str(), o.timeline.window(from, to)))
        .collect();
    let others: Vec<(&str, &Timeline)> = others.iter().map(|(n, t)| (*n, t)).collect();
    let title = format!("{} — {}", report.trace, first.name);
    let svg = crate::sim::plot::render_svg(&title, &first.name, &first.timeline.window(from, to), &others);
    std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))
}

/// The per-task capacity C and how it was chosen.
fn capacity(args: &SimulateArgs, trace: &Trace) -> anyhow::Result<(f64, String)> {
    if let Some(c) = args.capacity_per_task {
        if !(c.is_finite() && c > 0.0) {
            bail!(UsageError(format!("--capacity-per-task {c}: must be a positive number")));
        }
        return Ok((c, format!("--capacity-per-task {c}")));
    }
    let n = args.fit_peak.unwrap_or(20);
    if n == 0 {
        bail!(UsageError("--fit-peak must be at least 1".into()));
    }
    if trace.peak() <= 0.0 {
        bail!(UsageError(format!("{}: the trace is all zeros; give --capacity-per-task", trace.name)));
    }
    Ok((trace.peak() / f64::from(n), format!("fit: peak needs {n} tasks")))
}

/// Which controllers to run.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    /// The trimtab policy alone.
    Policy,
    /// One baseline instead of the policy.
    Baseline(String),
    /// The policy and every baseline.
    Compare,
}

pub struct Request {
    pub trace: Trace,
    pub params: WorldParams,
    pub start: DateTime<Utc>,
    pub bounds: Bounds,
    pub policy: Policy,
    /// The policy's decision interval (`agent.interval`), seconds.
    pub interval: u64,
    /// How the policy is named in the output, e.g. `trimtab (web-balanced)`.
    pub label: String,
    pub mode: Mode,
    /// How the capacity was chosen, for the header.
    pub fit: String,
}

#[derive(Serialize)]
pub struct RunReport {
    pub name: String,
    #[serde(flatten)]
    pub metrics: Elasticity,
    /// Billed task-hours over the oracle's.
    pub cost_vs_oracle: f64,
}

#[derive(Serialize)]
pub struct Report {
    pub trace: String,
    pub trace_step_seconds: u64,
    pub trace_rows: usize,
    pub fit: String,
    pub params: WorldParams,
    pub start: DateTime<Utc>,
    pub bounds: Bounds,
    pub simulation_step_seconds: u64,
    pub runs: Vec<RunReport>,
    #[serde(skip)]
    pub outcomes: Vec<Outcome>,
}

/// Runs the requested controllers, always with the oracle as the cost yardstick.
pub fn run(req: Request) -> Report {
    let (with_policy, others): (bool, Vec<&str>) = match &req.mode {
        Mode::Policy => (true, vec![]),
        Mode::Baseline(name) => (false, vec![name.as_str()]),
        Mode::Compare => (true, baselines::NAMES.iter().copied().filter(|n| *n != "oracle").collect()),
    };
    let policy = with_policy.then(|| {
        Box::new(TrimtabController::new(&req.label, req.policy.clone(), req.interval)) as Box<dyn Controller>
    });
    let mut controllers: Vec<Box<dyn Controller>> =
        policy.into_iter().chain(others.into_iter().map(|n| baseline(n, &req.params))).collect();
    controllers.push(Box::new(Oracle));
    let intervals: Vec<u64> = controllers.iter().map(|c| c.interval()).collect();
    let sim = Simulation::new(&req.trace, req.params, req.start, req.bounds, &intervals);
    let outcomes: Vec<Outcome> = controllers.iter_mut().map(|c| sim.run(c.as_mut())).collect();
    let oracle_hours = outcomes.last().map_or(1, |o| o.billed_seconds.max(1)) as f64;
    let full = req.params.full_capacity();
    let runs = outcomes
        .iter()
        .map(|o| RunReport {
            name: o.name.clone(),
            metrics: measure(&o.timeline, o.billed_seconds, full),
            cost_vs_oracle: o.billed_seconds as f64 / oracle_hours,
        })
        .collect();
    Report {
        trace: req.trace.name.clone(),
        trace_step_seconds: req.trace.step,
        trace_rows: req.trace.values.len(),
        fit: req.fit,
        params: req.params,
        start: req.start,
        bounds: req.bounds,
        simulation_step_seconds: sim.step,
        runs,
        outcomes,
    }
}

fn baseline(name: &str, p: &WorldParams) -> Box<dyn Controller> {
    baselines::by_name(name, p.target_utilization).expect("baseline names are checked by the CLI")
}

/// The summary table.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let days = (r.trace_rows as u64 * r.trace_step_seconds) as f64 / 86_400.0;
    let p = &r.params;
    let _ = writeln!(
        out,
        "trace:  {} ({} rows × {} s = {days:.1} days)",
        r.trace, r.trace_rows, r.trace_step_seconds
    );
    let _ = writeln!(
        out,
        "world:  C = {:.4} load/task at {:.0}% CPU ({}), start delay {} s, metric delay {} s, bounds {}",
        p.capacity,
        100.0 * p.target_utilization,
        r.fit,
        p.start_delay,
        p.metric_delay,
        r.bounds
    );
    let _ = writeln!(out);
    let mut t = Table::new([
        "controller",
        "θ_U %",
        "θ_O %",
        "τ_U %",
        "τ_O %",
        "instab. %",
        "actions",
        "task-hours",
        "overload min",
        "mean CPU %",
        "cost/oracle",
    ]);
    for run in &r.runs {
        let m = &run.metrics;
        t.row(vec![
            run.name.clone(),
            format!("{:.2}", m.theta_u),
            format!("{:.2}", m.theta_o),
            format!("{:.2}", m.tau_u),
            format!("{:.2}", m.tau_o),
            format!("{:.2}", m.instability),
            m.actions.to_string(),
            format!("{:.1}", m.task_hours),
            format!("{:.0}", m.overload_minutes),
            m.mean_cpu.map_or("-".into(), |c| format!("{c:.1}")),
            format!("{:.3}", run.cost_vs_oracle),
        ]);
    }
    out.push_str(&t.render());
    let _ = writeln!(
        out,
        "\nθ_U/θ_O: mean shortfall/excess of running tasks relative to demand; τ_U/τ_O: share of time short/over;\n\
         overload: minutes with load above the running tasks' full capacity; mean CPU: of the running tasks, over time;\n\
         cost: billed task-hours (per second, 1 min minimum)."
    );
    out
}

/// The per-step CSV of the first run, with the other runs' running counts as extra columns.
pub fn timeline_csv(r: &Report) -> String {
    let Some((first, others)) = r.outcomes.split_first() else { return String::new() };
    let mut out = String::from("t_seconds,load,demand_tasks,desired,running,cpu_pct,event");
    for o in others {
        let _ = write!(out, ",running_{}", o.name.replace([' ', '(', ')', ','], "_"));
    }
    out.push('\n');
    let mut events = first.timeline.events.iter().peekable();
    for (i, row) in first.timeline.rows.iter().enumerate() {
        let event = match events.peek() {
            Some(e) if e.t == row.t => events.next().map_or(String::new(), |e| e.reason.replace(',', ";")),
            _ => String::new(),
        };
        let _ = write!(
            out,
            "{},{},{},{},{},{:.1},{event}",
            row.t, row.load, row.demand, row.desired, row.running, row.cpu_pct
        );
        for o in others {
            let _ = write!(out, ",{}", o.timeline.rows.get(i).map_or(0, |r| r.running));
        }
        out.push('\n');
    }
    out
}
