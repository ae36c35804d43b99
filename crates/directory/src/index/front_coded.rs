//! Sorted distinct values, front-coded, each owning a run of rows: the storage behind every term
//! dictionary ([`super::exact::ExactDict`] and [`super::text_dict::TextDict`]).
//!
//! The distinct values are stored once, sorted, in blocks of [`BLOCK`]: the first value of a
//! block in full, every other one as (bytes shared with the value before, the rest), each
//! followed by the length of its run of rows. Sorted neighbours share long prefixes
//! (`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI…`, `john.smith12@…`, the many users named alike), so
//! the text shrinks to a fraction, and a value held by many users is stored once. Every block
//! keeps its byte offset and the position of its first row, so the run of a value is found by
//! decoding its block alone: per distinct value this costs two or three length bytes and the
//! unshared bytes, where a separate `u32` run start per value cost four more.
//!
//! A lookup is a binary search over the blocks' first values, then decoding at most one block:
//! O(log(values / BLOCK) + BLOCK) comparisons, a few hundred nanoseconds. Both an exact value
//! and a prefix are a *partition point* of the sorted values (the first value failing a
//! predicate that holds for a leading run of them), which is the one search implemented here.

use std::ops::Range;

use super::column::Dict;
use crate::model::Row;

/// Values per front-coded block: a lookup decodes at most this many values.
const BLOCK: usize = 16;

/// Sorted distinct values with their runs of rows (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct FrontCoded {
    /// Rows grouped by value in value order (within a value: the dictionary's tie order, each
    /// row once).
    rows: Vec<Row>,
    /// Byte offset in `data` of each block.
    offsets: Vec<usize>,
    /// Position in `rows` of the first row of each block.
    starts: Vec<u32>,
    /// Blocks of values: the first `len, bytes, run`, the others `shared, len, bytes, run`
    /// (LEB128 numbers).
    data: Vec<u8>,
    /// Distinct values.
    values: usize,
}

impl FrontCoded {
    /// Re-encodes a sorted dictionary, whose ties are ordered so that a row holding one value
    /// twice is adjacent to itself (it is kept once). `on_entry(entry, value)` is told the
    /// distinct value number of every entry of the dictionary.
    pub(crate) fn from_dict(dict: &Dict, mut on_entry: impl FnMut(u32, u32)) -> FrontCoded {
        let entries = dict.entries();
        let sorted = dict.sorted();
        let mut coded = FrontCoded {
            rows: Vec::with_capacity(sorted.len()),
            ..FrontCoded::default()
        };
        let mut previous: Option<&[u8]> = None;
        let mut run_start = 0usize;
        for &entry in sorted {
            let text = entries.text(entry as usize).as_bytes();
            let row = entries.row(entry as usize);
            if previous == Some(text) {
                on_entry(entry, (coded.values - 1) as u32);
                if coded.rows.last() != Some(&row) {
                    coded.rows.push(row);
                }
                continue;
            }
            if previous.is_some() {
                push_number(&mut coded.data, coded.rows.len() - run_start);
            }
            run_start = coded.rows.len();
            if coded.values.is_multiple_of(BLOCK) {
                coded.offsets.push(coded.data.len());
                coded.starts.push(run_start as u32);
                push_number(&mut coded.data, text.len());
                coded.data.extend_from_slice(text);
            } else {
                let before = previous.unwrap_or_default();
                let shared = before.iter().zip(text).take_while(|(a, b)| a == b).count();
                push_number(&mut coded.data, shared);
                push_number(&mut coded.data, text.len() - shared);
                coded.data.extend_from_slice(&text[shared..]);
            }
            on_entry(entry, coded.values as u32);
            coded.rows.push(row);
            previous = Some(text);
            coded.values += 1;
        }
        if previous.is_some() {
            push_number(&mut coded.data, coded.rows.len() - run_start);
        }
        coded.rows.shrink_to_fit();
        coded.offsets.shrink_to_fit();
        coded.starts.shrink_to_fit();
        coded.data.shrink_to_fit();
        coded
    }

    /// Every row, grouped by value in value order.
    pub(crate) fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The first value of block `b`.
    fn block_head(&self, b: usize) -> &[u8] {
        let mut at = self.offsets[b];
        let len = read_number(&self.data, &mut at);
        self.data.get(at..at + len).unwrap_or_default()
    }

    /// A cursor on the first value of block `b`.
    fn cursor(&self, b: usize) -> Cursor<'_> {
        Cursor {
            coded: self,
            at: self.offsets.get(b).copied().unwrap_or(self.data.len()),
            value: b * BLOCK,
            position: self.starts.get(b).map_or(self.rows.len(), |&s| s as usize),
            text: Vec::new(),
        }
    }

    /// The position in [`FrontCoded::rows`] of the first row of the first value for which
    /// `before` is false; `before` must hold for a leading run of the sorted values only.
    pub(crate) fn partition_point(&self, before: impl Fn(&[u8]) -> bool) -> usize {
        // The first block whose first value is not before: the answer is in the block ahead of
        // it, or is its first value.
        let (mut low, mut high) = (0, self.offsets.len());
        while low < high {
            let middle = low + (high - low) / 2;
            if before(self.block_head(middle)) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        let Some(block) = low.checked_sub(1) else {
            return 0;
        };
        let mut cursor = self.cursor(block);
        let end = (block + 1) * BLOCK;
        while cursor.value < end {
            let Some(run) = cursor.advance() else {
                break;
            };
            if !before(&cursor.text) {
                return run.start;
            }
        }
        cursor.position
    }

    /// Positions of the rows holding exactly `value`.
    pub(crate) fn equal_range(&self, value: &[u8]) -> Range<usize> {
        let start = self.partition_point(|text| text < value);
        let end = self.partition_point(|text| text <= value);
        start..end.max(start)
    }

    /// Positions of the rows holding a value starting with `prefix`: contiguous, because in
    /// byte order every value with that prefix sorts after all smaller values and before any
    /// larger value lacking it.
    pub(crate) fn prefix_range(&self, prefix: &[u8]) -> Range<usize> {
        let start = self.partition_point(|text| text < prefix);
        let end = self.partition_point(|text| text < prefix || text.starts_with(prefix));
        start..end.max(start)
    }

    /// Calls `visit(value, its run of positions)` for every value whose run starts in
    /// `positions`, in value order.
    pub(crate) fn for_each_in(
        &self,
        positions: Range<usize>,
        mut visit: impl FnMut(&[u8], Range<usize>),
    ) {
        if positions.is_empty() {
            return;
        }
        // The last block starting at or before the range.
        let block = self
            .starts
            .partition_point(|&start| start as usize <= positions.start)
            .saturating_sub(1);
        let mut cursor = self.cursor(block);
        while let Some(run) = cursor.advance() {
            if run.start >= positions.end {
                break;
            }
            if run.start >= positions.start {
                visit(&cursor.text, run);
            }
        }
    }

    /// Calls `visit(value, its run of positions)` for every value, in value order.
    pub(crate) fn for_each(&self, visit: impl FnMut(&[u8], Range<usize>)) {
        self.for_each_in(0..self.rows.len(), visit);
    }

    /// Calls `visit(text)` with distinct value number `value`'s text (nothing when there is no
    /// such value); returns what it returns, `false` when not called.
    pub(crate) fn with_value(&self, value: u32, visit: impl FnOnce(&[u8]) -> bool) -> bool {
        let value = value as usize;
        if value >= self.values {
            return false;
        }
        let mut cursor = self.cursor(value / BLOCK);
        while cursor.value <= value {
            if cursor.advance().is_none() {
                return false;
            }
        }
        visit(&cursor.text)
    }

    /// For each position of [`FrontCoded::rows`], whether it holds the same value as the
    /// position before.
    pub(crate) fn same_as_previous(&self) -> Vec<bool> {
        let mut same = vec![true; self.rows.len()];
        self.for_each(|_, run| {
            if let Some(flag) = same.get_mut(run.start) {
                *flag = false;
            }
        });
        same
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        (self.rows.capacity() * std::mem::size_of::<Row>()
            + self.offsets.capacity() * std::mem::size_of::<usize>()
            + self.starts.capacity() * std::mem::size_of::<u32>()
            + self.data.capacity()) as u64
    }
}

/// Decodes values one after the other from the start of a block (and on across blocks, which
/// are contiguous in `data`).
struct Cursor<'a> {
    coded: &'a FrontCoded,
    /// Byte offset of the next value.
    at: usize,
    /// Number of the next value.
    value: usize,
    /// Position of the next value's first row.
    position: usize,
    /// The value decoded last.
    text: Vec<u8>,
}

impl Cursor<'_> {
    /// Decodes the next value into `text` and returns its run of positions; `None` past the
    /// last value.
    fn advance(&mut self) -> Option<Range<usize>> {
        if self.value >= self.coded.values {
            return None;
        }
        let data = &self.coded.data;
        if self.value.is_multiple_of(BLOCK) {
            self.text.clear();
        } else {
            let shared = read_number(data, &mut self.at);
            self.text.truncate(shared);
        }
        let len = read_number(data, &mut self.at);
        let end = (self.at + len).min(data.len());
        self.text.extend_from_slice(&data[self.at..end]);
        self.at = end;
        let run = read_number(data, &mut self.at);
        let start = self.position;
        self.position += run;
        self.value += 1;
        Some(start..self.position)
    }
}

/// Appends `number` as LEB128 (one byte below 128).
fn push_number(data: &mut Vec<u8>, mut number: usize) {
    while number >= 0x80 {
        data.push((number as u8 & 0x7f) | 0x80);
        number >>= 7;
    }
    data.push(number as u8);
}

/// Reads a LEB128 number at `*at` and moves past it.
fn read_number(data: &[u8], at: &mut usize) -> usize {
    let mut number = 0usize;
    let mut shift = 0;
    while let Some(&byte) = data.get(*at) {
        *at += 1;
        number |= usize::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            break;
        }
        shift += 7;
    }
    number
}
