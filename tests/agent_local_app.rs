//! `trimtab run --local` with `ECS_CONTAINER_METADATA_URI_V4` pointing at a fake task metadata
//! endpoint (trimtab issue 16): the local monitor shows the app's container, not trimtab's own,
//! as it would inside an ECS task, and an alert names the container.

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "common/local_agent.rs"]
mod local_agent;

use local_agent::LocalAgent;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/ecs-metadata/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Datadog's published `/task` and cgroup v2 `/task/stats`, its containers renamed `app` and
/// `trimtab` and given the stats' Docker IDs; AWS's published container metadata renamed
/// `trimtab` at the base (see `tests/fixtures/ecs-metadata/README.md`).
async fn endpoint() -> MockServer {
    let mut task = fixture("task-with-tags-ec2.json");
    let ids = ["2207f63945be40abb2d7bca5a2661cfd-0911415269", "2207f63945be40abb2d7bca5a2661cfd-2537586469"];
    for (c, (name, id)) in
        task["Containers"].as_array_mut().unwrap().iter_mut().zip(["app", "trimtab"].into_iter().zip(ids))
    {
        c["Name"] = name.into();
        c["DockerId"] = id.into();
    }
    let mut own = fixture("container-ec2.json");
    own["Name"] = "trimtab".into();
    let server = MockServer::start().await;
    for (at, body) in [("/", own), ("/task", task), ("/task/stats", fixture("task-stats-cgroup-v2.json"))] {
        let reply = ResponseTemplate::new(200).set_body_json(body);
        Mock::given(method("GET")).and(path(at)).respond_with(reply).mount(&server).await;
    }
    server
}

#[tokio::test]
async fn local_mode_with_a_metadata_endpoint_monitors_the_app_container() {
    let server = endpoint().await;
    let uri = server.uri();
    let a = LocalAgent::start_with_env("local-app", &[("ECS_CONTAINER_METADATA_URI_V4", &uri)], |port| {
        format!(
            "[agent]\ninterval = \"1s\"\nlisten = \"127.0.0.1:{port}\"\n\
             [local]\nsample_interval = \"1s\"\n[local.alerts]\nmemory = 1\nfor = \"0s\"\n"
        )
    });
    let v = a
        .poll("/local", 20, "an alert about the app container", |v| {
            v["alerts"]["active"].as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    assert_eq!(v["source"], "task_metadata", "{v}");
    let names: Vec<&String> = v["containers"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["app"], "trimtab's own container is left out: {v}");
    // 42_827_776 usage − 6_082_560 inactive_file, of the task's 2048 MiB.
    assert_eq!(v["containers"]["app"]["latest"]["memory_bytes"], 36_745_216, "{v}");
    assert_eq!(v["containers"]["app"]["latest"]["memory_pct"], 1.7110824584960938);
    let alert = &v["alerts"]["active"][0];
    assert_eq!(alert["container"], "app");
    assert_eq!(alert["message"], "container app: memory at 1.7% of the 2 GiB limit for 0s (threshold 1%)");

    // The endpoint fails: the view says why, and the agent goes on serving it.
    server.reset().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    let v = a.poll("/local", 20, "the problem", |v| v["problem"]["message"].is_string()).await;
    let why = v["problem"]["message"].as_str().unwrap();
    assert_eq!(why, format!("GET {uri}/task: HTTP 500 Internal Server Error"));
    assert_eq!(v["containers"]["app"]["latest"]["memory_bytes"], 36_745_216, "the history stays: {v}");
}
