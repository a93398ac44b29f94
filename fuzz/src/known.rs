//! Defects already known and being fixed elsewhere, which a fuzz run steps over instead of stopping
//! at, so one known panic does not hide everything behind it.
//!
//! libFuzzer stops at the first crash. While a known defect is open, every target that can reach it
//! would stop within seconds and find nothing else, and CI would fail on a defect someone is
//! already fixing. So [`guard`] runs a target's body with a panic hook that recognises each known
//! defect by its panic message **and** a frame of the function it panics in; that panic is
//! swallowed (the input counts as uninteresting) and a note is printed once. Any other panic goes
//! to libFuzzer's own hook, which prints it and aborts as usual.
//!
//! Each entry names the fix it waits for. **Delete the entry when that fix lands**: the regression
//! test that comes with the fix pins the input, and the fuzz targets then guard it too.

use std::backtrace::Backtrace;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

/// A defect being fixed elsewhere: a panic whose message contains `message`, raised in the source
/// file `frame` or with a frame of it on the stack. (Files, not function paths: fuzz builds carry
/// line tables only, so inlined frames show bare function names.)
pub struct Known {
    pub what: &'static str,
    pub message: &'static str,
    pub frame: &'static str,
}

/// Open defects: none. (Issue 14's duration overflow, `"106751991167d1d"`, was listed here until
/// `duration::parse` learned checked addition; its regression tests pin it now.)
pub const KNOWN: &[Known] = &[];

thread_local! {
    static HIT: Cell<Option<&'static Known>> = const { Cell::new(None) };
}

static INSTALL: Once = Once::new();

/// Runs `body`; a panic from a [`KNOWN`] defect is stepped over, any other aborts as usual.
pub fn guard(body: impl FnOnce()) {
    INSTALL.call_once(install);
    HIT.with(|h| h.set(None));
    if panic::catch_unwind(AssertUnwindSafe(body)).is_err() {
        // Only a known defect gets here: the hook aborted on anything else.
        let known = HIT.with(Cell::get).expect("the hook aborts on unknown panics");
        note_once(known);
    }
}

fn install() {
    let fuzzer_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| match recognise(info) {
        Some(k) => HIT.with(|h| h.set(Some(k))),
        None => fuzzer_hook(info),
    }));
}

fn recognise(info: &PanicHookInfo<'_>) -> Option<&'static Known> {
    let message = info.payload_as_str()?;
    let candidates: Vec<&Known> = KNOWN.iter().filter(|k| message.contains(k.message)).collect();
    if candidates.is_empty() {
        return None;
    }
    // Where the panic says it happened first; the whole stack (slow to symbolise) only if that
    // is elsewhere, say in a library the file calls.
    let at = info.location().map(|l| l.file()).unwrap_or_default();
    if let Some(k) = candidates.iter().find(|k| at.contains(k.frame)) {
        return Some(k);
    }
    let stack = Backtrace::force_capture().to_string();
    candidates.into_iter().find(|k| stack.contains(k.frame))
}

fn note_once(k: &'static Known) {
    static SEEN: std::sync::Mutex<Vec<&str>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if !seen.contains(&k.what) {
        seen.push(k.what);
        eprintln!("trimtab-fuzz: known defect stepped over (see fuzz/src/known.rs): {}", k.what);
    }
}
