//! What each [`Event`] says on each kind of target. Every event has a headline that reads at a
//! glance (`scaled out 4 → 6 — cpu 92% > 70% target`) and a line or two of detail:
//! - a generic webhook (and an SNS message) gets JSON: `source`, `kind` (the event type),
//!   `event` (`kind.what`), `service`, `at` (RFC 3339, UTC), `summary` (the headline), then the
//!   event's own fields; money as decimal strings in dollars, named `…_usd`;
//! - Slack gets `{"text": …}` in Slack's mrkdwn: the service in bold and the headline on the
//!   first line, the detail below, and a context line in italics;
//! - SNS gets a subject: `trimtab SERVICE: HEADLINE` in ASCII.
//!
//! Budget events keep their own payload ([`super::payload`]), with `kind` added.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::event::{Event, LocalAlert, MetricLine, Operator, OperatorChange, Ownership, Resize, Scaling};
use super::payload;
use crate::core::Money;
use crate::core::policy::TargetType;

/// The event as a generic webhook receives it, and the SNS message. `service` names the service
/// for events that do not name their own.
pub fn json(service: &str, e: &Event) -> String {
    let specific = match e {
        Event::Budget(b) => return payload::json(service, b),
        Event::Scaling(s) => scaling_fields(s),
        Event::Resize(r) => resize_fields(r),
        Event::LocalAlert(a) => alert_fields(a),
        Event::Operator(o) => operator_fields(o),
        Event::Ownership(o) => ownership_fields(o),
    };
    let mut body = json!({
        "source": "trimtab",
        "kind": e.kind().as_str(),
        "event": format!("{}.{}", e.kind(), what(e)),
        "service": e.service().unwrap_or(service),
        "at": rfc3339(e.at()),
        "summary": headline(e),
    });
    if let (Value::Object(body), Value::Object(specific)) = (&mut body, specific) {
        body.extend(specific);
    }
    body.to_string()
}

/// A Slack-compatible body (Slack, Mattermost, Teams workflows): `*service* headline`, the
/// detail, and a context line.
pub fn slack(service: &str, e: &Event) -> String {
    if let Event::Budget(b) = e {
        return payload::slack(service, b);
    }
    let who = match e {
        Event::Ownership(o) => format!("{service} · {}", short_member(&o.member)),
        _ => e.service().unwrap_or(service).to_owned(),
    };
    let mut lines = vec![format!("*{}* {}", escape(&who), escape(&headline(e)))];
    lines.extend(detail(e).iter().map(|l| escape(l)));
    let context = format!("trimtab · {}.{} · {}", e.kind(), what(e), e.at().format("%Y-%m-%d %H:%M UTC"));
    lines.push(format!("_{}_", escape(&context)));
    json!({ "text": lines.join("\n") }).to_string()
}

/// `trimtab prod/web: scaled out 4 -> 6 - cpu 92% > 70% target`; `aws::Sns` makes it a valid
/// SNS subject (printable ASCII, at most 100 characters).
pub fn subject(service: &str, e: &Event) -> String {
    if let Event::Budget(b) = e {
        return payload::subject(service, b);
    }
    let text = format!("trimtab {}: {}", e.service().unwrap_or(service), headline(e));
    text.replace('→', "->").replace('—', "-")
}

/// The second half of the `event` field: what happened, within the kind.
fn what(e: &Event) -> &'static str {
    match e {
        Event::Budget(_) => "",
        Event::Scaling(s) if s.to > s.from => "out",
        Event::Scaling(_) => "in",
        Event::Resize(r) if r.applied => "applied",
        Event::Resize(_) => "recommended",
        Event::LocalAlert(a) if a.firing => "firing",
        Event::LocalAlert(_) => "resolved",
        Event::Operator(o) => o.change.as_str(),
        Event::Ownership(_) => "changed",
    }
}

/// One line, without the service: what happened and the figure that matters most.
fn headline(e: &Event) -> String {
    match e {
        Event::Budget(_) => String::new(),
        Event::Scaling(s) => {
            let verb = if s.to > s.from { "scaled out" } else { "scaled in" };
            let mut h = format!("{verb} {} → {}", s.from, s.to);
            if let Some(m) = s.metrics.first() {
                h.push_str(&format!(" — {}", metric(m)));
            }
            h
        }
        Event::Resize(r) => {
            let verb = if r.applied { "resized" } else { "resize recommended:" };
            format!("{verb} {} → {} — {}", r.from, r.to, saving(r.monthly_saving_per_task))
        }
        Event::LocalAlert(a) => {
            let (state, cmp) = if a.firing { ("alert", ">") } else { ("alert resolved", "<") };
            let on = a.container.as_deref().map(|c| format!(" in container {c}")).unwrap_or_default();
            let (value, threshold) = (amount(a.value, a.unit), amount(a.threshold, a.unit));
            format!("{} {state}{on} — {value} {cmp} {threshold} threshold", a.resource)
        }
        Event::Operator(o) => operator_headline(o),
        Event::Ownership(o) => ownership_headline(o),
    }
}

/// The lines under the headline.
fn detail(e: &Event) -> Vec<String> {
    match e {
        Event::Budget(_) => vec![],
        Event::Scaling(s) => {
            let mut lines: Vec<String> = s.metrics.iter().skip(1).map(metric).collect();
            lines.push(format!("{} ({})", s.message, s.reason));
            lines
        }
        Event::Resize(r) => {
            let mut lines = vec![format!("{} confidence: {}", r.confidence, r.reasons.join("; "))];
            lines.extend(r.task_definition.iter().map(|td| format!("deploying {td}")));
            lines
        }
        Event::LocalAlert(a) => {
            let task = a.task.as_deref().map(|t| format!(" (task {})", short_member(t))).unwrap_or_default();
            vec![format!("{}{task}", a.message)]
        }
        Event::Operator(_) => vec![],
        Event::Ownership(o) => {
            let mut lines = Vec::new();
            if !o.took.is_empty() {
                lines.push(format!("took: {}", listed(&o.took, o.took_count)));
            }
            if !o.handed_over.is_empty() {
                lines.push(format!("handed over: {}", listed(&o.handed_over, o.handed_over_count)));
            }
            lines
        }
    }
}

/// `cpu 92% > 70% target`; `queue 1200 > 100/task target` for a fleet total.
fn metric(m: &MetricLine) -> String {
    let cmp = match m.ratio {
        r if r > 1.0 => ">",
        r if r < 1.0 => "<",
        _ => "=",
    };
    match m.target_type {
        TargetType::Utilization => {
            format!("{} {} {cmp} {} target", m.name, amount(m.value, m.unit), amount(m.target, m.unit))
        }
        TargetType::AverageValue => {
            format!("{} {} ({}/task target)", m.name, amount(m.value, m.unit), amount(m.target, m.unit))
        }
    }
}

/// A figure with its unit: whole from 10 up, else to two places without trailing zeros; bytes
/// a second in KiB/s, MiB/s or GiB/s.
fn amount(v: f64, unit: &str) -> String {
    let (v, unit) = if unit == BYTES_PER_SECOND {
        let steps = [(1024.0 * 1024.0 * 1024.0, " GiB/s"), (1024.0 * 1024.0, " MiB/s"), (1024.0, " KiB/s")];
        let (div, unit) = steps.into_iter().find(|(d, _)| v.abs() >= *d).unwrap_or((1.0, unit));
        (v / div, unit)
    } else {
        (v, unit)
    };
    let n = if v.abs() >= 10.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    format!("{n}{unit}")
}

/// The unit of a local alert on disk or network throughput.
pub const BYTES_PER_SECOND: &str = " B/s";

fn saving(m: Money) -> String {
    if m.micros() >= 0 {
        format!("saves {m}/month per task")
    } else {
        format!("costs {}/month more per task", Money::from_micros(m.micros().saturating_neg()))
    }
}

fn operator_headline(o: &Operator) -> String {
    match &o.change {
        OperatorChange::Paused => "paused: decided and reported, nothing changed".into(),
        OperatorChange::Resumed => "resumed: scaling again".into(),
        OperatorChange::Override { count, until, reason } => {
            let why = if reason.is_empty() { String::new() } else { format!(" — {reason}") };
            format!("override: {count} tasks until {}{why}", until.format("%Y-%m-%d %H:%M UTC"))
        }
        OperatorChange::OverrideEnded { count, expired, .. } => {
            let how = if *expired { "expired" } else { "removed" };
            format!("override of {count} tasks {how}: scaling again")
        }
    }
}

fn ownership_headline(o: &Ownership) -> String {
    let n = |k: usize| if k == 1 { "1 service".to_owned() } else { format!("{k} services") };
    let change = match (o.took_count, o.handed_over_count) {
        (t, 0) => format!("took {}", n(t)),
        (0, h) => format!("handed over {}", n(h)),
        (t, h) => format!("took {}, handed over {}", n(t), n(h)),
    };
    let members = if o.members == 1 { "1 member".to_owned() } else { format!("{} members", o.members) };
    format!("{change} ({members})")
}

/// `a, b, c and 7 more`.
fn listed(names: &[String], count: usize) -> String {
    let more = count.saturating_sub(names.len());
    let list = names.join(", ");
    if more > 0 { format!("{list} and {more} more") } else { list }
}

/// A task ARN's last part (`…/task/prod/0f3c…` → `0f3c…`); anything else as it is.
fn short_member(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Slack's three control characters as the entities it asks for.
pub(super) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn scaling_fields(s: &Scaling) -> Value {
    let metrics: Vec<Value> = s
        .metrics
        .iter()
        .map(|m| {
            json!({
                "name": m.name, "value": m.value, "target": m.target, "ratio": (m.ratio * 1000.0).round() / 1000.0,
                "target_type": m.target_type.as_str(), "unit": m.unit.trim(),
            })
        })
        .collect();
    json!({ "from": s.from, "to": s.to, "reason": s.reason, "message": s.message, "metrics": metrics })
}

fn resize_fields(r: &Resize) -> Value {
    json!({
        "applied": r.applied,
        "from": { "cpu": r.from.cpu, "memory_mib": r.from.memory },
        "to": { "cpu": r.to.cpu, "memory_mib": r.to.memory },
        "monthly_saving_per_task_usd": r.monthly_saving_per_task,
        "confidence": r.confidence,
        "reasons": r.reasons,
        "task_definition": r.task_definition,
    })
}

fn alert_fields(a: &LocalAlert) -> Value {
    json!({
        "resource": a.resource, "firing": a.firing, "value": a.value, "threshold": a.threshold,
        "unit": a.unit.trim(), "since": rfc3339(a.since), "container": a.container, "task": a.task,
        "message": a.message,
    })
}

fn operator_fields(o: &Operator) -> Value {
    let mut v = json!({ "change": o.change.as_str() });
    if let OperatorChange::Override { count, until, reason } = &o.change {
        v["override"] = json!({ "count": count, "until": rfc3339(*until), "reason": reason });
    }
    if let OperatorChange::OverrideEnded { count, until, expired } = &o.change {
        v["override"] = json!({ "count": count, "until": rfc3339(*until), "expired": expired });
    }
    v
}

fn ownership_fields(o: &Ownership) -> Value {
    json!({
        "member": o.member, "members": o.members,
        "took": o.took, "took_count": o.took_count,
        "handed_over": o.handed_over, "handed_over_count": o.handed_over_count,
    })
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
