//! The last hour of this task, as a bounded ring of readings, summarised per window.
//!
//! The ring is bounded by count, not time: the loop reads at a fixed interval, so 720 readings are
//! an hour at 5 s, and the memory used never depends on how long the agent has been up. A window is
//! a span ending at `now`; its stats cover the readings in `(now - span, now]` that have a value for
//! the series (a reading without one, like the first, rate-less one, is not a sample of zero).
//! Percentiles are nearest-rank, so every one is a value that was actually observed.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::Reading;

/// A numeric series of a [`Reading`] that windows summarise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Series {
    CpuPct,
    MemoryPct,
    MemoryBytes,
    DiskReadBps,
    DiskWriteBps,
    DiskIops,
    NetRxBps,
    NetTxBps,
    ThrottledPct,
}

impl Series {
    pub const ALL: [Series; 9] = [
        Series::CpuPct,
        Series::MemoryPct,
        Series::MemoryBytes,
        Series::DiskReadBps,
        Series::DiskWriteBps,
        Series::DiskIops,
        Series::NetRxBps,
        Series::NetTxBps,
        Series::ThrottledPct,
    ];

    /// The name of the [`Reading`] field, as the API shows it.
    pub fn name(self) -> &'static str {
        match self {
            Series::CpuPct => "cpu_pct",
            Series::MemoryPct => "memory_pct",
            Series::MemoryBytes => "memory_bytes",
            Series::DiskReadBps => "disk_read_bps",
            Series::DiskWriteBps => "disk_write_bps",
            Series::DiskIops => "disk_iops",
            Series::NetRxBps => "net_rx_bps",
            Series::NetTxBps => "net_tx_bps",
            Series::ThrottledPct => "throttled_pct",
        }
    }

    /// This series' value in `r`, if it has one.
    pub fn of(self, r: &Reading) -> Option<f64> {
        match self {
            Series::CpuPct => r.cpu_pct,
            Series::MemoryPct => r.memory_pct,
            Series::MemoryBytes => r.memory_bytes.map(|b| b as f64),
            Series::DiskReadBps => r.disk_read_bps,
            Series::DiskWriteBps => r.disk_write_bps,
            Series::DiskIops => r.disk_iops,
            Series::NetRxBps => r.net_rx_bps,
            Series::NetTxBps => r.net_tx_bps,
            Series::ThrottledPct => r.throttled_pct,
        }
    }
}

/// The windows the view shows, by name: 1m, 5m, 15m, 1h.
pub fn standard_windows() -> [(&'static str, TimeDelta); 4] {
    [
        ("1m", TimeDelta::minutes(1)),
        ("5m", TimeDelta::minutes(5)),
        ("15m", TimeDelta::minutes(15)),
        ("1h", TimeDelta::hours(1)),
    ]
}

/// One series over one window. Everything but `samples` is `None` when there are no samples.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WindowStats {
    pub samples: usize,
    pub avg: Option<f64>,
    pub peak: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
}

impl WindowStats {
    /// Stats of `values`; non-finite values are not samples.
    pub fn of(values: impl IntoIterator<Item = f64>) -> WindowStats {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return WindowStats::default();
        }
        v.sort_by(f64::total_cmp);
        WindowStats {
            samples: v.len(),
            avg: Some(v.iter().sum::<f64>() / v.len() as f64),
            peak: v.last().copied(),
            p50: nearest_rank(&v, 50.0),
            p90: nearest_rank(&v, 90.0),
            p99: nearest_rank(&v, 99.0),
        }
    }
}

/// The smallest of the `sorted` samples with at least `p`% of them at or below it.
fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
}

/// The most recent readings, oldest first, at most `capacity` of them.
#[derive(Clone, Debug)]
pub struct History {
    capacity: usize,
    ring: VecDeque<Reading>,
}

impl History {
    /// One hour at the default 5 s interval.
    pub const DEFAULT_CAPACITY: usize = 720;

    /// A history of at most `capacity` readings (at least one).
    pub fn new(capacity: usize) -> History {
        let capacity = capacity.max(1);
        History { capacity, ring: VecDeque::with_capacity(capacity) }
    }

    /// Appends a reading, dropping the oldest when full.
    pub fn push(&mut self, reading: Reading) {
        if self.ring.len() == self.capacity {
            self.ring.pop_front();
        }
        self.ring.push_back(reading);
    }

    pub fn latest(&self) -> Option<&Reading> {
        self.ring.back()
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The readings at or before `now`, oldest first.
    pub fn until(&self, now: DateTime<Utc>) -> impl DoubleEndedIterator<Item = &Reading> {
        self.ring.iter().filter(move |r| r.at <= now)
    }

    /// The readings in `(now - span, now]`, oldest first.
    pub fn within(&self, span: TimeDelta, now: DateTime<Utc>) -> impl DoubleEndedIterator<Item = &Reading> {
        let start = now.checked_sub_signed(span).unwrap_or(DateTime::<Utc>::MIN_UTC);
        self.until(now).filter(move |r| r.at > start)
    }

    /// `series` over the `span` ending at `now`.
    pub fn window(&self, series: Series, span: TimeDelta, now: DateTime<Utc>) -> WindowStats {
        WindowStats::of(self.within(span, now).filter_map(|r| series.of(r)))
    }

    /// Every series over every standard window: window name → series name → stats.
    pub fn windows(&self, now: DateTime<Utc>) -> BTreeMap<String, BTreeMap<String, WindowStats>> {
        let per_series =
            |span| Series::ALL.iter().map(|&s| (s.name().to_owned(), self.window(s, span, now))).collect();
        standard_windows().into_iter().map(|(name, span)| (name.to_owned(), per_series(span))).collect()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use chrono::TimeZone;

    pub fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap()
    }

    /// A reading at `t0 + secs` with nothing in it.
    pub fn blank(secs: i64) -> Reading {
        Reading::empty(t0() + TimeDelta::seconds(secs))
    }

    fn cpu(secs: i64, pct: f64) -> Reading {
        Reading { cpu_pct: Some(pct), ..blank(secs) }
    }

    #[test]
    fn stats_of_one_to_a_hundred() {
        let s = WindowStats::of((1..=100).map(f64::from));
        assert_eq!(s.samples, 100);
        assert_eq!(s.avg, Some(50.5));
        assert_eq!(s.peak, Some(100.0));
        assert_eq!((s.p50, s.p90, s.p99), (Some(50.0), Some(90.0), Some(99.0)));
    }

    #[test]
    fn stats_are_observed_values_and_skip_nan() {
        let s = WindowStats::of([10.0, f64::NAN, 30.0, 20.0]);
        assert_eq!(s.samples, 3);
        assert_eq!(s.avg, Some(20.0));
        assert_eq!((s.p50, s.p90, s.p99, s.peak), (Some(20.0), Some(30.0), Some(30.0), Some(30.0)));
        assert_eq!(WindowStats::of([]), WindowStats::default());
        assert_eq!(WindowStats::of([]).avg, None);
    }

    #[test]
    fn window_covers_the_span_ending_now_and_skips_missing_values() {
        let mut h = History::new(100);
        h.push(blank(0)); // the first reading has no rate
        for i in 1..=12 {
            h.push(cpu(i * 10, i as f64));
        }
        let now = t0() + TimeDelta::seconds(120);
        let last_minute = h.window(Series::CpuPct, TimeDelta::minutes(1), now);
        assert_eq!(last_minute.samples, 6); // 70..=120 s: the reading at 60 s is on the open edge
        assert_eq!(last_minute.avg, Some(9.5));
        assert_eq!(last_minute.peak, Some(12.0));
        let all = h.window(Series::CpuPct, TimeDelta::hours(1), now);
        assert_eq!((all.samples, all.p50), (12, Some(6.0)));
        let earlier = h.window(Series::CpuPct, TimeDelta::minutes(1), t0() + TimeDelta::seconds(30));
        assert_eq!((earlier.samples, earlier.peak), (3, Some(3.0))); // nothing after `now`
        assert_eq!(h.window(Series::MemoryPct, TimeDelta::hours(1), now).samples, 0);
    }

    #[test]
    fn ring_drops_the_oldest() {
        let mut h = History::new(3);
        for i in 0..5 {
            h.push(cpu(i, i as f64));
        }
        assert_eq!((h.len(), h.capacity()), (3, 3));
        assert_eq!(h.latest().and_then(|r| r.cpu_pct), Some(4.0));
        let all = h.window(Series::CpuPct, TimeDelta::hours(1), t0() + TimeDelta::seconds(4));
        assert_eq!((all.samples, all.avg), (3, Some(3.0)));
        assert_eq!(History::new(0).capacity(), 1);
    }

    #[test]
    fn windows_name_every_window_and_series() {
        let mut h = History::new(10);
        h.push(Reading { memory_bytes: Some(1024), ..cpu(0, 50.0) });
        let w = h.windows(t0());
        assert_eq!(w.keys().collect::<Vec<_>>(), ["15m", "1h", "1m", "5m"]);
        assert_eq!(w["5m"].len(), Series::ALL.len());
        assert_eq!(w["1m"]["cpu_pct"].avg, Some(50.0));
        assert_eq!(w["1h"]["memory_bytes"].peak, Some(1024.0));
        assert_eq!(w["1h"]["net_rx_bps"].samples, 0);
    }
}
