//! What one simulated run recorded, step by step: the input to metrics, CSV and plot output.

use serde::Serialize;

/// The world at one simulation step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Seconds since the start of the trace.
    pub t: u64,
    /// The trace's load at this step (its own unit, e.g. requests per minute).
    pub load: f64,
    /// Tasks needed to serve the load at the target utilization: `max(1, ceil(load / C))`.
    pub demand: u32,
    /// The desired count the controller has set.
    pub desired: u32,
    /// Tasks that have finished starting and serve load (the supply).
    pub running: u32,
    /// CPU utilization of the running tasks, percent (capped at 100).
    pub cpu_pct: f64,
}

/// A change of the desired count made by the controller.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub t: u64,
    pub from: u32,
    pub to: u32,
    /// The controller's reason, e.g. `scale_out` or `step_limit` for trimtab.
    pub reason: String,
}

/// One run of one controller over a trace.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Timeline {
    /// Seconds between two rows.
    pub step: u64,
    pub rows: Vec<Row>,
    pub events: Vec<Event>,
}

impl Timeline {
    /// The rows and events with `from <= t < to`.
    pub fn window(&self, from: u64, to: u64) -> Timeline {
        let inside = |t: u64| from <= t && t < to;
        Timeline {
            step: self.step,
            rows: self.rows.iter().filter(|r| inside(r.t)).cloned().collect(),
            events: self.events.iter().filter(|e| inside(e.t)).cloned().collect(),
        }
    }
}
