//! The world the controller benchmark and its measurement example run on: `n` services listed
//! in `[[services]]`, alternately in two clusters, one controller alone (no `[controller]`
//! service, no discovery) that owns them all, and the in-process fakes with no latency.
//!
//! The load moves so that a tenth of the services change count every tick: service `i` needs
//! `low(i)` tasks, or three more in alternate spans of ten ticks, the spans staggered by `i`.
//! Every tick thus reads every service and its metric, decides them all, calls `UpdateService`
//! for a tenth of them and publishes every service's own metrics, as a busy fleet would.
//! Services are created inside the runtime: the fake clock follows tokio's (paused) clock.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use trimtab::agent::fleet::Settings;
use trimtab::agent::fleet::fake::{self, FakeClock, Shared, World};
use trimtab::config::model::FleetConfig;

pub const INTERVAL: Duration = Duration::from_secs(15);

/// Ticks a controller runs before it is measured: the first restores every service's cooldowns
/// (batched `GetMetricData`), the later ones are steady.
pub const WARM_UP: u32 = 3;

pub type Fleet = fake::FakeController;

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("a valid timestamp")
}

fn service(i: usize) -> (&'static str, String) {
    (if i.is_multiple_of(2) { "prod" } else { "staging" }, format!("svc-{i:05}"))
}

/// The tasks service `i` needs at `tick`: `2..=6`, or three more in alternate spans of ten
/// ticks. Span boundaries fall on `(tick + i) % 10 == 0`: a tenth of the services each tick.
fn tasks(i: usize, tick: u64) -> u32 {
    let low = 2 + (i % 5) as u32;
    if ((tick + i as u64) / 10).is_multiple_of(2) { low } else { low + 3 }
}

/// The load of service `name` at `at`, in task-percent (CPU is this over the desired count;
/// the policy's target is 50 %).
fn load(name: &str, at: DateTime<Utc>) -> f64 {
    let i: usize = name[4..].parse().expect("svc-NNNNN");
    let tick = (at - start()).num_seconds().max(0) as u64 / INTERVAL.as_secs();
    50.0 * f64::from(tasks(i, tick))
}

fn fleet_config(n: usize) -> FleetConfig {
    let listed: Vec<(&str, String)> = (0..n).map(service).collect();
    let listed: Vec<(&str, &str)> = listed.iter().map(|(c, n)| (*c, n.as_str())).collect();
    fake::fleet_config(fake::CPU_POLICY, &listed, None)
}

/// The world of `n` services, each at the count its load asks for at tick 0, and a controller
/// that runs alone over it. Call inside the runtime, with its clock paused.
pub fn build(n: usize) -> (Fleet, Shared) {
    let clock = FakeClock::new(start());
    let mut world = World::new(clock, Box::new(|_, name, at| load(name, at)));
    world.latency = Duration::ZERO;
    for i in 0..n {
        let (cluster, name) = service(i);
        world.add_service(cluster, &name, tasks(i, 0), &[("team", "bench")]);
    }
    let world: Shared = std::sync::Arc::new(std::sync::Mutex::new(world));
    (fake::controller(&world, "bench", fleet_config(n), Settings::alone(INTERVAL)), world)
}

/// The next interval, then one tick; the tick's AWS calls by operation. The world's log of
/// updates is emptied first: it is the fake's record for tests, not the controller's memory.
pub async fn next_tick(c: &mut Fleet, world: &Shared) -> BTreeMap<&'static str, u32> {
    world.lock().unwrap_or_else(|e| e.into_inner()).updates.clear();
    tokio::time::advance(INTERVAL).await;
    c.tick().await.calls.clone()
}

/// A current-thread runtime whose clock starts paused, as the controller's tests run.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}
