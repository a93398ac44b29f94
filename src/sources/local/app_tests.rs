use chrono::TimeDelta;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::super::history::tests::t0;
use super::super::{Resource, Threshold};
use super::*;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/ecs-metadata/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const APP_ID: &str = "2207f63945be40abb2d7bca5a2661cfd-0911415269";
const TRIMTAB_ID: &str = "2207f63945be40abb2d7bca5a2661cfd-2537586469";

/// Datadog's published `/task` (1 vCPU, 2048 MiB; two containers of 2 CPU units, no memory
/// limit) with its containers renamed `app` and `trimtab` and given the Docker IDs of the
/// published cgroup v2 `/task/stats` they are paired with (`managed-instances-app` and
/// `datadog-agent` there).
fn task() -> Value {
    let mut t = fixture("task-with-tags-ec2.json");
    for (c, (name, id)) in
        t["Containers"].as_array_mut().unwrap().iter_mut().zip([("app", APP_ID), ("trimtab", TRIMTAB_ID)])
    {
        c["Name"] = name.into();
        c["DockerId"] = id.into();
    }
    t
}

/// AWS's published container metadata, renamed: the asking container is `trimtab`.
fn own() -> Value {
    let mut c = fixture("container-ec2.json");
    c["Name"] = "trimtab".into();
    c
}

async fn mount(server: &MockServer, at: &str, body: ResponseTemplate) {
    Mock::given(method("GET")).and(path(at)).respond_with(body).mount(server).await;
}

/// A fake endpoint with trimtab's container metadata at the base, the task and its stats.
async fn endpoint() -> MockServer {
    let server = MockServer::start().await;
    mount(&server, "/", ResponseTemplate::new(200).set_body_json(own())).await;
    mount(&server, "/task", ResponseTemplate::new(200).set_body_json(task())).await;
    mount(
        &server,
        "/task/stats",
        ResponseTemplate::new(200).set_body_json(fixture("task-stats-cgroup-v2.json")),
    )
    .await;
    server
}

async fn sample(reader: &mut AppReader, m: &mut Monitor, now: DateTime<Utc>) -> Vec<AlertEvent> {
    match reader.read(now).await {
        Ok(r) => m.record_app(r),
        Err(why) => {
            m.record_problem(now, why);
            vec![]
        }
    }
}

fn memory_above_1pct() -> Monitor {
    let memory = Threshold::new(Resource::Memory, 1.0, TimeDelta::seconds(10), TimeDelta::minutes(10));
    Monitor::for_app(History::DEFAULT_CAPACITY, vec![memory])
}

#[tokio::test]
async fn the_monitor_reports_the_app_container_not_trimtab() {
    let server = endpoint().await;
    let mut reader = AppReader::new(&server.uri());
    let mut m = memory_above_1pct();
    assert!(sample(&mut reader, &mut m, t0()).await.is_empty());
    let events = sample(&mut reader, &mut m, t0() + TimeDelta::seconds(10)).await;

    // The app's working set, 42_827_776 usage − 6_082_560 inactive_file, is 1.71% of the task's
    // 2048 MiB (it has no limit of its own) and has been above 1% for 10 s.
    let [alert] = events.try_into().unwrap();
    assert_eq!(alert.container.as_deref(), Some("app"));
    assert_eq!(alert.message, "container app: memory at 1.7% of the 2 GiB limit for 10s (threshold 1%)");

    let view = serde_json::to_value(m.view(t0() + TimeDelta::seconds(10))).unwrap();
    assert_eq!(view["source"], "task_metadata");
    let names: Vec<&String> = view["containers"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["app"], "trimtab's own container is left out: {view}");
    let app = &view["containers"]["app"]["latest"];
    assert_eq!(app["memory_bytes"], 36_745_216);
    assert_eq!(app["memory_pct"], 1.7110824584960938);
    assert_eq!(app["memory_limit_bytes"], 2_147_483_648u64);
    // 781_000 ns of CPU in 10.0000046 s, of the container's 2 CPU units (2/1024 vCPU).
    assert_eq!(app["cpu_limit_cores"], 2.0 / 1024.0);
    assert!((app["cpu_pct"].as_f64().unwrap() - 3.9987181605896462).abs() < 1e-12, "{app}");
    // The app as a whole, of the task's 1 vCPU.
    assert!((view["latest"]["cpu_pct"].as_f64().unwrap() - 0.007809996407401653).abs() < 1e-15);
    assert_eq!(view["limits"], json!({ "cpu_cores": 1.0, "memory_bytes": 2_147_483_648u64 }));
    assert_eq!(view["alerts"]["active"][0]["container"], "app");
    assert_eq!(view["containers"]["app"]["alerts"]["fired_total"], 1);
    assert_eq!(view["containers"]["app"]["windows"]["1m"]["memory_pct"]["samples"], 2);
    assert!(view.get("problem").is_none(), "{view}");
}

#[tokio::test]
async fn an_endpoint_that_errors_hangs_or_sends_garbage_is_a_problem_and_the_monitor_goes_on() {
    let server = MockServer::start().await;
    let mut reader = AppReader::new(&server.uri());
    let mut m = memory_above_1pct();
    let problem = |m: &Monitor| m.view(t0()).problem.map(|p| p.message).unwrap_or_default();

    mount(&server, "/", ResponseTemplate::new(500)).await;
    sample(&mut reader, &mut m, t0()).await;
    assert_eq!(problem(&m), format!("GET {}: HTTP 500 Internal Server Error", server.uri()));

    server.reset().await;
    mount(&server, "/", ResponseTemplate::new(200).set_body_json(own())).await;
    mount(&server, "/task", ResponseTemplate::new(200).set_body_json(task())).await;
    mount(&server, "/task/stats", ResponseTemplate::new(200).set_body_string("<html>oops")).await;
    sample(&mut reader, &mut m, t0()).await;
    assert!(problem(&m).starts_with("task stats: expected value at line 1 column 1"), "{}", problem(&m));

    server.reset().await;
    let slow = ResponseTemplate::new(200).set_body_json(task()).set_delay(std::time::Duration::from_secs(30));
    mount(&server, "/task", slow).await;
    sample(&mut reader, &mut m, t0()).await;
    // Each request gives up after 2 s (the whole read after 3 s): the problem names the endpoint.
    let why = problem(&m);
    assert!(why.starts_with(&format!("GET {}/task: ", server.uri())) && why.ends_with("timed out"), "{why}");
    assert!(m.history().is_empty());

    server.reset().await;
    let server_ok = endpoint().await;
    let mut reader = AppReader::new(&server_ok.uri());
    sample(&mut reader, &mut m, t0() + TimeDelta::seconds(5)).await;
    let view = m.view(t0() + TimeDelta::seconds(5));
    assert_eq!((view.problem, view.containers.len()), (None, 1));
}

/// Readings of the pure part, without HTTP: `stats` with the app's CPU counter and Docker ID set.
fn read_pure(reader: &mut AppReader, memory_mib: u64, app_cpu: u64, now: DateTime<Utc>) -> AppReading {
    let mut t = task();
    t["Containers"][0]["Limits"]["Memory"] = memory_mib.into();
    let task = ecs_metadata::parse_task(&t.to_string()).unwrap();
    let mut s = fixture("task-stats-cgroup-v2.json");
    s[APP_ID]["cpu_stats"]["cpu_usage"]["total_usage"] = app_cpu.into();
    let stats = ecs_metadata::parse_container_stats(&s.to_string()).unwrap();
    reader.reading(now, &task, stats).unwrap()
}

#[test]
fn a_restart_near_the_memory_limit_is_a_likely_oom_kill_and_one_far_from_it_is_not() {
    // Derived: the app given a 38 MiB limit, so its 36_745_216 bytes are 92.2% of it; then its
    // CPU counter falls (it restarted).
    let mut reader = AppReader::new("http://127.0.0.1:9");
    reader.own = Some("trimtab".into());
    let first = read_pure(&mut reader, 38, 181_104_000, t0());
    assert!(first.oom_signs.is_empty());
    assert!((first.containers[0].1.memory_pct.unwrap() - 92.2174).abs() < 1e-3);
    let restarted = read_pure(&mut reader, 38, 1_000, t0() + TimeDelta::seconds(5));
    let [sign] = restarted.oom_signs.try_into().unwrap();
    assert!(sign.likely_killed);
    assert_eq!(sign.app_memory_bytes, Some(36_745_216));
    assert_eq!(
        sign.message,
        "container app restarted with its memory at 92.2% of its limit: likely killed for memory"
    );

    let mut reader = AppReader::new("http://127.0.0.1:9");
    reader.own = Some("trimtab".into());
    read_pure(&mut reader, 512, 181_104_000, t0());
    let restarted = read_pure(&mut reader, 512, 1_000, t0() + TimeDelta::seconds(5));
    assert!(restarted.oom_signs.is_empty(), "7% of its limit: not for memory");
}
