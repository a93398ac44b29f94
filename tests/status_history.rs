//! `trimtab status` and `trimtab history` as an operator runs them from a laptop: the binary,
//! credentials from the environment, the region and the endpoint as flags. ECS and CloudWatch
//! are the in-process fake (`common/fake_aws.rs`, one `--endpoint-url` for both) for what the
//! emulators lack (events, deployments, faults), and moto with LocalStack for the real APIs.

#[path = "common/emulators.rs"]
mod emulators;
#[path = "common/fake_aws.rs"]
mod fake_aws;

use std::process::{Command, Output};

use chrono::{DateTime, TimeDelta, Utc};
use fake_aws::{FakeAws, World};
use serde_json::Value;

/// The binary with dummy credentials, `--region us-east-1 --endpoint-url <url>` appended.
async fn run(mut cmd: Command, args: &[&str], url: &str) -> Output {
    cmd.args(args).args(["--region", "us-east-1", "--endpoint-url", url]);
    tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
}

async fn trimtab(args: &[&str], url: &str) -> Output {
    run(emulators::binary(), args, url).await
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}\n{}", stdout(o), stderr(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The start of the minute `m` minutes before the one this test process started in (fixed
/// once, so a test that crosses a minute still agrees with itself; the runs take seconds).
fn minute(m: i64) -> DateTime<Utc> {
    static START: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let now = *START.get_or_init(|| Utc::now().timestamp());
    DateTime::from_timestamp(now - now % 60 - m * 60, 0).unwrap()
}

/// A service mid-rollout, paused and held by an operator, whose agent scaled it out 3 minutes
/// ago and reported a minute ago.
fn world() -> World {
    let points = |p: &[(i64, f64)]| p.iter().map(|(m, v)| (minute(*m).timestamp(), *v)).collect::<Vec<_>>();
    let mut w = World {
        desired: 6,
        deployments: vec![("PRIMARY", "IN_PROGRESS"), ("ACTIVE", "COMPLETED")],
        ..World::default()
    };
    w.tags = vec![
        ("trimtab:paused".into(), "true".into()),
        ("trimtab:override".into(), "count=12 until=2030-01-01T00:00:00Z reason=launch".into()),
    ];
    w.events = vec![
        (minute(2).timestamp() + 10, "(service web) has started 2 tasks: (task a) (task b).".into()),
        (minute(30).timestamp(), "(service web) has reached a steady state.".into()),
        (minute(60 * 30).timestamp(), "(service web) long before the span".into()),
    ];
    for (metric, p) in [
        ("Heartbeat", points(&[(1, 4.0), (2, 4.0), (3, 4.0), (4, 4.0)])),
        ("DesiredCount", points(&[(1, 6.0), (2, 6.0), (3, 6.0), (4, 4.0)])),
        ("RecommendedCount", points(&[(1, 7.0), (3, 6.0), (4, 4.0)])),
        ("Score", points(&[(1, 1.25), (3, 1.5), (4, 0.5)])),
        ("ScaleOut", points(&[(3, 1.0), (4, 0.0)])),
        ("MonthToDateCost", points(&[(1, 12.345678)])),
        ("TodayCost", points(&[(1, 1.2)])),
    ] {
        w.datapoints.insert(metric.into(), p.into_iter().rev().collect());
    }
    w
}

#[tokio::test]
async fn status_shows_the_service_the_operator_intent_and_the_agents_latest_view() {
    let fake = FakeAws::start(world()).await;
    let v = json(
        &trimtab(&["status", "--cluster", "prod", "--service", "web", "--format", "json"], &fake.uri()).await,
    );
    assert_eq!((v["cluster"].as_str(), v["service"].as_str()), (Some("prod"), Some("web")));
    assert_eq!((v["desired"].as_u64(), v["running"].as_u64()), (Some(6), Some(6)));
    assert_eq!(v["deployment_in_progress"], true);
    assert_eq!(v["operator"]["paused"], true);
    assert_eq!(v["operator"]["override"]["count"], 12);
    assert_eq!(v["operator"]["override"]["reason"], "launch");
    assert_eq!(v["operator"]["override"]["until"], "2030-01-01T00:00:00Z");
    let a = &v["agent"];
    assert_eq!(a["reporting"], true, "{a}");
    assert_eq!(a["last_report_at"], rfc3339(minute(0)));
    assert_eq!((a["desired"].as_u64(), a["recommended"].as_u64()), (Some(6), Some(7)));
    assert_eq!(a["score"], 1.25);
    assert_eq!(a["decided_at"], rfc3339(minute(1)));
    assert_eq!(a["last_scale_out_at"], rfc3339(minute(2)), "the end of the minute it scaled in");
    assert_eq!(a["last_scale_in_at"], Value::Null);
    assert_eq!(a["month_to_date_usd"], "12.345678");
    assert_eq!(a["today_usd"], "1.20");

    let o = trimtab(&["status", "--cluster", "prod", "--service", "web"], &fake.uri()).await;
    let t = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    for line in [
        "tasks       desired 6, running 6, pending 0\n".to_owned(),
        "deployment  rolling: PRIMARY IN_PROGRESS 6/6, ACTIVE COMPLETED 6/6 (running/desired)\n".to_owned(),
        "operator    paused (trimtab decides and reports, changes nothing); override: hold 12 tasks until \
         2030-01-01T00:00:00Z (launch)\n"
            .to_owned(),
        format!("trimtab     reporting: last report {}", rfc3339(minute(0))),
        format!("decision    desired 6, recommended 7, score 1.25 at {}\n", rfc3339(minute(1))),
        format!("scale-out   {}\n", rfc3339(minute(2))),
        "scale-in    none in the last 24 h\n".to_owned(),
        format!("spend       month to date $12.35, today $1.20 at {}\n", rfc3339(minute(1))),
    ] {
        assert!(t.contains(&line), "{line:?} not in\n{t}");
    }
    let calls = fake.calls().await;
    assert_eq!((calls["DescribeServices"], calls["GetMetricData"]), (2, 2), "one of each per run: {calls:?}");
}

#[tokio::test]
async fn status_names_a_service_no_agent_reports_for() {
    let mut w = world();
    let old = minute(60 * 24 * 3 + 1).timestamp();
    w.datapoints =
        [("Heartbeat".to_owned(), vec![(old, 4.0)]), ("DesiredCount".to_owned(), vec![(old, 4.0)])].into();
    let fake = FakeAws::start(w).await;
    let o = trimtab(&["status", "--cluster", "prod", "--service", "web"], &fake.uri()).await;
    let t = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    // The fake answers every read with all it has: the day's read finds the old heartbeat, too
    // old to count.
    let since = rfc3339(minute(60 * 24 * 3));
    assert!(
        t.contains(&format!(
            "trimtab     no trimtab agent has reported for this service since {since} (3 d 0 h ago)"
        )),
        "{t}"
    );
}

#[tokio::test]
async fn history_merges_ecs_events_and_trimtabs_decisions_newest_last() {
    let fake = FakeAws::start(world()).await;
    let v = json(
        &trimtab(&["history", "--cluster", "prod", "--service", "web", "--format", "json"], &fake.uri())
            .await,
    );
    let rows = v["rows"].as_array().unwrap();
    let summary: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap().into(),
                r["kind"].as_str().unwrap().into(),
                r["message"].as_str().unwrap().into(),
            )
        })
        .collect();
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        summary,
        [
            s("ecs", "event", "(service web) has reached a steady state."),
            s("trimtab", "desired", "desired 4 (recommended 4, score 0.50)"),
            s("trimtab", "scale_out", "scaled out: desired 4 -> 6 (recommended 6, score 1.50)"),
            s("ecs", "event", "(service web) has started 2 tasks: (task a) (task b)."),
        ],
        "the event from 30 hours ago is outside the default 24h"
    );
    assert_eq!(rows[2]["at"], rfc3339(minute(3)));
    assert_eq!(rows[2]["desired"], 6);
    assert_eq!((v["period_seconds"].as_i64(), v["omitted_rows"].as_u64()), (Some(60), Some(0)));

    let o = trimtab(
        &["history", "--cluster", "prod", "--service", "web", "--since", "2d", "--limit", "2"],
        &fake.uri(),
    )
    .await;
    let t = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.contains("time                  source   desired  score  what\n"), "{t}");
    assert!(t.contains("ecs                      (service web) has started 2 tasks"), "{t}");
    assert!(t.ends_with("3 older rows left out (--limit)\n"), "the 30-hour-old event is in 2d: {t}");
}

#[tokio::test]
async fn missing_credentials_and_refusals_are_said_so_with_the_service_named() {
    let fake = FakeAws::start(world()).await;
    let mut bare = emulators::binary();
    bare.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
    let o = run(bare, &["status", "--cluster", "prod", "--service", "web"], &fake.uri()).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("error: could not load credentials to read service web of cluster prod"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fake.calls().await.len(), 0, "no call without credentials");

    let denied = r#"{"__type":"AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ecs:DescribeServices"}"#;
    fake.ecs_fault("DescribeServices", 400, denied, Some(1)).await;
    let o = trimtab(&["history", "--cluster", "prod", "--service", "web"], &fake.uri()).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("error: access denied: ecs:DescribeServices on service web of cluster prod needs that permission: "),
        "{}",
        stderr(&o)
    );

    fake.cloudwatch_fault("GetMetricData", 400, "AccessDenied").await;
    let o = trimtab(&["status", "--cluster", "prod", "--service", "web"], &fake.uri()).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .starts_with("error: access denied: cloudwatch:GetMetricData on service web of cluster prod"),
        "{}",
        stderr(&o)
    );
}

#[tokio::test]
async fn bad_flags_are_usage_errors() {
    let o = trimtab(
        &["history", "--cluster", "prod", "--service", "web", "--since", "500d"],
        "http://127.0.0.1:9",
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--since reaches back more than 455 days"), "{}", stderr(&o));
    let o = trimtab(
        &["history", "--cluster", "prod", "--service", "web", "--since", "soon"],
        "http://127.0.0.1:9",
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Against the real APIs: the service and its tags on moto (ECS), the agent's metrics on
/// LocalStack (CloudWatch), put there as the agent puts them; the binary configured by the
/// standard AWS variables only.
#[tokio::test]
async fn status_and_history_read_moto_and_localstack() {
    use aws_sdk_ecs::types::{ContainerDefinition, LaunchType, Tag};
    use trimtab::agent::restore;
    use trimtab::aws::{CloudWatch, Published};
    let ecs =
        aws_sdk_ecs::Client::new(&trimtab::aws::sdk_config(&emulators::connection(emulators::moto())).await);
    let cluster = format!("report-{}", std::process::id());
    ecs.create_cluster().cluster_name(&cluster).send().await.unwrap();
    let app = ContainerDefinition::builder().name("app").image("nginx").memory(512).build();
    ecs.register_task_definition().family("report").container_definitions(app).send().await.unwrap();
    ecs.create_service()
        .cluster(&cluster)
        .service_name("checkout")
        .task_definition("report")
        .desired_count(3)
        .launch_type(LaunchType::Ec2)
        .tags(Tag::builder().key("trimtab:override").value("count=5 until=2030-01-01T00:00:00Z").build())
        .send()
        .await
        .unwrap();
    let cw =
        CloudWatch::new(&trimtab::aws::sdk_config(&emulators::connection(emulators::localstack())).await);
    let dims = restore::dimensions(&cluster, "checkout");
    let put = |name, value| Published { name, value, count: true };
    for (m, desired, out) in [(4, 2.0, 0.0), (3, 3.0, 1.0), (2, 3.0, 0.0)] {
        let values =
            [put(restore::DESIRED, desired), put(restore::HEARTBEAT, 1.0), put(restore::SCALE_OUT, out)];
        cw.put_metric_data(restore::NAMESPACE, &dims, &values, minute(m) + TimeDelta::seconds(5))
            .await
            .unwrap();
    }

    let args = ["status", "--cluster", &cluster, "--service", "checkout", "--format", "json"];
    let v = json(&emulators::trimtab(&args).await);
    assert_eq!(v["desired"], 3);
    assert_eq!(v["operator"]["override"]["count"], 5);
    assert_eq!(v["operator"]["paused"], false);
    assert_eq!(v["agent"]["desired"], 3, "{v}");
    assert_eq!(v["agent"]["decided_at"], rfc3339(minute(2)));
    assert_eq!(v["agent"]["last_scale_out_at"], rfc3339(minute(2)));
    assert_eq!(v["agent"]["month_to_date_usd"], Value::Null, "no spend published");

    let args =
        ["history", "--cluster", &cluster, "--service", "checkout", "--since", "1h", "--format", "json"];
    let v = json(&emulators::trimtab(&args).await);
    let messages: Vec<&str> =
        v["rows"].as_array().unwrap().iter().map(|r| r["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["desired 2", "scaled out: desired 2 -> 3"], "{v}");

    let o =
        run(emulators::binary(), &["status", "--cluster", &cluster, "--service", "nope"], emulators::moto())
            .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stderr(&o), format!("error: service nope not found in cluster {cluster}: MISSING\n"));
}
