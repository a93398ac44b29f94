//! Everything a command prints to stdout goes through here, so that every command treats a
//! closed pipe the same way and scripts can rely on one output contract.
//!
//! The model: a command builds its whole answer first (a table as text, or a value that
//! serializes to one JSON document), then hands it to [`emit`] (or [`text`] / [`json`]), which
//! writes it through the locked stdout and flushes. A reader that goes away early
//! (`trimtab cost --format json | head -1`) makes the write fail with `BrokenPipe`; that is a
//! normal, quiet end: the error [`Closed`] travels up to `main`, which exits 0 without a word.
//! `println!` would panic there instead (exit 101), which is what this module replaces.
//!
//! SIGPIPE stays ignored, as Rust sets it up: the agent (`trimtab run`) must never die of a
//! signal because whoever reads its stdout went away. Notes for people (warnings, timings)
//! go to stderr through [`note`], which never fails: a lost note is no reason to stop.

use std::io::{self, Write};

use serde::Serialize;

use super::args::Format;

/// The reader of stdout went away (`BrokenPipe`): the command ends quietly, exit 0.
#[derive(Debug, thiserror::Error)]
#[error("stdout closed by its reader")]
pub struct Closed;

/// Why a command's output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutError {
    /// The reader went away; see [`Closed`].
    #[error(transparent)]
    Closed(#[from] Closed),
    /// Writing to stdout failed otherwise (a full disk behind a redirect, …).
    #[error("writing to stdout")]
    Write(#[source] io::Error),
    /// The value has no JSON form (a map with non-string keys, a non-finite number, …).
    #[error("encoding the output as JSON")]
    Encode(#[source] serde_json::Error),
}

/// `written`, with a closed pipe forgiven: for a command whose outcome is its exit code (a bad
/// config, an unhealthy agent), so that `| head` cannot turn a failure into exit 0.
pub fn before_failing(written: Result<(), OutError>) -> Result<(), OutError> {
    match written {
        Err(OutError::Closed(_)) => Ok(()),
        other => other,
    }
}

/// Whether `e` (anywhere in its chain) is the quiet end of a closed pipe.
pub fn is_closed(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.is::<Closed>() || matches!(cause.downcast_ref::<OutError>(), Some(OutError::Closed(_)))
    })
}

/// Writes `s` to stdout as it is, and flushes.
pub fn text(s: &str) -> Result<(), OutError> {
    write_to(&mut io::stdout().lock(), s.as_bytes())
}

/// Writes `s` and a newline.
pub fn line(s: &str) -> Result<(), OutError> {
    text(&format!("{s}\n"))
}

/// Writes `value` as one pretty-printed JSON document and a newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<(), OutError> {
    text(&to_json(value)?)
}

/// Writes `value` in `format`: its JSON, or the table `table` makes of it.
pub fn emit<T: Serialize + ?Sized>(
    format: Format,
    value: &T,
    table: impl FnOnce(&T) -> String,
) -> Result<(), OutError> {
    match format {
        Format::Table => text(&table(value)),
        Format::Json => json(value),
    }
}

/// `value` as pretty JSON with a final newline.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, OutError> {
    let mut s = serde_json::to_string_pretty(value).map_err(OutError::Encode)?;
    s.push('\n');
    Ok(s)
}

/// A line for people on stderr (a warning, a timing). Never fails: when stderr is gone too,
/// the note is dropped.
pub fn note(s: &str) {
    let _ = writeln!(io::stderr().lock(), "{s}");
}

/// Writes and flushes `bytes`, mapping a closed pipe to [`Closed`].
fn write_to(w: &mut impl Write, bytes: &[u8]) -> Result<(), OutError> {
    let done = w.write_all(bytes).and_then(|()| w.flush());
    done.map_err(|e| match e.kind() {
        io::ErrorKind::BrokenPipe => OutError::Closed(Closed),
        _ => OutError::Write(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone.
    struct Gone;

    impl Write for Gone {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_a_quiet_end_and_other_failures_are_errors() {
        let closed = write_to(&mut Gone, b"x").unwrap_err();
        assert!(matches!(closed, OutError::Closed(_)));
        assert!(is_closed(&anyhow::Error::new(closed).context("printing the report")));
        let full = io::Error::from(io::ErrorKind::StorageFull);
        assert!(!is_closed(&anyhow::Error::new(OutError::Write(full))));
        let mut buf = Vec::new();
        write_to(&mut buf, b"ok\n").unwrap();
        assert_eq!(buf, b"ok\n");
    }

    #[test]
    fn json_is_one_document_with_a_final_newline() {
        let s = to_json(&serde_json::json!({"ok": true})).unwrap();
        assert_eq!(s, "{\n  \"ok\": true\n}\n");
    }
}
