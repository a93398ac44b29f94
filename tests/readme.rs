//! Keeps the README true: the config reference lists every key the config accepts (taken from
//! the config structs themselves), and CI runs the README's test command.

use std::collections::BTreeSet;

const README: &str = include_str!("../README.md");
const CI: &str = include_str!("../.ci/run");

#[path = "common/config_keys.rs"]
mod config_keys;
use config_keys::accepted_keys;

#[test]
fn config_reference_lists_every_accepted_key() {
    let probes = [
        ("[agent]", "[agent]\nzz_probe = 1\n"),
        ("[service]", "[service]\nzz_probe = 1\n"),
        ("[scaling]", "[scaling]\nzz_probe = 1\n"),
        ("[[scaling.metrics]]", "[[scaling.metrics]]\nzz_probe = 1\n"),
        ("[[schedule]]", "[[schedule]]\nzz_probe = 1\n"),
        ("[budget]", "[budget]\nzz_probe = 1\n"),
        ("[alarms]", "[alarms]\nzz_probe = 1\n"),
        ("[cost]", "[cost]\nzz_probe = 1\n"),
        ("[[notify]]", "[[notify]]\nzz_probe = 1\n"),
        ("[pools.NAME]", "[pools.probe]\nzz_probe = 1\n"),
        ("[vertical]", "[vertical]\nzz_probe = 1\n"),
        ("[local]", "[local]\nzz_probe = 1\n"),
        ("[local.alerts]", "[local.alerts]\nzz_probe = 1\n"),
        ("[protection]", "[protection]\nzz_probe = 1\n"),
        // Controller mode. `[policies.NAME]` takes `[scaling]`'s keys, so that probe covers it.
        ("[controller]", "[controller]\nzz_probe = 1\n"),
        ("[[services]]", "[[services]]\nzz_probe = 1\n"),
        ("[discovery]", "[discovery]\nzz_probe = 1\n"),
    ];
    let reference = README.split("## Configuration reference").nth(1).expect("README has a config reference");
    let mut missing = BTreeSet::new();
    for (heading, probe) in probes {
        let section = reference
            .split(&format!("### `{heading}`"))
            .nth(1)
            .unwrap_or_else(|| panic!("README lacks a section for {heading}"))
            .split("\n### ")
            .next()
            .unwrap();
        let mut keys = accepted_keys(probe);
        if heading == "[scaling]" {
            keys.retain(|k| k != "metrics");
        }
        for key in keys {
            if !section.contains(&format!("| `{key}` |")) {
                missing.insert(format!("{heading} {key}"));
            }
        }
    }
    assert!(missing.is_empty(), "README config reference lacks: {missing:?}");
}

#[test]
fn ci_runs_the_readme_test_command() {
    let command = README
        .split("## Run the tests")
        .nth(1)
        .and_then(|s| s.split("```sh\n").nth(1))
        .and_then(|s| s.lines().next())
        .expect("README shows the test command");
    assert!(CI.lines().any(|l| l.trim() == command), "{command:?} not run by .ci/run");
}

/// The controller section's config is one `trimtab check` accepts as written.
#[test]
fn the_controller_sections_config_loads() {
    let section = README.split("## Running one controller for many services").nth(1).expect("the section");
    let block = section.split("```toml\n").nth(1).and_then(|b| b.split("```").next()).expect("a toml block");
    let c = trimtab::config::from_str("README.md", block).unwrap_or_else(|e| panic!("{e}"));
    let fleet = c.fleet.expect("controller mode");
    assert_eq!((fleet.policies.len(), fleet.services.len()), (1, 1));
    assert_eq!(fleet.discovery.map(|d| d.clusters), Some(vec!["prod".to_owned(), "staging".to_owned()]));
}
