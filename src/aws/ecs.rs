//! ECS: the service's state, its desired count, and its tasks (for leader election).

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::DesiredStatus;
use chrono::{DateTime, Utc};

use super::{AwsError, ErrorKind, classify, to_chrono};

/// What `DescribeServices` says about the service, reduced to what scaling needs.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceState {
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    pub deployments: Vec<Deployment>,
    /// Newest first, as ECS returns them.
    pub events: Vec<(DateTime<Utc>, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    pub id: String,
    /// `PRIMARY`, `ACTIVE`, `INACTIVE`.
    pub status: String,
    /// `IN_PROGRESS`, `COMPLETED`, `FAILED` (set when the circuit breaker is on).
    pub rollout_state: Option<String>,
    pub desired: u32,
    pub running: u32,
    pub updated_at: Option<DateTime<Utc>>,
}

impl ServiceState {
    /// A rollout is under way: more than one live deployment, or the primary one still in
    /// progress. Application Auto Scaling suspends scale-in in the same situation.
    pub fn deployment_in_progress(&self) -> bool {
        let live = self.deployments.iter().filter(|d| d.status != "INACTIVE").count();
        live > 1
            || self
                .deployments
                .iter()
                .any(|d| d.status == "PRIMARY" && d.rollout_state.as_deref() == Some("IN_PROGRESS"))
    }
}

/// One task of the service, for leader election.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskState {
    pub arn: String,
    pub last_status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub struct Ecs {
    client: Client,
    cluster: String,
    service: String,
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

impl Ecs {
    pub fn new(config: &aws_config::SdkConfig, cluster: &str, service: &str) -> Self {
        Ecs { client: Client::new(config), cluster: cluster.to_owned(), service: service.to_owned() }
    }

    pub async fn describe_service(&self) -> Result<ServiceState, AwsError> {
        const OP: &str = "ecs:DescribeServices";
        let out = self
            .client
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.service)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        let wanted = Some(self.service.as_str());
        let Some(s) = out.services().iter().find(|s| s.service_name() == wanted || s.service_arn() == wanted)
        else {
            let why = out.failures().first().and_then(|f| f.reason()).unwrap_or("not returned");
            return Err(AwsError {
                operation: OP,
                kind: ErrorKind::Client,
                message: format!("service {} in cluster {}: {why}", self.service, self.cluster),
            });
        };
        let deployments = s
            .deployments()
            .iter()
            .map(|d| Deployment {
                id: d.id().unwrap_or_default().to_owned(),
                status: d.status().unwrap_or_default().to_owned(),
                rollout_state: d.rollout_state().map(|r| r.as_str().to_owned()),
                desired: count(d.desired_count()),
                running: count(d.running_count()),
                updated_at: d.updated_at().and_then(to_chrono),
            })
            .collect();
        let events = s
            .events()
            .iter()
            .filter_map(|e| Some((e.created_at().and_then(to_chrono)?, e.message()?.to_owned())))
            .collect();
        Ok(ServiceState {
            desired: count(s.desired_count()),
            running: count(s.running_count()),
            pending: count(s.pending_count()),
            deployments,
            events,
        })
    }

    pub async fn update_desired(&self, desired: u32) -> Result<(), AwsError> {
        let n = i32::try_from(desired).map_err(|_| AwsError {
            operation: "ecs:UpdateService",
            kind: ErrorKind::Client,
            message: format!("desired count {desired} is larger than ECS accepts"),
        })?;
        self.client
            .update_service()
            .cluster(&self.cluster)
            .service(&self.service)
            .desired_count(n)
            .send()
            .await
            .map_err(|e| classify("ecs:UpdateService", e))?;
        Ok(())
    }

    /// The service's tasks that ECS wants running, with their status and start times.
    pub async fn tasks(&self) -> Result<Vec<TaskState>, AwsError> {
        let mut arns = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_tasks()
                .cluster(&self.cluster)
                .service_name(&self.service)
                .desired_status(DesiredStatus::Running)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("ecs:ListTasks", e))?;
            arns.extend(out.task_arns().iter().cloned());
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        let mut tasks = Vec::with_capacity(arns.len());
        // DescribeTasks takes at most 100 tasks per call.
        for chunk in arns.chunks(100) {
            let out = self
                .client
                .describe_tasks()
                .cluster(&self.cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify("ecs:DescribeTasks", e))?;
            tasks.extend(out.tasks().iter().map(|t| TaskState {
                arn: t.task_arn().unwrap_or_default().to_owned(),
                last_status: t.last_status().unwrap_or_default().to_owned(),
                started_at: t.started_at().and_then(to_chrono),
                created_at: t.created_at().and_then(to_chrono),
            }));
        }
        Ok(tasks)
    }
}
