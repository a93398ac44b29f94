//! `trimtab run`: the config (from `--config`, `$TRIMTAB_CONFIG`, or built-in defaults with
//! `--local`), the logs, then the agent's loop ([`crate::agent::run`]); with `--once`, one tick
//! and its report.

use anyhow::bail;

use super::UsageError;
use super::args::{LogFormat, RunArgs};
use super::setup::{file_or_env, runtime};
use crate::agent::{self, Options};
use crate::config;
use crate::core::Policy;
use crate::status::{Action, Tick};

/// A failed last tick (with --once) is exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("the tick did not complete: see the log above")]
struct TickFailed;

pub fn command(args: RunArgs) -> anyhow::Result<()> {
    let cfg = match (file_or_env(args.config.as_deref())?, args.local) {
        (Some(cfg), _) => cfg,
        (None, true) => config::from_str("(built-in defaults)", "")?,
        (None, false) => bail!(UsageError(
            "trimtab run needs --config FILE, the config's TOML in $TRIMTAB_CONFIG, or --local to try it on \
             this machine"
                .into()
        )),
    };
    if cfg.agent.mode == config::model::Mode::Controller {
        return controller(cfg, &args);
    }
    if !args.local && cfg.service.is_none() {
        bail!(UsageError(format!("{}: {}", cfg.file, super::RUN_NEEDS_SERVICE)));
    }
    super::logs::init(matches!(args.log_format, LogFormat::Json));
    let opts = Options {
        local: args.local,
        metadata_uri: std::env::var("ECS_CONTAINER_METADATA_URI_V4").ok().filter(|u| !u.is_empty()),
        retries: true,
        static_credentials: None,
        // Read under --local too, so protection can be tried against a fake endpoint.
        agent_uri: std::env::var("ECS_AGENT_URI").ok().filter(|u| !u.is_empty()),
        // Resolved with the listen check in `agent::run`.
        api_token: None,
    };
    let rt = runtime()?;
    let outcome = rt.block_on(agent::run(cfg, opts, args.once))?;
    // Blocking DNS lookups must not hold up the exit.
    rt.shutdown_timeout(agent::RUNTIME_STOP);
    let mut report = String::new();
    if args.once
        && let Some(t) = &outcome.last
    {
        report += &tick_report(t, &outcome.policy);
        if let Some(c) = &outcome.cost {
            report += &super::cost::live(c);
        }
    }
    // A closed stdout does not hide a failed tick: the tick's exit code comes first.
    let printed = super::out::text(&report);
    if !outcome.ok && args.once {
        bail!(TickFailed);
    }
    Ok(printed?)
}

/// Controller mode: the fleet's loop ([`crate::agent::fleet::run`]); with `--once`, one tick and
/// its report, service by service.
fn controller(cfg: config::Config, args: &RunArgs) -> anyhow::Result<()> {
    if args.local {
        bail!(UsageError(format!(
            "{}: --local runs one pretend service on this machine; a controller scales ECS services",
            cfg.file
        )));
    }
    super::logs::init(matches!(args.log_format, LogFormat::Json));
    let metadata_uri = std::env::var("ECS_CONTAINER_METADATA_URI_V4").ok().filter(|u| !u.is_empty());
    let rt = runtime()?;
    let view = rt.block_on(agent::fleet::run::run(cfg, metadata_uri, args.once))?;
    rt.shutdown_timeout(agent::RUNTIME_STOP);
    if args.once {
        super::out::text(&super::fleet::report(&view))?;
    }
    Ok(())
}

/// `trimtab run --once`: the tick's decision, metric by metric, and what was done about it.
pub fn tick_report(t: &Tick, policy: &Policy) -> String {
    let mut out = String::new();
    if let Some(s) = &t.service {
        let deploying = if s.deployment_in_progress { ", deployment in progress" } else { "" };
        out.push_str(&format!(
            "service: desired {}, running {}, pending {}{deploying}\n",
            s.desired, s.running, s.pending
        ));
    }
    for (metric, why) in &t.problems {
        out.push_str(&format!("missing: {metric}: {why}\n"));
    }
    if let Some(d) = &t.decision {
        out.push('\n');
        out.push_str(&super::explain::render(d, policy));
    }
    let action = match &t.action {
        Action::Skipped => format!("none: {}", t.error.as_deref().unwrap_or("no decision")),
        other => other.to_string(),
    };
    out.push_str(&format!("\naction: {action}\n"));
    // A tick that decided can still have stopped short (its deadline) or failed after.
    if let (Some(error), false) = (&t.error, t.action == Action::Skipped) {
        out.push_str(&format!("error: {error}\n"));
    }
    out
}
