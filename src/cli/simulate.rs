//! `trimtab simulate`: runs the policy (and baselines) over a trace and reports the elasticity
//! metrics, as a table or JSON, with an optional per-step CSV timeline.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::table::Table;
use crate::core::{Bounds, Policy};
use crate::sim::baselines::{self, Oracle};
use crate::sim::trimtab::TrimtabController;
use crate::sim::{Controller, Elasticity, Outcome, Simulation, Trace, WorldParams, measure};

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
