//! A fake ECS + CloudWatch on wiremock, for what the emulators cannot do: faults, deployments,
//! task start times, endless pages, partial answers, and counting requests. ECS speaks
//! awsJson1_1 (`x-amz-target` header); CloudWatch speaks rpc-v2-cbor
//! (`/service/GraniteServiceVersion20100801/operation/<Op>`); SNS speaks awsQuery (a form `POST /`
//! with `Action=Publish`), and only faults are mounted for it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ciborium::Value;
use serde_json::{Value as Json, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const ECS_TARGET: &str = "AmazonEC2ContainerServiceV20141113.";
pub const CW_PATH: &str = "/service/GraniteServiceVersion20100801/operation/";

/// The fake's state; tests change it between ticks.
#[derive(Clone, Debug)]
pub struct World {
    pub desired: u32,
    /// `(status, rolloutState)` of each deployment.
    pub deployments: Vec<(&'static str, &'static str)>,
    /// `(task ARN, startedAt epoch seconds)` of the RUNNING tasks. Task `i` (in this order) is
    /// at 127.0.0.`i + 2`, in the `ElasticNetworkInterface` attachment of an `awsvpc` task, and
    /// runs containers `app` and `trimtab`.
    pub tasks: Vec<(String, i64)>,
    /// Tasks whose `trimtab` container ECS reports UNHEALTHY (the others are HEALTHY).
    pub unhealthy: Vec<String>,
    /// Datapoints by metric name: `(epoch seconds, value)`, newest first.
    pub datapoints: BTreeMap<String, Vec<(i64, f64)>>,
    /// `UpdateService` moves `desired` (as ECS does).
    pub apply_updates: bool,
    /// The service's task definition: `(family:revision, cpu, memory)`; `RegisterTaskDefinition`
    /// adds revisions, `UpdateService` with a task definition points the service at one.
    pub task_definition: (String, u32, u32),
    /// Every revision registered, with its size.
    pub registered: Vec<(String, u32, u32)>,
    /// `registeredAt` of the service's task definition, epoch seconds.
    pub registered_at: i64,
    /// The service's task definition carries trimtab's `trimtab:resized-from` tag.
    pub resized_tag: bool,
    /// How `ListTasks` and `GetMetricData` page (by operation name); one page when absent.
    pub paging: BTreeMap<&'static str, Paging>,
    /// `StatusCode` of a metric's `GetMetricData` result, by metric name; `Complete` when absent.
    pub status_codes: BTreeMap<String, &'static str>,
    /// Metrics left out of the `GetMetricData` answer altogether.
    pub omitted: Vec<String>,
    /// The service's events, `(epoch seconds, message)`, newest first. A scale-out through
    /// `UpdateService` adds a "has started" event, as ECS does once the tasks start.
    pub events: Vec<(i64, String)>,
    /// The service's tags, answered when `DescribeServices` asks for them (`include: TAGS`).
    pub tags: Vec<(String, String)>,
}

/// How a paged operation answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paging {
    /// Every page hands back the same `NextToken`.
    SameToken,
    /// Every page hands back a new `NextToken`, forever.
    FreshTokens,
}

/// The `NextToken` the page after `sent` gets under `paging`.
fn next_token(paging: Option<Paging>, sent: Option<&str>) -> Option<String> {
    match paging? {
        Paging::SameToken => Some("again".to_owned()),
        Paging::FreshTokens => {
            let n: u64 = sent.and_then(|t| t.strip_prefix("page-")?.parse().ok()).unwrap_or(1);
            Some(format!("page-{}", n + 1))
        }
    }
}

impl Default for World {
    fn default() -> Self {
        World {
            desired: 4,
            deployments: vec![("PRIMARY", "COMPLETED")],
            tasks: vec![],
            unhealthy: vec![],
            datapoints: BTreeMap::new(),
            apply_updates: true,
            task_definition: ("web:1".into(), 1024, 2048),
            registered: vec![],
            registered_at: 1_700_000_000,
            resized_tag: false,
            paging: BTreeMap::new(),
            status_codes: BTreeMap::new(),
            omitted: vec![],
            events: vec![],
            tags: vec![],
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

    /// Makes ECS operation `op` answer as the fake does, but `delay` late; `times` limits how
    /// often (then the fake, or an earlier-mounted slow answer, answers again). Mounted later,
    /// a slow answer comes after those mounted before it.
    pub async fn slow_ecs(&self, op: &'static str, delay: std::time::Duration, times: Option<u64>) {
        let slow = Slow { inner: Ecs { op, world: self.world.clone() }, delay };
        let mock =
            Mock::given(method("POST")).and(header("x-amz-target", format!("{ECS_TARGET}{op}").as_str()));
        let mock = mock.respond_with(slow).with_priority(1);
        match times {
            Some(n) => mock.up_to_n_times(n).mount(&self.server).await,
            None => mock.mount(&self.server).await,
        }
    }

    /// Makes CloudWatch operation `op` answer `status` with the error `code` (rpc-v2-cbor), ahead
    /// of the fake's own answer.
    pub async fn cloudwatch_fault(&self, op: &str, status: u16, code: &str) {
        let body = Value::Map(vec![
            (text("__type"), text(code)),
            (text("message"), text(&format!("{code} (injected by the test)"))),
        ]);
        let answer = ResponseTemplate::new(status)
            .insert_header("smithy-protocol", "rpc-v2-cbor")
            .set_body_raw(cbor(&body), "application/cbor");
        let mock = Mock::given(method("POST")).and(path(format!("{CW_PATH}{op}")));
        mock.respond_with(answer).with_priority(1).mount(&self.server).await;
    }

    /// Makes SNS `Publish` answer `status` with the error `code` (awsQuery XML).
    pub async fn sns_fault(&self, status: u16, code: &str) {
        let body = format!(
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type>\
             <Code>{code}</Code><Message>{code} (injected by the test)</Message></Error>\
             <RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        );
        Mock::given(method("POST"))
            .and(body_string_contains("Action=Publish"))
            .respond_with(ResponseTemplate::new(status).set_body_raw(body, "text/xml"))
            .with_priority(1)
            .mount(&self.server)
            .await;
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
    if String::from_utf8_lossy(&r.body).contains("Action=Publish") {
        return "Publish".to_owned();
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

/// The fake's own answer (its effect on the world at once), sent `delay` late.
struct Slow {
    inner: Ecs,
    delay: std::time::Duration,
}

impl Respond for Slow {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        self.inner.respond(r).set_delay(self.delay)
    }
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
                    "events": w.events.iter().enumerate().map(|(i, (at, message))| json!({
                        "id": format!("event-{i}"), "createdAt": at, "message": message
                    })).collect::<Vec<_>>(),
                    "tags": if body["include"].as_array().is_some_and(|i| i.contains(&json!("TAGS"))) {
                        w.tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>()
                    } else {
                        vec![]
                    }
                }],
                "failures": []
            }),
            "UpdateService" => {
                if let Some(td) = body["taskDefinition"].as_str() {
                    let name = td.rsplit('/').next().unwrap().to_owned();
                    let found = w.registered.iter().find(|r| r.0 == name).cloned();
                    w.task_definition = found.expect("the service is pointed at a registered revision");
                } else if w.apply_updates {
                    let to = body["desiredCount"].as_u64().unwrap() as u32;
                    if to > w.desired {
                        let message =
                            format!("(service web) has started {} tasks: (task x).", to - w.desired);
                        w.events.insert(0, (now(), message));
                    }
                    w.desired = to;
                }
                json!({ "service": { "serviceName": "web", "desiredCount": w.desired } })
            }
            "ListTasks" => json!({
                "taskArns": w.tasks.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>(),
                "nextToken": next_token(w.paging.get("ListTasks").copied(), body["nextToken"].as_str()),
            }),
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
                    .enumerate()
                    .filter(|(_, (a, _))| wanted.contains(a))
                    .map(|(i, (a, t))| task(a, *t, i, !w.unhealthy.contains(a)))
                    .collect();
                json!({ "tasks": tasks, "failures": [] })
            }
            "DescribeTaskDefinition" => {
                let (name, cpu, memory) = w.task_definition.clone();
                let mut td = task_definition(&name, cpu, memory);
                td["registeredAt"] = json!(w.registered_at);
                let tags = if w.resized_tag {
                    json!([{ "key": "trimtab:resized-from", "value": "2048/4096" }])
                } else {
                    json!([])
                };
                json!({ "taskDefinition": td, "tags": tags })
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

/// The wall clock in epoch seconds (for events the fake makes up).
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
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

fn cbor(v: &Value) -> Vec<u8> {
    let mut buf = Vec::new();
    ciborium::ser::into_writer(v, &mut buf).unwrap();
    buf
}

/// An rpc-v2-cbor response.
pub fn cbor_response(v: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("smithy-protocol", "rpc-v2-cbor")
        .set_body_raw(cbor(v), "application/cbor")
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
            .filter_map(|q| {
                let id = field(q, "Id").and_then(|v| v.as_text()).unwrap().to_owned();
                let metric = field(q, "MetricStat")
                    .and_then(|s| field(s, "Metric"))
                    .and_then(|m| field(m, "MetricName"))
                    .and_then(|n| n.as_text())
                    .unwrap()
                    .to_owned();
                if w.omitted.contains(&metric) {
                    return None;
                }
                let points = w.datapoints.get(&metric).cloned().unwrap_or_default();
                let status = w.status_codes.get(&metric).copied().unwrap_or("Complete");
                Some(Value::Map(vec![
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
                    (text("StatusCode"), text(status)),
                ]))
            })
            .collect();
        let sent = field(&req, "NextToken").and_then(|t| t.as_text());
        let mut answer = vec![(text("MetricDataResults"), Value::Array(results))];
        if let Some(token) = next_token(w.paging.get("GetMetricData").copied(), sent) {
            answer.push((text("NextToken"), text(&token)));
        }
        cbor_response(&Value::Map(answer))
    }
}

/// One `awsvpc` task as `DescribeTasks` describes it (the shapes of the ECS API reference's
/// `Task`, `Attachment` and `Container`): its address in the ENI attachment's details.
fn task(arn: &str, started: i64, i: usize, healthy: bool) -> Json {
    let ip = format!("127.0.0.{}", i + 2);
    json!({
        "taskArn": arn, "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
        "startedAt": started, "createdAt": started - 30, "healthStatus": "UNKNOWN",
        "attachments": [{
            "id": "a1b2c3d4-5678-90ab-cdef-11111EXAMPLE", "type": "ElasticNetworkInterface", "status": "ATTACHED",
            "details": [
                { "name": "subnetId", "value": "subnet-abcd1234" },
                { "name": "networkInterfaceId", "value": "eni-abcd1234" },
                { "name": "macAddress", "value": "0a:0b:0c:0d:0e:0f" },
                { "name": "privateIPv4Address", "value": ip }
            ]
        }],
        "containers": [
            { "name": "app", "lastStatus": "RUNNING", "healthStatus": "HEALTHY" },
            { "name": "trimtab", "lastStatus": "RUNNING", "healthStatus": if healthy { "HEALTHY" } else { "UNHEALTHY" } }
        ]
    })
}
