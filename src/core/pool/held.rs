//! The reservations a pool holds, indexed for every question the pool asks of them in O(log n):
//! by id (a release, a poll), by expiry (the next to run out), in preemption order (lowest
//! priority first, then the youngest grant), and with running totals per priority, so whether
//! preemption could make room is known without looking at a single reservation.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::types::{Id, Priority, View};

/// Preemption order: lowest priority, then youngest grant, then the later id.
type VictimKey = (Priority, Reverse<DateTime<Utc>>, Reverse<Id>);

fn victim_key(r: &View) -> VictimKey {
    (r.priority, Reverse(granted_at(r)), Reverse(r.id))
}

fn granted_at(r: &View) -> DateTime<Utc> {
    r.granted_at.unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn expires_at(r: &View) -> DateTime<Utc> {
    r.expires_at.unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Count and amount held at one priority.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Tally {
    pub count: usize,
    pub amount: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Held {
    pub(super) by_id: BTreeMap<Id, View>,
    pub(super) expiries: BTreeSet<(DateTime<Utc>, Id)>,
    pub(super) victims: BTreeSet<VictimKey>,
    /// By priority, lowest first.
    pub(super) tallies: [Tally; 4],
    /// The sum of the amounts held.
    pub(super) allocated: u64,
}

impl Held {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn allocated(&self) -> u64 {
        self.allocated
    }

    pub fn get(&self, id: Id) -> Option<&View> {
        self.by_id.get(&id)
    }

    pub fn insert(&mut self, r: View) {
        self.expiries.insert((expires_at(&r), r.id));
        self.victims.insert(victim_key(&r));
        let t = &mut self.tallies[r.priority as usize];
        (t.count, t.amount) = (t.count + 1, t.amount.saturating_add(r.amount));
        self.allocated = self.allocated.saturating_add(r.amount);
        self.by_id.insert(r.id, r);
    }

    pub fn remove(&mut self, id: Id) -> Option<View> {
        let r = self.by_id.remove(&id)?;
        self.expiries.remove(&(expires_at(&r), id));
        self.victims.remove(&victim_key(&r));
        let t = &mut self.tallies[r.priority as usize];
        (t.count, t.amount) = (t.count - 1, t.amount.saturating_sub(r.amount));
        self.allocated = self.allocated.saturating_sub(r.amount);
        Some(r)
    }

    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.expiries.first().map(|(t, _)| *t)
    }

    /// The reservations whose TTL has run out by `t`, in expiry order.
    pub fn expired_by(&self, t: DateTime<Utc>) -> Vec<Id> {
        self.expiries.iter().take_while(|(at, _)| *at <= t).map(|(_, id)| *id).collect()
    }

    /// Count and amount held below `priority`.
    pub fn below(&self, priority: Priority) -> Tally {
        self.tallies[..priority as usize].iter().fold(Tally::default(), |sum, t| Tally {
            count: sum.count + t.count,
            amount: sum.amount.saturating_add(t.amount),
        })
    }

    /// Reservations below `priority`, in the order preemption takes them.
    pub fn preemptible(&self, priority: Priority) -> impl Iterator<Item = &View> {
        let below = self.victims.iter().take_while(move |(p, _, _)| *p < priority);
        below.filter_map(|(_, _, Reverse(id))| self.by_id.get(id))
    }

    /// Up to `limit` reservations with ids above `after`, by id.
    pub fn page(&self, after: Id, limit: usize) -> impl Iterator<Item = &View> {
        self.by_id.range(Id(after.0.saturating_add(1))..).map(|(_, r)| r).take(limit)
    }

    pub fn iter(&self) -> impl Iterator<Item = &View> {
        self.by_id.values()
    }

    /// Whether the indexes and totals say what the reservations say.
    pub fn indexes_agree(&self) -> bool {
        let mut rebuilt = Held::default();
        self.by_id.values().for_each(|r| rebuilt.insert(r.clone()));
        (&rebuilt.expiries, &rebuilt.victims, rebuilt.tallies)
            == (&self.expiries, &self.victims, self.tallies)
    }
}
