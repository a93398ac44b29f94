//! The `process_*` metrics every Prometheus client library exports, read from `/proc/self` at
//! each scrape (Linux only; elsewhere they are absent): CPU time, resident and virtual memory,
//! open and allowed file descriptors, start time. The parsers are pure and take the files' text.

use super::metrics::Out;

/// Clock ticks per second in `/proc/*/stat`: `USER_HZ`, 100 on every Linux architecture trimtab
/// is built for (x86_64, arm64). The Prometheus Go client hard-codes it too, rather than asking
/// `sysconf(_SC_CLK_TCK)`.
const USER_HZ: f64 = 100.0;

/// What `/proc/self` says of this process.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Process {
    pub cpu_seconds: Option<f64>,
    pub resident_bytes: Option<f64>,
    pub virtual_bytes: Option<f64>,
    pub open_fds: Option<f64>,
    pub max_fds: Option<f64>,
    pub start_time_seconds: Option<f64>,
}

/// This process, from `/proc/self` (and `/proc/stat` for the boot time); `None` elsewhere.
pub fn read() -> Option<Process> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let text = |p: &str| std::fs::read_to_string(p).ok();
    let stat = text("/proc/self/stat")?;
    let boot = text("/proc/stat").as_deref().and_then(boot_time);
    let open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as f64);
    Some(Process {
        open_fds,
        max_fds: text("/proc/self/limits").as_deref().and_then(max_open_files),
        ..from_stat(&stat, text("/proc/self/status").as_deref(), boot)
    })
}

/// CPU time and start time from `/proc/self/stat`, memory from `/proc/self/status` (kB).
pub fn from_stat(stat: &str, status: Option<&str>, boot_time: Option<f64>) -> Process {
    // The command name (field 2) is in parentheses and may hold spaces: fields count from
    // after its closing one, which is field 3 (state).
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
    let cpu = field(14).zip(field(15)).map(|(utime, stime)| (utime + stime) / USER_HZ);
    let start = field(22).zip(boot_time).map(|(ticks, boot)| boot + ticks / USER_HZ);
    let kib = |key: &str| status.and_then(|s| status_kib(s, key)).map(|k| k * 1024.0);
    Process {
        cpu_seconds: cpu,
        resident_bytes: kib("VmRSS:"),
        virtual_bytes: kib("VmSize:"),
        start_time_seconds: start,
        ..Process::default()
    }
}

fn status_kib(status: &str, key: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// `btime` in `/proc/stat`: the boot time, in Unix seconds.
pub fn boot_time(stat: &str) -> Option<f64> {
    stat.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()
}

/// The soft limit on open files in `/proc/self/limits`; `None` when unlimited.
pub fn max_open_files(limits: &str) -> Option<f64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

/// The families, for the ones `/proc` answered.
pub fn render(o: &mut Out, p: &Process) {
    let families: [(&str, &str, &str, Option<f64>); 6] = [
        (
            "process_cpu_seconds_total",
            "counter",
            "User and system CPU time spent, in seconds.",
            p.cpu_seconds,
        ),
        ("process_resident_memory_bytes", "gauge", "Resident memory size, in bytes.", p.resident_bytes),
        ("process_virtual_memory_bytes", "gauge", "Virtual memory size, in bytes.", p.virtual_bytes),
        ("process_open_fds", "gauge", "Open file descriptors.", p.open_fds),
        ("process_max_fds", "gauge", "The most file descriptors the process may open.", p.max_fds),
        (
            "process_start_time_seconds",
            "gauge",
            "When the process started, in Unix seconds.",
            p.start_time_seconds,
        ),
    ];
    for (name, kind, help, value) in families {
        if let Some(v) = value {
            o.one(name, kind, help, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real /proc/self/stat, with a command name that has a space and a parenthesis.
    const STAT: &str = "4242 (trim tab) x) S 1 4242 4242 0 -1 4194560 2345 0 0 0 \
                        150 50 0 0 20 0 9 0 123456 1000000 2000 18446744073709551615 1 1 0 0 0 0 0 4096 17384 0 0 0 17 1 0 0 0 0 0";
    const STATUS: &str = "Name:\ttrimtab\nVmPeak:\t  20000 kB\nVmSize:\t   16384 kB\nVmRSS:\t    8192 kB\n";
    const LIMITS: &str = "Limit                     Soft Limit           Hard Limit           Units     \n\
                          Max cpu time              unlimited            unlimited            seconds   \n\
                          Max open files            1024                 524288               files     \n";

    #[test]
    fn reads_cpu_memory_and_start_time_from_proc_text() {
        let p = from_stat(STAT, Some(STATUS), boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"));
        assert_eq!(p.cpu_seconds, Some(2.0), "(150 + 50) ticks at 100 a second");
        assert_eq!(p.start_time_seconds, Some(1_700_000_000.0 + 1234.56));
        assert_eq!(p.resident_bytes, Some(8192.0 * 1024.0));
        assert_eq!(p.virtual_bytes, Some(16384.0 * 1024.0));
        assert_eq!(max_open_files(LIMITS), Some(1024.0));
        assert_eq!(max_open_files("Max open files            unlimited   unlimited  files"), None);
        assert_eq!(from_stat("garbage", None, None), Process::default(), "nothing made up");
    }

    #[test]
    fn writes_only_what_proc_answered() {
        let mut o = Out(String::new());
        render(&mut o, &Process { open_fds: Some(7.0), ..Process::default() });
        assert_eq!(
            o.0,
            "# HELP process_open_fds Open file descriptors.\n# TYPE process_open_fds gauge\nprocess_open_fds 7\n"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_read_on_linux() {
        let p = read().expect("/proc/self");
        assert!(p.cpu_seconds.is_some() && p.start_time_seconds.is_some(), "{p:?}");
        assert!(p.resident_bytes.unwrap() > 0.0 && p.open_fds.unwrap() >= 3.0, "{p:?}");
    }
}
