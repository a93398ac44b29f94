//! `trimtab policies [NAME]`: the shipped policy templates, one line each, or one in full.
//! With `--format json`: `{"templates":[{"name","summary","file"}…]}`, or one template as
//! `{"name","summary","file","toml"}` (the TOML text as shipped).

use serde::Serialize;

use super::args::PoliciesArgs;
use super::{UsageError, out};
use crate::config::suggest;
use crate::config::templates::{self, Template};

/// A template as `--format json` shows it.
#[derive(Debug, Serialize)]
pub struct TemplateView {
    pub name: &'static str,
    pub summary: &'static str,
    /// Where it lives in the source tree (`policies/NAME.toml`).
    pub file: String,
    /// The TOML itself; only when one template is asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toml: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct TemplateList {
    pub templates: Vec<TemplateView>,
}

/// `trimtab policies [NAME]`.
pub fn command(args: PoliciesArgs) -> anyhow::Result<()> {
    let format = args.output.format;
    match args.name {
        None => {
            let list = TemplateList { templates: templates::ALL.iter().map(|t| view(t, false)).collect() };
            out::emit(format, &list, |_| list_table())?;
        }
        Some(name) => {
            let t = find(&name)?;
            out::emit(format, &view(t, true), |_| t.text.to_owned())?;
        }
    }
    Ok(())
}

/// The template called `name`, or a usage error that suggests the name meant.
pub fn find(name: &str) -> Result<&'static Template, UsageError> {
    templates::get(name).ok_or_else(|| UsageError(suggest::unknown("template", name, &templates::names())))
}

fn view(t: &'static Template, with_text: bool) -> TemplateView {
    TemplateView { name: t.name, summary: t.summary(), file: t.file(), toml: with_text.then_some(t.text) }
}

/// `trimtab policies`: one line per template.
pub fn list_table() -> String {
    let width = templates::ALL.iter().map(|t| t.name.len()).max().unwrap_or(0);
    templates::ALL.iter().map(|t| format!("{:<width$}  {}\n", t.name, t.summary())).collect()
}
