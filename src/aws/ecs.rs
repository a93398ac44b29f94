//! ECS: the service's state, its desired count, and its tasks (for leader election); for the
//! fleet controller, [`EcsFleet`]: many services of many clusters, their tags, and the
//! controller's own members.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    DesiredStatus, Failure, Service, ServiceField, Tag, Task, TaskDefinition, TaskDefinitionField,
};
use chrono::{DateTime, Utc};

use super::{Api, AwsError, ErrorKind, Pages, to_chrono};
use crate::core::protection::TaskProtection;

/// What `DescribeServices` says about the service, reduced to what scaling needs.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceState {
    /// The task definition ARN the service runs (its primary deployment's).
    pub task_definition: Option<String>,
    /// `ACTIVE`, `DRAINING` or `INACTIVE` (deleted; ECS still describes it for a while).
    pub status: String,
    /// `FARGATE`, `EC2`, `EXTERNAL`; `None` when a capacity provider strategy places the tasks.
    pub launch_type: Option<String>,
    /// The capacity provider strategy, `(provider, weight)` (`FARGATE`, `FARGATE_SPOT`, or an
    /// Auto Scaling group's provider).
    pub capacity: Vec<(String, i32)>,
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    pub deployments: Vec<Deployment>,
    /// Newest first, as ECS returns them.
    pub events: Vec<(DateTime<Utc>, String)>,
    /// The service's tags (`include = TAGS`), by key: operator intent (`trimtab:paused`,
    /// `trimtab:override`) and, for a controller, the policy and bounds.
    pub tags: std::collections::BTreeMap<String, String>,
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

/// One task of the service, for leader election and for reaching it on the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskState {
    pub arn: String,
    pub last_status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    /// Each container's ECS health status (`HEALTHY`, `UNHEALTHY`, `UNKNOWN`), by name.
    pub health: Vec<(String, String)>,
    /// Where the task can be reached: its private IPv4 address, or why it has none.
    pub address: Result<std::net::IpAddr, String>,
}

/// One service as a controller sees it: `DescribeServices` with its tags.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceInfo {
    pub arn: String,
    /// The cluster as it was asked for (name or ARN).
    pub cluster: String,
    pub name: String,
    /// Its state, tags included.
    pub state: ServiceState,
}

/// One task of the controller's own service, for membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberTask {
    pub arn: String,
    pub last_status: String,
    /// The ECS health status of the member container (`HEALTHY`, `UNHEALTHY`, `UNKNOWN`);
    /// `None` when the task has no such container.
    pub health: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub struct Ecs {
    client: Api<Client>,
    cluster: String,
    service: String,
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

impl Ecs {
    pub fn new(config: &aws_config::SdkConfig, cluster: &str, service: &str) -> Self {
        Ecs {
            client: Api::new(config, "ecs", Client::new),
            cluster: cluster.to_owned(),
            service: service.to_owned(),
        }
    }

    /// The service's state (`DescribeServices` of this one service, with its tags).
    pub async fn describe_service(&self) -> Result<ServiceState, AwsError> {
        const OP: &str = "ecs:DescribeServices";
        let out = self
            .client
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.service)
            .include(ServiceField::Tags)
            .send()
            .await
            .map_err(|e| self.client.error(OP, e))?;
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
        Ok(service_state(s))
    }

    /// Sets the service's desired count (`UpdateService`).
    pub async fn update_desired(&self, desired: u32) -> Result<(), AwsError> {
        update_desired(&self.client, &self.cluster, &self.service, desired).await
    }

    /// The ARNs of the service's tasks that ECS wants running (`ListTasks`, every page).
    pub async fn task_arns(&self) -> Result<Vec<String>, AwsError> {
        running_task_arns(&self.client, &self.cluster, &self.service).await
    }

    /// The scale-in protection of `arns` (`GetTaskProtection`, [`GET_TASK_PROTECTION_MAX`] a
    /// call). Tasks ECS reports as failures are left out (the caller counts them unprotected).
    pub async fn task_protection(&self, arns: &[String]) -> Result<Vec<TaskProtection>, AwsError> {
        let mut out = Vec::with_capacity(arns.len());
        for chunk in arns.chunks(GET_TASK_PROTECTION_MAX) {
            let answer = self
                .client
                .get_task_protection()
                .cluster(&self.cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| self.client.error("ecs:GetTaskProtection", e))?;
            out.extend(answer.protected_tasks().iter().map(|t| TaskProtection {
                task: t.task_arn().unwrap_or_default().to_owned(),
                enabled: t.protection_enabled(),
                expires_at: t.expiration_date().and_then(to_chrono),
            }));
        }
        Ok(out)
    }

    /// The status and start times of `arns` (`DescribeTasks`, 100 at a time).
    pub async fn describe_tasks(&self, arns: &[String]) -> Result<Vec<TaskState>, AwsError> {
        let tasks = describe_tasks(&self.client, &self.cluster, arns).await?;
        Ok(tasks.iter().map(task_state).collect())
    }
}

/// `DescribeServices` takes at most this many services per call.
pub const DESCRIBE_SERVICES_MAX: usize = 10;
/// `GetTaskProtection` takes at most this many tasks per call (its API reference: "up to 100").
pub const GET_TASK_PROTECTION_MAX: usize = 100;
/// `DescribeTasks` takes at most this many tasks per call.
const DESCRIBE_TASKS_MAX: usize = 100;
/// The most ARNs `ListServices` and `ListTasks` hand back a page (their `maxResults` cap).
const LIST_PAGE: i32 = 100;

/// What scaling reads of one service of a `DescribeServices` answer.
fn service_state(s: &Service) -> ServiceState {
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
    ServiceState {
        task_definition: s.task_definition().map(str::to_owned),
        status: s.status().unwrap_or_default().to_owned(),
        launch_type: s.launch_type().map(|l| l.as_str().to_owned()),
        capacity: s
            .capacity_provider_strategy()
            .iter()
            .map(|c| (c.capacity_provider().to_owned(), c.weight()))
            .collect(),
        desired: count(s.desired_count()),
        running: count(s.running_count()),
        pending: count(s.pending_count()),
        deployments,
        events,
        tags: s.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned()))).collect(),
    }
}

async fn update_desired(
    client: &Api<Client>,
    cluster: &str,
    service: &str,
    desired: u32,
) -> Result<(), AwsError> {
    const OP: &str = "ecs:UpdateService";
    let n = i32::try_from(desired).map_err(|_| AwsError {
        operation: OP,
        kind: ErrorKind::Client,
        message: format!("desired count {desired} is larger than ECS accepts"),
    })?;
    client
        .update_service()
        .cluster(cluster)
        .service(service)
        .desired_count(n)
        .send()
        .await
        .map_err(|e| client.error(OP, e))?;
    Ok(())
}

/// The ARNs of `service`'s tasks that ECS wants running (`ListTasks`, every page).
async fn running_task_arns(
    client: &Api<Client>,
    cluster: &str,
    service: &str,
) -> Result<Vec<String>, AwsError> {
    const OP: &str = "ecs:ListTasks";
    let mut arns = Vec::new();
    let mut pages = Pages::new(OP);
    let mut token = None;
    loop {
        let out = client
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(DesiredStatus::Running)
            .max_results(LIST_PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| client.error(OP, e))?;
        arns.extend(out.task_arns().iter().cloned());
        token = pages.next(out.next_token())?;
        if token.is_none() {
            return Ok(arns);
        }
    }
}

/// The tasks `arns` of `cluster` (`DescribeTasks`, [`DESCRIBE_TASKS_MAX`] a call). Tasks ECS
/// no longer knows are left out (its `failures`).
async fn describe_tasks(client: &Api<Client>, cluster: &str, arns: &[String]) -> Result<Vec<Task>, AwsError> {
    let mut tasks = Vec::with_capacity(arns.len());
    for chunk in arns.chunks(DESCRIBE_TASKS_MAX) {
        let out = client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| client.error("ecs:DescribeTasks", e))?;
        tasks.extend(out.tasks().iter().cloned());
    }
    Ok(tasks)
}

/// ECS for a controller of many services in many clusters: every call names its cluster and
/// service. The batching limits are ECS's own, and a batch over them is refused before any call.
#[derive(Clone, Debug)]
pub struct EcsFleet {
    client: Api<Client>,
}

impl EcsFleet {
    /// A client on `config` (region, credentials, endpoint, retries and timeouts).
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        EcsFleet { client: Api::new(config, "ecs", Client::new) }
    }

    /// Up to [`DESCRIBE_SERVICES_MAX`] services of `cluster` (names or ARNs) with their tags, in
    /// one `DescribeServices` call; with them, the ones ECS could not return, as `(ARN or name,
    /// reason)` from its `failures` (`MISSING` for a service that does not exist). More than 10
    /// names is a [`ErrorKind::Client`] error and no call; no names is no call and no services.
    pub async fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
    ) -> Result<(Vec<ServiceInfo>, Vec<(String, String)>), AwsError> {
        const OP: &str = "ecs:DescribeServices";
        if names.len() > DESCRIBE_SERVICES_MAX {
            let message = format!(
                "{} services of cluster {cluster} in one call; ECS takes at most {DESCRIBE_SERVICES_MAX}",
                names.len()
            );
            return Err(AwsError { operation: OP, kind: ErrorKind::Client, message });
        }
        if names.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let out = self
            .client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(names.to_vec()))
            .include(ServiceField::Tags)
            .send()
            .await
            .map_err(|e| self.client.error(OP, e))?;
        let services = out.services().iter().map(|s| service_info(cluster, s)).collect();
        let failures = out.failures().iter().map(failure).collect();
        Ok((services, failures))
    }

    /// Sets `service`'s desired count (`UpdateService`).
    pub async fn update_desired(&self, cluster: &str, service: &str, desired: u32) -> Result<(), AwsError> {
        update_desired(&self.client, cluster, service, desired).await
    }

    /// The ARN of every service of `cluster` (`ListServices`, 100 a page, every page up to
    /// [`super::MAX_PAGES`]).
    pub async fn list_services(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        const OP: &str = "ecs:ListServices";
        let mut arns = Vec::new();
        let mut pages = Pages::new(OP);
        let mut token = None;
        loop {
            let out = self
                .client
                .list_services()
                .cluster(cluster)
                .max_results(LIST_PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.client.error(OP, e))?;
            arns.extend(out.service_arns().iter().cloned());
            token = pages.next(out.next_token())?;
            if token.is_none() {
                return Ok(arns);
            }
        }
    }

    /// The tasks of `service` that ECS wants running (`ListTasks`, every page, then
    /// `DescribeTasks`, 100 a call), each with the health status of its container named
    /// `container`.
    pub async fn members(
        &self,
        cluster: &str,
        service: &str,
        container: &str,
    ) -> Result<Vec<MemberTask>, AwsError> {
        let arns = running_task_arns(&self.client, cluster, service).await?;
        let tasks = describe_tasks(&self.client, cluster, &arns).await?;
        Ok(tasks.iter().map(|t| member(t, container)).collect())
    }

    /// Sets `tags` on the resource `arn` (`TagResource`); other tags are left as they are. No
    /// tags is no call.
    pub async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        if tags.is_empty() {
            return Ok(());
        }
        let tags = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| self.client.error("ecs:TagResource", e))?;
        Ok(())
    }

    /// Removes the tags `keys` from the resource `arn` (`UntagResource`); a key it does not
    /// carry is no error. No keys is no call.
    pub async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| self.client.error("ecs:UntagResource", e))?;
        Ok(())
    }
}

fn service_info(cluster: &str, s: &Service) -> ServiceInfo {
    ServiceInfo {
        arn: s.service_arn().unwrap_or_default().to_owned(),
        cluster: cluster.to_owned(),
        name: s.service_name().unwrap_or_default().to_owned(),
        state: service_state(s),
    }
}

/// `(ARN or name, reason)`, with ECS's detail after the reason when it gives one.
fn failure(f: &Failure) -> (String, String) {
    let reason = f.reason().unwrap_or("no reason given");
    let why = match f.detail().filter(|d| !d.is_empty()) {
        Some(detail) => format!("{reason}: {detail}"),
        None => reason.to_owned(),
    };
    (f.arn().unwrap_or_default().to_owned(), why)
}

fn task_state(t: &Task) -> TaskState {
    let health = t
        .containers()
        .iter()
        .map(|c| {
            let status = c.health_status().map_or("UNKNOWN", |h| h.as_str());
            (c.name().unwrap_or_default().to_owned(), status.to_owned())
        })
        .collect();
    TaskState {
        arn: t.task_arn().unwrap_or_default().to_owned(),
        last_status: t.last_status().unwrap_or_default().to_owned(),
        started_at: t.started_at().and_then(to_chrono),
        created_at: t.created_at().and_then(to_chrono),
        health,
        address: task_address(t),
    }
}

/// A task's private IPv4 address. In `awsvpc` mode (Fargate always) the task has its own network
/// interface: ECS reports it on the containers (`networkInterfaces[].privateIpv4Address`) and on
/// the task's `ElasticNetworkInterface` attachment (`privateIPv4Address`). In `bridge` and `host`
/// modes the task shares its instance's address and a port mapping decides who answers, which
/// `DescribeTasks` does not resolve: such a task is refused with that reason.
fn task_address(t: &Task) -> Result<std::net::IpAddr, String> {
    let on_containers =
        t.containers().iter().flat_map(|c| c.network_interfaces()).find_map(|n| n.private_ipv4_address());
    let on_attachment = || {
        t.attachments()
            .iter()
            .filter(|a| a.r#type() == Some("ElasticNetworkInterface"))
            .flat_map(|a| a.details())
            .find(|d| d.name() == Some("privateIPv4Address"))
            .and_then(|d| d.value())
    };
    match on_containers.or_else(on_attachment) {
        Some(ip) => {
            ip.parse().map_err(|_| format!("ECS reported a private IPv4 address {ip:?} that is not one"))
        }
        None => Err("the task has no network interface of its own (bridge or host network mode): \
                     trimtab reaches tasks by their private IP, which needs awsvpc"
            .to_owned()),
    }
}

fn member(t: &Task, container: &str) -> MemberTask {
    let health = t
        .containers()
        .iter()
        .find(|c| c.name() == Some(container))
        .map(|c| c.health_status().map_or("UNKNOWN", |h| h.as_str()).to_owned());
    MemberTask {
        arn: t.task_arn().unwrap_or_default().to_owned(),
        last_status: t.last_status().unwrap_or_default().to_owned(),
        health,
        started_at: t.started_at().and_then(to_chrono),
    }
}

/// The tag on a revision trimtab registered, holding the size it was resized from ("1024/2048").
pub const RESIZED_TAG: &str = "trimtab:resized-from";

/// A task definition, reduced to what resizing needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskDefinitionInfo {
    pub arn: String,
    pub family: String,
    pub revision: i32,
    pub registered_at: Option<DateTime<Utc>>,
    /// The revision is one trimtab registered to resize the task (it carries [`RESIZED_TAG`]).
    pub resized_by_trimtab: bool,
    /// Task-level CPU units and memory MiB; `None` when the task leaves them to the containers.
    pub cpu: Option<u32>,
    pub memory: Option<u32>,
    /// Each container's name, CPU units and hard memory limit (MiB), as declared.
    pub containers: Vec<(String, u32, Option<u32>)>,
    /// `runtimePlatform`: `X86_64` / `ARM64`, and `LINUX` / `WINDOWS_SERVER_…`; `None` when
    /// not declared (Linux on x86).
    pub arch: Option<String>,
    pub os: Option<String>,
    /// `ephemeralStorage.sizeInGiB`; `None`: Fargate's 20.
    pub storage_gib: Option<u32>,
}

fn info(td: &TaskDefinition) -> TaskDefinitionInfo {
    let number = |s: Option<&str>| s.and_then(|v| v.trim().parse().ok());
    TaskDefinitionInfo {
        arn: td.task_definition_arn().unwrap_or_default().to_owned(),
        family: td.family().unwrap_or_default().to_owned(),
        revision: td.revision(),
        registered_at: td.registered_at().and_then(to_chrono),
        resized_by_trimtab: false,
        cpu: number(td.cpu()),
        memory: number(td.memory()),
        containers: td
            .container_definitions()
            .iter()
            .map(|c| {
                let memory = c.memory().and_then(|m| u32::try_from(m).ok());
                (c.name().unwrap_or_default().to_owned(), count(c.cpu()), memory)
            })
            .collect(),
        arch: td.runtime_platform().and_then(|p| p.cpu_architecture()).map(|a| a.as_str().to_owned()),
        os: td.runtime_platform().and_then(|p| p.operating_system_family()).map(|o| o.as_str().to_owned()),
        storage_gib: td.ephemeral_storage().and_then(|e| u32::try_from(e.size_in_gib()).ok()),
    }
}

/// Why a task definition cannot take a new size: a container declares more than the task would
/// have. Checked before anything is registered, so nothing is half-applied.
fn misfit(td: &TaskDefinitionInfo, cpu: u32, memory: u32) -> Option<String> {
    let total_cpu: u32 = td.containers.iter().map(|(_, c, _)| c).sum();
    if total_cpu > cpu {
        return Some(format!("its containers declare {total_cpu} CPU units in all, more than {cpu}"));
    }
    td.containers.iter().find_map(|(name, _, m)| {
        m.filter(|&m| m > memory).map(|m| {
            format!("container {name} has a hard memory limit of {m} MiB, more than the task's {memory} MiB")
        })
    })
}

impl EcsFleet {
    /// The task definition `arn` (`DescribeTaskDefinition`): the size, platform and storage a
    /// service's tasks are priced by.
    pub async fn task_definition(&self, arn: &str) -> Result<TaskDefinitionInfo, AwsError> {
        let (td, _) = describe_task_definition(&self.client, arn).await?;
        Ok(info(&td))
    }
}

/// `DescribeTaskDefinition` of `arn`, with its tags.
async fn describe_task_definition(
    client: &Api<Client>,
    arn: &str,
) -> Result<(TaskDefinition, Vec<Tag>), AwsError> {
    const OP: &str = "ecs:DescribeTaskDefinition";
    let out = client
        .describe_task_definition()
        .task_definition(arn)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .map_err(|e| client.error(OP, e))?;
    let td = out.task_definition().cloned().ok_or_else(|| AwsError {
        operation: OP,
        kind: ErrorKind::Malformed,
        message: format!("no task definition returned for {arn}"),
    })?;
    Ok((td, out.tags().to_vec()))
}

impl Ecs {
    async fn describe_task_definition(&self, arn: &str) -> Result<(TaskDefinition, Vec<Tag>), AwsError> {
        describe_task_definition(&self.client, arn).await
    }

    pub async fn task_definition(&self, arn: &str) -> Result<TaskDefinitionInfo, AwsError> {
        let (td, tags) = self.describe_task_definition(arn).await?;
        let resized_by_trimtab = tags.iter().any(|t| t.key() == Some(RESIZED_TAG));
        Ok(TaskDefinitionInfo { resized_by_trimtab, ..info(&td) })
    }

    /// Registers a new revision of `arn`'s family: a copy of it (containers, roles, network mode,
    /// volumes, platform, storage, tags) with the task size set to `cpu` units and `memory` MiB.
    /// Refused, before anything is registered, when a container declares more than the new size.
    pub async fn register_resized(
        &self,
        arn: &str,
        cpu: u32,
        memory: u32,
    ) -> Result<TaskDefinitionInfo, AwsError> {
        const OP: &str = "ecs:RegisterTaskDefinition";
        let (td, mut tags) = self.describe_task_definition(arn).await?;
        let old = info(&td);
        if let Some(why) = misfit(&old, cpu, memory) {
            let message = format!("{arn} cannot be resized to {cpu} CPU / {memory} MiB: {why}");
            return Err(AwsError { operation: OP, kind: ErrorKind::Client, message });
        }
        tags.retain(|t| t.key() != Some(RESIZED_TAG));
        let from = format!("{}/{}", old.cpu.unwrap_or(0), old.memory.unwrap_or(0));
        tags.push(Tag::builder().key(RESIZED_TAG).value(from).build());
        let placement = td
            .placement_constraints()
            .iter()
            .map(|p| {
                aws_sdk_ecs::types::TaskDefinitionPlacementConstraint::builder()
                    .set_type(p.r#type().cloned())
                    .set_expression(p.expression().map(str::to_owned))
                    .build()
            })
            .collect();
        let out = self
            .client
            .register_task_definition()
            .set_family(td.family().map(str::to_owned))
            .set_task_role_arn(td.task_role_arn().map(str::to_owned))
            .set_execution_role_arn(td.execution_role_arn().map(str::to_owned))
            .set_network_mode(td.network_mode().cloned())
            .set_container_definitions(Some(td.container_definitions().to_vec()))
            .set_volumes(Some(td.volumes().to_vec()))
            .set_placement_constraints(Some(placement))
            .set_requires_compatibilities(Some(td.requires_compatibilities().to_vec()))
            .cpu(cpu.to_string())
            .memory(memory.to_string())
            .set_tags(Some(tags))
            .set_pid_mode(td.pid_mode().cloned())
            .set_ipc_mode(td.ipc_mode().cloned())
            .set_proxy_configuration(td.proxy_configuration().cloned())
            .set_ephemeral_storage(td.ephemeral_storage().cloned())
            .set_runtime_platform(td.runtime_platform().cloned())
            .set_enable_fault_injection(td.enable_fault_injection())
            .send()
            .await
            .map_err(|e| self.client.error(OP, e))?;
        let new = out.task_definition().map(|td| TaskDefinitionInfo { resized_by_trimtab: true, ..info(td) });
        new.ok_or_else(|| AwsError {
            operation: OP,
            kind: ErrorKind::Malformed,
            message: "no task definition returned".to_owned(),
        })
    }

    /// Points the service at `task_definition`: ECS starts a rolling deployment.
    pub async fn deploy(&self, task_definition: &str) -> Result<(), AwsError> {
        self.client
            .update_service()
            .cluster(&self.cluster)
            .service(&self.service)
            .task_definition(task_definition)
            .send()
            .await
            .map_err(|e| self.client.error("ecs:UpdateService", e))?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "ecs_tests.rs"]
mod tests;
