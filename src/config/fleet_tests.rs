//! Controller mode's config (issue 15): the example is read as written; each refusal is located
//! at its file, line, column and key path; the tags a controller reads at run time are checked
//! by the rules the config's own policies are.

use chrono::TimeDelta;

use super::model::{ControllerConfig, Discovery, FleetService, SourceSpec};
use super::*;
use crate::core::Replicas;

const EXAMPLE: &str = include_str!("../../examples/controller.toml");

fn errors(text: &str) -> Vec<String> {
    match from_str("t.toml", text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.diagnostics().iter().map(ToString::to_string).collect(),
    }
}

/// The smallest controller config: one listed service on a template.
const MINIMAL: &str = "[agent]\nmode = \"controller\"\n[[services]]\ncluster = \"prod\"\nname = \"web\"\npolicy = \"web-balanced\"\n";

/// A controller config with `extra` after its one listed service.
fn controller(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

#[test]
fn the_controller_example_is_accepted_as_written() {
    let c = from_str("controller.toml", EXAMPLE).unwrap();
    assert_eq!(c.agent.mode, Mode::Controller);
    assert!(c.service.is_none() && c.budget.is_none() && c.pools.is_empty());
    let f = c.fleet.expect("controller mode has a fleet");
    assert_eq!(
        f.controller,
        ControllerConfig {
            region: Some("eu-west-1".into()),
            endpoint_url: None,
            cluster: Some("ops".into()),
            service: Some("trimtab-controller".into()),
            container: "trimtab".into(),
        }
    );
    assert_eq!(f.policies.keys().collect::<Vec<_>>(), ["web", "worker"]);
    let web = &f.policies["web"];
    assert_eq!(
        (web.template.as_str(), web.policy.bounds.min(), web.policy.bounds.max()),
        ("web-balanced", Replicas(2), Replicas(40))
    );
    assert_eq!(web.policy.scale_out_cooldown, TimeDelta::minutes(2), "from the template");
    assert_eq!(web.policy.schedules[0].min, Some(4));
    let worker = &f.policies["worker"];
    assert_eq!(worker.policy.bounds.min(), Replicas(0), "the queue wakes it");
    let SourceSpec::Cloudwatch(q) = &worker.sources[0].spec else { panic!("{:?}", worker.sources[0]) };
    assert_eq!(q.dimensions, [("QueueName".to_owned(), "{cluster}-{service}".to_owned())], "kept as written");
    let listed =
        |c: &str, n: &str, p: &str| FleetService { cluster: c.into(), name: n.into(), policy: p.into() };
    assert_eq!(
        f.services,
        [
            listed("prod", "checkout", "web"),
            listed("prod", "invoice-worker", "worker"),
            listed("staging", "checkout", "dev-minimal")
        ]
    );
    assert_eq!(
        f.discovery,
        Some(Discovery {
            clusters: vec!["prod".into(), "staging".into()],
            tag: "trimtab:policy".into(),
            interval: TimeDelta::minutes(5),
        })
    );
    assert_eq!(f.templates.keys().map(String::as_str).collect::<Vec<_>>().len(), templates::names().len());
    for name in templates::names() {
        assert_eq!(f.templates[name].template, name);
    }
    assert_eq!(f.policy("web").map(|p| p.policy.bounds.max()), Some(Replicas(40)));
    assert_eq!(f.policy("ml-gpu").map(|p| p.template.as_str()), Some("ml-gpu"));
    assert!(f.policy("nope").is_none());
}

#[test]
fn a_minimal_controller_takes_the_defaults() {
    let c = from_str("t.toml", MINIMAL).unwrap();
    let f = c.fleet.unwrap();
    assert_eq!(f.controller.container, "trimtab");
    assert_eq!((&f.controller.cluster, &f.controller.service, &f.discovery), (&None, &None, &None));
    assert_eq!(f.policy_tag(), "trimtab:policy");
    let d = from_str("t.toml", &controller("[discovery]\nclusters = [\"prod\"]\n"))
        .unwrap()
        .fleet
        .unwrap()
        .discovery
        .unwrap();
    assert_eq!((d.tag.as_str(), d.interval), ("trimtab:policy", TimeDelta::minutes(5)));
    // Sidecar mode, written or not, has no fleet.
    assert_eq!(from_str("t.toml", "[agent]\nmode = \"sidecar\"\n").unwrap().fleet, None);
    assert_eq!(from_str("t.toml", "").unwrap().agent.mode, Mode::Sidecar);
}

#[test]
fn an_unknown_mode_lists_both() {
    assert_eq!(
        errors("[agent]\nmode = \"fleet\"\n[[services]]\nname = \"x\"\n"),
        ["t.toml:2:1: agent.mode: unknown value \"fleet\"; expected one of sidecar, controller"],
        "with the mode unknown, no section is refused"
    );
}

#[test]
fn each_mode_refuses_the_other_modes_sections() {
    let sidecar = "[service]\ncluster = \"c\"\nname = \"s\"\nlaunch_type = \"ec2\"\n[scaling]\nmax = 5\n\
        [[schedule]]\nname = \"w\"\ncron = \"0 8 * * *\"\nduration = \"1h\"\nmin = 2\n\
        [pools.jobs]\ncapacity = 5\n[vertical]\nmode = \"off\"\n[budget]\nmonthly_usd = 100\n";
    let e = errors(&controller(sidecar));
    assert_eq!(
        e,
        [
            "t.toml:7:2: service: controller mode scales services listed in [[services]] or found by [discovery], not one [service]; list it as [[services]] with cluster, name and policy",
            "t.toml:11:2: scaling: controller mode scales services listed in [[services]] or found by [discovery]; put the policy in [policies.NAME]",
            "t.toml:13:3: schedule: controller mode has no top-level [[schedule]]; put the windows in the policy they change, as [[policies.NAME.schedule]]",
            "t.toml:18:2: pools: pools are served by a sidecar's local API inside the service's tasks; a controller runs outside them and has none (use sidecar mode)",
            "t.toml:20:2: vertical: controller mode does not right-size tasks; [vertical] works in sidecar mode, next to the one service it sizes",
            "t.toml:22:2: budget: controller mode has no budget; a [budget] pays for the one [service] of a sidecar (use sidecar mode)",
        ]
    );
    let only = "read only in controller mode: set agent.mode = \"controller\" to scale the services listed in [[services]] or found by [discovery]; a sidecar scales the one [service] by [scaling]";
    let e = errors(
        "[controller]\nregion = \"eu-west-1\"\n[policies.web]\nmin = 2\n[[services]]\nname = \"x\"\n[discovery]\nclusters = []\n",
    );
    assert_eq!(
        e,
        [
            format!("t.toml:1:2: controller: {only}"),
            format!("t.toml:3:2: policies: {only}"),
            format!("t.toml:5:3: services: {only}"),
            format!("t.toml:7:2: discovery: {only}"),
        ]
    );
}

#[test]
fn controller_rules_are_each_located() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[agent]\nmode = \"controller\"\n",
            &[
                "t.toml:2:1: agent.mode: a controller needs services to scale: list them as [[services]] (cluster, name, policy), or find them by tag with [discovery]",
            ],
        ),
        (
            "[agent]\nmode = \"controller\"\ninterval = \"5s\"\n[discovery]\nclusters = [\"prod\"]\n",
            &[
                "t.toml:3:1: agent.interval: controller mode needs agent.interval of at least 10s: a service changes owner only after one interval, and an UpdateService takes up to 8s (got \"5s\")",
            ],
        ),
        (
            "[agent]\nmode = \"controller\"\n[policies.web]\nmin = 2\n[[services]]\ncluster = \"prod\"\nname = \"a\"\npolicy = \"wbe\"\n",
            &[
                "t.toml:8:11: services[0].policy: unknown policy \"wbe\"; did you mean \"web\"? [policies]: web; templates: web-balanced, web-aggressive, api-performance, batch-cost-optimized, ml-gpu, dev-minimal",
            ],
        ),
        (
            &controller("[[services]]\ncluster = \"prod\"\nname = \"web\"\npolicy = \"api-performance\"\n"),
            &[
                "t.toml:9:1: services[1].name: duplicate service prod/web (also services[0])",
                "t.toml:10:11: services[1].policy: template \"api-performance\" reads metric \"latency_p95_ms\" from the app's Prometheus endpoint inside a task, but a controller reads CloudWatch only: use a [policies.NAME] with template = \"api-performance\" and [[policies.NAME.metrics]] from source = \"ecs\" or \"cloudwatch\"",
            ],
        ),
        (
            &controller("[[services]]\ncluster = \" \"\n"),
            &[
                "t.toml:7:1: services[1].name: missing required key",
                "t.toml:7:1: services[1].policy: missing required key",
                "t.toml:8:1: services[1].cluster: must not be empty",
            ],
        ),
        (
            &controller(
                "[controller]\ncluster = \"ops\"\nregion = \"Ireland\"\nendpoint_url = \"localhost:5000\"\ncontainer = \"\"\n",
            ),
            &[
                "t.toml:8:1: controller.cluster: give cluster and service together (the controller's own ECS service, whose healthy tasks share the services), or neither to run as the only controller",
                "t.toml:9:1: controller.region: \"Ireland\" is not an AWS region name (e.g. \"us-east-1\")",
                "t.toml:10:1: controller.endpoint_url: \"localhost:5000\" is not an http:// or https:// URL",
                "t.toml:11:1: controller.container: must not be empty",
            ],
        ),
        (
            &controller(
                "[discovery]\nclusters = [\"prod\", \"\", \"prod\"]\ntag = \"\"\ninterval = \"10s\"\n",
            ),
            &[
                "t.toml:8:21: discovery.clusters[1]: must not be empty",
                "t.toml:8:25: discovery.clusters[2]: duplicate cluster \"prod\"",
                "t.toml:9:1: discovery.tag: must not be empty",
                "t.toml:10:1: discovery.interval: must be from 30s to 1d, got \"10s\"",
            ],
        ),
        (
            &controller(&format!(
                "[discovery]\nclusters = []\ntag = \"{}\"\ninterval = \"2d\"\n",
                "t".repeat(129)
            )),
            &[
                "t.toml:8:1: discovery.clusters: must name at least one cluster",
                "t.toml:9:1: discovery.tag: must be at most 128 characters (an AWS tag key), got 129",
                "t.toml:10:1: discovery.interval: must be from 30s to 1d, got \"2d\"",
            ],
        ),
        (
            &controller("[discovery]\ntag = \"owner\"\n"),
            &[
                "t.toml:7:2: discovery.clusters: missing required key (the clusters whose tagged services to adopt)",
            ],
        ),
        (
            "[agent]\nmode = \"controller\"\n[services]\nname = \"x\"\n[discovery]\nclusters = [\"prod\"]\n",
            &["t.toml:3:2: services: expected an array of tables ([[services]])"],
        ),
        (
            &controller("[discovery]\nclusters = [\"prod\"]\nintervall = \"5m\"\n"),
            &[
                "t.toml:9:1: discovery.intervall: unknown field `intervall`, did you mean `interval`? expected one of `clusters`, `tag`, `interval`",
            ],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(errors(text), *want, "{text}");
    }
}

/// A named policy is read as `[scaling]` is, with its problems at `policies.NAME` key paths.
#[test]
fn a_named_policy_is_checked_as_scaling_is() {
    let text = controller(
        "[policies.web]\ntemplate = \"web-balancd\"\nmin = 5\nmax = 3\nbogus = 1\n\
         [[policies.web.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 70.0\nweight = -1.0\n\
         [[policies.web.schedule]]\nname = \"peak\"\ncron = \"0 25 * * *\"\nduration = \"1h\"\nmin = 4\n\
         [policies.\"a.b\"]\nmin = 1\n",
    );
    assert_eq!(
        errors(&text),
        [
            "t.toml:8:1: policies.web.template: unknown template \"web-balancd\"; did you mean \"web-balanced\"? known templates: web-balanced, web-aggressive, api-performance, batch-cost-optimized, ml-gpu, dev-minimal",
            "t.toml:9:1: policies.web.min: min (5) must not exceed max (3)",
            "t.toml:11:1: policies.web.bogus: unknown field `bogus`, expected one of `template`, `min`, `max`, `scale_out_tolerance`, `scale_in_tolerance`, `scale_out_threshold`, `scale_in_threshold`, `setpoint`, `drift_tolerance`, `scale_out_cooldown`, `scale_in_cooldown`, `scale_in_stabilization`, `max_scale_out_step`, `max_scale_in_step`, `on_missing_data`, `max_metric_age`, `lookahead`, `trend_window`, `metrics`",
            "t.toml:16:1: policies.web.metrics[0].weight: must be 0 (shown, not steering) or from 0.000001 to 1000000, got -1.0",
            "t.toml:19:11: policies.web.schedule[0].cron: hours \"25\" out of range 0-23 in \"0 25 * * *\"",
            "t.toml:22:11: policies.a.b: a policy name must be 1-128 letters, digits, '-' or '_' (a service's tag names it)",
        ]
    );
    let e = errors(&controller(
        "[policies.web]\nmax = 40\n[[policies.web.schedule]]\nname = \"peak\"\ncron = \"0 8 * * *\"\nduration = \"1h\"\nmin = 50\n",
    ));
    assert_eq!(
        e,
        [
            "t.toml:13:1: policies.web.schedule[0].min: window bounds are empty: min 50 > max 40 (a key the window leaves out comes from [policies.web])"
        ]
    );
    let e = errors(&controller("[policies.web]\nmin = 0\n"));
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("t.toml:8:1: policies.web.min: min = 0 could never scale up again"), "{e:?}");
}

#[test]
fn a_controller_policy_reads_cloudwatch_only() {
    let metric = |body: &str| {
        controller(&format!(
            "[policies.p]\nmax = 5\n[[policies.p.metrics]]\nname = \"m\"\ntarget = 50.0\n{body}"
        ))
    };
    let rest = "but a controller runs outside the services' tasks and reads CloudWatch only: use source = \"ecs\" (the service's CPU and memory in AWS/ECS) or source = \"cloudwatch\"";
    let cases = [
        (
            "source = \"prometheus\"\nurl = \"http://127.0.0.1:8080/metrics\"\ngauge = \"g\"\n",
            "t.toml:12:1: policies.p.metrics[0].source: metric \"m\" reads the app's Prometheus endpoint inside a task",
        ),
        (
            "source = \"ecs\"\nkind = \"cpu\"\nscope = \"task\"\n",
            "t.toml:14:1: policies.p.metrics[0].scope: metric \"m\" reads one task's metadata endpoint (scope = \"task\")",
        ),
        (
            "source = \"host\"\nkind = \"cpu\"\n",
            "t.toml:12:1: policies.p.metrics[0].source: metric \"m\" reads the host a task runs on",
        ),
        (
            "source = \"pools\"\n",
            "t.toml:12:1: policies.p.metrics[0].source: metric \"m\" reads the pools of a sidecar's local API",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(errors(&metric(body)), [format!("{want}, {rest}")], "{body}");
    }
    for ok in [
        "source = \"ecs\"\nkind = \"cpu\"\n",
        "source = \"ecs\"\nkind = \"memory\"\nscope = \"service\"\n",
        "source = \"cloudwatch\"\nnamespace = \"AWS/SQS\"\nmetric = \"X\"\n",
    ] {
        from_str("t.toml", &metric(ok)).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    // A template's metrics the controller cannot read are shown in the template's file.
    let e = errors(&controller("[policies.api]\ntemplate = \"api-performance\"\n"));
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0].starts_with("policies/api-performance.toml:23:1: policies.api.metrics[0].source: metric \"latency_p95_ms\" reads the app's Prometheus endpoint"), "{e:?}");
    assert!(
        e[1].starts_with(
            "policies/api-performance.toml:39:1: policies.api.metrics[2].source: metric \"error_rate_pct\""
        ),
        "{e:?}"
    );
}

#[test]
fn dimension_placeholders_are_checked_in_a_controllers_policies() {
    let cw = |table: &str, value: &str| {
        format!(
            "[[{table}.metrics]]\nname = \"q\"\nsource = \"cloudwatch\"\nnamespace = \"AWS/SQS\"\nmetric = \"X\"\ntarget = 5.0\ndimensions = {{ QueueName = \"{value}\" }}\n"
        )
    };
    let ok = from_str(
        "t.toml",
        &controller(&format!("[policies.p]\n{}", cw("policies.p", "{cluster}/{service}-{x"))),
    )
    .unwrap();
    let SourceSpec::Cloudwatch(q) = &ok.fleet.unwrap().policies["p"].sources[0].spec else { panic!() };
    assert_eq!(q.dimensions[0].1, "{cluster}/{service}-{x");
    assert_eq!(
        errors(&controller(&format!("[policies.p]\n{}", cw("policies.p", "jobs-{svc}")))),
        [
            "t.toml:14:34: policies.p.metrics[0].dimensions.QueueName: unknown placeholder {svc}; a controller fills in {cluster} and {service}"
        ]
    );
    // A sidecar fills in nothing and takes any value as written.
    let c = from_str("t.toml", &cw("scaling", "{service}")).unwrap();
    let SourceSpec::Cloudwatch(q) = &c.scaling.sources[0].spec else { panic!() };
    assert_eq!(q.dimensions[0].1, "{service}");
}

#[test]
fn every_example_loads() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut loaded = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            loaded.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    loaded.sort();
    assert!(loaded.contains(&"controller.toml".to_owned()) && loaded.len() >= 4, "{loaded:?}");
}

// ---- the tags a controller reads at run time ----

/// A fleet with `[policies.web]` (2..40, a business-hours window with min 4) and `[policies.queue]`
/// (0..50 on an SQS backlog), and every template.
fn tagged_fleet() -> FleetConfig {
    from_str("controller.toml", EXAMPLE).unwrap().fleet.unwrap()
}

/// The policy tag's value, the min and max tags' (if any), and what comes of them.
type Tags<'a, T> = (&'a str, Option<&'a str>, Option<&'a str>, T);

#[test]
fn tags_name_a_policy_and_set_its_bounds() {
    let f = tagged_fleet();
    let bounds = |name: &str, min: Option<&str>, max: Option<&str>| {
        fleet::policy_for(&f, name, min, max)
            .map(|s| (s.template, s.policy.bounds.min().get(), s.policy.bounds.max().get()))
    };
    let ok: &[Tags<(&str, u32, u32)>] = &[
        ("web", None, None, ("web-balanced", 2, 40)),
        ("web", Some("4"), Some("8"), ("web-balanced", 4, 8)),
        ("web", Some(" 6 "), None, ("web-balanced", 6, 40)),
        ("worker", Some("0"), Some("10000"), ("batch-cost-optimized", 0, 10000)),
        ("dev-minimal", None, Some("2"), ("dev-minimal", 1, 2)),
        ("web-balanced", Some("3"), None, ("web-balanced", 3, 10)),
    ];
    for (name, min, max, want) in ok {
        assert_eq!(
            bounds(name, *min, *max),
            Ok((want.0.to_owned(), want.1, want.2)),
            "{name} {min:?} {max:?}"
        );
    }
    let refused: &[Tags<&str>] = &[
        ("web", None, Some("lots"), "tag trimtab:max = \"lots\": not a whole number"),
        ("web", Some("2.5"), None, "tag trimtab:min = \"2.5\": not a whole number"),
        ("web", Some("-1"), None, "tag trimtab:min = \"-1\": must be a whole number from 0 to 10000"),
        ("web", None, Some("10001"), "tag trimtab:max = \"10001\": must be a whole number from 0 to 10000"),
        ("web", Some("50"), None, "tag trimtab:min = \"50\": above the policy's max (40)"),
        ("web", None, Some("1"), "tag trimtab:max = \"1\": below the policy's min (2)"),
        (
            "web",
            Some("9"),
            Some("5"),
            "tags trimtab:min = \"9\" and trimtab:max = \"5\": min must not exceed max",
        ),
        (
            "web",
            None,
            Some("3"),
            "tag trimtab:max = \"3\": the policy's schedule window \"business-hours\": window bounds are empty: min 4 > max 3",
        ),
        (
            "gpu",
            None,
            None,
            "tag trimtab:policy = \"gpu\": no such policy; [policies]: web, worker; templates: api-performance, batch-cost-optimized, dev-minimal, ml-gpu, web-aggressive, web-balanced",
        ),
        (
            "ml-gpu",
            None,
            None,
            "tag trimtab:policy = \"ml-gpu\": template \"ml-gpu\" reads metric \"latency_p95_ms\" from the app's Prometheus endpoint inside a task, but a controller reads CloudWatch only: use a [policies.NAME] with template = \"ml-gpu\" and [[policies.NAME.metrics]] from source = \"ecs\" or \"cloudwatch\"",
        ),
    ];
    for (name, min, max, want) in refused {
        assert_eq!(bounds(name, *min, *max), Err((*want).to_owned()), "{name} {min:?} {max:?}");
    }
}

/// `trimtab:min = "0"` is held to the rule `[scaling]`'s `min = 0` is: a way back from zero.
#[test]
fn a_tag_may_bring_min_to_zero_only_with_a_way_back() {
    let f = tagged_fleet();
    let e = fleet::policy_for(&f, "dev-minimal", Some("0"), None).unwrap_err();
    assert!(e.starts_with("tag trimtab:min = \"0\": min = 0 could never scale up again"), "{e}");
    let scaling_rule = errors("[scaling]\nmin = 0\n");
    assert!(
        scaling_rule[0].ends_with(&e["tag trimtab:min = \"0\": ".len()..]),
        "the same rule, in the same words"
    );
    // The web policy's business-hours window raises min, so it wakes; the worker's queue wakes it.
    assert!(fleet::policy_for(&f, "web", Some("0"), None).is_ok());
    assert!(fleet::policy_for(&f, "worker", Some("0"), None).is_ok());
    // A discovery tag of its own is named in the messages.
    let mut f = f;
    f.discovery.as_mut().unwrap().tag = "team:scaling".into();
    assert!(
        fleet::policy_for(&f, "nope", None, None)
            .unwrap_err()
            .starts_with("tag team:scaling = \"nope\": no such policy")
    );
}

/// One service must have one key: a cluster given as an ARN in one place and a name in another
/// would be managed twice (review of issue 15).
#[test]
fn clusters_and_services_are_names_not_arns() {
    let arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod";
    let text = format!(
        "[agent]\nmode = \"controller\"\n[[services]]\ncluster = \"{arn}\"\nname = \"web/x\"\npolicy = \"web-balanced\"\n\
         [discovery]\nclusters = [\"{arn}\"]\n"
    );
    assert_eq!(
        errors(&text),
        [
            format!(
                "t.toml:4:1: services[0].cluster: \"{arn}\" is an ARN; write the name alone (the controller knows each service as cluster/name, once)"
            ),
            "t.toml:5:1: services[0].name: \"web/x\" is not an ECS name (1 to 255 letters, digits, - and _)"
                .to_owned(),
            format!(
                "t.toml:8:13: discovery.clusters[0]: \"{arn}\" is an ARN; write the name alone (the controller knows each service as cluster/name, once)"
            ),
        ]
    );
}
