//! Task scale-in protection end to end: `trimtab run --local` with `ECS_AGENT_URI` pointing at
//! a fake ECS agent endpoint (wiremock, the request and answer shapes AWS documents, see
//! `tests/fixtures/ecs-agent/`). A reservation taken over the pools API protects the task; its
//! release clears the protection after the grace; `/status` and `/metrics` show both. And the
//! leader's side against a fake ECS: a scale-in waits while every running task is protected.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "common/fake_aws.rs"]
mod fake_aws;
#[path = "common/local_agent.rs"]
mod local_agent;

use local_agent::LocalAgent;

const STATE: &str = "/task-protection/v1/state";

fn answer(enabled: bool) -> ResponseTemplate {
    let body = json!({ "protection": {
        "ExpirationDate": if enabled { json!("2099-01-01T00:00:00Z") } else { Value::Null },
        "ProtectionEnabled": enabled,
        "TaskArn": "arn:aws:ecs:us-west-2:111122223333:task/1234567890abcdef0"
    }});
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json")
}

async fn puts(server: &MockServer) -> Vec<Value> {
    let got = server.received_requests().await.unwrap_or_default();
    got.iter()
        .filter(|r| r.method.as_str() == "PUT")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn a_reservation_protects_the_task_and_its_release_clears_it() {
    let fake = MockServer::start().await;
    let protect: Value =
        serde_json::from_str(include_str!("fixtures/ecs-agent/put-protect-60m.json")).unwrap();
    Mock::given(method("PUT"))
        .and(path(STATE))
        .and(body_json(&protect))
        .respond_with(answer(true))
        .mount(&fake)
        .await;
    Mock::given(method("PUT"))
        .and(path(STATE))
        .and(body_json(json!({ "ProtectionEnabled": false })))
        .respond_with(answer(false))
        .mount(&fake)
        .await;
    let uri = format!("{}/", fake.uri());
    let a = LocalAgent::start_with_env("protection", &[("ECS_AGENT_URI", uri.as_str())], |port| {
        format!(
            "[agent]\ninterval = \"1s\"\nlisten = \"127.0.0.1:{port}\"\n[pools.jobs]\ncapacity = 10\n\
             [protection]\nenabled = true\nexpires = \"60m\"\ngrace = \"1s\"\n"
        )
    });
    let idle = a.poll("/status", 15, "a first tick", |s| s["protection"]["busy"] == false).await;
    assert_eq!(idle["protection"]["protected"], false, "{idle}");

    let r = a
        .http
        .post(format!("{}/pools/jobs/reservations", a.base))
        .header("content-type", "application/json")
        .body(json!({ "amount": 1, "ttl": "10m" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let held: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    let s = a.poll("/status", 10, "protection set", |s| s["protection"]["protected"] == true).await;
    assert_eq!(s["protection"]["why"], "pool jobs holds 1 reservation(s)", "{s}");
    assert_eq!(s["protection"]["expires_at"], "2099-01-01T00:00:00Z", "{s}");
    let metrics = a.http.get(format!("{}/metrics", a.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("trimtab_task_protected 1"), "{metrics}");
    assert!(metrics.contains("trimtab_task_protection_changes_total{change=\"set\"} 1"), "{metrics}");

    let id = held["id"].as_u64().unwrap();
    let r = a
        .http
        .delete(format!("{}/pools/jobs/reservations/{id}", a.base))
        .header("reservation-secret", held["secret"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let s = a.poll("/status", 10, "protection cleared", |s| s["protection"]["clears_total"] == 1).await;
    assert_eq!(
        (&s["protection"]["protected"], &s["protection"]["problem"]),
        (&json!(false), &Value::Null),
        "{s}"
    );
    assert_eq!(puts(&fake).await, [protect, json!({ "ProtectionEnabled": false })]);
}

#[tokio::test]
async fn an_error_from_the_ecs_agent_shows_in_status() {
    let fake = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(400).set_body_raw(
                include_str!("fixtures/ecs-agent/error-access-denied.json"),
                "application/json",
            ),
        )
        .mount(&fake)
        .await;
    let uri = fake.uri();
    let a = LocalAgent::start_with_env("protection-denied", &[("ECS_AGENT_URI", uri.as_str())], |port| {
        format!(
            "[agent]\ninterval = \"1s\"\nlisten = \"127.0.0.1:{port}\"\n[pools.jobs]\ncapacity = 10\n\
             [protection]\nenabled = true\n"
        )
    });
    a.poll("/status", 15, "a first tick", |s| s["ticks"].as_u64() >= Some(1)).await;
    let r = a
        .http
        .post(format!("{}/pools/jobs/reservations", a.base))
        .header("content-type", "application/json")
        .body(json!({ "amount": 1 }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let s =
        a.poll("/status", 10, "the error", |s| s["protection"]["failures_total"].as_u64() >= Some(1)).await;
    let problem = s["protection"]["problem"].as_str().unwrap_or_default();
    assert!(
        problem
            .starts_with(&format!("PUT {uri}{STATE}: the ECS agent reports error AccessDeniedException: ")),
        "{s}"
    );
    assert_eq!(s["protection"]["protected"], false);
    assert!(s["last"]["error"].is_null(), "the tick itself goes on: {s}");
}

/// The leader's side (with `[protection]` on; off, ECS is not asked): a scale-in while
/// `protected` of the two tasks `a`, `b` are protected, or with `GetTaskProtection` failing
/// (`None`).
// The fake world is built up step by step, as a test reads.
#[allow(clippy::field_reassign_with_default)]
async fn scale_in_with(protected: Option<&[&str]>) -> (trimtab::status::Action, usize) {
    let mut w = fake_aws::World::default();
    w.desired = 10;
    w.tasks = vec![
        ("arn:aws:ecs:us-east-1:123456789012:task/prod/a".into(), fake_aws::now() - 600),
        ("arn:aws:ecs:us-east-1:123456789012:task/prod/b".into(), fake_aws::now() - 300),
    ];
    w.datapoints.insert("CPUUtilization".into(), vec![(chrono::Utc::now().timestamp() - 90, 5.0)]);
    let fake = fake_aws::FakeAws::start(w).await;
    if let Some(names) = protected {
        let tasks: Vec<Value> = ["a", "b"]
            .iter()
            .map(|n| {
                json!({
                    "taskArn": format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{n}"),
                    "protectionEnabled": names.contains(n),
                    "expirationDate": chrono::Utc::now().timestamp() + 3600,
                })
            })
            .collect();
        fake.ecs_fault(
            "GetTaskProtection",
            200,
            &json!({ "protectedTasks": tasks, "failures": [] }).to_string(),
            None,
        )
        .await;
    }
    let cfg = trimtab::config::from_str(
        "t.toml",
        &format!(
            "[service]\ncluster = \"prod\"\nname = \"web\"\nregion = \"us-east-1\"\nlaunch_type = \"ec2\"\n\
             endpoint_url = \"{}\"\n[scaling]\nmin = 1\nmax = 20\n[[scaling.metrics]]\nname = \"cpu\"\n\
             source = \"ecs\"\ntarget = 65.0\n[protection]\nenabled = true\n",
            fake.uri()
        ),
    )
    .unwrap();
    let opts = trimtab::agent::Options {
        retries: false,
        static_credentials: Some(("test".into(), "test".into())),
        ..Default::default()
    };
    let mut agent = trimtab::agent::Agent::new(cfg, opts).await.unwrap();
    let t = agent.tick(chrono::Utc::now()).await;
    (t.action, fake.count("UpdateService").await)
}

#[tokio::test]
async fn a_scale_in_is_deferred_while_every_running_task_is_protected() {
    use trimtab::status::Action;
    let (action, updates) = scale_in_with(Some(&["a", "b"])).await;
    let Action::Deferred { from: 10, why, .. } = &action else { panic!("{action:?}") };
    assert!(why.starts_with("tasks_protected: all 2 running tasks have scale-in protection"), "{why}");
    assert_eq!(updates, 0);
    let (action, updates) = scale_in_with(Some(&["a"])).await;
    assert!(matches!(action, Action::Applied { from: 10, .. }), "b is not protected: {action:?}");
    assert_eq!(updates, 1);
    let (action, updates) = scale_in_with(None).await;
    assert!(matches!(action, Action::Applied { from: 10, .. }), "GetTaskProtection failed: {action:?}");
    assert_eq!(updates, 1);
}
