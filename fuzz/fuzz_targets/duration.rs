//! Durations on any text: `config::duration::parse` returns a duration or an error, never panics,
//! never a negative duration, and what it accepts it accepts again when written in milliseconds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trimtab::config::duration::parse;
use trimtab_fuzz::known::guard;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    guard(|| {
        if let Ok(d) = parse(text) {
            assert!(d >= chrono::TimeDelta::zero(), "{text:?} parsed as {d}");
            let ms = format!("{}ms", d.num_milliseconds());
            assert_eq!(parse(&ms), Ok(d), "{text:?} → {ms:?}");
        }
    });
});
