//! Task metadata and stats from the ECS task metadata endpoint v4 (`$ECS_CONTAINER_METADATA_URI_V4`).
//!
//! The agent runs as a sidecar inside the task it watches, so the endpoint gives first-hand data
//! about that task: its CPU and memory limits (`/task`) and Docker stats for every container in it
//! (`/task/stats`). That is the whole task's usage, unlike our own cgroup, which only sees the
//! sidecar. This module only parses response bodies and does the arithmetic; fetching them is left to
//! the caller, so everything here is pure and tested against fixtures in
//! `tests/fixtures/ecs-metadata/`.
//!
//! Shapes follow the AWS documentation ("Task metadata endpoint version 4"): `/task` keys are
//! PascalCase, the stats are Docker's snake_case `ContainerStats`. Unknown keys are ignored because
//! AWS adds fields to v4 over time and promises only never to remove or rename them.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Deserialize;

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

impl TaskInfo {
    /// The vCPUs the task may use: task `Limits.CPU`, else the containers' CPU units / 1024 (EC2 tasks
    /// without a task-level size), else `None`. Zero means "not set", not "no CPU".
    pub fn effective_vcpu(&self) -> Option<f64> {
        positive(self.cpu_limit_vcpu).or_else(|| {
            positive(Some(self.containers.iter().filter_map(|c| c.cpu_units).sum::<f64>() / 1024.0))
        })
    }

    /// The task's memory ceiling in MiB: task `Limits.Memory`, else the sum of container limits.
    pub fn effective_memory_mib(&self) -> Option<f64> {
        positive(self.memory_limit_mib)
            .or_else(|| positive(Some(self.containers.iter().filter_map(|c| c.memory_mib).sum())))
    }
}

fn positive(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite() && *x > 0.0)
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

/// One reading of /task/stats, reduced to what scaling needs.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStats {
    /// When the reading was taken: the latest container `read`.
    pub read: DateTime<Utc>,
    /// Cumulative CPU time of all counted containers, in nanoseconds.
    pub cpu_total_ns: u64,
    /// Memory that can't be reclaimed under pressure, summed over counted containers.
    pub memory_working_set_bytes: u64,
    /// Containers with non-null stats (the ones counted above).
    pub containers: usize,
}

/// Docker `ContainerStats`, only the fields we use. `read` and the CPU counter are required: without
/// them a reading is useless. Memory fields default to zero as some runtimes leave them out.
#[derive(Deserialize)]
struct RawStats {
    read: DateTime<Utc>,
    cpu_stats: RawCpuStats,
    #[serde(default)]
    memory_stats: Option<RawMemoryStats>,
}

#[derive(Deserialize)]
struct RawCpuStats {
    cpu_usage: RawCpuUsage,
}

#[derive(Deserialize)]
struct RawCpuUsage {
    total_usage: u64,
}

#[derive(Deserialize)]
struct RawMemoryStats {
    #[serde(default)]
    usage: u64,
    #[serde(default)]
    stats: Option<RawMemoryDetail>,
}

/// `inactive_file` is cgroup v2's (and v1's own-cgroup) name, `total_inactive_file` v1's hierarchical
/// one; older setups report only `cache`.
#[derive(Deserialize)]
struct RawMemoryDetail {
    inactive_file: Option<u64>,
    total_inactive_file: Option<u64>,
    cache: Option<u64>,
}

impl RawMemoryStats {
    /// `usage` minus inactive page cache, which the kernel drops before OOM-killing, so it doesn't
    /// count against the limit; `docker stats` reports memory the same way.
    fn working_set(&self) -> u64 {
        let d = self.stats.as_ref();
        let inactive = d.and_then(|d| d.inactive_file.or(d.total_inactive_file).or(d.cache)).unwrap_or(0);
        self.usage.saturating_sub(inactive)
    }
}

/// Sums over containers with non-null stats; `read` = latest container `read` timestamp; memory
/// working set = usage - (inactive_file or total_inactive_file or cache, in that preference),
/// saturating at 0.
///
/// A container's value is `null` while it starts or stops; a `read` of Docker's zero time
/// (`0001-01-01T00:00:00Z`) is an empty sample. Both are skipped. If no container is left there is
/// no reading to take, which is an error (usually transient, right after the task starts).
pub fn parse_stats(json: &str) -> Result<TaskStats, MetadataError> {
    let raw: BTreeMap<String, Option<RawStats>> =
        serde_json::from_str(json).map_err(|e| MetadataError::new(STATS, e))?;
    let mut read: Option<DateTime<Utc>> = None;
    let (mut cpu, mut memory, mut containers) = (0u64, 0u64, 0usize);
    for s in raw.into_values().flatten().filter(|s| s.read.timestamp() > 0) {
        read = read.max(Some(s.read));
        cpu = cpu.saturating_add(s.cpu_stats.cpu_usage.total_usage);
        memory = memory.saturating_add(s.memory_stats.as_ref().map_or(0, RawMemoryStats::working_set));
        containers += 1;
    }
    let read = read.ok_or_else(|| MetadataError::new(STATS, "no container has reported stats yet"))?;
    Ok(TaskStats { read, cpu_total_ns: cpu, memory_working_set_bytes: memory, containers })
}

/// Task CPU % of the task's CPU limit between two readings: 100 * Δcpu_total_ns / (Δread_ns * vcpu),
/// with vcpu from [`TaskInfo::effective_vcpu`]. 100 means the task used all the CPU it may use.
///
/// `None` on non-positive elapsed time, a counter going backwards (a container restarted or left),
/// no limit, or a change in the number of reporting containers: one that just appeared brings its
/// whole lifetime's CPU into the delta.
pub fn cpu_percent(prev: &TaskStats, cur: &TaskStats, task: &TaskInfo) -> Option<f64> {
    if prev.containers != cur.containers {
        return None;
    }
    let vcpu = task.effective_vcpu()?;
    let used_ns = cur.cpu_total_ns.checked_sub(prev.cpu_total_ns)?;
    let elapsed_ns = (cur.read - prev.read).num_nanoseconds().filter(|&ns| ns > 0)?;
    Some(100.0 * used_ns as f64 / (elapsed_ns as f64 * vcpu))
}

/// Memory % of the task memory limit ([`TaskInfo::effective_memory_mib`]), `None` without a limit.
pub fn memory_percent(stats: &TaskStats, task: &TaskInfo) -> Option<f64> {
    let limit_mib = task.effective_memory_mib()?;
    Some(100.0 * stats.memory_working_set_bytes as f64 / (limit_mib * 1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ecs-metadata/");
    const MIB: u64 = 1024 * 1024;

    fn fixture(name: &str) -> String {
        let path = format!("{FIXTURES}{name}");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn task(name: &str) -> TaskInfo {
        parse_task(&fixture(name)).unwrap()
    }

    fn stats(name: &str) -> TaskStats {
        parse_stats(&fixture(name)).unwrap()
    }

    fn ts(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn parses_fargate_task() {
        let t = task("task-fargate.json");
        assert_eq!(
            t.task_arn,
            "arn:aws:ecs:us-east-1:111122223333:task/prod/3c2a8f1e9b7d4e6fa0b1c2d3e4f5a6b7"
        );
        assert_eq!(t.cluster, "arn:aws:ecs:us-east-1:111122223333:cluster/prod");
        assert_eq!((t.family.as_str(), t.revision.as_str()), ("checkout-api", "42"));
        assert_eq!(t.launch_type.as_deref(), Some("FARGATE"));
        assert_eq!(t.known_status, "RUNNING");
        assert_eq!((t.cpu_limit_vcpu, t.memory_limit_mib), (Some(0.5), Some(1024.0)));
        assert_eq!(
            t.containers[1],
            ContainerInfo {
                docker_id: "3c2a8f1e9b7d4e6fa0b1c2d3e4f5a6b7-1186920453".into(),
                name: "trimtab".into(),
                cpu_units: Some(128.0),
                memory_mib: Some(256.0),
            }
        );
        assert_eq!(t.containers.len(), 2);
        assert_eq!((t.effective_vcpu(), t.effective_memory_mib()), (Some(0.5), Some(1024.0)));
    }

    #[test]
    fn ec2_task_without_task_limits_falls_back_to_container_limits() {
        let t = task("task-ec2.json");
        assert_eq!(t.launch_type.as_deref(), Some("EC2"));
        assert_eq!((t.cpu_limit_vcpu, t.memory_limit_mib), (None, None));
        let names: Vec<_> = t.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["~internal~ecs~pause", "app", "trimtab"]);
        // (0 + 512 + 128) units / 1024 = 0.625 vCPU; 0 + 768 + 256 = 1024 MiB.
        assert_eq!((t.effective_vcpu(), t.effective_memory_mib()), (Some(0.625), Some(1024.0)));

        // Only Memory at task level: CPU still falls back, memory doesn't.
        let json = fixture("task-ec2.json").replacen(
            "\"LaunchType\"",
            "\"Limits\": {\"Memory\": 2048}, \"LaunchType\"",
            1,
        );
        let t = parse_task(&json).unwrap();
        assert_eq!((t.effective_vcpu(), t.effective_memory_mib()), (Some(0.625), Some(2048.0)));
    }

    #[test]
    fn parses_fargate_stats() {
        let s = stats("task-stats-fargate-1.json");
        assert_eq!(s.containers, 2);
        // The app's read is later than the sidecar's (…101533409Z).
        assert_eq!(s.read, ts("2024-05-14T09:30:00.104213857Z"));
        assert_eq!(s.cpu_total_ns, 52_318_440_917 + 1_204_557_301);
        // app 400 MiB - 48 MiB inactive_file, sidecar 24 - 4 MiB.
        assert_eq!(s.memory_working_set_bytes, 352 * MIB + 20 * MIB);

        let s = stats("task-stats-fargate-2.json");
        assert_eq!(s.read, ts("2024-05-14T09:30:10.104213857Z"));
        assert_eq!(s.cpu_total_ns, 54_168_440_917 + 1_354_557_301);
        assert_eq!(s.memory_working_set_bytes, 366 * MIB + 20 * MIB);
    }

    #[test]
    fn cpu_percent_between_fixture_readings() {
        let (prev, cur) = (stats("task-stats-fargate-1.json"), stats("task-stats-fargate-2.json"));
        // ΔCPU = 55_522_998_218 - 53_522_998_218 = 2_000_000_000 ns (app 1.85 s + sidecar 0.15 s);
        // Δread = 09:30:10.104213857 - 09:30:00.104213857 = 10_000_000_000 ns.
        // Fargate, 0.5 vCPU: 100 * 2e9 / (1e10 * 0.5) = 40 %.
        assert!(close(cpu_percent(&prev, &cur, &task("task-fargate.json")), 40.0));
        // EC2 fallback, 640 / 1024 = 0.625 vCPU: 100 * 2e9 / (1e10 * 0.625) = 32 %.
        assert!(close(cpu_percent(&prev, &cur, &task("task-ec2.json")), 32.0));
    }

    #[test]
    fn cpu_percent_none_when_the_delta_is_meaningless() {
        let (prev, cur) = (stats("task-stats-fargate-1.json"), stats("task-stats-fargate-2.json"));
        let t = task("task-fargate.json");
        assert_eq!(cpu_percent(&cur, &prev, &t), None, "time and counter going backwards");
        assert_eq!(cpu_percent(&cur, &cur, &t), None, "zero elapsed");
        let restarted = TaskStats { cpu_total_ns: 1, read: ts("2024-05-14T09:30:20Z"), ..cur.clone() };
        assert_eq!(cpu_percent(&cur, &restarted, &t), None, "counter reset");
        let grew = TaskStats { containers: 3, ..cur.clone() };
        assert_eq!(cpu_percent(&prev, &grew, &t), None, "a container joined");
        let unlimited = TaskInfo { cpu_limit_vcpu: None, containers: vec![], ..t };
        assert_eq!(cpu_percent(&prev, &cur, &unlimited), None, "no limit");
    }

    #[test]
    fn memory_percent_of_task_limit() {
        let t = task("task-fargate.json");
        // 372 MiB / 1024 MiB and 386 MiB / 1024 MiB.
        assert!(close(memory_percent(&stats("task-stats-fargate-1.json"), &t), 36.328125));
        assert!(close(memory_percent(&stats("task-stats-fargate-2.json"), &t), 37.6953125));
        // EC2: 768 + 256 MiB from the containers gives the same ceiling.
        assert!(close(
            memory_percent(&stats("task-stats-fargate-2.json"), &task("task-ec2.json")),
            37.6953125
        ));
        let unlimited = TaskInfo { memory_limit_mib: None, containers: vec![], ..t };
        assert_eq!(memory_percent(&stats("task-stats-fargate-2.json"), &unlimited), None);
    }

    #[test]
    fn null_container_is_skipped() {
        let mut v: serde_json::Value = serde_json::from_str(&fixture("task-stats-fargate-1.json")).unwrap();
        v["3c2a8f1e9b7d4e6fa0b1c2d3e4f5a6b7-1186920453"] = serde_json::Value::Null;
        let s = parse_stats(&v.to_string()).unwrap();
        assert_eq!((s.containers, s.cpu_total_ns), (1, 52_318_440_917));
        assert_eq!(s.memory_working_set_bytes, 352 * MIB);

        let e = parse_stats(r#"{"a": null, "b": null}"#).unwrap_err();
        assert_eq!(e.to_string(), "task stats: no container has reported stats yet");
        let zero =
            r#"{"a": {"read": "0001-01-01T00:00:00Z", "cpu_stats": {"cpu_usage": {"total_usage": 0}}}}"#;
        assert!(parse_stats(zero).is_err(), "a zero-time sample is not a reading");
    }

    #[test]
    fn working_set_prefers_inactive_file_then_total_inactive_file_then_cache() {
        let one = |memory: &str| {
            let json = format!(
                r#"{{"c": {{"read": "2020-03-25T21:44:39.071145424Z",
                  "cpu_stats": {{"cpu_usage": {{"total_usage": 5}}}}, "memory_stats": {memory}}}}}"#
            );
            parse_stats(&json).unwrap().memory_working_set_bytes
        };
        let stats = |s: &str| format!(r#"{{"usage": 1000, "stats": {{{s}}}}}"#);
        assert_eq!(one(&stats(r#""inactive_file": 100, "total_inactive_file": 200, "cache": 300"#)), 900);
        assert_eq!(one(&stats(r#""total_inactive_file": 200, "cache": 300"#)), 800);
        assert_eq!(one(&stats(r#""cache": 300"#)), 700);
        assert_eq!(one(&stats("")), 1000);
        assert_eq!(one(&stats(r#""inactive_file": 5000"#)), 0, "saturates");
        assert_eq!(one("{}"), 0);
        assert_eq!(one("null"), 0);
    }

    #[test]
    fn malformed_input_names_the_problem() {
        let e = parse_task(&fixture("task-malformed.json")).unwrap_err();
        assert!(e.what.starts_with("task metadata: EOF while parsing"), "{e}");
        assert!(e.what.contains("line 31"), "{e}");

        let no_arn = r#"{"Cluster": "c", "Family": "f", "Revision": "1", "KnownStatus": "RUNNING"}"#;
        let e = parse_task(no_arn).unwrap_err();
        assert!(e.to_string().starts_with("task metadata: missing field `TaskARN` at line 1"), "{e}");

        let bad_counter =
            r#"{"c": {"read": "2020-03-25T21:44:39Z", "cpu_stats": {"cpu_usage": {"total_usage": "7"}}}}"#;
        let e = parse_stats(bad_counter).unwrap_err();
        assert!(e.what.starts_with("task stats: invalid type: string \"7\", expected u64"), "{e}");

        let e = parse_stats(r#"{"c": {"read": "yesterday", "cpu_stats": {}}}"#).unwrap_err();
        assert!(e.what.starts_with("task stats: "), "{e}");
        assert!(parse_stats("[]").is_err() && parse_task("").is_err());
    }
}
