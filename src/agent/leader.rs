//! Sidecar coordination: every task of the service may run the agent; exactly one acts.
//!
//! **Who leads.** The leader is the agent of the oldest RUNNING task whose trimtab container ECS
//! reports HEALTHY (the container's health check asks the agent's `/healthz`, which fails once
//! ticks stop). A hung or crashed agent (its container is `essential = false`, so the task goes
//! on) therefore loses the lead as soon as ECS marks it UNHEALTHY, and the next-oldest healthy
//! task's agent takes it. When no task reports its trimtab container HEALTHY (no health check
//! in the task definition, or every check still in its start period), the oldest RUNNING task
//! whose container is not UNHEALTHY leads. Ties and unknown times go by ARN. Nothing is stored
//! anywhere: every agent computes the same answer from the same `DescribeTasks`.
//!
//! **Who asks, and when.** The leader reads the tasks every tick (it needs them anyway: every
//! task's signals are gathered from their addresses); a read that fails leaves it the leader,
//! deciding nothing that tick. A follower makes no AWS call on a tick: it asks the leader's
//! agent `/healthz` over the task network (free), and reads the tasks from ECS only when no
//! leader is known, when the leader does not answer or answers that it does not lead, or when it
//! cannot ask and its period (`agent.leader_check`, jittered per task) has passed. A leader that
//! is silent though ECS still elects it (the API port closed between tasks, or a hang ECS has not
//! noticed yet) is then read about every tick by the next in line only. See [`Checks`].
//!
//! **Handover.** A newly elected leader acts only after it has led at every tick for at least
//! one interval (`plan::Context::settling`), as a controller does on a newly owned service
//! (the proof is in `fleet/membership.rs`): the previous leader's last change has landed before
//! the new one reads the service, so no decision is applied twice. On taking the lead it
//! rebuilds cooldowns and spend from CloudWatch and the service's events, as at start, and acts
//! only once that is done. A leader whose own ticks stopped for longer than its `/healthz`
//! tolerates (`status::stalled_after`: only then can ECS have elected another) takes the lead
//! afresh in the same way. See [`Lead`].

use chrono::{DateTime, TimeDelta, Utc};

use crate::aws::TaskState;
use crate::status::Role;

/// The ECS health status of `container` in `t`, `None` when the task has no such container.
fn health<'a>(t: &'a TaskState, container: &str) -> Option<&'a str> {
    t.health.iter().find(|(name, _)| name == container).map(|(_, h)| h.as_str())
}

/// The leading task: the oldest RUNNING one whose trimtab container (`container`) is HEALTHY, else — no task reports it HEALTHY — the oldest RUNNING one not UNHEALTHY.
pub fn leader<'a>(tasks: &'a [TaskState], container: &str) -> Option<&'a TaskState> {
    let status = |t: &TaskState| health(t, container).map(str::to_owned);
    let running: Vec<&TaskState> = tasks.iter().filter(|t| t.last_status == "RUNNING").collect();
    let healthy: Vec<&TaskState> =
        running.iter().copied().filter(|t| status(t).as_deref() == Some("HEALTHY")).collect();
    let alive = || running.iter().copied().filter(|t| status(t).as_deref() != Some("UNHEALTHY")).collect();
    oldest(if healthy.is_empty() { alive() } else { healthy })
}

/// The task started first (`startedAt`, else `createdAt`); unknown times last, ties by ARN.
fn oldest(tasks: Vec<&TaskState>) -> Option<&TaskState> {
    tasks.into_iter().min_by(|a, b| {
        let key = |t: &TaskState| (t.started_at.or(t.created_at).is_none(), t.started_at.or(t.created_at));
        key(a).cmp(&key(b)).then_with(|| a.arn.cmp(&b.arn))
    })
}

/// This agent's role, given its own task ARN, its container's name and the service's tasks.
pub fn role(own: &str, container: &str, tasks: &[TaskState]) -> Role {
    match leader(tasks, container) {
        Some(l) if l.arn == own => Role::Leader { task: own.to_owned() },
        Some(l) => {
            let why = match tasks.iter().find(|t| t.arn == own).and_then(|t| health(t, container)) {
                Some("UNHEALTHY") => "this task's trimtab container is UNHEALTHY".into(),
                _ => "another task with a healthy agent is older".into(),
            };
            Role::Follower { task: Some(own.to_owned()), leader: Some(l.arn.clone()), why }
        }
        None => Role::Follower {
            task: Some(own.to_owned()),
            leader: None,
            why: "no RUNNING task of the service with a live agent was listed".into(),
        },
    }
}

/// What a follower learned from asking the leader's agent (`GET /healthz`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Alive, and it leads.
    Leads,
    /// No answer, a stalled one, or it no longer leads.
    Silent,
    /// It cannot be asked: the API listens on loopback only, or the leader has no address.
    CannotAsk,
    /// No leader is known: the last read found none, or failed.
    NoLeader,
}

/// Why a follower reads the tasks this tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// Not read yet, the period passed, or no leader is known.
    Due,
    /// The leader's agent is silent.
    LeaderSilent,
}

/// When a follower reads the service's tasks from ECS.
///
/// A silent leader is read about at once — ECS may already have marked it UNHEALTHY. If ECS
/// still elects it, it stays "confirmed silent": a misconfigured network (the API port closed
/// between tasks) would otherwise make every follower read ECS every tick. From then on only
/// the **next in line** (the task that would lead without it) reads every tick, so the lead
/// passes within two ticks of ECS marking the leader UNHEALTHY; the others read every period.
#[derive(Clone, Debug, PartialEq)]
pub struct Checks {
    /// `agent.leader_check`, already jittered for this task.
    period: TimeDelta,
    /// The next read due without a reason; `None`: at once.
    next: Option<DateTime<Utc>>,
    /// The leader found silent that ECS still elected at the last read.
    confirmed_silent: Option<String>,
    /// This task leads if the leader goes.
    next_in_line: bool,
}

impl Checks {
    /// `period` jittered by the task's ARN into `[0.75, 1.25) × period`, so the followers of one
    /// service spread their reads instead of asking together.
    pub fn new(period: TimeDelta, task: &str) -> Checks {
        let h = task
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        let frac = (h % 1000) as f64 / 1000.0;
        let ms = period.num_milliseconds() as f64 * (0.75 + 0.5 * frac);
        Checks {
            period: TimeDelta::milliseconds(ms as i64),
            next: None,
            confirmed_silent: None,
            next_in_line: false,
        }
    }

    pub fn period(&self) -> TimeDelta {
        self.period
    }

    /// Whether a follower reads the tasks at `now`, given what asking `leader` gave.
    pub fn ask(&self, now: DateTime<Utc>, leader: Option<&str>, probe: Probe) -> Option<Ask> {
        let due = self.next.is_none_or(|next| now >= next);
        match probe {
            Probe::Leads => None,
            Probe::NoLeader => Some(Ask::Due),
            Probe::Silent if self.next_in_line || self.confirmed_silent.as_deref() != leader => {
                Some(Ask::LeaderSilent)
            }
            Probe::Silent | Probe::CannotAsk => due.then_some(Ask::Due),
        }
    }

    /// The tasks were read at `now` after `probe`: `leader` leads now, `next_in_line` says
    /// whether this task would lead without it. Returns whether the leader is newly confirmed
    /// silent (worth one warning).
    pub fn read(
        &mut self,
        now: DateTime<Utc>,
        probe: Probe,
        leader: Option<&str>,
        next_in_line: bool,
    ) -> bool {
        self.next = Some(now + self.period);
        self.next_in_line = next_in_line;
        let silent = (probe == Probe::Silent).then(|| leader.map(str::to_owned)).flatten();
        let new = silent.is_some() && silent != self.confirmed_silent;
        self.confirmed_silent = silent;
        new
    }
}

/// The task that would lead if `leader` went: the next in line.
pub fn successor<'a>(tasks: &'a [TaskState], container: &str, leader: &str) -> Option<&'a TaskState> {
    let others: Vec<TaskState> = tasks.iter().filter(|t| t.arn != leader).cloned().collect();
    let arn = self::leader(&others, container)?.arn.clone();
    tasks.iter().find(|t| t.arn == arn)
}

/// One agent's handover bookkeeping (the rule in the module essay): when it took the lead, when
/// it last led, and whether the history it acts on is the previous leader's.
#[derive(Clone, Debug, PartialEq)]
pub struct Lead {
    since: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    /// The previous leader's cooldowns and spend still have to be read (`Agent::restore`).
    unrestored: bool,
    /// No election yet: the agent restored at start, so a lead taken now needs no restore.
    first: bool,
}

impl Default for Lead {
    fn default() -> Self {
        Lead { since: None, last: None, unrestored: false, first: true }
    }
}

impl Lead {
    /// This tick's election at `now` said whether this agent `leads`. A lead starts afresh when
    /// it was not held at the last election, or when the agent's ticks stopped for longer than
    /// `lapse` (the time after which its `/healthz` reports it stalled and ECS may elect
    /// another). Returns whether the history must be restored before it acts.
    pub fn elected(&mut self, now: DateTime<Utc>, leads: bool, lapse: TimeDelta) -> bool {
        let first = std::mem::replace(&mut self.first, false);
        if !leads {
            (self.since, self.last) = (None, None);
            return false;
        }
        let lapsed = self.last.is_some_and(|t| now - t > lapse);
        if self.since.is_none() || lapsed {
            self.since = Some(now);
            self.unrestored = !first;
        }
        self.last = Some(now);
        self.unrestored
    }

    /// The history was restored.
    pub fn restored(&mut self) {
        self.unrestored = false;
    }

    /// A leader may act: it has led for at least `interval`, on the previous leader's history.
    pub fn may_act(&self, now: DateTime<Utc>, interval: TimeDelta) -> bool {
        self.since.is_some_and(|since| now - since >= interval) && !self.unrestored
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    fn t(arn: &str, status: &str, started: Option<i64>, trimtab: Option<&str>) -> TaskState {
        let mut health = vec![("app".to_owned(), "HEALTHY".to_owned())];
        health.extend(trimtab.map(|h| ("trimtab".to_owned(), h.to_owned())));
        TaskState {
            arn: arn.into(),
            last_status: status.into(),
            started_at: started.map(at),
            created_at: Some(at(-100)),
            health,
            address: Err("not needed".into()),
        }
    }

    fn lead(tasks: &[TaskState]) -> Option<&str> {
        leader(tasks, "trimtab").map(|t| t.arn.as_str())
    }

    #[test]
    fn the_oldest_running_task_with_a_healthy_agent_leads() {
        let h = Some("HEALTHY");
        // (tasks, leader, what the case shows)
        let cases: Vec<(Vec<TaskState>, Option<&str>, &str)> = vec![
            (
                vec![
                    t("c", "RUNNING", Some(5), h),
                    t("b", "RUNNING", Some(1), h),
                    t("a", "PENDING", None, None),
                ],
                Some("b"),
                "oldest RUNNING",
            ),
            (vec![t("z", "RUNNING", Some(1), h), t("y", "RUNNING", Some(1), h)], Some("y"), "ties by ARN"),
            (
                vec![t("c", "RUNNING", Some(5), h), t("b", "STOPPED", Some(1), h)],
                Some("c"),
                "the leader's task stopped",
            ),
            (
                vec![t("b", "RUNNING", Some(1), Some("UNHEALTHY")), t("c", "RUNNING", Some(5), h)],
                Some("c"),
                "the oldest task's agent hangs: ECS marks it UNHEALTHY",
            ),
            (
                vec![t("b", "RUNNING", Some(1), Some("UNKNOWN")), t("c", "RUNNING", Some(5), h)],
                Some("c"),
                "a health check still in its start period does not lead over a healthy one",
            ),
            (
                vec![
                    t("b", "RUNNING", Some(1), Some("UNKNOWN")),
                    t("c", "RUNNING", Some(5), Some("UNKNOWN")),
                ],
                Some("b"),
                "no health check anywhere: the oldest",
            ),
            (
                vec![
                    t("b", "RUNNING", Some(1), Some("UNHEALTHY")),
                    t("c", "RUNNING", Some(5), Some("UNKNOWN")),
                ],
                Some("c"),
                "none healthy: the oldest not UNHEALTHY",
            ),
            (
                vec![t("b", "RUNNING", Some(1), None), t("c", "RUNNING", Some(5), None)],
                Some("b"),
                "no such container",
            ),
            (
                vec![t("b", "RUNNING", Some(1), Some("UNHEALTHY"))],
                None,
                "the only agent is unhealthy: nobody",
            ),
            (vec![], None, "no tasks"),
        ];
        for (tasks, want, case) in cases {
            assert_eq!(lead(&tasks), want, "{case}");
        }
    }

    #[test]
    fn roles_say_why() {
        let tasks =
            [t("b", "RUNNING", Some(1), Some("UNHEALTHY")), t("c", "RUNNING", Some(5), Some("HEALTHY"))];
        assert_eq!(role("c", "trimtab", &tasks), Role::Leader { task: "c".into() });
        let Role::Follower { leader, why, .. } = role("b", "trimtab", &tasks) else { panic!() };
        assert_eq!(
            (leader.as_deref(), why.as_str()),
            (Some("c"), "this task's trimtab container is UNHEALTHY")
        );
        assert!(!role("x", "trimtab", &[]).acts());
    }

    #[test]
    fn followers_ask_ecs_only_when_due_when_nobody_leads_or_when_the_leader_falls_silent() {
        let mut c = Checks::new(TimeDelta::seconds(60), "arn:task/1");
        let p = c.period();
        assert_eq!(c.ask(at(0), None, Probe::NoLeader), Some(Ask::Due), "first read at once");
        c.read(at(0), Probe::NoLeader, Some("a"), false);
        assert_eq!(c.ask(at(15), Some("a"), Probe::Leads), None);
        assert_eq!(c.ask(at(0) + p * 10, Some("a"), Probe::Leads), None, "the leader answers: never");
        assert_eq!(c.ask(at(15), Some("a"), Probe::CannotAsk), None);
        assert_eq!(c.ask(at(0) + p, Some("a"), Probe::CannotAsk), Some(Ask::Due), "cannot ask: the period");
        assert_eq!(c.ask(at(15), None, Probe::NoLeader), Some(Ask::Due), "nobody leads: at once");
        // The leader falls silent: read at once; ECS still elects it: confirmed, once.
        assert_eq!(c.ask(at(15), Some("a"), Probe::Silent), Some(Ask::LeaderSilent));
        assert!(c.read(at(15), Probe::Silent, Some("a"), false), "newly confirmed silent");
        assert_eq!(c.ask(at(30), Some("a"), Probe::Silent), None, "not next in line: the period");
        assert_eq!(c.ask(at(15) + p, Some("a"), Probe::Silent), Some(Ask::Due));
        assert!(
            !c.read(at(15) + p, Probe::Silent, Some("a"), false),
            "still the same silence: no second warning"
        );
        // The next in line keeps reading every tick, so it takes over as soon as ECS allows.
        c.read(at(100), Probe::Silent, Some("a"), true);
        assert_eq!(c.ask(at(115), Some("a"), Probe::Silent), Some(Ask::LeaderSilent));
        // A new leader that falls silent is read about at once again.
        c.read(at(200), Probe::Leads, Some("b"), false);
        assert_eq!(c.ask(at(215), Some("b"), Probe::Silent), Some(Ask::LeaderSilent));
        // The jitter spreads followers over [45 s, 75 s) and is the same for the same task.
        let periods: Vec<i64> = (0..50)
            .map(|i| {
                Checks::new(TimeDelta::seconds(60), &format!("arn:task/{i}")).period().num_milliseconds()
            })
            .collect();
        assert!(periods.iter().all(|p| (45_000..75_000).contains(p)), "{periods:?}");
        let distinct: std::collections::BTreeSet<_> = periods.iter().collect();
        assert!(distinct.len() > 25, "spread, not one value: {distinct:?}");
        assert_eq!(
            Checks::new(TimeDelta::seconds(60), "arn:task/1"),
            Checks::new(TimeDelta::seconds(60), "arn:task/1")
        );
    }

    #[test]
    fn the_next_in_line_is_who_leads_without_the_leader() {
        let h = Some("HEALTHY");
        let tasks = [
            t("a", "RUNNING", Some(1), h),
            t("b", "RUNNING", Some(2), Some("UNHEALTHY")),
            t("c", "RUNNING", Some(3), h),
        ];
        assert_eq!(successor(&tasks, "trimtab", "a").map(|t| t.arn.as_str()), Some("c"));
    }

    #[test]
    fn a_new_or_lapsed_lead_waits_an_interval_on_the_previous_leaders_history() {
        let (interval, lapse) = (TimeDelta::seconds(15), TimeDelta::seconds(105));
        // (what happens, restore needed, may act at that tick, may act an interval later)
        let mut l = Lead::default();
        assert!(!l.elected(at(0), true, lapse), "leading from the start: run restored already");
        assert!(!l.may_act(at(0), interval));
        assert!(!l.elected(at(15), true, lapse));
        assert!(l.may_act(at(15), interval), "an interval later");
        // A tick overran (the next one 30 s later): still the same lead.
        assert!(!l.elected(at(45), true, lapse));
        assert!(l.may_act(at(45), interval));
        // It hung for longer than its /healthz allows: the lead starts again, restored first.
        assert!(l.elected(at(200), true, lapse), "lapsed: restore");
        assert!(!l.may_act(at(215), interval), "not restored yet (the restore was cut)");
        assert!(l.elected(at(215), true, lapse), "still to restore: asked again");
        l.restored();
        assert!(l.may_act(at(215), interval));
        // Followers that take over restore and wait too.
        let mut f = Lead::default();
        assert!(!f.elected(at(0), false, lapse));
        assert!(f.elected(at(15), true, lapse), "took over: restore");
        f.restored();
        assert!(!f.may_act(at(15), interval) && !f.may_act(at(29), interval) && f.may_act(at(30), interval));
        assert!(!f.elected(at(45), false, lapse));
        assert!(!f.may_act(at(45), interval), "stepped down");
    }
}
