//! `trimtab schedule`: the bound changes in a span, in local and UTC time.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::table::Table;
use crate::core::schedule::Transition;

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
