//! Phase two: raw config (+ template) → validated [`Config`], reporting every problem at once by
//! key path. Pure: no I/O, no clock, no environment.

mod scaling;
mod schedule;
mod service;

use super::error::Problems;
use super::model::Config;
use super::raw::{RawConfig, RawScaling};

/// Validates `raw` on top of `template` (the `[scaling]` of the named policy template).
pub fn validate(file: &str, raw: &RawConfig, template: &RawScaling) -> Result<Config, Problems> {
    let mut p = Problems::default();
    let agent = service::agent(raw.agent.as_ref(), &mut p);
    let svc = raw.service.as_ref().and_then(|s| service::service(s, &mut p));
    let budget = raw.budget.as_ref().and_then(|b| service::budget(b, &mut p));
    let user_scaling = raw.scaling.clone().unwrap_or_default();
    let scaling = scaling::scaling(&user_scaling, template, &raw.schedule, &mut p);
    match (agent, scaling) {
        (Some(agent), Some(scaling)) if p.is_empty() => {
            Ok(Config { file: file.to_owned(), agent, service: svc, scaling, budget })
        }
        _ => Err(p),
    }
}

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

    fn required<T: Clone>(&mut self, key: &str, v: &Option<T>) -> Option<T> {
        if v.is_none() {
            self.problem(key, "missing required key");
        }
        v.clone()
    }

    fn duration(&mut self, key: &str, v: Option<&str>, default: &str) -> Option<chrono::TimeDelta> {
        let text = v.unwrap_or(default);
        match crate::config::duration::parse(text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(key, e);
                None
            }
        }
    }

    fn positive_duration(&mut self, key: &str, v: Option<&str>, default: &str) -> Option<chrono::TimeDelta> {
        let d = self.duration(key, v, default)?;
        if d <= chrono::TimeDelta::zero() {
            self.problem(key, "must be longer than zero");
            return None;
        }
        Some(d)
    }

    fn count(&mut self, key: &str, v: Option<i64>, default: i64, least: i64) -> Option<u32> {
        let n = v.unwrap_or(default);
        match u32::try_from(n) {
            Ok(c) if n >= least => Some(c),
            _ => {
                self.problem(key, format!("must be a whole number from {least} to {}, got {n}", u32::MAX));
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
