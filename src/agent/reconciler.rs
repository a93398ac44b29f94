//! One service's reconciler: its policy and what it remembers between ticks (history, the
//! count it saw last). Both drivers hold one per service — the sidecar one, the controller
//! one per managed service — and run the same steps on it each tick:
//! [`Reconciler::observe`] → [`Reconciler::decide`] → [`plan::plan`] → the driver's act →
//! [`Reconciler::applied`]. No I/O here: the drivers read and write through their ports.

use chrono::{DateTime, Utc};
use tracing::info;

use super::plan;
use crate::core::{self, Decision, History, Observation, Policy, Replicas};

#[derive(Clone, Debug)]
pub struct Reconciler {
    pub policy: Policy,
    pub history: History,
    /// The desired count seen (or set) last tick: a change we did not make (an operator,
    /// another tool, a previous owner) counts as a scaling action for the cooldowns.
    last_seen: Option<u32>,
}

impl Reconciler {
    pub fn new(policy: Policy) -> Self {
        Reconciler { policy, history: History::default(), last_seen: None }
    }

    /// The service's desired count this tick. A count that moved since the last tick without
    /// us starts the cooldown now (see [`plan::outside_change`]); returns that change.
    pub fn observe(&mut self, desired: u32, now: DateTime<Utc>) -> Option<(u32, u32)> {
        let change = plan::outside_change(self.last_seen, desired);
        if let Some((from, to)) = change {
            info!(from, to, "desired count changed outside this agent; cooldown starts now");
            self.history.record_action(now, Replicas(from), Replicas(to));
        }
        self.last_seen = Some(desired);
        change
    }

    /// `core::decide` on this service's policy and history; the recommendation is remembered
    /// (stabilization, quiet time, trend).
    pub fn decide(&mut self, obs: &Observation, now: DateTime<Utc>) -> Decision {
        let d = core::decide(&self.policy, obs, &self.history, now);
        d.remember(&mut self.history, &self.policy);
        d
    }

    /// The desired count was set from `d.current` to `d.desired`: the cooldowns start now.
    pub fn applied(&mut self, d: &Decision, now: DateTime<Utc>) {
        self.history.record_action(now, d.current, d.desired);
        self.last_seen = Some(d.desired.get());
    }
}
