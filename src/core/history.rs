//! What the core remembers between ticks, as an explicit value the caller owns.
//!
//! The loop records every decision's raw recommendation (for the scale-in stabilization window)
//! and every scaling action it actually applied (for cooldowns). An action is recorded only
//! after it succeeded, so a failed `UpdateService` starts no cooldown. The live agent rebuilds
//! this value on start from the systems of record; the simulator just keeps it.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::types::Replicas;

/// Upper bound on remembered recommendations (and scores), whatever the window: a ring, never a
/// leak.
const MAX_ENTRIES: usize = 4096;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// `(time, raw recommendation)`, oldest first.
    recommendations: VecDeque<(DateTime<Utc>, Replicas)>,
    last_scale_out: Option<DateTime<Utc>>,
    last_scale_in: Option<DateTime<Utc>>,
    /// `(time, score)` of recent decisions, oldest first, for the trend.
    #[serde(default)]
    scores: VecDeque<(DateTime<Utc>, f64)>,
    /// Since when every weighted metric has been at or below its activation (`None`: not now,
    /// or not known since the start).
    #[serde(default)]
    quiet_since: Option<DateTime<Utc>>,
}

impl History {
    /// Remembers a tick's raw recommendation and forgets those older than `keep`.
    pub fn record_recommendation(&mut self, now: DateTime<Utc>, r: Replicas, keep: TimeDelta) {
        push_recent(&mut self.recommendations, now, r, keep);
    }

    /// Remembers a tick's score and forgets those older than `keep`.
    pub fn record_score(&mut self, now: DateTime<Utc>, score: f64, keep: TimeDelta) {
        push_recent(&mut self.scores, now, score, keep);
    }

    /// Scores remembered within `window` before `now`.
    pub fn scores_within(
        &self,
        now: DateTime<Utc>,
        window: TimeDelta,
    ) -> impl Iterator<Item = (DateTime<Utc>, f64)> {
        self.scores.iter().copied().filter(move |(t, _)| now - *t <= window && *t < now)
    }

    /// Remembers whether the service was idle at this tick (every weighted metric usable and at
    /// or below its activation).
    pub fn record_quiet(&mut self, now: DateTime<Utc>, quiet: bool) {
        self.quiet_since = if quiet { self.quiet_since.or(Some(now)) } else { None };
    }

    /// Since when the service has been idle without a break.
    pub fn quiet_since(&self) -> Option<DateTime<Utc>> {
        self.quiet_since
    }

    /// Remembers a scaling action that was applied.
    pub fn record_action(&mut self, now: DateTime<Utc>, from: Replicas, to: Replicas) {
        if to > from {
            self.last_scale_out = Some(now);
        } else if to < from {
            self.last_scale_in = Some(now);
        }
    }

    /// The highest recommendation made within `window` before `now`.
    pub fn highest_within(&self, now: DateTime<Utc>, window: TimeDelta) -> Option<Replicas> {
        self.recommendations.iter().filter(|(t, _)| now - *t < window && *t <= now).map(|&(_, r)| r).max()
    }

    pub fn last_scale_out(&self) -> Option<DateTime<Utc>> {
        self.last_scale_out
    }

    pub fn last_scale_in(&self) -> Option<DateTime<Utc>> {
        self.last_scale_in
    }

    /// The most recent scaling action in either direction.
    pub fn last_action(&self) -> Option<DateTime<Utc>> {
        self.last_scale_out.max(self.last_scale_in)
    }

    pub fn recommendations(&self) -> impl Iterator<Item = &(DateTime<Utc>, Replicas)> {
        self.recommendations.iter()
    }
}

/// Appends `(now, value)` and drops entries older than `keep` or beyond the ring's bound.
fn push_recent<T>(ring: &mut VecDeque<(DateTime<Utc>, T)>, now: DateTime<Utc>, value: T, keep: TimeDelta) {
    ring.push_back((now, value));
    while ring.front().is_some_and(|(t, _)| now - *t > keep || ring.len() > MAX_ENTRIES) {
        ring.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn window_keeps_only_recent_recommendations() {
        let mut h = History::default();
        let keep = TimeDelta::seconds(300);
        for (s, r) in [(0, 9), (100, 5), (200, 4), (350, 3)] {
            h.record_recommendation(t(s), Replicas(r), keep);
        }
        // t=0 fell out of the 300 s kept span at t=350.
        assert_eq!(h.recommendations().count(), 3);
        assert_eq!(h.highest_within(t(350), TimeDelta::seconds(300)), Some(Replicas(5)));
        assert_eq!(h.highest_within(t(350), TimeDelta::seconds(200)), Some(Replicas(4)));
        assert_eq!(h.highest_within(t(350), TimeDelta::zero()), None);
    }

    #[test]
    fn ring_is_bounded() {
        let mut h = History::default();
        for s in 0..10_000 {
            h.record_recommendation(t(s), Replicas(1), TimeDelta::days(365));
        }
        assert_eq!(h.recommendations().count(), MAX_ENTRIES);
    }

    #[test]
    fn actions_set_direction_times() {
        let mut h = History::default();
        h.record_action(t(10), Replicas(2), Replicas(4));
        h.record_action(t(20), Replicas(4), Replicas(4));
        assert_eq!(h.last_scale_out(), Some(t(10)));
        assert_eq!(h.last_scale_in(), None);
        h.record_action(t(30), Replicas(4), Replicas(3));
        assert_eq!(h.last_action(), Some(t(30)));
    }
}
