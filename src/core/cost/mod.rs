//! Cost and budget math: prices, the money ledger, the forecast, the budget watch and the
//! recommendations. Pure like the rest of `core`: time comes in as arguments.

pub mod event;

pub use event::{BudgetEvent, EventKind, Level, Signal};
