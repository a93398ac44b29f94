//! The `trimtab` command: argument parsing, dispatch and exit codes. Nothing else lives here:
//! the arguments are defined in `cli::args`, and each command's logic is in its `cli` module
//! (`tests/main_is_thin.rs` keeps it so).
//!
//! Exit codes: 0 success (also when stdout's reader goes away early), 1 runtime failure, 2 bad
//! config or bad usage.

use std::process::ExitCode;

use clap::Parser;

use trimtab::cli::args::{Cli, Command};
use trimtab::cli::{self, UsageError};
use trimtab::config::ConfigError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout went away (`| head`): a quiet, normal end.
        Err(e) if cli::out::is_closed(&e) => ExitCode::SUCCESS,
        Err(e) => exit_code(&e),
    }
}

/// Runs the command.
fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Check(args) => cli::check::command(&args),
        Command::Explain(args) => cli::explain::command(args),
        Command::Schedule(args) => cli::schedule::command(args),
        Command::Simulate(args) => cli::simulate::command(*args),
        Command::Run(args) => cli::run::command(args),
        Command::Cost(args) => cli::cost::command(args),
        Command::Rightsize(args) => cli::rightsize::command(args),
        Command::Alarms(args) => cli::alarms::command(args),
        Command::Health(args) => cli::health::command(args),
        Command::Pause(target) => cli::tags::pause(target),
        Command::Resume(target) => cli::tags::resume(target),
        Command::Override(args) => cli::tags::override_command(args),
        Command::Status(args) => cli::status::command(args),
        Command::History(args) => cli::history::command(args),
        Command::Policies(args) => cli::policies::command(args),
        Command::Completions(args) => cli::docs::completions(&args),
        Command::Man(args) => cli::docs::man(&args),
        Command::Schema => cli::schema(),
    }
}

/// Prints the error once (a config's problems one per line) and maps it to the exit code.
fn exit_code(e: &anyhow::Error) -> ExitCode {
    if let Some(ConfigError::Invalid(diags)) = e.downcast_ref::<ConfigError>() {
        for d in diags {
            eprintln!("{d}");
        }
        eprintln!("error: {} problem{} in config", diags.len(), if diags.len() == 1 { "" } else { "s" });
        return ExitCode::from(2);
    }
    eprintln!("error: {e:#}");
    let usage = e.downcast_ref::<UsageError>().is_some()
        || e.downcast_ref::<ConfigError>().is_some()
        || e.downcast_ref::<trimtab::agent::token::TokenError>().is_some();
    ExitCode::from(if usage { 2 } else { 1 })
}
