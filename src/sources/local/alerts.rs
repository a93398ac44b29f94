//! Threshold alerts on this task's own resources, built so that a noisy value cannot cause a storm.
//!
//! Each [`Threshold`] watches one resource's value in the history and moves through three rules:
//!
//! 1. **Fire once, after it held.** It fires when the value has stayed above the threshold for
//!    `for_`, measured from the first reading of the current unbroken run of readings above it, and
//!    then says nothing more while it stays firing. A reading without a value breaks the run:
//!    missing data never fires an alert.
//! 2. **Resolve with hysteresis.** A firing alert resolves when the latest value falls below the
//!    threshold minus [`HYSTERESIS`] of it (90% resolves below 85.5%), so a value hovering at the
//!    line does not flap between firing and resolved. Missing data does not resolve it either.
//! 3. **Cooldown.** A new firing within `cooldown` of the previous one is suppressed and counted,
//!    once per run above the threshold; if the run still holds when the cooldown ends, it fires then.
//!    A value oscillating around the threshold every tick therefore fires at most once per cooldown.
//!
//! Each threshold is its own alert, so two on one resource (a warning and a critical level) fire
//! independently. `evaluate` is meant to run after every reading; it reads the clock only as `now`.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Serialize, Serializer};

use super::{History, Reading};

/// How far below the threshold, as a fraction of it, a firing alert's value must fall to resolve.
pub const HYSTERESIS: f64 = 0.05;
/// Alert events kept for display.
pub const RECENT_EVENTS: usize = 50;

/// What a threshold watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// CPU % of the limit.
    Cpu,
    /// Working set % of the memory limit.
    Memory,
    /// Disk read + write, bytes per second.
    Disk,
    /// Network receive + transmit, bytes per second.
    Network,
    /// % of CPU periods throttled.
    Throttling,
}

impl Resource {
    pub const ALL: [Resource; 5] =
        [Resource::Cpu, Resource::Memory, Resource::Disk, Resource::Network, Resource::Throttling];

    pub fn name(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
            Resource::Disk => "disk",
            Resource::Network => "network",
            Resource::Throttling => "throttling",
        }
    }

    /// The value watched in `r`: a percent for cpu, memory and throttling, bytes per second for disk
    /// and network (`None` unless both directions are known).
    pub fn value(self, r: &Reading) -> Option<f64> {
        match self {
            Resource::Cpu => r.cpu_pct,
            Resource::Memory => r.memory_pct,
            Resource::Disk => Some(r.disk_read_bps? + r.disk_write_bps?),
            Resource::Network => Some(r.net_rx_bps? + r.net_tx_bps?),
            Resource::Throttling => r.throttled_pct,
        }
    }

    fn is_rate(self) -> bool {
        matches!(self, Resource::Disk | Resource::Network)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Resource {
    type Err = String;

    fn from_str(s: &str) -> Result<Resource, String> {
        Resource::ALL.into_iter().find(|r| r.name() == s).ok_or_else(|| {
            format!("unknown resource {s:?}; expected one of cpu, memory, disk, network, throttling")
        })
    }
}

/// Fire when `resource` stays above `above` (a percent, or bytes/s for disk and network) for `for_`;
/// never again within `cooldown` of the last firing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Threshold {
    pub resource: Resource,
    pub above: f64,
    #[serde(rename = "for_seconds", serialize_with = "seconds")]
    pub for_: TimeDelta,
    #[serde(rename = "cooldown_seconds", serialize_with = "seconds")]
    pub cooldown: TimeDelta,
}

impl Threshold {
    pub fn new(resource: Resource, above: f64, for_: TimeDelta, cooldown: TimeDelta) -> Threshold {
        Threshold { resource, above, for_, cooldown }
    }

    /// A firing alert resolves below this.
    pub fn resolve_below(&self) -> f64 {
        self.above - self.above.abs() * HYSTERESIS
    }
}

fn seconds<S: Serializer>(d: &TimeDelta, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(d.num_seconds())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    Firing,
    Resolved,
}

/// An alert firing or resolving, as logged and shown.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertEvent {
    pub resource: Resource,
    pub kind: AlertKind,
    pub at: DateTime<Utc>,
    /// The value at `at`.
    pub value: f64,
    pub threshold: f64,
    /// When the value went above the threshold (for a resolved alert, the one that ended).
    pub since: DateTime<Utc>,
    /// E.g. "memory at 93.1% of the 2 GiB limit for 1m (threshold 90%)", or "container app:
    /// memory at …" for one of the app's containers.
    pub message: String,
    /// The app container it is about, when the monitor watches the task's containers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

/// An alert that is firing now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActiveAlert {
    pub resource: Resource,
    pub threshold: f64,
    pub since: DateTime<Utc>,
    pub fired_at: DateTime<Utc>,
    /// The latest value seen.
    pub value: f64,
    /// The message it fired with.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

/// The alerts as the API shows them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AlertsView {
    pub thresholds: Vec<Threshold>,
    pub active: Vec<ActiveAlert>,
    pub fired_total: u64,
    pub resolved_total: u64,
    /// Firings held back by a cooldown, one per run above the threshold.
    pub suppressed_total: u64,
    /// The last [`RECENT_EVENTS`] events, newest last.
    pub recent: Vec<AlertEvent>,
}

/// One threshold's state between evaluations.
#[derive(Clone, Debug, Default)]
struct State {
    active: Option<ActiveAlert>,
    last_fired: Option<DateTime<Utc>>,
    /// The current run above the threshold has already been counted as suppressed.
    suppressed: bool,
}

/// Every threshold's state, and the counts and recent events for display.
#[derive(Clone, Debug, Default)]
pub struct Alerts {
    watches: Vec<(Threshold, State)>,
    /// The container these alerts are about, named in every event.
    container: Option<String>,
    fired_total: u64,
    resolved_total: u64,
    suppressed_total: u64,
    recent: VecDeque<AlertEvent>,
}

impl Alerts {
    pub fn new(thresholds: Vec<Threshold>) -> Alerts {
        Alerts {
            watches: thresholds.into_iter().map(|t| (t, State::default())).collect(),
            ..Alerts::default()
        }
    }

    /// Alerts about the app container `name`: their events and messages name it.
    pub fn about(name: &str, thresholds: Vec<Threshold>) -> Alerts {
        Alerts { container: Some(name.to_owned()), ..Alerts::new(thresholds) }
    }

    /// Moves every threshold on to `now` over `history`; returns what fired or resolved.
    pub fn evaluate(&mut self, history: &History, now: DateTime<Utc>) -> Vec<AlertEvent> {
        let mut events = Vec::new();
        for (threshold, state) in &mut self.watches {
            match step(threshold, state, history, now) {
                Step::Quiet => {}
                Step::Suppressed => self.suppressed_total += 1,
                Step::Event(e) => events.push(name_container(e, self.container.as_deref(), state)),
            }
        }
        for e in &events {
            match e.kind {
                AlertKind::Firing => self.fired_total += 1,
                AlertKind::Resolved => self.resolved_total += 1,
            }
            if self.recent.len() == RECENT_EVENTS {
                self.recent.pop_front();
            }
            self.recent.push_back(e.clone());
        }
        events
    }

    /// The alerts firing now.
    pub fn active(&self) -> Vec<ActiveAlert> {
        self.watches.iter().filter_map(|(_, s)| s.active.clone()).collect()
    }

    pub fn view(&self) -> AlertsView {
        AlertsView {
            thresholds: self.watches.iter().map(|(t, _)| t.clone()).collect(),
            active: self.active(),
            fired_total: self.fired_total,
            resolved_total: self.resolved_total,
            suppressed_total: self.suppressed_total,
            recent: self.recent.iter().cloned().collect(),
        }
    }
}

/// `e` (and the alert it started) as about `container`, if any: "container app: memory at …".
fn name_container(mut e: AlertEvent, container: Option<&str>, state: &mut State) -> AlertEvent {
    if let Some(c) = container {
        e.message = format!("container {c}: {}", e.message);
        e.container = Some(c.to_owned());
        if let Some(a) = state.active.as_mut().filter(|_| e.kind == AlertKind::Firing) {
            a.message = e.message.clone();
            a.container = e.container.clone();
        }
    }
    e
}

impl AlertsView {
    /// One view of several containers' alerts: thresholds as `thresholds`, the rest added up, the
    /// recent events merged by time (the last [`RECENT_EVENTS`]).
    pub fn merge(thresholds: Vec<Threshold>, views: impl IntoIterator<Item = AlertsView>) -> AlertsView {
        let mut out = AlertsView { thresholds, ..AlertsView::default() };
        for v in views {
            out.active.extend(v.active);
            out.fired_total += v.fired_total;
            out.resolved_total += v.resolved_total;
            out.suppressed_total += v.suppressed_total;
            out.recent.extend(v.recent);
        }
        out.recent.sort_by_key(|e| e.at);
        let excess = out.recent.len().saturating_sub(RECENT_EVENTS);
        out.recent.drain(..excess);
        out
    }
}

enum Step {
    Quiet,
    Suppressed,
    Event(AlertEvent),
}

/// One threshold at `now`: resolve a firing alert, or fire (or count a suppression) on a run that
/// has held long enough.
fn step(th: &Threshold, state: &mut State, history: &History, now: DateTime<Utc>) -> Step {
    let latest = history.until(now).next_back().and_then(|r| Some((r, th.resource.value(r)?)));
    if let Some(active) = &mut state.active {
        let Some((reading, value)) = latest else {
            return Step::Quiet; // missing data does not resolve
        };
        active.value = value;
        if value >= th.resolve_below() {
            return Step::Quiet;
        }
        let since = active.since;
        state.active = None;
        return Step::Event(resolved(th, reading, value, since, now));
    }
    let Some((reading, value)) = latest.filter(|&(_, v)| v > th.above) else {
        state.suppressed = false; // the run, if any, is over
        return Step::Quiet;
    };
    let since = run_start(th, history, now).unwrap_or(reading.at);
    if now - since < th.for_ {
        return Step::Quiet;
    }
    if state.last_fired.is_some_and(|last| now - last < th.cooldown) {
        let first = !std::mem::replace(&mut state.suppressed, true);
        return if first { Step::Suppressed } else { Step::Quiet };
    }
    let event = firing(th, reading, value, since, now);
    state.last_fired = Some(now);
    state.active = Some(ActiveAlert {
        resource: th.resource,
        threshold: th.above,
        since,
        fired_at: now,
        value,
        message: event.message.clone(),
        container: None,
    });
    Step::Event(event)
}

/// When the current run of readings above the threshold began: the time of its first reading
/// (`None` if the latest reading at or before `now` is not above the threshold).
fn run_start(th: &Threshold, history: &History, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let above = |r: &&Reading| th.resource.value(r).is_some_and(|v| v > th.above);
    history.until(now).rev().take_while(above).last().map(|r| r.at)
}

fn firing(th: &Threshold, r: &Reading, value: f64, since: DateTime<Utc>, now: DateTime<Utc>) -> AlertEvent {
    let message = format!(
        "{} for {} (threshold {})",
        describe(th.resource, value, r),
        span(now - since),
        amount(th.resource, th.above)
    );
    event(th, AlertKind::Firing, value, since, now, message)
}

fn resolved(th: &Threshold, r: &Reading, value: f64, since: DateTime<Utc>, now: DateTime<Utc>) -> AlertEvent {
    let message = format!(
        "{}, back below the threshold of {} after {}",
        describe(th.resource, value, r),
        amount(th.resource, th.above),
        span(now - since)
    );
    event(th, AlertKind::Resolved, value, since, now, message)
}

fn event(
    th: &Threshold,
    kind: AlertKind,
    value: f64,
    since: DateTime<Utc>,
    at: DateTime<Utc>,
    message: String,
) -> AlertEvent {
    AlertEvent {
        resource: th.resource,
        kind,
        at,
        value,
        threshold: th.above,
        since,
        message,
        container: None,
    }
}

/// "memory at 93.1% of the 2 GiB limit", "disk at 52.4 MiB/s".
fn describe(resource: Resource, value: f64, r: &Reading) -> String {
    match resource {
        Resource::Cpu => match r.cpu_limit_cores {
            Some(cores) => format!("cpu at {value:.1}% of the {}-core limit", trim(cores)),
            None => format!("cpu at {value:.1}% of the host's cores"),
        },
        Resource::Memory => match r.memory_limit_bytes {
            Some(limit) => format!("memory at {value:.1}% of the {} limit", bytes(limit as f64)),
            None => format!("memory at {value:.1}%"),
        },
        Resource::Disk | Resource::Network => format!("{resource} at {}/s", bytes(value)),
        Resource::Throttling => format!("cpu throttled in {value:.1}% of periods"),
    }
}

/// A threshold as written: "90%", "50 MiB/s".
fn amount(resource: Resource, x: f64) -> String {
    if resource.is_rate() { format!("{}/s", bytes(x)) } else { format!("{}%", trim(x)) }
}

/// At most one decimal, none when it is zero: 2, 0.5, 93.1.
fn trim(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// Binary units: "300 B", "1.5 KiB", "2 GiB".
fn bytes(x: f64) -> String {
    let mut x = x;
    for unit in ["B", "KiB", "MiB", "GiB"] {
        if x.abs() < 1024.0 {
            return format!("{} {unit}", trim(x));
        }
        x /= 1024.0;
    }
    format!("{} TiB", trim(x))
}

/// Whole seconds as "45s", "1m", "1m30s", "2h5m".
fn span(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let parts = [(h, "h"), (m, "m"), (s, "s")];
    let text: String = parts.iter().filter(|(n, _)| *n > 0).map(|(n, u)| format!("{n}{u}")).collect();
    if text.is_empty() { "0s".to_owned() } else { text }
}

#[cfg(test)]
mod tests {
    use super::super::history::tests::{blank, t0};
    use super::*;

    const GIB: u64 = 1 << 30;

    fn memory(secs: i64, pct: Option<f64>) -> Reading {
        Reading { memory_pct: pct, memory_limit_bytes: Some(2 * GIB), ..blank(secs) }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        t0() + TimeDelta::seconds(secs)
    }

    /// Pushes each reading and evaluates at its time, collecting every event.
    fn run(alerts: &mut Alerts, history: &mut History, readings: Vec<Reading>) -> Vec<AlertEvent> {
        let mut events = Vec::new();
        for r in readings {
            let now = r.at;
            history.push(r);
            events.extend(alerts.evaluate(history, now));
        }
        events
    }

    fn memory_alerts(for_secs: i64, cooldown_secs: i64) -> Alerts {
        let t = Threshold::new(
            Resource::Memory,
            90.0,
            TimeDelta::seconds(for_secs),
            TimeDelta::seconds(cooldown_secs),
        );
        Alerts::new(vec![t])
    }

    fn kinds(events: &[AlertEvent]) -> Vec<(AlertKind, i64)> {
        events.iter().map(|e| (e.kind, (e.at - t0()).num_seconds())).collect()
    }

    #[test]
    fn fires_once_after_the_condition_held_for_its_duration() {
        let (mut alerts, mut history) = (memory_alerts(60, 600), History::new(720));
        let events = run(&mut alerts, &mut history, (0..=24).map(|i| memory(i * 5, Some(93.1))).collect());
        assert_eq!(kinds(&events), [(AlertKind::Firing, 60)]);
        let e = &events[0];
        assert_eq!((e.since, e.value, e.threshold), (t0(), 93.1, 90.0));
        assert_eq!(e.message, "memory at 93.1% of the 2 GiB limit for 1m (threshold 90%)");
        let view = alerts.view();
        assert_eq!((view.fired_total, view.suppressed_total, view.active.len()), (1, 0, 1));
        assert_eq!(view.active[0].fired_at, at(60));
        assert_eq!(view.recent, events);
    }

    #[test]
    fn a_dip_restarts_the_run_and_missing_data_never_fires() {
        let (mut alerts, mut history) = (memory_alerts(60, 600), History::new(720));
        let mut readings: Vec<Reading> = (0..=10).map(|i| memory(i * 5, Some(95.0))).collect();
        readings.push(memory(55, None)); // breaks the run
        readings.extend((12..=24).map(|i| memory(i * 5, Some(95.0))));
        let events = run(&mut alerts, &mut history, readings);
        assert_eq!(kinds(&events), [(AlertKind::Firing, 120)]);
        assert_eq!(events[0].since, at(60));
    }

    #[test]
    fn resolves_below_the_hysteresis_band_only() {
        let (mut alerts, mut history) = (memory_alerts(0, 600), History::new(720));
        let values = [95.0, 89.0, 86.0, 91.0, 85.0, 80.0];
        let readings = values.iter().enumerate().map(|(i, &v)| memory(i as i64 * 5, Some(v))).collect();
        let events = run(&mut alerts, &mut history, readings);
        assert_eq!(kinds(&events), [(AlertKind::Firing, 0), (AlertKind::Resolved, 20)]);
        assert_eq!(
            events[1].message,
            "memory at 85.0% of the 2 GiB limit, back below the threshold of 90% after 20s"
        );
        assert_eq!(events[1].since, t0());
        assert!(alerts.active().is_empty());
        assert_eq!(alerts.view().resolved_total, 1);
    }

    #[test]
    fn missing_data_does_not_resolve() {
        let (mut alerts, mut history) = (memory_alerts(0, 600), History::new(720));
        let readings = vec![memory(0, Some(95.0)), memory(5, None), memory(10, None)];
        let events = run(&mut alerts, &mut history, readings);
        assert_eq!(kinds(&events), [(AlertKind::Firing, 0)]);
        assert_eq!(alerts.active().len(), 1);
    }

    #[test]
    fn oscillating_value_fires_at_most_once_per_cooldown() {
        let (mut alerts, mut history) = (memory_alerts(0, 300), History::new(720));
        let readings = (0..120).map(|i| memory(i * 5, Some(if i % 2 == 0 { 95.0 } else { 50.0 }))).collect();
        let events = run(&mut alerts, &mut history, readings);
        let fired: Vec<_> = events.iter().filter(|e| e.kind == AlertKind::Firing).map(|e| e.at).collect();
        assert_eq!(fired, [at(0), at(300)]);
        assert!(fired.windows(2).all(|w| w[1] - w[0] >= TimeDelta::seconds(300)));
        // 60 runs above the threshold in 10 minutes: 2 fired, every other one suppressed once.
        let view = alerts.view();
        assert_eq!((view.fired_total, view.suppressed_total), (2, 58));
    }

    #[test]
    fn oscillating_value_never_holds_long_enough() {
        let (mut alerts, mut history) = (memory_alerts(60, 300), History::new(720));
        let readings = (0..120).map(|i| memory(i * 5, Some(if i % 2 == 0 { 95.0 } else { 50.0 }))).collect();
        assert!(run(&mut alerts, &mut history, readings).is_empty());
        assert_eq!(alerts.view().suppressed_total, 0);
    }

    #[test]
    fn a_run_suppressed_by_the_cooldown_is_counted_once_and_fires_when_it_ends() {
        let (mut alerts, mut history) = (memory_alerts(0, 60), History::new(720));
        let mut readings = vec![memory(0, Some(95.0)), memory(5, Some(50.0))];
        readings.extend((2..=16).map(|i| memory(i * 5, Some(95.0))));
        let events = run(&mut alerts, &mut history, readings);
        let expected = [(AlertKind::Firing, 0), (AlertKind::Resolved, 5), (AlertKind::Firing, 60)];
        assert_eq!(kinds(&events), expected);
        assert_eq!(events[2].since, at(10));
        assert_eq!(alerts.view().suppressed_total, 1);
    }

    #[test]
    fn thresholds_fire_independently_and_recent_is_bounded() {
        let mut alerts = Alerts::new(vec![
            Threshold::new(Resource::Cpu, 80.0, TimeDelta::zero(), TimeDelta::zero()),
            Threshold::new(Resource::Cpu, 95.0, TimeDelta::zero(), TimeDelta::zero()),
        ]);
        let mut history = History::new(720);
        let readings = (0..100)
            .map(|i| Reading { cpu_pct: Some(if i % 2 == 0 { 99.0 } else { 10.0 }), ..blank(i) })
            .collect();
        let events = run(&mut alerts, &mut history, readings);
        assert_eq!(events.len(), 200); // no cooldown: each threshold fires and resolves 50 times
        let view = alerts.view();
        assert_eq!((view.fired_total, view.resolved_total), (100, 100));
        assert_eq!(view.recent.len(), RECENT_EVENTS);
        assert_eq!(view.recent.last(), events.last());
    }

    #[test]
    fn messages_for_each_resource() {
        let r = Reading { cpu_limit_cores: Some(0.5), ..blank(0) };
        assert_eq!(describe(Resource::Cpu, 97.04, &r), "cpu at 97.0% of the 0.5-core limit");
        assert_eq!(describe(Resource::Cpu, 97.0, &blank(0)), "cpu at 97.0% of the host's cores");
        assert_eq!(describe(Resource::Memory, 50.0, &blank(0)), "memory at 50.0%");
        assert_eq!(describe(Resource::Disk, 52.4 * 1048576.0, &r), "disk at 52.4 MiB/s");
        assert_eq!(describe(Resource::Network, 300.0, &r), "network at 300 B/s");
        assert_eq!(describe(Resource::Throttling, 35.0, &r), "cpu throttled in 35.0% of periods");
        assert_eq!(amount(Resource::Network, 50.0 * 1048576.0), "50 MiB/s");
        assert_eq!(amount(Resource::Throttling, 92.5), "92.5%");
        assert_eq!(bytes(3.0 * (1u64 << 40) as f64), "3 TiB");
        let spans = [0, 45, 60, 90, 3600, 7500].map(|s| span(TimeDelta::seconds(s)));
        assert_eq!(spans, ["0s", "45s", "1m", "1m30s", "1h", "2h5m"]);
    }

    #[test]
    fn disk_and_network_sum_both_directions() {
        let r = Reading {
            disk_read_bps: Some(1.0),
            disk_write_bps: Some(2.0),
            net_rx_bps: Some(5.0),
            ..blank(0)
        };
        assert_eq!(Resource::Disk.value(&r), Some(3.0));
        assert_eq!(Resource::Network.value(&r), None);
    }

    #[test]
    fn resource_names_parse() {
        assert_eq!("throttling".parse::<Resource>(), Ok(Resource::Throttling));
        assert!(Resource::ALL.iter().all(|r| r.name().parse::<Resource>() == Ok(*r)));
        let err = "gpu".parse::<Resource>().unwrap_err();
        assert_eq!(err, "unknown resource \"gpu\"; expected one of cpu, memory, disk, network, throttling");
    }

    #[test]
    fn threshold_serializes_durations_in_seconds() {
        let t = Threshold::new(Resource::Memory, 90.0, TimeDelta::minutes(1), TimeDelta::minutes(10));
        let json = serde_json::to_value(&t).unwrap();
        let expected = serde_json::json!({
            "resource": "memory", "above": 90.0, "for_seconds": 60, "cooldown_seconds": 600
        });
        assert_eq!(json, expected);
        assert_eq!(t.resolve_below(), 85.5);
    }
}
