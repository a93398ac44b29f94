//! The dashboard (`GET /`) in a real browser: a local agent with a pool reservation, the page
//! loaded by headless Chromium, and its DOM and console checked. Skipped when Chromium is not
//! installed, unless TRIMTAB_REQUIRE_CHROMIUM=1 (CI installs it and sets that).
//!
//! `TRIMTAB_DASHBOARD_SCREENSHOT=docs/dashboard.png cargo test --test dashboard` lets the agent
//! run about 20 s first and writes the README's screenshot there.

use std::path::{Path, PathBuf};

use serde_json::Value;

#[path = "common/browser.rs"]
mod browser;
#[path = "common/local_agent.rs"]
mod local_agent;

use browser::{chromium, console_lines, element, run_chromium};
use local_agent::LocalAgent as Agent;

/// `priced`: with a Fargate task size and a budget, so `/cost` answers (the screenshot's set-up);
/// else `/cost` is a 404 and the page says cost tracking is off.
fn start(priced: bool) -> Agent {
    Agent::start("dashboard", |port| {
        let mut text = format!(
            "[agent]\ninterval = \"1s\"\nlisten = \"127.0.0.1:{port}\"\n\
             [local]\nsample_interval = \"1s\"\n[pools.jobs]\ncapacity = 10\n"
        );
        if priced {
            text += "[service]\ncluster = \"demo\"\nname = \"web\"\nregion = \"us-east-1\"\n\
                     launch_type = \"fargate\"\ncpu = 512\nmemory = 1024\n\
                     [budget]\nmonthly_usd = 20.0\nwarn_at = 0.75\ncritical_at = 0.90\n";
        }
        text
    })
}

impl Agent {
    /// Polls `/status` until it shows at least `ticks` ticks, for at most `secs`.
    async fn ticks(&self, ticks: u64, secs: u64) -> Value {
        self.poll("/status", secs, &format!("{ticks} ticks"), |v| v["ticks"].as_u64() >= Some(ticks)).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_renders_a_live_local_agent_in_chromium() {
    let Some(browser) = chromium() else { return };
    let screenshot_to = std::env::var_os("TRIMTAB_DASHBOARD_SCREENSHOT").map(PathBuf::from);
    let a = start(screenshot_to.is_some());
    a.ticks(3, 20).await;

    // A reservation, so the pool has something allocated.
    let r = a
        .http
        .post(format!("{}/pools/jobs/reservations", a.base))
        .header("content-type", "application/json")
        .body(r#"{"amount": 4, "priority": "high", "ttl": "10m", "holder": "dashboard-test"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    if screenshot_to.is_some() {
        // Enough ticks for the chart to show a history.
        a.ticks(20, 60).await;
    }

    let page = a.http.get(format!("{}/", a.base)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert!(page.headers().contains_key("content-security-policy"));

    let url = format!("{}/", a.base);
    let profile = a.dir.join("chromium-profile");
    let (dom, log) = run_chromium(browser, &profile, &url, &["--dump-dom"]);

    let bad = console_lines(&log);
    assert!(bad.is_empty(), "the page logged to the console:\n{}\n\nDOM:\n{dom}", bad.join("\n"));
    assert!(dom.contains("data-loaded=\"1\""), "the page never rendered:\n{dom}\n\nlog:\n{log}");
    assert!(!dom.contains("data-render-errors"), "a section failed to render:\n{dom}");
    let ticks = dom
        .split("data-ticks=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no data-ticks:\n{dom}"));
    assert!(ticks >= 3, "data-ticks={ticks}");

    assert!(element(&dom, "service", "span").contains(">local</span>"), "service name:\n{dom}");
    let metrics = element(&dom, "metrics", "table");
    for m in ["cpu", "memory"] {
        assert!(metrics.contains(&format!("data-metric=\"{m}\"")), "metric {m} missing:\n{metrics}");
        assert!(metrics.contains(&format!(">{m}</td>")), "metric {m} missing:\n{metrics}");
    }
    let pools = element(&dom, "pools", "section");
    assert!(pools.contains("data-pool=\"jobs\""), "pool jobs missing:\n{pools}");
    assert!(pools.contains("data-allocated=\"4\""), "jobs' allocation missing:\n{pools}");
    assert!(pools.contains("4 / 10 units allocated"), "jobs' numbers missing:\n{pools}");
    let chart = element(&dom, "tasks-chart", "svg");
    assert!(chart.contains("<svg"), "no chart:\n{chart}");
    assert!(chart.contains("id=\"line-desired\" d=\"M"), "no desired line:\n{chart}");
    assert!(chart.contains("<path") || chart.contains("<polyline"), "no line in the chart:\n{chart}");
    if screenshot_to.is_some() {
        assert!(element(&dom, "cost", "section").contains("id=\"cost-per-hour\">$0.0"), "cost:\n{dom}");
    } else {
        assert!(element(&dom, "cost", "div").contains("cost tracking off"), "no priced task here:\n{dom}");
    }
    assert!(element(&dom, "decision", "p").contains("id=\"decision-message\""), "{dom}");

    // The screenshot: the README's when asked for, else a throwaway one.
    let png = match &screenshot_to {
        Some(p) if p.is_relative() => Path::new(env!("CARGO_MANIFEST_DIR")).join(p),
        Some(p) => p.clone(),
        None => a.dir.join("dashboard.png"),
    };
    let _ = std::fs::remove_file(&png);
    let shot = format!("--screenshot={}", png.display());
    let (_, log) =
        run_chromium(browser, &a.dir.join("chromium-profile-2"), &url, &[&shot, "--window-size=1280,900"]);
    let bad = console_lines(&log);
    assert!(bad.is_empty(), "the page logged to the console:\n{}", bad.join("\n"));
    let bytes =
        std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}\n{log}", png.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
        "not a PNG: {} bytes",
        bytes.len()
    );
    if screenshot_to.is_some() {
        eprintln!("screenshot written to {} ({} bytes)", png.display(), bytes.len());
    }
}
