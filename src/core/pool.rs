//! Resource pools an app reserves through the local API: a named amount of capacity in whole
//! units (CPU units, MiB, "jobs") that requests are granted from, queued for, or refused.
//!
//! A [`Request`] asks for an `amount` at a [`Priority`], for a time to live (its TTL, counted from
//! the grant), and may agree to `wait` up to a deadline. The pool answers with an [`Outcome`]:
//! granted at once, queued at a position, or refused with a [`Refusal`] that has a stable code
//! and a sentence naming the numbers. Every reservation gets an [`Id`] (1, 2, 3, … per pool),
//! and its [`View`] can be polled until long after it ended: finished reservations stay in a
//! bounded list of the last [`TOMBSTONES`], so a holder learns it was preempted or expired.
//!
//! The rules, each pinned by tests:
//!
//! - **Amounts are exact.** `allocated` is always the sum of the active amounts and never
//!   exceeds `capacity`; integer arithmetic saturates rather than wraps.
//! - **Queue order** is priority (highest first), then deadline (earliest first), then arrival.
//!   The queue is served strictly from its head: a head that does not fit blocks everyone behind
//!   it, so a large request is never starved by a stream of small ones ordered behind it. A new
//!   request is granted at once only if it fits *and* no waiter is ordered ahead of it. A request
//!   that will not wait has no deadline, so it never overtakes a waiter of its own priority.
//! - **Preemption** (when the pool allows it) is only by High or Critical requests and only of
//!   strictly lower priorities. It happens only if it makes the request fit; victims are taken
//!   lowest priority first, then youngest grant first (least work lost), and any victim the
//!   request turns out not to need is spared, so every victim was necessary. A waiter that
//!   reaches the head of the queue may preempt in the same way.
//! - **Time** enters only as `now`. Every method first runs [`Pool::advance`], which replays what
//!   happened since the last call in time order: at each expiry or deadline, reservations whose
//!   TTL ran out are reclaimed, waiters whose deadline came are refused, and the queue is served
//!   *at that instant*. So a waiter is granted when capacity freed, not when someone next polled,
//!   and the outcome never depends on how often the pool is polled. A time earlier than one
//!   already seen counts as the one already seen.
//! - **Deadlines are not predicted.** Apps release early, so even a waiter that could not be
//!   served before its deadline with every TTL expiry counted stays queued; it is refused when
//!   the deadline comes (at the deadline, not before: a deadline is exclusive).
//!
//! [`Pool::pressure`] is the one number the autoscaler watches: `100 × (allocated + queued) /
//! capacity`. Up to 100 it is utilization; above 100 requests are waiting for capacity the pool
//! does not have, which is the signal to scale the service out.

use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};

use super::types::later;

mod types;

pub use types::*;

/// Where a request stands in the queue: smaller is served first. A request that will not wait
/// has no deadline, so it orders after every waiter of its priority.
type Key = (Reverse<Priority>, DateTime<Utc>, Id);

fn key(r: &View) -> Key {
    (Reverse(r.priority), r.deadline.unwrap_or(DateTime::<Utc>::MAX_UTC), r.id)
}

fn ms(d: TimeDelta) -> i64 {
    d.num_milliseconds()
}

/// One pool: its spec, what is held, who waits, and what finished lately.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    spec: PoolSpec,
    /// The latest `now` seen.
    clock: Option<DateTime<Utc>>,
    next_id: u64,
    allocated: u64,
    active: BTreeMap<Id, View>,
    /// Waiters in service order.
    queue: Vec<View>,
    finished: VecDeque<View>,
    totals: Totals,
}

impl Pool {
    pub fn new(spec: PoolSpec) -> Pool {
        Pool {
            spec,
            clock: None,
            next_id: 1,
            allocated: 0,
            active: BTreeMap::new(),
            queue: Vec::new(),
            finished: VecDeque::new(),
            totals: Totals::default(),
        }
    }

    pub fn spec(&self) -> &PoolSpec {
        &self.spec
    }

    /// Grants, queues or refuses `req` at `now` (after catching up with [`Pool::advance`]).
    pub fn request(&mut self, req: Request, now: DateTime<Utc>) -> Outcome {
        let now = self.tick(now);
        let outcome = self.admit(req, now).unwrap_or_else(|r| {
            self.totals.refused_total += 1;
            Outcome::Refused(r)
        });
        debug_assert_eq!(self.check(), Ok(()));
        outcome
    }

    fn admit(&mut self, req: Request, now: DateTime<Utc>) -> Result<Outcome, Refusal> {
        let ttl_ms = self.validate(&req)?;
        let wait = req.wait.filter(|w| *w > TimeDelta::zero());
        let id = Id(self.next_id);
        let mut r = View {
            id,
            amount: req.amount,
            priority: req.priority,
            holder: req.holder,
            state: State::Queued,
            ttl_ms,
            granted_at: None,
            expires_at: None,
            queued_at: None,
            deadline: wait.map(|w| later(now, w)),
            position: None,
            reason: None,
        };
        let ahead = self.queue.partition_point(|w| key(w) < key(&r));
        if ahead == 0
            && let Some(preempted) = self.make_room(r.amount, r.priority, id)
        {
            self.next_id += 1;
            let expires_at = self.grant(r, now);
            self.serve(now); // preemption may have freed more than the request needed
            return Ok(Outcome::Granted { id, expires_at, preempted });
        }
        let Some(deadline) = r.deadline else { return Err(self.no_wait_refusal(&r, ahead)) };
        if self.queue.len() >= self.spec.max_queue {
            return Err(Refusal::QueueFull { max_queue: self.spec.max_queue });
        }
        self.next_id += 1;
        r.queued_at = Some(now);
        self.queue.insert(ahead, r);
        self.totals.queued_total += 1;
        Ok(Outcome::Queued { id, position: ahead + 1, deadline })
    }

    /// Refusals that depend on the request alone; the TTL it will get (in ms) otherwise.
    fn validate(&self, req: &Request) -> Result<i64, Refusal> {
        let capacity = self.spec.capacity;
        if req.amount == 0 {
            return Err(Refusal::ZeroAmount);
        }
        if req.amount > capacity {
            return Err(Refusal::OverCapacity { asked: req.amount, capacity });
        }
        let ttl_ms = ms(req.ttl.unwrap_or(self.spec.default_ttl));
        if ttl_ms <= 0 {
            return Err(Refusal::ZeroTtl { ttl_ms });
        }
        if let Some(max_ttl_ms) = self.spec.max_ttl.map(ms).filter(|max| ttl_ms > *max) {
            return Err(Refusal::TtlTooLong { ttl_ms, max_ttl_ms });
        }
        match req.wait {
            Some(w) if w > self.spec.max_wait => {
                Err(Refusal::WaitTooLong { wait_ms: ms(w), max_wait_ms: ms(self.spec.max_wait) })
            }
            _ => Ok(ttl_ms),
        }
    }

    /// A request that will not wait and was not granted: blame the waiters ahead if, but for
    /// them, it would have been granted; otherwise the shortage.
    fn no_wait_refusal(&self, r: &View, ahead: usize) -> Refusal {
        let fits = r.amount <= self.available() || !self.victims(r.amount, r.priority).is_empty();
        if ahead > 0 && fits {
            return Refusal::QueueAhead { ahead };
        }
        Refusal::Insufficient { asked: r.amount, available: self.available(), capacity: self.spec.capacity }
    }

    /// Releases a held reservation or withdraws a queued request, then serves the queue.
    pub fn release(&mut self, id: Id, now: DateTime<Utc>) -> Result<Released, PoolError> {
        let now = self.tick(now);
        let (r, cancelled) = match self.unhold(id) {
            Some(r) => (r, false),
            None => match self.queue.iter().position(|r| r.id == id) {
                Some(i) => (self.queue.remove(i), true),
                None => return Err(self.missing(id)),
            },
        };
        let amount = r.amount;
        self.finish(r, State::Released);
        let served = self.serve(now);
        debug_assert_eq!(self.check(), Ok(()));
        Ok(Released { id, amount, cancelled, served })
    }

    fn missing(&self, id: Id) -> PoolError {
        match self.finished.iter().rev().find(|r| r.id == id) {
            Some(r) => PoolError::NotActive { id, state: r.state.clone() },
            None => PoolError::NotFound { id },
        }
    }

    /// A reservation that is held, queued, or among the remembered finished ones.
    pub fn get(&mut self, id: Id, now: DateTime<Utc>) -> Option<View> {
        self.tick(now);
        if let Some(i) = self.queue.iter().position(|r| r.id == id) {
            return Some(View { position: Some(i + 1), ..self.queue[i].clone() });
        }
        let finished = || self.finished.iter().rev().find(|r| r.id == id);
        self.active.get(&id).or_else(finished).cloned()
    }

    /// Active reservations by id, then waiters in service order.
    pub fn reservations(&mut self, now: DateTime<Utc>) -> Vec<View> {
        self.tick(now);
        let queued = self.queue.iter().enumerate().map(|(i, r)| View { position: Some(i + 1), ..r.clone() });
        self.active.values().cloned().chain(queued).collect()
    }

    /// Where the pool stands at `now`.
    pub fn status(&mut self, now: DateTime<Utc>) -> Status {
        let now = self.tick(now);
        Status {
            capacity: self.spec.capacity,
            allocated: self.allocated,
            available: self.available(),
            active: self.active.len(),
            queued: self.queue.len(),
            queued_amount: self.queued_amount(),
            oldest_wait_ms: self.queue.iter().filter_map(|r| r.queued_at).min().map(|q| ms(now - q)),
            utilization: self.utilization(),
            pressure: self.pressure(),
            totals: self.totals.clone(),
        }
    }

    pub fn available(&self) -> u64 {
        self.spec.capacity.saturating_sub(self.allocated)
    }

    /// `allocated / capacity`, in `0..=1` (0 for a pool of no capacity). This and the other
    /// `&self` readings are as of the last call that took a `now`.
    pub fn utilization(&self) -> f64 {
        if self.spec.capacity == 0 { 0.0 } else { self.allocated as f64 / self.spec.capacity as f64 }
    }

    pub fn queue_depth(&self) -> usize {
        self.queue.len()
    }

    pub fn queued_amount(&self) -> u64 {
        self.queue.iter().fold(0, |sum, r| sum.saturating_add(r.amount))
    }

    /// `100 × (allocated + queued amount) / capacity`: utilization in percent while nothing
    /// waits, above 100 when requests wait for capacity the pool lacks (scale out).
    pub fn pressure(&self) -> f64 {
        let wanted = self.allocated.saturating_add(self.queued_amount());
        if self.spec.capacity == 0 { 0.0 } else { 100.0 * wanted as f64 / self.spec.capacity as f64 }
    }

    /// Replays everything due by `now` in time order: at each expiry or deadline, reclaim the
    /// expired, refuse the overdue, serve the queue at that instant.
    pub fn advance(&mut self, now: DateTime<Utc>) {
        self.tick(now);
        debug_assert_eq!(self.check(), Ok(()));
    }

    fn tick(&mut self, now: DateTime<Utc>) -> DateTime<Utc> {
        let now = self.clock.map_or(now, |c| c.max(now));
        self.clock = Some(now);
        while let Some(t) = self.next_event().filter(|t| *t <= now) {
            self.expire(t);
            self.refuse_overdue(t);
            self.serve(t);
        }
        now
    }

    fn next_event(&self) -> Option<DateTime<Utc>> {
        let expiries = self.active.values().filter_map(|r| r.expires_at);
        expiries.chain(self.queue.iter().filter_map(|r| r.deadline)).min()
    }

    fn expire(&mut self, t: DateTime<Utc>) {
        let due: Vec<Id> = self.active.values().filter(|r| r.expires_at <= Some(t)).map(|r| r.id).collect();
        for id in due {
            self.end_active(id, State::Expired);
        }
    }

    fn refuse_overdue(&mut self, t: DateTime<Utc>) {
        while let Some(ahead) = self.queue.iter().position(|r| r.deadline <= Some(t)) {
            let r = self.queue.remove(ahead);
            let waited_ms = r.queued_at.map_or(0, |q| ms(t - q));
            let (asked, available, capacity) = (r.amount, self.available(), self.spec.capacity);
            let refusal = Refusal::DeadlinePassed { asked, available, capacity, ahead, waited_ms };
            self.finish(r, State::Refused(refusal));
        }
    }

    /// Grants waiters from the head while the head fits (preempting if it may); returns them.
    fn serve(&mut self, at: DateTime<Utc>) -> Vec<Id> {
        let mut served = Vec::new();
        while let Some(&View { id, amount, priority, .. }) = self.queue.first() {
            if self.make_room(amount, priority, id).is_none() {
                break;
            }
            let r = self.queue.remove(0);
            self.grant(r, at);
            served.push(id);
        }
        served
    }

    /// Makes `amount` available, preempting if needed and allowed: the victims, or `None` if it
    /// cannot be done (and then nothing was touched).
    fn make_room(&mut self, amount: u64, priority: Priority, by: Id) -> Option<Vec<Id>> {
        if amount <= self.available() {
            return Some(Vec::new());
        }
        let victims = self.victims(amount, priority);
        for id in &victims {
            self.end_active(*id, State::Preempted { by });
        }
        (!victims.is_empty()).then_some(victims)
    }

    /// The fewest active reservations, taken lowest priority first then youngest first, whose
    /// preemption makes `amount` fit; empty if preemption is off or cannot make it fit.
    fn victims(&self, amount: u64, priority: Priority) -> Vec<Id> {
        let need = amount.saturating_sub(self.available());
        if !self.spec.preemption || !priority.may_preempt() || need == 0 {
            return Vec::new();
        }
        let mut lower: Vec<&View> = self.active.values().filter(|r| r.priority < priority).collect();
        lower.sort_by_key(|r| (r.priority, Reverse(r.granted_at), Reverse(r.id)));
        let (mut chosen, mut freed) = (Vec::new(), 0u64);
        for r in lower {
            if freed >= need {
                break;
            }
            freed = freed.saturating_add(r.amount);
            chosen.push(r);
        }
        if freed < need {
            return Vec::new();
        }
        // Spare whoever is not needed after all, the most valuable (last taken) first.
        for i in (0..chosen.len()).rev() {
            if freed - chosen[i].amount >= need {
                freed -= chosen[i].amount;
                chosen.remove(i);
            }
        }
        chosen.into_iter().map(|r| r.id).collect()
    }

    fn grant(&mut self, mut r: View, at: DateTime<Utc>) -> DateTime<Utc> {
        debug_assert!(r.amount <= self.available());
        let c = &mut self.totals;
        if let Some(q) = r.queued_at {
            let waited = ms(at - q);
            (c.waited, c.wait_ms_sum) = (c.waited + 1, c.wait_ms_sum.saturating_add(waited));
            c.mean_wait_ms = Some(c.wait_ms_sum / c.waited as i64);
            c.max_wait_ms_seen = c.max_wait_ms_seen.max(Some(waited));
        }
        c.granted_total += 1;
        let expires_at = later(at, TimeDelta::milliseconds(r.ttl_ms));
        (r.state, r.granted_at, r.expires_at) = (State::Active, Some(at), Some(expires_at));
        self.allocated = self.allocated.saturating_add(r.amount);
        self.active.insert(r.id, r);
        expires_at
    }

    /// Takes an active reservation out, freeing its amount.
    fn unhold(&mut self, id: Id) -> Option<View> {
        let r = self.active.remove(&id)?;
        self.allocated = self.allocated.saturating_sub(r.amount);
        Some(r)
    }

    fn end_active(&mut self, id: Id, state: State) {
        if let Some(r) = self.unhold(id) {
            self.finish(r, state);
        }
    }

    /// Files a reservation that ended among the tombstones, and counts how it ended.
    fn finish(&mut self, mut r: View, state: State) {
        let c = &mut self.totals;
        match state {
            State::Active | State::Queued => {}
            State::Released => c.released_total += 1,
            State::Expired => c.expired_total += 1,
            State::Preempted { .. } => c.preempted_total += 1,
            State::Refused(_) => c.refused_total += 1,
        }
        r.reason = match &state {
            State::Refused(why) => Some(why.to_string()),
            State::Preempted { by } => Some(format!("preempted by reservation {by} of higher priority")),
            _ => None,
        };
        r.state = state;
        if self.finished.len() >= TOMBSTONES {
            self.finished.pop_front();
        }
        self.finished.push_back(r);
    }

    /// The invariants every public method leaves behind.
    pub fn check(&self) -> Result<(), String> {
        let held = self.active.values().try_fold(0u64, |s, r| s.checked_add(r.amount));
        let overdue = self.clock.is_some_and(|now| self.next_event().is_some_and(|t| t <= now));
        let head = self.queue.first();
        let servable = head
            .is_some_and(|h| h.amount <= self.available() || !self.victims(h.amount, h.priority).is_empty());
        let broken = [
            (held != Some(self.allocated), "allocated is not the sum of the active amounts"),
            (self.allocated > self.spec.capacity, "allocated exceeds the capacity"),
            (
                self.active.iter().any(|(id, r)| *id != r.id || r.state != State::Active),
                "an active entry is not marked active",
            ),
            (
                self.queue.iter().any(|r| r.state != State::Queued || r.deadline.is_none()),
                "a waiter is not marked queued",
            ),
            (self.queue.windows(2).any(|w| key(&w[0]) >= key(&w[1])), "the queue is out of order"),
            (self.queue.iter().any(|r| self.active.contains_key(&r.id)), "an id is both active and queued"),
            (self.queue.len() > self.spec.max_queue, "the queue is over its limit"),
            (self.finished.len() > TOMBSTONES, "too many finished reservations are remembered"),
            (overdue, "an expiry or a deadline is overdue"),
            (servable, "the queue's head could be served"),
        ];
        broken.into_iter().find(|(b, _)| *b).map_or(Ok(()), |(_, what)| Err(what.to_owned()))
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
