//! The protector against a fake ECS agent endpoint (wiremock) that expects the request bodies
//! AWS documents and answers with the documented bodies (`tests/fixtures/ecs-agent/`).

use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::core::pool::{Outcome, Priority, Request};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/ecs-agent/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

/// An agent with pool `jobs`, protecting for an hour with a 30 s grace, through `server`.
fn protector(server: &MockServer, busy_url: Option<String>) -> (Protector, PoolSet) {
    let cfg = crate::config::from_str(
        "t.toml",
        "[pools.jobs]\ncapacity = 10\n[protection]\nenabled = true\nexpires = \"60m\"\ngrace = \"30s\"\n",
    )
    .unwrap();
    let pools = PoolSet::new(&cfg.pools, crate::sources::pools::Limits::default()).unwrap();
    let pcfg = ProtectionConfig { busy_url, ..cfg.protection };
    (Protector::new(&pcfg, &server.uri(), pools.clone()), pools)
}

fn reserve(pools: &PoolSet, now: DateTime<Utc>) -> u64 {
    let out = pools.with("jobs", |p| p.request(Request::new(1, Priority::Medium), now)).unwrap();
    let Outcome::Granted { id, .. } = out else { panic!("{out:?}") };
    id.0
}

fn protected_until(until: &str) -> ResponseTemplate {
    let body = fixture("get-protected.json").replace("2022-10-06T02:29:16Z", until);
    ResponseTemplate::new(200).set_body_raw(body, "application/json")
}

/// The JSON bodies of the PUTs the fake received, in order.
async fn puts(server: &MockServer) -> Vec<Value> {
    let got = server.received_requests().await.unwrap_or_default();
    got.iter()
        .filter(|r| r.method.as_str() == "PUT")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn reservations_held_set_protection_and_released_clear_it_after_the_grace() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(PATH))
        .and(body_json(json("put-protect-60m.json")))
        .respond_with(protected_until("2027-01-15T09:00:00Z"))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(PATH))
        .and(body_json(serde_json::json!({ "ProtectionEnabled": false })))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"protection":{"ExpirationDate":null,"ProtectionEnabled":false}}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let (mut p, pools) = protector(&server, None);
    let id = reserve(&pools, t(0));
    p.tick(t(0)).await;
    let v = p.view().clone();
    assert_eq!((v.protected, v.busy, v.problem.as_deref()), (true, Some(true), None), "{v:?}");
    assert_eq!(v.why.as_deref(), Some("pool jobs holds 1 reservation(s)"));
    assert_eq!(v.expires_at, Some(t(3600)), "the endpoint's ExpirationDate");
    p.tick(t(15)).await;
    assert_eq!(puts(&server).await.len(), 1, "not set again while more than half the hour is left");

    pools.with("jobs", |pool| pool.release(crate::core::pool::Id(id), t(20))).unwrap().unwrap();
    p.tick(t(30)).await;
    assert!(p.view().protected, "idle for less than the grace: still protected");
    p.tick(t(60)).await;
    let v = p.view().clone();
    assert_eq!((v.protected, v.busy, v.clears_total, v.sets_total), (false, Some(false), 1, 1), "{v:?}");
    assert_eq!(
        puts(&server).await,
        [json("put-protect-60m.json"), serde_json::json!({ "ProtectionEnabled": false })]
    );
}

#[tokio::test]
async fn a_protection_is_renewed_before_it_runs_out() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"protection":{"ProtectionEnabled":true}}"#, "application/json"),
        )
        .mount(&server)
        .await;
    let (mut p, pools) = protector(&server, None);
    reserve(&pools, t(0));
    p.tick(t(0)).await;
    assert_eq!(p.view().expires_at, Some(t(3600)), "no ExpirationDate: now + the minutes asked");
    // A reservation lives 5 minutes (the pool's default TTL): the app keeps taking new ones.
    reserve(&pools, t(1790));
    p.tick(t(1799)).await;
    assert_eq!(puts(&server).await.len(), 1);
    p.tick(t(1800)).await;
    assert_eq!(puts(&server).await.len(), 2, "half the hour left: renewed");
}

#[tokio::test]
async fn error_and_failure_answers_are_problems_in_status_and_tried_again() {
    for (file, status, want) in [
        (
            "error-access-denied.json",
            400,
            "the ECS agent reports error AccessDeniedException: User: arn:aws:sts::444455556666:assumed-role/",
        ),
        ("error-throttling.json", 500, "the ECS agent reports error ThrottlingException: Rate exceeded"),
        ("failure-task-not-valid.json", 400, "the ECS agent reports failure TASK_NOT_VALID"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(status).set_body_raw(fixture(file), "application/json"))
            .mount(&server)
            .await;
        let (mut p, pools) = protector(&server, None);
        reserve(&pools, t(0));
        p.tick(t(0)).await;
        p.tick(t(15)).await;
        let v = p.view();
        let problem = v.problem.clone().unwrap_or_default();
        assert!(problem.starts_with(&format!("PUT {}{PATH}: ", server.uri())), "{file}: {problem}");
        assert!(problem.contains(want), "{file}: {problem}");
        assert_eq!((v.protected, v.failures_total), (false, 2), "{file}: not protected, tried every tick");
    }
}

#[tokio::test]
async fn a_hung_endpoint_is_bounded_by_the_http_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(protected_until("2027-01-15T09:00:00Z").set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let (mut p, pools) = protector(&server, None);
    reserve(&pools, t(0));
    let started = Instant::now();
    p.tick(t(0)).await;
    let took = started.elapsed();
    assert!(took < crate::sources::HTTP_TIMEOUT + Duration::from_secs(1), "took {took:?}");
    let problem = p.view().problem.clone().unwrap_or_default();
    assert!(problem.starts_with(&format!("PUT {}{PATH}: ", server.uri())), "{problem}");
    assert!(!p.view().protected);
}

#[tokio::test]
async fn the_apps_busy_endpoint_counts_and_a_bad_answer_changes_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("PUT")).respond_with(protected_until("2027-01-15T09:00:00Z")).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"busy\": true}"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(200).set_body_string("maybe"))
        .mount(&server)
        .await;
    let url = format!("{}/busy", server.uri());
    let (mut p, _pools) = protector(&server, Some(url.clone()));
    p.tick(t(0)).await;
    assert_eq!(p.view().why.as_deref(), Some(format!("{url} says busy").as_str()));
    assert!(p.view().protected);
    p.tick(t(600)).await;
    let v = p.view();
    assert_eq!((v.busy, v.protected, v.idle_since), (None, true, None), "unknown: nothing changes");
    let want = format!("GET {url}: expected true, false or {{\"busy\": true|false}}, got \"maybe\"");
    assert_eq!(v.problem.as_deref(), Some(want.as_str()));
    assert_eq!(puts(&server).await.len(), 1);
}

#[test]
fn the_documented_answers_parse() {
    let call = "GET http://169.254.170.2/api/x/task-protection/v1/state";
    let p = parse(call, 200, &fixture("get-protected.json")).unwrap();
    assert_eq!(
        p,
        Protection {
            enabled: true,
            expires_at: Some(DateTime::parse_from_rfc3339("2022-10-06T02:29:16Z").unwrap().to_utc()),
            task_arn: Some("arn:aws:ecs:us-west-2:111122223333:task/1234567890abcdef0".into()),
        }
    );
    let epoch = r#"{"protection":{"ExpirationDate":1665023356,"ProtectionEnabled":true}}"#;
    assert_eq!(parse(call, 200, epoch).unwrap().expires_at, p.expires_at, "epoch seconds read too");
    let e = parse(call, 500, &fixture("error-request-canceled.json")).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{call}: the ECS agent reports error RequestCanceled: Timed out calling Amazon ECS Task Protection API"
        )
    );
    let e = parse(call, 400, &fixture("failure-task-not-valid.json")).unwrap_err();
    assert_eq!(e.to_string(), format!("{call}: the ECS agent reports failure TASK_NOT_VALID"));
    let e = parse(call, 502, "<html>bad gateway</html>").unwrap_err();
    assert_eq!(e.to_string(), format!("{call}: unexpected answer (HTTP 502): <html>bad gateway</html>"));
}

#[test]
fn the_busy_answers() {
    let url = "http://127.0.0.1:8080/busy";
    for (body, want) in
        [("true", Ok(true)), (" false\n", Ok(false)), (r#"{"busy":false,"jobs":0}"#, Ok(false))]
    {
        assert_eq!(parse_busy(url, body), want, "{body:?}");
    }
    for body in ["1", "TRUE", r#"{"busy":"yes"}"#, ""] {
        assert!(parse_busy(url, body).is_err(), "{body:?}");
    }
}
