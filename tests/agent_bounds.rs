//! Issue 14, "bounded under any input", through the agent against the fake AWS on wiremock: a
//! tick stops at its deadline and names the call that overran; absurd AWS timestamps neither
//! panic nor scale. Everything on 127.0.0.1.

// Worlds are built up step by step, as a test reads.
#![allow(clippy::field_reassign_with_default)]

#[path = "common/fake_aws.rs"]
mod fake_aws;

use std::time::{Duration, Instant};

use chrono::Utc;
use fake_aws::{FakeAws, World};
use trimtab::agent::snapshot::Action;
use trimtab::agent::{Agent, Options};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn config(endpoint: &str, extra: &str) -> trimtab::config::Config {
    let text = format!(
        "{extra}[service]\ncluster = \"prod\"\nname = \"web\"\nregion = \"us-east-1\"\nlaunch_type = \"ec2\"\n\
         endpoint_url = \"{endpoint}\"\n[scaling]\nmin = 1\nmax = 20\n\
         [[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 65.0\n"
    );
    trimtab::config::from_str("t.toml", &text).unwrap()
}

fn options() -> Options {
    Options { retries: false, static_credentials: Some(("test".into(), "test".into())), ..Options::default() }
}

/// The service's CPU as CloudWatch would report it: one datapoint a minute and a half ago.
fn cpu(world: &mut World, percent: f64) {
    world.datapoints.insert("CPUUtilization".into(), vec![(fake_aws::now() - 90, percent)]);
}

/// Issue 14: the 8 s bound was per call, not per tick; a tick now stops at its deadline (the
/// interval by default), says which call overran, and does not act on what it had so far.
#[tokio::test]
async fn issue_14_a_tick_stops_at_its_deadline_and_names_the_call_that_overran() {
    let mut w = World::default();
    cpu(&mut w, 90.0);
    let fake = FakeAws::start(w).await;
    // Slower than the 1 s interval, faster than the 3 s attempt timeout.
    Mock::given(method("POST"))
        .and(path(format!("{}GetMetricData", fake_aws::CW_PATH)))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(2500)))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let mut a = Agent::new(config(&fake.uri(), "[agent]\ninterval = \"1s\"\n"), options()).await.unwrap();
    let started = Instant::now();
    let t = a.tick(Utc::now()).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1800), "the tick ran {took:?}, past its 1 s deadline");
    let error = t.error.as_deref().unwrap_or_else(|| panic!("no error: {t:?}"));
    assert!(error.contains("tick deadline (1s) passed during metric sources"), "{error}");
    assert!(error.contains("cloudwatch:GetMetricData"), "{error}");
    assert_eq!(t.action, Action::Skipped, "nothing is decided on a tick cut short");
    assert!((1000..1800).contains(&t.duration_ms), "{}", t.duration_ms);
    assert_eq!(fake.count("UpdateService").await, 0);
    let snap = a.snapshot();
    assert_eq!(snap.counters.failed_ticks, 1);
    assert_eq!(snap.last.as_ref().and_then(|t| t.error.as_deref()), Some(error), "/status says it too");
}
