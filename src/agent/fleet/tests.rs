//! One controller alone on the fakes: tags, discovery, pause, override, missing data.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::Settings;
use super::fake::{self, FakeClock, FakeController, World};
use crate::config::model::{Discovery, FleetConfig};
use crate::core::cost::Rate;
use crate::status::{Action, Standing};

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn fleet(listed: &[(&str, &str)]) -> FleetConfig {
    let discovery = Discovery {
        clusters: vec!["prod".into(), "staging".into()],
        tag: "trimtab:policy".into(),
        interval: TimeDelta::minutes(5),
    };
    fake::fleet_config(fake::CPU_POLICY, listed, Some(discovery))
}

/// A world where every service runs at `cpu` % on 2 tasks (load = 2 × cpu).
fn world(cpu: f64) -> Arc<Mutex<World>> {
    let clock = FakeClock::new(start());
    Arc::new(Mutex::new(World::new(clock, Box::new(move |_, _, _| 2.0 * cpu))))
}

fn controller(w: &Arc<Mutex<World>>, listed: &[(&str, &str)]) -> FakeController {
    let settings = Settings::alone(Duration::from_secs(15));
    fake::controller(w, "c1", fleet(listed), settings)
}

fn desired(w: &Arc<Mutex<World>>, key: &str) -> u32 {
    w.lock().unwrap().services[key].desired
}

#[tokio::test(start_paused = true)]
async fn tags_adopt_release_pause_override_and_a_bad_one_touches_nothing_else() {
    let w = world(100.0); // 2 tasks at 100 % → 4 at 50 %
    let until = (start() + TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let held = format!("count=7 until={until} reason=launch");
    {
        let mut w = w.lock().unwrap();
        w.add_service("prod", "web", 2, &[("trimtab:policy", "web")]);
        w.add_service("staging", "api", 2, &[("trimtab:policy", "web")]);
        w.add_service("prod", "bad", 2, &[("trimtab:policy", "web"), ("trimtab:paused", "maybe")]);
        w.add_service("prod", "nobody", 2, &[("team", "x")]);
        w.add_service("prod", "paused", 2, &[("trimtab:policy", "web"), ("trimtab:paused", "true")]);
        w.add_service(
            "staging",
            "held",
            2,
            &[("trimtab:policy", "web"), ("trimtab:override", held.as_str())],
        );
        w.add_service("staging", "listed", 2, &[]);
        w.add_service("staging", "unknown-policy", 2, &[("trimtab:policy", "gpu")]);
    }
    let mut c = controller(&w, &[("staging", "listed"), ("prod", "gone")]);
    let v = c.tick().await.clone();
    assert_eq!(v.discovery.as_ref().map(|d| d.adopted), Some(6));
    assert_eq!(
        (desired(&w, "prod/web"), desired(&w, "staging/api"), desired(&w, "staging/listed")),
        (4, 4, 4)
    );
    assert_eq!(desired(&w, "staging/held"), 7, "the override holds 7");
    assert_eq!(desired(&w, "prod/paused"), 2);
    assert_eq!(v.services["prod/paused"].action, Some(Action::Paused { from: 2, to: 4 }));
    assert_eq!(desired(&w, "prod/bad"), 2);
    assert_eq!(
        v.services["prod/bad"].problem.as_deref(),
        Some("tag trimtab:paused = \"maybe\": expected true or false")
    );
    assert!(v.services["staging/unknown-policy"].problem.as_deref().unwrap().contains("gpu"));
    assert_eq!(v.services["prod/gone"].problem.as_deref(), Some("ECS did not return the service: MISSING"));
    assert!(!v.services.contains_key("prod/nobody"));
    assert_eq!(desired(&w, "prod/nobody"), 2);
    assert_eq!(w.lock().unwrap().updates.len(), 4, "web, api, listed, held");

    // The tag goes: the service is released and left at its count.
    w.lock().unwrap().services.get_mut("staging/api").unwrap().tags.clear();
    tokio::time::advance(Duration::from_secs(15)).await;
    let v = c.tick().await.clone();
    assert!(!v.services.contains_key("staging/api"));
    assert_eq!(desired(&w, "staging/api"), 4);
}

#[tokio::test(start_paused = true)]
async fn missing_metrics_scale_nothing_and_calls_are_batched() {
    let w = world(f64::NAN);
    {
        let mut w = w.lock().unwrap();
        for i in 0..25 {
            w.add_service("prod", &format!("s{i:02}"), 3, &[("trimtab:policy", "web")]);
        }
    }
    let mut c = controller(&w, &[]);
    let v = c.tick().await.clone();
    assert!(w.lock().unwrap().updates.is_empty(), "CloudWatch answered NaN: nothing scales");
    assert_eq!(v.services["prod/s00"].action, Some(Action::None));
    // Discovery: 1 ListServices + 3 DescribeServices for prod, 1 for staging (empty); the tick:
    // 3 DescribeServices (10 a call) and 1 GetMetricData for 25 queries, 1 for their restore.
    assert_eq!(v.calls.get("ecs:DescribeServices"), Some(&6));
    assert_eq!(v.calls.get("ecs:ListServices"), Some(&2));
    assert_eq!(v.calls.get("cloudwatch:GetMetricData"), Some(&2));
    assert_eq!(v.calls.get("cloudwatch:PutMetricData"), Some(&1));
    assert_eq!(v.calls.get("ecs:UpdateService"), None);
}

const WORKER: &str = "[scaling]\nmin = 0\nmax = 10\nscale_out_cooldown = \"0s\"\nscale_in_cooldown = \"0s\"\nscale_in_stabilization = \"0s\"\n\
    max_scale_out_step = 10\nmax_scale_in_step = 10\n\
    [[scaling.metrics]]\nname = \"backlog\"\nsource = \"cloudwatch\"\nnamespace = \"AWS/SQS\"\n\
    metric = \"ApproximateNumberOfMessagesVisible\"\ndimensions = { QueueName = \"{service}\" }\n\
    statistic = \"Maximum\"\ntarget_type = \"average_value\"\ntarget = 100\nactivation = 0\nweight = 1\n";

/// Issue 15, point 6: the controller does not live in the tasks it scales, so a service at
/// zero tasks whose metric CloudWatch reports without them wakes, and goes back to zero.
#[tokio::test(start_paused = true)]
async fn a_service_at_zero_wakes_on_its_queue_and_rests_again() {
    let backlog = Arc::new(Mutex::new(0.0));
    let b = backlog.clone();
    let clock = FakeClock::new(start());
    let w = Arc::new(Mutex::new(World::new(clock, Box::new(move |_, _, _| *b.lock().unwrap()))));
    w.lock().unwrap().add_service("prod", "worker", 0, &[]);
    let mut cfg = fleet(&[("prod", "worker")]);
    cfg.discovery = None;
    cfg.policies.insert("web".into(), crate::config::from_str("w.toml", WORKER).unwrap().scaling);
    let settings = Settings::alone(Duration::from_secs(15));
    let mut c = fake::controller(&w, "c1", cfg, settings);
    c.tick().await;
    assert_eq!(desired(&w, "prod/worker"), 0, "an empty queue: it rests");
    *backlog.lock().unwrap() = 450.0;
    tokio::time::advance(Duration::from_secs(15)).await;
    c.tick().await;
    assert_eq!(desired(&w, "prod/worker"), 5, "450 messages at 100 a task");
    *backlog.lock().unwrap() = 0.0;
    tokio::time::advance(Duration::from_secs(15)).await;
    c.tick().await;
    assert_eq!(desired(&w, "prod/worker"), 1, "drained: one task, until the queue has been quiet");
    tokio::time::advance(Duration::from_secs(15)).await;
    c.tick().await;
    assert_eq!(desired(&w, "prod/worker"), 0, "quiet: back to zero");
    let updates: Vec<(u32, u32)> = w.lock().unwrap().updates.iter().map(|u| (u.from, u.to)).collect();
    assert_eq!(updates, [(0, 5), (5, 1), (1, 0)]);
}

#[test]
fn the_update_budget_shares_the_account_rate_among_members() {
    use super::{UPDATES_PER_SECOND as RATE, update_budget};
    let t = Duration::from_secs(15);
    assert_eq!(update_budget(t, RATE, 1), 60);
    assert_eq!(update_budget(t, RATE, 3), 20);
    assert_eq!(update_budget(Duration::from_secs(30), RATE, 4), 30);
    assert_eq!(update_budget(t, RATE, 1000), 1, "never none");
}

/// More changes than a tick's budget: scale-outs first, the largest first; the rest wait.
#[tokio::test(start_paused = true)]
async fn changes_past_the_budget_wait_for_the_next_tick_scale_outs_first() {
    // Service i runs 2 tasks at (100 + i) % CPU below s40, and idle from s40 on.
    let clock = FakeClock::new(start());
    let w = Arc::new(Mutex::new(World::new(
        clock,
        Box::new(|_, name, _| {
            let i: u32 = name[1..].parse().unwrap();
            if i < 40 { 2.0 * (100.0 + f64::from(i)) } else { 2.0 * 10.0 }
        }),
    )));
    {
        let mut w = w.lock().unwrap();
        for i in 0..80 {
            w.add_service("prod", &format!("s{i:02}"), 2, &[("trimtab:policy", "web")]);
        }
    }
    let mut c = controller(&w, &[]);
    let v = c.tick().await.clone();
    let updates = w.lock().unwrap().updates.clone();
    assert_eq!(updates.len(), 60, "the budget of a 15 s tick for one controller");
    assert!(updates.iter().take(40).all(|u| u.to > u.from), "the 40 scale-outs go first");
    let deferred: Vec<&String> = v
        .services
        .iter()
        .filter(|(_, s)| matches!(s.action, Some(Action::Deferred { .. })))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(deferred.len(), 20);
    assert!(deferred.iter().all(|k| k.as_str() >= "prod/s40"), "only scale-ins wait: {deferred:?}");
    tokio::time::advance(Duration::from_secs(15)).await;
    c.tick().await;
    assert_eq!(w.lock().unwrap().updates.len(), 80, "the rest at the next tick");
}

fn member_controller(w: &Arc<Mutex<World>>, me: &str) -> FakeController {
    let mut cfg = fleet(&[]);
    cfg.controller.cluster = Some("ops".into());
    cfg.controller.service = Some("trimtab".into());
    let settings = Settings { me: Some(me.into()), ..Settings::alone(Duration::from_secs(15)) };
    fake::controller(w, me, cfg, settings)
}

/// The handover rule on one member: it settles an interval first; it owns nothing while it is
/// not RUNNING and HEALTHY, or when the membership cannot be read, and settles again after.
#[tokio::test(start_paused = true)]
async fn a_member_settles_first_and_owns_nothing_it_cannot_be_sure_of() {
    let w = world(100.0);
    {
        let mut w = w.lock().unwrap();
        for i in 0..5 {
            w.add_service("prod", &format!("s{i}"), 2, &[("trimtab:policy", "web")]);
        }
        w.set_task("c1", "RUNNING", "HEALTHY");
    }
    let mut c = member_controller(&w, "c1");
    let t = Duration::from_secs(15);
    let v = c.tick().await.clone();
    assert!(v.services.values().all(|s| s.standing == Standing::Settling), "{v:?}");
    assert_eq!(v.services["prod/s0"].action, Some(Action::Handover { from: 2, to: 4 }));
    assert!(w.lock().unwrap().updates.is_empty(), "nothing in the first interval");
    tokio::time::advance(t).await;
    c.tick().await;
    assert_eq!(w.lock().unwrap().updates.len(), 5, "an interval later it acts");

    // Unhealthy: not a member, nothing owned, nothing done.
    for (_, s) in w.lock().unwrap().services.iter_mut() {
        s.desired = 2;
    }
    w.lock().unwrap().set_task("c1", "RUNNING", "UNHEALTHY");
    tokio::time::advance(t).await;
    let v = c.tick().await.clone();
    assert!(v.members.is_empty() && v.services.values().all(|s| s.standing == Standing::Elsewhere), "{v:?}");
    assert_eq!(w.lock().unwrap().updates.len(), 5);

    // Healthy, but the membership cannot be read: still nothing.
    w.lock().unwrap().set_task("c1", "RUNNING", "HEALTHY");
    w.lock().unwrap().members_fail = true;
    tokio::time::advance(t).await;
    let v = c.tick().await.clone();
    assert!(v.membership_error.as_deref().unwrap().contains("Rate exceeded"), "{v:?}");
    assert!(v.services.values().all(|s| s.standing == Standing::Elsewhere));
    // Readable again: it settles for an interval before it acts.
    w.lock().unwrap().members_fail = false;
    tokio::time::advance(t).await;
    let v = c.tick().await.clone();
    assert!(v.services.values().all(|s| s.standing == Standing::Settling), "{v:?}");
    assert_eq!(w.lock().unwrap().updates.len(), 5);
    tokio::time::advance(t).await;
    c.tick().await;
    assert_eq!(w.lock().unwrap().updates.len(), 10);
}

/// Rule 2 of the handover: no `UpdateService` starts later than `interval - 8 s` after the
/// membership read. Here every call takes 3 s, so the reads use up a 10 s tick's 2 s.
#[tokio::test(start_paused = true)]
async fn no_change_starts_after_the_ticks_time_to_start_changes() {
    let w = world(100.0);
    {
        let mut w = w.lock().unwrap();
        w.add_service("prod", "web", 2, &[("trimtab:policy", "web")]);
        w.latency = Duration::from_secs(3);
    }
    let settings = Settings::alone(Duration::from_secs(10));
    let mut c = fake::controller(&w, "c1", fleet(&[]), settings);
    let v = c.tick().await.clone();
    assert!(
        matches!(&v.services["prod/web"].action, Some(Action::Deferred { from: 2, to: 4, why }) if why.contains("time to start changes")),
        "{v:?}"
    );
    assert!(w.lock().unwrap().updates.is_empty());
    w.lock().unwrap().latency = Duration::from_millis(100);
    tokio::time::advance(Duration::from_secs(10)).await;
    c.tick().await;
    assert_eq!(w.lock().unwrap().updates.len(), 1);
}

/// A deleted service (INACTIVE, still described by ECS for a while) is reported, not scaled.
#[tokio::test(start_paused = true)]
async fn a_deleted_service_is_left_alone() {
    let w = world(100.0);
    w.lock().unwrap().add_service("prod", "gone", 2, &[]);
    w.lock().unwrap().services.get_mut("prod/gone").unwrap().status = "INACTIVE".into();
    let mut c = controller(&w, &[("prod", "gone")]);
    let v = c.tick().await.clone();
    assert_eq!(v.services["prod/gone"].problem.as_deref(), Some("the service is INACTIVE: left alone"));
    assert!(w.lock().unwrap().updates.is_empty());
}

/// Each service is priced from its own task definition, read once per revision; an EC2 service
/// says why it is not.
#[tokio::test(start_paused = true)]
async fn each_service_is_priced_from_its_task_definition_read_once() {
    let w = world(50.0); // 2 tasks at 50 %: no change
    {
        let mut w = w.lock().unwrap();
        w.add_service("prod", "web", 2, &[("trimtab:policy", "web")]);
        w.add_service("prod", "big", 2, &[("trimtab:policy", "web")]);
        w.services.get_mut("prod/big").unwrap().size = (4096, 8192);
        w.add_service("prod", "ec2", 2, &[("trimtab:policy", "web")]);
        w.services.get_mut("prod/ec2").unwrap().launch = "EC2".into();
    }
    let settings = Settings { region: Some("us-east-1".into()), ..Settings::alone(Duration::from_secs(15)) };
    let mut c = fake::controller(&w, "c1", fleet(&[]), settings);
    let v = c.tick().await.clone();
    // us-east-1 Fargate Linux/x86: $0.04048 a vCPU-hour, $0.004445 a GB-hour.
    assert_eq!(v.services["prod/web"].task_per_hour_usd, Rate::parse_usd("0.04937"));
    assert_eq!(v.services["prod/web"].per_hour_usd, Rate::parse_usd("0.09874"));
    assert_eq!(v.services["prod/big"].per_hour_usd, Rate::parse_usd("0.39496"), "4 vCPU, 8 GB, 2 tasks");
    assert_eq!(
        v.services["prod/ec2"].cost_problem.as_deref(),
        Some("runs on EC2: a controller prices Fargate services only")
    );
    assert_eq!(v.cost_per_hour_usd, Rate::parse_usd("0.4937").unwrap(), "5 tasks of 1 vCPU, 2 GB");
    assert_eq!(v.calls.get("ecs:DescribeTaskDefinition"), Some(&2), "not the EC2 service's");
    tokio::time::advance(Duration::from_secs(15)).await;
    let v = c.tick().await.clone();
    assert_eq!(v.calls.get("ecs:DescribeTaskDefinition"), None, "read once per revision");
    assert_eq!(v.services["prod/web"].per_hour_usd, Rate::parse_usd("0.09874"));
}

#[tokio::test(start_paused = true)]
async fn task_definitions_are_read_a_few_a_tick() {
    let w = world(50.0);
    for i in 0..25 {
        w.lock().unwrap().add_service("prod", &format!("s{i:02}"), 2, &[("trimtab:policy", "web")]);
    }
    let settings = Settings { region: Some("us-east-1".into()), ..Settings::alone(Duration::from_secs(15)) };
    let mut c = fake::controller(&w, "c1", fleet(&[]), settings);
    let v = c.tick().await.clone();
    assert_eq!(v.calls.get("ecs:DescribeTaskDefinition"), Some(&20));
    let waiting = v
        .services
        .values()
        .filter(|s| s.cost_problem.as_deref() == Some("not priced yet: its task definition is read in turn"));
    assert_eq!(waiting.count(), 5);
    tokio::time::advance(Duration::from_secs(15)).await;
    let v = c.tick().await.clone();
    assert_eq!(v.calls.get("ecs:DescribeTaskDefinition"), Some(&5));
    assert!(v.services.values().all(|s| s.per_hour_usd == Rate::parse_usd("0.09874")));
}

/// A tick's reads end within the interval: an ECS that answers in 20 s leaves a 10 s tick
/// undecided, and it ends on time.
#[tokio::test(start_paused = true)]
async fn a_tick_whose_reads_overrun_the_interval_ends_on_time_and_decides_nothing() {
    let w = world(100.0);
    w.lock().unwrap().add_service("prod", "web", 2, &[]);
    w.lock().unwrap().latency = Duration::from_secs(20);
    let mut cfg = fleet(&[("prod", "web")]);
    cfg.discovery = None;
    let settings = Settings::alone(Duration::from_secs(10));
    let mut c = fake::controller(&w, "c1", cfg, settings);
    let began = tokio::time::Instant::now();
    let v = c.tick().await.clone();
    assert_eq!(began.elapsed(), Duration::from_secs(10));
    assert_eq!(v.error.as_deref(), Some("the tick's reads overran the interval (10s): nothing decided"));
    assert!(w.lock().unwrap().updates.is_empty());
}

/// A [`crate::notify::Notify`] port that keeps what it is told.
#[derive(Default)]
struct Told(Mutex<Vec<crate::notify::Event>>);

impl crate::notify::Notify for Told {
    fn notify(&self, event: crate::notify::Event) {
        self.0.lock().unwrap().push(event);
    }
}

impl Told {
    fn take(&self) -> Vec<crate::notify::Event> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[tokio::test(start_paused = true)]
async fn the_controller_tells_ownership_scaling_and_operator_changes_through_its_port() {
    use crate::notify::Event;
    use crate::notify::event::OperatorChange;
    let w = world(100.0); // 2 tasks at 100 % → 4 at 50 %
    {
        let mut w = w.lock().unwrap();
        w.add_service("prod", "web", 2, &[("trimtab:policy", "web")]);
        w.add_service("prod", "paused", 2, &[("trimtab:policy", "web"), ("trimtab:paused", "true")]);
    }
    let told = Arc::new(Told::default());
    let mut c = controller(&w, &[]).with_notify(told.clone());
    c.tick().await;
    let events = told.take();
    let ownership: Vec<_> =
        events.iter().filter_map(|e| if let Event::Ownership(o) = e { Some(o) } else { None }).collect();
    assert_eq!(ownership.len(), 1, "{events:?}");
    assert_eq!((ownership[0].member.as_str(), ownership[0].took_count), ("self", 2));
    let scaled: Vec<_> = events
        .iter()
        .filter_map(
            |e| if let Event::Scaling(s) = e { Some((s.service.as_str(), s.from, s.to)) } else { None },
        )
        .collect();
    assert_eq!(scaled, [("prod/web", 2, 4)], "the paused service is not scaled: {events:?}");
    let paused: Vec<_> = events
        .iter()
        .filter_map(|e| {
            if let Event::Operator(o) = e { Some((o.service.as_str(), o.change.clone())) } else { None }
        })
        .collect();
    assert_eq!(paused, [("prod/paused", OperatorChange::Paused)]);

    // Nothing new, nothing told; a resume is told once.
    tokio::time::advance(Duration::from_secs(15)).await;
    c.tick().await;
    assert_eq!(told.take(), []);
    w.lock().unwrap().services.get_mut("prod/paused").unwrap().tags.remove("trimtab:paused");
    tokio::time::advance(Duration::from_secs(15)).await;
    c.tick().await;
    let events = told.take();
    assert!(
        events.iter().any(|e| matches!(e, Event::Operator(o) if o.change == OperatorChange::Resumed)),
        "{events:?}"
    );
}
