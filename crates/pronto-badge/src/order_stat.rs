//! An ordered set that also answers "how many keys are below this one", "which is the i-th
//! key" and "what do the i smallest keys weigh together", each in O(log n).
//!
//! The tracker needs these to read its figures without walking its window: the sum of the
//! fastest k response times (rule 8) and the count of unanswered starts after an instant
//! (rule 5). It is a treap in an arena: nodes live in one `Vec` and point at each other by
//! index, so there is no allocation per node and no `unsafe`.

use std::cmp::Ordering;

/// No node: the empty subtree.
const NIL: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Node<K> {
    key: K,
    weight: i64,
    /// Heap order on random priorities keeps the tree's depth logarithmic on average.
    priority: u32,
    left: u32,
    right: u32,
    /// The subtree's node count and total weight.
    size: u32,
    sum: i64,
}

/// A set of distinct keys, each with a weight.
#[derive(Clone, Debug)]
pub struct OrderStatistics<K> {
    nodes: Vec<Node<K>>,
    root: u32,
    /// Slots of removed nodes, reused before the arena grows.
    free: Vec<u32>,
    /// A xorshift state for priorities: deterministic, so runs are reproducible.
    seed: u64,
}

impl<K: Ord + Copy> Default for OrderStatistics<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Ord + Copy> OrderStatistics<K> {
    pub fn new() -> Self {
        Self {
            nodes: Vec::new(),
            root: NIL,
            free: Vec::new(),
            seed: 0x9E37_79B9_7F4A_7C15,
        }
    }

    pub fn len(&self) -> usize {
        self.size(self.root) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.root == NIL
    }

    /// The total weight of all keys.
    pub fn total(&self) -> i64 {
        self.sum(self.root)
    }

    pub fn clear(&mut self) {
        self.nodes.clear();
        self.free.clear();
        self.root = NIL;
    }

    pub fn contains(&self, key: &K) -> bool {
        let mut t = self.root;
        while t != NIL {
            let node = &self.nodes[t as usize];
            match key.cmp(&node.key) {
                Ordering::Less => t = node.left,
                Ordering::Greater => t = node.right,
                Ordering::Equal => return true,
            }
        }
        false
    }

    /// Adds `key` with `weight`; returns false, changing nothing, if `key` is already there.
    pub fn insert(&mut self, key: K, weight: i64) -> bool {
        let priority = self.next_priority();
        let node = Node {
            key,
            weight,
            priority,
            left: NIL,
            right: NIL,
            size: 1,
            sum: weight,
        };
        let index = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot as usize] = node;
                slot
            }
            None => {
                let slot = u32::try_from(self.nodes.len())
                    .ok()
                    .filter(|&slot| slot != NIL)
                    .expect("fewer than 2^32 - 1 keys");
                self.nodes.push(node);
                slot
            }
        };
        match self.insert_into(self.root, index) {
            Some(root) => {
                self.root = root;
                true
            }
            None => {
                self.free.push(index);
                false
            }
        }
    }

    /// Removes `key`; returns false if it was not there.
    pub fn remove(&mut self, key: &K) -> bool {
        match self.remove_from(self.root, key) {
            Some(root) => {
                self.root = root;
                true
            }
            None => false,
        }
    }

    /// How many keys are less than `key`.
    pub fn count_below(&self, key: &K) -> usize {
        let (mut t, mut count) = (self.root, 0);
        while t != NIL {
            let node = &self.nodes[t as usize];
            if *key <= node.key {
                t = node.left;
            } else {
                count += self.size(node.left) as usize + 1;
                t = node.right;
            }
        }
        count
    }

    /// The key with `index` keys below it, if there are more than `index` keys.
    pub fn nth(&self, mut index: usize) -> Option<K> {
        let mut t = self.root;
        while t != NIL {
            let node = &self.nodes[t as usize];
            let left = self.size(node.left) as usize;
            match index.cmp(&left) {
                Ordering::Less => t = node.left,
                Ordering::Equal => return Some(node.key),
                Ordering::Greater => {
                    index -= left + 1;
                    t = node.right;
                }
            }
        }
        None
    }

    /// The total weight of the `count` smallest keys (of all of them, if there are fewer).
    pub fn sum_of_smallest(&self, mut count: usize) -> i64 {
        let (mut t, mut total) = (self.root, 0);
        while t != NIL && count > 0 {
            let node = &self.nodes[t as usize];
            let left = self.size(node.left) as usize;
            if count <= left {
                t = node.left;
            } else {
                total += self.sum(node.left) + node.weight;
                count -= left + 1;
                t = node.right;
            }
        }
        total
    }

    /// All keys with their weights, in order.
    pub fn to_vec(&self) -> Vec<(K, i64)> {
        let mut out = Vec::with_capacity(self.len());
        let mut stack = Vec::new();
        let mut t = self.root;
        while t != NIL || !stack.is_empty() {
            while t != NIL {
                stack.push(t);
                t = self.nodes[t as usize].left;
            }
            let top = stack.pop().expect("a node to visit");
            let node = &self.nodes[top as usize];
            out.push((node.key, node.weight));
            t = node.right;
        }
        out
    }

    fn next_priority(&mut self) -> u32 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        (self.seed >> 32) as u32
    }

    fn size(&self, t: u32) -> u32 {
        if t == NIL {
            0
        } else {
            self.nodes[t as usize].size
        }
    }

    fn sum(&self, t: u32) -> i64 {
        if t == NIL {
            0
        } else {
            self.nodes[t as usize].sum
        }
    }

    fn update(&mut self, t: u32) {
        let (left, right) = (self.nodes[t as usize].left, self.nodes[t as usize].right);
        let (size, sum) = (
            self.size(left) + self.size(right) + 1,
            self.sum(left) + self.sum(right) + self.nodes[t as usize].weight,
        );
        let node = &mut self.nodes[t as usize];
        node.size = size;
        node.sum = sum;
    }

    /// Inserts node `new` into subtree `t`; the new subtree's root, or `None` for a duplicate.
    fn insert_into(&mut self, t: u32, new: u32) -> Option<u32> {
        if t == NIL {
            return Some(new);
        }
        match self.nodes[new as usize]
            .key
            .cmp(&self.nodes[t as usize].key)
        {
            Ordering::Equal => None,
            Ordering::Less => {
                let left = self.insert_into(self.nodes[t as usize].left, new)?;
                self.nodes[t as usize].left = left;
                if self.nodes[left as usize].priority > self.nodes[t as usize].priority {
                    Some(self.rotate_right(t))
                } else {
                    self.update(t);
                    Some(t)
                }
            }
            Ordering::Greater => {
                let right = self.insert_into(self.nodes[t as usize].right, new)?;
                self.nodes[t as usize].right = right;
                if self.nodes[right as usize].priority > self.nodes[t as usize].priority {
                    Some(self.rotate_left(t))
                } else {
                    self.update(t);
                    Some(t)
                }
            }
        }
    }

    /// Removes `key` from subtree `t`; the new subtree's root, or `None` if it was not there.
    fn remove_from(&mut self, t: u32, key: &K) -> Option<u32> {
        if t == NIL {
            return None;
        }
        let (left, right) = (self.nodes[t as usize].left, self.nodes[t as usize].right);
        match key.cmp(&self.nodes[t as usize].key) {
            Ordering::Equal => {
                let merged = self.merge(left, right);
                self.free.push(t);
                Some(merged)
            }
            Ordering::Less => {
                let left = self.remove_from(left, key)?;
                self.nodes[t as usize].left = left;
                self.update(t);
                Some(t)
            }
            Ordering::Greater => {
                let right = self.remove_from(right, key)?;
                self.nodes[t as usize].right = right;
                self.update(t);
                Some(t)
            }
        }
    }

    /// Joins two subtrees, every key of `a` below every key of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].priority > self.nodes[b as usize].priority {
            let right = self.merge(self.nodes[a as usize].right, b);
            self.nodes[a as usize].right = right;
            self.update(a);
            a
        } else {
            let left = self.merge(a, self.nodes[b as usize].left);
            self.nodes[b as usize].left = left;
            self.update(b);
            b
        }
    }

    /// `t`'s left child becomes the subtree's root.
    fn rotate_right(&mut self, t: u32) -> u32 {
        let left = self.nodes[t as usize].left;
        self.nodes[t as usize].left = self.nodes[left as usize].right;
        self.nodes[left as usize].right = t;
        self.update(t);
        self.update(left);
        left
    }

    /// `t`'s right child becomes the subtree's root.
    fn rotate_left(&mut self, t: u32) -> u32 {
        let right = self.nodes[t as usize].right;
        self.nodes[t as usize].right = self.nodes[right as usize].left;
        self.nodes[right as usize].left = t;
        self.update(t);
        self.update(right);
        right
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u8, i16),
        Remove(u8),
        Query(u8, u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (any::<u8>(), any::<i16>()).prop_map(|(k, w)| Op::Insert(k, w)),
            2 => any::<u8>().prop_map(Op::Remove),
            1 => (any::<u8>(), any::<u16>()).prop_map(|(k, i)| Op::Query(k, i)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Every operation agrees with a plain sorted map.
        #[test]
        fn agrees_with_a_sorted_map(ops in prop::collection::vec(op(), 0..400)) {
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
                    Op::Query(k, i) => {
                        let keys: Vec<u8> = model.keys().copied().collect();
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
            let expected: Vec<(u8, i64)> = model.into_iter().collect();
            prop_assert_eq!(tree.to_vec(), expected);
        }
    }

    #[test]
    fn stays_shallow_on_sorted_input() {
        let mut tree = OrderStatistics::new();
        for k in 0..100_000u32 {
            tree.insert(k, i64::from(k));
        }
        assert_eq!(tree.len(), 100_000);
        assert_eq!(tree.sum_of_smallest(10), 45);
        assert_eq!(tree.nth(99_999), Some(99_999));
        for k in (0..100_000u32).step_by(2) {
            assert!(tree.remove(&k));
        }
        assert_eq!(tree.len(), 50_000);
        assert_eq!(tree.nth(0), Some(1));
        assert_eq!(tree.count_below(&10), 5);
    }
}
