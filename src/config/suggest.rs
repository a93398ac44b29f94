//! "Did you mean": the known name a misspelt one most likely stands for.
//!
//! A name is compared with each known one by Jaro-Winkler similarity (0 to 1, favouring a
//! shared beginning, which suits names like `web-balanced` or `latency_p95_ms`), ignoring
//! case. The closest known name is suggested when it scores at least [`THRESHOLD`]: close
//! enough that a typo (`cpuu`, `web-balancd`, `memroy`) finds its name and an unrelated word
//! (`bogus`, `requests`) finds none. Jaro-Winkler misses one slip in a short name (`wbe` for
//! `web` shares only its first letter in place), so a name of three letters or more that is
//! one edit (a letter added, dropped, changed, or two swapped) from a known one always
//! qualifies, ahead of the rest. Used for metric names (`trimtab explain -m`), template names
//! (`[scaling] template`, `simulate --template`, `trimtab policies NAME`), policy names and a
//! config's unknown keys.

/// The least similarity at which a known name is suggested.
pub const THRESHOLD: f64 = 0.8;

/// The known name closest to `name`, when it is close enough to be what was meant.
pub fn closest<'k>(name: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let name = name.to_lowercase();
    known
        .into_iter()
        .map(|k| (similarity(&name, &k.to_lowercase()), k))
        .filter(|(score, _)| *score >= THRESHOLD)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// Jaro-Winkler, lifted above every plain score (by 1) for a single edit in a name of three
/// letters or more.
fn similarity(name: &str, known: &str) -> f64 {
    let one_slip = name.chars().count() >= 3 && strsim::damerau_levenshtein(name, known) <= 1;
    strsim::jaro_winkler(name, known) + if one_slip { 1.0 } else { 0.0 }
}

/// `did you mean "cpu"? ` when a known name is close to `name`, else nothing: the part of a
/// message that goes before the list of known names.
pub fn did_you_mean<'k>(name: &str, known: impl IntoIterator<Item = &'k str>) -> String {
    closest(name, known).map_or_else(String::new, |k| format!("did you mean {k:?}? "))
}

/// `unknown metric "cpuu"; did you mean "cpu"? known: cpu, memory`.
pub fn unknown(what: &str, name: &str, known: &[&str]) -> String {
    let hint = did_you_mean(name, known.iter().copied());
    format!("unknown {what} {name:?}; {hint}known: {}", known.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: [&str; 4] = ["cpu", "memory", "latency_p95_ms", "error_rate_pct"];
    const TEMPLATES: [&str; 6] = [
        "web-balanced",
        "web-aggressive",
        "api-performance",
        "batch-cost-optimized",
        "ml-gpu",
        "dev-minimal",
    ];

    #[test]
    fn typos_find_their_name() {
        for (typo, meant) in [
            ("cpuu", "cpu"),
            ("CPU", "cpu"),
            ("memroy", "memory"),
            ("mem", "memory"),
            ("latency_p59_ms", "latency_p95_ms"),
            ("error_rate", "error_rate_pct"),
            ("gpu", "cpu"),
        ] {
            assert_eq!(closest(typo, METRICS), Some(meant), "{typo}");
        }
        for (typo, meant) in [
            ("web-balancd", "web-balanced"),
            ("web_balanced", "web-balanced"),
            ("web-agressive", "web-aggressive"),
            ("batch-cost", "batch-cost-optimized"),
            ("dev-minimum", "dev-minimal"),
        ] {
            assert_eq!(closest(typo, TEMPLATES), Some(meant), "{typo}");
        }
    }

    #[test]
    fn one_slip_in_a_short_name_is_found() {
        assert_eq!(closest("wbe", ["web", "web-balanced"]), Some("web"));
        assert_eq!(closest("ab", ["ba"]), None, "two letters are too few to guess from");
    }

    #[test]
    fn unrelated_words_find_nothing() {
        for word in ["bogus", "requests", "xyz", "", "queue_depth"] {
            assert_eq!(closest(word, METRICS), None, "{word}");
        }
        for word in ["nope", "fast", "cheap", "latency"] {
            assert_eq!(closest(word, TEMPLATES), None, "{word}");
        }
    }

    #[test]
    fn the_message_names_the_guess_then_every_known_name() {
        assert_eq!(
            unknown("metric", "cpuu", &METRICS),
            "unknown metric \"cpuu\"; did you mean \"cpu\"? known: cpu, memory, latency_p95_ms, error_rate_pct"
        );
        assert_eq!(unknown("metric", "zzz", &["cpu"]), "unknown metric \"zzz\"; known: cpu");
    }
}
