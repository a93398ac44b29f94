//! What keeps notifications few: a de-duplication window over all targets, and a token bucket
//! per target.
//!
//! - **De-duplication.** An event whose [`key`](super::Event::key) was let through less than
//!   [`Limits::dedup_window`] ago is dropped. The map of keys is bounded: keys older than the
//!   window are forgotten as new ones come, and past [`Limits::max_keys`] the oldest goes first.
//! - **Rate limit.** Each target holds up to [`Limits::burst`] tokens and gains
//!   [`Limits::per_minute`] a minute; a notification takes one, and one that finds none is
//!   dropped. The first drop of a run is logged as a warning, the rest at debug, and the end of
//!   the run (the next notification let through) says how many were dropped.
//!
//! Time is tokio's monotonic clock, passed in: tests pause and advance it.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, warn};

/// How many notifications get through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Tokens a target gains a minute.
    pub per_minute: u32,
    /// The most tokens a target holds (and starts with).
    pub burst: u32,
    /// A repeat of an event within this long is dropped.
    pub dedup_window: Duration,
    /// The most event keys remembered.
    pub max_keys: usize,
}

impl Default for Limits {
    /// Up to 10 at once to a target, then 6 a minute; a repeat within 10 minutes is dropped;
    /// 1024 keys remembered (a few hundred bytes each).
    fn default() -> Self {
        Limits { per_minute: 6, burst: 10, dedup_window: Duration::from_secs(600), max_keys: 1024 }
    }
}

/// The keys let through, and when.
#[derive(Debug)]
pub struct Dedup {
    window: Duration,
    max_keys: usize,
    seen: HashMap<String, Instant>,
}

impl Dedup {
    pub fn new(limits: &Limits) -> Self {
        Dedup { window: limits.dedup_window, max_keys: limits.max_keys.max(1), seen: HashMap::new() }
    }

    /// Whether `key` is new within the window at `now`; if so it is remembered.
    pub fn first(&mut self, key: &str, now: Instant) -> bool {
        if self.repeats(key, now) {
            return false;
        }
        self.remember(key, now);
        true
    }

    /// Whether `key` was let through less than the window before `now`.
    pub fn repeats(&self, key: &str, now: Instant) -> bool {
        self.seen.get(key).is_some_and(|at| now.duration_since(*at) < self.window)
    }

    /// Remembers `key` as let through at `now` (the oldest key makes room when full).
    pub fn remember(&mut self, key: &str, now: Instant) {
        if self.seen.len() >= self.max_keys {
            self.seen.retain(|_, at| now.duration_since(*at) < self.window);
        }
        if self.seen.len() >= self.max_keys
            && let Some(oldest) = self.seen.iter().min_by_key(|(_, at)| **at).map(|(k, _)| k.clone())
        {
            self.seen.remove(&oldest);
        }
        self.seen.insert(key.to_owned(), now);
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// One target's token bucket.
#[derive(Debug)]
pub struct Bucket {
    tokens: f64,
    burst: f64,
    per_second: f64,
    last: Instant,
    /// Dropped since the last notification let through.
    dropping: u64,
}

impl Bucket {
    pub fn new(limits: &Limits, now: Instant) -> Self {
        let burst = f64::from(limits.burst.max(1));
        Bucket {
            tokens: burst,
            burst,
            per_second: f64::from(limits.per_minute) / 60.0,
            last: now,
            dropping: 0,
        }
    }

    /// Takes a token for a notification to `destination` at `now`: whether it may go.
    pub fn take(&mut self, now: Instant, destination: &str) -> bool {
        let gained = now.saturating_duration_since(self.last).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + gained).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            if self.dropping > 0 {
                info!(destination, dropped = self.dropping, "notifications flow again after the rate limit");
                self.dropping = 0;
            }
            return true;
        }
        if self.dropping == 0 {
            warn!(destination, "notification rate limit reached: dropping notifications until it refills");
        } else {
            debug!(destination, dropped = self.dropping + 1, "notification dropped by the rate limit");
        }
        self.dropping += 1;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn a_repeat_within_the_window_is_dropped_and_passes_after_it() {
        let mut d = Dedup::new(&Limits::default());
        assert!(d.first("scaling|prod/web|4|6", Instant::now()));
        tokio::time::advance(9 * MINUTE).await;
        assert!(!d.first("scaling|prod/web|4|6", Instant::now()), "within 10 minutes");
        assert!(d.first("scaling|prod/web|6|4", Instant::now()), "another change");
        tokio::time::advance(MINUTE).await;
        assert!(d.first("scaling|prod/web|4|6", Instant::now()), "10 minutes after it was let through");
    }

    #[tokio::test(start_paused = true)]
    async fn the_key_map_stays_bounded_and_forgets_the_oldest_first() {
        let limits = Limits { max_keys: 3, ..Limits::default() };
        let mut d = Dedup::new(&limits);
        for k in ["a", "b", "c", "d"] {
            assert!(d.first(k, Instant::now()));
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert_eq!(d.len(), 3);
        assert!(d.first("a", Instant::now()), "the oldest key was forgotten to make room");
        assert!(!d.first("d", Instant::now()), "a recent key is still known");
        // Expired keys make room before any recent one is forgotten.
        tokio::time::advance(limits.dedup_window).await;
        for i in 0..100 {
            assert!(d.first(&format!("k{i}"), Instant::now()));
        }
        assert_eq!(d.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_then_the_rate_and_drops_are_counted_by_the_caller() {
        let limits = Limits { per_minute: 6, burst: 3, ..Limits::default() };
        let mut b = Bucket::new(&limits, Instant::now());
        let passed = (0..5).filter(|_| b.take(Instant::now(), "POST hooks.example")).count();
        assert_eq!(passed, 3, "the burst");
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(!b.take(Instant::now(), "POST hooks.example"), "0.9 of a token after 9 s");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(b.take(Instant::now(), "POST hooks.example"), "one token every 10 s");
        assert!(!b.take(Instant::now(), "POST hooks.example"));
        // Idle long enough, it holds a full burst again, and no more.
        tokio::time::advance(10 * MINUTE).await;
        let passed = (0..5).filter(|_| b.take(Instant::now(), "POST hooks.example")).count();
        assert_eq!(passed, 3);
    }
}
