//! Benchmarks: one decision, one tick of 10,000 services, config parsing, and simulator
//! throughput. `cargo bench --bench trimtab` (CI runs it with `-- --quick`); figures are recorded
//! in the README with the command that produced them.

use std::hint::black_box;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

use trimtab::cli::EMBEDDED_EXAMPLE;
use trimtab::config::{self, Config};
use trimtab::core::{self, History, Observation};
use trimtab::sim::trace::{EMBEDDED_NASA, EMBEDDED_NASA_NAME};
use trimtab::sim::trimtab::TrimtabController;
use trimtab::sim::{Simulation, Trace, WorldParams};

fn example() -> Config {
    config::from_str("bench.toml", EMBEDDED_EXAMPLE).expect("the example config is valid")
}

fn now() -> DateTime<Utc> {
    // A Monday 09:00 in Berlin: the example's business-hours window is open.
    DateTime::parse_from_rfc3339("2026-11-23T08:00:00Z").unwrap().with_timezone(&Utc)
}

/// An observation with every metric of the example at `f` of its target.
fn observation(current: u32, f: f64) -> Observation {
    let c = example();
    c.scaling
        .policy
        .metrics
        .iter()
        .fold(Observation::new(current), |o, m| o.with_sample(&m.name, m.target * f, now()))
}

fn decide_one(c: &mut Criterion) {
    let policy = example().scaling.policy;
    let obs = observation(8, 0.9);
    let mut history = History::default();
    for s in 0..20 {
        history.record_recommendation(
            now() - TimeDelta::seconds(15 * s),
            core::Replicas(8),
            TimeDelta::seconds(300),
        );
    }
    c.bench_function("decide/one service", |b| {
        b.iter(|| core::decide(&policy, black_box(&obs), &history, now()))
    });
}

fn decide_fleet(c: &mut Criterion) {
    let policy = example().scaling.policy;
    let fleet: Vec<(Observation, History)> = (0..10_000)
        .map(|i| (observation(2 + i % 18, 0.1 + (i % 9) as f64 * 0.1), History::default()))
        .collect();
    let mut g = c.benchmark_group("decide");
    g.throughput(Throughput::Elements(fleet.len() as u64));
    g.bench_function("one tick of 10,000 services", |b| {
        b.iter(|| {
            fleet.iter().map(|(o, h)| core::decide(&policy, o, h, now()).desired.get() as u64).sum::<u64>()
        })
    });
    g.finish();
}

fn parse_config(c: &mut Criterion) {
    let mut g = c.benchmark_group("config");
    g.throughput(Throughput::Bytes(EMBEDDED_EXAMPLE.len() as u64));
    g.bench_function("parse and validate the example", |b| {
        b.iter(|| config::from_str("bench.toml", black_box(EMBEDDED_EXAMPLE)).is_ok())
    });
    g.finish();
}

fn simulate(c: &mut Criterion) {
    let trace = Trace::parse(EMBEDDED_NASA_NAME, EMBEDDED_NASA).expect("the embedded trace parses");
    let config = example();
    let params = WorldParams {
        capacity: trace.peak() / 20.0,
        target_utilization: 0.7,
        start_delay: 60,
        metric_delay: 60,
        base_latency_ms: 50.0,
    };
    let start = DateTime::parse_from_rfc3339("2026-01-05T00:00:00Z").unwrap().with_timezone(&Utc);
    let sim = Simulation::new(&trace, params, start, config.scaling.policy.bounds, &[15]);
    let mut g = c.benchmark_group("simulate");
    g.sample_size(10);
    g.throughput(Throughput::Elements(sim.demand().len() as u64));
    g.bench_function("NASA month, trimtab policy, 15 s steps", |b| {
        b.iter_batched(
            || TrimtabController::new("trimtab", config.scaling.policy.clone(), 15),
            |mut controller| sim.run(&mut controller).billed_seconds,
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, decide_one, decide_fleet, parse_config, simulate);
criterion_main!(benches);
