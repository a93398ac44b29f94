//! What a controller shows of itself: its membership, each managed service's standing, and
//! the AWS calls it made per tick by operation.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Action;
use crate::core::cost::Rate;

/// The controller's view after its last tick.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FleetView {
    pub at: Option<DateTime<Utc>>,
    pub ticks: u64,
    /// This controller's task ARN (`self` when it runs alone).
    pub me: String,
    /// The members it saw, sorted; empty when the read failed.
    pub members: Vec<String>,
    /// Why the membership read failed, if it did (nothing is acted on then).
    pub membership_error: Option<String>,
    /// Why the last tick decided nothing, if it did not (its reads overran the interval).
    pub error: Option<String>,
    /// Every service this controller knows (listed or discovered), by `cluster/name`.
    pub services: BTreeMap<String, ServiceStanding>,
    /// AWS calls of the last tick, by operation (`ecs:DescribeServices` …).
    pub calls: BTreeMap<&'static str, u32>,
    /// Since start.
    pub calls_total: BTreeMap<&'static str, u64>,
    /// What the services this member acts for cost an hour at their running counts, in USD
    /// (those it can price: Fargate, in a region of the shipped tables).
    pub cost_per_hour_usd: Rate,
    /// Updates applied and failed since start.
    pub applied: u64,
    pub failed: u64,
    /// When discovery last ran and what it found.
    pub discovery: Option<DiscoveryView>,
    /// How long the ticks took, in seconds (recorded by the driver), for `/metrics`.
    #[serde(skip)]
    pub tick_seconds: super::Histogram,
}

#[derive(Clone, Debug, Serialize)]
pub struct DiscoveryView {
    pub at: DateTime<Utc>,
    pub adopted: usize,
    pub released: usize,
    pub error: Option<String>,
}

/// What one controller does with a service this tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Standing {
    /// Another member owns it (or this controller is not a member): not read, not decided.
    Elsewhere,
    /// Owned, but not yet for an interval (the handover rule): decided, not acted on.
    Settling,
    /// Owned for at least an interval: decided and acted on.
    Acting,
}

impl Standing {
    pub const ALL: [Standing; 3] = [Standing::Acting, Standing::Settling, Standing::Elsewhere];

    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Elsewhere => "elsewhere",
            Standing::Settling => "settling",
            Standing::Acting => "acting",
        }
    }
}

/// One managed service as this controller last saw it.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceStanding {
    pub standing: Standing,
    /// The policy (a `[policies]` name or a template), once known.
    pub policy: Option<String>,
    /// `listed` (`[[services]]`) or `discovered` (by tag).
    pub origin: &'static str,
    pub desired: Option<u32>,
    pub paused: bool,
    pub reason: Option<String>,
    pub action: Option<Action>,
    /// Why the service is left alone (a bad tag, a service ECS did not return), if it is.
    pub problem: Option<String>,
    /// One task's price an hour and the service's at its running count, in USD, when priced.
    pub task_per_hour_usd: Option<Rate>,
    pub per_hour_usd: Option<Rate>,
    /// Why it is not priced (EC2, no region, a task definition without a size), if so.
    pub cost_problem: Option<String>,
}
