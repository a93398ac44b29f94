//! Sidecars: who acts this tick, as [`leader`] decides it, and the reads that takes: this
//! task's identity once, the leader's `/healthz` (followers), the service's tasks (the leader
//! every tick, followers when [`leader::Checks`] says so), and the previous leader's history
//! when this agent takes the lead ([`leader::Lead`]).

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use super::deadline::{Cut, Deadline};
use super::{Agent, count_error, leader};
use crate::aws::TaskState;
use crate::sources;
use crate::status::Role;

impl Agent {
    /// Who acts this tick (see [`leader`]). `Ok(Some(why))`: the leader could not read the
    /// tasks; it keeps the lead but decides nothing this tick. A cut stops the tick.
    pub(super) async fn elect(&mut self, now: DateTime<Utc>, dl: &Deadline) -> Result<Option<String>, Cut> {
        let (Some(uri), Some(ecs)) = (self.metadata_uri.clone(), self.target.ecs().cloned()) else {
            self.role = Role::Sole;
            return Ok(None);
        };
        if let Err(why) = self.identify(&uri, dl).await? {
            self.set_role(Role::Follower { task: self.own_task.clone(), leader: None, why });
            return Ok(None);
        }
        let (own, container) =
            (self.own_task.clone().unwrap_or_default(), self.own_container.clone().unwrap_or_default());
        let probe = match self.role.acts() {
            true => None,
            false => Some(self.probe_leader(dl).await?),
        };
        if let Some(p) = probe {
            let period = self.cfg.agent.leader_check;
            let known = self.role_leader().map(str::to_owned);
            let checks = self.checks.get_or_insert_with(|| leader::Checks::new(period, &own));
            if checks.ask(now, known.as_deref(), p).is_none() {
                return Ok(None);
            }
        }
        let read = match dl.read("ecs:ListTasks", ecs.task_arns()).await? {
            Ok(arns) => dl.read("ecs:DescribeTasks", ecs.describe_tasks(&arns)).await?,
            Err(e) => Err(e),
        };
        let mut tasks = match read {
            Ok(tasks) => tasks,
            Err(e) => {
                count_error(&mut self.snap.counters, &e);
                let why = format!("cannot list the service's tasks: {e}");
                if self.role.acts() {
                    return Ok(Some(why));
                }
                // No leader known: the next tick reads again.
                self.set_role(Role::Follower { task: Some(own), leader: None, why });
                return Ok(None);
            }
        };
        let mut seen = std::collections::HashSet::new();
        tasks.retain(|t| seen.insert(t.arn.clone()));
        let role = leader::role(&own, &container, &tasks);
        if let (Some(c), Some(p)) = (&mut self.checks, probe) {
            let lead = match &role {
                Role::Follower { leader, .. } => leader.as_deref(),
                _ => None,
            };
            let next =
                lead.and_then(|l| leader::successor(&tasks, &container, l)).is_some_and(|t| t.arn == own);
            if c.read(now, p, lead, next) {
                warn!(
                    leader = lead.unwrap_or_default(),
                    "the leader's agent does not answer though ECS reports it healthy; reading ECS every \
                     agent.leader_check meanwhile (the next in line: every tick). If the API port is closed \
                     between the service's tasks, open it (Terraform: peer_api_port)"
                );
            }
        }
        self.scrape_targets(&tasks);
        self.tasks = tasks;
        let restore =
            self.lead.elected(now, role.acts(), crate::status::stalled_after(self.cfg.agent.interval));
        self.set_role(role);
        if restore {
            dl.read("restoring the previous leader's history", self.restore(now)).await?;
            self.lead.restored();
        }
        Ok(None)
    }

    /// This task's ARN and trimtab container name, from the task metadata endpoint, read until
    /// known. `Ok(Err(why))`: not known yet, so this agent follows (it cannot tell whether ECS
    /// reports its own agent healthy).
    async fn identify(&mut self, uri: &str, dl: &Deadline) -> Result<Result<(), String>, Cut> {
        if self.own_task.is_none() {
            match dl.read("task metadata (own task)", sources::task::own_task_arn(&self.http, uri)).await? {
                Ok(arn) => self.own_task = Some(arn),
                Err(e) => return Ok(Err(format!("own task unknown: {e}"))),
            }
        }
        if self.own_container.is_none() {
            let read = sources::task::own_container_name(&self.http, uri);
            match dl.read("container metadata (own name)", read).await? {
                Ok(name) => self.own_container = Some(name),
                Err(e) => return Ok(Err(format!("own container name unknown (the lead needs it): {e}"))),
            }
        }
        Ok(Ok(()))
    }

    /// A follower asks the leader's agent whether it is alive and leads (see [`leader::Probe`]).
    async fn probe_leader(&self, dl: &Deadline) -> Result<leader::Probe, Cut> {
        let Some(arn) = self.role_leader() else { return Ok(leader::Probe::NoLeader) };
        let address = self.tasks.iter().find(|t| t.arn == arn).and_then(|t| t.address.clone().ok());
        let (Some(port), Some(ip)) = (self.probe_port, address) else { return Ok(leader::Probe::CannotAsk) };
        let answer = dl.read("the leader's /healthz", sources::peer::probe(&self.http, ip, port)).await?;
        Ok(match answer {
            Ok(h) if h.role == "leader" && h.task.as_deref() == Some(arn) => leader::Probe::Leads,
            Ok(h) => {
                debug!(leader = %arn, answered = ?h, "the leader's agent no longer leads");
                leader::Probe::Silent
            }
            Err(e) => {
                debug!(leader = %arn, error = %e, "the leader's agent does not answer");
                leader::Probe::Silent
            }
        })
    }

    /// The leader this follower knows of.
    fn role_leader(&self) -> Option<&str> {
        match &self.role {
            Role::Follower { leader, .. } => leader.as_deref(),
            _ => None,
        }
    }

    /// The app's endpoints the `port` Prometheus metrics scrape: every RUNNING task with an
    /// address of its own (awsvpc); the others count as not heard from, with why.
    fn scrape_targets(&mut self, tasks: &[TaskState]) {
        let (mut targets, mut unreachable) = (Vec::new(), Vec::new());
        for t in tasks.iter().filter(|t| t.last_status == "RUNNING") {
            match &t.address {
                Ok(ip) => targets.push(sources::TaskTarget { task: t.arn.clone(), ip: *ip }),
                Err(why) => unreachable.push((t.arn.clone(), why.clone())),
            }
        }
        self.sources.set_tasks(targets);
        self.sources.set_unreachable(unreachable);
    }

    /// A leader that may not act yet (see [`leader::Lead`]); a lone agent always may.
    pub(super) fn settling(&self, now: DateTime<Utc>) -> bool {
        matches!(self.role, Role::Leader { .. }) && !self.lead.may_act(now, self.cfg.agent.interval)
    }

    pub(super) fn set_role(&mut self, role: Role) {
        if role.name() != self.role.name() {
            info!(role = role.name(), detail = ?role, "role changed");
        }
        self.role = role;
    }
}
