//! `[protection]`: ECS task scale-in protection while the task is busy.

use chrono::TimeDelta;

use super::{Keys, Limit};
use crate::config::error::Problems;
use crate::config::model::ProtectionConfig;
use crate::config::raw::RawProtection;

/// ECS protects a task for 1 minute to 48 hours; its own default is 2 hours.
const LEAST_EXPIRY: Limit = Limit(TimeDelta::minutes(1), "1m");
const MOST_EXPIRY: Limit = Limit(TimeDelta::hours(48), "48h");
use crate::config::defaults::protection::{EXPIRES as DEFAULT_EXPIRES, GRACE as DEFAULT_GRACE};
/// A task idle for longer than this is not busy.
const MOST_GRACE: Limit = Limit(TimeDelta::hours(1), "1h");

pub fn protection(raw: Option<&RawProtection>, p: &mut Problems) -> Option<ProtectionConfig> {
    let raw = raw.cloned().unwrap_or_default();
    let mut k = Keys { path: "protection".into(), p };
    let expires =
        k.duration_between("expires", raw.expires.as_deref(), DEFAULT_EXPIRES, LEAST_EXPIRY, MOST_EXPIRY);
    let expires = expires.filter(|d| {
        let whole = d.num_seconds() % 60 == 0 && d.subsec_nanos() == 0;
        if !whole {
            k.problem("expires", "must be whole minutes (ECS protects a task for ExpiresInMinutes)");
        }
        whole
    });
    let grace = k.duration("grace", raw.grace.as_deref(), DEFAULT_GRACE, MOST_GRACE);
    let busy_url = match raw.busy_url {
        Some(u) if !(u.starts_with("http://") && u.len() > "http://".len()) => {
            k.problem(
                "busy_url",
                format!("{u:?} is not an http:// URL (the app's busy endpoint, e.g. \"http://127.0.0.1:8080/busy\")"),
            );
            return None;
        }
        other => other,
    };
    Some(ProtectionConfig {
        enabled: raw.enabled.unwrap_or(crate::config::defaults::protection::ENABLED),
        expires: expires?,
        grace: grace?,
        busy_url,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::from_str;

    fn problems(toml: &str) -> Vec<String> {
        let e = from_str("t.toml", toml).unwrap_err();
        e.diagnostics()
            .iter()
            .map(|d| format!("{}: {}", d.path.clone().unwrap_or_default(), d.message))
            .collect()
    }

    #[test]
    fn defaults_are_off_two_hours_and_thirty_seconds() {
        let c = from_str("t.toml", "").unwrap().protection;
        assert_eq!(
            (c.enabled, c.expires.num_minutes(), c.grace.num_seconds(), c.busy_url),
            (false, 120, 30, None)
        );
        let c = from_str(
            "t.toml",
            "[protection]\nenabled = true\nexpires = \"45m\"\ngrace = \"0s\"\nbusy_url = \"http://127.0.0.1:8080/busy\"\n",
        )
        .unwrap()
        .protection;
        assert_eq!((c.enabled, c.expires.num_minutes(), c.grace.num_seconds()), (true, 45, 0));
        assert_eq!(c.busy_url.as_deref(), Some("http://127.0.0.1:8080/busy"));
    }

    #[test]
    fn every_bad_key_is_named() {
        let got = problems("[protection]\nexpires = \"49h\"\ngrace = \"2h\"\nbusy_url = \"ftp://x\"\n");
        assert_eq!(
            got,
            [
                "protection.expires: must be from 1m to 48h, got \"49h\"",
                "protection.grace: must be between 0s and 1h, got \"2h\"",
                "protection.busy_url: \"ftp://x\" is not an http:// URL (the app's busy endpoint, e.g. \"http://127.0.0.1:8080/busy\")",
            ]
        );
        assert_eq!(
            problems("[protection]\nexpires = \"90s\"\n"),
            ["protection.expires: must be whole minutes (ECS protects a task for ExpiresInMinutes)"]
        );
        assert_eq!(problems("[protection]\nbusy = true\n").len(), 1, "unknown keys are refused");
    }
}
