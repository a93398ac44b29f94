//! The policy templates shipped in `policies/`, embedded in the binary so `template = "..."`
//! works without the files. Each file holds only a `[scaling]` table; its first comment line
//! `# summary: ...` is what `trimtab policies` prints.

/// The template used when a config names none.
pub const DEFAULT: &str = "web-balanced";

pub struct Template {
    pub name: &'static str,
    pub text: &'static str,
}

macro_rules! template {
    ($name:literal) => {
        Template { name: $name, text: include_str!(concat!("../../policies/", $name, ".toml")) }
    };
}

pub const ALL: &[Template] = &[
    template!("web-balanced"),
    template!("web-aggressive"),
    template!("api-performance"),
    template!("batch-cost-optimized"),
    template!("ml-gpu"),
    template!("dev-minimal"),
];

pub fn get(name: &str) -> Option<&'static Template> {
    ALL.iter().find(|t| t.name == name)
}

pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|t| t.name).collect()
}

impl Template {
    /// The path the template has in the source tree, used in error messages.
    pub fn file(&self) -> String {
        format!("policies/{}.toml", self.name)
    }

    /// The one-line summary from the `# summary:` comment.
    pub fn summary(&self) -> &'static str {
        self.text.lines().find_map(|l| l.strip_prefix("# summary:")).map_or("", str::trim)
    }
}
