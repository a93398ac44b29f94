//! The agent's money: the ledger fed with the running count each tick, the forecast, the budget
//! status (and its cap on scale-out), the budget alerts, and the cost metrics the leader
//! publishes — which are also what the month-to-date is rebuilt from after a restart.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::restore;
use crate::aws::{Datapoints, MetricQuery, Published};
use crate::config::model::Config;
use crate::core::cost::pricing::{PriceSheet, TaskShape, Used};
use crate::core::cost::{
    Budget, BudgetEvent, BudgetStatus, Forecast, Ledger, LedgerView, Level, Watch, budget, forecast,
};
use crate::core::{Money, Policy, Replicas};

pub const COST_PER_HOUR: &str = "EstimatedCostPerHour";
pub const MONTH_TO_DATE: &str = "MonthToDateCost";
pub const TODAY: &str = "TodayCost";
pub const FORECAST: &str = "BudgetForecast";
pub const ACTUAL_LEVEL: &str = "BudgetActualLevel";
pub const FORECAST_LEVEL: &str = "BudgetForecastLevel";

/// Where cost and budget stand, for `/status`, `/cost` and `/metrics`.
#[derive(Clone, Debug, Serialize)]
pub struct CostView {
    pub prices: PriceSheet,
    pub shape: TaskShape,
    pub ledger: LedgerView,
    /// Without a budget, the forecast runs to the end of the calendar month.
    pub forecast: Forecast,
    pub budget: Option<BudgetStatus>,
    /// Alerts and recoveries sent this run, newest last (at most 50).
    pub events: Vec<BudgetEvent>,
}

pub struct Spend {
    shape: TaskShape,
    sheet: PriceSheet,
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
            (None, Some(r)) => crate::config::price_sheet(svc, &cfg.cost, r)
                .map_err(|(k, m)| format!("{}: {k}: {m}", cfg.file))?,
            (None, None) => return Ok(None),
        };
        let rate = sheet.task_rate(&shape, Used::default()).total;
        let tz = cfg.budget.as_ref().map_or(Tz::UTC, |b| b.tz);
        Ok(Some(Spend {
            shape,
            sheet,
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
        let q = |id: &str, metric: &str| MetricQuery {
            id: id.into(),
            namespace: restore::NAMESPACE.into(),
            metric: metric.into(),
            dimensions: restore::dimensions(cluster, service),
            statistic: "Maximum".into(),
            period_seconds,
        };
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
        // The value was current at most one period after its bucket started.
        let at = (start + TimeDelta::seconds(period_seconds)).min(now);
        let local = |t: DateTime<Utc>| t.with_timezone(&self.tz).date_naive();
        let month = |t: DateTime<Utc>| local(t).format("%Y-%m").to_string();
        // Both ends of the bucket in this month: a total from last month is not carried over.
        let same_month = month(start) == month(now) && month(at) == month(now);
        if !same_month || !mtd.is_finite() || mtd < 0.0 {
            return None;
        }
        let today = newest("today").filter(|(t, v)| local(*t) == local(now) && v.is_finite() && *v >= 0.0);
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
        let view = self.ledger.view();
        let rate = self.ledger.rate();
        let mean = self.ledger.recent_mean().unwrap_or(f64::from(running));
        let (cap, events, fc, status) = match &self.budget {
            Some(b) => {
                let period = b.period(now);
                let spent = b.spent(view.month_to_date, view.today);
                let fc =
                    forecast::forecast(spent, now, period.end, rate, mean, policy.bounds, &policy.schedules);
                let status = budget::status(b, now, spent, fc.clone(), rate);
                let events = self.watch.update(b, &status, now);
                (status.cap, events, fc, Some(status))
            }
            None => {
                let month = Budget {
                    amount: Money::ZERO,
                    period: crate::core::cost::PeriodKind::Monthly,
                    tz: self.tz,
                    warn_at: crate::core::cost::Threshold::Fraction(1.0),
                    critical_at: crate::core::cost::Threshold::Fraction(1.0),
                    cap: None,
                }
                .period(now);
                let fc = forecast::forecast(
                    view.month_to_date,
                    now,
                    month.end,
                    rate,
                    mean,
                    policy.bounds,
                    &policy.schedules,
                );
                (None, vec![], fc, None)
            }
        };
        self.events.extend(events.iter().cloned());
        let excess = self.events.len().saturating_sub(50);
        self.events.drain(..excess);
        self.view = Some(CostView {
            prices: self.sheet.clone(),
            shape: self.shape.clone(),
            ledger: view,
            forecast: fc,
            budget: status,
            events: self.events.clone(),
        });
        (cap, events)
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
}
