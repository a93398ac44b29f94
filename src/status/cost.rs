//! Money as the snapshot shows it: what the agent's spend tracking (`agent::spend`) last worked
//! out.

use serde::Serialize;

use crate::core::cost::pricing::{PriceSheet, TaskShape};
use crate::core::cost::recommend::{Efficiency, Recommendation};
use crate::core::cost::{BudgetEvent, BudgetStatus, Forecast, LedgerView};
use crate::core::rightsize::Sizing;

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
    /// Usage over the reservation, weighted by cost (OpenCost's efficiency).
    pub efficiency: Efficiency,
    /// What would save money, largest saving first; from what this agent observed.
    pub recommendations: Vec<Recommendation>,
    /// The right-sizer's latest result (`[vertical]`), saving or not.
    pub sizing: Option<Sizing>,
}
