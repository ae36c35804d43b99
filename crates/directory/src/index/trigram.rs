//! Substring search over a folded text field: a byte-trigram index with verification.
//!
//! Every folded value contributes its byte trigrams (three consecutive UTF-8 bytes, never
//! spanning two values of a multi-valued field) to a posting bitmap. A needle of three or more
//! bytes occurs in a value only if all its trigrams do, so intersecting the needle's postings,
//! smallest first, gives a candidate superset; each candidate is then verified against the folded
//! values kept in the field's [`Dict`]. Byte trigrams are sound for non-ASCII text because UTF-8
//! is self-synchronising: a byte-level occurrence of a valid UTF-8 needle is a character-level
//! one. A needle of exactly three bytes needs no verification (its single posting is exact).
//! Needles shorter than three bytes have no trigram and are answered by a linear scan of the
//! field's values — still a tight loop over one contiguous arena, and rare in practice.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use roaring::RoaringBitmap;

use super::column::{bitmap_bytes, bitmap_from_sorted, Dict, RowSetBuilder};
use super::prefixes::PrefixSets;
use crate::model::Row;

/// A trigram packed as `b0 << 16 | b1 << 8 | b2`.
type Trigram = u32;

/// A folded text field: its dictionary (exact terms, prefixes, verification) and its trigrams.
#[derive(Debug, Default)]
pub(crate) struct TextIndex {
    dict: Dict,
    present: RoaringBitmap,
    trigrams: HashMap<Trigram, RoaringBitmap, BuildHasherDefault<TrigramHasher>>,
    /// Ready row sets of the wide prefixes, for fields answering prefixes (else empty).
    prefixes: PrefixSets,
    /// Rows with a value whose fold is not its plain lowercase (irregular whitespace, a few
    /// Unicode cases): what a lowercase comparison must re-check (see [`super::wildcard`]).
    unlowered: RoaringBitmap,
}

impl TextIndex {
    /// Indexes the trigrams of every value of `dict`, and its wide prefixes when `prefixes`;
    /// `unlowered` as [`TextIndex::unlowered`] returns it.
    pub(crate) fn build(dict: Dict, prefixes: bool, unlowered: RoaringBitmap) -> TextIndex {
        let trigrams = postings(&dict);
        let entries = dict.entries();
        let present = entries.present();
        let prefixes = if prefixes {
            PrefixSets::build(&dict)
        } else {
            PrefixSets::default()
        };
        TextIndex {
            dict,
            present,
            trigrams,
            prefixes,
            unlowered,
        }
    }

    /// Rows whose value starts with `prefix` (already folded), the entries at `range` of the
    /// dictionary's sorted order ([`Dict::prefix_range`]).
    pub(crate) fn prefix_rows(&self, prefix: &str, range: std::ops::Range<usize>) -> RoaringBitmap {
        if prefix.is_empty() {
            return self.present.clone();
        }
        self.prefixes.rows(&self.dict, prefix, range)
    }

    /// Rows with a value whose [`crate::text::fold`] differs from its `str::to_lowercase`.
    pub(crate) fn unlowered(&self) -> &RoaringBitmap {
        &self.unlowered
    }

    /// Heap bytes of the prefix sets and the re-check set.
    pub(crate) fn extra_bytes(&self) -> u64 {
        self.prefixes.heap_bytes() + bitmap_bytes(&self.unlowered)
    }

    pub(crate) fn dict(&self) -> &Dict {
        &self.dict
    }

    /// Rows with at least one value.
    pub(crate) fn present(&self) -> &RoaringBitmap {
        &self.present
    }

    /// Rows with a value containing `needle` (already folded).
    pub(crate) fn substring(&self, needle: &str) -> RoaringBitmap {
        if needle.is_empty() {
            return self.present.clone();
        }
        let entries = self.dict.entries();
        if needle.len() < 3 {
            let mut rows = RowSetBuilder::default();
            for (row, text) in entries.iter() {
                if text.contains(needle) {
                    rows.push(row);
                }
            }
            return rows.finish();
        }
        let Some(candidates) = self.candidates(needle) else {
            return RoaringBitmap::new();
        };
        if needle.len() == 3 {
            return candidates;
        }
        let mut rows = RowSetBuilder::default();
        for row in &candidates {
            if entries
                .range_of_row(row)
                .any(|i| entries.text(i).contains(needle))
            {
                rows.push(row);
            }
        }
        rows.finish()
    }

    /// Intersection of the needle's trigram postings, smallest first; `None` when a trigram
    /// occurs nowhere (or the intersection empties).
    pub(super) fn candidates(&self, needle: &str) -> Option<RoaringBitmap> {
        let mut needle_trigrams: Vec<Trigram> = trigrams_of(needle.as_bytes()).collect();
        needle_trigrams.sort_unstable();
        needle_trigrams.dedup();
        let mut postings = Vec::with_capacity(needle_trigrams.len());
        for trigram in needle_trigrams {
            postings.push(self.trigrams.get(&trigram)?);
        }
        postings.sort_by_key(|set| set.len());
        let (first, rest) = postings.split_first()?;
        let mut result = (*first).clone();
        for set in rest {
            if result.is_empty() {
                return None;
            }
            result &= *set;
        }
        Some(result)
    }

    /// Planner estimate: the smallest posting for a needle of three or more bytes (an upper
    /// bound of the answer), else the number of rows with a value (what a scan looks at).
    pub(crate) fn estimate(&self, needle: &str) -> u64 {
        if needle.len() < 3 {
            return self.present.len();
        }
        trigrams_of(needle.as_bytes())
            .map(|trigram| self.trigrams.get(&trigram).map_or(0, RoaringBitmap::len))
            .min()
            .unwrap_or(0)
    }

    /// (distinct trigrams, approximate heap bytes of the trigram postings).
    pub(crate) fn trigram_stats(&self) -> (u64, u64) {
        let bytes = self
            .trigrams
            .values()
            .map(|set| 16 + bitmap_bytes(set))
            .sum::<u64>()
            + bitmap_bytes(&self.present);
        (self.trigrams.len() as u64, bytes)
    }
}

/// Values below which [`postings`] sorts (trigram, row) pairs instead of counting in a table
/// of every trigram.
const FEW_VALUES: usize = 4096;

/// The posting of every trigram of `dict`'s values, by a counting sort on the trigram: one pass
/// counts each row's distinct trigrams, a second places the rows (ascending, as the entries
/// come in row order) in one flat array at their trigram's offset, and each posting is then one
/// ordered append of its slice. Inserting row by row into a hash map of bitmap builders (a
/// probe per trigram occurrence, ~25 per email) was most of a text field's build.
///
/// The counts live in a table indexed by the packed trigram (2^24 entries, 64 MiB of virtual
/// memory of which only the pages of trigrams that occur are ever touched, the rest staying
/// the kernel's zero page).
fn postings(dict: &Dict) -> Postings {
    if dict.entries().len() < FEW_VALUES {
        postings_by_sorting(dict)
    } else {
        postings_by_counting(dict)
    }
}

/// Every trigram's posting, by trigram.
type Postings = HashMap<Trigram, RoaringBitmap, BuildHasherDefault<TrigramHasher>>;

/// Calls `visit` once per row of `dict` that has trigrams, in row order, with the row's
/// distinct trigrams over all its values (sorted).
fn each_row(dict: &Dict, visit: &mut dyn FnMut(Row, &[Trigram])) {
    let entries = dict.entries();
    let mut of_row: Vec<Trigram> = Vec::new();
    let mut i = 0;
    while i < entries.len() {
        let row = entries.row(i);
        of_row.clear();
        while i < entries.len() && entries.row(i) == row {
            of_row.extend(trigrams_of(entries.text(i).as_bytes()));
            i += 1;
        }
        of_row.sort_unstable();
        of_row.dedup();
        visit(row, &of_row);
    }
}

/// [`postings`] for a few values (a delta level's rows): sorting their (trigram, row) pairs
/// costs less than clearing the pages of the counting table they would touch, which was most
/// of a small build's time.
fn postings_by_sorting(dict: &Dict) -> Postings {
    let mut pairs: Vec<(Trigram, Row)> = Vec::new();
    each_row(dict, &mut |row, trigrams| {
        pairs.extend(trigrams.iter().map(|&t| (t, row)))
    });
    pairs.sort_unstable();
    pairs
        .chunk_by(|a, b| a.0 == b.0)
        .map(|run| {
            (
                run[0].0,
                bitmap_from_sorted(run.iter().map(|&(_, row)| row)),
            )
        })
        .collect()
}

/// [`postings`] by a counting sort on the trigram (see there).
fn postings_by_counting(dict: &Dict) -> Postings {
    let each_row = |visit: &mut dyn FnMut(Row, &[Trigram])| each_row(dict, visit);
    let mut counts = vec![0u32; 1 << 24];
    let mut seen: Vec<Trigram> = Vec::new();
    let mut total = 0usize;
    each_row(&mut |_, trigrams| {
        for &trigram in trigrams {
            let count = &mut counts[trigram as usize];
            if *count == 0 {
                seen.push(trigram);
            }
            *count += 1;
        }
        total += trigrams.len();
    });
    // Counts become each trigram's next free slot in `rows`.
    seen.sort_unstable();
    let mut spans = Vec::with_capacity(seen.len());
    let mut next = 0u32;
    for &trigram in &seen {
        let count = counts[trigram as usize];
        spans.push(next..next + count);
        counts[trigram as usize] = next;
        next += count;
    }
    let mut rows: Vec<Row> = vec![0; total];
    each_row(&mut |row, trigrams| {
        for &trigram in trigrams {
            let slot = &mut counts[trigram as usize];
            rows[*slot as usize] = row;
            *slot += 1;
        }
    });
    drop(counts);
    seen.into_iter()
        .zip(spans)
        .map(|(trigram, span)| {
            let posting = &rows[span.start as usize..span.end as usize];
            (trigram, bitmap_from_sorted(posting.iter().copied()))
        })
        .collect()
}

fn trigrams_of(bytes: &[u8]) -> impl Iterator<Item = Trigram> + '_ {
    bytes
        .windows(3)
        .map(|w| (u32::from(w[0]) << 16) | (u32::from(w[1]) << 8) | u32::from(w[2]))
}

/// A multiplicative hasher for trigram keys: the keys are small integers hashed tens of millions
/// of times while building, where SipHash's DoS resistance buys nothing (the keys come from the
/// directory, and a collision only costs a probe).
#[derive(Default)]
pub(crate) struct TrigramHasher(u64);

impl Hasher for TrigramHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u32(u32::from(byte));
        }
    }

    fn write_u32(&mut self, value: u32) {
        let product = (self.0 ^ u64::from(value)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // Fold the well-mixed high half into the low bits, which pick the bucket.
        self.0 = product ^ (product >> 32);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::index::column::Entries;

    proptest! {
        /// Both ways of building the postings give the same postings (the sorting one serves
        /// small dictionaries, a delta level's, the counting one every other).
        #[test]
        fn sorting_and_counting_give_the_same_postings(
            values in proptest::collection::vec(("[a-e.@]{0,9}", 0u32..3), 0..200),
        ) {
            let mut entries = Entries::default();
            let mut row = 0;
            for (text, step) in &values {
                row += step;
                entries.push(row, text);
            }
            let dict = Dict::build(entries, None);
            prop_assert_eq!(postings_by_sorting(&dict), postings_by_counting(&dict));
        }
    }
}
