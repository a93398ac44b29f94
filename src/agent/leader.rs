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
//! task's signals are gathered from their addresses). A follower makes no AWS call on a tick:
//! it asks the leader's agent `/healthz` over the task network (free), and reads the tasks from
//! ECS only when the leader does not answer, answers that it does not lead, or when its own
//! check period (`agent.leader_check`, jittered per task so followers do not ask together) has
//! passed. See [`Checks`].
//!
//! **Handover.** A newly elected leader acts only after it has led at every tick for at least
//! one interval (`plan::Context::settling`), as a controller does on a newly owned service
//! (the proof is in `fleet/membership.rs`): the previous leader's last change has landed before
//! the new one reads the service, so no decision is applied twice. On taking the lead it
//! rebuilds cooldowns and spend from CloudWatch and the service's events, as at start.

use chrono::{DateTime, TimeDelta, Utc};

use crate::aws::TaskState;
use crate::status::Role;

/// The ECS health status of `container` in `t`, `None` when the task has no such container.
fn health<'a>(t: &'a TaskState, container: &str) -> Option<&'a str> {
    t.health.iter().find(|(name, _)| name == container).map(|(_, h)| h.as_str())
}

/// The leading task: the oldest RUNNING one whose trimtab container (`container`, when known)
/// is HEALTHY, else — no task reports it HEALTHY — the oldest RUNNING one not UNHEALTHY.
pub fn leader<'a>(tasks: &'a [TaskState], container: Option<&str>) -> Option<&'a TaskState> {
    let status = |t: &TaskState| container.and_then(|c| health(t, c).map(str::to_owned));
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
pub fn role(own: &str, container: Option<&str>, tasks: &[TaskState]) -> Role {
    match leader(tasks, container) {
        Some(l) if l.arn == own => Role::Leader { task: own.to_owned() },
        Some(l) => {
            let why = match tasks
                .iter()
                .find(|t| t.arn == own)
                .and_then(|t| container.and_then(|c| health(t, c)))
            {
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

/// When a follower reads the service's tasks from ECS.
#[derive(Clone, Debug, PartialEq)]
pub struct Checks {
    /// `agent.leader_check`, already jittered for this task.
    period: TimeDelta,
    /// The next read due without a reason; `None`: at once.
    next: Option<DateTime<Utc>>,
}

/// Why a follower reads the tasks this tick, or `None` when it need not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// Not read yet, or the period passed.
    Due,
    /// The leader's agent did not answer, or answered that it does not lead.
    LeaderSilent,
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
        Checks { period: TimeDelta::milliseconds(ms as i64), next: None }
    }

    pub fn period(&self) -> TimeDelta {
        self.period
    }

    /// Whether a follower reads the tasks at `now`, given what the leader's agent answered:
    /// `Some(true)` alive and leading (nothing to learn from ECS), `Some(false)` silent or not
    /// leading, `None` it could not be asked (the period applies).
    pub fn ask(&self, now: DateTime<Utc>, leader: Option<bool>) -> Option<Ask> {
        match leader {
            Some(false) => Some(Ask::LeaderSilent),
            Some(true) if self.next.is_some() => None,
            _ if self.next.is_none_or(|next| now >= next) => Some(Ask::Due),
            _ => None,
        }
    }

    /// The tasks were read at `now`.
    pub fn read(&mut self, now: DateTime<Utc>) {
        self.next = Some(now + self.period);
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
        leader(tasks, Some("trimtab")).map(|t| t.arn.as_str())
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
        assert_eq!(role("c", Some("trimtab"), &tasks), Role::Leader { task: "c".into() });
        let Role::Follower { leader, why, .. } = role("b", Some("trimtab"), &tasks) else { panic!() };
        assert_eq!(
            (leader.as_deref(), why.as_str()),
            (Some("c"), "this task's trimtab container is UNHEALTHY")
        );
        assert!(!role("x", Some("trimtab"), &[]).acts());
        // Without its own container's name an agent still elects by age.
        assert!(role("b", None, &tasks).acts());
    }

    #[test]
    fn followers_ask_ecs_only_when_due_or_when_the_leader_is_silent() {
        let mut c = Checks::new(TimeDelta::seconds(60), "arn:task/1");
        assert_eq!(c.ask(at(0), None), Some(Ask::Due), "first read at once");
        c.read(at(0));
        assert_eq!(c.ask(at(15), None), None);
        assert_eq!(c.ask(at(15), Some(false)), Some(Ask::LeaderSilent));
        assert_eq!(c.ask(at(0) + c.period(), None), Some(Ask::Due), "cannot ask the leader: the period");
        assert_eq!(c.ask(at(0) + c.period() * 10, Some(true)), None, "the leader answers: never");
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
}
