//! The loop's side of the local monitor ([`crate::sources::local`]): every `local.sample_interval`
//! it samples the app's containers from the task metadata endpoint when
//! `$ECS_CONTAINER_METADATA_URI_V4` is set (in ECS, or a fake one under `--local`), else this
//! process's cgroup; logs the threshold alerts, and shares the monitor with `GET /local`. It also
//! notices out-of-memory kills (the cgroup's counter; an app container restarting near its memory
//! limit), which the right-sizer counts against the size.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::config::model::LocalConfig;
use crate::sources::local::app::{AppReader, AppReading};
use crate::sources::local::{
    AlertEvent, AlertKind, LocalReader, Monitor, Resource, SharedMonitor, Threshold,
};

/// Where the readings come from.
enum Reader {
    Cgroup(Box<LocalReader>),
    App(AppReader),
}

pub struct LocalMonitor {
    reader: Reader,
    shared: SharedMonitor,
    /// The OOM-kill counter at the previous reading (cgroup).
    ooms: Option<u64>,
    /// The problem logged last, so that a lasting one is logged once.
    problem: Option<String>,
}

/// An out-of-memory kill seen by a sample, for the right-sizer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Oom {
    /// Memory in use at the time, if known.
    pub mib: Option<f64>,
}

impl LocalMonitor {
    /// `metadata_uri` is `$ECS_CONTAINER_METADATA_URI_V4`: with it the app's containers are
    /// watched, without it this process's cgroup.
    pub fn new(cfg: &LocalConfig, metadata_uri: Option<&str>) -> LocalMonitor {
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
        let (reader, monitor) = match metadata_uri {
            Some(uri) => (Reader::App(AppReader::new(uri)), Monitor::for_app(capacity, thresholds)),
            None => {
                (Reader::Cgroup(Box::new(LocalReader::from_system())), Monitor::new(capacity, thresholds))
            }
        };
        LocalMonitor { reader, shared: Arc::new(Mutex::new(monitor)), ooms: None, problem: None }
    }

    /// The app's containers together at the latest reading, against the task's limits; `None`
    /// when the monitor watches this process's cgroup (outside a task) or has no reading yet.
    /// A reading taken before the monitor's latest problem is not served: it is out of date.
    pub fn app_load(&self) -> Option<crate::status::AppLoad> {
        let Reader::App(_) = &self.reader else { return None };
        if self.problem.is_some() {
            return None;
        }
        let m = self.monitor();
        let r = m.history().latest()?;
        Some(crate::status::AppLoad { at: r.at, cpu_pct: r.cpu_pct, memory_pct: r.memory_pct })
    }

    pub fn shared(&self) -> SharedMonitor {
        self.shared.clone()
    }

    /// Takes one reading, records it and logs its alerts; returns an out-of-memory kill seen since
    /// the previous reading, if any, and the alerts that fired or resolved (for the notifier).
    pub async fn sample(&mut self, now: DateTime<Utc>) -> (Option<Oom>, Vec<AlertEvent>) {
        match &mut self.reader {
            Reader::Cgroup(r) => {
                let reading = r.read(now);
                let events = self.monitor().record(reading.clone());
                log_events(&events);
                (self.cgroup_oom(reading.oom_kills, reading.memory_bytes), events)
            }
            Reader::App(r) => match r.read(now).await {
                Ok(reading) => self.app(reading),
                Err(why) => {
                    if self.problem.as_ref() != Some(&why) {
                        warn!(problem = %why, "local monitor: no reading of the app's containers");
                    }
                    self.problem = Some(why.clone());
                    self.monitor().record_problem(now, why);
                    (None, Vec::new())
                }
            },
        }
    }

    fn monitor(&self) -> std::sync::MutexGuard<'_, Monitor> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cgroup_oom(&mut self, kills: Option<u64>, memory_bytes: Option<u64>) -> Option<Oom> {
        let new_ooms = match (self.ooms, kills) {
            (Some(before), Some(now)) => now.saturating_sub(before),
            _ => 0,
        };
        self.ooms = kills.or(self.ooms);
        if new_ooms == 0 {
            return None;
        }
        warn!(kills = new_ooms, memory_bytes = ?memory_bytes, "out-of-memory kill in this task");
        Some(Oom { mib: memory_bytes.map(mib) })
    }

    fn app(&mut self, reading: AppReading) -> (Option<Oom>, Vec<AlertEvent>) {
        if self.problem.take().is_some() {
            info!("local monitor: reading the app's containers again");
        }
        let signs = reading.oom_signs.clone();
        let events = self.monitor().record_app(reading);
        log_events(&events);
        for s in &signs {
            warn!(container = %s.container, likely_killed = s.likely_killed, "{}", s.message);
        }
        let oom = signs.iter().find(|s| s.likely_killed).map(|k| Oom { mib: k.app_memory_bytes.map(mib) });
        (oom, events)
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn log_events(events: &[AlertEvent]) {
    for e in events {
        let container = e.container.as_deref().unwrap_or("");
        match e.kind {
            AlertKind::Firing => warn!(
                resource = e.resource.name(),
                container,
                value = e.value,
                threshold = e.threshold,
                "local alert: {}",
                e.message
            ),
            AlertKind::Resolved => {
                info!(
                    resource = e.resource.name(),
                    container,
                    value = e.value,
                    "local alert resolved: {}",
                    e.message
                )
            }
        }
    }
}
