//! `src/core/` is pure: no async runtime, AWS, HTTP, environment, file system or clock. This
//! test reads the sources and fails on any such use, so a slip is caught in review and in CI.

#[path = "common/rust_files.rs"]
mod rust_files;

use std::path::Path;

use rust_files::rust_files;

/// Patterns that mean I/O, the environment, or the clock.
const FORBIDDEN: &[&str] = &[
    "tokio",
    "aws_",
    "reqwest",
    "hyper",
    "axum",
    "sysinfo",
    "std::env",
    "env::var",
    "std::fs",
    "std::net",
    "std::process",
    "std::thread",
    "SystemTime",
    "Instant::",
    "Utc::now",
    "Local::now",
    "::now()",
    "rand::",
];

fn violations(source: &str) -> Vec<String> {
    source
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .flat_map(|(i, l)| {
            FORBIDDEN
                .iter()
                .filter(move |p| l.contains(*p))
                .map(move |p| format!("line {}: `{p}` in {l:?}", i + 1))
        })
        .chain(
            source
                .lines()
                .filter(|l| l.contains("use crate::") && !l.contains("use crate::core"))
                .map(|l| format!("imports outside core: {l:?}")),
        )
        .collect()
}

#[test]
fn core_does_no_io_reads_no_env_and_no_clock() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core");
    let files = rust_files(&dir);
    assert!(files.len() >= 6, "found the core sources");
    let found: Vec<String> = files
        .iter()
        .flat_map(|f| {
            violations(&std::fs::read_to_string(f).unwrap())
                .into_iter()
                .map(move |v| format!("{}: {v}", f.display()))
        })
        .collect();
    assert!(found.is_empty(), "src/core must stay pure:\n{}", found.join("\n"));
}

#[test]
fn the_scanner_catches_what_it_should() {
    assert!(!violations("let t = chrono::Utc::now();").is_empty());
    assert!(!violations("use tokio::time::sleep;").is_empty());
    assert!(!violations("let v = std::env::var(\"X\");").is_empty());
    assert!(!violations("use crate::config::Config;").is_empty());
    assert!(violations("// Utc::now() is never called here\nuse crate::core::types::Replicas;").is_empty());
}
