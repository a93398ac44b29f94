//! The agent's money: the ledger fed with the running count each tick, the forecast, the budget
//! status (and its cap on scale-out), the budget alerts, and the cost metrics the leader
//! publishes — which are also what the month-to-date is rebuilt from after a restart.

use crate::config::model::VerticalMode;
use crate::core::rightsize::{self, Estimator, Need, Params, PriceCtx, Size, Sizing};
use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::restore;
use crate::aws::{Datapoints, MetricQuery, Published};
use crate::config::model::Config;
use crate::core::cost::pricing::{Arch, PriceSheet, TaskRate, TaskShape, Used};
use crate::core::cost::recommend::{self, Efficiency, Recommendation, Usage};
use crate::core::cost::{Budget, BudgetEvent, Ledger, Level, PeriodKind, Watch, budget, forecast};
use crate::core::types::later;
use crate::core::{Money, Policy, Replicas};
use crate::status::CostView;

pub const COST_PER_HOUR: &str = "EstimatedCostPerHour";
pub const MONTH_TO_DATE: &str = "MonthToDateCost";
pub const TODAY: &str = "TodayCost";
pub const FORECAST: &str = "BudgetForecast";
pub const ACTUAL_LEVEL: &str = "BudgetActualLevel";
pub const FORECAST_LEVEL: &str = "BudgetForecastLevel";

/// What the agent observed of the service, bounded: one CPU and memory sample a minute for a
/// week, and task-seconds by hour of the day.
#[derive(Clone, Debug, Default)]
struct UsageLog {
    cpu: std::collections::VecDeque<f64>,
    memory: std::collections::VecDeque<f64>,
    last_sample: Option<DateTime<Utc>>,
    /// `(task-seconds, seconds)` per local hour of the day.
    hours: [(f64, f64); 24],
    first: Option<DateTime<Utc>>,
    last: Option<(DateTime<Utc>, u32)>,
}

/// A week of one-a-minute samples.
const USAGE_SAMPLES: usize = 7 * 24 * 60;

impl UsageLog {
    /// The running count from `now` on; the span since the last call is added to its hour.
    fn count(&mut self, now: DateTime<Utc>, running: u32, tz: Tz) {
        if let Some((at, count)) = self.last
            && now > at
        {
            use chrono::Timelike;
            let hour = at.with_timezone(&tz).hour() as usize;
            let secs = (now - at).num_milliseconds() as f64 / 1000.0;
            self.hours[hour].0 += f64::from(count) * secs;
            self.hours[hour].1 += secs;
        }
        self.first.get_or_insert(now);
        self.last = Some((now, running));
    }

    /// CPU and memory use, at most one sample a minute; whether this one was taken.
    fn sample(&mut self, now: DateTime<Utc>, cpu: Option<f64>, memory: Option<f64>) -> bool {
        if self.last_sample.is_some_and(|t| now - t < TimeDelta::minutes(1)) || (cpu, memory) == (None, None)
        {
            return false;
        }
        self.last_sample = Some(now);
        for (ring, v) in [(&mut self.cpu, cpu), (&mut self.memory, memory)] {
            if let Some(v) = v.filter(|v| v.is_finite() && *v >= 0.0) {
                if ring.len() == USAGE_SAMPLES {
                    ring.pop_front();
                }
                ring.push_back(v);
            }
        }
        true
    }

    fn usage(&self) -> Usage {
        let (task_s, s) = self.hours.iter().fold((0.0, 0.0), |a, h| (a.0 + h.0, a.1 + h.1));
        let mut hourly = [None; 24];
        for (slot, (ts, secs)) in hourly.iter_mut().zip(&self.hours) {
            *slot = (*secs > 0.0).then(|| ts / secs);
        }
        Usage {
            cpu_pct: self.cpu.iter().copied().collect(),
            memory_pct: self.memory.iter().copied().collect(),
            hourly_tasks: hourly,
            mean_tasks: if s > 0.0 { task_s / s } else { self.last.map_or(0.0, |l| f64::from(l.1)) },
            observed_hours: match (self.first, self.last) {
                (Some(a), Some((b, _))) => (b - a).num_seconds() as f64 / 3600.0,
                _ => 0.0,
            },
        }
    }
}

pub struct Spend {
    shape: TaskShape,
    sheet: PriceSheet,
    rate: TaskRate,
    /// The service priced as arm64 here, when a price is known (for the ARM recommendation).
    arm: Option<PriceSheet>,
    interruption_tolerant: Option<bool>,
    usage: UsageLog,
    /// What the task used, for the right-sizer; `None` with `vertical.mode = "off"`.
    estimator: Option<(Estimator, Params)>,
    sizing: Option<Sizing>,
    /// Recommendations are worked out at most every few minutes.
    advised: Option<(DateTime<Utc>, Efficiency, Vec<Recommendation>)>,
    budget: Option<Budget>,
    tz: Tz,
    ledger: Ledger,
    watch: Watch,
    view: Option<CostView>,
    events: Vec<BudgetEvent>,
}

impl Spend {
    /// Cost tracking for the config's service, when its task can be priced: `Ok(None)` when the
    /// config has no sized service; `Err` when a price is unknown for the region.
    pub fn new(cfg: &Config, region: Option<&str>) -> Result<Option<Spend>, String> {
        let Some(svc) = &cfg.service else { return Ok(None) };
        let Some(shape) = svc.shape() else { return Ok(None) };
        let sheet = match (&cfg.prices, region) {
            (Some(s), _) => s.clone(),
            (None, Some(r)) => crate::config::price_sheet(&svc.platform(), &cfg.cost, r)
                .map_err(|(k, m)| format!("{}: {k}: {m}", cfg.file))?,
            (None, None) => return Ok(None),
        };
        let task_rate = sheet.task_rate(&shape, Used::default());
        let rate = task_rate.total;
        let tz = cfg.budget.as_ref().map_or(Tz::UTC, |b| b.tz);
        let arm = (svc.architecture == Arch::X86_64)
            .then(|| {
                let arm = crate::core::cost::pricing::Platform { arch: Arch::Arm64, ..svc.platform() };
                crate::config::price_sheet(&arm, &crate::config::CostConfig::default(), &sheet.region).ok()
            })
            .flatten();
        Ok(Some(Spend {
            shape,
            sheet,
            rate: task_rate,
            arm,
            interruption_tolerant: cfg.cost.interruption_tolerant,
            usage: UsageLog::default(),
            estimator: (cfg.vertical.mode != VerticalMode::Off).then(|| {
                let p = Params {
                    margin: cfg.vertical.margin,
                    min_change: cfg.vertical.min_change,
                    ..Params::default()
                };
                (Estimator::new(), p)
            }),
            sizing: None,
            advised: None,
            budget: cfg.budget.clone(),
            tz,
            ledger: Ledger::new(rate, tz),
            watch: Watch::default(),
            view: None,
            events: Vec::new(),
        }))
    }

    /// The series a restart reads back, by query id.
    pub fn restore_queries(cluster: &str, service: &str, period_seconds: i32) -> Vec<MetricQuery> {
        let q =
            |id: &str, metric: &str| restore::own(cluster, service, id, metric, "Maximum", period_seconds);
        vec![q("mtd", MONTH_TO_DATE), q("today", TODAY), q("al", ACTUAL_LEVEL), q("fl", FORECAST_LEVEL)]
    }

    /// Continues from the newest published totals (datapoints newest first), if they belong to
    /// the current month; and remembers the alert levels already reached in the current period.
    /// Returns the month-to-date taken over.
    pub fn restore(
        &mut self,
        m: &BTreeMap<String, Datapoints>,
        period_seconds: i64,
        now: DateTime<Utc>,
    ) -> Option<Money> {
        let newest = |id: &str| m.get(id).and_then(|p| p.first().copied());
        let (start, mtd) = newest("mtd")?;
        // A bucket that starts after now is not a real total (issue 14): nothing is carried.
        if start > now {
            return None;
        }
        // The value was current at most one period after its bucket started.
        let at = later(start, TimeDelta::seconds(period_seconds)).min(now);
        let local = |t: DateTime<Utc>| t.with_timezone(&self.tz).date_naive();
        let month = |t: DateTime<Utc>| local(t).format("%Y-%m").to_string();
        // Both ends of the bucket in this month: a total from last month is not carried over.
        let same_month = month(start) == month(now) && month(at) == month(now);
        if !same_month || !mtd.is_finite() || mtd < 0.0 {
            return None;
        }
        let today = newest("today")
            .filter(|(t, v)| *t <= now && local(*t) == local(now) && v.is_finite() && *v >= 0.0);
        let money = |usd: f64| Money::from_usd(usd).unwrap_or_default();
        let mtd = money(mtd);
        self.ledger = Ledger::resume(
            self.ledger.rate(),
            self.tz,
            at,
            mtd,
            today.map_or(Money::ZERO, |(_, v)| money(v)),
        );
        if let Some(b) = &self.budget {
            let period = b.period(now);
            let level = |id: &str| {
                m.get(id)
                    .into_iter()
                    .flatten()
                    .filter(|(t, _)| *t >= period.start)
                    .map(|(_, v)| *v)
                    .fold(0.0, f64::max)
            };
            let as_level = |v: f64| match v {
                v if v >= 2.0 => Level::Critical,
                v if v >= 1.0 => Level::Warning,
                _ => Level::Ok,
            };
            self.watch = Watch::restore(&period.key, as_level(level("al")), as_level(level("fl")));
        }
        Some(mtd)
    }

    /// Charges the tick and works out the budget: returns the cap on scale-out (when engaged)
    /// and the alerts due.
    pub fn tick(
        &mut self,
        now: DateTime<Utc>,
        running: u32,
        policy: &Policy,
    ) -> (Option<Replicas>, Vec<BudgetEvent>) {
        self.ledger.observe(now, running);
        self.usage.count(now, running, self.tz);
        let view = self.ledger.view();
        let rate = self.ledger.rate();
        let mean = self.ledger.recent_mean().unwrap_or(f64::from(running));
        // Without a budget the forecast runs to the end of the calendar month.
        let (spent, end) = match &self.budget {
            Some(b) => (b.spent(view.month_to_date, view.today), b.period(now).end),
            None => (view.month_to_date, budget::period(PeriodKind::Monthly, self.tz, now).end),
        };
        let fc = forecast::forecast(spent, now, end, rate, mean, policy.bounds, &policy.schedules);
        let status = self.budget.as_ref().map(|b| budget::status(b, now, spent, fc.clone(), rate));
        let events = match (&self.budget, &status) {
            (Some(b), Some(st)) => self.watch.update(b, st, now),
            _ => vec![],
        };
        let cap = status.as_ref().and_then(|st| st.cap);
        self.events.extend(events.iter().cloned());
        let excess = self.events.len().saturating_sub(50);
        self.events.drain(..excess);
        let (efficiency, recommendations) = self.advise(now, policy);
        self.view = Some(CostView {
            prices: self.sheet.clone(),
            shape: self.shape.clone(),
            ledger: view,
            forecast: fc,
            budget: status,
            events: self.events.clone(),
            efficiency,
            recommendations,
            sizing: self.sizing.clone(),
        });
        (cap, events)
    }

    /// Whether the right-sizer runs (`vertical.mode` other than `off`).
    pub fn sizes(&self) -> bool {
        self.estimator.is_some()
    }

    /// Records the task's CPU and memory use (% of the reservation) at this tick: the busiest
    /// task's app, or the service's as this tick's decision saw it.
    pub fn record_usage(&mut self, now: DateTime<Utc>, cpu: Option<f64>, memory: Option<f64>) {
        if !self.usage.sample(now, cpu, memory) {
            return;
        }
        let Some((est, _)) = &mut self.estimator else { return };
        // The right-sizer counts CPU units and MiB of the whole task.
        let of = |pct: Option<f64>, size: u32| pct.map(|p| p / 100.0 * f64::from(size));
        if let Some(c) = of(cpu, self.shape.cpu) {
            est.add_cpu(now, c);
        }
        if let Some(m) = of(memory, self.shape.memory) {
            est.add_memory(now, m);
        }
    }

    /// An out-of-memory kill in this task, using `mib` at the time (or the limit, if unknown).
    pub fn record_oom(&mut self, now: DateTime<Utc>, mib: Option<f64>) {
        if let Some((est, _)) = &mut self.estimator {
            est.add_oom(now, mib.unwrap_or(f64::from(self.shape.memory)));
        }
    }

    /// The right-sizer's latest result and the least the observed peaks need.
    pub fn sizing(&self) -> Option<(&Sizing, Need)> {
        Some((self.sizing.as_ref()?, rightsize::floor(&self.estimator.as_ref()?.0)))
    }

    /// The task now has `cpu` units and `memory` MiB (a resize was applied, or the live task
    /// definition differs from the config): later ticks are priced and sized at it.
    pub fn resize(&mut self, cpu: u32, memory: u32) {
        self.shape = TaskShape { cpu, memory, ..self.shape.clone() };
        self.rate = self.sheet.task_rate(&self.shape, Used::default());
        self.ledger.set_rate(self.rate.total);
        self.advised = None;
    }

    fn advise(&mut self, now: DateTime<Utc>, policy: &Policy) -> (Efficiency, Vec<Recommendation>) {
        if let Some((at, e, r)) = &self.advised
            && now - *at < TimeDelta::minutes(5)
        {
            return (e.clone(), r.clone());
        }
        let usage = self.usage.usage();
        self.sizing = self.estimator.as_ref().and_then(|(est, params)| {
            let ctx = PriceCtx { shape: &self.shape, sheet: &self.sheet };
            let size = Size { cpu: self.shape.cpu, memory: self.shape.memory };
            rightsize::recommend(est, size, &ctx, params, now)
        });
        let ctx = recommend::Context {
            shape: &self.shape,
            rate: &self.rate,
            sheet: &self.sheet,
            arm: self.arm.as_ref(),
            usage: &usage,
            min_tasks: policy.bounds.min().get(),
            has_schedules: !policy.schedules.is_empty(),
            interruption_tolerant: self.interruption_tolerant,
            sizing: self.sizing.as_ref(),
        };
        let (e, r) = (recommend::efficiency(&ctx), recommend::recommend(&ctx));
        self.advised = Some((now, e.clone(), r.clone()));
        (e, r)
    }

    pub fn view(&self) -> Option<&CostView> {
        self.view.as_ref()
    }

    /// The cost metrics for this tick's `PutMetricData`.
    pub fn published(&self) -> Vec<Published> {
        let Some(v) = &self.view else { return vec![] };
        let mut out = vec![
            Published { name: COST_PER_HOUR, value: v.ledger.per_hour.as_usd(), count: false },
            Published { name: MONTH_TO_DATE, value: v.ledger.month_to_date.as_usd(), count: false },
            Published { name: TODAY, value: v.ledger.today.as_usd(), count: false },
        ];
        if let Some(b) = &v.budget {
            let level = |l: Level| f64::from(l as u8);
            out.push(Published { name: FORECAST, value: b.forecast.total.as_usd(), count: false });
            out.push(Published { name: ACTUAL_LEVEL, value: level(b.actual), count: false });
            out.push(Published { name: FORECAST_LEVEL, value: level(b.forecasted), count: false });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn spend(extra: &str) -> (Spend, Policy) {
        let text = format!(
            "[service]\ncluster = \"c\"\nname = \"s\"\nregion = \"us-east-1\"\ncpu = 512\nmemory = 1024\n{extra}"
        );
        let cfg = crate::config::from_str("t.toml", &text).unwrap();
        (Spend::new(&cfg, None).unwrap().unwrap(), cfg.scaling.policy)
    }

    #[test]
    fn restores_the_month_to_date_and_the_levels_already_announced() {
        let (mut s, policy) = spend("[budget]\nmonthly_usd = 100\n");
        let now = utc("2026-11-20T12:00:30Z");
        let mut m = BTreeMap::new();
        m.insert(
            "mtd".into(),
            vec![(utc("2026-11-20T11:59:00Z"), 80.0), (utc("2026-11-20T11:58:00Z"), 79.9)],
        );
        m.insert("today".into(), vec![(utc("2026-11-20T11:59:00Z"), 1.5)]);
        m.insert("fl".into(), vec![(utc("2026-11-20T11:59:00Z"), 1.0)]);
        assert_eq!(s.restore(&m, 60, now), Some(Money::from_micros(80_000_000)));
        // The forecast is past the warning level: restored as announced, so no alert again.
        let (_, events) = s.tick(now, 2, &policy);
        assert!(
            events
                .iter()
                .all(|e| e.level != Level::Warning || e.signal != crate::core::cost::Signal::Forecast),
            "{events:?}"
        );
        // 80 + 30 s since the bucket's end at 2 tasks.
        let mtd = s.view().unwrap().ledger.month_to_date;
        assert_eq!(mtd, Money::from_micros(80_000_000 + 411));
        // Totals of last month are not carried into this one.
        let (mut s, _) = spend("");
        m.insert("mtd".into(), vec![(utc("2026-10-31T23:59:00Z"), 80.0)]);
        assert_eq!(s.restore(&m, 60, now), None);
    }

    /// Issue 14: totals stamped at the end of time (or later today than now) are not carried,
    /// and do not panic.
    #[test]
    fn totals_at_absurd_times_are_not_restored() {
        let now = utc("2026-11-20T12:00:30Z");
        let end = DateTime::<Utc>::MAX_UTC - TimeDelta::seconds(30);
        for at in [end, DateTime::<Utc>::MIN_UTC, now + TimeDelta::hours(2)] {
            let (mut s, _) = spend("[budget]\nmonthly_usd = 100\n");
            let mut m = BTreeMap::new();
            m.insert("mtd".to_owned(), vec![(at, 80.0)]);
            m.insert("today".to_owned(), vec![(at, 1.5)]);
            m.insert("al".to_owned(), vec![(at, 2.0)]);
            assert_eq!(s.restore(&m, 3600, now), None, "{at}");
        }
    }
}
