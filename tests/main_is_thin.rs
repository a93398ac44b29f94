//! `src/main.rs` parses the arguments, dispatches, and maps errors to exit codes; every command's
//! logic lives in `src/cli/`, where it can be unit-tested. The rule, as this test reads it:
//!
//! - at most [`LINE_BUDGET`] lines (a new command costs one line of dispatch);
//! - no functions but `main`, `dispatch` and `exit_code`;
//! - no items of its own: no `struct`, `enum`, `trait`, `impl`, `mod`, `const`, `static` or macro
//!   (the argument definitions are in `cli::args`, the error types with the code that raises them);
//! - nothing printed to stdout (`print!`, `println!`): output is the commands' business; `main`
//!   only reports the error once, on stderr;
//! - each arm of the dispatch is one call into `cli`, on one line.

use std::path::Path;

const LINE_BUDGET: usize = 80;
const ALLOWED_FNS: &[&str] = &["main", "dispatch", "exit_code"];
const NO_ITEMS: &[&str] =
    &["struct ", "enum ", "trait ", "impl ", "impl<", "mod ", "const ", "static ", "macro_rules!", "union "];

fn violations(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lines = source.lines().count();
    if lines > LINE_BUDGET {
        found.push(format!("{lines} lines, over the budget of {LINE_BUDGET}"));
    }
    let code = source.lines().enumerate().filter(|(_, l)| !l.trim_start().starts_with("//"));
    for (i, line) in code {
        let n = i + 1;
        let words = line.trim_start().trim_start_matches("pub ").trim_start_matches("async ");
        if let Some(rest) = words.strip_prefix("fn ") {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !ALLOWED_FNS.contains(&name.as_str()) {
                found.push(format!("line {n}: fn {name}: only {ALLOWED_FNS:?} belong in main.rs"));
            }
        }
        if let Some(item) = NO_ITEMS.iter().find(|i| words.starts_with(*i)) {
            found.push(format!("line {n}: `{}` item: define it in src/cli/", item.trim()));
        }
        if prints_to_stdout(line) {
            found.push(format!("line {n}: prints to stdout: {line:?}"));
        }
        if line.contains("Command::")
            && line.contains("=>")
            && !(line.contains("cli::") && line.ends_with(','))
        {
            found.push(format!("line {n}: a dispatch arm that is not one call into cli: {line:?}"));
        }
    }
    found
}

/// `print!` or `println!`, but not `eprint!`/`eprintln!`.
fn prints_to_stdout(line: &str) -> bool {
    ["print!(", "println!("].iter().any(|m| {
        line.match_indices(m).any(|(i, _)| !line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
    })
}

#[test]
fn main_only_parses_dispatches_and_maps_exit_codes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/main.rs");
    let found = violations(&std::fs::read_to_string(path).unwrap());
    assert!(
        found.is_empty(),
        "src/main.rs must only parse, dispatch and map exit codes:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scanner_catches_what_it_should() {
    assert!(violations("fn main() {}\nfn dispatch() {}\nfn exit_code() {}").is_empty());
    assert!(!violations("fn explain(args: ExplainArgs) -> anyhow::Result<()> {").is_empty());
    assert!(!violations("async fn cloudwatch() {}").is_empty());
    assert!(!violations("#[derive(Parser)]\nstruct Cli {").is_empty());
    assert!(!violations("const CONFIG_ENV_NAME: &str = \"$TRIMTAB_CONFIG\";").is_empty());
    assert!(!violations("impl Cli {").is_empty());
    assert!(!violations("    println!(\"{}\", summary);").is_empty());
    assert!(!violations("        Command::Check(c) => println!(\"{}\", check(&c)),").is_empty());
    assert!(!violations("        Command::Run(args) => {").is_empty());
    assert!(violations("        Command::Run(args) => cli::run::command(args),").is_empty());
    assert!(violations("    eprintln!(\"error: {e:#}\");").is_empty());
    assert!(!violations("    print!(\"{}\", cli::policies_list());").is_empty());
    assert!(violations("// fn helper() would not belong here").is_empty());
    assert!(!violations(&"\n".repeat(LINE_BUDGET + 1)).is_empty());
}
