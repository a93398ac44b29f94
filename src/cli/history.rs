//! `trimtab history --cluster C --service S [--since 24h]`: what happened to a service, from
//! AWS alone, oldest first and newest last, merging two records:
//!
//! - **ECS's**: the service's events from `DescribeServices` ("has reached a steady state",
//!   "has started 2 tasks", "registered 2 targets", …). ECS keeps only the last 100, so older
//!   spans show trimtab's record alone;
//! - **trimtab's**: its own metrics ([`crate::agent::record`]), one bucket per period. A bucket
//!   becomes a row only when it says something new: the first in the span, a desired count
//!   other than the bucket before, a scale-out or scale-in; and a silence of more than
//!   [`SILENT_BUCKETS`] buckets becomes one row saying so.
//!
//! The bucket is one minute for spans up to 15 days, five up to 63 and an hour up to 455 (how
//! long CloudWatch keeps each resolution); a longer span is a usage error. At most `--limit`
//! rows are printed, the newest ones; how many older rows were left out is said.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::UsageError;
use super::args::{Format, HistoryArgs};
use super::remote::{ReadError, Remote, ago, rfc3339, short};
use super::setup::runtime;
use crate::agent::record::{self, Bucket};
use crate::aws::{MetricData, ServiceInfo};

/// A gap of more than this many buckets between two reports is a row of its own.
pub const SILENT_BUCKETS: i64 = 5;
/// `--limit`'s default.
pub const DEFAULT_LIMIT: u32 = 200;
/// The longest span: CloudWatch keeps hourly datapoints for 455 days.
const MAX_SPAN: TimeDelta = TimeDelta::days(455);

/// `--since`: a span back from now (`24h`, `7d`) or a time (RFC 3339).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Since {
    Ago(TimeDelta),
    At(DateTime<Utc>),
}

/// Parses `--since`.
pub fn parse_since(s: &str) -> Result<Since, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Since::At(t.with_timezone(&Utc)));
    }
    crate::config::duration::parse(s)
        .map(Since::Ago)
        .map_err(|e| format!("{e}; or give a time like 2026-12-07T09:00:00Z"))
}

/// The span's start and its bucket (seconds), as of `now`; a usage error for a span that ends
/// before it starts or reaches back past what CloudWatch keeps.
pub fn span(since: Since, now: DateTime<Utc>) -> Result<(DateTime<Utc>, i32), UsageError> {
    let start = match since {
        Since::Ago(d) => now.checked_sub_signed(d).unwrap_or(DateTime::<Utc>::MIN_UTC),
        Since::At(t) => t,
    };
    let length = now.signed_duration_since(start);
    if length <= TimeDelta::zero() {
        return Err(UsageError(format!("--since {} is not in the past", rfc3339(start))));
    }
    if length > MAX_SPAN {
        return Err(UsageError(
            "--since reaches back more than 455 days, as far as CloudWatch keeps \
                               trimtab's metrics"
                .to_owned(),
        ));
    }
    // Reads start on a whole bucket (`remote::aligned`), up to one bucket earlier than asked:
    // the span with that bucket must still be within what CloudWatch keeps at the period.
    let period = match length {
        l if l + TimeDelta::minutes(1) <= TimeDelta::days(15) => 60,
        l if l + TimeDelta::minutes(5) <= TimeDelta::days(63) => 300,
        _ => 3600,
    };
    Ok((start, period))
}

/// `trimtab history`.
pub fn command(args: HistoryArgs) -> anyhow::Result<()> {
    let now = Utc::now();
    let (start, period) = span(args.since, now)?;
    let history = runtime()?.block_on(async {
        let remote = Remote::connect(&args.target, true).await?;
        anyhow::Ok(read(&remote, (start, period), now, args.limit as usize).await?)
    })?;
    match args.target.output.format {
        Format::Table => super::out::text(&table(&history))?,
        Format::Json => super::out::json(&history)?,
    }
    Ok(())
}

/// Reads the service's events and trimtab's record over `[start, now)` in buckets of `period`
/// seconds; the newest `limit` rows.
pub async fn read(
    remote: &Remote,
    (start, period): (DateTime<Utc>, i32),
    now: DateTime<Utc>,
    limit: usize,
) -> Result<History, ReadError> {
    let info = remote.service().await?;
    let record = remote.record(period, start, now).await?;
    Ok(history(&info, &record, (start, period), now, limit))
}

/// What `trimtab history` shows; the JSON output as it is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct History {
    pub cluster: String,
    pub service: String,
    pub since: String,
    pub until: String,
    pub period_seconds: i32,
    /// Oldest first.
    pub rows: Vec<Row>,
    /// Older rows left out by `--limit`.
    pub omitted_rows: usize,
    /// Series CloudWatch answered only in part, by query id, with why: left out of the rows.
    pub incomplete: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub at: String,
    /// `ecs` or `trimtab`.
    pub source: &'static str,
    /// `event` (ECS), `desired`, `scale_out`, `scale_in`, `silent` (trimtab).
    pub kind: &'static str,
    pub desired: Option<u32>,
    pub recommended: Option<u32>,
    pub score: Option<f64>,
    pub message: String,
}

/// The merged history of `info` and `record` over the span, the newest `limit` rows.
pub fn history(
    info: &ServiceInfo,
    record: &MetricData,
    (start, period): (DateTime<Utc>, i32),
    now: DateTime<Utc>,
    limit: usize,
) -> History {
    let buckets = record::buckets(&record.points);
    let mut rows: Vec<(DateTime<Utc>, Row)> = trimtab_rows(&buckets, TimeDelta::seconds(period.into()));
    let events = info.state.events.iter().filter(|(t, _)| *t >= start && *t <= now);
    rows.extend(events.map(|(t, message)| (*t, event_row(*t, message))));
    // Stable: at the same time, trimtab's row before ECS's.
    rows.sort_by_key(|(t, _)| *t);
    let omitted_rows = rows.len().saturating_sub(limit);
    History {
        cluster: short(&info.cluster).to_owned(),
        service: info.name.clone(),
        since: rfc3339(start),
        until: rfc3339(now),
        period_seconds: period,
        rows: rows.into_iter().skip(omitted_rows).map(|(_, r)| r).collect(),
        omitted_rows,
        incomplete: record.incomplete.clone(),
    }
}

fn event_row(at: DateTime<Utc>, message: &str) -> Row {
    let message = message.to_owned();
    Row {
        at: rfc3339(at),
        source: "ecs",
        kind: "event",
        desired: None,
        recommended: None,
        score: None,
        message,
    }
}

/// The buckets that say something new, and the silences between them.
fn trimtab_rows(buckets: &[Bucket], period: TimeDelta) -> Vec<(DateTime<Utc>, Row)> {
    let mut rows = Vec::new();
    let mut before: Option<&Bucket> = None;
    for b in buckets {
        if let Some(prev) = before
            && b.at - prev.at > period * SILENT_BUCKETS as i32
        {
            rows.push(silence(prev.at + period, b.at));
        }
        let changed = before.map(|p| p.desired) != Some(b.desired) && b.desired.is_some();
        if changed || b.scaled_out || b.scaled_in {
            rows.push((b.at, bucket_row(b, before.and_then(|p| p.desired))));
        }
        before = Some(b);
    }
    rows
}

fn silence(from: DateTime<Utc>, to: DateTime<Utc>) -> (DateTime<Utc>, Row) {
    let message =
        format!("no report from trimtab until {} ({})", rfc3339(to), ago(from, to).trim_end_matches(" ago"));
    let row = Row {
        at: rfc3339(from),
        source: "trimtab",
        kind: "silent",
        desired: None,
        recommended: None,
        score: None,
        message,
    };
    (from, row)
}

fn bucket_row(b: &Bucket, previous: Option<u32>) -> Row {
    let kind = match (b.scaled_out, b.scaled_in) {
        (true, _) => "scale_out",
        (_, true) => "scale_in",
        _ => "desired",
    };
    let desired = b.desired.map_or("?".to_owned(), |d| d.to_string());
    let change = match previous {
        Some(p) if Some(p) != b.desired => format!("desired {p} -> {desired}"),
        _ => format!("desired {desired}"),
    };
    let verb = match kind {
        "scale_out" => "scaled out: ",
        "scale_in" => "scaled in: ",
        _ => "",
    };
    let mut extra: Vec<String> = b.recommended.map(|r| format!("recommended {r}")).into_iter().collect();
    extra.extend(b.score.map(|s| format!("score {s:.2}")));
    let extra = if extra.is_empty() { String::new() } else { format!(" ({})", extra.join(", ")) };
    Row {
        at: rfc3339(b.at),
        source: "trimtab",
        kind,
        desired: b.desired,
        recommended: b.recommended,
        score: b.score,
        message: format!("{verb}{change}{extra}"),
    }
}

/// The history as a table, oldest row first, with what was left out said below.
pub fn table(h: &History) -> String {
    let mut t = super::table::Table::new(["time", "source", "desired", "score", "what"]);
    for r in &h.rows {
        let desired = r.desired.map_or(String::new(), |d| d.to_string());
        let score = r.score.map_or(String::new(), |s| format!("{s:.2}"));
        t.row(vec![r.at.clone(), r.source.to_owned(), desired, score, r.message.clone()]);
    }
    let mut out = format!(
        "{}/{} from {} to {} ({}-second buckets)\n",
        h.cluster, h.service, h.since, h.until, h.period_seconds
    );
    if h.rows.is_empty() {
        out.push_str("nothing in this span: no ECS event, and no trimtab agent reported\n");
    } else {
        out.push_str(&t.render());
    }
    if h.omitted_rows > 0 {
        out.push_str(&format!("{} older rows left out (--limit)\n", h.omitted_rows));
    }
    for (id, why) in &h.incomplete {
        out.push_str(&format!("incomplete: {id}: {why}\n"));
    }
    out
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
