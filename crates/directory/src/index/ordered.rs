//! Ordered numeric columns (creation, last access, update times; GitLab numbers).
//!
//! Range filters (`after:`, `lastAccess(…)`, `number: a .. b`) and `orderBy` on these columns both
//! want the values sorted, so each column is two parallel vectors sorted by (value, id rank): a
//! range is two binary searches (its size, O(log n), is the planner's exact estimate) and the
//! slice's rows, sorted, become the bitmap. Users without a value (never accessed) are simply not
//! in the column. Two vectors instead of a vector of pairs saves the padding of `(i64, u32)`.

use std::ops::{Bound, Range};

use roaring::RoaringBitmap;

use super::blocks::Blocks;
use super::live_column::LiveColumn;
use crate::model::{Millis, Model, Row, User};

/// What range filters and stats ask of an ordered column ([`SortedValues`], or the
/// [`LiveColumn`] the live store updates in place).
pub(crate) trait OrderedColumn<T> {
    /// Positions whose value lies within the bounds (empty when the bounds are reversed).
    fn range(&self, lo: Bound<T>, hi: Bound<T>) -> Range<usize>;
    /// The rows at a range of positions, as a set.
    fn rows(&self, range: Range<usize>) -> RoaringBitmap;
    /// Entries (users with a value).
    fn len(&self) -> usize;
    /// Heap bytes.
    fn heap_bytes(&self) -> u64;
    /// The rows at `range` among `candidates` without materialising the range: `(sure,
    /// unsure)` — `sure` are in the range, `unsure` (the candidates in the at most two blocks
    /// or chunks the range cuts) must be checked on their records. `None` for a column too
    /// short to have blocks.
    fn rows_within(
        &self,
        range: Range<usize>,
        candidates: &RoaringBitmap,
    ) -> Option<(RoaringBitmap, RoaringBitmap)>;
}

impl<T: Ord + Copy> OrderedColumn<T> for SortedValues<T> {
    fn range(&self, lo: Bound<T>, hi: Bound<T>) -> Range<usize> {
        SortedValues::range(self, lo, hi)
    }
    fn rows(&self, range: Range<usize>) -> RoaringBitmap {
        SortedValues::rows(self, range)
    }
    fn len(&self) -> usize {
        SortedValues::len(self)
    }
    fn heap_bytes(&self) -> u64 {
        SortedValues::heap_bytes(self)
    }
    fn rows_within(
        &self,
        range: Range<usize>,
        candidates: &RoaringBitmap,
    ) -> Option<(RoaringBitmap, RoaringBitmap)> {
        SortedValues::rows_within(self, range, candidates)
    }
}

impl<T: Ord + Copy> OrderedColumn<T> for LiveColumn<T> {
    fn range(&self, lo: Bound<T>, hi: Bound<T>) -> Range<usize> {
        LiveColumn::range(self, lo, hi)
    }
    fn rows(&self, range: Range<usize>) -> RoaringBitmap {
        LiveColumn::rows(self, range)
    }
    fn len(&self) -> usize {
        LiveColumn::len(self)
    }
    fn heap_bytes(&self) -> u64 {
        LiveColumn::heap_bytes(self)
    }
    fn rows_within(
        &self,
        range: Range<usize>,
        candidates: &RoaringBitmap,
    ) -> Option<(RoaringBitmap, RoaringBitmap)> {
        LiveColumn::rows_within(self, range, candidates)
    }
}

/// Sorts `(value, row)` pairs by value, ties by `id_rank[row]` (rows are distinct, so the
/// order is total). The rank is looked up once per pair and carried in the sorted key: looking
/// it up in every comparison was ~20 cache misses per pair at 1M users.
pub(super) fn sort_by_value_and_rank<T: Ord + Copy>(pairs: &mut [(T, Row)], id_rank: &[u32]) {
    let mut keyed: Vec<(T, u32, Row)> = pairs
        .iter()
        .map(|&(value, row)| (value, id_rank[row as usize], row))
        .collect();
    keyed.sort_unstable();
    for (pair, (value, _, row)) in pairs.iter_mut().zip(keyed) {
        *pair = (value, row);
    }
}

/// Values of one column, ascending, with their rows.
#[derive(Debug, Default)]
pub(crate) struct SortedValues<T> {
    values: Vec<T>,
    rows: Vec<Row>,
    /// Cumulative block bitmaps of `rows`, so wide ranges need no sort.
    blocks: Blocks,
}

impl<T: Ord + Copy> SortedValues<T> {
    /// Sorts `(value, row)` pairs by value, ties by `id_rank[row]`.
    pub(crate) fn build(mut pairs: Vec<(T, Row)>, id_rank: &[u32]) -> SortedValues<T> {
        sort_by_value_and_rank(&mut pairs, id_rank);
        let (values, rows): (Vec<T>, Vec<Row>) = pairs.into_iter().unzip();
        let blocks = Blocks::build(rows.len(), |p| rows[p]);
        SortedValues {
            values,
            rows,
            blocks,
        }
    }

    /// Positions whose value lies within the bounds (empty when the bounds are reversed).
    pub(crate) fn range(&self, lo: Bound<T>, hi: Bound<T>) -> Range<usize> {
        let start = match lo {
            Bound::Included(x) => self.values.partition_point(|&v| v < x),
            Bound::Excluded(x) => self.values.partition_point(|&v| v <= x),
            Bound::Unbounded => 0,
        };
        let end = match hi {
            Bound::Included(y) => self.values.partition_point(|&v| v <= y),
            Bound::Excluded(y) => self.values.partition_point(|&v| v < y),
            Bound::Unbounded => self.values.len(),
        };
        start..end.max(start)
    }

    /// The rows at a range of positions, as a set.
    pub(crate) fn rows(&self, range: Range<usize>) -> RoaringBitmap {
        self.blocks.rows(range, |p| self.rows[p])
    }

    /// Rows in ascending value order (ties by id rank).
    /// The rows at `range` among `candidates`: `(sure, unsure)` as [`Blocks::within`] gives
    /// them, or `None` for a column without blocks.
    pub(crate) fn rows_within(
        &self,
        range: Range<usize>,
        candidates: &RoaringBitmap,
    ) -> Option<(RoaringBitmap, RoaringBitmap)> {
        self.blocks.within(range, candidates)
    }

    pub(crate) fn sorted_rows(&self) -> &[Row] {
        &self.rows
    }

    /// The value at position `k`.
    pub(crate) fn value(&self, k: usize) -> T {
        self.values[k]
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        (self.values.capacity() * std::mem::size_of::<T>()
            + self.rows.capacity() * std::mem::size_of::<Row>()) as u64
            + self.blocks.heap_bytes()
    }
}

/// The ordered family: every time column and the GitLab numbers, ties by id rank.
#[derive(Debug, Default)]
pub(crate) struct SortedColumns {
    /// `created_at`.
    pub(crate) created: SortedValues<Millis>,
    /// `last_access_at` (never-accessed users are not in it). Updated in place by the live
    /// store, so [`super::Indexes`] takes it out of the build into a part of its own.
    pub(crate) last_access: LiveColumn<Millis>,
    /// `updated_at`, defaulting to `created_at`.
    pub(crate) updated: SortedValues<Millis>,
    /// GitLab numbers.
    pub(crate) numbers: SortedValues<u64>,
}

impl SortedColumns {
    /// Reads every user once per column.
    pub(crate) fn build(model: &Model, id_rank: &[u32]) -> SortedColumns {
        fn column<T: Ord + Copy>(
            model: &Model,
            id_rank: &[u32],
            value: impl Fn(&User) -> Option<T>,
        ) -> SortedValues<T> {
            let pairs = model
                .users
                .iter()
                .filter_map(|(row, user)| value(user).map(|v| (v, row)))
                .collect();
            SortedValues::build(pairs, id_rank)
        }
        SortedColumns {
            created: column(model, id_rank, |user| Some(user.created_at)),
            last_access: LiveColumn::build(
                model
                    .users
                    .iter()
                    .filter_map(|(row, _)| model.users.last_access(row as usize).map(|v| (v, row)))
                    .collect(),
                id_rank,
            ),
            updated: column(model, id_rank, |user| Some(user.updated_or_created())),
            numbers: column(model, id_rank, |user| Some(user.number)),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Carrying the rank in the key gives the order of looking it up per comparison.
        #[test]
        fn pairs_sort_by_value_then_id_rank(
            values in proptest::collection::vec(0i64..20, 0..300),
            seed in any::<u64>(),
        ) {
            let rows = values.len() as u32;
            // A permutation of the rows as their id rank.
            let mut id_rank: Vec<u32> = (0..rows).collect();
            let mut state = seed;
            for i in (1..id_rank.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                id_rank.swap(i, (state >> 33) as usize % (i + 1));
            }
            let mut pairs: Vec<(i64, Row)> =
                values.iter().zip(0..rows).map(|(&value, row)| (value, row)).collect();
            let mut expected = pairs.clone();
            expected.sort_unstable_by_key(|&(value, row)| (value, id_rank[row as usize]));
            sort_by_value_and_rank(&mut pairs, &id_rank);
            prop_assert_eq!(pairs, expected);
        }
    }
}
