//! The local monitor: what this task itself is using, against its own limits, over the last hour.
//!
//! The autoscaler looks at the service; an operator debugging one task wants that task's numbers
//! first-hand: CPU and memory as a share of the task's cgroup limits, disk and network throughput,
//! how often the CPU quota ran out, whether the OOM killer struck. The monitor has three parts, one
//! with I/O and two pure:
//!
//! - [`LocalReader`] reads the cgroup and `/proc/net/dev` and turns the cumulative counters into one
//!   [`Reading`] per tick. Rates need two reads, so the first reading has none; a counter that went
//!   backwards (the cgroup was recreated, an interface went away) gives no rate for that interval
//!   rather than a huge or negative one.
//! - [`History`] keeps a bounded ring of readings and summarises each series over a window (samples,
//!   average, peak, p50/p90/p99).
//! - [`Alerts`] watches thresholds over the history: an alert fires once the condition has held for
//!   a while, resolves with a little hysteresis, and a cooldown keeps a flapping value from storming.
//!
//! [`Monitor`] holds the two pure parts; the loop feeds it readings, logs the alert events it
//! returns, and publishes its [`LocalView`] for the HTTP API.
//!
//! In an ECS task the sidecar's own cgroup is trimtab's, not the app's. So when
//! `$ECS_CONTAINER_METADATA_URI_V4` is set the readings come from the task metadata endpoint
//! instead ([`app`]): one per app container, each with its own history and alerts that name it,
//! and a combined one for the app as a whole against the task's limits. All I/O roots and the clock are
//! parameters, so tests run against a fixture tree with a hand-moved `now`.

mod alerts;
pub mod app;
mod history;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use self::alerts::{ActiveAlert, AlertEvent, AlertKind, Alerts, AlertsView, Resource, Threshold};
pub use self::history::{History, Series, WindowStats, standard_windows};
use super::cgroup::{self, Cgroup};
use super::cgroup_io::{self, IoCounters, NetCounters, Throttling};

/// One tick's view of this task. Rates and percentages are over the interval since the previous
/// reading; `None` when they can't be known (first reading, counter reset, nothing to read).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reading {
    pub at: DateTime<Utc>,
    /// CPU use as a percent of the cgroup CPU limit, or of the host's cores when unlimited.
    pub cpu_pct: Option<f64>,
    /// Working set as a percent of the memory limit; `None` when unlimited.
    pub memory_pct: Option<f64>,
    /// Working set: usage minus inactive file cache.
    pub memory_bytes: Option<u64>,
    /// Highest usage the cgroup has recorded (page cache included).
    pub memory_peak_bytes: Option<u64>,
    /// `None` when unlimited.
    pub cpu_limit_cores: Option<f64>,
    /// `None` when unlimited.
    pub memory_limit_bytes: Option<u64>,
    pub disk_read_bps: Option<f64>,
    pub disk_write_bps: Option<f64>,
    /// Read and write operations per second.
    pub disk_iops: Option<f64>,
    pub net_rx_bps: Option<f64>,
    pub net_tx_bps: Option<f64>,
    /// Percent of CFS periods in which the CPU quota ran out.
    pub throttled_pct: Option<f64>,
    /// Processes killed by the OOM killer since the cgroup was created.
    pub oom_kills: Option<u64>,
    /// Times usage hit the memory limit (an app container's cgroup v1 `failcnt`; see
    /// [`super::ecs_metadata`]'s per-container docs for what that does and does not mean).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit_hits: Option<u64>,
}

impl Reading {
    /// A reading at `at` with nothing known yet.
    pub fn empty(at: DateTime<Utc>) -> Reading {
        Reading {
            at,
            cpu_pct: None,
            memory_pct: None,
            memory_bytes: None,
            memory_peak_bytes: None,
            memory_limit_hits: None,
            cpu_limit_cores: None,
            memory_limit_bytes: None,
            disk_read_bps: None,
            disk_write_bps: None,
            disk_iops: None,
            net_rx_bps: None,
            net_tx_bps: None,
            throttled_pct: None,
            oom_kills: None,
        }
    }
}

/// The cumulative counters of one read, kept for the next one's rates.
#[derive(Clone, Debug)]
struct Counters {
    at: DateTime<Utc>,
    cpu_usage_usec: Option<u64>,
    io: Option<IoCounters>,
    net: Option<NetCounters>,
    throttling: Option<Throttling>,
}

/// Reads this task's cgroup and network counters (the I/O part of the monitor).
#[derive(Debug)]
pub struct LocalReader {
    cgroup: Option<Cgroup>,
    net_dev: PathBuf,
    host_cores: f64,
    prev: Option<Counters>,
}

impl LocalReader {
    /// Reads the running process's cgroup ([`cgroup::SYS_ROOT`], [`cgroup::PROC_SELF_CGROUP`]) and
    /// [`cgroup_io::PROC_NET_DEV`].
    pub fn from_system() -> LocalReader {
        let text = fs::read_to_string(cgroup::PROC_SELF_CGROUP).unwrap_or_default();
        LocalReader::new(Path::new(cgroup::SYS_ROOT), &text, Path::new(cgroup_io::PROC_NET_DEV))
    }

    /// `sys_root` is where the cgroup filesystem is mounted, `proc_self_cgroup` the text of
    /// /proc/self/cgroup, `net_dev` the path of /proc/net/dev. Without a cgroup only network is read.
    pub fn new(sys_root: &Path, proc_self_cgroup: &str, net_dev: &Path) -> LocalReader {
        let host_cores = std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64);
        LocalReader {
            cgroup: Cgroup::detect(sys_root, proc_self_cgroup),
            net_dev: net_dev.to_path_buf(),
            host_cores,
            prev: None,
        }
    }

    /// The cores CPU % is measured against when the cgroup sets no CPU limit.
    pub fn with_host_cores(self, cores: f64) -> LocalReader {
        LocalReader { host_cores: cores, ..self }
    }

    pub fn cgroup_version(&self) -> Option<cgroup::Version> {
        self.cgroup.as_ref().map(Cgroup::version)
    }

    /// One reading at `now`. Limits are read every time: they can change under a running task.
    pub fn read(&mut self, now: DateTime<Utc>) -> Reading {
        let cg = self.cgroup.as_ref();
        let cur = Counters {
            at: now,
            cpu_usage_usec: cg.and_then(Cgroup::cpu_usage_usec),
            io: cg.and_then(Cgroup::io_counters),
            net: cgroup_io::read_net_dev(&self.net_dev),
            throttling: cg.and_then(Cgroup::cpu_throttling),
        };
        let cpu_limit_cores = cg.and_then(Cgroup::cpu_limit_cores);
        let memory_limit_bytes = cg.and_then(Cgroup::memory_limit_bytes);
        let memory_bytes = cg.and_then(Cgroup::memory_working_set_bytes);
        let prev = self.prev.replace(cur.clone());
        let rates = prev.map(|p| Rates::between(&p, &cur, cpu_limit_cores.unwrap_or(self.host_cores)));
        let rates = rates.unwrap_or_default();
        Reading {
            at: now,
            cpu_pct: rates.cpu_pct,
            memory_pct: memory_percent(memory_bytes, memory_limit_bytes),
            memory_bytes,
            memory_peak_bytes: cg.and_then(Cgroup::memory_peak_bytes),
            cpu_limit_cores,
            memory_limit_bytes,
            disk_read_bps: rates.disk_read_bps,
            disk_write_bps: rates.disk_write_bps,
            disk_iops: rates.disk_iops,
            net_rx_bps: rates.net_rx_bps,
            net_tx_bps: rates.net_tx_bps,
            throttled_pct: rates.throttled_pct,
            oom_kills: cg.and_then(Cgroup::oom_kills),
            memory_limit_hits: None,
        }
    }
}

/// Everything in a [`Reading`] that needs two sets of counters.
#[derive(Debug, Default)]
struct Rates {
    cpu_pct: Option<f64>,
    disk_read_bps: Option<f64>,
    disk_write_bps: Option<f64>,
    disk_iops: Option<f64>,
    net_rx_bps: Option<f64>,
    net_tx_bps: Option<f64>,
    throttled_pct: Option<f64>,
}

impl Rates {
    /// Rates from `a` to `b`; none at all unless time moved forward.
    fn between(a: &Counters, b: &Counters, cores: f64) -> Rates {
        let Some(usec) = (b.at - a.at).num_microseconds().filter(|&us| us > 0) else {
            return Rates::default();
        };
        let secs = usec as f64 / 1e6;
        let per_sec = |x: Option<u64>, y: Option<u64>| Some(y?.checked_sub(x?)? as f64 / secs);
        let io = |f: fn(&IoCounters) -> u64| per_sec(a.io.as_ref().map(f), b.io.as_ref().map(f));
        let net = |f: fn(&NetCounters) -> u64| per_sec(a.net.as_ref().map(f), b.net.as_ref().map(f));
        let cpu = a.cpu_usage_usec.zip(b.cpu_usage_usec);
        Rates {
            cpu_pct: cpu.and_then(|(x, y)| cgroup::cpu_percent(x, y, usec as u64, cores)),
            disk_read_bps: io(|c| c.read_bytes),
            disk_write_bps: io(|c| c.write_bytes),
            disk_iops: io(|c| c.read_ops).zip(io(|c| c.write_ops)).map(|(r, w)| r + w),
            net_rx_bps: net(|c| c.rx_bytes),
            net_tx_bps: net(|c| c.tx_bytes),
            throttled_pct: throttled_percent(a.throttling.as_ref(), b.throttling.as_ref()),
        }
    }
}

/// Percent of the CFS periods between two readings in which the quota ran out. No period passing
/// (no CPU limit, or an idle task) is 0%: nothing was throttled. More throttled periods than periods
/// means the counters were reset in between.
fn throttled_percent(a: Option<&Throttling>, b: Option<&Throttling>) -> Option<f64> {
    let (a, b) = (a?, b?);
    let periods = b.periods.checked_sub(a.periods)?;
    let throttled = b.throttled_periods.checked_sub(a.throttled_periods).filter(|&t| t <= periods)?;
    Some(if periods == 0 { 0.0 } else { 100.0 * throttled as f64 / periods as f64 })
}

fn memory_percent(used: Option<u64>, limit: Option<u64>) -> Option<f64> {
    let limit = limit.filter(|&l| l > 0)?;
    Some(100.0 * used? as f64 / limit as f64)
}

/// The monitor as the loop that feeds it and the API that reads it share it.
pub type SharedMonitor = std::sync::Arc<std::sync::Mutex<Monitor>>;

/// Where the readings come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// This process's own cgroup: the whole machine's view on a laptop, the sidecar's in a task.
    Cgroup,
    /// The ECS task metadata endpoint: the app's containers, trimtab's own left out.
    TaskMetadata,
}

/// The pure part of the monitor: the history of readings and the alerts over it.
#[derive(Debug)]
pub struct Monitor {
    source: Source,
    history: History,
    alerts: Alerts,
    /// As configured, for containers met later; with [`Source::TaskMetadata`] they watch the
    /// containers, not the combined reading.
    thresholds: Vec<Threshold>,
    capacity: usize,
    /// Per app container (by name), with [`Source::TaskMetadata`].
    containers: BTreeMap<String, app::Watch>,
    /// Why the latest reading could not be taken, until one can.
    problem: Option<app::Problem>,
}

impl Monitor {
    /// Keeps the last `capacity` readings (see [`History::DEFAULT_CAPACITY`]) and watches `thresholds`.
    pub fn new(capacity: usize, thresholds: Vec<Threshold>) -> Monitor {
        Monitor {
            source: Source::Cgroup,
            history: History::new(capacity),
            alerts: Alerts::new(thresholds.clone()),
            thresholds,
            capacity,
            containers: BTreeMap::new(),
            problem: None,
        }
    }

    /// A monitor of the app's containers ([`app`]): `thresholds` apply to each container.
    pub fn for_app(capacity: usize, thresholds: Vec<Threshold>) -> Monitor {
        Monitor {
            source: Source::TaskMetadata,
            alerts: Alerts::new(vec![]),
            ..Monitor::new(capacity, thresholds)
        }
    }

    /// Adds a reading and evaluates the alerts at its time; returns what fired or resolved.
    pub fn record(&mut self, reading: Reading) -> Vec<AlertEvent> {
        let now = reading.at;
        self.history.push(reading);
        self.alerts.evaluate(&self.history, now)
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// Every alert the monitor keeps, the containers' included.
    pub fn alerts_view(&self) -> AlertsView {
        let containers = self.containers.values().map(|w| w.alerts.view());
        AlertsView::merge(self.thresholds.clone(), std::iter::once(self.alerts.view()).chain(containers))
    }

    /// What `GET /local` shows: limits, the latest reading, each series over the standard windows
    /// ending at `now`, and the alerts.
    pub fn view(&self, now: DateTime<Utc>) -> LocalView {
        let latest = self.history.latest().cloned();
        LocalView {
            source: self.source,
            limits: Limits::of(latest.as_ref()),
            latest,
            windows: self.history.windows(now),
            alerts: self.alerts_view(),
            containers: self.containers.iter().map(|(name, w)| (name.clone(), w.view(now))).collect(),
            problem: self.problem.clone(),
        }
    }
}

/// The task's limits as of the latest reading; `None` is unlimited (CPU % is then of the host's
/// cores, and there is no memory %).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Limits {
    pub cpu_cores: Option<f64>,
    pub memory_bytes: Option<u64>,
}

impl Limits {
    fn of(latest: Option<&Reading>) -> Limits {
        Limits {
            cpu_cores: latest.and_then(|r| r.cpu_limit_cores),
            memory_bytes: latest.and_then(|r| r.memory_limit_bytes),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LocalView {
    pub source: Source,
    /// With [`Source::TaskMetadata`], the task's limits and the app containers combined.
    pub limits: Limits,
    pub latest: Option<Reading>,
    /// Window name (`1m`, `5m`, `15m`, `1h`) → series name (`cpu_pct`, …) → stats.
    pub windows: BTreeMap<String, BTreeMap<String, WindowStats>>,
    /// Every alert, the containers' included (each names its container).
    pub alerts: AlertsView,
    /// Each app container by name, with [`Source::TaskMetadata`].
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub containers: BTreeMap<String, app::ContainerView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<app::Problem>,
}

#[cfg(test)]
mod tests {
    use super::history::tests::t0;
    use super::*;
    use crate::sources::cgroup::fixture::Tree;
    use chrono::TimeDelta;

    const MIB: u64 = 1 << 20;

    fn net_dev(rx: u64, tx: u64) -> String {
        format!(
            "Inter-|   Receive                                                |  Transmit\n \
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
             lo: 999999 10 0 0 0 0 0 0 999999 10 0 0 0 0 0 0\n  \
             eth0: {rx} 100 0 0 0 0 0 0 {tx} 50 0 0 0 0 0 0\n"
        )
    }

    /// A v2 task limited to half a core and 512 MiB, with its counters at the given values.
    fn v2_task(t: &Tree, usage_usec: u64, io_bytes: (u64, u64), net: (u64, u64), periods: (u64, u64)) {
        t.write("cgroup.controllers", "cpu io memory\n")
            .write("cpu.max", "50000 100000\n")
            .write("memory.max", "536870912\n")
            .write(
                "cpu.stat",
                &format!(
                    "usage_usec {usage_usec}\nnr_periods {}\nnr_throttled {}\nthrottled_usec 0\n",
                    periods.0, periods.1
                ),
            )
            .write("memory.current", "300000000\n")
            .write("memory.stat", "anon 100\ninactive_file 31564544\n")
            .write("memory.events", "oom 0\noom_kill 1\n")
            .write(
                "io.stat",
                &format!("8:0 rbytes={} wbytes={} rios=10 wios=20 dbytes=0 dios=0\n", io_bytes.0, io_bytes.1),
            )
            .write("net-dev", &net_dev(net.0, net.1));
    }

    fn reader(t: &Tree, proc_self_cgroup: &str) -> LocalReader {
        LocalReader::new(t.root(), proc_self_cgroup, &t.root().join("net-dev")).with_host_cores(4.0)
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn v2_half_core_task_at_half_its_limit() {
        let t = Tree::new();
        v2_task(&t, 1_000_000, (0, 0), (1000, 500), (100, 10));
        let mut r = reader(&t, "0::/\n");
        assert_eq!(r.cgroup_version(), Some(cgroup::Version::V2));
        let first = r.read(t0());
        assert_eq!(first.cpu_limit_cores, Some(0.5));
        assert_eq!(first.memory_limit_bytes, Some(512 * MIB));
        assert_eq!(first.memory_bytes, Some(268_435_456)); // current minus inactive_file
        assert_eq!(first.memory_pct, Some(50.0));
        assert_eq!(first.oom_kills, Some(1));
        let no_rates =
            [first.cpu_pct, first.disk_read_bps, first.disk_iops, first.net_rx_bps, first.throttled_pct];
        assert_eq!(no_rates, [None; 5]);

        v2_task(&t, 1_250_000, (4 * MIB, MIB), (3000, 1500), (110, 15));
        let second = r.read(t0() + TimeDelta::seconds(1));
        assert!(close(second.cpu_pct, 50.0), "{:?}", second.cpu_pct);
        assert_eq!((second.disk_read_bps, second.disk_write_bps), (Some(4.0 * MIB as f64), Some(MIB as f64)));
        assert_eq!(second.disk_iops, Some(0.0)); // ops did not change
        assert_eq!((second.net_rx_bps, second.net_tx_bps), (Some(2000.0), Some(1000.0)));
        assert_eq!(second.throttled_pct, Some(50.0)); // 5 of 10 periods
    }

    #[test]
    fn rates_are_per_second_of_the_interval() {
        let t = Tree::new();
        v2_task(&t, 0, (0, 0), (0, 0), (0, 0));
        let mut r = reader(&t, "0::/\n");
        r.read(t0());
        v2_task(&t, 1_000_000, (1000, 0), (0, 4000), (0, 0));
        let later = r.read(t0() + TimeDelta::seconds(4));
        assert!(close(later.cpu_pct, 50.0)); // 1 s of CPU in 4 s on half a core
        assert_eq!((later.disk_read_bps, later.net_tx_bps), (Some(250.0), Some(1000.0)));
        assert_eq!(later.throttled_pct, Some(0.0)); // no period passed: nothing throttled
    }

    #[test]
    fn counters_going_backwards_give_no_rate_for_that_interval() {
        let t = Tree::new();
        v2_task(&t, 5_000_000, (1000, 1000), (5000, 5000), (100, 50));
        let mut r = reader(&t, "0::/\n");
        r.read(t0());
        v2_task(&t, 100, (10, 2000), (10, 6000), (5, 1));
        let reset = r.read(t0() + TimeDelta::seconds(5));
        assert_eq!((reset.cpu_pct, reset.disk_read_bps, reset.net_rx_bps), (None, None, None));
        assert_eq!(reset.throttled_pct, None);
        assert_eq!((reset.disk_write_bps, reset.net_tx_bps), (Some(200.0), Some(200.0)));
        assert_eq!(reset.memory_pct, Some(50.0)); // not a rate
        v2_task(&t, 500_100, (10, 2000), (10, 6000), (5, 1));
        let next = r.read(t0() + TimeDelta::seconds(10));
        assert!(close(next.cpu_pct, 20.0)); // rates resume from the reset counters
    }

    #[test]
    fn time_not_moving_forward_gives_no_rates() {
        let t = Tree::new();
        v2_task(&t, 0, (0, 0), (0, 0), (0, 0));
        let mut r = reader(&t, "0::/\n");
        r.read(t0());
        let same = r.read(t0());
        assert_eq!((same.cpu_pct, same.net_rx_bps, same.disk_iops), (None, None, None));
    }

    #[test]
    fn unlimited_cpu_is_measured_against_the_host_cores_and_memory_has_no_percent() {
        let t = Tree::new();
        t.write("cgroup.controllers", "")
            .write("cpu.max", "max 100000\n")
            .write("memory.max", "max\n")
            .write("memory.current", "1000\n")
            .write("cpu.stat", "usage_usec 0\n");
        let mut r = reader(&t, "0::/\n");
        r.read(t0());
        t.write("cpu.stat", "usage_usec 2000000\n");
        let second = r.read(t0() + TimeDelta::seconds(1));
        assert!(close(second.cpu_pct, 50.0)); // 2 of 4 host cores
        assert_eq!((second.cpu_limit_cores, second.memory_limit_bytes), (None, None));
        assert_eq!((second.memory_bytes, second.memory_pct), (Some(1000), None));
        assert_eq!((second.disk_iops, second.throttled_pct, second.oom_kills), (None, None, None));
    }

    #[test]
    fn v1_layout() {
        let t = Tree::new();
        let v1 = |usage_ns: u64, read: u64, ops: u64, (periods, throttled): (u64, u64)| {
            t.write("cpu,cpuacct/ecs/task/cpu.cfs_quota_us", "100000\n")
                .write("cpu,cpuacct/ecs/task/cpu.cfs_period_us", "100000\n")
                .write("cpu,cpuacct/ecs/task/cpuacct.usage", &format!("{usage_ns}\n"))
                .write(
                    "cpu,cpuacct/ecs/task/cpu.stat",
                    &format!("nr_periods {periods}\nnr_throttled {throttled}\nthrottled_time 0\n"),
                )
                .write("memory/ecs/task/memory.limit_in_bytes", "1073741824\n")
                .write("memory/ecs/task/memory.usage_in_bytes", "600000000\n")
                .write("memory/ecs/task/memory.stat", "total_inactive_file 63129088\n")
                .write("memory/ecs/task/memory.max_usage_in_bytes", "700000000\n")
                .write("memory/ecs/task/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
                .write(
                    "blkio/ecs/task/blkio.throttle.io_service_bytes",
                    &format!("8:0 Read {read}\n8:0 Write 0\n8:0 Total {read}\nTotal {read}\n"),
                )
                .write(
                    "blkio/ecs/task/blkio.throttle.io_serviced",
                    &format!("8:0 Read {ops}\n8:0 Write {ops}\n"),
                )
                .write("net-dev", &net_dev(0, 0));
        };
        v1(0, 0, 0, (1000, 0));
        let proc = "11:blkio:/ecs/task\n8:memory:/ecs/task\n4:cpu,cpuacct:/ecs/task\n";
        let mut r = reader(&t, proc);
        assert_eq!(r.cgroup_version(), Some(cgroup::Version::V1));
        let first = r.read(t0());
        assert_eq!((first.cpu_limit_cores, first.memory_limit_bytes), (Some(1.0), Some(1 << 30)));
        assert_eq!(first.memory_pct, Some(50.0));
        assert_eq!((first.memory_peak_bytes, first.oom_kills), (Some(700_000_000), Some(0)));
        v1(1_500_000_000, 10 * MIB, 100, (1020, 5));
        let second = r.read(t0() + TimeDelta::seconds(2));
        assert!(close(second.cpu_pct, 75.0)); // 1.5 s of CPU in 2 s on one core
        assert_eq!(second.disk_read_bps, Some(5.0 * MIB as f64));
        assert_eq!(second.disk_iops, Some(100.0)); // 100 reads + 100 writes in 2 s
        assert_eq!(second.throttled_pct, Some(25.0)); // 5 of 20 periods
    }

    #[test]
    fn throttled_percent_edges() {
        let th = |periods, throttled_periods| Throttling { periods, throttled_periods, throttled_usec: 0 };
        assert_eq!(throttled_percent(Some(&th(10, 2)), Some(&th(20, 7))), Some(50.0));
        assert_eq!(throttled_percent(Some(&th(10, 2)), Some(&th(10, 2))), Some(0.0)); // idle or unlimited
        assert_eq!(throttled_percent(Some(&th(10, 2)), Some(&th(10, 3))), None); // inconsistent: reset
        assert_eq!(throttled_percent(Some(&th(10, 2)), Some(&th(5, 2))), None); // backwards
        assert_eq!(throttled_percent(None, Some(&th(5, 2))), None);
    }

    #[test]
    fn without_a_cgroup_only_the_network_is_read() {
        let t = Tree::new();
        t.write("net-dev", &net_dev(0, 0));
        let mut r = reader(&t, "0::/\n");
        assert_eq!(r.cgroup_version(), None);
        r.read(t0());
        t.write("net-dev", &net_dev(500, 0));
        let second = r.read(t0() + TimeDelta::seconds(1));
        assert_eq!(second.net_rx_bps, Some(500.0));
        assert_eq!((second.cpu_pct, second.memory_pct, second.disk_read_bps), (None, None, None));
    }

    #[test]
    fn monitor_records_alerts_and_shows_a_view() {
        let t = Tree::new();
        v2_task(&t, 0, (0, 0), (0, 0), (0, 0));
        let mut r = reader(&t, "0::/\n");
        let memory = Threshold::new(Resource::Memory, 40.0, TimeDelta::seconds(5), TimeDelta::minutes(10));
        let mut m = Monitor::new(History::DEFAULT_CAPACITY, vec![memory]);
        assert!(m.record(r.read(t0())).is_empty());
        v2_task(&t, 250_000, (0, 0), (0, 0), (0, 0));
        let events = m.record(r.read(t0() + TimeDelta::seconds(5)));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].message, "memory at 50.0% of the 512 MiB limit for 5s (threshold 40%)");

        let view = m.view(t0() + TimeDelta::seconds(5));
        assert_eq!(view.limits, Limits { cpu_cores: Some(0.5), memory_bytes: Some(512 * MIB) });
        assert_eq!(view.windows["1m"]["memory_pct"].samples, 2);
        assert_eq!(view.windows["1m"]["cpu_pct"].samples, 1);
        assert!(close(view.windows["1h"]["cpu_pct"].peak, 10.0)); // 0.25 s in 5 s on half a core
        assert_eq!((view.alerts.active.len(), view.alerts.fired_total), (1, 1));
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["latest"]["memory_limit_bytes"], 536_870_912);
        assert_eq!(json["alerts"]["thresholds"][0]["for_seconds"], 5);
        assert_eq!(json["alerts"]["recent"][0]["kind"], "firing");
        assert_eq!(m.history().len(), 2);
    }
}
