//! Issue 15: the controller against real AWS API emulators on 127.0.0.1 — moto for ECS (services,
//! tags, `ListServices`, `DescribeServices` with `include = TAGS`, `UpdateService`), LocalStack for
//! CloudWatch (the load, and the controller's own metrics a restart rebuilds its cooldowns from).
//! The controller runs in-process on the SDK ports, alone (no `[controller]` service: moto runs no
//! tasks, so membership is the fakes' business, see tests/fleet.rs).

#[path = "common/emulators.rs"]
mod emulators;

use std::time::Duration;

use aws_sdk_ecs::types::{ContainerDefinition, LaunchType, Tag};
use chrono::{TimeDelta, Utc};
use trimtab::agent::fleet::ports::SystemClock;
use trimtab::agent::fleet::{Controller, Settings, fake};
use trimtab::aws::{CloudWatch, EcsFleet, Published};
use trimtab::config::model::{Discovery, FleetConfig};
use trimtab::status::{Action, FleetView};

const POLICY: &str = r#"
[scaling]
min = 1
max = 20
scale_out_cooldown = "5m"

[[scaling.metrics]]
name = "cpu"
source = "ecs"
kind = "cpu"
target = 50
weight = 1
"#;

async fn ecs() -> (aws_sdk_ecs::Client, EcsFleet) {
    let sdk = trimtab::aws::sdk_config(&emulators::connection(emulators::moto())).await;
    (aws_sdk_ecs::Client::new(&sdk), EcsFleet::new(&sdk))
}

async fn cloudwatch() -> CloudWatch {
    CloudWatch::new(&trimtab::aws::sdk_config(&emulators::connection(emulators::localstack())).await)
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

async fn service(ecs: &aws_sdk_ecs::Client, cluster: &str, name: &str, tags: Vec<Tag>) {
    let app = ContainerDefinition::builder()
        .name("app")
        .image("public.ecr.aws/nginx/nginx:latest")
        .memory(512)
        .build();
    ecs.register_task_definition().family(name).container_definitions(app).send().await.unwrap();
    ecs.create_service()
        .cluster(cluster)
        .service_name(name)
        .task_definition(name)
        .desired_count(2)
        .launch_type(LaunchType::Ec2)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap();
}

async fn desired(ecs: &aws_sdk_ecs::Client, cluster: &str, name: &str) -> i32 {
    let out = ecs.describe_services().cluster(cluster).services(name).send().await.unwrap();
    out.services()[0].desired_count()
}

fn fleet(clusters: &[&str]) -> FleetConfig {
    let discovery = Discovery {
        clusters: clusters.iter().map(|c| (*c).to_owned()).collect(),
        tag: "trimtab:policy".into(),
        interval: TimeDelta::minutes(5),
    };
    fake::fleet_config(POLICY, &[], Some(discovery))
}

async fn controller(clusters: &[&str]) -> Controller<EcsFleet, CloudWatch, SystemClock> {
    let settings = Settings::alone(Duration::from_secs(15));
    Controller::new(fleet(clusters), settings, ecs().await.1, cloudwatch().await, SystemClock)
}

fn action<'a>(v: &'a FleetView, key: &str) -> Option<&'a Action> {
    v.services.get(key).and_then(|s| s.action.as_ref())
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_tags_pause_and_override_on_moto_survive_a_restart() {
    let (ecs, _) = ecs().await;
    let pid = std::process::id();
    let (a, b) = (format!("ctl-a-{pid}"), format!("ctl-b-{pid}"));
    for c in [&a, &b] {
        ecs.create_cluster().cluster_name(c).send().await.unwrap();
    }
    let until = (Utc::now() + TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let policy = || tag("trimtab:policy", "web");
    service(&ecs, &a, "web", vec![policy()]).await;
    service(&ecs, &b, "api", vec![policy(), tag("team", "payments")]).await;
    service(&ecs, &a, "bad", vec![policy(), tag("trimtab:max", "lots")]).await;
    service(&ecs, &b, "plain", vec![tag("team", "payments")]).await;
    service(&ecs, &a, "paused", vec![policy(), tag("trimtab:paused", "true")]).await;
    service(
        &ecs,
        &b,
        "held",
        vec![policy(), tag("trimtab:override", &format!("count=5 until={until} reason=launch"))],
    )
    .await;
    // Every service runs hot: 90 % CPU on 2 tasks asks for 4 at a target of 50.
    let cw = cloudwatch().await;
    let at = Utc::now() - TimeDelta::minutes(2);
    for (c, n) in [(&a, "web"), (&b, "api"), (&a, "bad"), (&b, "plain"), (&a, "paused"), (&b, "held")] {
        let dims = [("ClusterName".to_owned(), c.clone()), ("ServiceName".to_owned(), n.to_owned())];
        let cpu = [Published { name: "CPUUtilization", value: 90.0, count: false }];
        cw.put_metric_data("AWS/ECS", &dims, &cpu, at).await.unwrap();
    }

    let mut ctl = controller(&[&a, &b]).await;
    let v = ctl.tick().await.clone();
    assert_eq!(v.discovery.as_ref().map(|d| (d.adopted, d.error.clone())), Some((5, None)), "{v:#?}");
    let key = |c: &str, n: &str| format!("{c}/{n}");
    assert!(!v.services.contains_key(&key(&b, "plain")), "no tag, not adopted");
    // Two services scaled in one tick, on their own load.
    assert_eq!(action(&v, &key(&a, "web")), Some(&Action::Applied { from: 2, to: 4 }), "{v:#?}");
    assert_eq!(action(&v, &key(&b, "api")), Some(&Action::Applied { from: 2, to: 4 }));
    assert_eq!((desired(&ecs, &a, "web").await, desired(&ecs, &b, "api").await), (4, 4));
    // The override holds 5; the pause changes nothing; the bad tag is reported, nothing else.
    assert_eq!((desired(&ecs, &b, "held").await, desired(&ecs, &a, "paused").await), (5, 2));
    assert_eq!(action(&v, &key(&a, "paused")), Some(&Action::Paused { from: 2, to: 4 }));
    let bad = v.services[&key(&a, "bad")].problem.clone().unwrap_or_default();
    assert!(bad.contains("trimtab:max") && bad.contains("lots"), "{bad}");
    assert_eq!((desired(&ecs, &a, "bad").await, desired(&ecs, &b, "plain").await), (2, 2));

    // The policy tag goes from api: released, its count left as it is.
    let api_arn = ecs.describe_services().cluster(&b).services("api").send().await.unwrap().services()[0]
        .service_arn()
        .unwrap()
        .to_owned();
    ecs.untag_resource().resource_arn(&api_arn).tag_keys("trimtab:policy").send().await.unwrap();
    let v = ctl.tick().await.clone();
    assert!(!v.services.contains_key(&key(&b, "api")), "{v:#?}");
    assert_eq!(desired(&ecs, &b, "api").await, 4);

    // A new controller process: the tags still hold, and the scale-out a minute ago still
    // counts (its cooldown comes back from the ScaleOut metric the first one published).
    drop(ctl);
    let mut ctl = controller(&[&a, &b]).await;
    let v = ctl.tick().await.clone();
    assert_eq!(action(&v, &key(&a, "paused")), Some(&Action::Paused { from: 2, to: 4 }), "{v:#?}");
    assert_eq!(desired(&ecs, &a, "paused").await, 2);
    assert_eq!(desired(&ecs, &b, "held").await, 5);
    assert_eq!(v.services[&key(&a, "web")].reason.as_deref(), Some("scale_out_cooldown"), "{v:#?}");
    assert_eq!(desired(&ecs, &a, "web").await, 4);
}

/// The binary, as an operator runs it: `trimtab run --once` in controller mode, configured by a
/// file and the standard AWS environment variables only, prints every service's line.
#[tokio::test(flavor = "multi_thread")]
async fn run_once_in_controller_mode_scales_and_reports_each_service() {
    let (ecs, _) = ecs().await;
    let cluster = format!("ctl-run-{}", std::process::id());
    ecs.create_cluster().cluster_name(&cluster).send().await.unwrap();
    service(&ecs, &cluster, "api", vec![]).await;
    service(&ecs, &cluster, "web", vec![tag("trimtab:policy", "hot")]).await;
    let cw = cloudwatch().await;
    for n in ["api", "web"] {
        let dims = [("ClusterName".to_owned(), cluster.clone()), ("ServiceName".to_owned(), n.to_owned())];
        let cpu = [Published { name: "CPUUtilization", value: 90.0, count: false }];
        cw.put_metric_data("AWS/ECS", &dims, &cpu, Utc::now() - TimeDelta::minutes(2)).await.unwrap();
    }
    let config = format!(
        "[agent]\nmode = \"controller\"\n\
         [policies.hot]\nmin = 1\nmax = 20\n\
         [[policies.hot.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 50\n\
         [[services]]\ncluster = \"{cluster}\"\nname = \"api\"\npolicy = \"hot\"\n\
         [discovery]\nclusters = [\"{cluster}\"]\n"
    );
    let file = std::env::temp_dir().join(format!("trimtab-ctl-{}.toml", std::process::id()));
    std::fs::write(&file, config).unwrap();
    let out = emulators::trimtab(&["run", "--once", "--config", file.to_str().unwrap()]).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("members: 1 (self is this controller)\ndiscovery: 1 adopted, 0 released\n"),
        "{stdout}"
    );
    for n in ["api", "web"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{cluster}/{n} ")))
            .unwrap_or_else(|| panic!("{stdout}"));
        assert!(line.contains("acting") && line.contains("desired count set 2 -> 4"), "{line}");
        assert_eq!(desired(&ecs, &cluster, n).await, 4);
    }
}
