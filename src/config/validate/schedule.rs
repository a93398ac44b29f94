//! `[[schedule]]` windows.

use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::Keys;
use crate::config::error::Problems;
use crate::config::raw::RawSchedule;
use crate::core::schedule_expr::CronExpr;
use crate::core::{Bounds, ScheduleWindow, WindowTime};

/// Validates every window against the base bounds (`None` when those were invalid themselves).
pub fn windows(
    raw: &[Option<RawSchedule>],
    base: Option<Bounds>,
    p: &mut Problems,
) -> Option<Vec<ScheduleWindow>> {
    let names = raw.iter().map(|r| r.as_ref().and_then(|r| r.name.as_deref()));
    super::report_duplicates("schedule", "schedule", names, p);
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let mut k = Keys { path: format!("schedule[{i}]"), p: &mut *p };
        out.push(r.as_ref().and_then(|r| window(&mut k, r, base)));
    }
    out.into_iter().collect()
}

fn window(k: &mut Keys<'_>, r: &RawSchedule, base: Option<Bounds>) -> Option<ScheduleWindow> {
    let name = k.required("name", &r.name);
    let time = match (&r.cron, &r.at) {
        (Some(c), None) => cron(k, c),
        (None, Some(at)) => instant(k, at),
        (Some(_), Some(_)) => {
            k.problem("at", "give either cron (repeating) or at (one-off), not both");
            None
        }
        (None, None) => {
            k.problem("cron", "missing: give cron (repeating) or at (one-off)");
            None
        }
    };
    let duration = k
        .required("duration", &r.duration)
        .and_then(|d| k.positive_duration("duration", Some(&d), "", super::ONE_YEAR));
    let tz_name = r.timezone.as_deref().unwrap_or("UTC");
    let tz = chrono_tz::Tz::from_str(tz_name).map_err(|_| {
        k.problem("timezone", format!("unknown time zone {tz_name:?}; use an IANA name such as \"Europe/Berlin\" or \"America/New_York\""));
    });
    let min = r.min.and_then(|v| k.count("min", Some(v), 0, 0));
    let max = r.max.and_then(|v| k.count("max", Some(v), 0, 1));
    let desired = r.desired.and_then(|v| k.count("desired", Some(v), 0, 0));
    if r.min.is_none() && r.max.is_none() && r.desired.is_none() {
        k.problem("min", "a window must set at least one of min, max or desired");
    }
    if let Some(base) = base {
        check_bounds(k, base, min, max, desired);
    }
    let priority = r.priority.unwrap_or(0);
    let priority = i32::try_from(priority).map_err(|_| k.problem("priority", "out of range"));
    Some(ScheduleWindow {
        name: name?,
        time: time?,
        duration: duration?,
        tz: tz.ok()?,
        min,
        max,
        desired,
        priority: priority.ok()?,
    })
}

fn cron(k: &mut Keys<'_>, text: &str) -> Option<WindowTime> {
    let parsed = CronExpr::parse(text)
        .map_err(|e| k.problem("cron", format!("invalid cron expression {text:?}: {e}")))
        .ok()?;
    // A pattern such as "0 0 31 2 *" parses but never fires.
    let epoch = DateTime::<Utc>::from_timestamp(946_684_800, 0).expect("2000-01-01 is a valid instant");
    if parsed.next_after(epoch, chrono_tz::UTC).is_none() {
        k.problem("cron", format!("cron expression {text:?} never fires"));
        return None;
    }
    Some(WindowTime::Cron(Box::new(parsed)))
}

fn instant(k: &mut Keys<'_>, at: &toml::value::Datetime) -> Option<WindowTime> {
    let text = at.to_string();
    match DateTime::parse_from_rfc3339(&text) {
        Ok(t) => Some(WindowTime::At(t.with_timezone(&Utc))),
        Err(_) => {
            k.problem(
                "at",
                format!("{text} needs a date, a time and an offset, e.g. 2026-12-24T18:00:00+01:00"),
            );
            None
        }
    }
}

fn check_bounds(k: &mut Keys<'_>, base: Bounds, min: Option<u32>, max: Option<u32>, desired: Option<u32>) {
    let lo = min.unwrap_or(base.min().get());
    let hi = max.unwrap_or(base.max().get());
    if lo > hi {
        let key = if min.is_some() { "min" } else { "max" };
        k.problem(key, format!("window bounds are empty: min {lo} > max {hi} (a key the window leaves out comes from [scaling])"));
    } else if let Some(d) = desired.filter(|d| !(lo..=hi).contains(d)) {
        k.problem("desired", format!("desired {d} lies outside the window's bounds [{lo}, {hi}]"));
    }
}
