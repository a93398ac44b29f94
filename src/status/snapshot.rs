//! What the loop publishes after every tick. API handlers only read it; nothing in here is
//! shared mutable state.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CostView, Role, VerticalStatus};
use crate::core::cost::NotifyCounters;
use crate::core::policy::TargetType;
use crate::core::{Decision, ManualOverride, Policy};

/// Ticks and actions kept for `/history`: a ring, never a leak.
pub const HISTORY_LEN: usize = 240;

#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    pub version: &'static str,
    pub started_at: DateTime<Utc>,
    /// `ecs` or `local`.
    pub mode: &'static str,
    pub dry_run: bool,
    pub interval_seconds: i64,
    /// `cluster/service`, or `local`.
    pub service: String,
    pub ticks: u64,
    pub role: Role,
    pub last: Option<Tick>,
    pub cooldowns: Cooldowns,
    pub manual_override: Option<ManualOverride>,
    /// Counters since start, for `/metrics`.
    pub counters: Counters,
    /// Newest last.
    pub history: VecDeque<Tick>,
    /// Every action taken (or that would have been, in dry-run), newest last.
    pub actions: VecDeque<ActionRecord>,
    /// Each tick in a few numbers, kept longer than `history`: the dashboard's charts.
    pub series: super::Series,
    /// Spend, forecast and budget, when the task can be priced.
    pub cost: Option<CostView>,
    /// Budget notifications delivered and failed, when `[[notify]]` targets are set.
    pub notifications: Option<NotifyCounters>,
    /// What the last look at resizing the task found (`vertical.mode = "apply"`).
    pub vertical: Option<VerticalStatus>,
    /// The task's scale-in protection, when `[protection]` is enabled and `$ECS_AGENT_URI` set.
    pub protection: Option<super::ProtectionView>,
    /// The policy's band, targets and missing-data rule, as the decisions apply them.
    pub policy: PolicyView,
    /// This task's own signals at its last tick, which the leader gathers from every task's
    /// agent (`GET /peer`).
    pub signals: Option<Signals>,
}

/// One task's own readings of the metrics measured task by task (`source = "ecs"` with
/// `scope = "task"`, `source = "pools"`): what its agent serves the leader at `GET /peer`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// The task's ARN, when its agent knows it.
    pub task: Option<String>,
    pub samples: BTreeMap<String, crate::core::Sample>,
    /// Why a metric could not be read.
    pub problems: BTreeMap<String, String>,
    /// The app's containers together, against the task's limits, from the local monitor's
    /// latest reading (when it watches the app: in an ECS task).
    #[serde(default)]
    pub app: Option<AppLoad>,
}

/// A task's app load: CPU and memory as % of the task's limits.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppLoad {
    pub at: DateTime<Utc>,
    pub cpu_pct: Option<f64>,
    pub memory_pct: Option<f64>,
}

impl AppLoad {
    /// What the right-sizer sizes the task for: the busiest task's CPU and memory (each its own
    /// busiest), when every task's load is known (`None` in `loads`: a task's is not), else
    /// `None` — a part of the service would under-size it.
    pub fn busiest(loads: &[Option<AppLoad>]) -> Option<(Option<f64>, Option<f64>)> {
        let loads: Vec<AppLoad> = loads.iter().copied().collect::<Option<Vec<_>>>()?;
        let max = |f: fn(&AppLoad) -> Option<f64>| -> Option<Option<f64>> {
            let v: Vec<f64> = loads.iter().map(f).collect::<Option<Vec<f64>>>()?;
            Some(v.into_iter().reduce(f64::max))
        };
        Some((max(|l| l.cpu_pct)?, max(|l| l.memory_pct)?)).filter(|_| !loads.is_empty())
    }
}

/// The parts of the policy an operator reads a decision against.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyView {
    pub min: u32,
    pub max: u32,
    /// Scale out above this score (a ratio to the targets).
    pub scale_out_above: f64,
    pub scale_in_below: f64,
    pub on_missing_data: &'static str,
    /// What `on_missing_data` does, in words.
    pub on_missing_data_means: &'static str,
    pub metrics: Vec<MetricView>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MetricView {
    pub name: String,
    pub target: f64,
    pub target_type: TargetType,
    pub weight: f64,
    pub activation: f64,
}

impl PolicyView {
    pub fn of(p: &Policy) -> Self {
        let metrics = p
            .metrics
            .iter()
            .map(|m| MetricView {
                name: m.name.clone(),
                target: m.target,
                target_type: m.target_type,
                weight: m.weight,
                activation: m.activation,
            })
            .collect();
        PolicyView {
            min: p.bounds.min().get(),
            max: p.bounds.max().get(),
            scale_out_above: p.thresholds.scale_out,
            scale_in_below: p.thresholds.scale_in,
            on_missing_data: p.on_missing_data.as_str(),
            on_missing_data_means: p.on_missing_data.meaning(),
            metrics,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Cooldowns {
    pub last_scale_out: Option<DateTime<Utc>>,
    pub last_scale_in: Option<DateTime<Utc>>,
    pub scale_out_until: Option<DateTime<Utc>>,
    pub scale_in_until: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Counters {
    pub decisions: BTreeMap<String, u64>,
    pub scale_out: u64,
    pub scale_in: u64,
    /// By `operation kind`, e.g. `ecs:UpdateService throttled`.
    pub aws_errors: BTreeMap<String, u64>,
    /// By metric name.
    pub metric_problems: BTreeMap<String, u64>,
    pub failed_ticks: u64,
    /// How long the ticks took, in seconds, for `/metrics`.
    #[serde(skip)]
    pub tick_seconds: super::Histogram,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServiceView {
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    pub deployment_in_progress: bool,
}

/// One tick, as `/status` and `/history` show it.
#[derive(Clone, Debug, Serialize)]
pub struct Tick {
    pub at: DateTime<Utc>,
    pub duration_ms: u64,
    pub service: Option<ServiceView>,
    pub decision: Option<Decision>,
    pub action: Action,
    /// Metrics that could not be read this tick, with the reason.
    pub problems: BTreeMap<String, String>,
    /// Why the tick did not complete: the service could not be read (nothing decided), the
    /// tick's deadline passed or a shutdown came (naming the call it stopped in), or the agent's
    /// metrics could not be published. A decision and an action may still be set.
    pub error: Option<String>,
    /// Metrics read from every task, task by task: which task is hot, and who did not answer.
    pub per_task: BTreeMap<String, PerTask>,
}

/// One metric across the service's tasks at a tick.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PerTask {
    /// Tasks that gave a reading, of the tasks asked.
    pub heard: usize,
    pub of: usize,
    /// The task with the highest reading: the hot one.
    pub hottest: Option<String>,
    pub tasks: Vec<TaskReading>,
}

/// One task's own reading of a metric, or why there is none.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskReading {
    /// The task's ARN.
    pub task: String,
    pub ip: std::net::IpAddr,
    pub value: Option<f64>,
    pub problem: Option<String>,
}

#[cfg(test)]
mod busiest_tests {
    use super::AppLoad;

    #[test]
    fn the_busiest_task_sizes_the_task_only_when_every_task_is_known() {
        let at = chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap();
        let l = |cpu: f64, memory: f64| Some(AppLoad { at, cpu_pct: Some(cpu), memory_pct: Some(memory) });
        // CPU from the task hottest in CPU, memory from the one fullest in memory.
        assert_eq!(
            AppLoad::busiest(&[l(20.0, 70.0), l(90.0, 30.0), l(10.0, 10.0)]),
            Some((Some(90.0), Some(70.0)))
        );
        assert_eq!(AppLoad::busiest(&[l(20.0, 70.0), None]), None, "one task unknown: not sized on the rest");
        assert_eq!(AppLoad::busiest(&[]), None);
        let no_memory = Some(AppLoad { at, cpu_pct: Some(5.0), memory_pct: None });
        assert_eq!(AppLoad::busiest(&[l(20.0, 70.0), no_memory]), None);
    }
}

impl PerTask {
    /// From each task's reading (`Err`: why none).
    pub fn of(readings: impl IntoIterator<Item = (String, std::net::IpAddr, Result<f64, String>)>) -> Self {
        let tasks: Vec<TaskReading> = readings
            .into_iter()
            .map(|(task, ip, r)| TaskReading { task, ip, value: r.as_ref().ok().copied(), problem: r.err() })
            .collect();
        let hottest = tasks
            .iter()
            .filter_map(|t| t.value.map(|v| (v, &t.task)))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, task)| task.clone());
        let heard = tasks.iter().filter(|t| t.value.is_some()).count();
        PerTask { heard, of: tasks.len(), hottest, tasks }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// The decision keeps the count.
    None,
    Applied {
        from: u32,
        to: u32,
    },
    /// `dry_run`: logged, not applied.
    DryRun {
        from: u32,
        to: u32,
    },
    /// Another agent is the leader.
    NotLeader {
        from: u32,
        to: u32,
    },
    Failed {
        from: u32,
        to: u32,
        error: String,
    },
    /// No decision was made (e.g. the service could not be read).
    Skipped,
    /// A sidecar follower: another task's agent leads, and this one reads nothing from AWS.
    Following,
    /// `trimtab:paused = true` on the service: decided and reported, not applied.
    Paused {
        from: u32,
        to: u32,
    },
    /// A controller owns the service since less than an interval (the handover rule): decided
    /// and reported, not applied.
    Handover {
        from: u32,
        to: u32,
    },
    /// A controller's change that waits for its next tick: its share of the account's
    /// `UpdateService` rate for the tick is spent, or the tick's time to start changes passed.
    Deferred {
        from: u32,
        to: u32,
        why: String,
    },
}

/// How logs and `run --once` say it.
impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::None => write!(f, "none (the count stays)"),
            Action::Applied { from, to } => write!(f, "desired count set {from} -> {to}"),
            Action::DryRun { from, to } => write!(f, "dry run: would set the desired count {from} -> {to}"),
            Action::NotLeader { from, to } => {
                write!(f, "none: not the leader (the leader would set {from} -> {to})")
            }
            Action::Failed { from, to, error } => write!(f, "FAILED to set {from} -> {to}: {error}"),
            Action::Skipped => write!(f, "none: no decision"),
            Action::Following => write!(f, "none: a follower (another task's agent decides)"),
            Action::Paused { from, to } => write!(f, "none: paused (would set {from} -> {to})"),
            Action::Deferred { from, to, why } => {
                write!(f, "deferred to the next tick: {why} (would set {from} -> {to})")
            }
            Action::Handover { from, to } => {
                write!(f, "none: took over less than an interval ago (would set {from} -> {to})")
            }
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ActionRecord {
    pub at: DateTime<Utc>,
    pub action: Action,
    pub reason: String,
    pub message: String,
}

pub fn push_bounded<T>(ring: &mut VecDeque<T>, item: T) {
    ring.push_back(item);
    while ring.len() > HISTORY_LEN {
        ring.pop_front();
    }
}
