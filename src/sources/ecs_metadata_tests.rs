//! The fixtures are payloads published by AWS (its documentation and the ECS agent's own test
//! data), Datadog and OpenTelemetry; `tests/fixtures/ecs-metadata/README.md` gives each one's
//! source. Expected figures are worked out by hand from the payload numbers in the comments, with
//! the documented formulas (per container, as the Docker CLI does), and asserted within 2 %.

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

/// A `/task/stats` body holding one container's stats (the ECS agent's fixtures are single
/// containers, as `${ECS_CONTAINER_METADATA_URI_V4}/stats` returns them).
fn one_container(id: &str, container: &str) -> String {
    format!(r#"{{"{id}": {container}}}"#)
}

fn ts(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Within 2 % of `expected` (relative).
fn within_2pct(actual: Result<f64, Unavailable>, expected: f64) {
    let actual = actual.unwrap_or_else(|e| panic!("expected {expected}, got {e}"));
    assert!((actual - expected).abs() <= 0.02 * expected.abs(), "{actual} is not within 2 % of {expected}");
}

#[test]
fn parses_the_documented_fargate_task() {
    let t = task("task-fargate.json");
    assert_eq!(
        t.task_arn,
        "arn:aws:ecs:us-east-1:123456789012:task/MyEmptyCluster/bfa2636268144d039771334145e490c5"
    );
    assert_eq!(t.cluster, "arn:aws:ecs:us-east-1:123456789012:cluster/MyEmptyCluster");
    assert_eq!((t.family.as_str(), t.revision.as_str()), ("sample-fargate", "5"));
    assert_eq!(t.launch_type.as_deref(), Some("FARGATE"));
    assert_eq!(t.known_status, "RUNNING");
    assert_eq!((t.cpu_limit_vcpu, t.memory_limit_mib), (Some(0.25), Some(512.0)));
    assert_eq!(
        t.containers[1],
        ContainerInfo {
            docker_id: "bfa2636268144d039771334145e490c5-3681984407".into(),
            name: "fargate-app".into(),
            cpu_units: Some(2.0),
            memory_mib: None,
        }
    );
    assert_eq!(t.containers.len(), 2);
    assert_eq!((t.effective_vcpu(), t.effective_memory_mib()), (Some(0.25), Some(512.0)));
}

#[test]
fn documented_ec2_task_without_task_limits_falls_back_to_container_limits() {
    let t = task("task-ec2.json");
    assert_eq!(t.launch_type.as_deref(), Some("EC2"));
    assert_eq!((t.cpu_limit_vcpu, t.memory_limit_mib), (None, None));
    let names: Vec<_> = t.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["~internal~ecs~pause", "curl"]);
    // (0 + 10) CPU units / 1024 = 0.009765625 vCPU; 0 + 128 = 128 MiB.
    assert_eq!((t.effective_vcpu(), t.effective_memory_mib()), (Some(0.009765625), Some(128.0)));

    // Only Memory at task level: CPU still falls back, memory doesn't.
    let json = fixture("task-ec2.json").replacen(
        "\"LaunchType\"",
        "\"Limits\": {\"Memory\": 2048}, \"LaunchType\"",
        1,
    );
    let t = parse_task(&json).unwrap();
    assert_eq!((t.effective_vcpu(), t.effective_memory_mib()), (Some(0.009765625), Some(2048.0)));

    let t = task("task-with-tags-ec2.json");
    assert_eq!((t.effective_vcpu(), t.effective_memory_mib()), (Some(1.0), Some(2048.0)));
}

#[test]
fn documented_fargate_stats_cgroup_v1() {
    let s = stats("task-stats-fargate.json");
    assert_eq!((s.os, s.containers.len()), (Os::Linux, 1));
    assert_eq!(s.read, ts("2020-10-08T21:24:44.938937019Z"));
    let at = s.read;
    assert_eq!(s.cpu, Ok(CpuReading { at, used_ns: 1_137_691_504 }));
    let before = CpuReading { at: ts("2020-10-08T21:24:34.938633969Z"), used_ns: 1_136_624_601 };
    assert_eq!(s.cpu_before, Some(before));
    // cgroup v1 (`cache` is there): usage 6_504_448 - cache 651_264 = 5_853_184 bytes.
    assert_eq!(s.memory_bytes, Ok(5_853_184));

    let t = task("task-fargate.json");
    // Δcpu = 1_137_691_504 - 1_136_624_601 = 1_066_903 ns over
    // Δt = 21:24:44.938937019 - 21:24:34.938633969 = 10.000303050 s: 1.066871e-4 vCPU busy;
    // on 0.25 vCPU: 100 * 1.066871e-4 / 0.25 = 0.042675 %.
    within_2pct(cpu_percent(None, &s, &t), 0.042675);
    // 5_853_184 / (512 MiB = 536_870_912) = 1.090240 %.
    within_2pct(memory_percent(&s, &t), 1.090240);
    // Not the Docker CLI's cgroup v1 figure, usage - total_inactive_file
    // = (6_504_448 - 3_088_384) / 536_870_912 = 0.636 %: we follow the ECS agent (see module docs).
    assert!(memory_percent(&s, &t).unwrap() > 1.0);
}

#[test]
fn documented_ec2_stats_two_containers_cgroup_v1() {
    let s = stats("task-stats-ec2.json");
    assert_eq!((s.os, s.containers.len()), (Os::Linux, 2));
    // The pause container's read (…32.51467703Z) is the later one.
    assert_eq!(s.read, ts("2020-10-02T00:51:32.51467703Z"));
    // usage - cache per container, cache 0 in both: 532_480 + 1_814_528.
    assert_eq!(s.memory_bytes, Ok(2_347_008));

    let t = task("task-ec2.json");
    // Per container, as documented: pause Δcpu 0; curl Δcpu = 379_075_681 - 378_825_197 = 250_484 ns
    // over 00:51:32.512771349 - 00:51:31.510597736 = 1.002173613 s = 2.499407e-4 vCPU.
    // On 10 / 1024 vCPU: 100 * 2.499407e-4 / 0.009765625 = 2.5594 %.
    // (We take one window for the task, latest read - latest preread = 1.004079294 s: 2.5545 %.)
    within_2pct(cpu_percent(None, &s, &t), 2.5594);
    // 2_347_008 / (128 MiB = 134_217_728) = 1.748657 %.
    within_2pct(memory_percent(&s, &t), 1.748657);
}

#[test]
fn published_cgroup_v2_stats_subtract_inactive_file() {
    let s = stats("task-stats-cgroup-v2.json");
    assert_eq!((s.os, s.containers.len()), (Os::Linux, 2));
    // No `cache` on cgroup v2: usage - inactive_file per container,
    // (42_827_776 - 6_082_560) + (398_942_208 - 149_512_192) = 36_745_216 + 249_430_016.
    assert_eq!(s.memory_bytes, Ok(286_175_232));

    let t = task("task-with-tags-ec2.json");
    // app: (181_104_000 - 180_323_000) ns / 10.000004600 s = 7.80999e-5 vCPU;
    // datadog-agent: (4_000_614_000 - 3_946_429_000) ns / 10.000589074 s = 5.418181e-3 vCPU;
    // together 5.496281e-3 vCPU of 1 vCPU = 0.549628 %.
    within_2pct(cpu_percent(None, &s, &t), 0.549628);
    // 286_175_232 / (2048 MiB = 2_147_483_648) = 13.326073 %.
    within_2pct(memory_percent(&s, &t), 13.326073);
}

/// Issue 13: a Windows task read CPU 100× too low and memory as 0 %.
#[test]
fn windows_stats_count_cpu_in_100ns_and_memory_as_private_working_set() {
    let body = one_container("win", &fixture("container-stats-windows.json"));
    let s = parse_stats(&body).unwrap();
    assert_eq!(s.os, Os::Windows, "num_procs is 8");
    // total_usage 100 intervals of 100 ns = 10_000 ns. The ECS agent's own test of this payload
    // (TestDockerStatsToContainerStats, utils_windows_test.go) expects 2_500 ns per core on 4 cores.
    assert_eq!(s.cpu.as_ref().map(|c| c.used_ns), Ok(10_000));
    assert_eq!(s.cpu_before, None, "no preread: nothing to compare with yet");
    assert_eq!(s.memory_bytes, Ok(85_532_672), "privateworkingset, not 0");

    let t = task("task-fargate.json");
    // 85_532_672 / 536_870_912 = 15.931702 % (81.57 MiB of 512).
    within_2pct(memory_percent(&s, &t), 15.931702);
    assert_eq!(cpu_percent(None, &s, &t), Err(Unavailable::NoEarlierSample));

    // Derived, not published (no published Windows sample has a preread): the same container
    // 10 s later, 2_500_000 intervals (0.25 s of CPU) further on.
    let mut later: serde_json::Value =
        serde_json::from_str(&fixture("container-stats-windows.json")).unwrap();
    later["read"] = "1970-01-01T00:00:09.99999999Z".into();
    later["cpu_stats"]["cpu_usage"]["total_usage"] = 2_500_100.into();
    let cur = parse_stats(&one_container("win", &later.to_string())).unwrap();
    // 100 * (2_500_000 * 100 ns) / (10 s * 0.25 vCPU) = 10 %. The Docker CLI's
    // calculateCPUPercentWindows gives 2_500_000 / (1e8 intervals * 8 num_procs) = 0.3125 % of the
    // host's 8 processors, the same CPU time: 0.3125 * 8 / 0.25 = 10. Without the 100 ns
    // conversion this was 0.1 %.
    within_2pct(cpu_percent(Some(&s), &cur, &t), 10.0);
}

#[test]
fn ecs_agent_linux_fixture_gives_the_agents_memory_figure() {
    // usage 30, cache 20, and a stray privateworkingset 10: the agent expects 10
    // (TestDockerStatsToContainerStatsMemUsage). `usage` is there, so it is Linux: 30 - 20.
    let s = parse_stats(&one_container("c", &fixture("container-stats-linux.json"))).unwrap();
    assert_eq!((s.os, s.memory_bytes.clone()), (Os::Linux, Ok(10)));
    assert_eq!(s.cpu.map(|c| c.used_ns), Ok(262_857_821_518));
}

/// A Fargate payload (OpenTelemetry's fixture) with a container still at `{}`: once a parse
/// failure for the whole task, now that container is skipped like a `null` one.
#[test]
fn empty_container_object_is_skipped() {
    let s = stats("task-stats-fargate-empty-container.json");
    assert_eq!(s.containers, ["476e366a13b3407882d611ede16001aa-1624567963"]);
    // usage 974_848 - cache 0; the counter did not move in the 10.001578706 s window: a real 0 %.
    assert_eq!(s.memory_bytes, Ok(974_848));
    let t = task("task-fargate.json");
    assert_eq!(cpu_percent(None, &s, &t), Ok(0.0));
    within_2pct(memory_percent(&s, &t), 0.181580);
}

#[test]
fn containers_without_a_sample_are_skipped() {
    let mut v: serde_json::Value = serde_json::from_str(&fixture("task-stats-ec2.json")).unwrap();
    v["01999f2e5c6cf4df3873f28950e6278813408f281c54778efec860d0caad4854"] = serde_json::Value::Null;
    let s = parse_stats(&v.to_string()).unwrap();
    assert_eq!(s.containers, ["5fc21e5b015f899d22618f8aede80b6d70d71b2a75465ea49d9462c8f3d2d3af"]);
    assert_eq!(s.memory_bytes, Ok(1_814_528));

    let e = parse_stats(r#"{"a": null, "b": {}}"#).unwrap_err();
    assert_eq!(e.to_string(), "task stats: no container has reported stats yet");
    let zero = r#"{"a": {"read": "0001-01-01T00:00:00Z", "cpu_stats": {"cpu_usage": {"total_usage": 0}}}}"#;
    assert!(parse_stats(zero).is_err(), "Go's zero time is not a reading");
}

/// Issue 13: an absent field makes the metric missing, never 0.
#[test]
fn absent_fields_make_the_metric_unavailable_not_zero() {
    let t = task("task-fargate.json");
    let mut v: serde_json::Value = serde_json::from_str(&fixture("task-stats-fargate.json")).unwrap();
    let id = "3d1f891cded94dc795608466cce8ddcf-464223573";
    v[id]["memory_stats"].as_object_mut().unwrap().remove("usage");
    let s = parse_stats(&v.to_string()).unwrap();
    let absent = Absent { container: id.into(), field: "memory_stats.usage", os: Os::Linux };
    assert_eq!(memory_percent(&s, &t), Err(Unavailable::Absent(absent.clone())));
    assert_eq!(
        memory_percent(&s, &t).unwrap_err().to_string(),
        format!("container {id} has no `memory_stats.usage` in its Linux stats")
    );
    within_2pct(cpu_percent(None, &s, &t), 0.042675);

    v[id].as_object_mut().unwrap().remove("memory_stats");
    assert_eq!(memory_percent(&parse_stats(&v.to_string()).unwrap(), &t), Err(absent.into()));

    let mut w: serde_json::Value = serde_json::from_str(&fixture("container-stats-windows.json")).unwrap();
    w["memory_stats"].as_object_mut().unwrap().remove("privateworkingset");
    w["cpu_stats"]["cpu_usage"].as_object_mut().unwrap().remove("total_usage");
    let s = parse_stats(&one_container("win", &w.to_string())).unwrap();
    let absent = |field| Unavailable::Absent(Absent { container: "win".into(), field, os: Os::Windows });
    assert_eq!(memory_percent(&s, &t), Err(absent("memory_stats.privateworkingset")));
    assert_eq!(cpu_percent(None, &s, &t), Err(absent("cpu_stats.cpu_usage.total_usage")));
}

#[test]
fn os_is_read_from_each_containers_stats() {
    let os = |container: &str| parse_stats(&one_container("c", container)).unwrap().os;
    let read = r#""read": "2025-01-16T13:55:22.165243637Z""#;
    assert_eq!(os(&format!(r#"{{{read}, "num_procs": 0, "memory_stats": {{"usage": 1}}}}"#)), Os::Linux);
    assert_eq!(os(&format!(r#"{{{read}, "num_procs": 2}}"#)), Os::Windows);
    assert_eq!(os(&format!(r#"{{{read}, "memory_stats": {{"privateworkingset": 5}}}}"#)), Os::Windows);
    // The Docker API's own example sends Windows fields as 0 on Linux.
    let zeros = r#""memory_stats": {"usage": 1, "commitbytes": 0, "privateworkingset": 0}"#;
    assert_eq!(os(&format!(r#"{{{read}, {zeros}}}"#)), Os::Linux);
    // Docker's `os_type`, when sent, decides.
    assert_eq!(os(&format!(r#"{{{read}, "os_type": "windows"}}"#)), Os::Windows);
    assert_eq!(os(&format!(r#"{{{read}, "os_type": "linux", "num_procs": 4}}"#)), Os::Linux);
}

#[test]
fn linux_memory_subtracts_cache_else_inactive_file_when_that_leaves_something() {
    let memory = |m: &str| {
        let json = one_container("c", &format!(r#"{{"read": "2020-03-25T21:44:39Z", "memory_stats": {m}}}"#));
        parse_stats(&json).unwrap().memory_bytes.ok()
    };
    let stats = |s: &str| format!(r#"{{"usage": 1000, "stats": {{{s}}}}}"#);
    assert_eq!(
        memory(&stats(r#""cache": 300, "inactive_file": 100, "total_inactive_file": 200"#)),
        Some(700)
    );
    assert_eq!(memory(&stats(r#""inactive_file": 100, "total_inactive_file": 200"#)), Some(900));
    assert_eq!(memory(&stats("")), Some(1000));
    assert_eq!(memory(r#"{"usage": 1000}"#), Some(1000));
    // As the agent does (`v < mem.Usage`): no subtraction that would leave nothing.
    assert_eq!(memory(&stats(r#""cache": 1000"#)), Some(1000));
    assert_eq!(memory(&stats(r#""inactive_file": 5000"#)), Some(1000));
    assert_eq!(memory(r#"{"usage": 0}"#), Some(0), "a reported 0 is data");
    assert_eq!(memory("{}"), None);
    assert_eq!(memory("null"), None);
}

#[test]
fn cpu_window_is_since_the_previous_reading_else_since_the_kept_sample() {
    let t = task("task-fargate.json");
    let cur = stats("task-stats-fargate.json");
    let at = cur.read;
    let cpu = |secs: i64, used_ns: u64| Ok(CpuReading { at: at - chrono::TimeDelta::seconds(secs), used_ns });
    // 60 s earlier and 9e8 ns less: 100 * (9e8 / 60e9) / 0.25 = 6 %.
    let prev = TaskStats { cpu: cpu(60, 1_137_691_504 - 900_000_000), ..cur.clone() };
    within_2pct(cpu_percent(Some(&prev), &cur, &t), 6.0);

    // Otherwise the window the payload carries (0.042675 %, see documented_fargate_stats_cgroup_v1).
    within_2pct(cpu_percent(Some(&cur), &cur, &t), 0.042675);
    let other = TaskStats { containers: vec!["x".into()], ..prev.clone() };
    within_2pct(cpu_percent(Some(&other), &cur, &t), 0.042675);
    let restarted = TaskStats { cpu: cpu(60, u64::MAX), ..cur.clone() };
    within_2pct(cpu_percent(Some(&restarted), &cur, &t), 0.042675);
    let later = TaskStats { cpu: cpu(-60, 0), ..cur.clone() };
    within_2pct(cpu_percent(Some(&later), &cur, &t), 0.042675);

    let alone = TaskStats { cpu_before: None, ..cur.clone() };
    assert_eq!(cpu_percent(Some(&cur), &alone, &t), Err(Unavailable::NoEarlierSample));
    let unlimited = TaskInfo { cpu_limit_vcpu: None, memory_limit_mib: None, containers: vec![], ..t };
    assert_eq!(cpu_percent(Some(&prev), &cur, &unlimited), Err(Unavailable::NoCpuLimit));
    assert_eq!(memory_percent(&cur, &unlimited), Err(Unavailable::NoMemoryLimit));
}

#[test]
fn cpu_sums_containers_in_nanoseconds() {
    let s = stats("task-stats-cgroup-v2.json");
    let (read, before) = (s.read, s.cpu_before.unwrap());
    assert_eq!(read, ts("2025-10-24T21:33:13.733498695Z"));
    assert_eq!(s.cpu, Ok(CpuReading { at: read, used_ns: 181_104_000 + 4_000_614_000 }));
    assert_eq!(
        before,
        CpuReading { at: ts("2025-10-24T21:33:03.732909621Z"), used_ns: 180_323_000 + 3_946_429_000 }
    );
    assert_eq!(s.memory_bytes.map(|b| b / MIB), Ok(272));

    let huge = r#"{"read": "2020-03-25T21:44:39Z", "num_procs": 1,
                   "cpu_stats": {"cpu_usage": {"total_usage": 18446744073709551615}}}"#;
    let s = parse_stats(&format!(r#"{{"a": {huge}, "b": {huge}}}"#)).unwrap();
    assert_eq!(s.cpu.map(|c| c.used_ns), Ok(u64::MAX), "saturates rather than panics");
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

/// Issue 14 (found by the `ecs_metadata` fuzz target): a limit no task can have, such as
/// `Limits.Memory = 1e-308`, gave a finite memory % of 9.5e306 that would have read as an
/// overload. Such a limit is no limit: the metric is missing.
#[test]
fn an_absurdly_small_limit_is_no_limit() {
    let t = task("task-fargate.json");
    let absurd =
        TaskInfo { cpu_limit_vcpu: Some(1e-308), memory_limit_mib: Some(1e-308), containers: vec![], ..t };
    assert_eq!((absurd.effective_vcpu(), absurd.effective_memory_mib()), (None, None));
    let least = TaskInfo { cpu_limit_vcpu: Some(1.0 / 1024.0), memory_limit_mib: Some(4.0), ..absurd };
    assert_eq!((least.effective_vcpu(), least.effective_memory_mib()), (Some(1.0 / 1024.0), Some(4.0)));
}
