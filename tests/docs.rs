//! Keeps the README's worked examples true (issue 17, point 9):
//!
//! - every image under `docs/` that the README shows with a command in its caption is exactly
//!   what that command writes today (`TRIMTAB_WRITE_DOCS=1 cargo test --test docs` rewrites them);
//! - every config file a README command names (`--config examples/….toml`) ships and loads;
//! - a newcomer's path — install, `trimtab run --local --once`, `trimtab simulate --compare` —
//!   runs, and the simulation prints the very table the README shows.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const README: &str = include_str!("../README.md");
const BIN: &str = env!("CARGO_BIN_EXE_trimtab");

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn trimtab(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(repo())
        .env_remove("TRIMTAB_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("trimtab runs");
    assert!(
        out.status.success(),
        "trimtab {} failed ({}):\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The README's images with the command in their caption: `![…](docs/F)` followed (within a
/// few lines) by `` *`trimtab … docs/F …`* ``.
fn captioned_images() -> Vec<(String, Vec<String>)> {
    let lines: Vec<&str> = README.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(path) =
            line.strip_prefix("![").and_then(|l| l.split("](").nth(1)).map(|p| p.trim_end_matches(')'))
        else {
            continue;
        };
        let caption = lines[i + 1..].iter().take(4).find_map(|l| {
            let start = l.find("*`trimtab ")? + 2;
            let end = start + l[start..].find('`')?;
            Some(l[start..end].to_owned())
        });
        if let Some(command) = caption.filter(|c| c.contains(path)) {
            found.push((path.to_owned(), command.split_whitespace().skip(1).map(str::to_owned).collect()));
        }
    }
    found
}

#[test]
fn docs_images_are_what_their_captions_commands_write() {
    let images = captioned_images();
    assert!(
        images.iter().any(|(p, _)| p == "docs/nasa-flash-crowd.svg"),
        "the README shows docs/nasa-flash-crowd.svg with its command: {images:?}"
    );
    let write = std::env::var_os("TRIMTAB_WRITE_DOCS").is_some_and(|v| v == "1");
    let scratch = std::env::temp_dir().join(format!("trimtab-docs-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    for (path, args) in images {
        let fresh: PathBuf = scratch.join(Path::new(&path).file_name().unwrap());
        let args: Vec<&str> =
            args.iter().map(|a| if *a == path { fresh.to_str().unwrap() } else { a.as_str() }).collect();
        trimtab(&args);
        let made = std::fs::read(&fresh).unwrap();
        let committed = repo().join(&path);
        if write {
            std::fs::write(&committed, &made).unwrap();
            continue;
        }
        let shipped = std::fs::read(&committed).unwrap_or_default();
        assert!(
            made == shipped,
            "{path} is stale: `trimtab {}` writes something else today ({} bytes, committed {}); \
             regenerate with: TRIMTAB_WRITE_DOCS=1 cargo test --test docs",
            args.join(" "),
            made.len(),
            shipped.len()
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

/// Config files the README's commands name, outside code blocks' placeholders (`FILE`).
fn named_configs() -> Vec<String> {
    let mut found: Vec<String> = README
        .split("--config ")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| c.is_whitespace() || "`)]\"".contains(c)).next())
        .filter(|f| f.ends_with(".toml"))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

#[test]
fn every_config_a_readme_command_names_ships_and_loads() {
    let configs = named_configs();
    assert!(configs.len() >= 6, "{configs:?}");
    for name in configs {
        // `bad.toml` is the README's example of errors, run from tests/fixtures.
        if name == "bad.toml" {
            let path = repo().join("tests/fixtures/bad.toml");
            let text = std::fs::read_to_string(&path).expect("tests/fixtures/bad.toml ships");
            assert!(trimtab::config::from_str("bad.toml", &text).is_err());
            continue;
        }
        assert!(
            name.starts_with("examples/"),
            "the README's `--config {name}` names a file a reader does not have: ship it in examples/"
        );
        let text = std::fs::read_to_string(repo().join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Err(e) = trimtab::config::from_str(&name, &text) {
            panic!("{name} does not load:\n{e}");
        }
    }
}

/// The text block that follows the first fenced block holding `command` in the README.
fn readme_output_after(command: &str) -> &'static str {
    let at = README.find(command).unwrap_or_else(|| panic!("the README shows `{command}`"));
    let rest = &README[at..];
    let start = rest.find("```text\n").expect("an output block follows") + "```text\n".len();
    let len = rest[start..].find("```").unwrap();
    &rest[start..start + len]
}

#[test]
fn a_newcomers_path_runs_as_the_readme_says() {
    // Install: the README installs the binary that every later example calls.
    let install = README.split("## Install").nth(1).expect("an Install section");
    assert!(
        install.contains("cargo install --locked --path ."),
        "the Install section installs from the clone"
    );

    // `trimtab run --local --once`: one tick on this machine, no config, no AWS.
    let run = readme_output_after("cargo run --release -- run --local --once");
    let out = trimtab(&["run", "--local", "--once"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    // The host's readings (and so the decision, and the columns' widths) differ from the
    // README's; the report's parts do not. Lines are compared word by word.
    let words = |text: &str| -> Vec<String> {
        text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
    };
    let (shown, printed) = (words(run), words(&stdout));
    for part in [
        "service: desired 1",
        "metric value target",
        "score: ",
        "band: ",
        "stage setting effect",
        "decision: ",
        "action: ",
    ] {
        assert!(
            shown.iter().any(|l| l.starts_with(part)),
            "the README's `run --local --once` output shows {part:?}"
        );
        assert!(
            printed.iter().any(|l| l.starts_with(part)),
            "`trimtab run --local --once` prints no {part:?}:\n{stdout}"
        );
    }

    // `trimtab simulate --fit-peak 20 --compare`: deterministic, so the README's table is exact.
    let shown = readme_output_after("cargo run --release -- simulate --fit-peak 20 --compare");
    let out = trimtab(&["simulate", "--fit-peak", "20", "--compare"]);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        printed.trim_end(),
        shown.trim_end(),
        "the README's `simulate --fit-peak 20 --compare` output is stale; paste the new one"
    );
}

/// `examples/big.toml` and `examples/capped.toml` are `examples/trimtab.toml` with one change each
/// (and a header saying so): they cannot drift from the example they vary.
#[test]
fn the_examples_variants_differ_from_the_example_only_as_they_say() {
    let read = |f: &str| std::fs::read_to_string(repo().join("examples").join(f)).unwrap();
    let example = read("trimtab.toml");
    let body = |text: &str| text.lines().skip_while(|l| l.starts_with('#')).collect::<Vec<_>>().join("\n");
    let big = example
        .replacen("\ncpu = 512                      #", "\ncpu = 1024                     #", 1)
        .replacen("\nmemory = 1024                  #", "\nmemory = 2048                  #", 1);
    assert_ne!(big, example, "examples/trimtab.toml's task size moved; update examples/big.toml");
    assert_eq!(body(&read("big.toml")), body(&big), "examples/big.toml is the example with the task doubled");
    let capped = example.replacen("\ncritical_at = 0.90\n", "\ncritical_at = 0.90\ncap = \"critical\"\n", 1);
    assert_ne!(capped, example, "examples/trimtab.toml's [budget] moved; update examples/capped.toml");
    assert_eq!(body(&read("capped.toml")), body(&capped), "examples/capped.toml is the example with a cap");
}

/// The README's table of what the predictive term does: each row is what `simulate` prints for
/// web-balanced and for `examples/predictive.toml` on that trace (θ_U / overload min / cost).
#[test]
fn the_predictive_terms_table_is_what_simulate_prints() {
    let table =
        README.split("| trace | web-balanced θ_U / overload min / cost | with `lookahead = \"2m\"` |").nth(1);
    let rows: Vec<&str> = table
        .expect("the README's predictive table")
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    let traces = [
        ("NASA", "nasa_http_jul1995_60s.csv"),
        ("Bitbrains", "bitbrains_rnd_2013-08_totalcpu_300s.csv"),
        ("Wikipedia", "wikipedia_allprojects_2009_3600s.csv"),
        ("Azure", "azure_llm_conv_2023_1s.csv"),
    ];
    for row in rows {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        let (name, fit) = cells[0].split_once(" (fit ").expect("`NAME (fit N)`");
        let trace =
            traces.iter().find(|(n, _)| *n == name).map(|(_, f)| format!("examples/traces/{f}")).unwrap();
        let fit = fit.trim_end_matches(')');
        let base = ["simulate", "--trace", &trace, "--fit-peak", fit];
        let plain = figures(&trimtab(&[&base[..], &["--template", "web-balanced", "--max", "40"]].concat()));
        let ahead = figures(&trimtab(&[&base[..], &["--config", "examples/predictive.toml"]].concat()));
        assert_eq!((cells[1], cells[2]), (plain.as_str(), ahead.as_str()), "README row {name}");
    }
}

/// `θ_U / overload min / cost` of the trimtab row of a `simulate` report.
fn figures(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text.lines().find(|l| l.starts_with("trimtab (")).expect("a trimtab row");
    let cols: Vec<&str> = row.split(')').nth(1).unwrap().split_whitespace().collect();
    // θ_U θ_O τ_U τ_O instab actions task-hours overload mean-CPU cost
    format!("{} / {} / {}", cols[0], cols[7], cols[9])
}
