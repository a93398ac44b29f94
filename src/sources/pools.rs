//! The task's resource pools, shared by the local API, which reserves and releases through them,
//! and the `pools` metric source, which reads their pressure for the horizontal score.
//!
//! The accounting is [`crate::core::pool`]'s; this module only holds the pools behind one mutex
//! (every operation is a few map updates, never an await, so the lock is never held long) and
//! supplies the clock. One mutex for all pools keeps `GET /pools` a consistent picture.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::model::{PoolCapacity, PoolConfig};
use crate::core::Sample;
use crate::core::pool::{Pool, PoolSpec, Status};

/// The task's limits, for pools sized `"auto"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// CPU units (1024 = 1 vCPU).
    pub cpu_units: Option<u64>,
    pub memory_mib: Option<u64>,
}

struct Entry {
    pool: Pool,
    unit: String,
}

/// Every pool of this agent, by name. Cloning shares them.
#[derive(Clone, Default)]
pub struct PoolSet {
    inner: Arc<Mutex<BTreeMap<String, Entry>>>,
}

impl std::fmt::Debug for PoolSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.lock().keys()).finish()
    }
}

/// One pool in `GET /pools`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PoolView {
    pub name: String,
    pub unit: String,
    pub preemption: bool,
    pub max_wait_ms: i64,
    /// The most requests that may wait, and the most reservations held, at once.
    pub max_queue: usize,
    pub max_active: usize,
    #[serde(flatten)]
    pub status: Status,
    /// `100 × (allocated + queued amount) / capacity`: what `source = "pools"` reads.
    pub pressure: f64,
}

impl PoolSet {
    /// Builds the configured pools; `"auto"` takes the task's limit. Fails, naming the pool,
    /// when that limit is unknown.
    pub fn new(pools: &[PoolConfig], limits: Limits) -> Result<PoolSet, String> {
        let mut map = BTreeMap::new();
        for p in pools {
            let capacity = match p.capacity {
                PoolCapacity::Fixed(n) => n,
                PoolCapacity::Auto => auto_capacity(&p.name, limits)?,
            };
            let spec = PoolSpec {
                capacity,
                preemption: p.preemption,
                max_wait: p.max_wait,
                default_ttl: p.default_ttl,
                max_ttl: Some(p.max_ttl),
                max_queue: p.max_queue,
                max_active: p.max_active,
            };
            map.insert(p.name.clone(), Entry { pool: Pool::new(spec), unit: p.unit.clone() });
        }
        Ok(PoolSet { inner: Arc::new(Mutex::new(map)) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        // A panic while holding the lock cannot leave a pool half-updated in a way `check`
        // would not catch: every pool method keeps its invariants before it returns.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Runs `f` on the pool `name`; `None` when there is no such pool.
    pub fn with<T>(&self, name: &str, f: impl FnOnce(&mut Pool) -> T) -> Option<T> {
        self.lock().get_mut(name).map(|e| f(&mut e.pool))
    }

    /// Runs `f` on the pool `name` at `now`, and views the pool after it under the same lock, so
    /// the two agree; `None` when there is no such pool.
    pub fn with_view<T>(
        &self,
        name: &str,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut Pool, DateTime<Utc>) -> T,
    ) -> Option<(T, PoolView)> {
        let mut pools = self.lock();
        let e = pools.get_mut(name)?;
        let t = f(&mut e.pool, now);
        Some((t, view(name, e, now)))
    }

    pub fn view(&self, now: DateTime<Utc>) -> Vec<PoolView> {
        self.lock().iter_mut().map(|(name, e)| view(name, e, now)).collect()
    }

    /// The pressure of `name`, or of the most pressed pool.
    pub fn pressure(&self, name: Option<&str>, now: DateTime<Utc>) -> Option<(String, f64)> {
        let mut pools = self.lock();
        pools
            .iter_mut()
            .filter(|(n, _)| name.is_none_or(|w| w == n.as_str()))
            .map(|(n, e)| {
                e.pool.advance(now);
                (n.clone(), e.pool.pressure())
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// A sample for a `source = "pools"` metric.
    pub fn sample(&self, pool: Option<&str>, now: DateTime<Utc>) -> Result<Sample, String> {
        match self.pressure(pool, now) {
            Some((_, value)) => Ok(Sample { value, at: now }),
            None => Err(format!("no pool {:?} in this agent", pool.unwrap_or("(any)"))),
        }
    }
}

fn view(name: &str, e: &mut Entry, now: DateTime<Utc>) -> PoolView {
    let status = e.pool.status(now);
    PoolView {
        name: name.to_owned(),
        unit: e.unit.clone(),
        preemption: e.pool.spec().preemption,
        max_wait_ms: e.pool.spec().max_wait.num_milliseconds(),
        max_queue: e.pool.spec().max_queue,
        max_active: e.pool.spec().max_active,
        pressure: e.pool.pressure(),
        status,
    }
}

fn auto_capacity(name: &str, limits: Limits) -> Result<u64, String> {
    let (value, what) = match name {
        "cpu" => (limits.cpu_units, "a CPU limit (cgroup cpu.max, or service.cpu)"),
        _ => (limits.memory_mib, "a memory limit (cgroup memory.max, or service.memory)"),
    };
    value.filter(|&v| v > 0).ok_or_else(|| {
        format!("pools.{name}: capacity = \"auto\" needs {what}, and this task has none; give a number")
    })
}
