//! What the right-sizer remembers: decaying histograms over exponential buckets, one peak of
//! memory per day, and the out-of-memory kills (see the parent module for the model).

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::core::types::{earlier, later};

/// Every sample loses half its weight per half-life.
pub(super) const HALF_LIFE_MS: f64 = 24.0 * 3_600_000.0;
/// Past this many half-lives from the reference, the histogram is re-based.
pub(super) const MAX_DECAY_EXPONENT: f64 = 100.0;
/// Memory is aggregated as one peak per interval of this length.
pub(super) const PEAK_INTERVAL: TimeDelta = TimeDelta::hours(24);
/// Bucket 0 is `[0, 1)`, bucket `n` is `1.05^n` wide; the last one starts past 1,048,576, which is
/// 1,024 vCPU in CPU units and 1 TiB in MiB.
pub(super) const BUCKET_RATIO: f64 = 1.05;
pub(super) const BUCKETS: usize = 224;
pub(super) const OOM_BUMP_RATIO: f64 = 1.2;
pub(super) const OOM_MIN_BUMP_MIB: f64 = 100.0;
/// How many samples make a day of history (the VPA counts one a minute; the agent ticks every
/// 15 s by default and CloudWatch reports every minute or five).
pub(super) const SAMPLES_PER_DAY: f64 = 288.0;
pub(super) fn bucket_index(value: f64) -> usize {
    ((value * (BUCKET_RATIO - 1.0) + 1.0).log(BUCKET_RATIO) as usize).min(BUCKETS - 1)
}

pub(super) fn bucket_start(i: usize) -> f64 {
    (BUCKET_RATIO.powi(i as i32) - 1.0) / (BUCKET_RATIO - 1.0)
}

/// Where bucket `i` ends (the last bucket has no end, so its start).
pub(super) fn bucket_end(i: usize) -> f64 {
    bucket_start((i + 1).min(BUCKETS - 1))
}

/// A histogram whose samples weigh `2^((t − reference) / half-life)`, newer ones more.
#[derive(Clone, Debug, PartialEq)]
pub struct DecayingHistogram {
    pub(super) weights: Vec<f64>,
    pub(super) total: f64,
    pub(super) reference: DateTime<Utc>,
}

impl Default for DecayingHistogram {
    fn default() -> Self {
        DecayingHistogram { weights: vec![0.0; BUCKETS], total: 0.0, reference: DateTime::UNIX_EPOCH }
    }
}

impl DecayingHistogram {
    pub fn add(&mut self, value: f64, at: DateTime<Utc>) {
        let w = self.decay_factor(at);
        self.weights[bucket_index(value)] += w;
        self.total += w;
    }

    /// The end of the bucket where the weight up to it reaches `p` (0..=1) of the total, so the
    /// result errs high by at most a bucket (5%); `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let last = self.weights.iter().rposition(|&w| w > 0.0)?;
        let (threshold, mut sum) = (p.clamp(0.0, 1.0) * self.total, 0.0);
        let reaches = |&w: &f64| {
            sum += w;
            w > 0.0 && sum >= threshold
        };
        Some(bucket_end(self.weights[..=last].iter().position(reaches).unwrap_or(last)))
    }

    pub(super) fn decay_factor(&mut self, at: DateTime<Utc>) -> f64 {
        if self.total <= 0.0 {
            self.reference = at;
        }
        if half_lives(at - self.reference) > MAX_DECAY_EXPONENT {
            self.rebase(at);
        }
        half_lives(at - self.reference).exp2()
    }

    /// Moves the reference to `at`, scaling every weight by the same factor (percentiles stay).
    pub(super) fn rebase(&mut self, at: DateTime<Utc>) {
        let factor = (-half_lives(at - self.reference)).exp2();
        self.weights.iter_mut().for_each(|w| *w *= factor);
        self.total *= factor;
        self.reference = at;
    }
}

pub(super) fn half_lives(d: TimeDelta) -> f64 {
    d.num_milliseconds() as f64 / HALF_LIFE_MS
}

/// The memory interval still open: its end and the peaks seen in it so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct PeakWindow {
    pub(super) end: DateTime<Utc>,
    pub(super) usage: f64,
    pub(super) oom: f64,
}

impl PeakWindow {
    /// The interval, in steps of [`PEAK_INTERVAL`] from `from`, that holds `at`.
    pub(super) fn holding(from: DateTime<Utc>, at: DateTime<Utc>) -> Self {
        let step = PEAK_INTERVAL.num_milliseconds();
        let n = (at - from).num_milliseconds().div_euclid(step).max(0) + 1;
        PeakWindow { end: later(from, TimeDelta::milliseconds(n.saturating_mul(step))), usage: 0.0, oom: 0.0 }
    }

    pub(super) fn peak(self) -> f64 {
        self.usage.max(self.oom)
    }
}

/// An out-of-memory kill as the estimator counts it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Oom {
    pub at: DateTime<Utc>,
    /// Memory in use (MiB): the larger of what was reported at the kill and the interval's peak.
    pub used: f64,
    /// The memory peak recorded for it: `max(used × 1.2, used + 100)`.
    pub recorded: f64,
    /// OOM kills recorded so far, this one included.
    pub count: u32,
}

/// What one task of the service used, decayed and bounded (see the module docs).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Estimator {
    pub(super) cpu: DecayingHistogram,
    pub(super) memory_peaks: DecayingHistogram,
    pub(super) window: Option<PeakWindow>,
    pub(super) first: Option<DateTime<Utc>>,
    pub(super) last: Option<DateTime<Utc>>,
    pub(super) last_memory: Option<DateTime<Utc>>,
    pub(super) samples: u64,
    pub(super) max_cpu: f64,
    pub(super) max_memory: f64,
    pub(super) last_oom: Option<Oom>,
}

pub(super) fn usable(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

impl Estimator {
    pub fn new() -> Self {
        Self::default()
    }

    /// The task's CPU use in CPU units at `at`. Ignored when not finite, negative, or not later
    /// than the last CPU sample (a duplicate or out of order).
    pub fn add_cpu(&mut self, at: DateTime<Utc>, cpu_units: f64) {
        if !usable(cpu_units) || self.last.is_some_and(|l| at <= l) {
            return;
        }
        self.cpu.add(cpu_units, at);
        self.first.get_or_insert(at);
        self.last = Some(at);
        self.samples += 1;
        self.max_cpu = self.max_cpu.max(cpu_units);
    }

    /// The task's memory use in MiB at `at`. Ignored when not finite, negative, or earlier than
    /// the last memory sample.
    pub fn add_memory(&mut self, at: DateTime<Utc>, mib: f64) {
        if !usable(mib) || self.last_memory.is_some_and(|l| at < l) {
            return;
        }
        self.last_memory = Some(at);
        self.max_memory = self.max_memory.max(mib);
        let window = self.roll_window(at);
        window.usage = window.usage.max(mib);
    }

    /// An OOM kill at `at` with `mib_at_oom` MiB in use. A kill up to one interval before the open
    /// one still counts, into the open one (stop events can arrive late); an older one is ignored.
    pub fn add_oom(&mut self, at: DateTime<Utc>, mib_at_oom: f64) {
        if !usable(mib_at_oom)
            || self.window.is_some_and(|w| at < earlier(w.end, PEAK_INTERVAL + PEAK_INTERVAL))
        {
            return;
        }
        self.last_memory = Some(self.last_memory.map_or(at, |l| l.max(at)));
        self.max_memory = self.max_memory.max(mib_at_oom);
        let window = self.roll_window(at);
        let used = mib_at_oom.max(window.usage);
        let recorded = (used + OOM_MIN_BUMP_MIB).max(used * OOM_BUMP_RATIO);
        window.oom = window.oom.max(recorded);
        let count = self.last_oom.map_or(0, |o| o.count) + 1;
        self.last_oom = Some(Oom { at, used, recorded, count });
    }

    /// The open memory interval holding `at`, closing (recording the peak of) the one before.
    pub(super) fn roll_window(&mut self, at: DateTime<Utc>) -> &mut PeakWindow {
        if let Some(w) = self.window.filter(|w| at >= w.end) {
            self.memory_peaks.add(w.peak(), w.end);
            self.window = Some(PeakWindow::holding(w.end, at));
        }
        self.window.get_or_insert_with(|| PeakWindow::holding(at, at))
    }

    /// The decayed `p` (0..=1) percentile of CPU use in CPU units.
    pub fn percentile_cpu(&self, p: f64) -> Option<f64> {
        self.cpu.percentile(p)
    }

    /// The decayed `p` percentile of the daily memory peaks in MiB, the open interval's included.
    pub fn peak_memory_percentile(&self, p: f64) -> Option<f64> {
        self.memory_peaks_now().percentile(p)
    }

    pub(super) fn memory_peaks_now(&self) -> DecayingHistogram {
        let mut h = self.memory_peaks.clone();
        if let Some(w) = self.window {
            h.add(w.peak(), w.end);
        }
        h
    }

    /// From the first CPU sample to the last one (or `now`, if earlier).
    pub fn observed_span(&self, now: DateTime<Utc>) -> TimeDelta {
        match (self.first, self.last) {
            (Some(f), Some(l)) => (l.min(now) - f).max(TimeDelta::zero()),
            _ => TimeDelta::zero(),
        }
    }

    /// CPU samples taken.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    pub fn last_oom(&self) -> Option<Oom> {
        self.last_oom
    }

    /// History in days, as the VPA measures it: the span, but no more than the samples cover.
    pub fn confidence_days(&self, now: DateTime<Utc>) -> f64 {
        let span_days = self.observed_span(now).num_milliseconds() as f64 / (24.0 * 3_600_000.0);
        span_days.min(self.samples as f64 / SAMPLES_PER_DAY)
    }
}

/// An unsnapped need: CPU units and MiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Need {
    pub cpu: f64,
    pub memory: f64,
}

/// The most CPU and memory ever seen (OOM reports included), undecayed and without margin (zero
/// before any sample): apply mode refuses any size below it.
pub fn floor(est: &Estimator) -> Need {
    Need { cpu: est.max_cpu, memory: est.max_memory }
}
