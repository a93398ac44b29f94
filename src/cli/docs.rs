//! `trimtab completions SHELL` and `trimtab man`: a shell completion script and the manual
//! pages, both generated from the clap definitions in [`super::args`], so they always list the
//! commands and flags this binary has. Both write through [`super::out`] (a closed pipe is a
//! quiet end); `man --out DIR` writes `trimtab.1` and one page per command (`trimtab-check.1`,
//! `trimtab-simulate.1`, …) into DIR instead.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use super::args::{Cli, CompletionsArgs, ManArgs};
use super::out;

/// The name the scripts complete and the pages are titled with.
const BIN: &str = "trimtab";

/// `trimtab completions SHELL`.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    out::text(&completion_script(args.shell)?)?;
    Ok(())
}

/// The completion script for `shell`.
pub fn completion_script(shell: clap_complete::Shell) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut buf);
    String::from_utf8(buf).context("the completion script is not UTF-8")
}

/// `trimtab man [--out DIR]`.
pub fn man(args: &ManArgs) -> anyhow::Result<()> {
    match &args.out {
        Some(dir) => write_pages(dir),
        None => Ok(out::text(&page()?)?),
    }
}

/// The top-level page, `trimtab.1`, as roff.
pub fn page() -> anyhow::Result<String> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf).context("rendering the man page")?;
    String::from_utf8(buf).context("the man page is not UTF-8")
}

/// Writes `trimtab.1` and a page per command into `dir` (created if missing), and lists them.
fn write_pages(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let written = || format!("writing man pages to {}", dir.display());
    clap_mangen::generate_to(Cli::command(), dir).with_context(written)?;
    let names = page_names();
    out::line(&format!("wrote {} man pages to {}: {}", names.len(), dir.display(), names.join(", ")))?;
    Ok(())
}

/// The files `man --out` writes: `trimtab.1`, then `trimtab-COMMAND.1` for each command.
pub fn page_names() -> Vec<String> {
    let cmd = Cli::command();
    let commands = cmd.get_subcommands().filter(|c| !c.is_hide_set());
    std::iter::once(format!("{BIN}.1")).chain(commands.map(|c| format!("{BIN}-{}.1", c.get_name()))).collect()
}
