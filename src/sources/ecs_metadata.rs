//! Task metadata and stats from the ECS task metadata endpoint v4 (`$ECS_CONTAINER_METADATA_URI_V4`).
//!
//! The agent runs as a sidecar inside the task it watches, so the endpoint gives first-hand data
//! about that task: its CPU and memory limits (`/task`) and Docker stats for every container in it
//! (`/task/stats`). That is the whole task's usage, unlike our own cgroup, which only sees the
//! sidecar. This module only parses response bodies and does the arithmetic; fetching them is left to
//! the caller, so everything here is pure and tested against payloads published by AWS and others
//! (`tests/fixtures/ecs-metadata/README.md` says which).
//!
//! Shapes follow the AWS documentation ("Task metadata endpoint version 4"): `/task` keys are
//! PascalCase, the stats are Docker's snake_case `ContainerStats`. Unknown keys are ignored because
//! AWS adds fields to v4 over time and promises only never to remove or rename them.
//!
//! **Which OS.** `/task` does not say; each container's stats do. Docker's `os_type` decides when
//! present (daemons from v29 send it); otherwise a container is Windows when `num_procs` is above
//! zero (Docker: "Windows-specific and always zero for Linux containers") or when its memory is a
//! `privateworkingset` with no `usage`, and Linux otherwise.
//!
//! **CPU.** `cpu_stats.cpu_usage.total_usage` is cumulative CPU time, in nanoseconds on Linux and in
//! 100 ns intervals on Windows (Docker API, `ContainerCPUUsage`); we turn both into nanoseconds.
//! Task CPU % = 100 × Δcpu_ns / (Δwall_ns × task vCPUs): the Docker CLI's Windows formula
//! (`calculateCPUPercentWindows`: used 100 ns intervals / (elapsed 100 ns intervals × `num_procs`)),
//! with the task's vCPUs in place of the host's processors, so 100 means the task used all the CPU
//! it may use, the same scale as CloudWatch's `AWS/ECS` `CPUUtilization`.
//!
//! **Memory.** The ECS agent's rule for CloudWatch `MemoryUtilization` (`agent/stats/utils_unix.go`,
//! the same as Docker's API reference for `docker stats`): Linux `memory_stats.usage` minus
//! `stats.cache` (cgroup v1, where `cache` exists) or minus `stats.inactive_file` (cgroup v2), the
//! subtraction skipped when it would not leave something; Windows `memory_stats.privateworkingset`.
//! Both are divided by the task's memory limit from `/task`.
//!
//! A field these need that a container left out makes that metric [`Unavailable`], never zero.

mod containers;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Deserialize;

pub use containers::{
    ContainerStats, ContainerUsage, parse_container_name, parse_container_stats, per_container,
};

/// What scaling needs from `/task`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInfo {
    pub task_arn: String,
    pub cluster: String,
    pub family: String,
    pub revision: String,
    /// `FARGATE` or `EC2`; absent on old EC2 agents (before 1.45.0).
    pub launch_type: Option<String>,
    pub known_status: String,
    /// Task-level `Limits.CPU`, in vCPUs. Always set on Fargate; often absent on EC2.
    pub cpu_limit_vcpu: Option<f64>,
    /// Task-level `Limits.Memory`, in MiB.
    pub memory_limit_mib: Option<f64>,
    pub containers: Vec<ContainerInfo>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerInfo {
    /// Key of this container in `/task/stats`.
    pub docker_id: String,
    pub name: String,
    /// Container `Limits.CPU`, in CPU units (1024 = 1 vCPU).
    pub cpu_units: Option<f64>,
    /// Container `Limits.Memory`, in MiB.
    pub memory_mib: Option<f64>,
}

/// The least CPU a limit may name: one CPU unit (1/1024 vCPU); anything less is not a value ECS
/// can hold (a fuzzed `1e-308` made the CPU % infinite). Small EC2 reservations still give large
/// percentages, as CloudWatch's own `CPUUtilization` does for them: a reservation is a share,
/// not a cap.
const MIN_VCPU: f64 = 1.0 / 1024.0;

/// The least memory a limit may name: 4 MiB (Docker refuses less than 6). Below it the payload is
/// absurd, and a percentage against it would read as an overload.
const MIN_MEMORY_MIB: f64 = 4.0;

impl TaskInfo {
    /// The vCPUs the task may use: task `Limits.CPU`, else the containers' CPU units / 1024 (EC2 tasks
    /// without a task-level size), else `None`. A limit under [`MIN_VCPU`] is no limit.
    pub fn effective_vcpu(&self) -> Option<f64> {
        at_least(self.cpu_limit_vcpu, MIN_VCPU).or_else(|| {
            at_least(Some(self.containers.iter().filter_map(|c| c.cpu_units).sum::<f64>() / 1024.0), MIN_VCPU)
        })
    }

    /// The task's memory ceiling in MiB: task `Limits.Memory`, else the sum of container limits.
    pub fn effective_memory_mib(&self) -> Option<f64> {
        at_least(self.memory_limit_mib, MIN_MEMORY_MIB).or_else(|| {
            at_least(Some(self.containers.iter().filter_map(|c| c.memory_mib).sum()), MIN_MEMORY_MIB)
        })
    }
}

/// A finite limit of at least `least`.
fn at_least(v: Option<f64>, least: f64) -> Option<f64> {
    v.filter(|x| x.is_finite() && *x >= least)
}

/// A response body that could not be understood. `what` says which endpoint and why, e.g.
/// "task metadata: missing field `TaskARN` at line 1 column 20".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError {
    pub what: String,
}

impl MetadataError {
    fn new(endpoint: &str, problem: impl fmt::Display) -> MetadataError {
        MetadataError { what: format!("{endpoint}: {problem}") }
    }
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for MetadataError {}

const TASK: &str = "task metadata";
const STATS: &str = "task stats";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawTask {
    #[serde(rename = "TaskARN")]
    task_arn: String,
    cluster: String,
    family: String,
    revision: String,
    launch_type: Option<String>,
    known_status: String,
    limits: Option<RawLimits>,
    #[serde(default)]
    containers: Vec<RawContainer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawContainer {
    docker_id: String,
    name: String,
    limits: Option<RawLimits>,
}

#[derive(Deserialize)]
struct RawLimits {
    #[serde(rename = "CPU")]
    cpu: Option<f64>,
    #[serde(rename = "Memory")]
    memory: Option<f64>,
}

/// Parses the body of `${ECS_CONTAINER_METADATA_URI_V4}/task`.
pub fn parse_task(json: &str) -> Result<TaskInfo, MetadataError> {
    let raw: RawTask = serde_json::from_str(json).map_err(|e| MetadataError::new(TASK, e))?;
    let (cpu, memory) = raw.limits.map_or((None, None), |l| (l.cpu, l.memory));
    Ok(TaskInfo {
        task_arn: raw.task_arn,
        cluster: raw.cluster,
        family: raw.family,
        revision: raw.revision,
        launch_type: raw.launch_type,
        known_status: raw.known_status,
        cpu_limit_vcpu: cpu,
        memory_limit_mib: memory,
        containers: raw
            .containers
            .into_iter()
            .map(|c| {
                let (cpu, memory) = c.limits.map_or((None, None), |l| (l.cpu, l.memory));
                ContainerInfo { docker_id: c.docker_id, name: c.name, cpu_units: cpu, memory_mib: memory }
            })
            .collect(),
    })
}

/// The kernel whose counters a container's stats carry: units and fields differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
}

impl fmt::Display for Os {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Os::Linux => "Linux",
            Os::Windows => "Windows",
        })
    }
}

/// Windows counts CPU time in 100 ns intervals (Docker API, `ContainerCPUUsage.total_usage`).
const WINDOWS_CPU_TICK_NS: u64 = 100;

/// Go's zero `time.Time`, `0001-01-01T00:00:00Z`, in Unix seconds: what Docker and the ECS agent
/// send as `read`/`preread` when there is no sample (the agent checks `Read.IsZero()`).
const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;

fn is_sample_time(t: DateTime<Utc>) -> bool {
    t.timestamp() > GO_ZERO_TIME_UNIX
}

/// Cumulative CPU time of the task's containers at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuReading {
    pub at: DateTime<Utc>,
    /// Summed over the containers, in nanoseconds whatever the OS.
    pub used_ns: u64,
}

impl CpuReading {
    /// vCPUs busy on average from `earlier` to `self`; `None` unless both time and counter moved
    /// forward (a counter going back means a container restarted).
    fn vcpus_since(&self, earlier: &CpuReading) -> Option<f64> {
        let used_ns = self.used_ns.checked_sub(earlier.used_ns)?;
        let elapsed_ns = (self.at - earlier.at).num_nanoseconds().filter(|&ns| ns > 0)?;
        Some(used_ns as f64 / elapsed_ns as f64)
    }
}

/// A field the arithmetic needs that a container's stats left out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("container {container} has no `{field}` in its {os} stats")]
pub struct Absent {
    pub container: String,
    pub field: &'static str,
    pub os: Os,
}

/// One reading of /task/stats, reduced to what scaling needs.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStats {
    /// When the reading was taken: the latest container `read`.
    pub read: DateTime<Utc>,
    /// Docker IDs of the containers with a sample (the ones counted below), sorted.
    pub containers: Vec<String>,
    /// Windows when any counted container is.
    pub os: Os,
    /// The containers' CPU time at `read`.
    pub cpu: Result<CpuReading, Absent>,
    /// The sample the endpoint kept before this one (`precpu_stats` at `preread`), when every
    /// counted container has one; about a second earlier on Fargate, up to the agent's polling
    /// interval on EC2.
    pub cpu_before: Option<CpuReading>,
    /// Memory that counts against the limit, summed over the counted containers (see the module
    /// docs for the rule per OS).
    pub memory_bytes: Result<u64, Absent>,
}

/// Docker `ContainerStats`, only the fields we use, all optional: a missing one makes the metric
/// that needs it unavailable instead of failing the whole reading.
#[derive(Deserialize)]
struct RawStats {
    read: Option<DateTime<Utc>>,
    preread: Option<DateTime<Utc>>,
    os_type: Option<String>,
    num_procs: Option<u32>,
    cpu_stats: Option<RawCpuStats>,
    precpu_stats: Option<RawCpuStats>,
    memory_stats: Option<RawMemoryStats>,
}

#[derive(Deserialize)]
struct RawCpuStats {
    cpu_usage: Option<RawCpuUsage>,
}

#[derive(Deserialize)]
struct RawCpuUsage {
    total_usage: Option<u64>,
}

#[derive(Deserialize)]
struct RawMemoryStats {
    usage: Option<u64>,
    /// cgroup v1 only: the highest usage, and how often usage hit the limit (Docker leaves
    /// `failcnt` out at zero).
    max_usage: Option<u64>,
    failcnt: Option<u64>,
    privateworkingset: Option<u64>,
    stats: Option<RawMemoryDetail>,
}

/// The page cache the kernel can drop before it OOM-kills: `cache` on cgroup v1, `inactive_file`
/// on cgroup v2 (v1 has an `inactive_file` too, but the ECS agent subtracts `cache` there).
#[derive(Deserialize)]
struct RawMemoryDetail {
    cache: Option<u64>,
    inactive_file: Option<u64>,
}

const CPU_FIELD: &str = "cpu_stats.cpu_usage.total_usage";

impl RawStats {
    fn os(&self) -> Os {
        let memory = self.memory_stats.as_ref();
        let working_set_only = memory.is_some_and(|m| m.usage.is_none() && m.privateworkingset > Some(0));
        match self.os_type.as_deref() {
            Some("windows") => Os::Windows,
            Some("linux") => Os::Linux,
            _ if self.num_procs > Some(0) || working_set_only => Os::Windows,
            _ => Os::Linux,
        }
    }

    /// CPU time in nanoseconds from `cpu_stats` or `precpu_stats`.
    fn cpu_ns(stats: Option<&RawCpuStats>, os: Os) -> Option<u64> {
        let total = stats?.cpu_usage.as_ref()?.total_usage?;
        Some(match os {
            Os::Linux => total,
            Os::Windows => total.saturating_mul(WINDOWS_CPU_TICK_NS),
        })
    }

    /// Memory that counts against the limit, `Err(field)` naming what is missing.
    fn memory_bytes(&self, os: Os) -> Result<u64, &'static str> {
        let m = self.memory_stats.as_ref();
        match os {
            Os::Windows => m.and_then(|m| m.privateworkingset).ok_or("memory_stats.privateworkingset"),
            Os::Linux => {
                let m = m.ok_or("memory_stats.usage")?;
                let usage = m.usage.ok_or("memory_stats.usage")?;
                let reclaimable = m.stats.as_ref().and_then(|d| d.cache.or(d.inactive_file));
                Ok(reclaimable.filter(|&r| r < usage).map_or(usage, |r| usage - r))
            }
        }
    }
}

/// One container's sample, in common units.
#[derive(Debug)]
struct Sample {
    id: String,
    os: Os,
    read: DateTime<Utc>,
    cpu_ns: Result<u64, Absent>,
    before: Option<CpuReading>,
    memory: Result<u64, Absent>,
    /// `memory_stats.max_usage` (cgroup v1).
    memory_peak: Option<u64>,
    /// `memory_stats.failcnt` on cgroup v1 (recognised by `max_usage` or `stats.cache`), else `None`.
    limit_hits: Option<u64>,
}

impl Sample {
    /// `None` for a container without a sample: `null` or `{}` while it starts or stops, or a
    /// `read` at Go's zero time.
    fn from_raw(id: String, raw: RawStats) -> Option<Sample> {
        let read = raw.read.filter(|&t| is_sample_time(t))?;
        let os = raw.os();
        let absent = |field| Absent { container: id.clone(), field, os };
        let before = raw.preread.filter(|&t| is_sample_time(t)).and_then(|at| {
            RawStats::cpu_ns(raw.precpu_stats.as_ref(), os).map(|used_ns| CpuReading { at, used_ns })
        });
        let m = raw.memory_stats.as_ref();
        let v1 =
            m.is_some_and(|m| m.max_usage.is_some() || m.stats.as_ref().is_some_and(|d| d.cache.is_some()));
        Some(Sample {
            memory_peak: m.and_then(|m| m.max_usage),
            limit_hits: m.filter(|_| v1).map(|m| m.failcnt.unwrap_or(0)),
            cpu_ns: RawStats::cpu_ns(raw.cpu_stats.as_ref(), os).ok_or_else(|| absent(CPU_FIELD)),
            memory: raw.memory_bytes(os).map_err(absent),
            id,
            os,
            read,
            before,
        })
    }
}

/// Sums what the containers' samples say into one task reading; `None` without samples.
fn task_stats(samples: Vec<Sample>) -> Option<TaskStats> {
    let read = samples.iter().map(|s| s.read).max()?;
    let before = samples.iter().map(|s| s.before).collect::<Option<Vec<_>>>();
    Some(TaskStats {
        read,
        containers: samples.iter().map(|s| s.id.clone()).collect(),
        os: if samples.iter().any(|s| s.os == Os::Windows) { Os::Windows } else { Os::Linux },
        cpu: sum(samples.iter().map(|s| s.cpu_ns.clone())).map(|used_ns| CpuReading { at: read, used_ns }),
        cpu_before: before.and_then(|b| {
            let at = b.iter().map(|r| r.at).max()?;
            Some(CpuReading { at, used_ns: b.iter().fold(0, |total, r| total.saturating_add(r.used_ns)) })
        }),
        memory_bytes: sum(samples.iter().map(|s| s.memory.clone())),
    })
}

/// The sum, saturating rather than overflowing on absurd counters; the first error if any.
fn sum<E>(mut values: impl Iterator<Item = Result<u64, E>>) -> Result<u64, E> {
    values.try_fold(0u64, |total, v| Ok(total.saturating_add(v?)))
}

/// Parses the body of `${ECS_CONTAINER_METADATA_URI_V4}/task/stats`: a map from Docker ID to that
/// container's stats. Containers without a sample are skipped; if none is left there is no
/// reading to take, which is an error (usually transient, right after the task starts).
pub fn parse_stats(json: &str) -> Result<TaskStats, MetadataError> {
    let raw: BTreeMap<String, Option<RawStats>> =
        serde_json::from_str(json).map_err(|e| MetadataError::new(STATS, e))?;
    let samples = raw.into_iter().filter_map(|(id, s)| Sample::from_raw(id, s?)).collect();
    task_stats(samples).ok_or_else(|| MetadataError::new(STATS, "no container has reported stats yet"))
}

/// Why a task CPU or memory % can't be had from a reading. The metric is then missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("the task has no CPU limit (task or container Limits.CPU)")]
    NoCpuLimit,
    #[error("the task has no memory limit (task or container Limits.Memory)")]
    NoMemoryLimit,
    #[error("no earlier CPU sample of the same containers to compare with")]
    NoEarlierSample,
    #[error(transparent)]
    Absent(#[from] Absent),
}

/// Task CPU % of the task's vCPUs ([`TaskInfo::effective_vcpu`]): 100 × Δcpu_ns / (Δwall_ns × vCPUs).
///
/// The window is the longest one at hand: since `prev` when it is an earlier reading of the same
/// containers, else since the sample the endpoint kept before `cur` ([`TaskStats::cpu_before`]),
/// as on the first reading or when `cur` repeats `prev` (the agent serves its latest sample, so
/// polling faster than it samples returns the same one). A container that joined or left since
/// `prev` would bring its whole lifetime's CPU into the delta, so `prev` is not used then.
pub fn cpu_percent(prev: Option<&TaskStats>, cur: &TaskStats, task: &TaskInfo) -> Result<f64, Unavailable> {
    let vcpu = task.effective_vcpu().ok_or(Unavailable::NoCpuLimit)?;
    let now = cur.cpu.clone()?;
    let since_prev = prev
        .filter(|p| p.containers == cur.containers)
        .and_then(|p| p.cpu.as_ref().ok())
        .and_then(|p| now.vcpus_since(p));
    let busy = since_prev
        .or_else(|| cur.cpu_before.and_then(|b| now.vcpus_since(&b)))
        .ok_or(Unavailable::NoEarlierSample)?;
    Ok(100.0 * busy / vcpu)
}

const MIB: f64 = 1024.0 * 1024.0;

/// Memory % of the task memory limit ([`TaskInfo::effective_memory_mib`]).
pub fn memory_percent(stats: &TaskStats, task: &TaskInfo) -> Result<f64, Unavailable> {
    let used = stats.memory_bytes.clone()?;
    let limit_mib = task.effective_memory_mib().ok_or(Unavailable::NoMemoryLimit)?;
    Ok(100.0 * used as f64 / (limit_mib * MIB))
}

#[cfg(test)]
#[path = "ecs_metadata_tests.rs"]
mod tests;
