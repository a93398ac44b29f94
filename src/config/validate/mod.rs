//! Phase two: raw config (+ templates) → validated [`Config`], reporting every problem at once by
//! key path. Pure: no I/O, no clock, no environment.
//!
//! `agent.mode` decides which sections are read: a sidecar's (`[service]`, `[scaling]`, …) or a
//! controller's (`[controller]`, `[policies.NAME]`, `[[services]]`, `[discovery]`, in
//! [`fleet`]). The other mode's sections are refused, each with what to write instead.

pub mod cost;
mod fleet;
mod local;
mod protection;
mod scaling;
mod schedule;
mod service;
mod source;

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::TimeDelta;

use super::duration::DurationError;
use super::error::Problems;
use super::model::{Config, Mode};
use super::raw::{RawConfig, RawScaling};

pub(super) use fleet::unreadable_template;
pub(super) use scaling::{CANNOT_LEAVE_ZERO, can_leave_zero};
pub(super) use schedule::conflict;

/// The shipped templates' `[scaling]` tables as written, by name.
pub type Templates = BTreeMap<&'static str, RawScaling>;

/// Where a policy's keys are and who reads its metrics: `[scaling]` with the top-level
/// `[[schedule]]` (a sidecar), or a controller's `[policies.NAME]` with its
/// `[[policies.NAME.schedule]]`.
#[derive(Clone, Debug)]
pub(super) struct At {
    pub scaling: String,
    pub schedule: String,
    pub mode: Mode,
}

impl At {
    pub fn top() -> At {
        At { scaling: "scaling".into(), schedule: "schedule".into(), mode: Mode::Sidecar }
    }

    pub fn policy(name: &str) -> At {
        let scaling = format!("policies.{name}");
        At { schedule: format!("{scaling}.schedule"), scaling, mode: Mode::Controller }
    }
}

/// Validates `raw`; each policy table builds on the one of `templates` it names.
pub fn validate(file: &str, raw: &RawConfig, templates: &Templates) -> Result<Config, Problems> {
    let mut p = Problems::default();
    let mode = service::mode(raw.agent.as_ref(), &mut p);
    let agent = service::agent(raw.agent.as_ref(), mode, &mut p);
    fleet::refuse_other_mode(raw, mode, &mut p);
    let (fleet, raw) = match mode {
        Some(Mode::Controller) => {
            (fleet::fleet(raw, templates, &mut p).map(Some), Cow::Owned(fleet::without_sidecar(raw)))
        }
        _ => (Some(None), Cow::Borrowed(raw)),
    };
    let svc = raw.service.as_ref().and_then(|s| service::service(s, &mut p));
    let budget = raw.budget.as_ref().and_then(|b| cost::budget(b, &mut p));
    let mut alarms = service::alarms(raw.alarms.as_ref(), svc.is_some(), &mut p);
    let forecast_alarm = raw
        .alarms
        .as_ref()
        .and_then(|a| a.budget_forecast)
        .unwrap_or(crate::config::defaults::alarms::BUDGET_FORECAST);
    if let (Some(a), Some(b), true) = (&mut alarms, &budget, forecast_alarm) {
        a.budget_forecast = Some(b.threshold(crate::core::cost::Level::Critical));
    }
    let costs = cost::cost(raw.cost.as_ref(), &mut p);
    let notify = cost::notify(&raw.notify, &mut p);
    let prices = match (&svc, &costs) {
        (Some(s), Some(c)) => cost::prices(s, c, budget.is_some(), &mut p),
        _ => None,
    };
    if budget.is_some() && raw.service.is_none() {
        p.push("budget", "a budget needs the [service] it pays for");
    }
    let user_scaling = raw.scaling.clone().unwrap_or_default();
    let scaling = scaling::scaling(&At::top(), &user_scaling, templates, &raw.schedule, &mut p);
    let pools = local::pools(&raw.pools, &mut p);
    if let Some(s) = &scaling {
        local::pool_metrics(s, &pools, &mut p);
    }
    let vertical = local::vertical(raw.vertical.as_ref(), svc.as_ref(), &mut p);
    let local = local::local(raw.local.as_ref(), &mut p);
    let protection = protection::protection(raw.protection.as_ref(), &mut p);
    match (agent, scaling, alarms, costs, notify, vertical, local, fleet, protection) {
        (
            Some(agent),
            Some(scaling),
            Some(alarms),
            Some(cost),
            Some(notify),
            Some(vertical),
            Some(local),
            Some(fleet),
            Some(protection),
        ) if p.is_empty() => Ok(Config {
            file: file.to_owned(),
            agent,
            service: svc,
            scaling,
            budget,
            alarms,
            cost,
            notify,
            prices,
            pools,
            vertical,
            local,
            protection,
            fleet,
        }),
        _ => Err(p),
    }
}

/// The longest a duration may be, with its spelling for messages. Bounds keep every time
/// computation of the core far from overflow.
#[derive(Clone, Copy)]
pub(super) struct Limit(TimeDelta, &'static str);

pub(super) const ONE_DAY: Limit = Limit(TimeDelta::days(1), "1d");
pub(super) const ONE_WEEK: Limit = Limit(TimeDelta::days(7), "7d");
pub(super) const ONE_YEAR: Limit = Limit(TimeDelta::days(366), "366d");

/// The most tasks any count may name (bounds, steps, schedule windows).
pub(in crate::config) const MAX_TASKS: u32 = crate::config::defaults::scaling::MAX_TASKS;

/// Small helpers shared by the section validators: each reads one key and records a problem
/// when it is missing or out of range.
pub(super) struct Keys<'a> {
    pub path: String,
    pub p: &'a mut Problems,
}

impl Keys<'_> {
    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn problem(&mut self, key: &str, message: impl Into<String>) {
        let at = self.at(key);
        self.p.push(at, message);
    }

    /// A problem with the part of `key`'s string value that starts at byte `offset`.
    fn problem_in(&mut self, key: &str, offset: usize, message: impl Into<String>) {
        let at = self.at(key);
        self.p.push_in(at, offset, message);
    }

    fn required<T: Clone>(&mut self, key: &str, v: &Option<T>) -> Option<T> {
        if v.is_none() {
            self.problem(key, "missing required key");
        }
        v.clone()
    }

    /// A required string that is not blank.
    fn non_empty(&mut self, key: &str, v: &Option<String>) -> Option<String> {
        let s = self.required(key, v)?;
        if s.trim().is_empty() {
            self.problem(key, "must not be empty");
            return None;
        }
        Some(s)
    }

    /// A duration from `v` (or `default`), at most `max` long.
    fn duration(&mut self, key: &str, v: Option<&str>, default: &str, max: Limit) -> Option<TimeDelta> {
        let text = v.unwrap_or(default);
        let range = format!("must be between 0s and {}, got {text:?}", max.1);
        let d = match crate::config::duration::parse(text) {
            Ok(d) => d,
            // Longer than anything accepts: the setting's own range says more.
            Err(DurationError::TooLong(_)) => {
                self.problem(key, range);
                return None;
            }
            Err(e) => {
                self.problem(key, e.to_string());
                return None;
            }
        };
        if d < TimeDelta::zero() || d > max.0 {
            self.problem(key, range);
            return None;
        }
        Some(d)
    }

    /// A duration from `v` (or `default`), from `least` to `most`.
    fn duration_between(
        &mut self,
        key: &str,
        v: Option<&str>,
        default: &str,
        least: Limit,
        most: Limit,
    ) -> Option<TimeDelta> {
        let text = v.unwrap_or(default);
        let d = crate::config::duration::parse(text).map_err(|e| self.problem(key, e.to_string())).ok()?;
        if d < least.0 || d > most.0 {
            self.problem(key, format!("must be from {} to {}, got {text:?}", least.1, most.1));
            return None;
        }
        Some(d)
    }

    fn positive_duration(
        &mut self,
        key: &str,
        v: Option<&str>,
        default: &str,
        max: Limit,
    ) -> Option<TimeDelta> {
        let d = self.duration(key, v, default, max)?;
        if d <= TimeDelta::zero() {
            self.problem(key, "must be longer than zero");
            return None;
        }
        Some(d)
    }

    /// A whole number from `v` (or `default`) in `least..=most`.
    fn count(&mut self, key: &str, v: Option<i64>, default: i64, least: i64, most: u32) -> Option<u32> {
        let n = v.unwrap_or(default);
        match u32::try_from(n) {
            Ok(c) if n >= least && c <= most => Some(c),
            _ => {
                self.problem(key, format!("must be a whole number from {least} to {most}, got {n}"));
                None
            }
        }
    }

    fn one_of<T: Copy>(
        &mut self,
        key: &str,
        v: Option<&str>,
        default: &str,
        names: &[&str],
        values: &[T],
    ) -> Option<T> {
        let text = v.unwrap_or(default);
        match names.iter().position(|n| *n == text) {
            Some(i) => Some(values[i]),
            None => {
                self.problem(key, format!("unknown value {text:?}; expected one of {}", names.join(", ")));
                None
            }
        }
    }
}

/// Reports every entry of an array of tables whose `name` repeats an earlier one.
pub(super) fn report_duplicates<'a>(
    path: &str,
    what: &str,
    names: impl Iterator<Item = Option<&'a str>>,
    p: &mut Problems,
) {
    let mut seen = std::collections::HashSet::new();
    for (i, name) in names.enumerate() {
        if let Some(n) = name
            && !seen.insert(n)
        {
            p.push(format!("{path}[{i}].name"), format!("duplicate {what} name {n:?}"));
        }
    }
}
