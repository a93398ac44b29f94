//! A fake ECS + CloudWatch on wiremock, for what the emulators cannot do: faults, deployments,
//! task start times, and counting requests. ECS speaks awsJson1_1 (`x-amz-target` header);
//! CloudWatch speaks rpc-v2-cbor (`/service/GraniteServiceVersion20100801/operation/<Op>`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ciborium::Value;
use serde_json::{Value as Json, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const ECS_TARGET: &str = "AmazonEC2ContainerServiceV20141113.";
pub const CW_PATH: &str = "/service/GraniteServiceVersion20100801/operation/";

/// The fake's state; tests change it between ticks.
#[derive(Clone, Debug)]
pub struct World {
    pub desired: u32,
    /// `(status, rolloutState)` of each deployment.
    pub deployments: Vec<(&'static str, &'static str)>,
    /// `(task ARN, startedAt epoch seconds)` of the RUNNING tasks.
    pub tasks: Vec<(String, i64)>,
    /// Datapoints by metric name: `(epoch seconds, value)`, newest first.
    pub datapoints: BTreeMap<String, Vec<(i64, f64)>>,
    /// `UpdateService` moves `desired` (as ECS does).
    pub apply_updates: bool,
    /// The service's task definition: `(family:revision, cpu, memory)`; `RegisterTaskDefinition`
    /// adds revisions, `UpdateService` with a task definition points the service at one.
    pub task_definition: (String, u32, u32),
    /// Every revision registered, with its size.
    pub registered: Vec<(String, u32, u32)>,
}

impl Default for World {
    fn default() -> Self {
        World {
            desired: 4,
            deployments: vec![("PRIMARY", "COMPLETED")],
            tasks: vec![],
            datapoints: BTreeMap::new(),
            apply_updates: true,
            task_definition: ("web:1".into(), 1024, 2048),
            registered: vec![],
        }
    }
}

pub type Shared = Arc<Mutex<World>>;

pub struct FakeAws {
    pub server: MockServer,
    pub world: Shared,
}

impl FakeAws {
    pub async fn start(world: World) -> FakeAws {
        let server = MockServer::start().await;
        let world = Arc::new(Mutex::new(world));
        for op in [
            "DescribeServices",
            "UpdateService",
            "ListTasks",
            "DescribeTasks",
            "DescribeTaskDefinition",
            "RegisterTaskDefinition",
        ] {
            let ecs = Ecs { op, world: world.clone() };
            mount(
                &server,
                Mock::given(method("POST")).and(header("x-amz-target", format!("{ECS_TARGET}{op}").as_str())),
                ecs,
            )
            .await;
        }
        for op in ["GetMetricData", "PutMetricData"] {
            let cw = CloudWatch { op, world: world.clone() };
            mount(&server, Mock::given(method("POST")).and(path(format!("{CW_PATH}{op}"))), cw).await;
        }
        FakeAws { server, world }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Makes ECS operation `op` answer `status` with `body` (awsJson1_1), ahead of the fake's
    /// own answer; `times` limits how often (then the fake answers again).
    pub async fn ecs_fault(&self, op: &str, status: u16, body: &str, times: Option<u64>) {
        let answer =
            ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/x-amz-json-1.1");
        let mock =
            Mock::given(method("POST")).and(header("x-amz-target", format!("{ECS_TARGET}{op}").as_str()));
        let mock = mock.respond_with(answer).with_priority(1);
        match times {
            Some(n) => mock.up_to_n_times(n).mount(&self.server).await,
            None => mock.mount(&self.server).await,
        }
    }

    /// Requests received so far, by operation (`DescribeServices`, `GetMetricData`, ...).
    pub async fn calls(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for r in self.server.received_requests().await.unwrap_or_default() {
            *out.entry(operation(&r)).or_default() += 1;
        }
        out
    }

    pub async fn count(&self, op: &str) -> usize {
        self.calls().await.get(op).copied().unwrap_or(0)
    }

    /// The `desiredCount` of every `UpdateService` received, in order.
    pub async fn updates(&self) -> Vec<u32> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .filter(|r| operation(r) == "UpdateService")
            .map(|r| {
                serde_json::from_slice::<Json>(&r.body).unwrap()["desiredCount"].as_u64().unwrap() as u32
            })
            .collect()
    }

    /// Metric names of every `PutMetricData` received, with their values.
    pub async fn published(&self) -> Vec<(String, f64)> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        let mut out = Vec::new();
        for r in requests.iter().filter(|r| operation(r) == "PutMetricData") {
            let body: Value = ciborium::de::from_reader(r.body.as_slice()).unwrap();
            for d in field(&body, "MetricData").and_then(|v| v.as_array().cloned()).unwrap_or_default() {
                let name = field(&d, "MetricName").and_then(|v| v.as_text().map(str::to_owned)).unwrap();
                let value = field(&d, "Value").and_then(|v| v.as_float()).unwrap_or(f64::NAN);
                out.push((name, value));
            }
        }
        out
    }
}

/// Mounts a fake operation below the priority tests use for injected faults (1).
async fn mount(server: &MockServer, given: wiremock::MockBuilder, responder: impl Respond + 'static) {
    given.respond_with(responder).with_priority(10).mount(server).await;
}

pub fn operation(r: &Request) -> String {
    if let Some(t) = r.headers.get("x-amz-target") {
        return t.to_str().unwrap().trim_start_matches(ECS_TARGET).to_owned();
    }
    r.url.path().rsplit('/').next().unwrap_or_default().to_owned()
}

pub fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_map()?.iter().find(|(k, _)| k.as_text() == Some(name)).map(|(_, v)| v)
}

struct Ecs {
    op: &'static str,
    world: Shared,
}

impl Respond for Ecs {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let mut w = self.world.lock().unwrap();
        let body: Json = serde_json::from_slice(&r.body).unwrap_or(json!({}));
        let out = match self.op {
            "DescribeServices" => json!({
                "services": [{
                    "serviceName": "web",
                    "clusterName": "prod",
                    "taskDefinition": format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{}", w.task_definition.0),
                    "status": "ACTIVE",
                    "desiredCount": w.desired,
                    "runningCount": w.desired,
                    "pendingCount": 0,
                    "deployments": w.deployments.iter().enumerate().map(|(i, (status, rollout))| json!({
                        "id": format!("ecs-svc/{i}"), "status": status, "rolloutState": rollout,
                        "desiredCount": w.desired, "runningCount": w.desired, "updatedAt": 1_700_000_000
                    })).collect::<Vec<_>>(),
                    "events": []
                }],
                "failures": []
            }),
            "UpdateService" => {
                if let Some(td) = body["taskDefinition"].as_str() {
                    let name = td.rsplit('/').next().unwrap().to_owned();
                    let found = w.registered.iter().find(|r| r.0 == name).cloned();
                    w.task_definition = found.expect("the service is pointed at a registered revision");
                } else if w.apply_updates {
                    w.desired = body["desiredCount"].as_u64().unwrap() as u32;
                }
                json!({ "service": { "serviceName": "web", "desiredCount": w.desired } })
            }
            "ListTasks" => json!({ "taskArns": w.tasks.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>() }),
            "DescribeTasks" => {
                let wanted: Vec<String> = body["tasks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect();
                let tasks: Vec<Json> = w
                    .tasks
                    .iter()
                    .filter(|(a, _)| wanted.contains(a))
                    .map(|(a, t)| json!({ "taskArn": a, "lastStatus": "RUNNING", "startedAt": t, "createdAt": t - 30 }))
                    .collect();
                json!({ "tasks": tasks, "failures": [] })
            }
            "DescribeTaskDefinition" => {
                let (name, cpu, memory) = w.task_definition.clone();
                json!({ "taskDefinition": task_definition(&name, cpu, memory), "tags": [] })
            }
            "RegisterTaskDefinition" => {
                let family = body["family"].as_str().unwrap().to_owned();
                let revision = 2 + w.registered.len();
                let size = |k: &str| body[k].as_str().unwrap().parse::<u32>().unwrap();
                let r = (format!("{family}:{revision}"), size("cpu"), size("memory"));
                w.registered.push(r.clone());
                json!({ "taskDefinition": task_definition(&r.0, r.1, r.2), "tags": body["tags"] })
            }
            _ => unreachable!(),
        };
        ResponseTemplate::new(200).set_body_raw(out.to_string(), "application/x-amz-json-1.1")
    }
}

fn task_definition(name: &str, cpu: u32, memory: u32) -> Json {
    let (family, revision) = name.split_once(':').unwrap();
    json!({
        "taskDefinitionArn": format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{name}"),
        "family": family,
        "revision": revision.parse::<i32>().unwrap(),
        "cpu": cpu.to_string(),
        "memory": memory.to_string(),
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [{ "name": "app", "image": "app:1", "essential": true }],
        "registeredAt": 1_700_000_000
    })
}

struct CloudWatch {
    op: &'static str,
    world: Shared,
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// An rpc-v2-cbor response.
pub fn cbor_response(v: &Value) -> ResponseTemplate {
    let mut buf = Vec::new();
    ciborium::ser::into_writer(v, &mut buf).unwrap();
    ResponseTemplate::new(200)
        .insert_header("smithy-protocol", "rpc-v2-cbor")
        .set_body_raw(buf, "application/cbor")
}

impl Respond for CloudWatch {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        if self.op == "PutMetricData" {
            return ResponseTemplate::new(200).insert_header("smithy-protocol", "rpc-v2-cbor");
        }
        let w = self.world.lock().unwrap();
        let req: Value = ciborium::de::from_reader(r.body.as_slice()).unwrap();
        let queries =
            field(&req, "MetricDataQueries").and_then(|q| q.as_array().cloned()).unwrap_or_default();
        let results: Vec<Value> = queries
            .iter()
            .map(|q| {
                let id = field(q, "Id").and_then(|v| v.as_text()).unwrap().to_owned();
                let metric = field(q, "MetricStat")
                    .and_then(|s| field(s, "Metric"))
                    .and_then(|m| field(m, "MetricName"))
                    .and_then(|n| n.as_text())
                    .unwrap()
                    .to_owned();
                let points = w.datapoints.get(&metric).cloned().unwrap_or_default();
                Value::Map(vec![
                    (text("Id"), text(&id)),
                    (text("Label"), text(&metric)),
                    (
                        text("Timestamps"),
                        Value::Array(
                            points
                                .iter()
                                .map(|(t, _)| Value::Tag(1, Box::new(Value::Integer((*t).into()))))
                                .collect(),
                        ),
                    ),
                    (text("Values"), Value::Array(points.iter().map(|(_, v)| Value::Float(*v)).collect())),
                    (text("StatusCode"), text("Complete")),
                ])
            })
            .collect();
        cbor_response(&Value::Map(vec![(text("MetricDataResults"), Value::Array(results))]))
    }
}
