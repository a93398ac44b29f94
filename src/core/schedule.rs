//! Time-based schedule windows that raise or lower the policy's bounds.
//!
//! A window opens at each occurrence of its cron expression (Unix or AWS form, see
//! [`schedule_expr`](super::schedule_expr)), read as wall-clock time in its IANA time zone, or once
//! at a fixed instant (`at`, see [`schedule_at`](super::schedule_at)), and stays open for
//! `duration` of elapsed time.
//! Wall-clock reading makes windows DST-correct: "08:00 Europe/Berlin" is 07:00 UTC in winter
//! and 06:00 UTC in summer. The two DST edges follow cron's own rules (as implemented by
//! `croner`): a *fixed-time* expression (one minute of one hour, like `0 8 * * MON-FRI`) whose
//! time falls into a spring-forward gap opens at the first instant after the gap, and in a
//! fall-back overlap opens once, at the earlier instant; an *interval* expression (`*/20 2 * * *`)
//! follows the wall clock, so its occurrences inside the skipped hour do not happen and those in
//! the repeated hour happen twice.
//!
//! While a window is open its `min`, `max` and `desired` (a pin) replace the base policy's; keys
//! it does not set come from the base policy. **Overlaps**: when several windows are open, one
//! wins whole — the highest `priority`, then the one that opened most recently, then the one
//! written later in the config. When it closes the next open window (or the base) applies again.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;

pub use super::schedule_expr::CronExpr;
use super::types::{Bounds, Replicas, earlier, later};

/// The most openings of one window that `transitions` examines.
pub const MAX_STARTS: usize = 100_000;

/// When a window opens.
#[derive(Clone, Debug, PartialEq)]
pub enum WindowTime {
    /// Every occurrence of a cron expression, in the window's time zone.
    Cron(Box<CronExpr>),
    /// Once, at this instant.
    At(DateTime<Utc>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleWindow {
    pub name: String,
    pub time: WindowTime,
    pub duration: TimeDelta,
    pub tz: Tz,
    pub min: Option<u32>,
    pub max: Option<u32>,
    /// Pins the desired count while open (still within the window's bounds).
    pub desired: Option<u32>,
    pub priority: i32,
}

impl ScheduleWindow {
    /// The instant the open occurrence covering `now` started, if the window is open.
    pub fn open_since(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = match &self.time {
            WindowTime::At(at) => *at,
            WindowTime::Cron(cron) => cron.latest_at_or_before(now, self.tz)?,
        };
        (start <= now && now < later(start, self.duration)).then_some(start)
    }

    /// Start instants of occurrences that are open at some point in `[from, to]`, at most
    /// `MAX_STARTS` of them (the caller can tell: the list is then that long).
    pub fn starts_overlapping(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        match &self.time {
            WindowTime::At(at) => {
                let open = *at <= to && from < later(*at, self.duration);
                if open { vec![*at] } else { vec![] }
            }
            WindowTime::Cron(cron) => cron
                .occurrences_after(earlier(from, self.duration), self.tz)
                .take_while(|t| *t <= to)
                .take(MAX_STARTS)
                .collect(),
        }
    }
}

/// The bounds in force at one instant, and which window set them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EffectiveBounds {
    pub bounds: Bounds,
    /// A desired count pinned by the winning window.
    pub pinned: Option<Replicas>,
    /// The winning window's name; `None` when the base policy applies.
    pub window: Option<String>,
}

/// The bounds in force at `now`: the winning open window's, or the base policy's.
pub fn effective(base: Bounds, windows: &[ScheduleWindow], now: DateTime<Utc>) -> EffectiveBounds {
    let winner = windows
        .iter()
        .enumerate()
        .filter_map(|(i, w)| Some(((w.priority, w.open_since(now)?, i), w)))
        .max_by_key(|(rank, _)| *rank)
        .map(|(_, w)| w);
    let Some(w) = winner else {
        return EffectiveBounds { bounds: base, pinned: None, window: None };
    };
    let min = w.min.unwrap_or(base.min().get());
    // Config validation rejects windows whose min exceeds the max they end up with; should one
    // slip through, raising capacity is the safe side.
    let max = w.max.unwrap_or(base.max().get()).max(min);
    let bounds = Bounds::new(min, max).unwrap_or(base);
    EffectiveBounds {
        bounds,
        pinned: w.desired.map(|d| bounds.clamp(Replicas(d))),
        window: Some(w.name.clone()),
    }
}

/// A change of the effective bounds at an instant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub effective: EffectiveBounds,
}

/// The changes of the effective bounds in a span.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transitions {
    /// The state at the start of the span, then every change.
    pub changes: Vec<Transition>,
    /// Set when a window opens more than [`MAX_STARTS`] times in the span: changes are complete
    /// only up to this instant.
    pub complete_until: Option<DateTime<Utc>>,
}

/// Every change of the effective bounds in `(from, to]`, plus the state at `from` first.
pub fn transitions(
    base: Bounds,
    windows: &[ScheduleWindow],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Transitions {
    let starts: Vec<(&ScheduleWindow, Vec<DateTime<Utc>>)> =
        windows.iter().map(|w| (w, w.starts_overlapping(from, to))).collect();
    // A window cut off at MAX_STARTS is only known up to its last listed start.
    let complete_until =
        starts.iter().filter(|(_, s)| s.len() >= MAX_STARTS).filter_map(|(_, s)| s.last().copied()).min();
    let end = complete_until.unwrap_or(to);
    let mut edges: Vec<DateTime<Utc>> = starts
        .iter()
        .flat_map(|(w, s)| s.iter().flat_map(move |s| [*s, later(*s, w.duration)]))
        .filter(|t| from < *t && *t <= end)
        .collect();
    edges.sort();
    edges.dedup();
    let mut changes = vec![Transition { at: from, effective: effective(base, windows, from) }];
    for at in edges {
        let now = effective(base, windows, at);
        if changes.last().is_some_and(|t| t.effective != now) {
            changes.push(Transition { at, effective: now });
        }
    }
    Transitions { changes, complete_until }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::{Datelike, NaiveDate, TimeZone, Weekday};

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cron(text: &str) -> WindowTime {
        WindowTime::Cron(Box::new(CronExpr::from_str(text).unwrap()))
    }

    fn business_hours() -> ScheduleWindow {
        ScheduleWindow {
            name: "business-hours".into(),
            time: cron("0 8 * * MON-FRI"),
            duration: TimeDelta::hours(10),
            tz: chrono_tz::Europe::Berlin,
            min: Some(6),
            max: Some(30),
            desired: None,
            priority: 0,
        }
    }

    fn base() -> Bounds {
        Bounds::new(2, 20).unwrap()
    }

    #[test]
    fn business_hours_follow_berlin_wall_clock_across_dst() {
        // (instant, open?) — Berlin is UTC+1 in winter, UTC+2 in summer.
        let cases = [
            ("2026-03-27T06:59:59Z", false), // Fri, winter: opens 07:00Z
            ("2026-03-27T07:00:00Z", true),
            ("2026-03-27T16:59:59Z", true),
            ("2026-03-27T17:00:00Z", false),
            ("2026-03-28T10:00:00Z", false), // Saturday
            ("2026-03-30T05:59:59Z", false), // Mon after spring-forward: opens 06:00Z
            ("2026-03-30T06:00:00Z", true),
            ("2026-03-30T15:59:59Z", true),
            ("2026-03-30T16:00:00Z", false),
            ("2026-10-26T06:30:00Z", false), // Mon after fall-back: opens 07:00Z again
            ("2026-10-26T07:00:00Z", true),
        ];
        let w = business_hours();
        for (at, open) in cases {
            assert_eq!(w.open_since(utc(at)).is_some(), open, "{at}");
        }
    }

    #[test]
    fn occurrence_in_spring_gap_opens_after_the_gap_and_fall_back_opens_once() {
        let mut w = business_hours();
        w.time = cron("30 2 * * *");
        w.duration = TimeDelta::minutes(30);
        // 2026-03-29 02:30 Berlin does not exist; the window opens at 03:00 CEST = 01:00Z.
        assert_eq!(w.open_since(utc("2026-03-29T01:10:00Z")), Some(utc("2026-03-29T01:00:00Z")));
        assert_eq!(w.open_since(utc("2026-03-29T00:45:00Z")), None);
        // 2026-10-25 02:30 Berlin happens twice (00:30Z and 01:30Z); the window opens once.
        assert_eq!(w.open_since(utc("2026-10-25T00:40:00Z")), Some(utc("2026-10-25T00:30:00Z")));
        assert_eq!(w.open_since(utc("2026-10-25T01:40:00Z")), None);
    }

    #[test]
    fn interval_expressions_follow_the_wall_clock_across_dst() {
        let mut w = business_hours();
        w.time = cron("*/20 2 * * *");
        w.duration = TimeDelta::minutes(5);
        let opens = |from: &str, to: &str| w.starts_overlapping(utc(from), utc(to)).len();
        // An ordinary night: 02:00, 02:20, 02:40.
        assert_eq!(opens("2026-03-27T23:30:00Z", "2026-03-28T02:00:00Z"), 3);
        // Spring forward: 02:00-02:59 does not exist in Berlin on 2026-03-29.
        assert_eq!(opens("2026-03-28T23:30:00Z", "2026-03-29T02:00:00Z"), 0);
        // Fall back: 02:00-02:59 happens twice on 2026-10-25.
        assert_eq!(opens("2026-10-24T23:30:00Z", "2026-10-25T02:00:00Z"), 6);
    }

    #[test]
    fn a_window_opening_too_often_is_reported_not_silently_cut() {
        let mut w = business_hours();
        w.time = cron("* * * * *");
        w.duration = TimeDelta::seconds(30);
        let from = utc("2026-01-01T00:00:00Z");
        let t = transitions(base(), &[w], from, from + TimeDelta::days(100));
        let until = t.complete_until.expect("100 days of minutes exceed MAX_STARTS");
        assert!(until > from + TimeDelta::days(60) && until < from + TimeDelta::days(70), "{until}");
        assert!(t.changes.iter().all(|c| c.at <= until));
    }

    #[test]
    fn overlap_rule_priority_then_latest_start_then_file_order() {
        let bh = business_hours();
        let mut launch = business_hours();
        launch.name = "launch".into();
        launch.time = WindowTime::At(utc("2026-03-27T09:00:00Z"));
        launch.duration = TimeDelta::hours(2);
        launch.min = Some(12);
        launch.max = None;
        let windows = [bh.clone(), launch.clone()];
        let at = utc("2026-03-27T10:00:00Z");
        // Both open; the launch opened later and wins whole: its min, the base max.
        let e = effective(base(), &windows, at);
        assert_eq!(e.window.as_deref(), Some("launch"));
        assert_eq!(e.bounds, Bounds::new(12, 20).unwrap());
        // A higher priority beats a later start.
        let mut prio = bh.clone();
        prio.priority = 1;
        let e = effective(base(), &[prio, launch], at);
        assert_eq!(e.window.as_deref(), Some("business-hours"));
        // Closed: the base policy applies again.
        let e = effective(base(), &windows, utc("2026-03-27T18:00:00Z"));
        assert_eq!((e.bounds, e.window), (base(), None));
    }

    #[test]
    fn pin_is_clamped_to_window_bounds() {
        let mut w = business_hours();
        w.desired = Some(50);
        let e = effective(base(), &[w], utc("2026-03-27T10:00:00Z"));
        assert_eq!(e.pinned, Some(Replicas(30)));
    }

    #[test]
    fn transitions_list_each_open_and_close() {
        let from = utc("2026-03-27T00:00:00Z"); // Friday
        let to = utc("2026-03-31T00:00:00Z");
        let t = transitions(base(), &[business_hours()], from, to);
        assert_eq!(t.complete_until, None);
        let ats: Vec<_> = t.changes.iter().map(|t| t.at).collect();
        assert_eq!(
            ats,
            vec![
                from,
                utc("2026-03-27T07:00:00Z"),
                utc("2026-03-27T17:00:00Z"),
                utc("2026-03-30T06:00:00Z"),
                utc("2026-03-30T16:00:00Z"),
            ]
        );
    }

    /// Independent oracle: is `t` inside a Mon–Fri 08:00–18:00 Berlin window?
    fn in_berlin_business_hours(t: DateTime<Utc>) -> bool {
        let local = t.with_timezone(&chrono_tz::Europe::Berlin).date_naive();
        [local.pred_opt().unwrap(), local].into_iter().any(|d: NaiveDate| {
            let weekday = !matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
            let start = chrono_tz::Europe::Berlin
                .from_local_datetime(&d.and_hms_opt(8, 0, 0).unwrap())
                .single()
                .unwrap()
                .with_timezone(&Utc);
            weekday && start <= t && t < start + TimeDelta::hours(10)
        })
    }

    proptest::proptest! {
        #[test]
        fn window_bounds_hold_exactly_inside_and_not_outside(
            // 2026-03-20 .. 2026-04-05 and 2026-10-18 .. 2026-11-01: both DST changes.
            offset in 0i64..(16 * 86_400),
            autumn in proptest::bool::ANY,
        ) {
            let start = if autumn { utc("2026-10-18T00:00:00Z") } else { utc("2026-03-20T00:00:00Z") };
            let t = start + TimeDelta::seconds(offset);
            let e = effective(base(), &[business_hours()], t);
            if in_berlin_business_hours(t) {
                proptest::prop_assert_eq!(e.bounds, Bounds::new(6, 30).unwrap());
            } else {
                proptest::prop_assert_eq!(e.bounds, base());
            }
        }
    }
}
