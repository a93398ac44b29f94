//! Benchmark: one tick of the fleet controller (issue 15), alone and owning every service, on
//! the in-process fakes with no latency, so the figure is the controller's own CPU: reading
//! every service and its metric, deciding them all, `UpdateService` for the tenth whose load
//! moved, and publishing every service's own metrics. The goal is 20 ms a tick for 1,000
//! services and 200 ms for 10,000. `cargo bench --bench controller`; figures and the memory
//! and request counts (`cargo run --release --example controller_tick`) are in
//! `benches/README.md`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod common;

fn tick(c: &mut Criterion) {
    let mut g = c.benchmark_group("controller");
    // A sample of a slow tick is many ticks: ten samples keep the run within a minute.
    g.sample_size(10);
    for n in [1_000, 10_000] {
        let rt = common::runtime();
        let (mut controller, world) = rt.block_on(async { common::build(n) });
        rt.block_on(async {
            for _ in 0..common::WARM_UP {
                common::next_tick(&mut controller, &world).await;
            }
        });
        assert_eq!(controller.acting().count(), n, "every service is acting after the warm-up");
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("one tick, {n} services, a tenth updated"), |b| {
            b.iter(|| rt.block_on(common::next_tick(&mut controller, &world)))
        });
    }
    g.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
