//! `trimtab schedule`: the bound changes in a span, in local and UTC time. With `--format
//! json`: `{"file","from","to","timezone","bounds","changes":[{"at","local","min","max",
//! "pinned","window"}…],"complete_until"}`, where `changes` starts with the state at `from`
//! and `window` is `null` when the base policy applies.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::args::ScheduleArgs;
use super::out;
use super::setup::load;
use super::table::Table;
use crate::config::Config;
use crate::core;
use crate::core::Bounds;
use crate::core::schedule::Transition;

/// `trimtab schedule`: lists the bound changes from `--from` for `--days`.
pub fn command(args: ScheduleArgs) -> anyhow::Result<()> {
    let config = load(&args.config)?;
    let policy = &config.scaling.policy;
    let from = args.from.unwrap_or_else(Utc::now);
    let to = from + TimeDelta::days(i64::from(args.days));
    let tz = args.tz.or_else(|| policy.schedules.first().map(|w| w.tz)).unwrap_or(chrono_tz::UTC);
    let t = core::schedule::transitions(policy.bounds, &policy.schedules, from, to);
    let listing = Listing {
        file: config.file.clone(),
        from,
        to,
        timezone: tz.name().to_owned(),
        bounds: policy.bounds,
        changes: t.changes.iter().map(|c| Change::of(c, tz)).collect(),
        complete_until: t.complete_until,
    };
    out::emit(args.output.format, &listing, |_| text(&config, &t, tz))?;
    Ok(())
}

/// `trimtab schedule --format json`.
#[derive(Debug, Serialize)]
pub struct Listing {
    pub file: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The IANA zone of the `local` times.
    pub timezone: String,
    /// The base policy's bounds.
    pub bounds: Bounds,
    /// The state at `from`, then every change.
    pub changes: Vec<Change>,
    /// Set when the listing stops early (a window opens more than `MAX_STARTS` times).
    pub complete_until: Option<DateTime<Utc>>,
}

/// One change of the bounds in force, as a row of the table.
#[derive(Debug, Serialize)]
pub struct Change {
    pub at: DateTime<Utc>,
    /// `at` in the listing's time zone, RFC 3339.
    pub local: String,
    pub min: u32,
    pub max: u32,
    pub pinned: Option<u32>,
    /// The schedule window in force; `None` for the base policy.
    pub window: Option<String>,
}

impl Change {
    fn of(tr: &Transition, tz: Tz) -> Change {
        let e = &tr.effective;
        Change {
            at: tr.at,
            local: tr.at.with_timezone(&tz).to_rfc3339(),
            min: e.bounds.min().get(),
            max: e.bounds.max().get(),
            pinned: e.pinned.map(|p| p.get()),
            window: e.window.clone(),
        }
    }
}

/// The table, or the line saying there is no window; and a note when the listing stops early.
fn text(config: &Config, t: &core::schedule::Transitions, tz: Tz) -> String {
    let policy = &config.scaling.policy;
    if policy.schedules.is_empty() {
        return format!("{}: no [[schedule]] windows; bounds stay {}\n", config.file, policy.bounds);
    }
    let mut s = render(&t.changes, tz);
    if let Some(until) = t.complete_until {
        s += &format!(
            "(listing stops at {until}: a window opens more than {} times in this span; ask for fewer --days)\n",
            core::schedule::MAX_STARTS
        );
    }
    s
}

/// A table of `transitions`, local times in `tz`.
pub fn render(transitions: &[Transition], tz: Tz) -> String {
    let mut t = Table::new(["local time", "UTC", "min", "max", "pinned", "in force"]);
    for tr in transitions {
        let e = &tr.effective;
        t.row(vec![
            local(tr.at, tz),
            tr.at.format("%Y-%m-%d %H:%M").to_string(),
            e.bounds.min().to_string(),
            e.bounds.max().to_string(),
            e.pinned.map_or("-".into(), |p| p.to_string()),
            e.window.clone().unwrap_or_else(|| "base policy".into()),
        ]);
    }
    t.render()
}

fn local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%a %Y-%m-%d %H:%M %Z").to_string()
}
