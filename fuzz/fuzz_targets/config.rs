//! The config loader on any text: `config::from_str` returns a config or diagnostics, never
//! panics, and every diagnostic points inside the file it names. A config it accepts must then
//! decide: its policy (schedule windows included, with whatever cron, `at` and time zone the text
//! gave), and in controller mode each named policy, through `core::decide` at a fixed instant,
//! within its bounds.
#![no_main]

use chrono::DateTime;
use libfuzzer_sys::fuzz_target;
use trimtab::config::Config;
use trimtab::core::{History, Observation, decide};
use trimtab_fuzz::known::guard;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    guard(|| match trimtab::config::from_str("fuzz.toml", text) {
        Ok(cfg) => decides(&cfg),
        Err(e) => {
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

fn decides(cfg: &Config) {
    let named = cfg.fleet.iter().flat_map(|f| f.policies.values());
    for scaling in std::iter::once(&cfg.scaling).chain(named) {
        let policy = &scaling.policy;
        // 2027-01-17T08:00:00Z, the base the core's own tests use.
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("a valid instant");
        let d = decide(policy, &Observation::new(policy.bounds.min().get().max(1)), &History::default(), now);
        assert!(d.bounds.bounds.contains(d.desired), "{} outside {}", d.desired, d.bounds.bounds);
    }
}
