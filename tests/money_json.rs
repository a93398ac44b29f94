//! Money in every JSON trimtab writes is one unit (issue 17, point 6): exact dollars as a decimal
//! string, in a field whose name ends in `_usd`. The test walks each output — the local API of a
//! priced agent with a budget, `cost`, `rightsize`, `simulate` and `explain` with `--format json`,
//! a controller's `/fleet` view and the notification bodies — and fails on a `_micros`/`_picos`
//! key, a `_usd` field that is not an exact decimal string, or a decimal string under any other
//! name. Each document must also show the money fields a user looks for, so an output that lost
//! its money would not pass by having none.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

#[path = "common/local_agent.rs"]
mod local_agent;

use local_agent::{BIN, LocalAgent};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/trimtab.toml");
const BIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/big.toml");
const WEB_WEEK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/usage/web-week.csv");

/// `-12.345`, `0.04048`: what the money serializer writes.
fn is_decimal(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let Some((whole, frac)) = body.split_once('.') else { return false };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(frac)
}

/// Every way `v` breaks the rule, by JSON path; and the `_usd` keys seen, by name.
fn walk(path: &str, key: &str, v: &Value, problems: &mut Vec<String>, seen: &mut BTreeSet<String>) {
    if key.ends_with("_micros") || key.ends_with("_picos") {
        problems.push(format!("{path}: a money field in a sub-unit"));
    }
    let money = key.ends_with("_usd");
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                walk(&format!("{path}.{k}"), k, x, problems, seen);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                walk(&format!("{path}[{i}]"), key, x, problems, seen);
            }
        }
        Value::String(s) if money && is_decimal(s) => {
            seen.insert(key.to_owned());
        }
        Value::Null if money => {}
        _ if money => problems.push(format!("{path}: {v} is not an exact decimal string of dollars")),
        Value::String(s) if is_decimal(s) => {
            problems.push(format!("{path}: {s:?} looks like money, but the name does not end in _usd"))
        }
        _ => {}
    }
}

/// Checks `doc` and that it shows at least the money fields `want`.
fn check(what: &str, doc: &Value, want: &[&str]) {
    let (mut problems, mut seen) = (Vec::new(), BTreeSet::new());
    walk("$", "", doc, &mut problems, &mut seen);
    assert!(problems.is_empty(), "{what}:\n{}\n\n{doc:#}", problems.join("\n"));
    let missing: Vec<&&str> = want.iter().filter(|k| !seen.contains(**k)).collect();
    assert!(missing.is_empty(), "{what} lacks {missing:?}; it has {seen:?}:\n{doc:#}");
}

fn json_of(args: &[&str]) -> Value {
    let o = Command::new(BIN).args(args).env_remove("TRIMTAB_CONFIG").output().unwrap();
    assert!(o.status.success(), "trimtab {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("trimtab {args:?} printed no JSON: {e}"))
}

#[test]
fn the_walk_catches_each_kind_of_mistake() {
    let bad = [
        (serde_json::json!({ "spent": "12.34" }), "does not end in _usd"),
        (serde_json::json!({ "x": { "spent_usd": 12.34 } }), "not an exact decimal string"),
        (serde_json::json!({ "spent_usd": "12" }), "not an exact decimal string"),
        (serde_json::json!({ "a": [{ "today_micros": 5 }] }), "sub-unit"),
    ];
    for (doc, want) in bad {
        let (mut problems, mut seen) = (Vec::new(), BTreeSet::new());
        walk("$", "", &doc, &mut problems, &mut seen);
        assert!(problems.iter().any(|p| p.contains(want)), "{doc}: {problems:?}");
    }
    let good = serde_json::json!({ "spent_usd": "-0.000001", "version": "0.1.0", "budget_usd": null });
    check("good", &good, &["spent_usd"]);
}

#[test]
fn cli_json_outputs_write_money_as_exact_dollars() {
    let cost = json_of(&[
        "cost",
        "--config",
        EXAMPLE,
        "--tasks",
        "4",
        "--what-if",
        "arch=arm64",
        "--format",
        "json",
    ]);
    check(
        "trimtab cost --format json",
        &cost,
        &[
            "vcpu_hour_usd",
            "gb_hour_usd",
            "total_usd",
            "cpu_usd",
            "per_hour_usd",
            "per_month_usd",
            "monthly_difference_usd",
            "amount_usd",
            "warn_at_usd",
        ],
    );
    assert_eq!(cost["current"]["prices"]["prices"]["vcpu_hour_usd"], "0.04048", "{cost:#}");
    let rightsize = json_of(&["rightsize", "--config", BIG, "--history", WEB_WEEK, "--format", "json"]);
    check(
        "trimtab rightsize --format json",
        &rightsize,
        &[
            "current_rate_usd",
            "target_rate_usd",
            "monthly_difference_per_task_usd",
            "monthly_difference_total_usd",
        ],
    );
    check(
        "trimtab simulate --format json",
        &json_of(&["simulate", "--config", EXAMPLE, "--format", "json"]),
        &[],
    );
    let explain = [
        "explain",
        "--config",
        EXAMPLE,
        "--current",
        "4",
        "--metric",
        "cpu=90",
        "--spent",
        "150",
        "--format",
        "json",
    ];
    check("trimtab explain --format json", &json_of(&explain), &[]);
}

#[test]
fn notifications_write_money_as_exact_dollars() {
    use trimtab::core::Money;
    use trimtab::core::cost::{BudgetEvent, EventKind, Level, Signal};
    let e = BudgetEvent {
        kind: EventKind::Alert,
        signal: Signal::Actual,
        level: Level::Critical,
        period: "2026-11".into(),
        amount: Money::from_micros(181_000_001),
        threshold: Money::from_micros(180_000_000),
        budget: Money::from_micros(200_000_000),
        spent: Money::from_micros(181_000_001),
        forecast: Money::from_micros(240_123_456),
        at: chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap(),
        message: "spend $181.00 reached the critical level".into(),
    };
    let body: Value = serde_json::from_str(&trimtab::notify::payload::json("prod/web", &e)).unwrap();
    check(
        "the webhook body",
        &body,
        &["amount_usd", "threshold_usd", "budget_usd", "spent_usd", "forecast_usd"],
    );
    assert_eq!(body["amount_usd"], "181.000001", "exact, not rounded to the cent");
    let slack: Value = serde_json::from_str(&trimtab::notify::payload::slack("prod/web", &e)).unwrap();
    check("the Slack body", &slack, &[]);
}

#[test]
fn a_controllers_fleet_view_writes_money_as_exact_dollars() {
    use trimtab::core::cost::Rate;
    use trimtab::status::{FleetView, ServiceStanding, Standing};
    let rate = Rate::parse_usd("0.04937").unwrap();
    let standing = ServiceStanding {
        standing: Standing::Acting,
        policy: Some("web".into()),
        origin: "listed",
        desired: Some(2),
        paused: false,
        reason: None,
        action: None,
        problem: None,
        task_per_hour_usd: Some(rate),
        per_hour_usd: Some(rate.times(2)),
        cost_problem: None,
    };
    let view = FleetView {
        cost_per_hour_usd: rate.times(2),
        services: [("prod/web".to_owned(), standing)].into(),
        ..FleetView::default()
    };
    let v = serde_json::to_value(&view).unwrap();
    check("/fleet", &v, &["cost_per_hour_usd", "task_per_hour_usd", "per_hour_usd"]);
    assert_eq!(v["services"]["prod/web"]["per_hour_usd"], "0.09874");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_api_writes_money_as_exact_dollars() {
    let a = LocalAgent::start("money-json", |port| {
        format!(
            "[agent]\ninterval = \"1s\"\nlisten = \"127.0.0.1:{port}\"\n[pools.jobs]\ncapacity = 10\n\
             [service]\ncluster = \"demo\"\nname = \"web\"\nregion = \"us-east-1\"\n\
             launch_type = \"fargate\"\ncpu = 512\nmemory = 1024\n\
             [budget]\nmonthly_usd = 20.0\nwarn_at = 0.75\ncritical_at = 0.90\n"
        )
    });
    a.poll("/status", 20, "2 ticks", |v| v["ticks"].as_u64() >= Some(2)).await;
    let ledger = ["per_task_hour_usd", "per_hour_usd", "today_usd", "month_to_date_usd"];
    let budget = ["budget_usd", "spent_usd", "warn_at_usd", "critical_at_usd", "total_usd", "remaining_usd"];
    let prices = ["vcpu_hour_usd", "gb_hour_usd", "idle_cost_per_hour_usd"];
    let all: Vec<&str> = ledger.iter().chain(&budget).chain(&prices).copied().collect();
    for (path, want) in [
        ("/status", all.as_slice()),
        ("/cost", all.as_slice()),
        ("/history", &["spent_usd", "forecast_usd", "budget_usd"][..]),
        ("/peer", &[][..]),
        ("/local", &[][..]),
        ("/pools", &[][..]),
        ("/healthz", &[][..]),
    ] {
        let body = a.http.get(format!("{}{path}", a.base)).send().await.unwrap().text().await.unwrap();
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
        check(path, &v, want);
    }
}
