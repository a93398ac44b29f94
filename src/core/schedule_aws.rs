//! AWS's cron form, `cron(minutes hours day-of-month month day-of-week year)`, read verbatim.
//!
//! Application Auto Scaling and EventBridge document the same six fields (Application Auto
//! Scaling also takes a seventh, leading seconds field):
//!
//! | field | values | wildcards |
//! |---|---|---|
//! | minutes | 0-59 | `, - * /` |
//! | hours | 0-23 | `, - * /` |
//! | day-of-month | 1-31 | `, - * ? / L W` |
//! | month | 1-12 or JAN-DEC | `, - * /` |
//! | day-of-week | 1-7 or SUN-SAT | `, - * ? L #` |
//! | year | 1970-2199 | `, - * /` |
//!
//! and these rules, which differ from Unix cron: day-of-week counts 1-7 from **Sunday**; one of
//! day-of-month and day-of-week must be `?` (AWS rejects `*` in both); `N/step` runs from N to the
//! field's end; a range may wrap past the end (`20-2` is 20:00 through 02:59, `FRI-MON`), except
//! in the year. The letters: day-of-month `L` is the month's last day, `LW` its last weekday and
//! `15W` the weekday nearest the 15th, never leaving the month; day-of-week `L` alone is the week's
//! last day (SAT), `6L` the month's last FRI and `2#1` its first MON. With `L`, `W` or `#` the
//! field holds that one expression only (AWS: "3#1,6#3" is not valid).
//!
//! Each field is checked on its own and reported with its name and range; then the whole is
//! translated into a 7-field croner pattern (seconds, ..., year) in which every list is spelt
//! out as numbers, so croner sees no names, no wrapped ranges and no `N/step`, and reads
//! day-of-week in its Quartz mode (1 = SUN). The year field's first and last years become the
//! expression's search bounds.

use std::ops::Range;

use croner::parser::{CronParser, Seconds, Year};

use super::schedule_expr::{CronExpr, Dialect, ExprError, Field, Token, tokens};

/// AWS's range of years.
pub const YEARS: (u16, u16) = (1970, 2199);

/// The fields, with Application Auto Scaling's optional leading seconds.
pub(super) const FIELDS: [Field; 7] = [
    Field::Seconds,
    Field::Minutes,
    Field::Hours,
    Field::DayOfMonth,
    Field::Month,
    Field::DayOfWeek,
    Field::Year,
];

const MONTHS: [&str; 12] =
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Whether `text` is written in AWS's `cron(...)` form.
pub fn is_aws(text: &str) -> bool {
    text.trim_start().get(..5).is_some_and(|p| p.eq_ignore_ascii_case("cron("))
}

/// What one field selects.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Spec {
    /// `?`: no restriction from this field (the other day field decides).
    Any,
    /// `*`.
    Every,
    /// Plain values, sorted, without repeats.
    Values(Vec<u16>),
    /// Day-of-month `L`.
    LastDay,
    /// Day-of-month `LW`.
    LastWeekday,
    /// Day-of-month `15W`.
    NearestWeekday(u16),
    /// Day-of-week `6L`: the month's last such day.
    LastOf(u16),
    /// Day-of-week `2#1`: the month's nth such day.
    Nth(u16, u16),
}

/// Parses `cron(...)`; `text` must satisfy [`is_aws`].
pub fn parse(text: &str) -> Result<CronExpr, ExprError> {
    let (inner, base) = unwrap(text)?;
    let fields = tokens(inner, base);
    let layout = layout(&fields, text)?;
    let specs: Vec<Spec> = fields.iter().zip(layout).map(|(t, f)| spec(t, *f)).collect::<Result<_, _>>()?;
    let day = |f| layout.iter().position(|l| *l == f).expect("both day fields are in every layout");
    let (dom, dow) = (day(Field::DayOfMonth), day(Field::DayOfWeek));
    day_fields(text, (&fields[dom], &specs[dom]), (&fields[dow], &specs[dow]))?;
    let pattern = render(&specs, layout);
    let cron = CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .alternative_weekdays(true)
        .build()
        .parse(&pattern)
        .map_err(|e| {
            ExprError::new(0..text.len(), format!("croner rejects the translation {pattern:?}: {e}"))
        })?;
    let years = year_bounds(specs.last().expect("the year is the last field"));
    Ok(CronExpr::from_parts(text, Dialect::Aws, cron, Some(years)))
}

/// The text between `cron(` and `)`, and its byte offset.
fn unwrap(text: &str) -> Result<(&str, usize), ExprError> {
    let start = text.len() - text.trim_start().len() + "cron(".len();
    let Some(close) = text.rfind(')').filter(|c| *c >= start) else {
        return Err(ExprError::new(text.len()..text.len(), "cron( has no closing )"));
    };
    let rest = &text[close + 1..];
    if !rest.trim().is_empty() {
        let at = close + 1 + (rest.len() - rest.trim_start().len());
        return Err(ExprError::new(at..text.trim_end().len(), "unexpected text after cron(...)"));
    }
    Ok((&text[start..close], start))
}

fn layout(fields: &[Token<'_>], text: &str) -> Result<&'static [Field], ExprError> {
    match fields.len() {
        6 => Ok(&FIELDS[1..]),
        7 => Ok(&FIELDS),
        n => {
            let hint = if n == 5 { "; add the year field (* for every year)" } else { "" };
            let msg = format!(
                "cron(...) takes 6 fields (minutes hours day-of-month month day-of-week year), found {n}{hint}"
            );
            Err(ExprError::new(0..text.len(), msg))
        }
    }
}

fn spec(t: &Token<'_>, f: Field) -> Result<Spec, ExprError> {
    let s = t.text.to_ascii_uppercase();
    match s.as_str() {
        "?" if matches!(f, Field::DayOfMonth | Field::DayOfWeek) => Ok(Spec::Any),
        "*" => Ok(Spec::Every),
        _ if f == Field::DayOfMonth && s.contains(['L', 'W']) => dom_letters(t, &s),
        _ if f == Field::DayOfWeek && (s == "L" || s.ends_with('L') || s.contains('#')) => dow_letters(t, &s),
        _ => list(t, f, &s).map(Spec::Values),
    }
}

fn dom_letters(t: &Token<'_>, s: &str) -> Result<Spec, ExprError> {
    match s {
        "L" => return Ok(Spec::LastDay),
        "LW" => return Ok(Spec::LastWeekday),
        _ => {}
    }
    let day = s.strip_suffix('W').filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    match day {
        Some(d) => Ok(Spec::NearestWeekday(value(t, t.at.clone(), Field::DayOfMonth, d)?)),
        None => Err(ExprError::new(
            t.at.clone(),
            format!(
                "day-of-month \"{}\": L and W stand alone; write L (last day), LW (last weekday) or one \
                 day such as 15W (the weekday nearest the 15th)",
                t.text
            ),
        )),
    }
}

fn dow_letters(t: &Token<'_>, s: &str) -> Result<Spec, ExprError> {
    if s.contains([',', '-', '/']) {
        let msg = format!(
            "day-of-week \"{}\": with L or # the field takes that one expression only (\"3#1,6#3\" is not \
             valid); use one window per day",
            t.text
        );
        return Err(ExprError::new(t.at.clone(), msg));
    }
    if s == "L" {
        return Ok(Spec::Values(vec![7])); // the last day of the week: Saturday
    }
    if let Some(day) = s.strip_suffix('L') {
        return Ok(Spec::LastOf(value(t, t.at.clone(), Field::DayOfWeek, day)?));
    }
    let (day, nth) = s.split_once('#').expect("spec sends only L or # here");
    let day = value(t, t.at.clone(), Field::DayOfWeek, day)?;
    match nth.parse::<u16>() {
        Ok(n @ 1..=5) => Ok(Spec::Nth(day, n)),
        _ => Err(ExprError::new(
            t.at.clone(),
            format!("day-of-week \"{}\": the number after # counts weeks, 1-5", t.text),
        )),
    }
}

/// A comma-separated list of values, ranges and steps.
fn list(t: &Token<'_>, f: Field, s: &str) -> Result<Vec<u16>, ExprError> {
    let mut out = Vec::new();
    let mut offset = 0;
    for part in s.split(',') {
        let at = t.at.start + offset..t.at.start + offset + part.len();
        offset += part.len() + 1;
        out.extend(item(t, at, f, part)?);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// `*`, `a`, `a-b`, each optionally `/step`.
fn item(t: &Token<'_>, at: Range<usize>, f: Field, s: &str) -> Result<Vec<u16>, ExprError> {
    let (lo, hi) = bounds(f);
    let (base, step) = match s.split_once('/') {
        Some((base, step)) => (base, Some(step_of(t, at.clone(), f, step)?)),
        None => (s, None),
    };
    let (start, end) = match base.split_once('-') {
        _ if base == "*" => (lo, hi),
        Some((a, b)) => (value(t, at.clone(), f, a)?, value(t, at.clone(), f, b)?),
        None => {
            let v = value(t, at.clone(), f, base)?;
            (v, if step.is_some() { hi } else { v })
        }
    };
    if start > end && f == Field::Year {
        let msg = format!("year range \"{s}\" runs backwards; write {end}-{start}");
        return Err(ExprError::new(at, msg));
    }
    Ok(walk(start, end, (lo, hi)).step_by(step.unwrap_or(1).into()).collect())
}

/// `start` to `end` in a field of `lo..=hi`, wrapping past `hi` when `end < start`.
fn walk(start: u16, end: u16, (lo, hi): (u16, u16)) -> impl Iterator<Item = u16> {
    let wraps = end < start;
    (start..=if wraps { hi } else { end }).chain(wraps.then_some(lo..=end).into_iter().flatten())
}

fn step_of(t: &Token<'_>, at: Range<usize>, f: Field, s: &str) -> Result<u16, ExprError> {
    if f == Field::DayOfWeek {
        let msg = "day-of-week takes no / in AWS cron (its wildcards are , - * ? L #); list the days instead, \
                   e.g. 2,4,6";
        return Err(ExprError::new(t.at.clone(), msg));
    }
    let (lo, hi) = bounds(f);
    match s.parse::<u16>() {
        Ok(n) if n >= 1 && n <= hi - lo + 1 => Ok(n),
        _ => {
            let msg = format!("{} step \"{s}\" must be a whole number from 1 to {}", f.name(), hi - lo + 1);
            Err(ExprError::new(at, msg))
        }
    }
}

/// One value: a number or, in month and day-of-week, a name.
fn value(t: &Token<'_>, at: Range<usize>, f: Field, s: &str) -> Result<u16, ExprError> {
    let (lo, hi) = bounds(f);
    let named = match f {
        Field::Month => MONTHS.iter().position(|m| *m == s),
        Field::DayOfWeek => WEEKDAYS.iter().position(|d| *d == s),
        _ => None,
    };
    if let Some(i) = named {
        return Ok(u16::try_from(i).expect("a name's index is small") + 1);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ExprError::new(at, unreadable(t, f, s)));
    }
    match s.parse::<u16>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(ExprError::new(at, format!("{} \"{s}\" out of range {lo}-{hi}{}", f.name(), names(f)))),
    }
}

/// Why `s` is not a value of `f`, with what the field does take.
fn unreadable(t: &Token<'_>, f: Field, s: &str) -> String {
    let allowed = match f {
        Field::DayOfMonth => "numbers and , - * ? / L W",
        Field::DayOfWeek => "numbers 1-7 (SUN-SAT), names and , - * ? L #",
        Field::Month => "numbers 1-12, names JAN-DEC and , - * /",
        _ => "numbers and , - * /",
    };
    let what = if s.is_empty() { "an empty value".to_owned() } else { format!("\"{s}\"") };
    format!("{} \"{}\": cannot read {what}; this field takes {allowed}", f.name(), t.text)
}

fn bounds(f: Field) -> (u16, u16) {
    match f {
        Field::Seconds | Field::Minutes => (0, 59),
        Field::Hours => (0, 23),
        Field::DayOfMonth => (1, 31),
        Field::Month => (1, 12),
        Field::DayOfWeek => (1, 7),
        Field::Year => YEARS,
    }
}

fn names(f: Field) -> &'static str {
    match f {
        Field::Month => " (JAN-DEC)",
        Field::DayOfWeek => " (SUN-SAT)",
        _ => "",
    }
}

/// AWS's rule: exactly one of the two day fields is `?`.
fn day_fields(text: &str, dom: (&Token<'_>, &Spec), dow: (&Token<'_>, &Spec)) -> Result<(), ExprError> {
    let with = |t: &Token<'_>, s: &str| format!("{}{s}{}", &text[..t.at.start], &text[t.at.end..]);
    let (at, message) = match (dom.1, dow.1) {
        (Spec::Any, Spec::Any) => {
            let fix = with(dom.0, "*");
            (
                dow.0,
                format!(
                    "day-of-month and day-of-week are both ?; one of them must say which days, e.g. {fix}"
                ),
            )
        }
        (Spec::Any, _) | (_, Spec::Any) => return Ok(()),
        (Spec::Every, Spec::Every) => {
            let fix = with(dow.0, "?");
            (
                dow.0,
                format!("AWS rejects * in both day-of-month and day-of-week; use ? in one of them: {fix}"),
            )
        }
        (Spec::Every, _) => {
            let fix = with(dom.0, "?");
            let msg = format!(
                "day-of-month is * and day-of-week \"{}\" is set, which AWS rejects; use ? in day-of-month \
                 when day-of-week is set: {fix}",
                dow.0.text
            );
            (dom.0, msg)
        }
        (_, Spec::Every) => {
            let fix = with(dow.0, "?");
            let msg = format!(
                "day-of-week is * and day-of-month \"{}\" is set, which AWS rejects; use ? in day-of-week \
                 when day-of-month is set: {fix}",
                dom.0.text
            );
            (dow.0, msg)
        }
        _ => {
            let fix = with(dow.0, "?");
            let msg = format!(
                "day-of-month \"{}\" and day-of-week \"{}\" are both set, which AWS rejects; use ? in \
                 day-of-week when day-of-month is set ({fix}), or ? in day-of-month",
                dom.0.text, dow.0.text
            );
            (dow.0, msg)
        }
    };
    Err(ExprError::new(at.at.clone(), message))
}

/// The 7-field croner pattern, every list spelt out in numbers.
fn render(specs: &[Spec], layout: &[Field]) -> String {
    let mut fields: Vec<String> = specs.iter().zip(layout).map(|(s, f)| field(s, *f)).collect();
    if layout.len() == 6 {
        fields.insert(0, "0".into());
    }
    fields.join(" ")
}

fn field(s: &Spec, f: Field) -> String {
    match s {
        Spec::Every if f == Field::Year => format!("{}-{}", YEARS.0, YEARS.1),
        Spec::Any | Spec::Every => "*".into(),
        Spec::Values(v) => runs(v),
        Spec::LastDay => "L".into(),
        Spec::LastWeekday => "LW".into(),
        Spec::NearestWeekday(d) => format!("{d}W"),
        Spec::LastOf(d) => format!("{d}#L"),
        Spec::Nth(d, n) => format!("{d}#{n}"),
    }
}

/// Sorted values as a croner list, runs of three or more as ranges: `1-5,7`.
fn runs(v: &[u16]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        match j - i {
            0 => out.push(v[i].to_string()),
            1 => out.extend([v[i].to_string(), v[j].to_string()]),
            _ => out.push(format!("{}-{}", v[i], v[j])),
        }
        i = j + 1;
    }
    out.join(",")
}

fn year_bounds(s: &Spec) -> (i32, i32) {
    match s {
        Spec::Values(v) if !v.is_empty() => (v[0].into(), v[v.len() - 1].into()),
        _ => (YEARS.0.into(), YEARS.1.into()),
    }
}

#[cfg(test)]
#[path = "schedule_docs_tests.rs"]
mod docs;

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> String {
        let fields = tokens(&text[5..text.len() - 1], 5);
        let layout = layout(&fields, text).unwrap();
        let specs: Vec<Spec> = fields.iter().zip(layout).map(|(t, f)| spec(t, *f).unwrap()).collect();
        render(&specs, layout)
    }

    fn error(text: &str) -> (String, String) {
        let e = CronExpr::parse(text).unwrap_err();
        (text[e.at.clone()].to_owned(), e.message)
    }

    #[test]
    fn fields_translate_into_plain_numbered_croner_lists() {
        let cases = [
            ("cron(0/15 * * * ? *)", "0 0,15,30,45 * * * * 1970-2199"),
            ("cron(0/5 8-17 ? * MON-FRI *)", "0 0,5,10,15,20,25,30,35,40,45,50,55 8-17 * * 2-6 1970-2199"),
            ("cron(0/30 20-2 ? * FRI-MON 2026)", "0 0,30 0-2,20-23 * * 1,2,6,7 2026"),
            ("cron(1/10 * * NOV-FEB ? 2020-2030/5)", "0 1,11,21,31,41,51 * * 1,2,11,12 * 2020,2025,2030"),
            ("cron(0 9 ? * 2#1 *)", "0 0 9 * * 2#1 1970-2199"),
            ("cron(15 10 ? * 6L 2019-2022)", "0 15 10 * * 6#L 2019-2022"),
            ("cron(0 8 L * ? *)", "0 0 8 L * * 1970-2199"),
            ("cron(0 8 LW * ? *)", "0 0 8 LW * * 1970-2199"),
            ("cron(0 8 15w * ? *)", "0 0 8 15W * * 1970-2199"),
            ("cron(0 8 ? * L *)", "0 0 8 * * 7 1970-2199"),
            ("cron(30 0 8 1,15 * ? *)", "30 0 8 1,15 * * 1970-2199"),
            ("cron(0 20-2/2 ? * sun,SAT *)", "0 0 0,2,20,22 * * 1,7 1970-2199"),
        ];
        for (text, want) in cases {
            assert_eq!(pattern(text), want, "{text}");
        }
    }

    #[test]
    fn wrapping_a_step_continues_across_the_end() {
        // 22-3/2 in hours: 22, 0, 2 (Quartz counts the step across the wrap).
        assert_eq!(walk(22, 3, (0, 23)).step_by(2).collect::<Vec<_>>(), [22, 0, 2]);
        assert_eq!(walk(3, 3, (0, 23)).collect::<Vec<_>>(), [3]);
        assert_eq!(walk(1, 7, (1, 7)).count(), 7);
    }

    #[test]
    fn errors_name_the_field_say_its_range_and_point_at_it() {
        let cases = [
            ("cron(0 8 ? * 8 *)", "8", "day-of-week \"8\" out of range 1-7 (SUN-SAT)"),
            ("cron(0 8 ? * 0 *)", "0", "day-of-week \"0\" out of range 1-7 (SUN-SAT)"),
            ("cron(60 8 * * ? *)", "60", "minutes \"60\" out of range 0-59"),
            ("cron(0 24 * * ? *)", "24", "hours \"24\" out of range 0-23"),
            ("cron(0 8 32 * ? *)", "32", "day-of-month \"32\" out of range 1-31"),
            ("cron(0 8 1 13 ? *)", "13", "month \"13\" out of range 1-12 (JAN-DEC)"),
            ("cron(0 8 1 * ? 1969)", "1969", "year \"1969\" out of range 1970-2199"),
            ("cron(0 8 1 * ? 2200)", "2200", "year \"2200\" out of range 1970-2199"),
            (
                "cron(0 8 1 * ? 2022-2019)",
                "2022-2019",
                "year range \"2022-2019\" runs backwards; write 2019-2022",
            ),
            ("cron(0 8 1 JAM ? *)", "JAM", "month \"JAM\": cannot read \"JAM\""),
            ("cron(0 8 ? * MON/2 *)", "MON/2", "day-of-week takes no / in AWS cron"),
            ("cron(0/0 8 * * ? *)", "0/0", "minutes step \"0\" must be a whole number from 1 to 60"),
            ("cron(0 8 ? * 3#1,6#3 *)", "3#1,6#3", "day-of-week \"3#1,6#3\": with L or # the field"),
            ("cron(0 8 ? * 2#6 *)", "2#6", "day-of-week \"2#6\": the number after # counts weeks, 1-5"),
            ("cron(0 8 L-3 * ? *)", "L-3", "day-of-month \"L-3\": L and W stand alone"),
            ("cron(0 8 1,15W * ? *)", "1,15W", "day-of-month \"1,15W\": L and W stand alone"),
            ("cron(0 L * * ? *)", "L", "hours \"L\": cannot read \"L\""),
            ("cron(0 8 ? * MON *", "", "cron( has no closing )"),
            ("cron(0 8 ? * MON *) x", "x", "unexpected text after cron(...)"),
        ];
        assert_errors(&cases);
    }

    #[test]
    fn one_day_field_must_be_a_question_mark_and_the_message_says_which() {
        let cases = [
            (
                "cron(0 8 * * * *)",
                "*",
                "AWS rejects * in both day-of-month and day-of-week; use ? in one of them: cron(0 8 * * ? *)",
            ),
            (
                "cron(0 8 * * MON-FRI *)",
                "*",
                "day-of-month is * and day-of-week \"MON-FRI\" is set, which AWS rejects; use ? in day-of-month when day-of-week is set: cron(0 8 ? * MON-FRI *)",
            ),
            (
                "cron(0 8 1 * * *)",
                "*",
                "day-of-week is * and day-of-month \"1\" is set, which AWS rejects; use ? in day-of-week when day-of-month is set: cron(0 8 1 * ? *)",
            ),
            (
                "cron(0 8 1 * MON *)",
                "MON",
                "day-of-month \"1\" and day-of-week \"MON\" are both set, which AWS rejects; use ? in day-of-week when day-of-month is set (cron(0 8 1 * ? *)), or ? in day-of-month",
            ),
            (
                "cron(0 8 ? * ? *)",
                "?",
                "day-of-month and day-of-week are both ?; one of them must say which days, e.g. cron(0 8 * * ? *)",
            ),
            // The older Application Auto Scaling page's example, `30 6 * * 2 *`, breaks this rule;
            // the page now shows `30 6 ? * MON *`.
            ("cron(30 6 * * 2 *)", "*", "day-of-month is * and day-of-week \"2\" is set"),
        ];
        assert_errors(&cases);
    }

    /// Each `(expression, the part pointed at, the start of the message)`.
    fn assert_errors(cases: &[(&str, &str, &str)]) {
        for (text, at, want) in cases {
            let (got_at, got) = error(text);
            assert!(got.starts_with(want), "{text}: {got}");
            assert_eq!(got_at, *at, "{text}: {got}");
        }
    }

    #[test]
    fn field_counts_other_than_six_or_seven_are_explained() {
        let (_, got) = error("cron(0 8 ? * MON)");
        assert_eq!(
            got,
            "cron(...) takes 6 fields (minutes hours day-of-month month day-of-week year), found 5; add the \
             year field (* for every year)"
        );
    }
}
