//! The loop's side of the local monitor ([`crate::sources::local`]): it samples this task's cgroup
//! every `local.sample_interval`, logs the threshold alerts, and shares the monitor with `GET
//! /local`. It also notices out-of-memory kills, which the right-sizer counts against the size.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::config::model::LocalConfig;
use crate::sources::local::{AlertKind, LocalReader, Monitor, Reading, Resource, SharedMonitor, Threshold};

pub struct LocalMonitor {
    reader: LocalReader,
    shared: SharedMonitor,
    /// The OOM-kill counter at the previous reading.
    ooms: Option<u64>,
}

impl LocalMonitor {
    pub fn new(cfg: &LocalConfig) -> LocalMonitor {
        let thresholds = cfg
            .alerts
            .iter()
            .filter_map(|(name, above)| {
                let resource = match *name {
                    "cpu" => Resource::Cpu,
                    "memory" => Resource::Memory,
                    "throttling" => Resource::Throttling,
                    "disk" => Resource::Disk,
                    "network" => Resource::Network,
                    _ => return None,
                };
                Some(Threshold::new(resource, *above, cfg.alert_for, cfg.alert_cooldown))
            })
            .collect();
        let samples = cfg.history.num_milliseconds() / cfg.sample_interval.num_milliseconds().max(1);
        let capacity = usize::try_from(samples).unwrap_or(1).max(1);
        LocalMonitor {
            reader: LocalReader::from_system(),
            shared: Arc::new(Mutex::new(Monitor::new(capacity, thresholds))),
            ooms: None,
        }
    }

    pub fn shared(&self) -> SharedMonitor {
        self.shared.clone()
    }

    /// Takes one reading, records it and logs its alerts; returns it with the number of OOM
    /// kills since the previous reading.
    pub fn sample(&mut self, now: DateTime<Utc>) -> (Reading, u64) {
        let reading = self.reader.read(now);
        let events = self.shared.lock().unwrap_or_else(|e| e.into_inner()).record(reading.clone());
        for e in events {
            match e.kind {
                AlertKind::Firing => warn!(
                    resource = e.resource.name(),
                    value = e.value,
                    threshold = e.threshold,
                    "local alert: {}",
                    e.message
                ),
                AlertKind::Resolved => info!(
                    resource = e.resource.name(),
                    value = e.value,
                    "local alert resolved: {}",
                    e.message
                ),
            }
        }
        let new_ooms = match (self.ooms, reading.oom_kills) {
            (Some(before), Some(now)) => now.saturating_sub(before),
            _ => 0,
        };
        if new_ooms > 0 {
            warn!(kills = new_ooms, memory_bytes = ?reading.memory_bytes, "out-of-memory kill in this task");
        }
        self.ooms = reading.oom_kills.or(self.ooms);
        (reading, new_ooms)
    }
}
