//! The requests waiting in a pool's queue, in service order, indexed so that every question the
//! pool asks is O(log n): who is at the head, how many are ahead of a request (its position),
//! where a waiter is by id, whose deadline comes next, who has waited longest, and how much
//! they ask for in all.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::ranked::Ranked;
use super::types::{Id, Priority, View};

/// Where a request stands in the queue: smaller is served first. A request that will not wait
/// has no deadline, so it orders after every waiter of its priority.
pub(super) type Key = (Reverse<Priority>, DateTime<Utc>, Id);

pub(super) fn key(r: &View) -> Key {
    (Reverse(r.priority), r.deadline.unwrap_or(DateTime::<Utc>::MAX_UTC), r.id)
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Waiting {
    /// In service order.
    pub(super) line: Ranked<Key, View>,
    pub(super) keys: BTreeMap<Id, Key>,
    pub(super) deadlines: BTreeSet<(DateTime<Utc>, Id)>,
    /// The sum of the amounts asked; wide enough that it cannot overflow.
    pub(super) amount: u128,
}

impl Waiting {
    pub fn len(&self) -> usize {
        self.line.len()
    }

    /// The amount the waiters ask for, saturating.
    pub fn amount(&self) -> u64 {
        u64::try_from(self.amount).unwrap_or(u64::MAX)
    }

    /// How many waiters would be served before `r`.
    pub fn ahead_of(&self, r: &View) -> usize {
        self.line.rank(&key(r))
    }

    /// Queues `r`, which must have a deadline and an id not yet used.
    pub fn insert(&mut self, r: View) {
        let k = key(&r);
        self.deadlines.insert((k.1, r.id));
        self.keys.insert(r.id, k);
        self.amount += u128::from(r.amount);
        self.line.insert(k, r);
    }

    pub fn remove(&mut self, id: Id) -> Option<View> {
        let k = self.keys.remove(&id)?;
        self.deadlines.remove(&(k.1, id));
        let r = self.line.remove(&k)?;
        self.amount -= u128::from(r.amount);
        Some(r)
    }

    pub fn head(&self) -> Option<&View> {
        self.line.first().map(|(_, r)| r)
    }

    /// A waiter and the number of waiters ahead of it.
    pub fn get(&self, id: Id) -> Option<(usize, &View)> {
        let k = self.keys.get(&id)?;
        Some((self.line.rank(k), self.line.get(k)?))
    }

    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.deadlines.first().map(|(t, _)| *t)
    }

    /// The waiters whose deadline has come by `t`, in service order.
    pub fn overdue(&self, t: DateTime<Utc>) -> Vec<Id> {
        let due = self.deadlines.iter().take_while(|(d, _)| *d <= t);
        let mut keys: Vec<Key> = due.filter_map(|(_, id)| self.keys.get(id).copied()).collect();
        keys.sort();
        keys.into_iter().map(|(_, _, id)| id).collect()
    }

    /// When the longest waiter queued: ids grow with the clock, so it is the smallest id.
    pub fn oldest_queued_at(&self) -> Option<DateTime<Utc>> {
        let (_, k) = self.keys.first_key_value()?;
        self.line.get(k)?.queued_at
    }

    /// Up to `limit` waiters from `skip` waiters after the head, each with how many are ahead.
    pub fn page(&self, skip: usize, limit: usize) -> impl Iterator<Item = (usize, &View)> {
        self.line.iter_from(skip).map(|(_, r)| r).enumerate().map(move |(i, r)| (skip + i, r)).take(limit)
    }

    pub fn iter(&self) -> impl Iterator<Item = &View> {
        self.line.iter().map(|(_, r)| r)
    }

    /// Whether every waiter stands where its own fields place it, in a sound tree.
    pub fn in_order(&self) -> bool {
        self.line.check().is_ok() && self.line.iter().all(|(k, r)| *k == key(r))
    }

    /// Whether the indexes and the total say what the line says.
    pub fn indexes_agree(&self) -> bool {
        let mut rebuilt = Waiting::default();
        self.iter().for_each(|r| rebuilt.insert(r.clone()));
        (&rebuilt.keys, &rebuilt.deadlines, rebuilt.amount) == (&self.keys, &self.deadlines, self.amount)
    }
}
