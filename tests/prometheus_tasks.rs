//! Issue 16 (part 1a), acceptance: the app's Prometheus endpoint on every task, aggregated as
//! PromQL would, against real `prometheus_client` (PyPI) exporters, one process per task.
//!
//! Loopback addresses 127.0.0.2, .3 and .4 stand in for three tasks' private IPs, all on one
//! port. One task is hot (many requests, errors, slow answers), two are idle. The test knows
//! every observation it made each exporter record, computes what PromQL would answer from them,
//! and compares with what `Sources::gather` reports:
//!
//! - request rate  `sum(rate(http_requests_total[Δ]))`
//! - error ratio   `100 * sum(increase(http_request_errors_total[Δ])) / sum(increase(http_requests_total[Δ]))`
//! - p95 latency   `histogram_quantile(0.95, sum by (le) (increase(http_request_duration_seconds_bucket[Δ])))`
//! - in-flight     `max(http_requests_inflight)`
//!
//! The exporters' Python environment is installed by `tests/emulators/emulator.sh install
//! exporter` (from `.ci/run`, or here on first use). Without PyPI the test skips loudly, unless
//! `TRIMTAB_REQUIRE_EXPORTER` is set (as CI does): then it fails.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use trimtab::sources::{Environment, Gathered, Sources, TaskTarget};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/emulators/emulator.sh");
const EXPORTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/exporters/exporter.py");

/// The exporter's latency buckets (`exporter.py`), +Inf last.
const BOUNDS: [f64; 6] = [0.05, 0.1, 0.25, 0.5, 1.0, f64::INFINITY];

/// The venv's python, installing it if needed; `None` (after a loud message) to skip.
fn exporter_python() -> Option<PathBuf> {
    let out = Command::new("bash").args([SCRIPT, "install", "exporter"]).output().expect("bash runs");
    if out.status.success() {
        let dir = std::env::var("TRIMTAB_EMULATOR_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/emulators"));
        return Some(dir.join("exporter-venv/bin/python"));
    }
    let why = format!(
        "cannot install prometheus_client for the exporters:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::env::var_os("TRIMTAB_REQUIRE_EXPORTER").is_none(), "{why}");
    eprintln!(
        "\n!!!!! SKIPPING the Prometheus aggregation test: {why}!!!!! set TRIMTAB_REQUIRE_EXPORTER=1 to fail instead\n"
    );
    None
}

/// One task's app: a `prometheus_client` process we drive through its stdin.
struct Exporter {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Exporter {
    /// Starts one on `ip:port`; `None` when the port is taken there.
    fn start(python: &PathBuf, ip: IpAddr, port: u16) -> Option<Exporter> {
        let mut child = Command::new(python)
            .args([EXPORTER, &ip.to_string(), &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the exporter starts");
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut e = Exporter { child, stdin, stdout };
        (e.line() == "ready").then_some(e)
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.stdout.read_line(&mut l).expect("the exporter answers");
        l.trim().to_owned()
    }

    /// Sends one command and waits until the exporter has applied it.
    fn send(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").expect("the exporter reads");
        assert_eq!(self.line(), "ok", "{command}");
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn exporter(i: usize, tasks: &mut [Option<Exporter>]) -> &mut Exporter {
    tasks[i].as_mut().expect("that task's exporter runs")
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// Three exporters on one free port of 127.0.0.2, .3 and .4 (retried if another process takes
/// the port meanwhile).
fn start_tasks(python: &PathBuf) -> (u16, Vec<Option<Exporter>>) {
    for _ in 0..5 {
        let port = TcpListener::bind((ip(2), 0)).unwrap().local_addr().unwrap().port();
        let all: Vec<_> = (2..=4).map(|last| Exporter::start(python, ip(last), port)).collect();
        if all.iter().all(Option::is_some) {
            return (port, all);
        }
    }
    panic!("no port free on 127.0.0.2-4 after 5 tries");
}

fn sources(port: u16) -> Sources {
    let metric = |name: &str, read: &str| {
        format!(
            "[[scaling.metrics]]\nname = \"{name}\"\nsource = \"prometheus\"\nkind = \"custom\"\nport = {port}\n{read}\ntarget = 1000.0\n\n"
        )
    };
    let text = [
        metric("rps", "rate = \"http_requests_total\""),
        metric("errors", "ratio = [\"http_request_errors_total\", \"http_requests_total\"]"),
        metric("p95", "histogram = \"http_request_duration_seconds\"\nquantile = 0.95"),
        metric("inflight", "gauge = \"http_requests_inflight\"\naggregate = \"max\""),
    ]
    .concat();
    let cfg = trimtab::config::from_str("tasks.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    let mut s = Sources::new(&cfg, &Environment::default()).unwrap();
    let tasks = (2..=4)
        .map(|last| TaskTarget { task: format!("arn:aws:ecs:us-east-1:1:task/c/t{last}"), ip: ip(last) });
    s.set_tasks(tasks.collect());
    s
}

/// One gather, with the wall-clock instants just before and after it.
async fn gather(s: &mut Sources) -> (Instant, Gathered, Instant) {
    let before = Instant::now();
    let g = s.gather(None, Utc::now()).await;
    (before, g, Instant::now())
}

fn value(g: &Gathered, name: &str) -> f64 {
    g.samples.get(name).unwrap_or_else(|| panic!("{name}: {:?}", g.problems.get(name))).value
}

/// PromQL's `histogram_quantile` over cumulative `counts` at [`BOUNDS`], written out again
/// here (not trimtab's) for the buckets this test fills: linear inside the bucket.
fn promql_quantile(q: f64, counts: &[f64; 6]) -> f64 {
    let rank = q * counts[5];
    let b = counts.iter().position(|c| *c >= rank).unwrap();
    let (lower, below) = if b == 0 { (0.0, 0.0) } else { (BOUNDS[b - 1], counts[b - 1]) };
    lower + (BOUNDS[b] - lower) * (rank - below) / (counts[b] - below)
}

/// Cumulative bucket counts of `observations` (count, seconds).
fn buckets(observations: &[(u32, f64)]) -> [f64; 6] {
    BOUNDS.map(|le| observations.iter().filter(|(_, s)| *s <= le).map(|(n, _)| f64::from(*n)).sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_rate_error_ratio_and_p95_across_tasks_match_promql() {
    let Some(python) = exporter_python() else { return };
    let (port, mut tasks) = start_tasks(&python);
    let mut s = sources(port);
    for (t, warmup) in tasks.iter_mut().zip(["serve 1000 20 0.07", "serve 100 0 0.03", "serve 100 0 0.03"]) {
        t.as_mut().unwrap().send(warmup);
    }
    let (a0, first, a1) = gather(&mut s).await;
    assert!(first.problems["rps"].starts_with("0 of 3 tasks answered; "), "{:?}", first.problems);
    assert!(first.problems["rps"].contains("first scrape: a rate needs two"));

    // Between the scrapes: the hot task .2 serves 600 requests (45 errors, slow ones among
    // them), the idle .3 and .4 serve 15 each.
    let hot = [(400, 0.07), (150, 0.2), (50, 0.7)];
    let idle = [(10, 0.03), (5, 0.07)];
    for (n, secs) in hot {
        let errors = if secs > 0.1 { n * 3 / 10 } else { 0 };
        exporter(0, &mut tasks).send(&format!("serve {n} {errors} {secs}"));
    }
    for i in [1, 2] {
        for (n, secs) in idle {
            exporter(i, &mut tasks).send(&format!("serve {n} 0 {secs}"));
        }
    }
    for (i, n) in [(0, 12), (1, 1), (2, 2)] {
        exporter(i, &mut tasks).send(&format!("inflight {n}"));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (b0, g, b1) = gather(&mut s).await;
    assert!(g.problems.is_empty(), "{:?}", g.problems);

    // sum(rate(http_requests_total[Δ])): each task's increase over its own Δ, which lies
    // between the gathers' inner and outer instants.
    let increases = [600.0, 15.0, 15.0];
    let (short, long) = ((b0 - a1).as_secs_f64(), (b1 - a0).as_secs_f64());
    let per_task: Vec<f64> = g.per_task["rps"].tasks.iter().map(|t| t.value.clone().unwrap()).collect();
    for (rate, inc) in per_task.iter().zip(increases) {
        assert!(
            inc / long <= *rate && *rate <= inc / short,
            "{rate} not in [{}, {}]",
            inc / long,
            inc / short
        );
    }
    let rps = value(&g, "rps");
    assert!((rps - per_task.iter().sum::<f64>()).abs() < 1e-9, "{rps} vs {per_task:?}");
    assert!(630.0 / long <= rps && rps <= 630.0 / short, "{rps}");
    let hottest = g.per_task["rps"]
        .tasks
        .iter()
        .max_by(|a, b| a.value.clone().unwrap().total_cmp(&b.value.clone().unwrap()));
    assert_eq!(hottest.unwrap().ip, ip(2), "the breakdown shows which task is hot");
    assert_eq!((g.per_task["rps"].heard, g.per_task["rps"].of), (3, 3));

    // 100 * sum(increase(errors)) / sum(increase(requests)): 30 % of the 150 + 50 slow requests.
    let errors = f64::from(150 * 3 / 10 + 50 * 3 / 10);
    assert!((value(&g, "errors") - 100.0 * errors / 630.0).abs() < 1e-9, "{}", value(&g, "errors"));

    // histogram_quantile(0.95, sum by (le) (increase(..._bucket[Δ]))): merged buckets, then p95.
    let all: Vec<(u32, f64)> = hot.iter().chain(&idle).chain(&idle).copied().collect();
    let p95 = promql_quantile(0.95, &buckets(&all));
    assert!((p95 - 0.685).abs() < 1e-9, "the hand-worked value: 0.5 + 0.5 × (598.5 − 580) / 50");
    assert!((value(&g, "p95") - p95).abs() < 1e-9, "{} vs {p95}", value(&g, "p95"));
    let hot_p95 = g.per_task["p95"].tasks[0].value.clone().unwrap();
    assert!((hot_p95 - promql_quantile(0.95, &buckets(&hot))).abs() < 1e-9, "{hot_p95}");
    assert_eq!(value(&g, "inflight"), 12.0, "max(http_requests_inflight)");

    // Task .4 stops answering: every metric is missing for the tick, naming who answered.
    tasks[2] = None;
    let (_, g, _) = gather(&mut s).await;
    let refused = format!("2 of 3 tasks answered; GET http://127.0.0.4:{port}/metrics: ");
    for name in ["rps", "errors", "p95", "inflight"] {
        assert!(g.problems[name].starts_with(&refused), "{name}: {:?}", g.problems[name]);
        assert_eq!((g.per_task[name].heard, g.per_task[name].of), (2, 3));
    }

    // It comes back restarted: its counters start from zero, which counts as its reset.
    tasks[2] = Exporter::start(&python, ip(4), port);
    exporter(2, &mut tasks).send("serve 20 0 0.03");
    exporter(0, &mut tasks).send("serve 100 10 0.2");
    let (_, g, _) = gather(&mut s).await;
    assert!(g.problems.is_empty(), "{:?}", g.problems);
    let reset_task = g.per_task["rps"].tasks[2].value.clone().unwrap();
    assert!(reset_task > 0.0, "the restarted task's 20 requests count: {reset_task}");
    // Since the last scrape: .2 served 100 (10 errors), .3 nothing, .4 (reset) 20.
    assert!((value(&g, "errors") - 100.0 * 10.0 / 120.0).abs() < 1e-9, "{}", value(&g, "errors"));
}
