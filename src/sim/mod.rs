//! The simulator: replays a load trace through a world model and a controller — trimtab's own
//! policy through the very same `core::decide` the live agent uses, or one of the baselines —
//! and measures how well supply followed demand and what it cost.
//!
//! The world model is described in [`world`]; the baselines in [`baselines`]; the metrics in
//! [`metrics`].

pub mod baselines;
pub mod engine;
pub mod metrics;
pub mod plot;
pub mod timeline;
pub mod trace;
pub mod trimtab;
pub mod world;

pub use engine::{Controller, Ctx, Outcome, Simulation};
pub use metrics::{Elasticity, measure};
pub use timeline::Timeline;
pub use trace::{Trace, TraceError};
pub use world::WorldParams;
