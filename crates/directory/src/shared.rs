//! [`Chunked`]: a vector that snapshots share, so an update does not copy the world.
//!
//! Elements live in fixed-size chunks behind `Arc`s. Cloning the vector clones one `Arc` per
//! chunk (a million users: about a thousand pointer copies), and writing an element copies only
//! its chunk, the first time after a clone (`Arc::make_mut`). Every snapshot of the directory owns
//! a `Chunked` of users and of grants; a single-user update therefore costs one chunk copy plus
//! the pointer copies, whatever the directory's size. Reads are an index split and two loads.

use std::fmt;
use std::ops::{Index, IndexMut};
use std::sync::Arc;

/// Bytes of inline elements per chunk. Copying a chunk (on the first write after a clone) costs
/// about its size; cloning the vector costs one pointer copy per chunk. 64 KiB balances the two:
/// ~100 users (each a few hundred bytes plus its own allocations) or ~4,000 grants per chunk, so a
/// million users and five million grants clone as ~11,000 pointer copies and a single-user
/// update copies ~100 user records.
const CHUNK_BYTES: usize = 64 * 1024;

/// Elements per chunk for `T` (at least 64, at most 8,192).
pub const fn chunk_len<T>() -> usize {
    let size = std::mem::size_of::<T>();
    if size == 0 {
        return 8192;
    }
    let n = CHUNK_BYTES / size;
    if n < 64 {
        64
    } else if n > 8192 {
        8192
    } else {
        n
    }
}

/// A vector of `T` in shared, copy-on-write chunks.
#[derive(Clone)]
pub struct Chunked<T> {
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Clone> Chunked<T> {
    /// An empty vector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The element at `i`.
    pub fn get(&self, i: usize) -> Option<&T> {
        if i >= self.len {
            return None;
        }
        self.chunks
            .get(i / chunk_len::<T>())
            .and_then(|c| c.get(i % chunk_len::<T>()))
    }

    /// The element at `i`, for writing: copies its chunk if another snapshot shares it.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i >= self.len {
            return None;
        }
        self.chunks
            .get_mut(i / chunk_len::<T>())
            .and_then(|c| Arc::make_mut(c).get_mut(i % chunk_len::<T>()))
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
        self.chunks.clear();
        self.len = 0;
    }

    /// Appends an element.
    pub fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < chunk_len::<T>() => Arc::make_mut(chunk).push(value),
            _ => {
                let mut chunk = Vec::with_capacity(chunk_len::<T>());
                chunk.push(value);
                self.chunks.push(Arc::new(chunk));
            }
        }
        self.len += 1;
    }

    /// Removes the element at `i`, shifting the rest: the chunks before `i`'s stay shared, the
    /// ones from it on are copied once and shifted by one (O(n − i), chunk-wise memory moves;
    /// every chunk but the last stays full, so indexing stays a division).
    pub fn remove(&mut self, i: usize) -> Option<T> {
        if i >= self.len {
            return None;
        }
        let per = chunk_len::<T>();
        let first = i / per;
        let removed = Arc::make_mut(&mut self.chunks[first]).remove(i % per);
        for c in first + 1..self.chunks.len() {
            let head = Arc::make_mut(&mut self.chunks[c]).remove(0);
            Arc::make_mut(&mut self.chunks[c - 1]).push(head);
        }
        if self.chunks.last().is_some_and(|c| c.is_empty()) {
            self.chunks.pop();
        }
        self.len -= 1;
        Some(removed)
    }

    /// Keeps the elements for which `keep` holds (O(n): rebuilds the chunks).
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

    /// Reserves room for `additional` more elements' chunk pointers.
    pub fn reserve(&mut self, additional: usize) {
        self.chunks.reserve(additional.div_ceil(chunk_len::<T>()));
    }

    /// The position of the first element for which `found` holds.
    pub fn position(&self, found: impl FnMut(&T) -> bool) -> Option<usize> {
        self.iter().position(found)
    }

    /// Every element in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + Clone + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// Every element in order, for writing (copies every shared chunk).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.chunks
            .iter_mut()
            .flat_map(|c| Arc::make_mut(c).iter_mut())
    }

    /// A plain vector copy.
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().cloned().collect()
    }

    /// How many chunks this vector shares with `other` (same allocation): for tests and stats.
    pub fn shared_chunks(&self, other: &Chunked<T>) -> usize {
        self.chunks
            .iter()
            .zip(&other.chunks)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count()
    }
}

impl<T: Clone> From<Vec<T>> for Chunked<T> {
    fn from(items: Vec<T>) -> Self {
        items.into_iter().collect()
    }
}

impl<T: Clone> FromIterator<T> for Chunked<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut out = Chunked::new();
        for item in iter {
            out.push(item);
        }
        out
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
    fn remove_shifts_like_a_vector_and_keeps_earlier_chunks_shared() {
        let chunk = chunk_len::<u64>();
        let original: Chunked<u64> = (0..5 * chunk as u64 + 3).collect();
        for at in [0, chunk - 1, chunk, 3 * chunk + 7, 5 * chunk + 2] {
            let mut copy = original.clone();
            let mut plain = original.to_vec();
            assert_eq!(copy.remove(at), Some(plain.remove(at)));
            assert_eq!(copy.to_vec(), plain);
            assert_eq!(copy.len(), plain.len());
            assert_eq!(copy.shared_chunks(&original), at / chunk);
            copy.push(9);
            plain.push(9);
            assert_eq!(copy.to_vec(), plain);
        }
        let mut copy = original.clone();
        assert_eq!(copy.remove(copy.len()), None);
    }
}
