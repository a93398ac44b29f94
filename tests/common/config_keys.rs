//! The keys a config section accepts, as the parser itself says them: the tests that keep the
//! README reference and the JSON Schema in step with the parser read them here.

/// The keys `probe` (a section with one unknown key, `zz_probe`) accepts, read from the
/// parser's "unknown field `zz_probe`, … expected one of …" message.
pub fn accepted_keys(probe: &str) -> Vec<String> {
    let err = trimtab::config::from_str("probe.toml", probe).expect_err("an unknown key is refused");
    let message = err
        .diagnostics()
        .iter()
        .map(|d| d.message.clone())
        .find(|m| m.starts_with("unknown field `zz_probe`"))
        .unwrap_or_else(|| panic!("zz_probe not reported for\n{probe}\n{:?}", err.diagnostics()));
    let list = message.split("expected one of ").nth(1).unwrap_or_else(|| panic!("{message}"));
    list.split(", ").map(|k| k.trim_matches('`').to_owned()).collect()
}
