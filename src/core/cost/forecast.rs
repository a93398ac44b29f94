//! Where the budget period will end: spend to date plus what the rest of the period is expected
//! to cost. The expected task count is the recent mean count, held inside the bounds each
//! schedule window sets (a business-hours window that raises `min` costs what it will cost, a
//! window that pins the count costs exactly that).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::pricing::{Rate, div_round};
use crate::core::schedule::{ScheduleWindow, transitions};
use crate::core::{Bounds, Money};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The recent mean count for the rest of the period, inside the policy's bounds.
    RunRate,
    /// As `RunRate`, but segment by segment within the bounds the schedule windows set.
    ScheduleAware,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::RunRate => "run-rate",
            Method::ScheduleAware => "schedule-aware",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Forecast {
    /// Spend at the end of the period.
    #[serde(rename = "total_usd")]
    pub total: Money,
    /// Of which still to come.
    #[serde(rename = "remaining_usd")]
    pub remaining: Money,
    pub method: Method,
    /// The mean task count expected over the rest of the period.
    pub expected_tasks: f64,
    /// One line: how the number was made.
    pub explanation: String,
}

/// The forecast at `now` for a period ending at `end`, from `spent` so far, one task's `rate`,
/// and `recent_mean` tasks observed lately.
pub fn forecast(
    spent: Money,
    now: DateTime<Utc>,
    end: DateTime<Utc>,
    rate: Rate,
    recent_mean: f64,
    base: Bounds,
    windows: &[ScheduleWindow],
) -> Forecast {
    let recent_mean = if recent_mean.is_finite() { recent_mean.max(0.0) } else { 0.0 };
    let mut pico_ms_milli: i128 = 0; // rate × ms × milli-tasks
    let mut task_ms = 0.0;
    let mut total_ms = 0i64;
    let mut shaped = false;
    if now < end {
        let t = transitions(base, windows, now, end);
        for (i, c) in t.changes.iter().enumerate() {
            let to = t.changes.get(i + 1).map_or(end, |n| n.at);
            let ms = (to - c.at).num_milliseconds().max(0);
            let e = &c.effective;
            shaped |= e.window.is_some();
            let tasks = match e.pinned {
                Some(p) => f64::from(p.get()),
                None => recent_mean.clamp(f64::from(e.bounds.min().get()), f64::from(e.bounds.max().get())),
            };
            let milli = (tasks * 1000.0).round() as i128;
            pico_ms_milli += i128::from(rate.pico()) * i128::from(ms) * milli;
            task_ms += tasks * ms as f64;
            total_ms += ms;
        }
    }
    // pico × ms × milli-tasks → micro-dollars: / 1e6 (pico→micro) / 3.6e6 (ms→h) / 1e3.
    let remaining = Money::from_micros(div_round(pico_ms_milli, 1_000_000 * 3_600_000 * 1_000) as i64);
    let expected_tasks = if total_ms > 0 { task_ms / total_ms as f64 } else { recent_mean };
    let method = if shaped { Method::ScheduleAware } else { Method::RunRate };
    let hours = total_ms as f64 / 3_600_000.0;
    let explanation = match method {
        Method::RunRate => format!(
            "{spent} spent + {hours:.1} h left × {expected_tasks:.2} tasks (recent mean {recent_mean:.2}, \
             within bounds) × {rate}/task-hour"
        ),
        Method::ScheduleAware => format!(
            "{spent} spent + {hours:.1} h left at the recent mean {recent_mean:.2} tasks held within each \
             schedule window's bounds (mean {expected_tasks:.2}) × {rate}/task-hour"
        ),
    };
    Forecast {
        total: Money::from_micros(spent.micros().saturating_add(remaining.micros())),
        remaining,
        method,
        expected_tasks,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::TimeDelta;
    use chrono_tz::Tz;

    use super::*;
    use crate::core::schedule::WindowTime;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn run_rate_holds_the_recent_mean_within_bounds() {
        let rate = Rate::parse_usd("0.5").unwrap();
        let (now, end) = (utc("2026-11-30T00:00:00Z"), utc("2026-12-01T00:00:00Z"));
        let f =
            forecast(Money::from_micros(100_000_000), now, end, rate, 3.0, Bounds::new(2, 10).unwrap(), &[]);
        // 24 h × 3 tasks × 0.5
        assert_eq!((f.remaining, f.method), (Money::from_micros(36_000_000), Method::RunRate));
        assert_eq!(f.total, Money::from_micros(136_000_000));
        // Below min, the min is what will run.
        let f = forecast(Money::ZERO, now, end, rate, 0.5, Bounds::new(2, 10).unwrap(), &[]);
        assert_eq!(f.remaining, Money::from_micros(24_000_000));
        // At the end of the period nothing remains.
        let f = forecast(Money::from_micros(7), end, end, rate, 3.0, Bounds::new(2, 10).unwrap(), &[]);
        assert_eq!(f.total, Money::from_micros(7));
    }

    #[test]
    fn a_business_hours_window_costs_what_it_will_cost() {
        // Weekdays 08:00-18:00 UTC the min is 8; otherwise the mean of 3 runs.
        let w = ScheduleWindow {
            name: "business-hours".into(),
            time: WindowTime::Cron(Box::new(croner::Cron::from_str("0 8 * * MON-FRI").unwrap().into())),
            duration: TimeDelta::hours(10),
            tz: Tz::UTC,
            min: Some(8),
            max: None,
            desired: None,
            priority: 0,
        };
        let rate = Rate::parse_usd("1").unwrap();
        // Mon 2026-11-30 00:00 → Tue 2026-12-01 00:00: 10 h at 8 + 14 h at 3 = 122 task-hours.
        let (now, end) = (utc("2026-11-30T00:00:00Z"), utc("2026-12-01T00:00:00Z"));
        let f = forecast(Money::ZERO, now, end, rate, 3.0, Bounds::new(2, 20).unwrap(), &[w]);
        assert_eq!((f.remaining, f.method), (Money::from_micros(122_000_000), Method::ScheduleAware));
        assert!((f.expected_tasks - 122.0 / 24.0).abs() < 1e-9, "{}", f.expected_tasks);
    }
}
