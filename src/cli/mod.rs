//! What the subcommands do and print. `main.rs` parses the arguments ([`args`]), calls the
//! command's function here and maps its error to an exit code; each command's logic lives in its
//! module (`explain::command`, `simulate::command`, …), and the text and JSON shown to users is
//! built by plain functions that tests can read, and written to stdout through [`out`] (one
//! `--format table|json` on every command that prints, and a quiet exit 0 on a closed pipe).

pub mod alarms;
pub mod args;
pub mod check;
pub mod cost;
pub mod docs;
pub mod explain;
pub mod fleet;
pub mod health;
pub mod history;
pub mod logs;
pub mod out;
pub mod policies;
pub mod remote;
pub mod rightsize;
pub mod run;
pub mod schedule;
pub mod setup;
pub mod simulate;
pub mod status;
pub mod table;
pub mod tags;

/// The example config embedded in the binary: the default when no `--config` is given.
pub const EMBEDDED_EXAMPLE: &str = include_str!("../../examples/trimtab.toml");
pub const EMBEDDED_NAME: &str = "<embedded examples/trimtab.toml>";

/// What `trimtab run` says of a config without `[service]`, and `check` says before it.
pub const RUN_NEEDS_SERVICE: &str =
    "`trimtab run` needs a [service] section (cluster, name) to scale, or --local to try it on this machine";

/// A failure that is the user's input, not the runtime: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// `trimtab schema`: the config's JSON Schema, pretty-printed.
pub fn schema() -> anyhow::Result<()> {
    out::text(&crate::config::schema::pretty())?;
    Ok(())
}
