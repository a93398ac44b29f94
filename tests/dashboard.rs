//! The dashboard (`GET /`) in a real browser: a local agent with a pool reservation, the page
//! loaded by headless Chromium, and its DOM and console checked. Skipped when Chromium is not
//! installed, unless TRIMTAB_REQUIRE_CHROMIUM=1 (CI installs it and sets that).
//!
//! The charts (each metric over time, spend against the budget, the time range) and the layout
//! (no element wider than its panel at 1280×800 and 390×844, with four metrics and with six) are
//! checked in a page driven over the DevTools protocol.
//!
//! `TRIMTAB_WRITE_DOCS=1 cargo test --test dashboard` lets the agent run about 20 s first and
//! writes the README's screenshot, `docs/dashboard.png`; otherwise the test takes a throwaway one
//! and checks it has the committed one's size (never its pixels, which change with every run).

use std::path::{Path, PathBuf};

use serde_json::Value;

#[path = "common/browser.rs"]
mod browser;
#[path = "common/local_agent.rs"]
mod local_agent;

use browser::{Page, chromium, console_lines, element, run_chromium};
use local_agent::LocalAgent as Agent;

/// The README's screenshot; its size is the window's.
const SCREENSHOT: &str = "docs/dashboard.png";
const SCREENSHOT_SIZE: (u32, u32) = (1280, 1400);

/// The policy's metrics: the host's CPU and memory, and the pressure on each of `pools` pools
/// (`jobs`, `pool2`, …), so every metric has a reading on any machine.
fn metrics(pools: usize) -> String {
    let mut text = String::from(
        "[scaling]\nmin = 1\nmax = 10\n\
         [[scaling.metrics]]\nname = \"cpu\"\nsource = \"host\"\ntarget = 70\n\
         [[scaling.metrics]]\nname = \"memory\"\nsource = \"host\"\ntarget = 80\nweight = 0.5\n",
    );
    for i in 0..pools {
        let pool = if i == 0 { "jobs".to_owned() } else { format!("pool{}", i + 1) };
        text += &format!(
            "[[scaling.metrics]]\nname = \"{pool}_pressure\"\nsource = \"pools\"\npool = \"{pool}\"\ntarget = 80\n"
        );
        if i > 0 {
            text += &format!("[pools.{pool}]\ncapacity = 10\n");
        }
    }
    text
}

/// `priced`: with a Fargate task size and a budget, so `/cost` answers (the screenshot's set-up);
/// else `/cost` is a 404 and the page says cost tracking is off.
fn start(priced: bool) -> Agent {
    start_with(priced, 2, "dashboard")
}

/// As [`start`], with `metric_count` metrics (at least 3).
fn start_with(priced: bool, metric_count: usize, name: &str) -> Agent {
    Agent::start(name, |port| {
        let mut text = format!(
            "[agent]\ninterval = \"1s\"\nlisten = \"127.0.0.1:{port}\"\n\
             [local]\nsample_interval = \"1s\"\n[pools.jobs]\ncapacity = 10\n"
        );
        if metric_count > 2 {
            text += &metrics(metric_count - 2);
        }
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
    let write_docs = std::env::var_os("TRIMTAB_WRITE_DOCS").is_some_and(|v| v == "1");
    let screenshot_to = write_docs.then(|| PathBuf::from(SCREENSHOT));
    let a = if write_docs { start_with(true, 4, "dashboard") } else { start(false) };
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
    let size = format!("--window-size={},{}", SCREENSHOT_SIZE.0, SCREENSHOT_SIZE.1);
    let (_, log) = run_chromium(browser, &a.dir.join("chromium-profile-2"), &url, &[&shot, &size]);
    let bad = console_lines(&log);
    assert!(bad.is_empty(), "the page logged to the console:\n{}", bad.join("\n"));
    let bytes =
        std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}\n{log}", png.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
        "not a PNG: {} bytes",
        bytes.len()
    );
    assert_eq!(png_size(&bytes), SCREENSHOT_SIZE, "the screenshot is the window's size");
    if screenshot_to.is_some() {
        eprintln!("screenshot written to {} ({} bytes)", png.display(), bytes.len());
    } else {
        let committed = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(SCREENSHOT)).unwrap();
        assert_eq!(
            png_size(&committed),
            SCREENSHOT_SIZE,
            "{SCREENSHOT} is not the test's: rerun with TRIMTAB_WRITE_DOCS=1"
        );
    }
}

/// A PNG's width and height, from its IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!(&png[12..16], b"IHDR", "not a PNG");
    (be(16), be(20))
}

/// Every element of a panel that pokes out of it (beyond a pixel), and the page when it is
/// wider than the window: what a user would see clipped or would have to scroll sideways for.
const OVERFLOWS: &str = r##"(() => {
  const bad = [];
  for (const sec of document.querySelectorAll("main > section")) {
    const r = sec.getBoundingClientRect();
    for (const e of sec.querySelectorAll("*")) {
      if (e.closest("svg") && e.tagName !== "svg") continue;
      const b = e.getBoundingClientRect();
      if (b.width === 0 && b.height === 0) continue;
      if (b.left < r.left - 1 || b.right > r.right + 1) {
        const name = e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && e.className.baseVal === undefined ? "." + e.className : "");
        bad.push(name + " [" + Math.round(b.left) + ", " + Math.round(b.right) + "] outside its panel [" +
          Math.round(r.left) + ", " + Math.round(r.right) + "]: " + (e.textContent || "").slice(0, 40));
      }
    }
  }
  const w = document.documentElement.scrollWidth;
  if (w > innerWidth + 1) bad.push("the page is " + w + " px wide in a " + innerWidth + " px window");
  return bad;
})()"##;

/// The metric charts' names and plotted points, in order.
const METRIC_CHARTS: &str = r##"[...document.querySelectorAll("#metric-charts [data-metric-chart]")].map((e) =>
  [e.dataset.metricChart, Number(e.querySelector("path.value").dataset.points)])"##;

/// Opens the dashboard at `width`×`height` once the agent has ticked a few times, and returns
/// the page with every panel drawn.
fn open(browser: &'static str, a: &Agent, profile: &str, width: u32, height: u32) -> Page {
    let mut page = Page::open(browser, &a.dir.join(profile), &format!("{}/", a.base), width, height);
    page.wait_for(
        "!!document.body && document.body.dataset.loaded === '1' && !!document.querySelector('#spent-line')",
        30,
    );
    assert_eq!(page.eval("document.body.dataset.renderErrors || ''"), "", "a panel failed to render");
    page
}

fn no_overflow(page: &mut Page, what: &str) {
    let bad = page.eval(OVERFLOWS);
    assert_eq!(bad, serde_json::json!([]), "{what}: elements outside their panels");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_charts_show_every_metric_the_budget_and_the_chosen_range() {
    let Some(browser) = chromium() else { return };
    let a = start_with(true, 4, "dashboard-charts");
    a.ticks(8, 30).await;
    let mut page = open(browser, &a, "cdp-wide", 1280, 800);

    // One chart per metric, in the policy's order, each with a point for every tick held.
    let charts = page.eval(METRIC_CHARTS);
    let charts: Vec<(String, u64)> = serde_json::from_value(charts).unwrap();
    let names: Vec<&str> = charts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["cpu", "memory", "jobs_pressure", "pool2_pressure"]);
    // CPU needs two readings; then every metric has a reading at every tick.
    assert!(charts.iter().all(|(_, n)| *n >= 6), "points per metric after 8 ticks: {charts:?}");

    // Spend to date, the forecast and the budget line.
    let budget = page.eval("document.querySelector('#budget-line')?.getAttribute('d') || ''");
    assert!(budget.as_str().unwrap().starts_with('M'), "no budget line: {budget}");
    let spent = page.eval("Number(document.querySelector('#spent-line').dataset.points)");
    assert!(spent.as_u64() >= Some(8), "spent points: {spent}");

    // The range selector: the last 3 s show fewer points; "all" every one again.
    let points =
        "Number(document.querySelector('[data-metric-chart=jobs_pressure] path.value').dataset.points)";
    page.eval("location.hash = 'range=3s'");
    page.wait_for("document.querySelector('[data-metric-chart]') && location.hash === '#range=3s'", 5);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let short = page.eval(points).as_u64().unwrap();
    assert!((1..=5).contains(&short), "3 s of 1 s ticks: {short} points");
    page.eval("document.querySelector('#range [data-range=all]').click()");
    page.wait_for(&format!("{points} > {short}"), 5);
    assert_eq!(
        page.eval("document.querySelector('#range [data-range=all]').getAttribute('aria-pressed')"),
        "true"
    );

    no_overflow(&mut page, "4 metrics at 1280×800");
    drop(page);
    let mut phone = open(browser, &a, "cdp-phone", 390, 844);
    no_overflow(&mut phone, "4 metrics at 390×844");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_metrics_fit_on_a_laptop_and_a_phone() {
    let Some(browser) = chromium() else { return };
    let a = start_with(true, 6, "dashboard-six");
    a.ticks(3, 20).await;
    let mut page = open(browser, &a, "cdp-wide", 1280, 800);
    let charts: Vec<(String, u64)> = serde_json::from_value(page.eval(METRIC_CHARTS)).unwrap();
    assert_eq!(charts.len(), 6, "{charts:?}");
    no_overflow(&mut page, "6 metrics at 1280×800");
    drop(page);
    let mut phone = open(browser, &a, "cdp-phone", 390, 844);
    no_overflow(&mut phone, "6 metrics at 390×844");
}
