//! `trimtab status --cluster C --service S`: what trimtab is doing to a service, read from AWS
//! alone, so an operator needs credentials and not the task's loopback API. Two parts:
//!
//! - **the service now**, from `DescribeServices`: its counts, whether a deployment is rolling,
//!   and the operator's intent in its tags (paused, override; read by [`crate::core::operator`],
//!   as the agent reads them; a tag that cannot be read is shown as the problem it is);
//! - **trimtab's latest view**, from its own metrics ([`crate::agent::record`]): its last
//!   decision (desired, recommended, score) and when, its last scale-out and scale-in, spend to
//!   date when published, and whether it still reports. It reads the last [`RECENT`] at one
//!   minute; when no heartbeat is in it, the last [`LONG`] by the hour, to say since when the
//!   service has had no agent. An agent is *reporting* when its newest heartbeat is at most
//!   `--stale-after` old (default [`DEFAULT_STALE_AFTER`]: a few ticks plus CloudWatch's
//!   ingestion delay).
//!
//! [`read`] does the I/O; [`status`] is pure and builds the [`Status`] that [`table`] prints
//! (and `--format json` serializes).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::args::{Format, StatusArgs};
use super::remote::{ReadError, Remote, ago, rfc3339, short};
use super::setup::runtime;
use crate::agent::record::{self, Latest};
use crate::aws::{MetricData, ServiceInfo};
use crate::core::operator;

/// The span read at one-minute resolution.
pub const RECENT: TimeDelta = TimeDelta::hours(24);
/// The span read by the hour when nothing was reported in [`RECENT`].
pub const LONG: TimeDelta = TimeDelta::days(63);
/// How old the newest heartbeat may be for the agent to count as reporting.
pub const DEFAULT_STALE_AFTER: &str = "5m";

/// `trimtab status`.
pub fn command(args: StatusArgs) -> anyhow::Result<()> {
    let now = Utc::now();
    let view = runtime()?.block_on(async {
        let remote = Remote::connect(&args.target, true).await?;
        anyhow::Ok(read(&remote, now, args.stale_after).await?)
    })?;
    match args.target.output.format {
        Format::Table => super::out::text(&table(&view))?,
        Format::Json => super::out::json(&view)?,
    }
    Ok(())
}

/// Reads the service and trimtab's record of it, as of `now`.
pub async fn read(remote: &Remote, now: DateTime<Utc>, stale_after: TimeDelta) -> Result<Status, ReadError> {
    let info = remote.service().await?;
    let recent = remote.record(60, now - RECENT, now).await?;
    // CloudWatch answers every query, a silent one with no datapoints.
    if recent.points.get("beat").is_some_and(|p| !p.is_empty()) {
        return Ok(status(&info, &recent, (TimeDelta::minutes(1), RECENT), now, stale_after));
    }
    let long = remote.record(3600, now - LONG, now).await?;
    Ok(status(&info, &long, (TimeDelta::hours(1), LONG), now, stale_after))
}

/// What `trimtab status` shows; the JSON output as it is (snake_case, RFC 3339 times, money
/// as decimal strings in `_usd` fields).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    pub cluster: String,
    pub service: String,
    pub arn: String,
    /// ECS's status of the service: `ACTIVE`, `DRAINING`, `INACTIVE`.
    pub status: String,
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    pub deployment_in_progress: bool,
    pub deployments: Vec<DeploymentView>,
    pub operator: OperatorView,
    pub agent: AgentView,
    pub checked_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeploymentView {
    pub id: String,
    pub status: String,
    pub rollout_state: Option<String>,
    pub desired: u32,
    pub running: u32,
    pub updated_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OperatorView {
    pub paused: bool,
    #[serde(rename = "override")]
    pub manual_override: Option<OverrideView>,
    /// Why the operator tags cannot be read (the agent then leaves the service alone).
    pub problem: Option<String>,
    /// Every `trimtab:` tag of the service, as written.
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OverrideView {
    pub count: u32,
    pub until: String,
    pub reason: String,
    /// Not yet expired.
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentView {
    /// The newest heartbeat is at most `stale_after_seconds` old.
    pub reporting: bool,
    pub message: String,
    pub last_report_at: Option<String>,
    pub stale_after_seconds: i64,
    /// How far back the record was read.
    pub looked_back_seconds: i64,
    pub decided_at: Option<String>,
    pub desired: Option<u32>,
    pub recommended: Option<u32>,
    pub score: Option<f64>,
    pub last_scale_out_at: Option<String>,
    pub last_scale_in_at: Option<String>,
    pub spend_at: Option<String>,
    pub month_to_date_usd: Option<crate::core::Money>,
    pub today_usd: Option<crate::core::Money>,
    /// Series CloudWatch answered only in part, by query id, with why: left out above.
    pub incomplete: BTreeMap<String, String>,
}

/// The status of `info` and trimtab's `record` of it, read in buckets of `period` over the last
/// `window`, as of `now`.
pub fn status(
    info: &ServiceInfo,
    record: &MetricData,
    (period, window): (TimeDelta, TimeDelta),
    now: DateTime<Utc>,
    stale_after: TimeDelta,
) -> Status {
    let s = &info.state;
    let latest = record::latest(&record.points, period, now);
    Status {
        cluster: short(&info.cluster).to_owned(),
        service: info.name.clone(),
        arn: info.arn.clone(),
        status: s.status.clone(),
        desired: s.desired,
        running: s.running,
        pending: s.pending,
        deployment_in_progress: s.deployment_in_progress(),
        deployments: s
            .deployments
            .iter()
            .map(|d| DeploymentView {
                id: d.id.clone(),
                status: d.status.clone(),
                rollout_state: d.rollout_state.clone(),
                desired: d.desired,
                running: d.running,
                updated_at: d.updated_at.map(rfc3339),
            })
            .collect(),
        operator: operator_view(&s.tags, now),
        agent: agent_view(&latest, record, window, now, stale_after),
        checked_at: rfc3339(now),
    }
}

fn operator_view(tags: &BTreeMap<String, String>, now: DateTime<Utc>) -> OperatorView {
    let ours = tags.iter().filter(|(k, _)| k.starts_with("trimtab:")).map(|(k, v)| (k.clone(), v.clone()));
    let (paused, manual_override, problem) = match operator::read(tags) {
        Ok(o) => {
            let view = o.manual_override.as_ref().map(|m| OverrideView {
                count: m.count.get(),
                until: rfc3339(m.expires_at),
                reason: m.reason.clone(),
                active: m.is_active(now),
            });
            (o.paused, view, None)
        }
        Err(why) => (false, None, Some(why)),
    };
    OperatorView { paused, manual_override, problem, tags: ours.collect() }
}

fn agent_view(
    l: &Latest,
    record: &MetricData,
    window: TimeDelta,
    now: DateTime<Utc>,
    stale_after: TimeDelta,
) -> AgentView {
    let reporting = l.last_report.is_some_and(|t| now - t <= stale_after);
    let decision = l.decision.as_ref();
    AgentView {
        reporting,
        message: reporting_message(l.last_report, reporting, window, now),
        last_report_at: l.last_report.map(rfc3339),
        stale_after_seconds: stale_after.num_seconds(),
        looked_back_seconds: window.num_seconds(),
        decided_at: decision.map(|d| rfc3339(d.at)),
        desired: decision.and_then(|d| d.desired),
        recommended: decision.and_then(|d| d.recommended),
        score: decision.and_then(|d| d.score),
        last_scale_out_at: l.last_scale_out.map(rfc3339),
        last_scale_in_at: l.last_scale_in.map(rfc3339),
        spend_at: l.spend.as_ref().map(|s| rfc3339(s.at)),
        month_to_date_usd: l.spend.as_ref().map(|s| s.month_to_date),
        today_usd: l.spend.as_ref().and_then(|s| s.today),
        incomplete: record.incomplete.clone(),
    }
}

/// Whether an agent reports, in words.
fn reporting_message(
    last: Option<DateTime<Utc>>,
    reporting: bool,
    window: TimeDelta,
    now: DateTime<Utc>,
) -> String {
    const WHO: &str = "only the acting agent publishes (the leader, or the controller that owns the \
                       service), and not in dry run";
    match last {
        Some(t) if reporting => format!("reporting: last report {} ({})", rfc3339(t), ago(t, now)),
        Some(t) => format!(
            "no trimtab agent has reported for this service since {} ({}); {WHO}",
            rfc3339(t),
            ago(t, now)
        ),
        None => format!(
            "no trimtab agent has reported for this service in the last {} days; {WHO}",
            window.num_days()
        ),
    }
}

/// The status as `trimtab status` prints it: one labelled line per fact.
pub fn table(s: &Status) -> String {
    let a = &s.agent;
    let never = || format!("none in the last {}", span(a.looked_back_seconds));
    let at = |t: &Option<String>| t.clone().unwrap_or_else(never);
    let mut lines = vec![
        ("service", format!("{}/{} ({})", s.cluster, s.service, s.arn)),
        ("ecs status", s.status.clone()),
        ("tasks", format!("desired {}, running {}, pending {}", s.desired, s.running, s.pending)),
        ("deployment", deployment_line(s)),
        ("operator", operator_line(&s.operator)),
        ("trimtab", a.message.clone()),
        ("decision", decision_line(a)),
        ("scale-out", at(&a.last_scale_out_at)),
        ("scale-in", at(&a.last_scale_in_at)),
        ("spend", spend_line(a)),
    ];
    lines.extend(a.incomplete.iter().map(|(id, why)| ("incomplete", format!("{id}: {why}"))));
    let width = lines.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    lines.iter().map(|(label, value)| format!("{label:<width$}  {value}\n")).collect()
}

/// `24 h`, `63 days`.
fn span(secs: i64) -> String {
    if secs % 86_400 == 0 && secs >= 2 * 86_400 {
        format!("{} days", secs / 86_400)
    } else {
        format!("{} h", secs / 3_600)
    }
}

fn deployment_line(s: &Status) -> String {
    let each: Vec<String> = s
        .deployments
        .iter()
        .filter(|d| d.status != "INACTIVE")
        .map(|d| {
            let rollout = d.rollout_state.as_deref().map_or(String::new(), |r| format!(" {r}"));
            format!("{}{rollout} {}/{}", d.status, d.running, d.desired)
        })
        .collect();
    let state = if s.deployment_in_progress { "rolling" } else { "steady" };
    format!("{state}: {} (running/desired)", each.join(", "))
}

fn operator_line(o: &OperatorView) -> String {
    if let Some(p) = &o.problem {
        return format!("problem: {p}; trimtab leaves the service alone");
    }
    let mut parts = Vec::new();
    if o.paused {
        parts.push("paused (trimtab decides and reports, changes nothing)".to_owned());
    }
    if let Some(m) = &o.manual_override {
        let why = if m.reason.is_empty() { String::new() } else { format!(" ({})", m.reason) };
        let state = if m.active { "override: hold" } else { "expired override: held" };
        parts.push(format!("{state} {} tasks until {}{why}", m.count, m.until));
    }
    if parts.is_empty() { "no pause, no override".to_owned() } else { parts.join("; ") }
}

fn decision_line(a: &AgentView) -> String {
    let Some(at) = &a.decided_at else { return format!("none in the last {}", span(a.looked_back_seconds)) };
    let mut words = vec![format!("desired {}", a.desired.map_or("?".to_owned(), |d| d.to_string()))];
    words.extend(a.recommended.map(|r| format!("recommended {r}")));
    words.extend(a.score.map(|s| format!("score {s:.2}")));
    format!("{} at {at}", words.join(", "))
}

fn spend_line(a: &AgentView) -> String {
    let (Some(month_to_date), Some(at)) = (a.month_to_date_usd, &a.spend_at) else {
        return "not published (the agent publishes spend only for a task it can price)".to_owned();
    };
    let today = a.today_usd.map_or(String::new(), |t| format!(", today {t}"));
    format!("month to date {month_to_date}{today} at {at}")
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
