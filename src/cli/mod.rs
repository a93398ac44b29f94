//! What the subcommands print. `main.rs` parses arguments and maps errors to exit codes; the
//! text and JSON shown to users is built here, where tests can read it.

pub mod explain;
pub mod schedule;
pub mod simulate;
pub mod table;

use crate::config::{Config, templates};

/// The example config embedded in the binary: the default when no `--config` is given.
pub const EMBEDDED_EXAMPLE: &str = include_str!("../../examples/trimtab.toml");
pub const EMBEDDED_NAME: &str = "<embedded examples/trimtab.toml>";

/// `trimtab check`'s one-line summary of a valid config.
pub fn check_summary(c: &Config) -> String {
    let p = &c.scaling.policy;
    let service =
        c.service.as_ref().map_or("no [service]".to_owned(), |s| format!("service {}/{}", s.cluster, s.name));
    let budget = c.budget.as_ref().map_or(String::new(), |b| format!(", budget {}/month", b.monthly));
    let windows = p.schedules.len();
    format!(
        "ok: {}: {service}, template {}, {} metric{}, bounds {}, {windows} schedule window{}{budget}",
        c.file,
        c.scaling.template,
        p.metrics.len(),
        plural(p.metrics.len()),
        p.bounds,
        plural(windows),
    )
}

/// `trimtab policies`: one line per template.
pub fn policies_list() -> String {
    let width = templates::ALL.iter().map(|t| t.name.len()).max().unwrap_or(0);
    templates::ALL.iter().map(|t| format!("{:<width$}  {}\n", t.name, t.summary())).collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
