//! The ECS task metadata parsers on any bodies, and the CPU and memory arithmetic on what they
//! parsed. The input is up to three documents separated by NUL bytes (which JSON text cannot
//! hold): `/task`, then `/task/stats` now, then `/task/stats` a tick earlier. A single document is
//! tried as both endpoints.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trimtab::sources::ecs_metadata::{
    TaskInfo, TaskStats, cpu_percent, memory_percent, parse_stats, parse_task,
};
use trimtab_fuzz::known::guard;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    guard(|| {
        let parts: Vec<&str> = text.splitn(3, '\0').collect();
        if let [single] = parts[..] {
            let _ = parse_task(single);
            let _ = parse_stats(single);
            return;
        }
        let Ok(task) = parse_task(parts[0]) else { return };
        let cur = parse_stats(parts[1]);
        let prev = parts.get(2).and_then(|p| parse_stats(p).ok());
        if let Ok(cur) = cur {
            check(&task, prev.as_ref(), &cur);
        }
    });
});

fn check(task: &TaskInfo, prev: Option<&TaskStats>, cur: &TaskStats) {
    assert!(cur.containers.windows(2).all(|w| w[0] < w[1]), "containers sorted: {:?}", cur.containers);
    for limit in [task.effective_vcpu(), task.effective_memory_mib()].into_iter().flatten() {
        assert!(limit.is_finite() && limit > 0.0, "a limit is positive: {limit}");
    }
    // A percentage can be huge on an absurd limit, but never negative or NaN.
    if let Ok(cpu) = cpu_percent(prev, cur, task) {
        assert!(cpu >= 0.0, "cpu {cpu}");
    }
    if let Ok(memory) = memory_percent(cur, task) {
        assert!(memory >= 0.0, "memory {memory}");
    }
}
