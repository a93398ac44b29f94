//! Money in JSON: one unit, US dollars, written as an exact decimal string.
//!
//! Inside trimtab money is an integer of a small unit — [`Money`](super::Money) counts
//! micro-dollars, [`Rate`](super::cost::Rate) pico-dollars per hour — so sums never round. Every
//! JSON document trimtab writes (the API, `--format json`, notifications) shows both the same way,
//! as AWS Cost Explorer does: `"spent_usd": "12.345678"`, a string holding the exact decimal
//! amount of dollars (no float round-trip, trailing zeros trimmed to at least two places), in a
//! field whose name ends in `_usd`. [`format`] writes that text and [`parse`] reads it back to the
//! integer unit, refusing anything it could not hold exactly.
//!
//! The field names are set where each struct is declared (`#[serde(rename = "…_usd")]`); the
//! test `tests/money_json.rs` walks every JSON output and fails on a money value under any other
//! name, or on a `_micros`/`_picos` key.

use serde::de::{self, Deserializer, Visitor};

/// `units` of `10^-places` dollars as an exact decimal: `format(12_345_600, 6) == "12.3456"`,
/// `format(-5, 6) == "-0.000005"`, `format(2_000_000, 6) == "2.00"`.
pub fn format(units: i64, places: u32) -> String {
    let scale = 10u64.pow(places);
    let abs = units.unsigned_abs();
    let sign = if units < 0 { "-" } else { "" };
    let frac = format!("{:0width$}", abs % scale, width = places as usize);
    let frac = frac.trim_end_matches('0');
    format!("{sign}{}.{frac:0<2}", abs / scale)
}

/// The exact decimal `text` (an optional `-`, digits, an optional `.` and at most `places`
/// decimals) as units of `10^-places` dollars; `None` for anything else or out of range.
pub fn parse(text: &str, places: u32) -> Option<i64> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (body, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > places as usize {
        return None;
    }
    let scale = 10i64.pow(places);
    let frac_units: i64 = match frac {
        "" => 0,
        f => format!("{f:0<width$}", width = places as usize).parse().ok()?,
    };
    let abs = whole.parse::<i64>().ok()?.checked_mul(scale)?.checked_add(frac_units)?;
    Some(if negative { -abs } else { abs })
}

/// Reads a dollar string written by [`format`] into units of `10^-places` dollars.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D, places: u32) -> Result<i64, D::Error> {
    struct Dollars(u32);
    impl Visitor<'_> for Dollars {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(
                f,
                "a decimal amount of US dollars as a string, at most {} decimals, e.g. \"12.34\"",
                self.0
            )
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<i64, E> {
            parse(s, self.0).ok_or_else(|| E::invalid_value(de::Unexpected::Str(s), &self))
        }
    }
    d.deserialize_str(Dollars(places))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_exactly_with_at_least_two_decimals() {
        let cases = [
            (0, 6, "0.00"),
            (12_345_678, 6, "12.345678"),
            (12_345_600, 6, "12.3456"),
            (2_000_000, 6, "2.00"),
            (100_000, 6, "0.10"),
            (-5, 6, "-0.000005"),
            (40_480_000_000, 12, "0.04048"),
            (1, 12, "0.000000000001"),
            (i64::MAX, 6, "9223372036854.775807"),
            (i64::MIN, 6, "-9223372036854.775808"),
        ];
        for (units, places, want) in cases {
            assert_eq!(format(units, places), want, "{units} at {places} places");
        }
    }

    #[test]
    fn what_is_written_reads_back_to_the_same_units() {
        for units in [0, 1, -1, 7, 999_999, 1_000_000, 123_456_789_012, i64::MAX, i64::MIN + 1] {
            for places in [6, 12] {
                assert_eq!(parse(&format(units, places), places), Some(units), "{units} at {places}");
            }
        }
        assert_eq!(parse("12", 6), Some(12_000_000));
        assert_eq!(parse("0.5", 12), Some(500_000_000_000));
    }

    #[test]
    fn anything_but_an_exact_decimal_is_refused() {
        for bad in
            ["", "-", ".5", "1.", "1.2345678", "1e3", "+1", " 1", "1,5", "NaN", "99999999999999.0", "--1"]
        {
            assert_eq!(parse(bad, 6), None, "{bad:?}");
        }
    }
}
