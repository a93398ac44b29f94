//! Each Terraform task role grants exactly what its process calls, and trimtab calls nothing
//! it is not granted:
//! - the actions of `data "aws_iam_policy_document" "task"` in `terraform/main.tf` (the sidecar
//!   agent) are `trimtab::aws::AGENT_OPERATIONS` plus [`ON_BEHALF`], no more, no fewer;
//! - those of the same document in `terraform/controller/main.tf` (the fleet controller) are
//!   `trimtab::aws::CONTROLLER_OPERATIONS`, no more, no fewer;
//! - every AWS operation an adapter in `src/aws/*.rs` names (`classify("ecs:UpdateService", e)`,
//!   `const OP: &str = "ecs:DescribeServices"`) is in `operations()` (the agent's, the
//!   controller's and the operator commands' lists together), and every entry of those lists is
//!   named by an adapter, so a new call without a permission fails here;
//! - the module's `task_policy_json` output, the policy a team attaches to its own task role when
//!   it adds the sidecar to an existing service (`create_service = false`), is that same
//!   document, as the module's own task role's policy is;
//! - no IAM action anywhere in `terraform/` contains `*`.
//!
//! `TRIMTAB_TERRAFORM_DIR` points the test at another copy of the module (`.ci/terraform.sh`
//! uses it to prove a broken copy fails).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Permissions the module grants for calls AWS authorizes on the agent's behalf, which are not
/// API calls of their own and so are not in `operations()`:
/// - `iam:PassRole`: `RegisterTaskDefinition` of a copy that names the task role and the
///   execution role passes both roles to ECS tasks;
/// - `ecs:TagResource`: the copy is registered with the `trimtab:resized-from` tag, and ECS
///   authorizes tags given on creation as `ecs:TagResource` (condition
///   `ecs:CreateAction = RegisterTaskDefinition`);
/// - `ecs:UpdateTaskProtection`: the task's ECS agent calls it with the task role when the
///   sidecar `PUT`s `$ECS_AGENT_URI/task-protection/v1/state` (`[protection]`); trimtab makes no
///   such SDK call itself. (`ecs:GetTaskProtection`, which the leader also calls through the SDK,
///   is in `AGENT_OPERATIONS`.)
const ON_BEHALF: &[&str] = &["iam:PassRole", "ecs:TagResource", "ecs:UpdateTaskProtection"];

/// Services whose operations the adapters name.
const SERVICES: &[&str] = &["ecs", "cloudwatch", "sns"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn terraform_dir() -> PathBuf {
    std::env::var_os("TRIMTAB_TERRAFORM_DIR").map_or_else(|| repo().join("terraform"), PathBuf::from)
}

/// HCL with its comments (`#`, `//`, `/* */`) blanked out; string literals are kept intact.
fn strip_hcl_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut chars = src.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                '"' | '\n' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '#' => skip_line(&mut chars, &mut out),
            '/' if chars.peek() == Some(&'/') => skip_line(&mut chars, &mut out),
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                    }
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn skip_line(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) {
    for n in chars.by_ref() {
        if n == '\n' {
            out.push('\n');
            break;
        }
    }
}

/// The text between the braces of the block that starts with `header` (comments stripped).
fn block<'a>(src: &'a str, header: &str) -> Option<&'a str> {
    let start = src.find(header)? + header.len();
    let open = start + src[start..].find('{')?;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in src[open..].char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&src[open + 1..open + i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Every string in every `actions = [...]` and `not_actions = [...]` list of `hcl`.
fn actions(hcl: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in hcl.match_indices("actions") {
        let before = hcl[..i].chars().next_back();
        let inside_a_word = before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-');
        if inside_a_word && !hcl[..i].ends_with("not_") {
            continue;
        }
        let rest = hcl[i + "actions".len()..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else { continue };
        let Some(list) = rest.trim_start().strip_prefix('[') else { continue };
        let Some(end) = list.find(']') else { continue };
        found.extend(string_literals(&list[..end]));
    }
    found
}

fn string_literals(s: &str) -> Vec<String> {
    s.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

fn tf_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != ".terraform") {
                tf_files(&p, out);
            }
        } else if p.extension().is_some_and(|e| e == "tf") {
            out.push(p);
        }
    }
}

/// The actions of the task role's policy document in `file` (under the Terraform directory).
fn task_role_actions(file: &str) -> BTreeSet<String> {
    let path = terraform_dir().join(file);
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let src = strip_hcl_comments(&src);
    let header = r#"data "aws_iam_policy_document" "task""#;
    let body = block(&src, header)
        .unwrap_or_else(|| panic!("{}: no complete `{header} {{ ... }}` block", path.display()));
    let found: BTreeSet<String> = actions(body).into_iter().collect();
    assert!(!found.is_empty(), "{}: the task role's policy document grants no actions", path.display());
    found
}

/// Every `"service:Operation"` string literal in `src/aws/*.rs` except the operation lists
/// themselves (`AGENT_OPERATIONS`, …) and the adapters' tests (`*_tests.rs`),
/// with the file it is in.
fn adapter_operations() -> BTreeSet<(String, String)> {
    let dir = repo().join("src/aws");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.extension().is_none_or(|e| e != "rs") || name.ends_with("_tests.rs") {
            continue;
        }
        let mut src = std::fs::read_to_string(&path).unwrap();
        while let Some(at) = src.find("OPERATIONS: &[&str] = &[") {
            let start = src[..at].rfind("pub const").expect("an operation list is a `pub const`");
            let end = at + src[at..].find("];").expect("an operation list ends with `];`");
            src.replace_range(start..end, "");
        }
        for lit in string_literals(&src) {
            let Some((service, op)) = lit.split_once(':') else { continue };
            if SERVICES.contains(&service)
                && op.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && op.chars().all(|c| c.is_ascii_alphanumeric())
            {
                found.insert((lit.clone(), name.clone()));
            }
        }
    }
    found
}

/// `granted` is `wanted`, or the assertion says what is missing and what is extra.
fn assert_grants(role: &str, granted: &BTreeSet<String>, wanted: &BTreeSet<String>, source: &str) {
    let missing: Vec<_> = wanted.difference(granted).collect();
    let extra: Vec<_> = granted.difference(wanted).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} task role vs {source}:\n  missing (trimtab calls them, the role does not grant them): \
         {missing:?}\n  extra (granted, never called): {extra:?}",
        terraform_dir().join(role).display()
    );
}

fn set(lists: &[&[&str]]) -> BTreeSet<String> {
    lists.iter().flat_map(|l| l.iter()).map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_task_role_grants_exactly_the_operations_the_agent_calls() {
    let wanted = set(&[trimtab::aws::AGENT_OPERATIONS, ON_BEHALF]);
    let source = format!("trimtab::aws::AGENT_OPERATIONS + {ON_BEHALF:?}");
    assert_grants("main.tf", &task_role_actions("main.tf"), &wanted, &source);
}

#[test]
fn the_controller_role_grants_exactly_the_operations_the_controller_calls() {
    let file = "controller/main.tf";
    let wanted = set(&[trimtab::aws::CONTROLLER_OPERATIONS]);
    assert_grants(file, &task_role_actions(file), &wanted, "trimtab::aws::CONTROLLER_OPERATIONS");
}

#[test]
fn every_operation_an_adapter_names_is_in_operations() {
    let named = adapter_operations();
    assert!(!named.is_empty(), "found no operation names in src/aws/*.rs");
    let ops = trimtab::aws::operations();
    let unlisted: Vec<_> = named.iter().filter(|(op, _)| !ops.contains(op.as_str())).collect();
    assert!(
        unlisted.is_empty(),
        "AWS operations named in src/aws/ but in none of trimtab::aws's operation lists (and so in no \
         task role): {unlisted:?}"
    );
    let names: BTreeSet<&str> = named.iter().map(|(op, _)| op.as_str()).collect();
    let stale: Vec<_> = ops.iter().filter(|op| !names.contains(**op)).collect();
    assert!(stale.is_empty(), "the operation lists name operations no adapter in src/aws/ names: {stale:?}");
}

/// The `name = value` line of `body` (comments stripped) with its whitespace squeezed, if any.
fn attribute(body: &str, name: &str) -> Option<String> {
    body.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|l| l.starts_with(&format!("{name} =")))
}

#[test]
fn the_policy_output_is_the_task_role_document() {
    let read = |file: &str| {
        let path = terraform_dir().join(file);
        strip_hcl_comments(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
    };
    let document = "data.aws_iam_policy_document.task.json";
    for (file, header, name) in [
        ("outputs.tf", r#"output "task_policy_json""#, "value"),
        ("main.tf", r#"resource "aws_iam_role_policy" "task""#, "policy"),
    ] {
        let src = read(file);
        let body = block(&src, header).unwrap_or_else(|| panic!("{file}: no `{header} {{ ... }}` block"));
        assert_eq!(
            attribute(body, name),
            Some(format!("{name} = {document}")),
            "{file}: `{header}` must hand out the task role's document, which this test checks"
        );
    }
}

#[test]
fn no_iam_action_in_the_module_has_a_wildcard() {
    let mut files = Vec::new();
    tf_files(&terraform_dir(), &mut files);
    assert!(!files.is_empty(), "no .tf files under {}", terraform_dir().display());
    let mut wild = Vec::new();
    for f in &files {
        let src = strip_hcl_comments(&std::fs::read_to_string(f).unwrap());
        // Also JSON-style policies (`Action = "*"`, `"Action": ["s3:*"]`) written inline.
        let inline = src
            .lines()
            .filter(|l| {
                let t = l.trim_start().trim_start_matches('"');
                (t.starts_with("Action") || t.starts_with("NotAction")) && l.contains('*')
            })
            .map(|l| l.trim().to_owned());
        let listed = actions(&src).into_iter().filter(|a| a.contains('*'));
        for a in listed.chain(inline) {
            wild.push(format!("{}: {a}", f.display()));
        }
    }
    assert!(wild.is_empty(), "IAM actions with a wildcard: {wild:#?}");
}

#[test]
fn the_parser_reads_what_it_should() {
    let hcl = r#"
        # actions = ["commented:Out"]
        data "aws_iam_policy_document" "task" {
          statement {
            actions = ["a:One", # trailing
                       "b:Two"] // other comment
            resources = ["arn:aws:x:::y/*"] /* actions = ["c:Three"] */
          }
          dynamic "statement" {
            content { not_actions = ["d:Four"] }
          }
        }
        data "aws_iam_policy_document" "other" { statement { actions = ["e:Five"] } }
    "#;
    let stripped = strip_hcl_comments(hcl);
    let body = block(&stripped, r#"data "aws_iam_policy_document" "task""#).unwrap();
    assert_eq!(actions(body), ["a:One", "b:Two", "d:Four"]);
    assert_eq!(strip_hcl_comments(r#"x = "http://a#b" # c"#).trim_end(), r#"x = "http://a#b""#);
}
