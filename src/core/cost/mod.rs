//! Cost and budget math: prices, the money ledger, the forecast, the budget watch and the
//! recommendations. Pure like the rest of `core`: time comes in as arguments.

pub mod budget;
pub mod event;
pub mod forecast;
pub mod ledger;
pub mod pricing;
pub mod recommend;

pub use budget::{Budget, BudgetStatus, PeriodKind, Threshold, Watch};
pub use event::{BudgetEvent, EventKind, Level, NotifyCounters, Signal};
pub use forecast::{Forecast, Method};
pub use ledger::{Ledger, LedgerView};
pub use pricing::{PriceSheet, Rate, TaskRate, TaskShape};
pub use recommend::{Confidence, Efficiency, Recommendation, Usage};
