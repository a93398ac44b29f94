//! [`EcsFleet`] against wiremock speaking ECS's awsJson1_1 (`POST /`, `x-amz-target:
//! AmazonEC2ContainerServiceV20141113.<Operation>`). The response bodies follow the "Response
//! Syntax" of each operation in the Amazon ECS API Reference
//! (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/>: `API_DescribeServices`,
//! `API_ListServices`, `API_ListTasks`, `API_DescribeTasks`, `API_TagResource`,
//! `API_UntagResource`, `API_UpdateService`): field names and nesting as documented, values made
//! up; `MISSING` is the failure reason ECS gives for a service that does not exist, and the
//! documented limits are 10 services a `DescribeServices`, 100 tasks a `DescribeTasks`, and
//! `maxResults` 1–100 for `ListServices` and `ListTasks`.

use serde_json::{Value, json};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockBuilder, MockServer, Request, Respond, ResponseTemplate};

use super::*;
use crate::aws::{Connection, MAX_PAGES, sdk_config};

const TARGET: &str = "AmazonEC2ContainerServiceV20141113.";
const ARN: &str = "arn:aws:ecs:us-east-1:123456789012";

async fn fleet(server: &MockServer) -> EcsFleet {
    let conn = Connection::fake(&server.uri());
    EcsFleet::new(&sdk_config(&conn).await)
}

fn op(name: &str) -> MockBuilder {
    Mock::given(method("POST")).and(header("x-amz-target", format!("{TARGET}{name}").as_str()))
}

fn answer(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/x-amz-json-1.1")
}

/// The JSON bodies of the requests for `name`, in order.
async fn sent(server: &MockServer, name: &str) -> Vec<Value> {
    let want = format!("{TARGET}{name}");
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|r| r.headers.get("x-amz-target").is_some_and(|t| t.to_str().unwrap() == want))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("svc{i}")).collect()
}

#[tokio::test]
async fn describe_services_refuses_more_than_ten_before_calling() {
    let server = MockServer::start().await;
    let ecs = fleet(&server).await;
    let e = ecs.describe_services("prod", &names(11)).await.unwrap_err();
    assert_eq!((e.operation, e.kind), ("ecs:DescribeServices", ErrorKind::Client));
    assert_eq!(e.message, "11 services of cluster prod in one call; ECS takes at most 10");
    assert_eq!(ecs.describe_services("prod", &[]).await, Ok((vec![], vec![])));
    assert!(server.received_requests().await.unwrap().is_empty(), "no call either way");
}

#[tokio::test]
async fn describe_services_maps_tags_state_and_failures() {
    let server = MockServer::start().await;
    let body = json!({
        "services": [{
            "serviceArn": format!("{ARN}:service/prod/checkout"),
            "serviceName": "checkout",
            "clusterArn": format!("{ARN}:cluster/prod"),
            "status": "ACTIVE",
            "taskDefinition": format!("{ARN}:task-definition/checkout:7"),
            "desiredCount": 4, "runningCount": 3, "pendingCount": 1,
            "deployments": [{
                "id": "ecs-svc/9876543210", "status": "PRIMARY", "rolloutState": "IN_PROGRESS",
                "desiredCount": 4, "runningCount": 3, "updatedAt": 1_765_000_000
            }],
            "events": [{ "id": "e1", "createdAt": 1_765_000_100, "message": "(service checkout) has reached a steady state." }],
            "tags": [
                { "key": "trimtab:policy", "value": "web" },
                { "key": "trimtab:override", "value": "count=6 until=2026-12-08T18:00:00Z reason=launch" }
            ]
        }],
        "failures": [
            { "arn": format!("{ARN}:service/prod/gone"), "reason": "MISSING" },
            { "arn": format!("{ARN}:service/prod/odd"), "reason": "INACTIVE", "detail": "deleted 2026-12-01" }
        ]
    });
    op("DescribeServices").respond_with(answer(body)).expect(1).mount(&server).await;
    let asked = vec!["checkout".to_owned(), "gone".to_owned(), "odd".to_owned()];
    let (found, failures) = fleet(&server).await.describe_services("prod", &asked).await.unwrap();

    assert_eq!(
        sent(&server, "DescribeServices").await,
        [json!({
            "cluster": "prod", "services": ["checkout", "gone", "odd"], "include": ["TAGS"]
        })]
    );
    let [s] = found.as_slice() else { panic!("{found:?}") };
    assert_eq!(
        (s.arn.as_str(), s.cluster.as_str(), s.name.as_str()),
        ("arn:aws:ecs:us-east-1:123456789012:service/prod/checkout", "prod", "checkout")
    );
    let tags: Vec<(&str, &str)> = s.state.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        tags,
        [("trimtab:override", "count=6 until=2026-12-08T18:00:00Z reason=launch"), ("trimtab:policy", "web")]
    );
    assert_eq!((s.state.desired, s.state.running, s.state.pending), (4, 3, 1));
    assert_eq!(
        s.state.task_definition.as_deref(),
        Some("arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7")
    );
    assert!(s.state.deployment_in_progress());
    assert_eq!(s.state.events.len(), 1);
    assert_eq!(
        failures,
        [
            (format!("{ARN}:service/prod/gone"), "MISSING".to_owned()),
            (format!("{ARN}:service/prod/odd"), "INACTIVE: deleted 2026-12-01".to_owned()),
        ]
    );
}

#[tokio::test]
async fn the_single_service_client_reads_the_same_state() {
    let server = MockServer::start().await;
    let body = json!({ "services": [{
        "serviceName": "web", "desiredCount": 2, "runningCount": 2, "pendingCount": 0,
        "deployments": [{ "id": "d", "status": "PRIMARY", "rolloutState": "COMPLETED", "desiredCount": 2, "runningCount": 2 }]
    }], "failures": [] });
    op("DescribeServices").respond_with(answer(body)).mount(&server).await;
    let conn = Connection::fake(&server.uri());
    let s = Ecs::new(&sdk_config(&conn).await, "prod", "web").describe_service().await.unwrap();
    assert_eq!((s.desired, s.running, s.deployment_in_progress()), (2, 2, false));
    assert_eq!(
        sent(&server, "DescribeServices").await,
        [json!({ "cluster": "prod", "services": ["web"], "include": ["TAGS"] })],
        "the sidecar reads the operator tags too"
    );
}

/// Pages of service ARNs: `pages[i]` answers the request with `nextToken` `t{i}` (the first has
/// none); each page but the last hands back the next token.
struct Paged {
    pages: Vec<Vec<String>>,
    key: &'static str,
}

impl Respond for Paged {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        let i = body["nextToken"].as_str().map_or(0, |t| t[1..].parse::<usize>().unwrap());
        let mut page = json!({ self.key: self.pages[i] });
        if i + 1 < self.pages.len() {
            page["nextToken"] = json!(format!("t{}", i + 1));
        }
        answer(page)
    }
}

fn arns(kind: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{ARN}:{kind}/prod/{kind}{i:03}")).collect()
}

#[tokio::test]
async fn list_services_follows_every_page_asking_100_at_a_time() {
    let server = MockServer::start().await;
    let pages = vec![arns("service", 0..100), arns("service", 100..200), arns("service", 200..205)];
    op("ListServices").respond_with(Paged { pages, key: "serviceArns" }).mount(&server).await;
    let got = fleet(&server).await.list_services("prod").await.unwrap();
    assert_eq!(got, arns("service", 0..205));
    assert_eq!(
        sent(&server, "ListServices").await,
        [
            json!({ "cluster": "prod", "maxResults": 100 }),
            json!({ "cluster": "prod", "maxResults": 100, "nextToken": "t1" }),
            json!({ "cluster": "prod", "maxResults": 100, "nextToken": "t2" }),
        ]
    );
}

#[tokio::test]
async fn list_services_stops_on_a_repeated_token_and_at_the_page_cap() {
    let server = MockServer::start().await;
    let again = answer(json!({ "serviceArns": arns("service", 0..1), "nextToken": "again" }));
    op("ListServices").respond_with(again).mount(&server).await;
    let e = fleet(&server).await.list_services("prod").await.unwrap_err();
    assert_eq!((e.operation, e.kind), ("ecs:ListServices", ErrorKind::Pagination));
    assert_eq!(sent(&server, "ListServices").await.len(), 2, "the second page repeats the token");

    let server = MockServer::start().await;
    let endless = (0..MAX_PAGES + 5).map(|i| arns("service", i..i + 1)).collect();
    op("ListServices").respond_with(Paged { pages: endless, key: "serviceArns" }).mount(&server).await;
    let e = fleet(&server).await.list_services("prod").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Pagination);
    assert_eq!(e.message, format!("more than {MAX_PAGES} pages; stopped"));
    assert_eq!(sent(&server, "ListServices").await.len(), MAX_PAGES);
}

/// `DescribeTasks` of what was asked: task `i` runs containers `app` and `trimtab`, the latter
/// HEALTHY for even `i`, UNHEALTHY for odd; task 3 has no `trimtab` container; task 4's
/// `trimtab` reports no health status. Task 5 is unknown to ECS (a failure).
struct Tasks;

impl Respond for Tasks {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        let (mut tasks, mut failures) = (vec![], vec![]);
        for arn in body["tasks"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()) {
            let i: usize = arn[arn.len() - 3..].parse().unwrap();
            if i == 5 {
                failures.push(json!({ "arn": arn, "reason": "MISSING" }));
                continue;
            }
            let mut containers =
                vec![json!({ "name": "app", "lastStatus": "RUNNING", "healthStatus": "HEALTHY" })];
            match i {
                3 => {}
                4 => containers.push(json!({ "name": "trimtab", "lastStatus": "RUNNING" })),
                _ => containers.push(json!({
                    "name": "trimtab", "lastStatus": "RUNNING",
                    "healthStatus": if i.is_multiple_of(2) { "HEALTHY" } else { "UNHEALTHY" }
                })),
            }
            tasks.push(json!({
                "taskArn": arn, "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
                "startedAt": 1_765_000_000 + i, "healthStatus": "UNKNOWN", "containers": containers
            }));
        }
        answer(json!({ "tasks": tasks, "failures": failures }))
    }
}

#[tokio::test]
async fn members_are_the_running_tasks_with_the_named_containers_health() {
    let server = MockServer::start().await;
    let pages = vec![arns("task", 0..100), arns("task", 100..150)];
    op("ListTasks").respond_with(Paged { pages, key: "taskArns" }).mount(&server).await;
    op("DescribeTasks").respond_with(Tasks).mount(&server).await;
    let got = fleet(&server).await.members("ctl", "trimtab-controller", "trimtab").await.unwrap();

    let list = sent(&server, "ListTasks").await;
    assert_eq!(
        list[0],
        json!({
            "cluster": "ctl", "serviceName": "trimtab-controller", "desiredStatus": "RUNNING", "maxResults": 100
        })
    );
    assert_eq!(list.len(), 2);
    let described: Vec<usize> =
        sent(&server, "DescribeTasks").await.iter().map(|b| b["tasks"].as_array().unwrap().len()).collect();
    assert_eq!(described, [100, 50], "100 a call");

    assert_eq!(got.len(), 149, "the task ECS no longer knows is left out");
    let health =
        |i: usize| got.iter().find(|m| m.arn.ends_with(&format!("task{i:03}"))).unwrap().health.clone();
    assert_eq!(health(0).as_deref(), Some("HEALTHY"));
    assert_eq!(health(1).as_deref(), Some("UNHEALTHY"), "the named container's, not the task's or app's");
    assert_eq!(health(3), None, "no container of that name");
    assert_eq!(health(4).as_deref(), Some("UNKNOWN"), "no health status reported");
    assert_eq!(got[2].last_status, "RUNNING");
    assert_eq!(got[2].started_at.map(|t| t.timestamp()), Some(1_765_000_002));
}

#[tokio::test]
async fn tags_are_set_and_removed_by_arn() {
    let server = MockServer::start().await;
    op("TagResource").respond_with(answer(json!({}))).mount(&server).await;
    op("UntagResource").respond_with(answer(json!({}))).mount(&server).await;
    let ecs = fleet(&server).await;
    let arn = format!("{ARN}:service/prod/checkout");
    let tags = [("trimtab:paused".to_owned(), "true".to_owned())];
    ecs.tag(&arn, &tags).await.unwrap();
    ecs.untag(&arn, &["trimtab:paused".to_owned(), "trimtab:override".to_owned()]).await.unwrap();
    ecs.tag(&arn, &[]).await.unwrap();
    ecs.untag(&arn, &[]).await.unwrap();
    assert_eq!(
        sent(&server, "TagResource").await,
        [json!({
            "resourceArn": arn, "tags": [{ "key": "trimtab:paused", "value": "true" }]
        })]
    );
    assert_eq!(
        sent(&server, "UntagResource").await,
        [json!({
            "resourceArn": arn, "tagKeys": ["trimtab:paused", "trimtab:override"]
        })]
    );
}

#[tokio::test]
async fn refusals_are_client_errors_named_by_operation() {
    let server = MockServer::start().await;
    let refuse = |code: &str| {
        let body = json!({ "__type": code, "message": format!("{code} (the test's)") });
        ResponseTemplate::new(400).set_body_raw(body.to_string(), "application/x-amz-json-1.1")
    };
    op("TagResource").respond_with(refuse("InvalidParameterException")).mount(&server).await;
    op("UpdateService").respond_with(refuse("ServiceNotFoundException")).mount(&server).await;
    op("UntagResource").respond_with(refuse("AccessDeniedException")).mount(&server).await;
    let ecs = fleet(&server).await;
    let e = ecs.tag("arn:aws:ecs:us-east-1:123456789012:service/short", &[("k".into(), "v".into())]).await;
    assert_eq!(e.as_ref().map_err(|e| (e.operation, e.kind)), Err(("ecs:TagResource", ErrorKind::Client)));
    let e = ecs.update_desired("prod", "gone", 3).await.unwrap_err();
    assert_eq!((e.operation, e.kind), ("ecs:UpdateService", ErrorKind::Client));
    assert!(e.message.contains("ServiceNotFoundException"), "{}", e.message);
    let e = ecs.untag("arn", &["k".into()]).await.unwrap_err();
    assert_eq!((e.operation, e.kind), ("ecs:UntagResource", ErrorKind::Client));
    assert_eq!(
        sent(&server, "UpdateService").await,
        [json!({ "cluster": "prod", "service": "gone", "desiredCount": 3 })]
    );
}

/// What a controller prices a service by: its placement (`launchType` or
/// `capacityProviderStrategy`, `API_DescribeServices`) and its task definition's size, platform
/// and storage (`runtimePlatform`, `ephemeralStorage`, `API_DescribeTaskDefinition`).
#[tokio::test]
async fn placement_and_task_definition_are_read_for_pricing() {
    let server = MockServer::start().await;
    let services = json!({ "services": [{
        "serviceArn": format!("{ARN}:service/prod/web"), "serviceName": "web", "status": "ACTIVE",
        "desiredCount": 2, "runningCount": 2, "pendingCount": 0,
        "taskDefinition": format!("{ARN}:task-definition/web:7"),
        "capacityProviderStrategy": [
            { "capacityProvider": "FARGATE", "weight": 1, "base": 1 },
            { "capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0 }
        ]
    }], "failures": [] });
    op("DescribeServices").respond_with(answer(services)).mount(&server).await;
    let td = json!({ "taskDefinition": {
        "taskDefinitionArn": format!("{ARN}:task-definition/web:7"), "family": "web", "revision": 7,
        "cpu": "2048", "memory": "4096", "containerDefinitions": [{ "name": "app", "cpu": 0 }],
        "runtimePlatform": { "cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX" },
        "ephemeralStorage": { "sizeInGiB": 50 }
    }, "tags": [] });
    op("DescribeTaskDefinition").respond_with(answer(td)).mount(&server).await;
    let ecs = fleet(&server).await;
    let (found, _) = ecs.describe_services("prod", &names(1)).await.unwrap();
    let s = &found[0].state;
    assert_eq!((s.status.as_str(), s.launch_type.as_deref()), ("ACTIVE", None));
    assert_eq!(s.capacity, [("FARGATE".to_owned(), 1), ("FARGATE_SPOT".to_owned(), 3)]);
    let td = ecs.task_definition(&format!("{ARN}:task-definition/web:7")).await.unwrap();
    assert_eq!((td.cpu, td.memory, td.storage_gib), (Some(2048), Some(4096), Some(50)));
    assert_eq!((td.arch.as_deref(), td.os.as_deref()), (Some("ARM64"), Some("LINUX")));
    assert_eq!(sent(&server, "DescribeTaskDefinition").await.len(), 1);
}

/// Issue 16: a task is reached at its private IP. In `awsvpc` mode ECS reports it on the
/// containers' network interfaces and in the ENI attachment's details (the shapes of the API
/// reference's `NetworkInterface`, `Attachment` and `KeyValuePair`); in `bridge` or `host` mode
/// the task has neither (the AWS CLI's `describe-tasks` example shows `"attachments": []`).
#[test]
fn a_task_is_reached_at_its_awsvpc_address_and_bridge_mode_is_refused_with_the_reason() {
    use aws_sdk_ecs::types::{Attachment, Container, KeyValuePair, NetworkInterface};
    let detail = |k: &str, v: &str| KeyValuePair::builder().name(k).value(v).build();
    let eni = Attachment::builder()
        .r#type("ElasticNetworkInterface")
        .details(detail("subnetId", "subnet-abcd1234"))
        .details(detail("privateIPv4Address", "10.0.1.7"))
        .build();
    let on_attachment = Task::builder().attachments(eni).build();
    assert_eq!(task_address(&on_attachment), Ok("10.0.1.7".parse().unwrap()));
    let nic = NetworkInterface::builder().private_ipv4_address("10.0.2.9").build();
    let on_container =
        Task::builder().containers(Container::builder().network_interfaces(nic).build()).build();
    assert_eq!(task_address(&on_container), Ok("10.0.2.9".parse().unwrap()));
    let bridge = Task::builder().containers(Container::builder().name("app").build()).build();
    assert!(task_address(&bridge).unwrap_err().contains("bridge or host network mode"));
    let garbage = Task::builder()
        .containers(
            Container::builder()
                .network_interfaces(NetworkInterface::builder().private_ipv4_address("ten.0.0.1").build())
                .build(),
        )
        .build();
    assert!(task_address(&garbage).unwrap_err().contains("\"ten.0.0.1\" that is not one"));
}

/// `GetTaskProtection` (Response Syntax of `API_GetTaskProtection`: `protectedTasks` with
/// `taskArn`, `protectionEnabled`, `expirationDate` in epoch seconds; `failures`), 100 tasks a
/// call as documented.
#[tokio::test]
async fn task_protection_is_read_a_hundred_tasks_a_call() {
    let server = MockServer::start().await;
    op("GetTaskProtection")
        .respond_with(answer(json!({
            "protectedTasks": [
                { "taskArn": format!("{ARN}:task/prod/a"), "protectionEnabled": true, "expirationDate": 1_765_003_600 },
                { "taskArn": format!("{ARN}:task/prod/b"), "protectionEnabled": false }
            ],
            "failures": [{ "arn": format!("{ARN}:task/prod/gone"), "reason": "MISSING" }]
        })))
        .mount(&server)
        .await;
    let conn = Connection::fake(&server.uri());
    let ecs = Ecs::new(&sdk_config(&conn).await, "prod", "web");
    let arns: Vec<String> = (0..150).map(|i| format!("{ARN}:task/prod/t{i}")).collect();
    let got = ecs.task_protection(&arns).await.unwrap();
    assert_eq!(got.len(), 4, "two answers of two tasks each");
    assert_eq!(
        got[0],
        TaskProtection {
            task: format!("{ARN}:task/prod/a"),
            enabled: true,
            expires_at: DateTime::from_timestamp(1_765_003_600, 0),
        }
    );
    assert_eq!((got[1].enabled, got[1].expires_at), (false, None));
    let sent = sent(&server, "GetTaskProtection").await;
    let sizes: Vec<usize> = sent.iter().map(|b| b["tasks"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, [100, 50]);
    assert_eq!(sent[0]["cluster"], "prod");
}

#[tokio::test]
async fn task_protection_denied_is_a_typed_error() {
    let server = MockServer::start().await;
    op("GetTaskProtection")
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"__type":"AccessDeniedException","message":"not authorized to perform: ecs:GetTaskProtection"}"#,
            "application/x-amz-json-1.1",
        ))
        .mount(&server)
        .await;
    let conn = Connection::fake(&server.uri());
    let e =
        Ecs::new(&sdk_config(&conn).await, "prod", "web").task_protection(&["t".into()]).await.unwrap_err();
    assert_eq!(e.operation, "ecs:GetTaskProtection");
    assert!(e.to_string().contains("ecs:GetTaskProtection"), "{e}");
}
