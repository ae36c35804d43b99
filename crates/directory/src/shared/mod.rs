//! [`Chunked`]: a vector that snapshots share, so an update does not copy the world.
//!
//! Elements live in small fixed-size *leaves* behind `Arc`s, the leaves in *nodes* of
//! [`FANOUT`] leaf pointers, and the nodes in a spine (pieces of 32 node pointers, the piece
//! list behind one more `Arc`): a shallow tree. Cloning the vector is one pointer copy;
//! writing an element copies, the first time after a clone (`Arc::make_mut`), the piece list
//! (one pointer per 32 nodes), the element's piece (32 pointers), its node (FANOUT pointers)
//! and its leaf (256 bytes of pointers, or 4 KB of plain data). Every snapshot of the
//! directory owns a `Chunked` of users and of grants; a single-user update therefore costs a
//! few small copies, whatever the directory's size. Reads are three index splits and four
//! loads.
//!
//! Why two levels: with one level the chunk size trades the clone (one pointer per chunk)
//! against the write (one chunk copy). At 64 KiB chunks a sign-in copied 8,192 user pointers
//! (each an atomic increment, and a decrement when the old snapshot goes), ~95 % of a
//! single-change batch's writer time at 100k users (perf, benches/RESULTS.md).

use std::fmt;
use std::ops::{Index, IndexMut};
use std::sync::Arc;

mod spine;

use spine::Spine;

/// Bytes of inline elements per leaf when elements own resources (pointers, strings): copying
/// a leaf clones each element (for an `Arc`, an atomic increment now and a decrement when the
/// old snapshot goes, ~20 cycles each even in cache), so these leaves are small: 32 pointers.
/// With 1 KB leaves (128 pointers) a sign-in's copy of the users' leaf was the largest part of
/// its cost; at 256 bytes the piece list, the piece (32) and the node (64) stay of the same
/// order as the leaf for a million elements.
const LEAF_BYTES: usize = 256;

/// Bytes per leaf for plain-data elements (grants, the last-access values by row): copying is
/// one `memcpy`, so these leaves are larger (fewer node pointers to copy), but not so large
/// that the copy dominates a single write: a sign-in copies one leaf of the last-access
/// values, which at 32 KB was a fifth of its index update (perf, benches/RESULTS.md).
const PLAIN_LEAF_BYTES: usize = 4 * 1024;

/// Leaves per node: what a first write after a clone copies in pointers, and (with the leaf
/// length) how many elements one node pointer of a clone covers. Each pointer copied is a
/// reference count incremented (and decremented when the old snapshot goes), on a cache line
/// of its own: 32 rather than 64 balances the node against the spine's pieces of 32 for the
/// sizes the live store writes most (a role's per-project holder sets, the users, the grants
/// by subject), −10 % first-level data-cache read misses per membership and per sign-in at
/// 200k users (callgrind cache simulation, benches/RESULTS.md `fan13`).
pub const FANOUT: usize = 32;

/// Elements per leaf for `T` (at least 16, at most 4,096).
pub const fn chunk_len<T>() -> usize {
    let size = std::mem::size_of::<T>();
    if size == 0 {
        return 4096;
    }
    let bytes = if std::mem::needs_drop::<T>() {
        LEAF_BYTES
    } else {
        PLAIN_LEAF_BYTES
    };
    let n = bytes / size;
    if n < 16 {
        16
    } else if n > 4096 {
        4096
    } else {
        n
    }
}

type Leaf<T> = Arc<Vec<T>>;

/// A vector of `T` in shared, copy-on-write leaves (see the module docs). Every node but the
/// last holds [`FANOUT`] leaves. Until the first [`Chunked::remove`] every leaf but the last is
/// full, so indexing is division; a removal takes the element out of its own leaf only (no
/// shift of later leaves) and from then on indexing goes through the cumulative lengths of
/// nodes and of leaves within their node (`Ends`, two binary searches).
#[derive(Clone)]
pub struct Chunked<T> {
    /// The node list is shared too: a snapshot that writes no element of this vector copies
    /// nothing of it (one pointer), whatever its length, and one that writes copies one piece.
    nodes: Spine<Vec<Leaf<T>>>,
    len: usize,
    /// After a removal: where nodes and leaves end (leaves may then be partly filled, or
    /// empty). `None` while every leaf but the last is full.
    ends: Option<Ends>,
}

/// Cumulative lengths of a [`Chunked`] whose leaves are not all full, in two levels so that a
/// removal updates (and, after a clone, copies) one word per node and one per leaf of its own
/// node — not one per leaf of the vector. With one flat list, deleting a user (its ~5 grants
/// out of 4.8M at 1M users, ~24k leaves) copied and rewrote 190 KB of it per batch: a tenth of
/// the deletion's instructions (callgrind, benches/RESULTS.md `member9`).
#[derive(Clone, Debug)]
struct Ends {
    /// `nodes[n]` = elements in nodes `0..=n`.
    nodes: Arc<Vec<usize>>,
    /// `leaves[n][k]` = elements in leaves `0..=k` of node `n` (in pieces, as the nodes).
    leaves: Spine<Vec<usize>>,
}

impl Ends {
    /// The lengths of `nodes` as they are.
    fn of<T: Clone>(nodes: &Spine<Vec<Leaf<T>>>) -> Ends {
        let mut total = 0;
        let mut node_ends = Vec::with_capacity(nodes.len());
        let mut leaf_ends = Vec::with_capacity(nodes.len());
        for node in nodes.iter() {
            let mut within = 0;
            let local: Vec<usize> = node
                .iter()
                .map(|leaf| {
                    within += leaf.len();
                    within
                })
                .collect();
            total += within;
            node_ends.push(total);
            leaf_ends.push(Arc::new(local));
        }
        Ends {
            nodes: Arc::new(node_ends),
            leaves: leaf_ends.into_iter().collect(),
        }
    }

    /// (node, leaf within the node, offset within the leaf) of element `i` (`i` < len).
    fn place(&self, i: usize) -> (usize, usize, usize) {
        let node = self.nodes.partition_point(|&end| end <= i);
        let i = i - node.checked_sub(1).map_or(0, |n| self.nodes[n]);
        let local = self.leaves.at(node);
        let leaf = local.partition_point(|&end| end <= i);
        (node, leaf, i - leaf.checked_sub(1).map_or(0, |k| local[k]))
    }
}

/// The first of `parts` parts whose last element (`last` of the part's number) fails `pred`;
/// a part without elements counts as the nearest one before it that has some (as `true` when
/// there is none), so the keys stay partitioned for the binary search.
fn partition_by_last<'a, T: 'a>(
    parts: usize,
    last: impl Fn(usize) -> Option<&'a T>,
    pred: &mut impl FnMut(&T) -> bool,
) -> usize {
    let (mut lo, mut hi) = (0, parts);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let key = (0..=mid).rev().find_map(&last).is_none_or(&mut *pred);
        if key {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            nodes: Spine::default(),
            len: 0,
            ends: None,
        }
    }
}

impl<T: Clone> Chunked<T> {
    /// An empty vector.
    pub fn new() -> Self {
        Self::default()
    }

    /// `len` copies of `value`, every leaf one shared allocation: O(len / leaf length) pointer
    /// copies (a delta level's users start as all holes this way; writing an element then
    /// copies only its own node and leaf).
    pub fn filled(len: usize, value: T) -> Self {
        let mut filled = Chunked::new();
        filled.grow_to(len, value);
        filled
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// (node, leaf within the node, offset within the leaf) of element `i` (`i` < len).
    fn place(&self, i: usize) -> (usize, usize, usize) {
        match &self.ends {
            None => {
                let per = chunk_len::<T>();
                let leaf = i / per;
                (leaf / FANOUT, leaf % FANOUT, i % per)
            }
            Some(ends) => ends.place(i),
        }
    }

    /// The element at `i`.
    pub fn get(&self, i: usize) -> Option<&T> {
        if i >= self.len {
            return None;
        }
        let (node, leaf, at) = self.place(i);
        self.nodes.get(node)?.get(leaf)?.get(at)
    }

    /// The element at `i`, for writing: copies its node and leaf if another snapshot shares them.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i >= self.len {
            return None;
        }
        let (node, leaf, at) = self.place(i);
        let node = self.nodes.get_mut(node)?;
        Arc::make_mut(node.get_mut(leaf)?).get_mut(at)
    }

    /// The first element.
    pub fn first(&self) -> Option<&T> {
        self.get(0)
    }

    /// The last element.
    pub fn last(&self) -> Option<&T> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        *self = Chunked::default();
    }

    /// Appends an element (copies only the last node and leaf, if shared).
    pub fn push(&mut self, value: T) {
        let per = chunk_len::<T>();
        if let Some(ends) = &mut self.ends {
            // Into the last leaf while it has room, else into a new leaf (of a new node when
            // the last is full).
            let nodes = &mut self.nodes;
            let node_ends = Arc::make_mut(&mut ends.nodes);
            let leaf_ends = &mut ends.leaves;
            let last_node = nodes.len().checked_sub(1);
            let room = last_node.and_then(|n| {
                let local = leaf_ends.at(n);
                let k = local.len().checked_sub(1)?;
                let len = local[k] - k.checked_sub(1).map_or(0, |j| local[j]);
                (len < per).then_some((n, k))
            });
            match room {
                Some((n, k)) => {
                    // `n` and `k` come from the ends, which describe every node and leaf.
                    Arc::make_mut(&mut nodes.get_mut(n).expect("a node the ends list")[k])
                        .push(value);
                    leaf_ends.get_mut(n).expect("the node's leaf ends")[k] += 1;
                }
                None => {
                    if last_node.is_none_or(|n| nodes.at(n).len() >= FANOUT) {
                        nodes.push(Arc::new(Vec::with_capacity(FANOUT)));
                        node_ends.push(self.len);
                        leaf_ends.push(Arc::new(Vec::with_capacity(FANOUT)));
                    }
                    let mut leaf = Vec::with_capacity(per);
                    leaf.push(value);
                    // A node was opened above when there was none (or the last was full).
                    nodes.last_mut().expect("a last node").push(Arc::new(leaf));
                    let local = leaf_ends.last_mut().expect("its leaf ends");
                    let within = local.last().copied().unwrap_or(0);
                    local.push(within + 1);
                }
            }
            if let Some(end) = node_ends.last_mut() {
                *end += 1;
            }
            self.len += 1;
            return;
        }
        let (node, leaf, at) = (
            self.len / per / FANOUT,
            self.len / per % FANOUT,
            self.len % per,
        );
        if node == self.nodes.len() {
            self.nodes.push(Arc::new(Vec::with_capacity(FANOUT)));
        }
        // Full leaves and nodes: the last node exists (just opened when full), and so does
        // the leaf, once opened.
        let leaves = self.nodes.get_mut(node).expect("the last node");
        if at == 0 && leaf == leaves.len() {
            leaves.push(Arc::new(Vec::with_capacity(per)));
        }
        Arc::make_mut(&mut leaves[leaf]).push(value);
        self.len += 1;
    }

    /// Grows to `len` elements, each new one a copy of `value` (nothing when already that
    /// long). Whole new leaves are one shared allocation (a write copies its leaf then, as
    /// after a clone): a table of mostly empty slots (the access index's holders by project,
    /// ~5,000 at 1M users, one table per role) grows by a pointer per leaf, where a push per
    /// slot was an eighth of a delta level's build (`union13`).
    pub fn grow_to(&mut self, len: usize, value: T) {
        let per = chunk_len::<T>();
        // Up to a leaf boundary (and every element after a removal) one by one.
        while self.len < len && (self.ends.is_some() || !self.len.is_multiple_of(per)) {
            self.push(value.clone());
        }
        if self.len + per <= len {
            let full = Arc::new(vec![value.clone(); per]);
            while self.len + per <= len {
                let node = self.len / per / FANOUT;
                if node == self.nodes.len() {
                    self.nodes.push(Arc::new(Vec::with_capacity(FANOUT)));
                }
                self.nodes
                    .get_mut(node)
                    .expect("the last node, opened when full")
                    .push(Arc::clone(&full));
                self.len += per;
            }
        }
        while self.len < len {
            self.push(value.clone());
        }
    }

    /// Removes the last element.
    pub fn pop(&mut self) -> Option<T> {
        let last = self.len.checked_sub(1)?;
        if self.ends.is_some() {
            return self.remove(last);
        }
        let (node, leaf, _) = self.place(last);
        let leaves = self.nodes.get_mut(node)?;
        let value = Arc::make_mut(leaves.get_mut(leaf)?).pop();
        if leaves[leaf].is_empty() {
            leaves.pop();
            if leaves.is_empty() {
                self.nodes.pop();
            }
        }
        self.len = last;
        value
    }

    /// Removes the element at `i`, shifting the rest down by one position: only `i`'s leaf is
    /// copied and shortened (later leaves stay shared and in place; the cumulative lengths,
    /// one word per node and one per leaf of `i`'s node, are updated). O(leaf + nodes +
    /// FANOUT), never O(n) element moves (the first removal of a vector computes the lengths:
    /// O(leaves), once).
    pub fn remove(&mut self, i: usize) -> Option<T> {
        if i >= self.len {
            return None;
        }
        let ends = self.ends.get_or_insert_with(|| Ends::of(&self.nodes));
        let (node, leaf, at) = ends.place(i);
        for end in &mut Arc::make_mut(&mut ends.nodes)[node..] {
            *end -= 1;
        }
        if let Some(local) = ends.leaves.get_mut(node) {
            for end in &mut local[leaf..] {
                *end -= 1;
            }
        }
        let removed = self.leaf_mut(node * FANOUT + leaf).remove(at);
        self.len -= 1;
        Some(removed)
    }

    /// Leaf number `k`, for writing.
    fn leaf_mut(&mut self, k: usize) -> &mut Vec<T> {
        let node = self
            .nodes
            .get_mut(k / FANOUT)
            .expect("a leaf number placed in the vector");
        Arc::make_mut(&mut node[k % FANOUT])
    }

    /// Keeps the elements for which `keep` holds (O(n): rebuilds the leaves).
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let kept: Vec<T> = self.iter().filter(|v| keep(v)).cloned().collect();
        *self = Chunked::from(kept);
    }

    /// Keeps the elements for which `keep` holds, letting it change them (O(n)).
    pub fn retain_mut(&mut self, mut keep: impl FnMut(&mut T) -> bool) {
        let mut all = self.to_vec();
        all.retain_mut(|v| keep(v));
        *self = Chunked::from(all);
    }

    /// Reserves room for `additional` more elements' node pointers.
    pub fn reserve(&mut self, additional: usize) {
        self.nodes
            .reserve(additional.div_ceil(chunk_len::<T>() * FANOUT));
    }

    /// The position of the first element for which `pred` is false, the elements being
    /// partitioned by it (every `true` before every `false`), as `slice::partition_point`.
    /// Binary searches over the nodes, then the leaves of one node, then one leaf, on the
    /// elements themselves: a search by position (`get` per step) placed every probe through
    /// the removal ends again, an eighth of a user deletion's instructions
    /// (`Subjects::position_of`, benches/RESULTS.md `find13`).
    pub fn partition_point(&self, mut pred: impl FnMut(&T) -> bool) -> usize {
        let nodes = &self.nodes;
        // An empty node or leaf (only after removals) counts as its predecessor does, which
        // keeps the keys partitioned; the first `false` one therefore holds elements.
        let node = partition_by_last(
            nodes.len(),
            |n| nodes.get(n)?.iter().rev().find_map(|leaf| leaf.last()),
            &mut pred,
        );
        let Some(leaves) = nodes.get(node) else {
            return self.len;
        };
        let leaf = partition_by_last(leaves.len(), |k| leaves.get(k)?.last(), &mut pred);
        let within = leaves
            .get(leaf)
            .map_or(0, |leaf| leaf.partition_point(&mut pred));
        let per = chunk_len::<T>();
        let before = match &self.ends {
            None => node * FANOUT * per + leaf * per,
            Some(ends) => {
                let nodes_before = node.checked_sub(1).map_or(0, |n| ends.nodes[n]);
                let local = ends.leaves.at(node);
                nodes_before + leaf.checked_sub(1).map_or(0, |k| local[k])
            }
        };
        before + within
    }

    /// The position of the first element for which `found` holds.
    pub fn position(&self, found: impl FnMut(&T) -> bool) -> Option<usize> {
        self.iter().position(found)
    }

    /// Every element in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + Clone + '_ {
        self.nodes
            .iter()
            .flat_map(|node| node.iter())
            .flat_map(|leaf| leaf.iter())
    }

    /// Every element in order, for writing (copies every shared node and leaf).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.nodes
            .iter_mut()
            .flat_map(|node| node.iter_mut())
            .flat_map(|leaf| Arc::make_mut(leaf).iter_mut())
    }

    /// A plain vector copy.
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().cloned().collect()
    }

    /// How many leaves this vector shares with `other` (same allocation, same place): for tests
    /// and stats.
    pub fn shared_chunks(&self, other: &Chunked<T>) -> usize {
        let leaves = |c: &Chunked<T>| -> Vec<*const Vec<T>> {
            c.nodes
                .iter()
                .flat_map(|node| node.iter().map(Arc::as_ptr))
                .collect()
        };
        leaves(self)
            .iter()
            .zip(&leaves(other))
            .filter(|(a, b)| a == b)
            .count()
    }
}

impl<T: Clone> From<Vec<T>> for Chunked<T> {
    fn from(items: Vec<T>) -> Self {
        items.into_iter().collect()
    }
}

impl<T: Clone> FromIterator<T> for Chunked<T> {
    /// Leaves filled in order and each wrapped once, as [`Chunked::push`] lays them out (every
    /// leaf but the last full): pushing one by one looked the last node and leaf up for
    /// writing per element, a tenth of gathering a delta level's model (its grants).
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let per = chunk_len::<T>();
        let mut nodes: Spine<Vec<Leaf<T>>> = Spine::default();
        let mut node: Vec<Leaf<T>> = Vec::with_capacity(FANOUT);
        let mut leaf: Vec<T> = Vec::with_capacity(per);
        let mut len = 0;
        for item in iter {
            leaf.push(item);
            len += 1;
            if leaf.len() == per {
                node.push(Arc::new(std::mem::take(&mut leaf)));
                leaf.reserve_exact(per);
                if node.len() == FANOUT {
                    nodes.push(Arc::new(std::mem::take(&mut node)));
                    node.reserve_exact(FANOUT);
                }
            }
        }
        if !leaf.is_empty() {
            node.push(Arc::new(leaf));
        }
        if !node.is_empty() {
            nodes.push(Arc::new(node));
        }
        Chunked {
            nodes,
            len,
            ends: None,
        }
    }
}

impl<T: Clone> Index<usize> for Chunked<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(v) => v,
            None => panic!("index {i} out of bounds for length {}", self.len),
        }
    }
}

impl<T: Clone> IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        let len = self.len;
        match self.get_mut(i) {
            Some(v) => v,
            None => panic!("index {i} out of bounds for length {len}"),
        }
    }
}

impl<'a, T: Clone> IntoIterator for &'a Chunked<T> {
    type Item = &'a T;
    type IntoIter = Box<dyn DoubleEndedIterator<Item = &'a T> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl<T: Clone + PartialEq> PartialEq for Chunked<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<T: Clone + fmt::Debug> fmt::Debug for Chunked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lengths of a `Chunked<u64>` on and around its leaf and node boundaries.
    fn boundary_lengths() -> [usize; 8] {
        let per = chunk_len::<u64>();
        [
            0,
            1,
            per - 1,
            per,
            per + 1,
            FANOUT * per,
            FANOUT * per + 3,
            3 * FANOUT * per,
        ]
    }

    #[test]
    fn collected_behaves_like_pushed() {
        for len in boundary_lengths() {
            let mut collected: Chunked<u64> = (0..len as u64).collect();
            let mut pushed = Chunked::new();
            let mut plain: Vec<u64> = Vec::new();
            for value in 0..len as u64 {
                pushed.push(value);
                plain.push(value);
            }
            for value in [7, 8, 9] {
                collected.push(value);
                pushed.push(value);
                plain.push(value);
            }
            assert_eq!(collected.len(), plain.len());
            assert_eq!(collected.to_vec(), plain);
            assert_eq!(pushed.to_vec(), plain);
            for at in [0, len / 2, len + 2] {
                assert_eq!(collected.get(at), plain.get(at), "len {len}, at {at}");
            }
            collected[len / 2] = 1;
            plain[len / 2] = 1;
            assert_eq!(collected.remove(0), Some(plain.remove(0)));
            assert_eq!(collected.to_vec(), plain, "len {len}");
        }
    }

    #[test]
    fn behaves_like_a_vector() {
        let plain: Vec<u32> = (0..5000).collect();
        let mut chunked = Chunked::from(plain.clone());
        assert_eq!(chunked.len(), 5000);
        assert_eq!(chunked.to_vec(), plain);
        assert_eq!(chunked[4097], 4097);
        assert_eq!(chunked.last(), Some(&4999));
        assert_eq!(chunked.get(5000), None);
        chunked[10] = 7;
        assert_eq!(chunked.remove(0), Some(0));
        assert_eq!(chunked[9], 7);
        chunked.retain(|v| v % 2 == 0);
        assert!(chunked.iter().all(|v| v % 2 == 0));
        assert_eq!(chunked.iter().next_back(), Some(&4998));
    }

    #[test]
    fn filled_behaves_like_a_vector_of_copies() {
        let per = chunk_len::<u64>();
        for len in boundary_lengths() {
            let mut filled = Chunked::filled(len, 9u64);
            let mut plain = vec![9u64; len];
            assert_eq!(filled.to_vec(), plain, "{len}");
            if len > 0 {
                filled[len / 2] = 1;
                plain[len / 2] = 1;
                filled[len - 1] = 2;
                plain[len - 1] = 2;
            }
            filled.push(3);
            plain.push(3);
            assert_eq!(filled.to_vec(), plain, "{len}");
            assert_eq!(filled.len(), len + 1);
        }
        // The untouched leaves stay one allocation.
        let mut holes = Chunked::filled(10 * per, None::<Arc<u64>>);
        holes[5] = Some(Arc::new(5));
        assert_eq!(holes.iter().flatten().count(), 1);
    }

    #[test]
    fn grow_to_behaves_like_pushes() {
        let per = chunk_len::<u64>();
        let cases = [
            (0, 0),
            (0, 1),
            (3, per),
            (per - 1, 3 * per + 2),
            (per, FANOUT * per + 5),
            (5, 3 * FANOUT * per),
        ];
        for (start, len) in cases {
            let mut grown: Chunked<u64> = (0..start as u64).collect();
            let mut plain: Vec<u64> = (0..start as u64).collect();
            grown.grow_to(len, 9);
            plain.resize(len.max(start), 9);
            assert_eq!(grown.to_vec(), plain, "{start} → {len}");
            // Writes and pushes after it stay like a vector's, and a write to one shared
            // leaf leaves the others alone.
            if len > 0 {
                grown[len / 2] = 1;
                plain[len / 2] = 1;
            }
            grown.push(4);
            plain.push(4);
            assert_eq!(grown.to_vec(), plain, "{start} → {len}");
        }
        // After a removal (leaves partly filled) too.
        let mut grown: Chunked<u64> = (0..3 * per as u64).collect();
        let mut plain = grown.to_vec();
        grown.remove(per + 1);
        plain.remove(per + 1);
        grown.grow_to(5 * per, 7);
        plain.resize(5 * per, 7);
        assert_eq!(grown.to_vec(), plain);
        // Shorter than it is: nothing changes.
        grown.grow_to(2, 0);
        assert_eq!(grown.to_vec(), plain);
    }

    #[test]
    fn partition_point_agrees_with_a_vector_after_removals() {
        // Two nodes and a half of sorted values; removals leave leaves partly filled, and
        // emptying whole leaves and a node's worth of them keeps the search exact.
        let per = chunk_len::<u64>();
        let len = per * FANOUT * 5 / 2;
        let mut chunked: Chunked<u64> = (0..len as u64).map(|v| 2 * v).collect();
        let mut plain = chunked.to_vec();
        let check = |chunked: &Chunked<u64>, plain: &[u64]| {
            for probe in [
                0,
                1,
                2,
                3,
                999,
                2 * len as u64 - 2,
                2 * len as u64,
                u64::MAX,
            ] {
                assert_eq!(
                    chunked.partition_point(|&v| v < probe),
                    plain.partition_point(|&v| v < probe),
                    "probe {probe}"
                );
            }
            for (at, &v) in plain.iter().enumerate().step_by(97) {
                assert_eq!(chunked.partition_point(|&x| x < v), at);
            }
        };
        check(&chunked, &plain);
        let mut state = 11u64;
        for _ in 0..500 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let at = (state >> 33) as usize % plain.len();
            assert_eq!(chunked.remove(at), Some(plain.remove(at)));
        }
        check(&chunked, &plain);
        // A whole leaf, then a whole node, emptied.
        for _ in 0..per {
            chunked.remove(3 * per);
            plain.remove(3 * per);
        }
        for _ in 0..per * FANOUT {
            chunked.remove(per);
            plain.remove(per);
        }
        check(&chunked, &plain);
        assert_eq!(Chunked::<u64>::new().partition_point(|_| true), 0);
    }

    #[test]
    fn a_write_after_a_clone_copies_one_chunk() {
        let chunk = chunk_len::<u64>();
        let original: Chunked<u64> = (0..10 * chunk as u64).collect();
        let mut copy = original.clone();
        assert_eq!(copy.shared_chunks(&original), 10);
        copy[3 * chunk + 5] = 0;
        assert_eq!(copy.shared_chunks(&original), 9);
        assert_eq!(original[3 * chunk + 5], 3 * chunk as u64 + 5);
        copy.push(1);
        assert_eq!(
            copy.shared_chunks(&original),
            9,
            "pushing copies only the last chunk"
        );
    }

    #[test]
    fn remove_shifts_like_a_vector_and_copies_one_chunk() {
        let chunk = chunk_len::<u64>();
        let original: Chunked<u64> = (0..5 * chunk as u64 + 3).collect();
        for at in [0, chunk - 1, chunk, 3 * chunk + 7, 5 * chunk + 2] {
            let mut copy = original.clone();
            let mut plain = original.to_vec();
            assert_eq!(copy.remove(at), Some(plain.remove(at)));
            assert_eq!(copy.to_vec(), plain);
            assert_eq!(copy.len(), plain.len());
            // Every leaf but the removed element's stays shared.
            assert_eq!(copy.shared_chunks(&original), 5);
            copy.push(9);
            plain.push(9);
            assert_eq!(copy.to_vec(), plain);
        }
        let mut copy = original.clone();
        assert_eq!(copy.remove(copy.len()), None);
    }

    #[test]
    fn removals_pushes_and_writes_in_any_order_behave_like_a_vector() {
        // Large plain elements: 64 to a leaf, so a few thousand span two nodes.
        type Big = [u64; 64];
        let per = chunk_len::<Big>();
        let big = |v: u64| -> Big { [v; 64] };
        let mut chunked: Chunked<Big> = (0..(per * FANOUT * 3 / 2) as u64).map(big).collect();
        let mut plain = chunked.to_vec();
        let mut state = 7u64;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as usize % n.max(1)
        };
        for step in 0..5_000u64 {
            // Now and then, a snapshot taken before the change must not see it.
            let kept = (step % 97 == 0).then(|| (chunked.clone(), plain.clone()));
            match next(5) {
                0 | 1 => {
                    let at = next(plain.len());
                    assert_eq!(chunked.remove(at), plain.get(at).copied());
                    if at < plain.len() {
                        plain.remove(at);
                    }
                }
                2 => {
                    chunked.push(big(step));
                    plain.push(big(step));
                }
                3 => assert_eq!(chunked.pop(), plain.pop()),
                _ => {
                    let at = next(plain.len());
                    if let (Some(a), Some(b)) = (chunked.get_mut(at), plain.get_mut(at)) {
                        *a = big(step);
                        *b = big(step);
                    }
                }
            }
            assert_eq!(chunked.len(), plain.len());
            if let Some((kept, before)) = kept {
                assert_eq!(kept.to_vec(), before);
                assert_eq!(chunked.to_vec(), plain);
            }
            let probe = next(plain.len());
            assert_eq!(chunked.get(probe), plain.get(probe));
        }
        assert_eq!(chunked.to_vec(), plain);
    }

    #[test]
    fn pushes_after_a_removal_open_new_leaves_and_nodes() {
        let per = chunk_len::<u64>();
        let mut chunked: Chunked<u64> = (0..(per * FANOUT - 3) as u64).collect();
        let mut plain = chunked.to_vec();
        let before = chunked.clone();
        assert_eq!(chunked.remove(per + 1), Some(plain.remove(per + 1)));
        // Past the first node's last leaf, then over two more nodes.
        for v in 0..(2 * per * FANOUT + 5) as u64 {
            chunked.push(v);
            plain.push(v);
            if v % 997 == 0 {
                let at = (v as usize * 31) % plain.len();
                assert_eq!(chunked.remove(at), Some(plain.remove(at)));
            }
        }
        assert_eq!(chunked.len(), plain.len());
        assert_eq!(chunked.to_vec(), plain);
        for at in (0..plain.len()).step_by(per / 3 + 1) {
            assert_eq!(chunked.get(at), plain.get(at));
        }
        assert_eq!(before.len(), per * FANOUT - 3);
        assert_eq!(before.get(per + 1), Some(&(per as u64 + 1)));
    }

    #[test]
    fn spans_several_pieces_of_the_node_list() {
        // Past two pieces of node pointers: writes, removals and pushes around their
        // boundaries behave like a vector's, and a write after a clone copies one leaf.
        let per = chunk_len::<u64>();
        let piece = per * FANOUT * spine::SPAN;
        let len = 2 * piece + 3 * per + 1;
        let original: Chunked<u64> = (0..len as u64).collect();
        let leaves = len.div_ceil(per);
        for at in [piece - 1, piece, 2 * piece + 1, len - 1] {
            let mut copy = original.clone();
            copy[at] = 0;
            assert_eq!(copy.shared_chunks(&original), leaves - 1, "at {at}");
            assert_eq!(copy[at], 0);
            assert_eq!(original[at], at as u64);
        }
        let mut chunked = original.clone();
        let mut plain = original.to_vec();
        for at in [2 * piece + 2, piece + 1, piece - 2, 5] {
            assert_eq!(chunked.remove(at), Some(plain.remove(at)));
        }
        for v in 0..(per * FANOUT + 7) as u64 {
            chunked.push(v);
            plain.push(v);
        }
        assert_eq!(chunked.len(), plain.len());
        for at in (0..plain.len()).step_by(per * 7 + 3) {
            assert_eq!(chunked.get(at), plain.get(at), "at {at}");
        }
        assert_eq!(chunked.to_vec(), plain);
        let probe = plain[piece + 17];
        assert_eq!(
            chunked.partition_point(|&v| v < probe && v < len as u64),
            plain.partition_point(|&v| v < probe && v < len as u64)
        );
        for _ in 0..(per * FANOUT * 2) {
            assert_eq!(chunked.pop(), plain.pop());
        }
        assert_eq!(chunked.to_vec(), plain);
        assert_eq!(original.to_vec(), (0..len as u64).collect::<Vec<_>>());
    }

    #[test]
    fn spans_several_nodes() {
        let per = chunk_len::<u64>() * FANOUT;
        let plain: Vec<u64> = (0..3 * per as u64 + 17).collect();
        let original = Chunked::from(plain.clone());
        assert_eq!(original.to_vec(), plain);
        for at in [0, per - 1, per, 2 * per + 5, plain.len() - 1] {
            let mut copy = original.clone();
            let mut expected = plain.clone();
            copy[at] = u64::MAX;
            expected[at] = u64::MAX;
            assert_eq!(copy.to_vec(), expected);
            let leaves = plain.len().div_ceil(chunk_len::<u64>());
            assert_eq!(copy.shared_chunks(&original), leaves - 1);
            assert_eq!(copy.remove(at), Some(u64::MAX));
            expected.remove(at);
            assert_eq!(copy.to_vec(), expected);
            assert_eq!(copy.len(), expected.len());
            assert_eq!(copy.iter().next_back(), expected.last());
        }
        let mut shrinking = Chunked::from(plain.clone());
        let mut expected = plain;
        while let Some(v) = expected.pop() {
            assert_eq!(shrinking.pop(), Some(v));
            assert_eq!(shrinking.len(), expected.len());
        }
        assert_eq!(shrinking.pop(), None);
        shrinking.push(4);
        assert_eq!(shrinking.to_vec(), vec![4]);
    }
}
