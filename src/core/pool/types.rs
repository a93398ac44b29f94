//! The pool's vocabulary: priorities, requests, outcomes and refusals, reservation views and
//! status, reservation secrets, with the wording the API shows for each.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// How many finished reservations a pool remembers; the oldest is forgotten first.
pub const TOMBSTONES: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Medium,
    High,
    Critical,
}

impl Priority {
    pub const NAMES: &'static [&'static str] = &["critical", "high", "medium", "low"];
    const ALL: [Priority; 4] = [Priority::Critical, Priority::High, Priority::Medium, Priority::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }

    /// Only High and Critical requests may preempt (and only lower priorities).
    pub fn may_preempt(self) -> bool {
        self >= Priority::High
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown priority {0:?}; expected one of critical, high, medium, low")]
pub struct UnknownPriority(pub String);

impl FromStr for Priority {
    type Err = UnknownPriority;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let found = Priority::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(s.trim()));
        found.ok_or_else(|| UnknownPriority(s.to_owned()))
    }
}

/// What a pool is: its capacity in units and the limits it sets on requests.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolSpec {
    pub capacity: u64,
    /// Whether High and Critical requests may preempt lower-priority reservations.
    pub preemption: bool,
    /// The longest a request may agree to wait; a longer `wait` is refused, not clamped.
    pub max_wait: TimeDelta,
    /// The TTL of a request that names none; when it is not positive or exceeds `max_ttl`, such
    /// requests are refused (the caller's config validation should prevent that).
    pub default_ttl: TimeDelta,
    pub max_ttl: Option<TimeDelta>,
    /// The most requests that may wait at once.
    pub max_queue: usize,
    /// The most reservations that may be held at once, whatever their amounts: each one costs
    /// memory, so a client asking for one unit at a time cannot grow the pool without bound.
    pub max_active: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub amount: u64,
    pub priority: Priority,
    /// `None`: the pool's `default_ttl`.
    pub ttl: Option<TimeDelta>,
    /// How long the request may wait in the queue; `None` or not positive: it does not wait.
    pub wait: Option<TimeDelta>,
    /// A free-text label for display.
    pub holder: Option<String>,
    /// What the holder must show to release it ([`Pool::release_with`]); `None`: it cannot be
    /// released that way, only expire or be preempted.
    ///
    /// [`Pool::release_with`]: super::Pool::release_with
    pub secret: Option<Secret>,
}

impl Request {
    pub fn new(amount: u64, priority: Priority) -> Self {
        Request { amount, priority, ttl: None, wait: None, holder: None, secret: None }
    }
}

/// A reservation's own key: whoever made the request gets it once, and only whoever shows it
/// may release the reservation. 256 bits the caller draws (the core has no randomness of its
/// own); compared in constant time; never serialized, and printed as `Secret(…)`.
#[derive(Clone)]
pub struct Secret([u8; Secret::LEN]);

impl Secret {
    pub const LEN: usize = 32;

    pub fn from_bytes(bytes: [u8; Secret::LEN]) -> Secret {
        Secret(bytes)
    }

    /// Lower-case hex, as the API hands it out.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A secret as the API receives it; `None` unless it is 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Secret> {
        let text = text.trim().as_bytes();
        if text.len() != 2 * Secret::LEN {
            return None;
        }
        let mut bytes = [0u8; Secret::LEN];
        for (b, pair) in bytes.iter_mut().zip(text.chunks(2)) {
            *b = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(Secret(bytes))
    }

    /// Compares every byte whatever the first difference, so the time taken tells nothing.
    pub fn matches(&self, other: &Secret) -> bool {
        let diff = self.0.iter().zip(&other.0).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A reservation's number, increasing per pool from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Id(pub u64);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a request got. A queued request's `position` is 1-based, as of the moment it queued.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Granted { id: Id, expires_at: DateTime<Utc>, preempted: Vec<Id> },
    Queued { id: Id, position: usize, deadline: DateTime<Utc> },
    Refused(Refusal),
}

/// Why a request was refused: `code()` is stable for machines, `Display` is for people. All but
/// `DeadlinePassed` (a waiter whose deadline came first) answer a new request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Refusal {
    ZeroAmount,
    OverCapacity { asked: u64, capacity: u64 },
    Insufficient { asked: u64, available: u64, capacity: u64 },
    QueueAhead { ahead: usize },
    WaitTooLong { wait_ms: i64, max_wait_ms: i64 },
    ZeroTtl { ttl_ms: i64 },
    TtlTooLong { ttl_ms: i64, max_ttl_ms: i64 },
    QueueFull { max_queue: usize },
    ActiveFull { max_active: usize },
    DeadlinePassed { asked: u64, available: u64, capacity: u64, ahead: usize, waited_ms: i64 },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::ZeroAmount => "zero_amount",
            Refusal::OverCapacity { .. } => "over_capacity",
            Refusal::Insufficient { .. } => "insufficient",
            Refusal::QueueAhead { .. } => "queue_ahead",
            Refusal::WaitTooLong { .. } => "wait_too_long",
            Refusal::ZeroTtl { .. } => "zero_ttl",
            Refusal::TtlTooLong { .. } => "ttl_too_long",
            Refusal::QueueFull { .. } => "queue_full",
            Refusal::ActiveFull { .. } => "active_full",
            Refusal::DeadlinePassed { .. } => "deadline_passed",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Refusal::ZeroAmount => write!(f, "asked for 0 units; a reservation needs at least 1"),
            Refusal::OverCapacity { asked, capacity } => {
                write!(f, "asked for {asked} but the whole pool holds only {capacity}, so it can never fit")
            }
            Refusal::Insufficient { asked, available, capacity } => write!(
                f,
                "asked for {asked} but only {available} of {capacity} are available and the request does not wait"
            ),
            Refusal::QueueAhead { ahead } => {
                write!(f, "{} ahead of this one and the request does not wait", waiters(ahead, "is", "are"))
            }
            Refusal::WaitTooLong { wait_ms, max_wait_ms } => {
                write!(
                    f,
                    "asked to wait {} but a request may wait at most {}",
                    span(wait_ms),
                    span(max_wait_ms)
                )
            }
            Refusal::ZeroTtl { ttl_ms } => write!(f, "the ttl must be positive, not {}", span(ttl_ms)),
            Refusal::TtlTooLong { ttl_ms, max_ttl_ms } => {
                write!(
                    f,
                    "asked for a ttl of {} but the pool allows at most {}",
                    span(ttl_ms),
                    span(max_ttl_ms)
                )
            }
            Refusal::QueueFull { max_queue: 0 } => write!(f, "the pool does not queue requests"),
            Refusal::QueueFull { max_queue } => {
                write!(f, "the queue is full: {} already", waiters(max_queue, "waits", "wait"))
            }
            Refusal::ActiveFull { max_active } => write!(
                f,
                "the pool already holds {max_active} reservations, the most it holds at once, and the \
                 request does not wait"
            ),
            Refusal::DeadlinePassed { asked, available, capacity, ahead, waited_ms } => write!(
                f,
                "the deadline passed after {} in the queue: asked for {asked} while {available} of {capacity} \
                 were available and {} ahead",
                span(waited_ms),
                waiters(ahead, "was", "were")
            ),
        }
    }
}

/// "1 queued request is", "3 queued requests are", "no queued request is".
fn waiters(n: usize, one: &str, many: &str) -> String {
    match n {
        0 => format!("no queued request {one}"),
        1 => format!("1 queued request {one}"),
        n => format!("{n} queued requests {many}"),
    }
}

/// A duration for messages: `90s`, or `1500ms` when not whole seconds.
fn span(ms: i64) -> String {
    if ms % 1000 == 0 { format!("{}s", ms / 1000) } else { format!("{ms}ms") }
}

/// Where a reservation is in its life. `Released` covers both a holder's release and the
/// withdrawal of a queued request.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    Active,
    Queued,
    Released,
    Expired,
    Preempted { by: Id },
    Refused(Refusal),
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Active => f.write_str("active"),
            State::Queued => f.write_str("queued"),
            State::Released => f.write_str("released"),
            State::Expired => f.write_str("expired"),
            State::Preempted { by } => write!(f, "preempted by {by}"),
            State::Refused(r) => write!(f, "refused ({})", r.code()),
        }
    }
}

/// A reservation as the API shows it, and as the pool keeps it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct View {
    pub id: Id,
    pub amount: u64,
    pub priority: Priority,
    pub holder: Option<String>,
    #[serde(flatten)]
    pub state: State,
    /// How long the grant lasts (or will, once granted), in whole milliseconds.
    pub ttl_ms: i64,
    pub granted_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub queued_at: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    /// 1-based place in the queue, while queued.
    pub position: Option<usize>,
    /// Why it ended, when it was refused or preempted.
    pub reason: Option<String>,
    /// Kept to check a release against; never shown.
    #[serde(skip)]
    pub secret: Option<Secret>,
}

/// What a release did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Released {
    pub id: Id,
    pub amount: u64,
    /// It was still queued: nothing was held, the request was withdrawn.
    pub cancelled: bool,
    /// Waiters granted as a result.
    pub served: Vec<Id>,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PoolError {
    #[error("no reservation {id} in this pool (never made, or finished long enough ago to be forgotten)")]
    NotFound { id: Id },
    #[error("reservation {id} is no longer held or queued: it is {state}")]
    NotActive { id: Id, state: State },
    #[error(
        "reservation {id} can be released only with its own secret: the `secret` the answer to its \
         request carried"
    )]
    WrongSecret { id: Id },
}

impl PoolError {
    pub fn code(&self) -> &'static str {
        match self {
            PoolError::NotFound { .. } => "not_found",
            PoolError::NotActive { .. } => "not_active",
            PoolError::WrongSecret { .. } => "wrong_secret",
        }
    }
}

/// The pool at one moment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    pub capacity: u64,
    pub allocated: u64,
    pub available: u64,
    pub active: usize,
    pub queued: usize,
    pub queued_amount: u64,
    /// How long the longest-waiting request has waited.
    pub oldest_wait_ms: Option<i64>,
    pub utilization: f64,
    pub pressure: f64,
    #[serde(flatten)]
    pub totals: Totals,
}

/// Counts since the pool was made.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    pub granted_total: u64,
    pub queued_total: u64,
    pub refused_total: u64,
    pub preempted_total: u64,
    pub expired_total: u64,
    /// Releases of held reservations and withdrawals of queued ones.
    pub released_total: u64,
    /// Over the requests granted after waiting.
    pub mean_wait_ms: Option<i64>,
    pub max_wait_ms_seen: Option<i64>,
    #[serde(skip)]
    pub(super) waited: u64,
    #[serde(skip)]
    pub(super) wait_ms_sum: i64,
}
