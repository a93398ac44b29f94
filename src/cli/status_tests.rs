use super::*;
use crate::aws::{Datapoints, Deployment, ServiceState};
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 30).unwrap()
}

fn minutes_ago(m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap() - TimeDelta::minutes(m)
}

fn deployment(status: &str, rollout: &str, desired: u32, running: u32) -> Deployment {
    Deployment {
        id: format!("ecs-svc/{status}"),
        status: status.into(),
        rollout_state: Some(rollout.into()),
        desired,
        running,
        updated_at: Some(minutes_ago(30)),
    }
}

fn info(tags: &[(&str, &str)], deployments: Vec<Deployment>) -> ServiceInfo {
    ServiceInfo {
        arn: "arn:aws:ecs:us-east-1:123456789012:service/prod/web".into(),
        cluster: "prod".into(),
        name: "web".into(),
        state: ServiceState {
            task_definition: None,
            status: "ACTIVE".into(),
            launch_type: Some("FARGATE".into()),
            capacity: vec![],
            desired: 6,
            running: 5,
            pending: 1,
            deployments,
            events: vec![],
            tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        },
    }
}

fn record(series: &[(&str, &[(i64, f64)])]) -> MetricData {
    let points = series
        .iter()
        .map(|(id, p)| {
            let mut p: Datapoints = p.iter().map(|(m, v)| (minutes_ago(*m), *v)).collect();
            p.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
            ((*id).to_owned(), p)
        })
        .collect();
    MetricData { points, incomplete: BTreeMap::new() }
}

fn fresh() -> MetricData {
    record(&[
        ("beat", &[(3, 4.0), (2, 4.0), (1, 4.0)]),
        ("desired", &[(3, 4.0), (2, 6.0), (1, 6.0)]),
        ("rec", &[(1, 7.0)]),
        ("score", &[(1, 1.254)]),
        ("out", &[(2, 1.0)]),
        ("mtd", &[(1, 12.345678)]),
        ("today", &[(1, 1.2)]),
    ])
}

const MINUTE: (TimeDelta, TimeDelta) = (TimeDelta::minutes(1), RECENT);

#[test]
fn a_reporting_agent_shows_its_last_decision_actions_and_spend() {
    let until = "2026-12-08T18:00:00Z";
    let tags = [
        ("trimtab:paused", "true"),
        ("trimtab:override", &*format!("count=12 until={until} reason=launch")),
        ("trimtab:policy", "web"),
        ("team", "shop"),
    ];
    let deployments =
        vec![deployment("PRIMARY", "IN_PROGRESS", 6, 4), deployment("ACTIVE", "COMPLETED", 2, 2)];
    let s = status(&info(&tags, deployments), &fresh(), MINUTE, now(), TimeDelta::minutes(5));
    assert!(s.agent.reporting, "{:?}", s.agent);
    assert_eq!(s.agent.last_report_at.as_deref(), Some("2026-12-07T12:00:00Z"));
    assert_eq!((s.agent.desired, s.agent.recommended, s.agent.score), (Some(6), Some(7), Some(1.254)));
    assert_eq!(s.agent.last_scale_out_at.as_deref(), Some("2026-12-07T11:59:00Z"));
    assert_eq!(s.agent.month_to_date_usd, Some(crate::core::Money::from_micros(12_345_678)));
    assert_eq!(s.operator.tags.len(), 3, "only trimtab's tags: {:?}", s.operator.tags);
    assert_eq!(
        table(&s),
        "service     prod/web (arn:aws:ecs:us-east-1:123456789012:service/prod/web)\n\
         ecs status  ACTIVE\n\
         tasks       desired 6, running 5, pending 1\n\
         deployment  rolling: PRIMARY IN_PROGRESS 4/6, ACTIVE COMPLETED 2/2 (running/desired)\n\
         operator    paused (trimtab decides and reports, changes nothing); override: hold 12 tasks until 2026-12-08T18:00:00Z (launch)\n\
         trimtab     reporting: last report 2026-12-07T12:00:00Z (30 s ago)\n\
         decision    desired 6, recommended 7, score 1.25 at 2026-12-07T11:59:00Z\n\
         scale-out   2026-12-07T11:59:00Z\n\
         scale-in    none in the last 24 h\n\
         spend       month to date $12.35, today $1.20 at 2026-12-07T11:59:00Z\n"
    );
    let v: serde_json::Value = serde_json::to_value(&s).unwrap();
    assert_eq!(v["operator"]["override"]["count"], 12);
    assert_eq!(v["operator"]["override"]["until"], until);
    assert_eq!(v["operator"]["paused"], true);
    assert_eq!(v["deployment_in_progress"], true);
    assert_eq!(v["agent"]["today_usd"], "1.20");
    assert_eq!(v["agent"]["last_scale_in_at"], serde_json::Value::Null);
    assert!(v["agent"].get("spend").is_none(), "the table's copy is not in the JSON");
}

#[test]
fn an_agent_silent_past_the_limit_is_named_with_the_time_it_last_reported() {
    let old = record(&[("beat", &[(60 * 50, 4.0)]), ("desired", &[(60 * 50, 3.0)])]);
    let hour = (TimeDelta::hours(1), LONG);
    let s = status(
        &info(&[], vec![deployment("PRIMARY", "COMPLETED", 6, 6)]),
        &old,
        hour,
        now(),
        TimeDelta::minutes(5),
    );
    assert!(!s.agent.reporting);
    assert!(
        s.agent.message.starts_with(
            "no trimtab agent has reported for this service since 2026-12-05T11:00:00Z (2 d 1 h ago); \
             only the acting agent publishes"
        ),
        "{}",
        s.agent.message
    );
    let t = table(&s);
    assert!(t.contains("deployment  steady: PRIMARY COMPLETED 6/6 (running/desired)\n"), "{t}");
    assert!(t.contains("operator    no pause, no override\n"), "{t}");
    assert!(t.contains("scale-out   none in the last 63 days\n"), "{t}");
    assert!(t.contains("spend       not published"), "{t}");

    let none = status(&info(&[], vec![]), &MetricData::default(), hour, now(), TimeDelta::minutes(5));
    assert!(
        none.agent.message.starts_with("no trimtab agent has reported for this service in the last 63 days")
    );
    assert!(table(&none).contains("decision    none in the last 63 days\n"));
}

#[test]
fn the_stale_limit_decides_whether_the_agent_reports() {
    let data = fresh();
    let strict = status(&info(&[], vec![]), &data, MINUTE, now(), TimeDelta::seconds(10));
    assert!(!strict.agent.reporting, "its last report is 30 s old");
    assert!(
        strict.agent.message.contains("since 2026-12-07T12:00:00Z (30 s ago)"),
        "{}",
        strict.agent.message
    );
}

#[test]
fn unreadable_operator_tags_are_shown_as_the_problem() {
    let s =
        status(&info(&[("trimtab:paused", "maybe")], vec![]), &fresh(), MINUTE, now(), TimeDelta::minutes(5));
    assert_eq!(s.operator.problem.as_deref(), Some("tag trimtab:paused = \"maybe\": expected true or false"));
    assert!(
        table(&s).contains("operator    problem: tag trimtab:paused = \"maybe\": expected true or false")
    );
}

#[test]
fn an_expired_override_is_marked_so() {
    let tags = [("trimtab:override", "count=3 until=2026-12-01T00:00:00Z")];
    let s = status(&info(&tags, vec![]), &fresh(), MINUTE, now(), TimeDelta::minutes(5));
    assert_eq!(s.operator.manual_override.as_ref().map(|o| o.active), Some(false));
    assert!(table(&s).contains("expired override: held 3 tasks until 2026-12-01T00:00:00Z\n"));
}

#[test]
fn a_series_answered_in_part_is_said() {
    let mut data = fresh();
    data.points.remove("score");
    data.incomplete.insert("score".into(), "StatusCode PartialData".into());
    let s = status(&info(&[], vec![]), &data, MINUTE, now(), TimeDelta::minutes(5));
    assert_eq!(s.agent.score, None);
    assert!(table(&s).ends_with("incomplete  score: StatusCode PartialData\n"), "{}", table(&s));
}
