//! What one fleet controller costs besides its CPU (issue 15): the process's peak memory and
//! the AWS requests of each tick, by operation, on the world of `benches/controller.rs` (a
//! tenth of the services change count every tick). Linux only (reads `/proc`).
//!
//! ```sh
//! cargo run --release --example controller_tick            # 1,000 services, 10 ticks
//! cargo run --release --example controller_tick -- 10000   # 10,000 services
//! cargo run --release --example controller_tick -- 1000 200 # 200 ticks
//! ```
//!
//! Run each size in its own process: the peak (`VmHWM`) is the process's since it started.
//! The time of each tick is wall time on one thread (the runtime is current-thread and the
//! fakes answer at once), so it is the controller's CPU; `cargo bench --bench controller`
//! measures it more closely.

use std::collections::BTreeMap;

#[path = "../benches/common/mod.rs"]
mod common;

/// Ticks run unless a second argument says otherwise.
const TICKS: u32 = 10;

fn main() {
    let n = arg(1, 1_000);
    let ticks = arg(2, TICKS);
    let rt = common::runtime();
    let (mut controller, world) = rt.block_on(async { common::build(n) });
    let built = kib("VmRSS");
    println!("{n} services in 2 clusters, one controller alone, {ticks} ticks of 15 s");
    println!("tick      ms  RSS KiB  requests by operation");
    let mut last = BTreeMap::new();
    let (cpu_before, wall_before) = (cpu_ms(), std::time::Instant::now());
    for t in 1..=ticks {
        let began = std::time::Instant::now();
        last = rt.block_on(common::next_tick(&mut controller, &world));
        let ms = began.elapsed().as_secs_f64() * 1e3;
        let warm = if t <= common::WARM_UP { " (warm-up)" } else { "" };
        println!("{t:>4}  {ms:>6.1}  {:>7}  {}{warm}", kib("VmRSS"), by_op(&last));
    }
    let (cpu, wall) = (cpu_ms() - cpu_before, wall_before.elapsed().as_millis());
    println!(
        "the {ticks} ticks: {wall} ms wall, {cpu} ms CPU of the process (user + system, to the kernel's 10 ms)"
    );
    let total: u32 = last.values().sum();
    println!("last tick: {total} requests ({})", by_op(&last));
    println!("RSS after building the world: {} KiB", built);
    println!(
        "peak RSS (VmHWM) after {ticks} ticks: {} KiB ({:.1} MiB)",
        kib("VmHWM"),
        kib("VmHWM") as f64 / 1024.0
    );
}

/// The `i`th argument as a number, or `default` when absent.
fn arg<T: std::str::FromStr<Err = std::num::ParseIntError>>(i: usize, default: T) -> T {
    match std::env::args().nth(i).map(|a| a.parse()) {
        None => default,
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            eprintln!("usage: controller_tick [SERVICES [TICKS]]: {e}");
            std::process::exit(2);
        }
    }
}

fn by_op(calls: &BTreeMap<&'static str, u32>) -> String {
    calls.iter().map(|(op, n)| format!("{op} {n}")).collect::<Vec<_>>().join(", ")
}

/// A `/proc/self/status` field in KiB.
fn kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux: /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// The process's CPU time (user + system) in ms, from `/proc/self/stat` (in 1/100 s).
fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux: /proc/self/stat");
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').expect("(comm)") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields[i].parse::<u64>().expect("a clock-tick count");
    // utime and stime are fields 14 and 15 of the line: 11 and 12 counting from the state
    // (field 3). Linux counts them in USER_HZ, 100 a second.
    (ticks(11) + ticks(12)) * 10
}
