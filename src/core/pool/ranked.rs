//! An ordered map that also knows positions: how many keys are smaller than a key (`rank`), and
//! entries in order from a position (`iter_from`), each reached in O(log n). A pool's queue needs
//! both to tell a waiter its place and to page through it without walking the queue.
//!
//! It is a weight-balanced tree (Adams' trees, with the parameters of Haskell's `Data.Map`,
//! δ = 3 and γ = 2, which Hirai and Yamamoto proved keep the balance through single insertions
//! and deletions). A node's size serves twice: as its balance and as the count of keys under it.
//! Neither child holds more than three quarters of a node's keys, so the depth stays under
//! log₄⁄₃ n (about 40 at 100,000 keys) in whatever order the keys arrive: clients choosing their
//! deadlines cannot make it a list. Deterministic, with no randomness to supply.

use std::cmp::Ordering;
use std::fmt;

/// How much heavier one side may grow before a rotation.
const DELTA: usize = 3;
/// Whether that rotation is single or double.
const GAMMA: usize = 2;

type Tree<K, V> = Option<Box<Node<K, V>>>;

#[derive(Clone)]
struct Node<K, V> {
    key: K,
    value: V,
    size: usize,
    left: Tree<K, V>,
    right: Tree<K, V>,
}

/// Keys in order, each with a value; keys are distinct.
#[derive(Clone)]
pub struct Ranked<K, V> {
    root: Tree<K, V>,
}

impl<K, V> Default for Ranked<K, V> {
    fn default() -> Self {
        Ranked { root: None }
    }
}

impl<K: Ord, V> Ranked<K, V> {
    pub fn len(&self) -> usize {
        size(&self.root)
    }

    /// Adds `key`, or replaces its value.
    pub fn insert(&mut self, key: K, value: V) {
        self.root = Some(insert(self.root.take(), key, value));
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let (root, value) = remove(self.root.take(), key);
        self.root = root;
        value
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        let mut t = &self.root;
        while let Some(n) = t {
            match key.cmp(&n.key) {
                Ordering::Less => t = &n.left,
                Ordering::Greater => t = &n.right,
                Ordering::Equal => return Some(&n.value),
            }
        }
        None
    }

    /// How many keys are smaller than `key` (its position, when it is present).
    pub fn rank(&self, key: &K) -> usize {
        let (mut t, mut below) = (&self.root, 0);
        while let Some(n) = t {
            match key.cmp(&n.key) {
                Ordering::Less => t = &n.left,
                Ordering::Equal => return below + size(&n.left),
                Ordering::Greater => {
                    below += size(&n.left) + 1;
                    t = &n.right;
                }
            }
        }
        below
    }

    /// The smallest entry: the leftmost node, with no iterator to allocate.
    pub fn first(&self) -> Option<(&K, &V)> {
        let mut n = self.root.as_deref()?;
        while let Some(left) = n.left.as_deref() {
            n = left;
        }
        Some((&n.key, &n.value))
    }

    /// Entries in order, from position `from` (0-based).
    pub fn iter_from(&self, mut from: usize) -> Iter<'_, K, V> {
        let mut stack = Vec::new();
        let mut t = self.root.as_deref();
        while let Some(n) = t {
            let left = size(&n.left);
            if from <= left {
                stack.push(n);
                if from == left {
                    break;
                }
                t = n.left.as_deref();
            } else {
                from -= left + 1;
                t = n.right.as_deref();
            }
        }
        Iter { stack }
    }

    pub fn iter(&self) -> Iter<'_, K, V> {
        self.iter_from(0)
    }

    /// The tree's own invariants: keys in order, sizes right, every node in balance.
    pub fn check(&self) -> Result<(), &'static str> {
        check(&self.root, None, None).map(|_| ())
    }
}

/// In-order entries.
pub struct Iter<'a, K, V> {
    /// Nodes still to visit, the next on top; each one's right subtree is not yet stacked.
    stack: Vec<&'a Node<K, V>>,
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        let n = self.stack.pop()?;
        let mut t = n.right.as_deref();
        while let Some(m) = t {
            self.stack.push(m);
            t = m.left.as_deref();
        }
        Some((&n.key, &n.value))
    }
}

impl<K: Ord + PartialEq, V: PartialEq> PartialEq for Ranked<K, V> {
    /// The same entries in the same order, however the trees are shaped.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<K: Ord + fmt::Debug, V: fmt::Debug> fmt::Debug for Ranked<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

fn size<K, V>(t: &Tree<K, V>) -> usize {
    t.as_ref().map_or(0, |n| n.size)
}

fn insert<K: Ord, V>(t: Tree<K, V>, key: K, value: V) -> Box<Node<K, V>> {
    let Some(mut n) = t else {
        return Box::new(Node { key, value, size: 1, left: None, right: None });
    };
    match key.cmp(&n.key) {
        Ordering::Less => n.left = Some(insert(n.left.take(), key, value)),
        Ordering::Greater => n.right = Some(insert(n.right.take(), key, value)),
        Ordering::Equal => n.value = value,
    }
    balance(n)
}

fn remove<K: Ord, V>(t: Tree<K, V>, key: &K) -> (Tree<K, V>, Option<V>) {
    let Some(mut n) = t else { return (None, None) };
    let value = match key.cmp(&n.key) {
        Ordering::Less => {
            let (left, v) = remove(n.left.take(), key);
            n.left = left;
            v
        }
        Ordering::Greater => {
            let (right, v) = remove(n.right.take(), key);
            n.right = right;
            v
        }
        Ordering::Equal => {
            let Node { value, left, right, .. } = *n;
            return (glue(left, right), Some(value));
        }
    };
    (Some(balance(n)), value)
}

/// Joins the two subtrees of a removed node: the heavier side gives up its extreme key as the
/// new root.
fn glue<K, V>(left: Tree<K, V>, right: Tree<K, V>) -> Tree<K, V> {
    match (left, right) {
        (None, t) | (t, None) => t,
        (Some(l), Some(r)) if l.size > r.size => {
            let (rest, mut root) = pop_max(l);
            (root.left, root.right) = (rest, Some(r));
            Some(balance(root))
        }
        (Some(l), Some(r)) => {
            let (rest, mut root) = pop_min(r);
            (root.left, root.right) = (Some(l), rest);
            Some(balance(root))
        }
    }
}

/// The smallest node, detached, and what is left.
fn pop_min<K, V>(mut n: Box<Node<K, V>>) -> (Tree<K, V>, Box<Node<K, V>>) {
    match n.left.take() {
        None => (n.right.take(), n),
        Some(l) => {
            let (rest, min) = pop_min(l);
            n.left = rest;
            (Some(balance(n)), min)
        }
    }
}

fn pop_max<K, V>(mut n: Box<Node<K, V>>) -> (Tree<K, V>, Box<Node<K, V>>) {
    match n.right.take() {
        None => (n.left.take(), n),
        Some(r) => {
            let (rest, max) = pop_max(r);
            n.right = rest;
            (Some(balance(n)), max)
        }
    }
}

/// Restores the balance after one insertion or removal below `n`, and its size.
fn balance<K, V>(mut n: Box<Node<K, V>>) -> Box<Node<K, V>> {
    let (l, r) = (size(&n.left), size(&n.right));
    if l + r >= 2 && r > DELTA * l {
        let inner_heavy = n.right.as_ref().is_some_and(|r| size(&r.left) >= GAMMA * size(&r.right));
        if inner_heavy {
            n.right = n.right.take().map(rotate_right);
        }
        return rotate_left(n);
    }
    if l + r >= 2 && l > DELTA * r {
        let inner_heavy = n.left.as_ref().is_some_and(|l| size(&l.right) >= GAMMA * size(&l.left));
        if inner_heavy {
            n.left = n.left.take().map(rotate_left);
        }
        return rotate_right(n);
    }
    n.size = 1 + l + r;
    n
}

fn resize<K, V>(n: &mut Node<K, V>) {
    n.size = 1 + size(&n.left) + size(&n.right);
}

fn rotate_left<K, V>(mut n: Box<Node<K, V>>) -> Box<Node<K, V>> {
    let Some(mut r) = n.right.take() else { return n };
    n.right = r.left.take();
    resize(&mut n);
    r.left = Some(n);
    resize(&mut r);
    r
}

fn rotate_right<K, V>(mut n: Box<Node<K, V>>) -> Box<Node<K, V>> {
    let Some(mut l) = n.left.take() else { return n };
    n.left = l.right.take();
    resize(&mut n);
    l.right = Some(n);
    resize(&mut l);
    l
}

/// The size of `t` if it is a sound tree whose keys lie strictly between `low` and `high`.
fn check<K: Ord, V>(t: &Tree<K, V>, low: Option<&K>, high: Option<&K>) -> Result<usize, &'static str> {
    let Some(n) = t else { return Ok(0) };
    if low.is_some_and(|k| *k >= n.key) || high.is_some_and(|k| *k <= n.key) {
        return Err("the tree's keys are out of order");
    }
    let l = check(&n.left, low, Some(&n.key))?;
    let r = check(&n.right, Some(&n.key), high)?;
    if n.size != 1 + l + r {
        return Err("a tree node's size is wrong");
    }
    if l + r >= 2 && (l > DELTA * r || r > DELTA * l) {
        return Err("the tree is out of balance");
    }
    Ok(n.size)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::Ranked;

    #[test]
    fn keys_in_any_order_keep_a_shallow_tree() {
        let mut t = Ranked::default();
        for k in 0..100_000u32 {
            t.insert(k, ());
        }
        assert_eq!(t.check(), Ok(()));
        fn depth<K, V>(t: &super::Tree<K, V>) -> usize {
            t.as_ref().map_or(0, |n| 1 + depth(&n.left).max(depth(&n.right)))
        }
        assert!(depth(&t.root) <= 40, "depth {}", depth(&t.root));
        for k in (0..100_000u32).step_by(2) {
            t.remove(&k);
        }
        assert_eq!((t.len(), t.rank(&51), t.first().map(|(k, _)| *k)), (50_000, 25, Some(1)));
        assert_eq!(t.check(), Ok(()));
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u16),
        Remove(u16),
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn behaves_as_an_ordered_map_with_positions(ops in prop::collection::vec(
            prop_oneof![(0u16..300).prop_map(Op::Insert), (0u16..300).prop_map(Op::Remove)], 1..400,
        )) {
            let (mut t, mut model) = (Ranked::default(), BTreeMap::new());
            for (i, op) in ops.iter().enumerate() {
                match *op {
                    Op::Insert(k) => {
                        t.insert(k, i);
                        model.insert(k, i);
                        prop_assert_eq!(t.rank(&k), model.range(..k).count());
                    }
                    Op::Remove(k) => prop_assert_eq!(t.remove(&k), model.remove(&k)),
                }
                prop_assert_eq!(t.check(), Ok(()));
                prop_assert_eq!(t.len(), model.len());
            }
            let all: Vec<(u16, usize)> = t.iter().map(|(k, v)| (*k, *v)).collect();
            prop_assert_eq!(&all, &model.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>());
            for from in 0..=all.len() {
                let rest: Vec<u16> = t.iter_from(from).map(|(k, _)| *k).collect();
                prop_assert_eq!(rest, all[from..].iter().map(|(k, _)| *k).collect::<Vec<_>>());
            }
            for k in 0..300u16 {
                prop_assert_eq!(t.rank(&k), model.range(..k).count());
                prop_assert_eq!(t.get(&k), model.get(&k));
            }
        }
    }
}
