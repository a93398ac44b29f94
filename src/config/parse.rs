//! Phase one: TOML text → [`RawConfig`], with every syntax error and every type or unknown-key
//! error found, each by key path. Sections and array elements are deserialized one at a time, so
//! a bad key in one metric does not hide a bad key in the next.

use serde::de::DeserializeOwned;
use toml::de::DeTable;

use super::error::{Diagnostic, Problems};
use super::raw::{
    RawConfig, RawFleetService, RawMetric, RawNotify, RawPolicy, RawPool, RawScaling, RawSchedule,
};
use super::schema::sections as known_sections;
use super::span::SpanIndex;

/// A parsed file: the raw config, where its keys are, and the sections it writes.
pub struct Parsed {
    pub raw: RawConfig,
    pub index: SpanIndex,
    /// The file's top-level keys, in file order, known or not.
    pub sections: Vec<String>,
}

/// Parses `text` (named `file` in messages). Syntax errors come back located; key problems come
/// back by path in `Problems`, to be located by the caller together with validation problems.
pub fn parse(file: &str, text: &str) -> Result<(Parsed, Problems), Vec<Diagnostic>> {
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        let lines = SpanIndex::lines_only(text);
        let mut diags: Vec<Diagnostic> = errors.iter().map(|e| syntax_diagnostic(file, &lines, e)).collect();
        diags.sort();
        return Err(without_cascades(diags));
    }
    let index = SpanIndex::new(text, doc.get_ref());
    let table: toml::Table = toml::from_str(text).map_err(|e| vec![syntax_diagnostic(file, &index, &e)])?;
    let mut problems = Problems::default();
    let written = table.keys().cloned().collect();
    let raw = sections(table, &mut problems);
    Ok((Parsed { raw, index, sections: written }, problems))
}

/// After an unclosed table header the parser's recovery reads the tables below it as repeats of
/// each other, so its "duplicate key" errors there are not the user's: they are left out until
/// the header is fixed (issue 14: `[scaling` gave three false ones in the example).
fn without_cascades(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let Some(first) = diags.iter().find(|d| d.message.starts_with("unclosed")).map(|d| (d.line, d.column))
    else {
        return diags;
    };
    diags.into_iter().filter(|d| d.message != "duplicate key" || (d.line, d.column) < first).collect()
}

fn syntax_diagnostic(file: &str, index: &SpanIndex, e: &toml::de::Error) -> Diagnostic {
    let (line, column) = e.span().map_or((1, 1), |s| index.line_col(s.start));
    Diagnostic { file: file.into(), line, column, path: None, message: e.message().trim().to_owned() }
}

/// Each section of `table` into its field of [`RawConfig`]. The match names every section the
/// schema lists ([`known_sections`]), which `every_section_the_schema_lists_is_parsed` pins.
fn sections(table: toml::Table, problems: &mut Problems) -> RawConfig {
    let mut raw = RawConfig::default();
    for (key, value) in table {
        match key.as_str() {
            "agent" => raw.agent = section(value, "agent", problems),
            "service" => raw.service = section(value, "service", problems),
            "scaling" => raw.scaling = scaling(value, problems),
            "schedule" => raw.schedule = elements::<RawSchedule>(value, "schedule", problems),
            "budget" => raw.budget = section(value, "budget", problems),
            "alarms" => raw.alarms = section(value, "alarms", problems),
            "cost" => raw.cost = section(value, "cost", problems),
            "notify" => raw.notify = elements::<RawNotify>(value, "notify", problems),
            "pools" => raw.pools = pools(value, problems),
            "vertical" => raw.vertical = section(value, "vertical", problems),
            "local" => raw.local = section(value, "local", problems),
            "protection" => raw.protection = section(value, "protection", problems),
            "controller" => raw.controller = section(value, "controller", problems),
            "policies" => raw.policies = policies(value, problems),
            "services" => raw.services = elements::<RawFleetService>(value, "services", problems),
            "discovery" => raw.discovery = section(value, "discovery", problems),
            other => {
                let known = known_sections().join(", ");
                problems.push(other, format!("unknown section; expected one of {known}"))
            }
        }
    }
    raw
}

fn scaling(value: toml::Value, problems: &mut Problems) -> Option<RawScaling> {
    let toml::Value::Table(t) = value else {
        problems.push("scaling", "expected a table");
        return None;
    };
    policy_table(t, "scaling", problems)
}

/// A `[scaling]`-shaped table at `path`, its metrics read element by element.
fn policy_table(mut t: toml::Table, path: &str, problems: &mut Problems) -> Option<RawScaling> {
    let at = format!("{path}.metrics");
    let metrics = t.remove("metrics").map(|m| elements::<RawMetric>(m, &at, problems));
    let mut s: RawScaling = section(toml::Value::Table(t), path, problems)?;
    s.metrics = metrics;
    Some(s)
}

/// `[policies.NAME]` tables: each a `[scaling]` table with its own `schedule` windows.
fn policies(value: toml::Value, problems: &mut Problems) -> Vec<(String, Option<RawPolicy>)> {
    let toml::Value::Table(t) = value else {
        problems.push("policies", "expected tables of policies ([policies.NAME])");
        return vec![];
    };
    t.into_iter().map(|(name, v)| (name.clone(), policy(v, &format!("policies.{name}"), problems))).collect()
}

fn policy(value: toml::Value, path: &str, problems: &mut Problems) -> Option<RawPolicy> {
    let toml::Value::Table(mut t) = value else {
        problems.push(path, "expected a table");
        return None;
    };
    let at = format!("{path}.schedule");
    let schedule = t.remove("schedule").map(|s| elements::<RawSchedule>(s, &at, problems));
    let scaling = policy_table(t, path, problems)?;
    Some(RawPolicy { scaling, schedule: schedule.unwrap_or_default() })
}

/// `[pools.NAME]` tables, each deserialized on its own, in file order.
fn pools(value: toml::Value, problems: &mut Problems) -> Vec<(String, Option<RawPool>)> {
    let toml::Value::Table(t) = value else {
        problems.push("pools", "expected tables of pools ([pools.NAME])");
        return vec![];
    };
    t.into_iter().map(|(name, v)| (name.clone(), section(v, &format!("pools.{name}"), problems))).collect()
}

/// An array of tables, each element deserialized on its own; bad elements are reported and
/// kept as `None` so later elements keep their index.
fn elements<T: DeserializeOwned>(value: toml::Value, path: &str, problems: &mut Problems) -> Vec<Option<T>> {
    let toml::Value::Array(items) = value else {
        problems.push(path, format!("expected an array of tables ([[{path}]])"));
        return vec![];
    };
    items.into_iter().enumerate().map(|(i, item)| section(item, &format!("{path}[{i}]"), problems)).collect()
}

/// Deserializes one table. A bad key is reported and dropped, and the rest is read again, so
/// every bad key is found and every good one kept. Unknown keys go all at once (serde's message
/// names every key the table accepts), so a table of many unknown keys costs two passes, not
/// one per key; each further pass removes one accepted key of the wrong type, of which a table
/// has a few dozen at most.
fn section<T: DeserializeOwned>(value: toml::Value, path: &str, problems: &mut Problems) -> Option<T> {
    let mut value = value;
    loop {
        let err = match serde_path_to_error::deserialize(value.clone()) {
            Ok(v) => return Some(v),
            Err(e) => e,
        };
        let inner = err.path().to_string();
        let message = err.into_inner().message().trim().to_owned();
        if let (Some(expected), toml::Value::Table(t)) = (unknown_field_tail(&message, &inner), &mut value) {
            let known = backticked(expected);
            let unknown: Vec<String> = t.keys().filter(|k| !known.contains(&k.as_str())).cloned().collect();
            for key in unknown {
                let hint = super::suggest::closest(&key, known.iter().copied())
                    .map_or_else(String::new, |k| format!("did you mean `{k}`? "));
                problems.push(format!("{path}.{key}"), format!("unknown field `{key}`, {hint}{expected}"));
                t.remove(&key);
            }
            continue;
        }
        // The path includes the offending key.
        let at = if inner == "." { path.to_owned() } else { format!("{path}.{inner}") };
        problems.push(at, message);
        let key = inner.split(['.', '[']).next().filter(|k| !k.is_empty() && *k != ".");
        let removed = match (&mut value, key) {
            (toml::Value::Table(t), Some(k)) => t.remove(k).is_some(),
            _ => false,
        };
        if !removed {
            return None;
        }
    }
}

/// For serde's "unknown field `k`, expected …" about a key of this very table (`inner` is the
/// key itself, not a nested path), the part that lists what the table accepts.
fn unknown_field_tail<'m>(message: &'m str, inner: &str) -> Option<&'m str> {
    let rest = message.strip_prefix("unknown field `")?;
    let tail = rest.strip_prefix(inner)?.strip_prefix("`, ")?;
    (tail.starts_with("expected ") || tail == "there are no fields").then_some(tail)
}

/// The names between backticks: `a`, `b` or `c` → [a, b, c].
fn backticked(list: &str) -> Vec<&str> {
    list.split('`').skip(1).step_by(2).collect()
}
