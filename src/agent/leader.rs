//! Sidecar coordination: every task of the service may run the agent; exactly one acts. The
//! leader is the agent whose task is the oldest RUNNING task of the service (ties by ARN).
//! Nothing is stored anywhere: every agent computes the same answer from `ListTasks` +
//! `DescribeTasks` each tick, so when the leader's task stops, the next-oldest task's agent
//! acts on its very next tick.

use crate::aws::TaskState;
use crate::status::Role;

/// The ARN of the oldest RUNNING task: earliest `startedAt` (or `createdAt` when ECS has not
/// reported a start), ties and unknown times broken by ARN.
pub fn leader(tasks: &[TaskState]) -> Option<&str> {
    tasks
        .iter()
        .filter(|t| t.last_status == "RUNNING")
        .min_by(|a, b| {
            let key =
                |t: &TaskState| (t.started_at.or(t.created_at).is_none(), t.started_at.or(t.created_at));
            key(a).cmp(&key(b)).then_with(|| a.arn.cmp(&b.arn))
        })
        .map(|t| t.arn.as_str())
}

/// This agent's role, given its own task ARN and the service's tasks.
pub fn role(own: &str, tasks: &[TaskState]) -> Role {
    match leader(tasks) {
        Some(l) if l == own => Role::Leader { task: own.to_owned() },
        Some(l) => Role::Follower {
            task: Some(own.to_owned()),
            leader: Some(l.to_owned()),
            why: "another task is older".into(),
        },
        None => Role::Follower {
            task: Some(own.to_owned()),
            leader: None,
            why: "no RUNNING task of the service was listed".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};

    fn t(arn: &str, status: &str, started: Option<i64>) -> TaskState {
        let at = |s: i64| -> DateTime<Utc> { Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap() };
        TaskState {
            arn: arn.into(),
            last_status: status.into(),
            started_at: started.map(at),
            created_at: Some(at(-100)),
        }
    }

    #[test]
    fn the_oldest_running_task_leads_and_ties_go_by_arn() {
        let tasks =
            [t("arn:c", "RUNNING", Some(5)), t("arn:b", "RUNNING", Some(1)), t("arn:a", "PENDING", None)];
        assert_eq!(leader(&tasks), Some("arn:b"));
        assert!(role("arn:b", &tasks).acts());
        assert!(!role("arn:c", &tasks).acts());
        let tie = [t("arn:z", "RUNNING", Some(1)), t("arn:y", "RUNNING", Some(1))];
        assert_eq!(leader(&tie), Some("arn:y"));
        // The leader's task stops: the next oldest takes over.
        let after = [t("arn:c", "RUNNING", Some(5)), t("arn:b", "STOPPED", Some(1))];
        assert_eq!(role("arn:c", &after), Role::Leader { task: "arn:c".into() });
        assert!(!role("arn:x", &[]).acts());
    }
}
