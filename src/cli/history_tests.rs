use super::*;
use crate::aws::{Datapoints, ServiceState};
use chrono::TimeZone;
use std::collections::BTreeMap;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0).unwrap()
}

fn info(events: Vec<(DateTime<Utc>, &str)>) -> ServiceInfo {
    let mut events: Vec<(DateTime<Utc>, String)> =
        events.into_iter().map(|(t, m)| (t, m.to_owned())).collect();
    events.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    ServiceInfo {
        arn: "arn:aws:ecs:us-east-1:123456789012:service/prod/web".into(),
        cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/prod".into(),
        name: "web".into(),
        state: ServiceState {
            task_definition: None,
            status: "ACTIVE".into(),
            launch_type: None,
            capacity: vec![],
            desired: 6,
            running: 6,
            pending: 0,
            deployments: vec![],
            events,
            tags: BTreeMap::new(),
        },
    }
}

/// Datapoints of one series by query id.
type Series<'a> = (&'a str, &'a [(DateTime<Utc>, f64)]);

fn record(series: &[Series<'_>]) -> MetricData {
    let points = series
        .iter()
        .map(|(id, p)| {
            let mut p: Datapoints = p.to_vec();
            p.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
            ((*id).to_owned(), p)
        })
        .collect();
    MetricData { points, incomplete: BTreeMap::new() }
}

#[test]
fn events_and_trimtabs_changes_merge_oldest_first_and_repeats_are_left_out() {
    let beats: Vec<(DateTime<Utc>, f64)> = [0, 1, 2, 3, 10, 11].iter().map(|m| (at(10, *m), 4.0)).collect();
    let data = record(&[
        ("beat", &beats),
        (
            "desired",
            &[
                (at(10, 0), 4.0),
                (at(10, 1), 4.0),
                (at(10, 2), 6.0),
                (at(10, 3), 6.0),
                (at(10, 10), 6.0),
                (at(10, 11), 5.0),
            ],
        ),
        ("rec", &[(at(10, 2), 6.0), (at(10, 11), 5.0)]),
        ("score", &[(at(10, 2), 1.416), (at(10, 11), 0.61)]),
        ("out", &[(at(10, 1), 0.0), (at(10, 2), 1.0)]),
        ("in", &[(at(10, 11), 1.0)]),
    ]);
    let events = vec![
        (at(9, 0), "(service web) has reached a steady state."),
        (at(10, 2) + TimeDelta::seconds(20), "(service web) has started 2 tasks: (task a) (task b)."),
        (at(10, 3) + TimeDelta::seconds(40), "(service web) registered 2 targets in (target-group tg)"),
        (at(12, 0), "after the span"),
    ];
    let h = history(&info(events), &data, (at(9, 30), 60), at(11, 0), 200);
    assert_eq!((h.cluster.as_str(), h.service.as_str(), h.omitted_rows), ("prod", "web", 0));
    let t = table(&h);
    assert_eq!(
        t,
        "prod/web from 2026-12-07T09:30:00Z to 2026-12-07T11:00:00Z (60-second buckets)\n\
         time                  source   desired  score  what\n\
         2026-12-07T10:00:00Z  trimtab  4               desired 4\n\
         2026-12-07T10:02:00Z  trimtab  6        1.42   scaled out: desired 4 -> 6 (recommended 6, score 1.42)\n\
         2026-12-07T10:02:20Z  ecs                      (service web) has started 2 tasks: (task a) (task b).\n\
         2026-12-07T10:03:40Z  ecs                      (service web) registered 2 targets in (target-group tg)\n\
         2026-12-07T10:04:00Z  trimtab                  no report from trimtab until 2026-12-07T10:10:00Z (6 min)\n\
         2026-12-07T10:11:00Z  trimtab  5        0.61   scaled in: desired 6 -> 5 (recommended 5, score 0.61)\n"
    );
    let v: serde_json::Value = serde_json::to_value(&h).unwrap();
    assert_eq!(v["rows"][1]["kind"], "scale_out");
    assert_eq!(v["rows"][1]["desired"], 6);
    assert_eq!(v["rows"][1]["recommended"], 6);
    assert_eq!(v["rows"][2]["source"], "ecs");
    assert_eq!(v["rows"][2]["desired"], serde_json::Value::Null);
    assert_eq!(v["rows"][4]["kind"], "silent");
    assert_eq!(v["period_seconds"], 60);
}

#[test]
fn the_newest_rows_are_kept_and_the_rest_counted() {
    let desired: Vec<(DateTime<Utc>, f64)> = (0..50).map(|m| (at(10, m), f64::from(m % 2 + 1))).collect();
    let h = history(&info(vec![]), &record(&[("desired", &desired)]), (at(9, 0), 60), at(11, 0), 10);
    assert_eq!((h.rows.len(), h.omitted_rows), (10, 40));
    assert_eq!(h.rows.last().unwrap().at, "2026-12-07T10:49:00Z", "newest last");
    assert!(table(&h).contains("40 older rows left out (--limit)\n"));
}

#[test]
fn an_empty_span_says_so() {
    let h = history(&info(vec![]), &MetricData::default(), (at(9, 0), 60), at(11, 0), 10);
    assert!(table(&h).ends_with("nothing in this span: no ECS event, and no trimtab agent reported\n"));
}

#[test]
fn since_takes_a_span_or_a_time_and_picks_a_bucket_cloudwatch_keeps() {
    let now = at(12, 0);
    assert_eq!(parse_since("24h"), Ok(Since::Ago(TimeDelta::hours(24))));
    assert_eq!(parse_since("2026-12-07T09:00:00Z"), Ok(Since::At(at(9, 0))));
    assert!(parse_since("yesterday").unwrap_err().contains("or give a time like"));
    assert_eq!(span(Since::Ago(TimeDelta::hours(24)), now).unwrap(), (at(12, 0) - TimeDelta::days(1), 60));
    assert_eq!(span(Since::Ago(TimeDelta::days(14)), now).unwrap().1, 60);
    // Exactly 15 days: the read starts a bucket earlier (aligned), past what 1-minute data keeps.
    assert_eq!(span(Since::Ago(TimeDelta::days(15)), now).unwrap().1, 300);
    assert_eq!(span(Since::Ago(TimeDelta::days(16)), now).unwrap().1, 300);
    assert_eq!(span(Since::Ago(TimeDelta::days(63)), now).unwrap().1, 3600);
    assert_eq!(span(Since::Ago(TimeDelta::days(64)), now).unwrap().1, 3600);
    assert!(span(Since::Ago(TimeDelta::days(456)), now).unwrap_err().0.contains("455 days"));
    assert!(span(Since::At(at(13, 0)), now).unwrap_err().0.contains("is not in the past"));
}
