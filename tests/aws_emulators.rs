//! The agent against real AWS API emulators on 127.0.0.1, started by the test setup
//! (`tests/emulators/emulator.sh`): moto for ECS, LocalStack for CloudWatch (the current SDK
//! speaks rpc-v2-cbor, which moto lacks). The binary runs as users run it, configured only by
//! the standard AWS environment variables.

#[path = "common/emulators.rs"]
mod emulators;

use std::process::Output;

use aws_sdk_ecs::types::{ContainerDefinition, LaunchType};
use chrono::{TimeDelta, Utc};
use trimtab::aws::{CloudWatch, MetricQuery, Published};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn sdk_moto() -> aws_config::SdkConfig {
    trimtab::aws::sdk_config(&emulators::connection(emulators::moto())).await
}

async fn ecs_client() -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::new(&sdk_moto().await)
}

async fn cloudwatch() -> CloudWatch {
    CloudWatch::new(&trimtab::aws::sdk_config(&emulators::connection(emulators::localstack())).await)
}

/// A new moto cluster named after the test (and this process), with a client.
async fn cluster(name: &str) -> (aws_sdk_ecs::Client, String) {
    let ecs = ecs_client().await;
    let cluster = format!("{name}-{}", std::process::id());
    ecs.create_cluster().cluster_name(&cluster).send().await.unwrap();
    (ecs, cluster)
}

/// The app container, with a hard memory limit in MiB.
fn container(memory: i32) -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("app")
        .image("public.ecr.aws/nginx/nginx:latest")
        .memory(memory)
        .build()
}

/// A cluster and a service of `desired` tasks on moto, with names unique to this test.
async fn service(name: &str, desired: i32) -> String {
    let (ecs, cluster) = cluster(name).await;
    let app = container(512);
    ecs.register_task_definition().family(name).container_definitions(app).send().await.unwrap();
    ecs.create_service()
        .cluster(&cluster)
        .service_name("web")
        .task_definition(name)
        .desired_count(desired)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .unwrap();
    cluster
}

async fn desired(cluster: &str) -> i32 {
    let out = ecs_client().await.describe_services().cluster(cluster).services("web").send().await.unwrap();
    out.services()[0].desired_count()
}

/// The app's Prometheus endpoint, reporting a load gauge.
async fn app(load: f64) -> MockServer {
    let server = MockServer::start().await;
    let body =
        format!("# HELP app_load Work in progress per task.\n# TYPE app_load gauge\napp_load {load}\n");
    Mock::given(method("GET"))
        .and(path("/metrics"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .mount(&server)
        .await;
    server
}

fn write_config(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("trimtab-emu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

fn agent_config(cluster: &str, app: &str, dry_run: bool) -> String {
    format!(
        "[agent]\ndry_run = {dry_run}\n[service]\ncluster = \"{cluster}\"\nname = \"web\"\nlaunch_type = \"ec2\"\n\
         [scaling]\nmin = 1\nmax = 20\n\
         [[scaling.metrics]]\nname = \"load\"\nsource = \"prometheus\"\nurl = \"{app}/metrics\"\ngauge = \"app_load\"\ntarget = 65.0\n"
    )
}

#[tokio::test]
async fn run_once_scales_the_moto_service_exactly_as_decided() {
    let cluster = service("scaleout", 2).await;
    let app = app(180.0).await;
    let file = write_config("scaleout", &agent_config(&cluster, &app.uri(), false));
    let out = emulators::trimtab(&["run", "--once", "--config", file.to_str().unwrap()]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // load 180 against a target of 65: ceil(2 × 180 / 65) = 6, within the +4 step limit.
    assert!(stdout.contains("action: desired count set 2 -> 6"), "{stdout}\n{stderr}");
    assert_eq!(desired(&cluster).await, 6);

    // The heartbeat and the decision landed in CloudWatch (LocalStack).
    let cw = cloudwatch().await;
    let dims = vec![("Cluster".to_owned(), cluster.clone()), ("Service".to_owned(), "web".to_owned())];
    let q = |id: &str, metric: &str| MetricQuery {
        id: id.into(),
        namespace: "Trimtab".into(),
        metric: metric.into(),
        dimensions: dims.clone(),
        statistic: "Maximum".into(),
        period_seconds: 60,
    };
    let now = Utc::now();
    let data = cw
        .get_metric_data(
            &[q("hb", "Heartbeat"), q("desired", "DesiredCount"), q("out", "ScaleOut")],
            now - TimeDelta::minutes(5),
            now + TimeDelta::minutes(1),
        )
        .await
        .unwrap()
        .points;
    assert_eq!(data["hb"][0].1, 1.0, "{data:?}");
    assert_eq!(data["desired"][0].1, 6.0, "{data:?}");
    assert_eq!(data["out"][0].1, 1.0, "{data:?}");
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let cluster = service("dryrun", 2).await;
    let app = app(180.0).await;
    let file = write_config("dryrun", &agent_config(&cluster, &app.uri(), true));
    let out = emulators::trimtab(&["run", "--once", "--config", file.to_str().unwrap()]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("action: dry run: would set the desired count 2 -> 6"), "{stdout}");
    assert_eq!(desired(&cluster).await, 2);
}

#[tokio::test]
async fn get_metric_data_reads_a_batch_from_localstack() {
    let cw = cloudwatch().await;
    let ns = format!("TrimtabTest{}", std::process::id());
    let dims = vec![("Service".to_owned(), "batch".to_owned())];
    let now = Utc::now();
    let values = [
        Published { name: "A", value: 10.0, count: true },
        Published { name: "B", value: 20.0, count: true },
        Published { name: "C", value: 30.0, count: false },
    ];
    cw.put_metric_data(&ns, &dims, &values, now).await.unwrap();
    let queries: Vec<MetricQuery> = ["A", "B", "C"]
        .iter()
        .map(|m| MetricQuery {
            id: format!("q{}", m.to_lowercase()),
            namespace: ns.clone(),
            metric: (*m).into(),
            dimensions: dims.clone(),
            statistic: "Average".into(),
            period_seconds: 60,
        })
        .collect();
    let data =
        cw.get_metric_data(&queries, now - TimeDelta::minutes(5), now + TimeDelta::minutes(1)).await.unwrap();
    assert!(data.incomplete.is_empty(), "{data:?}");
    let data = data.points;
    assert_eq!((data["qa"][0].1, data["qb"][0].1, data["qc"][0].1), (10.0, 20.0, 30.0), "{data:?}");
}

#[tokio::test]
async fn alarms_are_put_idempotently_with_a_breaching_heartbeat() {
    let cluster = format!("alarms-{}", std::process::id());
    let text = format!(
        "[service]\ncluster = \"{cluster}\"\nname = \"web\"\nlaunch_type = \"ec2\"\ncpu = 1024\nmemory = 2048\n\
         [cost]\ninstance_type = \"m6i.large\"\n[budget]\nmonthly_usd = 100\n[alarms]\nenabled = true\ncpu_high = 80\n"
    );
    let file = write_config("alarms", &text);
    // Plan, apply, apply again: the second apply finds nothing to change.
    let steps: [(&[&str], &str); 3] = [
        (&[], "4 of 4 alarms would change"),
        (&["--apply"], "4 of 4 alarms changed"),
        (&["--apply"], "0 of 4 alarms changed"),
    ];
    for (extra, want) in steps {
        let mut args = vec!["alarms", "--config", file.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = emulators::trimtab(&args).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(want),
            "{want:?}:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let alarms = cloudwatch().await.alarms(&format!("trimtab-{cluster}-web-")).await.unwrap();
    let names: Vec<&str> = alarms.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    let forecast = alarms.iter().find(|a| a.name.ends_with("budget-forecast")).unwrap();
    assert_eq!(
        (forecast.metric.as_str(), forecast.threshold),
        ("BudgetForecast", 90.0),
        "the critical level"
    );
    let hb = alarms.iter().find(|a| a.name.ends_with("heartbeat-missing")).unwrap();
    assert_eq!(
        (hb.namespace.as_str(), hb.metric.as_str(), hb.treat_missing_data.as_str()),
        ("Trimtab", "Heartbeat", "breaching")
    );
    let cpu = alarms.iter().find(|a| a.name.ends_with("cpu-high")).unwrap();
    assert_eq!(cpu.threshold, 80.0);
}

#[tokio::test]
async fn simulate_replays_the_services_own_history_from_cloudwatch() {
    let cw = cloudwatch().await;
    let cluster = format!("history-{}", std::process::id());
    let ecs_dims =
        vec![("ClusterName".to_owned(), cluster.clone()), ("ServiceName".to_owned(), "web".to_owned())];
    let own_dims = vec![("Cluster".to_owned(), cluster.clone()), ("Service".to_owned(), "web".to_owned())];
    // Three hours of a daily-looking wave: 2–6 tasks at 40–90% CPU.
    let now = Utc::now();
    let minutes = 180;
    for m in 0..minutes {
        let t = now - TimeDelta::minutes(minutes - m);
        let phase = (m as f64 / minutes as f64 * std::f64::consts::PI).sin();
        let cpu = [Published { name: "CPUUtilization", value: 40.0 + 50.0 * phase, count: false }];
        let tasks = [Published { name: "DesiredCount", value: (2.0 + 4.0 * phase).round(), count: true }];
        cw.put_metric_data("AWS/ECS", &ecs_dims, &cpu, t).await.unwrap();
        cw.put_metric_data("Trimtab", &own_dims, &tasks, t).await.unwrap();
    }
    let text = format!(
        "[service]\ncluster = \"{cluster}\"\nname = \"web\"\nlaunch_type = \"ec2\"\n[scaling]\nmin = 1\nmax = 20\n"
    );
    let file = write_config("history", &text);
    let out = emulators::trimtab(&[
        "simulate",
        "--from-cloudwatch",
        "--config",
        file.to_str().unwrap(),
        "--days",
        "1",
        "--compare",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let trace_line = stdout.lines().next().unwrap();
    assert!(
        trace_line.contains(&format!("cloudwatch:{cluster}/web (CPU × tasks from Trimtab DesiredCount")),
        "{stdout}"
    );
    let rows: usize = trace_line.split('(').nth(2).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!((minutes as usize - 2..=minutes as usize).contains(&rows), "{rows} rows: {trace_line}");
    for name in ["aws-target-tracking", "k8s-hpa", "oracle"] {
        assert!(stdout.lines().any(|l| l.starts_with(name)), "{name} missing:\n{stdout}");
    }
}

/// A Fargate-style task definition of 1024/2048 with a tag, and a service running it.
async fn sized_service(name: &str, container_memory: i32) -> (String, String) {
    use aws_sdk_ecs::types::{Compatibility, NetworkMode, Tag};
    let (ecs, cluster) = cluster(name).await;
    let app = container(container_memory);
    let td = ecs
        .register_task_definition()
        .family(name)
        .container_definitions(app)
        .cpu("1024")
        .memory("2048")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .tags(Tag::builder().key("team").value("web").build())
        .send()
        .await
        .unwrap();
    let arn = td.task_definition().unwrap().task_definition_arn().unwrap().to_owned();
    ecs.create_service()
        .cluster(&cluster)
        .service_name("web")
        .task_definition(&arn)
        .desired_count(2)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .unwrap();
    (cluster, arn)
}

/// A week of light use (200 CPU units, 600 MiB) sized for a 1024/2048 task: a recommended downsize.
fn light_week() -> (trimtab::core::rightsize::Sizing, trimtab::core::rightsize::Need) {
    use trimtab::core::rightsize::{Estimator, Params, PriceCtx, Size, floor, recommend};
    let start = Utc::now() - TimeDelta::days(7);
    let mut est = Estimator::new();
    for i in 0..2016 {
        let at = start + TimeDelta::minutes(5 * i);
        est.add_cpu(at, 200.0);
        est.add_memory(at, 600.0);
    }
    let cfg = trimtab::config::from_str(
        "t.toml",
        "[service]\ncluster = \"c\"\nname = \"web\"\nregion = \"us-east-1\"\ncpu = 1024\nmemory = 2048\n",
    )
    .unwrap();
    let shape = cfg.service.as_ref().unwrap().shape().unwrap();
    let ctx = PriceCtx { shape: &shape, sheet: cfg.prices.as_ref().unwrap() };
    let z = recommend(&est, Size { cpu: 1024, memory: 2048 }, &ctx, &Params::default(), Utc::now()).unwrap();
    assert!(z.recommended, "{:?}", z.reasons);
    (z, floor(&est))
}

/// moto leaves every deployment `IN_PROGRESS` for good; real ECS completes it once the tasks
/// are healthy. The state as it reads after a finished rollout:
fn settled(mut s: trimtab::aws::ServiceState) -> trimtab::aws::ServiceState {
    assert!(s.deployment_in_progress(), "moto reports its deployment in progress: {:?}", s.deployments);
    s.deployments.retain(|d| d.status == "PRIMARY");
    for d in &mut s.deployments {
        d.rollout_state = Some("COMPLETED".into());
    }
    s
}

/// A tick's deadline with room for the emulator.
fn deadline() -> trimtab::agent::deadline::Deadline {
    trimtab::agent::deadline::Deadline::new(std::time::Duration::from_secs(60), None)
}

fn apply_mode() -> trimtab::config::model::VerticalConfig {
    let text = "[service]\ncluster = \"c\"\nname = \"web\"\ncpu = 1024\nmemory = 2048\n[vertical]\nmode = \"apply\"\n";
    trimtab::config::from_str("t.toml", text).unwrap().vertical
}

#[tokio::test]
async fn vertical_apply_registers_a_resized_revision_and_updates_the_moto_service() {
    let (cluster, old) = sized_service("resize", 512).await;
    let ecs = trimtab::aws::Ecs::new(&sdk_moto().await, &cluster, "web");
    let state = settled(ecs.describe_service().await.unwrap());
    assert_eq!(state.task_definition.as_deref(), Some(old.as_str()));
    let (sizing, floor) = light_week();
    let vcfg = apply_mode();
    let mut applier = trimtab::agent::vertical::Applier::default();
    let size = applier.consider(&ecs, &state, (&sizing, floor), &vcfg, Utc::now(), &deadline()).await;
    assert_eq!(size, Ok(Some(sizing.target)), "{:?}", applier.last);

    // moto now runs revision 2, a copy with the new size, the old tag and trimtab's.
    let client = ecs_client().await;
    let svc = client.describe_services().cluster(&cluster).services("web").send().await.unwrap();
    let new = svc.services()[0].task_definition().unwrap().to_owned();
    assert!(new.ends_with("resize:2"), "{new}");
    let out = client
        .describe_task_definition()
        .task_definition(&new)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    let td = out.task_definition().unwrap();
    assert_eq!(
        (td.cpu(), td.memory()),
        (Some(sizing.target.cpu.to_string().as_str()), Some(sizing.target.memory.to_string().as_str()))
    );
    assert_eq!(td.container_definitions()[0].name(), Some("app"));
    assert_eq!(td.network_mode(), Some(&aws_sdk_ecs::types::NetworkMode::Awsvpc));
    let tags: Vec<_> = out.tags().iter().map(|t| (t.key().unwrap(), t.value().unwrap())).collect();
    assert!(
        tags.contains(&("team", "web")) && tags.contains(&("trimtab:resized-from", "1024/2048")),
        "{tags:?}"
    );

    // The agent, restarted, sees its own fresh revision and waits out the interval.
    let state = settled(ecs.describe_service().await.unwrap());
    let mut restarted = trimtab::agent::vertical::Applier::default();
    let (z, f) = light_week();
    assert_eq!(restarted.consider(&ecs, &state, (&z, f), &vcfg, Utc::now(), &deadline()).await, Ok(None));
    assert_eq!(restarted.last.unwrap().outcome, "waiting");
}

#[tokio::test]
async fn vertical_apply_refuses_a_size_a_container_does_not_fit_and_registers_nothing() {
    // The container's hard limit of 1536 MiB does not fit the 1024 MiB the right-sizer wants.
    let (cluster, old) = sized_service("nofit", 1536).await;
    let ecs = trimtab::aws::Ecs::new(&sdk_moto().await, &cluster, "web");
    let state = settled(ecs.describe_service().await.unwrap());
    let (sizing, floor) = light_week();
    assert!(sizing.target.memory < 1536);
    let vcfg = apply_mode();
    let mut applier = trimtab::agent::vertical::Applier::default();
    let size = applier.consider(&ecs, &state, (&sizing, floor), &vcfg, Utc::now(), &deadline()).await;
    assert_eq!(size, Ok(None));
    let last = applier.last.unwrap();
    assert_eq!(last.outcome, "failed");
    assert!(last.message.contains("container app has a hard memory limit of 1536 MiB"), "{}", last.message);
    let revisions = ecs_client().await.list_task_definitions().family_prefix("nofit").send().await.unwrap();
    assert_eq!(revisions.task_definition_arns(), [old], "nothing registered");
}

/// Runs the binary as an operator would from a laptop: credentials from the environment, the
/// region and the endpoint (moto) as flags only.
async fn operator(args: &[&str]) -> Output {
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    args.extend(["--region".into(), "us-east-1".into(), "--endpoint-url".into(), emulators::moto().into()]);
    tokio::task::spawn_blocking(move || emulators::binary().args(&args).output().unwrap()).await.unwrap()
}

/// The one line a command printed; fails the test, with its stderr, if it did not succeed.
fn said(out: &Output) -> String {
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    stdout.trim_end().to_owned()
}

/// The service's tags, as the SDK reads them back from moto.
async fn tags_of(ecs: &aws_sdk_ecs::Client, arn: &str) -> Vec<(String, String)> {
    let out = ecs.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
    let mut tags: Vec<(String, String)> =
        out.tags().iter().map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned())).collect();
    tags.sort();
    tags
}

#[tokio::test]
async fn pause_override_and_resume_write_exactly_the_operator_tags_on_moto() {
    use aws_sdk_ecs::types::Tag;
    let (ecs, cluster) = cluster("operator").await;
    ecs.register_task_definition()
        .family("operator")
        .container_definitions(container(512))
        .send()
        .await
        .unwrap();
    let mut arns = Vec::new();
    for name in ["checkout", "search"] {
        let out = ecs
            .create_service()
            .cluster(&cluster)
            .service_name(name)
            .task_definition("operator")
            .desired_count(2)
            .launch_type(LaunchType::Ec2)
            .tags(Tag::builder().key("trimtab:policy").value("web").build())
            .send()
            .await
            .unwrap();
        arns.push(out.service().unwrap().service_arn().unwrap().to_owned());
    }
    let (checkout, search) = (arns[0].as_str(), arns[1].as_str());
    let policy = ("trimtab:policy".to_owned(), "web".to_owned());
    fn with<'a>(cmd: &'a str, cluster: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        [&[cmd, "--cluster", cluster, "--service", "checkout"][..], extra].concat()
    }

    let line = said(&operator(&with("pause", &cluster, &[])).await);
    assert_eq!(
        line,
        format!(
            "paused {cluster}/checkout ({checkout}): trimtab will decide and report but change nothing until resumed"
        )
    );
    assert_eq!(tags_of(&ecs, checkout).await, [("trimtab:paused".into(), "true".into()), policy.clone()]);

    let until = (Utc::now() + TimeDelta::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let line = said(
        &operator(&with(
            "override",
            &cluster,
            &["--count", "6", "--until", &until, "--reason", "black friday"],
        ))
        .await,
    );
    assert_eq!(
        line,
        format!(
            "override on {cluster}/checkout ({checkout}): trimtab holds it at 6 tasks, within its policy's bounds, \
             until {until} (black friday)"
        )
    );
    let held = ("trimtab:override".to_owned(), format!("count=6 until={until} reason=black friday"));
    assert_eq!(
        tags_of(&ecs, checkout).await,
        [held.clone(), ("trimtab:paused".into(), "true".into()), policy.clone()]
    );

    let line = said(&operator(&with("resume", &cluster, &[])).await);
    assert_eq!(line, format!("resumed {cluster}/checkout ({checkout}): trimtab scales it again"));
    assert_eq!(tags_of(&ecs, checkout).await, [held, policy.clone()]);
    let line = said(&operator(&with("resume", &cluster, &[])).await);
    assert_eq!(line, format!("{cluster}/checkout ({checkout}) was not paused: nothing to do"));

    let line = said(&operator(&with("override", &cluster, &["--clear"])).await);
    assert_eq!(
        line,
        format!(
            "override cleared on {cluster}/checkout ({checkout}): trimtab scales it on its metrics again"
        )
    );
    assert_eq!(tags_of(&ecs, checkout).await, std::slice::from_ref(&policy));
    assert_eq!(tags_of(&ecs, search).await, [policy], "the other service is untouched");

    let out = operator(&["pause", "--cluster", &cluster, "--service", "nope"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("service nope not found in cluster {cluster}: MISSING")), "{stderr}");
}
