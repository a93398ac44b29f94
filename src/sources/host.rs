//! This container (or host): CPU and memory as percentages of the cgroup limits, so a task
//! limited to half a core at 100% of it reads 100%, not 100/N% of the host. Without cgroup
//! limits (a laptop), the host's own numbers via `sysinfo`.

use chrono::{DateTime, Utc};
use sysinfo::System;

use super::cgroup::{self, Cgroup};
use crate::config::model::Resource;
use crate::core::Sample;

pub struct Host {
    metrics: Vec<(String, Resource)>,
    cgroup: Option<Cgroup>,
    sys: System,
    /// The previous cumulative CPU reading, for the percentage over the interval.
    prev_cpu: Option<(DateTime<Utc>, u64)>,
    /// sysinfo's CPU usage needs one refresh before it means anything.
    sys_cpu_primed: bool,
}

impl Host {
    pub fn new(metrics: Vec<(String, Resource)>) -> Self {
        Host {
            metrics,
            cgroup: Cgroup::from_system(),
            sys: System::new(),
            prev_cpu: None,
            sys_cpu_primed: false,
        }
    }

    pub fn read(&mut self, now: DateTime<Utc>) -> Vec<(String, Result<Sample, String>)> {
        let wants = |r| self.metrics.iter().any(|(_, m)| *m == r);
        let (want_cpu, want_memory) = (wants(Resource::Cpu), wants(Resource::Memory));
        let cpu = want_cpu.then(|| self.cpu(now));
        let memory = want_memory.then(|| self.memory());
        self.metrics
            .iter()
            .map(|(name, r)| {
                let v = match r {
                    Resource::Cpu => cpu.clone(),
                    Resource::Memory => memory.clone(),
                };
                let v = v.expect("read above when wanted");
                (name.clone(), v.map(|value| Sample { value, at: now }))
            })
            .collect()
    }

    fn cpu(&mut self, now: DateTime<Utc>) -> Result<f64, String> {
        let cg_usage = self.cgroup.as_ref().and_then(|c| Some((c.cpu_usage_usec()?, c.cpu_limit_cores())));
        if let Some((usage, limit)) = cg_usage {
            let cores = limit.unwrap_or_else(host_cores);
            let prev = self.prev_cpu.replace((now, usage));
            let (t0, u0) = prev.ok_or("first reading: CPU % needs two")?;
            let elapsed = u64::try_from((now - t0).num_microseconds().unwrap_or(0)).unwrap_or(0);
            return cgroup::cpu_percent(u0, usage, elapsed, cores)
                .ok_or_else(|| "CPU counter went backwards".into());
        }
        self.sys.refresh_cpu_usage();
        if !std::mem::replace(&mut self.sys_cpu_primed, true) {
            return Err("first reading: CPU % needs two".into());
        }
        Ok(f64::from(self.sys.global_cpu_usage()))
    }

    fn memory(&mut self) -> Result<f64, String> {
        if let Some(c) = &self.cgroup
            && let (Some(used), Some(limit)) = (c.memory_working_set_bytes(), c.memory_limit_bytes())
            && limit > 0
        {
            return Ok(100.0 * used as f64 / limit as f64);
        }
        self.sys.refresh_memory();
        let total = self.sys.total_memory();
        if total == 0 {
            return Err("memory size unknown".into());
        }
        // Without a cgroup limit the cgroup's own usage is still the better numerator.
        let used =
            self.cgroup.as_ref().and_then(Cgroup::memory_working_set_bytes).unwrap_or(self.sys.used_memory());
        Ok(100.0 * used as f64 / total as f64)
    }
}

fn host_cores() -> f64 {
    std::thread::available_parallelism().map(|n| n.get() as f64).unwrap_or(1.0)
}
