//! [`Rows`]: what an executor node produced — a bitmap, or a member set the indexes keep in
//! blocks.
//!
//! Large group and team member sets, own-role holders and the users in a project are kept by
//! the indexes copy-on-write per 65,536-row block ([`RowSet`]) so that a membership copies one
//! block, not the set. Joining the blocks into one bitmap on every lookup would copy the set
//! per query instead; a node's rows stay a borrowed [`RowSet`] until they meet the running
//! result, which they then intersect or are subtracted from block by block. They become a
//! bitmap of their own only when they are the running result (which the `And` copies anyway
//! before changing it) or the answer.

use std::borrow::Cow;

use roaring::RoaringBitmap;
use userql_directory::index::RowSet;

/// A node's rows (see the module docs).
pub(crate) enum Rows<'a> {
    /// A bitmap, borrowed from the indexes or built.
    Bitmap(Cow<'a, RoaringBitmap>),
    /// A member set kept in blocks, borrowed.
    Blocks(RowSet<'a>),
}

impl<'a> From<RowSet<'a>> for Rows<'a> {
    /// A set kept whole is borrowed as a bitmap (nothing changes for small sets).
    fn from(set: RowSet<'a>) -> Self {
        match set.as_bitmap() {
            Some(bitmap) => Rows::Bitmap(Cow::Borrowed(bitmap)),
            None => Rows::Blocks(set),
        }
    }
}

impl<'a> Rows<'a> {
    /// Rows held.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Rows::Bitmap(rows) => rows.len(),
            Rows::Blocks(set) => set.len(),
        }
    }

    /// The rows as a bitmap (the blocks joined when kept in blocks).
    pub(crate) fn into_bitmap(self) -> Cow<'a, RoaringBitmap> {
        match self {
            Rows::Bitmap(rows) => rows,
            Rows::Blocks(set) => Cow::Owned(set.to_bitmap()),
        }
    }

    /// `acc &= self`.
    pub(crate) fn and_into(&self, acc: &mut RoaringBitmap) {
        match self {
            Rows::Bitmap(rows) => *acc &= rows.as_ref(),
            Rows::Blocks(set) => set.and_into(acc),
        }
    }

    /// `acc -= self`.
    pub(crate) fn subtract_from(&self, acc: &mut RoaringBitmap) {
        match self {
            Rows::Bitmap(rows) => *acc -= rows.as_ref(),
            Rows::Blocks(set) => set.subtract_from(acc),
        }
    }

    /// `self ∩ within`, as a bitmap of its own.
    pub(crate) fn and(&self, within: &RoaringBitmap) -> RoaringBitmap {
        match self {
            Rows::Bitmap(rows) => rows.as_ref() & within,
            Rows::Blocks(set) => set.intersection(within),
        }
    }

    /// `all − self`.
    pub(crate) fn complement_in(&self, all: &RoaringBitmap) -> RoaringBitmap {
        match self {
            Rows::Bitmap(rows) => all - rows.as_ref(),
            Rows::Blocks(set) => {
                let mut rest = all.clone();
                set.subtract_from(&mut rest);
                rest
            }
        }
    }
}
