//! Where each key of a TOML document is: a map from key path (`scaling.metrics[1].weight`) to
//! the byte offset of the key, built from the spanned parse. Validation speaks in key paths;
//! this index turns them into `LINE:COL` for the user.

use std::collections::HashMap;

use toml::de::{DeTable, DeValue};

#[derive(Debug, Default)]
pub struct SpanIndex {
    offsets: HashMap<String, usize>,
    line_starts: Vec<usize>,
}

impl SpanIndex {
    pub fn new(text: &str, doc: &DeTable<'_>) -> Self {
        let mut index = SpanIndex { offsets: HashMap::new(), line_starts: line_starts(text) };
        index.walk_table("", doc);
        index
    }

    /// An index with no keys, for text that did not parse.
    pub fn lines_only(text: &str) -> Self {
        SpanIndex { offsets: HashMap::new(), line_starts: line_starts(text) }
    }

    fn walk_table(&mut self, prefix: &str, table: &DeTable<'_>) {
        for (key, value) in table.iter() {
            let path = join(prefix, key.get_ref());
            self.offsets.insert(path.clone(), key.span().start);
            self.walk_value(&path, value.get_ref());
        }
    }

    fn walk_value(&mut self, path: &str, value: &DeValue<'_>) {
        match value {
            DeValue::Table(t) => self.walk_table(path, t),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    self.offsets.insert(p.clone(), item.span().start);
                    self.walk_value(&p, item.get_ref());
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

    /// 1-based line and column (in bytes) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        (line.max(1), offset - start + 1)
    }
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
}
