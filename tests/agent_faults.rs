//! The agent against a fake AWS on wiremock: request counts, throttling, 5xx, timeouts,
//! malformed responses, deployments, leader election, restarts inside a cooldown, the task
//! metadata endpoint with real-format payloads, and (issue 14) endless pages, an endpoint that
//! does not resolve, expired credentials, partial metric answers, failing `PutMetricData` and
//! failing SNS. Everything on 127.0.0.1 (the unresolvable host is under `.invalid`).

// Worlds are built up step by step, as a test reads.
#![allow(clippy::field_reassign_with_default)]

#[path = "common/fake_aws.rs"]
mod fake_aws;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use fake_aws::{FakeAws, Paging, World};
use trimtab::agent::{Agent, Options};
use trimtab::status::{Action, Role, Tick};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config(endpoint: &str, metrics: &str) -> trimtab::config::Config {
    let text = format!(
        "[service]\ncluster = \"prod\"\nname = \"web\"\nregion = \"us-east-1\"\nlaunch_type = \"ec2\"\n\
         endpoint_url = \"{endpoint}\"\n[scaling]\nmin = 1\nmax = 20\n{metrics}"
    );
    trimtab::config::from_str("t.toml", &text).unwrap()
}

const SERVICE_CPU: &str = "[[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 65.0\n";

fn options(retries: bool, metadata: Option<String>) -> Options {
    Options {
        local: false,
        metadata_uri: metadata,
        retries,
        static_credentials: Some(("test".into(), "test".into())),
        agent_uri: None,
        api_token: None,
    }
}

/// The service's CPU as CloudWatch would report it: one datapoint a minute ago.
fn cpu(world: &mut World, percent: f64) {
    let t = Utc::now().timestamp() - 90;
    world.datapoints.insert("CPUUtilization".into(), vec![(t, percent)]);
}

async fn agent(fake: &FakeAws, retries: bool) -> Agent {
    Agent::new(config(&fake.uri(), SERVICE_CPU), options(retries, None)).await.unwrap()
}

#[tokio::test]
async fn one_tick_reads_once_and_updates_only_on_change() {
    let mut w = World::default();
    cpu(&mut w, 50.0);
    let fake = FakeAws::start(w).await;
    let mut a = agent(&fake, false).await;
    let t = a.tick(Utc::now()).await;
    assert_eq!(t.action, Action::None, "{t:?}");
    let calls = fake.calls().await;
    assert_eq!(calls.get("DescribeServices"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("GetMetricData"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("UpdateService"), None, "{calls:?}");
    assert_eq!(calls.get("PutMetricData"), Some(&1), "{calls:?}");
    assert_eq!(calls.values().sum::<usize>(), 3, "no other call: {calls:?}");

    cpu(&mut fake.world.lock().unwrap(), 90.0);
    let t = a.tick(Utc::now()).await;
    // ceil(4 × 90 / 65) = 6
    assert_eq!(t.action, Action::Applied { from: 4, to: 6 }, "{t:?}");
    let calls = fake.calls().await;
    assert_eq!(
        (calls["DescribeServices"], calls["GetMetricData"], calls["UpdateService"]),
        (2, 2, 1),
        "{calls:?}"
    );
    assert_eq!(fake.updates().await, vec![6]);
    let published = fake.published().await;
    assert!(published.contains(&("ScaleOut".to_owned(), 1.0)), "{published:?}");
    assert!(published.contains(&("Heartbeat".to_owned(), 1.0)), "{published:?}");
    assert!(published.contains(&("DesiredCount".to_owned(), 6.0)), "{published:?}");
}

#[tokio::test]
async fn throttling_is_retried_within_the_tick() {
    let mut w = World::default();
    cpu(&mut w, 90.0);
    let fake = FakeAws::start(w).await;
    let throttled = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
    fake.ecs_fault("UpdateService", 400, throttled, Some(2)).await;
    let mut a = agent(&fake, true).await;
    let t = a.tick(Utc::now()).await;
    assert_eq!(t.action, Action::Applied { from: 4, to: 6 }, "{t:?}");
    assert_eq!(fake.count("UpdateService").await, 3, "two throttled attempts, then success");
    assert_eq!(fake.world.lock().unwrap().desired, 6);
}

#[tokio::test]
async fn a_5xx_storm_never_scales_and_never_stops_the_loop() {
    let mut w = World::default();
    cpu(&mut w, 5.0);
    let fake = FakeAws::start(w).await;
    fake.ecs_fault("DescribeServices", 503, r#"{"__type":"ServerException","message":"down"}"#, None).await;
    let mut a = agent(&fake, true).await;
    for _ in 0..3 {
        let t = a.tick(Utc::now()).await;
        assert_eq!(t.action, Action::Skipped);
        assert!(t.error.as_deref().unwrap().contains("cannot read the service"), "{t:?}");
    }
    assert_eq!(fake.count("DescribeServices").await, 9, "3 ticks × 3 attempts");
    assert_eq!(fake.count("UpdateService").await, 0);
    let snap = a.snapshot();
    assert_eq!(
        snap.counters.aws_errors.get("ecs:DescribeServices server_error"),
        Some(&3),
        "{:?}",
        snap.counters
    );
    assert_eq!(snap.counters.failed_ticks, 3);
}

#[tokio::test]
async fn a_metrics_timeout_holds_instead_of_scaling_in() {
    let mut w = World::default();
    w.desired = 8;
    let fake = FakeAws::start(w).await;
    Mock::given(method("POST"))
        .and(path(format!("{}GetMetricData", fake_aws::CW_PATH)))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let mut a = agent(&fake, false).await;
    let started = std::time::Instant::now();
    let t = a.tick(Utc::now()).await;
    assert!(started.elapsed() < Duration::from_secs(5), "the attempt timeout cut it short");
    let d = t.decision.expect("decided on what it had");
    assert_eq!((d.desired.get(), d.reason.as_str()), (8, "missing_data"), "{}", d.message);
    assert!(t.problems["cpu"].contains("timeout"), "{:?}", t.problems);
    assert_eq!(fake.count("UpdateService").await, 0);
}

#[tokio::test]
async fn a_malformed_response_is_reported_not_fatal() {
    let fake = FakeAws::start(World::default()).await;
    fake.ecs_fault("DescribeServices", 200, "{\"services\": [{\"desiredCount\": \"many\"", None).await;
    let mut a = agent(&fake, false).await;
    let t = a.tick(Utc::now()).await;
    assert_eq!(t.action, Action::Skipped);
    let snap = a.snapshot();
    assert_eq!(
        snap.counters.aws_errors.get("ecs:DescribeServices malformed_response"),
        Some(&1),
        "{:?}",
        snap.counters
    );
}

#[tokio::test]
async fn scale_in_waits_for_a_deployment_but_scale_out_does_not() {
    let mut w = World::default();
    w.desired = 10;
    w.deployments = vec![("PRIMARY", "IN_PROGRESS"), ("ACTIVE", "COMPLETED")];
    cpu(&mut w, 5.0);
    let fake = FakeAws::start(w).await;
    let mut a = agent(&fake, false).await;
    let t = a.tick(Utc::now()).await;
    let d = t.decision.unwrap();
    assert_eq!((d.desired.get(), d.reason.as_str()), (10, "deployment"), "{}", d.message);
    assert!(t.service.unwrap().deployment_in_progress);
    assert_eq!(fake.count("UpdateService").await, 0);
    cpu(&mut fake.world.lock().unwrap(), 95.0);
    let t = a.tick(Utc::now()).await;
    assert_eq!(t.action, Action::Applied { from: 10, to: 14 }, "{t:?}");
}

/// A metadata endpoint for one task: `/task` with its ARN.
async fn metadata(arn: &str) -> MockServer {
    let server = MockServer::start().await;
    let task = include_str!("fixtures/ecs-metadata/task-fargate.json").replace(
        "arn:aws:ecs:us-east-1:123456789012:task/MyEmptyCluster/bfa2636268144d039771334145e490c5",
        arn,
    );
    Mock::given(method("GET"))
        .and(path("/task"))
        .respond_with(ResponseTemplate::new(200).set_body_string(task))
        .mount(&server)
        .await;
    own_container(&server).await;
    server
}

/// The container metadata at the endpoint's root (AWS's published example), naming this
/// container `trimtab`, as the leader election needs.
async fn own_container(server: &MockServer) {
    let container = include_str!("fixtures/ecs-metadata/container-ec2.json")
        .replace("\"Name\": \"curl\"", "\"Name\": \"trimtab\"");
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(200).set_body_string(container))
        .mount(server)
        .await;
}

#[tokio::test]
async fn three_sidecars_elect_one_leader_and_fail_over() {
    let mut w = World::default();
    w.apply_updates = false;
    w.tasks = vec![
        ("arn:task/b".into(), 1_700_000_200),
        ("arn:task/a".into(), 1_700_000_100),
        ("arn:task/c".into(), 1_700_000_300),
    ];
    cpu(&mut w, 90.0);
    let fake = FakeAws::start(w).await;
    let mut agents = Vec::new();
    let mut servers = Vec::new();
    for name in ["a", "b", "c"] {
        let md = metadata(&format!("arn:task/{name}")).await;
        let cfg = config(&fake.uri(), SERVICE_CPU);
        agents.push(Agent::new(cfg, options(false, Some(md.uri()))).await.unwrap());
        servers.push(md);
    }
    let now = Utc::now();
    let tick_all = async |agents: &mut Vec<Agent>, at| {
        let mut actions = Vec::new();
        for a in agents.iter_mut() {
            actions.push(a.tick(at).await.action);
        }
        actions
    };
    // The leader acts an interval after it took the lead (the handover rule); followers wait.
    let first = tick_all(&mut agents, now).await;
    assert_eq!(first, [Action::Handover { from: 4, to: 6 }, Action::Following, Action::Following]);
    let second = tick_all(&mut agents, now + TimeDelta::seconds(15)).await;
    assert_eq!(second, [Action::Applied { from: 4, to: 6 }, Action::Following, Action::Following]);
    assert_eq!(fake.count("UpdateService").await, 1, "exactly one UpdateService per decision");
    assert_eq!(agents[0].snapshot().role.name(), "leader");

    // The leader's task stops: a follower notices at its next check of the tasks and leads an
    // interval later.
    fake.world.lock().unwrap().tasks.retain(|(a, _)| a != "arn:task/a");
    let check = now + TimeDelta::seconds(15 + 75);
    let b = agents[1].tick(check).await;
    let c = agents[2].tick(check).await;
    assert_eq!((b.action, c.action), (Action::Handover { from: 4, to: 6 }, Action::Following));
    let b = agents[1].tick(check + TimeDelta::seconds(15)).await;
    assert_eq!(b.action, Action::Applied { from: 4, to: 6 }, "{b:?}");
    assert_eq!(fake.count("UpdateService").await, 2);
}

#[tokio::test]
async fn a_restart_inside_the_cooldown_does_not_scale_again() {
    let mut w = World::default();
    cpu(&mut w, 90.0);
    let fake = FakeAws::start(w).await;
    let mut first = agent(&fake, false).await;
    first.restore(Utc::now()).await;
    assert_eq!(first.tick(Utc::now()).await.action, Action::Applied { from: 4, to: 6 });
    // CloudWatch now holds what the first agent published: ScaleOut = 1 in this minute.
    let published = fake.published().await;
    let out = published.iter().find(|(n, _)| n == "ScaleOut").unwrap().1;
    let minute = Utc::now().timestamp() / 60 * 60;
    fake.world.lock().unwrap().datapoints.insert("ScaleOut".into(), vec![(minute, out)]);
    drop(first);

    // The agent restarts: still busy, but inside the 2-minute scale-out cooldown.
    let mut second = agent(&fake, false).await;
    second.restore(Utc::now()).await;
    let t = second.tick(Utc::now()).await;
    let d = t.decision.unwrap();
    assert_eq!((d.desired.get(), d.reason.as_str()), (6, "scale_out_cooldown"), "{}", d.message);
    assert_eq!(fake.updates().await, vec![6], "no second scale-out");
}

#[tokio::test]
async fn task_metadata_v4_payloads_give_task_cpu_and_memory() {
    let md = MockServer::start().await;
    let file = |f: &str| {
        std::fs::read_to_string(format!("{}/tests/fixtures/ecs-metadata/{f}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    };
    Mock::given(method("GET"))
        .and(path("/task"))
        .respond_with(ResponseTemplate::new(200).set_body_string(file("task-fargate.json")))
        .mount(&md)
        .await;
    // The published example twice, as the agent serves its latest sample until it takes the next.
    Mock::given(method("GET"))
        .and(path("/task/stats"))
        .respond_with(ResponseTemplate::new(200).set_body_string(file("task-stats-fargate.json")))
        .mount(&md)
        .await;
    own_container(&md).await;
    let mut w = World::default();
    w.tasks = vec![(
        "arn:aws:ecs:us-east-1:123456789012:task/MyEmptyCluster/bfa2636268144d039771334145e490c5".into(),
        1_700_000_000,
    )];
    let fake = FakeAws::start(w).await;
    let metrics = "[[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\nscope = \"task\"\ntarget = 100.0\n\
                   [[scaling.metrics]]\nname = \"memory\"\nsource = \"ecs\"\nscope = \"task\"\ntarget = 100.0\n";
    let mut a = Agent::new(config(&fake.uri(), metrics), options(false, Some(md.uri()))).await.unwrap();
    a.prime().await;
    // The fixture's own `read` time is in 2020: judge staleness at that time.
    let read = chrono::DateTime::parse_from_rfc3339("2020-10-08T21:24:44.938937019Z").unwrap().to_utc();
    let t = a.tick(read + TimeDelta::seconds(1)).await;
    let d = t.decision.unwrap();
    let value = |n: &str| d.score.contributions.iter().find(|c| c.name == n).unwrap().value.unwrap();
    // Over the sample's own 10 s window: 1_066_903 ns of CPU on 0.25 vCPU = 0.042675 %; memory
    // (usage - cache) 5_853_184 B of 512 MiB = 1.090240 %. The arithmetic is in ecs_metadata_tests.rs.
    assert!((value("cpu") - 0.042675).abs() < 0.02 * 0.042675, "{}", value("cpu"));
    assert!((value("memory") - 1.090240).abs() < 0.02 * 1.090240, "{}", value("memory"));
    assert_eq!(a.snapshot().role.name(), "leader");
    assert_eq!(fake.count("GetMetricData").await, 0, "task metrics need no CloudWatch");
}

#[tokio::test]
async fn a_follower_refuses_overrides_and_names_the_leader() {
    let mut w = World::default();
    w.tasks = vec![("arn:task/old".into(), 1_700_000_000), ("arn:task/new".into(), 1_700_000_500)];
    cpu(&mut w, 50.0);
    let fake = FakeAws::start(w).await;
    let md = metadata("arn:task/new").await;
    let mut follower =
        Agent::new(config(&fake.uri(), SERVICE_CPU), options(false, Some(md.uri()))).await.unwrap();
    follower.tick(Utc::now()).await;
    let (_tx, rx) = tokio::sync::watch::channel(follower.snapshot());
    let state = follower.api_state(rx, Some("0123456789abcdef".into()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(trimtab::api::serve(listener, state, std::future::pending()));
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("http://{addr}/override"))
        .bearer_auth("0123456789abcdef")
        .body(r#"{"desired": 9, "reason": "incident", "expires_in": "10m"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 409);
    assert!(r.text().await.unwrap().contains("the leader's task is arn:task/old"));
    assert!(follower.overrides().lock().unwrap().is_none());
}

#[tokio::test]
async fn a_cloudwatch_period_that_has_not_ended_is_not_used() {
    let mut w = World::default();
    let now = Utc::now().timestamp();
    // The current minute has only a few seconds of data (reads low); the last complete one is busy.
    w.datapoints.insert("CPUUtilization".into(), vec![(now - 20, 5.0), (now - 80, 90.0)]);
    let fake = FakeAws::start(w).await;
    let mut a = agent(&fake, false).await;
    let t = a.tick(Utc::now()).await;
    let d = t.decision.unwrap();
    assert_eq!(d.score.contributions[0].value, Some(90.0));
    assert_eq!(t.action, Action::Applied { from: 4, to: 6 });
}

/// Issue 13, end to end through the agent: an SQS backlog read from CloudWatch as a fleet total
/// holds 10 tasks at 1,000 messages (100 per task), and wakes a service at zero tasks.
#[tokio::test]
async fn a_queue_backlog_sizes_the_service_and_wakes_it_from_zero() {
    let backlog = |world: &mut World, n: f64| {
        let t = Utc::now().timestamp() - 90;
        world.datapoints.insert("ApproximateNumberOfMessagesVisible".into(), vec![(t, n)]);
    };
    let mut w = World::default();
    w.desired = 10;
    backlog(&mut w, 1000.0);
    let fake = FakeAws::start(w).await;
    let text = format!(
        "[service]\ncluster = \"prod\"\nname = \"web\"\nregion = \"us-east-1\"\nlaunch_type = \"ec2\"\n\
         endpoint_url = \"{}\"\n[scaling]\nmin = 0\nmax = 20\n[[scaling.metrics]]\nname = \"backlog\"\n\
         source = \"cloudwatch\"\nnamespace = \"AWS/SQS\"\nmetric = \"ApproximateNumberOfMessagesVisible\"\n\
         dimensions = {{ QueueName = \"jobs\" }}\nstatistic = \"Maximum\"\ntarget_type = \"average_value\"\ntarget = 100.0\n",
        fake.uri()
    );
    let config = trimtab::config::from_str("worker.toml", &text).unwrap();
    let mut a = Agent::new(config, options(false, None)).await.unwrap();
    let t = a.tick(Utc::now()).await;
    assert_eq!(t.action, Action::None, "{t:?}");
    assert_eq!(t.decision.as_ref().map(|d| d.desired.get()), Some(10), "{t:?}");
    // The service is at zero tasks and 60 messages arrive.
    {
        let mut w = fake.world.lock().unwrap();
        w.desired = 0;
        backlog(&mut w, 60.0);
    }
    let t = a.tick(Utc::now()).await;
    assert_eq!(t.action, Action::Applied { from: 0, to: 1 }, "{t:?}");
    assert_eq!(fake.updates().await, vec![1]);
}

/// Runs `tick` to its end, or fails the test after 5 s with the requests made so far.
async fn bounded(fake: &FakeAws, tick: impl Future<Output = Tick>) -> Tick {
    match tokio::time::timeout(Duration::from_secs(5), tick).await {
        Ok(t) => t,
        Err(_) => panic!("the tick did not end within 5 s; requests so far: {:?}", fake.calls().await),
    }
}

/// Issue 14: a `ListTasks` that hands back the same `NextToken` forever made a sidecar issue
/// about a thousand requests a second and never finish its tick.
#[tokio::test]
async fn issue_14_list_tasks_repeating_its_next_token_ends_the_election_with_a_typed_error() {
    let mut w = World::default();
    w.tasks = vec![("arn:task/a".into(), 1_700_000_000)];
    w.paging.insert("ListTasks", Paging::SameToken);
    cpu(&mut w, 90.0);
    let fake = FakeAws::start(w).await;
    let md = metadata("arn:task/a").await;
    let mut a = Agent::new(config(&fake.uri(), SERVICE_CPU), options(false, Some(md.uri()))).await.unwrap();
    let t = bounded(&fake, a.tick(Utc::now())).await;
    assert_eq!(fake.count("ListTasks").await, 2, "the second page repeats the token: stop there");
    assert_eq!(t.action, Action::Following, "no election, no action: {t:?}");
    let snap = a.snapshot();
    let Role::Follower { why, .. } = &snap.role else { panic!("{:?}", snap.role) };
    assert!(why.contains("ecs:ListTasks: pagination: "), "{why}");
    assert!(why.contains("NextToken"), "{why}");
    assert_eq!(snap.counters.aws_errors.get("ecs:ListTasks pagination"), Some(&1), "{:?}", snap.counters);
    assert_eq!(fake.count("UpdateService").await, 0);
}

/// Issue 14: the same for `GetMetricData`, in the tick and in the restore on start.
#[tokio::test]
async fn issue_14_get_metric_data_repeating_its_next_token_is_missing_data_not_a_hang() {
    let mut w = World::default();
    w.desired = 8;
    w.paging.insert("GetMetricData", Paging::SameToken);
    cpu(&mut w, 5.0);
    let fake = FakeAws::start(w).await;
    let mut a = agent(&fake, false).await;
    let t = bounded(&fake, a.tick(Utc::now())).await;
    assert_eq!(fake.count("GetMetricData").await, 2, "the second page repeats the token: stop there");
    assert!(t.problems["cpu"].contains("cloudwatch:GetMetricData: pagination: "), "{:?}", t.problems);
    let d = t.decision.expect("decided on what it had");
    assert_eq!((d.desired.get(), d.reason.as_str()), (8, "missing_data"), "{}", d.message);
    assert_eq!(fake.count("UpdateService").await, 0);

    // The restore on start reads CloudWatch twice more (history, then spend): bounded too.
    let restore = async {
        a.restore(Utc::now()).await;
        a.tick(Utc::now()).await
    };
    bounded(&fake, restore).await;
}

/// Issue 14: a paginator that makes up a new token each page stops at the page cap.
#[tokio::test]
async fn issue_14_fresh_tokens_forever_stop_at_the_page_cap() {
    let mut w = World::default();
    w.tasks = vec![("arn:task/a".into(), 1_700_000_000)];
    w.paging.insert("ListTasks", Paging::FreshTokens);
    let fake = FakeAws::start(w).await;
    let md = metadata("arn:task/a").await;
    let mut a = Agent::new(config(&fake.uri(), SERVICE_CPU), options(false, Some(md.uri()))).await.unwrap();
    bounded(&fake, a.tick(Utc::now())).await;
    assert_eq!(fake.count("ListTasks").await, trimtab::aws::MAX_PAGES);
    let snap = a.snapshot();
    let Role::Follower { why, .. } = &snap.role else { panic!("{:?}", snap.role) };
    assert!(why.contains(&format!("more than {} pages", trimtab::aws::MAX_PAGES)), "{why}");
}

/// Issue 14: an endpoint whose name does not resolve (`.invalid` never does, and never leaves
/// the machine) is a network error in the tick, retried and then reported, quickly.
#[tokio::test]
async fn issue_14_an_endpoint_that_does_not_resolve_is_a_network_error_in_the_tick() {
    let cfg = config("http://ecs.trimtab-test.invalid:4566", SERVICE_CPU);
    let mut a = Agent::new(cfg, options(true, None)).await.unwrap();
    let started = std::time::Instant::now();
    let t = a.tick(Utc::now()).await;
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(t.action, Action::Skipped);
    let error = t.error.unwrap();
    assert!(error.starts_with("cannot read the service: ecs:DescribeServices: network: "), "{error}");
    assert!(error.contains("dns error"), "{error}");
    let snap = a.snapshot();
    assert_eq!(snap.counters.aws_errors.get("ecs:DescribeServices network"), Some(&1), "{:?}", snap.counters);
}

/// Issue 14: expired credentials are their own kind of error (they need renewing; no
/// permission is missing), in the tick for ECS and as the metric's problem for CloudWatch.
#[tokio::test]
async fn issue_14_expired_credentials_are_reported_as_such_and_never_scale() {
    let mut w = World::default();
    w.desired = 8;
    cpu(&mut w, 5.0);
    let fake = FakeAws::start(w).await;
    let expired = r#"{"__type":"ExpiredTokenException","message":"The security token included in the request is expired"}"#;
    fake.ecs_fault("DescribeServices", 400, expired, Some(1)).await;
    fake.cloudwatch_fault("GetMetricData", 403, "ExpiredToken").await;
    let mut a = agent(&fake, false).await;
    let t = a.tick(Utc::now()).await;
    let error = t.error.unwrap();
    assert!(error.starts_with("cannot read the service: ecs:DescribeServices: credentials: "), "{error}");
    assert!(error.contains("ExpiredTokenException"), "{error}");

    let t = a.tick(Utc::now()).await;
    assert!(t.problems["cpu"].starts_with("cloudwatch:GetMetricData: credentials: "), "{:?}", t.problems);
    let d = t.decision.unwrap();
    assert_eq!((d.desired.get(), d.reason.as_str()), (8, "missing_data"), "{}", d.message);
    assert_eq!(fake.count("UpdateService").await, 0);
    let counters = a.snapshot().counters.clone();
    assert_eq!(counters.aws_errors.get("ecs:DescribeServices credentials"), Some(&1), "{counters:?}");
    assert_eq!(counters.metric_problems.get("cpu"), Some(&1), "{counters:?}");
}

/// Issue 14: a query CloudWatch answers only in part (`StatusCode: PartialData` as its last
/// word) or leaves out is missing for the tick, never read as what it did send, never zero.
#[tokio::test]
async fn issue_14_partial_metric_answers_are_missing_data_never_zero() {
    let mut w = World::default();
    w.desired = 8;
    let t = Utc::now().timestamp() - 90;
    for metric in ["CPUUtilization", "MemoryUtilization", "TargetResponseTime"] {
        w.datapoints.insert(metric.into(), vec![(t, 5.0)]);
    }
    w.status_codes.insert("MemoryUtilization".into(), "PartialData");
    w.omitted.push("TargetResponseTime".into());
    let fake = FakeAws::start(w).await;
    let metrics = "[[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 65.0\n\
                   [[scaling.metrics]]\nname = \"memory\"\nsource = \"ecs\"\ntarget = 75.0\n\
                   [[scaling.metrics]]\nname = \"latency\"\nsource = \"cloudwatch\"\nnamespace = \"AWS/ApplicationELB\"\n\
                   metric = \"TargetResponseTime\"\ndimensions = { LoadBalancer = \"app/web/1\" }\nstatistic = \"p95\"\ntarget = 0.3\n";
    let mut a = Agent::new(config(&fake.uri(), metrics), options(false, None)).await.unwrap();
    let t = a.tick(Utc::now()).await;
    assert!(!t.problems.contains_key("cpu"), "{:?}", t.problems);
    assert!(t.problems["memory"].contains("PartialData"), "{:?}", t.problems);
    assert!(t.problems["latency"].contains("left out of CloudWatch's answer"), "{:?}", t.problems);
    let d = t.decision.unwrap();
    let value = |n: &str| d.score.contributions.iter().find(|c| c.name == n).unwrap().value;
    assert_eq!((value("memory"), value("latency")), (None, None), "not read as 5, nor as 0");
    assert_eq!((d.desired.get(), d.reason.as_str()), (8, "missing_data"), "{}", d.message);
    assert_eq!(fake.count("UpdateService").await, 0);
}

/// Issue 14: a `PutMetricData` that fails is the tick's error (the scaling it records is done);
/// a restart then has no `ScaleOut` to rebuild the cooldown from, and finds it in the service's
/// events instead: no second scale-out inside the cooldown.
#[tokio::test]
async fn issue_14_a_failed_put_metric_data_is_reported_and_a_restart_restores_from_events() {
    let mut w = World::default();
    cpu(&mut w, 90.0);
    let fake = FakeAws::start(w).await;
    fake.cloudwatch_fault("PutMetricData", 500, "InternalServiceError").await;
    let mut first = agent(&fake, false).await;
    let t = first.tick(Utc::now()).await;
    assert_eq!(t.action, Action::Applied { from: 4, to: 6 }, "{t:?}");
    let error = t.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("could not publish the agent's metrics: cloudwatch:PutMetricData: server_error"),
        "{t:?}"
    );
    assert_eq!(first.snapshot().counters.failed_ticks, 1);
    drop(first);

    let mut second = agent(&fake, false).await;
    second.restore(Utc::now()).await;
    assert!(second.snapshot().cooldowns.last_scale_out.is_some(), "from the \"has started\" event");
    let t = second.tick(Utc::now()).await;
    let d = t.decision.unwrap();
    assert_eq!((d.desired.get(), d.reason.as_str()), (6, "scale_out_cooldown"), "{}", d.message);
    assert_eq!(fake.updates().await, vec![6], "no second scale-out");
}

/// Issue 14: SNS refusing a budget alert neither fails nor holds up the tick; the delivery is
/// counted as failed, with its error in `/status`.
#[tokio::test]
async fn issue_14_a_failing_sns_publish_is_counted_and_named_not_fatal() {
    let mut w = World::default();
    cpu(&mut w, 50.0);
    let fake = FakeAws::start(w).await;
    fake.sns_fault(403, "AuthorizationError").await;
    // A $1 budget: four Fargate tasks of 512/1024 overrun it at once, so the first tick alerts.
    let text = format!(
        "[service]\ncluster = \"prod\"\nname = \"web\"\nregion = \"us-east-1\"\ncpu = 512\nmemory = 1024\n\
         endpoint_url = \"{}\"\n[scaling]\nmin = 1\nmax = 20\n{SERVICE_CPU}[budget]\nmonthly_usd = 1\n\
         [[notify]]\ntype = \"sns\"\ntopic_arn = \"arn:aws:sns:us-east-1:123456789012:budget\"\n",
        fake.uri()
    );
    let cfg = trimtab::config::from_str("t.toml", &text).unwrap();
    let mut a = Agent::new(cfg, options(false, None)).await.unwrap();
    let started = std::time::Instant::now();
    let t = a.tick(Utc::now()).await;
    assert!(t.error.is_none() && t.decision.is_some(), "{t:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "the tick does not wait for the delivery");
    a.flush_notifications(Duration::from_secs(5)).await;
    assert!(fake.count("Publish").await >= 1);
    a.tick(Utc::now()).await;
    let snap = a.snapshot();
    let n = snap.notifications.clone().unwrap();
    assert!(n.failed >= 1 && n.sent == 0, "{n:?}");
    let why = n.last_failure.unwrap_or_default();
    assert!(why.contains("sns:Publish: client_error: ") && why.contains("AuthorizationError"), "{why}");
}

/// Issue 15: the sidecar honours the operator tags a controller reads (`trimtab pause|override`).
#[tokio::test]
async fn the_sidecar_honours_pause_and_override_tags() {
    let mut w = World::default();
    cpu(&mut w, 90.0);
    w.tags = vec![("trimtab:paused".into(), "true".into())];
    let fake = FakeAws::start(w).await;
    let mut a = agent(&fake, false).await;
    let t = a.tick(Utc::now()).await;
    assert_eq!(t.action, Action::Paused { from: 4, to: 6 }, "{t:?}");
    assert!(fake.updates().await.is_empty());

    let until = (Utc::now() + chrono::TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    fake.world.lock().unwrap().tags =
        vec![("trimtab:override".into(), format!("count=9 until={until} reason=launch"))];
    let t = a.tick(Utc::now()).await;
    assert_eq!(t.action, Action::Applied { from: 4, to: 9 }, "{t:?}");

    fake.world.lock().unwrap().tags = vec![("trimtab:paused".into(), "maybe".into())];
    let t = a.tick(Utc::now()).await;
    assert_eq!(t.action, Action::Skipped, "{t:?}");
    assert_eq!(
        t.error.as_deref(),
        Some("left alone: tag trimtab:paused = \"maybe\": expected true or false")
    );
    assert_eq!(fake.updates().await, vec![9]);
}
