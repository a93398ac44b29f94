//! When a repeating window opens: a cron expression in one of two dialects, parsed into one value.
//!
//! **Unix cron** (`0 8 * * MON-FRI`) is what `croner` reads, with one addition: `N/step` means
//! "from N to the field's last value, every step" (`0/15` = minutes 0, 15, 30, 45), as it did
//! before croner 4 started to reject it; the last value of day-of-week is 6 (SAT). Day-of-week
//! counts 0-6 from Sunday (7 is Sunday too).
//!
//! **AWS cron** (`cron(0 8 ? * MON-FRI *)`), the form Application Auto Scaling and EventBridge
//! take, is read field by field by [`schedule_aws`](super::schedule_aws), which checks it against
//! AWS's documented rules and translates it into a pattern croner evaluates with Quartz weekday
//! numbering (1-7 = SUN-SAT). Its year field bounds every search: before the first year nothing
//! came before, after the last nothing comes after, so no search walks through empty centuries.
//!
//! Both dialects then share croner's evaluation, DST rules included (see `schedule`'s essay), so a
//! window behaves the same whichever way its time is written. The expression keeps its text as
//! written, for messages and for display. Errors carry the byte range of the part at fault, so
//! config diagnostics can point at the field rather than at the key.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use croner::Cron;

use super::schedule_aws;

/// A field of a cron expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Seconds,
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Seconds => "seconds",
            Field::Minutes => "minutes",
            Field::Hours => "hours",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
            Field::Year => "year",
        }
    }
}

/// Which way an expression was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Five fields, as crontab writes them (croner also takes seconds and years).
    Unix,
    /// `cron(minutes hours day-of-month month day-of-week year)`.
    Aws,
}

impl Dialect {
    /// The dialect `text` is written in: `cron(...)` is AWS's, anything else Unix cron.
    pub fn of(text: &str) -> Dialect {
        if schedule_aws::is_aws(text) { Dialect::Aws } else { Dialect::Unix }
    }
}

/// Why an expression was rejected, and which part of its text is at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    /// Byte range of the part at fault, in the text as given.
    pub at: Range<usize>,
    pub message: String,
}

impl ExprError {
    pub(crate) fn new(at: Range<usize>, message: impl Into<String>) -> Self {
        ExprError { at, message: message.into() }
    }
}

/// A parsed cron expression of either dialect.
#[derive(Clone, Debug, PartialEq)]
pub struct CronExpr {
    text: String,
    dialect: Dialect,
    cron: Cron,
    /// The first and last year it may fire in; `None` leaves croner's own limits.
    years: Option<(i32, i32)>,
}

impl CronExpr {
    /// Parses either dialect: `cron(...)` is AWS's, anything else Unix cron.
    pub fn parse(text: &str) -> Result<Self, ExprError> {
        match Dialect::of(text) {
            Dialect::Aws => schedule_aws::parse(text),
            Dialect::Unix => unix(text),
        }
    }

    pub(crate) fn from_parts(text: &str, dialect: Dialect, cron: Cron, years: Option<(i32, i32)>) -> Self {
        CronExpr { text: text.to_owned(), dialect, cron, years }
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The last year the expression may fire in, when its year field limits it.
    pub fn last_year(&self) -> Option<i32> {
        self.years.map(|(_, last)| last)
    }

    /// The latest occurrence at or before `t`, on the wall clock of `tz`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&tz);
        if self.years.is_some_and(|(first, _)| local.year() < first) {
            return None;
        }
        let found = self.cron.find_previous_occurrence(&local, true).ok()?;
        Some(found.with_timezone(&Utc))
    }

    /// The first occurrence after `t`, on the wall clock of `tz`.
    pub fn next_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.next_local(&t.with_timezone(&tz)).map(|found| found.with_timezone(&Utc))
    }

    /// Every occurrence after `t`, in order. The iterator ends when none is left (past the last
    /// year, or past croner's search limit); callers bound it by time or count.
    pub fn occurrences_after(&self, t: DateTime<Utc>, tz: Tz) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        // Each search resumes from the instant found, which keeps the half of a repeated hour.
        std::iter::successors(self.next_local(&t.with_timezone(&tz)), |prev| self.next_local(prev))
            .map(|found| found.with_timezone(&Utc))
    }

    fn next_local(&self, t: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        if self.years.is_some_and(|(_, last)| t.year() > last) {
            return None;
        }
        self.cron.find_next_occurrence(t, false).ok()
    }
}

/// A croner pattern as croner reads it (Unix dialect, no year bound of its own).
impl From<Cron> for CronExpr {
    fn from(cron: Cron) -> Self {
        CronExpr { text: cron.to_string(), dialect: Dialect::Unix, cron, years: None }
    }
}

impl FromStr for CronExpr {
    type Err = ExprError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CronExpr::parse(s)
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A whitespace-separated field and where it sits in the whole text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub text: &'a str,
    pub at: Range<usize>,
}

/// The whitespace-separated fields of `text`, their ranges shifted by `base`.
pub(crate) fn tokens(text: &str, base: usize) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push(Token { text: &text[s..i], at: base + s..base + i });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

/// Unix fields, with croner's optional seconds and year: the same order as AWS's.
const UNIX: [Field; 7] = schedule_aws::FIELDS;

/// Unix cron: `N/step` made explicit, then croner. Croner's error names no field, so a rejected
/// expression is parsed again one field at a time to find the field it objects to.
fn unix(text: &str) -> Result<CronExpr, ExprError> {
    let fields = tokens(text, 0);
    let layout: &[Field] = match fields.len() {
        5 => &UNIX[1..6],
        6 => &UNIX[..6],
        7 => &UNIX,
        _ => &[],
    };
    if text.contains('@') || layout.is_empty() {
        return Cron::from_str(text)
            .map(CronExpr::from)
            .map_err(|e| ExprError::new(0..text.len(), croner_reason(&e)));
    }
    for (t, f) in fields.iter().zip(layout) {
        unix_range_check(t, *f)?;
    }
    let written: Vec<String> = fields.iter().zip(layout).map(|(t, f)| unix_steps(t.text, *f)).collect();
    match Cron::from_str(&written.join(" ")) {
        Ok(cron) => Ok(CronExpr { text: text.to_owned(), dialect: Dialect::Unix, cron, years: None }),
        Err(e) => Err(blame_field(&fields, layout, &written)
            .unwrap_or_else(|| ExprError::new(0..text.len(), croner_reason(&e)))),
    }
}

/// The values a Unix field takes, and how to say so.
fn unix_range(f: Field) -> (u32, u32, &'static str) {
    match f {
        Field::Seconds | Field::Minutes => (0, 59, ""),
        Field::Hours => (0, 23, ""),
        Field::DayOfMonth => (1, 31, ""),
        Field::Month => (1, 12, " (JAN-DEC)"),
        Field::DayOfWeek => (0, 7, " (SUN-SAT, 7 is SUN too)"),
        Field::Year => (1, croner::YEAR_UPPER_LIMIT.unsigned_abs(), ""),
    }
}

/// Numbers outside their field's range, named with the field (croner's message names neither).
fn unix_range_check(t: &Token<'_>, f: Field) -> Result<(), ExprError> {
    let (lo, hi, names) = unix_range(f);
    for part in t.text.split(',') {
        let base = part.split('/').next().unwrap_or_default();
        let base = base.split('#').next().unwrap_or_default();
        for n in base.split('-').map(|n| n.trim_end_matches(['L', 'l', 'W', 'w'])) {
            let out = !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && !n.parse().is_ok_and(|v: u32| (lo..=hi).contains(&v));
            if out {
                let msg = format!("{} \"{n}\" out of range {lo}-{hi}{names}", f.name());
                return Err(ExprError::new(t.at.clone(), msg));
            }
        }
    }
    Ok(())
}

/// `N/step` → `N-last/step`, which croner 4 takes (it rejects the short form).
fn unix_steps(field: &str, f: Field) -> String {
    let last = match f {
        Field::DayOfWeek => 6,
        other => unix_range(other).1,
    };
    let part = |p: &str| match p.split_once('/') {
        Some((start, step)) if !start.is_empty() && start.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            format!("{start}-{last}/{step}")
        }
        _ => p.to_owned(),
    };
    field.split(',').map(part).collect::<Vec<_>>().join(",")
}

/// The first field croner rejects on its own, the others left at `*`.
fn blame_field(fields: &[Token<'_>], layout: &[Field], written: &[String]) -> Option<ExprError> {
    (0..fields.len()).find_map(|i| {
        let probe: Vec<&str> =
            (0..written.len()).map(|j| if j == i { written[j].as_str() } else { "*" }).collect();
        let e = Cron::from_str(&probe.join(" ")).err()?;
        let (name, text) = (layout[i].name(), fields[i].text);
        Some(ExprError::new(fields[i].at.clone(), format!("{name} \"{text}\": {}", croner_reason(&e))))
    })
}

/// Croner's message without its category prefix, as a clause.
fn croner_reason(e: &croner::errors::CronError) -> String {
    let text = e.to_string();
    let text = ["Component error: ", "Invalid pattern: ", "Pattern contains illegal characters: "]
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .unwrap_or(&text);
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    chars.next().map_or(String::new(), |c| c.to_lowercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(expr: &str, from: &str, n: usize) -> Vec<String> {
        let e = CronExpr::parse(expr).unwrap();
        e.occurrences_after(utc(from), Tz::UTC)
            .take(n)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .collect()
    }

    #[test]
    fn tokens_keep_their_byte_ranges() {
        let t = tokens("  0 8\t? *  ", 5);
        let got: Vec<_> = t.iter().map(|t| (t.text, t.at.clone())).collect();
        assert_eq!(got, vec![("0", 7..8), ("8", 9..10), ("?", 11..12), ("*", 13..14)]);
    }

    #[test]
    fn unix_number_slash_step_runs_to_the_field_end() {
        // Issue 13, part 5: croner 4 rejects "single number steps like 0/15".
        assert_eq!(
            next("0/15 * * * *", "2026-03-27T09:00:00Z", 4),
            ["2026-03-27 09:15", "2026-03-27 09:30", "2026-03-27 09:45", "2026-03-27 10:00"]
        );
        assert_eq!(
            next("5/20 3/10 * * *", "2026-03-27T09:00:00Z", 4),
            ["2026-03-27 13:05", "2026-03-27 13:25", "2026-03-27 13:45", "2026-03-27 23:05"]
        );
        // Day-of-week runs to 6 (SAT): 1/2 is MON, WED, FRI, and not SUN.
        assert_eq!(
            next("0 8 * * 1/2", "2026-03-27T09:00:00Z", 4),
            ["2026-03-30 08:00", "2026-04-01 08:00", "2026-04-03 08:00", "2026-04-06 08:00"]
        );
        // Already-valid forms are untouched.
        assert_eq!(next("*/30 8 * * *", "2026-03-27T09:00:00Z", 2), ["2026-03-28 08:00", "2026-03-28 08:30"]);
    }

    #[test]
    fn unix_errors_name_the_field_and_point_at_it() {
        let cases = [
            ("0 25 * * *", 2..4, "hours \"25\" out of range 0-23"),
            ("0 8 * 13 *", 6..8, "month \"13\" out of range 1-12 (JAN-DEC)"),
            ("0 8 * * MON-XYZ", 8..15, "day-of-week \"MON-XYZ\": "),
            ("0 8 * *", 0..7, "pattern must have between 5 and 7 fields"),
        ];
        for (text, at, want) in cases {
            let e = CronExpr::parse(text).unwrap_err();
            assert_eq!(e.at, at, "{text}: {e}");
            assert!(e.message.starts_with(want), "{text}: {e}");
        }
    }

    #[test]
    fn an_expression_keeps_its_text_and_dialect() {
        let e = CronExpr::parse("0 8 * * MON-FRI").unwrap();
        assert_eq!((e.to_string().as_str(), e.dialect()), ("0 8 * * MON-FRI", Dialect::Unix));
        let e = CronExpr::parse("cron(0 8 ? * mon-fri *)").unwrap();
        assert_eq!((e.text(), e.dialect()), ("cron(0 8 ? * mon-fri *)", Dialect::Aws));
    }

    #[test]
    fn a_year_bound_stops_searches_in_both_directions() {
        let e = CronExpr::parse("cron(0 8 1 * ? 2027-2028)").unwrap();
        assert_eq!(e.last_year(), Some(2028));
        assert_eq!(e.latest_at_or_before(utc("2026-06-01T00:00:00Z"), Tz::UTC), None);
        assert_eq!(e.next_after(utc("2029-01-01T00:00:00Z"), Tz::UTC), None);
        assert_eq!(e.occurrences_after(utc("2026-06-01T00:00:00Z"), Tz::UTC).count(), 24);
        assert_eq!(
            e.latest_at_or_before(utc("2040-01-01T00:00:00Z"), Tz::UTC),
            Some(utc("2028-12-01T08:00:00Z"))
        );
    }
}
