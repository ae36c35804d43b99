//! [`RowSet`]: a borrowed member set of the indexes, read without joining its blocks.
//!
//! Group and team members (direct and transitive), own-role holders and the users in a project
//! are kept copy-on-write per block of 65,536 rows once they are large ([`BlockBitmap`]): a
//! membership flips one user's bit in up to ~45 such sets, and a copy of each whole set per
//! change (up to 300k members, 16 containers at 1M users) made the slowest memberships. A large
//! set is therefore no single `RoaringBitmap` a reader could borrow; this view answers what the
//! readers ask (size, membership, intersections and differences with a running result) block by
//! block, and borrows the bitmap when the set is small and kept whole. Joining the blocks into
//! one bitmap ([`RowSet::to_bitmap`]) costs what cloning the set did.

use roaring::RoaringBitmap;

use super::block_bitmap::BlockBitmap;
use crate::model::Row;

/// A member set borrowed from the indexes (see the module docs). Copying it copies a pointer.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowSet<'a> {
    /// `None`: the set of an entity the indexes do not know (empty, the default).
    set: Option<&'a BlockBitmap>,
}

impl<'a> RowSet<'a> {
    /// A view of `set`.
    pub(crate) fn of(set: &'a BlockBitmap) -> Self {
        RowSet { set: Some(set) }
    }

    /// Rows held (a sum over the blocks: no bitmap is built).
    pub fn len(self) -> u64 {
        self.set.map_or(0, BlockBitmap::len)
    }

    /// Whether no row is held.
    pub fn is_empty(self) -> bool {
        self.set.is_none_or(BlockBitmap::is_empty)
    }

    /// Whether `row` is held (one lookup).
    pub fn contains(self, row: Row) -> bool {
        self.set.is_some_and(|set| set.contains(row))
    }

    /// The set as one borrowed bitmap when it is kept whole (a small set), `None` when it is
    /// kept in blocks or empty because unknown.
    pub fn as_bitmap(self) -> Option<&'a RoaringBitmap> {
        self.set.and_then(BlockBitmap::as_whole)
    }

    /// The rows as one bitmap of their own (a copy of every block).
    pub fn to_bitmap(self) -> RoaringBitmap {
        self.set.map(BlockBitmap::to_bitmap).unwrap_or_default()
    }

    /// The rows, ascending.
    pub fn iter(self) -> impl Iterator<Item = Row> + 'a {
        self.set.into_iter().flat_map(BlockBitmap::iter)
    }

    /// `self ∩ rows`, block by block (few rows of `rows` are looked up one by one).
    pub fn intersection(self, rows: &RoaringBitmap) -> RoaringBitmap {
        self.set
            .map(|set| set.intersection(rows))
            .unwrap_or_default()
    }

    /// `rows &= self`.
    pub fn and_into(self, rows: &mut RoaringBitmap) {
        match self.set {
            Some(set) => set.and_into(rows),
            None => rows.clear(),
        }
    }

    /// `rows -= self`, block by block.
    pub fn subtract_from(self, rows: &mut RoaringBitmap) {
        if let Some(set) = self.set {
            set.subtract_from(rows);
        }
    }

    /// `rows |= self`, block by block.
    pub fn or_into(self, rows: &mut RoaringBitmap) {
        if let Some(set) = self.set {
            set.or_into(rows);
        }
    }
}

impl PartialEq for RowSet<'_> {
    /// Same rows, however each side keeps them.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.to_bitmap() == other.to_bitmap()
    }
}
