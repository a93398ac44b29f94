//! Human durations in config: `"90s"`, `"5m"`, `"1h30m"`, `"2d"`, `"250ms"`.

use chrono::TimeDelta;

/// Parses a duration, or says what is wrong with it.
pub fn parse(s: &str) -> Result<TimeDelta, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("empty duration; write e.g. \"90s\", \"5m\" or \"1h30m\"".into());
    }
    let mut total = TimeDelta::zero();
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let unit_len = rest[digits..].find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len() - digits);
        let (number, unit) = (&rest[..digits], &rest[digits..digits + unit_len]);
        let n: i64 = number.parse().map_err(|_| bad(s))?;
        total += unit_delta(unit, n).ok_or_else(|| bad(s))?;
        rest = &rest[digits + unit_len..];
    }
    Ok(total)
}

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

fn bad(s: &str) -> String {
    format!(
        "invalid duration {s:?}: expected numbers with units ms, s, m, h or d, e.g. \"90s\", \"5m\", \"1h30m\""
    )
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

    #[test]
    fn rejects_what_is_not_a_duration() {
        for text in ["", "90", "s", "5 min", "1.5h", "-5s", "5x"] {
            assert!(parse(text).is_err(), "{text:?} should be rejected");
        }
    }
}
