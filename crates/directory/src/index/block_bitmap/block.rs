//! [`Block`]: one block of a set kept in blocks, written one row at a time without copying
//! its container while a reader shares it.
//!
//! A membership flips one user's bit in ~25 dense sets (a role's holders, the any-role union,
//! a group chain's transitive members, ...), and copying a dense block on write copies an
//! 8 KB bitmap container per set: at 1M users, a batch of 1,000 changes copied ~4,300 blocks
//! (17.6 MB, 12.6 MB of it dense containers), which with their allocation, page faults and
//! later frees was about half of the batch's time (perf, benches/RESULTS.md `patch13`).
//!
//! A block whose container is shared and large therefore takes a one-row write as a *patch*:
//! the rows toggled against the shared container, sorted, in a small list of their own. A
//! lookup consults both (two binary searches); a reader that needs the block as a bitmap makes
//! the patched container once per patch and keeps it beside the patch (shared by every reader
//! of that version). The next write of the block then takes that made container as its base
//! (a pointer copy), so a block read between writes is never copied by the writer at all.
//! Past [`MAX_TOGGLED`] rows the writer folds the patch into a new container itself.

use std::sync::{Arc, OnceLock};

use roaring::RoaringBitmap;

use crate::model::Row;

/// Rows from which a shared container takes a one-row write as a patch rather than a copy:
/// below, the container is an array of at most this many two-byte values, about what a patch
/// of a few rows costs anyway.
const PATCH_FROM: u64 = 512;

/// Rows a patch holds at most: past them the writer folds it into a new container (one copy
/// per this many writes of a block nobody read), so a lookup stays a binary search over a
/// list of a cache line or four.
pub(super) const MAX_TOGGLED: usize = 64;

/// A block of a set kept in blocks: its shared container, and the rows toggled since the
/// container was made, if any (see the module doc). Cloning copies two pointers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Block {
    base: Arc<RoaringBitmap>,
    patch: Option<Arc<Patch>>,
}

/// The rows a block toggles against its container.
#[derive(Debug)]
struct Patch {
    /// Rows whose presence differs from the container's, ascending.
    toggled: Vec<Row>,
    /// Rows the patched block holds.
    len: u64,
    /// The container with the toggles applied, made by the first reader that needs it.
    rows: OnceLock<Arc<RoaringBitmap>>,
}

impl Clone for Patch {
    fn clone(&self) -> Self {
        Patch {
            toggled: self.toggled.clone(),
            len: self.len,
            // Still the same rows: a copy about to be written drops it anyway.
            rows: self.rows.clone(),
        }
    }
}

impl From<RoaringBitmap> for Block {
    fn from(rows: RoaringBitmap) -> Self {
        Block::from(Arc::new(rows))
    }
}

impl From<Arc<RoaringBitmap>> for Block {
    fn from(base: Arc<RoaringBitmap>) -> Self {
        Block { base, patch: None }
    }
}

impl PartialEq for Block {
    fn eq(&self, other: &Self) -> bool {
        self.rows() == other.rows()
    }
}

impl Block {
    /// Rows held.
    pub(super) fn len(&self) -> u64 {
        self.patch
            .as_ref()
            .map_or(self.base.len(), |patch| patch.len)
    }

    /// Whether no row is held.
    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `row` is held: the container's answer, unless the patch toggles the row.
    pub(super) fn contains(&self, row: Row) -> bool {
        let toggled = self
            .patch
            .as_ref()
            .is_some_and(|patch| patch.toggled.binary_search(&row).is_ok());
        self.base.contains(row) != toggled
    }

    /// The rows as one container: the base, or the patched container (made once per patch,
    /// by the first caller, and shared by every later one).
    pub(super) fn rows(&self) -> &RoaringBitmap {
        match &self.patch {
            None => &self.base,
            Some(patch) => patch
                .rows
                .get_or_init(|| Arc::new(patched(&self.base, patch))),
        }
    }

    /// Whether this block and `other` share their container and patch (no copy was made).
    #[cfg(test)]
    pub(super) fn ptr_eq(&self, other: &Block) -> bool {
        let patches = match (&self.patch, &other.patch) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        Arc::ptr_eq(&self.base, &other.base) && patches
    }

    /// Whether the block holds a patch (for tests of the write path).
    #[cfg(test)]
    pub(super) fn is_patched(&self) -> bool {
        self.patch.is_some()
    }

    /// Adds (`on`) or removes `row`, which must differ from what the block holds: in the
    /// container when nobody shares it or it is small, else in the patch (see the module doc).
    pub(super) fn toggle(&mut self, row: Row, on: bool) {
        if let Some(made) = self.patch.as_ref().and_then(|patch| patch.rows.get()) {
            // A reader made the patched container: it becomes the base.
            self.base = Arc::clone(made);
            self.patch = None;
        }
        if self.patch.is_none() {
            let in_place = Arc::get_mut(&mut self.base).is_some();
            if in_place || self.base.len() < PATCH_FROM {
                set_row(Arc::make_mut(&mut self.base), row, on);
                return;
            }
        }
        let len = self.len();
        let patch = Arc::make_mut(self.patch.get_or_insert_with(|| {
            Arc::new(Patch {
                toggled: Vec::new(),
                len,
                rows: OnceLock::new(),
            })
        }));
        patch.rows = OnceLock::new();
        match patch.toggled.binary_search(&row) {
            Ok(at) => {
                patch.toggled.remove(at);
            }
            Err(at) => patch.toggled.insert(at, row),
        }
        patch.len = if on { len + 1 } else { len - 1 };
        if patch.toggled.len() > MAX_TOGGLED {
            let rows = self.rows_mut();
            debug_assert_eq!(rows.contains(row), on);
        }
    }

    /// The rows as one container to write (the patch folded in, the container copied when
    /// shared): for writes of many rows, which copy the block anyway.
    pub(super) fn rows_mut(&mut self) -> &mut RoaringBitmap {
        if let Some(patch) = self.patch.take() {
            self.base = match patch.rows.get() {
                Some(made) => Arc::clone(made),
                None => Arc::new(patched(&self.base, &patch)),
            };
        }
        Arc::make_mut(&mut self.base)
    }

    /// Approximate heap bytes: the container's serialized size, the patch's list and the
    /// patched container when one was made.
    pub(super) fn heap_bytes(&self, bytes: impl Fn(&RoaringBitmap) -> u64) -> u64 {
        let patch = self.patch.as_ref().map_or(0, |patch| {
            let list = (patch.toggled.capacity() * std::mem::size_of::<Row>()) as u64;
            let made = patch.rows.get().map_or(0, |rows| 16 + 24 + bytes(rows));
            16 + 24 + 8 + 8 + list + made
        });
        16 + 24 + bytes(&self.base) + patch
    }
}

/// `base` with `patch`'s rows toggled.
fn patched(base: &RoaringBitmap, patch: &Patch) -> RoaringBitmap {
    let mut rows = base.clone();
    for &row in &patch.toggled {
        if !rows.remove(row) {
            rows.insert(row);
        }
    }
    rows
}

/// Adds or removes `row`.
fn set_row(rows: &mut RoaringBitmap, row: Row, on: bool) {
    if on {
        rows.insert(row);
    } else {
        rows.remove(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Single-row writes with readers keeping versions, some of which read the block as a
        /// bitmap: every version answers as a plain bitmap would.
        #[test]
        fn patched_blocks_agree_with_a_plain_bitmap(
            dense in 0..3u32,
            writes in prop::collection::vec((0..70_000u32, any::<bool>(), 0..4u8), 0..300),
        ) {
            // Empty, sparse (an array below the patch size) or dense.
            let start: RoaringBitmap = match dense {
                0 => RoaringBitmap::new(),
                1 => (0..65_536u32).step_by(300).collect(),
                _ => (0..65_536u32).step_by(3).collect(),
            };
            let mut plain = start.clone();
            let mut block = Block::from(start.clone());
            let mut versions = vec![(block.clone(), plain.clone())];
            for (row, on, reader) in writes {
                let row = row % 65_536;
                if block.contains(row) != on {
                    block.toggle(row, on);
                }
                if on { plain.insert(row); } else { plain.remove(row); }
                prop_assert_eq!(block.contains(row), on);
                prop_assert_eq!(block.len(), plain.len());
                match reader {
                    // A reader keeps this version.
                    0 => versions.push((block.clone(), plain.clone())),
                    // A reader keeps it and reads it as a bitmap (the made container then
                    // becomes the next write's base).
                    1 => {
                        prop_assert_eq!(block.rows(), &plain);
                        versions.push((block.clone(), plain.clone()));
                    }
                    _ => {}
                }
            }
            prop_assert_eq!(block.rows(), &plain);
            prop_assert_eq!(block.rows_mut(), &mut plain.clone());
            for (version, rows) in versions {
                prop_assert_eq!(version.len(), rows.len());
                prop_assert_eq!(version.rows(), &rows);
                for row in (0..65_536u32).step_by(97) {
                    prop_assert_eq!(version.contains(row), rows.contains(row));
                }
            }
        }
    }

    #[test]
    fn a_shared_dense_block_takes_a_write_as_a_patch_and_folds_it_later() {
        let dense: RoaringBitmap = (0..65_536u32).step_by(2).collect();
        let mut block = Block::from(dense.clone());
        let reader = block.clone();
        block.toggle(1, true);
        assert!(block.is_patched(), "the shared container is not copied");
        assert!(Arc::ptr_eq(&block.base, &reader.base));
        assert!(!reader.contains(1) && block.contains(1));
        // Up to the limit the container stays shared; past it the patch is folded.
        for row in (3..).step_by(2).take(MAX_TOGGLED - 1) {
            block.toggle(row, true);
        }
        assert!(block.is_patched());
        block.toggle(0, false);
        assert!(!block.is_patched(), "folded past the limit");
        assert!(!Arc::ptr_eq(&block.base, &reader.base));
        assert_eq!(block.len(), dense.len() + MAX_TOGGLED as u64 - 1);
        assert_eq!(reader.rows(), &dense, "the reader's version is untouched");
    }

    #[test]
    fn a_patch_a_reader_made_becomes_the_next_base() {
        let dense: RoaringBitmap = (0..65_536u32).step_by(2).collect();
        let mut block = Block::from(dense);
        let _first = block.clone();
        block.toggle(1, true);
        let reader = block.clone();
        let made: *const RoaringBitmap = reader.rows();
        block.toggle(3, true);
        assert!(std::ptr::eq(&*block.base, made), "taken, not copied");
        assert!(block.contains(1) && block.contains(3) && !reader.contains(3));
    }

    #[test]
    fn a_small_or_unshared_container_is_written_in_place() {
        let mut sparse = Block::from((0..65_536u32).step_by(1_000).collect::<RoaringBitmap>());
        let _reader = sparse.clone();
        sparse.toggle(1, true);
        assert!(!sparse.is_patched(), "below the patch size: copied");
        let mut dense = Block::from((0..65_536u32).step_by(2).collect::<RoaringBitmap>());
        dense.toggle(1, true);
        assert!(!dense.is_patched(), "nobody shares it: written in place");
        assert!(dense.contains(1));
    }
}
