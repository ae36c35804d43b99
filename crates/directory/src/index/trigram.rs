//! Substring search over a folded text field: a byte-trigram index with verification.
//!
//! Every folded value contributes its byte trigrams (three consecutive UTF-8 bytes, never
//! spanning two values of a multi-valued field) to a posting bitmap. A needle of three or more
//! bytes occurs in a value only if all its trigrams do, so intersecting the needle's postings,
//! smallest first, gives a candidate superset; each candidate is then verified against the folded
//! values kept in the field's [`TextDict`]. Byte trigrams are sound for non-ASCII text because UTF-8
//! is self-synchronising: a byte-level occurrence of a valid UTF-8 needle is a character-level
//! one. A needle of exactly three bytes needs no verification (its single posting is exact).
//! Needles shorter than three bytes have no trigram and are answered by a linear scan of the
//! field's distinct values — a sequential decoding of the front-coded dictionary, and rare in
//! practice.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use roaring::RoaringBitmap;

use super::column::{bitmap_bytes, bitmap_from_strictly_sorted, Dict, RowSetBuilder};
use super::prefixes::PrefixSets;
use super::text_dict::TextDict;
use crate::model::Row;

/// A trigram packed as `b0 << 16 | b1 << 8 | b2`.
type Trigram = u32;

/// A folded text field: its dictionary (exact terms, prefixes, verification) and its trigrams.
#[derive(Debug, Default)]
pub(crate) struct TextIndex {
    dict: TextDict,
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
    /// `unlowered` as [`TextIndex::unlowered`] returns it. The plain dictionary is kept front-coded
    /// ([`TextDict`]) once the postings and prefix sets are read from it.
    pub(crate) fn build(dict: Dict, prefixes: bool, unlowered: RoaringBitmap) -> TextIndex {
        let trigrams = postings(&dict);
        let present = dict.entries().present();
        let prefixes = if prefixes {
            PrefixSets::build(&dict)
        } else {
            PrefixSets::default()
        };
        TextIndex {
            dict: TextDict::from_dict(&dict),
            present,
            trigrams,
            prefixes,
            unlowered,
        }
    }

    /// Rows whose value starts with `prefix` (already folded), the entries at `range` of the
    /// dictionary's sorted order ([`TextDict::prefix_range`]).
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

    pub(crate) fn dict(&self) -> &TextDict {
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
        if needle.len() < 3 {
            return self.dict.rows_where(None, |text| text.contains(needle));
        }
        let Some(candidates) = self.candidates(needle) else {
            return RoaringBitmap::new();
        };
        if needle.len() == 3 {
            return candidates;
        }
        let mut rows = RowSetBuilder::default();
        for row in &candidates {
            if self.dict.any_value_of(row, |text| text.contains(needle)) {
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
/// counts each trigram's distinct rows, a second places the rows (ascending, as the entries
/// come in row order) in one flat array at their trigram's offset, and each posting is then one
/// slice made into a bitmap container by container. Inserting row by row into a hash map of
/// bitmap builders (a probe per trigram occurrence, ~25 per email) was most of a text field's
/// build; collecting, sorting and deduplicating each row's trigrams in both passes was then an
/// eighth of the whole build. A row is counted once per trigram by remembering, beside each
/// count, the last row that counted it: computing a value's trigrams again is a few
/// instructions each, cheaper than keeping them.
///
/// The table lives indexed by the packed trigram (2^24 entries, 128 MiB of virtual memory of
/// which only the pages of trigrams that occur are ever touched, the rest staying the kernel's
/// zero page).
fn postings(dict: &Dict) -> Postings {
    let entries = dict.entries();
    // The counting table marks rows as `row + 1`, which needs rows below `Row::MAX`.
    let last_row = entries.len().checked_sub(1).map(|last| entries.row(last));
    if entries.len() < FEW_VALUES || last_row == Some(Row::MAX) {
        postings_by_sorting(dict)
    } else {
        postings_by_counting(dict)
    }
}

/// Every trigram's posting, by trigram.
type Postings = HashMap<Trigram, RoaringBitmap, BuildHasherDefault<TrigramHasher>>;

/// [`postings`] for a few values (a delta level's rows): sorting their (trigram, row) pairs
/// costs less than clearing the pages of the counting table they would touch, which was most
/// of a small build's time.
fn postings_by_sorting(dict: &Dict) -> Postings {
    // Room for every pair up front: a flattened iterator gives no size hint, and growing the
    // list doubling by doubling was a seventh of this function.
    let room: usize = dict
        .entries()
        .iter()
        .map(|(_, text)| text.len().saturating_sub(2))
        .sum();
    let mut pairs: Vec<(Trigram, Row)> = Vec::with_capacity(room);
    for (row, text) in dict.entries().iter() {
        pairs.extend(trigrams_of(text.as_bytes()).map(|t| (t, row)));
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
        .chunk_by(|a, b| a.0 == b.0)
        .map(|run| {
            let rows: Vec<Row> = run.iter().map(|&(_, row)| row).collect();
            (run[0].0, bitmap_from_strictly_sorted(&rows))
        })
        .collect()
}

/// Per trigram while counting: `[count, last row counted + 1]`, then `[next free slot, last
/// row placed + 1]`.
type Tally = [u32; 2];

/// Calls `visit(table entry, trigram, row)` once per distinct (trigram, row) of `dict`, in row
/// order: the entry's second word remembers the last row visited (`row + 1`; zero is none).
fn each_distinct(
    dict: &Dict,
    table: &mut [Tally],
    visit: &mut impl FnMut(&mut Tally, Trigram, Row),
) {
    for (row, text) in dict.entries().iter() {
        let mark = row + 1;
        for trigram in trigrams_of(text.as_bytes()) {
            let tally = &mut table[trigram as usize];
            if tally[1] != mark {
                tally[1] = mark;
                visit(tally, trigram, row);
            }
        }
    }
}

/// [`postings`] by a counting sort on the trigram (see there). Rows are below `Row::MAX`.
fn postings_by_counting(dict: &Dict) -> Postings {
    let mut table: Vec<Tally> = vec![[0, 0]; 1 << 24];
    let mut seen: Vec<Trigram> = Vec::new();
    let mut total = 0usize;
    each_distinct(dict, &mut table, &mut |tally, trigram, _| {
        if tally[0] == 0 {
            seen.push(trigram);
        }
        tally[0] += 1;
        total += 1;
    });
    // Counts become each trigram's next free slot in `rows`, and the marks are cleared.
    seen.sort_unstable();
    let mut spans = Vec::with_capacity(seen.len());
    let mut next = 0u32;
    for &trigram in &seen {
        let tally = &mut table[trigram as usize];
        spans.push(next..next + tally[0]);
        next += tally[0];
        *tally = [spans[spans.len() - 1].start, 0];
    }
    let mut rows: Vec<Row> = vec![0; total];
    each_distinct(dict, &mut table, &mut |tally, _, row| {
        rows[tally[0] as usize] = row;
        tally[0] += 1;
    });
    drop(table);
    let mut postings = Postings::with_capacity_and_hasher(seen.len(), Default::default());
    for (trigram, span) in seen.into_iter().zip(spans) {
        // Strictly ascending: rows are placed in row order, each once per trigram.
        let posting = &rows[span.start as usize..span.end as usize];
        postings.insert(trigram, bitmap_from_strictly_sorted(posting));
    }
    postings
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
        /// Both ways of building the postings give the postings of inserting every trigram of
        /// every value (the sorting one serves small dictionaries, a delta level's, the
        /// counting one every other).
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
            // The reference: every trigram of every value inserted one by one.
            let mut naive = Postings::default();
            for (row, text) in dict.entries().iter() {
                for trigram in trigrams_of(text.as_bytes()) {
                    naive.entry(trigram).or_default().insert(row);
                }
            }
            prop_assert_eq!(&postings_by_sorting(&dict), &naive);
            prop_assert_eq!(&postings_by_counting(&dict), &naive);
        }
    }
}
