//! The `trimtab` command: argument parsing, dispatch and exit codes. Nothing else lives here.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 bad config or bad usage.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, TimeDelta, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use trimtab::cli;
use trimtab::config::{self, Config, ConfigError};
use trimtab::core::{self, History, ManualOverride, Observation, Replicas};

#[derive(Parser)]
#[command(
    name = "trimtab",
    version,
    about = "Autoscaling agent for Amazon ECS services, with cost tracking built in",
    long_about = "trimtab scales an ECS service on a weighted score of several metrics (CPU, memory, \
latency, errors, ...), within bounds, cooldowns and time-based schedules, and explains every \
decision.\n\nWithout --config, commands use the example config embedded in the binary \
(examples/trimtab.toml), so you can try them with no AWS account.",
    after_help = "Exit codes: 0 ok, 1 runtime failure, 2 bad config or usage."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a config file; prints a one-line summary, or every error as FILE:LINE:COL: key: message.
    Check(ConfigArg),
    /// Show what the scaler would decide for given metric values, metric by metric and guard by guard.
    #[command(after_help = "Example:\n  trimtab explain --current 4 --metric cpu=95 --metric memory=40 \
--metric latency_p95_ms=300 --metric error_rate_pct=0.5")]
    Explain(ExplainArgs),
    /// List when the schedule changes the bounds, in local and UTC time.
    Schedule(ScheduleArgs),
    /// Replay a load trace through the policy (and baselines) and report cost and shortage.
    #[command(after_help = "Example:\n  trimtab simulate --fit-peak 20 --compare --plot nasa.svg\n\n\
The world model (capacity, metrics, start delay, billing) and the baselines are described in \
the README, section \"Simulation\".")]
    Simulate(Box<SimulateArgs>),
    /// Run the agent: scale the [service] each agent.interval; serve the local API.
    #[command(
        after_help = "Examples:\n  trimtab run --local              # this machine, no AWS, no config needed\n  \
trimtab run --config trimtab.toml  # scale the ECS service of the config\n\n\
Logs go to stderr; RUST_LOG filters them (default info), --log-format json suits CloudWatch Logs."
    )]
    Run(RunArgs),
    /// What the service costs: per task-hour (and why), per hour and month at N tasks and at its
    /// bounds, what the budget affords; with --what-if, how a change compares.
    #[command(after_help = "Examples:\n  trimtab cost --tasks 4\n  \
trimtab cost --config trimtab.toml --what-if cpu=1024,memory=2048,arch=arm64,tasks=6\n\n\
Prices: the shipped table (data/pricing/), overridden by [cost] in the config. The region is \
service.region, else --region, else AWS_REGION.")]
    Cost(CostArgs),
    /// The right size for the [service] task (CPU and memory, a Fargate pair) from a history of
    /// what it used, with the reasoning and the monthly difference.
    #[command(
        after_help = "Examples:\n  trimtab rightsize --config trimtab.toml            # last 14 days from CloudWatch\n  \
trimtab rightsize --config trimtab.toml --history usage.csv\n\n\
The CSV has a header row; columns by name, in any order: timestamp (RFC 3339 or Unix seconds), \
cpu_units or cpu_pct, memory_mib or memory_pct, and optionally oom (1 on a row with an \
out-of-memory kill). Percentages are of the configured service.cpu and service.memory."
    )]
    Rightsize(RightsizeArgs),
    /// Print (or with --apply, idempotently put) the service's CloudWatch alarms.
    Alarms(AlarmsArgs),
    /// Ask a running agent's local API whether it is healthy (for container health checks).
    Health(HealthArgs),
    /// List the policy templates; with a NAME, print that template.
    Policies {
        /// A template to print in full.
        name: Option<String>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The TOML config file. Without it, the TOML text in the environment variable
    /// TRIMTAB_CONFIG (for task definitions without volumes); optional with --local.
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run against this machine: host CPU/memory, a pretend service that takes every decision,
    /// no AWS calls, the local API up.
    #[arg(long)]
    local: bool,
    /// Run a single tick and exit (0 when it decided, and acted if it had to).
    #[arg(long)]
    once: bool,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text", env = "TRIMTAB_LOG_FORMAT")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
struct CostArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Price the service at this many tasks [default: its min].
    #[arg(long, value_name = "N")]
    tasks: Option<u32>,
    /// Compare a change: KEY=VALUE,... with keys cpu, memory, arch (x86_64|arm64), os
    /// (linux|windows), launch (fargate|fargate-spot|ec2), storage (GiB), tasks.
    #[arg(long, value_name = "SPEC")]
    what_if: Option<String>,
    /// The region when the config names none [default: AWS_REGION, AWS_DEFAULT_REGION].
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(clap::Args)]
struct RightsizeArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Usage history as CSV [default: the service's last 14 days in CloudWatch].
    #[arg(long, value_name = "FILE.csv")]
    history: Option<PathBuf>,
    /// The region when the config names none [default: AWS_REGION, AWS_DEFAULT_REGION].
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// The monthly difference at this many tasks [default: the policy's min].
    #[arg(long, value_name = "N")]
    tasks: Option<u32>,
    /// Size as of this time (RFC 3339) [default: the last row of --history, else now].
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    now: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    format: ReportFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
struct AlarmsArgs {
    /// The TOML config file (needs a [service] section).
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
    /// Put the alarms that are missing or differ (otherwise only show what would change).
    #[arg(long)]
    apply: bool,
}

#[derive(clap::Args)]
struct HealthArgs {
    /// The config whose agent.listen to ask [default: $TRIMTAB_CONFIG's, else 127.0.0.1:9464].
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The agent's API address, HOST:PORT (overrides --config).
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<String>,
}

#[derive(clap::Args)]
struct ConfigArg {
    /// The TOML config file [default: the embedded example config].
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(clap::Args)]
struct ExplainArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// The service's current desired task count.
    #[arg(long, value_name = "N")]
    current: u32,
    /// A metric reading, NAME=VALUE; repeat for each metric. Metrics left out count as missing.
    #[arg(long = "metric", short = 'm', value_name = "NAME=VALUE", value_parser = parse_metric)]
    metrics: Vec<(String, f64)>,
    /// The decision time (RFC 3339) [default: now]. Decides which schedule window is open.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    at: Option<DateTime<Utc>>,
    /// Time since the last scale-out, e.g. 30s (starts the cooldowns).
    #[arg(long, value_name = "AGO", value_parser = parse_duration)]
    last_scale_out: Option<TimeDelta>,
    /// Time since the last scale-in, e.g. 2m.
    #[arg(long, value_name = "AGO", value_parser = parse_duration)]
    last_scale_in: Option<TimeDelta>,
    /// An earlier recommendation, AGO=COUNT (e.g. 2m=6), for the scale-in stabilization window.
    #[arg(long = "recommended", value_name = "AGO=COUNT", value_parser = parse_recommendation)]
    recommendations: Vec<(TimeDelta, u32)>,
    /// Decide as if an ECS deployment were rolling out (scale-in waits).
    #[arg(long)]
    deployment_in_progress: bool,
    /// The most tasks the remaining budget affords (as the cost module would cap).
    #[arg(long, value_name = "N")]
    budget_cap: Option<u32>,
    /// Money spent so far in the budget period, USD: the forecast, the level and the cap are
    /// worked out from the config's [budget] as the agent would (at --at, with --current tasks).
    #[arg(long, value_name = "USD", conflicts_with = "budget_cap")]
    spent: Option<f64>,
    /// Apply a manual override to this count.
    #[arg(long = "override", value_name = "N")]
    override_count: Option<u32>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(clap::Args)]
struct ScheduleArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Start of the span (RFC 3339) [default: now].
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    from: Option<DateTime<Utc>>,
    /// Length of the span in days.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=366))]
    days: u32,
    /// Time zone for the local column [default: the first window's].
    #[arg(long, value_name = "IANA")]
    tz: Option<chrono_tz::Tz>,
}

#[derive(clap::Args)]
struct SimulateArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Simulate a policy template instead of the config's policy.
    #[arg(long, value_name = "NAME", conflicts_with = "config")]
    template: Option<String>,
    /// The load trace, a t_seconds,value CSV [default: the embedded NASA July 1995 trace].
    #[arg(long, value_name = "FILE", conflicts_with = "from_cloudwatch")]
    trace: Option<PathBuf>,
    /// Replay the [service]'s own history from CloudWatch: CPU × tasks, in busy tasks
    /// (capacity per task defaults to the target utilization); starts at the history's start.
    #[arg(long, requires = "config", conflicts_with = "template")]
    from_cloudwatch: bool,
    /// Days of history for --from-cloudwatch (1-minute data up to 15, 5-minute up to 63).
    #[arg(long, default_value_t = 7, value_name = "N", requires = "from_cloudwatch")]
    days: u32,
    /// Hold each trace value for its whole step instead of interpolating between values.
    #[arg(long)]
    hold_steps: bool,
    /// Load one task serves at the target utilization, in the trace's unit.
    #[arg(long, value_name = "C", conflicts_with = "fit_peak")]
    capacity_per_task: Option<f64>,
    /// Choose C so that the trace's peak needs N tasks [default: 20].
    #[arg(long, value_name = "N")]
    fit_peak: Option<u32>,
    /// CPU utilization at which demand is counted (the oracle runs there; baselines target it).
    #[arg(long, default_value_t = 0.7, value_name = "U")]
    target_utilization: f64,
    /// Time from launch until a task serves load.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    start_delay: TimeDelta,
    /// Age of the newest metric a scaler can see.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    metric_delay: TimeDelta,
    /// p95 latency of an idle task, ms (the latency model's L0).
    #[arg(long, default_value_t = 50.0, value_name = "MS")]
    base_latency_ms: f64,
    /// Wall-clock time of the trace's first row (schedules follow it).
    #[arg(long, value_name = "RFC3339", value_parser = parse_time, default_value = "2026-01-05T00:00:00Z")]
    start: DateTime<Utc>,
    /// Override the policy's min.
    #[arg(long)]
    min: Option<u32>,
    /// Override the policy's max.
    #[arg(long)]
    max: Option<u32>,
    /// Run this baseline instead of the policy: aws-target-tracking, k8s-hpa, step, oracle.
    #[arg(long, value_name = "NAME", conflicts_with = "compare")]
    baseline: Option<String>,
    /// Run the policy and every baseline and compare them.
    #[arg(long)]
    compare: bool,
    /// Write the per-step timeline as CSV.
    #[arg(long, value_name = "FILE.csv")]
    timeline: Option<PathBuf>,
    /// Write a chart of demand and tasks over time as SVG.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Chart only this span of the trace, e.g. 11d..13d or 90m..3h.
    #[arg(long, value_name = "FROM..TO", value_parser = parse_range, requires = "plot")]
    plot_range: Option<(u64, u64)>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// A failure that is the user's input, not the runtime: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

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
        Command::Check(c) => println!("{}", cli::check_summary(&load(&c)?)),
        Command::Explain(args) => explain(args)?,
        Command::Schedule(args) => schedule(args)?,
        Command::Simulate(args) => simulate(*args)?,
        Command::Run(args) => return run_agent(args),
        Command::Cost(args) => cost(args)?,
        Command::Rightsize(args) => rightsize(args)?,
        Command::Alarms(args) => alarms(args)?,
        Command::Health(args) => health(args)?,
        Command::Policies { name: None } => print!("{}", cli::policies_list()),
        Command::Policies { name: Some(n) } => match config::templates::get(&n) {
            Some(t) => print!("{}", t.text),
            None => bail!(UsageError(format!(
                "unknown template {n:?}; known: {}",
                config::templates::names().join(", ")
            ))),
        },
    }
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // One thread: a sidecar should be small; the work per tick is a handful of requests.
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")
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

/// A CloudWatch client for `[service]`; `bulk` for reads of weeks of history.
async fn cloudwatch(svc: &config::model::ServiceConfig, bulk: bool) -> trimtab::aws::CloudWatch {
    let conn = trimtab::aws::Connection { bulk, ..trimtab::aws::Connection::for_service(svc) };
    trimtab::aws::CloudWatch::new(&trimtab::aws::sdk_config(&conn).await)
}

fn cost(args: CostArgs) -> anyhow::Result<()> {
    let cfg = load(&args.config)?;
    let Some(svc) = &cfg.service else {
        bail!(UsageError(format!("{}: cost needs a [service] section (the task to price)", cfg.file)));
    };
    let region = region(&cfg, svc, args.region)?;
    let what_if = match args.what_if.as_deref().map(cli::cost::WhatIf::parse) {
        Some(Err(e)) => bail!(UsageError(format!("--what-if: {e}"))),
        Some(Ok(w)) => Some(w),
        None => None,
    };
    let report = cli::cost::report(&cfg, &region, args.tasks, what_if.as_ref())
        .map_err(|e| UsageError(format!("{}: {e}", cfg.file)))?;
    match args.format {
        Format::Table => print!("{}", cli::cost::render(&report)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report).context("encoding the report")?),
    }
    Ok(())
}

/// The region to price in: service.region, else `--region`, else the environment's.
fn region(cfg: &Config, svc: &config::model::ServiceConfig, flag: Option<String>) -> anyhow::Result<String> {
    let region = svc
        .region
        .clone()
        .or(flag)
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty());
    let Some(region) = region else {
        bail!(UsageError(format!("{}: no region: set service.region, --region or AWS_REGION", cfg.file)));
    };
    Ok(region)
}

fn rightsize(args: RightsizeArgs) -> anyhow::Result<()> {
    use trimtab::cli::rightsize::{self as rs, Outcome};
    let cfg = load(&args.config)?;
    let (svc, shape) = rs::subject(&cfg).map_err(|e| UsageError(format!("{}: {e}", cfg.file)))?;
    let region = region(&cfg, svc, args.region.clone())?;
    let sheet = config::price_sheet(svc, &cfg.cost, &region)
        .map_err(|(k, m)| UsageError(format!("{}: {k}: {m}", cfg.file)))?;
    let size = core::rightsize::Size { cpu: shape.cpu, memory: shape.memory };
    let (source, samples, now) = usage(&args, svc, &region, size)?;
    let outcome = rs::report(&cfg, &sheet, (&source, &samples), args.tasks, now)
        .map_err(|e| UsageError(format!("{}: {e}", cfg.file)))?;
    match (outcome, args.format) {
        (Outcome::TooLittle(why), ReportFormat::Text) => println!("{why}"),
        (Outcome::TooLittle(why), ReportFormat::Json) => {
            println!("{}", serde_json::json!({ "recommended": false, "too_little_history": why }))
        }
        (Outcome::Sized(r), ReportFormat::Text) => print!("{}", rs::render(&r)),
        (Outcome::Sized(r), ReportFormat::Json) => {
            println!("{}", serde_json::to_string_pretty(&r).context("encoding the report")?)
        }
    }
    Ok(())
}

/// The usage history `rightsize` sizes from: where it came from, its samples, and `now`.
fn usage(
    args: &RightsizeArgs,
    svc: &config::model::ServiceConfig,
    region: &str,
    size: core::rightsize::Size,
) -> anyhow::Result<(String, Vec<trimtab::cli::rightsize::Sample>, DateTime<Utc>)> {
    use trimtab::cli::rightsize as rs;
    let Some(path) = &args.history else {
        let now = args.now.unwrap_or_else(Utc::now);
        let svc = config::model::ServiceConfig { region: Some(region.to_owned()), ..svc.clone() };
        let source = format!("CloudWatch AWS/ECS Maximum over the last {} days", rs::CLOUDWATCH_DAYS);
        return Ok((source, cloudwatch_usage(&svc, size, now)?, now));
    };
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| UsageError(format!("--history {name}: {e}")))?;
    let samples = rs::read_csv(&name, &text, size).map_err(|e| UsageError(e.to_string()))?;
    let now = args.now.or(samples.last().map(|s| s.at)).unwrap_or_else(Utc::now);
    Ok((name, samples, now))
}

/// `rightsize` without `--history`: the service's usage from CloudWatch.
fn cloudwatch_usage(
    svc: &config::model::ServiceConfig,
    size: core::rightsize::Size,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<trimtab::cli::rightsize::Sample>> {
    let rt = runtime()?;
    let what = format!("reading {}/{}'s CPU and memory from CloudWatch", svc.cluster, svc.name);
    rt.block_on(async {
        let cw = cloudwatch(svc, true).await;
        trimtab::cli::rightsize::fetch(&cw, svc, size, now).await
    })
    .map_err(|e| match e.message.contains("loading credentials") {
        true => anyhow::Error::new(UsageError(format!(
            "{what}: no AWS credentials found (environment, profile, task or instance role); \
             provide some allowed cloudwatch:GetMetricData, or pass --history FILE.csv"
        ))),
        false => anyhow::Error::new(e).context(what),
    })
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

/// Where a config given as text in the environment comes from, for messages (`$TRIMTAB_CONFIG:3:1: …`).
const CONFIG_ENV_NAME: &str = "$TRIMTAB_CONFIG";

/// The config's TOML from `TRIMTAB_CONFIG`, when set and not blank: a task definition can pass the
/// whole config in an environment variable (or an SSM parameter mapped to one) instead of a volume.
fn config_from_env() -> Option<String> {
    std::env::var("TRIMTAB_CONFIG").ok().filter(|t| !t.trim().is_empty())
}

fn load(arg: &ConfigArg) -> anyhow::Result<Config> {
    Ok(match &arg.config {
        Some(path) => config::load(path)?,
        None => config::from_str(cli::EMBEDDED_NAME, cli::EMBEDDED_EXAMPLE)?,
    })
}

fn explain(args: ExplainArgs) -> anyhow::Result<()> {
    let config = load(&args.config)?;
    let policy = &config.scaling.policy;
    let now = args.at.unwrap_or_else(Utc::now);
    let mut obs = Observation::new(args.current);
    for (name, value) in &args.metrics {
        if !policy.metrics.iter().any(|m| &m.name == name) {
            let known: Vec<&str> = policy.metrics.iter().map(|m| m.name.as_str()).collect();
            bail!(UsageError(format!(
                "--metric {name}: no such metric in {}; its metrics are {}",
                config.file,
                known.join(", ")
            )));
        }
        obs = obs.with_sample(name, *value, now);
    }
    obs.budget_cap = args.budget_cap.map(Replicas);
    let mut budget_line = String::new();
    if let Some(usd) = args.spent {
        let spent = core::Money::from_usd(usd)
            .filter(|_| usd >= 0.0)
            .ok_or_else(|| UsageError(format!("--spent {usd}: expected an amount of dollars ≥ 0")))?;
        let (cap, line) = cli::cost::budget_for_explain(&config, now, args.current, spent)
            .map_err(|e| UsageError(format!("{}: {e}", config.file)))?;
        obs.budget_cap = cap;
        budget_line = line;
    }
    obs.deployment_in_progress = args.deployment_in_progress;
    obs.manual_override = args.override_count.map(|n| ManualOverride {
        count: Replicas(n),
        reason: "set with trimtab explain --override".into(),
        expires_at: now + TimeDelta::hours(1),
    });
    let history = history_from(&args, now, args.current);
    let decision = core::decide(policy, &obs, &history, now);
    match args.format {
        Format::Table => print!("{budget_line}{}", cli::explain::render(&decision, policy)),
        Format::Json => {
            println!("{}", serde_json::to_string_pretty(&decision).context("encoding the decision as JSON")?)
        }
    }
    Ok(())
}

fn history_from(args: &ExplainArgs, now: DateTime<Utc>, current: u32) -> History {
    let mut h = History::default();
    let mut recs = args.recommendations.clone();
    recs.sort_by_key(|(ago, _)| -*ago);
    for (ago, n) in recs {
        h.record_recommendation(now - ago, Replicas(n), TimeDelta::days(1));
    }
    let c = Replicas(current);
    if let Some(ago) = args.last_scale_in {
        h.record_action(now - ago, c.saturating_add(1), c);
    }
    if let Some(ago) = args.last_scale_out {
        h.record_action(now - ago, c.saturating_sub(1), c.max(Replicas(1)));
    }
    h
}

fn schedule(args: ScheduleArgs) -> anyhow::Result<()> {
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
    print!("{}", cli::schedule::render(&t.changes, tz));
    if let Some(until) = t.complete_until {
        println!(
            "(listing stops at {until}: a window opens more than {} times in this span; ask for fewer --days)",
            core::schedule::MAX_STARTS
        );
    }
    Ok(())
}

fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    use trimtab::cli::simulate::{self as sim_cli, Request};
    use trimtab::sim::Trace;
    let config = match &args.template {
        Some(t) => config::from_str(&format!("<template {t}>"), &format!("[scaling]\ntemplate = {t:?}\n"))?,
        None => load(&args.config)?,
    };
    let mut args = args;
    let trace = match &args.trace {
        _ if args.from_cloudwatch => {
            let (trace, start) = history_trace(&config, args.days)?;
            args.start = start;
            if args.capacity_per_task.is_none() && args.fit_peak.is_none() {
                args.capacity_per_task = Some(args.target_utilization);
            }
            trace
        }
        Some(path) => Trace::load(path).map_err(|e| UsageError(format!("{e:#}")))?,
        None => Trace::parse(trimtab::sim::trace::EMBEDDED_NASA_NAME, trimtab::sim::trace::EMBEDDED_NASA)?,
    };
    let trace = Trace { interpolate: !args.hold_steps, ..trace };
    let (params, fit) = world_params(&args, &trace)?;
    let policy = &config.scaling.policy;
    let bounds = core::Bounds::new(
        args.min.unwrap_or(policy.bounds.min().get()),
        args.max.unwrap_or(policy.bounds.max().get()),
    )
    .ok_or_else(|| UsageError("--min must not exceed --max".into()))?;
    let peak = params.demand(trace.peak());
    if bounds.max().get() < peak {
        eprintln!(
            "warning: max {} is below the peak demand of {peak} tasks; pass --max to allow more",
            bounds.max()
        );
    }
    let mode = sim_mode(&args)?;
    let interval = u64::try_from(config.agent.interval.num_seconds()).unwrap_or(15).max(1);
    // Name the policy by what the user chose: a template, or a config file.
    let label = match &args.template {
        Some(t) => format!("trimtab ({t})"),
        None => format!("trimtab ({})", config.file.trim_start_matches("<embedded ").trim_end_matches('>')),
    };
    let started = std::time::Instant::now();
    // --min/--max bind the policy itself, not just the simulated world.
    let policy = core::Policy { bounds, ..policy.clone() };
    let report = sim_cli::run(Request {
        trace,
        params,
        start: args.start,
        bounds,
        policy,
        interval,
        label,
        mode,
        fit,
    });
    eprintln!("simulated {} runs in {:.1} s", report.runs.len(), started.elapsed().as_secs_f64());
    if let Some(path) = &args.timeline {
        std::fs::write(path, sim_cli::timeline_csv(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.plot {
        write_plot(path, &report, args.plot_range.unwrap_or((0, u64::MAX)))?;
    }
    match args.format {
        Format::Table => print!("{}", sim_cli::render(&report)),
        Format::Json => {
            println!("{}", serde_json::to_string_pretty(&report).context("encoding the report as JSON")?)
        }
    }
    Ok(())
}

/// The simulated world from the flags, and how its capacity was chosen.
/// `--from-cloudwatch`: the service's history as a trace, and when it starts.
fn history_trace(config: &Config, days: u32) -> anyhow::Result<(trimtab::sim::Trace, DateTime<Utc>)> {
    use trimtab::agent::replay;
    let Some(svc) = &config.service else {
        bail!(UsageError(format!(
            "{}: --from-cloudwatch reads the history of [service]; add one",
            config.file
        )));
    };
    if !(1..=replay::MAX_DAYS).contains(&days) {
        bail!(UsageError(format!("--days {days}: must be from 1 to {}", replay::MAX_DAYS)));
    }
    let rt = runtime()?;
    rt.block_on(async {
        let cw = cloudwatch(svc, true).await;
        replay::fetch(&cw, svc, days, Utc::now()).await
    })
    .map(|h| {
        (trimtab::sim::Trace { name: h.name, step: h.step, values: h.values, interpolate: true }, h.start)
    })
    .map_err(|e| anyhow::anyhow!("--from-cloudwatch: {e}"))
}

fn world_params(
    args: &SimulateArgs,
    trace: &trimtab::sim::Trace,
) -> anyhow::Result<(trimtab::sim::WorldParams, String)> {
    let (capacity, fit) = capacity(args, trace)?;
    let u = args.target_utilization;
    if !(u > 0.0 && u <= 1.0) {
        bail!(UsageError(format!("--target-utilization {u}: must be in (0, 1]")));
    }
    let secs = |d: TimeDelta, flag: &str| {
        u64::try_from(d.num_seconds()).map_err(|_| UsageError(format!("{flag} must not be negative")))
    };
    let params = trimtab::sim::WorldParams {
        capacity,
        target_utilization: u,
        start_delay: secs(args.start_delay, "--start-delay")?,
        metric_delay: secs(args.metric_delay, "--metric-delay")?,
        base_latency_ms: args.base_latency_ms,
    };
    Ok((params, fit))
}

/// Which controllers `--baseline` / `--compare` ask for.
fn sim_mode(args: &SimulateArgs) -> anyhow::Result<trimtab::cli::simulate::Mode> {
    use trimtab::cli::simulate::Mode;
    use trimtab::sim::baselines::NAMES;
    Ok(match (&args.baseline, args.compare) {
        (Some(b), _) if !NAMES.contains(&b.as_str()) => {
            bail!(UsageError(format!("unknown baseline {b:?}; known: {}", NAMES.join(", "))))
        }
        (Some(b), _) => Mode::Baseline(b.clone()),
        (None, true) => Mode::Compare,
        (None, false) => Mode::Policy,
    })
}

/// Charts the first run against the baselines over `(from, to)` seconds of the trace.
fn write_plot(
    path: &std::path::Path,
    report: &trimtab::cli::simulate::Report,
    (from, to): (u64, u64),
) -> anyhow::Result<()> {
    let (first, others) = report.outcomes.split_first().context("no run to plot")?;
    // The oracle is left out: the demand area already shows what it follows.
    let others: Vec<(&str, trimtab::sim::Timeline)> = others
        .iter()
        .filter(|o| o.name != "oracle")
        .map(|o| (o.name.as_str(), o.timeline.window(from, to)))
        .collect();
    let others: Vec<(&str, &trimtab::sim::Timeline)> = others.iter().map(|(n, t)| (*n, t)).collect();
    let title = format!("{} — {}", report.trace, first.name);
    let svg = trimtab::sim::plot::render_svg(&title, &first.name, &first.timeline.window(from, to), &others);
    std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))
}

/// The per-task capacity C and how it was chosen.
fn capacity(args: &SimulateArgs, trace: &trimtab::sim::Trace) -> anyhow::Result<(f64, String)> {
    if let Some(c) = args.capacity_per_task {
        if !(c.is_finite() && c > 0.0) {
            bail!(UsageError(format!("--capacity-per-task {c}: must be a positive number")));
        }
        return Ok((c, format!("--capacity-per-task {c}")));
    }
    let n = args.fit_peak.unwrap_or(20);
    if n == 0 {
        bail!(UsageError("--fit-peak must be at least 1".into()));
    }
    if trace.peak() <= 0.0 {
        bail!(UsageError(format!("{}: the trace is all zeros; give --capacity-per-task", trace.name)));
    }
    Ok((trace.peak() / f64::from(n), format!("fit: peak needs {n} tasks")))
}

fn parse_metric(s: &str) -> Result<(String, f64), String> {
    let (name, value) = s.split_once('=').ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    let v: f64 = value.trim().parse().map_err(|_| format!("{value:?} is not a number"))?;
    if !v.is_finite() {
        return Err(format!("{value:?} is not a finite number"));
    }
    Ok((name.trim().to_owned(), v))
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time ({e}), e.g. 2026-11-23T09:00:00+01:00"))
}

fn parse_duration(s: &str) -> Result<TimeDelta, String> {
    config::duration::parse(s)
}

/// `FROM..TO` as durations from the trace start, e.g. `11d..13d`.
fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s.split_once("..").ok_or_else(|| format!("expected FROM..TO, e.g. 11d..13d, got {s:?}"))?;
    let secs = |d: &str| parse_duration(d).map(|d| d.num_seconds().max(0) as u64);
    let (from, to) = (secs(a)?, secs(b)?);
    if from >= to {
        return Err(format!("{s:?}: FROM must come before TO"));
    }
    Ok((from, to))
}

fn parse_recommendation(s: &str) -> Result<(TimeDelta, u32), String> {
    let (ago, n) = s.split_once('=').ok_or_else(|| format!("expected AGO=COUNT, e.g. 2m=6, got {s:?}"))?;
    let n: u32 = n.parse().map_err(|_| format!("{n:?} is not a task count"))?;
    Ok((parse_duration(ago)?, n))
}
