//! The task's counters beyond CPU and memory use: disk I/O, CPU throttling, out-of-memory kills and
//! peak memory from the cgroup, and network traffic from `/proc/net/dev`.
//!
//! Every number here is cumulative since the cgroup (or the interface) was created; the local
//! monitor turns two readings into rates. Where a counter lives matters. Throttling and OOM kills
//! are counted by the kernel in the cgroup that *sets* the limit, and ECS often sets limits on the
//! task's cgroup, above the container's own: so they are read in the directory holding the tightest
//! limit (the leaf when nothing sets one). Disk I/O and peak memory are read in the leaf, like the
//! working set.
//!
//! Network is not a cgroup controller. `/proc/net/dev` lists the interfaces of this process's
//! network namespace, and in an ECS task that namespace is the task's own, so its totals are the
//! task's traffic. The loopback is left out: it carries traffic between the task's own containers.
//!
//! As in `cgroup`, a missing or unparsable file is `None`, never an error.

use std::fs;
use std::path::Path;

use serde::Serialize;

use super::cgroup::{Cgroup, Version, flat_value, read_u64, stat_value};

/// Where the network counters of this process's namespace are, in production.
pub const PROC_NET_DEV: &str = "/proc/net/dev";

/// Cumulative disk I/O of the cgroup, summed over block devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IoCounters {
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ops: u64,
    pub write_ops: u64,
}

/// Cumulative CFS bandwidth counters: enforcement periods that passed, how many of them ran out of
/// quota, and the total time the cgroup's threads were held back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_usec: u64,
}

/// Cumulative traffic of the namespace's interfaces, loopback excluded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NetCounters {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
}

impl Cgroup {
    /// Disk I/O since the cgroup was created: v2 `io.stat`, v1 `blkio.throttle.io_service_bytes`
    /// and `blkio.throttle.io_serviced` (both needed).
    pub fn io_counters(&self) -> Option<IoCounters> {
        let read = |name: &str| fs::read_to_string(self.blkio.file(name)).ok();
        match self.version {
            Version::V2 => Some(parse_io_stat(&read("io.stat")?)),
            Version::V1 => {
                let (read_bytes, write_bytes) = parse_blkio(&read("blkio.throttle.io_service_bytes")?);
                let (read_ops, write_ops) = parse_blkio(&read("blkio.throttle.io_serviced")?);
                Some(IoCounters { read_bytes, write_bytes, read_ops, write_ops })
            }
        }
    }

    /// CPU throttling, from `cpu.stat` in the directory that sets the CPU limit: v2 `nr_periods`,
    /// `nr_throttled`, `throttled_usec`; v1 the same with `throttled_time` in nanoseconds. `None`
    /// when the CPU controller doesn't report them (v2 without the `cpu` controller enabled).
    pub fn cpu_throttling(&self) -> Option<Throttling> {
        let dir = self.cpu.tightest(|d| self.cpu_limit_at(d)).map_or(self.cpu.leaf.as_path(), |(d, _)| d);
        let text = fs::read_to_string(dir.join("cpu.stat")).ok()?;
        let throttled_usec = match self.version {
            Version::V2 => flat_value(&text, "throttled_usec")?,
            Version::V1 => flat_value(&text, "throttled_time")? / 1000,
        };
        Some(Throttling {
            periods: flat_value(&text, "nr_periods")?,
            throttled_periods: flat_value(&text, "nr_throttled")?,
            throttled_usec,
        })
    }

    /// Processes killed by the OOM killer, from the directory that sets the memory limit: v2
    /// `oom_kill` in memory.events (which counts the whole subtree), v1 `oom_kill` in
    /// memory.oom_control (kernels 4.13 and later).
    pub fn oom_kills(&self) -> Option<u64> {
        let dir =
            self.memory.tightest(|d| self.memory_limit_at(d)).map_or(self.memory.leaf.as_path(), |(d, _)| d);
        match self.version {
            Version::V2 => stat_value(&dir.join("memory.events"), "oom_kill"),
            Version::V1 => stat_value(&dir.join("memory.oom_control"), "oom_kill"),
        }
    }

    /// The highest memory use recorded for the cgroup: v2 `memory.peak` (kernels 5.19 and later,
    /// so often absent), v1 `memory.max_usage_in_bytes`. Unlike the working set this includes
    /// page cache.
    pub fn memory_peak_bytes(&self) -> Option<u64> {
        match self.version {
            Version::V2 => read_u64(&self.memory.file("memory.peak")),
            Version::V1 => read_u64(&self.memory.file("memory.max_usage_in_bytes")),
        }
    }
}

/// Sums v2 `io.stat` lines (`MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=..`) over
/// devices. Keys it doesn't know, and values that don't parse, are skipped.
pub fn parse_io_stat(text: &str) -> IoCounters {
    let mut io = IoCounters::default();
    for (key, value) in
        text.lines().flat_map(|l| l.split_whitespace().skip(1)).filter_map(|kv| kv.split_once('='))
    {
        let Ok(n) = value.parse::<u64>() else { continue };
        let field = match key {
            "rbytes" => &mut io.read_bytes,
            "wbytes" => &mut io.write_bytes,
            "rios" => &mut io.read_ops,
            "wios" => &mut io.write_ops,
            _ => continue,
        };
        *field = field.saturating_add(n);
    }
    io
}

/// Sums the `MAJ:MIN Read N` and `MAJ:MIN Write N` lines of a v1 blkio file over devices, as
/// `(read, write)`. The per-device `Total` and the closing `Total N` line are left out.
pub fn parse_blkio(text: &str) -> (u64, u64) {
    let (mut read, mut write) = (0u64, 0u64);
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_device, op, n] = fields[..] else { continue };
        let Ok(n) = n.parse::<u64>() else { continue };
        match op {
            "Read" => read = read.saturating_add(n),
            "Write" => write = write.saturating_add(n),
            _ => {}
        }
    }
    (read, write)
}

/// Sums received and sent bytes and packets over the interfaces of a `/proc/net/dev` text, except
/// `lo`. `None` if the text lists no interface at all (it is not that file).
pub fn parse_net_dev(text: &str) -> Option<NetCounters> {
    let mut total: Option<NetCounters> = None;
    for line in text.lines() {
        let Some((name, fields)) = line.split_once(':') else { continue };
        let Some(iface) = net_dev_line(fields) else { continue };
        let sum = total.get_or_insert_default();
        if name.trim() != "lo" {
            sum.rx_bytes = sum.rx_bytes.saturating_add(iface.rx_bytes);
            sum.rx_packets = sum.rx_packets.saturating_add(iface.rx_packets);
            sum.tx_bytes = sum.tx_bytes.saturating_add(iface.tx_bytes);
            sum.tx_packets = sum.tx_packets.saturating_add(iface.tx_packets);
        }
    }
    total
}

/// One interface's 16 counters: receive bytes, packets, … (8 fields), then transmit bytes, packets, ….
fn net_dev_line(fields: &str) -> Option<NetCounters> {
    let n: Vec<u64> = fields.split_whitespace().map(str::parse).collect::<Result<_, _>>().ok()?;
    (n.len() >= 16).then(|| NetCounters {
        rx_bytes: n[0],
        rx_packets: n[1],
        tx_bytes: n[8],
        tx_packets: n[9],
    })
}

/// [`parse_net_dev`] of the file at `path` (normally [`PROC_NET_DEV`]).
pub fn read_net_dev(path: &Path) -> Option<NetCounters> {
    parse_net_dev(&fs::read_to_string(path).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::cgroup::fixture::Tree;

    const NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  987654     120    0    0    0     0          0         0   987654     120    0    0    0     0       0          0
  eth0: 1500000    2000    0    3    0     0          0         1   250000    1200    0    0    0     0       0          0
ecs-eth0:   10000      50    0    0    0     0          0         0     4000      20    0    0    0     0       0          0
";

    #[test]
    fn v2_io_throttling_oom_and_peak() {
        let t = Tree::new();
        t.write("cgroup.controllers", "cpu io memory\n")
            .write(
                "io.stat",
                "259:0 rbytes=1000 wbytes=2000 rios=10 wios=20 dbytes=0 dios=0\n\
                 8:0 rbytes=500 wbytes=0 rios=5 wios=0 dbytes=7 dios=1\n",
            )
            .write("cpu.stat", "usage_usec 9\nnr_periods 400\nnr_throttled 25\nthrottled_usec 123456\n")
            .write("memory.events", "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n")
            .write("memory.peak", "400000000\n");
        let cg = t.detect("0::/\n").unwrap();
        let io = IoCounters { read_bytes: 1500, write_bytes: 2000, read_ops: 15, write_ops: 20 };
        assert_eq!(cg.io_counters(), Some(io));
        let th = Throttling { periods: 400, throttled_periods: 25, throttled_usec: 123_456 };
        assert_eq!(cg.cpu_throttling(), Some(th));
        assert_eq!(cg.oom_kills(), Some(1));
        assert_eq!(cg.memory_peak_bytes(), Some(400_000_000));
    }

    #[test]
    fn v2_counters_come_from_the_limiting_cgroup() {
        let t = Tree::new();
        t.write("cgroup.controllers", "")
            .write("task/cpu.max", "50000 100000\n")
            .write("task/cpu.stat", "nr_periods 100\nnr_throttled 40\nthrottled_usec 9\n")
            .write("task/memory.max", "1073741824\n")
            .write("task/memory.events", "oom_kill 3\n")
            .write("task/ctr/cpu.max", "max 100000\n")
            .write("task/ctr/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n")
            .write("task/ctr/memory.max", "max\n")
            .write("task/ctr/memory.events", "oom_kill 0\n");
        let cg = t.detect("0::/task/ctr\n").unwrap();
        assert_eq!(cg.cpu_throttling().map(|t| t.throttled_periods), Some(40));
        assert_eq!(cg.oom_kills(), Some(3));
    }

    #[test]
    fn v2_absent_files_are_none_and_empty_io_stat_is_zero() {
        let t = Tree::new();
        t.write("cgroup.controllers", "").write("cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\n");
        let cg = t.detect("0::/\n").unwrap();
        assert_eq!(cg.io_counters(), None);
        assert_eq!(cg.cpu_throttling(), None); // the cpu controller is not enabled
        assert_eq!(cg.oom_kills(), None);
        assert_eq!(cg.memory_peak_bytes(), None);
        t.write("io.stat", "");
        assert_eq!(cg.io_counters(), Some(IoCounters::default()));
    }

    #[test]
    fn v1_blkio_throttling_oom_and_peak() {
        let t = Tree::new();
        t.write(
            "blkio/docker/abc/blkio.throttle.io_service_bytes",
            "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 12288\n\
             8:16 Read 100\n8:16 Write 0\n8:16 Total 100\nTotal 12388\n",
        )
        .write(
            "blkio/docker/abc/blkio.throttle.io_serviced",
            "8:0 Read 4\n8:0 Write 2\n8:0 Total 6\n8:16 Read 1\n8:16 Write 0\n8:16 Total 1\nTotal 7\n",
        )
        .write("cpu,cpuacct/cpu.cfs_quota_us", "50000\n")
        .write("cpu,cpuacct/cpu.cfs_period_us", "100000\n")
        .write("cpu,cpuacct/cpu.stat", "nr_periods 10\nnr_throttled 3\nthrottled_time 5000000\n")
        .write("memory/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
        .write("memory/memory.max_usage_in_bytes", "123456789\n");
        let proc = "9:blkio:/docker/abc\n4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n";
        let cg = t.detect(proc).unwrap();
        let io = IoCounters { read_bytes: 4196, write_bytes: 8192, read_ops: 5, write_ops: 2 };
        assert_eq!(cg.io_counters(), Some(io));
        let th = Throttling { periods: 10, throttled_periods: 3, throttled_usec: 5000 };
        assert_eq!(cg.cpu_throttling(), Some(th));
        assert_eq!(cg.oom_kills(), Some(2));
        assert_eq!(cg.memory_peak_bytes(), Some(123_456_789));
    }

    #[test]
    fn v1_blkio_needs_both_files_and_old_kernels_have_no_oom_kill() {
        let t = Tree::new();
        t.write("blkio/blkio.throttle.io_service_bytes", "Total 0\n")
            .write("memory/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
        let cg = t.detect("9:blkio:/\n3:memory:/\n").unwrap();
        assert_eq!(cg.io_counters(), None);
        assert_eq!(cg.oom_kills(), None);
        t.write("blkio/blkio.throttle.io_serviced", "Total 0\n");
        assert_eq!(cg.io_counters(), Some(IoCounters::default()));
    }

    #[test]
    fn io_stat_skips_unknown_keys_and_garbage() {
        let io = parse_io_stat("8:0 rbytes=10 wbytes=x rios=1 cost.usage=5 junk\nnonsense\n");
        assert_eq!(io, IoCounters { read_bytes: 10, write_bytes: 0, read_ops: 1, write_ops: 0 });
    }

    #[test]
    fn net_dev_sums_interfaces_except_loopback() {
        let net = parse_net_dev(NET_DEV).unwrap();
        assert_eq!(
            net,
            NetCounters { rx_bytes: 1_510_000, rx_packets: 2050, tx_bytes: 254_000, tx_packets: 1220 }
        );
    }

    #[test]
    fn net_dev_loopback_only_is_zero_and_other_text_is_none() {
        let lo_only: String = NET_DEV.lines().take(3).map(|l| format!("{l}\n")).collect();
        assert_eq!(parse_net_dev(&lo_only), Some(NetCounters::default()));
        assert_eq!(parse_net_dev("no interfaces here\nkey: value\n"), None);
        assert_eq!(parse_net_dev(""), None);
    }

    #[test]
    fn net_dev_from_a_file() {
        let t = Tree::new();
        t.write("net/dev", NET_DEV);
        assert_eq!(read_net_dev(&t.root().join("net/dev")).map(|n| n.tx_packets), Some(1220));
        assert_eq!(read_net_dev(&t.root().join("missing")), None);
    }
}
