//! The dashboard's time series: each tick in a few numbers — tasks, score, every metric's value
//! and target, and spend against the budget — kept much longer than the full ticks of
//! `/history`.
//!
//! A full [`Tick`] carries the whole decision (its steps, messages and every metric's
//! arithmetic, a few kilobytes), so only [`HISTORY_LEN`](super::HISTORY_LEN) of them are kept. A
//! [`Point`] is small: 120 bytes plus 32 per metric, so the [`SERIES_LEN`] points of a
//! policy with M metrics hold about `SERIES_LEN × (120 + 32 M)` bytes — 0.45 MB with six metrics.
//! Metric names are written once, in [`Series::metrics`] (the policy's order); each point holds
//! its metrics' readings in that order. It is a ring like the history: never a leak.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{CostView, Tick};
use crate::core::Money;

/// Points kept: six hours at a 15 s interval, a day at 60 s.
pub const SERIES_LEN: usize = 1440;

/// Every tick's numbers, oldest first, for `GET /history` (`series`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Series {
    /// The policy's metrics: the names of each point's `metrics`, in order.
    pub metrics: Vec<String>,
    pub points: VecDeque<Point>,
}

/// One tick in numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    pub at: DateTime<Utc>,
    pub desired: Option<u32>,
    pub running: Option<u32>,
    /// The combined score (`None`: nothing decided, or no usable metric).
    pub score: Option<f64>,
    /// Each of [`Series::metrics`], in order.
    pub metrics: Vec<MetricPoint>,
    /// What counts against the budget so far this period (month to date without a budget).
    #[serde(rename = "spent_usd")]
    pub spent: Option<Money>,
    /// The forecast spend at the period's end.
    #[serde(rename = "forecast_usd")]
    pub forecast: Option<Money>,
    /// The period's budget, when one is set.
    #[serde(rename = "budget_usd")]
    pub budget: Option<Money>,
}

/// One metric at a tick: its reading (`None`: missing, or nothing decided) and its target.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MetricPoint {
    pub value: Option<f64>,
    pub target: Option<f64>,
}

impl Series {
    pub fn new(metrics: Vec<String>) -> Self {
        Series { metrics, points: VecDeque::new() }
    }

    /// Records `tick` with where cost stood after it; the oldest point goes past [`SERIES_LEN`].
    pub fn record(&mut self, tick: &Tick, cost: Option<&CostView>) {
        let point = self.point(tick, cost);
        self.points.push_back(point);
        while self.points.len() > SERIES_LEN {
            self.points.pop_front();
        }
    }

    fn point(&self, tick: &Tick, cost: Option<&CostView>) -> Point {
        let d = tick.decision.as_ref();
        let metric = |name: &String| {
            let c = d.and_then(|d| d.score.contributions.iter().find(|c| &c.name == name));
            MetricPoint { value: c.and_then(|c| c.value), target: c.map(|c| c.target) }
        };
        let budget = cost.and_then(|c| c.budget.as_ref());
        Point {
            at: tick.at,
            desired: d.map(|d| d.desired.get()).or(tick.service.as_ref().map(|s| s.desired)),
            running: tick.service.as_ref().map(|s| s.running),
            score: d.and_then(|d| d.score.value),
            metrics: self.metrics.iter().map(metric).collect(),
            spent: budget.map(|b| b.spent).or(cost.map(|c| c.ledger.month_to_date)),
            forecast: budget.map(|b| b.forecast.total).or(cost.map(|c| c.forecast.total)),
            budget: budget.map(|b| b.budget),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::{Action, ServiceView};
    use super::*;

    fn tick(at: i64) -> Tick {
        Tick {
            at: DateTime::from_timestamp(1_765_000_000 + at, 0).unwrap(),
            duration_ms: 1,
            service: Some(ServiceView { desired: 3, running: 2, pending: 1, deployment_in_progress: false }),
            decision: None,
            action: Action::Skipped,
            problems: BTreeMap::new(),
            error: None,
            per_task: BTreeMap::new(),
        }
    }

    #[test]
    fn a_tick_without_a_decision_keeps_the_service_and_leaves_metrics_empty() {
        let mut s = Series::new(vec!["cpu".into(), "memory".into()]);
        s.record(&tick(0), None);
        let p = &s.points[0];
        assert_eq!((p.desired, p.running, p.score), (Some(3), Some(2), None));
        assert_eq!(p.metrics, vec![MetricPoint { value: None, target: None }; 2], "one per metric, in order");
        assert_eq!((p.spent, p.forecast, p.budget), (None, None, None));
    }

    #[test]
    fn the_series_is_a_ring() {
        let mut s = Series::new(vec!["cpu".into()]);
        for i in 0..(SERIES_LEN as i64 + 10) {
            s.record(&tick(i), None);
        }
        assert_eq!(s.points.len(), SERIES_LEN);
        assert_eq!(s.points[0].at, tick(10).at, "the oldest went first");
    }

    /// The figures the module's essay and the README give ("120 bytes plus 32 per metric",
    /// 0.45 MB for six metrics) are these sizes.
    #[test]
    fn a_point_is_as_small_as_the_readme_says() {
        assert_eq!(std::mem::size_of::<Point>(), 120);
        assert_eq!(std::mem::size_of::<MetricPoint>(), 32);
        let six = SERIES_LEN * (std::mem::size_of::<Point>() + 6 * std::mem::size_of::<MetricPoint>());
        assert_eq!(six, 449_280, "about 0.45 MB");
    }
}
