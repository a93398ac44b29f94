//! Where each key of a TOML document is: a map from key path (`scaling.metrics[1].weight`) to
//! the byte offset of the key, built from the spanned parse. Validation speaks in key paths;
//! this index turns them into `LINE:COL` for the user. For a string written on one line without
//! escapes it also keeps where the text starts, so a problem with one part of the string (a
//! field of a cron expression) can point at that part.

use std::collections::HashMap;

use toml::de::{DeTable, DeValue};

#[derive(Debug, Default)]
pub struct SpanIndex {
    offsets: HashMap<String, usize>,
    /// Where the text of a plain one-line string value starts, by key path.
    strings: HashMap<String, usize>,
    line_starts: Vec<usize>,
}

impl SpanIndex {
    pub fn new(text: &str, doc: &DeTable<'_>) -> Self {
        let mut index = SpanIndex::lines_only(text);
        index.walk_table(text, "", doc);
        index
    }

    /// An index with no keys, for text that did not parse.
    pub fn lines_only(text: &str) -> Self {
        SpanIndex { offsets: HashMap::new(), strings: HashMap::new(), line_starts: line_starts(text) }
    }

    fn walk_table(&mut self, text: &str, prefix: &str, table: &DeTable<'_>) {
        for (key, value) in table.iter() {
            let path = join(prefix, key.get_ref());
            self.offsets.insert(path.clone(), key.span().start);
            if let DeValue::String(s) = value.get_ref()
                && let Some(start) = plain_string_start(text, value.span(), s)
            {
                self.strings.insert(path.clone(), start);
            }
            self.walk_value(text, &path, value.get_ref());
        }
    }

    fn walk_value(&mut self, text: &str, path: &str, value: &DeValue<'_>) {
        match value {
            DeValue::Table(t) => self.walk_table(text, path, t),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    self.offsets.insert(p.clone(), item.span().start);
                    self.walk_value(text, &p, item.get_ref());
                }
            }
            _ => {}
        }
    }

    /// Whether the document spells out this exact key path.
    pub fn contains(&self, path: &str) -> bool {
        self.offsets.contains_key(path)
    }

    /// The 1-based line and column of `path`, or of its nearest present ancestor.
    pub fn locate(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            if let Some(&offset) = self.offsets.get(p) {
                return Some(self.line_col(offset));
            }
            p = parent(p)?;
        }
    }

    /// The 1-based line and column of byte `offset` inside the string value at `path`, when the
    /// string is written plainly on one line; else where [`locate`](Self::locate) puts `path`.
    pub fn locate_in(&self, path: &str, offset: usize) -> Option<(usize, usize)> {
        match self.strings.get(path) {
            Some(start) => Some(self.line_col(start + offset)),
            None => self.locate(path),
        }
    }

    /// 1-based line and column (in bytes) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        (line.max(1), offset - start + 1)
    }
}

/// Where the text of the string `value`, written at `span`, starts: only when the source between
/// the quotes is the value itself (one line, no escapes), so offsets in the value map one to one.
fn plain_string_start(text: &str, span: std::ops::Range<usize>, value: &str) -> Option<usize> {
    let raw = text.get(span.clone())?;
    let inner = raw.strip_prefix(['"', '\'']).and_then(|r| r.strip_suffix(['"', '\'']))?;
    (inner == value).then_some(span.start + 1)
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") }
}

/// `a.b[2].c` → `a.b[2]` → `a.b` → `a` → none.
fn parent(path: &str) -> Option<&str> {
    let cut = path.rfind(['.', '['])?;
    Some(&path[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_keys_array_elements_and_falls_back_to_parents() {
        let text = "[agent]\ninterval = \"15s\"\n\n[[scaling.metrics]]\nname = \"cpu\"\n\n[[scaling.metrics]]\nname = \"mem\"\nweight = 2\n";
        let doc = DeTable::parse(text).unwrap();
        let index = SpanIndex::new(text, doc.get_ref());
        assert_eq!(index.locate("agent.interval"), Some((2, 1)));
        assert_eq!(index.locate("scaling.metrics[1].weight"), Some((9, 1)));
        // A missing key points at its table.
        assert_eq!(
            index.locate("scaling.metrics[1].target").map(|l| l.0),
            index.locate("scaling.metrics[1]").map(|l| l.0)
        );
        assert_eq!(index.locate("nothing"), None);
    }

    #[test]
    fn locates_a_part_of_a_plain_string_and_falls_back_for_escaped_ones() {
        let text = "[[schedule]]\ncron = \"cron(0 8 ? * 8 *)\"\nat = 'at(x)'\nname = \"a\\u0020b\"\n";
        let doc = DeTable::parse(text).unwrap();
        let index = SpanIndex::new(text, doc.get_ref());
        // `8` is byte 13 of the value; the value starts in column 9 of line 2.
        assert_eq!(index.locate_in("schedule[0].cron", 13), Some((2, 22)));
        assert_eq!(index.locate_in("schedule[0].at", 3), Some((3, 10)));
        // An escape shifts the offsets, so the key is located instead.
        assert_eq!(index.locate_in("schedule[0].name", 2), Some((4, 1)));
    }
}
