//! One-off openings in AWS's form, `at(yyyy-mm-ddThh:mm:ss)`, read as wall-clock time in the
//! window's time zone, as Application Auto Scaling reads it with `--timezone` (UTC without one).
//!
//! A wall-clock time can name no instant or two. **In a spring-forward gap** (02:30 on the night
//! Europe/Berlin skips from 02:00 to 03:00) the time does not exist: that is an error, and the
//! message offers the wall-clock time the same instant has after the jump. **In a fall-back
//! overlap** (02:30 on the night the clocks go from 03:00 back to 02:00) the time happens twice:
//! the window opens once, at the earlier instant, as a fixed-time cron window does.
//!
//! The hour may have one digit: AWS itself lists `at(2020-12-08T9:36:00)` among its described
//! scheduled actions. Every other part has its fixed width.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::schedule_expr::ExprError;

/// Whether `text` is written in AWS's `at(...)` form.
pub fn is_at(text: &str) -> bool {
    text.trim_start().get(..3).is_some_and(|p| p.eq_ignore_ascii_case("at("))
}

const FORM: &str = "write at(yyyy-mm-ddThh:mm:ss), e.g. at(2026-12-24T18:00:00)";

/// The wall-clock time in `at(...)`; `text` must satisfy [`is_at`].
pub fn parse(text: &str) -> Result<NaiveDateTime, ExprError> {
    let start = text.len() - text.trim_start().len() + "at(".len();
    let end = text.trim_end().len();
    let Some(inner) = text[start..end].strip_suffix(')') else {
        return Err(ExprError::new(end..end, "at( has no closing )"));
    };
    let whole = start..start + inner.len();
    let (date, time) = inner.split_once('T').ok_or_else(|| ExprError::new(whole.clone(), FORM))?;
    let date_at = start..start + date.len();
    let time_at = date_at.end + 1..whole.end;
    let [y, m, d] =
        numbers(date, '-', [4..=4, 2..=2, 2..=2]).ok_or_else(|| ExprError::new(date_at.clone(), FORM))?;
    let [h, mi, s] =
        numbers(time, ':', [1..=2, 2..=2, 2..=2]).ok_or_else(|| ExprError::new(time_at.clone(), FORM))?;
    let Some(date) = NaiveDate::from_ymd_opt(y.cast_signed(), m, d) else {
        return Err(ExprError::new(date_at, format!("{date} is not a calendar date")));
    };
    let Some(time) = NaiveTime::from_hms_opt(h, mi, s) else {
        return Err(ExprError::new(
            time_at,
            format!("{time} is not a time of day (hh 0-23, mm and ss 0-59)"),
        ));
    };
    Ok(date.and_time(time))
}

/// Three `sep`-separated numbers whose digit counts lie in `widths`.
fn numbers(s: &str, sep: char, widths: [std::ops::RangeInclusive<usize>; 3]) -> Option<[u32; 3]> {
    let parts: Vec<&str> = s.split(sep).collect();
    let [a, b, c] = parts.as_slice() else { return None };
    let mut out = [0; 3];
    for (i, (p, w)) in [a, b, c].into_iter().zip(widths).enumerate() {
        if !w.contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out[i] = p.parse().ok()?;
    }
    Some(out)
}

/// A wall-clock time that does not exist in its zone.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{} does not exist in {tz}: the clocks jump forward over it (daylight saving time); the same instant \
     reads {} on the clock, so write at({1}) or a time outside the gap",
    aws(local),
    aws(instead)
)]
pub struct InGap {
    pub local: NaiveDateTime,
    pub tz: Tz,
    /// The wall-clock reading, after the jump, of the instant `local` would be at the old offset.
    pub instead: NaiveDateTime,
}

/// A wall-clock time as `at(...)` spells it.
fn aws(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// The instant `local` names in `tz`: the earlier of two in a fall-back overlap, none in a gap.
pub fn resolve(local: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, InGap> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Ok(earlier.with_timezone(&Utc)),
        LocalResult::None => Err(InGap { local, tz, instead: after_gap(local, tz) }),
    }
}

/// `local` read at the offset in force a day before, then shown on the clock after the jump.
fn after_gap(local: NaiveDateTime, tz: Tz) -> NaiveDateTime {
    let day_before = local - TimeDelta::days(1);
    let offset = tz.offset_from_utc_datetime(&day_before);
    let instant = local - TimeDelta::seconds(offset.fix().local_minus_utc().into());
    tz.from_utc_datetime(&instant).naive_local()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    #[test]
    fn reads_the_at_form_and_its_one_digit_hour() {
        assert_eq!(parse("at(2021-03-31T22:00:00)"), Ok(naive("2021-03-31T22:00:00")));
        assert_eq!(parse(" at(2020-12-08T9:36:00) "), Ok(naive("2020-12-08T09:36:00")));
        assert!(is_at("at(2020-12-08T9:36:00)") && !is_at("2026-12-24T18:00:00Z"));
    }

    #[test]
    fn rejects_other_spellings_and_points_at_the_part() {
        let cases = [
            ("at(2021-03-31 22:00:00)", "2021-03-31 22:00:00", "write at(yyyy-mm-ddThh:mm:ss)"),
            ("at(2021-3-31T22:00:00)", "2021-3-31", "write at(yyyy-mm-ddThh:mm:ss)"),
            ("at(2021-03-31T22:00)", "22:00", "write at(yyyy-mm-ddThh:mm:ss)"),
            ("at(2021-02-30T22:00:00)", "2021-02-30", "2021-02-30 is not a calendar date"),
            ("at(2021-03-31T24:00:00)", "24:00:00", "24:00:00 is not a time of day"),
            ("at(2021-03-31T22:00:00", "", "at( has no closing )"),
        ];
        for (text, at, want) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(&text[e.at.clone()], at, "{text}");
            assert!(e.message.starts_with(want), "{text}: {e}");
        }
    }

    #[test]
    fn a_time_in_the_spring_gap_is_an_error_that_offers_the_time_after_it() {
        let e = resolve(naive("2026-03-29T02:30:00"), chrono_tz::Europe::Berlin).unwrap_err();
        assert_eq!(e.instead, naive("2026-03-29T03:30:00"));
        assert_eq!(
            e.to_string(),
            "2026-03-29T02:30:00 does not exist in Europe/Berlin: the clocks jump forward over it (daylight \
             saving time); the same instant reads 2026-03-29T03:30:00 on the clock, so write \
             at(2026-03-29T03:30:00) or a time outside the gap"
        );
    }

    #[test]
    fn a_time_in_the_fall_back_overlap_is_the_earlier_instant() {
        // 02:30 happens at 00:30Z (CEST, +02:00) and again at 01:30Z (CET, +01:00).
        let t = resolve(naive("2026-10-25T02:30:00"), chrono_tz::Europe::Berlin).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-10-25T00:30:00+00:00");
    }
}
