//! What a notification is about: one [`Event`] per thing that happened, each of one
//! [`EventType`] (its stable `kind`, which `[[notify]].events` opts into), the service it is
//! about, and a de-duplication key. Values only: the agent and the controller build them where
//! things happen and hand them to the [`super::Notify`] port; [`super::render`] says them.

use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::{DateTime, Utc};

use crate::config::model::EventType;
use crate::core::cost::{BudgetEvent, EventKind};
use crate::core::policy::{MetricKind, TargetType};
use crate::core::rightsize::{Size, Sizing};
use crate::core::{Decision, Money};

/// The most services one [`Ownership`] event names of each list (the counts are whole).
pub const MAX_NAMED: usize = 50;

/// The most metrics a [`Scaling`] event names: those furthest above their targets.
pub const TOP_METRICS: usize = 2;

/// Something a `[[notify]]` target may be told.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Budget(BudgetEvent),
    Scaling(Scaling),
    Resize(Resize),
    LocalAlert(LocalAlert),
    Operator(Operator),
    Ownership(Ownership),
}

/// A desired-count change applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaling {
    pub service: String,
    pub at: DateTime<Utc>,
    pub from: u32,
    pub to: u32,
    /// The decision's reason and message, as `explain` and `/status` give them.
    pub reason: String,
    pub message: String,
    /// The steering metrics furthest from their targets (highest ratio first), at most
    /// [`TOP_METRICS`].
    pub metrics: Vec<MetricLine>,
}

/// One metric as a scaling event names it.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricLine {
    pub name: String,
    pub value: f64,
    pub target: f64,
    /// The value's ratio to its target (1.0: on target).
    pub ratio: f64,
    pub target_type: TargetType,
    /// `%`, ` ms` or nothing, as the metric's kind implies.
    pub unit: &'static str,
}

/// A task size applied, or newly recommended.
#[derive(Clone, Debug, PartialEq)]
pub struct Resize {
    pub service: String,
    pub at: DateTime<Utc>,
    /// A deployment of the new size was started (`vertical.mode = "apply"`); else recommended.
    pub applied: bool,
    pub from: Size,
    pub to: Size,
    /// What the change saves a month per task (negative: what it costs).
    pub monthly_saving_per_task: Money,
    pub confidence: String,
    pub reasons: Vec<String>,
    /// The revision deployed, when applied.
    pub task_definition: Option<String>,
}

/// A threshold alert of the local monitor, firing or resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalAlert {
    pub service: String,
    pub at: DateTime<Utc>,
    /// The task watched, when known.
    pub task: Option<String>,
    pub resource: &'static str,
    pub firing: bool,
    pub value: f64,
    pub threshold: f64,
    /// `%`, or ` B/s` for disk and network.
    pub unit: &'static str,
    /// When the value went above the threshold.
    pub since: DateTime<Utc>,
    /// The app container it is about, if the monitor watches the task's containers.
    pub container: Option<String>,
    /// The monitor's own sentence, e.g. "memory at 93.1% of the 2 GiB limit for 1m (threshold 90%)".
    pub message: String,
}

/// Operator intent seen in the service's tags (or set through the agent's API), or ending.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    pub service: String,
    pub at: DateTime<Utc>,
    pub change: OperatorChange,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OperatorChange {
    /// `trimtab:paused = true`: decided and reported, nothing changed.
    Paused,
    Resumed,
    /// A manual override holds `count` tasks until `until`.
    Override {
        count: u32,
        until: DateTime<Utc>,
        reason: String,
    },
    /// The override is over: it `expired`, or was removed before its time.
    OverrideEnded {
        count: u32,
        until: DateTime<Utc>,
        expired: bool,
    },
}

impl OperatorChange {
    /// `paused`, `resumed`, `override`, `override_ended`.
    pub fn as_str(&self) -> &'static str {
        match self {
            OperatorChange::Paused => "paused",
            OperatorChange::Resumed => "resumed",
            OperatorChange::Override { .. } => "override",
            OperatorChange::OverrideEnded { .. } => "override_ended",
        }
    }
}

/// A controller member's services changed: it took some, handed others over.
#[derive(Clone, Debug, PartialEq)]
pub struct Ownership {
    pub at: DateTime<Utc>,
    /// This member: its task ARN, or `self` for a controller that runs alone.
    pub member: String,
    pub members: usize,
    /// The first [`MAX_NAMED`] services taken and handed over, by `cluster/name`.
    pub took: Vec<String>,
    pub handed_over: Vec<String>,
    pub took_count: usize,
    pub handed_over_count: usize,
}

impl Event {
    pub fn kind(&self) -> EventType {
        match self {
            Event::Budget(_) => EventType::Budget,
            Event::Scaling(_) => EventType::Scaling,
            Event::Resize(_) => EventType::Resize,
            Event::LocalAlert(_) => EventType::LocalAlert,
            Event::Operator(_) => EventType::Operator,
            Event::Ownership(_) => EventType::Ownership,
        }
    }

    /// The service the event names; `None` for those about the notifier's own (budget) or
    /// about the controller (ownership).
    pub fn service(&self) -> Option<&str> {
        match self {
            Event::Budget(_) | Event::Ownership(_) => None,
            Event::Scaling(e) => Some(&e.service),
            Event::Resize(e) => Some(&e.service),
            Event::LocalAlert(e) => Some(&e.service),
            Event::Operator(e) => Some(&e.service),
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Event::Budget(e) => e.at,
            Event::Scaling(e) => e.at,
            Event::Resize(e) => e.at,
            Event::LocalAlert(e) => e.at,
            Event::Operator(e) => e.at,
            Event::Ownership(e) => e.at,
        }
    }

    /// Two events with the same key say the same thing: the second within the de-duplication
    /// window is dropped. The time is never part of it.
    pub fn key(&self) -> String {
        let kind = self.kind();
        match self {
            Event::Budget(e) => {
                let what = match e.kind {
                    EventKind::Alert => "alert",
                    EventKind::Recovery => "recovery",
                };
                format!("{kind}|{what}|{}|{}|{}", e.signal.as_str(), e.level.as_str(), e.period)
            }
            Event::Scaling(e) => format!("{kind}|{}|{}|{}", e.service, e.from, e.to),
            Event::Resize(e) => format!("{kind}|{}|{}|{}|{}", e.service, e.applied, e.to.cpu, e.to.memory),
            Event::LocalAlert(e) => format!(
                "{kind}|{}|{}|{}|{}|{}",
                e.service,
                e.task.as_deref().unwrap_or_default(),
                e.container.as_deref().unwrap_or_default(),
                e.resource,
                e.firing
            ),
            Event::Operator(e) => format!("{kind}|{}|{}", e.service, operator_key(&e.change)),
            Event::Ownership(e) => {
                let mut h = DefaultHasher::new();
                (&e.took, &e.handed_over, e.took_count, e.handed_over_count).hash(&mut h);
                format!("{kind}|{}|{:x}", e.member, h.finish())
            }
        }
    }
}

fn operator_key(c: &OperatorChange) -> String {
    match c {
        OperatorChange::Override { count, until, .. }
        | OperatorChange::OverrideEnded { count, until, .. } => {
            format!("{}|{count}|{}", c.as_str(), until.timestamp())
        }
        _ => c.as_str().to_owned(),
    }
}

impl From<BudgetEvent> for Event {
    fn from(e: BudgetEvent) -> Self {
        Event::Budget(e)
    }
}

impl From<&BudgetEvent> for Event {
    fn from(e: &BudgetEvent) -> Self {
        Event::Budget(e.clone())
    }
}

impl Scaling {
    /// The change `d` asked for, applied from `from` to `to`, for `service`.
    pub fn applied(service: &str, d: &Decision, from: u32, to: u32) -> Scaling {
        let mut metrics: Vec<MetricLine> = d
            .score
            .contributions
            .iter()
            .filter(|c| c.steers() && c.status.is_usable())
            .filter_map(|c| {
                Some(MetricLine {
                    name: c.name.clone(),
                    value: c.value?,
                    target: c.target,
                    ratio: c.normalized?,
                    target_type: c.target_type,
                    unit: unit(c.kind),
                })
            })
            .collect();
        metrics.sort_by(|a, b| b.ratio.total_cmp(&a.ratio));
        metrics.truncate(TOP_METRICS);
        Scaling {
            service: service.to_owned(),
            at: d.at,
            from,
            to,
            reason: d.reason.as_str().to_owned(),
            message: d.message.clone(),
            metrics,
        }
    }
}

/// The unit a metric's kind implies, as `explain` shows it.
fn unit(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Cpu | MetricKind::Memory | MetricKind::ErrorRate | MetricKind::PoolPressure => "%",
        MetricKind::Latency => " ms",
        _ => "",
    }
}

impl Resize {
    /// The right-sizer's result `z` for `service`, recommended.
    pub fn recommended(service: &str, z: &Sizing, at: DateTime<Utc>) -> Resize {
        Resize {
            service: service.to_owned(),
            at,
            applied: false,
            from: z.current,
            to: z.target,
            monthly_saving_per_task: z.monthly_difference_per_task,
            confidence: format!("{:?}", z.confidence).to_ascii_lowercase(),
            reasons: z.reasons.clone(),
            task_definition: None,
        }
    }

    /// The right-sizer's result `z` for `service`, applied: `task_definition` is being deployed.
    pub fn applied(service: &str, z: &Sizing, task_definition: Option<String>, at: DateTime<Utc>) -> Resize {
        Resize { applied: true, task_definition, ..Resize::recommended(service, z, at) }
    }
}

impl Ownership {
    /// `member`'s change from owning `before` to owning `after`; `None` when nothing changed.
    pub fn change<'a>(
        member: &str,
        members: usize,
        before: impl IntoIterator<Item = &'a String>,
        after: impl IntoIterator<Item = &'a String>,
        at: DateTime<Utc>,
    ) -> Option<Ownership> {
        let before: std::collections::BTreeSet<&String> = before.into_iter().collect();
        let after: std::collections::BTreeSet<&String> = after.into_iter().collect();
        let took: Vec<&String> = after.difference(&before).copied().collect();
        let handed: Vec<&String> = before.difference(&after).copied().collect();
        if took.is_empty() && handed.is_empty() {
            return None;
        }
        let named = |v: &[&String]| v.iter().take(MAX_NAMED).map(|s| (*s).clone()).collect();
        Some(Ownership {
            at,
            member: member.to_owned(),
            members,
            took: named(&took),
            handed_over: named(&handed),
            took_count: took.len(),
            handed_over_count: handed.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn ownership_names_what_moved_and_nothing_when_nothing_did() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<String>>();
        let now = at("2026-11-22T10:30:00Z");
        let (before, after) = (s(&["c/a", "c/b"]), s(&["c/b", "c/c", "c/d"]));
        let o = Ownership::change("task/1", 3, &before, &after, now).unwrap();
        assert_eq!((o.took, o.handed_over), (s(&["c/c", "c/d"]), s(&["c/a"])));
        assert_eq!((o.took_count, o.handed_over_count, o.members), (2, 1, 3));
        assert_eq!(Ownership::change("task/1", 3, &after, &after, now), None);

        let many: Vec<String> = (0..MAX_NAMED + 7).map(|i| format!("c/s{i:03}")).collect();
        let o = Ownership::change("self", 1, &[], &many, now).unwrap();
        assert_eq!((o.took.len(), o.took_count), (MAX_NAMED, MAX_NAMED + 7));
    }

    #[test]
    fn keys_ignore_the_time_and_tell_different_changes_apart() {
        let scaling = |from, to, t: &str| {
            Event::Scaling(Scaling {
                service: "prod/web".into(),
                at: at(t),
                from,
                to,
                reason: "scale_out".into(),
                message: String::new(),
                metrics: vec![],
            })
        };
        let a = scaling(4, 6, "2026-11-22T10:30:00Z");
        assert_eq!(a.key(), scaling(4, 6, "2026-11-22T10:31:00Z").key());
        assert_ne!(a.key(), scaling(6, 4, "2026-11-22T10:30:00Z").key());
        assert_eq!(a.kind().as_str(), "scaling");
    }
}
