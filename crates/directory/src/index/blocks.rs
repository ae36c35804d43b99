//! Cumulative block bitmaps over a sorted permutation, so a *range of positions* becomes a row
//! set in time independent of its size.
//!
//! Time ranges (`lastAccess(after: …)`, `created: a .. b`) and prefixes (`nameStartsWith: mar`)
//! are contiguous ranges of a permutation sorted by value, but their rows are scattered: turning
//! half a million positions into a bitmap by sorting them costs ~10 ms at 1M users (measured in
//! benches/RESULTS.md, query g). Here the permutation is cut into 64 blocks and `prefix[k]` holds
//! the rows of the first `k` blocks, so the whole blocks inside a range are one difference of two
//! precomputed bitmaps (dense containers: microseconds), and only the two partial blocks at the
//! ends are sorted. Small ranges skip all this and sort directly.
//! Memory: 64 cumulative bitmaps, ~8 MB per permutation at 1M users.

use std::ops::Range;

use roaring::RoaringBitmap;

use super::column::bitmap_from_sorted;
use crate::model::Row;

/// Number of blocks a permutation is cut into.
const BLOCKS: usize = 64;
/// Below this many positions a permutation gets no blocks (sorting is cheap enough).
const MIN_LEN: usize = 16 * 1024;

/// Cumulative bitmaps of a permutation's blocks.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    step: usize,
    /// `prefix[k]`: rows at positions `< k * step`.
    prefix: Vec<RoaringBitmap>,
}

impl Blocks {
    /// Builds the blocks of a permutation of `len` positions (`row_at(p)` is the row at `p`).
    pub(crate) fn build(len: usize, row_at: impl Fn(usize) -> Row) -> Blocks {
        if len < MIN_LEN {
            return Blocks::default();
        }
        let step = len.div_ceil(BLOCKS);
        let mut prefix = Vec::with_capacity(BLOCKS + 1);
        let mut running = RoaringBitmap::new();
        prefix.push(running.clone());
        let mut start = 0;
        while start < len {
            let end = (start + step).min(len);
            let mut rows: Vec<Row> = (start..end).map(&row_at).collect();
            rows.sort_unstable();
            running |= bitmap_from_sorted(rows);
            prefix.push(running.clone());
            start = end;
        }
        Blocks { step, prefix }
    }

    /// The rows at `range` of the permutation.
    pub(crate) fn rows(&self, range: Range<usize>, row_at: impl Fn(usize) -> Row) -> RoaringBitmap {
        let sorted = |positions: Range<usize>| {
            let mut rows: Vec<Row> = positions.map(&row_at).collect();
            rows.sort_unstable();
            bitmap_from_sorted(rows)
        };
        if self.step == 0 || range.len() < 2 * self.step {
            return sorted(range);
        }
        let first_whole = range.start.div_ceil(self.step);
        let end_whole = range.end / self.step;
        let (Some(upper), Some(lower)) = (self.prefix.get(end_whole), self.prefix.get(first_whole))
        else {
            return sorted(range);
        };
        let mut rows = upper - lower;
        rows |= sorted(range.start..first_whole * self.step);
        rows |= sorted(end_whole * self.step..range.end);
        rows
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        self.prefix.iter().map(super::column::bitmap_bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ranges_equal_sorted_ranges() {
        // A scrambled permutation of 50,000 rows.
        let len = 50_000usize;
        let perm: Vec<Row> = (0..len as u64)
            .map(|i| ((i * 7_919) % len as u64) as Row)
            .collect();
        let blocks = Blocks::build(len, |p| perm[p]);
        for range in [
            0..len,
            0..1,
            10..40_000,
            781..782,
            12_345..49_999,
            30_000..30_000,
            1_000..8_000,
        ] {
            let expected: RoaringBitmap = perm[range.clone()].iter().copied().collect();
            assert_eq!(
                blocks.rows(range.clone(), |p| perm[p]),
                expected,
                "{range:?}"
            );
        }
    }
}
