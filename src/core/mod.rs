//! The decision core: pure functions from (policy, observation, history, now) to a [`Decision`].
//!
//! Nothing in here performs I/O, reads the environment or reads a clock. Time enters only as the
//! `now` argument, and everything the core remembers between ticks lives in an explicit
//! [`History`] value that the caller owns, records into, and may persist or rebuild. That is what
//! lets the live agent and the simulator run the very same code, and what makes every decision
//! reproducible from its inputs.
//!
//! A decision is a pipeline of small stages, in the manner of the Kubernetes HPA:
//!
//! ```text
//! metric ratios → weighted score → tolerance band → proportional size → stabilization
//!   → cooldowns → step limits → schedule bounds → budget cap → min/max
//! ```
//!
//! Each stage may change the recommended count and, when it does, says why (a [`Step`]). The
//! final [`Reason`] is the last stage that moved the number, so `explain`, logs and the status
//! API all tell the same story.

pub mod cost;
pub mod decide;
pub mod fargate;
pub mod history;
pub mod operator;
pub mod policy;
pub mod pool;
pub mod protection;
pub mod rightsize;
pub mod schedule;
pub mod schedule_at;
mod schedule_aws;
pub mod schedule_expr;
pub mod score;
pub mod types;
pub mod usd;

pub use decide::{Decision, Reason, Step, decide};
pub use history::History;
pub use policy::{MetricKind, MetricSpec, OnMissingData, Policy, Thresholds};
pub use schedule::{EffectiveBounds, ScheduleWindow, WindowTime};
pub use score::{Contribution, MetricStatus, Score};
pub use types::{Bounds, ManualOverride, Money, Observation, Replicas, Sample};
