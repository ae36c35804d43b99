//! [`BlockBitmap`]: a row set copied on write per block of 65,536 rows once it is large.
//!
//! Live changes write a handful of rows into the access index's holder sets (and, for a
//! membership, into the structure's group and team member sets, the own-role holders and the
//! users in a project: read through [`super::RowSet`]) while readers keep the previous version. With one `Arc<RoaringBitmap>` per set, the copy-on-write grain is the
//! whole set: up to 16 containers of 8 KB at 1M users copied (and later freed) for a one-row
//! change, per set written — a membership writes a role's union, the any-role union and the
//! organization and project sets of every grant of the groups it joins or leaves. A large set
//! here keeps each block of 65,536 rows — exactly one roaring container — behind its own `Arc`,
//! so a one-row change copies one container (≤ 8 KB) and a table of 16 block pointers.
//!
//! Most holder sets are small (tens of thousands of per-project sets of a few hundred rows at
//! 1M users), and a block costs ~90 bytes more than a container of a whole set (its `Arc`, its
//! bitmap's container list, its pointer in the table). A set is therefore kept whole unless it
//! is larger than [`SPLIT_BYTES`], or (when built) spread over [`SPLIT_SPAN`] blocks or more
//! with more than [`FEW_ROWS`] rows: copying such a set whole is one allocation per container
//! for a one-row write, and a membership writes ~50 of them (`cow13` in benches/RESULTS.md:
//! about a fifth less per membership at 1M users, for +16.5 MiB of index heap). A whole set written past
//! [`SPLIT_BYTES`] is cut then (never joined again); one written to span more blocks is not:
//! cutting on a write costs more than the copies it saves (`mship11`).
//!
//! Reads that need a plain bitmap ([`BlockBitmap::or_into`]) append the blocks' containers in
//! key order, which is what a clone of the whole bitmap costs anyway.

use std::cell::OnceCell;
use std::ops::Deref;
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::column::bitmap_bytes;
use super::union::union_of;
use crate::model::Row;
use block::Block;

mod block;

/// Rows per block: one roaring container.
const BLOCK_BITS: u32 = 16;

/// Serialized bytes past which a set is kept in blocks: copying up to this much per change is
/// cheaper than the block table (two 8 KB containers).
const SPLIT_BYTES: u64 = 16 * 1024;

/// Rows up to which a change is made row by row: a membership or a grant to a user changes
/// one row, and roaring's set operations on an array container are linear in the container
/// (a one-row union builds a new array of up to 4,096 values, a subset test walks it), where a
/// lookup is a binary search. Those walks were a third of a membership change's instructions at
/// 1M users (callgrind, benches/RESULTS.md `member9`).
pub(crate) const FEW_ROWS: u64 = 64;

/// Blocks spanned from which a built set of more than [`FEW_ROWS`] rows is kept in blocks,
/// however few bytes it takes: a one-row write to a whole set copies every container of it (a group's thousand members at 1M users
/// span all sixteen blocks: sixteen allocations and copies, and as many frees later, for each
/// of the ~50 sets a membership writes), to a set in blocks the table of pointers and one
/// block (`cow13`). Cut when built, never on a write: cutting on the first write cost more
/// than the copies it saved (`mship11`).
const SPLIT_SPAN: usize = 4;

/// Whether a built set is kept in blocks: more than [`SPLIT_BYTES`], or more than
/// [`FEW_ROWS`] rows spread over [`SPLIT_SPAN`] blocks or more.
fn kept_in_blocks(rows: &RoaringBitmap) -> bool {
    let span = match (rows.min(), rows.max()) {
        (Some(min), Some(max)) => block_of(max) - block_of(min) + 1,
        _ => 0,
    };
    bitmap_bytes(rows) > SPLIT_BYTES || (span >= SPLIT_SPAN && rows.len() > FEW_ROWS)
}

/// The block of `row`.
fn block_of(row: Row) -> usize {
    (row >> BLOCK_BITS) as usize
}

/// The part of `rows` in `block` (one container at most).
fn piece(rows: &RoaringBitmap, block: usize) -> RoaringBitmap {
    let start = (block as u64) << BLOCK_BITS;
    let end = start + (1u64 << BLOCK_BITS);
    let mut mask = RoaringBitmap::new();
    // Within u32: blocks come from `block_of` of a `u32`.
    mask.insert_range(start as u32..=(end - 1) as u32);
    rows & &mask
}

/// Rows up to which [`pieces`] pushes them one by one into their blocks: pushing is a few
/// nanoseconds a row, an intersection with a block's mask builds and zeroes an 8 KiB container.
const PUSHED_ROWS: u64 = 2048;

/// The non-empty blocks of `rows`, each with its rows (up to [`PUSHED_ROWS`] pushed one by
/// one, more cut with one intersection per block they span).
fn pieces(rows: &RoaringBitmap) -> Vec<(usize, RoaringBitmap)> {
    let (Some(min), Some(max)) = (rows.min(), rows.max()) else {
        return Vec::new();
    };
    let (first, last) = (block_of(min), block_of(max));
    if first == last {
        return vec![(first, rows.clone())];
    }
    if rows.len() <= PUSHED_ROWS {
        let mut out: Vec<(usize, RoaringBitmap)> = Vec::new();
        for row in rows {
            let block = block_of(row);
            match out.last_mut() {
                Some((b, set)) if *b == block => {
                    set.push(row);
                }
                _ => out.push((block, RoaringBitmap::from_iter([row]))),
            }
        }
        return out;
    }
    (first..=last)
        .map(|block| (block, piece(rows, block)))
        .filter(|(_, set)| !set.is_empty())
        .collect()
}

/// Rows written into (or looked up in) several sets, cut into their blocks at most once.
///
/// A grant to a group ORs its members into five or six holder sets (the role at its scope,
/// the role's union, the any-role scope and union, the own-role and "in a project" sets),
/// and each set kept in blocks asks for the rows block by block: cut per set, [`pieces`] was
/// half of a grant to a team's instructions at 200k users (callgrind, benches/RESULTS.md
/// `cut13`). Derefs to the rows, so the sets kept whole use them as they are.
pub(crate) struct Cut<'a> {
    rows: &'a RoaringBitmap,
    pieces: OnceCell<Vec<(usize, RoaringBitmap)>>,
}

impl<'a> Cut<'a> {
    /// `rows`, to be cut on first use by a set kept in blocks.
    pub(crate) fn new(rows: &'a RoaringBitmap) -> Cut<'a> {
        Cut {
            rows,
            pieces: OnceCell::new(),
        }
    }

    /// The non-empty blocks of the rows, each with its rows ([`pieces`], made once).
    fn pieces(&self) -> &[(usize, RoaringBitmap)] {
        self.pieces.get_or_init(|| pieces(self.rows))
    }
}

impl Deref for Cut<'_> {
    type Target = RoaringBitmap;

    fn deref(&self) -> &RoaringBitmap {
        self.rows
    }
}

/// A table of shared blocks, itself shared (see [`BlockBitmap::Blocks`]).
type Table = Arc<Vec<Option<Block>>>;

/// Block `block` of a table, if it has one.
fn block_at(blocks: &[Option<Block>], block: usize) -> Option<&Block> {
    blocks.get(block).and_then(Option::as_ref)
}

/// The rows of block `block` of a table as one container, if it has the block.
fn block_holding_at(blocks: &[Option<Block>], block: usize) -> Option<&RoaringBitmap> {
    block_at(blocks, block).map(Block::rows)
}

/// Cuts `rows` into a table of shared blocks.
fn split(rows: &RoaringBitmap) -> Table {
    let mut blocks: Vec<Option<Block>> = Vec::new();
    for (block, set) in pieces(rows) {
        if blocks.len() <= block {
            blocks.resize(block + 1, None);
        }
        blocks[block] = Some(Block::from(set));
    }
    Arc::new(blocks)
}

/// Block `block` of a table for writing (the table's pointers copied when shared), created
/// empty if missing.
fn block_mut(table: &mut Table, block: usize) -> &mut Block {
    let blocks = Arc::make_mut(table);
    if blocks.len() <= block {
        blocks.resize(block + 1, None);
    }
    blocks[block].get_or_insert_with(Block::default)
}

/// The union of several sets: the whole ones in one multi-way union, the blocked ones OR-ed in.
pub(crate) fn union_all<'a>(sets: impl Iterator<Item = &'a BlockBitmap>) -> RoaringBitmap {
    let mut blocked = Vec::new();
    let mut whole = Vec::new();
    for set in sets {
        match set.as_whole() {
            Some(set) => whole.push(set),
            None => blocked.push(set),
        }
    }
    let mut rows = union_of(whole);
    for set in blocked {
        set.or_into(&mut rows);
    }
    rows
}

/// Adds `rows` to a shared bitmap, copying it only when it gains a row (one still shared that
/// already holds them all stays shared); returns whether it may have grown. Few rows go in one
/// by one: a set operation walks the whole array container (see [`FEW_ROWS`]).
fn or_shared(set: &mut Arc<RoaringBitmap>, rows: &RoaringBitmap) -> bool {
    if rows.len() <= FEW_ROWS {
        let mut grew = false;
        for row in rows {
            if !set.contains(row) {
                Arc::make_mut(set).insert(row);
                grew = true;
            }
        }
        grew
    } else if let Some(set) = Arc::get_mut(set) {
        *set |= rows;
        true
    } else if !rows.is_subset(set) {
        *Arc::make_mut(set) |= rows;
        true
    } else {
        false
    }
}

/// Removes `rows` from a shared bitmap, copying it only when one of them is there (few rows
/// one by one, as [`or_shared`] adds them).
fn remove_shared(set: &mut Arc<RoaringBitmap>, rows: &RoaringBitmap) {
    if rows.len() <= FEW_ROWS {
        for row in rows {
            if set.contains(row) {
                Arc::make_mut(set).remove(row);
            }
        }
    } else if !set.is_disjoint(rows) {
        *Arc::make_mut(set) -= rows;
    }
}

/// The union of several sets as a set of its own, made block by block when one of them is kept
/// in blocks (for builds: the any-role and any-scope unions of the access index). Such a union
/// is large too (a superset never serializes smaller), so it is kept in blocks, and each of its
/// blocks is one multi-way union of the sets' blocks, instead of OR-ing every set into one
/// bitmap and then cutting that into blocks. Equal (blocks included) to
/// `BlockBitmap::from(union_all(sets))`.
pub(crate) fn union_blocked<'a>(sets: impl Iterator<Item = &'a BlockBitmap>) -> BlockBitmap {
    let mut sets = sets.filter(|set| !set.is_empty()).peekable();
    let first = sets.next();
    if sets.peek().is_none() {
        // One set (most of a delta level's): shared when it is whole and small, as the
        // union would have made it.
        match first {
            None => return BlockBitmap::default(),
            Some(set @ BlockBitmap::Whole(rows)) if !kept_in_blocks(rows) => {
                return set.clone();
            }
            Some(_) => {}
        }
    }
    let mut blocked: Vec<&[Option<Block>]> = Vec::new();
    let mut whole = Vec::new();
    for set in first.into_iter().chain(sets) {
        match set {
            BlockBitmap::Whole(set) => whole.push(&**set),
            BlockBitmap::Blocks(blocks) => blocked.push(blocks.as_slice()),
        }
    }
    let whole = union_of(whole);
    if blocked.is_empty() {
        return BlockBitmap::from(whole);
    }
    let whole = pieces(&whole);
    let len = blocked
        .iter()
        .map(|blocks| blocks.len())
        .chain(whole.last().map(|&(block, _)| block + 1))
        .max()
        .unwrap_or(0);
    let mut whole = whole.into_iter().peekable();
    let mut blocks: Vec<Option<Block>> = Vec::with_capacity(len);
    for block in 0..len {
        let mut parts: Vec<&RoaringBitmap> = blocked
            .iter()
            .filter_map(|blocks| block_holding_at(blocks, block))
            .collect();
        let piece = whole
            .next_if(|(at, _)| *at == block)
            .map(|(_, piece)| piece);
        parts.extend(piece.as_ref());
        let union = union_of(parts);
        blocks.push((!union.is_empty()).then(|| Block::from(union)));
    }
    while blocks.last().is_some_and(Option::is_none) {
        blocks.pop();
    }
    BlockBitmap::Blocks(Arc::new(blocks))
}

/// A row set in shared copy-on-write storage (see the module docs). Cloning copies one pointer.
#[derive(Debug, Clone)]
pub(crate) enum BlockBitmap {
    /// A small set: one shared bitmap.
    Whole(Arc<RoaringBitmap>),
    /// A large set: `blocks[k]` holds the rows of `k * 65,536 .. (k + 1) * 65,536`, `None`
    /// when there is none. The table is shared too, so cloning a set is one reference count
    /// whatever its size: the access index keeps its per-scope sets in copy-on-write leaves of
    /// sixteen, and with the table inline a write of one set copied the tables (an allocation
    /// and up to sixteen reference counts each) of the fifteen others of its leaf — a third of
    /// a membership change's time in the holder updates (perf, benches/RESULTS.md `member9`).
    /// A write copies the table (sixteen pointers at 1M users) and the one block it changes.
    Blocks(Table),
}

impl Default for BlockBitmap {
    fn default() -> Self {
        BlockBitmap::Whole(Arc::default())
    }
}

impl PartialEq for BlockBitmap {
    fn eq(&self, other: &Self) -> bool {
        self.to_bitmap() == other.to_bitmap()
    }
}

impl From<RoaringBitmap> for BlockBitmap {
    fn from(rows: RoaringBitmap) -> Self {
        if kept_in_blocks(&rows) {
            BlockBitmap::Blocks(split(&rows))
        } else {
            BlockBitmap::Whole(Arc::new(rows))
        }
    }
}

impl BlockBitmap {
    /// Rows held.
    pub(crate) fn len(&self) -> u64 {
        match self {
            BlockBitmap::Whole(set) => set.len(),
            BlockBitmap::Blocks(blocks) => blocks.iter().flatten().map(|set| set.len()).sum(),
        }
    }

    /// Whether no row is held.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            BlockBitmap::Whole(set) => set.is_empty(),
            BlockBitmap::Blocks(blocks) => blocks.iter().flatten().all(|set| set.is_empty()),
        }
    }

    /// Whether `row` is held (one lookup in the bitmap holding its block, and in its patch).
    pub(crate) fn contains(&self, row: Row) -> bool {
        match self {
            BlockBitmap::Whole(set) => set.contains(row),
            BlockBitmap::Blocks(blocks) => {
                block_at(blocks, block_of(row)).is_some_and(|block| block.contains(row))
            }
        }
    }

    /// The bitmaps the rows are kept in, in row order: the whole set, or its blocks (each
    /// one roaring container). Their union is the set; they share no row.
    pub(crate) fn parts(&self) -> impl Iterator<Item = &RoaringBitmap> + '_ {
        let (whole, blocks) = match self {
            BlockBitmap::Whole(set) => (Some(&**set), None),
            BlockBitmap::Blocks(blocks) => (None, Some(blocks.iter().flatten().map(Block::rows))),
        };
        whole.into_iter().chain(blocks.into_iter().flatten())
    }

    /// The rows, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Row> + '_ {
        self.parts().flat_map(|set| set.iter())
    }

    /// The set as one bitmap when it is kept whole.
    pub(crate) fn as_whole(&self) -> Option<&RoaringBitmap> {
        match self {
            BlockBitmap::Whole(set) => Some(set),
            BlockBitmap::Blocks(_) => None,
        }
    }

    /// Adds `rows` while building: the set stays whole (no size check per union) until
    /// [`Self::seal`].
    pub(crate) fn build_union(&mut self, rows: &RoaringBitmap) {
        match self {
            BlockBitmap::Whole(set) => *Arc::make_mut(set) |= rows,
            BlockBitmap::Blocks(_) => self.union_with(&Cut::new(rows)),
        }
    }

    /// Ends a build: a set larger than [`SPLIT_BYTES`], or spread over [`SPLIT_SPAN`] blocks or
    /// more, is cut into blocks ([`kept_in_blocks`]).
    pub(crate) fn seal(&mut self) {
        if let BlockBitmap::Whole(set) = self {
            if kept_in_blocks(set) {
                *self = BlockBitmap::Blocks(split(set));
            }
        }
    }

    /// A whole set grown past [`SPLIT_BYTES`] is cut into blocks.
    fn split_if_large(&mut self) {
        if let BlockBitmap::Whole(set) = self {
            if bitmap_bytes(set) > SPLIT_BYTES {
                *self = BlockBitmap::Blocks(split(set));
            }
        }
    }

    /// Whether every row of `rows` is held (no copy, nothing built: a lookup per row when they
    /// are few, else a subset test per block they span, stopping at the first block that
    /// lacks one; counting the rows held in every block was a sixth of a grant to a team).
    pub(crate) fn holds_all(&self, rows: &Cut<'_>) -> bool {
        if rows.len() <= FEW_ROWS {
            return rows.iter().all(|row| self.contains(row));
        }
        match self {
            BlockBitmap::Whole(set) => rows.is_subset(set),
            BlockBitmap::Blocks(blocks) => rows.pieces().iter().all(|(block, piece)| {
                block_holding_at(blocks, *block).is_some_and(|set| piece.is_subset(set))
            }),
        }
    }

    /// Whether some row of `rows` is held (as [`Self::holds_all`], stopping at the first
    /// block that holds one).
    pub(crate) fn holds_any(&self, rows: &Cut<'_>) -> bool {
        if rows.len() <= FEW_ROWS {
            return rows.iter().any(|row| self.contains(row));
        }
        match self {
            BlockBitmap::Whole(set) => !rows.is_disjoint(set),
            BlockBitmap::Blocks(blocks) => rows.pieces().iter().any(|(block, piece)| {
                block_holding_at(blocks, *block).is_some_and(|set| !piece.is_disjoint(set))
            }),
        }
    }

    /// Adds (`on`) or removes `row`, copying only the bitmap holding it (the whole set when
    /// small, else its block and the block table) and only when it changes: a membership flips
    /// one user's bit in every member set of a group's chain. True when the set changed.
    pub(crate) fn set(&mut self, row: Row, on: bool) -> bool {
        if self.contains(row) == on {
            return false;
        }
        match self {
            BlockBitmap::Whole(set) => {
                let set = Arc::make_mut(set);
                if on {
                    set.insert(row);
                    self.split_if_large();
                } else {
                    set.remove(row);
                }
            }
            BlockBitmap::Blocks(blocks) => {
                let block = block_of(row);
                let set = block_mut(blocks, block);
                set.toggle(row, on);
                if !on && set.is_empty() {
                    Arc::make_mut(blocks)[block] = None;
                }
            }
        }
        true
    }

    /// Adds `rows`, copying only what gains one (the whole set when small, else its blocks).
    pub(crate) fn union_with(&mut self, rows: &Cut<'_>) {
        match self {
            BlockBitmap::Whole(set) => {
                if or_shared(set, rows) {
                    self.split_if_large();
                }
            }
            BlockBitmap::Blocks(_) if rows.len() <= FEW_ROWS => {
                // Row by row (see `FEW_ROWS`): a block is copied only when it gains one.
                for row in rows.iter() {
                    self.set(row, true);
                }
            }
            BlockBitmap::Blocks(blocks) => {
                for (block, add) in rows.pieces() {
                    // A block (and the table) is copied only when it gains a row.
                    let superset =
                        block_holding_at(blocks, *block).is_some_and(|set| add.is_subset(set));
                    if !superset {
                        *block_mut(blocks, *block).rows_mut() |= add;
                    }
                }
            }
        }
    }

    /// Removes `rows`, copying only what loses one.
    pub(crate) fn difference_with(&mut self, rows: &Cut<'_>) {
        match self {
            BlockBitmap::Whole(set) => remove_shared(set, rows),
            BlockBitmap::Blocks(_) if rows.len() <= FEW_ROWS => {
                // Row by row (see `FEW_ROWS`): a block is copied only when it loses one.
                for row in rows.iter() {
                    self.set(row, false);
                }
            }
            BlockBitmap::Blocks(blocks) => {
                for (block, remove) in rows.pieces() {
                    let hit = block_holding_at(blocks, *block)
                        .is_some_and(|set| !set.is_disjoint(remove));
                    if hit {
                        let set = block_mut(blocks, *block).rows_mut();
                        *set -= remove;
                        if set.is_empty() {
                            Arc::make_mut(blocks)[*block] = None;
                        }
                    }
                }
            }
        }
    }

    /// `target |= self`.
    pub(crate) fn or_into(&self, target: &mut RoaringBitmap) {
        match self {
            BlockBitmap::Whole(set) => *target |= &**set,
            BlockBitmap::Blocks(blocks) => {
                for block in blocks.iter().flatten() {
                    *target |= block.rows();
                }
            }
        }
    }

    /// `self ∩ rows`, without joining the blocks: each block is intersected with `rows` (one
    /// container against the container of `rows` with its key) and the pieces, which share no
    /// key, are appended. Few rows are looked up one by one (see [`FEW_ROWS`]).
    pub(crate) fn intersection(&self, rows: &RoaringBitmap) -> RoaringBitmap {
        if rows.len() <= FEW_ROWS {
            return rows.iter().filter(|&row| self.contains(row)).collect();
        }
        match self {
            BlockBitmap::Whole(set) => &**set & rows,
            BlockBitmap::Blocks(blocks) => {
                let mut out = RoaringBitmap::new();
                for block in blocks.iter().flatten() {
                    out |= block.rows() & rows;
                }
                out
            }
        }
    }

    /// `rows &= self` ([`Self::intersection`] when kept in blocks).
    pub(crate) fn and_into(&self, rows: &mut RoaringBitmap) {
        match self {
            BlockBitmap::Whole(set) => *rows &= &**set,
            BlockBitmap::Blocks(_) => *rows = self.intersection(rows),
        }
    }

    /// `rows -= self`.
    pub(crate) fn subtract_from(&self, rows: &mut RoaringBitmap) {
        match self {
            BlockBitmap::Whole(set) => *rows -= &**set,
            BlockBitmap::Blocks(blocks) => {
                for block in blocks.iter().flatten() {
                    if rows.is_empty() {
                        return;
                    }
                    *rows -= block.rows();
                }
            }
        }
    }

    /// The rows as one plain bitmap.
    pub(crate) fn to_bitmap(&self) -> RoaringBitmap {
        match self {
            BlockBitmap::Whole(set) => RoaringBitmap::clone(set),
            BlockBitmap::Blocks(_) => {
                let mut rows = RoaringBitmap::new();
                self.or_into(&mut rows);
                rows
            }
        }
    }

    /// Approximate heap bytes (serialized sizes, plus the block table and headers).
    pub(crate) fn heap_bytes(&self) -> u64 {
        match self {
            BlockBitmap::Whole(set) => bitmap_bytes(set),
            BlockBitmap::Blocks(blocks) => {
                let pointers = (blocks.capacity() * std::mem::size_of::<Option<Block>>()) as u64;
                pointers
                    + blocks
                        .iter()
                        .flatten()
                        .map(|block| block.heap_bytes(bitmap_bytes))
                        .sum::<u64>()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A row in one of a few blocks, often at a block's edge.
    fn row() -> impl Strategy<Value = Row> {
        prop_oneof![
            0..300_000u32,
            (0..5u32).prop_map(|b| b << BLOCK_BITS),
            (1..5u32).prop_map(|b| (b << BLOCK_BITS) - 1),
        ]
    }

    /// Rows spread over a few blocks, some clustered at block edges.
    fn rows() -> impl Strategy<Value = Vec<Row>> {
        prop::collection::vec(row(), 0..200)
    }

    #[derive(Debug, Clone)]
    enum Op {
        Union(Vec<Row>),
        Difference(Vec<Row>),
        /// One row added (`true`) or removed, as a membership flips it.
        Set(Row, bool),
        /// A clone kept alive (a reader's snapshot) while later ops write the set.
        Snapshot,
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        prop::collection::vec(
            prop_oneof![
                rows().prop_map(Op::Union),
                rows().prop_map(Op::Difference),
                (row(), any::<bool>()).prop_map(|(row, on)| Op::Set(row, on)),
                Just(Op::Snapshot),
            ],
            0..30,
        )
    }

    proptest! {
        #[test]
        fn random_ops_agree_with_a_plain_bitmap(
            start in rows(),
            dense in any::<bool>(),
            ops in ops(),
            probe in rows(),
        ) {
            let mut plain: RoaringBitmap = start.iter().copied().collect();
            if dense {
                // Dense blocks, which one-row writes patch rather than copy.
                plain.extend((0..140_000u32).step_by(2));
            }
            let start: Vec<Row> = plain.iter().collect();
            // The same rows kept in blocks and in one bitmap, whatever their size.
            let mut blocks = BlockBitmap::Blocks(split(&plain));
            let blocks_at_start = blocks.clone();
            let mut small = BlockBitmap::Whole(Arc::new(plain.clone()));
            let mut snapshots: Vec<(BlockBitmap, RoaringBitmap)> = Vec::new();
            for op in ops {
                match op {
                    Op::Union(rows) => {
                        let rows: RoaringBitmap = rows.into_iter().collect();
                        plain |= &rows;
                        // One cut for both sets, as a grant writes several with one.
                        let cut = Cut::new(&rows);
                        blocks.union_with(&cut);
                        small.union_with(&cut);
                    }
                    Op::Difference(rows) => {
                        let rows: RoaringBitmap = rows.into_iter().collect();
                        plain -= &rows;
                        let cut = Cut::new(&rows);
                        blocks.difference_with(&cut);
                        small.difference_with(&cut);
                    }
                    Op::Set(row, on) => {
                        let changed = plain.contains(row) != on;
                        if on {
                            plain.insert(row);
                        } else {
                            plain.remove(row);
                        }
                        prop_assert_eq!(blocks.set(row, on), changed);
                        prop_assert_eq!(small.set(row, on), changed);
                    }
                    Op::Snapshot => {
                        snapshots.push((blocks.clone(), plain.clone()));
                        snapshots.push((small.clone(), plain.clone()));
                    }
                }
                prop_assert_eq!(blocks.len(), plain.len());
                prop_assert_eq!(blocks.to_bitmap(), plain.clone());
                prop_assert_eq!(small.len(), plain.len());
                prop_assert_eq!(small.to_bitmap(), plain.clone());
            }
            // Few rows are looked up one by one, more through set operations: both agree.
            let few: RoaringBitmap = probe.iter().copied().take(3).collect();
            let many: RoaringBitmap = probe.iter().copied().collect();
            let held: RoaringBitmap = plain.iter().step_by(7).take(100).collect();
            for set in [&blocks, &small] {
                for rows in [&few, &many, &held] {
                    let cut = Cut::new(rows);
                    prop_assert_eq!(set.holds_all(&cut), rows.is_subset(&plain));
                    prop_assert_eq!(set.holds_any(&cut), !rows.is_disjoint(&plain));
                }
            }
            for row in probe {
                prop_assert_eq!(blocks.contains(row), plain.contains(row));
                prop_assert_eq!(small.contains(row), plain.contains(row));
            }
            let probe: RoaringBitmap = (0..400_000u32).step_by(997).collect();
            for set in [&blocks, &small] {
                prop_assert_eq!(set.is_empty(), plain.is_empty());
                prop_assert_eq!(set.iter().collect::<RoaringBitmap>(), plain.clone());
                prop_assert_eq!(set.parts().map(RoaringBitmap::len).sum::<u64>(), plain.len());
                // Intersections block by block, with few rows (looked up) and with many.
                for rows in [&few, &many, &held, &probe] {
                    prop_assert_eq!(set.intersection(rows), rows & &plain);
                    let mut and = rows.clone();
                    set.and_into(&mut and);
                    prop_assert_eq!(and, rows & &plain);
                }
                let mut left = probe.clone();
                set.subtract_from(&mut left);
                prop_assert_eq!(left, &probe - &plain);
                let mut with = probe.clone();
                set.or_into(&mut with);
                prop_assert_eq!(with, &probe | &plain);
            }
            // Earlier versions are untouched by later writes.
            prop_assert_eq!(blocks_at_start.to_bitmap(), start.iter().copied().collect::<RoaringBitmap>());
            for (snapshot, expected) in snapshots {
                prop_assert_eq!(snapshot.to_bitmap(), expected.clone());
                prop_assert_eq!(snapshot.len(), expected.len());
            }
        }
    }

    proptest! {
        /// A union made block by block is the union cut into blocks, block for block.
        #[test]
        fn unions_made_by_block_equal_unions_cut_into_blocks(
            sets in prop::collection::vec((rows(), any::<bool>(), 0..3usize), 0..6),
        ) {
            let sets: Vec<BlockBitmap> = sets
                .into_iter()
                .map(|(rows, large, spread)| {
                    let mut rows: RoaringBitmap = rows.into_iter().collect();
                    if large {
                        // Past the split size: a few dense blocks.
                        rows.insert_range((spread as u32) << 17..((spread as u32) << 17) + 40_000);
                    }
                    let mut set = BlockBitmap::default();
                    set.build_union(&rows);
                    set.seal();
                    set
                })
                .collect();
            let expected = BlockBitmap::from(union_all(sets.iter()));
            let made = union_blocked(sets.iter());
            prop_assert_eq!(made.to_bitmap(), expected.to_bitmap());
            match (&made, &expected) {
                (BlockBitmap::Whole(_), BlockBitmap::Whole(_)) => {}
                (BlockBitmap::Blocks(made), BlockBitmap::Blocks(expected)) => {
                    prop_assert_eq!(made.len(), expected.len());
                    for (made, expected) in made.iter().zip(expected.iter()) {
                        prop_assert_eq!(made, expected);
                    }
                }
                _ => prop_assert!(false, "kept whole on one side only"),
            }
        }
    }

    #[test]
    fn a_one_row_change_copies_one_block() {
        let all: RoaringBitmap = (0..1_000_000u32).step_by(3).collect();
        let mut set = BlockBitmap::from(all);
        let reader = set.clone();
        set.difference_with(&Cut::new(&RoaringBitmap::from_iter([69_999u32])));
        let (BlockBitmap::Blocks(now), BlockBitmap::Blocks(before)) = (&set, &reader) else {
            panic!("a large set is kept in blocks");
        };
        let shared = now
            .iter()
            .zip(before.iter())
            .filter(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => a.ptr_eq(b),
                _ => false,
            })
            .count();
        assert_eq!(shared, now.len() - 1);
        assert_eq!(set.len() + 1, reader.len());
        assert!(reader.contains(69_999) && !set.contains(69_999));
    }

    #[test]
    fn a_small_set_spread_over_many_blocks_is_built_in_blocks() {
        // A group's thousand members at 1M users: 2 KB, over all sixteen blocks.
        let spread: RoaringBitmap = (0..1_000_000u32).step_by(997).collect();
        let mut set = BlockBitmap::from(spread.clone());
        assert!(set.as_whole().is_none(), "spread over 16 blocks: in blocks");
        let reader = set.clone();
        assert!(set.set(5, true));
        let (BlockBitmap::Blocks(now), BlockBitmap::Blocks(before)) = (&set, &reader) else {
            panic!("kept in blocks");
        };
        let shared = now
            .iter()
            .zip(before.iter())
            .filter(|(a, b)| matches!((a, b), (Some(a), Some(b)) if a.ptr_eq(b)))
            .count();
        assert_eq!(shared, now.len() - 1, "one block copied");
        assert_eq!(set.to_bitmap(), &spread | &RoaringBitmap::from_iter([5u32]));
        // Few rows, or rows within a few blocks, stay whole.
        let few: RoaringBitmap = (0..1_000_000u32).step_by(20_000).collect();
        assert!(BlockBitmap::from(few).as_whole().is_some());
        let near: RoaringBitmap = (0..150_000u32).step_by(100).collect();
        assert!(BlockBitmap::from(near).as_whole().is_some());
        // Sealing a set built whole makes the same choice.
        let mut built = BlockBitmap::default();
        built.build_union(&spread);
        built.seal();
        assert!(built.as_whole().is_none());
    }

    #[test]
    fn removing_the_last_row_of_a_block_empties_it_and_leaves_readers_alone() {
        // Two dense blocks and one row in a third: kept in blocks.
        let mut rows: RoaringBitmap = (0..131_072u32).step_by(2).collect();
        rows.insert(140_000);
        let mut set = BlockBitmap::from(rows.clone());
        assert!(set.as_whole().is_none(), "a large set is kept in blocks");
        let reader = set.clone();
        assert!(set.set(140_000, false));
        assert!(!set.set(140_000, false), "already gone: nothing changes");
        let BlockBitmap::Blocks(table) = &set else {
            panic!("still in blocks");
        };
        assert!(table[2].is_none(), "the emptied block is dropped");
        assert_eq!(
            set.to_bitmap(),
            &rows - &RoaringBitmap::from_iter([140_000u32])
        );
        assert_eq!(reader.to_bitmap(), rows, "a reader's version keeps the row");
        // Back in: the block is made again, the first two still shared with the reader.
        assert!(set.set(140_000, true));
        assert_eq!(set.to_bitmap(), rows);
        let (BlockBitmap::Blocks(now), BlockBitmap::Blocks(before)) = (&set, &reader) else {
            panic!("kept in blocks");
        };
        for block in 0..2 {
            let (Some(now), Some(before)) = (&now[block], &before[block]) else {
                panic!("block {block} holds rows");
            };
            assert!(now.ptr_eq(before), "block {block} not copied");
        }
    }

    #[test]
    fn a_small_set_grown_large_is_cut_into_blocks() {
        let mut set = BlockBitmap::from(RoaringBitmap::from_iter([1u32, 70_000]));
        assert!(matches!(set, BlockBitmap::Whole(_)));
        let many: RoaringBitmap = (0..400_000u32).step_by(5).collect();
        set.union_with(&Cut::new(&many));
        assert!(matches!(set, BlockBitmap::Blocks(_)));
        assert_eq!(
            set.to_bitmap(),
            &many | &RoaringBitmap::from_iter([1u32, 70_000])
        );
    }
}
