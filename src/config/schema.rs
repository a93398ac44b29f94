//! The config's JSON Schema, generated from the raw structs ([`super::raw`]).
//!
//! Each key's description is its field's doc comment; its default, range and values are the
//! constants of [`super::defaults`] the validators use; a struct that denies unknown keys gets
//! `additionalProperties: false`. The schema is draft 07, which Taplo (Even Better TOML) and
//! the reference validators all read. A TOML file has no `null`, so the `null` that schemars
//! adds for an `Option` is taken out again: a key is either written, with a value of its type,
//! or left out.
//!
//! The schema states what a file may hold, key by key. What needs several keys at once (`min`
//! below `max`, a source's own keys, a Fargate size) stays with `trimtab check`, which says
//! more about it than a schema can. The config's sections are the schema's top-level
//! properties: [`sections`] is the one list of them the parser and the template check use.

use std::borrow::Cow;
use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use schemars::transform::{Transform, transform_subschemas};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::Value;

use super::defaults::pool;
use super::raw::RawConfig;

/// Where the committed copy of the schema lives, relative to the repository.
pub const COMMITTED: &str = "schema/trimtab.schema.json";

/// The schema as a JSON value, its objects' keys sorted (so its text is stable).
pub fn schema() -> Value {
    let mut settings = SchemaSettings::draft07();
    settings.transforms.insert(0, Box::new(NoNull));
    let mut root = SchemaGenerator::new(settings).into_root_schema_for::<RawConfig>();
    root.insert("title".into(), "trimtab config".into());
    root.insert(
        "description".into(),
        "The TOML config of trimtab, the ECS autoscaling agent. Every section is optional; \
         `trimtab check` validates what a schema cannot (keys that depend on each other)."
            .into(),
    );
    let mut value = root.to_value();
    value.sort_all_objects();
    value
}

/// The schema as `trimtab schema` prints it: pretty JSON with a final newline.
pub fn pretty() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).expect("a JSON value serializes");
    text.push('\n');
    text
}

/// The config's sections (top-level keys), in the schema's order.
pub fn sections() -> &'static [String] {
    static SECTIONS: OnceLock<Vec<String>> = OnceLock::new();
    SECTIONS.get_or_init(|| {
        let schema = schema();
        let properties = schema["properties"].as_object().expect("the root schema has properties");
        properties.keys().cloned().collect()
    })
}

/// The schema of `budget.warn_at` and `critical_at`: a fraction of the budget, or an amount
/// in dollars (`"$375"`, `"375 USD"`).
pub struct Level;

impl JsonSchema for Level {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Level".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "number", "exclusiveMinimum": 0.0, "maximum": 10.0 },
                { "type": "string", "pattern": r"^\s*(\$\s*[0-9.]+|[0-9.]+\s*(USD|usd))\s*$" }
            ]
        })
    }
}

/// The schema of `pools.NAME.capacity`: a whole number, or `"auto"` (for the `cpu` and
/// `memory` pools).
pub struct Capacity;

impl JsonSchema for Capacity {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Capacity".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "integer", "minimum": 1, "maximum": pool::MAX_CAPACITY },
                { "const": "auto" }
            ]
        })
    }
}

/// Removes the `null` that schemars allows for an `Option`: TOML cannot write one.
#[derive(Clone)]
struct NoNull;

impl Transform for NoNull {
    fn transform(&mut self, schema: &mut Schema) {
        transform_subschemas(self, schema);
        let Some(object) = schema.as_object_mut() else { return };
        if let Some(Value::Array(types)) = object.get_mut("type") {
            types.retain(|t| t != "null");
            if let [only] = types.as_slice() {
                let only = only.clone();
                object.insert("type".into(), only);
            }
        }
        let Some(Value::Array(any_of)) = object.get_mut("anyOf") else { return };
        any_of.retain(|s| s.get("type").and_then(Value::as_str) != Some("null"));
        if let [only] = any_of.as_slice()
            && let Some(inner) = only.as_object().cloned()
        {
            object.remove("anyOf");
            for (k, v) in inner {
                object.entry(k).or_insert(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sections;
    use crate::config::templates::Template;

    /// Issue 17: a template's stray-section check missed `alarms`, `pools`, `vertical` and
    /// `local` (it listed six sections by hand). Every section but `[scaling]`, and an unknown
    /// one, is now refused the same way, at the section.
    #[test]
    fn issue_17_a_template_with_any_section_but_scaling_is_refused_there() {
        let stray =
            ["[alarms]\nenabled = true\n", "[pools.jobs]\ncapacity = 4\n", "[vertical]\nmode = \"off\"\n"];
        let more =
            ["[local]\nhistory = \"1h\"\n", "[agent]\ndry_run = true\n", "[discovery]\nclusters = [\"a\"]\n"];
        for section in stray.iter().chain(&more) {
            let text: &'static str = format!("[scaling]\nmax = 4\n\n{section}").leak();
            let got = crate::config::load_template(&Template { name: "t", text }).err().expect("refused");
            let lines: Vec<String> = got.diagnostics().iter().map(ToString::to_string).collect();
            let name = section.trim_start_matches('[').split([']', '.']).next().unwrap();
            let want = format!(
                "policies/t.toml:4:2: {name}: a template may hold only a [scaling] table, not [{name}]"
            );
            assert_eq!(lines, [want], "{section}");
        }
        let ok = Template { name: "t", text: "# summary: fine\n[scaling]\nmax = 4\n" };
        assert!(crate::config::load_template(&ok).is_ok());
    }

    /// Every section the schema lists reaches its field of `RawConfig`: none is "unknown".
    #[test]
    fn every_section_the_schema_lists_is_parsed() {
        for s in sections() {
            let text = format!("[{s}]\n");
            let (_, problems) = crate::config::parse::parse("t.toml", &text).expect("parses");
            let unknown: Vec<_> = problems
                .into_inner()
                .into_iter()
                .filter(|p| p.message.starts_with("unknown section"))
                .collect();
            assert!(unknown.is_empty(), "{s}: {unknown:?}");
        }
        let (_, problems) = crate::config::parse::parse("t.toml", "[extra]\n").expect("parses");
        let message = &problems.into_inner()[0].message;
        assert!(message.starts_with("unknown section; expected one of agent, alarms, budget,"), "{message}");
    }
}
