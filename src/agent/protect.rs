//! Task scale-in protection from the agent's side (see [`crate::sources::protection`]): this
//! task's own, every tick, and the leader's look at every task's before a scale-in.

use chrono::{DateTime, Utc};
use tracing::warn;

use super::deadline::Deadline;
use super::{Agent, count_error};
use crate::aws::AwsError;
use crate::core;

impl Agent {
    /// Sets, renews or clears this task's scale-in protection (see [`sources::protection`]);
    /// every agent, leader or not: it is this task's own ECS agent endpoint, not an AWS call.
    pub(super) async fn protect(&mut self, now: DateTime<Utc>, dl: &Deadline) {
        let Some(p) = &mut self.protector else { return };
        if let Err(cut) = dl.read("ecs agent task-protection", p.tick(now)).await {
            p.cut(cut.to_string());
        }
        self.snap.protection = Some(p.view().clone());
    }

    /// Before a scale-in: why it waits, when every running task of the service has scale-in
    /// protection (`ecs:GetTaskProtection`, of the tasks the leader read this tick, else of
    /// `ecs:ListTasks`). A failed or cut read does not hold the scale-in (ECS itself still stops
    /// no protected task); it is logged and counted.
    pub(super) async fn tasks_protected(&mut self, now: DateTime<Utc>, dl: &Deadline) -> Option<String> {
        let ecs = self.target.ecs()?;
        let known: Vec<String> =
            self.tasks.iter().filter(|t| t.last_status == "RUNNING").map(|t| t.arn.clone()).collect();
        let read = async {
            let arns = if known.is_empty() { ecs.task_arns().await? } else { known };
            Ok::<_, AwsError>((ecs.task_protection(&arns).await?, arns))
        };
        match dl.read("ecs:GetTaskProtection", read).await {
            Ok(Ok((reported, arns))) => core::protection::all_protected(&arns, &reported, now),
            Ok(Err(e)) => {
                super::log_aws(&e, "cannot tell which tasks are protected; scaling in anyway");
                count_error(&mut self.snap.counters, &e);
                None
            }
            Err(cut) => {
                warn!(call = %cut, "cannot tell which tasks are protected in time; scaling in anyway");
                None
            }
        }
    }
}
