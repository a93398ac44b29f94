//! `[pools.NAME]`, `[vertical]` and `[local]`: what the sidecar does inside its own task.

use chrono::TimeDelta;

use super::{Keys, Limit, ONE_DAY, ONE_WEEK};
use crate::config::defaults::{local as dl, pool as dp, vertical as dv};
use crate::config::error::Problems;
use crate::config::model::{
    LaunchType, LocalConfig, PoolCapacity, PoolConfig, ScalingConfig, ServiceConfig, SourceSpec,
    VerticalConfig, VerticalMode,
};
use crate::config::raw::{RawLocal, RawPool, RawVertical};

/// Pools with an `"auto"` capacity: the task's own limits.
const AUTO_POOLS: &[(&str, &str)] = &[("cpu", "cpu-units"), ("memory", "MiB")];
use dp::{MAX_ACTIVE as DEFAULT_MAX_ACTIVE, MAX_CAPACITY, MAX_QUEUE as DEFAULT_MAX_QUEUE};
use dp::{MOST_ACTIVE as MAX_ACTIVE, MOST_QUEUE as MAX_QUEUE};

pub fn pools(raw: &[(String, Option<RawPool>)], p: &mut Problems) -> Vec<PoolConfig> {
    raw.iter().filter_map(|(name, pool)| pool.as_ref().and_then(|r| pool_config(name, r, p))).collect()
}

/// A pool name is a path segment of the API (`/pools/{name}`).
fn valid_name(n: &str) -> bool {
    let first = n.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first
        && n.len() <= 63
        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_".contains(c))
}

fn pool_config(name: &str, r: &RawPool, p: &mut Problems) -> Option<PoolConfig> {
    let mut k = Keys { path: format!("pools.{name}"), p };
    if !valid_name(name) {
        let why =
            "a pool name must be 1-63 lower-case letters, digits, '-' or '_' (it is part of the API path)";
        k.p.push(format!("pools.{name}"), why);
    }
    let auto_unit = AUTO_POOLS.iter().find(|(n, _)| *n == name).map(|(_, u)| *u);
    let capacity = capacity(&mut k, r.capacity.as_ref(), auto_unit.is_some());
    let max_wait =
        k.duration("max_wait", r.max_wait.as_deref(), dp::MAX_WAIT, Limit(TimeDelta::hours(1), "1h"));
    let default_ttl = k.positive_duration("default_ttl", r.default_ttl.as_deref(), dp::DEFAULT_TTL, ONE_DAY);
    let max_ttl = k.positive_duration("max_ttl", r.max_ttl.as_deref(), dp::MAX_TTL, ONE_WEEK);
    if let (Some(d), Some(m)) = (default_ttl, max_ttl)
        && d > m
    {
        k.problem("default_ttl", "must not be longer than max_ttl");
    }
    let max_queue = count(&mut k, "max_queue", r.max_queue, DEFAULT_MAX_QUEUE, 0..=MAX_QUEUE);
    let max_active = count(&mut k, "max_active", r.max_active, DEFAULT_MAX_ACTIVE, 1..=MAX_ACTIVE);
    let unit = r.unit.clone().unwrap_or_else(|| auto_unit.unwrap_or(dp::UNIT).to_owned());
    Some(PoolConfig {
        name: name.to_owned(),
        capacity: capacity?,
        unit,
        preemption: r.preemption.unwrap_or(dp::PREEMPTION),
        max_wait: max_wait?,
        default_ttl: default_ttl?,
        max_ttl: max_ttl?,
        max_queue: max_queue?,
        max_active: max_active?,
    })
}

/// A whole number of requests in `range`, or `default`.
fn count(
    k: &mut Keys<'_>,
    key: &str,
    v: Option<i64>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Option<usize> {
    let n = v.unwrap_or(default);
    let (least, most) = (range.start(), range.end());
    if !range.contains(&n) {
        k.problem(key, format!("must be a whole number from {least} to {most}, got {n}"));
    }
    usize::try_from(n).ok().filter(|_| range.contains(&n))
}

fn capacity(k: &mut Keys<'_>, v: Option<&toml::Value>, auto_allowed: bool) -> Option<PoolCapacity> {
    match v {
        None => {
            k.problem("capacity", "missing required key (a whole number, or \"auto\" for cpu and memory)")
        }
        Some(toml::Value::Integer(n)) if (1..=MAX_CAPACITY).contains(n) => {
            return Some(PoolCapacity::Fixed(*n as u64));
        }
        Some(toml::Value::String(s)) if s == "auto" && auto_allowed => return Some(PoolCapacity::Auto),
        Some(toml::Value::String(s)) if s == "auto" => k.problem(
            "capacity",
            "\"auto\" sizes only the cpu and memory pools (from the task's limits); give a number",
        ),
        Some(other) => {
            let got = match other {
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::String(s) => format!("{s:?}"),
                v => format!("a {}", v.type_str()),
            };
            k.problem(
                "capacity",
                format!("expected a whole number from 1 to {MAX_CAPACITY} or \"auto\", got {got}"),
            )
        }
    }
    None
}

/// Each `source = "pools"` metric needs a pool to read: the one it names, or any.
pub fn pool_metrics(s: &ScalingConfig, pools: &[PoolConfig], p: &mut Problems) {
    for (i, m) in s.sources.iter().enumerate() {
        let SourceSpec::Pools { pool } = &m.spec else { continue };
        let at = format!("scaling.metrics[{i}]");
        match pool {
            _ if pools.is_empty() => {
                p.push(format!("{at}.source"), "source = \"pools\" needs a [pools.NAME] section to read")
            }
            Some(name) if !pools.iter().any(|q| &q.name == name) => {
                let known: Vec<&str> = pools.iter().map(|q| q.name.as_str()).collect();
                p.push(format!("{at}.pool"), format!("no pool {name:?}; pools: {}", known.join(", ")));
            }
            _ => {}
        }
    }
}

pub fn vertical(
    raw: Option<&RawVertical>,
    svc: Option<&ServiceConfig>,
    p: &mut Problems,
) -> Option<VerticalConfig> {
    let raw = raw.cloned().unwrap_or_default();
    let mut k = Keys { path: "vertical".into(), p };
    let modes = [VerticalMode::Off, VerticalMode::Recommend, VerticalMode::Apply];
    let mode = k.one_of("mode", raw.mode.as_deref(), dv::MODE, VerticalMode::NAMES, &modes);
    let interval = k.duration("interval", raw.interval.as_deref(), dv::INTERVAL, ONE_WEEK).filter(|d| {
        let ok = *d >= TimeDelta::hours(1);
        if !ok {
            k.problem("interval", "must be at least 1h: each resize redeploys every task");
        }
        ok
    });
    let min_change = fraction(&mut k, "min_change", raw.min_change, dv::MIN_CHANGE, dv::LEAST_MIN_CHANGE);
    let margin = fraction(&mut k, "margin", raw.margin, dv::MARGIN, 0.0);
    if mode == Some(VerticalMode::Apply) {
        match svc {
            None => k.problem("mode", "\"apply\" resizes a service: add a [service] section"),
            Some(s) if !s.launch_type.is_fargate() || s.launch_type == LaunchType::Ec2 => k.problem(
                "mode",
                "\"apply\" resizes Fargate tasks only; on EC2 use \"recommend\" and size containers yourself",
            ),
            Some(s) if s.cpu.is_none() || s.memory.is_none() => {
                k.problem("mode", "\"apply\" needs service.cpu and service.memory (the current size)")
            }
            Some(_) => {}
        }
    }
    Some(VerticalConfig { mode: mode?, interval: interval?, min_change: min_change?, margin: margin? })
}

fn fraction(k: &mut Keys<'_>, key: &str, v: Option<f64>, default: f64, least: f64) -> Option<f64> {
    let v = v.unwrap_or(default);
    let ok = v.is_finite() && v >= least && v <= 1.0;
    if !ok {
        k.problem(key, format!("must be a fraction from {least} to 1, got {v}"));
    }
    ok.then_some(v)
}

pub fn local(raw: Option<&RawLocal>, p: &mut Problems) -> Option<LocalConfig> {
    let raw = raw.cloned().unwrap_or_default();
    let mut k = Keys { path: "local".into(), p };
    let sample =
        k.positive_duration("sample_interval", raw.sample_interval.as_deref(), dl::SAMPLE_INTERVAL, ONE_DAY);
    let history = k.positive_duration("history", raw.history.as_deref(), dl::HISTORY, ONE_DAY);
    if let (Some(s), Some(h)) = (sample, history)
        && (s < TimeDelta::seconds(1) || h.num_milliseconds() / s.num_milliseconds().max(1) > 100_000)
    {
        k.problem("sample_interval", "must be at least 1s, and history / sample_interval at most 100000");
    }
    let a = raw.alerts.unwrap_or_default();
    let mut k = Keys { path: "local.alerts".into(), p: k.p };
    let thresholds = [
        ("cpu", a.cpu, dl::ALERT_CPU, true),
        ("memory", a.memory, dl::ALERT_MEMORY, true),
        ("throttling", a.throttling, dl::ALERT_THROTTLING, true),
        ("disk", a.disk_bps, dl::ALERT_DISK_BPS, false),
        ("network", a.network_bps, dl::ALERT_NETWORK_BPS, false),
    ];
    let mut alerts = Vec::new();
    for (resource, v, default, percent) in thresholds {
        let v = v.unwrap_or(default);
        let key = if percent { resource.to_owned() } else { format!("{resource}_bps") };
        if !v.is_finite() || v < 0.0 || (percent && v > 100.0) {
            let range = if percent { "a percentage from 0 to 100" } else { "bytes/s, 0 or more" };
            k.problem(&key, format!("must be {range} (0 turns it off), got {v}"));
        } else if v > 0.0 {
            alerts.push((resource, v));
        }
    }
    let alert_for = k.duration("for", a.for_.as_deref(), dl::ALERT_FOR, ONE_DAY);
    let cooldown = k.duration("cooldown", a.cooldown.as_deref(), dl::ALERT_COOLDOWN, ONE_DAY);
    Some(LocalConfig {
        sample_interval: sample?,
        history: history?,
        alerts,
        alert_for: alert_for?,
        alert_cooldown: cooldown?,
    })
}
