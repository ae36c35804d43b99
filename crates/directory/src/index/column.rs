//! Text entries in row order and the sorted term dictionary built over them.
//!
//! One representation serves every string-valued field, single- or multi-valued: the values are
//! appended to one arena `String` (no allocation per value, ~12 bytes of bookkeeping per value)
//! in row order, and a permutation of the entries sorted by text is the dictionary. It is the
//! build's form: the trigram and prefix-set builders read it, and the indexes keep it front-coded
//! (`front_coded.rs`: `exact.rs`, `text_dict.rs`), where the text costs a fraction.

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
}

impl Entries {
    /// Appends a value of `row`; rows must be pushed in non-decreasing order.
    pub(crate) fn push(&mut self, row: Row, value: &str) {
        debug_assert!(self.rows.last().is_none_or(|&last| last <= row));
        self.text.push_str(value);
        self.ends.push(self.text.len());
        self.rows.push(row);
    }

    /// Appends `fold(value)` of `row` without allocating for the common case; returns whether
    /// that case applied ([`folds_plainly`]: then the fold is the ASCII lowercase, which the text
    /// fields' re-check set needs to know without scanning the value again).
    ///
    /// Fast path, equal to [`fold`] by construction: ASCII text with no leading, trailing or
    /// doubled space and no other whitespace folds to its ASCII lowercase. Anything else goes
    /// through [`fold`] itself (the property tests compare both with `fold`).
    pub(crate) fn push_folded(&mut self, row: Row, value: &str) -> bool {
        let plain = folds_plainly(value);
        if plain {
            let start = self.text.len();
            self.text.push_str(value);
            self.text[start..].make_ascii_lowercase();
            self.ends.push(self.text.len());
            self.rows.push(row);
        } else {
            self.push(row, &fold(value));
        }
        plain
    }

    /// The text of the last entry pushed (empty when there is none).
    pub(crate) fn last_text(&self) -> &str {
        self.len().checked_sub(1).map_or("", |last| self.text(last))
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

    /// Rows having at least one entry.
    pub(crate) fn present(&self) -> RoaringBitmap {
        bitmap_from_sorted(self.rows.iter().copied())
    }
}

/// Whether `value` is ASCII with no leading, trailing or doubled space and no other whitespace:
/// then [`fold`] of it is its ASCII lowercase.
pub(crate) fn folds_plainly(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ') {
        return false;
    }
    // One pass (this runs on every folded value of the build).
    let mut after_space = false;
    for &byte in bytes {
        if !byte.is_ascii() || (b'\t'..=b'\r').contains(&byte) {
            return false;
        }
        let space = byte == b' ';
        if space && after_space {
            return false;
        }
        after_space = space;
    }
    true
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
}

/// The plain lookups, by binary search over the permutation: the reference the front-coded
/// dictionaries (`exact.rs`, `text_dict.rs`) are tested against.
#[cfg(test)]
impl Dict {
    /// Positions in [`Dict::sorted`] whose text equals `value`.
    pub(crate) fn equal_range(&self, value: &str) -> std::ops::Range<usize> {
        let start = self
            .sorted
            .partition_point(|&i| self.entries.text(i as usize) < value);
        let len = self.sorted[start..].partition_point(|&i| {
            self.entries.text(i as usize).cmp(value) != std::cmp::Ordering::Greater
        });
        start..start + len
    }

    /// Positions in [`Dict::sorted`] whose text starts with `prefix`: contiguous, because in
    /// byte order every string with that prefix sorts after all smaller strings and before any
    /// larger string lacking it.
    pub(crate) fn prefix_range(&self, prefix: &str) -> std::ops::Range<usize> {
        let start = self
            .sorted
            .partition_point(|&i| self.entries.text(i as usize) < prefix);
        let len = self.sorted[start..]
            .partition_point(|&i| self.entries.text(i as usize).starts_with(prefix));
        start..start + len
    }

    /// The rows of a range of [`Dict::sorted`] as a set, sorted (wide prefix ranges have ready
    /// sets: `prefixes.rs`).
    pub(crate) fn rows(&self, range: std::ops::Range<usize>) -> RoaringBitmap {
        let mut rows: Vec<Row> = self.sorted[range]
            .iter()
            .map(|&entry| self.entries.row(entry as usize))
            .collect();
        rows.sort_unstable();
        bitmap_from_sorted(rows)
    }

    /// Distinct rows of an *equal* range: equal texts are ordered by row rank, so a row holding
    /// the same value twice is adjacent to itself and counted once.
    pub(crate) fn count_equal(&self, range: std::ops::Range<usize>) -> u64 {
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
/// (not recursion) keeps very long texts from exhausting the call stack. Long runs are sorted
/// by their chunks with a radix sort ([`radix_sort_by_chunk`]: a few linear passes instead of
/// ~log n comparison rounds, half of a dictionary's build).
fn sort_entries(entries: &Entries, tie_rank: Option<&[u32]>) -> Vec<u32> {
    let rank = |entry: u32| {
        let row = entries.row(entry as usize);
        tie_rank.map_or(row, |ranks| ranks[row as usize])
    };
    let mut keys: Vec<ChunkKey> = (0..entries.len() as u32)
        .map(|entry| chunk_key(entries, entry, 0))
        .collect();
    let mut scratch: Vec<ChunkKey> = Vec::new();
    let mut work = vec![(0, keys.len(), 0)];
    while let Some((start, end, depth)) = work.pop() {
        let run = &mut keys[start..end];
        if depth > 0 {
            for key in run.iter_mut() {
                *key = chunk_key(entries, key.2, depth);
            }
        }
        sort_by_chunk(run, &mut scratch);
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

/// Runs at least this long are sorted by [`radix_sort_by_chunk`]; shorter ones by comparison
/// (a radix pass costs a 256-entry histogram whatever the run's length).
const RADIX_MIN: usize = 512;

/// Sorts keys by (chunk, real length); the order among equal pairs is left unspecified (the
/// caller orders those runs itself).
fn sort_by_chunk(run: &mut [ChunkKey], scratch: &mut Vec<ChunkKey>) {
    if run.len() < RADIX_MIN {
        run.sort_unstable_by_key(|&(chunk, len, _)| (chunk, len));
        return;
    }
    radix_sort_by_chunk(run, scratch);
    // Equal chunks of different real lengths (`"ab"` and `"ab\0"`) are rare: order those runs.
    for same in run.chunk_by_mut(|a, b| a.0 == b.0) {
        if same.len() > 1 && same.iter().any(|key| key.1 != same[0].1) {
            same.sort_by_key(|&(_, len, _)| len);
        }
    }
}

/// A stable least-significant-digit radix sort of `run` by its 8-byte chunk, one byte per
/// pass; passes whose byte is the same in every key (common in text: shared prefixes, the zero
/// padding of short texts) are skipped. The eight histograms are counted in one read.
fn radix_sort_by_chunk(run: &mut [ChunkKey], scratch: &mut Vec<ChunkKey>) {
    let mut counts = [[0usize; 256]; 8];
    for &(chunk, _, _) in run.iter() {
        for (pass, count) in counts.iter_mut().enumerate() {
            count[((chunk >> (8 * pass)) & 0xFF) as usize] += 1;
        }
    }
    scratch.clear();
    scratch.resize(run.len(), (0, 0, 0));
    // Which of `run` and `scratch` holds the keys sorted so far.
    let mut in_scratch = false;
    for (pass, count) in counts.iter().enumerate() {
        if count.contains(&run.len()) {
            continue;
        }
        let mut next = [0usize; 256];
        let mut total = 0;
        for (slot, &n) in next.iter_mut().zip(count) {
            *slot = total;
            total += n;
        }
        let (from, to): (&[ChunkKey], &mut [ChunkKey]) = if in_scratch {
            (scratch.as_slice(), &mut *run)
        } else {
            (&*run, scratch.as_mut_slice())
        };
        for &key in from {
            let digit = ((key.0 >> (8 * pass)) & 0xFF) as usize;
            to[next[digit]] = key;
            next[digit] += 1;
        }
        in_scratch = !in_scratch;
    }
    if in_scratch {
        run.copy_from_slice(scratch);
    }
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

    /// From the flat form: list `i` is `items[offsets[i]..offsets[i + 1]]` (`offsets` starts
    /// at 0, ascends and ends at `items.len()`).
    pub(crate) fn from_parts(offsets: Vec<usize>, items: Vec<T>) -> Ragged<T> {
        debug_assert!(offsets.first().is_none_or(|&first| first == 0));
        debug_assert!(offsets.last().is_none_or(|&last| last == items.len()));
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
/// from the top, and even `append` pays a store check per row (~100 instructions a row in the
/// build's profile, a tenth of the whole build at 100k users). The rows are gathered in a plain
/// vector instead and the bitmap is made at [`RowSetBuilder::finish`] in one go by
/// [`bitmap_from_strictly_sorted`] (4 bytes a row meanwhile, freed at the end).
#[derive(Debug, Default)]
pub(crate) struct RowSetBuilder {
    rows: Vec<Row>,
}

impl RowSetBuilder {
    /// Adds `row` if it is greater than every row added so far (so duplicates are ignored).
    pub(crate) fn push(&mut self, row: Row) {
        if self.rows.last().is_some_and(|&last| last >= row) {
            return;
        }
        self.rows.push(row);
    }

    pub(crate) fn finish(self) -> RoaringBitmap {
        bitmap_from_strictly_sorted(&self.rows)
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

/// Rows at or below which [`bitmap_from_strictly_sorted`] pushes them one by one.
const FEW_SORTED_ROWS: usize = 32;

/// Cookie of the portable roaring format without run containers (RoaringFormatSpec).
const NO_RUN_COOKIE: u32 = 12346;
/// Most values a roaring container keeps as a sorted `u16` array (more: an 8 KiB bitmap).
const ARRAY_LIMIT: usize = 4096;
/// Bytes of a bitmap container.
const BITMAP_CONTAINER_BYTES: usize = 8192;

/// A bitmap from rows strictly ascending, made container by container.
///
/// The roaring crate builds containers only one value at a time; its portable serialized
/// format (RoaringFormatSpec: a header, then each container's sorted `u16` array or 8 KiB
/// bitmap) is the one way to hand it whole containers. Writing that format is a copy per row,
/// and `deserialize_unchecked_from` reads it back with one allocation and one copy per
/// container. The containers are exactly those of pushing the rows one by one (an array up to
/// 4,096 values, else a bitmap), so the result equals `RoaringBitmap::from_sorted_iter` in
/// representation too (a property test checks).
///
/// A few rows are pushed instead: the serialized form costs two allocations and a parse that a
/// handful of appends do not (a delta level's holder sets are mostly of one to a few rows:
/// `union13`).
pub(crate) fn bitmap_from_strictly_sorted(rows: &[Row]) -> RoaringBitmap {
    debug_assert!(rows.windows(2).all(|pair| pair[0] < pair[1]));
    if rows.len() <= FEW_SORTED_ROWS {
        let mut set = RoaringBitmap::new();
        for &row in rows {
            set.push(row);
        }
        return set;
    }
    let containers: Vec<&[Row]> = rows.chunk_by(|a, b| a >> 16 == b >> 16).collect();
    let size = |rows: &[Row]| {
        if rows.len() > ARRAY_LIMIT {
            BITMAP_CONTAINER_BYTES
        } else {
            2 * rows.len()
        }
    };
    let header = 8 + 8 * containers.len();
    let data: usize = containers.iter().map(|rows| size(rows)).sum();
    let mut bytes: Vec<u8> = Vec::with_capacity(header + data);
    bytes.extend_from_slice(&NO_RUN_COOKIE.to_le_bytes());
    bytes.extend_from_slice(&(containers.len() as u32).to_le_bytes());
    for rows in &containers {
        // At most 65,536 rows share a key, so the cardinality minus one fits.
        bytes.extend_from_slice(&((rows[0] >> 16) as u16).to_le_bytes());
        bytes.extend_from_slice(&((rows.len() - 1) as u16).to_le_bytes());
    }
    // At most 65,536 containers of 8 KiB: every offset fits in 32 bits.
    let mut offset = header;
    for rows in &containers {
        bytes.extend_from_slice(&(offset as u32).to_le_bytes());
        offset += size(rows);
    }
    // The containers' data, written in place (sized above).
    bytes.resize(header + data, 0);
    let mut at = header;
    for rows in &containers {
        let out = &mut bytes[at..at + size(rows)];
        if rows.len() > ARRAY_LIMIT {
            let mut words = [0u64; BITMAP_CONTAINER_BYTES / 8];
            for &row in *rows {
                let low = row & 0xFFFF;
                words[(low >> 6) as usize] |= 1 << (low & 63);
            }
            for (out, word) in out.chunks_exact_mut(8).zip(words) {
                out.copy_from_slice(&word.to_le_bytes());
            }
        } else {
            for (out, &row) in out.chunks_exact_mut(2).zip(*rows) {
                out.copy_from_slice(&(row as u16).to_le_bytes());
            }
        }
        at += out.len();
    }
    // Reading a well-formed buffer from memory cannot fail; should it ever, build row by row.
    RoaringBitmap::deserialize_unchecked_from(bytes.as_slice())
        .unwrap_or_else(|_| rows.iter().copied().collect())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The dictionary order by its definition: text bytes, then tie rank.
    fn sorted_by_comparison(entries: &Entries, tie_rank: Option<&[u32]>) -> Vec<u32> {
        let mut sorted: Vec<u32> = (0..entries.len() as u32).collect();
        sorted.sort_by_key(|&entry| {
            let row = entries.row(entry as usize);
            (
                entries.text(entry as usize),
                tie_rank.map_or(row, |ranks| ranks[row as usize]),
            )
        });
        sorted
    }

    proptest! {
        /// The chunked radix sort gives the order of comparing whole texts, for runs long
        /// enough to be radix sorted at several depths (a small alphabet, shared prefixes,
        /// texts that are prefixes of others, NUL bytes, equal texts in several rows).
        #[test]
        fn dictionary_order_is_text_then_tie_rank(
            values in proptest::collection::vec(
                ("(anakin\\.sky|a|\u{0}|b){0,4}[ab\u{0}.]{0,10}", 0u32..2),
                0..2_000,
            ),
            by_rank in any::<bool>(),
        ) {
            let mut entries = Entries::default();
            let mut row = 0;
            for (text, step) in &values {
                row += step;
                entries.push(row, text);
            }
            let ranks: Vec<u32> = (0..=row).rev().collect();
            let tie_rank = by_rank.then_some(ranks.as_slice());
            // Equal texts of one row may come in either order: compare (text, row).
            let described = |sorted: Vec<u32>| -> Vec<(String, Row)> {
                sorted
                    .into_iter()
                    .map(|e| (entries.text(e as usize).to_owned(), entries.row(e as usize)))
                    .collect()
            };
            prop_assert_eq!(
                described(sort_entries(&entries, tie_rank)),
                described(sorted_by_comparison(&entries, tie_rank))
            );
        }

        /// Containers written whole give the bitmap (and the containers) of pushing row by row.
        #[test]
        fn bitmaps_made_whole_equal_bitmaps_pushed(
            mut rows in proptest::collection::vec(
                prop_oneof![0..200_000u32, 65_000..70_000u32, (u32::MAX - 70_000)..=u32::MAX],
                0..12_000,
            ),
            dense in proptest::option::of((0..5u32, 4_000..65_537u32)),
        ) {
            if let Some((block, count)) = dense {
                rows.extend((0..count).map(|i| (block << 16) + i));
            }
            rows.sort_unstable();
            rows.dedup();
            let pushed = RoaringBitmap::from_sorted_iter(rows.iter().copied()).unwrap();
            let whole = bitmap_from_strictly_sorted(&rows);
            prop_assert_eq!(whole.serialized_size(), pushed.serialized_size());
            prop_assert_eq!(&whole, &pushed);
            let mut with_duplicates = rows.clone();
            with_duplicates.extend(rows.iter().step_by(7));
            with_duplicates.sort_unstable();
            prop_assert_eq!(bitmap_from_sorted(with_duplicates), pushed);
        }
    }

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
