//! The command line: every subcommand and flag, as clap parses them, and the parsers of flag
//! values. The help text is the doc comments here. What each command then does is in the
//! command's own module ([`super::explain`], [`super::simulate`], …); `main.rs` only dispatches.

// The doc comments below are the help text, where `[service]` names a config section, not a link.
#![allow(rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;

use chrono::{DateTime, TimeDelta, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config;

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
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Validate a config file; prints a one-line summary, or every error as FILE:LINE:COL: key: message.
    #[command(after_help = "Examples:\n  trimtab check --config trimtab.toml\n  \
TRIMTAB_CONFIG=\"$(cat trimtab.toml)\" trimtab check\n  trimtab check --example          # the embedded example config\n\n\
With --format json: {\"ok\":true,\"file\":…,\"summary\":…} or {\"ok\":false,\"problems\":[{\"file\",\"line\",\"column\",\"key\",\"message\"}…]}; \
exit 2 on a bad config either way.")]
    Check(CheckArgs),
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
    /// Pause a service: trimtab keeps deciding and reporting but changes nothing until resumed
    /// (sets the service's tag trimtab:paused=true).
    #[command(after_help = "Example:\n  trimtab pause --cluster prod --service checkout\n\n\
Uses the default AWS credentials (environment, profile, SSO); needs ecs:DescribeServices and \
ecs:TagResource on the service.")]
    Pause(ServiceTarget),
    /// Resume a paused service: trimtab scales it again (removes its tag trimtab:paused).
    #[command(after_help = "Needs ecs:DescribeServices and ecs:UntagResource on the service.")]
    Resume(ServiceTarget),
    /// Hold a service at N tasks (within its policy's bounds) for a while, or with --clear end
    /// the hold early (the service's tag trimtab:override).
    #[command(
        after_help = "Examples:\n  trimtab override --cluster prod --service checkout --count 12 --for 2h --reason \"launch\"\n  \
trimtab override --cluster prod --service checkout --count 12 --until 2026-12-08T18:00:00Z\n  \
trimtab override --cluster prod --service checkout --clear\n\n\
Needs ecs:DescribeServices and ecs:TagResource (ecs:UntagResource with --clear) on the service."
    )]
    Override(OverrideArgs),
    /// What trimtab is doing to a service, read from AWS: its counts and deployments, the
    /// operator's pause and override, and trimtab's last decision, actions and spend from its
    /// own CloudWatch metrics.
    #[command(after_help = "Example:\n  trimtab status --cluster prod --service checkout --format json\n\n\
Uses the default AWS credentials (environment, profile, SSO); needs ecs:DescribeServices and \
cloudwatch:GetMetricData. No need to reach the agent.")]
    Status(StatusArgs),
    /// What happened to a service, oldest first: its ECS events merged with trimtab's decisions
    /// and actions from its own CloudWatch metrics.
    #[command(after_help = "Example:\n  trimtab history --cluster prod --service checkout --since 7d\n\n\
Needs ecs:DescribeServices and cloudwatch:GetMetricData. ECS keeps a service's last 100 events.")]
    History(HistoryArgs),
    /// List the policy templates; with a NAME, print that template.
    Policies(PoliciesArgs),
    /// Print a shell completion script for trimtab.
    #[command(after_help = "Install:\n  \
bash: trimtab completions bash > ~/.local/share/bash-completion/completions/trimtab\n  \
zsh:  trimtab completions zsh > ~/.zfunc/_trimtab   # with fpath+=(~/.zfunc) before compinit\n  \
fish: trimtab completions fish > ~/.config/fish/completions/trimtab.fish")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or with --out DIR write one page per command there.
    #[command(
        after_help = "Examples:\n  trimtab man | man -l -\n  trimtab man --out /usr/local/share/man/man1"
    )]
    Man(ManArgs),
    /// Print the config's JSON Schema (for editors: Taplo / Even Better TOML read it).
    #[command(after_help = "Example:\n  trimtab schema > trimtab.schema.json\n\n\
The repository ships it as schema/trimtab.schema.json; a config's first line \
`#:schema ./schema/trimtab.schema.json` (a path relative to the config) points Taplo at it.")]
    Schema,
}

/// How a command prints: one flag, the same on every command that prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text tables for people (`text` is accepted too).
    #[default]
    #[value(alias = "text")]
    Table,
    /// One JSON document on stdout, snake_case field names, for scripts.
    Json,
}

/// The `--format` flag, flattened into every command that prints.
#[derive(Clone, Copy, Debug, Default, clap::Args)]
pub struct FormatArg {
    /// Output format: a table for people, or one JSON document on stdout for scripts.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Table)]
    pub format: Format,
}

/// `trimtab check`: the config to check, from a file, the environment, or the embedded example.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// The TOML config file [default: the TOML text in $TRIMTAB_CONFIG].
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check the example config embedded in the binary (examples/trimtab.toml).
    #[arg(long, conflicts_with = "config")]
    pub example: bool,
    #[command(flatten)]
    pub output: FormatArg,
}

/// `trimtab policies [NAME]`.
#[derive(clap::Args)]
pub struct PoliciesArgs {
    /// A template to print in full.
    pub name: Option<String>,
    #[command(flatten)]
    pub output: FormatArg,
}

/// `trimtab completions SHELL`.
#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `trimtab man [--out DIR]`.
#[derive(clap::Args)]
pub struct ManArgs {
    /// Write trimtab.1 and one page per command (trimtab-check.1, …) into this directory
    /// instead of printing trimtab.1.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// The TOML config file. Without it, the TOML text in the environment variable
    /// TRIMTAB_CONFIG (for task definitions without volumes); optional with --local.
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run against this machine: host CPU/memory, a pretend service that takes every decision,
    /// no AWS calls, the local API up.
    #[arg(long)]
    pub local: bool,
    /// Run a single tick and exit (0 when it decided, and acted if it had to).
    #[arg(long)]
    pub once: bool,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text", env = "TRIMTAB_LOG_FORMAT")]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
pub struct CostArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Price the service at this many tasks [default: its min].
    #[arg(long, value_name = "N")]
    pub tasks: Option<u32>,
    /// Compare a change: KEY=VALUE,... with keys cpu, memory, arch (x86_64|arm64), os
    /// (linux|windows), launch (fargate|fargate-spot|ec2), storage (GiB), tasks.
    #[arg(long, value_name = "SPEC")]
    pub what_if: Option<String>,
    /// The region when the config names none [default: AWS_REGION, AWS_DEFAULT_REGION].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    #[command(flatten)]
    pub output: FormatArg,
}

#[derive(clap::Args)]
pub struct RightsizeArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Usage history as CSV [default: the service's last 14 days in CloudWatch].
    #[arg(long, value_name = "FILE.csv")]
    pub history: Option<PathBuf>,
    /// The region when the config names none [default: AWS_REGION, AWS_DEFAULT_REGION].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The monthly difference at this many tasks [default: the policy's min].
    #[arg(long, value_name = "N")]
    pub tasks: Option<u32>,
    /// Size as of this time (RFC 3339) [default: the last row of --history, else now].
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
    #[command(flatten)]
    pub output: FormatArg,
}

#[derive(clap::Args)]
pub struct AlarmsArgs {
    /// The TOML config file (needs a [service] section).
    #[arg(long, short, value_name = "FILE")]
    pub config: PathBuf,
    /// Put the alarms that are missing or differ (otherwise only show what would change).
    #[arg(long)]
    pub apply: bool,
    #[command(flatten)]
    pub output: FormatArg,
}

#[derive(clap::Args)]
pub struct HealthArgs {
    /// The config whose agent.listen to ask [default: $TRIMTAB_CONFIG's, else 127.0.0.1:9464].
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The agent's API address, HOST:PORT (overrides --config).
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    #[command(flatten)]
    pub output: FormatArg,
}

/// The service a tag command changes, and how to reach ECS.
#[derive(Clone, Debug, clap::Args)]
pub struct ServiceTarget {
    /// The service's cluster (name or ARN).
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: String,
    /// The service (name or ARN).
    #[arg(long, value_name = "SERVICE")]
    pub service: String,
    /// The AWS region [default: AWS_REGION, else the profile's].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Send the AWS calls to this URL instead of AWS's (an emulator, a VPC endpoint).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    #[command(flatten)]
    pub output: FormatArg,
}

/// `trimtab status`.
#[derive(Clone, Debug, clap::Args)]
pub struct StatusArgs {
    /// The service and how to reach ECS and CloudWatch.
    #[command(flatten)]
    pub target: ServiceTarget,
    /// The agent counts as reporting while its newest heartbeat is at most this old.
    #[arg(long, value_name = "DURATION", default_value = super::status::DEFAULT_STALE_AFTER, value_parser = parse_duration)]
    pub stale_after: TimeDelta,
}

/// `trimtab history`.
#[derive(Clone, Debug, clap::Args)]
pub struct HistoryArgs {
    /// The service and how to reach ECS and CloudWatch.
    #[command(flatten)]
    pub target: ServiceTarget,
    /// How far back: a span (24h, 7d) or a time (RFC 3339); at most 455 days.
    #[arg(long, value_name = "DURATION|RFC3339", default_value = "24h", value_parser = super::history::parse_since)]
    pub since: super::history::Since,
    /// Print at most this many rows, the newest.
    #[arg(long, value_name = "N", default_value_t = super::history::DEFAULT_LIMIT, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
}

/// `trimtab override`: a count and when it ends (`--for` or `--until`), or `--clear`.
#[derive(Clone, Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("when").args(["duration", "until"])))]
pub struct OverrideArgs {
    /// The service and how to reach ECS.
    #[command(flatten)]
    pub target: ServiceTarget,
    /// Hold this many tasks (the policy's bounds still apply).
    #[arg(long, value_name = "N", required_unless_present = "clear", requires = "when")]
    pub count: Option<u32>,
    /// For this long from now, e.g. 2h or 1h30m.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<TimeDelta>,
    /// Until this time (RFC 3339), e.g. 2026-12-08T18:00:00Z.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Why, kept in the tag (letters, digits, spaces and _ . : / = + - @; others are dropped).
    #[arg(long, value_name = "TEXT", requires = "count")]
    pub reason: Option<String>,
    /// End the override now: trimtab scales the service on its metrics again.
    #[arg(long, conflicts_with_all = ["count", "when", "reason"])]
    pub clear: bool,
}

#[derive(clap::Args)]
pub struct ConfigArg {
    /// The TOML config file [default: the embedded example config].
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The service's current desired task count.
    #[arg(long, value_name = "N")]
    pub current: u32,
    /// A metric reading, NAME=VALUE; repeat for each metric. Metrics left out count as missing.
    /// A metric read from every task takes each task's value, NAME=V1,V2,…: they are combined as
    /// the agent combines them (the average for task CPU/memory and pools; a Prometheus gauge by
    /// its `aggregate`, rates summed) and the hottest task is named.
    #[arg(long = "metric", short = 'm', value_name = "NAME=VALUE[,VALUE…]", value_parser = parse_metric)]
    pub metrics: Vec<(String, Vec<f64>)>,
    /// The decision time (RFC 3339) [default: now]. Decides which schedule window is open.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,
    /// Time since the last scale-out, e.g. 30s (starts the cooldowns).
    #[arg(long, value_name = "AGO", value_parser = parse_duration)]
    pub last_scale_out: Option<TimeDelta>,
    /// Time since the last scale-in, e.g. 2m.
    #[arg(long, value_name = "AGO", value_parser = parse_duration)]
    pub last_scale_in: Option<TimeDelta>,
    /// An earlier recommendation, AGO=COUNT (e.g. 2m=6), for the scale-in stabilization window.
    #[arg(long = "recommended", value_name = "AGO=COUNT", value_parser = parse_recommendation)]
    pub recommendations: Vec<(TimeDelta, u32)>,
    /// Decide as if an ECS deployment were rolling out (scale-in waits).
    #[arg(long)]
    pub deployment_in_progress: bool,
    /// The most tasks the remaining budget affords (as the cost module would cap).
    #[arg(long, value_name = "N")]
    pub budget_cap: Option<u32>,
    /// Money spent so far in the budget period, USD: the forecast, the level and the cap are
    /// worked out from the config's [budget] as the agent would (at --at, with --current tasks).
    #[arg(long, value_name = "USD", conflicts_with = "budget_cap")]
    pub spent: Option<f64>,
    /// Apply a manual override to this count.
    #[arg(long = "override", value_name = "N")]
    pub override_count: Option<u32>,
    #[command(flatten)]
    pub output: FormatArg,
}

#[derive(clap::Args)]
pub struct ScheduleArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Start of the span (RFC 3339) [default: now].
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub from: Option<DateTime<Utc>>,
    /// Length of the span in days.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: u32,
    /// Time zone for the local column [default: the first window's].
    #[arg(long, value_name = "IANA")]
    pub tz: Option<chrono_tz::Tz>,
    #[command(flatten)]
    pub output: FormatArg,
}

#[derive(clap::Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Simulate a policy template instead of the config's policy.
    #[arg(long, value_name = "NAME", conflicts_with = "config")]
    pub template: Option<String>,
    /// The load trace, a t_seconds,value CSV [default: the embedded NASA July 1995 trace].
    #[arg(long, value_name = "FILE", conflicts_with = "from_cloudwatch")]
    pub trace: Option<PathBuf>,
    /// Replay the [service]'s own history from CloudWatch: CPU × tasks, in busy tasks
    /// (capacity per task defaults to the target utilization); starts at the history's start.
    #[arg(long, requires = "config", conflicts_with = "template")]
    pub from_cloudwatch: bool,
    /// Days of history for --from-cloudwatch (1-minute data up to 15, 5-minute up to 63).
    #[arg(long, default_value_t = 7, value_name = "N", requires = "from_cloudwatch")]
    pub days: u32,
    /// Hold each trace value for its whole step instead of interpolating between values.
    #[arg(long)]
    pub hold_steps: bool,
    /// Load one task serves at the target utilization, in the trace's unit.
    #[arg(long, value_name = "C", conflicts_with = "fit_peak")]
    pub capacity_per_task: Option<f64>,
    /// Choose C so that the trace's peak needs N tasks [default: 20].
    #[arg(long, value_name = "N")]
    pub fit_peak: Option<u32>,
    /// CPU utilization at which demand is counted (the oracle runs there; baselines target it).
    #[arg(long, default_value_t = 0.7, value_name = "U")]
    pub target_utilization: f64,
    /// Time from launch until a task serves load.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub start_delay: TimeDelta,
    /// Age of the newest metric a scaler can see.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub metric_delay: TimeDelta,
    /// p95 latency of an idle task, ms (the latency model's L0).
    #[arg(long, default_value_t = 50.0, value_name = "MS")]
    pub base_latency_ms: f64,
    /// Wall-clock time of the trace's first row (schedules follow it).
    #[arg(long, value_name = "RFC3339", value_parser = parse_time, default_value = "2026-01-05T00:00:00Z")]
    pub start: DateTime<Utc>,
    /// Override the policy's min.
    #[arg(long)]
    pub min: Option<u32>,
    /// Override the policy's max.
    #[arg(long)]
    pub max: Option<u32>,
    /// Run this baseline instead of the policy: aws-target-tracking, k8s-hpa, step, oracle.
    #[arg(long, value_name = "NAME", conflicts_with = "compare")]
    pub baseline: Option<String>,
    /// Run the policy and every baseline and compare them.
    #[arg(long)]
    pub compare: bool,
    /// Write the per-step timeline as CSV.
    #[arg(long, value_name = "FILE.csv")]
    pub timeline: Option<PathBuf>,
    /// Write a chart of demand and tasks over time as SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Chart only this span of the trace, e.g. 11d..13d or 90m..3h.
    #[arg(long, value_name = "FROM..TO", value_parser = parse_range, requires = "plot")]
    pub plot_range: Option<(u64, u64)>,
    #[command(flatten)]
    pub output: FormatArg,
}

fn parse_metric(s: &str) -> Result<(String, Vec<f64>), String> {
    let (name, values) = s.split_once('=').ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    let one = |value: &str| -> Result<f64, String> {
        let v: f64 = value.trim().parse().map_err(|_| format!("{value:?} is not a number"))?;
        if !v.is_finite() {
            return Err(format!("{value:?} is not a finite number"));
        }
        Ok(v)
    };
    let values = values.split(',').map(one).collect::<Result<Vec<f64>, String>>()?;
    Ok((name.trim().to_owned(), values))
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time ({e}), e.g. 2026-11-23T09:00:00+01:00"))
}

fn parse_duration(s: &str) -> Result<TimeDelta, String> {
    config::duration::parse(s).map_err(|e| e.to_string())
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
