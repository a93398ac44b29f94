//! The last [`TOMBSTONES`] reservations that ended, so that a holder polling its id learns how
//! it ended; found by id in O(log n), forgotten oldest first.

use std::collections::{BTreeMap, VecDeque};

use super::types::{Id, TOMBSTONES, View};

#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Finished {
    /// Ids in the order they ended.
    pub(super) order: VecDeque<Id>,
    pub(super) by_id: BTreeMap<Id, View>,
}

impl Finished {
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn get(&self, id: Id) -> Option<&View> {
        self.by_id.get(&id)
    }

    pub fn push(&mut self, r: View) {
        if self.order.len() >= TOMBSTONES
            && let Some(old) = self.order.pop_front()
        {
            self.by_id.remove(&old);
        }
        self.order.push_back(r.id);
        self.by_id.insert(r.id, r);
    }

    pub fn indexes_agree(&self) -> bool {
        self.order.len() == self.by_id.len() && self.order.iter().all(|id| self.by_id.contains_key(id))
    }
}
