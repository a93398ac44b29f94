//! `[budget]`, `[cost]`, `[[notify]]`, and the price of one task: the shipped table where it knows
//! the price, the user's `[cost]` keys where it does not (or where they override it). A price
//! nobody knows is an error naming the key to set, never a guess.

use std::collections::BTreeSet;

use chrono_tz::Tz;

use super::Keys;
use crate::config::defaults::{budget as db, cost as dc};
use crate::config::error::Problems;
use crate::config::model::{
    CostConfig, DEFAULT_EVENTS, EventType, NotifyConfig, NotifyTarget, ServiceConfig,
};
use crate::config::raw::{RawBudget, RawCost, RawNotify};
use crate::core::Money;
use crate::core::cost::pricing::{
    self, Arch, DEFAULT_SPOT_DISCOUNT_PPM, FargatePrices, Instance, Launch, Os, Platform, PriceSheet, Prices,
    Rate,
};
use crate::core::cost::{Budget, Level, PeriodKind, Threshold};

use db::MAX_USD as MAX_BUDGET_USD;
use dc::MAX_PRICE_USD;

/// A dollar amount in `(0, most]`.
fn dollars(usd: f64, most: f64) -> Option<Money> {
    (usd > 0.0 && usd <= most).then(|| Money::from_usd(usd)).flatten()
}

pub fn budget(raw: &RawBudget, p: &mut Problems) -> Option<Budget> {
    let mut k = Keys { path: "budget".into(), p };
    let (period, usd, key) = match (raw.monthly_usd, raw.daily_usd) {
        (Some(m), None) => (PeriodKind::Monthly, m, "monthly_usd"),
        (None, Some(d)) => (PeriodKind::Daily, d, "daily_usd"),
        (Some(_), Some(_)) => {
            k.problem("daily_usd", "give either monthly_usd or daily_usd, not both");
            return None;
        }
        (None, None) => {
            k.problem("monthly_usd", "missing required key (or daily_usd for a daily budget)");
            return None;
        }
    };
    let amount = dollars(usd, MAX_BUDGET_USD);
    if amount.is_none() {
        k.problem(key, format!("must be a positive amount of dollars up to {MAX_BUDGET_USD:.0}, got {usd}"));
    }
    let warn_at = threshold(&mut k, "warn_at", raw.warn_at.as_ref(), db::WARN_AT);
    let critical_at = threshold(&mut k, "critical_at", raw.critical_at.as_ref(), db::CRITICAL_AT);
    let tz_name = raw.timezone.as_deref().unwrap_or(db::TIMEZONE);
    let tz = tz_name.parse::<Tz>().map_err(|_| {
        k.problem(
            "timezone",
            format!("unknown time zone {tz_name:?}; use an IANA name like \"Europe/Berlin\""),
        )
    });
    let cap = k.one_of(
        "cap",
        raw.cap.as_deref(),
        db::CAP,
        db::CAPS,
        &[None, Some(Level::Warning), Some(Level::Critical)],
    );
    let b = Budget {
        amount: amount?,
        period,
        tz: tz.ok()?,
        warn_at: warn_at?,
        critical_at: critical_at?,
        cap: cap?,
    };
    let (w, c) = (b.threshold(Level::Warning), b.threshold(Level::Critical));
    if w >= c {
        k.problem("warn_at", format!("warn_at ({w}) must be below critical_at ({c})"));
        return None;
    }
    Some(b)
}

/// A fraction of the budget (`0.75`) or an amount (`"$375"`, `"375 USD"`).
fn threshold(k: &mut Keys<'_>, key: &str, v: Option<&toml::Value>, default: f64) -> Option<Threshold> {
    let bad = |k: &mut Keys<'_>, got: String| {
        k.problem(
            key,
            format!(
                "expected a fraction of the budget (e.g. 0.75) or an amount up to ${MAX_BUDGET_USD:.0} (e.g. \"$375\"), got {got}"
            ),
        );
        None
    };
    match v {
        None => Some(Threshold::Fraction(default)),
        Some(toml::Value::Float(f)) if *f > 0.0 && *f <= 10.0 => Some(Threshold::Fraction(*f)),
        Some(toml::Value::Integer(n)) if (1..=10).contains(n) => Some(Threshold::Fraction(*n as f64)),
        Some(toml::Value::String(s)) => {
            let t = s.trim();
            let number = t
                .strip_prefix('$')
                .or_else(|| t.strip_suffix("USD").or_else(|| t.strip_suffix("usd")))
                .map(str::trim)
                .and_then(|n| n.parse::<f64>().ok());
            match number.and_then(|n| dollars(n, MAX_BUDGET_USD)) {
                Some(m) => Some(Threshold::Amount(m)),
                None => bad(k, format!("{s:?}")),
            }
        }
        Some(other) => bad(k, format!("{} {other:?}", other.type_str())),
    }
}

pub fn cost(raw: Option<&RawCost>, p: &mut Problems) -> Option<CostConfig> {
    let raw = raw.cloned().unwrap_or_default();
    let mut k = Keys { path: "cost".into(), p };
    let mut ok = true;
    let mut price = |k: &mut Keys<'_>, key: &str, v: Option<f64>| {
        let r = v.map(|usd| Rate::from_usd(usd).filter(|_| usd > 0.0 && usd <= MAX_PRICE_USD));
        if r == Some(None) {
            ok = false;
            let got = v.unwrap_or_default();
            k.problem(
                key,
                format!("must be a positive price in dollars up to {MAX_PRICE_USD:.0} an hour, got {got}"),
            );
        }
        r.flatten()
    };
    let c = CostConfig {
        vcpu_hour: price(&mut k, "vcpu_hour_usd", raw.vcpu_hour_usd),
        gb_hour: price(&mut k, "gb_hour_usd", raw.gb_hour_usd),
        licence_vcpu_hour: price(&mut k, "licence_vcpu_hour_usd", raw.licence_vcpu_hour_usd),
        storage_gb_hour: price(&mut k, "storage_gb_hour_usd", raw.storage_gb_hour_usd),
        instance_hourly: price(&mut k, "instance_hourly_usd", raw.instance_hourly_usd),
        spot_discount_ppm: raw.spot_discount.and_then(|d| {
            let valid = (0.0..1.0).contains(&d);
            if !valid {
                ok = false;
                k.problem(
                    "spot_discount",
                    format!("must be a fraction from 0 to below 1 (0.7 = 70% off), got {d}"),
                );
            }
            valid.then(|| (d * 1e6).round() as i64)
        }),
        instance_type: raw.instance_type.clone(),
        instance_vcpus: raw
            .instance_vcpus
            .and_then(|n| k.count("instance_vcpus", Some(n), 1, 1, dc::MAX_INSTANCE_VCPUS)),
        instance_memory_gib: raw
            .instance_memory_gib
            .and_then(|n| k.count("instance_memory_gib", Some(n), 1, 1, dc::MAX_INSTANCE_MEMORY_GIB)),
        interruption_tolerant: raw.interruption_tolerant,
    };
    let counts_ok = raw.instance_vcpus.is_none() == c.instance_vcpus.is_none()
        && raw.instance_memory_gib.is_none() == c.instance_memory_gib.is_none();
    (ok && counts_ok).then_some(c)
}

pub fn notify(raw: &[Option<RawNotify>], p: &mut Problems) -> Option<Vec<NotifyConfig>> {
    let mut targets = Vec::new();
    let mut ok = true;
    for (i, n) in raw.iter().enumerate() {
        let Some(n) = n else {
            ok = false;
            continue;
        };
        let events = events(n.events.as_deref(), &mut Keys { path: format!("notify[{i}]"), p: &mut *p });
        let target = target(n, &mut Keys { path: format!("notify[{i}]"), p: &mut *p });
        match (target, events) {
            (Some(target), Some(events)) => targets.push(NotifyConfig { target, events }),
            _ => ok = false,
        }
    }
    ok.then_some(targets)
}

/// `notify[i].events`: the event types named, each known; [`DEFAULT_EVENTS`] when unset.
fn events(raw: Option<&[String]>, k: &mut Keys<'_>) -> Option<BTreeSet<EventType>> {
    let Some(names) = raw else { return Some(DEFAULT_EVENTS.into_iter().collect()) };
    if names.is_empty() {
        k.problem("events", "names no event type: leave it out for the default [\"budget\"]");
        return None;
    }
    let mut events = BTreeSet::new();
    let mut ok = true;
    for (j, name) in names.iter().enumerate() {
        match EventType::ALL.into_iter().find(|e| e.as_str() == name) {
            Some(e) => {
                events.insert(e);
            }
            None => {
                let known: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
                let why = format!("unknown event type {name:?}; expected any of {}", known.join(", "));
                k.problem(&format!("events[{j}]"), why);
                ok = false;
            }
        }
    }
    ok.then_some(events)
}

/// `notify[i]`'s destination: `type` with its `url` or `topic_arn`.
fn target(n: &RawNotify, k: &mut Keys<'_>) -> Option<NotifyTarget> {
    let kind = k.one_of("type", n.kind.as_deref(), "", crate::config::defaults::notify::TYPES, &[0, 1, 2])?;
    let stray = match kind {
        2 => n.url.is_some().then_some("url"),
        _ => n.topic_arn.is_some().then_some("topic_arn"),
    };
    if let Some(key) = stray {
        k.problem(key, format!("not used by type {:?}", n.kind.as_deref().unwrap_or_default()));
        return None;
    }
    if kind == 2 {
        return k.non_empty("topic_arn", &n.topic_arn).and_then(|arn| {
            let valid = arn.starts_with("arn:") && arn.split(':').nth(2) == Some("sns");
            if !valid {
                k.problem(
                    "topic_arn",
                    format!("{arn:?} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"),
                );
            }
            valid.then_some(NotifyTarget::Sns { topic_arn: arn })
        });
    }
    let url = k.non_empty("url", &n.url)?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        k.problem("url", format!("{url:?} is not an http:// or https:// URL"));
        return None;
    }
    Some(if kind == 0 { NotifyTarget::Webhook { url } } else { NotifyTarget::Slack { url } })
}

/// The price sheet for a service whose region the file names; problems are reported by key.
/// `needed`: a budget depends on it, so a service without a task size is an error.
pub fn prices(svc: &ServiceConfig, cost: &CostConfig, needed: bool, p: &mut Problems) -> Option<PriceSheet> {
    if svc.shape().is_none() {
        if needed {
            p.push(
                "service.cpu",
                "a budget needs the task's size to price it: set service.cpu and service.memory",
            );
        }
        return None;
    }
    let region = svc.region.as_deref()?;
    price_sheet(&svc.platform(), cost, region).map_err(|(key, message)| p.push(key, message)).ok()
}

/// The prices of a task on `platform` in `region`: `Err((key path, message))` when one is
/// unknown.
pub fn price_sheet(
    platform: &Platform,
    cost: &CostConfig,
    region: &str,
) -> Result<PriceSheet, (String, String)> {
    match platform.launch {
        Launch::Ec2 => ec2(cost, region),
        Launch::Fargate | Launch::FargateSpot => fargate(platform, cost, region),
    }
}

fn fargate(platform: &Platform, cost: &CostConfig, region: &str) -> Result<PriceSheet, (String, String)> {
    let (arch, os) = (platform.arch, platform.os);
    let shipped = pricing::shipped_fargate(region, arch, os);
    let named = format!("{os} {arch}");
    let mut from_config = Vec::new();
    let mut pick = |given: Option<Rate>, table: Option<Rate>, key: &str| {
        if given.is_some() {
            from_config.push(key.to_owned());
        }
        given.or(table)
    };
    let vcpu_hour = pick(cost.vcpu_hour, shipped.map(|s| s.0), "vcpu_hour_usd");
    let gb_hour = pick(cost.gb_hour, shipped.map(|s| s.1), "gb_hour_usd");
    let (Some(vcpu_hour), Some(gb_hour)) = (vcpu_hour, gb_hour) else {
        let hint = match (arch, pricing::shipped_fargate(region, Arch::X86_64, Os::Linux)) {
            (Arch::Arm64, Some((v, g, _))) => format!(
                " (where both are known ARM costs about 0.80 × x86, which here would be about {} and {})",
                v.scale(4, 5),
                g.scale(4, 5)
            ),
            _ => String::new(),
        };
        return Err((
            "cost.vcpu_hour_usd".into(),
            format!(
                "no shipped Fargate {named} price for {region}: set cost.vcpu_hour_usd and cost.gb_hour_usd{hint}; \
                 the table knows Linux x86 in {} regions, ARM in us-east-1 and sa-east-1, Windows in us-east-1",
                pricing::shipped_regions().len()
            ),
        ));
    };
    let licence_vcpu_hour = match os {
        Os::Linux => Rate::ZERO,
        Os::Windows => {
            pick(cost.licence_vcpu_hour, shipped.map(|s| s.2), "licence_vcpu_hour_usd").ok_or((
                "cost.licence_vcpu_hour_usd".to_owned(),
                format!("no shipped Windows licence fee for {region}: set cost.licence_vcpu_hour_usd"),
            ))?
        }
    };
    let storage_gb_hour = if platform.storage_gib > pricing::FREE_STORAGE_GIB {
        pick(cost.storage_gb_hour, pricing::shipped_storage(region), "storage_gb_hour_usd").ok_or((
            "cost.storage_gb_hour_usd".to_owned(),
            format!("no shipped ephemeral storage price for {region}: set cost.storage_gb_hour_usd"),
        ))?
    } else {
        Rate::ZERO
    };
    let spot = platform.launch == Launch::FargateSpot;
    let caveat = (spot && cost.spot_discount_ppm.is_none()).then(|| {
        "the Fargate Spot price floats (61-70% below on-demand observed); this estimate takes 61% off \
         (set cost.spot_discount)"
            .to_owned()
    });
    if spot && cost.spot_discount_ppm.is_some() {
        from_config.push("spot_discount".into());
    }
    let table =
        if from_config.len() >= 2 && shipped.is_none() { None } else { Some("AWS price list 2025-08") };
    Ok(PriceSheet {
        prices: Prices::Fargate(FargatePrices {
            vcpu_hour,
            gb_hour,
            licence_vcpu_hour,
            storage_gb_hour,
            spot_discount_ppm: cost.spot_discount_ppm.unwrap_or(DEFAULT_SPOT_DISCOUNT_PPM),
        }),
        region: region.to_owned(),
        source: source(table, &from_config, &format!("Fargate {named}, {region}")),
        caveat,
    })
}

fn ec2(cost: &CostConfig, region: &str) -> Result<PriceSheet, (String, String)> {
    let Some(name) = cost.instance_type.clone() else {
        return Err((
            "cost.instance_type".into(),
            "ECS on EC2 is billed by the instance: set cost.instance_type (e.g. \"m6i.large\")".into(),
        ));
    };
    let shipped = pricing::shipped_instance(&name);
    let known_price = shipped.as_ref().filter(|_| region == "us-east-1").map(|i| i.hourly);
    let mut from_config = Vec::new();
    if cost.instance_hourly.is_some() {
        from_config.push("instance_hourly_usd".to_owned());
    }
    let Some(hourly) = cost.instance_hourly.or(known_price) else {
        return Err((
            "cost.instance_hourly_usd".into(),
            format!(
                "no shipped price for {name} in {region}: set cost.instance_hourly_usd (on-demand, per hour)"
            ),
        ));
    };
    let vcpus = cost.instance_vcpus.or(shipped.as_ref().map(|i| i.vcpus));
    let memory_gib = cost.instance_memory_gib.or(shipped.as_ref().map(|i| i.memory_gib));
    let (Some(vcpus), Some(memory_gib)) = (vcpus, memory_gib) else {
        return Err((
            "cost.instance_vcpus".into(),
            format!(
                "{name} is not in the shipped table: set cost.instance_vcpus and cost.instance_memory_gib"
            ),
        ));
    };
    let table = (shipped.is_some() && cost.instance_hourly.is_none()).then_some("EC2 on-demand 2026-07");
    Ok(PriceSheet {
        prices: Prices::Ec2(Instance { name: name.clone(), hourly, vcpus, memory_gib }),
        region: region.to_owned(),
        source: source(table, &from_config, &format!("EC2 {name}, {region}, 9:1 CPU:memory split")),
        caveat: None,
    })
}

fn source(table: Option<&str>, from_config: &[String], what: &str) -> String {
    let keys: Vec<String> = from_config.iter().map(|k| format!("cost.{k}")).collect();
    match (table, keys.is_empty()) {
        (Some(t), true) => format!("{what}: shipped table ({t})"),
        (Some(t), false) => format!("{what}: shipped table ({t}) with {} from config", keys.join(", ")),
        (None, _) => format!("{what}: config ({})", keys.join(", ")),
    }
}
