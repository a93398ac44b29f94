//! Hand-written fakes of the controller's ports: one in-process [`World`] (services with their
//! counts and tags, the controller service's tasks, a load per service) that every fake
//! controller talks to, with a latency per call under tokio's clock. The fleet test and the
//! benchmark run on it; it records every `UpdateService` with the count it replaced.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::ports::{Clock, Described, FleetEcs, FleetMetrics};
use super::{Controller, Settings};
use crate::aws::{
    AwsError, Deployment, ErrorKind, MemberTask, MetricData, MetricQuery, Published, ServiceInfo,
    ServiceState, TaskDefinitionInfo,
};
use crate::config::model::{ControllerConfig, Discovery, FleetConfig, FleetService};

/// A controller on the fakes.
pub type FakeController = Controller<FakeEcs, FakeMetrics, FakeClock>;

/// The CPU-only policy the fleet tests and the benchmark scale by: CPU held at 50 %, no
/// cooldowns or stabilization, whole steps, so a changed load is a changed count at the next
/// tick.
pub const CPU_POLICY: &str = r#"
[scaling]
min = 1
max = 100
scale_out_cooldown = "0s"
scale_in_cooldown = "0s"
scale_in_stabilization = "0s"
max_scale_out_step = 100
max_scale_in_step = 100

[[scaling.metrics]]
name = "cpu"
source = "ecs"
kind = "cpu"
target = 50
weight = 1
"#;

/// A controller config with `policy` (a `[scaling]` table) as its one policy, `web`, for the
/// listed `services` (cluster, name) and `discovery`; no `[controller]` service.
pub fn fleet_config(policy: &str, services: &[(&str, &str)], discovery: Option<Discovery>) -> FleetConfig {
    let scaling = crate::config::from_str("policy.toml", policy).expect("a valid [scaling] table").scaling;
    FleetConfig {
        controller: ControllerConfig {
            region: None,
            endpoint_url: None,
            cluster: None,
            service: None,
            container: "trimtab".into(),
        },
        policies: BTreeMap::from([("web".to_owned(), scaling)]),
        templates: BTreeMap::new(),
        services: services
            .iter()
            .map(|(c, n)| FleetService { cluster: (*c).into(), name: (*n).into(), policy: "web".into() })
            .collect(),
        discovery,
    }
}

/// A controller over `world`, calling as `who`.
pub fn controller(world: &Shared, who: &str, fleet: FleetConfig, settings: Settings) -> FakeController {
    let clock = lock(world).clock;
    let ecs = FakeEcs { world: world.clone(), who: who.to_owned() };
    Controller::new(fleet, settings, ecs, FakeMetrics { world: world.clone() }, clock)
}

/// The total load of a service at a time, in task-percent: `cpu = load / desired`.
pub type Load = Box<dyn Fn(&str, &str, DateTime<Utc>) -> f64 + Send + Sync>;

/// One service in the fake ECS.
#[derive(Clone, Debug)]
pub struct FakeService {
    pub arn: String,
    /// `ACTIVE` unless a test deletes it (`INACTIVE`).
    pub status: String,
    /// `FARGATE` unless a test says otherwise.
    pub launch: String,
    /// Its task's CPU units and memory MiB (1024 / 2048 unless a test says otherwise).
    pub size: (u32, u32),
    pub desired: u32,
    pub tags: BTreeMap<String, String>,
}

/// An `UpdateService` the fake ECS applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    pub at: DateTime<Utc>,
    /// The controller that called (its task ARN).
    pub by: String,
    pub service: String,
    /// The count ECS held just before.
    pub from: u32,
    pub to: u32,
}

pub struct World {
    /// By `cluster/name`.
    pub services: BTreeMap<String, FakeService>,
    /// The controller service's tasks.
    pub tasks: Vec<MemberTask>,
    pub updates: Vec<Update>,
    /// Calls by operation, since the start.
    pub calls: BTreeMap<&'static str, u64>,
    /// Datapoints put, since the start.
    pub put: usize,
    pub load: Load,
    /// How long each call takes.
    pub latency: Duration,
    /// The membership read fails (a throttled or unreachable ECS).
    pub members_fail: bool,
    pub clock: FakeClock,
}

impl World {
    pub fn new(clock: FakeClock, load: Load) -> Self {
        World {
            services: BTreeMap::new(),
            tasks: Vec::new(),
            updates: Vec::new(),
            calls: BTreeMap::new(),
            put: 0,
            load,
            latency: Duration::from_millis(20),
            members_fail: false,
            clock,
        }
    }

    pub fn add_service(&mut self, cluster: &str, name: &str, desired: u32, tags: &[(&str, &str)]) {
        let arn = format!("arn:aws:ecs:eu-west-1:123456789012:service/{cluster}/{name}");
        let tags = tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let status = "ACTIVE".to_owned();
        let (launch, size) = ("FARGATE".to_owned(), (1024, 2048));
        self.services
            .insert(format!("{cluster}/{name}"), FakeService { arn, status, launch, size, desired, tags });
    }

    /// Sets the controller task's status and health (adds it when new).
    pub fn set_task(&mut self, arn: &str, status: &str, health: &str) {
        let t = MemberTask {
            arn: arn.to_owned(),
            last_status: status.to_owned(),
            health: Some(health.to_owned()),
            started_at: None,
        };
        match self.tasks.iter_mut().find(|x| x.arn == arn) {
            Some(x) => *x = t,
            None => self.tasks.push(t),
        }
    }
}

pub type Shared = Arc<Mutex<World>>;

fn lock(w: &Shared) -> std::sync::MutexGuard<'_, World> {
    w.lock().unwrap_or_else(|e| e.into_inner())
}

/// Follows tokio's clock, so a paused test advances decisions' `now` too.
#[derive(Clone, Copy, Debug)]
pub struct FakeClock {
    start_utc: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl FakeClock {
    pub fn new(start_utc: DateTime<Utc>) -> Self {
        FakeClock { start_utc, start: tokio::time::Instant::now() }
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        let d = TimeDelta::from_std(self.start.elapsed()).unwrap_or(TimeDelta::MAX);
        self.start_utc.checked_add_signed(d).unwrap_or(self.start_utc)
    }
}

/// One controller's handle on the world's ECS.
#[derive(Clone)]
pub struct FakeEcs {
    pub world: Shared,
    /// The calling controller's task ARN, recorded with its updates.
    pub who: String,
}

/// The world's CloudWatch: `AWS/ECS` CPU is the service's load over its desired count,
/// memory a steady 30 %, and the SQS backlog of a queue named after a service is its load.
#[derive(Clone)]
pub struct FakeMetrics {
    pub world: Shared,
}

async fn call(w: &Shared, op: &'static str) {
    let latency = {
        let mut w = lock(w);
        *w.calls.entry(op).or_default() += 1;
        w.latency
    };
    tokio::time::sleep(latency).await;
}

impl FleetEcs for FakeEcs {
    async fn members(
        &self,
        _cluster: &str,
        _service: &str,
        _container: &str,
    ) -> Result<Vec<MemberTask>, AwsError> {
        call(&self.world, "ecs:ListTasks").await;
        call(&self.world, "ecs:DescribeTasks").await;
        let w = lock(&self.world);
        if w.members_fail {
            let message = "Rate exceeded".to_owned();
            return Err(AwsError { operation: "ecs:DescribeTasks", kind: ErrorKind::Throttled, message });
        }
        Ok(w.tasks.clone())
    }

    async fn list_services(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        let arns: Vec<String> = lock(&self.world)
            .services
            .iter()
            .filter(|(k, _)| k.split('/').next() == Some(cluster))
            .map(|(_, s)| s.arn.clone())
            .collect();
        let pages = arns.len().div_ceil(100).max(1);
        for _ in 0..pages {
            call(&self.world, "ecs:ListServices").await;
        }
        Ok(arns)
    }

    async fn describe_services(&self, cluster: &str, names: &[String]) -> Result<Described, AwsError> {
        if names.len() > super::ports::DESCRIBE_BATCH {
            let message = format!("{} services in one call; at most 10", names.len());
            return Err(AwsError { operation: "ecs:DescribeServices", kind: ErrorKind::Client, message });
        }
        call(&self.world, "ecs:DescribeServices").await;
        let w = lock(&self.world);
        let (mut found, mut failures) = (Vec::new(), Vec::new());
        for n in names {
            let short = n.rsplit('/').next().unwrap_or(n);
            match w.services.get(&format!("{cluster}/{short}")) {
                Some(s) => found.push(ServiceInfo {
                    arn: s.arn.clone(),
                    cluster: cluster.to_owned(),
                    name: short.to_owned(),
                    state: ServiceState {
                        status: s.status.clone(),
                        task_definition: Some(format!(
                            "arn:aws:ecs:eu-west-1:123456789012:task-definition/{short}:1"
                        )),
                        launch_type: Some(s.launch.clone()),
                        capacity: vec![],
                        desired: s.desired,
                        running: s.desired,
                        pending: 0,
                        deployments: vec![Deployment {
                            id: "ecs-svc/1".into(),
                            status: "PRIMARY".into(),
                            rollout_state: Some("COMPLETED".into()),
                            desired: s.desired,
                            running: s.desired,
                            updated_at: None,
                        }],
                        events: vec![],
                        tags: s.tags.clone(),
                    },
                }),
                None => failures.push((n.clone(), "MISSING".to_owned())),
            }
        }
        Ok((found, failures))
    }

    async fn update_desired(&self, cluster: &str, service: &str, desired: u32) -> Result<(), AwsError> {
        // The change lands when the call ends: a controller killed meanwhile changes nothing.
        call(&self.world, "ecs:UpdateService").await;
        let mut w = lock(&self.world);
        let at = w.clock.now();
        let key = format!("{cluster}/{service}");
        let Some(s) = w.services.get_mut(&key) else {
            let message = format!("service {service} in cluster {cluster}: ServiceNotFoundException");
            return Err(AwsError { operation: "ecs:UpdateService", kind: ErrorKind::Client, message });
        };
        let from = s.desired;
        s.desired = desired;
        w.updates.push(Update { at, by: self.who.clone(), service: key, from, to: desired });
        Ok(())
    }

    async fn task_definition(&self, arn: &str) -> Result<TaskDefinitionInfo, AwsError> {
        self.task_definition_of(arn).await
    }
}

impl FakeEcs {
    /// `DescribeTaskDefinition` of a service's task definition (`…/task-definition/NAME:1`).
    async fn task_definition_of(&self, arn: &str) -> Result<TaskDefinitionInfo, AwsError> {
        call(&self.world, "ecs:DescribeTaskDefinition").await;
        let w = lock(&self.world);
        let name = arn.rsplit('/').next().and_then(|n| n.split(':').next()).unwrap_or_default();
        let Some(s) = w.services.iter().find(|(k, _)| k.rsplit('/').next() == Some(name)).map(|(_, s)| s)
        else {
            let message = format!("unable to describe task definition {arn}");
            return Err(AwsError {
                operation: "ecs:DescribeTaskDefinition",
                kind: ErrorKind::Client,
                message,
            });
        };
        Ok(TaskDefinitionInfo {
            arn: arn.to_owned(),
            family: name.to_owned(),
            revision: 1,
            registered_at: None,
            resized_by_trimtab: false,
            cpu: Some(s.size.0),
            memory: Some(s.size.1),
            containers: vec![],
            arch: None,
            os: None,
            storage_gib: None,
        })
    }
}

impl FleetMetrics for FakeMetrics {
    async fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        _start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<MetricData, AwsError> {
        if queries.len() > super::ports::METRIC_BATCH {
            let message = format!("{} queries in one call; at most 500", queries.len());
            return Err(AwsError { operation: "cloudwatch:GetMetricData", kind: ErrorKind::Client, message });
        }
        call(&self.world, "cloudwatch:GetMetricData").await;
        let w = lock(&self.world);
        let mut data = MetricData::default();
        // Every datapoint is the newest complete minute's.
        let minute = end.timestamp() - end.timestamp().rem_euclid(60) - 60;
        let at = DateTime::from_timestamp(minute, 0).unwrap_or(end);
        for q in queries {
            let dim = |k: &str| q.dimensions.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            // A queue named after a service holds that service's load in messages, whatever
            // its count: it can be read at zero tasks.
            if let (Some(queue), "ApproximateNumberOfMessagesVisible") = (dim("QueueName"), q.metric.as_str())
            {
                let Some(key) = w.services.keys().find(|k| k.rsplit('/').next() == Some(queue)) else {
                    continue;
                };
                let (cluster, service) = key.split_once('/').unwrap_or_default();
                data.points.insert(q.id.clone(), vec![(at, (w.load)(cluster, service, end))]);
                continue;
            }
            let (Some(cluster), Some(service)) = (dim("ClusterName"), dim("ServiceName")) else { continue };
            let Some(s) = w.services.get(&format!("{cluster}/{service}")) else { continue };
            if s.desired == 0 {
                continue;
            }
            let value = match q.metric.as_str() {
                "CPUUtilization" => (w.load)(cluster, service, end) / f64::from(s.desired),
                "MemoryUtilization" => 30.0,
                _ => continue,
            };
            data.points.insert(q.id.clone(), vec![(at, value)]);
        }
        Ok(data)
    }

    async fn put_metric_batch(
        &self,
        _namespace: &str,
        data: &[(Vec<(String, String)>, Published)],
        _now: DateTime<Utc>,
    ) -> Result<usize, AwsError> {
        let calls = data.len().div_ceil(1000);
        for _ in 0..calls {
            call(&self.world, "cloudwatch:PutMetricData").await;
        }
        lock(&self.world).put += data.len();
        Ok(calls)
    }
}
