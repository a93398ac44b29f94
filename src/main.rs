//! The `trimtab` command: argument parsing, dispatch and exit codes. Nothing else lives here.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 bad config or bad usage.

use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, TimeDelta, Utc};
use clap::Parser;

use trimtab::cli::args::{
    AlarmsArgs, Cli, Command, CostArgs, ExplainArgs, Format, HealthArgs, LogFormat, ReportFormat,
    RightsizeArgs, RunArgs, ScheduleArgs, SimulateArgs,
};
use trimtab::cli::setup::{CONFIG_ENV_NAME, cloudwatch, config_from_env, load, region, runtime};
use trimtab::cli::{self, UsageError};
use trimtab::config::{self, Config, ConfigError};
use trimtab::core::{self, History, ManualOverride, Observation, Replicas};

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
