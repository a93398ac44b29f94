//! The budget: its period, its warning and critical levels, the watch that turns crossings into
//! at most one alert per level and period (and a recovery notice when a forecast falls back),
//! and the cap — how many tasks the remaining budget can afford to the period's end.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Months, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::event::{BudgetEvent, EventKind, Level, Signal};
use super::forecast::Forecast;
use super::ledger::local_midnight;
use super::pricing::Rate;
use crate::core::{Money, Replicas};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    /// Calendar months in the budget's time zone.
    Monthly,
    /// Calendar days in the budget's time zone.
    Daily,
}

/// A level: a fraction of the budget, or an amount of money.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Threshold {
    Fraction(f64),
    #[serde(rename = "amount_usd")]
    Amount(Money),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    pub amount: Money,
    pub period: PeriodKind,
    pub tz: Tz,
    pub warn_at: Threshold,
    pub critical_at: Threshold,
    /// Past this level, scale-out stops at what the remaining budget affords; `None`: never.
    pub cap: Option<Level>,
}

/// The current budget period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    /// `2026-11` or `2026-11-22`.
    pub key: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Budget {
    /// The amount of money a level stands for.
    pub fn threshold(&self, level: Level) -> Money {
        let t = match level {
            Level::Ok => return Money::ZERO,
            Level::Warning => self.warn_at,
            Level::Critical => self.critical_at,
        };
        match t {
            Threshold::Amount(m) => m,
            Threshold::Fraction(f) => Money::from_micros((self.amount.micros() as f64 * f).round() as i64),
        }
    }

    /// The highest level `amount` has reached.
    pub fn level_of(&self, amount: Money) -> Level {
        [Level::Critical, Level::Warning]
            .into_iter()
            .find(|l| amount >= self.threshold(*l))
            .unwrap_or(Level::Ok)
    }

    /// The period `now` lies in.
    pub fn period(&self, now: DateTime<Utc>) -> Period {
        period(self.period, self.tz, now)
    }

    /// The spend that counts against this budget: month to date or today.
    pub fn spent(&self, month_to_date: Money, today: Money) -> Money {
        match self.period {
            PeriodKind::Monthly => month_to_date,
            PeriodKind::Daily => today,
        }
    }
}

/// The calendar month or day in `tz` that `now` lies in.
pub fn period(kind: PeriodKind, tz: Tz, now: DateTime<Utc>) -> Period {
    let date = now.with_timezone(&tz).date_naive();
    let (first, next, key) = match kind {
        PeriodKind::Monthly => {
            let first = date.with_day(1).unwrap_or(date);
            (first, first + Months::new(1), first.format("%Y-%m").to_string())
        }
        PeriodKind::Daily => (date, date.succ_opt().unwrap_or(date), date.format("%Y-%m-%d").to_string()),
    };
    let at = |d| local_midnight(tz, d).unwrap_or(now);
    Period { key, start: at(first), end: at(next) }
}

/// Where the budget stands at one tick.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BudgetStatus {
    pub period: Period,
    #[serde(rename = "budget_usd")]
    pub budget: Money,
    #[serde(rename = "spent_usd")]
    pub spent: Money,
    #[serde(rename = "warn_at_usd")]
    pub warn_at: Money,
    #[serde(rename = "critical_at_usd")]
    pub critical_at: Money,
    pub forecast: Forecast,
    pub actual: Level,
    pub forecasted: Level,
    /// The most tasks the remaining budget affords to the period's end.
    pub affordable: u32,
    /// `Some(affordable)` when the cap is engaged (the configured level was reached).
    pub cap: Option<Replicas>,
}

/// Puts together the budget's state from spend, forecast and one task's rate.
pub fn status(b: &Budget, now: DateTime<Utc>, spent: Money, forecast: Forecast, rate: Rate) -> BudgetStatus {
    let period = b.period(now);
    let (actual, forecasted) = (b.level_of(spent), b.level_of(forecast.total));
    let afford = affordable(b.amount, spent, rate, now, period.end);
    let engaged = b.cap.is_some_and(|c| actual.max(forecasted) >= c);
    BudgetStatus {
        budget: b.amount,
        spent,
        warn_at: b.threshold(Level::Warning),
        critical_at: b.threshold(Level::Critical),
        forecast,
        actual,
        forecasted,
        affordable: afford,
        cap: engaged.then_some(Replicas(afford)),
        period,
    }
}

/// How many tasks, running from `now` to `end`, the money left (`budget - spent`) pays for.
pub fn affordable(budget: Money, spent: Money, rate: Rate, now: DateTime<Utc>, end: DateTime<Utc>) -> u32 {
    let left = i128::from(budget.micros().saturating_sub(spent.micros())).max(0);
    let ms = i128::from((end - now).num_milliseconds().max(0));
    let per_task = i128::from(rate.pico()) * ms; // pico × ms per hour
    if per_task == 0 {
        return u32::MAX;
    }
    // left micro-dollars × 1e6 (→ pico) × 3.6e6 (hour → ms) / per_task, rounded down.
    let n = left * 1_000_000 * 3_600_000 / per_task;
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Remembers which levels were announced in the current period.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Watch {
    period: String,
    alerted: BTreeSet<(Signal, Level)>,
    recovered: BTreeSet<(Signal, Level)>,
}

impl Watch {
    /// A watch that knows the levels already announced in `period` (rebuilt from the agent's
    /// own metrics after a restart, so a restart does not announce them again).
    pub fn restore(period: &str, actual: Level, forecast: Level) -> Watch {
        let mut w = Watch { period: period.to_owned(), ..Watch::default() };
        for (signal, reached) in [(Signal::Actual, actual), (Signal::Forecast, forecast)] {
            for level in [Level::Warning, Level::Critical].into_iter().filter(|l| *l <= reached) {
                w.alerted.insert((signal, level));
            }
        }
        w
    }

    /// The events this status brings: an alert for each level newly reached in the period (the
    /// first time only), a recovery notice when the forecast falls back below an announced level.
    pub fn update(&mut self, b: &Budget, s: &BudgetStatus, at: DateTime<Utc>) -> Vec<BudgetEvent> {
        if self.period != s.period.key {
            *self = Watch { period: s.period.key.clone(), ..Watch::default() };
        }
        let mut events = Vec::new();
        for (signal, amount, reached) in
            [(Signal::Actual, s.spent, s.actual), (Signal::Forecast, s.forecast.total, s.forecasted)]
        {
            for level in [Level::Warning, Level::Critical] {
                let key = (signal, level);
                let kind = if reached >= level && self.alerted.insert(key) {
                    EventKind::Alert
                } else if reached < level
                    && signal == Signal::Forecast
                    && self.alerted.contains(&key)
                    && self.recovered.insert(key)
                {
                    EventKind::Recovery
                } else {
                    continue;
                };
                events.push(event(b, s, at, kind, signal, level, amount));
            }
        }
        events
    }
}

fn event(
    b: &Budget,
    s: &BudgetStatus,
    at: DateTime<Utc>,
    kind: EventKind,
    signal: Signal,
    level: Level,
    amount: Money,
) -> BudgetEvent {
    let threshold = b.threshold(level);
    let share = match b.amount.micros() {
        0 => String::new(),
        total => format!(" ({:.0}% of {})", 100.0 * threshold.micros() as f64 / total as f64, b.amount),
    };
    let what = match signal {
        Signal::Actual => "spend to date",
        Signal::Forecast => "forecast",
    };
    let message = match kind {
        EventKind::Alert => {
            format!("{what} {amount} for {} reached the {level} level {threshold}{share}", s.period.key)
        }
        EventKind::Recovery => {
            format!(
                "{what} {amount} for {} fell back below the {level} level {threshold}{share}",
                s.period.key
            )
        }
    };
    BudgetEvent {
        kind,
        signal,
        level,
        period: s.period.key.clone(),
        amount,
        threshold,
        budget: b.amount,
        spent: s.spent,
        forecast: s.forecast.total,
        at,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::cost::forecast::Method;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn usd(d: i64) -> Money {
        Money::from_micros(d * 1_000_000)
    }

    fn budget() -> Budget {
        Budget {
            amount: usd(500),
            period: PeriodKind::Monthly,
            tz: Tz::UTC,
            warn_at: Threshold::Fraction(0.75),
            critical_at: Threshold::Amount(usd(450)),
            cap: Some(Level::Critical),
        }
    }

    fn forecast(total: Money) -> Forecast {
        Forecast {
            total,
            remaining: Money::ZERO,
            method: Method::RunRate,
            expected_tasks: 0.0,
            explanation: String::new(),
        }
    }

    #[test]
    fn levels_and_periods() {
        let b = budget();
        assert_eq!((b.threshold(Level::Warning), b.threshold(Level::Critical)), (usd(375), usd(450)));
        assert_eq!(
            [b.level_of(usd(374)), b.level_of(usd(375)), b.level_of(usd(460))],
            [Level::Ok, Level::Warning, Level::Critical]
        );
        let p = b.period(utc("2026-11-22T10:00:00Z"));
        assert_eq!(
            (p.key.as_str(), p.start, p.end),
            ("2026-11", utc("2026-11-01T00:00:00Z"), utc("2026-12-01T00:00:00Z"))
        );
        let tokyo = Budget { period: PeriodKind::Daily, tz: "Asia/Tokyo".parse().unwrap(), ..budget() };
        let p = tokyo.period(utc("2026-11-22T16:00:00Z")); // 01:00 on the 23rd in Tokyo
        assert_eq!((p.key.as_str(), p.start), ("2026-11-23", utc("2026-11-22T15:00:00Z")));
    }

    #[test]
    fn affordable_counts_whole_tasks_to_the_period_end() {
        let rate = Rate::parse_usd("0.5").unwrap();
        let (now, end) = (utc("2026-11-30T00:00:00Z"), utc("2026-12-01T00:00:00Z"));
        // $50 left over 24 h at $12 per task-day: 4 tasks.
        assert_eq!(affordable(usd(500), usd(450), rate, now, end), 4);
        assert_eq!(affordable(usd(500), usd(510), rate, now, end), 0);
    }

    #[test]
    fn one_alert_per_level_per_period_then_a_recovery() {
        let b = budget();
        let mut w = Watch::default();
        let rate = Rate::parse_usd("0.5").unwrap();
        let at = utc("2026-11-20T00:00:00Z");
        let mut step = |spent: i64, fc: i64, at: DateTime<Utc>| {
            let s = status(&b, at, usd(spent), forecast(usd(fc)), rate);
            w.update(&b, &s, at).into_iter().map(|e| (e.kind, e.signal, e.level)).collect::<Vec<_>>()
        };
        assert!(step(100, 300, at).is_empty());
        assert_eq!(step(100, 380, at), [(EventKind::Alert, Signal::Forecast, Level::Warning)]);
        assert!(step(110, 390, at).is_empty(), "no second warning");
        assert_eq!(step(120, 460, at), [(EventKind::Alert, Signal::Forecast, Level::Critical)]);
        assert!(step(120, 470, at).is_empty());
        assert_eq!(step(130, 400, at), [(EventKind::Recovery, Signal::Forecast, Level::Critical)]);
        assert!(step(130, 470, at).is_empty(), "no second critical in the period");
        // A new month starts over.
        assert_eq!(
            step(10, 400, utc("2026-12-01T00:10:00Z")),
            [(EventKind::Alert, Signal::Forecast, Level::Warning)]
        );
    }

    #[test]
    fn the_cap_engages_at_its_level() {
        let b = budget();
        let rate = Rate::parse_usd("0.5").unwrap();
        let now = utc("2026-11-30T00:00:00Z");
        let s = status(&b, now, usd(400), forecast(usd(440)), rate);
        assert_eq!((s.forecasted, s.cap, s.affordable), (Level::Warning, None, 8));
        let s = status(&b, now, usd(400), forecast(usd(460)), rate);
        assert_eq!(s.cap, Some(Replicas(8)));
        let restored = Watch::restore("2026-11", Level::Warning, Level::Critical);
        assert!(restored.alerted.contains(&(Signal::Forecast, Level::Warning)));
    }
}
