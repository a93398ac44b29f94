//! Container CPU and memory limits and usage, read straight from the cgroup filesystem.
//!
//! Inside an ECS task the host-wide numbers (`/proc/stat`, `/proc/meminfo`) describe the whole
//! instance, not the task: a container capped at half a core looks mostly idle while it is being
//! throttled, and one near its memory limit looks fine on a large host. The `host` source therefore
//! reports usage as a percentage of the container's cgroup limits. Both cgroup v2 (one unified
//! hierarchy) and v1 (one mount per controller) are supported.
//!
//! Everything that touches the filesystem takes its root as a parameter, so tests can point it at a
//! fixture tree. A missing or unparsable file yields `None`; callers read that as "no limit" or "no
//! reading" and fall back to host-wide numbers. The counters the local monitor adds (disk I/O,
//! throttling, OOM kills, peak memory) are read in `cgroup_io`.

use std::fs;
use std::path::{Component, Path, PathBuf};

/// Where the cgroup filesystem is mounted in production.
pub const SYS_ROOT: &str = "/sys/fs/cgroup";
/// Lists this process's cgroup in each hierarchy.
pub const PROC_SELF_CGROUP: &str = "/proc/self/cgroup";

/// v1 reports "no memory limit" as a huge page-rounded number (e.g. 9223372036854771712), not a word.
const V1_UNLIMITED: u64 = 1 << 62;
/// The kernel's default CFS period, used if `cpu.max` gives only a quota.
const DEFAULT_PERIOD_USEC: u64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// One controller's cgroup directory (`leaf`) and the mount root it lives under.
#[derive(Debug, Clone)]
pub(super) struct Dir {
    mount: PathBuf,
    pub(super) leaf: PathBuf,
}

impl Dir {
    /// Joins the path from /proc/self/cgroup onto the mount. With a cgroup namespace (the usual case
    /// in a container) the mount already *is* our cgroup and the joined path doesn't exist, so fall
    /// back to the mount root. Paths with `..` are never followed out of the mount.
    fn resolve(mount: PathBuf, cgroup_path: Option<&str>) -> Dir {
        let rel = Path::new(cgroup_path.unwrap_or("").trim_start_matches('/'));
        let safe = rel.components().all(|c| matches!(c, Component::Normal(_)));
        let joined = mount.join(rel);
        let leaf =
            if safe && !rel.as_os_str().is_empty() && joined.is_dir() { joined } else { mount.clone() };
        Dir { mount, leaf }
    }

    pub(super) fn file(&self, name: &str) -> PathBuf {
        self.leaf.join(name)
    }

    /// The smallest limit from the leaf up to the mount root. A parent's limit caps its children, and
    /// ECS often sets limits only at the task level, on the parent of the container's cgroup.
    fn min_limit<T: PartialOrd>(&self, limit_at: impl Fn(&Path) -> Option<T>) -> Option<T> {
        self.tightest(limit_at).map(|(_, limit)| limit)
    }

    /// The directory that sets the smallest limit (the leaf-most one on a tie), with the limit.
    pub(super) fn tightest<T: PartialOrd>(
        &self,
        limit_at: impl Fn(&Path) -> Option<T>,
    ) -> Option<(&Path, T)> {
        self.leaf
            .ancestors()
            .take_while(|p| p.starts_with(&self.mount))
            .filter_map(|p| Some((p, limit_at(p)?)))
            .reduce(|a, b| if b.1 < a.1 { b } else { a })
    }
}

/// This process's cgroup: the version and the directory of each controller we read.
#[derive(Debug, Clone)]
pub struct Cgroup {
    pub(super) version: Version,
    pub(super) cpu: Dir,
    cpuacct: Dir,
    pub(super) memory: Dir,
    /// v2: the unified directory (`io.stat`); v1: the `blkio` hierarchy.
    pub(super) blkio: Dir,
}

impl Cgroup {
    /// Detects the cgroup of the running process from [`SYS_ROOT`] and [`PROC_SELF_CGROUP`].
    pub fn from_system() -> Option<Cgroup> {
        let text = fs::read_to_string(PROC_SELF_CGROUP).unwrap_or_default();
        Cgroup::detect(Path::new(SYS_ROOT), &text)
    }

    /// Finds this process's cgroup: `sys_root` is normally "/sys/fs/cgroup", `proc_self_cgroup` the
    /// text of /proc/self/cgroup (lines `ID:CONTROLLERS:PATH`).
    ///
    /// v2 when `sys_root/cgroup.controllers` exists, using the `0::/path` line. Otherwise v1, using
    /// the `cpu`, `cpuacct`, `memory` and `blkio` lines and their mounts under `sys_root`
    /// (`cpu,cpuacct` when combined). Either way a path that doesn't exist under the mount falls back to the mount root.
    /// `None` when neither layout is found.
    pub fn detect(sys_root: &Path, proc_self_cgroup: &str) -> Option<Cgroup> {
        let lines: Vec<(&str, &str)> = proc_self_cgroup
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, ':');
                let _id = parts.next()?;
                Some((parts.next()?, parts.next()?))
            })
            .collect();
        let path_of = |controller: &str| {
            lines.iter().find(|(ctrls, _)| ctrls.split(',').any(|c| c == controller)).map(|(_, p)| *p)
        };

        if sys_root.join("cgroup.controllers").is_file() {
            let unified = lines.iter().find(|(ctrls, _)| ctrls.is_empty()).map(|(_, p)| *p);
            let dir = Dir::resolve(sys_root.to_path_buf(), unified);
            return Some(Cgroup {
                version: Version::V2,
                cpu: dir.clone(),
                cpuacct: dir.clone(),
                memory: dir.clone(),
                blkio: dir,
            });
        }

        let mount = |names: &[&str]| names.iter().map(|n| sys_root.join(n)).find(|p| p.is_dir());
        let cpu = mount(&["cpu,cpuacct", "cpuacct,cpu", "cpu"]);
        let cpuacct = mount(&["cpu,cpuacct", "cpuacct,cpu", "cpuacct"]);
        let memory = mount(&["memory"]);
        let blkio = mount(&["blkio"]);
        if cpu.is_none() && cpuacct.is_none() && memory.is_none() && blkio.is_none() {
            return None;
        }
        // A missing mount becomes a nonexistent path, so its readings are simply `None`.
        let dir = |m: Option<PathBuf>, name: &str| {
            Dir::resolve(m.unwrap_or_else(|| sys_root.join(name)), path_of(name))
        };
        Some(Cgroup {
            version: Version::V1,
            cpu: dir(cpu, "cpu"),
            cpuacct: dir(cpuacct, "cpuacct"),
            memory: dir(memory, "memory"),
            blkio: dir(blkio, "blkio"),
        })
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// CPU limit in cores (quota / period), the tightest along the hierarchy; `None` when unlimited.
    /// v2 `cpu.max` is "QUOTA PERIOD" or "max PERIOD"; v1 uses cpu.cfs_quota_us (-1 = unlimited) and
    /// cpu.cfs_period_us.
    pub fn cpu_limit_cores(&self) -> Option<f64> {
        self.cpu.min_limit(|dir| self.cpu_limit_at(dir))
    }

    /// The CPU limit set in one directory, in cores.
    pub(super) fn cpu_limit_at(&self, dir: &Path) -> Option<f64> {
        match self.version {
            Version::V2 => parse_cpu_max(&read_trimmed(&dir.join("cpu.max"))?),
            Version::V1 => {
                let quota: i64 = read_trimmed(&dir.join("cpu.cfs_quota_us"))?.parse().ok()?;
                let period = read_u64(&dir.join("cpu.cfs_period_us"))?;
                (quota > 0 && period > 0).then(|| quota as f64 / period as f64)
            }
        }
    }

    /// Cumulative CPU time used by the cgroup, in microseconds: v2 `usage_usec` in cpu.stat, v1
    /// cpuacct.usage (which counts nanoseconds).
    pub fn cpu_usage_usec(&self) -> Option<u64> {
        match self.version {
            Version::V2 => stat_value(&self.cpuacct.file("cpu.stat"), "usage_usec"),
            Version::V1 => read_u64(&self.cpuacct.file("cpuacct.usage")).map(|ns| ns / 1000),
        }
    }

    /// Memory limit in bytes, the tightest along the hierarchy; `None` when unlimited. v2 memory.max
    /// ("max" = unlimited), v1 memory.limit_in_bytes (values at or above 2^62 = unlimited).
    pub fn memory_limit_bytes(&self) -> Option<u64> {
        self.memory.min_limit(|dir| self.memory_limit_at(dir))
    }

    /// The memory limit set in one directory, in bytes.
    pub(super) fn memory_limit_at(&self, dir: &Path) -> Option<u64> {
        match self.version {
            Version::V2 => read_u64(&dir.join("memory.max")),
            Version::V1 => read_u64(&dir.join("memory.limit_in_bytes")).filter(|&b| b < V1_UNLIMITED),
        }
    }

    /// Working-set bytes, as kubelet and `docker stats` compute them: usage minus inactive file cache.
    /// Raw usage counts page cache, which grows towards the limit on any container that reads files
    /// but is reclaimed before the OOM killer acts, so it would overstate memory pressure. v2
    /// memory.current minus `inactive_file`, v1 memory.usage_in_bytes minus `total_inactive_file`
    /// (both from memory.stat, taken as 0 if absent); never below 0.
    pub fn memory_working_set_bytes(&self) -> Option<u64> {
        let (usage, key) = match self.version {
            Version::V2 => ("memory.current", "inactive_file"),
            Version::V1 => ("memory.usage_in_bytes", "total_inactive_file"),
        };
        let usage = read_u64(&self.memory.file(usage))?;
        let inactive = stat_value(&self.memory.file("memory.stat"), key).unwrap_or(0);
        Some(usage.saturating_sub(inactive))
    }
}

/// CPU use as a percent of the limit between two readings of [`Cgroup::cpu_usage_usec`]:
/// `100 * (usage_b - usage_a) / (elapsed_usec * limit_cores)`. `None` if no time elapsed, the limit
/// isn't a positive number, or the counter went backwards (the cgroup was recreated). Not clamped:
/// sampling jitter can put it slightly above 100.
pub fn cpu_percent(usage_a_usec: u64, usage_b_usec: u64, elapsed_usec: u64, limit_cores: f64) -> Option<f64> {
    if elapsed_usec == 0 || usage_b_usec < usage_a_usec || !limit_cores.is_finite() || limit_cores <= 0.0 {
        return None;
    }
    Some(100.0 * (usage_b_usec - usage_a_usec) as f64 / (elapsed_usec as f64 * limit_cores))
}

/// Parses v2 `cpu.max` ("QUOTA PERIOD", "max PERIOD") into cores.
fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut fields = text.split_whitespace();
    let quota: u64 = fields.next()?.parse().ok()?; // "max" fails to parse: unlimited
    let period = fields.next().map_or(Some(DEFAULT_PERIOD_USEC), |p| p.parse().ok())?;
    (quota > 0 && period > 0).then(|| quota as f64 / period as f64)
}

pub(super) fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

pub(super) fn read_u64(path: &Path) -> Option<u64> {
    read_trimmed(path)?.parse().ok()
}

/// The value of `key` in a flat-keyed file of "KEY VALUE" lines (cpu.stat, memory.stat).
pub(super) fn stat_value(path: &Path, key: &str) -> Option<u64> {
    flat_value(&fs::read_to_string(path).ok()?, key)
}

/// The value of `key` in the text of a flat-keyed file.
pub(super) fn flat_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        if k == key { v.trim().parse().ok() } else { None }
    })
}

/// A fixture cgroup tree for the tests of this module, `cgroup_io` and `local`.
#[cfg(test)]
pub(super) mod fixture {
    use super::Cgroup;
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fixture tree in a unique temp dir, removed on drop.
    pub struct Tree(PathBuf);

    impl Tree {
        pub fn new() -> Tree {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let root =
                std::env::temp_dir().join(format!("trimtab-cgroup-{}-{n}-{nanos}", std::process::id()));
            fs::create_dir_all(&root).unwrap();
            Tree(root)
        }

        pub fn root(&self) -> &Path {
            &self.0
        }

        pub fn write(&self, rel: &str, contents: &str) -> &Tree {
            let path = self.0.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, contents).unwrap();
            self
        }

        pub fn detect(&self, proc_self_cgroup: &str) -> Option<Cgroup> {
            Cgroup::detect(&self.0, proc_self_cgroup)
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::Tree;
    use super::*;

    #[test]
    fn v2_with_limits() {
        let t = Tree::new();
        t.write("cgroup.controllers", "cpu memory\n")
            .write("cpu.max", "50000 100000\n")
            .write("cpu.stat", "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n")
            .write("memory.max", "536870912\n")
            .write("memory.current", "300000000\n")
            .write("memory.stat", "anon 150000000\nfile 150000000\ninactive_file 100000000\nactive_file 5\n");
        let cg = t.detect("0::/\n").unwrap();
        assert_eq!(cg.version(), Version::V2);
        assert_eq!(cg.cpu_limit_cores(), Some(0.5));
        assert_eq!(cg.cpu_usage_usec(), Some(123_456));
        assert_eq!(cg.memory_limit_bytes(), Some(536_870_912));
        assert_eq!(cg.memory_working_set_bytes(), Some(200_000_000));
    }

    #[test]
    fn v2_unlimited() {
        let t = Tree::new();
        t.write("cgroup.controllers", "").write("cpu.max", "max 100000\n").write("memory.max", "max\n");
        let cg = t.detect("0::/\n").unwrap();
        assert_eq!(cg.cpu_limit_cores(), None);
        assert_eq!(cg.memory_limit_bytes(), None);
    }

    #[test]
    fn v2_nested_path_takes_tightest_limit_up_the_tree() {
        let t = Tree::new();
        t.write("cgroup.controllers", "")
            .write("ecs/task/cpu.max", "100000 100000\n")
            .write("ecs/task/memory.max", "1073741824\n")
            .write("ecs/task/ctr/cpu.max", "25000 100000\n")
            .write("ecs/task/ctr/memory.max", "max\n")
            .write("ecs/task/ctr/memory.current", "4096\n");
        let cg = t.detect("0::/ecs/task/ctr\n").unwrap();
        assert_eq!(cg.cpu_limit_cores(), Some(0.25));
        assert_eq!(cg.memory_limit_bytes(), Some(1_073_741_824)); // set only on the task
        assert_eq!(cg.memory_working_set_bytes(), Some(4096)); // no memory.stat: nothing subtracted
    }

    #[test]
    fn v2_missing_or_escaping_path_falls_back_to_root() {
        let t = Tree::new();
        t.write("cgroup.controllers", "").write("cpu.max", "200000 100000\n");
        assert_eq!(t.detect("0::/docker/abc\n").unwrap().cpu_limit_cores(), Some(2.0));
        assert_eq!(t.detect("0::/../..\n").unwrap().cpu_limit_cores(), Some(2.0));
        assert_eq!(t.detect("").unwrap().cpu_limit_cores(), Some(2.0));
    }

    #[test]
    fn v1_combined_cpu_mount_and_memory_mount() {
        let t = Tree::new();
        t.write("cpu,cpuacct/cpu.cfs_quota_us", "150000\n")
            .write("cpu,cpuacct/cpu.cfs_period_us", "100000\n")
            .write("cpu,cpuacct/cpuacct.usage", "2500000000\n")
            .write("memory/memory.limit_in_bytes", "9223372036854771712\n")
            .write("memory/docker/abc/memory.limit_in_bytes", "268435456\n")
            .write("memory/docker/abc/memory.usage_in_bytes", "100000000\n")
            .write(
                "memory/docker/abc/memory.stat",
                "cache 1\ninactive_file 7\ntotal_inactive_file 40000000\n",
            );
        let proc = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n";
        let cg = t.detect(proc).unwrap();
        assert_eq!(cg.version(), Version::V1);
        assert_eq!(cg.cpu_limit_cores(), Some(1.5)); // cpu path absent: mount root
        assert_eq!(cg.cpu_usage_usec(), Some(2_500_000));
        assert_eq!(cg.memory_limit_bytes(), Some(268_435_456));
        assert_eq!(cg.memory_working_set_bytes(), Some(60_000_000));
    }

    #[test]
    fn v1_separate_cpu_and_cpuacct_mounts() {
        let t = Tree::new();
        t.write("cpu/cpu.cfs_quota_us", "50000\n")
            .write("cpu/cpu.cfs_period_us", "100000\n")
            .write("cpuacct/cpuacct.usage", "1000\n");
        let cg = t.detect("3:cpu:/\n2:cpuacct:/\n").unwrap();
        assert_eq!(cg.cpu_limit_cores(), Some(0.5));
        assert_eq!(cg.cpu_usage_usec(), Some(1));
        assert_eq!(cg.memory_limit_bytes(), None);
        assert_eq!(cg.memory_working_set_bytes(), None);
    }

    #[test]
    fn v1_unlimited() {
        let t = Tree::new();
        t.write("cpu,cpuacct/cpu.cfs_quota_us", "-1\n")
            .write("cpu,cpuacct/cpu.cfs_period_us", "100000\n")
            .write("memory/memory.limit_in_bytes", "9223372036854771712\n");
        let cg = t.detect("4:cpu,cpuacct:/\n5:memory:/\n").unwrap();
        assert_eq!(cg.cpu_limit_cores(), None);
        assert_eq!(cg.memory_limit_bytes(), None);
    }

    #[test]
    fn absent_layout_is_none() {
        let t = Tree::new();
        assert!(t.detect("0::/\n").is_none());
        assert!(Cgroup::detect(&t.root().join("missing"), "0::/\n").is_none());
    }

    #[test]
    fn unparsable_files_and_negative_working_set() {
        let t = Tree::new();
        t.write("cgroup.controllers", "")
            .write("cpu.max", "garbage\n")
            .write("cpu.stat", "user_usec 5\n")
            .write("memory.max", "\n")
            .write("memory.current", "100\n")
            .write("memory.stat", "inactive_file 500\n");
        let cg = t.detect("0::/\n").unwrap();
        assert_eq!(cg.cpu_limit_cores(), None);
        assert_eq!(cg.cpu_usage_usec(), None);
        assert_eq!(cg.memory_limit_bytes(), None);
        assert_eq!(cg.memory_working_set_bytes(), Some(0));
    }

    #[test]
    fn cpu_percent_math() {
        assert_eq!(cpu_percent(0, 250_000, 1_000_000, 0.5), Some(50.0));
        assert_eq!(cpu_percent(1_000, 2_001_000, 1_000_000, 2.0), Some(100.0));
        assert_eq!(cpu_percent(5, 5, 1_000_000, 1.0), Some(0.0));
        assert_eq!(cpu_percent(0, 1, 0, 1.0), None);
        assert_eq!(cpu_percent(0, 1, 1, 0.0), None);
        assert_eq!(cpu_percent(0, 1, 1, f64::NAN), None);
    }

    #[test]
    fn cpu_percent_counter_backwards_is_none() {
        assert_eq!(cpu_percent(250_000, 100_000, 1_000_000, 1.0), None);
    }
}
