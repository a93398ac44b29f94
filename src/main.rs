//! The `trimtab` command: argument parsing, dispatch and exit codes. Nothing else lives here.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 bad config or bad usage.

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;

use trimtab::cli::args::{AlarmsArgs, Cli, Command, HealthArgs, LogFormat, RunArgs};
use trimtab::cli::setup::{CONFIG_ENV_NAME, cloudwatch, config_from_env, runtime};
use trimtab::cli::{self, UsageError};
use trimtab::config::{self, ConfigError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

fn report(e: &anyhow::Error) -> ExitCode {
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

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Check(c) => cli::check(&c)?,
        Command::Explain(args) => cli::explain::command(args)?,
        Command::Schedule(args) => cli::schedule::command(args)?,
        Command::Simulate(args) => cli::simulate::command(*args)?,
        Command::Run(args) => return run_agent(args),
        Command::Cost(args) => cli::cost::command(args)?,
        Command::Rightsize(args) => cli::rightsize::command(args)?,
        Command::Alarms(args) => alarms(args)?,
        Command::Health(args) => health(args)?,
        Command::Policies { name } => cli::policies(name)?,
    }
    Ok(())
}

fn init_logs(format: LogFormat) {
    cli::logs::init(matches!(format, LogFormat::Json));
}

/// A failed last tick (with --once) is exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("the tick did not complete: see the log above")]
struct TickFailed;

fn run_agent(args: RunArgs) -> anyhow::Result<()> {
    let cfg = match (&args.config, config_from_env(), args.local) {
        (Some(path), _, _) => config::load(path)?,
        (None, Some(text), _) => config::from_str(CONFIG_ENV_NAME, &text)?,
        (None, None, true) => config::from_str("(built-in defaults)", "")?,
        (None, None, false) => bail!(UsageError(
            "trimtab run needs --config FILE, the config's TOML in $TRIMTAB_CONFIG, or --local to try it on \
             this machine"
                .into()
        )),
    };
    if !args.local && cfg.service.is_none() {
        bail!(UsageError(format!("{}: {}", cfg.file, cli::RUN_NEEDS_SERVICE)));
    }
    init_logs(args.log_format);
    let opts = trimtab::agent::Options {
        local: args.local,
        metadata_uri: std::env::var("ECS_CONTAINER_METADATA_URI_V4").ok().filter(|u| !u.is_empty()),
        retries: true,
        static_credentials: None,
    };
    let rt = runtime()?;
    let outcome = rt.block_on(trimtab::agent::run(cfg, opts, args.once))?;
    // Blocking DNS lookups must not hold up the exit.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    if args.once
        && let Some(t) = &outcome.last
    {
        print!("{}", cli::tick_report(t, &outcome.policy));
        if let Some(c) = &outcome.cost {
            print!("{}", cli::cost::live(c));
        }
    }
    if !outcome.ok && args.once {
        bail!(TickFailed);
    }
    Ok(())
}

fn alarms(args: AlarmsArgs) -> anyhow::Result<()> {
    let cfg = config::load(&args.config)?;
    let Some(svc) = &cfg.service else {
        bail!(UsageError(format!("{}: alarms watch a service: add a [service] section", cfg.file)));
    };
    let rt = runtime()?;
    let plan = rt.block_on(async {
        let cw = cloudwatch(svc, false).await;
        if args.apply {
            trimtab::agent::alarms::apply(&cw, svc, &cfg.alarms).await
        } else {
            trimtab::agent::alarms::plan(&cw, svc, &cfg.alarms).await
        }
    })?;
    print!("{}", cli::alarms_table(&plan, args.apply));
    Ok(())
}

fn health(args: HealthArgs) -> anyhow::Result<()> {
    let addr = match (args.addr, &args.config, config_from_env()) {
        (Some(a), _, _) => a,
        (None, Some(path), _) => config::load(path)?.agent.listen.to_string(),
        (None, None, Some(text)) => config::from_str(CONFIG_ENV_NAME, &text)?.agent.listen.to_string(),
        (None, None, None) => "127.0.0.1:9464".to_owned(),
    };
    let url = format!("http://{addr}/healthz");
    let rt = runtime()?;
    let (status, body) = rt
        .block_on(async {
            let resp = trimtab::sources::http_client().get(&url).send().await?;
            let status = resp.status();
            anyhow::Ok((status, resp.text().await?))
        })
        .with_context(|| format!("GET {url}"))?;
    println!("{body}");
    anyhow::ensure!(status.is_success(), "{url}: HTTP {status}");
    Ok(())
}
