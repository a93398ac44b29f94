//! Issue 14, "bounded under any input", through the agent against the fake AWS on wiremock: a
//! tick stops at its deadline and names the call that overran; absurd AWS timestamps (the last
//! second chrono can hold, near year 262143, or the first, before year -262143) neither panic
//! nor scale; and, running the `trimtab` binary itself, SIGTERM during an `UpdateService`
//! waits for the change and exits cleanly in time. Everything on 127.0.0.1.

// Worlds are built up step by step, as a test reads.
#![allow(clippy::field_reassign_with_default)]

#[path = "common/fake_aws.rs"]
mod fake_aws;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use fake_aws::{FakeAws, World};
use trimtab::agent::{Agent, Options, SHUTDOWN_BOUND};
use trimtab::status::Action;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn config_text(endpoint: &str, extra: &str) -> String {
    format!(
        "{extra}[service]\ncluster = \"prod\"\nname = \"web\"\nregion = \"us-east-1\"\nlaunch_type = \"ec2\"\n\
         endpoint_url = \"{endpoint}\"\n[scaling]\nmin = 1\nmax = 20\n\
         [[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 65.0\n"
    )
}

fn config(endpoint: &str, extra: &str) -> trimtab::config::Config {
    trimtab::config::from_str("t.toml", &config_text(endpoint, extra)).unwrap()
}

fn options() -> Options {
    Options { retries: false, static_credentials: Some(("test".into(), "test".into())), ..Options::default() }
}

/// The service's CPU as CloudWatch would report it: one datapoint a minute and a half ago.
fn cpu(world: &mut World, percent: f64) {
    world.datapoints.insert("CPUUtilization".into(), vec![(fake_aws::now() - 90, percent)]);
}

/// Issue 14: the 8 s bound was per call, not per tick; a tick now stops at its deadline (the
/// interval by default), says which call overran, and does not act on what it had so far.
#[tokio::test]
async fn issue_14_a_tick_stops_at_its_deadline_and_names_the_call_that_overran() {
    let mut w = World::default();
    cpu(&mut w, 90.0);
    let fake = FakeAws::start(w).await;
    // Slower than the 1 s interval, faster than the 3 s attempt timeout.
    Mock::given(method("POST"))
        .and(path(format!("{}GetMetricData", fake_aws::CW_PATH)))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(2500)))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let mut a = Agent::new(config(&fake.uri(), "[agent]\ninterval = \"1s\"\n"), options()).await.unwrap();
    let started = Instant::now();
    let t = a.tick(Utc::now()).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1800), "the tick ran {took:?}, past its 1 s deadline");
    let error = t.error.as_deref().unwrap_or_else(|| panic!("no error: {t:?}"));
    assert!(error.contains("tick deadline (1s) passed during metric sources"), "{error}");
    assert!(error.contains("cloudwatch:GetMetricData"), "{error}");
    assert_eq!(t.action, Action::Skipped, "nothing is decided on a tick cut short");
    assert!((1000..1800).contains(&t.duration_ms), "{}", t.duration_ms);
    assert_eq!(fake.count("UpdateService").await, 0);
    let snap = a.snapshot();
    assert_eq!(snap.counters.failed_ticks, 1);
    assert_eq!(snap.last.as_ref().and_then(|t| t.error.as_deref()), Some(error), "/status says it too");
}

/// Half a minute before the end of time as chrono knows it: one more period and it overflows.
fn end_of_time() -> i64 {
    DateTime::<Utc>::MAX_UTC.timestamp() - 30
}

/// The start of time as chrono knows it.
fn start_of_time() -> i64 {
    DateTime::<Utc>::MIN_UTC.timestamp()
}

/// Issue 14: a CloudWatch datapoint stamped at the end of time panicked the tick (period end =
/// time + period); one stamped at the start of time must not count as a reading either.
#[tokio::test]
async fn issue_14_absurd_datapoint_times_are_missing_data_not_a_panic() {
    for t in [end_of_time(), start_of_time(), -1] {
        let mut w = World::default();
        w.desired = 8;
        w.datapoints.insert("CPUUtilization".into(), vec![(t, 5.0)]);
        let fake = FakeAws::start(w).await;
        let mut a = Agent::new(config(&fake.uri(), ""), options()).await.unwrap();
        let tick = a.tick(Utc::now()).await;
        let d = tick.decision.as_ref().expect("decided");
        assert_eq!((d.desired.get(), d.reason.as_str()), (8, "missing_data"), "{t}: {}", d.message);
        assert!(tick.problems.contains_key("cpu"), "{t}: {:?}", tick.problems);
        assert_eq!(fake.count("UpdateService").await, 0, "{t}");
    }
}

/// Issue 14: the restore on start panicked on the agent's own metrics stamped at the end of
/// time (`ScaleOut` and `RecommendedCount` rounded up to their minute's end, the month-to-date
/// carried to its period's end). Absurd times are no history; the agent then decides on what
/// is real.
#[tokio::test]
async fn issue_14_absurd_times_in_the_restored_history_neither_panic_nor_count() {
    for t in [end_of_time(), start_of_time()] {
        let mut w = World::default();
        for metric in ["ScaleOut", "ScaleIn", "RecommendedCount", "MonthToDateCost", "TodayCost"] {
            w.datapoints.insert(metric.into(), vec![(t, 1.0)]);
        }
        w.events = vec![(t, "(service web) has started 2 tasks: (task 1).".into())];
        cpu(&mut w, 90.0);
        let fake = FakeAws::start(w).await;
        // A Fargate task of 512/1024, so the month-to-date is restored too.
        let text =
            config_text(&fake.uri(), "").replace("launch_type = \"ec2\"\n", "cpu = 512\nmemory = 1024\n");
        let cfg = trimtab::config::from_str("t.toml", &text).unwrap();
        let mut a = Agent::new(cfg, options()).await.unwrap();
        let now = Utc::now();
        a.restore(now).await;
        let snap = a.snapshot();
        assert_eq!((snap.cooldowns.last_scale_out, snap.cooldowns.last_scale_in), (None, None), "{t}");
        let tick = a.tick(now).await;
        assert_eq!(tick.action, Action::Applied { from: 4, to: 6 }, "{t}: {tick:?}");
        let mtd = a.snapshot().cost.as_ref().map(|c| c.ledger.month_to_date.as_usd());
        assert!(mtd.is_some_and(|m| m < 1.0), "{t}: the absurd month-to-date is not carried: {mtd:?}");
    }
}

/// Issue 14: a task definition trimtab registered, stamped at the end of time, panicked the
/// resize guard (registered + interval). An absurd registration time is no time at all: the
/// interval counts from now, as when ECS gives none (`vertical.rs` tests the other cases).
#[tokio::test]
async fn issue_14_an_absurd_registration_time_waits_out_the_interval_instead_of_panicking() {
    let mut w = World::default();
    w.registered_at = end_of_time();
    w.resized_tag = true;
    let fake = FakeAws::start(w).await;
    let text = "[service]\ncluster = \"prod\"\nname = \"web\"\nregion = \"us-east-1\"\ncpu = 1024\nmemory = 2048\n\
                endpoint_url = \"ENDPOINT\"\n[scaling]\nmin = 4\nmax = 4\n\
                [[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 60\n\
                [[scaling.metrics]]\nname = \"memory\"\nsource = \"ecs\"\ntarget = 80\n\
                [vertical]\nmode = \"apply\"\ninterval = \"24h\"\n";
    let cfg = trimtab::config::from_str("t.toml", &text.replace("ENDPOINT", &fake.uri())).unwrap();
    let mut a = Agent::new(cfg, options()).await.unwrap();
    // A day and an hour of light use, a tick every 5 minutes: the right-sizer recommends less.
    let mut now = Utc::now() - TimeDelta::hours(25);
    for _ in 0..=(25 * 12) {
        {
            let at = now.timestamp() - 90;
            let mut w = fake.world.lock().unwrap();
            w.datapoints.insert("CPUUtilization".into(), vec![(at, 20.0)]);
            w.datapoints.insert("MemoryUtilization".into(), vec![(at, 30.0)]);
        }
        a.tick(now).await;
        now += TimeDelta::minutes(5);
    }
    let snap = a.snapshot();
    let status = snap.vertical.clone().expect("apply mode looked at resizing");
    assert_eq!(status.outcome, "waiting", "{status:?}");
    assert_eq!(fake.count("DescribeTaskDefinition").await, 1, "looked once, then waits: {status:?}");
    assert_eq!(fake.count("RegisterTaskDefinition").await, 0);
}

/// `trimtab run` against the fake AWS, as a process: its config and log in a temp dir, fixed
/// credentials in its environment, nothing from this machine's AWS setup. Killed when dropped.
struct Process {
    child: Child,
    dir: PathBuf,
}

impl Process {
    fn start(name: &str, config: &str, args: &[&str], env: &[(&str, &str)]) -> Process {
        let dir = std::env::temp_dir().join(format!("trimtab-bounds-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("t.toml"), config).unwrap();
        let log = std::fs::File::create(dir.join("stderr.log")).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trimtab"));
        cmd.args(["run", "--config", dir.join("t.toml").to_str().unwrap()]).args(args);
        for var in ["ECS_CONTAINER_METADATA_URI_V4", "AWS_PROFILE", "AWS_SESSION_TOKEN", "TRIMTAB_CONFIG"] {
            cmd.env_remove(var);
        }
        cmd.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", dir.join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
            .env("RUST_LOG", "info")
            .envs(env.iter().copied());
        let child = cmd.stdout(Stdio::null()).stderr(log).spawn().unwrap();
        Process { child, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// Waits for the process to exit, at most `limit`; its exit status and how long it took.
    async fn exit_within(&mut self, limit: Duration) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            assert!(started.elapsed() < limit, "still running after {limit:?}:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Issue 14: SIGTERM gave a tick in progress 4.5 s, less than an `UpdateService`'s 8 s bound, so
/// a change in flight was dropped: ECS made it, and the agent neither recorded nor reported it.
/// Now the tick's reads stop at the signal, the change is waited for, and the process exits
/// within its bound.
#[tokio::test]
async fn issue_14_sigterm_during_update_service_waits_for_the_change_and_exits_cleanly() {
    let mut w = World::default();
    cpu(&mut w, 90.0);
    let fake = FakeAws::start(w).await;
    // The first attempt hangs past the 3 s attempt timeout; the retry answers 2.5 s late: the
    // change takes about 5.5 s.
    fake.slow_ecs("UpdateService", Duration::from_secs(5), Some(1)).await;
    fake.slow_ecs("UpdateService", Duration::from_millis(2500), None).await;
    let agent = format!("[agent]\ninterval = \"60s\"\nlisten = \"127.0.0.1:{}\"\n", free_port());
    let mut p = Process::start("sigterm", &config_text(&fake.uri(), &agent), &[], &[]);
    loop {
        if fake.count("UpdateService").await > 0 {
            break;
        }
        assert!(p.child.try_wait().unwrap().is_none(), "exited early:\n{}", p.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let kill = Command::new("kill").args(["-TERM", &p.child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let (status, took) = p.exit_within(SHUTDOWN_BOUND + Duration::from_secs(5)).await;
    let log = p.log();
    // Logged only once the retry's answer came back, some 5.5 s after the change was sent.
    assert!(log.contains("desired count set 4 -> 6"), "the change is waited for and reported:\n{log}");
    assert!(log.contains("shutdown: the tick stops here"), "{log}");
    assert!(status.success(), "{status:?}\n{log}");
    assert!(took <= SHUTDOWN_BOUND, "exited {took:?} after SIGTERM, past {SHUTDOWN_BOUND:?}\n{log}");
    assert_eq!(fake.world.lock().unwrap().desired, 6);
}

/// The Terraform modules (the sidecar's and the fleet controller's) give the trimtab container
/// time to shut down as the agent does.
#[test]
fn the_modules_stop_timeout_leaves_room_for_the_shutdown() {
    for file in ["terraform/main.tf", "terraform/controller/main.tf"] {
        let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        let main = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let container = main.split("trimtab_container = {").nth(1).expect("the trimtab container");
        let line =
            container.lines().find(|l| l.trim_start().starts_with("stopTimeout")).expect("a stopTimeout");
        let secs: u64 = line.split('=').nth(1).unwrap().trim().parse().unwrap();
        assert!(
            Duration::from_secs(secs) >= SHUTDOWN_BOUND + Duration::from_secs(2),
            "{file}: stopTimeout {secs} s leaves no room for the agent's {SHUTDOWN_BOUND:?}"
        );
        assert!(secs <= 120, "{file}: Fargate allows at most 120 s");
    }
}

/// Issue 14: at DEBUG and TRACE the SDK's own targets logged the access key id (and more). No
/// secret may reach the log at any level, whatever `RUST_LOG` says: a `run --once` at TRACE
/// with canary credentials, API token and a webhook URL with its token in the path.
#[tokio::test]
async fn issue_14_no_secret_is_logged_even_at_trace() {
    const KEY_ID: &str = "AKIATRIMTABCANARY001";
    const SECRET: &str = "trimtab/canary+secret/0123456789abcdefghij";
    const SESSION: &str = "trimtab-canary-session-token-0123456789";
    const API_TOKEN: &str = "trimtab-canary-api-token-0123456789";
    const HOOK_SECRET: &str = "trimtab-canary-hook-secret";
    let mut w = World::default();
    cpu(&mut w, 50.0);
    let fake = FakeAws::start(w).await;
    let hook = wiremock::MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&hook).await;
    // A $1 budget: four Fargate tasks of 512/1024 overrun it at once, so the tick alerts.
    let text = format!(
        "[service]\ncluster = \"prod\"\nname = \"web\"\nregion = \"us-east-1\"\ncpu = 512\nmemory = 1024\n\
         endpoint_url = \"{}\"\n[scaling]\nmin = 1\nmax = 20\n\
         [[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 65.0\n[budget]\nmonthly_usd = 1\n\
         [[notify]]\ntype = \"slack\"\nurl = \"{}/services/T0/B0/{HOOK_SECRET}\"\n",
        fake.uri(),
        hook.uri()
    );
    let env = [
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", SESSION),
        ("TRIMTAB_API_TOKEN", API_TOKEN),
        ("RUST_LOG", "trace"),
    ];
    let mut p = Process::start("secrets", &text, &["--once"], &env);
    let (status, _) = p.exit_within(Duration::from_secs(30)).await;
    let log = p.log();
    assert!(status.success(), "{status:?}\n{}", tail(&log));
    assert!(!hook.received_requests().await.unwrap().is_empty(), "the alert went out");
    assert!(fake.count("PutMetricData").await == 1, "signed requests were made");
    let secrets = [
        ("access key id", KEY_ID),
        ("secret key", SECRET),
        ("session token", SESSION),
        ("API token", API_TOKEN),
        ("webhook token", HOOK_SECRET),
    ];
    let from = |secret: &str| -> BTreeSet<String> {
        log.lines().filter(|l| l.contains(secret)).map(level_and_target).collect()
    };
    let leaks: Vec<(&str, BTreeSet<String>)> =
        secrets.iter().map(|(what, secret)| (*what, from(secret))).filter(|(_, f)| !f.is_empty()).collect();
    assert!(leaks.is_empty(), "secrets in the log, by the lines' level and target: {leaks:#?}");
    // RUST_LOG=trace is in effect for trimtab's own events, and nothing else logs below INFO.
    assert!(
        log.contains("DEBUG tick{service=prod/web tick=1}: trimtab::agent::deadline: tick call done"),
        "{}",
        tail(&log)
    );
    let below_info: Vec<&str> = log
        .lines()
        .filter(|l| {
            let t = level_and_target(l);
            (t.starts_with("DEBUG ") || t.starts_with("TRACE ")) && !t.contains(" trimtab::")
        })
        .take(5)
        .collect();
    assert!(below_info.is_empty(), "below INFO, not trimtab's:\n{}", below_info.join("\n"));
}

/// `LEVEL target` of a text log line (`<time> <LEVEL> <spans>: <target>: <message>`); `?` for
/// what it cannot tell (a line that continues a record).
fn level_and_target(line: &str) -> String {
    let level = line.split_whitespace().nth(1).unwrap_or("?");
    let path =
        |w: &&str| w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ':');
    let target = line.split(": ").filter_map(|part| part.split_whitespace().last()).find(path).unwrap_or("?");
    format!("{level} {target}")
}

/// The end of a long log, for failure messages.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
