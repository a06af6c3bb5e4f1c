//! An ordered set that also answers "how many keys are below this one", "which is the i-th
//! key" and "what do the i smallest keys weigh together", each in O(log n).
//!
//! The tracker needs these to read its figures without walking its window: the sum of the
//! fastest k response times (rule 8) and the count of unanswered starts after an instant
//! (rule 5). It is a B+ tree whose inner nodes keep, for each child, its key count and total
//! weight. Wide nodes keep a million keys within three or four levels, so an update touches a
//! few cache lines where a binary tree would chase twenty-odd pointers. Nodes live in arenas
//! and point at each other by index: no `unsafe`.
//!
//! Leaves that empty are taken out; should deletions leave the leaves less than a quarter
//! full on average, the tree is rebuilt, which after Θ(n) deletions costs O(1) amortized.

use std::cmp::Ordering;

/// The most entries a leaf and children an inner node hold (small in tests, to test depth).
#[cfg(not(test))]
const LEAF_MAX: usize = 64;
#[cfg(not(test))]
const INNER_MAX: usize = 32;
#[cfg(test)]
const LEAF_MAX: usize = 8;
#[cfg(test)]
const INNER_MAX: usize = 4;

/// How full a rebuild leaves the nodes.
const LEAF_FILL: usize = LEAF_MAX * 3 / 4;
const INNER_FILL: usize = if INNER_MAX * 3 / 4 < 2 {
    2
} else {
    INNER_MAX * 3 / 4
};

/// Deeper than any tree of fewer than 2^32 keys gets (inner nodes split half full).
const MAX_HEIGHT: usize = 40;

#[derive(Clone, Debug)]
struct Leaf<K> {
    /// In key order.
    entries: Vec<(K, i64)>,
}

#[derive(Clone, Copy, Debug)]
struct Child<K> {
    /// No key of this child is smaller, and every key of the previous child is; the first
    /// child of a node takes any key smaller than the second's `first`.
    first: K,
    node: u32,
    count: usize,
    sum: i64,
}

#[derive(Clone, Debug)]
struct Inner<K> {
    children: Vec<Child<K>>,
}

/// A set of distinct keys, each with a weight.
#[derive(Clone, Debug)]
pub struct OrderStatistics<K> {
    leaves: Vec<Leaf<K>>,
    inners: Vec<Inner<K>>,
    free_leaves: Vec<u32>,
    free_inners: Vec<u32>,
    /// A leaf when `height` is 0, else an inner node whose children are `height − 1` high.
    root: u32,
    height: usize,
    len: usize,
    total: i64,
}

/// The way down to a leaf: (inner node, child slot) from the root.
struct Path {
    steps: [(u32, u32); MAX_HEIGHT],
    len: usize,
}

impl<K: Ord + Copy> Default for OrderStatistics<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Ord + Copy> OrderStatistics<K> {
    pub fn new() -> Self {
        Self {
            leaves: vec![Leaf {
                entries: Vec::new(),
            }],
            inners: Vec::new(),
            free_leaves: Vec::new(),
            free_inners: Vec::new(),
            root: 0,
            height: 0,
            len: 0,
            total: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The total weight of all keys.
    pub fn total(&self) -> i64 {
        self.total
    }

    pub fn clear(&mut self) {
        *self = Self::new();
    }

    pub fn contains(&self, key: &K) -> bool {
        let (leaf, _) = self.descend(key);
        self.leaves[leaf as usize]
            .entries
            .binary_search_by(|(k, _)| k.cmp(key))
            .is_ok()
    }

    /// Adds `key` with `weight`; returns false, changing nothing, if `key` is already there.
    pub fn insert(&mut self, key: K, weight: i64) -> bool {
        let (leaf, path) = self.descend(&key);
        let entries = &mut self.leaves[leaf as usize].entries;
        let Err(at) = entries.binary_search_by(|(k, _)| k.cmp(&key)) else {
            return false;
        };
        entries.insert(at, (key, weight));
        let overflowing = entries.len() > LEAF_MAX;
        self.len += 1;
        self.total += weight;
        for &(inner, slot) in &path.steps[..path.len] {
            let child = &mut self.inners[inner as usize].children[slot as usize];
            child.count += 1;
            child.sum += weight;
        }
        if overflowing {
            self.split(leaf, &path);
        }
        true
    }

    /// Removes `key`; returns false if it was not there.
    pub fn remove(&mut self, key: &K) -> bool {
        let (leaf, path) = self.descend(key);
        let entries = &mut self.leaves[leaf as usize].entries;
        let Ok(at) = entries.binary_search_by(|(k, _)| k.cmp(key)) else {
            return false;
        };
        let (_, weight) = entries.remove(at);
        let emptied = entries.is_empty();
        self.len -= 1;
        self.total -= weight;
        for &(inner, slot) in &path.steps[..path.len] {
            let child = &mut self.inners[inner as usize].children[slot as usize];
            child.count -= 1;
            child.sum -= weight;
        }
        if self.len == 0 {
            self.clear();
        } else if emptied {
            self.take_out(leaf, &path);
            let live_leaves = self.leaves.len() - self.free_leaves.len();
            if live_leaves * LEAF_MAX > 4 * (self.len + LEAF_MAX) {
                self.rebuild();
            }
        }
        true
    }

    /// How many keys are less than `key`.
    pub fn count_below(&self, key: &K) -> usize {
        let (mut node, mut count) = (self.root, 0);
        for _ in 0..self.height {
            let children = &self.inners[node as usize].children;
            let slot = route(children, key);
            count += children[..slot].iter().map(|c| c.count).sum::<usize>();
            node = children[slot].node;
        }
        let entries = &self.leaves[node as usize].entries;
        count + entries.partition_point(|(k, _)| k < key)
    }

    /// The key with `index` keys below it, if there are more than `index` keys.
    pub fn nth(&self, mut index: usize) -> Option<K> {
        if index >= self.len {
            return None;
        }
        let mut node = self.root;
        for _ in 0..self.height {
            let children = &self.inners[node as usize].children;
            let mut slot = 0;
            while index >= children[slot].count {
                index -= children[slot].count;
                slot += 1;
            }
            node = children[slot].node;
        }
        Some(self.leaves[node as usize].entries[index].0)
    }

    /// The total weight of the `count` smallest keys (of all of them, if there are fewer).
    pub fn sum_of_smallest(&self, count: usize) -> i64 {
        if count >= self.len {
            return self.total;
        }
        let (mut node, mut left, mut total) = (self.root, count, 0);
        for _ in 0..self.height {
            let children = &self.inners[node as usize].children;
            let mut slot = 0;
            while left >= children[slot].count {
                left -= children[slot].count;
                total += children[slot].sum;
                slot += 1;
            }
            node = children[slot].node;
        }
        let entries = &self.leaves[node as usize].entries;
        total + entries[..left].iter().map(|&(_, w)| w).sum::<i64>()
    }

    /// All keys with their weights, in order.
    pub fn to_vec(&self) -> Vec<(K, i64)> {
        let mut out = Vec::with_capacity(self.len);
        self.collect(self.root, self.height, &mut out);
        out
    }

    fn collect(&self, node: u32, height: usize, out: &mut Vec<(K, i64)>) {
        if height == 0 {
            out.extend_from_slice(&self.leaves[node as usize].entries);
        } else {
            for child in &self.inners[node as usize].children {
                self.collect(child.node, height - 1, out);
            }
        }
    }

    /// The leaf where `key` is or belongs, and the way there.
    fn descend(&self, key: &K) -> (u32, Path) {
        let mut path = Path {
            steps: [(0, 0); MAX_HEIGHT],
            len: 0,
        };
        let mut node = self.root;
        for _ in 0..self.height {
            let children = &self.inners[node as usize].children;
            let slot = route(children, key);
            path.steps[path.len] = (node, slot as u32);
            path.len += 1;
            node = children[slot].node;
        }
        (node, path)
    }

    /// Splits the overflowing `leaf` at the end of `path`, and its ancestors as they overflow.
    fn split(&mut self, leaf: u32, path: &Path) {
        let entries = &mut self.leaves[leaf as usize].entries;
        let right_entries = entries.split_off(entries.len() / 2);
        let mut right = Child {
            first: right_entries[0].0,
            node: 0,
            count: right_entries.len(),
            sum: right_entries.iter().map(|&(_, w)| w).sum(),
        };
        right.node = self.new_leaf(right_entries);
        let mut left = leaf;
        for &(parent, slot) in path.steps[..path.len].iter().rev() {
            let children = &mut self.inners[parent as usize].children;
            let slot = slot as usize;
            children[slot].count -= right.count;
            children[slot].sum -= right.sum;
            children.insert(slot + 1, right);
            if children.len() <= INNER_MAX {
                return;
            }
            let right_children = children.split_off(children.len() / 2);
            right = Child {
                first: right_children[0].first,
                node: 0,
                count: right_children.iter().map(|c| c.count).sum(),
                sum: right_children.iter().map(|c| c.sum).sum(),
            };
            right.node = self.new_inner(right_children);
            left = parent;
        }
        // The root split: a new root above both halves.
        let left_child = Child {
            first: self.first_key(left, self.height),
            node: left,
            count: self.len - right.count,
            sum: self.total - right.sum,
        };
        self.root = self.new_inner(vec![left_child, right]);
        self.height += 1;
        // Inner nodes that lost children are not merged; should that ever make the tree
        // this deep, it is rebuilt.
        if self.height + 1 >= MAX_HEIGHT {
            self.rebuild();
        }
    }

    /// Takes the emptied `leaf` at the end of `path` out of the tree, and its ancestors as
    /// they empty.
    fn take_out(&mut self, leaf: u32, path: &Path) {
        self.free_leaves.push(leaf);
        for &(parent, slot) in path.steps[..path.len].iter().rev() {
            let children = &mut self.inners[parent as usize].children;
            children.remove(slot as usize);
            if !children.is_empty() {
                break;
            }
            self.free_inners.push(parent);
        }
        // A root with one child gives way to it.
        while self.height > 0 && self.inners[self.root as usize].children.len() == 1 {
            self.free_inners.push(self.root);
            self.root = self.inners[self.root as usize].children[0].node;
            self.height -= 1;
        }
    }

    /// Builds the tree afresh from its keys, its nodes three quarters full.
    fn rebuild(&mut self) {
        let entries = self.to_vec();
        let (len, total) = (self.len, self.total);
        *self = Self::new();
        self.leaves.clear();
        let mut level: Vec<Child<K>> = entries
            .chunks(LEAF_FILL.max(1))
            .map(|chunk| Child {
                first: chunk[0].0,
                node: self.new_leaf(chunk.to_vec()),
                count: chunk.len(),
                sum: chunk.iter().map(|&(_, w)| w).sum(),
            })
            .collect();
        while level.len() > 1 {
            level = level
                .chunks(INNER_FILL)
                .map(|chunk| Child {
                    first: chunk[0].first,
                    node: self.new_inner(chunk.to_vec()),
                    count: chunk.iter().map(|c| c.count).sum(),
                    sum: chunk.iter().map(|c| c.sum).sum(),
                })
                .collect();
            self.height += 1;
        }
        self.root = level[0].node;
        self.len = len;
        self.total = total;
    }

    fn first_key(&self, node: u32, height: usize) -> K {
        if height == 0 {
            self.leaves[node as usize].entries[0].0
        } else {
            self.inners[node as usize].children[0].first
        }
    }

    fn new_leaf(&mut self, entries: Vec<(K, i64)>) -> u32 {
        let leaf = Leaf { entries };
        match self.free_leaves.pop() {
            Some(index) => {
                self.leaves[index as usize] = leaf;
                index
            }
            None => {
                self.leaves.push(leaf);
                index_of(self.leaves.len() - 1)
            }
        }
    }

    fn new_inner(&mut self, children: Vec<Child<K>>) -> u32 {
        let inner = Inner { children };
        match self.free_inners.pop() {
            Some(index) => {
                self.inners[index as usize] = inner;
                index
            }
            None => {
                self.inners.push(inner);
                index_of(self.inners.len() - 1)
            }
        }
    }
}

/// The child whose keys `key` falls among.
fn route<K: Ord>(children: &[Child<K>], key: &K) -> usize {
    let after = children.partition_point(|c| c.first.cmp(key) != Ordering::Greater);
    after.saturating_sub(1)
}

fn index_of(position: usize) -> u32 {
    u32::try_from(position).expect("fewer than 2^32 nodes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u16, i16),
        Remove(u16),
        /// Removes the key with this rank, so that removals keep up with insertions.
        RemoveNth(u16),
        Query(u16, u16),
    }

    fn op(keys: u16) -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..keys, any::<i16>()).prop_map(|(k, w)| Op::Insert(k, w)),
            1 => (0..keys).prop_map(Op::Remove),
            2 => any::<u16>().prop_map(Op::RemoveNth),
            2 => (0..keys, any::<u16>()).prop_map(|(k, i)| Op::Query(k, i)),
        ]
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        let mixed = prop_oneof![Just(16u16), Just(300), Just(5_000)]
            .prop_flat_map(|keys| prop::collection::vec(op(keys), 0..1_500));
        // Fill up, then thin out until the leaves are sparse and the tree is rebuilt.
        let thinned = (
            prop::collection::vec((0..5_000u16, any::<i16>()), 0..1_500),
            prop::collection::vec(any::<u16>(), 0..1_500),
            prop::collection::vec(op(5_000), 0..200),
        )
            .prop_map(|(inserts, removals, then)| {
                let inserts = inserts.into_iter().map(|(k, w)| Op::Insert(k, w));
                let removals = removals.into_iter().map(Op::RemoveNth);
                inserts.chain(removals).chain(then).collect()
            });
        prop_oneof![mixed, thinned]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Every operation agrees with a plain sorted map.
        #[test]
        fn agrees_with_a_sorted_map(ops in ops()) {
            let mut tree = OrderStatistics::new();
            let mut model = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, w) => {
                        let fresh = !model.contains_key(&k);
                        if fresh {
                            model.insert(k, i64::from(w));
                        }
                        prop_assert_eq!(tree.insert(k, i64::from(w)), fresh);
                    }
                    Op::Remove(k) => {
                        prop_assert_eq!(tree.remove(&k), model.remove(&k).is_some());
                    }
                    Op::RemoveNth(i) => {
                        if !model.is_empty() {
                            let k = *model.keys().nth(usize::from(i) % model.len()).unwrap();
                            model.remove(&k);
                            prop_assert!(tree.remove(&k));
                        }
                    }
                    Op::Query(k, i) => {
                        let keys: Vec<u16> = model.keys().copied().collect();
                        let i = usize::from(i) % (keys.len() + 2);
                        prop_assert_eq!(tree.count_below(&k), model.range(..k).count());
                        prop_assert_eq!(tree.nth(i), keys.get(i).copied());
                        prop_assert_eq!(tree.contains(&k), model.contains_key(&k));
                        let smallest: i64 = model.values().take(i).sum();
                        prop_assert_eq!(tree.sum_of_smallest(i), smallest);
                    }
                }
                prop_assert_eq!(tree.len(), model.len());
                prop_assert_eq!(tree.total(), model.values().sum::<i64>());
            }
            let expected: Vec<(u16, i64)> = model.into_iter().collect();
            prop_assert_eq!(tree.to_vec(), expected);
        }
    }

    #[test]
    fn sorted_insertions_and_thinning_out() {
        let mut tree = OrderStatistics::new();
        for k in 0..100_000u32 {
            assert!(tree.insert(k, i64::from(k)));
        }
        assert_eq!(tree.len(), 100_000);
        assert_eq!(tree.sum_of_smallest(10), 45);
        assert_eq!(tree.nth(99_999), Some(99_999));
        for k in (0..100_000u32).filter(|k| k % 10 != 3) {
            assert!(tree.remove(&k));
        }
        assert_eq!(tree.len(), 10_000);
        assert_eq!(tree.nth(0), Some(3));
        assert_eq!(tree.count_below(&100), 10);
        assert_eq!(tree.sum_of_smallest(2), 16);
        // Thinning out rebuilt the tree: the leaves are not mostly empty.
        let live = tree.leaves.len() - tree.free_leaves.len();
        assert!(live * LEAF_MAX <= 4 * (10_000 + LEAF_MAX), "{live} leaves");
        for k in (0..100_000u32).filter(|k| k % 10 == 3) {
            assert!(tree.remove(&k));
        }
        assert!(tree.is_empty());
        assert_eq!(tree.to_vec(), vec![]);
    }
}
