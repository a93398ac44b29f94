//! `trimtab run --local` as a newcomer runs it: no AWS, no config or only `[agent]`; the local
//! API (health, status, Prometheus metrics, history, override with a bearer token) and a clean
//! stop on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const TOKEN: &str = "s3cret-token-for-tests";

#[path = "common/local_agent.rs"]
mod local_agent;
#[path = "common/promtool.rs"]
mod promtool;

use local_agent::{BIN, LocalAgent as Agent, free_port};
use promtool::promtool_check;

fn start() -> Agent {
    Agent::start("local", |port| {
        format!(
            "[agent]\ninterval = \"1s\"\nlisten = \"127.0.0.1:{port}\"\napi_token = \"{TOKEN}\"\n\
             [local]\nsample_interval = \"1s\"\n[pools.jobs]\ncapacity = 10\n"
        )
    })
}

impl Agent {
    async fn get(&self, p: &str) -> (u16, String) {
        let r = self.http.get(format!("{}{p}", self.base)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// `POST /override` with `body`, with a bearer token if given; the status and the body.
    async fn post_override(&self, token: Option<&str>, body: &Value) -> (u16, String) {
        let mut req =
            self.http.post(format!("{}/override", self.base)).header("content-type", "application/json");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.body(body.to_string()).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

#[tokio::test]
async fn local_mode_serves_its_api_takes_overrides_and_stops_on_sigterm() {
    let mut a = start();
    let s = a.poll("/status", 15, "two ticks", |v| v["ticks"].as_u64() >= Some(2)).await;
    assert_eq!(s["mode"], "local");
    assert_eq!(s["role"]["role"], "sole");
    let d = &s["last"]["decision"];
    assert!(d["reason"].is_string(), "{s}");
    let metrics: Vec<&str> =
        d["score"]["contributions"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(metrics, ["cpu", "memory"], "the template's ECS metrics are read from this host");
    assert_eq!(
        s["last"]["decision"]["score"]["contributions"][1]["status"], "ok",
        "memory is read at once: {s}"
    );
    // The policy the decisions are read against, with the missing-data rule in words (issue 13).
    let p = &s["policy"];
    assert_eq!(
        (p["scale_out_above"].as_f64(), p["scale_in_below"].as_f64()),
        (Some(1.08), Some(0.90)),
        "{p}"
    );
    assert_eq!(p["on_missing_data"], "hold");
    assert_eq!(
        p["on_missing_data_means"],
        "scale out on what is usable; never scale in while anything is missing"
    );
    assert_eq!(p["metrics"][0]["target_type"], "utilization", "{p}");

    let (code, body) = a.get("/healthz").await;
    assert_eq!(code, 200, "{body}");

    let (code, text) = a.get("/metrics").await;
    assert_eq!(code, 200);
    for family in [
        "trimtab_ticks_total",
        "trimtab_decision_desired_tasks",
        "trimtab_metric_value{metric=\"memory\"}",
        "trimtab_leader 1",
        "trimtab_pool_capacity{pool=\"jobs\",unit=\"units\"} 10",
        "trimtab_local_alerts_active 0",
    ] {
        assert!(text.contains(family), "{family} missing from:\n{text}");
    }
    promtool_check(&text);

    // The local monitor has sampled this machine's cgroup (or the host, outside one).
    let (code, body) = a.get("/local").await;
    assert_eq!(code, 200, "{body}");
    let local: Value = serde_json::from_str(&body).unwrap();
    assert!(local["latest"]["at"].is_string(), "{local}");
    assert!(local["windows"]["1m"]["memory_bytes"]["samples"].as_u64() >= Some(1), "{local}");
    assert!(
        local["alerts"]["thresholds"].as_array().is_some_and(|t| t.len() == 2),
        "cpu and memory: {local}"
    );

    // Overrides need the token.
    let body = serde_json::json!({ "desired": 3, "reason": "load test", "expires_in": "10m" });
    assert_eq!(a.post_override(None, &body).await.0, 401);
    assert_eq!(a.post_override(Some("wrong-token-wrong-token"), &body).await.0, 401);
    let bad = serde_json::json!({ "desired": -1, "reason": "x", "expires_in": "10m" });
    let (code, text) = a.post_override(Some(TOKEN), &bad).await;
    assert_eq!(code, 400);
    assert!(text.contains("desired: must be a whole number >= 0"), "{text}");
    assert_eq!(a.post_override(Some(TOKEN), &body).await.0, 202);
    let s = a.poll("/status", 10, "the override to apply", |v| v["last"]["service"]["desired"] == 3).await;
    assert_eq!(s["manual_override"]["reason"], "load test", "{s}");
    assert_eq!(s["last"]["decision"]["reason"], "override");

    let (_, history) = a.get("/history").await;
    let h: Value = serde_json::from_str(&history).unwrap();
    assert!(h["ticks"].as_array().unwrap().len() >= 3);
    assert!(h["actions"].as_array().unwrap().iter().any(|x| x["reason"] == "override"), "{history}");

    let sent = Instant::now();
    let kill = Command::new("kill").args(["-TERM", &a.child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let status = loop {
        if let Some(s) = a.child.try_wait().unwrap() {
            break s;
        }
        assert!(sent.elapsed() < Duration::from_secs(5), "did not stop within 5 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn run_local_once_needs_no_config_and_shows_the_decision() {
    let out = Command::new(BIN).args(["run", "--local", "--once"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("service: desired 1, running 1, pending 0"), "{stdout}");
    assert!(stdout.contains("decision: "), "{stdout}");
    assert!(stdout.contains("\naction: "), "{stdout}");
}

#[test]
fn run_without_config_or_local_is_a_usage_error() {
    let out = Command::new(BIN).args(["run"]).env_remove("TRIMTAB_CONFIG").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("trimtab run needs --config FILE, the config's TOML in $TRIMTAB_CONFIG, or --local")
    );
}

/// Task definitions without volumes pass the whole config in `TRIMTAB_CONFIG`.
#[test]
fn the_config_can_come_from_the_environment() {
    let text = "[agent]\ninterval = \"2s\"\n[scaling]\nmin = 2\nmax = 5\n";
    let out =
        Command::new(BIN).args(["run", "--local", "--once"]).env("TRIMTAB_CONFIG", text).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("service: desired 2, running 2"),
        "min 2 from the environment's config: {stdout}"
    );

    // A bad config there is located like a file's, and nothing runs.
    let bad = "[agent]\ninterval = \"soon\"\n";
    let out = Command::new(BIN).args(["run", "--once"]).env("TRIMTAB_CONFIG", bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("$TRIMTAB_CONFIG:2:1: agent.interval:"), "{stderr}");

    // `trimtab health` asks the address the environment's config listens on.
    let port = free_port();
    let listen = format!("[agent]\nlisten = \"127.0.0.1:{port}\"\n");
    let out = Command::new(BIN).arg("health").env("TRIMTAB_CONFIG", listen).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "nothing listens there");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("127.0.0.1:{port}/healthz")));
}

/// Issue 14: an API that other hosts can reach must have a token. The address is one this
/// machine does not have (TEST-NET-1), so even without the check the test never listens beyond
/// loopback; with it, nothing is bound at all.
#[test]
fn issue_14_a_non_loopback_listen_without_a_token_is_refused_at_start() {
    let dir = std::env::temp_dir().join(format!("trimtab-open-listen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("open.toml");
    std::fs::write(&file, "[agent]\nlisten = \"192.0.2.1:9464\"\n").unwrap();
    let mut child = Command::new(BIN)
        .args(["run", "--local", "--config", file.to_str().unwrap()])
        .env_remove("TRIMTAB_API_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("still running after 10 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    for needle in ["agent.listen", "192.0.2.1:9464", "agent.api_token", "TRIMTAB_API_TOKEN"] {
        assert!(stderr.contains(needle), "{needle} missing from: {stderr}");
    }
    assert!(started.elapsed() < Duration::from_secs(5), "refused before the startup work");

    // With the token in the environment it goes on, and fails only to bind an address this
    // machine does not have.
    let out = Command::new(BIN)
        .args(["run", "--local", "--config", file.to_str().unwrap()])
        .env("TRIMTAB_API_TOKEN", "a-token-of-sixteen-or-more")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot listen on 192.0.2.1:9464 (agent.listen)"), "{stderr}");
}
