//! The `trimtab` binary in scripts (issue 17, point 2): one `--format table|json` on every
//! command that prints, a quiet exit 0 when stdout's reader goes away, shell completions that
//! a real bash loads, man pages that groff reads, `check` that wants to be told what to check,
//! and "did you mean" for misspelt names. Kept apart from `tests/cli.rs`, which is about what
//! the commands say; this file is about how they behave as parts of a pipeline.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/trimtab.toml");
const BIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/big.toml");
const WEB_WEEK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/usage/web-week.csv");
const SUNDAY_NOON: &str = "2026-11-22T12:00:00Z";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trimtab"));
    c.env_remove("TRIMTAB_CONFIG");
    c
}

fn trimtab(args: &[&str]) -> Output {
    bin().args(args).output().expect("the trimtab binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `args` and parses its stdout as one JSON document; exit 0 expected.
fn json_of(args: &[&str]) -> Value {
    let o = trimtab(args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON document: {e}\n{}", stdout(&o)))
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("trimtab-scripting-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// --- one --format on every command that prints ---------------------------------------------

#[test]
fn every_printing_command_documents_the_same_format_flag() {
    let commands = [
        "check",
        "explain",
        "schedule",
        "simulate",
        "cost",
        "rightsize",
        "alarms",
        "health",
        "pause",
        "resume",
        "override",
        "policies",
        "status",
        "history",
    ];
    for c in commands {
        let help = stdout(&trimtab(&[c, "-h"]));
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with("--format"))
            .unwrap_or_else(|| panic!("{c}: no --format\n{help}"));
        assert!(line.contains("--format <FORMAT>"), "{c}: {line}");
        assert!(
            help.contains("Output format: a table for people, or one JSON document on stdout for scripts"),
            "{c}"
        );
        assert!(
            help.contains("[default: table]") && help.contains("[possible values: table, json]"),
            "{c}:\n{help}"
        );
    }
}

#[test]
fn check_json_says_ok_with_the_summary_or_lists_each_problem_located() {
    let v = json_of(&["check", "--config", EXAMPLE, "--format", "json"]);
    assert_eq!((&v["ok"], &v["file"], &v["problems"]), (&json!(true), &json!(EXAMPLE), &json!([])));
    let summary = v["summary"].as_str().unwrap();
    assert!(summary.starts_with("service prod/web, template web-balanced, 4 metrics"), "{summary}");
    // The text form is the same summary after `ok: FILE: `.
    assert_eq!(stdout(&trimtab(&["check", "--config", EXAMPLE])), format!("ok: {EXAMPLE}: {summary}\n"));

    let dir = temp_dir("check-json");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[scaling]\nmin = 9\nmax = 3\ntemplate = \"web-balancd\"\n").unwrap();
    let bad = bad.to_str().unwrap();
    let o = trimtab(&["check", "--config", bad, "--format", "json"]);
    assert_eq!(o.status.code(), Some(2), "a bad config exits 2 in JSON too");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((&v["ok"], &v["summary"]), (&json!(false), &Value::Null));
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{v:#}");
    assert_eq!(
        problems[0],
        json!({"file": bad, "line": 2, "column": 1, "key": "scaling.min", "message": "min (9) must not exceed max (3)"})
    );
    assert_eq!((&problems[1]["line"], &problems[1]["key"]), (&json!(4), &json!("scaling.template")));
    assert_eq!(stderr(&o), "error: 2 problems in config\n");
    // A file that cannot be read is a problem without a line.
    let o = trimtab(&["check", "--config", "/nonexistent/t.toml", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (&v["problems"][0]["file"], &v["problems"][0]["line"]),
        (&json!("/nonexistent/t.toml"), &Value::Null)
    );
    assert!(
        v["problems"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot read config file /nonexistent/t.toml: ")
    );
}

#[test]
fn schedule_policies_explain_and_simulate_print_json() {
    let v = json_of(&[
        "schedule",
        "--config",
        EXAMPLE,
        "--from",
        "2026-03-27T00:00:00Z",
        "--days",
        "4",
        "--format",
        "json",
    ]);
    assert_eq!((&v["timezone"], &v["bounds"]), (&json!("Europe/Berlin"), &json!({"min": 2, "max": 20})));
    let opens = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["at"] == "2026-03-30T06:00:00Z")
        .expect("Monday 08:00 CEST");
    assert_eq!(opens["local"], "2026-03-30T08:00:00+02:00");
    assert_eq!((&opens["min"], &opens["max"], &opens["pinned"]), (&json!(6), &json!(30), &Value::Null));
    assert!(opens["window"].is_string());

    let v = json_of(&["policies", "--format", "json"]);
    let names: Vec<&str> =
        v["templates"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "web-balanced",
            "web-aggressive",
            "api-performance",
            "batch-cost-optimized",
            "ml-gpu",
            "dev-minimal"
        ]
    );
    let v = json_of(&["policies", "web-aggressive", "--format", "json"]);
    assert_eq!(v["file"], "policies/web-aggressive.toml");
    assert!(v["toml"].as_str().unwrap().contains("scale_out_tolerance = 0.10"));

    let v = json_of(&[
        "explain",
        "--config",
        EXAMPLE,
        "--current",
        "4",
        "--at",
        SUNDAY_NOON,
        "-m",
        "cpu=95",
        "--format",
        "json",
    ]);
    assert_eq!(v["current"], 4);
    let v = json_of(&["simulate", "--template", "web-balanced", "--format", "json"]);
    assert_eq!(v["runs"][0]["name"], "trimtab (web-balanced)");
}

#[test]
fn rightsize_takes_table_json_and_the_old_text() {
    let args = ["rightsize", "--config", BIG, "--history", WEB_WEEK];
    let table = stdout(&trimtab(&args));
    let text = trimtab(&[&args[..], &["--format", "text"]].concat());
    assert_eq!(text.status.code(), Some(0), "`--format text` still works: {}", stderr(&text));
    assert_eq!(stdout(&text), table);
    assert_eq!(stdout(&trimtab(&[&args[..], &["--format", "table"]].concat())), table);
    let v = json_of(&[&args[..], &["--format", "json"]].concat());
    assert_eq!(v["recommended"], true);
}

/// A one-shot HTTP server on loopback answering every request with `status` and `body`.
fn http_once(status: &str, body: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let status = status.to_owned();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        std::io::Write::write_all(&mut conn, answer.as_bytes()).unwrap();
    });
    addr
}

#[test]
fn health_json_wraps_the_agents_answer() {
    let addr = http_once("200 OK", r#"{"status":"ok","ticks":3}"#);
    let v = json_of(&["health", "--addr", &addr, "--format", "json"]);
    assert_eq!(
        v,
        json!({"url": format!("http://{addr}/healthz"), "http_status": 200, "healthy": true, "response": {"status": "ok", "ticks": 3}})
    );
    let addr = http_once("503 Service Unavailable", r#"{"status":"stalled"}"#);
    let o = trimtab(&["health", "--addr", &addr, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "unhealthy still exits 1");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((&v["healthy"], &v["response"]["status"]), (&json!(false), &json!("stalled")));
}

// --- a closed pipe is a quiet end ------------------------------------------------------------

/// Commands whose output a reader may cut short.
const PRINTERS: &[&[&str]] = &[
    &["cost", "--config", EXAMPLE, "--format", "json"],
    &["cost", "--config", EXAMPLE],
    &["simulate", "--format", "json"],
    &["simulate", "--compare"],
    &["policies"],
    &["policies", "web-balanced", "--format", "json"],
    &["explain", "--current", "4", "-m", "cpu=95", "--format", "json"],
    &["schedule", "--config", EXAMPLE, "--format", "json"],
    &["check", "--example", "--format", "json"],
    &["completions", "bash"],
    &["man"],
];

/// A pipe whose reader is gone before the command starts: every write fails with EPIPE.
#[test]
fn a_reader_gone_before_the_first_line_ends_each_command_quietly_with_0() {
    for args in PRINTERS {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = bin().args(*args).stdout(writer).stderr(Stdio::piped()).output().unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{args:?} exits 0 on a closed pipe; stderr:\n{err}");
        assert!(!err.contains("panicked") && !err.contains("error"), "{args:?}:\n{err}");
    }
}

/// More than a pipe holds (64 KiB on Linux): a command printing this much is still writing when
/// a reader that took one line goes, so its next write meets the closed pipe.
const PIPE_BUFFER: usize = 64 * 1024;

/// `trimtab … | head -1`: the reader takes one line and goes.
#[test]
fn a_reader_that_takes_one_line_and_goes_ends_the_command_quietly() {
    let year_of_windows = ["schedule", "--days", "366", "--format", "json"];
    let whole = trimtab(&year_of_windows).stdout.len();
    assert!(whole > PIPE_BUFFER, "{year_of_windows:?} prints {whole} bytes, which a pipe holds whole");
    for args in [
        &["cost", "--config", EXAMPLE, "--format", "json"][..],
        &["simulate", "--compare", "--format", "json"],
        &["policies"],
        &year_of_windows,
    ] {
        let mut child = bin().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "{args:?} printed nothing");
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
}

// --- completions and man pages ---------------------------------------------------------------

#[test]
fn bash_loads_the_completion_script_and_completes_a_subcommand() {
    let dir = temp_dir("completions");
    let script = dir.join("trimtab.bash");
    let o = trimtab(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::write(&script, &o.stdout).unwrap();
    // As a user's shell would: source it, see it registered, then ask for `trimtab sim<TAB>`.
    let probe = format!(
        "source {script:?} && complete -p trimtab && COMP_WORDS=(trimtab sim) && COMP_CWORD=1 \
         && COMP_LINE='trimtab sim' && COMP_POINT=11 && _trimtab trimtab sim trimtab && echo \"reply: ${{COMPREPLY[*]}}\"",
        script = script.display()
    );
    let Some(o) = run_tool("bash", &["--norc", "--noprofile", "-c", &probe]) else { return };
    let out = stdout(&o);
    assert!(o.status.success(), "{}\n{}", out, stderr(&o));
    assert!(out.lines().any(|l| l.starts_with("complete ") && l.ends_with(" trimtab")), "{out}");
    let reply = out.lines().find_map(|l| l.strip_prefix("reply: ")).unwrap_or_default();
    assert_eq!(reply.split_whitespace().collect::<Vec<_>>(), ["simulate"], "{out}");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let o = trimtab(&["completions", shell]);
        assert!(o.status.success() && stdout(&o).contains("simulate"), "{shell}: {}", stderr(&o));
    }
}

/// Runs `tool` with `args`; `None` (and a note) when it is not installed, unless
/// TRIMTAB_REQUIRE_MAN_TOOLS=1 (set it where groff, man and bash must be there, as in CI).
fn run_tool(tool: &str, args: &[&str]) -> Option<Output> {
    match Command::new(tool).args(args).output() {
        Ok(o) => Some(o),
        Err(e) if std::env::var("TRIMTAB_REQUIRE_MAN_TOOLS").as_deref() != Ok("1") => {
            eprintln!("skipped: {tool} is not runnable here ({e}); install it to run this check");
            None
        }
        Err(e) => panic!("{tool} is required (TRIMTAB_REQUIRE_MAN_TOOLS=1): {e}"),
    }
}

/// `groff -k -man -z -ww FILE`: the page read as UTF-8 (`-k`, as man does), no output, every
/// warning; a clean page says nothing on stderr.
fn groff_is_quiet(page: &Path) -> Option<String> {
    let o = run_tool("groff", &["-k", "-man", "-z", "-ww", page.to_str().unwrap()])?;
    assert!(o.status.success(), "{}: groff failed: {}", page.display(), stderr(&o));
    Some(stderr(&o))
}

#[test]
fn the_man_pages_are_clean_roff_one_per_command() {
    let dir = temp_dir("man");
    let page = dir.join("stdout.1");
    let o = trimtab(&["man"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let roff = stdout(&o);
    assert!(roff.starts_with(".ie \\n(.g .ds Aq") || roff.contains(".TH trimtab 1"), "{roff}");
    assert!(roff.contains("simulate") && roff.contains("completions"), "the page lists the commands");
    std::fs::write(&page, &o.stdout).unwrap();
    if let Some(warnings) = groff_is_quiet(&page) {
        assert_eq!(warnings, "", "groff warns about trimtab man");
    }
    if let Some(o) = run_tool("man", &["--warnings", "-l", page.to_str().unwrap()]) {
        assert!(o.status.success(), "man -l: {}", stderr(&o));
        assert!(!stderr(&o).contains("warning"), "man --warnings: {}", stderr(&o));
        assert!(stdout(&o).contains("Autoscaling agent for Amazon ECS"), "{}", stdout(&o));
    }

    let pages = dir.join("pages");
    let o = trimtab(&["man", "--out", pages.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut want = trimtab::cli::docs::page_names();
    assert!(stdout(&o).starts_with(&format!("wrote {} man pages to ", want.len())), "{}", stdout(&o));
    let mut written: Vec<String> =
        std::fs::read_dir(&pages).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    written.sort();
    want.sort();
    assert_eq!(written, want);
    assert!(
        written.contains(&"trimtab-simulate.1".to_owned()) && written.contains(&"trimtab-man.1".to_owned()),
        "{written:?}"
    );
    for name in &written {
        let text = std::fs::read_to_string(pages.join(name)).unwrap();
        assert!(text.contains(".TH "), "{name}");
        if let Some(warnings) = groff_is_quiet(&pages.join(name)) {
            assert_eq!(warnings, "", "groff warns about {name}");
        }
    }
    let simulate = std::fs::read_to_string(pages.join("trimtab-simulate.1")).unwrap();
    assert!(simulate.contains("fit\\-peak"), "the command's page has its flags");
}

// --- check needs to be told what to check ------------------------------------------------------

#[test]
fn check_without_a_config_says_what_to_pass_and_exits_2() {
    let o = trimtab(&["check"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for want in ["--config FILE", "TRIMTAB_CONFIG", "--example"] {
        assert!(err.contains(want), "{want:?} missing in {err}");
    }
    assert_eq!(stdout(&o), "", "nothing was checked");
    let o = trimtab(&["check", "--example"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("ok: <embedded examples/trimtab.toml>: service prod/web"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        trimtab(&["check", "--example", "--config", EXAMPLE]).status.code(),
        Some(2),
        "one or the other"
    );
    // The config in the environment, as a task definition passes it.
    let o = bin().args(["check"]).env("TRIMTAB_CONFIG", "[scaling]\nmin = 9\nmax = 3\n").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("$TRIMTAB_CONFIG:2:1: scaling.min: min (9) must not exceed max (3)"),
        "{}",
        stderr(&o)
    );
    let text = std::fs::read_to_string(EXAMPLE).unwrap();
    let o = bin().args(["check"]).env("TRIMTAB_CONFIG", text).output().unwrap();
    assert!(stdout(&o).starts_with("ok: $TRIMTAB_CONFIG: service prod/web"), "{}", stdout(&o));
    // Other commands still fall back to the embedded example (the README relies on it).
    let o = trimtab(&["explain", "--current", "4", "-m", "cpu=50"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

// --- did you mean ------------------------------------------------------------------------------

#[test]
fn misspelt_metric_and_template_names_get_a_suggestion() {
    let o = trimtab(&["explain", "--current", "4", "-m", "cpuu=90"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "--metric cpuu: unknown metric \"cpuu\"; did you mean \"cpu\"? known: cpu, memory, latency_p95_ms, error_rate_pct"
        ),
        "{}",
        stderr(&o)
    );
    let o = trimtab(&["explain", "--current", "4", "-m", "requests=90"]);
    assert!(!stderr(&o).contains("did you mean"), "no guess for an unrelated name: {}", stderr(&o));

    let guess = "unknown template \"web-balancd\"; did you mean \"web-balanced\"? known: web-balanced, web-aggressive,";
    let o = trimtab(&["simulate", "--template", "web-balancd"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(&format!("--template web-balancd: {guess}")), "{}", stderr(&o));
    let o = trimtab(&["policies", "web-balancd"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(guess), "{}", stderr(&o));

    let dir = temp_dir("did-you-mean");
    let path = dir.join("typo.toml");
    std::fs::write(&path, "[agent]\ninterval = \"15s\"\n\n[scaling]\ntemplate = \"web-agresive\"\n").unwrap();
    let o = trimtab(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let want = format!(
        "{}:5:1: scaling.template: unknown template \"web-agresive\"; did you mean \"web-aggressive\"? known templates:",
        path.display()
    );
    assert!(stderr(&o).starts_with(&want), "{}", stderr(&o));
}
