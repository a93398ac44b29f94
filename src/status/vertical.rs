//! Resizing as the snapshot shows it: what the last look at resizing the task found
//! (`agent::vertical`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::core::rightsize::VerticalMode;

/// What the last look at resizing found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerticalStatus {
    pub mode: VerticalMode,
    pub at: DateTime<Utc>,
    /// `applied`, or why not (`not_recommended`, `deployment_in_progress`, …).
    pub outcome: String,
    pub message: String,
    /// The revision registered by the last applied resize.
    pub task_definition: Option<String>,
}
