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
//! - **Counts are bounded.** At most `max_active` reservations are held and `max_queue` wait,
//!   whatever their amounts: a held reservation takes a slot as well as units, a request that
//!   finds every slot taken waits or is refused (`active_full`), and preemption may free a slot
//!   as it frees units.
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
//! - **Only the holder releases.** A request may carry a [`Secret`];
//!   [`Pool::release_with`] releases only when shown the reservation's own, compared in constant
//!   time.
//! - **Every operation is O(log n)** in the reservations held and waiting (plus the
//!   reservations it ends or serves): each question the pool asks has an index (`held`,
//!   `waiting`, `finished`), down to a waiter's position. [`Pool::check`] verifies every
//!   invariant and index by walking them all; the tests run it after every step, while each
//!   method asserts only what it can check in O(log n).
//!
//! [`Pool::pressure`] is the one number the autoscaler watches: `100 × (allocated + queued) /
//! capacity`. Up to 100 it is utilization; above 100 requests are waiting for capacity the pool
//! does not have, which is the signal to scale the service out.

use chrono::{DateTime, TimeDelta, Utc};

use super::types::later;

mod finished;
mod held;
mod ranked;
mod types;
mod waiting;

use finished::Finished;
use held::Held;
pub use types::*;
use waiting::Waiting;

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
    held: Held,
    waiting: Waiting,
    finished: Finished,
    totals: Totals,
}

impl Pool {
    pub fn new(spec: PoolSpec) -> Pool {
        Pool {
            spec,
            clock: None,
            next_id: 1,
            held: Held::default(),
            waiting: Waiting::default(),
            finished: Finished::default(),
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
        debug_assert_eq!(self.check_quick(), Ok(()));
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
            secret: req.secret,
        };
        let ahead = self.waiting.ahead_of(&r);
        if ahead == 0
            && let Some(preempted) = self.make_room(r.amount, r.priority, id)
        {
            self.next_id += 1;
            let expires_at = self.grant(r, now);
            self.serve(now); // preemption may have freed more than the request needed
            return Ok(Outcome::Granted { id, expires_at, preempted });
        }
        let Some(deadline) = r.deadline else { return Err(self.no_wait_refusal(&r, ahead)) };
        if self.waiting.len() >= self.spec.max_queue {
            return Err(Refusal::QueueFull { max_queue: self.spec.max_queue });
        }
        self.next_id += 1;
        r.queued_at = Some(now);
        self.waiting.insert(r);
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
    /// them, it would have been granted; otherwise the shortage, of slots or of units.
    fn no_wait_refusal(&self, r: &View, ahead: usize) -> Refusal {
        if ahead > 0 && self.can_make_room(r.amount, r.priority) {
            return Refusal::QueueAhead { ahead };
        }
        if r.amount <= self.available() {
            return Refusal::ActiveFull { max_active: self.spec.max_active };
        }
        Refusal::Insufficient { asked: r.amount, available: self.available(), capacity: self.spec.capacity }
    }

    /// Releases a held reservation or withdraws a queued request, then serves the queue. For a
    /// caller the holder trusts; the API releases with [`Pool::release_with`].
    pub fn release(&mut self, id: Id, now: DateTime<Utc>) -> Result<Released, PoolError> {
        let now = self.tick(now);
        let (r, cancelled) = match self.held.remove(id) {
            Some(r) => (r, false),
            None => match self.waiting.remove(id) {
                Some(r) => (r, true),
                None => return Err(self.missing(id)),
            },
        };
        let amount = r.amount;
        self.finish(r, State::Released);
        let served = self.serve(now);
        debug_assert_eq!(self.check_quick(), Ok(()));
        Ok(Released { id, amount, cancelled, served })
    }

    /// [`Pool::release`], for whoever shows the reservation's own secret: `WrongSecret` for
    /// anyone else (showing none, or another), and for a reservation made without one.
    pub fn release_with(
        &mut self,
        id: Id,
        secret: Option<&Secret>,
        now: DateTime<Utc>,
    ) -> Result<Released, PoolError> {
        let now = self.tick(now);
        let known = self.held.get(id).or_else(|| self.waiting.get(id).map(|(_, r)| r));
        let known = known.or_else(|| self.finished.get(id)).ok_or(PoolError::NotFound { id })?;
        if !known.secret.as_ref().zip(secret).is_some_and(|(own, shown)| own.matches(shown)) {
            return Err(PoolError::WrongSecret { id });
        }
        self.release(id, now)
    }

    fn missing(&self, id: Id) -> PoolError {
        match self.finished.get(id) {
            Some(r) => PoolError::NotActive { id, state: r.state.clone() },
            None => PoolError::NotFound { id },
        }
    }

    /// A reservation that is held, queued, or among the remembered finished ones.
    pub fn get(&mut self, id: Id, now: DateTime<Utc>) -> Option<View> {
        self.tick(now);
        if let Some((ahead, r)) = self.waiting.get(id) {
            return Some(View { position: Some(ahead + 1), ..r.clone() });
        }
        self.held.get(id).or_else(|| self.finished.get(id)).cloned()
    }

    /// Up to `limit` active reservations with ids above `after`, by id.
    pub fn active_page(&mut self, now: DateTime<Utc>, after: Id, limit: usize) -> Vec<View> {
        self.tick(now);
        self.held.page(after, limit).cloned().collect()
    }

    /// Up to `limit` waiters in service order, from position `from` (1 is the head).
    pub fn queue_page(&mut self, now: DateTime<Utc>, from: usize, limit: usize) -> Vec<View> {
        self.tick(now);
        let page = self.waiting.page(from.saturating_sub(1), limit);
        page.map(|(ahead, r)| View { position: Some(ahead + 1), ..r.clone() }).collect()
    }

    /// Where the pool stands at `now`.
    pub fn status(&mut self, now: DateTime<Utc>) -> Status {
        let now = self.tick(now);
        Status {
            capacity: self.spec.capacity,
            allocated: self.held.allocated(),
            available: self.available(),
            active: self.held.len(),
            queued: self.waiting.len(),
            queued_amount: self.queued_amount(),
            oldest_wait_ms: self.waiting.oldest_queued_at().map(|q| ms(now - q)),
            utilization: self.utilization(),
            pressure: self.pressure(),
            totals: self.totals.clone(),
        }
    }

    pub fn available(&self) -> u64 {
        self.spec.capacity.saturating_sub(self.held.allocated())
    }

    /// `allocated / capacity`, in `0..=1` (0 for a pool of no capacity). This and the other
    /// `&self` readings are as of the last call that took a `now`.
    pub fn utilization(&self) -> f64 {
        let capacity = self.spec.capacity;
        if capacity == 0 { 0.0 } else { self.held.allocated() as f64 / capacity as f64 }
    }

    pub fn queue_depth(&self) -> usize {
        self.waiting.len()
    }

    pub fn queued_amount(&self) -> u64 {
        self.waiting.amount()
    }

    /// `100 × (allocated + queued amount) / capacity`: utilization in percent while nothing
    /// waits, above 100 when requests wait for capacity the pool lacks (scale out).
    pub fn pressure(&self) -> f64 {
        let wanted = self.held.allocated().saturating_add(self.queued_amount());
        if self.spec.capacity == 0 { 0.0 } else { 100.0 * wanted as f64 / self.spec.capacity as f64 }
    }

    /// Replays everything due by `now` in time order: at each expiry or deadline, reclaim the
    /// expired, refuse the overdue, serve the queue at that instant.
    pub fn advance(&mut self, now: DateTime<Utc>) {
        self.tick(now);
        debug_assert_eq!(self.check_quick(), Ok(()));
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
        [self.held.next_expiry(), self.waiting.next_deadline()].into_iter().flatten().min()
    }

    fn expire(&mut self, t: DateTime<Utc>) {
        for id in self.held.expired_by(t) {
            self.end_active(id, State::Expired);
        }
    }

    fn refuse_overdue(&mut self, t: DateTime<Utc>) {
        for id in self.waiting.overdue(t) {
            let Some((ahead, _)) = self.waiting.get(id) else { continue };
            let Some(r) = self.waiting.remove(id) else { continue };
            let waited_ms = r.queued_at.map_or(0, |q| ms(t - q));
            let (asked, available, capacity) = (r.amount, self.available(), self.spec.capacity);
            let refusal = Refusal::DeadlinePassed { asked, available, capacity, ahead, waited_ms };
            self.finish(r, State::Refused(refusal));
        }
    }

    /// Grants waiters from the head while the head fits (preempting if it may); returns them.
    fn serve(&mut self, at: DateTime<Utc>) -> Vec<Id> {
        let mut served = Vec::new();
        while let Some(&View { id, amount, priority, .. }) = self.waiting.head() {
            if self.make_room(amount, priority, id).is_none() {
                break;
            }
            let Some(r) = self.waiting.remove(id) else { break };
            self.grant(r, at);
            served.push(id);
        }
        served
    }

    /// Whether `amount` can be held now without preemption: the units are free and so is a slot.
    fn fits(&self, amount: u64) -> bool {
        amount <= self.available() && self.held.len() < self.spec.max_active
    }

    /// What preemption would have to free for `amount` to fit (units, slots); `None` when
    /// nothing needs freeing or `priority` may not preempt here.
    fn shortfall(&self, amount: u64, priority: Priority) -> Option<(u64, usize)> {
        if !self.spec.preemption || !priority.may_preempt() {
            return None;
        }
        let units = amount.saturating_sub(self.available());
        let slots = usize::from(self.held.len() >= self.spec.max_active);
        (units > 0 || slots > 0).then_some((units, slots))
    }

    /// Whether `amount` fits, or preemption could make it fit: O(1), from the per-priority
    /// totals, and always the same answer as asking [`Pool::victims`].
    fn can_make_room(&self, amount: u64, priority: Priority) -> bool {
        self.fits(amount)
            || self.shortfall(amount, priority).is_some_and(|(units, slots)| {
                let lower = self.held.below(priority);
                lower.amount >= units && lower.count >= slots
            })
    }

    /// Makes `amount` fit, preempting if needed and allowed: the victims, or `None` if it
    /// cannot be done (and then nothing was touched).
    fn make_room(&mut self, amount: u64, priority: Priority, by: Id) -> Option<Vec<Id>> {
        if self.fits(amount) {
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
        let Some((units, slots)) = self.shortfall(amount, priority) else { return Vec::new() };
        if !self.can_make_room(amount, priority) {
            return Vec::new();
        }
        let (mut chosen, mut freed) = (Vec::new(), 0u64);
        for r in self.held.preemptible(priority) {
            if freed >= units && chosen.len() >= slots {
                break;
            }
            freed = freed.saturating_add(r.amount);
            chosen.push(r);
        }
        // Spare whoever is not needed after all, the most valuable (last taken) first.
        let (mut spared, mut kept) = (vec![false; chosen.len()], chosen.len());
        for i in (0..chosen.len()).rev() {
            if freed - chosen[i].amount >= units && kept > slots {
                (freed, kept, spared[i]) = (freed - chosen[i].amount, kept - 1, true);
            }
        }
        chosen.into_iter().zip(spared).filter(|(_, s)| !s).map(|(r, _)| r.id).collect()
    }

    fn grant(&mut self, mut r: View, at: DateTime<Utc>) -> DateTime<Utc> {
        debug_assert!(self.fits(r.amount));
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
        self.held.insert(r);
        expires_at
    }

    fn end_active(&mut self, id: Id, state: State) {
        if let Some(r) = self.held.remove(id) {
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
        self.finished.push(r);
    }

    /// The invariants that hold between calls and can be checked in O(log n).
    fn check_quick(&self) -> Result<(), &'static str> {
        let overdue = self.clock.is_some_and(|now| self.next_event().is_some_and(|t| t <= now));
        let servable = self.waiting.head().is_some_and(|h| self.can_make_room(h.amount, h.priority));
        let broken = [
            (self.held.allocated() > self.spec.capacity, "allocated exceeds the capacity"),
            (self.held.len() > self.spec.max_active, "more reservations are held than the pool allows"),
            (self.waiting.len() > self.spec.max_queue, "the queue is over its limit"),
            (self.finished.len() > TOMBSTONES, "too many finished reservations are remembered"),
            (overdue, "an expiry or a deadline is overdue"),
            (servable, "the queue's head could be served"),
        ];
        broken.into_iter().find(|(b, _)| *b).map_or(Ok(()), |(_, what)| Err(what))
    }

    /// Every invariant, each index against what it indexes: O(n log n), for tests.
    pub fn check(&self) -> Result<(), String> {
        let held = self.held.iter().try_fold(0u64, |s, r| s.checked_add(r.amount));
        let broken = [
            (held != Some(self.held.allocated()), "allocated is not the sum of the active amounts"),
            (self.held.iter().any(|r| r.state != State::Active), "an active entry is not marked active"),
            (
                self.waiting.iter().any(|r| r.state != State::Queued || r.deadline.is_none()),
                "a waiter is not marked queued",
            ),
            (!self.waiting.in_order(), "the queue is out of order"),
            (self.waiting.iter().any(|r| self.held.get(r.id).is_some()), "an id is both active and queued"),
            (
                !(self.held.indexes_agree() && self.waiting.indexes_agree() && self.finished.indexes_agree()),
                "an index disagrees with what it indexes",
            ),
        ];
        let found = broken.into_iter().find(|(b, _)| *b).map(|(_, what)| what);
        found.map_or_else(|| self.check_quick(), Err).map_err(str::to_owned)
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
