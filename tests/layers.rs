//! Dependencies between the modules of `src/` point one way (the design's module table):
//! `agent` may use `api` and `status`; `api` may use `status` but never `agent`; `status` is plain
//! data built from `core` values and uses nothing else of the crate. This was once a cycle
//! (`api` read the snapshot out of `agent`, and `agent` built the API's state), so this test reads
//! the sources and fails on any path that reaches back up.

#[path = "common/rust_files.rs"]
mod rust_files;

use std::path::Path;

use rust_files::rust_files;

/// Paths that reach the agent, however they are spelled: `crate::agent`, `trimtab::agent::…`,
/// `super::super::agent::…`.
const AGENT: &[&str] = &["crate::agent", "agent::"];
/// Paths that reach the API.
const API: &[&str] = &["crate::api", "api::"];

/// Lines of code, without comments (a comment may name the agent in prose, e.g. "see
/// `agent::leader`"). A doc link to the agent (`[`crate::agent::…`]`) is still caught by
/// [`links_to`].
fn code(source: &str) -> impl Iterator<Item = (usize, &str)> {
    source.lines().enumerate().filter(|(_, l)| !l.trim_start().starts_with("//")).map(|(i, l)| (i + 1, l))
}

fn names(source: &str, patterns: &[&str]) -> Vec<String> {
    code(source)
        .filter_map(|(n, l)| {
            patterns.iter().find(|p| l.contains(*p)).map(|p| format!("line {n}: `{p}` in {l:?}"))
        })
        .collect()
}

/// `crate::{module}` in a comment: an intra-doc link (``[`crate::agent::run`]``) is a dependency
/// too. (In code, [`names`] finds it.)
fn links_to(source: &str, module: &str) -> Vec<String> {
    let path = format!("crate::{module}");
    source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("//") && l.contains(&path))
        .map(|(i, l)| format!("line {}: `{path}` in {l:?}", i + 1))
        .collect()
}

/// Every `crate::` path in code that does not go to `core` (`status` may use `core` only).
fn outside_core(source: &str) -> Vec<String> {
    code(source)
        .flat_map(|(n, l)| {
            l.match_indices("crate::")
                .filter(move |(i, _)| {
                    let rest = &l[i + "crate::".len()..];
                    let next: String =
                        rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    next != "core"
                })
                .map(move |_| format!("line {n}: a path outside core in {l:?}"))
        })
        .collect()
}

/// `check` over every source file under `src/{module}`, each finding prefixed with its file.
fn scan(module: &str, check: impl Fn(&str) -> Vec<String>) -> Vec<String> {
    let files = rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(module));
    assert!(!files.is_empty(), "found the sources of src/{module}");
    files
        .iter()
        .flat_map(|f| {
            check(&std::fs::read_to_string(f).unwrap())
                .into_iter()
                .map(move |v| format!("{}: {v}", f.display()))
        })
        .collect()
}

#[test]
fn the_api_does_not_reach_into_the_agent() {
    let found = scan("api", |s| [names(s, AGENT), links_to(s, "agent")].concat());
    assert!(
        found.is_empty(),
        "src/api must not use the agent (read src/status instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn status_is_plain_data_over_core() {
    let found = scan("status", |s| {
        [names(s, AGENT), links_to(s, "agent"), names(s, API), links_to(s, "api"), outside_core(s)].concat()
    });
    assert!(found.is_empty(), "src/status may use core only:\n{}", found.join("\n"));
}

#[test]
fn the_scanner_catches_what_it_should() {
    assert!(!names("use crate::agent::snapshot::Snapshot;", AGENT).is_empty());
    assert!(!names("use crate::agent;", AGENT).is_empty());
    assert!(!names("let r: super::super::agent::leader::Role;", AGENT).is_empty());
    assert!(!names("pub fn state() -> crate::api::State {", API).is_empty());
    assert!(!links_to("/// See [`crate::agent::run`].", "agent").is_empty());
    assert!(!outside_core("use crate::config::model::VerticalMode;").is_empty());
    assert!(!outside_core("use crate::{core, notify};").is_empty());
    assert!(!outside_core("use crate::core::Policy; use crate::sources::local::Monitor;").is_empty());
    // Prose about the agent, field names and `core` paths are fine.
    assert!(names("//! filled in by `agent::spend`", AGENT).is_empty());
    assert!(names("let listen = cfg.agent.listen;", AGENT).is_empty());
    assert!(outside_core("use crate::core::cost::{BudgetEvent, NotifyCounters};").is_empty());
}
