//! Human durations in config: `"90s"`, `"5m"`, `"1h30m"`, `"2d"`, `"250ms"`.
//!
//! Every duration written as text outside the process (config, CLI flags, API bodies) comes
//! through [`parse`], which never overflows and caps the result at [`MAX`]: far beyond any
//! setting's own bound, and far enough inside chrono's range that `now ± duration` can never
//! panic. (The pool API also takes a `ttl` as a number of seconds, capped by its own bound.)

use chrono::TimeDelta;

/// The longest duration anything accepts: 100 years.
pub const MAX: TimeDelta = TimeDelta::days(36_500);

/// What is wrong with a duration; the text is the one written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration; write e.g. \"90s\", \"5m\" or \"1h30m\"")]
    Empty,
    #[error(
        "invalid duration {0:?}: expected numbers with units ms, s, m, h or d, e.g. \"90s\", \"5m\", \"1h30m\""
    )]
    Malformed(String),
    /// Longer than [`MAX`]: a setting with a tighter bound may say its own range instead.
    #[error("duration {0:?} is too long: at most 36500d (100 years)")]
    TooLong(String),
}

/// Parses a duration, or says what is wrong with it.
pub fn parse(s: &str) -> Result<TimeDelta, DurationError> {
    let text = s.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total = TimeDelta::zero();
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let unit_len = rest[digits..].find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len() - digits);
        let (number, unit) = (&rest[..digits], &rest[digits..digits + unit_len]);
        let n: i64 = number.parse().map_err(|_| too_long_or_bad(s, number))?;
        if !UNITS.contains(&unit) {
            return Err(bad(s));
        }
        let part = unit_delta(unit, n).ok_or_else(|| too_long(s))?;
        total = total.checked_add(&part).filter(|t| *t <= MAX).ok_or_else(|| too_long(s))?;
        rest = &rest[digits + unit_len..];
    }
    Ok(total)
}

/// A number too large for any unit is a duration too long; anything else is malformed.
fn too_long_or_bad(s: &str, number: &str) -> DurationError {
    let digits = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    if digits { too_long(s) } else { bad(s) }
}

fn too_long(s: &str) -> DurationError {
    DurationError::TooLong(s.to_owned())
}

const UNITS: [&str; 5] = ["ms", "s", "m", "h", "d"];

fn unit_delta(unit: &str, n: i64) -> Option<TimeDelta> {
    match unit {
        "ms" => TimeDelta::try_milliseconds(n),
        "s" => TimeDelta::try_seconds(n),
        "m" => TimeDelta::try_minutes(n),
        "h" => TimeDelta::try_hours(n),
        "d" => TimeDelta::try_days(n),
        _ => None,
    }
}

fn bad(s: &str) -> DurationError {
    DurationError::Malformed(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        let cases = [
            ("90s", 90_000),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("2d", 172_800_000),
            ("250ms", 250),
            ("0s", 0),
        ];
        for (text, ms) in cases {
            assert_eq!(parse(text).unwrap().num_milliseconds(), ms, "{text}");
        }
    }

    /// Issue 14, defect 2: this overflowed chrono's arithmetic and panicked `check`, the pool
    /// API and `explain`.
    #[test]
    fn absurd_durations_are_an_error_not_a_panic() {
        for text in [
            "100000000000d100000000000d",
            "99999999999999999999s",
            "36501d",
            "36500d1ms",
            "9223372036854775807ms",
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains("too long: at most 36500d (100 years)"), "{text}: {e}");
        }
        assert_eq!(parse("36500d"), Ok(MAX));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for text in ["", "90", "s", "5 min", "1.5h", "-5s", "5x"] {
            assert!(parse(text).is_err(), "{text:?} should be rejected");
        }
    }
}
