//! The Prometheus text parser on any scrape, and the arithmetic the agent does on what it parsed
//! (sums, histograms, quantiles, increases): never a panic, and a histogram is sorted with +Inf
//! last.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trimtab::sources::promtext::{self, Scrape};
use trimtab_fuzz::known::guard;

/// Bounds the work per input: the series looked at and the label sets tried as matchers.
const MAX_SERIES: usize = 16;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    guard(|| {
        let Ok(scrape) = promtext::parse(text) else { return };
        for s in scrape.samples.iter().take(MAX_SERIES) {
            let _ = scrape.sum(&s.name, &[]);
            assert!(scrape.sum(&s.name, &s.labels).is_some(), "{s:?} matches itself");
            let base = s.name.strip_suffix("_bucket").unwrap_or(&s.name);
            let matchers: Vec<_> = s.labels.iter().filter(|(k, _)| k != "le").cloned().collect();
            for m in [&[][..], &matchers[..]] {
                histogram(&scrape, base, m);
            }
        }
    });
});

fn histogram(scrape: &Scrape, base: &str, matchers: &[(String, String)]) {
    let Some(buckets) = scrape.histogram(base, matchers) else { return };
    assert!(buckets.windows(2).all(|w| w[0].le < w[1].le), "{buckets:?} sorted, one bucket per bound");
    assert_eq!(buckets.last().map(|b| b.le), Some(f64::INFINITY));
    for q in [-0.5, 0.0, 0.5, 0.95, 0.99, 1.0, 1.5, f64::NAN] {
        let _ = promtext::histogram_quantile(q, &buckets);
    }
    let increase = promtext::bucket_increase(&buckets, &buckets);
    assert_eq!(increase.len(), buckets.len());
    let _ = promtext::histogram_quantile(0.5, &increase);
    for b in &buckets {
        let _ = promtext::counter_increase(b.count, b.count * 2.0);
    }
}
