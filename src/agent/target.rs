//! What the agent scales: a real ECS service, or (with `--local`) a pretend service on this
//! machine that starts at `min` and takes every decision, so a newcomer sees cooldowns and
//! stabilization at work without an AWS account.

use crate::aws::{AwsError, Ecs, ServiceState};

pub enum Target {
    Ecs(Ecs),
    Local { desired: u32 },
}

impl Target {
    pub async fn describe(&self) -> Result<ServiceState, AwsError> {
        match self {
            Target::Ecs(e) => e.describe_service().await,
            Target::Local { desired } => Ok(ServiceState {
                task_definition: None,
                status: "ACTIVE".into(),
                launch_type: None,
                capacity: vec![],
                desired: *desired,
                running: *desired,
                pending: 0,
                deployments: vec![],
                events: vec![],
                tags: Default::default(),
            }),
        }
    }

    pub async fn set_desired(&mut self, n: u32) -> Result<(), AwsError> {
        match self {
            Target::Ecs(e) => e.update_desired(n).await,
            Target::Local { desired } => {
                *desired = n;
                Ok(())
            }
        }
    }

    pub fn ecs(&self) -> Option<&Ecs> {
        match self {
            Target::Ecs(e) => Some(e),
            Target::Local { .. } => None,
        }
    }
}
