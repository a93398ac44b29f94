//! The money ledger: integrates what the service costs as its running task count changes.
//!
//! Fargate bills each task per second, from start to stop, with a one-minute minimum. The ledger
//! sees the running count at each observation, integrates the count over time (to the
//! millisecond), and when the count drops it charges the missing part of the minimum for tasks
//! that stop within a minute of starting (the youngest stop first — the expensive assumption).
//!
//! Sums are exact integers: a task's rate is integer pico-dollars per hour and time is integer
//! milliseconds, so the sum is held in pico-dollar-milliseconds per hour and only rounded to the
//! micro-dollar when it is read. Month and day totals roll over at midnight in the budget's time
//! zone; an interval that crosses midnight is split there.

use std::collections::VecDeque;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::pricing::{Rate, clamp_i64, div_round};
use crate::core::Money;

/// Shortest billed time per task start.
pub const MINIMUM_MS: i64 = 60_000;
/// `acc` units per micro-dollar: pico→micro (1e6) × ms per hour (3.6e6).
const ACC_PER_MICRO: i128 = 1_000_000 * 3_600_000;
/// How far back the recent mean count looks.
pub const RECENT: TimeDelta = TimeDelta::hours(24);

/// The exact sum of one period (a calendar month or day in the ledger's zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Period {
    start: NaiveDate,
    acc: i128,
}

impl Period {
    fn money(&self) -> Money {
        Money::from_micros(clamp_i64(div_round(self.acc, ACC_PER_MICRO)))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ledger {
    rate: Rate,
    tz: Tz,
    /// The last observation; `None` until the first.
    at: Option<DateTime<Utc>>,
    /// The count since `at`; `None` after a resume, until the first observation.
    running: Option<u32>,
    /// Tasks still inside their billed minute, as `(start, how many started then)`, oldest
    /// first: one entry per observation, whatever the counts, so an absurd count from outside
    /// costs no memory.
    young: Vec<(DateTime<Utc>, u32)>,
    month: Period,
    day: Period,
    /// Count changes of the last [`RECENT`], oldest first: `(since, count)`.
    recent: VecDeque<(DateTime<Utc>, u32)>,
}

/// What the ledger says now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LedgerView {
    pub running: u32,
    #[serde(rename = "per_task_hour_usd")]
    pub per_task_hour: Rate,
    #[serde(rename = "per_hour_usd")]
    pub per_hour: Rate,
    #[serde(rename = "today_usd")]
    pub today: Money,
    #[serde(rename = "month_to_date_usd")]
    pub month_to_date: Money,
    /// The month and day the totals belong to, in the ledger's zone.
    pub month: String,
    pub day: String,
}

impl Ledger {
    /// An empty ledger: nothing spent this month, as of its first observation.
    pub fn new(rate: Rate, tz: Tz) -> Ledger {
        let epoch = NaiveDate::MIN;
        Ledger {
            rate,
            tz,
            at: None,
            running: None,
            young: Vec::new(),
            month: Period { start: epoch, acc: 0 },
            day: Period { start: epoch, acc: 0 },
            recent: VecDeque::new(),
        }
    }

    /// A ledger that continues from totals recorded at `at` (the agent's own cost metrics after a
    /// restart). The first observation charges the gap since `at` at the count it sees: the
    /// service kept running while the agent was away.
    pub fn resume(rate: Rate, tz: Tz, at: DateTime<Utc>, month_to_date: Money, today: Money) -> Ledger {
        let date = at.with_timezone(&tz).date_naive();
        let acc = |m: Money| i128::from(m.micros()).saturating_mul(ACC_PER_MICRO);
        Ledger {
            at: Some(at),
            month: Period { start: date.with_day(1).unwrap_or(date), acc: acc(month_to_date) },
            day: Period { start: date, acc: acc(today) },
            ..Ledger::new(rate, tz)
        }
    }

    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// A new task rate from the last observation on (the task was resized): the interval up to
    /// the next observation is charged at it.
    pub fn set_rate(&mut self, rate: Rate) {
        self.rate = rate;
    }

    /// Records that `running` tasks run at `now` (observations must not go back in time; an
    /// earlier `now` is taken as the last one).
    pub fn observe(&mut self, now: DateTime<Utc>, running: u32) {
        let Some(at) = self.at else {
            self.roll(now);
            self.at = Some(now);
            self.running = Some(running);
            self.recent.push_back((now, running));
            return;
        };
        let now = now.max(at);
        let before = self.running.unwrap_or(running);
        self.integrate(at, now, before);
        self.roll(now);
        if running > before {
            self.young.push((now, running - before));
        } else {
            self.stop_youngest(now, before - running);
        }
        self.young.retain(|(s, _)| (now - *s).num_milliseconds() < MINIMUM_MS);
        if self.running != Some(running) {
            self.recent.push_back((now, running));
        }
        while self.recent.len() > 1 && self.recent[1].0 <= now - RECENT {
            self.recent.pop_front();
        }
        self.at = Some(now);
        self.running = Some(running);
    }

    /// Charges the rest of the billed minute of `stopped` tasks, the youngest first.
    fn stop_youngest(&mut self, now: DateTime<Utc>, mut stopped: u32) {
        while stopped > 0 {
            let Some((start, n)) = self.young.pop() else { break };
            let k = n.min(stopped);
            let short = MINIMUM_MS - (now - start).num_milliseconds();
            self.charge(k, short.max(0));
            if n > k {
                self.young.push((start, n - k));
            }
            stopped -= k;
        }
    }

    /// Charges `count` tasks over `[from, to)`, split at each midnight in the zone.
    fn integrate(&mut self, from: DateTime<Utc>, to: DateTime<Utc>, count: u32) {
        let mut t = from;
        while t < to {
            self.roll(t);
            let next_midnight = self.next_midnight(t);
            let end = to.min(next_midnight);
            self.charge(count, (end - t).num_milliseconds());
            t = end;
        }
    }

    fn charge(&mut self, count: u32, ms: i64) {
        let add =
            i128::from(self.rate.pico()).saturating_mul(i128::from(count)).saturating_mul(i128::from(ms));
        self.month.acc = self.month.acc.saturating_add(add);
        self.day.acc = self.day.acc.saturating_add(add);
    }

    /// Starts new day and month totals when `t` lies past the current ones.
    fn roll(&mut self, t: DateTime<Utc>) {
        let date = t.with_timezone(&self.tz).date_naive();
        if date != self.day.start {
            self.day = Period { start: date, acc: 0 };
        }
        let month = date.with_day(1).unwrap_or(date);
        if month != self.month.start {
            self.month = Period { start: month, acc: 0 };
        }
    }

    fn next_midnight(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let date = t.with_timezone(&self.tz).date_naive();
        let next = date.succ_opt().unwrap_or(date);
        local_midnight(self.tz, next).unwrap_or(crate::core::types::later(t, TimeDelta::days(1)))
    }

    /// The totals as of the last observation.
    pub fn view(&self) -> LedgerView {
        let running = self.running.unwrap_or(0);
        LedgerView {
            running,
            per_task_hour: self.rate,
            per_hour: self.rate.times(running),
            today: self.day.money(),
            month_to_date: self.month.money(),
            month: self.month.start.format("%Y-%m").to_string(),
            day: self.day.start.format("%Y-%m-%d").to_string(),
        }
    }

    /// The time-weighted mean running count over the last [`RECENT`] (or since the first
    /// observation), up to the last observation.
    pub fn recent_mean(&self) -> Option<f64> {
        let end = self.at?;
        let from = self.recent.front()?.0.max(end - RECENT);
        let span = (end - from).num_milliseconds();
        if span <= 0 {
            return self.running.map(f64::from);
        }
        let mut sum = 0.0;
        for (i, (since, count)) in self.recent.iter().enumerate() {
            let a = (*since).max(from);
            let b = self.recent.get(i + 1).map_or(end, |n| n.0);
            if b > a {
                sum += f64::from(*count) * (b - a).num_milliseconds() as f64;
            }
        }
        Some(sum / span as f64)
    }
}

/// The first instant of `date` in `tz` (the earliest, should midnight be ambiguous; an hour later
/// should it not exist).
pub fn local_midnight(tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
    let naive = date.and_hms_opt(0, 0, 0)?;
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(naive + TimeDelta::hours(1))).earliest())
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The foundation example's task: $0.024685 per hour.
    fn rate() -> Rate {
        Rate::parse_usd("0.024685").unwrap()
    }

    #[test]
    fn integrates_the_count_over_time() {
        let mut l = Ledger::new(rate(), Tz::UTC);
        l.observe(utc("2026-11-10T00:00:00Z"), 4);
        l.observe(utc("2026-11-10T10:00:00Z"), 4);
        // 4 tasks × 10 h × 0.024685 = 0.9874
        assert_eq!(l.view().month_to_date, Money::from_micros(987_400));
        assert_eq!(l.view().per_hour, Rate::parse_usd("0.09874").unwrap());
    }

    #[test]
    fn a_task_stopped_within_its_first_minute_is_billed_a_minute() {
        let mut l = Ledger::new(Rate::parse_usd("3.6").unwrap(), Tz::UTC); // 0.001 per second
        l.observe(utc("2026-11-10T00:00:00Z"), 1);
        l.observe(utc("2026-11-10T00:00:10Z"), 2); // one more starts
        l.observe(utc("2026-11-10T00:00:30Z"), 1); // and stops after 20 s: billed 60 s
        l.observe(utc("2026-11-10T00:01:30Z"), 1);
        // first task 90 s + second task 60 s = 150 s × 0.001
        assert_eq!(l.view().month_to_date, Money::from_micros(150_000));
        // A task that ran past its minute is billed by the second: 2 tasks × 75 s more.
        l.observe(utc("2026-11-10T00:01:30Z"), 2);
        l.observe(utc("2026-11-10T00:02:45Z"), 1);
        assert_eq!(l.view().month_to_date, Money::from_micros(300_000));
    }

    #[test]
    fn totals_roll_over_at_midnight_in_the_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let mut l = Ledger::new(Rate::parse_usd("1").unwrap(), berlin);
        // 22:00 UTC on Nov 30 is 23:00 in Berlin: one hour left of November there.
        l.observe(utc("2026-11-30T22:00:00Z"), 1);
        l.observe(utc("2026-12-01T01:00:00Z"), 1);
        let v = l.view();
        assert_eq!((v.month.as_str(), v.day.as_str()), ("2026-12", "2026-12-01"));
        assert_eq!(
            (v.month_to_date, v.today),
            (Money::from_micros(2_000_000), Money::from_micros(2_000_000))
        );
        // 00:30 on Dec 2 in Berlin: the day starts from zero, the month goes on.
        l.observe(utc("2026-12-01T23:30:00Z"), 1);
        let v = l.view();
        assert_eq!((v.month_to_date, v.today), (Money::from_micros(24_500_000), Money::from_micros(500_000)));
    }

    #[test]
    fn resume_continues_the_recorded_totals_and_charges_the_gap() {
        let at = utc("2026-11-20T12:00:00Z");
        let mut l = Ledger::resume(
            rate(),
            Tz::UTC,
            at,
            Money::from_micros(300_000_000),
            Money::from_micros(5_000_000),
        );
        l.observe(utc("2026-11-20T13:00:00Z"), 2);
        let v = l.view();
        assert_eq!(v.month_to_date, Money::from_micros(300_049_370));
        assert_eq!(v.today, Money::from_micros(5_049_370));
        // Resumed in the old month: the new month starts from zero.
        // (No task ran in the gap, so nothing of it is charged either.)
        let mut l =
            Ledger::resume(rate(), Tz::UTC, utc("2026-10-31T23:00:00Z"), Money::from_micros(9), Money::ZERO);
        l.observe(utc("2026-11-01T00:10:00Z"), 0);
        assert_eq!(l.view().month_to_date, Money::ZERO);
    }

    #[test]
    fn recent_mean_weights_counts_by_time() {
        let mut l = Ledger::new(rate(), Tz::UTC);
        l.observe(utc("2026-11-20T00:00:00Z"), 2);
        l.observe(utc("2026-11-20T06:00:00Z"), 6);
        l.observe(utc("2026-11-20T12:00:00Z"), 6);
        assert_eq!(l.recent_mean(), Some(4.0));
        // Only the last 24 h count.
        l.observe(utc("2026-11-21T12:00:00Z"), 6);
        assert_eq!(l.recent_mean(), Some(6.0));
    }

    /// Issue 14, defect 5: a `runningCount` of 30,000,000 from DescribeServices allocated a
    /// per-task vector (343 MiB in one tick; 2^31 would abort). Tasks are now kept per start.
    #[test]
    fn an_absurd_running_count_costs_no_memory_and_is_charged_exactly() {
        let mut l = Ledger::new(Rate::parse_usd("3.6").unwrap(), Tz::UTC); // 0.001 per second
        l.observe(utc("2026-11-10T00:00:00Z"), 0);
        l.observe(utc("2026-11-10T00:00:00Z"), 30_000_000);
        l.observe(utc("2026-11-10T00:00:00Z"), u32::MAX);
        assert_eq!(l.young.len(), 2, "one entry per observation, not per task");
        // All stop 30 s later: each is billed its minute, the youngest group first.
        l.observe(utc("2026-11-10T00:00:30Z"), 0);
        assert!(l.young.is_empty());
        let minute = Money::from_micros(60_000); // 60 s × 0.001
        let want = minute.micros().saturating_mul(i64::from(u32::MAX));
        assert_eq!(l.view().month_to_date, Money::from_micros(want));
    }

    /// Issue 14, defect 4: absurd prices or counts saturate; money never turns negative, so a
    /// budget can still alert.
    #[test]
    fn absurd_prices_saturate_instead_of_wrapping_negative() {
        let mut l = Ledger::new(Rate::from_usd(8.0e6).unwrap(), Tz::UTC);
        l.observe(utc("2026-11-10T00:00:00Z"), u32::MAX);
        l.observe(utc("2026-11-30T00:00:00Z"), u32::MAX);
        assert!(l.view().month_to_date.micros() > 0, "{:?}", l.view());
        assert_eq!(l.view().per_hour.pico(), i64::MAX);
        assert!(Rate::from_usd(1.0).unwrap().over_hours(u32::MAX).micros() > 0);
    }
}
