//! Issue 16: sidecars in every task of a service, against a fake AWS (wiremock), each agent with
//! its own task metadata endpoint and its own API on its task's address (127.0.0.2, 127.0.0.3,
//! … stand in for the tasks' private IPs, on one port):
//! - followers are free: AWS requests and `GetMetricData` metrics per minute are the same for a
//!   service of 1, 10 and 50 tasks (the README's table is these numbers);
//! - a leader must be alive: its agent stops answering, ECS marks its container UNHEALTHY, and a
//!   follower acts within two ticks, with exactly one `UpdateService` per decision throughout.

#[path = "common/browser.rs"]
mod browser;
#[path = "common/fake_aws.rs"]
mod fake_aws;
#[path = "common/promtool.rs"]
mod promtool;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use fake_aws::{FakeAws, World};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use trimtab::agent::{Agent, Options};
use trimtab::status::{Action, Snapshot};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const INTERVAL: i64 = 15;

/// One task of the service: its agent, the snapshot its API serves, and the API itself.
struct Task {
    agent: Agent,
    snapshot: watch::Sender<Arc<Snapshot>>,
    api: JoinHandle<()>,
}

fn arn(i: usize) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{i:032x}")
}

/// One metadata server for every task: task `i`'s endpoint is `/t{i}`, serving its `/task` (the
/// published Fargate example, with its ARN) and its container metadata (the published example,
/// named `trimtab`).
async fn metadata(n: usize) -> MockServer {
    let server = MockServer::start().await;
    let fixture = |f: &str| {
        std::fs::read_to_string(format!("{}/tests/fixtures/ecs-metadata/{f}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    };
    let (task, container) = (fixture("task-fargate.json"), fixture("container-ec2.json"));
    let container = container.replace("\"Name\": \"curl\"", "\"Name\": \"trimtab\"");
    assert!(container.contains("\"Name\": \"trimtab\""), "the published example names its container curl");
    for i in 0..n {
        let body = task.replace(
            "arn:aws:ecs:us-east-1:123456789012:task/MyEmptyCluster/bfa2636268144d039771334145e490c5",
            &arn(i),
        );
        Mock::given(method("GET"))
            .and(path(format!("/t{i}/task")))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/t{i}")))
            .respond_with(ResponseTemplate::new(200).set_body_string(container.clone()))
            .mount(&server)
            .await;
    }
    server
}

/// A port free on 127.0.0.2 (the tasks' APIs all use it, each on its own address).
async fn free_port() -> u16 {
    tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap().local_addr().unwrap().port()
}

const CPU: &str = "[[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 65.0\n";

/// Task `i`'s config: its API on 127.0.0.`i + 2`.
fn config(fake: &FakeAws, i: usize, port: u16, metrics: &str) -> trimtab::config::Config {
    let text = format!(
        "[agent]\nlisten = \"127.0.0.{}:{port}\"\n[service]\ncluster = \"prod\"\nname = \"web\"\n\
         region = \"us-east-1\"\nlaunch_type = \"ec2\"\nendpoint_url = \"{}\"\n[scaling]\nmin = 1\n\
         max = 20\n{metrics}",
        i + 2,
        fake.uri()
    );
    trimtab::config::from_str("t.toml", &text).unwrap()
}

/// `n` tasks, task `i` started `i` minutes after the first, its API on 127.0.0.`i + 2`, scaled
/// by `metrics` (the `[[scaling.metrics]]` tables and what else they need).
async fn service(fake: &FakeAws, md: &MockServer, n: usize, port: u16, metrics: &str) -> Vec<Task> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let cfg = config(fake, i, port, metrics);
        let opts = Options {
            local: false,
            metadata_uri: Some(format!("{}/t{i}", md.uri())),
            retries: false,
            static_credentials: Some(("test".into(), "test".into())),
            agent_uri: None,
            api_token: None,
        };
        let agent = Agent::new(cfg, opts).await.unwrap();
        let (snapshot, rx) = watch::channel(agent.snapshot());
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.{}:{port}", i + 2)).await.unwrap();
        let api =
            tokio::spawn(trimtab::api::serve(listener, agent.api_state(rx, None), std::future::pending()));
        tasks.push(Task { agent, snapshot, api });
    }
    tasks
}

fn world(n: usize, cpu: f64) -> World {
    let mut w = World {
        tasks: (0..n).map(|i| (arn(i), 1_700_000_000 + 60 * i as i64)).collect(),
        ..World::default()
    };
    w.datapoints.insert("CPUUtilization".into(), vec![(Utc::now().timestamp() - 90, cpu)]);
    w
}

/// Every running agent ticks once at `at`, its API then serving the new snapshot.
async fn tick(tasks: &mut [Task], at: DateTime<Utc>) -> Vec<Action> {
    let mut actions = Vec::new();
    for t in tasks.iter_mut().filter(|t| !t.api.is_finished()) {
        actions.push(t.agent.tick(at).await.action);
        t.snapshot.send_replace(t.agent.snapshot());
    }
    actions
}

/// AWS requests by operation, and the metric queries of every `GetMetricData`.
async fn requests(fake: &FakeAws) -> (BTreeMap<String, usize>, usize) {
    let mut queries = 0;
    for r in fake.server.received_requests().await.unwrap() {
        if fake_aws::operation(&r) == "GetMetricData" {
            let body: ciborium::Value = ciborium::from_reader(r.body.as_slice()).unwrap();
            let map = body.as_map().unwrap();
            let q = map.iter().find(|(k, _)| k.as_text() == Some("MetricDataQueries")).unwrap();
            queries += q.1.as_array().unwrap().len();
        }
    }
    (fake.calls().await, queries)
}

/// Requests per minute of a service of `n` tasks in its steady state: after the first two ticks
/// (election, handover), four minutes of ticks counted.
async fn steady_rate(n: usize) -> (BTreeMap<String, usize>, usize) {
    let fake = FakeAws::start(world(n, 50.0)).await;
    let md = metadata(n).await;
    let mut tasks = service(&fake, &md, n, free_port().await, CPU).await;
    let start = Utc::now();
    for k in 0..2 {
        tick(&mut tasks, start + TimeDelta::seconds(INTERVAL * k)).await;
    }
    let (before, q0) = requests(&fake).await;
    let minutes = 4;
    for k in 2..2 + minutes * 60 / INTERVAL {
        let actions = tick(&mut tasks, start + TimeDelta::seconds(INTERVAL * k)).await;
        assert_eq!(actions[0], Action::None, "the oldest task leads and holds");
        assert!(actions[1..].iter().all(|a| *a == Action::Following), "{actions:?}");
    }
    let (after, q1) = requests(&fake).await;
    let per_minute = after
        .into_iter()
        .map(|(op, c)| (op.clone(), (c - before.get(&op).copied().unwrap_or(0)) / minutes as usize))
        .filter(|(_, c)| *c > 0)
        .collect();
    (per_minute, (q1 - q0) / minutes as usize)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_make_no_aws_calls_so_requests_do_not_grow_with_the_task_count() {
    let mut rows = Vec::new();
    for n in [1, 10, 50] {
        let (calls, metrics) = steady_rate(n).await;
        rows.push((n, calls.values().sum::<usize>(), metrics, calls));
    }
    // Per minute at the 15 s default: the leader's DescribeServices, ListTasks, DescribeTasks,
    // GetMetricData and PutMetricData, four ticks each; one CloudWatch metric (the service's CPU).
    for (n, total, metrics, calls) in &rows {
        assert_eq!((*total, *metrics), (20, 4), "{n} tasks: {calls:?}");
        for op in ["DescribeServices", "ListTasks", "DescribeTasks", "GetMetricData", "PutMetricData"] {
            assert_eq!(calls.get(op), Some(&4), "{n} tasks: {op} in {calls:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_leader_loses_the_lead_within_two_ticks_and_no_decision_is_applied_twice() {
    let fake = FakeAws::start(world(3, 50.0)).await;
    let md = metadata(3).await;
    let port = free_port().await;
    // No cooldown, so that a hold below can only be the handover rule's.
    let metrics = format!("scale_out_cooldown = \"0s\"\n{CPU}");
    let mut tasks = service(&fake, &md, 3, port, &metrics).await;
    let start = Utc::now();
    let at = |k: i64| start + TimeDelta::seconds(INTERVAL * k);
    let first = tick(&mut tasks, at(0)).await;
    assert_eq!(first, [Action::None, Action::Following, Action::Following], "the oldest leads");
    let before = fake.calls().await;
    tick(&mut tasks, at(1)).await;
    let after = fake.calls().await;
    let followers_asked =
        after.get("ListTasks").copied().unwrap_or(0) - before.get("ListTasks").copied().unwrap_or(0);
    assert_eq!(followers_asked, 1, "only the leader reads the tasks: {after:?}");

    // Task 0's agent hangs: its API stops answering and ECS marks its container UNHEALTHY. The
    // load rises at the same moment.
    tasks[0].api.abort();
    let _ = (&mut tasks[0].api).await;
    {
        let mut w = fake.world.lock().unwrap();
        w.unhealthy.push(arn(0));
        w.datapoints.insert("CPUUtilization".into(), vec![(Utc::now().timestamp() - 90, 90.0)]);
    }
    // Tick 1: both followers find the leader silent and read the tasks; task 1 takes the lead.
    let one = tick(&mut tasks, at(2)).await;
    assert_eq!(one, [Action::Handover { from: 4, to: 6 }, Action::Following], "{one:?}");
    // Tick 2: it acts, once.
    let two = tick(&mut tasks, at(3)).await;
    assert_eq!(two, [Action::Applied { from: 4, to: 6 }, Action::Following], "{two:?}");
    assert_eq!(fake.updates().await, vec![6], "exactly one UpdateService for the decision");
    assert_eq!(tasks[1].agent.snapshot().role.name(), "leader");
    let reads = fake.count("ListTasks").await;
    fake.world
        .lock()
        .unwrap()
        .datapoints
        .insert("CPUUtilization".into(), vec![(at(4).timestamp() - 90, 60.0)]);
    tick(&mut tasks, at(4)).await;
    assert_eq!(fake.count("ListTasks").await, reads + 1, "task 2 follows task 1 without asking ECS");

    // Task 0's agent recovers, after longer than its /healthz allows a pause (so ECS could have
    // elected another, as it did), and ECS reports it HEALTHY again; the load rises again. The
    // oldest healthy task leads again, but restores and waits an interval before it acts; task
    // 1 steps down at its next read; never do two act.
    {
        let mut w = fake.world.lock().unwrap();
        w.unhealthy.clear();
        w.datapoints.insert("CPUUtilization".into(), vec![(at(10).timestamp() - 90, 90.0)]);
    }
    let (snapshot, rx) = watch::channel(tasks[0].agent.snapshot());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.2:{port}")).await.unwrap();
    tasks[0].api = tokio::spawn(trimtab::api::serve(
        listener,
        tasks[0].agent.api_state(rx, None),
        std::future::pending(),
    ));
    tasks[0].snapshot = snapshot;
    let back = tick(&mut tasks, at(10)).await;
    assert_eq!(back, [Action::Handover { from: 6, to: 9 }, Action::Following, Action::Following], "{back:?}");
    let roles: Vec<_> = tasks.iter().map(|t| t.agent.snapshot().role.name()).collect();
    assert_eq!(roles, ["leader", "follower", "follower"]);
    let acts = tick(&mut tasks, at(11)).await;
    assert_eq!(acts, [Action::Applied { from: 6, to: 9 }, Action::Following, Action::Following], "{acts:?}");
    let updates = fake.updates().await;
    assert!(
        updates == [6] || updates == [6, 9],
        "one UpdateService per decision, by one leader: {updates:?}"
    );
}

/// The leader's own read of the tasks fails for a tick: it keeps the lead and decides nothing,
/// and the followers, which it still answers, make no call. An old leader that keeps ticking
/// while ECS marks its agent UNHEALTHY steps down at once. An agent that cannot learn its own
/// container's name follows (it cannot tell whether ECS reports it healthy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_keeps_the_lead_through_a_failed_read_and_gives_it_up_when_ecs_says_so() {
    let fake = FakeAws::start(world(3, 50.0)).await;
    let md = metadata(3).await;
    let mut tasks = service(&fake, &md, 3, free_port().await, CPU).await;
    let start = Utc::now();
    let at = |k: i64| start + TimeDelta::seconds(INTERVAL * k);
    tick(&mut tasks, at(0)).await;
    tick(&mut tasks, at(1)).await;
    let reads = fake.count("ListTasks").await;
    fake.ecs_fault("ListTasks", 500, r#"{"__type":"ServerException","message":"boom"}"#, Some(1)).await;
    let failed = tick(&mut tasks, at(2)).await;
    assert_eq!(failed, [Action::Skipped, Action::Following, Action::Following], "{failed:?}");
    assert_eq!(tasks[0].agent.snapshot().role.name(), "leader", "kept through one failed read");
    assert!(
        tasks[0]
            .agent
            .snapshot()
            .last
            .clone()
            .unwrap()
            .error
            .unwrap()
            .contains("cannot list the service's tasks")
    );
    assert_eq!(fake.count("ListTasks").await, reads + 1, "only the leader's failed read");
    let after = tick(&mut tasks, at(3)).await;
    assert_eq!(after, [Action::None, Action::Following, Action::Following], "acts again, no handover");

    // ECS marks task 0's agent UNHEALTHY while it still ticks: it steps down at once.
    fake.world.lock().unwrap().unhealthy.push(arn(0));
    let down = tick(&mut tasks, at(4)).await;
    assert_eq!(down[0], Action::Following, "{down:?}");
    let down = tasks[0].agent.snapshot();
    let trimtab::status::Role::Follower { why, .. } = &down.role else { panic!("{:?}", down.role) };
    assert_eq!(why, "this task's trimtab container is UNHEALTHY");

    // A task whose container metadata cannot be read follows.
    let blind = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/task"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(
                std::fs::read_to_string(format!(
                    "{}/tests/fixtures/ecs-metadata/task-fargate.json",
                    env!("CARGO_MANIFEST_DIR")
                ))
                .unwrap()
                .replace(
                    "arn:aws:ecs:us-east-1:123456789012:task/MyEmptyCluster/bfa2636268144d039771334145e490c5",
                    &arn(0),
                ),
            ),
        )
        .mount(&blind)
        .await;
    let cfg = config(&fake, 0, free_port().await, CPU);
    let opts = Options {
        local: false,
        metadata_uri: Some(blind.uri()),
        retries: false,
        static_credentials: Some(("test".into(), "test".into())),
        agent_uri: None,
        api_token: None,
    };
    fake.world.lock().unwrap().unhealthy.clear();
    let mut lost = Agent::new(cfg, opts).await.unwrap();
    assert_eq!(lost.tick(at(5)).await.action, Action::Following);
    let snap = lost.snapshot();
    let trimtab::status::Role::Follower { why, .. } = &snap.role else { panic!("{:?}", snap.role) };
    assert!(why.starts_with("own container name unknown"), "{why}");
}

/// Issue 16's acceptance: three tasks, one hot and two idle. The leader's score is the average of
/// all three tasks' pool pressure (not its own), `/status` names the hot task, and a task that
/// stops answering makes the metric missing: no scale-in on part of the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_counts_the_hot_one_is_named_and_a_silent_one_is_missing_not_idle() {
    let fake = FakeAws::start(world(3, 50.0)).await;
    let md = metadata(3).await;
    let port = free_port().await;
    let metrics = "scale_in_stabilization = \"0s\"\nscale_in_cooldown = \"0s\"\nscale_out_cooldown = \"0s\"\n[[scaling.metrics]]\n\
                   name = \"jobs\"\nsource = \"pools\"\npool = \"jobs\"\ntarget = 60\n\
                   [pools.jobs]\ncapacity = 10\n";
    let mut tasks = service(&fake, &md, 3, port, metrics).await;
    // Task 2 is hot (10 of 10 units reserved), tasks 0 (the leader) and 1 idle (1 of 10).
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    for (i, amount) in [(0, 1), (1, 1), (2, 10)] {
        let r = http
            .post(format!("http://127.0.0.{}:{port}/pools/jobs/reservations", i + 2))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "amount": amount }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    }
    let start = Utc::now();
    let at = |k: i64| start + TimeDelta::seconds(INTERVAL * k);
    // The followers serve their signals from their first tick on; the leader acts an interval
    // after it took the lead.
    tick(&mut tasks, at(0)).await;
    let t = tasks[0].agent.tick(at(1)).await;
    let d = t.decision.as_ref().expect("decided");
    let jobs = d.score.contributions.iter().find(|c| c.name == "jobs").unwrap();
    // (100 + 10 + 10) / 3 = 40 % pressure: the leader's own 10 % would have said 1 task.
    assert_eq!(jobs.value, Some(40.0), "{:?}", t.problems);
    // ceil(4 × 40 / 60) = 3.
    assert_eq!(t.action, Action::Applied { from: 4, to: 3 }, "{t:?}");
    let per_task = &t.per_task["jobs"];
    assert_eq!((per_task.heard, per_task.of), (3, 3));
    assert_eq!(per_task.hottest.as_deref(), Some(arn(2).as_str()), "the hot task is named");
    let values: Vec<_> = per_task.tasks.iter().map(|r| (r.ip.to_string(), r.value)).collect();
    assert_eq!(
        values,
        [
            ("127.0.0.2".into(), Some(10.0)),
            ("127.0.0.3".into(), Some(10.0)),
            ("127.0.0.4".into(), Some(100.0))
        ]
    );
    // The same in the leader's /status, as an operator reads it.
    tasks[0].snapshot.send_replace(tasks[0].agent.snapshot());
    let status =
        http.get(format!("http://127.0.0.2:{port}/status")).send().await.unwrap().text().await.unwrap();
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["last"]["per_task"]["jobs"]["hottest"], serde_json::json!(arn(2)));
    assert_eq!(status["last"]["per_task"]["jobs"]["heard"], 3);
    // And in its /metrics, one series per task (the leader's only).
    let metrics =
        http.get(format!("http://127.0.0.2:{port}/metrics")).send().await.unwrap().text().await.unwrap();
    let hot = format!("trimtab_task_metric_value{{metric=\"jobs\",task=\"{:032x}\"}} 100\n", 2);
    assert!(metrics.contains(&hot), "{metrics}");
    assert!(metrics.contains("trimtab_tasks_heard{metric=\"jobs\"} 3\n"), "{metrics}");
    promtool::promtool_check(&metrics);
    // And on its dashboard, in a browser: the hot task's row is marked.
    if let Some(chrome) = browser::chromium() {
        let profile = std::env::temp_dir().join(format!("trimtab-sidecars-chromium-{}", std::process::id()));
        let url = format!("http://127.0.0.2:{port}/");
        let (dom, log) = tokio::task::spawn_blocking(move || {
            browser::run_chromium(chrome, &profile, &url, &["--dump-dom"])
        })
        .await
        .unwrap();
        assert!(browser::console_lines(&log).is_empty(), "the page logged to the console:\n{log}");
        let per_task = browser::element(&dom, "per-task", "table");
        assert!(per_task.contains("3 of 3 tasks heard from"), "{per_task}");
        let hot = format!("data-task=\"{:032x}\" data-hot=\"1\"", 2);
        assert!(per_task.contains(&hot), "the hot task is marked:\n{per_task}");
        assert_eq!(per_task.matches("data-hot").count(), 1, "only it:\n{per_task}");
    }

    // The hot task's agent stops answering. The other two alone would say 10 %: they are not
    // taken for the whole; what they prove, (10 + 10 + 0) / 3 = 6.7 % at least, is under the
    // target and says nothing. The metric is missing, and nothing scales in.
    tasks[2].api.abort();
    let _ = (&mut tasks[2].api).await;
    let t = tasks[0].agent.tick(at(2)).await;
    let why = &t.problems["jobs"];
    assert!(why.starts_with("2 of 3 tasks answered; task 127.0.0.4: GET http://127.0.0.4:"), "{why}");
    let d = t.decision.as_ref().unwrap();
    assert_eq!((d.desired.get(), d.reason.as_str()), (3, "missing_data"), "{}", d.message);
    assert_eq!(t.per_task["jobs"].heard, 2);
    assert_eq!(fake.updates().await, vec![3], "no scale-in on a part of the service");

    // Still without it, the two it hears fill up: (100 + 100 + 0) / 3 = 66.7 % at least, past
    // the target, so a part of the service can ask for more: ceil(3 × 66.7 / 60) = 4.
    for (i, task) in tasks.iter_mut().enumerate().take(2) {
        let r = http
            .post(format!("http://127.0.0.{}:{port}/pools/jobs/reservations", i + 2))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "amount": 9 }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
        task.agent.tick(at(2)).await;
        task.snapshot.send_replace(task.agent.snapshot());
    }
    let t = tasks[0].agent.tick(at(3)).await;
    let jobs =
        t.decision.as_ref().unwrap().score.contributions.iter().find(|c| c.name == "jobs").unwrap().clone();
    assert!((jobs.value.unwrap() - 200.0 / 3.0).abs() < 1e-9, "{jobs:?}");
    assert_eq!(
        t.action,
        Action::Applied { from: 3, to: 4 },
        "a lower bound past the target scales out: {t:?}"
    );
}
