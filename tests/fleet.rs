//! Issue 15: controllers sharing a fleet on the in-process fakes, under tokio's paused clock.
//!
//! Three controllers, 1,000 services across two clusters (600 listed, 400 found by tag), 200
//! ticks of 15 s. The load of every service steps four times; meanwhile a controller is killed,
//! one is added, one turns unhealthy and back, and the controller service is replaced by a
//! rolling deployment. Every service must see exactly the four `UpdateService` calls its load
//! asks for, each from the count the previous one left (a decision applied twice would show as
//! a fifth call, or a call from the wrong count), and no service may go more than two ticks
//! without a controller acting for it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until};
use trimtab::agent::fleet::Settings;
use trimtab::agent::fleet::fake::{self, FakeClock, Update, World};
use trimtab::config::model::{Discovery, FleetConfig};

const T: Duration = Duration::from_secs(15);
const TICKS: u64 = 200;
/// The load steps at these ticks: up, down, up, down.
const STEPS: [u64; 4] = [20, 60, 110, 160];

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// Service `i`'s counts: high in the odd phases, low in the even ones after the first.
fn counts(i: usize) -> (u32, u32, u32) {
    let n = 4 + (i % 7) as u32; // 4..=10
    let m = 1 + (i % 3) as u32; // 1..=3
    (n, m, n + 2)
}

fn service(i: usize) -> (&'static str, String) {
    (if i.is_multiple_of(2) { "prod" } else { "staging" }, format!("svc-{i:04}"))
}

/// The load of service `name` at `at`, in task-percent: CPU is this over the desired count.
fn load(name: &str, at: DateTime<Utc>) -> f64 {
    let i: usize = name[4..].parse().unwrap();
    let tick = ((at - start()).num_seconds().max(0) as u64) / T.as_secs();
    let (n, m, n2) = counts(i);
    let tasks = match STEPS.iter().filter(|s| tick >= **s).count() {
        0 => 2,
        1 => n,
        2 => m,
        3 => n2,
        _ => m,
    };
    50.0 * f64::from(tasks)
}

/// 600 services listed, the rest found by tag; the controllers share the healthy tasks of
/// ops/trimtab.
fn fleet() -> FleetConfig {
    let listed: Vec<(&str, String)> = (0..600).map(service).collect();
    let listed: Vec<(&str, &str)> = listed.iter().map(|(c, n)| (*c, n.as_str())).collect();
    let discovery = Discovery {
        clusters: vec!["prod".into(), "staging".into()],
        tag: "trimtab:policy".into(),
        interval: TimeDelta::minutes(5),
    };
    let mut f = fake::fleet_config(fake::CPU_POLICY, &listed, Some(discovery));
    f.controller.cluster = Some("ops".into());
    f.controller.service = Some("trimtab".into());
    f
}

/// What each live controller acted for at its last tick.
type Acting = Arc<Mutex<BTreeMap<String, BTreeSet<String>>>>;

struct Fleet {
    world: Arc<Mutex<World>>,
    acting: Acting,
    running: BTreeMap<String, JoinHandle<()>>,
    /// `UpdateService` calls a second the controllers share.
    rate: f64,
}

impl Fleet {
    /// Starts controller `who`, its first tick `offset` from now.
    fn start(&mut self, who: &str, offset: Duration) {
        let settings =
            Settings { me: Some(who.to_owned()), updates_per_second: self.rate, ..Settings::alone(T) };
        let mut c = fake::controller(&self.world, who, fleet(), settings);
        let acting = self.acting.clone();
        let who = who.to_owned();
        let first = Instant::now() + offset;
        let name = who.clone();
        let handle = tokio::spawn(async move {
            let mut next = first;
            loop {
                sleep_until(next).await;
                c.tick().await;
                let now: BTreeSet<String> = c.acting().map(str::to_owned).collect();
                acting.lock().unwrap().insert(who.clone(), now);
                next += T;
            }
        });
        self.running.insert(name, handle);
    }

    /// The process ends (killed, or the end of a task's stop): it acts no more.
    fn kill(&mut self, who: &str) {
        if let Some(h) = self.running.remove(who) {
            h.abort();
        }
        self.acting.lock().unwrap().remove(who);
    }

    fn task(&self, who: &str, status: &str, health: &str) {
        self.world.lock().unwrap().set_task(who, status, health);
    }
}

/// The handover alone: updates are not rate-limited, so every step of the load is applied
/// within a tick or two, while the membership changes. A controller that acted before an
/// interval of ownership fails this (210 services got a decision twice when rule 1 was skipped).
#[tokio::test(start_paused = true)]
async fn three_controllers_share_a_thousand_services_through_churn() {
    churn(f64::INFINITY).await;
}

/// The same, with the account's `UpdateService` rate shared among the members (4 a second):
/// each step takes several ticks, and still every decision is applied exactly once.
#[tokio::test(start_paused = true)]
async fn the_same_churn_within_the_accounts_update_rate() {
    let updates = churn(trimtab::agent::fleet::UPDATES_PER_SECOND).await;
    // Each controller keeps to its share: 30 a tick with two members, 20 with three, 15 with
    // four. A step of the load is more than that, so it is spread over several ticks.
    let mut per_tick: BTreeMap<(&str, i64), usize> = BTreeMap::new();
    for u in &updates {
        let tick = (u.at - start()).num_milliseconds() / T.as_millis() as i64;
        *per_tick.entry((u.by.as_str(), tick)).or_default() += 1;
    }
    let busiest = per_tick.values().max().copied().unwrap_or(0);
    assert!((15..=30).contains(&busiest), "the most updates a controller made in a tick: {busiest}");
    let first_step_done =
        updates.iter().filter(|u| u.at < start() + TimeDelta::seconds(15 * 60)).map(|u| u.at).max();
    assert!(
        first_step_done > Some(start() + TimeDelta::seconds(15 * 30)),
        "the first step was done within 10 ticks, so no update waited: {first_step_done:?}"
    );
}

/// 200 ticks of churn at `rate` updates a second; every service's updates are checked, and
/// returned.
async fn churn(rate: f64) -> Vec<Update> {
    let clock = FakeClock::new(start());
    let mut world = World::new(clock, Box::new(|_, name, at| load(name, at)));
    for i in 0..1000 {
        let (cluster, name) = service(i);
        let tags: &[(&str, &str)] = if i >= 600 { &[("trimtab:policy", "web")] } else { &[("team", "x")] };
        world.add_service(cluster, &name, 2, tags);
    }
    // A service of the same clusters with no tag and not listed is never touched.
    world.add_service("prod", "not-managed", 3, &[]);
    let mut f =
        Fleet { world: Arc::new(Mutex::new(world)), acting: Arc::default(), running: BTreeMap::new(), rate };
    let began = Instant::now();
    // Ticks of different controllers overlap: each starts within a second of the others.
    sleep(Duration::from_millis(1)).await;
    for (who, offset) in [("c1", 0), ("c2", 300), ("c3", 600)] {
        f.task(who, "RUNNING", "HEALTHY");
        f.start(who, Duration::from_millis(offset));
    }
    let mut unowned: BTreeMap<String, u32> = BTreeMap::new();
    let mut worst: (u32, String, u64) = (0, String::new(), 0);
    for tick in 0..TICKS {
        // Churn. Changes land a little after the tick's first controller has read the
        // membership and before the others do, the hardest moment for a handover.
        let mid = || sleep(Duration::from_millis(100));
        match tick {
            19 => {
                // c2 is killed just before the load steps: its services move mid-change.
                f.kill("c2");
                f.task("c2", "STOPPED", "UNKNOWN");
            }
            58 => {
                f.task("c4", "RUNNING", "UNKNOWN");
                f.start("c4", Duration::from_millis(450));
            }
            60 => {
                mid().await;
                f.task("c4", "RUNNING", "HEALTHY");
            }
            108 => f.task("c3", "RUNNING", "UNHEALTHY"),
            110 => {
                // Back healthy as the load steps: old and new owners meet on a change.
                mid().await;
                f.task("c3", "RUNNING", "HEALTHY");
            }
            // A rolling deployment of the controller: two new tasks, then the old ones stop.
            150 => {
                for (who, offset) in [("c5", 150), ("c6", 750)] {
                    f.task(who, "RUNNING", "UNKNOWN");
                    f.start(who, Duration::from_millis(offset));
                }
            }
            151 => {
                f.task("c5", "RUNNING", "HEALTHY");
                f.task("c6", "RUNNING", "HEALTHY");
            }
            160 => {
                mid().await;
                for who in ["c1", "c3", "c4"] {
                    f.task(who, "DEACTIVATING", "HEALTHY");
                }
            }
            161 => {
                // stopTimeout: the old processes end a tick later.
                for who in ["c1", "c3", "c4"] {
                    f.kill(who);
                    f.task(who, "STOPPED", "UNKNOWN");
                }
            }
            _ => {}
        }
        // Just before the next tick's slots: has someone acted for every service?
        sleep_until(began + T * (tick as u32 + 1) - Duration::from_millis(1)).await;
        if tick >= 3 {
            let acting = f.acting.lock().unwrap();
            let managed: BTreeSet<&String> = acting.values().flatten().collect();
            for i in 0..1000 {
                let key = format!("{}/{}", service(i).0, service(i).1);
                let n = unowned.entry(key.clone()).or_default();
                *n = if managed.contains(&key) { 0 } else { *n + 1 };
                if *n > worst.0 {
                    worst = (*n, key, tick);
                }
            }
        }
    }
    for who in f.running.keys().cloned().collect::<Vec<_>>() {
        f.kill(&who);
    }
    sleep(Duration::from_millis(10)).await;
    eprintln!(
        "longest a service went without a controller acting for it: {} ticks ({} at tick {})",
        worst.0, worst.1, worst.2
    );
    assert!(
        worst.0 <= 2,
        "{} went {} ticks without a controller acting for it (at tick {})",
        worst.1,
        worst.0,
        worst.2
    );

    let world = f.world.lock().unwrap();
    let mut by_service: BTreeMap<&str, Vec<(u32, u32)>> = BTreeMap::new();
    for u in &world.updates {
        by_service.entry(u.service.as_str()).or_default().push((u.from, u.to));
    }
    assert!(!by_service.contains_key("prod/not-managed"), "an unmanaged service was scaled");
    let mut wrong = Vec::new();
    for i in 0..1000 {
        let (cluster, name) = service(i);
        let (n, m, n2) = counts(i);
        let want = vec![(2, n), (n, m), (m, n2), (n2, m)];
        let got = by_service.get(format!("{cluster}/{name}").as_str()).cloned().unwrap_or_default();
        if got != want {
            wrong.push(format!("{cluster}/{name}: {got:?}, want {want:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} services had other updates than their load asks, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(world.updates.len(), 4000);
    // Every controller that lived made some of them.
    let by: BTreeSet<&str> = world.updates.iter().map(|u| u.by.as_str()).collect();
    assert_eq!(by, BTreeSet::from(["c1", "c3", "c4", "c5", "c6"]), "c2 died before the first step");
    world.updates.clone()
}
