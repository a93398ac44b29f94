//! `vertical.mode = "apply"` through the agent, against a fake ECS on wiremock: two days of
//! light use make the right-sizer recommend a smaller task; while a deployment is in progress
//! nothing is registered; once it is over, one new revision is registered and the service is
//! pointed at it, and no second resize follows within the interval.

// Worlds are built up step by step, as a test reads.
#![allow(clippy::field_reassign_with_default)]

#[path = "common/fake_aws.rs"]
mod fake_aws;

use chrono::{DateTime, TimeDelta, Utc};
use fake_aws::{FakeAws, World};
use trimtab::agent::{Agent, Options};

fn config(endpoint: &str) -> trimtab::config::Config {
    let text = format!(
        "[service]\ncluster = \"prod\"\nname = \"web\"\nregion = \"us-east-1\"\ncpu = 1024\nmemory = 2048\n\
         endpoint_url = \"{endpoint}\"\n[scaling]\nmin = 4\nmax = 4\n\
         [[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 60\n\
         [[scaling.metrics]]\nname = \"memory\"\nsource = \"ecs\"\ntarget = 80\n\
         [vertical]\nmode = \"apply\"\ninterval = \"24h\"\n"
    );
    trimtab::config::from_str("t.toml", &text).unwrap()
}

/// CPU at 20% and memory at 30% of 1024/2048, as CloudWatch reports them 90 s before `now`.
fn light_use(world: &mut World, now: DateTime<Utc>) {
    let t = now.timestamp() - 90;
    world.datapoints.insert("CPUUtilization".into(), vec![(t, 20.0)]);
    world.datapoints.insert("MemoryUtilization".into(), vec![(t, 30.0)]);
}

/// Ticks every 5 minutes from `from` for `ticks` ticks; returns the time after the last.
async fn run(agent: &mut Agent, fake: &FakeAws, from: DateTime<Utc>, ticks: i64) -> DateTime<Utc> {
    let mut now = from;
    for _ in 0..ticks {
        light_use(&mut fake.world.lock().unwrap(), now);
        agent.tick(now).await;
        now += TimeDelta::minutes(5);
    }
    now
}

#[tokio::test]
async fn apply_waits_out_a_deployment_then_registers_one_smaller_revision() {
    let mut w = World::default();
    w.desired = 4;
    w.deployments = vec![("PRIMARY", "IN_PROGRESS")];
    let fake = FakeAws::start(w).await;
    let opts = Options {
        retries: false,
        static_credentials: Some(("test".into(), "test".into())),
        ..Options::default()
    };
    let mut agent = Agent::new(config(&fake.uri()), opts).await.unwrap();

    // Two days of light use, all of it during a rollout.
    let start = Utc::now() - TimeDelta::days(3);
    let now = run(&mut agent, &fake, start, 2 * 24 * 12).await;
    let snap = agent.snapshot();
    let sizing = snap.cost.as_ref().and_then(|c| c.sizing.clone()).expect("a sizing after two days");
    assert!(sizing.recommended, "{:?}", sizing.reasons);
    assert!(sizing.target.cpu < 1024 && sizing.target.memory < 2048, "{}", sizing.target);
    let status = snap.vertical.clone().expect("apply mode reports what it found");
    assert_eq!(status.outcome, "deployment_in_progress", "{status:?}");
    assert_eq!(fake.count("RegisterTaskDefinition").await, 0, "nothing registered during a deployment");
    assert_eq!(fake.count("DescribeTaskDefinition").await, 0);

    // The rollout finishes: the next tick resizes.
    fake.world.lock().unwrap().deployments = vec![("PRIMARY", "COMPLETED")];
    let now = run(&mut agent, &fake, now, 1).await;
    let registered = fake.world.lock().unwrap().registered.clone();
    assert_eq!(registered, [("web:2".to_owned(), sizing.target.cpu, sizing.target.memory)]);
    assert_eq!(fake.world.lock().unwrap().task_definition.0, "web:2", "the service runs the new revision");
    let snap = agent.snapshot();
    let status = snap.vertical.clone().unwrap();
    assert_eq!(status.outcome, "applied", "{status:?}");
    assert!(status.task_definition.unwrap().ends_with("task-definition/web:2"));

    // An hour of ticks inside the interval: no second resize, and the new size is what is priced.
    run(&mut agent, &fake, now, 12).await;
    assert_eq!(fake.count("RegisterTaskDefinition").await, 1);
    let snap = agent.snapshot();
    let cost = snap.cost.as_ref().unwrap();
    assert_eq!((cost.shape.cpu, cost.shape.memory), (sizing.target.cpu, sizing.target.memory));
}
