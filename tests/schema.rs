//! Issue 17 point 3: the config's JSON Schema (`trimtab schema`) is the one description of the
//! config that the committed file, the README's reference and the parser all agree with.
//!
//! - the committed `schema/trimtab.schema.json` is what `trimtab schema` prints;
//! - every key has a description, every table refuses unknown keys;
//! - the README's reference lists exactly the schema's keys, table by table, and the parser
//!   accepts exactly those keys (read from its "unknown field" message);
//! - Python's reference `jsonschema` validator accepts every file of `policies/` and
//!   `examples/`, and rejects a wrong type, an unknown key and a value out of range. It is
//!   installed by `tests/emulators/emulator.sh install jsonschema` (from `.ci/run`, or here on
//!   first use). Without PyPI that test skips loudly, unless `TRIMTAB_REQUIRE_JSONSCHEMA` is set
//!   (as CI does): then it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[path = "common/config_keys.rs"]
mod config_keys;

const README: &str = include_str!("../README.md");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/emulators/emulator.sh");
const VALIDATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jsonschema/validate.py");

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn schema() -> Value {
    trimtab::config::schema::schema()
}

#[test]
fn the_committed_schema_is_what_trimtab_schema_prints() {
    let out = Command::new(env!("CARGO_BIN_EXE_trimtab")).arg("schema").output().expect("trimtab runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).expect("UTF-8");
    let committed =
        std::fs::read_to_string(repo().join(trimtab::config::schema::COMMITTED)).unwrap_or_default();
    assert!(
        printed == committed,
        "schema/trimtab.schema.json differs from `trimtab schema`: regenerate it with\n  \
         cargo run -q -- schema > schema/trimtab.schema.json"
    );
    let parsed: Value = serde_json::from_str(&printed).expect("the schema is JSON");
    assert_eq!(parsed["$schema"], "http://json-schema.org/draft-07/schema#");
}

/// The schema's object behind `s`: `$ref` and a lone `allOf` followed.
fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/definitions/").unwrap_or_else(|| panic!("unexpected $ref {r}"));
        return resolve(root, &root["definitions"][name]);
    }
    match s.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        Some([only]) => resolve(root, only),
        _ => s,
    }
}

/// How a table is written: `[a.b]`, `[[a.b]]` (an array of tables), or `[a.NAME]` (tables by name).
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Table,
    Array,
}

/// Every table of the schema, by its README heading (`[agent]`, `[[scaling.metrics]]`,
/// `[pools.NAME]`), with its keys (sub-tables included).
fn tables(root: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    walk(root, root, "", Shape::Table, &mut out);
    out
}

fn walk(root: &Value, s: &Value, path: &str, shape: Shape, out: &mut BTreeMap<String, BTreeSet<String>>) {
    let s = resolve(root, s);
    let Some(props) = s.get("properties").and_then(Value::as_object) else { return };
    if !path.is_empty() {
        let heading = if shape == Shape::Array { format!("[[{path}]]") } else { format!("[{path}]") };
        out.insert(heading, props.keys().cloned().collect());
    }
    for (key, sub) in props {
        let at = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        let sub = resolve(root, sub);
        match sub.get("type").and_then(Value::as_str) {
            Some("array") => walk(root, &sub["items"], &at, Shape::Array, out),
            Some("object") if sub.get("properties").is_none() => {
                if let Some(each) = sub.get("additionalProperties").filter(|v| v.is_object()) {
                    walk(root, each, &format!("{at}.NAME"), Shape::Table, out);
                }
            }
            _ => walk(root, sub, &at, Shape::Table, out),
        }
    }
}

#[test]
fn every_key_is_described_and_every_table_refuses_unknown_keys() {
    let root = schema();
    let mut problems = Vec::new();
    for (name, def) in root["definitions"].as_object().expect("definitions") {
        let Some(props) = def.get("properties").and_then(Value::as_object) else { continue };
        if def.get("additionalProperties") != Some(&Value::Bool(false)) {
            problems.push(format!("{name}: no additionalProperties: false"));
        }
        for (key, p) in props {
            let described = p.get("description").and_then(Value::as_str).is_some_and(|d| d.len() > 10);
            if !described {
                problems.push(format!("{name}.{key}: no description"));
            }
            if p.to_string().contains("null") {
                problems.push(format!("{name}.{key}: allows null, which TOML cannot write: {p}"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    let sections: BTreeSet<&str> = trimtab::config::schema::sections().iter().map(String::as_str).collect();
    let expected = [
        "agent",
        "alarms",
        "budget",
        "controller",
        "cost",
        "discovery",
        "local",
        "notify",
        "policies",
        "pools",
        "protection",
        "scaling",
        "schedule",
        "service",
        "services",
        "vertical",
    ];
    assert_eq!(sections, expected.into_iter().collect());
}

#[test]
fn defaults_and_ranges_are_the_validators_constants() {
    use trimtab::config::defaults as d;
    let root = schema();
    let t = |def: &str, key: &str| root["definitions"][def]["properties"][key].clone();
    assert_eq!(t("RawAgent", "interval")["default"], d::agent::INTERVAL);
    assert_eq!(t("RawAgent", "mode")["enum"], serde_json::json!(["sidecar", "controller"]));
    assert_eq!(t("RawScaling", "max")["maximum"], d::scaling::MAX_TASKS);
    assert_eq!(t("RawScaling", "max_scale_out_step")["default"], d::scaling::MAX_SCALE_OUT_STEP);
    assert_eq!(t("RawPool", "max_active")["default"], d::pool::MAX_ACTIVE);
    assert_eq!(t("RawCost", "spot_discount")["default"], 0.61);
    assert_eq!(t("RawProtection", "expires")["pattern"], d::DURATION_PATTERN);
    // What the validator does with a file that sets nothing is what the schema says.
    let c = trimtab::config::from_str("empty.toml", "").expect("an empty file is valid");
    assert_eq!(c.agent.interval.num_seconds(), 15);
    assert_eq!(c.alarms.heartbeat_minutes as i64, d::alarms::HEARTBEAT_MINUTES);
    assert_eq!(c.vertical.min_change, d::vertical::MIN_CHANGE);
    assert_eq!(c.local.sample_interval.num_seconds(), 5);
}

/// The README's section under `### `{heading}``, if it has one.
fn readme_section(heading: &str) -> Option<&'static str> {
    let reference = README.split("## Configuration reference").nth(1)?.split("\n## ").next()?;
    Some(reference.split(&format!("### `{heading}`")).nth(1)?.split("\n### ").next().unwrap_or_default())
}

/// The keys of a README section's tables: their first cells.
fn readme_keys(section: &str) -> BTreeSet<String> {
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split_once("` |").map(|(k, _)| k.to_owned()))
        .collect()
}

/// A controller's `[policies.NAME]` is written as `[scaling]` is, with its own schedule; the
/// README says so in a paragraph rather than repeat the tables.
fn same_as(heading: &str) -> Option<&'static str> {
    match heading {
        "[policies.NAME]" => Some("[scaling]"),
        "[[policies.NAME.metrics]]" => Some("[[scaling.metrics]]"),
        "[[policies.NAME.schedule]]" => Some("[[schedule]]"),
        _ => None,
    }
}

#[test]
fn the_readme_reference_lists_exactly_the_schemas_keys() {
    let tables = tables(&schema());
    let mut problems = Vec::new();
    for (heading, keys) in &tables {
        if let Some(other) = same_as(heading) {
            let mut theirs = tables[other].clone();
            if heading == "[policies.NAME]" {
                theirs.insert("schedule".into());
            }
            if *keys != theirs {
                problems.push(format!("{heading} does not take the keys of {other}: {keys:?}"));
            }
            continue;
        }
        let Some(section) = readme_section(heading) else {
            problems.push(format!("README has no section ### `{heading}`"));
            continue;
        };
        let documented = readme_keys(section);
        for k in keys.difference(&documented) {
            problems.push(format!("README {heading} lacks `{k}`"));
        }
        for k in documented.difference(keys) {
            problems.push(format!("README {heading} lists `{k}`, which the schema does not have"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(tables.len() >= 20, "{:?}", tables.keys());
}

/// The probe file that writes the unknown key `zz_probe` into the table at `heading`.
fn probe(heading: &str) -> String {
    let path = heading.trim_matches(|c| c == '[' || c == ']').replace("NAME", "probe");
    let mode = if path.starts_with("policies") { "[agent]\nmode = \"controller\"\n" } else { "" };
    let header = if heading.starts_with("[[") { format!("[[{path}]]") } else { format!("[{path}]") };
    format!("{mode}{header}\nzz_probe = 1\n")
}

/// The keys the parser accepts in that table, from its message about `zz_probe`.
fn accepted_keys(heading: &str) -> BTreeSet<String> {
    config_keys::accepted_keys(&probe(heading)).into_iter().collect()
}

#[test]
fn the_parser_accepts_exactly_the_schemas_keys() {
    let mut problems = Vec::new();
    for (heading, keys) in tables(&schema()) {
        let mut accepted = accepted_keys(&heading);
        // The parser takes a policy's windows out of its table before reading the rest.
        if heading == "[policies.NAME]" {
            accepted.insert("schedule".into());
        }
        if accepted != keys {
            problems.push(format!("{heading}: parser accepts {accepted:?}, schema lists {keys:?}"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The validator's python, installing it if needed; `None` (after a loud message) to skip.
fn jsonschema_python() -> Option<PathBuf> {
    let out = Command::new("bash").args([SCRIPT, "install", "jsonschema"]).output().expect("bash runs");
    if out.status.success() {
        let dir = std::env::var("TRIMTAB_EMULATOR_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo().join("target/emulators"));
        return Some(dir.join("jsonschema-venv/bin/python"));
    }
    let why = format!("cannot install jsonschema:\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::env::var("TRIMTAB_REQUIRE_JSONSCHEMA").as_deref() != Ok("1"), "{why}");
    eprintln!(
        "\n!!!!! SKIPPING the JSON Schema validation test: {why}!!!!! set TRIMTAB_REQUIRE_JSONSCHEMA=1 to fail instead\n"
    );
    None
}

/// Runs the validator on `files`: its exit code and output.
fn validate(python: &Path, files: &[PathBuf]) -> (i32, String) {
    let schema = repo().join(trimtab::config::schema::COMMITTED);
    let out = Command::new(python).arg(VALIDATE).arg(schema).args(files).output().expect("python runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn toml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .expect("the directory exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn a_real_validator_accepts_every_shipped_config_and_rejects_bad_ones() {
    let Some(python) = jsonschema_python() else { return };
    let shipped: Vec<PathBuf> = toml_files("policies").into_iter().chain(toml_files("examples")).collect();
    assert!(shipped.len() >= 15, "{shipped:?}");
    let (code, text) = validate(&python, &shipped);
    assert_eq!(code, 0, "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("ok ")).count(), shipped.len(), "{text}");

    let dir = std::env::temp_dir().join(format!("trimtab-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = [
        ("wrong-type.toml", "[agent]\ndry_run = \"yes\"\n", "agent.dry_run: 'yes' is not of type 'boolean'"),
        (
            "unknown-key.toml",
            "[scaling]\nmax_tasks = 5\n",
            "scaling: Additional properties are not allowed ('max_tasks'",
        ),
        (
            "out-of-range.toml",
            "[scaling]\nmax = 20000\n",
            "scaling.max: 20000 is greater than the maximum of 10000",
        ),
        (
            "bad-duration.toml",
            "[agent]\ninterval = \"15 seconds\"\n",
            "agent.interval: '15 seconds' does not match",
        ),
        (
            "bad-enum.toml",
            "[agent]\nmode = \"leader\"\n",
            "agent.mode: 'leader' is not one of ['sidecar', 'controller']",
        ),
        (
            "bad-section.toml",
            "[scalling]\nmax = 3\n",
            "(root): Additional properties are not allowed ('scalling'",
        ),
        (
            "bad-metric.toml",
            "[[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 70\nweigth = 1\n",
            "scaling.metrics.0: Additional properties are not allowed ('weigth'",
        ),
        ("bad-pool.toml", "[pools.jobs]\ncapacity = \"lots\"\n", "pools.jobs.capacity: 'lots' is not valid"),
    ];
    for (name, text, expected) in bad {
        let file = dir.join(name);
        std::fs::write(&file, text).expect("write");
        let (code, out) = validate(&python, std::slice::from_ref(&file));
        assert_eq!(code, 1, "{name} should be rejected: {out}");
        assert!(out.contains(expected), "{name}: expected {expected:?} in:\n{out}");
        // trimtab check refuses it too.
        assert!(trimtab::config::from_str(name, text).is_err(), "{name}: trimtab accepts it");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
