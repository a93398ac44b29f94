//! The aggregation across tasks, pinned by hand-computed numbers.

use chrono::TimeZone;

use super::*;
use crate::config::model::{Aggregate, PromRead};

const PORT: u16 = 9090;

fn query(read: PromRead, aggregate: Aggregate) -> PromQuery {
    let target = PromTarget::Tasks { port: PORT, path: "/metrics".into() };
    PromQuery { target, labels: vec![], read, scale: 1.0, aggregate }
}

fn scraper() -> TaskScraper {
    let hist = PromRead::Histogram { name: "lat".into(), quantile: 0.95 };
    let metrics = vec![
        ("rps".to_owned(), query(PromRead::Rate("req_total".into()), Aggregate::Avg)),
        ("errors".to_owned(), query(PromRead::Ratio("err_total".into(), "req_total".into()), Aggregate::Avg)),
        ("p95".to_owned(), query(hist, Aggregate::Avg)),
        ("inflight_avg".to_owned(), query(PromRead::Gauge("inflight".into()), Aggregate::Avg)),
        ("inflight_max".to_owned(), query(PromRead::Gauge("inflight".into()), Aggregate::Max)),
        ("inflight_sum".to_owned(), query(PromRead::Gauge("inflight".into()), Aggregate::Sum)),
    ];
    let mut all = TaskScraper::group(metrics);
    assert_eq!(all.len(), 1, "one port and path: one scraper");
    all.remove(0)
}

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::TimeDelta::seconds(secs)
}

fn target(last_octet: u8) -> TaskTarget {
    TaskTarget {
        task: format!("arn:aws:ecs:us-east-1:1:task/c/{last_octet}"),
        ip: [10, 0, 1, last_octet].into(),
    }
}

/// A task's exposition: requests, errors, latency buckets (0.1, 0.5, +Inf) and in-flight gauge.
fn exposition(req: u32, err: u32, le: [u32; 3], inflight: u32) -> Scrape {
    promtext::parse(&format!(
        "req_total {req}\nerr_total {err}\nlat_bucket{{le=\"0.1\"}} {}\nlat_bucket{{le=\"0.5\"}} {}\n\
         lat_bucket{{le=\"+Inf\"}} {}\ninflight {inflight}\nunrelated_total 7\n",
        le[0], le[1], le[2]
    ))
    .unwrap()
}

fn answer(octet: u8, secs: i64, scrape: Result<Scrape, &str>) -> Answer {
    Answer { target: target(octet), at: t(secs), scrape: scrape.map_err(str::to_owned) }
}

type Readings = BTreeMap<String, (Result<Sample, String>, TaskBreakdown)>;

fn by_name(readings: Vec<Reading>) -> Readings {
    readings.into_iter().map(|(n, s, b)| (n, (s, b))).collect()
}

use std::collections::BTreeMap;

fn value(r: &Readings, name: &str) -> f64 {
    r[name].0.as_ref().unwrap_or_else(|e| panic!("{name}: {e}")).value
}

fn problem<'a>(r: &'a Readings, name: &str) -> &'a str {
    r[name].0.as_ref().expect_err(name)
}

fn close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

/// Three tasks: .5 is hot, .6 idle, .7 restarted between the scrapes (its counters reset) and
/// was first scraped 20 s before, the others 10 s before.
fn two_ticks() -> (TaskScraper, Readings) {
    let mut s = scraper();
    let first = s.combine(vec![
        answer(5, 0, Ok(exposition(1000, 10, [900, 990, 1000], 4))),
        answer(6, 0, Ok(exposition(500, 0, [500, 500, 500], 1))),
        answer(7, -10, Ok(exposition(200, 2, [190, 200, 200], 1))),
    ]);
    let first = by_name(first);
    assert!(problem(&first, "rps").starts_with("0 of 3 tasks answered; "), "{}", problem(&first, "rps"));
    assert!(problem(&first, "rps").contains("http://10.0.1.5:9090/metrics: first scrape"));
    close(value(&first, "inflight_avg"), 2.0);
    let second = s.combine(vec![
        answer(5, 10, Ok(exposition(2000, 110, [1500, 1890, 1910], 9))),
        answer(6, 10, Ok(exposition(600, 0, [600, 600, 600], 0))),
        answer(7, 10, Ok(exposition(50, 1, [40, 45, 50], 3))),
    ]);
    (s, by_name(second))
}

#[test]
fn rate_is_the_sum_of_each_tasks_own_rate() {
    let (_, r) = two_ticks();
    // sum(rate(req_total[Δ])): 1000/10 + 100/10 + 50/20 (the reset counts 50 from zero).
    close(value(&r, "rps"), 100.0 + 10.0 + 2.5);
    let per_task: Vec<f64> = r["rps"].1.tasks.iter().map(|t| t.value.clone().unwrap()).collect();
    assert_eq!(per_task, [100.0, 10.0, 2.5]);
    assert_eq!((r["rps"].1.heard, r["rps"].1.of), (3, 3));
    assert_eq!(r["rps"].1.tasks[0].ip, IpAddr::from([10, 0, 1, 5]));
    assert_eq!(r["rps"].0.as_ref().unwrap().at, t(10));
}

#[test]
fn ratio_divides_the_summed_increases() {
    let (_, r) = two_ticks();
    // 100 * sum(increase(err_total)) / sum(increase(req_total)) = 100 * (100+0+1) / (1000+100+50);
    // .7's errors went from 2 to 1: a reset, so it counted 1 since.
    close(value(&r, "errors"), 100.0 * 101.0 / 1150.0);
    let per_task: Vec<f64> = r["errors"].1.tasks.iter().map(|t| t.value.clone().unwrap()).collect();
    assert_eq!(per_task, [10.0, 0.0, 2.0], "the average of these (4.0) is not the fleet's ratio");
}

#[test]
fn histogram_merges_buckets_before_the_quantile() {
    let (_, r) = two_ticks();
    // sum by (le): 0.1 → 600+100+40 = 740, 0.5 → 900+100+45 = 1045, +Inf → 910+100+50 = 1060.
    // Rank 0.95 × 1060 = 1007 falls in (0.1, 0.5]: 0.1 + 0.4 × (1007 − 740) / (1045 − 740).
    close(value(&r, "p95"), 0.1 + 0.4 * 267.0 / 305.0);
    let hot = r["p95"].1.tasks[0].value.clone().unwrap();
    // The hot task alone: 600, 900, 910; rank 864.5: 0.1 + 0.4 × 264.5 / 300.
    close(hot, 0.1 + 0.4 * 264.5 / 300.0);
}

#[test]
fn gauges_take_the_chosen_aggregation() {
    let (_, r) = two_ticks();
    close(value(&r, "inflight_avg"), 4.0);
    close(value(&r, "inflight_max"), 9.0);
    close(value(&r, "inflight_sum"), 12.0);
}

#[test]
fn a_task_that_does_not_answer_makes_the_metric_missing_with_the_count_heard() {
    let (mut s, _) = two_ticks();
    let refused = "GET http://10.0.1.7:9090/metrics: connection refused";
    let r = by_name(s.combine(vec![
        answer(5, 20, Ok(exposition(3000, 210, [2500, 2890, 2910], 9))),
        answer(6, 20, Ok(exposition(700, 0, [700, 700, 700], 0))),
        answer(7, 20, Err(refused)),
    ]));
    for name in ["rps", "errors", "p95", "inflight_avg"] {
        assert_eq!(problem(&r, name), format!("2 of 3 tasks answered; {refused}"), "{name}");
        assert_eq!((r[name].1.heard, r[name].1.of), (2, 3));
    }
    assert_eq!(r["rps"].1.tasks[2].value, Err(refused.to_owned()));
    assert_eq!(r["rps"].1.tasks[0].value, Ok(100.0), "the others still show their own rates");
    // What the two heard prove, at least (scales out, never in): the rate over them, 100 + 10;
    // the average in flight counting the unheard as 0, (9 + 0) / 3; the highest and the sum of
    // theirs. A ratio or a quantile over part of the tasks bounds nothing.
    let lower = |name: &str| r[name].1.lower_bound.map(|s| s.value);
    assert_eq!(lower("rps"), Some(110.0));
    assert_eq!(lower("inflight_avg"), Some(3.0));
    assert_eq!((lower("inflight_max"), lower("inflight_sum")), (Some(9.0), Some(9.0)));
    assert_eq!((lower("errors"), lower("p95")), (None, None));
    // It answers again: its rate is over the 20 s since its last good scrape, not a wrong one.
    let r = by_name(s.combine(vec![
        answer(5, 30, Ok(exposition(4000, 310, [3500, 3890, 3910], 9))),
        answer(6, 30, Ok(exposition(800, 0, [800, 800, 800], 0))),
        answer(7, 30, Ok(exposition(250, 5, [240, 245, 250], 3))),
    ]));
    close(value(&r, "rps"), 100.0 + 10.0 + 200.0 / 20.0);
}

#[test]
fn a_new_task_and_a_task_without_the_series_are_missing_too() {
    let (mut s, _) = two_ticks();
    let bare = promtext::parse("inflight 1\n").unwrap();
    let r = by_name(s.combine(vec![
        answer(5, 20, Ok(exposition(3000, 210, [2500, 2890, 2910], 9))),
        answer(6, 20, Ok(bare)),
        answer(8, 20, Ok(exposition(10, 0, [10, 10, 10], 0))),
    ]));
    assert_eq!(
        problem(&r, "rps"),
        "1 of 3 tasks answered; http://10.0.1.6:9090/metrics: no series req_total; \
         http://10.0.1.8:9090/metrics: first scrape: a rate needs two"
    );
    assert_eq!(value(&r, "inflight_sum"), 10.0, "a gauge needs no earlier scrape");
}

#[test]
fn a_task_gone_is_forgotten_and_only_the_read_series_are_kept() {
    let (mut s, _) = two_ticks();
    assert_eq!(s.prev.len(), 3);
    s.combine(vec![answer(5, 20, Ok(exposition(3000, 210, [2500, 2890, 2910], 9)))]);
    assert_eq!(s.prev.keys().collect::<Vec<_>>(), [&target(5).task]);
    let names: BTreeSet<&str> = s.prev[&target(5).task].1.samples.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["err_total", "inflight", "lat_bucket", "req_total"]));
    // Back under the same ARN, it starts over: no rate from a scrape two ticks old.
    let r = by_name(s.combine(vec![answer(7, 30, Ok(exposition(260, 5, [250, 255, 260], 3)))]));
    assert!(problem(&r, "rps").ends_with("first scrape: a rate needs two"), "{}", problem(&r, "rps"));
}

#[test]
fn a_task_without_an_address_is_not_heard_from() {
    let (mut s, _) = two_ticks();
    let nowhere =
        TaskTarget { task: "arn:aws:ecs:us-east-1:1:task/c/bridge".into(), ip: [0, 0, 0, 0].into() };
    let mut answers = vec![
        answer(5, 20, Ok(exposition(3000, 210, [2500, 2890, 2910], 9))),
        answer(6, 20, Ok(exposition(700, 0, [700, 700, 700], 0))),
        answer(7, 20, Ok(exposition(100, 2, [90, 95, 100], 1))),
    ];
    answers.push(Answer { target: nowhere, at: t(20), scrape: Err("bridge or host network mode".into()) });
    let r = by_name(s.combine(answers));
    assert_eq!(problem(&r, "rps"), "3 of 4 tasks answered; bridge or host network mode");
}

#[test]
fn no_tasks_and_many_failures_are_reported_briefly() {
    let mut s = scraper();
    let r = by_name(s.combine(vec![]));
    assert_eq!(problem(&r, "inflight_avg"), "no running task to scrape");
    assert_eq!(r["inflight_avg"].1, TaskBreakdown::default());
    let r = by_name(s.combine((1..=5).map(|i| answer(i, 0, Err("timed out"))).collect()));
    assert_eq!(
        problem(&r, "inflight_avg"),
        "0 of 5 tasks answered; timed out; timed out; timed out; and 2 more"
    );
}

#[test]
fn urls_put_ipv6_in_brackets() {
    let s = scraper();
    assert_eq!(s.url("fd00::7".parse().unwrap()), "http://[fd00::7]:9090/metrics");
    assert_eq!(s.url([10, 0, 1, 7].into()), "http://10.0.1.7:9090/metrics");
}
