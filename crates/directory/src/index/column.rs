//! Text entries in row order and the sorted term dictionary built over them.
//!
//! One representation serves every string-valued field, single- or multi-valued: the values are
//! appended to one arena `String` (no allocation per value, ~12 bytes of bookkeeping per value)
//! in row order, and a permutation of the entries sorted by text is the dictionary. An exact term
//! is then a binary search and a prefix is a contiguous range of the permutation, which is all the
//! query language asks of these fields.

use std::cmp::Ordering;
use std::ops::Range;

use roaring::RoaringBitmap;

use crate::model::Row;
use crate::text::fold;

/// String values in row order: entry `i` is `text[start(i)..ends[i]]`, owned by row `rows[i]`.
/// Rows never decrease along the entries, which the row-range lookup relies on.
#[derive(Debug, Default)]
pub(crate) struct Entries {
    text: String,
    ends: Ends,
    rows: Vec<Row>,
}

/// End offsets of the entries in the arena: four bytes each while the arena is under 4 GiB
/// (always, in practice: ~9 M entries at 1 M users, 36 MB saved over `usize`), widened to
/// `usize` for good the first time an end does not fit.
#[derive(Debug)]
enum Ends {
    Narrow(Vec<u32>),
    Wide(Vec<usize>),
}

impl Default for Ends {
    fn default() -> Ends {
        Ends::Narrow(Vec::new())
    }
}

impl Ends {
    fn push(&mut self, end: usize) {
        match self {
            Ends::Narrow(ends) => match u32::try_from(end) {
                Ok(end) => ends.push(end),
                Err(_) => {
                    let mut wide: Vec<usize> = ends.iter().map(|&e| e as usize).collect();
                    wide.push(end);
                    *self = Ends::Wide(wide);
                }
            },
            Ends::Wide(ends) => ends.push(end),
        }
    }

    fn get(&self, i: usize) -> usize {
        match self {
            Ends::Narrow(ends) => ends[i] as usize,
            Ends::Wide(ends) => ends[i],
        }
    }

    fn len(&self) -> usize {
        match self {
            Ends::Narrow(ends) => ends.len(),
            Ends::Wide(ends) => ends.len(),
        }
    }

    fn shrink_to_fit(&mut self) {
        match self {
            Ends::Narrow(ends) => ends.shrink_to_fit(),
            Ends::Wide(ends) => ends.shrink_to_fit(),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Ends::Narrow(ends) => ends.capacity() * std::mem::size_of::<u32>(),
            Ends::Wide(ends) => ends.capacity() * std::mem::size_of::<usize>(),
        }
    }
}

impl Entries {
    /// Appends a value of `row`; rows must be pushed in non-decreasing order.
    pub(crate) fn push(&mut self, row: Row, value: &str) {
        debug_assert!(self.rows.last().is_none_or(|&last| last <= row));
        self.text.push_str(value);
        self.ends.push(self.text.len());
        self.rows.push(row);
    }

    /// Appends `fold(value)` of `row` without allocating for the common case.
    ///
    /// Fast path, equal to [`fold`] by construction: ASCII text with no leading, trailing or
    /// doubled space and no other whitespace folds to its ASCII lowercase. Anything else goes
    /// through [`fold`] itself (the property tests compare both with `fold`).
    pub(crate) fn push_folded(&mut self, row: Row, value: &str) {
        if folds_plainly(value) {
            let start = self.text.len();
            self.text.push_str(value);
            self.text[start..].make_ascii_lowercase();
            self.ends.push(self.text.len());
            self.rows.push(row);
        } else {
            self.push(row, &fold(value));
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The text of entry `i`.
    pub(crate) fn text(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends.get(i - 1) };
        &self.text[start..self.ends.get(i)]
    }

    /// The row owning entry `i`.
    pub(crate) fn row(&self, i: usize) -> Row {
        self.rows[i]
    }

    /// All entries in row order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Row, &str)> + '_ {
        (0..self.len()).map(|i| (self.rows[i], self.text(i)))
    }

    /// The entries of `row` (possibly empty), by binary search on the row column.
    pub(crate) fn range_of_row(&self, row: Row) -> Range<usize> {
        let start = self.rows.partition_point(|&r| r < row);
        let end = start + self.rows[start..].partition_point(|&r| r <= row);
        start..end
    }

    /// Rows having at least one entry.
    pub(crate) fn present(&self) -> RoaringBitmap {
        bitmap_from_sorted(self.rows.iter().copied())
    }

    fn heap_bytes(&self) -> u64 {
        (self.text.capacity()
            + self.ends.heap_bytes()
            + self.rows.capacity() * std::mem::size_of::<Row>()) as u64
    }
}

/// Whether `value` is ASCII with no leading, trailing or doubled space and no other whitespace:
/// then [`fold`] of it is its ASCII lowercase.
pub(crate) fn folds_plainly(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.first() != Some(&b' ')
        && bytes.last() != Some(&b' ')
        && !bytes.windows(2).any(|pair| pair == b"  ")
        && bytes
            .iter()
            .all(|&b| b.is_ascii() && !(b'\t'..=b'\r').contains(&b))
}

/// A sorted term dictionary: [`Entries`] plus the permutation of entry numbers ordered by
/// (text bytes, tie rank of the row). The tie rank is the row's position in id order, so for a
/// single-valued field the permutation is already the `orderBy` order (ties by id ascending).
#[derive(Debug, Default)]
pub(crate) struct Dict {
    entries: Entries,
    sorted: Vec<u32>,
}

impl Dict {
    /// Sorts `entries`; `tie_rank[row]` breaks ties between equal texts (pass the id rank, or
    /// `None` to break them by row).
    pub(crate) fn build(mut entries: Entries, tie_rank: Option<&[u32]>) -> Dict {
        entries.text.shrink_to_fit();
        entries.ends.shrink_to_fit();
        entries.rows.shrink_to_fit();
        let sorted = sort_entries(&entries, tie_rank);
        Dict { entries, sorted }
    }

    pub(crate) fn entries(&self) -> &Entries {
        &self.entries
    }

    /// Entry numbers in dictionary order.
    pub(crate) fn sorted(&self) -> &[u32] {
        &self.sorted
    }

    fn sorted_text(&self, k: usize) -> &str {
        self.entries.text(self.sorted[k] as usize)
    }

    /// Positions in [`Dict::sorted`] whose text equals `value`.
    pub(crate) fn equal_range(&self, value: &str) -> Range<usize> {
        let start = self
            .sorted
            .partition_point(|&i| self.entries.text(i as usize) < value);
        let len = self.sorted[start..]
            .partition_point(|&i| self.entries.text(i as usize).cmp(value) != Ordering::Greater);
        start..start + len
    }

    /// Positions in [`Dict::sorted`] whose text starts with `prefix`: contiguous, because in
    /// byte order every string with that prefix sorts after all smaller strings and before any
    /// larger string lacking it.
    pub(crate) fn prefix_range(&self, prefix: &str) -> Range<usize> {
        let start = self
            .sorted
            .partition_point(|&i| self.entries.text(i as usize) < prefix);
        let len = self.sorted[start..]
            .partition_point(|&i| self.entries.text(i as usize).starts_with(prefix));
        start..start + len
    }

    /// The rows of a range of [`Dict::sorted`] as a set, sorted (wide prefix ranges have ready
    /// sets: `prefixes.rs`).
    pub(crate) fn rows(&self, range: Range<usize>) -> RoaringBitmap {
        let mut rows: Vec<Row> = self.sorted[range]
            .iter()
            .map(|&entry| self.entries.row(entry as usize))
            .collect();
        rows.sort_unstable();
        bitmap_from_sorted(rows)
    }

    /// Distinct rows of an *equal* range: equal texts are ordered by row rank, so a row holding
    /// the same value twice is adjacent to itself and counted once.
    pub(crate) fn count_equal(&self, range: Range<usize>) -> u64 {
        let mut count = 0;
        let mut previous = None;
        for &i in &self.sorted[range] {
            let row = self.entries.row(i as usize);
            if previous != Some(row) {
                count += 1;
                previous = Some(row);
            }
        }
        count
    }

    /// The only row whose text equals `value`, or the first in tie order if several do.
    pub(crate) fn first_row(&self, value: &str) -> Option<Row> {
        let range = self.equal_range(value);
        (!range.is_empty()).then(|| self.entries.row(self.sorted[range.start] as usize))
    }

    /// `true` when positions `a` and `b` of [`Dict::sorted`] hold equal texts.
    pub(crate) fn same_text(&self, a: usize, b: usize) -> bool {
        self.sorted_text(a) == self.sorted_text(b)
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        self.entries.heap_bytes() + (self.sorted.capacity() * std::mem::size_of::<u32>()) as u64
    }
}

/// Sort key of one entry at one depth: the 8 bytes of its text from `depth` (big-endian,
/// zero-padded), how many of them are real (so `"ab"` sorts before `"ab\0"`), the entry.
type ChunkKey = (u64, u8, u32);

fn chunk_key(entries: &Entries, entry: u32, depth: usize) -> ChunkKey {
    let text = entries.text(entry as usize).as_bytes();
    let rest = text.get(depth..).unwrap_or(&[]);
    let len = rest.len().min(8);
    let mut bytes = [0u8; 8];
    bytes[..len].copy_from_slice(&rest[..len]);
    (u64::from_be_bytes(bytes), len as u8, entry)
}

/// Entry numbers sorted by (text bytes, tie rank of the row).
///
/// A plain comparison sort chases two pointers into the arena per comparison, ~n log n cache
/// misses; with many shared prefixes (`anakin.skywalker…@example.com`) that dominated the whole
/// build. This is an MSD sort on 8-byte chunks instead: sort by the first chunk (compact keys),
/// then re-key only the runs that tie, 8 bytes deeper — about one arena read per entry per
/// level. Runs of fully equal texts are finally ordered by tie rank. An explicit work stack
/// (not recursion) keeps very long texts from exhausting the call stack.
fn sort_entries(entries: &Entries, tie_rank: Option<&[u32]>) -> Vec<u32> {
    let rank = |entry: u32| {
        let row = entries.row(entry as usize);
        tie_rank.map_or(row, |ranks| ranks[row as usize])
    };
    let mut keys: Vec<ChunkKey> = (0..entries.len() as u32)
        .map(|entry| chunk_key(entries, entry, 0))
        .collect();
    let mut work = vec![(0, keys.len(), 0)];
    while let Some((start, end, depth)) = work.pop() {
        let run = &mut keys[start..end];
        if depth > 0 {
            for key in run.iter_mut() {
                *key = chunk_key(entries, key.2, depth);
            }
        }
        run.sort_unstable_by_key(|&(chunk, len, _)| (chunk, len));
        let mut i = 0;
        while i < run.len() {
            let mut j = i + 1;
            while j < run.len() && run[j].0 == run[i].0 && run[j].1 == run[i].1 {
                j += 1;
            }
            if j - i > 1 {
                if run[i].1 == 8 {
                    // Texts continue past this chunk: order them by the next one.
                    work.push((start + i, start + j, depth + 8));
                } else {
                    // Texts ended inside this chunk with equal bytes: equal texts.
                    run[i..j].sort_unstable_by_key(|&(_, _, entry)| rank(entry));
                }
            }
            i = j;
        }
    }
    keys.into_iter().map(|(_, _, entry)| entry).collect()
}

/// A list of lists in two flat vectors (`items[offsets[i]..offsets[i + 1]]`): one allocation
/// instead of one per group/role, for the small per-entity lists.
#[derive(Debug)]
pub(crate) struct Ragged<T> {
    offsets: Vec<usize>,
    items: Vec<T>,
}

impl<T> Default for Ragged<T> {
    fn default() -> Self {
        Ragged {
            offsets: Vec::new(),
            items: Vec::new(),
        }
    }
}

impl<T> Ragged<T> {
    pub(crate) fn from_lists(lists: Vec<Vec<T>>) -> Ragged<T> {
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        let mut items = Vec::new();
        offsets.push(0);
        for list in lists {
            items.extend(list);
            offsets.push(items.len());
        }
        Ragged { offsets, items }
    }

    /// The list at `i`; an out-of-range `i` is an empty list.
    pub(crate) fn get(&self, i: usize) -> &[T] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&start), Some(&end)) => &self.items[start..end],
            _ => &[],
        }
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        (self.offsets.capacity() * std::mem::size_of::<usize>()
            + self.items.capacity() * std::mem::size_of::<T>()) as u64
    }
}

/// Approximate heap bytes of a bitmap (its serialized size tracks the container payloads).
pub(crate) fn bitmap_bytes(set: &RoaringBitmap) -> u64 {
    set.serialized_size() as u64
}

/// Builds a bitmap from rows arriving in ascending order, duplicates ignored.
///
/// `RoaringBitmap::push` finds the current maximum of a bitmap container by scanning its words
/// from the top, so pushing one row at a time into a dense posting costs ~500 word reads per row
/// (it was a third of the whole build at 1M users). Buffering rows and appending them in batches
/// pays that scan once per batch.
#[derive(Debug, Default)]
pub(crate) struct RowSetBuilder {
    set: RoaringBitmap,
    pending: Vec<Row>,
    last: Option<Row>,
}

impl RowSetBuilder {
    const BATCH: usize = 256;

    /// Adds `row` if it is greater than every row added so far (so duplicates are ignored).
    pub(crate) fn push(&mut self, row: Row) {
        if self.last.is_some_and(|last| last >= row) {
            return;
        }
        self.last = Some(row);
        self.pending.push(row);
        if self.pending.len() >= Self::BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        // Strictly increasing by construction, so `append` cannot fail; should it ever, the
        // slower insert keeps the set correct.
        if self.set.append(self.pending.iter().copied()).is_err() {
            self.set.extend(self.pending.iter().copied());
        }
        self.pending.clear();
    }

    pub(crate) fn finish(mut self) -> RoaringBitmap {
        self.flush();
        self.set
    }
}

/// A bitmap from rows sorted ascending (duplicates allowed).
pub(crate) fn bitmap_from_sorted(rows: impl IntoIterator<Item = Row>) -> RoaringBitmap {
    let mut builder = RowSetBuilder::default();
    for row in rows {
        builder.push(row);
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_widen_when_an_offset_passes_four_gib() {
        let mut ends = Ends::default();
        ends.push(3);
        ends.push(u32::MAX as usize);
        assert!(matches!(ends, Ends::Narrow(_)));
        let far = u32::MAX as usize + 10;
        ends.push(far);
        assert!(matches!(ends, Ends::Wide(_)));
        assert_eq!(
            (0..ends.len()).map(|i| ends.get(i)).collect::<Vec<_>>(),
            [3, u32::MAX as usize, far]
        );
    }
}
