//! Per container: `/task/stats` joined to `/task`'s containers by Docker ID, so that the local
//! monitor can watch the app the task runs rather than the sidecar watching it.
//!
//! **Who is who.** `${ECS_CONTAINER_METADATA_URI_V4}` itself (no path) describes the container that
//! asks: its `Name` is trimtab's own container, which the caller leaves out. ECS's internal
//! containers (`~internal~ecs~pause` on EC2 `awsvpc` tasks) are left out here. A container of
//! `/task` without a sample in the stats (starting, stopped) has no figures this time.
//!
//! **CPU.** A container's busy vCPUs come from its cumulative `total_usage`: since its previous
//! reading (the same Docker ID, so the same container instance) when that is earlier, else since
//! its own `precpu_stats`. CPU % is of the container's `Limits.CPU` (CPU units / 1024) when it
//! names one, else of the task's vCPUs ([`TaskInfo::effective_vcpu`]). A container's CPU units
//! are a share rather than a cap on Linux, so a busy container with a small reservation reads
//! above 100%, as CloudWatch's per-container figures do.
//!
//! **Memory.** The working set by the ECS agent's rule (see the parent module), as a % of the
//! container's `Limits.Memory` (its hard limit) when set, else of the task's memory.
//!
//! **Out of memory: what the stats can and cannot say.** Docker's stats carry no OOM-kill count,
//! on either cgroup version. On cgroup v1 they carry `memory_stats.failcnt`, how often usage hit the
//! limit (the kernel then reclaims, and kills only when it cannot), and `max_usage`, the peak: a
//! rising `failcnt` is a container pressed against its limit, not a kill. On cgroup v2 neither is
//! there, only the working set against the limit. A kill itself shows only afterwards, as the
//! container coming back under a new Docker ID or with its CPU counter reset; the reader that
//! keeps readings over time looks for that (`sources::local::app`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Absent, CpuReading, MIB, MetadataError, RawStats, Sample, TaskInfo, Unavailable, at_least};
use super::{MIN_MEMORY_MIB, MIN_VCPU};

/// One reading of `/task/stats`, container by container (keyed by Docker ID).
#[derive(Debug, Default)]
pub struct ContainerStats(BTreeMap<String, Sample>);

/// Parses `${ECS_CONTAINER_METADATA_URI_V4}/task/stats`, keeping each container's sample apart.
/// Containers without a sample (`null`, `{}`) are left out; none at all is not an error here.
pub fn parse_container_stats(json: &str) -> Result<ContainerStats, MetadataError> {
    let raw: BTreeMap<String, Option<RawStats>> =
        serde_json::from_str(json).map_err(|e| MetadataError::new(super::STATS, e))?;
    let samples = raw.into_iter().filter_map(|(id, s)| Some((id.clone(), Sample::from_raw(id, s?)?)));
    Ok(ContainerStats(samples.collect()))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawOwn {
    name: String,
}

/// The `Name` from `${ECS_CONTAINER_METADATA_URI_V4}` (container metadata): the asking container.
pub fn parse_container_name(json: &str) -> Result<String, MetadataError> {
    let raw: RawOwn = serde_json::from_str(json).map_err(|e| MetadataError::new("container metadata", e))?;
    Ok(raw.name)
}

/// One container's figures at one reading.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerUsage {
    pub name: String,
    pub docker_id: String,
    /// vCPUs busy on average over the window (see the module docs).
    pub busy_vcpu: Result<f64, Unavailable>,
    /// What CPU % is of: the container's CPU units / 1024, else the task's vCPUs.
    pub cpu_vcpu: Option<f64>,
    pub cpu_pct: Result<f64, Unavailable>,
    /// The cumulative CPU counter, in nanoseconds (a fall means the container restarted).
    pub cpu_used_ns: Option<u64>,
    pub memory_bytes: Result<u64, Absent>,
    /// The container's hard limit, else the task's.
    pub memory_limit_bytes: Option<u64>,
    pub memory_pct: Result<f64, Unavailable>,
    /// `max_usage` (cgroup v1 only).
    pub memory_peak_bytes: Option<u64>,
    /// `failcnt` (cgroup v1 only): times usage hit the limit.
    pub limit_hits: Option<u64>,
}

/// Every container of `task` with a sample in `cur`, but ECS's internal ones; `prev` is the
/// previous reading, for CPU windows longer than the endpoint's own.
pub fn per_container(
    prev: Option<&ContainerStats>,
    cur: &ContainerStats,
    task: &TaskInfo,
) -> Vec<ContainerUsage> {
    task.containers
        .iter()
        .filter(|c| !c.name.starts_with("~internal~"))
        .filter_map(|c| {
            let sample = cur.0.get(&c.docker_id)?;
            let before = prev.and_then(|p| p.0.get(&c.docker_id));
            Some(usage(c, before, sample, task))
        })
        .collect()
}

fn usage(c: &super::ContainerInfo, before: Option<&Sample>, s: &Sample, task: &TaskInfo) -> ContainerUsage {
    let cpu_vcpu = at_least(c.cpu_units.map(|u| u / 1024.0), MIN_VCPU).or_else(|| task.effective_vcpu());
    let busy_vcpu = busy(before, s);
    let cpu_pct = match (&busy_vcpu, cpu_vcpu) {
        (Ok(b), Some(v)) => Ok(100.0 * b / v),
        (Err(e), _) => Err(e.clone()),
        (Ok(_), None) => Err(Unavailable::NoCpuLimit),
    };
    let limit_mib = at_least(c.memory_mib, MIN_MEMORY_MIB).or_else(|| task.effective_memory_mib());
    let memory_pct = match (&s.memory, limit_mib) {
        (Ok(used), Some(l)) => Ok(100.0 * *used as f64 / (l * MIB)),
        (Err(e), _) => Err(Unavailable::Absent(e.clone())),
        (Ok(_), None) => Err(Unavailable::NoMemoryLimit),
    };
    ContainerUsage {
        name: c.name.clone(),
        docker_id: c.docker_id.clone(),
        busy_vcpu,
        cpu_vcpu,
        cpu_pct,
        cpu_used_ns: s.cpu_ns.as_ref().ok().copied(),
        memory_bytes: s.memory.clone(),
        memory_limit_bytes: limit_mib.map(|l| (l * MIB) as u64),
        memory_pct,
        memory_peak_bytes: s.memory_peak,
        limit_hits: s.limit_hits,
    }
}

/// Busy vCPUs since the container's previous sample, else since the endpoint's own earlier one.
fn busy(before: Option<&Sample>, s: &Sample) -> Result<f64, Unavailable> {
    let now = CpuReading { at: s.read, used_ns: s.cpu_ns.clone()? };
    let prev = before.and_then(|b| Some(CpuReading { at: b.read, used_ns: *b.cpu_ns.as_ref().ok()? }));
    prev.and_then(|p| now.vcpus_since(&p))
        .or_else(|| s.before.and_then(|b| now.vcpus_since(&b)))
        .ok_or(Unavailable::NoEarlierSample)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::ecs_metadata::parse_task;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/fixtures/ecs-metadata/{name}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    }

    /// AWS's EC2 `/task` with its containers' Docker IDs set to those of AWS's EC2 stats example
    /// (the two examples name different IDs for the same task definition).
    fn ec2_task() -> TaskInfo {
        let mut t = parse_task(&fixture("task-ec2.json")).unwrap();
        t.containers[0].docker_id = "01999f2e5c6cf4df3873f28950e6278813408f281c54778efec860d0caad4854".into();
        t.containers[1].docker_id = "5fc21e5b015f899d22618f8aede80b6d70d71b2a75465ea49d9462c8f3d2d3af".into();
        t
    }

    #[test]
    fn aws_ec2_example_per_container_leaves_out_the_pause_container() {
        let stats = parse_container_stats(&fixture("task-stats-ec2.json")).unwrap();
        let [curl] = per_container(None, &stats, &ec2_task()).try_into().unwrap();
        assert_eq!(curl.name, "curl");
        // 250_484 ns of CPU from preread .510597736 to read .512771349 (1.002173613 s), of the
        // container's 10 CPU units.
        let expected = 100.0 * (250_484.0 / 1_002_173_613.0) / (10.0 / 1024.0);
        assert!((curl.cpu_pct.clone().unwrap() - expected).abs() < 1e-9, "{:?}", curl.cpu_pct);
        assert!((curl.cpu_pct.unwrap() - 2.5593).abs() < 1e-3);
        // usage 1_814_528 minus cache 0, of the container's 128 MiB.
        assert_eq!((curl.memory_bytes, curl.memory_limit_bytes), (Ok(1_814_528), Some(128 << 20)));
        assert!((curl.memory_pct.unwrap() - 1.351928).abs() < 1e-6);
        // cgroup v1: max_usage is the peak, and failcnt left out means it never hit the limit.
        assert_eq!((curl.memory_peak_bytes, curl.limit_hits), (Some(6_299_648), Some(0)));
    }

    #[test]
    fn cgroup_v2_has_no_limit_hits_and_falls_back_to_the_task_limits() {
        let stats = parse_container_stats(&fixture("task-stats-cgroup-v2.json")).unwrap();
        let mut task = parse_task(&fixture("task-with-tags-ec2.json")).unwrap();
        task.containers[0].docker_id = "2207f63945be40abb2d7bca5a2661cfd-0911415269".into();
        let [app] = per_container(None, &stats, &task).try_into().unwrap();
        assert_eq!(app.name, "log_router");
        assert_eq!((app.memory_peak_bytes, app.limit_hits), (None, None));
        // usage 42_827_776 minus inactive_file 6_082_560, of the task's 2048 MiB (no container limit).
        assert_eq!((app.memory_bytes, app.memory_limit_bytes), (Ok(36_745_216), Some(2048 << 20)));
        task.containers[0].cpu_units = None;
        let [app] = per_container(None, &stats, &task).try_into().unwrap();
        // 781_000 ns in 10.0000046 s of the task's 1 vCPU.
        assert!((app.cpu_pct.unwrap() - 100.0 * 781_000.0 / 10_000_004_600.0).abs() < 1e-12);
    }

    #[test]
    fn a_previous_reading_of_the_same_container_widens_the_window() {
        let first = parse_container_stats(&fixture("task-stats-ec2.json")).unwrap();
        let mut later: serde_json::Value = serde_json::from_str(&fixture("task-stats-ec2.json")).unwrap();
        let curl = &mut later["5fc21e5b015f899d22618f8aede80b6d70d71b2a75465ea49d9462c8f3d2d3af"];
        curl["read"] = "2020-10-02T00:52:32.512771349Z".into(); // derived: one minute later,
        curl["cpu_stats"]["cpu_usage"]["total_usage"] = (379_075_681u64 + 6_000_000_000).into(); // 6 s more
        let later = parse_container_stats(&later.to_string()).unwrap();
        let [curl] = per_container(Some(&first), &later, &ec2_task()).try_into().unwrap();
        assert!((curl.busy_vcpu.unwrap() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn own_name_from_the_container_metadata() {
        assert_eq!(parse_container_name(&fixture("container-ec2.json")).unwrap(), "curl");
        let e = parse_container_name("{\"DockerId\": \"x\"}").unwrap_err();
        assert!(e.what.starts_with("container metadata: missing field `Name`"), "{e}");
    }
}
