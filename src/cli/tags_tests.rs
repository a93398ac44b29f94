use clap::Parser;
use serde_json::{Value, json};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::cli::args::{Cli, Command};

const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:service/prod/checkout";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn parse(args: &str) -> Result<Command, clap::Error> {
    Cli::try_parse_from(format!("trimtab {args}").split_whitespace()).map(|c| c.command)
}

fn override_args(args: &str) -> OverrideArgs {
    match parse(&format!("override --cluster prod --service checkout {args}")) {
        Ok(Command::Override(a)) => a,
        Ok(_) => unreachable!(),
        Err(e) => panic!("{args}: {e}"),
    }
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn the_flags_clap_refuses() {
    let refused = [
        "pause --cluster prod",
        "override --cluster prod --service checkout --count 3",
        "override --cluster prod --service checkout --for 2h",
        "override --cluster prod --service checkout --count 3 --for 2h --until 2026-12-08T18:00:00Z",
        "override --cluster prod --service checkout --clear --count 3",
        "override --cluster prod --service checkout --clear --reason x",
        "override --cluster prod --service checkout --count 3 --for soon",
    ];
    for args in refused {
        assert!(parse(args).is_err(), "{args}");
    }
    let Ok(Command::Pause(t)) = parse("pause --cluster prod --service checkout --region eu-west-1") else {
        panic!()
    };
    assert_eq!(
        (t.cluster.as_str(), t.service.as_str(), t.region.as_deref()),
        ("prod", "checkout", Some("eu-west-1"))
    );
}

#[test]
fn an_override_is_what_the_tag_will_hold() {
    let now = at("2026-12-08T16:00:00.750Z");
    let a = override_args("--count 12 --for 2h --reason launch#1,(canary)");
    let Ok(Change::Hold(o)) = override_change(&a, now) else { panic!() };
    assert_eq!(o.count, Replicas(12));
    assert_eq!(o.expires_at, at("2026-12-08T18:00:00Z"), "to the second, as stored");
    assert_eq!(o.reason, "launch1canary", "characters ECS refuses in a tag value are dropped");

    let a = override_args("--count 0 --until 2026-12-24T00:00:00+01:00");
    let Ok(Change::Hold(o)) = override_change(&a, now) else { panic!() };
    assert_eq!((o.count, o.expires_at, o.reason.as_str()), (Replicas(0), at("2026-12-23T23:00:00Z"), ""));

    assert_eq!(override_change(&override_args("--clear"), now).unwrap(), Change::Release);
}

#[test]
fn an_override_that_cannot_be_held_is_a_usage_error() {
    let now = at("2026-12-08T16:00:00Z");
    let cases = [
        (
            "--count 3 --until 2026-12-08T15:00:00Z",
            "the override would end at 2026-12-08T15:00:00Z, which is not in the future",
        ),
        ("--count 3 --for 0s", "the override would end at 2026-12-08T16:00:00Z, which is not in the future"),
        ("--count 10001 --for 1h", "--count 10001 is more than 10000"),
    ];
    for (args, want) in cases {
        assert_eq!(override_change(&override_args(args), now).unwrap_err().0, want, "{args}");
    }
}

#[test]
fn the_plan_sets_what_is_asked_and_removes_only_what_is_there() {
    let none = tags(&[("trimtab:policy", "web")]);
    let both =
        tags(&[("trimtab:paused", "true"), ("trimtab:override", "count=3 until=2026-12-08T18:00:00Z")]);
    let pair = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
    assert_eq!(plan(&Change::Pause, &none), (pair("trimtab:paused", "true"), vec![]));
    assert_eq!(plan(&Change::Resume, &none), (vec![], vec![]));
    assert_eq!(plan(&Change::Resume, &both), (vec![], vec!["trimtab:paused".to_owned()]));
    assert_eq!(plan(&Change::Release, &none), (vec![], vec![]));
    assert_eq!(plan(&Change::Release, &both), (vec![], vec!["trimtab:override".to_owned()]));
    let hold = ManualOverride {
        count: Replicas(5),
        reason: "migration".into(),
        expires_at: at("2026-12-08T18:00:00Z"),
    };
    assert_eq!(
        plan(&Change::Hold(hold), &both),
        (pair("trimtab:override", "count=5 until=2026-12-08T18:00:00Z reason=migration"), vec![])
    );
}

#[test]
fn each_command_says_what_it_did_in_one_line() {
    let hold = ManualOverride {
        count: Replicas(12),
        reason: "launch".into(),
        expires_at: at("2026-12-08T18:00:00Z"),
    };
    let cases = [
        (
            Change::Pause,
            true,
            format!(
                "paused prod/checkout ({ARN}): trimtab will decide and report but change nothing until resumed"
            ),
        ),
        (Change::Resume, true, format!("resumed prod/checkout ({ARN}): trimtab scales it again")),
        (Change::Resume, false, format!("prod/checkout ({ARN}) was not paused: nothing to do")),
        (
            Change::Hold(hold),
            true,
            format!(
                "override on prod/checkout ({ARN}): trimtab holds it at 12 tasks, within its policy's bounds, until 2026-12-08T18:00:00Z (launch)"
            ),
        ),
        (
            Change::Release,
            true,
            format!("override cleared on prod/checkout ({ARN}): trimtab scales it on its metrics again"),
        ),
        (Change::Release, false, format!("prod/checkout ({ARN}) has no override: nothing to do")),
    ];
    for (change, changed, want) in cases {
        let line = report(&change, "prod/checkout", ARN, changed);
        assert_eq!(line, want);
        assert!(!line.contains('\n'));
    }
}

async fn ecs(server: &MockServer) -> EcsFleet {
    let conn = Connection::fake(&server.uri());
    EcsFleet::new(&sdk_config(&conn).await)
}

async fn ecs_answers(server: &MockServer, op: &str, body: Value) {
    let target = format!("AmazonEC2ContainerServiceV20141113.{op}");
    let answer = ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/x-amz-json-1.1");
    Mock::given(method("POST"))
        .and(header("x-amz-target", target.as_str()))
        .respond_with(answer)
        .mount(server)
        .await;
}

async fn operations(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .map(|r| r.headers["x-amz-target"].to_str().unwrap().rsplit('.').next().unwrap().to_owned())
        .collect()
}

fn target(service: &str) -> ServiceTarget {
    ServiceTarget {
        cluster: "prod".into(),
        service: service.into(),
        region: None,
        endpoint_url: None,
        output: Default::default(),
    }
}

#[tokio::test]
async fn a_service_ecs_does_not_return_is_named_with_its_cluster_and_left_untouched() {
    let server = MockServer::start().await;
    let missing = json!({ "services": [], "failures": [{ "arn": "arn:aws:ecs:us-east-1:123456789012:service/prod/gone", "reason": "MISSING" }] });
    ecs_answers(&server, "DescribeServices", missing).await;
    let e = apply(&ecs(&server).await, &target("gone"), &Change::Pause).await.unwrap_err();
    assert_eq!(e.to_string(), "service gone not found in cluster prod: MISSING");
    assert_eq!(operations(&server).await, ["DescribeServices"]);
}

#[tokio::test]
async fn resume_reads_the_arn_then_removes_the_tag() {
    let server = MockServer::start().await;
    let described = json!({ "services": [{
        "serviceArn": ARN, "serviceName": "checkout", "desiredCount": 2, "runningCount": 2, "pendingCount": 0,
        "tags": [{ "key": "trimtab:paused", "value": "true" }]
    }], "failures": [] });
    ecs_answers(&server, "DescribeServices", described).await;
    ecs_answers(&server, "UntagResource", json!({})).await;
    let done = apply(&ecs(&server).await, &target("checkout"), &Change::Resume).await.unwrap();
    assert_eq!(done.message, format!("resumed prod/checkout ({ARN}): trimtab scales it again"));
    let json = serde_json::to_value(&done).unwrap();
    assert_eq!(
        (&json["action"], &json["changed"], &json["tags_removed"], &json["override"]),
        (&json!("resume"), &json!(true), &json!(["trimtab:paused"]), &Value::Null)
    );
    assert_eq!(operations(&server).await, ["DescribeServices", "UntagResource"]);
    let untag: Value = serde_json::from_slice(&server.received_requests().await.unwrap()[1].body).unwrap();
    assert_eq!(untag, json!({ "resourceArn": ARN, "tagKeys": ["trimtab:paused"] }));
}
