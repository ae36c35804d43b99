//! A sorted column the live store updates in place under copy-on-write (the last-access column:
//! 70 % of a live directory's changes are sign-ins).
//!
//! [`super::ordered::SortedValues`] keeps one sorted vector and 64 *cumulative* block bitmaps:
//! moving one row would copy the whole vector and up to 64 bitmaps. Here the sorted
//! (value, row) pairs are cut into leaves of 64, each behind its own `Arc`; the leaves into
//! chunks of 1,024 entries, each behind its own `Arc` with the bitmap of its rows; and the
//! chunks into groups of 64 (65,536 entries), each behind its own `Arc` with the union of its
//! chunks' bitmaps. Moving a row (a sign-in moves it from its old time to the newest end)
//! copies the one or two leaves it leaves and enters (768 bytes each), the leaf pointers and
//! row set of their chunks, the chunk pointers of the one or two groups holding them, the
//! group pointer list, and one 4 KB leaf of the values by row. Before leaves, the chunk's
//! 12 KB of entries were copied whole twice per sign-in: 79 % of its instructions as callgrind
//! counts them (38 k per sign-in at 100k users, 25 k with leaves; benches/RESULTS.md). The writer does not maintain a group's union: a written
//! group drops it and the first reader that needs it recomputes it (unions of 64 small chunk
//! sets), kept until the group is written again. When the writer kept the unions current,
//! their copies (~128 KB per group at 1M users, rows being spread over the whole directory)
//! were most of a sign-in's 50 µs. A chunk's set is kept current by the writer (its copy is
//! ~16 small containers): computed on read, a stream that writes most chunks between two reads
//! would make each read sort every chunk's rows again.
//!
//! A range is two binary searches (over groups, chunks and leaves, then inside one leaf). Its
//! rows are the union of a few *pieces*: the sets of the groups wholly inside it, of the whole
//! chunks of the at most two groups it cuts (or such a group's set minus its chunks outside,
//! when that is shorter), and the rows of the at most two chunks it cuts (read across their
//! leaves) — or the column's rows minus the
//! pieces outside when the range is more than half the column. At 1M users that is ~16 bitmaps
//! instead of the ~120 chunk sets a one-level column unions for half the column (1.8 ms for
//! query k). A range *among candidates* (a conjunction's other predicates already narrowed the
//! rows) checks each candidate's value in the values by row when there are fewer candidates
//! than the pieces' union would cost: one load each, instead of materialising a union of
//! hundreds of thousands of rows (query k at 1M users: 4,315 candidates). The `orderBy`
//! permutations of the column are cached per version (reset by a change, rebuilt in one linear
//! pass on next use).

use std::borrow::Cow;
use std::ops::{Bound, Range};
use std::sync::{Arc, OnceLock};

use roaring::{MultiOps, RoaringBitmap};

use super::column::{bitmap_bytes, bitmap_from_sorted};
use super::order::{KeyedRows, Permutation};
use crate::model::Row;
use crate::shared::Chunked;

/// Entries per chunk at build time; a chunk splits in two when it passes twice this (or four
/// times its number of leaves, [`Chunk::too_big`]). A chunk keeps the set of its rows (what range reads union), copied when a sign-in moves a row in or
/// out of it.
const CHUNK: usize = 1024;
/// Entries per leaf at build time; a leaf splits in two when it passes twice this. A sign-in
/// copies the one or two leaves it leaves and enters (12 bytes an entry: 768 bytes each, where a
/// chunk's 12 KB of entries were copied whole before leaves).
const LEAF: usize = 64;
/// Chunks per group at build time (65,536 entries); a group splits in two when it passes twice
/// this. A sign-in copies the chunk pointers of the one or two groups it writes.
const GROUP: usize = 64;

/// A short run of the column's (value, row) entries: what a sign-in copies to move a row.
#[derive(Debug, Default)]
struct Leaf<T> {
    values: Vec<T>,
    rows: Vec<Row>,
}

impl<T: Copy> Clone for Leaf<T> {
    /// A copy with room for one more entry: a leaf is copied (`Arc::make_mut`) to move one
    /// row in or out, and an exact-capacity copy would be copied again by the insert's growth.
    fn clone(&self) -> Leaf<T> {
        Leaf {
            values: with_room(&self.values),
            rows: with_room(&self.rows),
        }
    }
}

impl<T: Copy> Leaf<T> {
    fn len(&self) -> usize {
        self.values.len()
    }

    fn last_value(&self) -> T {
        self.values[self.values.len() - 1]
    }
}

/// One run of the column in leaves, with the set of its rows (kept current by the writer: the
/// readers' group unions are made of these, and recomputing a written chunk's set on read
/// would cost a sort of its rows per chunk a stream wrote).
#[derive(Debug, Default, Clone)]
struct Chunk<T> {
    /// Non-empty leaves, in order.
    leaves: Vec<Arc<Leaf<T>>>,
    /// `ends[i]`: positions (inside the chunk) up to the end of leaf `i`.
    ends: Vec<usize>,
    set: RoaringBitmap,
}

impl<T: Copy> Chunk<T> {
    /// A chunk of `values` and their `rows`, cut into leaves of `leaf` entries.
    fn new(values: Vec<T>, rows: Vec<Row>, leaf: usize) -> Chunk<T> {
        let mut sorted = rows.clone();
        sorted.sort_unstable();
        let leaves = values
            .chunks(leaf)
            .zip(rows.chunks(leaf))
            .map(|(values, rows)| {
                Arc::new(Leaf {
                    values: values.to_vec(),
                    rows: rows.to_vec(),
                })
            })
            .collect();
        Chunk::of_leaves(leaves, bitmap_from_sorted(sorted))
    }

    fn of_leaves(leaves: Vec<Arc<Leaf<T>>>, set: RoaringBitmap) -> Chunk<T> {
        let mut chunk = Chunk {
            leaves,
            ends: Vec::new(),
            set,
        };
        chunk.count();
        chunk
    }

    fn count(&mut self) {
        self.ends = running_ends(self.leaves.iter().map(|leaf| leaf.len()));
    }

    fn len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// (leaf, index inside it) of position `k` of the chunk (`k` < len).
    fn at(&self, k: usize) -> (usize, usize) {
        piece_at(&self.ends, k)
    }

    fn value(&self, k: usize) -> T {
        let (l, i) = self.at(k);
        self.leaves[l].values[i]
    }

    /// The last leaf (chunks are never empty).
    fn last_leaf(&self) -> &Leaf<T> {
        &self.leaves[self.leaves.len() - 1]
    }

    /// The last entry's value (chunks and leaves are never empty).
    fn last_value(&self) -> T {
        self.last_leaf().last_value()
    }

    /// The chunk's (value, row) entries, in order.
    fn entries(&self) -> impl Iterator<Item = (T, Row)> + '_ {
        self.leaves
            .iter()
            .flat_map(|leaf| leaf.values.iter().copied().zip(leaf.rows.iter().copied()))
    }

    /// The rows at positions `span` of the chunk, in column order.
    fn rows_at(&self, span: Range<usize>) -> Vec<Row> {
        let mut rows = Vec::with_capacity(span.len());
        if span.is_empty() {
            return rows;
        }
        let (first, _) = self.at(span.start);
        let mut start = if first == 0 { 0 } else { self.ends[first - 1] };
        for leaf in &self.leaves[first..] {
            if start >= span.end {
                break;
            }
            let from = span.start.saturating_sub(start);
            let to = (span.end - start).min(leaf.len());
            rows.extend_from_slice(&leaf.rows[from..to]);
            start += leaf.len();
        }
        rows
    }

    /// The rows at `span` of this chunk, as a set: sorted directly, or the chunk's set minus the
    /// rows outside when the span is most of the chunk.
    fn part(&self, span: Range<usize>) -> RoaringBitmap {
        if span.len() * 2 > self.len() {
            let mut outside = self.rows_at(0..span.start);
            outside.extend(self.rows_at(span.end..self.len()));
            outside.sort_unstable();
            &self.set - bitmap_from_sorted(outside)
        } else {
            let mut rows = self.rows_at(span);
            rows.sort_unstable();
            bitmap_from_sorted(rows)
        }
    }

    /// Removes entry `i` of leaf `l` (whose row is `row`): copies that leaf only, drops it
    /// when it empties.
    fn remove(&mut self, l: usize, i: usize, row: Row) {
        let leaf = Arc::make_mut(&mut self.leaves[l]);
        leaf.values.remove(i);
        leaf.rows.remove(i);
        let emptied = leaf.values.is_empty();
        if emptied {
            self.leaves.remove(l);
        }
        step_ends(&mut self.ends, l, false, emptied);
        self.set.remove(row);
    }

    /// Inserts `(value, row)` at index `i` of leaf `l` (`i` may be the leaf's length), splitting
    /// the leaf in two past twice `shape.leaf` entries.
    fn insert(&mut self, l: usize, i: usize, value: T, row: Row, shape: Shape) {
        let leaf = Arc::make_mut(&mut self.leaves[l]);
        leaf.values.insert(i, value);
        leaf.rows.insert(i, row);
        if leaf.len() > 2 * shape.leaf {
            let tail = Leaf {
                values: leaf.values.split_off(shape.leaf),
                rows: leaf.rows.split_off(shape.leaf),
            };
            self.leaves.insert(l + 1, Arc::new(tail));
            self.count();
        } else {
            step_ends(&mut self.ends, l, true, false);
        }
        self.set.insert(row);
    }

    /// Whether the chunk outgrew its shape: past twice its entries, or past four times its
    /// leaves (leaves that moves emptied down to a few entries make a chunk's copy longer).
    fn too_big(&self, shape: Shape) -> bool {
        self.len() > 2 * shape.chunk || self.leaves.len() > 4 * shape.leaves_per_chunk()
    }

    /// Cuts off the second half of the chunk (at a leaf boundary near its middle; the chunk
    /// has at least two leaves) and returns it; both sets are recomputed.
    fn split(&mut self) -> Chunk<T> {
        let half = self.len() / 2;
        let cut = (self.ends.partition_point(|&end| end < half) + 1).min(self.leaves.len() - 1);
        let tail = self.leaves.split_off(cut.max(1));
        let set_of = |leaves: &[Arc<Leaf<T>>]| {
            let mut rows: Vec<Row> = leaves
                .iter()
                .flat_map(|leaf| leaf.rows.iter().copied())
                .collect();
            rows.sort_unstable();
            bitmap_from_sorted(rows)
        };
        self.set = set_of(&self.leaves);
        self.count();
        let set = set_of(&tail);
        Chunk::of_leaves(tail, set)
    }
}

/// A copy of `items` with room for one more.
fn with_room<T: Copy>(items: &[T]) -> Vec<T> {
    let mut copy = Vec::with_capacity(items.len() + 1);
    copy.extend_from_slice(items);
    copy
}

/// A run of chunks with the union of their sets.
#[derive(Debug, Default)]
struct Group<T> {
    /// Non-empty chunks, in order.
    chunks: Vec<Arc<Chunk<T>>>,
    /// `ends[i]`: positions (inside the group) up to the end of chunk `i`.
    ends: Vec<usize>,
    /// The rows of every chunk, computed on first read after a change (see [`Group::set`]).
    set: OnceLock<RoaringBitmap>,
}

impl<T: Copy> Clone for Group<T> {
    /// Copies chunk pointers only: a group is copied to be written, and its union is then
    /// recomputed by the first reader that needs it, not maintained by the writer (at 1M users
    /// a union is ~128 KB, most of what a sign-in copied when the writer kept it current).
    fn clone(&self) -> Group<T> {
        Group {
            chunks: self.chunks.clone(),
            ends: self.ends.clone(),
            set: OnceLock::new(),
        }
    }
}

impl<T: Copy> Group<T> {
    /// A group of chunks whose union is computed on first read.
    fn new(chunks: Vec<Arc<Chunk<T>>>) -> Group<T> {
        let mut group = Group {
            chunks,
            ends: Vec::new(),
            set: OnceLock::new(),
        };
        group.count();
        group
    }

    /// The rows of every chunk. Computed by the first reader after the group changed and kept
    /// for the group's lifetime (every later version shares it until the group is written
    /// again). Readers racing on a fresh group each compute it and never wait for each other:
    /// the first to finish keeps its copy.
    fn set(&self) -> &RoaringBitmap {
        if let Some(set) = self.set.get() {
            return set;
        }
        // Computed outside the lock; another reader may have stored its copy meanwhile
        // (either is the same set).
        let union = self.chunks.iter().map(|chunk| &chunk.set).union();
        self.set.get_or_init(|| union)
    }

    /// Marks the group's chunks as changed (the union is recomputed on next read; the ends
    /// are the caller's to keep).
    fn changed(&mut self) {
        self.set = OnceLock::new();
    }

    fn count(&mut self) {
        self.ends = running_ends(self.chunks.iter().map(|chunk| chunk.len()));
    }

    fn len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// (chunk, index inside it) of position `p` of the group (`p` < len).
    fn at(&self, p: usize) -> (usize, usize) {
        piece_at(&self.ends, p)
    }

    /// The last entry's value (groups and chunks are never empty).
    fn last_value(&self) -> T {
        self.chunks[self.chunks.len() - 1].last_value()
    }
}

/// Where an entry sits: its group, the chunk inside that, the leaf inside that and its index
/// in the leaf.
#[derive(Debug, Clone, Copy)]
struct Place {
    group: usize,
    chunk: usize,
    leaf: usize,
    index: usize,
}

/// A range of positions cut into what its rows are made of.
struct Pieces<'a, T> {
    /// Sets wholly inside the range: groups, chunks, or a group minus its chunks outside.
    whole: Vec<Cow<'a, RoaringBitmap>>,
    /// Chunks the range cuts, with the span inside it (at most two).
    cut: Vec<(&'a Chunk<T>, Range<usize>)>,
}

impl<'a, T: Copy> Pieces<'a, T> {
    /// The full sets of the chunks the range cuts.
    fn cut_sets(&self) -> impl Iterator<Item = &'a RoaringBitmap> + '_ {
        self.cut.iter().map(|(chunk, _)| &chunk.set)
    }

    fn new() -> Self {
        Pieces {
            whole: Vec::new(),
            cut: Vec::new(),
        }
    }

    /// The rows of the pieces, as a set.
    fn rows(&self) -> RoaringBitmap {
        let cut: Vec<RoaringBitmap> = self
            .cut
            .iter()
            .map(|(chunk, span)| chunk.part(span.clone()))
            .collect();
        let mut sets: Vec<&RoaringBitmap> = self.whole.iter().map(|set| &**set).collect();
        sets.extend(&cut);
        sets.union()
    }
}

/// How a column is cut: entries per leaf and per chunk, chunks per group at build time (small
/// in tests, so that splits and several groups happen on little data). `leaf` is at most half
/// of `chunk`, so that a chunk past twice its entries has two leaves to split between.
#[derive(Debug, Clone, Copy)]
struct Shape {
    leaf: usize,
    chunk: usize,
    group: usize,
}

impl Default for Shape {
    fn default() -> Shape {
        Shape {
            leaf: LEAF,
            chunk: CHUNK,
            group: GROUP,
        }
    }
}

impl Shape {
    fn leaves_per_chunk(self) -> usize {
        self.chunk.div_ceil(self.leaf)
    }
}

/// Values ascending (ties by id rank) with their rows, in copy-on-write chunks and groups.
#[derive(Debug, Default)]
pub(crate) struct LiveColumn<T> {
    /// Non-empty groups, in order.
    groups: Vec<Arc<Group<T>>>,
    /// `ends[i]`: positions up to the end of group `i` (cumulative lengths).
    ends: Vec<usize>,
    shape: Shape,
    /// Every row in the column.
    all: Arc<RoaringBitmap>,
    /// Id rank of every row the build saw (ties are ordered by it).
    id_rank: Arc<Vec<u32>>,
    /// Each row's value (meaningful for the rows of `all` only), for checking candidates one
    /// by one without a trip to their records.
    by_row: ByRow<T>,
    /// `orderBy` permutations (ascending, descending), built on first use per version.
    orders: [OnceLock<Permutation>; 2],
}

/// The column's values by row, copy-on-write in leaves of 4 KB (a sign-in copies one).
/// Checking a candidate here costs one load where its record costs a few dependent ones
/// (~180 ns per candidate on query k at 1M users, `engine/examples/profile_query`).
#[derive(Default, Clone)]
struct ByRow<T>(Chunked<T>);

impl<T> std::fmt::Debug for ByRow<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ByRow")
    }
}

impl<T: Copy> Clone for LiveColumn<T> {
    /// Copies group pointers only; the permutations are not carried over (the clone is about
    /// to change).
    fn clone(&self) -> LiveColumn<T> {
        LiveColumn {
            groups: self.groups.clone(),
            ends: self.ends.clone(),
            shape: self.shape,
            all: Arc::clone(&self.all),
            id_rank: Arc::clone(&self.id_rank),
            by_row: self.by_row.clone(),
            orders: Default::default(),
        }
    }
}

impl<T: Ord + Copy> LiveColumn<T> {
    /// Sorts `(value, row)` pairs by value, ties by `id_rank[row]`.
    pub(crate) fn build(pairs: Vec<(T, Row)>, id_rank: &[u32]) -> LiveColumn<T> {
        LiveColumn::build_shaped(pairs, id_rank, Shape::default())
    }

    fn build_shaped(mut pairs: Vec<(T, Row)>, id_rank: &[u32], shape: Shape) -> LiveColumn<T> {
        super::ordered::sort_by_value_and_rank(&mut pairs, id_rank);
        let all = bitmap_from_sorted({
            let mut rows: Vec<Row> = pairs.iter().map(|&(_, row)| row).collect();
            rows.sort_unstable();
            rows
        });
        let by_row = match pairs.first() {
            // Rows without a value hold any value: they are never looked up (not in `all`).
            Some(&(filler, _)) => {
                // Leaves without a value share one allocation: a delta level's column (a few
                // rows over every slot) writes only the leaves of its rows.
                let mut by_row = Chunked::filled(id_rank.len(), filler);
                for &(value, row) in &pairs {
                    if let Some(slot) = by_row.get_mut(row as usize) {
                        *slot = value;
                    }
                }
                by_row
            }
            None => Chunked::new(),
        };
        let chunks: Vec<Arc<Chunk<T>>> = pairs
            .chunks(shape.chunk)
            .map(|run| {
                let (values, rows) = run.iter().copied().unzip();
                Arc::new(Chunk::new(values, rows, shape.leaf))
            })
            .collect();
        let groups = chunks
            .chunks(shape.group)
            .map(|run| Arc::new(Group::new(run.to_vec())))
            .collect();
        let mut column = LiveColumn {
            groups,
            ends: Vec::new(),
            shape,
            all: Arc::new(all),
            id_rank: Arc::new(id_rank.to_vec()),
            by_row: ByRow(by_row),
            orders: Default::default(),
        };
        column.count();
        for group in &column.groups {
            // The first queries should not pay for the unions.
            group.set();
        }
        column
    }

    fn count(&mut self) {
        self.ends = running_ends(self.groups.iter().map(|group| group.len()));
    }

    fn rank(&self, row: Row) -> u32 {
        self.id_rank.get(row as usize).copied().unwrap_or(u32::MAX)
    }

    /// Where `(value, row)` sits or would sit: (group, chunk inside it, leaf inside that,
    /// index inside the leaf). Past the last entry it is the end of the last leaf.
    fn locate(&self, value: T, row: Row) -> Option<Place> {
        // Keys are (value, id rank), but the rank (a load from a table of every row: a cache
        // miss each at 1M users) is looked up only when the values tie — a sign-in's search
        // probed ~30 keys, and the rank loads were a fifth of its cost (perf, RESULTS.md).
        let rank = std::cell::OnceCell::new();
        let below = |leaf: &Leaf<T>, k: usize| match leaf.values[k].cmp(&value) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Equal => {
                self.rank(leaf.rows[k]) < *rank.get_or_init(|| self.rank(row))
            }
        };
        let last_below = |leaf: &Leaf<T>| below(leaf, leaf.len() - 1);
        let last = self.groups.len().checked_sub(1)?;
        let g = self
            .groups
            .partition_point(|group| last_below(group.chunks[group.chunks.len() - 1].last_leaf()))
            .min(last);
        let group = &self.groups[g];
        let c = group
            .chunks
            .partition_point(|chunk| last_below(chunk.last_leaf()))
            .min(group.chunks.len() - 1);
        let chunk = &group.chunks[c];
        let l = chunk
            .leaves
            .partition_point(|leaf| last_below(leaf))
            .min(chunk.leaves.len() - 1);
        let leaf = &chunk.leaves[l];
        // Binary search for the first index whose key is not below `key`.
        let (mut lo, mut hi) = (0, leaf.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if below(leaf, mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Some(Place {
            group: g,
            chunk: c,
            leaf: l,
            index: lo,
        })
    }

    /// Moves `row` from `old` to `new` (a sign-in). False, and nothing changed, when the
    /// column does not hold `(old, row)`.
    pub(crate) fn set(&mut self, row: Row, old: T, new: T) -> bool {
        let Some(Place {
            group: g,
            chunk: c,
            leaf: l,
            index: i,
        }) = self.locate(old, row)
        else {
            return false;
        };
        let leaf = &self.groups[g].chunks[c].leaves[l];
        let found = leaf
            .rows
            .get(i)
            .is_some_and(|&r| r == row && leaf.values[i] == old);
        if !found {
            return false;
        }
        let group = Arc::make_mut(&mut self.groups[g]);
        let chunk = Arc::make_mut(&mut group.chunks[c]);
        chunk.remove(l, i, row);
        let emptied = chunk.leaves.is_empty();
        if emptied {
            group.chunks.remove(c);
        }
        step_ends(&mut group.ends, c, false, emptied);
        let emptied = group.chunks.is_empty();
        if emptied {
            self.groups.remove(g);
        } else {
            group.changed();
        }
        step_ends(&mut self.ends, g, false, emptied);
        self.insert(row, new);
        if let Some(value) = self.by_row.0.get_mut(row as usize) {
            *value = new;
        }
        self.orders = Default::default();
        true
    }

    /// Inserts `(value, row)` in order, splitting a leaf that grows past twice its build size,
    /// a chunk past twice its entries (or four times its leaves) and a group past twice its
    /// number of chunks.
    fn insert(&mut self, row: Row, value: T) {
        let shape = self.shape;
        let Some(Place {
            group: g,
            chunk: c,
            leaf: l,
            index: i,
        }) = self.locate(value, row)
        else {
            let chunk = Arc::new(Chunk::new(vec![value], vec![row], shape.leaf));
            self.groups.push(Arc::new(Group::new(vec![chunk])));
            self.count();
            return;
        };
        let group = Arc::make_mut(&mut self.groups[g]);
        let chunk = Arc::make_mut(&mut group.chunks[c]);
        chunk.insert(l, i, value, row, shape);
        if chunk.too_big(shape) {
            let tail = chunk.split();
            group.chunks.insert(c + 1, Arc::new(tail));
            group.count();
        } else {
            step_ends(&mut group.ends, c, true, false);
        }
        group.changed();
        if group.chunks.len() > 2 * shape.group {
            let tail = Group::new(group.chunks.split_off(shape.group));
            group.count();
            self.groups.insert(g + 1, Arc::new(tail));
            self.count();
        } else {
            step_ends(&mut self.ends, g, true, false);
        }
    }

    /// (group, chunk inside it, index inside that) of position `p` (`p` < len).
    fn at(&self, p: usize) -> (usize, usize, usize) {
        let (g, q) = piece_at(&self.ends, p);
        let (c, k) = self.groups[g].at(q);
        (g, c, k)
    }

    /// Positions whose value lies within the bounds (empty when the bounds are reversed).
    pub(crate) fn range(&self, lo: Bound<T>, hi: Bound<T>) -> Range<usize> {
        // The first position whose value is not below the bound (`strict`: not at or below).
        let first = |x: T, strict: bool| {
            let below = |v: T| if strict { v <= x } else { v < x };
            let g = self
                .groups
                .partition_point(|group| below(group.last_value()));
            let Some(group) = self.groups.get(g) else {
                return self.len();
            };
            // The group's last value is not below, so neither is its last chunk's.
            let c = group
                .chunks
                .partition_point(|chunk| below(chunk.last_value()));
            let chunk = &group.chunks[c];
            // Likewise the chunk's last leaf.
            let l = chunk
                .leaves
                .partition_point(|leaf| below(leaf.last_value()));
            let leaf = &chunk.leaves[l];
            let group_start = if g == 0 { 0 } else { self.ends[g - 1] };
            let chunk_start = if c == 0 { 0 } else { group.ends[c - 1] };
            let leaf_start = if l == 0 { 0 } else { chunk.ends[l - 1] };
            group_start + chunk_start + leaf_start + leaf.values.partition_point(|&v| below(v))
        };
        let start = match lo {
            Bound::Included(x) => first(x, false),
            Bound::Excluded(x) => first(x, true),
            Bound::Unbounded => 0,
        };
        let end = match hi {
            Bound::Included(y) => first(y, true),
            Bound::Excluded(y) => first(y, false),
            Bound::Unbounded => self.len(),
        };
        start..end.max(start)
    }

    /// What a range of positions is made of (see the module docs).
    fn pieces(&self, range: Range<usize>) -> Pieces<'_, T> {
        let mut pieces = Pieces::new();
        if range.is_empty() {
            return pieces;
        }
        let (g1, c1, k1) = self.at(range.start);
        let (g2, c2, k2) = self.at(range.end - 1);
        for g in g1..=g2 {
            let group = &*self.groups[g];
            let n = group.chunks.len();
            // From (chunk, index) to (chunk, index past the end), inside this group.
            let (from_c, from_k) = if g == g1 { (c1, k1) } else { (0, 0) };
            let (to_c, to_k) = if g == g2 {
                (c2, k2 + 1)
            } else {
                (n - 1, group.chunks[n - 1].len())
            };
            // Whole chunks: `wa..wb`.
            let (mut wa, mut wb) = (from_c, to_c + 1);
            let from_len = group.chunks[from_c].len();
            let to_len = group.chunks[to_c].len();
            if from_c == to_c {
                if from_k > 0 || to_k < from_len {
                    pieces.cut.push((&*group.chunks[from_c], from_k..to_k));
                    wb = wa;
                }
            } else {
                if from_k > 0 {
                    pieces.cut.push((&*group.chunks[from_c], from_k..from_len));
                    wa += 1;
                }
                if to_k < to_len {
                    pieces.cut.push((&*group.chunks[to_c], 0..to_k));
                    wb -= 1;
                }
            }
            if wa >= wb {
                continue;
            }
            if wb - wa == n {
                pieces.whole.push(Cow::Borrowed(group.set()));
            } else if (wb - wa) * 2 > n {
                let outside = group.chunks[..wa].iter().chain(&group.chunks[wb..]);
                let outside = outside.map(|chunk| &chunk.set).union();
                pieces.whole.push(Cow::Owned(group.set() - outside));
            } else {
                let sets = group.chunks[wa..wb].iter().map(|chunk| &chunk.set);
                pieces.whole.extend(sets.map(Cow::Borrowed));
            }
        }
        pieces
    }

    /// The pieces outside a range of positions (before and after it).
    fn outside(&self, range: &Range<usize>) -> Pieces<'_, T> {
        let mut pieces = self.pieces(0..range.start);
        let after = self.pieces(range.end..self.len());
        pieces.whole.extend(after.whole);
        pieces.cut.extend(after.cut);
        pieces
    }

    /// The rows at a range of positions, as a set.
    pub(crate) fn rows(&self, range: Range<usize>) -> RoaringBitmap {
        if range.is_empty() {
            return RoaringBitmap::new();
        }
        if range.len() * 2 > self.len() {
            // Shorter from the other side: everything but the pieces outside.
            return &*self.all - self.outside(&range).rows();
        }
        self.pieces(range).rows()
    }

    /// Containers a set of the column's rows spans (rows are spread over the whole directory).
    fn containers(&self) -> u64 {
        self.all.max().map_or(1, |max| u64::from(max >> 16) + 1)
    }

    /// The rows at `range` among `candidates`: `(sure, unsure)` — the candidates in the whole
    /// groups and chunks inside the range, and those in the at most two chunks the range cuts
    /// (for the caller to check on their records). Fewer candidates than the bitmap operations
    /// would cost (query k's 4,315 at 1M users) are checked here one by one on the column's own
    /// values ([`LiveColumn::by_value`]: all `sure`). Never `None`.
    pub(crate) fn rows_within(
        &self,
        range: Range<usize>,
        candidates: &RoaringBitmap,
    ) -> Option<(RoaringBitmap, RoaringBitmap)> {
        if range.is_empty() || candidates.is_empty() {
            return Some((RoaringBitmap::new(), RoaringBitmap::new()));
        }
        // Costs in units of one candidate checked on its value ([`LiveColumn::by_value`]:
        // ~40 ns at 1M users, its load overlapping the others'). One container operation of
        // the pieces' union (a few thousand entries merged) costs about 64: query k at 1M
        // users (8,596 candidates, eight groups outside its range, 16 containers) took the
        // same ~0.34 ms either way. The pieces are groups, so the smaller side of the range
        // spans at most its groups plus the two cut ones. A group whose union is not cached
        // (written since it was last read: a stream of sign-ins writes every group within
        // milliseconds) first has it recomputed from its chunks, about one unit per chunk
        // and container (~55 µs a group at 1M): during a stream that was 30 % of query k's
        // time (perf, benches/RESULTS.md `within13`).
        let big = range.len() * 2 > self.len();
        let (first, last) = (self.at(range.start).0, self.at(range.end - 1).0);
        let containers = self.containers();
        let group_cost = |g: usize| {
            let group = &self.groups[g];
            let recompute = match group.set.get() {
                Some(_) => 0,
                None => group.chunks.len() as u64 * containers,
            };
            containers * 64 + recompute
        };
        // Outside a big range: the groups before and after it, with the two it cuts.
        let cost: u64 = if big {
            (0..=first)
                .chain(last..self.groups.len())
                .map(group_cost)
                .sum()
        } else {
            (first..=last).map(group_cost).sum::<u64>() + 2 * containers * 64
        };
        if candidates.len() <= cost {
            return Some((self.by_value(range, candidates), RoaringBitmap::new()));
        }
        // Only one side's pieces are built: the range's whole pieces are not needed when it is
        // answered from the outside (building them cost a group minus its chunks outside for
        // each cut group: most of query k's range at 1M users). The chunks a range cuts at its
        // ends are the ones the outside cuts there too.
        let pieces = if big {
            self.outside(&range)
        } else {
            self.pieces(range)
        };
        let mut unsure = RoaringBitmap::new();
        for set in pieces.cut_sets() {
            unsure |= candidates & set;
        }
        let whole = pieces.whole.iter().map(|set| &**set);
        let sure = if big {
            // The column's rows minus the outside (users without a value are in neither).
            let mut not_sure: Vec<&RoaringBitmap> = whole.collect();
            not_sure.extend(pieces.cut_sets());
            let mut sure = candidates & &*self.all;
            sure -= not_sure.union();
            sure
        } else {
            candidates & whole.union()
        };
        Some((sure, unsure))
    }

    /// The candidates whose value lies between those at the range's first and last positions
    /// (every entry with such a value is inside the range, as a range is cut by values), each
    /// checked on [`LiveColumn::by_row`]. The range must not be empty.
    fn by_value(&self, range: Range<usize>, candidates: &RoaringBitmap) -> RoaringBitmap {
        let value = |p: usize| {
            let (g, c, k) = self.at(p);
            self.groups[g].chunks[c].value(k)
        };
        let (lo, hi) = (value(range.start), value(range.end - 1));
        let rows: Vec<Row> = (candidates & &*self.all).iter().collect();
        // Every value is loaded first, then compared: loads that no branch waits on overlap
        // (each is a cache miss into the 8 MB of values at 1M users), where a comparison
        // after each load made the next one wait for it.
        let values: Vec<Option<T>> = rows
            .iter()
            .map(|&row| self.by_row.0.get(row as usize).copied())
            .collect();
        let within = rows
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_some_and(|v| lo <= v && v <= hi))
            .map(|(&row, _)| row);
        // Ascending rows: appended container by container.
        RoaringBitmap::from_sorted_iter(within).unwrap_or_default()
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Every chunk, in order.
    fn chunks(&self) -> impl Iterator<Item = &Chunk<T>> {
        self.groups
            .iter()
            .flat_map(|group| group.chunks.iter().map(|chunk| &**chunk))
    }

    /// The rows with a value ascending by (value, id), and where equal values start.
    pub(crate) fn keyed_rows(&self) -> KeyedRows {
        let mut rows = Vec::with_capacity(self.len());
        let mut same_as_previous = Vec::with_capacity(self.len());
        let mut previous = None;
        for chunk in self.chunks() {
            for (value, row) in chunk.entries() {
                same_as_previous.push(previous == Some(value));
                rows.push(row);
                previous = Some(value);
            }
        }
        KeyedRows {
            rows,
            same_as_previous,
        }
    }

    /// The `orderBy` permutation for a direction, built by `make` on first use.
    pub(crate) fn permutation(
        &self,
        descending: bool,
        make: impl FnOnce() -> Permutation,
    ) -> &Permutation {
        self.orders[usize::from(descending)].get_or_init(make)
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        let chunks: u64 = self
            .chunks()
            .map(|chunk| {
                let leaves: usize = chunk
                    .leaves
                    .iter()
                    .map(|leaf| {
                        leaf.values.capacity() * std::mem::size_of::<T>()
                            + leaf.rows.capacity() * std::mem::size_of::<Row>()
                    })
                    .sum();
                (leaves + 16 * chunk.leaves.capacity()) as u64 + bitmap_bytes(&chunk.set)
            })
            .sum();
        let groups: u64 = self
            .groups
            .iter()
            .map(|group| {
                group.set.get().map_or(0, bitmap_bytes) + 16 * group.chunks.capacity() as u64
            })
            .sum();
        let orders: u64 = self
            .orders
            .iter()
            .filter_map(OnceLock::get)
            .map(|p| ((p.order.capacity() + p.rank.capacity()) * 4) as u64)
            .sum();
        let by_row = (self.by_row.0.len() * std::mem::size_of::<T>()) as u64;
        chunks
            + groups
            + orders
            + by_row
            + bitmap_bytes(&self.all)
            + 4 * self.id_rank.capacity() as u64
    }
}

/// The end position of each piece laid one after another (the running sum of `lens`), which
/// chunks inside a group and groups inside the column both keep to find a position.
fn running_ends(lens: impl ExactSizeIterator<Item = usize>) -> Vec<usize> {
    let mut ends = Vec::with_capacity(lens.len());
    let mut end = 0;
    for len in lens {
        end += len;
        ends.push(end);
    }
    ends
}

/// (piece, index inside it) of position `p` of pieces laid one after another with running
/// `ends` (`p` < the last end).
fn piece_at(ends: &[usize], p: usize) -> (usize, usize) {
    let i = ends.partition_point(|&end| end <= p);
    let start = if i == 0 { 0 } else { ends[i - 1] };
    (i, p - start)
}

/// The running ends after the piece at `at` gained one entry (`grew`) or lost one, and was
/// taken out of its list if that `emptied` it. O(the pieces after it) without allocating:
/// recounting read every piece's length (a pointer to follow each, 64 per group, twice per
/// sign-in) into a new vector, a sixth of a sign-in's instructions (callgrind, RESULTS.md).
fn step_ends(ends: &mut Vec<usize>, at: usize, grew: bool, emptied: bool) {
    if emptied {
        ends.remove(at);
    }
    for end in &mut ends[at..] {
        if grew {
            *end += 1;
        } else {
            *end -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// The column as plain sorted pairs, for comparison.
    fn pairs(column: &LiveColumn<i64>) -> Vec<(i64, Row)> {
        column.chunks().flat_map(|c| c.entries()).collect()
    }

    /// The bookkeeping every operation relies on: non-empty chunks and groups, cumulative
    /// lengths, and each group's set the union of its chunks' sets.
    fn assert_consistent(column: &LiveColumn<i64>) {
        let mut end = 0;
        for (group, &group_end) in column.groups.iter().zip(&column.ends) {
            assert!(!group.chunks.is_empty());
            let mut inner = 0;
            for (chunk, &chunk_end) in group.chunks.iter().zip(&group.ends) {
                assert!(!chunk.leaves.is_empty());
                let mut in_chunk = 0;
                for (leaf, &leaf_end) in chunk.leaves.iter().zip(&chunk.ends) {
                    assert!(leaf.len() > 0);
                    assert!(leaf.len() <= 2 * column.shape.leaf, "a leaf past its limit");
                    assert_eq!(leaf.values.len(), leaf.rows.len());
                    in_chunk += leaf.len();
                    assert_eq!(in_chunk, leaf_end);
                }
                assert_eq!(chunk.leaves.len(), chunk.ends.len());
                assert!(!chunk.too_big(column.shape), "a chunk past its limit");
                assert_eq!(
                    chunk.set,
                    chunk
                        .entries()
                        .map(|(_, row)| row)
                        .collect::<RoaringBitmap>()
                );
                inner += chunk.len();
                assert_eq!(inner, chunk_end);
                for (value, row) in chunk.entries() {
                    assert_eq!(column.by_row.0.get(row as usize), Some(&value));
                }
            }
            let union = group.chunks.iter().map(|chunk| &chunk.set).union();
            assert_eq!(*group.set(), union);
            end += inner;
            assert_eq!(end, group_end);
        }
        assert_eq!(column.groups.len(), column.ends.len());
    }

    /// `rows` and `rows_within` of `lo..hi` against the sorted model.
    fn assert_range(column: &LiveColumn<i64>, model: &[(i64, Row)], lo: i64, hi: i64) {
        // Candidates include rows the column does not hold (users never signed in).
        let n = column.all.max().unwrap_or(0) + 100;
        let range = column.range(Bound::Included(lo), Bound::Excluded(hi));
        let want: RoaringBitmap = model
            .iter()
            .filter(|&&(v, _)| lo <= v && v < hi)
            .map(|&(_, r)| r)
            .collect();
        assert_eq!(range.len() as u64, want.len(), "{lo}..{hi}");
        assert_eq!(column.rows(range.clone()), want, "{lo}..{hi}");
        // Among candidates: `sure` is exact inside the range, `unsure` holds the rest of the
        // candidates that are in it, and both are candidates.
        for step in [1, 3, 97] {
            let candidates: RoaringBitmap = (0..n).filter(|r| r % step == 0).collect();
            if !range.is_empty() {
                let by_value = column.by_value(range.clone(), &candidates);
                assert_eq!(by_value, &candidates & &want, "{lo}..{hi} by value");
            }
            let (sure, unsure) = column
                .rows_within(range.clone(), &candidates)
                .expect("a live column answers every range among candidates");
            assert!(
                sure.is_subset(&want) && sure.is_subset(&candidates),
                "{lo}..{hi}"
            );
            assert!(unsure.is_subset(&candidates) && sure.is_disjoint(&unsure));
            assert_eq!(
                &sure | &(&unsure & &want),
                &candidates & &want,
                "{lo}..{hi}"
            );
            let cut = 2 * 2 * column.shape.chunk as u64;
            assert!(unsure.len() <= cut, "{lo}..{hi}: two chunks at most");
        }
    }

    #[test]
    fn moves_keep_the_column_sorted_and_ranges_exact() {
        let n = 20_000u32;
        let rank: Vec<u32> = (0..n).map(|r| (r * 7_919) % n).collect();
        let mut values: Vec<i64> = (0..n).map(|r| i64::from((r * 31) % 5_000)).collect();
        let mut column =
            LiveColumn::build((0..n).map(|r| (values[r as usize], r)).collect(), &rank);
        let before = column.clone();
        // Sign-ins: rows move to the newest end, some to the middle.
        for i in 0..6_000u32 {
            let row = (i * 13) % n;
            let new = if i % 5 == 0 {
                i64::from(i % 700)
            } else {
                10_000 + i64::from(i)
            };
            assert!(column.set(row, values[row as usize], new));
            values[row as usize] = new;
        }
        assert!(!column.set(0, -1, 3), "a pair the column does not hold");
        let mut expected: Vec<(i64, Row)> = (0..n).map(|r| (values[r as usize], r)).collect();
        expected.sort_by_key(|&(v, r)| (v, rank[r as usize]));
        assert_eq!(pairs(&column), expected);
        assert_eq!(column.len(), n as usize);
        assert_consistent(&column);
        for (lo, hi) in [
            (0, 100),
            (50, 4_000),
            (0, 20_000),
            (9_000, 12_000),
            (700, 699),
        ] {
            assert_range(&column, &expected, lo, hi);
        }
        // The clone taken before the moves is untouched (copy-on-write).
        let mut old: Vec<(i64, Row)> = (0..n).map(|r| (i64::from((r * 31) % 5_000), r)).collect();
        old.sort_by_key(|&(v, r)| (v, rank[r as usize]));
        assert_eq!(pairs(&before), old);
    }

    /// A read among a few hundred candidates after sign-ins wrote every group checks them on
    /// their values rather than recomputing the groups' unions (what doubled query k's p99
    /// during a stream), and answers exactly either way.
    #[test]
    fn a_read_after_writes_to_every_group_leaves_their_unions_alone() {
        // Rows spread over ~14 containers, as a directory's are; the default shape (groups of
        // 65,536 entries), so the costs are those of a real column.
        let n = 300_000u32;
        let rank: Vec<u32> = (0..3 * n).collect();
        let mut values: Vec<Option<i64>> = vec![None; 3 * n as usize];
        for i in 0..n {
            values[(3 * i) as usize] = Some(i64::from(i));
        }
        let pairs: Vec<(i64, Row)> = (0..n).map(|i| (i64::from(i), 3 * i)).collect();
        let mut column = LiveColumn::build(pairs, &rank);
        assert!(column.groups.len() >= 4);
        // 4,000 candidates: more than the three groups outside the range cost with their
        // unions cached, fewer than recomputing them.
        let candidates: RoaringBitmap = (0..n).step_by(75).map(|i| 3 * i).collect();
        let check = |column: &LiveColumn<i64>, values: &[Option<i64>]| {
            let range = column.range(Bound::Included(100_000), Bound::Unbounded);
            let want: RoaringBitmap = candidates
                .iter()
                .filter(|&r| values[r as usize].is_some_and(|v| v >= 100_000))
                .collect();
            let (sure, unsure) = column
                .rows_within(range, &candidates)
                .expect("a live column answers every range among candidates");
            assert_eq!(&sure | &(&unsure & &want), want);
            assert!(sure.is_subset(&want));
            (sure, unsure)
        };
        check(&column, &values);
        // One sign-in out of every group: each group's union is dropped.
        for g in 0..column.groups.len() as u32 {
            let row = 3 * (g * 65_536 + 7);
            let old = values[row as usize].expect("a built row");
            let new = 1_000_000 + i64::from(g);
            assert!(column.set(row, old, new));
            values[row as usize] = Some(new);
        }
        assert!(column.groups.iter().all(|g| g.set.get().is_none()));
        let (_, unsure) = check(&column, &values);
        assert!(unsure.is_empty(), "checked on their values");
        assert!(
            column.groups.iter().all(|g| g.set.get().is_none()),
            "no union recomputed for 4,000 candidates"
        );
    }

    /// Random moves on small chunks and groups (so chunks and groups split and empty out),
    /// against a sorted vector; every range exact, and every earlier version unchanged.
    #[test]
    fn random_moves_match_a_sorted_vector_and_keep_earlier_versions() {
        for (n, shape) in [
            (
                3_000u32,
                Shape {
                    leaf: 2,
                    chunk: 8,
                    group: 4,
                },
            ),
            (
                3_000,
                Shape {
                    leaf: 1,
                    chunk: 3,
                    group: 2,
                },
            ),
            (100_000, Shape::default()),
        ] {
            let mut rng = ChaCha8Rng::seed_from_u64(u64::from(n) + shape.chunk as u64);
            let rank: Vec<u32> = {
                let mut rank: Vec<u32> = (0..n).collect();
                for i in (1..rank.len()).rev() {
                    rank.swap(i, rng.gen_range(0..=i));
                }
                rank
            };
            let mut values: Vec<i64> = (0..n).map(|_| rng.gen_range(0..1_000)).collect();
            // Every tenth row has no value (never signed in).
            let held = |r: &u32| r % 10 != 7;
            let pairs_now = |values: &[i64]| {
                let mut model: Vec<(i64, Row)> = (0..n)
                    .filter(held)
                    .map(|r| (values[r as usize], r))
                    .collect();
                model.sort_by_key(|&(v, r)| (v, rank[r as usize]));
                model
            };
            let mut column = LiveColumn::build_shaped(
                (0..n)
                    .filter(held)
                    .map(|r| (values[r as usize], r))
                    .collect(),
                &rank,
                shape,
            );
            let mut versions = vec![(column.clone(), pairs_now(&values))];
            let mut newest = 1_000;
            for step in 0..4_000 {
                let row = rng.gen_range(0..n / 10) * 10 + [0, 3, 9][step % 3];
                let new = if rng.gen_bool(0.7) {
                    newest += rng.gen_range(0..3);
                    newest
                } else {
                    rng.gen_range(0..newest + 1)
                };
                assert!(column.set(row, values[row as usize], new));
                values[row as usize] = new;
                if step % 500 == 499 {
                    let model = pairs_now(&values);
                    assert_eq!(pairs(&column), model);
                    assert_consistent(&column);
                    for _ in 0..8 {
                        let lo = rng.gen_range(0..newest + 2);
                        let hi = rng.gen_range(lo..newest + 3);
                        assert_range(&column, &model, lo, hi);
                    }
                    assert_range(&column, &model, 500, newest + 1);
                    assert_range(&column, &model, 0, newest + 1);
                    versions.push((column.clone(), model));
                }
            }
            assert!(column.groups.len() > 1, "several groups");
            for (version, model) in &versions {
                assert_eq!(&pairs(version), model, "an earlier version changed");
                assert_consistent(version);
            }
        }
    }

    /// Sign-ins piling into the newest chunk (it splits, its group splits) and moves across
    /// groups, while a reader holds an earlier version whose group unions it has read: the
    /// earlier version keeps its unions and values, the new one recomputes those of the groups
    /// written.
    #[test]
    fn unions_are_recomputed_for_written_groups_only() {
        let n = 50_000u32;
        let rank: Vec<u32> = (0..n).collect();
        let mut values: Vec<i64> = (0..n).map(|r| i64::from(r % 9_000)).collect();
        let shape = Shape {
            leaf: 4,
            chunk: 16,
            group: 4,
        };
        let pairs_of = |values: &[i64]| {
            let mut model: Vec<(i64, Row)> = (0..n).map(|r| (values[r as usize], r)).collect();
            model.sort_by_key(|&(v, r)| (v, rank[r as usize]));
            model
        };
        let mut column = LiveColumn::build_shaped(pairs_of(&values), &rank, shape);
        let groups_before = column.groups.len();
        // A reader's version, its unions read.
        let held = column.clone();
        let held_model = pairs_of(&values);
        assert_consistent(&held);
        for i in 0..300u32 {
            let row = (i * 7_919) % n;
            // Most to the newest end (one chunk), every tenth into the middle (another group).
            let new = if i % 10 == 0 {
                4_500
            } else {
                10_000 + i64::from(i)
            };
            assert!(column.set(row, values[row as usize], new));
            values[row as usize] = new;
        }
        assert!(
            column.groups.len() > groups_before,
            "the newest group split"
        );
        let shared = column
            .groups
            .iter()
            .filter(|g| held.groups.iter().any(|h| Arc::ptr_eq(g, h)))
            .count();
        assert!(shared > 0, "groups no move wrote stay shared");
        assert!(
            column
                .groups
                .iter()
                .filter(|g| g.set.get().is_none())
                .count()
                >= 1,
            "a written group drops its union"
        );
        let model = pairs_of(&values);
        assert_eq!(pairs(&column), model);
        assert_consistent(&column);
        assert_range(&column, &model, 4_000, 5_000);
        assert_range(&column, &model, 9_999, 20_000);
        assert_eq!(pairs(&held), held_model);
        assert_consistent(&held);
        assert_range(&held, &held_model, 4_000, 5_000);
    }

    /// A chunk's reads across its leaf edges (positions, spans, parts) and its split, against
    /// the flat vector of its entries, for every leaf size and span.
    #[test]
    fn chunk_reads_across_leaf_edges_and_splits_match_a_flat_vector() {
        for leaf in 1..5 {
            for n in 1..24u32 {
                let values: Vec<i64> = (0..n).map(|v| i64::from(v / 2)).collect();
                let rows: Vec<Row> = (0..n).map(|r| (r * 7 + 3) % 31 + r * 40).collect();
                let chunk = Chunk::new(values.clone(), rows.clone(), leaf);
                assert_eq!(chunk.len(), n as usize);
                assert_eq!(chunk.leaves.len(), (n as usize).div_ceil(leaf));
                for (k, &value) in values.iter().enumerate() {
                    assert_eq!(chunk.value(k), value);
                }
                for a in 0..=n as usize {
                    for b in a..=n as usize {
                        assert_eq!(chunk.rows_at(a..b), rows[a..b], "{a}..{b}");
                        let want: RoaringBitmap = rows[a..b].iter().copied().collect();
                        assert_eq!(chunk.part(a..b), want, "{a}..{b}");
                    }
                }
                if chunk.leaves.len() >= 2 {
                    let mut head = chunk.clone();
                    let tail = head.split();
                    assert!(head.len() > 0 && tail.len() > 0);
                    let joined: Vec<(i64, Row)> = head.entries().chain(tail.entries()).collect();
                    let flat: Vec<(i64, Row)> = values.iter().copied().zip(rows.clone()).collect();
                    assert_eq!(joined, flat);
                    for part in [&head, &tail] {
                        let set: RoaringBitmap = part.entries().map(|(_, row)| row).collect();
                        assert_eq!(part.set, set);
                        assert_eq!(part.ends.last(), Some(&part.len()));
                    }
                    // The split copy is independent of the chunk it was taken from.
                    assert_eq!(chunk.entries().collect::<Vec<_>>(), flat);
                }
            }
        }
    }

    /// Leaves that empty out are dropped, a chunk of many small leaves splits, and a leaf
    /// grown past twice its size splits: moves on a tiny shape against a sorted vector, every
    /// range of the small value domain exact after each move.
    #[test]
    fn leaves_empty_split_and_every_range_stays_exact() {
        let shape = Shape {
            leaf: 2,
            chunk: 4,
            group: 2,
        };
        let n = 40u32;
        // A permutation (17 and 40 are coprime), as id ranks are.
        let rank: Vec<u32> = (0..n).map(|r| (r * 17) % n).collect();
        let mut values: Vec<i64> = (0..n).map(i64::from).collect();
        let model_of = |values: &[i64]| {
            let mut model: Vec<(i64, Row)> = (0..n).map(|r| (values[r as usize], r)).collect();
            model.sort_by_key(|&(v, r)| (v, rank[r as usize]));
            model
        };
        let mut column = LiveColumn::build_shaped(model_of(&values), &rank, shape);
        let mut most_leaves = 0;
        // Every row to the newest end in turn (old leaves empty out, the newest splits), then
        // every other row back into the middle (leaves there grow and split).
        let moves = (0..n)
            .map(|r| (r, 100 + i64::from(r)))
            .chain((0..n).step_by(2).map(|r| (r, 50)));
        for (row, new) in moves {
            assert!(column.set(row, values[row as usize], new));
            values[row as usize] = new;
            let model = model_of(&values);
            assert_eq!(pairs(&column), model);
            assert_consistent(&column);
            for chunk in column.chunks() {
                most_leaves = most_leaves.max(chunk.leaves.len());
            }
            for lo in [0, 10, 39, 40, 50, 51, 99, 100, 120, 140] {
                for hi in [1, 11, 40, 50, 51, 100, 121, 141] {
                    assert_range(&column, &model, lo, hi);
                }
            }
        }
        assert!(most_leaves >= 2, "chunks of several leaves");
    }

    /// A chunk whose leaves moves emptied down to one entry each splits by its leaf count
    /// (its copy stays short) and keeps its entries in order.
    #[test]
    fn a_chunk_of_many_small_leaves_splits() {
        let shape = Shape {
            leaf: 4,
            chunk: 8,
            group: 64,
        };
        let leaves = 4 * shape.leaves_per_chunk();
        let mut chunk = Chunk::<i64>::new(Vec::new(), Vec::new(), shape.leaf);
        for k in 0..=leaves {
            let leaf = Leaf {
                values: vec![k as i64],
                rows: vec![k as Row],
            };
            chunk.leaves.push(Arc::new(leaf));
            chunk.set.insert(k as Row);
        }
        chunk.count();
        // Too big by its leaves, not its entries.
        assert!(chunk.too_big(shape) && chunk.len() <= 2 * shape.chunk);
        let tail = chunk.split();
        assert!(!chunk.too_big(shape) && !tail.too_big(shape));
        let joined: Vec<i64> = chunk
            .entries()
            .chain(tail.entries())
            .map(|(v, _)| v)
            .collect();
        assert_eq!(joined, (0..=leaves as i64).collect::<Vec<_>>());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Random columns, shapes and moves against a sorted vector: every range of the value
        /// domain exact, and the version before the moves unchanged.
        #[test]
        fn random_shapes_and_moves_match_a_sorted_vector(
            n in 1u32..120,
            (leaf, per_chunk, group) in (1usize..4, 2usize..4, 1usize..4),
            seed in 0u64..1_000,
            moves in 0usize..200,
        ) {
            let shape = Shape { leaf, chunk: leaf * per_chunk, group };
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            // Id ranks are a permutation (ids are unique).
            let mut rank: Vec<u32> = (0..n).collect();
            for i in (1..rank.len()).rev() {
                rank.swap(i, rng.gen_range(0..=i));
            }
            let mut values: Vec<i64> = (0..n).map(|_| rng.gen_range(0..30)).collect();
            let model_of = |values: &[i64]| {
                let mut model: Vec<(i64, Row)> =
                    (0..n).map(|r| (values[r as usize], r)).collect();
                model.sort_by_key(|&(v, r)| (v, rank[r as usize]));
                model
            };
            let first = model_of(&values);
            let mut column = LiveColumn::build_shaped(first.clone(), &rank, shape);
            let before = column.clone();
            for _ in 0..moves {
                let row = rng.gen_range(0..n);
                let new = rng.gen_range(0..40);
                proptest::prop_assert!(column.set(row, values[row as usize], new));
                values[row as usize] = new;
            }
            let model = model_of(&values);
            proptest::prop_assert_eq!(pairs(&column), model.clone());
            assert_consistent(&column);
            for lo in 0..42 {
                for hi in (lo..43).step_by(3) {
                    assert_range(&column, &model, lo, hi);
                }
            }
            proptest::prop_assert_eq!(pairs(&before), first);
        }
    }
}
