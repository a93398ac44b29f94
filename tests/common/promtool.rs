//! `promtool check metrics` on an exposition, for the tests that read `/metrics`.

use std::process::{Command, Stdio};

/// `promtool check metrics` when promtool is installed (CI installs it and sets
/// TRIMTAB_REQUIRE_PROMTOOL=1, so there the check cannot be skipped).
pub fn promtool_check(text: &str) {
    use std::io::Write;
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(_) if std::env::var("TRIMTAB_REQUIRE_PROMTOOL").is_err() => {
            eprintln!("promtool not installed: exposition format not checked");
            return;
        }
        Err(e) => panic!("promtool required but not runnable: {e}"),
    };
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && report.trim().is_empty(), "promtool check metrics:\n{report}\n{text}");
}
