//! The config loader on any text: `config::from_str` returns a config or diagnostics, never
//! panics, and every diagnostic points inside the file it names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trimtab_fuzz::known::guard;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    guard(|| {
        if let Err(e) = trimtab::config::from_str("fuzz.toml", text) {
            let lines = text.split('\n').count();
            for d in e.diagnostics() {
                assert!(d.line >= 1 && d.column >= 1, "{d}");
                if d.file == "fuzz.toml" {
                    assert!(d.line <= lines, "line {} of {lines}: {d}", d.line);
                }
            }
        }
    });
});
