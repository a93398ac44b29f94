//! What the agent shows of itself: the [`Snapshot`] the loop publishes after every tick, which
//! the local API serves (`/status`, `/history`, `/cost`, `/metrics`) and `trimtab run --once`
//! prints, and the [`OverrideSlot`] through which the API hands the loop an operator override.
//!
//! Plain data only, built from `core` values: the agent writes it, the API and the CLI read it,
//! and neither reader needs the agent to do so. That is what keeps the dependencies pointing one
//! way (`agent → api → status`; `tests/layers.rs` pins it).

mod cost;
mod fleet;
mod histogram;
mod protection;
mod role;
mod series;
mod snapshot;
mod vertical;

use std::sync::{Arc, Mutex};

pub use cost::CostView;
pub use fleet::{DiscoveryView, FleetView, ServiceStanding, Standing};
pub use histogram::{Histogram, TICK_BUCKETS};
pub use protection::ProtectionView;
pub use role::Role;
pub use series::{MetricPoint, Point, SERIES_LEN, Series};
pub use snapshot::{
    Action, ActionRecord, AppLoad, Cooldowns, Counters, HISTORY_LEN, MetricView, PerTask, PolicyView,
    ServiceView, Signals, Snapshot, TaskReading, Tick, push_bounded,
};
pub use vertical::VerticalStatus;

use crate::core::ManualOverride;

/// The operator's override, set through the API and read by the loop each tick.
pub type OverrideSlot = Arc<Mutex<Option<ManualOverride>>>;

/// How long an agent may go without a tick before its `/healthz` reports it stalled: three
/// intervals, plus a tick's worst case (a few AWS calls at their 8 s limit), so an AWS slowdown
/// does not make the container health check restart the task. Also how long a sidecar leader's
/// ticks may stop before its lead counts as lapsed (another may have been elected meanwhile).
pub fn stalled_after(interval: chrono::TimeDelta) -> chrono::TimeDelta {
    interval * 3 + chrono::TimeDelta::seconds(60)
}
