//! `trimtab schedule`: the bound changes in a span, in local and UTC time.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::args::ScheduleArgs;
use super::setup::load;
use super::table::Table;
use crate::core;
use crate::core::schedule::Transition;

/// `trimtab schedule`: lists the bound changes from `--from` for `--days`.
pub fn command(args: ScheduleArgs) -> anyhow::Result<()> {
    let config = load(&args.config)?;
    let policy = &config.scaling.policy;
    let from = args.from.unwrap_or_else(Utc::now);
    let to = from + TimeDelta::days(i64::from(args.days));
    let tz = args.tz.or_else(|| policy.schedules.first().map(|w| w.tz)).unwrap_or(chrono_tz::UTC);
    if policy.schedules.is_empty() {
        println!("{}: no [[schedule]] windows; bounds stay {}", config.file, policy.bounds);
        return Ok(());
    }
    let t = core::schedule::transitions(policy.bounds, &policy.schedules, from, to);
    print!("{}", render(&t.changes, tz));
    if let Some(until) = t.complete_until {
        println!(
            "(listing stops at {until}: a window opens more than {} times in this span; ask for fewer --days)",
            core::schedule::MAX_STARTS
        );
    }
    Ok(())
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
