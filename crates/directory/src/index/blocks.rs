//! Cumulative block bitmaps over a sorted permutation, so a *range of positions* becomes a row
//! set in time independent of its size.
//!
//! Time ranges (`created: a .. b`, `updated`) and GitLab number ranges are contiguous ranges
//! of a permutation sorted by value, but their rows are scattered: turning half a million
//! positions into a bitmap by sorting them costs ~10 ms at 1M users (measured in
//! benches/RESULTS.md, query g, when the last-access column still used blocks — it is now
//! updated in place and chunked instead, `live_column.rs`; name and login prefixes use ready
//! prefix sets, `prefixes.rs`). Here the permutation is cut into 64 blocks and `prefix[k]` holds
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

    /// The rows at `range` among `candidates`, sorting nothing: `(sure, unsure)`, where `sure`
    /// are the candidates in the whole blocks inside the range (two bitmap operations on the
    /// candidates) and `unsure` the candidates in the at most two blocks the range cuts, for the
    /// caller to check one by one (~2/64 of the candidates). `None` without blocks.
    pub(crate) fn within(
        &self,
        range: Range<usize>,
        candidates: &RoaringBitmap,
    ) -> Option<(RoaringBitmap, RoaringBitmap)> {
        if self.step == 0 {
            return None;
        }
        let block = |k: usize| -> Option<RoaringBitmap> {
            Some((candidates & self.prefix.get(k + 1)?) - self.prefix.get(k)?)
        };
        let first_whole = range.start.div_ceil(self.step);
        let end_whole = range.end / self.step;
        let mut sure = RoaringBitmap::new();
        let mut unsure = RoaringBitmap::new();
        if range.is_empty() {
            return Some((sure, unsure));
        }
        if first_whole < end_whole {
            sure = (candidates & self.prefix.get(end_whole)?) - self.prefix.get(first_whole)?;
        }
        let start_cut = !range.start.is_multiple_of(self.step);
        if start_cut {
            unsure |= block(range.start / self.step)?;
        }
        // The block holding the range's end, unless it is the start block just added.
        let end_block = range.end / self.step;
        let end_cut = !range.end.is_multiple_of(self.step);
        if end_cut && !(start_cut && end_block == range.start / self.step) {
            unsure |= block(end_block)?;
        }
        Some((sure, unsure))
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        self.prefix.iter().map(super::column::bitmap_bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scrambled permutation of 50,000 rows and its blocks.
    fn scrambled() -> (usize, Vec<Row>, Blocks) {
        let len = 50_000usize;
        let perm: Vec<Row> = (0..len as u64)
            .map(|i| ((i * 7_919) % len as u64) as Row)
            .collect();
        let blocks = Blocks::build(len, |p| perm[p]);
        (len, perm, blocks)
    }

    #[test]
    fn block_ranges_equal_sorted_ranges() {
        let (len, perm, blocks) = scrambled();
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

    #[test]
    fn ranges_among_candidates_leave_only_the_cut_blocks_to_check() {
        let (len, perm, blocks) = scrambled();
        let step = blocks.step;
        let candidates: RoaringBitmap = (0..len as Row).filter(|r| r % 3 == 0).collect();
        for range in [
            0..len,
            0..1,
            10..40_000,
            781..782,
            12_345..49_999,
            30_000..30_000,
            step..2 * step,
            step..step + 5,
            step + 5..3 * step,
            2 * step + 1..len,
        ] {
            let in_range: RoaringBitmap = perm[range.clone()].iter().copied().collect();
            let expected = &in_range & &candidates;
            let Some((sure, unsure)) = blocks.within(range.clone(), &candidates) else {
                panic!("blocks exist");
            };
            assert!(sure.is_subset(&expected), "{range:?}");
            assert!(unsure.is_subset(&candidates), "{range:?}");
            assert_eq!(sure | (&unsure & &in_range), expected, "{range:?}");
            assert!(unsure.len() <= 2 * step as u64, "{range:?}");
        }
    }
}
