use chrono::{DateTime, Utc};
use serde_json::Value;

use super::*;
use crate::core::rightsize::Size;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

const NOW: &str = "2026-11-22T10:30:00Z";

fn scaling() -> Event {
    let line = |name: &str, value, target, unit| MetricLine {
        name: name.into(),
        value,
        target,
        ratio: value / target,
        target_type: TargetType::Utilization,
        unit,
    };
    Event::Scaling(Scaling {
        service: "prod/checkout".into(),
        at: at(NOW),
        from: 4,
        to: 6,
        reason: "scale_out".into(),
        message: "cpu is 1.31x its target: 4 tasks → 6".into(),
        metrics: vec![line("cpu", 92.0, 70.0, "%"), line("latency", 180.0, 200.0, " ms")],
    })
}

fn text(e: &Event) -> String {
    let body: Value = serde_json::from_str(&slack("fallback", e)).unwrap();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    body["text"].as_str().unwrap().to_owned()
}

fn first_line(e: &Event) -> String {
    text(e).lines().next().unwrap().to_owned()
}

#[test]
fn a_scaling_event_reads_at_a_glance_on_slack() {
    assert_eq!(
        text(&scaling()),
        "*prod/checkout* scaled out 4 → 6 — cpu 92% &gt; 70% target\n\
         latency 180 ms &lt; 200 ms target\n\
         cpu is 1.31x its target: 4 tasks → 6 (scale_out)\n\
         _trimtab · scaling.out · 2026-11-22 10:30 UTC_"
    );
}

#[test]
fn a_scaling_event_as_json_has_kind_service_time_and_the_metrics() {
    let got: Value = serde_json::from_str(&json("fallback", &scaling())).unwrap();
    let want = serde_json::json!({
        "source": "trimtab",
        "kind": "scaling",
        "event": "scaling.out",
        "service": "prod/checkout",
        "at": "2026-11-22T10:30:00Z",
        "summary": "scaled out 4 → 6 — cpu 92% > 70% target",
        "from": 4,
        "to": 6,
        "reason": "scale_out",
        "message": "cpu is 1.31x its target: 4 tasks → 6",
        "metrics": [
            {"name": "cpu", "value": 92.0, "target": 70.0, "ratio": 1.314,
             "target_type": "utilization", "unit": "%"},
            {"name": "latency", "value": 180.0, "target": 200.0, "ratio": 0.9,
             "target_type": "utilization", "unit": "ms"},
        ],
    });
    assert_eq!(got, want);
}

#[test]
fn subjects_are_ascii_headlines() {
    assert_eq!(
        subject("fallback", &scaling()),
        "trimtab prod/checkout: scaled out 4 -> 6 - cpu 92% > 70% target"
    );
}

fn resize(applied: bool) -> Event {
    Event::Resize(Resize {
        service: "prod/web".into(),
        at: at(NOW),
        applied,
        from: Size { cpu: 1024, memory: 4096 },
        to: Size { cpu: 512, memory: 2048 },
        monthly_saving_per_task: Money::from_micros(18_025_000),
        confidence: "medium".into(),
        reasons: vec!["p95 CPU 180 units".into(), "peak memory 1.2 GiB".into()],
        task_definition: applied.then(|| "arn:aws:ecs:us-east-1:1:task-definition/web:8".to_owned()),
    })
}

fn alert(firing: bool, resource: &'static str, value: f64, threshold: f64, unit: &'static str) -> Event {
    Event::LocalAlert(LocalAlert {
        service: "prod/web".into(),
        at: at(NOW),
        task: Some("arn:aws:ecs:us-east-1:1:task/prod/0f3c9a".into()),
        resource,
        firing,
        value,
        threshold,
        unit,
        since: at("2026-11-22T10:29:00Z"),
        container: Some("app".into()),
        message: "container app: memory at 93.1% of the 2 GiB limit for 1m (threshold 90%)".into(),
    })
}

fn operator(change: OperatorChange) -> Event {
    Event::Operator(Operator { service: "prod/web".into(), at: at(NOW), change })
}

#[test]
fn every_event_has_a_bold_one_line_headline() {
    let until = at("2026-11-22T18:00:00Z");
    let ownership = Event::Ownership(Ownership {
        at: at(NOW),
        member: "arn:aws:ecs:us-east-1:1:task/ops/7d1e".into(),
        members: 3,
        took: vec!["prod/a".into(), "prod/b".into()],
        handed_over: vec!["prod/c".into()],
        took_count: 2,
        handed_over_count: 1,
    });
    let cases = [
        (
            resize(true),
            "*prod/web* resized 1024 CPU / 4096 MiB → 512 CPU / 2048 MiB — saves $18.03/month per task",
        ),
        (
            resize(false),
            "*prod/web* resize recommended: 1024 CPU / 4096 MiB → 512 CPU / 2048 MiB — saves $18.03/month per task",
        ),
        (
            alert(true, "memory", 93.14, 90.0, "%"),
            "*prod/web* memory alert in container app — 93% &gt; 90% threshold",
        ),
        (
            alert(false, "network", 3.5 * 1024.0 * 1024.0, 8.0 * 1024.0 * 1024.0, BYTES_PER_SECOND),
            "*prod/web* network alert resolved in container app — 3.5 MiB/s &lt; 8 MiB/s threshold",
        ),
        (operator(OperatorChange::Paused), "*prod/web* paused: decided and reported, nothing changed"),
        (operator(OperatorChange::Resumed), "*prod/web* resumed: scaling again"),
        (
            operator(OperatorChange::Override { count: 8, until, reason: "launch day".into() }),
            "*prod/web* override: 8 tasks until 2026-11-22 18:00 UTC — launch day",
        ),
        (
            operator(OperatorChange::OverrideEnded { count: 8, until, expired: true }),
            "*prod/web* override of 8 tasks expired: scaling again",
        ),
        (ownership, "*ops/trimtab · 7d1e* took 2 services, handed over 1 service (3 members)"),
    ];
    for (event, want) in cases {
        let got = if let Event::Ownership(_) = event {
            let body: Value = serde_json::from_str(&slack("ops/trimtab", &event)).unwrap();
            body["text"].as_str().unwrap().lines().next().unwrap().to_owned()
        } else {
            first_line(&event)
        };
        assert_eq!(got, want);
    }
}

#[test]
fn money_is_a_decimal_string_in_dollars() {
    let got: Value = serde_json::from_str(&json("fallback", &resize(true))).unwrap();
    assert_eq!(got["monthly_saving_per_task_usd"], "18.025", "exact, not rounded to the cent");
    assert_eq!(got["event"], "resize.applied");
    assert_eq!(got["from"], serde_json::json!({"cpu": 1024, "memory_mib": 4096}));
    assert_eq!(got["task_definition"], "arn:aws:ecs:us-east-1:1:task-definition/web:8");
    let e =
        Event::Resize(Resize { monthly_saving_per_task: Money::from_micros(-3_050_000), ..resize_of(false) });
    let got: Value = serde_json::from_str(&json("fallback", &e)).unwrap();
    assert_eq!(got["monthly_saving_per_task_usd"], "-3.05");
    assert!(first_line(&e).ends_with("costs $3.05/month more per task"), "{}", first_line(&e));
}

fn resize_of(applied: bool) -> Resize {
    match resize(applied) {
        Event::Resize(r) => r,
        _ => unreachable!(),
    }
}

#[test]
fn ownership_names_the_controller_and_lists_the_services() {
    let e = Event::Ownership(Ownership {
        at: at(NOW),
        member: "self".into(),
        members: 1,
        took: vec!["prod/a".into(), "prod/b".into()],
        handed_over: vec![],
        took_count: 9,
        handed_over_count: 0,
    });
    let got: Value = serde_json::from_str(&json("controller", &e)).unwrap();
    assert_eq!((got["service"].as_str(), got["kind"].as_str()), (Some("controller"), Some("ownership")));
    assert_eq!(got["took_count"], 9);
    let text: Value = serde_json::from_str(&slack("controller", &e)).unwrap();
    assert!(text["text"].as_str().unwrap().contains("\ntook: prod/a, prod/b and 7 more\n"), "{text}");
}

#[test]
fn slack_control_characters_in_names_and_messages_are_escaped() {
    let e = operator(OperatorChange::Override {
        count: 2,
        until: at("2026-11-22T18:00:00Z"),
        reason: "<!channel> & friends".into(),
    });
    assert!(first_line(&e).ends_with("— &lt;!channel&gt; &amp; friends"), "{}", first_line(&e));
}
