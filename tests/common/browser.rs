//! Headless Chromium for the dashboard's tests: found (or the test skipped, unless
//! `TRIMTAB_REQUIRE_CHROMIUM=1`), run on a page, its DOM and console read.

#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `chromium` or `chromium-browser`, if one runs; `None` (with a note) when the test may be
/// skipped.
pub fn chromium() -> Option<&'static str> {
    for name in ["chromium", "chromium-browser"] {
        if Command::new(name).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok() {
            return Some(name);
        }
    }
    assert!(
        std::env::var("TRIMTAB_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
        "TRIMTAB_REQUIRE_CHROMIUM=1 but neither chromium nor chromium-browser runs"
    );
    eprintln!(
        "chromium not installed: the dashboard is not checked in a browser (set TRIMTAB_REQUIRE_CHROMIUM=1 to fail instead)"
    );
    None
}

/// Runs headless Chromium on `url` with `extra` flags; its stdout and stderr. Killed after 90 s.
pub fn run_chromium(browser: &str, profile: &Path, url: &str, extra: &[&str]) -> (String, String) {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=8000",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s:\n{}", err.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(status.success(), "chromium failed ({status}):\n{err}");
    (out, err)
}

/// Lines of Chromium's log that report the page's console messages or uncaught errors, e.g.
/// `[…:INFO:CONSOLE(12)] "message", source: http://127.0.0.1:…/ (12)`.
pub fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("CONSOLE") || l.contains("Uncaught")).collect()
}

/// The element with `id="{id}"` and what follows it, up to the end of its first `</{until}>`.
pub fn element<'a>(dom: &'a str, id: &str, until: &str) -> &'a str {
    let at =
        dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("#{id} missing from the DOM:\n{dom}"));
    let rest = &dom[at..];
    let end = rest.find(&format!("</{until}>")).map_or(rest.len(), |e| e + until.len() + 3);
    &rest[..end]
}
