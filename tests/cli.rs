//! The `trimtab` binary as a user runs it: exit codes, output, and error locations.

use std::path::PathBuf;
use std::process::{Command, Output};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/trimtab.toml");
const ACCEPTANCE_METRICS: [&str; 8] =
    ["-m", "cpu=95", "-m", "memory=40", "-m", "latency_p95_ms=300", "-m", "error_rate_pct=0.5"];
const IDLE_METRICS: [&str; 8] =
    ["-m", "cpu=1", "-m", "memory=2", "-m", "latency_p95_ms=5", "-m", "error_rate_pct=0"];
/// A Sunday, so the business-hours window of the example is closed.
const SUNDAY_NOON: &str = "2026-11-22T12:00:00Z";

fn trimtab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trimtab")).args(args).output().expect("the trimtab binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes `text` to a fresh temp file and returns its path.
fn temp_config(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("trimtab-cli-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn explain_json(extra: &[&str]) -> serde_json::Value {
    let mut args =
        vec!["explain", "--config", EXAMPLE, "--current", "4", "--at", SUNDAY_NOON, "--format", "json"];
    args.extend_from_slice(extra);
    let o = trimtab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("explain --format json prints JSON")
}

#[test]
fn check_accepts_the_example_and_every_template() {
    let o = trimtab(&["check", "--config", EXAMPLE]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("ok: ") && stdout(&o).lines().count() == 1, "{}", stdout(&o));
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/policies");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let o = trimtab(&["check", "--config", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}: {}", path.display(), stderr(&o));
        n += 1;
    }
    assert_eq!(n, 6);
}

#[test]
fn check_lists_every_syntax_error_with_file_line_col_and_exits_2() {
    let path = temp_config("syntax", "[agent]\ninterval = \"15s\n[service\n");
    let o = trimtab(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let file = path.display().to_string();
    let located: Vec<&str> = err.lines().filter(|l| l.starts_with(&format!("{file}:"))).collect();
    assert!(located.len() >= 2, "all syntax errors listed:\n{err}");
    assert!(located[0].starts_with(&format!("{file}:2:")), "{err}");
}

#[test]
fn check_lists_every_semantic_error_with_key_path_and_exits_2() {
    let text = "[scaling]\nmin = 9\nmax = 3\nscale_out_tolerance = 15\n\n[[schedule]]\nname = \"x\"\ncron = \"0 8 * * MON-FRI\"\nduration = \"10h\"\ntimezone = \"Mars/Olympus\"\nmin = 4\n\n[budget]\nmonthly_usd = 100\nwarn_at = 0.9\ncritical_at = 0.5\n";
    let path = temp_config("semantic", text);
    let o = trimtab(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let file = path.display().to_string();
    for want in [
        format!("{file}:2:1: scaling.min: min (9) must not exceed max (3)"),
        format!("{file}:4:1: scaling.scale_out_tolerance: must be a fraction from 0 to 10"),
        format!("{file}:10:1: schedule[0].timezone: unknown time zone \"Mars/Olympus\""),
        format!("{file}:15:1: budget.warn_at: warn_at ($90.00) must be below critical_at ($50.00)"),
    ] {
        assert!(err.lines().any(|l| l.starts_with(&want)), "missing {want:?} in\n{err}");
    }
    assert!(err.contains("error: 4 problems in config"), "{err}");
}

#[test]
fn explain_recommends_more_tasks_for_the_acceptance_load_and_shows_why() {
    let d = explain_json(&ACCEPTANCE_METRICS);
    assert!(d["desired"].as_u64().unwrap() > 4, "{d}");
    assert_eq!(d["score"]["saturated_by"], "cpu");
    assert_eq!(d["score"]["contributions"].as_array().unwrap().len(), 4);
    assert_eq!(d["steps"][0]["stage"], "scale_out");
    // The table says the same in words.
    let mut args = vec!["explain", "--config", EXAMPLE, "--current", "4", "--at", SUNDAY_NOON];
    args.extend_from_slice(&ACCEPTANCE_METRICS);
    let table = stdout(&trimtab(&args));
    for want in [
        "latency_p95_ms",
        "contribution",
        "score: 1.357",
        "scale out above",
        "77.0%",
        "decision: scale out 4 → 6",
    ] {
        assert!(table.contains(want), "missing {want:?} in\n{table}");
    }
}

#[test]
fn explain_recommends_fewer_tasks_when_idle_or_names_what_held_it() {
    let d = explain_json(&IDLE_METRICS);
    assert!(d["desired"].as_u64().unwrap() < 4, "{d}");
    let mut held = IDLE_METRICS.to_vec();
    held.extend(["--last-scale-out", "45s"]);
    let d = explain_json(&held);
    assert_eq!((d["desired"].as_u64(), d["reason"].as_str()), (Some(4), Some("scale_in_cooldown")), "{d}");
    let mut stabilized = IDLE_METRICS.to_vec();
    stabilized.extend(["--recommended", "3m=5"]);
    let d = explain_json(&stabilized);
    assert_eq!((d["desired"].as_u64(), d["reason"].as_str()), (Some(4), Some("stabilization")), "{d}");
}

#[test]
fn explain_never_scales_in_on_missing_data() {
    let d = explain_json(&["-m", "cpu=1"]);
    assert_eq!((d["desired"].as_u64(), d["reason"].as_str()), (Some(4), Some("missing_data")), "{d}");
}

#[test]
fn explain_inside_business_hours_applies_the_schedule() {
    let o = trimtab(&[
        "explain",
        "--config",
        EXAMPLE,
        "--current",
        "4",
        "--at",
        "2026-11-23T09:00:00+01:00",
        "-m",
        "cpu=35",
        "-m",
        "memory=40",
        "-m",
        "latency_p95_ms=250",
        "-m",
        "error_rate_pct=1",
        "--format",
        "json",
    ]);
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((d["desired"].as_u64(), d["reason"].as_str()), (Some(6), Some("schedule_bounds")), "{d}");
}

#[test]
fn explain_without_config_uses_the_embedded_example() {
    let mut args = vec!["explain", "--current", "4", "--at", SUNDAY_NOON];
    args.extend_from_slice(&ACCEPTANCE_METRICS);
    let o = trimtab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("decision: scale out"), "{}", stdout(&o));
}

#[test]
fn usage_errors_exit_2_with_a_clear_message() {
    let o = trimtab(&["explain", "--current", "4", "-m", "cpuu=3"]);
    assert_eq!(o.status.code(), Some(2));
    let want = "--metric cpuu: unknown metric \"cpuu\"; did you mean \"cpu\"? known: cpu, memory";
    assert!(stderr(&o).contains(want), "{}", stderr(&o));
    let o = trimtab(&["explain", "--current", "4", "-m", "cpu=lots"]);
    assert_eq!(o.status.code(), Some(2));
    let o = trimtab(&["check", "--config", "/nonexistent/trimtab.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read config file /nonexistent/trimtab.toml"), "{}", stderr(&o));
    assert_eq!(trimtab(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn schedule_lists_changes_in_local_and_utc_time_across_dst() {
    let o = trimtab(&["schedule", "--config", EXAMPLE, "--from", "2026-03-27T00:00:00Z", "--days", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "Fri 2026-03-27 08:00 CET   2026-03-27 07:00  6    30",
        "Mon 2026-03-30 08:00 CEST  2026-03-30 06:00  6    30",
        "Mon 2026-03-30 18:00 CEST  2026-03-30 16:00  2    20",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

#[test]
fn policies_lists_the_six_templates_and_prints_one() {
    let out = stdout(&trimtab(&["policies"]));
    assert_eq!(out.lines().count(), 6, "{out}");
    assert!(out.lines().all(|l| l.split_whitespace().count() > 3), "each has a summary:\n{out}");
    let one = trimtab(&["policies", "web-aggressive"]);
    assert!(stdout(&one).contains("scale_out_tolerance = 0.10"));
    assert_eq!(trimtab(&["policies", "nope"]).status.code(), Some(2));
}

#[test]
fn readme_error_sample_is_what_check_prints() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let o = Command::new(env!("CARGO_BIN_EXE_trimtab"))
        .args(["check", "--config", "bad.toml"])
        .current_dir(fixtures)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let readme = include_str!("../README.md");
    let sample =
        readme.split("trimtab check --config bad.toml\n").nth(1).unwrap().split("```").next().unwrap();
    assert_eq!(stderr(&o), sample);
}

#[test]
fn readme_quick_start_output_is_what_explain_prints() {
    let mut args = vec!["explain", "--current", "4"];
    args.extend_from_slice(&["--metric", "cpu=95", "--metric", "memory=40"]);
    args.extend_from_slice(&["--metric", "latency_p95_ms=300", "--metric", "error_rate_pct=0.5"]);
    args.extend_from_slice(&["--at", "2026-11-22T12:00:00Z"]);
    let o = trimtab(&args);
    let readme = include_str!("../README.md");
    let after = readme.split("cargo run -- explain --current 4").nth(1).unwrap();
    let sample = after.split("```text\n").nth(1).unwrap().split("```").next().unwrap();
    assert_eq!(stdout(&o), sample);
}

#[test]
fn simulate_compare_prints_every_controller_and_writes_timeline_and_plot() {
    let dir = std::env::temp_dir().join(format!("trimtab-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (csv, svg) = (dir.join("t.csv"), dir.join("p.svg"));
    let trace = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/traces/azure_llm_conv_2023_1s.csv");
    let o = trimtab(&[
        "simulate",
        "--trace",
        trace,
        "--fit-peak",
        "10",
        "--compare",
        "--timeline",
        csv.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for name in ["trimtab (examples/trimtab.toml)", "aws-target-tracking", "k8s-hpa", "step", "oracle"] {
        assert!(out.lines().any(|l| l.starts_with(name)), "{name} missing:\n{out}");
    }
    let timeline = std::fs::read_to_string(&csv).unwrap();
    let header = timeline.lines().next().unwrap();
    assert!(header.starts_with("t_seconds,load,demand_tasks,desired,running"), "{header}");
    assert!(timeline.lines().count() > 3000, "one row per step");
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.starts_with("<svg") && plot.contains("k8s-hpa running"), "plot shows the baselines");
}

#[test]
fn simulate_json_has_the_metrics_and_the_oracle_is_never_short() {
    let trace =
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/traces/bitbrains_rnd_2013-08_totalcpu_300s.csv");
    let o = trimtab(&[
        "simulate",
        "--trace",
        trace,
        "--fit-peak",
        "30",
        "--max",
        "40",
        "--baseline",
        "k8s-hpa",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs[0]["name"], "k8s-hpa");
    assert_eq!(runs[1]["name"], "oracle");
    assert_eq!(runs[1]["theta_u"], 0.0);
    assert_eq!(runs[1]["cost_vs_oracle"], 1.0);
    assert!(runs[0]["task_hours"].as_f64().unwrap() > 0.0);
}

#[test]
fn simulate_rejects_bad_traces_and_arguments_with_exit_2() {
    let bad = temp_config("badtrace", "t_seconds,value\n0,1\n60,oops\n");
    let o = trimtab(&["simulate", "--trace", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(":3: value \"oops\" is not a number"), "{}", stderr(&o));
    let o = trimtab(&["simulate", "--baseline", "magic"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown baseline \"magic\""), "{}", stderr(&o));
}

#[test]
fn simulate_max_binds_the_policy_not_only_the_world() {
    // web-balanced's own max is 10; with --max 40 trimtab must follow the flash crowd past it.
    let csv = std::env::temp_dir().join(format!("trimtab-max-{}.csv", std::process::id()));
    let o = trimtab(&[
        "simulate",
        "--template",
        "web-balanced",
        "--max",
        "40",
        "--fit-peak",
        "20",
        "--timeline",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv).unwrap();
    let peak = text.lines().skip(1).filter_map(|l| l.split(',').nth(4)?.parse::<u32>().ok()).max();
    assert!(peak.unwrap() > 10, "trimtab stayed within the template's max: {peak:?}");
}

#[test]
fn cost_prints_the_issue_figures_and_compares_a_what_if() {
    let o = trimtab(&["cost", "--config", EXAMPLE, "--tasks", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("per task-hour: $0.024685 = 0.5 vCPU × $0.04048 + 1 GB × $0.004445"), "{out}");
    let at4 = out.lines().find(|l| l.starts_with("at N")).unwrap();
    assert!(at4.contains("$0.09874") && at4.contains("$72.08"), "{at4}");
    let o = trimtab(&[
        "cost",
        "--config",
        EXAMPLE,
        "--tasks",
        "4",
        "--what-if",
        "arch=arm64",
        "--format",
        "json",
    ]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // ARM: 0.5 × 0.03238 + 1 × 0.00356 = 0.01975 per task-hour; 4 × 730 h = 57.67 vs 72.0802.
    assert_eq!(j["what_if"]["per_task_hour"]["total_usd"], "0.01975", "exact dollars");
    assert_eq!(j["monthly_difference_usd"], "-14.4102", "57.67 - 72.0802");
    // The README shows this run.
    let o = trimtab(&["cost", "--tasks", "4", "--what-if", "arch=arm64"]);
    let readme = include_str!("../README.md");
    for line in stdout(&o).lines().filter(|l| !l.is_empty()) {
        assert!(readme.contains(line), "README lacks {line:?}");
    }
    let o = trimtab(&["cost", "--config", EXAMPLE, "--what-if", "cpu=300"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cpu=300 is not a Fargate size"), "{}", stderr(&o));
}

#[test]
fn explain_with_spend_caps_a_scale_out_at_what_the_budget_affords() {
    // The README's example: examples/trimtab.toml with cap = "critical" (tests/docs.rs keeps it so).
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/capped.toml");
    let args = ["explain", "--config", path, "--current", "4", "--at", SUNDAY_NOON, "--spent", "480"];
    let o = trimtab(&[&args[..], &ACCEPTANCE_METRICS[..]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // $20 left for 204 h at $0.024685 per task-hour: 3 tasks; the 4 running are not shrunk.
    assert!(out.starts_with("budget 2026-11: $480.00 of $500.00 spent (level critical)"), "{out}");
    assert!(out.contains("cap at critical: reached, scale-out stops at 3 tasks"), "{out}");
    assert!(out.contains("decision: hold 4 → 4 (reason: budget_capped)"), "{out}");
    // The README shows this run.
    let readme = include_str!("../README.md");
    for line in out
        .lines()
        .filter(|l| l.starts_with("budget") || l.starts_with("decision:") || l.starts_with("  budget cap:"))
    {
        assert!(readme.contains(line), "README lacks {line:?}");
    }
    // Without the cap configured, the same spend only reports.
    let o = trimtab(
        &[
            &["explain", "--config", EXAMPLE, "--current", "4", "--at", SUNDAY_NOON, "--spent", "480"][..],
            &ACCEPTANCE_METRICS[..],
        ]
        .concat(),
    );
    assert!(stdout(&o).contains("cap none: the budget never limits scaling"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("budget_capped"));
}

const WEB_WEEK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/usage/web-week.csv");

/// Writes `text` as `name` in a fresh temp directory (so messages show the file name).
fn temp_file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("trimtab-cli-{}-files", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The example config with a task twice its size, 1024 CPU / 2048 MiB.
/// `examples/big.toml`, the README's oversized task (tests/docs.rs keeps it the example doubled).
fn oversized_example(_name: &str) -> String {
    format!("{}/examples/big.toml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn rightsize_recommends_a_smaller_task_for_the_example_week_and_says_what_it_saves() {
    let config = oversized_example("rightsize-text");
    let o = trimtab(&["rightsize", "--config", &config, "--history", WEB_WEEK]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "prod/web: Fargate Linux x86, 1024 CPU / 2048 MiB in us-east-1\n",
        "2016 rows from 2026-11-09 00:00 to 2026-11-15 23:55 UTC (6 d 23 h 55 min); confidence medium\n",
        "target         512 CPU / 1024 MiB   $0.024685      428 CPU units / 962 MiB\n",
        "observed peak                                      420 CPU units / 810 MiB\n",
        "per 730-h month: $18.02 saving per task, $36.04 saving at 2 tasks\n",
        "  - with a 15% safety margin a task needs 428 CPU units and 962 MiB\n",
        "\nrecommended: set service.cpu = 512 and service.memory = 1024 (or vertical.mode = \"apply\")\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    // The README shows this run, line for line.
    let readme = include_str!("../README.md");
    let shown = readme
        .split("$ trimtab rightsize --config examples/big.toml --history examples/usage/web-week.csv\n")
        .nth(1)
        .and_then(|r| r.split("```").next())
        .expect("the README shows the rightsize example");
    let out_as_shown = out.replace(WEB_WEEK, "examples/usage/web-week.csv");
    assert_eq!(shown, out_as_shown, "README's rightsize example differs from what the command prints");
    let o = trimtab(&["rightsize", "--config", &config, "--history", WEB_WEEK, "--tasks", "5"]);
    assert!(stdout(&o).contains("$18.02 saving per task, $90.10 saving at 5 tasks"), "{}", stdout(&o));
    // The example as shipped already runs 512 CPU / 1024 MiB: the week gives no reason to change.
    let out = stdout(&trimtab(&["rightsize", "--config", EXAMPLE, "--history", WEB_WEEK]));
    assert!(out.contains("per 730-h month: no difference per task, no difference at 2 tasks"), "{out}");
    assert!(out.ends_with("\nnot recommended: keep 512 CPU / 1024 MiB; 512 CPU / 1024 MiB lies within the bounds; 512 CPU / 1024 MiB differs from 512 CPU / 1024 MiB by only 0%, under the 10% worth a redeploy\n"), "{out}");
}

#[test]
fn rightsize_json_has_the_sizing_the_floor_and_the_total() {
    let config = oversized_example("rightsize-json");
    let o = trimtab(&["rightsize", "--config", &config, "--history", WEB_WEEK, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("rightsize --format json prints JSON");
    assert_eq!(v["target"], serde_json::json!({ "cpu": 512, "memory": 1024 }));
    assert_eq!(v["floor"], serde_json::json!({ "cpu": 420.0, "memory": 810.0 }));
    assert_eq!((v["recommended"].as_bool(), v["tasks"].as_u64()), (Some(true), Some(2)));
    // Exact dollars: $18.02005 a task, × 2.
    assert_eq!(v["monthly_difference_per_task_usd"], "18.02005");
    assert_eq!(v["monthly_difference_total_usd"], "36.0401");
    assert_eq!(v["reasons"].as_array().unwrap().len(), 5, "{v}");
}

#[test]
fn rightsize_names_the_file_line_and_column_of_a_bad_csv_value() {
    let csv = temp_file("web.csv", "timestamp,cpu_units,memory_mib\n1700000000,10,600\n1700000300,x1,600\n");
    let o = trimtab(&["rightsize", "--config", EXAMPLE, "--history", &csv]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), format!("error: {csv}:3: cpu_units: \"x1\" is not a number\n"));
    assert_eq!(stdout(&o), "", "nothing printed half");
}

#[test]
fn rightsize_without_the_current_size_says_what_to_set() {
    let csv = temp_file("size.csv", "timestamp,cpu_units,memory_mib\n1700000000,10,600\n");
    let ec2 = temp_config(
        "rightsize-ec2",
        "[service]\ncluster = \"prod\"\nname = \"web\"\nlaunch_type = \"ec2\"\n",
    );
    let o = trimtab(&["rightsize", "--config", ec2.to_str().unwrap(), "--history", &csv]);
    assert_eq!(o.status.code(), Some(2));
    let want =
        ": rightsize needs the task's current size: set service.cpu (CPU units) and service.memory (MiB)\n";
    assert!(stderr(&o).ends_with(want), "{}", stderr(&o));
    let none = temp_config("rightsize-none", "");
    let o = trimtab(&["rightsize", "--config", none.to_str().unwrap(), "--history", &csv]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).ends_with(": rightsize sizes the [service] task: add a [service] section\n"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn rightsize_with_half_an_hour_of_history_says_how_much_it_needs() {
    let rows: String = (0..7).map(|i| format!("{},100,600\n", 1_700_000_000 + 300 * i)).collect();
    let csv = temp_file("short.csv", &format!("timestamp,cpu_units,memory_mib\n{rows}"));
    let o = trimtab(&["rightsize", "--config", EXAMPLE, "--history", &csv]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let want = format!(
        "too little history to right-size: {csv} covers 0.5 h with 7 CPU samples; \
         a recommendation needs at least 1 h and 10 CPU samples\n"
    );
    assert_eq!(stdout(&o), want);
}

/// Issue 13, reproduction 2, end to end: the SQS worker example sizes on its backlog as a fleet
/// total (1,000 messages at 100 per task is 10 tasks, not 154) and wakes from zero.
#[test]
fn the_sqs_worker_example_sizes_on_its_backlog_and_wakes_from_zero() {
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sqs-worker.toml");
    assert!(trimtab(&["check", "--config", cfg]).status.success());
    let explain = |current: &str, backlog: &str| {
        let metric = format!("backlog={backlog}");
        stdout(&trimtab(&["explain", "--config", cfg, "--current", current, "--metric", &metric]))
    };
    let busy = explain("10", "1000");
    assert!(busy.contains("1000.00 / 100.00 per task → 10"), "{busy}");
    assert!(busy.contains("decision: hold 10 → 10 (reason: within_tolerance)"), "{busy}");
    assert!(explain("4", "1000").contains("decision: scale out 4 → 10"));
    assert!(explain("0", "60").contains("decision: scale out 0 → 1 (reason: scale_out)"));
    assert!(explain("0", "0").contains("decision: hold 0 → 0 (reason: activation)"));
}

/// Issue 13: a config written for the old score scale is refused with what to write instead.
#[test]
fn check_says_what_to_write_for_the_old_band_keys() {
    let path = temp_config("oldband", "[scaling]\nscale_out_threshold = 0.7\nscale_in_threshold = 0.3\n");
    let o = trimtab(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("scaling.scale_out_threshold: thresholds are now ratios to each metric's target"),
        "{err}"
    );
    assert!(err.contains("write scale_out_tolerance = 0.077 and scale_in_tolerance = 0.1"), "{err}");
}

/// Issue 13: `target = 70` holds CPU near 70 where the load allows, and the README's "Holding a
/// target" figures are what the simulator prints for the config it shows.
#[test]
fn a_cpu_target_of_70_is_held_near_70_and_the_readme_says_so() {
    let path = temp_config(
        "tt70",
        "[scaling]\nmin = 1\nmax = 40\n[[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 70.0\n",
    );
    let cfg = path.to_str().unwrap();
    let mean_cpu = |args: &[&str]| -> Vec<(String, f64)> {
        let o = trimtab(&[&["simulate", "--config", cfg, "--format", "json"][..], args].concat());
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let runs = v["runs"].as_array().unwrap();
        runs.iter()
            .map(|r| (r["name"].as_str().unwrap().to_owned(), r["mean_cpu"].as_f64().unwrap()))
            .collect()
    };
    let wiki = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/traces/wikipedia_allprojects_2009_3600s.csv");
    let smooth = mean_cpu(&["--trace", wiki, "--fit-peak", "20"]);
    assert!((65.0..=75.0).contains(&smooth[0].1), "{smooth:?}");
    let nasa = mean_cpu(&["--fit-peak", "20", "--compare"]);
    let readme = include_str!("../README.md");
    let section = readme.split("### Holding a target").nth(1).unwrap().split("\n## ").next().unwrap();
    let figures = [("trimtab", smooth[0].1), ("trimtab", nasa[0].1), ("oracle", nasa[4].1)];
    for (who, v) in figures.iter().chain([("target tracking", nasa[1].1), ("HPA", nasa[2].1)].iter()) {
        assert!(section.contains(&format!("{v:.1}%")), "README lacks {who} {v:.1}% in\n{section}");
    }
    // On NASA no controller holds 70%: the oracle, never short, sets the ceiling.
    assert!(nasa.iter().all(|(_, c)| *c < nasa[4].1 + 2.0), "{nasa:?}");
}

/// Issue 14: absurd input to the CLI is an error with exit 2, never a panic (exit 101).
#[test]
fn absurd_numbers_exit_2_with_a_message() {
    let o = trimtab(&["explain", "--current", "4", "--metric", "cpu=50", "--last-scale-in", "100000000000d"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is too long: at most 36500d (100 years)"), "{}", stderr(&o));
    let path = temp_config("maxtasks", "[scaling]\nmax = 4294967295\n");
    let o = trimtab(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("scaling.max: must be a whole number from 1 to 10000, got 4294967295"),
        "{}",
        stderr(&o)
    );
}

/// Issue 14, defect 9: `check` accepted an empty config that `run` then refused with exit 1.
/// Now `check` says what `run` needs, and `run` refuses it as a usage error.
#[test]
fn check_says_what_run_needs_and_run_refuses_with_exit_2() {
    let path = temp_config("empty", "");
    let path = path.to_str().unwrap();
    let check = stdout(&trimtab(&["check", "--config", path]));
    assert!(
        check.contains("no [service] (fine for explain and simulate; `trimtab run` needs one, or --local)"),
        "{check}"
    );
    let o = trimtab(&["run", "--once", "--config", path]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`trimtab run` needs a [service] section"), "{}", stderr(&o));
}

/// Issue 15: a controller config checks as one, and `run` refuses to join a controller service
/// from outside ECS (it could not be one of its members) before any AWS call.
#[test]
fn a_controller_config_checks_and_will_not_join_its_service_from_outside_ecs() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/controller.toml");
    let o = trimtab(&["check", "--config", example]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with(
            ": controller (shares the fleet with the healthy tasks of ops/trimtab-controller), 2 policies \
             (web, worker), 3 listed services, discovery by tag trimtab:policy in prod, staging\n"
        ),
        "{}",
        stdout(&o)
    );
    let o = Command::new(env!("CARGO_BIN_EXE_trimtab"))
        .args(["run", "--once", "--config", example])
        .env_remove("ECS_CONTAINER_METADATA_URI_V4")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("this process is not in an ECS task"), "{}", stderr(&o));
}

/// Issue 16: a metric read from every task takes each task's value; explain combines them as the
/// agent does and names the hottest task. A service-wide metric refuses several values.
#[test]
fn explain_combines_each_tasks_value_and_names_the_hottest() {
    let text = "[service]\ncluster = \"prod\"\nname = \"web\"\nlaunch_type = \"ec2\"\n[scaling]\nmin = 1\nmax = 20\n\
                scale_in_stabilization = \"0s\"\n[[scaling.metrics]]\nname = \"jobs\"\nsource = \"pools\"\n\
                pool = \"jobs\"\ntarget = 80\n[[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 65\n\
                [pools.jobs]\ncapacity = 10\n";
    let path = temp_config("per-task", text);
    let path = path.to_str().unwrap();
    let o = trimtab(&["explain", "--config", path, "--current", "4", "-m", "jobs=10,10,100", "-m", "cpu=30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("jobs: 3 tasks, avg 40.000; hottest: task 3 (100.000)\n"), "{out}");
    assert!(out.contains("decision: scale in 4 → 2"), "ceil(4 × 40 / 80) = 2:\n{out}");
    let o = trimtab(&["explain", "--config", path, "--current", "4", "-m", "jobs=10", "-m", "cpu=30,90"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("--metric cpu: 2 values given, but it is one reading for the whole service"),
        "{}",
        stderr(&o)
    );
}

/// Issue 17: an AWS failure reads as the AWS CLI says it, in the log line and in the report,
/// never as a Rust `Debug` dump (`DispatchFailure(DispatchFailure { … })`); the tick's line is
/// in a span naming the service.
#[test]
fn issue_17_an_unreachable_endpoint_is_said_as_the_aws_cli_says_it() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let cfg = temp_config(
        "closed-port",
        "[service]\ncluster = \"c\"\nname = \"web\"\nregion = \"us-east-1\"\n\
         cpu = 256\nmemory = 512\nendpoint_url = \"http://127.0.0.1:1/\"\n",
    );
    let o = Command::new(env!("CARGO_BIN_EXE_trimtab"))
        .args(["run", "--once", "--config", cfg.to_str().unwrap()])
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env_remove("AWS_PROFILE")
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    let line = err
        .lines()
        .find(|l| l.contains("cannot read the service"))
        .unwrap_or_else(|| panic!("no log line for the failed read:\n{err}"));
    assert!(line.contains("could not connect to the endpoint URL \"http://127.0.0.1:1/\""), "{line}");
    assert!(line.contains("tick{service=c/web tick=1}"), "the tick's span names the service: {line}");
    assert!(out.contains("could not connect to the endpoint URL"), "{out}");
    for dump in ["DispatchFailure {", "ConnectorError {", "Some("] {
        assert!(!err.contains(dump) && !out.contains(dump), "a Debug dump ({dump}):\n{err}{out}");
    }
}
