//! Which agent acts: the role the sidecar election gave this one (see `agent::leader`).

use serde::Serialize;

/// This agent's part: the only one, the leader that acts, or a follower that only watches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    /// Not in an ECS task (or `--local`): the only agent, so it acts.
    Sole,
    Leader {
        task: String,
    },
    /// Observes and serves its API, but does not act.
    Follower {
        task: Option<String>,
        leader: Option<String>,
        why: String,
    },
}

impl Role {
    pub fn acts(&self) -> bool {
        matches!(self, Role::Sole | Role::Leader { .. })
    }

    /// This agent's own task, when it knows it.
    pub fn task(&self) -> Option<&str> {
        match self {
            Role::Sole => None,
            Role::Leader { task } => Some(task),
            Role::Follower { task, .. } => task.as_deref(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Role::Sole => "sole",
            Role::Leader { .. } => "leader",
            Role::Follower { .. } => "follower",
        }
    }
}
