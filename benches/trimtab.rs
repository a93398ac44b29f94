//! Benchmarks: one decision, one tick of 10,000 services, config parsing, simulator
//! throughput, pool churn and the right-sizer. `cargo bench --bench trimtab` (CI runs it with `-- --quick`); figures are recorded
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
    // Error recovery on hostile input (issue 14): every unknown key reported, in linear time.
    let unknown: String =
        std::iter::once("[agent]\n".to_owned()).chain((0..60_000).map(|i| format!("zz{i} = 1\n"))).collect();
    g.throughput(Throughput::Bytes(unknown.len() as u64));
    g.sample_size(10);
    g.bench_function("60k unknown keys, all reported", |b| {
        b.iter(|| config::from_str("bench.toml", black_box(&unknown)).unwrap_err().diagnostics().len())
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

/// A pool under steady churn: a request (granted, or refused when full) and a release of the
/// oldest holding, the two steps every app call makes.
fn pool_churn(c: &mut Criterion) {
    use trimtab::core::pool::{Id, Outcome, Pool, PoolSpec, Priority, Request};
    let spec = PoolSpec {
        capacity: 1000,
        preemption: true,
        max_wait: TimeDelta::seconds(30),
        default_ttl: TimeDelta::minutes(5),
        max_ttl: None,
        max_queue: 1000,
        max_active: 10_000,
    };
    let mut pool = Pool::new(spec);
    let mut held = std::collections::VecDeque::new();
    let mut i = 0u64;
    let mut g = c.benchmark_group("pool");
    g.throughput(Throughput::Elements(2));
    g.bench_function("request and release, 1000 units, ~100 held", |b| {
        b.iter(|| {
            i += 1;
            let at = now() + TimeDelta::milliseconds(i as i64);
            let priority = [Priority::Low, Priority::Medium, Priority::High][(i % 3) as usize];
            if let Outcome::Granted { id, .. } = pool.request(Request::new(1 + i % 19, priority), at) {
                held.push_back(id);
            }
            if held.len() > 100 {
                let id: Id = held.pop_front().unwrap();
                let _ = black_box(pool.release(id, at));
            }
        })
    });
}

/// A week of one-a-minute samples into the right-sizer, then its recommendation.
fn rightsize(c: &mut Criterion) {
    use trimtab::core::rightsize::{Estimator, Params, PriceCtx, Size, recommend};
    let cfg = example();
    let (shape, sheet) = (cfg.service.as_ref().unwrap().shape().unwrap(), cfg.prices.clone().unwrap());
    let mut g = c.benchmark_group("rightsize");
    g.throughput(Throughput::Elements(7 * 24 * 60));
    g.bench_function("a week of samples, then recommend", |b| {
        b.iter(|| {
            let mut est = Estimator::new();
            for m in 0..7 * 24 * 60 {
                let at = now() + TimeDelta::minutes(m);
                est.add_cpu(at, 200.0 + (m % 60) as f64);
                est.add_memory(at, 600.0 + (m % 30) as f64);
            }
            let ctx = PriceCtx { shape: &shape, sheet: &sheet };
            let size = Size { cpu: shape.cpu, memory: shape.memory };
            black_box(recommend(&est, size, &ctx, &Params::default(), now() + TimeDelta::days(7)))
        })
    });
}

criterion_group!(benches, decide_one, decide_fleet, parse_config, simulate, pool_churn, rightsize);
criterion_main!(benches);
