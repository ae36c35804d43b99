//! A sorted column the live store updates in place under copy-on-write (the last-access column:
//! 70 % of a live directory's changes are sign-ins).
//!
//! [`super::ordered::SortedValues`] keeps one sorted vector and 64 *cumulative* block bitmaps:
//! moving one row would copy the whole vector and up to 64 bitmaps. Here the sorted
//! (value, row) pairs are cut into chunks of a few thousand, each behind its own `Arc` with the
//! bitmap of its rows, so moving a row (a sign-in moves it from its old time to the newest end)
//! copies the one or two chunks it leaves and enters plus the chunk pointer list. A range is
//! two binary searches (over chunks, then inside one); its rows are the union of the whole
//! chunks' bitmaps plus the two partial ends, or the column's rows minus the chunks outside when
//! that is shorter. The `orderBy` permutations of the column are cached per version (reset by a
//! change, rebuilt in one linear pass on next use).

use std::ops::{Bound, Range};
use std::sync::{Arc, OnceLock};

use roaring::{MultiOps, RoaringBitmap};

use super::column::{bitmap_bytes, bitmap_from_sorted};
use super::order::{KeyedRows, Permutation};
use crate::model::Row;

/// Entries per chunk at build time; a chunk splits in two when it passes twice this.
const CHUNK: usize = 4096;

/// One run of the column, with the set of its rows.
#[derive(Debug, Default, Clone)]
struct Chunk<T> {
    values: Vec<T>,
    rows: Vec<Row>,
    set: RoaringBitmap,
}

impl<T: Copy> Chunk<T> {
    fn new(values: Vec<T>, rows: Vec<Row>) -> Chunk<T> {
        let mut sorted = rows.clone();
        sorted.sort_unstable();
        Chunk {
            values,
            rows,
            set: bitmap_from_sorted(sorted),
        }
    }
}

/// Values ascending (ties by id rank) with their rows, in copy-on-write chunks.
#[derive(Debug, Default)]
pub(crate) struct LiveColumn<T> {
    /// Non-empty chunks, in order.
    chunks: Vec<Arc<Chunk<T>>>,
    /// `ends[i]`: positions up to the end of chunk `i` (cumulative lengths).
    ends: Vec<usize>,
    /// Every row in the column.
    all: Arc<RoaringBitmap>,
    /// Id rank of every row the build saw (ties are ordered by it).
    id_rank: Arc<Vec<u32>>,
    /// `orderBy` permutations (ascending, descending), built on first use per version.
    orders: [OnceLock<Permutation>; 2],
}

impl<T: Copy> Clone for LiveColumn<T> {
    /// Copies chunk pointers only; the permutations are not carried over (the clone is about
    /// to change).
    fn clone(&self) -> LiveColumn<T> {
        LiveColumn {
            chunks: self.chunks.clone(),
            ends: self.ends.clone(),
            all: Arc::clone(&self.all),
            id_rank: Arc::clone(&self.id_rank),
            orders: Default::default(),
        }
    }
}

impl<T: Ord + Copy> LiveColumn<T> {
    /// Sorts `(value, row)` pairs by value, ties by `id_rank[row]`.
    pub(crate) fn build(mut pairs: Vec<(T, Row)>, id_rank: &[u32]) -> LiveColumn<T> {
        pairs.sort_unstable_by_key(|&(value, row)| (value, id_rank[row as usize]));
        let all = bitmap_from_sorted({
            let mut rows: Vec<Row> = pairs.iter().map(|&(_, row)| row).collect();
            rows.sort_unstable();
            rows
        });
        let chunks = pairs
            .chunks(CHUNK)
            .map(|run| {
                let (values, rows) = run.iter().copied().unzip();
                Arc::new(Chunk::new(values, rows))
            })
            .collect();
        let mut column = LiveColumn {
            chunks,
            ends: Vec::new(),
            all: Arc::new(all),
            id_rank: Arc::new(id_rank.to_vec()),
            orders: Default::default(),
        };
        column.count();
        column
    }

    fn count(&mut self) {
        let mut end = 0;
        self.ends = self
            .chunks
            .iter()
            .map(|chunk| {
                end += chunk.values.len();
                end
            })
            .collect();
    }

    fn rank(&self, row: Row) -> u32 {
        self.id_rank.get(row as usize).copied().unwrap_or(u32::MAX)
    }

    /// Where `(value, row)` sits or would sit: (chunk, index inside it). Past the last entry it
    /// is the end of the last chunk.
    fn locate(&self, value: T, row: Row) -> Option<(usize, usize)> {
        let key = (value, self.rank(row));
        let key_at = |chunk: &Chunk<T>, k: usize| (chunk.values[k], self.rank(chunk.rows[k]));
        let last = self.chunks.len().checked_sub(1)?;
        let c = self
            .chunks
            .partition_point(|chunk| key_at(chunk, chunk.values.len() - 1) < key)
            .min(last);
        let chunk = &self.chunks[c];
        // Binary search for the first index whose key is not below `key`.
        let (mut lo, mut hi) = (0, chunk.values.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if key_at(chunk, mid) < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Some((c, lo))
    }

    /// Moves `row` from `old` to `new` (a sign-in). False, and nothing changed, when the
    /// column does not hold `(old, row)`.
    pub(crate) fn set(&mut self, row: Row, old: T, new: T) -> bool {
        let Some((c, k)) = self.locate(old, row) else {
            return false;
        };
        let found = self.chunks[c]
            .rows
            .get(k)
            .is_some_and(|&r| r == row && self.chunks[c].values[k] == old);
        if !found {
            return false;
        }
        let chunk = Arc::make_mut(&mut self.chunks[c]);
        chunk.values.remove(k);
        chunk.rows.remove(k);
        chunk.set.remove(row);
        if chunk.values.is_empty() {
            self.chunks.remove(c);
        }
        self.insert(row, new);
        self.count();
        self.orders = Default::default();
        true
    }

    /// Inserts `(value, row)` in order, splitting a chunk that grows past twice [`CHUNK`].
    fn insert(&mut self, row: Row, value: T) {
        let Some((c, k)) = self.locate(value, row) else {
            self.chunks
                .push(Arc::new(Chunk::new(vec![value], vec![row])));
            return;
        };
        let chunk = Arc::make_mut(&mut self.chunks[c]);
        chunk.values.insert(k, value);
        chunk.rows.insert(k, row);
        chunk.set.insert(row);
        if chunk.values.len() > 2 * CHUNK {
            let values = chunk.values.split_off(CHUNK);
            let rows = chunk.rows.split_off(CHUNK);
            let mut kept = chunk.rows.clone();
            kept.sort_unstable();
            chunk.set = bitmap_from_sorted(kept);
            self.chunks
                .insert(c + 1, Arc::new(Chunk::new(values, rows)));
        }
    }

    /// (chunk, index inside it) of position `p` (`p` < len).
    fn at(&self, p: usize) -> (usize, usize) {
        let c = self.ends.partition_point(|&end| end <= p);
        let start = if c == 0 { 0 } else { self.ends[c - 1] };
        (c, p - start)
    }

    /// Positions whose value lies within the bounds (empty when the bounds are reversed).
    pub(crate) fn range(&self, lo: Bound<T>, hi: Bound<T>) -> Range<usize> {
        // The first position whose value is not below the bound (`strict`: not at or below).
        let first = |x: T, strict: bool| {
            let below = |v: T| if strict { v <= x } else { v < x };
            let c = self
                .chunks
                .partition_point(|chunk| below(chunk.values[chunk.values.len() - 1]));
            match self.chunks.get(c) {
                None => self.len(),
                Some(chunk) => {
                    let start = if c == 0 { 0 } else { self.ends[c - 1] };
                    start + chunk.values.partition_point(|&v| below(v))
                }
            }
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

    /// The rows at a range of positions, as a set.
    pub(crate) fn rows(&self, range: Range<usize>) -> RoaringBitmap {
        if range.is_empty() {
            return RoaringBitmap::new();
        }
        let (first, from) = self.at(range.start);
        let (last, to) = self.at(range.end - 1);
        let part = |c: usize, span: Range<usize>| {
            let mut rows = self.chunks[c].rows[span].to_vec();
            rows.sort_unstable();
            bitmap_from_sorted(rows)
        };
        if first == last {
            return part(first, from..to + 1);
        }
        let whole = first + 1..last;
        let mut rows = if whole.len() * 2 > self.chunks.len() {
            // Shorter from the other side: everything but the chunks outside.
            let outside = (0..first).chain(last + 1..self.chunks.len());
            let outside = outside.map(|c| &self.chunks[c].set).union();
            let mut rows = &*self.all - outside;
            rows -= &self.chunks[first].set;
            rows -= &self.chunks[last].set;
            rows
        } else {
            whole.map(|c| &self.chunks[c].set).union()
        };
        rows |= part(first, from..self.chunks[first].rows.len());
        rows |= part(last, 0..to + 1);
        rows
    }

    /// The rows at `range` among `candidates`: `(sure, unsure)` — the candidates in the chunks
    /// wholly inside the range, and those in the at most two chunks the range cuts (for the
    /// caller to check on their records). `None` when checking every candidate on its record is
    /// cheaper than building the range's whole chunks: few candidates against a wide range.
    /// (Intersecting the candidates with each chunk's set one by one is not an option: at 1M
    /// users that is hundreds of small intersections, ~10 ms for query k.)
    pub(crate) fn rows_within(
        &self,
        range: Range<usize>,
        candidates: &RoaringBitmap,
    ) -> Option<(RoaringBitmap, RoaringBitmap)> {
        if range.is_empty() || candidates.is_empty() {
            return Some((RoaringBitmap::new(), RoaringBitmap::new()));
        }
        // `rows` touches the smaller side of the column (the range or its complement), ~2 ns
        // per position at 1M users; a candidate checked on its record costs ~180 ns (a cache
        // miss or two) — measured on query k (`engine/examples/profile_query`).
        let width = range.len().min(self.len() - range.len());
        if candidates.len() < (width / 64) as u64 {
            return None;
        }
        let (first, from) = self.at(range.start);
        let (last, to) = self.at(range.end - 1);
        let start_cut = from > 0;
        let end_cut = to + 1 < self.chunks[last].rows.len();
        let whole_start = if start_cut { first + 1 } else { first };
        let whole_end = if end_cut { last } else { last + 1 };
        let mut unsure = RoaringBitmap::new();
        if start_cut {
            unsure |= candidates & &self.chunks[first].set;
        }
        if end_cut && !(start_cut && first == last) {
            unsure |= candidates & &self.chunks[last].set;
        }
        let sure = if whole_start < whole_end {
            let start = if whole_start == 0 {
                0
            } else {
                self.ends[whole_start - 1]
            };
            candidates & &self.rows(start..self.ends[whole_end - 1])
        } else {
            RoaringBitmap::new()
        };
        Some((sure, unsure))
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// The rows with a value ascending by (value, id), and where equal values start.
    pub(crate) fn keyed_rows(&self) -> KeyedRows {
        let mut rows = Vec::with_capacity(self.len());
        let mut same_as_previous = Vec::with_capacity(self.len());
        let mut previous = None;
        for chunk in &self.chunks {
            for (&value, &row) in chunk.values.iter().zip(&chunk.rows) {
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
            .chunks
            .iter()
            .map(|chunk| {
                (chunk.values.capacity() * std::mem::size_of::<T>()
                    + chunk.rows.capacity() * std::mem::size_of::<Row>()) as u64
                    + bitmap_bytes(&chunk.set)
            })
            .sum();
        let orders: u64 = self
            .orders
            .iter()
            .filter_map(OnceLock::get)
            .map(|p| ((p.order.capacity() + p.rank.capacity()) * 4) as u64)
            .sum();
        chunks + orders + bitmap_bytes(&self.all) + 4 * self.id_rank.capacity() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column as plain sorted pairs, for comparison.
    fn pairs(column: &LiveColumn<i64>) -> Vec<(i64, Row)> {
        column
            .chunks
            .iter()
            .flat_map(|c| c.values.iter().copied().zip(c.rows.iter().copied()))
            .collect()
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
        for (lo, hi) in [
            (0, 100),
            (50, 4_000),
            (0, 20_000),
            (9_000, 12_000),
            (700, 699),
        ] {
            let range = column.range(Bound::Included(lo), Bound::Excluded(hi));
            let want: RoaringBitmap = expected
                .iter()
                .filter(|&&(v, _)| lo <= v && v < hi)
                .map(|&(_, r)| r)
                .collect();
            assert_eq!(range.len() as u64, want.len(), "{lo}..{hi}");
            // Among candidates: `sure` is exact inside the range, `unsure` holds the rest of
            // the candidates that are in it, and both are candidates.
            let candidates: RoaringBitmap = (0..n).filter(|r| r % 3 == 0).collect();
            let (sure, unsure) = column
                .rows_within(range.clone(), &candidates)
                .expect("a third of the rows are candidates");
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
            assert!(
                unsure.len() <= 2 * 2 * CHUNK as u64,
                "{lo}..{hi}: two chunks at most"
            );
            assert_eq!(column.rows(range), want, "{lo}..{hi}");
        }
        // The clone taken before the moves is untouched (copy-on-write).
        let mut old: Vec<(i64, Row)> = (0..n).map(|r| (i64::from((r * 31) % 5_000), r)).collect();
        old.sort_by_key(|&(v, r)| (v, rank[r as usize]));
        assert_eq!(pairs(&before), old);
    }
}
