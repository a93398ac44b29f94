//! `[[schedule]]` windows. `cron` takes Unix or AWS cron and `at` a TOML date-time with offset or
//! AWS's `at(...)`; a problem with one field of an expression is located at that field.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{At, Keys};
use crate::config::error::Problems;
use crate::config::raw::RawSchedule;
use crate::core::schedule_expr::{CronExpr, Dialect, ExprError};
use crate::core::{Bounds, ScheduleWindow, WindowTime, schedule_at};

/// Validates every window against the base bounds (`None` when those were invalid themselves).
/// A cron window must be able to open at all; one whose years are past is valid (it stays shut),
/// so that validity never depends on the date.
pub fn windows(
    at: &At,
    raw: &[Option<RawSchedule>],
    base: Option<Bounds>,
    p: &mut Problems,
) -> Option<Vec<ScheduleWindow>> {
    let names = raw.iter().map(|r| r.as_ref().and_then(|r| r.name.as_deref()));
    super::report_duplicates(&at.schedule, "schedule", names, p);
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let mut k = Keys { path: format!("{}[{i}]", at.schedule), p: &mut *p };
        out.push(r.as_ref().and_then(|r| window(&mut k, r, base, &at.scaling)));
    }
    out.into_iter().collect()
}

/// One window; `table` names the policy's table (`scaling`, `policies.NAME`) for messages.
fn window(k: &mut Keys<'_>, r: &RawSchedule, base: Option<Bounds>, table: &str) -> Option<ScheduleWindow> {
    let name = k.required("name", &r.name);
    let tz = timezone(k, r);
    // With a bad zone the expression is still checked, on UTC.
    let time = time(k, r, tz.unwrap_or(Tz::UTC));
    let duration = k
        .required("duration", &r.duration)
        .and_then(|d| k.positive_duration("duration", Some(&d), "", super::ONE_YEAR));
    let min = r.min.and_then(|v| k.count("min", Some(v), 0, 0, super::MAX_TASKS));
    let max = r.max.and_then(|v| k.count("max", Some(v), 0, 1, super::MAX_TASKS));
    let desired = r.desired.and_then(|v| k.count("desired", Some(v), 0, 0, super::MAX_TASKS));
    if r.min.is_none() && r.max.is_none() && r.desired.is_none() {
        k.problem("min", "a window must set at least one of min, max or desired");
    }
    if let Some((key, why)) = base.and_then(|b| conflict(b, min, max, desired)) {
        let from = if key == "desired" {
            String::new()
        } else {
            format!(" (a key the window leaves out comes from [{table}])")
        };
        k.problem(key, format!("{why}{from}"));
    }
    let priority = r.priority.unwrap_or(crate::config::defaults::schedule::PRIORITY);
    let priority = i32::try_from(priority).map_err(|_| k.problem("priority", "out of range"));
    Some(ScheduleWindow {
        name: name?,
        time: time?,
        duration: duration?,
        tz: tz?,
        min,
        max,
        desired,
        priority: priority.ok()?,
    })
}

fn timezone(k: &mut Keys<'_>, r: &RawSchedule) -> Option<Tz> {
    let name = r.timezone.as_deref().unwrap_or(crate::config::defaults::schedule::TIMEZONE);
    let tz = Tz::from_str(name).ok();
    if tz.is_none() {
        k.problem("timezone", format!("unknown time zone {name:?}; use an IANA name such as \"Europe/Berlin\" or \"America/New_York\""));
    }
    tz
}

fn time(k: &mut Keys<'_>, r: &RawSchedule, tz: Tz) -> Option<WindowTime> {
    match (&r.cron, &r.at) {
        (Some(c), None) => cron(k, c, tz),
        (None, Some(at)) => instant(k, at, tz),
        (Some(_), Some(_)) => {
            k.problem("at", "give either cron (repeating) or at (one-off), not both");
            None
        }
        (None, None) => {
            k.problem("cron", "missing: give cron (repeating) or at (one-off)");
            None
        }
    }
}

fn cron(k: &mut Keys<'_>, text: &str, tz: Tz) -> Option<WindowTime> {
    let expr = CronExpr::parse(text).map_err(|e| report(k, "cron", text, &e)).ok()?;
    // A pattern such as "0 0 31 2 *" parses but never fires.
    if expr.next_after(DateTime::<Utc>::UNIX_EPOCH, tz).is_none() {
        k.problem("cron", format!("cron expression {text:?} never fires"));
        return None;
    }
    Some(WindowTime::Cron(Box::new(expr)))
}

/// A problem with the part of `text` that `e` points at.
fn report(k: &mut Keys<'_>, key: &str, text: &str, e: &ExprError) {
    k.problem_in(key, e.at.start, format!("{e} in {}", shown(text)));
}

/// An expression as messages quote it: AWS's forms are self-delimiting, Unix cron is quoted.
fn shown(text: &str) -> String {
    let t = text.trim();
    match Dialect::of(t) {
        Dialect::Aws => t.to_owned(),
        Dialect::Unix if schedule_at::is_at(t) => t.to_owned(),
        Dialect::Unix => format!("{t:?}"),
    }
}

/// `at`: a TOML date-time with offset, or `at(...)` in the window's zone. (A TOML date-time
/// reaches here as its text: `toml::Value` hands date-times to serde as strings.)
fn instant(k: &mut Keys<'_>, at: &toml::Value, tz: Tz) -> Option<WindowTime> {
    let found = match at {
        toml::Value::Datetime(d) => return datetime(k, d),
        toml::Value::String(s) if schedule_at::is_at(s) => return aws_at(k, s, tz),
        toml::Value::String(s) => match s.parse::<toml::value::Datetime>() {
            Ok(d) => return datetime(k, &d),
            Err(_) => format!("{s:?}"),
        },
        other => format!("a TOML {}", other.type_str()),
    };
    k.problem("at", format!("expected a TOML date-time with offset (2026-12-24T18:00:00+01:00) or \"at(yyyy-mm-ddThh:mm:ss)\", found {found}"));
    None
}

fn aws_at(k: &mut Keys<'_>, text: &str, tz: Tz) -> Option<WindowTime> {
    let local = schedule_at::parse(text).map_err(|e| report(k, "at", text, &e)).ok()?;
    let inside = text.len() - text.trim_start().len() + "at(".len();
    let instant =
        schedule_at::resolve(local, tz).map_err(|e| k.problem_in("at", inside, e.to_string())).ok()?;
    Some(WindowTime::At(instant))
}

fn datetime(k: &mut Keys<'_>, at: &toml::value::Datetime) -> Option<WindowTime> {
    let text = at.to_string();
    if let Ok(t) = DateTime::parse_from_rfc3339(&text) {
        return Some(WindowTime::At(t.with_timezone(&Utc)));
    }
    let message = match (at.date, at.time, at.offset) {
        (Some(_), Some(_), None) => format!(
            "{text} has no offset: add one (e.g. {text}+01:00), or write at = \"at({text})\" to read it in the window's timezone"
        ),
        _ => format!("{text} needs a date, a time and an offset, e.g. 2026-12-24T18:00:00+01:00"),
    };
    k.problem("at", message);
    None
}

/// What is wrong with a window's `min`, `max` and `desired` over the policy's `base` bounds, and
/// the key to blame; `None` when they fit. Also checked against a controller's `trimtab:min` and
/// `trimtab:max` tags in [`crate::config::fleet::policy_for`].
pub(in crate::config) fn conflict(
    base: Bounds,
    min: Option<u32>,
    max: Option<u32>,
    desired: Option<u32>,
) -> Option<(&'static str, String)> {
    let lo = min.unwrap_or(base.min().get());
    let hi = max.unwrap_or(base.max().get());
    if lo > hi {
        let key = if min.is_some() { "min" } else { "max" };
        return Some((key, format!("window bounds are empty: min {lo} > max {hi}")));
    }
    let d = desired.filter(|d| !(lo..=hi).contains(d))?;
    Some(("desired", format!("desired {d} lies outside the window's bounds [{lo}, {hi}]")))
}
