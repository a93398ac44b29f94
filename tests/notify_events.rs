//! Notifications for more than budgets (issue 17, point 7), end to end: an agent against the
//! fake AWS is paused by its service's tag, resumed, and scales; its `[[notify]]` targets on
//! loopback receive what each opted into — a webhook the `scaling` and `operator` events as
//! JSON, a Slack target readable text — and a target left at the default (budget only) nothing.

// Worlds are built up step by step, as a test reads.
#![allow(clippy::field_reassign_with_default)]

#[path = "common/fake_aws.rs"]
mod fake_aws;

use std::time::Duration;

use chrono::Utc;
use fake_aws::{FakeAws, World};
use serde_json::Value;
use trimtab::agent::{Agent, Options};
use trimtab::status::Action;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    server
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server.received_requests().await.unwrap().iter().map(|r| r.body_json().unwrap()).collect()
}

fn config(endpoint: &str, hooks: (&MockServer, &MockServer, &MockServer)) -> trimtab::config::Config {
    let (webhook, slack, budget) = hooks;
    let text = format!(
        "[service]\ncluster = \"prod\"\nname = \"web\"\nregion = \"us-east-1\"\nlaunch_type = \"ec2\"\n\
         endpoint_url = \"{endpoint}\"\n[scaling]\nmin = 1\nmax = 20\n\
         [[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 65.0\n\
         [[notify]]\ntype = \"webhook\"\nurl = \"{}/hook\"\nevents = [\"scaling\", \"operator\"]\n\
         [[notify]]\ntype = \"slack\"\nurl = \"{}/services/T0/B0/secret\"\nevents = [\"scaling\"]\n\
         [[notify]]\ntype = \"webhook\"\nurl = \"{}/budget\"\n",
        webhook.uri(),
        slack.uri(),
        budget.uri()
    );
    trimtab::config::from_str("t.toml", &text).unwrap()
}

fn options() -> Options {
    Options {
        local: false,
        metadata_uri: None,
        retries: false,
        static_credentials: Some(("test".into(), "test".into())),
        agent_uri: None,
        api_token: None,
    }
}

#[tokio::test]
async fn a_scaling_agent_notifies_each_target_of_what_it_opted_into() {
    let mut w = World::default();
    w.datapoints.insert("CPUUtilization".into(), vec![(Utc::now().timestamp() - 90, 90.0)]);
    w.tags = vec![("trimtab:paused".into(), "true".into())];
    let fake = FakeAws::start(w).await;
    let (webhook, slack, budget) = (receiver().await, receiver().await, receiver().await);
    let mut agent = Agent::new(config(&fake.uri(), (&webhook, &slack, &budget)), options()).await.unwrap();

    let paused = agent.tick(Utc::now()).await;
    assert_eq!(paused.action, Action::Paused { from: 4, to: 6 }, "{paused:?}");
    fake.world.lock().unwrap().tags.clear();
    let scaled = agent.tick(Utc::now()).await;
    // ceil(4 × 90 / 65) = 6
    assert_eq!(scaled.action, Action::Applied { from: 4, to: 6 }, "{scaled:?}");
    agent.flush_notifications(Duration::from_secs(10)).await;

    let mut got = bodies(&webhook).await;
    // Deliveries run side by side: in the order of their names, which is also when they happened.
    got.sort_by_key(|b| b["event"].as_str().unwrap_or_default().to_owned());
    let events: Vec<&str> = got.iter().map(|b| b["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["operator.paused", "operator.resumed", "scaling.out"], "{got:?}");
    let scaling = &got[2];
    assert_eq!(scaling["kind"], "scaling");
    assert_eq!(scaling["service"], "prod/web");
    assert_eq!((scaling["from"].as_u64(), scaling["to"].as_u64()), (Some(4), Some(6)));
    assert_eq!(scaling["reason"], "scale_out");
    assert_eq!(scaling["message"], scaled.decision.as_ref().unwrap().message.as_str(), "as explain says it");
    assert_eq!(scaling["metrics"][0]["name"], "cpu");
    assert_eq!(scaling["metrics"][0]["value"].as_f64(), Some(90.0));
    assert_eq!(scaling["metrics"][0]["target"].as_f64(), Some(65.0));

    let got = bodies(&slack).await;
    assert_eq!(got.len(), 1, "the Slack target takes scaling events only: {got:?}");
    let text = got[0]["text"].as_str().unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        "*prod/web* scaled out 4 → 6 — cpu 90% &gt; 65% target",
        "{text}"
    );
    assert!(text.lines().last().unwrap().starts_with("_trimtab · scaling.out · "), "{text}");

    assert_eq!(
        bodies(&budget).await,
        Vec::<Value>::new(),
        "a target at the default takes budget alerts only"
    );
}
