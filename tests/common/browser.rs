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

/// The flags every headless run takes: no sandbox or GPU (containers), nothing fetched from
/// the network behind the page's back, no scrollbars in screenshots.
const HEADLESS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
];

/// Runs headless Chromium on `url` with `extra` flags; its stdout and stderr. Killed after 90 s.
pub fn run_chromium(browser: &str, profile: &Path, url: &str, extra: &[&str]) -> (String, String) {
    let mut child = Command::new(browser)
        .args(HEADLESS)
        .args(["--disable-quic", "--virtual-time-budget=8000", "--enable-logging=stderr", "--v=0"])
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

/// A page in headless Chromium driven over the DevTools protocol (`--remote-debugging-pipe`:
/// NUL-terminated JSON messages on the browser's fds 3 and 4, here two FIFOs a shell opens for
/// it), for what a DOM dump cannot tell: layout, clicks, script results.
pub struct Page {
    child: std::process::Child,
    to: std::fs::File,
    from: std::sync::mpsc::Receiver<serde_json::Value>,
    session: String,
    next: u64,
}

impl Page {
    /// Opens `url` in a `width`×`height` window.
    pub fn open(browser: &str, dir: &Path, url: &str, width: u32, height: u32) -> Page {
        std::fs::create_dir_all(dir).unwrap();
        let (fifo_in, fifo_out) = (dir.join("cdp-in"), dir.join("cdp-out"));
        for f in [&fifo_in, &fifo_out] {
            let _ = std::fs::remove_file(f);
            assert!(Command::new("mkfifo").arg(f).status().unwrap().success(), "mkfifo {}", f.display());
        }
        let child = Command::new("sh")
            .args(["-c", r#"exec "$0" "$@" 3<"$CDP_IN" 4>"$CDP_OUT""#, browser])
            .args(HEADLESS)
            .arg("--remote-debugging-pipe")
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg(format!("--window-size={width},{height}"))
            .arg("about:blank")
            .env("CDP_IN", &fifo_in)
            .env("CDP_OUT", &fifo_out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        // The shell opens fd 3 first, then fd 4: open the FIFOs in that order.
        let to = std::fs::OpenOptions::new().write(true).open(&fifo_in).unwrap();
        let mut out = std::fs::File::open(&fifo_out).unwrap();
        let (tx, from) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 65536];
            while let Ok(n) = out.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                while let Some(end) = buf.iter().position(|b| *b == 0) {
                    let msg: Vec<u8> = buf.drain(..=end).collect();
                    if let Ok(v) = serde_json::from_slice(&msg[..end]) {
                        let _ = tx.send(v);
                    }
                }
            }
        });
        let mut page = Page { child, to, from, session: String::new(), next: 0 };
        let target = page.call(None, "Target.createTarget", serde_json::json!({ "url": "about:blank" }));
        let attached = page.call(
            None,
            "Target.attachToTarget",
            serde_json::json!({ "targetId": target["targetId"], "flatten": true }),
        );
        page.session = attached["sessionId"].as_str().unwrap().to_owned();
        let metrics =
            serde_json::json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false });
        page.send("Emulation.setDeviceMetricsOverride", metrics);
        page.send("Page.navigate", serde_json::json!({ "url": url }));
        page
    }

    fn call(&mut self, session: Option<&str>, method: &str, params: serde_json::Value) -> serde_json::Value {
        use std::io::Write;
        self.next += 1;
        let id = self.next;
        let mut msg = serde_json::json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = s.into();
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.from.recv_timeout(left).unwrap_or_else(|_| panic!("no answer to {method} in 30 s"));
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method} failed: {v}");
                return v["result"].clone();
            }
        }
    }

    /// A DevTools command on the page.
    pub fn send(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let session = self.session.clone();
        self.call(Some(&session), method, params)
    }

    /// The value of the JavaScript expression `js` (awaited if a promise).
    pub fn eval(&mut self, js: &str) -> serde_json::Value {
        let params = serde_json::json!({ "expression": js, "returnByValue": true, "awaitPromise": true });
        let r = self.send("Runtime.evaluate", params);
        assert!(r.get("exceptionDetails").is_none(), "{js} threw: {r}");
        r["result"]["value"].clone()
    }

    /// Waits up to `secs` for `js` to be true.
    pub fn wait_for(&mut self, js: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.eval(js) != serde_json::Value::Bool(true) {
            assert!(Instant::now() < deadline, "{js} still not true after {secs} s");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
