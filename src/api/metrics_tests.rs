//! The README's table of metric families and what `/metrics` writes stay the same families, of
//! the same types: every family the code names is in the table and every row of the table is
//! one the code names; every family a rendered exposition holds is in the table with its type.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Utc};

use super::*;
use crate::core::{self, History, Observation, Replicas};
use crate::status::{Cooldowns, Counters, PerTask, PolicyView, Role, ServiceView, Tick};

const START: &str = "<!-- metrics-table:start -->";
const END: &str = "<!-- metrics-table:end -->";

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_765_000_000, 0).unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The README's table: family → type.
fn readme() -> BTreeMap<String, String> {
    let text = read("README.md");
    let table = text.split(START).nth(1).and_then(|t| t.split(END).next()).expect("the metrics table");
    table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
        })
        .collect()
}

/// The families an exposition declares (`# TYPE name type`).
fn written(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| {
            let (name, kind) = l.split_once(' ').unwrap();
            (name.to_owned(), kind.to_owned())
        })
        .collect()
}

/// Every family name the writers spell as a string literal of its own (`"trimtab_…"`,
/// `"process_…"`), outside their tests.
fn named_in_source() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in ["src/api/metrics.rs", "src/api/fleet.rs", "src/api/process.rs"] {
        let text = read(file);
        let code = text.split("#[cfg(test)]").next().unwrap();
        for literal in code.split('"').skip(1).step_by(2) {
            let family = ["trimtab_", "process_"].iter().any(|p| literal.starts_with(p))
                && literal.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if family {
                names.insert(literal.to_owned());
            }
        }
    }
    names
}

/// A snapshot with a decision, every task's readings, protection and notifications.
fn snapshot() -> Snapshot {
    let cfg = crate::config::from_str("t.toml", "").unwrap();
    let policy = cfg.scaling.policy.clone();
    let mut obs = Observation { current: Replicas(2), ..Observation::default() };
    for (i, m) in policy.metrics.iter().enumerate() {
        obs.samples.insert(m.name.clone(), core::Sample { value: 40.0 + i as f64, at: at() });
    }
    let d = core::decide(&policy, &obs, &History::default(), at());
    let ip = std::net::IpAddr::from([10, 0, 0, 1]);
    let per_task =
        BTreeMap::from([("cpu".to_owned(), PerTask::of([("arn:task/a".to_owned(), ip, Ok(40.0))]))]);
    let tick = Tick {
        at: at(),
        duration_ms: 12,
        service: Some(ServiceView { desired: 2, running: 2, pending: 0, deployment_in_progress: false }),
        decision: Some(d),
        action: crate::status::Action::None,
        problems: BTreeMap::new(),
        error: None,
        per_task,
    };
    let mut counters = Counters::default();
    counters.tick_seconds.observe(0.012);
    Snapshot {
        version: "0",
        started_at: at(),
        mode: "ecs",
        dry_run: false,
        interval_seconds: 15,
        service: "c/web".into(),
        ticks: 1,
        role: Role::Sole,
        last: Some(tick),
        cooldowns: Cooldowns::default(),
        manual_override: None,
        counters,
        history: VecDeque::new(),
        actions: VecDeque::new(),
        series: crate::status::Series::new(vec!["cpu".into()]),
        cost: None,
        notifications: Some(Default::default()),
        vertical: None,
        protection: Some(Default::default()),
        policy: PolicyView::of(&policy),
        signals: None,
    }
}

fn pools() -> Vec<crate::sources::pools::PoolView> {
    let cfg = crate::config::from_str("t.toml", "[pools.jobs]\ncapacity = 10\n").unwrap();
    crate::sources::pools::PoolSet::new(&cfg.pools, Default::default()).unwrap().view(at())
}

#[test]
fn the_readme_table_lists_every_family_the_code_writes_and_no_other() {
    let table = readme();
    let named = named_in_source();
    let in_table: BTreeSet<String> = table.keys().cloned().collect();
    let missing: Vec<_> = named.difference(&in_table).collect();
    let stale: Vec<_> = in_table.difference(&named).collect();
    assert!(missing.is_empty(), "families written but not in the README's table: {missing:?}");
    assert!(stale.is_empty(), "families in the README's table the code no longer writes: {stale:?}");
}

#[test]
fn what_metrics_writes_is_in_the_readme_table_with_its_type() {
    let table = readme();
    let text = render(&snapshot())
        + &render_local(&pools(), &Default::default())
        + &super::super::fleet::render(&Default::default())
        + &render_process();
    let families = written(&text);
    assert!(families.len() >= 40, "{text}");
    for (name, kind) in &families {
        assert_eq!(table.get(name), Some(kind), "{name} ({kind}) in /metrics, not so in the README's table");
        assert!(kind != "counter" || name.ends_with("_total"), "a counter's name ends in _total: {name}");
    }
    assert!(text.contains("trimtab_tick_duration_seconds_bucket{le=\"0.025\"} 1\n"), "{text}");
    assert!(text.contains("trimtab_tick_duration_seconds_count 1\n"), "{text}");
    assert!(text.contains("trimtab_pool_pressure_ratio{pool=\"jobs\",unit=\"units\"} 0\n"), "{text}");
    for percent in ["percent", "_pct", "_ms"] {
        assert!(!families.keys().any(|n| n.contains(percent)), "base units only: {percent}");
    }
}
