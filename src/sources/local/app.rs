//! The local monitor in an ECS task: the app's containers, read from the task metadata endpoint.
//!
//! The sidecar's own cgroup holds trimtab and nothing else, so in a task it would watch the
//! watcher. [`AppReader`] instead reads `${ECS_CONTAINER_METADATA_URI_V4}`: the container metadata
//! once (its `Name` is trimtab's own container, left out from then on), `/task` and `/task/stats`
//! every sample. Each other container becomes a [`Reading`] of its own (see
//! [`ecs_metadata::per_container`] for the arithmetic), and the app as a whole one more, against
//! the task's limits. The [`Monitor`] keeps a history and alerts per container, so an alert says
//! which container it is about: "container app: memory at 93.1% of the 512 MiB limit for 2m".
//!
//! **Out of memory.** The stats carry no kill count (see [`ecs_metadata`]'s per-container docs), so
//! the reader reports two signs, compared with the container's previous reading: its cgroup v1
//! `failcnt` rose (pressed against its limit; not a kill), or it restarted (new Docker ID, or CPU
//! counter fell) while its memory was at [`LIKELY_OOM_PCT`]% or more of its limit: likely killed
//! for memory. Only the second counts as an out-of-memory kill for the right-sizer.
//!
//! **Faults.** An endpoint that errors, hangs (the whole read is bounded by [`READ_TIMEOUT`]) or
//! sends garbage gives no reading that time: the monitor shows the problem and goes on.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{AlertEvent, Alerts, AlertsView, History, Limits, Monitor, Reading, WindowStats};
use crate::sources::ecs_metadata::{self, ContainerStats, ContainerUsage, TaskInfo};

/// The longest one whole read (container metadata, task, stats) may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// The most containers watched at once (ECS allows 10 per task definition): bounds the memory an
/// endpoint that invents containers can make the monitor hold.
pub const MAX_CONTAINERS: usize = 20;
/// A container that restarts with its memory at or above this % of its limit was likely killed
/// for memory.
pub const LIKELY_OOM_PCT: f64 = 90.0;

/// Why the monitor has no reading this time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    pub at: DateTime<Utc>,
    pub message: String,
}

/// One app container's history and alerts.
#[derive(Debug)]
pub struct Watch {
    history: History,
    pub(super) alerts: Alerts,
}

/// One container in `GET /local`.
#[derive(Clone, Debug, Serialize)]
pub struct ContainerView {
    pub limits: Limits,
    pub latest: Option<Reading>,
    pub windows: BTreeMap<String, BTreeMap<String, WindowStats>>,
    pub alerts: AlertsView,
}

impl Watch {
    pub(super) fn view(&self, now: DateTime<Utc>) -> ContainerView {
        let latest = self.history.latest().cloned();
        ContainerView {
            limits: Limits::of(latest.as_ref()),
            latest,
            windows: self.history.windows(now),
            alerts: self.alerts.view(),
        }
    }
}

/// A sign that an app container ran out of memory (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct OomSign {
    pub container: String,
    /// A restart near the limit (true), or only limit hits (false).
    pub likely_killed: bool,
    /// The app's memory in use at the reading before, for the right-sizer.
    pub app_memory_bytes: Option<u64>,
    pub message: String,
}

/// One sample of the app: combined, per container, and any out-of-memory signs.
#[derive(Clone, Debug, PartialEq)]
pub struct AppReading {
    /// The app containers together, against the task's limits.
    pub app: Reading,
    pub containers: Vec<(String, Reading)>,
    pub oom_signs: Vec<OomSign>,
}

impl Monitor {
    /// Records an app reading ([`AppReader::read`]) and evaluates each container's alerts.
    pub fn record_app(&mut self, r: AppReading) -> Vec<AlertEvent> {
        self.problem = None;
        let now = r.app.at;
        let mut events = self.record(r.app);
        let seen: Vec<String> = r.containers.iter().map(|(n, _)| n.clone()).collect();
        for (name, reading) in r.containers {
            let (capacity, thresholds) = (self.capacity, &self.thresholds);
            let w = self.containers.entry(name).or_insert_with_key(|name| Watch {
                history: History::new(capacity),
                alerts: Alerts::about(name, thresholds.clone()),
            });
            w.history.push(reading);
            events.extend(w.alerts.evaluate(&w.history, now));
        }
        if self.containers.len() > MAX_CONTAINERS {
            self.containers.retain(|name, _| seen.contains(name));
        }
        events
    }

    /// No reading could be taken at `now`; the history and alerts stay as they were.
    pub fn record_problem(&mut self, now: DateTime<Utc>, message: String) {
        self.problem = Some(Problem { at: now, message });
    }
}

/// What the reader remembers of a container for the next reading's out-of-memory signs.
#[derive(Clone, Debug)]
struct Seen {
    docker_id: String,
    cpu_used_ns: Option<u64>,
    memory_pct: Option<f64>,
    limit_hits: Option<u64>,
}

/// Reads the app's containers from the task metadata endpoint (the I/O part).
pub struct AppReader {
    base: String,
    http: reqwest::Client,
    /// Trimtab's own container, once known.
    own: Option<String>,
    prev: Option<ContainerStats>,
    seen: BTreeMap<String, Seen>,
    app_memory_bytes: Option<u64>,
}

impl AppReader {
    /// `base` is `$ECS_CONTAINER_METADATA_URI_V4`.
    pub fn new(base: &str) -> AppReader {
        AppReader {
            base: base.trim_end_matches('/').to_owned(),
            http: crate::sources::http_client(),
            own: None,
            prev: None,
            seen: BTreeMap::new(),
            app_memory_bytes: None,
        }
    }

    /// One reading at `now`, or why there is none.
    pub async fn read(&mut self, now: DateTime<Utc>) -> Result<AppReading, String> {
        let fetched = tokio::time::timeout(READ_TIMEOUT, self.fetch()).await.map_err(|_| {
            format!("task metadata endpoint {} did not answer within {}s", self.base, READ_TIMEOUT.as_secs())
        })??;
        self.reading(now, &fetched.0, fetched.1)
    }

    async fn fetch(&mut self) -> Result<(TaskInfo, ContainerStats), String> {
        if self.own.is_none() {
            let own = ecs_metadata::parse_container_name(&self.get("").await?).map_err(|e| e.to_string())?;
            self.own = Some(own);
        }
        let task = ecs_metadata::parse_task(&self.get("/task").await?).map_err(|e| e.to_string())?;
        let stats = ecs_metadata::parse_container_stats(&self.get("/task/stats").await?)
            .map_err(|e| e.to_string())?;
        Ok((task, stats))
    }

    async fn get(&self, path: &str) -> Result<String, String> {
        crate::sources::get_text(&self.http, &format!("{}{path}", self.base)).await
    }

    fn reading(
        &mut self,
        now: DateTime<Utc>,
        task: &TaskInfo,
        stats: ContainerStats,
    ) -> Result<AppReading, String> {
        let own = self.own.as_deref().unwrap_or_default();
        let mut usage = ecs_metadata::per_container(self.prev.as_ref(), &stats, task);
        usage.retain(|u| u.name != own);
        usage.truncate(MAX_CONTAINERS);
        self.prev = Some(stats);
        if usage.is_empty() {
            return Err(format!("task metadata: no container but trimtab's own ({own}) has stats yet"));
        }
        let oom_signs = usage.iter().filter_map(|u| self.sign(u)).collect();
        self.seen = usage.iter().map(|u| (u.name.clone(), seen(u))).collect();
        let app = combined(now, &usage, task);
        self.app_memory_bytes = app.memory_bytes;
        let containers = usage.iter().map(|u| (u.name.clone(), container_reading(now, u))).collect();
        Ok(AppReading { app, containers, oom_signs })
    }

    /// The out-of-memory sign `u` shows against its previous reading, if any.
    fn sign(&self, u: &ContainerUsage) -> Option<OomSign> {
        let before = self.seen.get(&u.name)?;
        let restarted = before.docker_id != u.docker_id
            || before.cpu_used_ns.zip(u.cpu_used_ns).is_some_and(|(b, n)| n < b);
        let near_limit = before.memory_pct.is_some_and(|p| p >= LIKELY_OOM_PCT);
        let hits = before.limit_hits.zip(u.limit_hits).map_or(0, |(b, n)| n.saturating_sub(b));
        let message = if restarted && near_limit {
            format!(
                "container {} restarted with its memory at {:.1}% of its limit: likely killed for memory",
                u.name,
                before.memory_pct.unwrap_or_default()
            )
        } else if hits > 0 && !restarted {
            format!("container {} hit its memory limit {hits} times since the last reading", u.name)
        } else {
            return None;
        };
        let likely_killed = restarted && near_limit;
        Some(OomSign {
            container: u.name.clone(),
            likely_killed,
            app_memory_bytes: self.app_memory_bytes,
            message,
        })
    }
}

fn seen(u: &ContainerUsage) -> Seen {
    Seen {
        docker_id: u.docker_id.clone(),
        cpu_used_ns: u.cpu_used_ns,
        memory_pct: u.memory_pct.clone().ok(),
        limit_hits: u.limit_hits,
    }
}

fn container_reading(now: DateTime<Utc>, u: &ContainerUsage) -> Reading {
    Reading {
        cpu_pct: u.cpu_pct.clone().ok(),
        memory_pct: u.memory_pct.clone().ok(),
        memory_bytes: u.memory_bytes.clone().ok(),
        memory_peak_bytes: u.memory_peak_bytes,
        cpu_limit_cores: u.cpu_vcpu,
        memory_limit_bytes: u.memory_limit_bytes,
        memory_limit_hits: u.limit_hits,
        ..Reading::empty(now)
    }
}

/// The app containers together, against the task's limits; a figure any container lacks is
/// missing for the whole.
fn combined(now: DateTime<Utc>, usage: &[ContainerUsage], task: &TaskInfo) -> Reading {
    let busy: Option<f64> = usage.iter().map(|u| u.busy_vcpu.clone().ok()).sum();
    // Figures from outside: an absurd one makes the sum unknown, never an overflow.
    let memory: Option<u64> =
        usage.iter().try_fold(0u64, |sum, u| sum.checked_add(u.memory_bytes.clone().ok()?));
    let cores = task.effective_vcpu();
    let limit = task.effective_memory_mib().map(|m| (m * 1024.0 * 1024.0) as u64);
    Reading {
        cpu_pct: busy.zip(cores).map(|(b, c)| 100.0 * b / c),
        memory_pct: memory.zip(limit).map(|(m, l)| 100.0 * m as f64 / l as f64),
        memory_bytes: memory,
        cpu_limit_cores: cores,
        memory_limit_bytes: limit,
        ..Reading::empty(now)
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
