//! What the agent and the controller tell the `[[notify]]` targets besides budget alerts, as
//! values: which operator changes a tick saw ([`OperatorWatch`]), whether a size recommendation
//! is new ([`Recommended`]), and a local alert as an [`Event`]. The drivers call these where
//! the thing happens and hand the events to the [`crate::notify::Notify`] port.
//!
//! Operator intent is compared with what the previous tick saw: a pause or an override seen at
//! the first tick (after a start, or when a controller takes the service over) is reported, a
//! resume only when the pause was seen. An override that changes (another count or end) is
//! reported as a new one; one that is removed or expires, as ended.

use chrono::{DateTime, Utc};

use crate::core::ManualOverride;
use crate::core::rightsize::{Size, Sizing};
use crate::notify::event::{Event, LocalAlert, Operator, OperatorChange, Resize};
use crate::notify::render::BYTES_PER_SECOND;
use crate::sources::local::{AlertEvent, AlertKind, Resource};

/// The operator intent seen at the previous tick.
#[derive(Clone, Debug, Default)]
pub struct OperatorWatch {
    seen: Option<(bool, Option<ManualOverride>)>,
}

impl OperatorWatch {
    /// What changed since the previous tick, given this tick's pause and the override in force
    /// (`None` when there is none or it has expired).
    pub fn observe(
        &mut self,
        paused: bool,
        active: Option<&ManualOverride>,
        now: DateTime<Utc>,
    ) -> Vec<OperatorChange> {
        let (was_paused, before) = self.seen.clone().unwrap_or_default();
        let mut changes = Vec::new();
        match (was_paused, paused) {
            (false, true) => changes.push(OperatorChange::Paused),
            (true, false) => changes.push(OperatorChange::Resumed),
            _ => {}
        }
        match (&before, active) {
            (Some(b), Some(a)) if b.count == a.count && b.expires_at == a.expires_at => {}
            (_, Some(a)) => changes.push(OperatorChange::Override {
                count: a.count.get(),
                until: a.expires_at,
                reason: a.reason.clone(),
            }),
            (Some(b), None) => changes.push(OperatorChange::OverrideEnded {
                count: b.count.get(),
                until: b.expires_at,
                expired: !b.is_active(now),
            }),
            (None, None) => {}
        }
        self.seen = Some((paused, active.cloned()));
        changes
    }
}

/// `changes` as events about `service`.
pub fn operator_events(service: &str, changes: Vec<OperatorChange>, at: DateTime<Utc>) -> Vec<Event> {
    changes
        .into_iter()
        .map(|change| Event::Operator(Operator { service: service.to_owned(), at, change }))
        .collect()
}

/// The size last recommended, so that a recommendation is told once, not every tick.
#[derive(Clone, Debug, Default)]
pub struct Recommended {
    last: Option<Size>,
}

impl Recommended {
    /// A resize event when `z` recommends a size, with at least medium confidence, other than
    /// the one told last; a sizing that recommends nothing forgets it.
    pub fn observe(&mut self, service: &str, z: Option<&Sizing>, at: DateTime<Utc>) -> Option<Event> {
        let firm = z.filter(|z| z.recommended && z.confidence >= crate::core::cost::Confidence::Medium);
        let Some(z) = firm else {
            self.last = None;
            return None;
        };
        if self.last == Some(z.target) {
            return None;
        }
        self.last = Some(z.target);
        Some(Event::Resize(Resize::recommended(service, z, at)))
    }
}

/// A local monitor's alert as an event about `service`, watched in `task`.
pub fn local_alert(service: &str, task: Option<&str>, e: &AlertEvent) -> Event {
    let unit = match e.resource {
        Resource::Disk | Resource::Network => BYTES_PER_SECOND,
        Resource::Cpu | Resource::Memory | Resource::Throttling => "%",
    };
    Event::LocalAlert(LocalAlert {
        service: service.to_owned(),
        at: e.at,
        task: task.map(str::to_owned),
        resource: e.resource.name(),
        firing: e.kind == AlertKind::Firing,
        value: e.value,
        threshold: e.threshold,
        unit,
        since: e.since,
        container: e.container.clone(),
        message: e.message.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Replicas;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn hold(count: u32, until: &str) -> ManualOverride {
        ManualOverride { count: Replicas(count), reason: "launch".into(), expires_at: at(until) }
    }

    #[test]
    fn operator_changes_are_told_once_each() {
        let o8 = hold(8, "2026-11-22T12:00:00Z");
        let o9 = hold(9, "2026-11-22T12:00:00Z");
        let names = |c: Vec<OperatorChange>| c.iter().map(OperatorChange::as_str).collect::<Vec<_>>();
        let mut w = OperatorWatch::default();
        // Each row: this tick's pause and override, and what is told.
        let steps: [(bool, Option<&ManualOverride>, &str, &[&str]); 8] = [
            (false, None, "10:00", &[]),
            (true, None, "10:01", &["paused"]),
            (true, None, "10:02", &[]),
            (false, Some(&o8), "10:03", &["resumed", "override"]),
            (false, Some(&o8), "10:04", &[]),
            (false, Some(&o9), "10:05", &["override"]),
            (false, None, "10:06", &["override_ended"]),
            (false, None, "10:07", &[]),
        ];
        for (paused, o, time, want) in steps {
            let now = at(&format!("2026-11-22T{time}:00Z"));
            assert_eq!(names(w.observe(paused, o, now)), want, "at {time}");
        }
    }

    #[test]
    fn a_pause_or_override_seen_at_the_first_tick_is_told_and_an_expiry_says_so() {
        let o = hold(8, "2026-11-22T12:00:00Z");
        let mut w = OperatorWatch::default();
        let first = w.observe(true, Some(&o), at("2026-11-22T10:00:00Z"));
        assert_eq!(first.len(), 2, "{first:?}");
        let ended = w.observe(true, None, at("2026-11-22T12:00:00Z"));
        assert_eq!(
            ended,
            [OperatorChange::OverrideEnded { count: 8, until: o.expires_at, expired: true }],
            "expired at its time, not removed"
        );
        let mut w = OperatorWatch::default();
        w.observe(false, Some(&o), at("2026-11-22T10:00:00Z"));
        let removed = w.observe(false, None, at("2026-11-22T10:05:00Z"));
        assert!(matches!(removed[..], [OperatorChange::OverrideEnded { expired: false, .. }]), "{removed:?}");
    }
}
