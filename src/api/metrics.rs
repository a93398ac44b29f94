//! `/metrics`: the agent's state in the Prometheus text format (checked with
//! `promtool check metrics` in the tests when promtool is installed).
//!
//! The conventions are Prometheus's own: base units in the names (`_seconds`, `_bytes`,
//! `_ratio` from 0 to 1, money as `_usd`), counters ending in `_total`, the tick's duration as a
//! histogram, and the `process_*` families ([`super::process`]). A family trimtab cannot know
//! the unit of (a metric's value, in the unit its source reports it) is labelled by metric, as
//! kube-state-metrics does for an HPA's targets. The README's table of families is kept equal
//! to what these functions write by a test.
//!
//! The writer is a few lines by hand: the snapshot is plain data read at each scrape, so a
//! registry of live metric objects (the `prometheus-client` crate) would only be filled from it
//! and emptied again, for the same text.

use std::fmt::Write;

use crate::sources::pools::PoolView;
use crate::status::{CostView, Histogram, ProtectionView, Snapshot};

pub(super) struct Out(pub(super) String);

impl Out {
    pub(super) fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    pub(super) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let _ = write!(self.0, "{name}");
        if !labels.is_empty() {
            let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
            let _ = write!(self.0, "{{{}}}", inner.join(","));
        }
        let _ = writeln!(self.0, " {}", number(value));
    }

    pub(super) fn one(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// A histogram: its cumulative buckets, `+Inf`, `_sum` and `_count`.
    pub(super) fn histogram(&mut self, name: &str, help: &str, h: &Histogram) {
        self.family(name, "histogram", help);
        let bucket = format!("{name}_bucket");
        for (le, n) in h.buckets() {
            self.sample(&bucket, &[("le", &number(le))], n as f64);
        }
        self.sample(&bucket, &[("le", "+Inf")], h.count() as f64);
        self.sample(&format!("{name}_sum"), &[], h.sum());
        self.sample(&format!("{name}_count"), &[], h.count() as f64);
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        format!("{v}")
    }
}

pub fn render(s: &Snapshot) -> String {
    let mut o = Out(String::new());
    o.family("trimtab_info", "gauge", "Agent build and mode (always 1).");
    o.sample("trimtab_info", &[("version", s.version), ("mode", s.mode), ("service", &s.service)], 1.0);
    o.one("trimtab_ticks_total", "counter", "Ticks run since start.", s.ticks as f64);
    o.histogram("trimtab_tick_duration_seconds", "How long the ticks took.", &s.counters.tick_seconds);
    o.one(
        "trimtab_failed_ticks_total",
        "counter",
        "Ticks that could not decide.",
        s.counters.failed_ticks as f64,
    );
    o.one(
        "trimtab_leader",
        "gauge",
        "1 when this agent acts (leader or sole agent).",
        f64::from(u8::from(s.role.acts())),
    );
    o.one("trimtab_dry_run", "gauge", "1 when decisions are only logged.", f64::from(u8::from(s.dry_run)));
    if let Some(t) = &s.last {
        if let Some(v) = &t.service {
            o.one(
                "trimtab_service_desired_tasks",
                "gauge",
                "Desired count ECS reported this tick.",
                f64::from(v.desired),
            );
            o.one(
                "trimtab_service_running_tasks",
                "gauge",
                "Running count ECS reported this tick.",
                f64::from(v.running),
            );
            o.one(
                "trimtab_service_pending_tasks",
                "gauge",
                "Pending count ECS reported this tick.",
                f64::from(v.pending),
            );
        }
        if let Some(d) = &t.decision {
            o.one(
                "trimtab_decision_desired_tasks",
                "gauge",
                "Desired count of the last decision.",
                f64::from(d.desired.get()),
            );
            o.one(
                "trimtab_decision_recommended_tasks",
                "gauge",
                "Load-based recommendation of the last decision, before guards.",
                f64::from(d.recommended.get()),
            );
            o.family(
                "trimtab_decision_reason",
                "gauge",
                "The last decision's reason (1 for the current one).",
            );
            o.sample("trimtab_decision_reason", &[("reason", d.reason.as_str())], 1.0);
            if let Some(v) = d.score.value {
                o.one("trimtab_score_ratio", "gauge", "Combined load score (1 = fully loaded).", v);
            }
            o.family(
                "trimtab_metric_value",
                "gauge",
                "Each metric's last value, in the unit its source reports it (one unit per metric label).",
            );
            for c in &d.score.contributions {
                if let Some(v) = c.value {
                    o.sample("trimtab_metric_value", &[("metric", &c.name)], v);
                }
            }
            o.family(
                "trimtab_metric_load_ratio",
                "gauge",
                "Each metric's ratio to its target (1 = on target; per task for an average value).",
            );
            for c in &d.score.contributions {
                if let Some(v) = c.normalized {
                    o.sample("trimtab_metric_load_ratio", &[("metric", &c.name)], v);
                }
            }
            o.family("trimtab_metric_target", "gauge", "Each metric's target, in the metric's own unit.");
            for c in &d.score.contributions {
                o.sample("trimtab_metric_target", &[("metric", &c.name)], c.target);
            }
        }
        if !t.per_task.is_empty() {
            per_task(&mut o, &t.per_task);
        }
        o.one(
            "trimtab_last_tick_timestamp_seconds",
            "gauge",
            "Unix time of the last tick.",
            t.at.timestamp_millis() as f64 / 1000.0,
        );
    }
    if let Some(c) = &s.cost {
        cost(&mut o, c);
    }
    if let Some(n) = &s.notifications {
        o.family("trimtab_notifications_total", "counter", "Notifications by outcome.");
        o.sample("trimtab_notifications_total", &[("outcome", "sent")], n.sent as f64);
        o.sample("trimtab_notifications_total", &[("outcome", "failed")], n.failed as f64);
        o.sample("trimtab_notifications_total", &[("outcome", "duplicate")], n.duplicates as f64);
        o.sample("trimtab_notifications_total", &[("outcome", "rate_limited")], n.rate_limited as f64);
    }
    o.family("trimtab_decisions_total", "counter", "Decisions by reason since start.");
    for (reason, n) in &s.counters.decisions {
        o.sample("trimtab_decisions_total", &[("reason", reason)], *n as f64);
    }
    o.family("trimtab_scaling_actions_total", "counter", "Desired-count changes applied, by direction.");
    o.sample("trimtab_scaling_actions_total", &[("direction", "out")], s.counters.scale_out as f64);
    o.sample("trimtab_scaling_actions_total", &[("direction", "in")], s.counters.scale_in as f64);
    o.family(
        "trimtab_aws_errors_total",
        "counter",
        "Failed AWS calls (after retries), by operation and kind.",
    );
    for (key, n) in &s.counters.aws_errors {
        let (op, kind) = key.split_once(' ').unwrap_or((key, ""));
        o.sample("trimtab_aws_errors_total", &[("operation", op), ("kind", kind)], *n as f64);
    }
    o.family(
        "trimtab_metric_missing_total",
        "counter",
        "Ticks on which a metric could not be read, by metric.",
    );
    for (name, n) in &s.counters.metric_problems {
        o.sample("trimtab_metric_missing_total", &[("metric", name)], *n as f64);
    }
    if let Some(p) = &s.protection {
        protection(&mut o, p);
    }
    o.0
}

/// The metrics read from every task, task by task: one series per task and metric (as many as
/// the service has tasks, on the leader only), and how many tasks answered.
fn per_task(o: &mut Out, per_task: &std::collections::BTreeMap<String, crate::status::PerTask>) {
    o.family("trimtab_task_metric_value", "gauge", "Each task's own value of a metric read from every task.");
    for (metric, p) in per_task {
        for t in &p.tasks {
            if let Some(v) = t.value {
                let task = t.task.rsplit('/').next().unwrap_or(&t.task);
                o.sample("trimtab_task_metric_value", &[("metric", metric), ("task", task)], v);
            }
        }
    }
    o.family("trimtab_tasks_heard", "gauge", "Tasks that gave a reading of a metric read from every task.");
    for (metric, p) in per_task {
        o.sample("trimtab_tasks_heard", &[("metric", metric)], p.heard as f64);
    }
    o.family("trimtab_tasks_asked", "gauge", "Tasks asked for a metric read from every task.");
    for (metric, p) in per_task {
        o.sample("trimtab_tasks_asked", &[("metric", metric)], p.of as f64);
    }
}

/// `[protection]`: this task's scale-in protection.
fn protection(o: &mut Out, p: &ProtectionView) {
    let flag = |b: bool| f64::from(u8::from(b));
    o.one("trimtab_task_protected", "gauge", "1 while this task has scale-in protection.", flag(p.protected));
    o.one(
        "trimtab_task_busy",
        "gauge",
        "1 when this task is busy (a pool reservation, or the app says so); NaN when it cannot be told.",
        p.busy.map_or(f64::NAN, flag),
    );
    o.family("trimtab_task_protection_changes_total", "counter", "Protection set (or renewed) and cleared.");
    o.sample("trimtab_task_protection_changes_total", &[("change", "set")], p.sets_total as f64);
    o.sample("trimtab_task_protection_changes_total", &[("change", "cleared")], p.clears_total as f64);
    o.one(
        "trimtab_task_protection_failures_total",
        "counter",
        "Calls to the ECS agent's task protection endpoint that failed.",
        p.failures_total as f64,
    );
}

fn cost(o: &mut Out, c: &CostView) {
    let l = &c.ledger;
    o.one(
        "trimtab_cost_per_hour_usd",
        "gauge",
        "What the running tasks cost per hour now.",
        l.per_hour.as_usd(),
    );
    o.one(
        "trimtab_cost_per_task_hour_usd",
        "gauge",
        "What one task costs per hour.",
        l.per_task_hour.as_usd(),
    );
    o.one("trimtab_month_to_date_cost_usd", "gauge", "Spend this calendar month.", l.month_to_date.as_usd());
    o.one("trimtab_today_cost_usd", "gauge", "Spend today.", l.today.as_usd());
    let Some(b) = &c.budget else {
        o.one(
            "trimtab_forecast_cost_usd",
            "gauge",
            "Forecast spend at the end of the month.",
            c.forecast.total.as_usd(),
        );
        return;
    };
    o.one(
        "trimtab_forecast_cost_usd",
        "gauge",
        "Forecast spend at the end of the budget period.",
        b.forecast.total.as_usd(),
    );
    o.one("trimtab_budget_usd", "gauge", "The budget for the period.", b.budget.as_usd());
    o.one("trimtab_budget_spent_usd", "gauge", "Spend in the budget period so far.", b.spent.as_usd());
    o.family("trimtab_budget_threshold_usd", "gauge", "The budget's alert levels.");
    o.sample("trimtab_budget_threshold_usd", &[("level", "warning")], b.warn_at.as_usd());
    o.sample("trimtab_budget_threshold_usd", &[("level", "critical")], b.critical_at.as_usd());
    o.family("trimtab_budget_level", "gauge", "Budget level reached: 0 ok, 1 warning, 2 critical.");
    o.sample("trimtab_budget_level", &[("signal", "actual")], f64::from(b.actual as u8));
    o.sample("trimtab_budget_level", &[("signal", "forecast")], f64::from(b.forecasted as u8));
    o.one(
        "trimtab_budget_affordable_tasks",
        "gauge",
        "Tasks the rest of the budget affords to the period's end.",
        f64::from(b.affordable),
    );
    o.one(
        "trimtab_budget_cap_engaged",
        "gauge",
        "1 when the budget caps scale-out.",
        f64::from(u8::from(b.cap.is_some())),
    );
}

/// The `process_*` families, where `/proc/self` answers (see [`super::process`]).
pub fn render_process() -> String {
    let mut o = Out(String::new());
    if let Some(p) = super::process::read() {
        super::process::render(&mut o, &p);
    }
    o.0
}

/// The task's resource pools and the local monitor's alerts.
pub fn render_local(pools: &[PoolView], alerts: &crate::sources::local::AlertsView) -> String {
    type Read = fn(&PoolView) -> f64;
    let families: [(&str, &str, &str, Read); 8] = [
        ("trimtab_pool_capacity", "gauge", "Pool capacity, in the pool's unit (the unit label).", |p| {
            p.status.capacity as f64
        }),
        ("trimtab_pool_allocated", "gauge", "Amount held by active reservations, in the pool's unit.", |p| {
            p.status.allocated as f64
        }),
        ("trimtab_pool_queued", "gauge", "Requests waiting.", |p| p.status.queued as f64),
        (
            "trimtab_pool_queued_amount",
            "gauge",
            "Amount the waiting requests ask for, in the pool's unit.",
            |p| p.status.queued_amount as f64,
        ),
        ("trimtab_pool_pressure_ratio", "gauge", "(allocated + queued amount) / capacity.", |p| {
            p.pressure / 100.0
        }),
        ("trimtab_pool_granted_total", "counter", "Reservations granted.", |p| {
            p.status.totals.granted_total as f64
        }),
        ("trimtab_pool_refused_total", "counter", "Requests refused.", |p| {
            p.status.totals.refused_total as f64
        }),
        ("trimtab_pool_preempted_total", "counter", "Reservations preempted.", |p| {
            p.status.totals.preempted_total as f64
        }),
    ];
    let mut o = Out(String::new());
    for (name, kind, help, value) in families.iter().filter(|_| !pools.is_empty()) {
        o.family(name, kind, help);
        for p in pools {
            o.sample(name, &[("pool", &p.name), ("unit", &p.unit)], value(p));
        }
    }
    o.one(
        "trimtab_local_alerts_active",
        "gauge",
        "Local threshold alerts firing now.",
        alerts.active.len() as f64,
    );
    o.one(
        "trimtab_local_alerts_fired_total",
        "counter",
        "Local threshold alerts fired.",
        alerts.fired_total as f64,
    );
    o.one(
        "trimtab_local_alerts_suppressed_total",
        "counter",
        "Local alerts held back by their cooldown.",
        alerts.suppressed_total as f64,
    );
    o.0
}
#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
