//! Operator intent kept in the scaled service's own ECS tags, so it survives restarts and
//! failover, shows in the console, and can be set with `aws ecs tag-resource` as well as with
//! `trimtab pause|resume|override`:
//!
//! | tag | value | meaning |
//! |---|---|---|
//! | `trimtab:paused` | `true` / `false` | `true`: decide and report, change nothing |
//! | `trimtab:override` | `count=N until=TIME [reason=TEXT]` | hold N tasks until TIME (RFC 3339, UTC `Z` or an offset) |
//!
//! ECS tag values may hold letters, digits, spaces and `_ . : / = + - @` only, so the override is
//! words separated by spaces, and the reason (last) runs to the end of the value. A tag that
//! cannot be read is an error naming the tag and its value: the service is reported and left
//! alone, never scaled on a guess.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::types::{ManualOverride, Replicas};

pub const PAUSED_TAG: &str = "trimtab:paused";
pub const OVERRIDE_TAG: &str = "trimtab:override";

/// The most tasks an override may hold (the config's own bound on counts).
pub const MAX_OVERRIDE: u32 = 10_000;

/// ECS's limit on a tag value's length.
pub const MAX_TAG_VALUE: usize = 256;

/// What the operator asked for, read from the tags.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Operator {
    pub paused: bool,
    /// The override as written; whether it is still active is for `now` to say.
    pub manual_override: Option<ManualOverride>,
}

impl Operator {
    /// The override, if it has not expired at `now`.
    pub fn active_override(&self, now: DateTime<Utc>) -> Option<&ManualOverride> {
        self.manual_override.as_ref().filter(|o| o.is_active(now))
    }
}

/// Reads the operator tags among `tags`. Tags of other keys are ignored.
pub fn read(tags: &BTreeMap<String, String>) -> Result<Operator, String> {
    let paused = match tags.get(PAUSED_TAG).map(|v| v.trim().to_ascii_lowercase()) {
        None => false,
        Some(v) if v == "true" => true,
        Some(v) if v == "false" => false,
        Some(_) => {
            let v = &tags[PAUSED_TAG];
            return Err(format!("tag {PAUSED_TAG} = {v:?}: expected true or false"));
        }
    };
    let manual_override = match tags.get(OVERRIDE_TAG) {
        None => None,
        Some(v) => Some(parse_override(v).map_err(|why| format!("tag {OVERRIDE_TAG} = {v:?}: {why}"))?),
    };
    Ok(Operator { paused, manual_override })
}

/// `count=N until=TIME [reason=TEXT]`, words in any order but the reason last.
pub fn parse_override(value: &str) -> Result<ManualOverride, String> {
    let (head, reason) = match value.find("reason=") {
        Some(i) => (&value[..i], value[i + "reason=".len()..].trim()),
        None => (value, ""),
    };
    let (mut count, mut until) = (None, None);
    for word in head.split_whitespace() {
        match word.split_once('=') {
            Some(("count", n)) if count.is_none() => {
                let n: u32 = n.parse().map_err(|_| format!("count {n:?} is not a whole number"))?;
                if n > MAX_OVERRIDE {
                    return Err(format!("count {n} is more than {MAX_OVERRIDE}"));
                }
                count = Some(n);
            }
            Some(("until", t)) if until.is_none() => {
                let at = DateTime::parse_from_rfc3339(t)
                    .map_err(|_| format!("until {t:?} is not a time like 2026-12-08T18:00:00Z"))?;
                until = Some(at.with_timezone(&Utc));
            }
            Some(("count" | "until", _)) => return Err(format!("{word:?} is given twice")),
            _ => return Err(format!("unexpected {word:?}; expected count=N until=TIME [reason=TEXT]")),
        }
    }
    let count = count.ok_or("count=N is missing")?;
    let expires_at = until.ok_or("until=TIME is missing")?;
    Ok(ManualOverride { count: Replicas(count), reason: reason.to_owned(), expires_at })
}

/// The `trimtab:override` value for `o`; the reason is cut to fit the tag and stripped of
/// characters ECS does not take in a tag value.
pub fn format_override(o: &ManualOverride) -> String {
    let head = format!("count={} until={}", o.count.get(), o.expires_at.format("%Y-%m-%dT%H:%M:%SZ"));
    let allowed = |c: &char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(*c);
    let reason: String = o.reason.chars().filter(allowed).collect::<String>().trim().to_owned();
    if reason.is_empty() {
        return head;
    }
    let mut value = format!("{head} reason={reason}");
    while value.len() > MAX_TAG_VALUE {
        value.pop();
    }
    value.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn tags_are_read_as_written() {
        assert_eq!(read(&tags(&[("team", "payments")])), Ok(Operator::default()));
        assert!(read(&tags(&[(PAUSED_TAG, "true")])).unwrap().paused);
        assert!(read(&tags(&[(PAUSED_TAG, " TRUE ")])).unwrap().paused);
        assert!(!read(&tags(&[(PAUSED_TAG, "false")])).unwrap().paused);
        let o = read(&tags(&[(
            OVERRIDE_TAG,
            "count=12 until=2026-12-08T18:00:00+01:00 reason=black friday: launch",
        )]))
        .unwrap()
        .manual_override
        .unwrap();
        assert_eq!(o.count, Replicas(12));
        assert_eq!(o.expires_at, at("2026-12-08T17:00:00Z"));
        assert_eq!(o.reason, "black friday: launch");
        let o = parse_override("until=2026-12-08T18:00:00Z count=0").unwrap();
        assert_eq!((o.count, o.reason.as_str()), (Replicas(0), ""));
    }

    #[test]
    fn a_tag_that_cannot_be_read_says_which_and_why() {
        let cases = [
            (PAUSED_TAG, "yes", "tag trimtab:paused = \"yes\": expected true or false"),
            (
                OVERRIDE_TAG,
                "12",
                "tag trimtab:override = \"12\": unexpected \"12\"; expected count=N until=TIME [reason=TEXT]",
            ),
            (OVERRIDE_TAG, "count=12", "tag trimtab:override = \"count=12\": until=TIME is missing"),
            (
                OVERRIDE_TAG,
                "until=2026-12-08T18:00:00Z",
                "tag trimtab:override = \"until=2026-12-08T18:00:00Z\": count=N is missing",
            ),
            (
                OVERRIDE_TAG,
                "count=-1 until=2026-12-08T18:00:00Z",
                "tag trimtab:override = \"count=-1 until=2026-12-08T18:00:00Z\": count \"-1\" is not a whole number",
            ),
            (
                OVERRIDE_TAG,
                "count=10001 until=2026-12-08T18:00:00Z",
                "tag trimtab:override = \"count=10001 until=2026-12-08T18:00:00Z\": count 10001 is more than 10000",
            ),
            (
                OVERRIDE_TAG,
                "count=3 until=tomorrow",
                "tag trimtab:override = \"count=3 until=tomorrow\": until \"tomorrow\" is not a time like 2026-12-08T18:00:00Z",
            ),
            (
                OVERRIDE_TAG,
                "count=3 count=4 until=2026-12-08T18:00:00Z",
                "tag trimtab:override = \"count=3 count=4 until=2026-12-08T18:00:00Z\": \"count=4\" is given twice",
            ),
        ];
        for (key, value, want) in cases {
            assert_eq!(read(&tags(&[(key, value)])), Err(want.to_owned()), "{key} = {value}");
        }
    }

    #[test]
    fn an_override_expires() {
        let op = read(&tags(&[(OVERRIDE_TAG, "count=5 until=2026-12-08T18:00:00Z")])).unwrap();
        assert!(op.active_override(at("2026-12-08T17:59:59Z")).is_some());
        assert!(op.active_override(at("2026-12-08T18:00:00Z")).is_none());
    }

    #[test]
    fn a_formatted_override_reads_back_and_fits_a_tag() {
        let o = ManualOverride {
            count: Replicas(7),
            reason: "migration (ticket #42), see wiki".into(),
            expires_at: at("2026-12-08T18:00:00Z"),
        };
        let v = format_override(&o);
        assert_eq!(v, "count=7 until=2026-12-08T18:00:00Z reason=migration ticket 42 see wiki");
        assert_eq!(parse_override(&v).unwrap().count, Replicas(7));
        let long = ManualOverride { reason: "x".repeat(400), ..o };
        let v = format_override(&long);
        assert_eq!(v.len(), MAX_TAG_VALUE);
        assert_eq!(parse_override(&v).unwrap().expires_at, at("2026-12-08T18:00:00Z"));
    }
}
