//! A Prometheus histogram as plain data: the driver records each tick's duration into it, the
//! snapshot carries it, and `/metrics` writes it out as `_bucket`, `_sum` and `_count`.

/// Upper bounds, in seconds, of the tick duration buckets: from a local tick's milliseconds to
/// a tick cut at a one-minute interval (its reads stop there; a change may add its 8 s).
pub const TICK_BUCKETS: [f64; 13] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// Observations per bucket of [`TICK_BUCKETS`] (each counted in the first that holds it).
    counts: [u64; TICK_BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    /// Records one duration in seconds; a negative or non-finite one is not a duration and is
    /// left out.
    pub fn observe(&mut self, seconds: f64) {
        if !seconds.is_finite() || seconds < 0.0 {
            return;
        }
        if let Some(i) = TICK_BUCKETS.iter().position(|le| seconds <= *le) {
            self.counts[i] += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }

    /// `(upper bound, observations at or below it)`, cumulative as Prometheus counts them; the
    /// `+Inf` bucket is [`Histogram::count`].
    pub fn buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        TICK_BUCKETS
            .iter()
            .zip(self.counts.iter().scan(0, |acc, n| {
                *acc += n;
                Some(*acc)
            }))
            .map(|(le, n)| (*le, n))
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    pub fn count(&self) -> u64 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_the_sum_and_count_add_up() {
        let mut h = Histogram::default();
        for s in [0.003, 0.005, 0.2, 7.0, 120.0, f64::NAN, -1.0] {
            h.observe(s);
        }
        let b: Vec<(f64, u64)> = h.buckets().collect();
        assert_eq!(b.len(), TICK_BUCKETS.len());
        assert_eq!(b[0], (0.005, 2), "a bound holds what equals it");
        assert_eq!(b[5], (0.25, 3));
        assert_eq!(b[10], (10.0, 4));
        assert_eq!(b[12], (60.0, 4), "120 s is only in +Inf");
        assert_eq!(h.count(), 5, "NaN and negative durations are left out");
        assert!((h.sum() - 127.208).abs() < 1e-9, "{}", h.sum());
    }
}
