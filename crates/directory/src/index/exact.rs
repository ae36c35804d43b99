//! Exact-match term dictionaries, front-coded: the plain dictionary fields (auth logins, names,
//! emails and uids, Google and OpenID uids, VCS user names, SSH keys) are only ever asked "which
//! rows hold exactly this value" — no prefix, no substring, no order — so they keep neither a
//! row-order arena nor a sort permutation.
//!
//! The distinct values are stored once, sorted, in blocks of [`BLOCK`]: the first value of a
//! block in full, every other one as (bytes shared with the previous value, the rest). Sorted
//! neighbours share long prefixes (`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI…`, `john.smith12@…`,
//! the many users with the same auth name), so the text shrinks to a fraction, and a value held
//! by many users is stored once. Each distinct value owns a contiguous run of `rows`, ascending,
//! so a lookup's answer is already sorted.
//!
//! A lookup is a binary search over the blocks' first values, then decoding at most one block:
//! O(log(values / BLOCK) + BLOCK) comparisons, a few hundred nanoseconds.
//!
//! Memory per value: its row (4 bytes), per distinct value a run start (4 bytes), two length
//! bytes and the unshared bytes, per block an offset — against 12 bytes plus the whole text in
//! the plain [`Dict`] layout.

use std::ops::Range;

use roaring::RoaringBitmap;

use super::column::{bitmap_from_sorted, Dict};
use crate::model::Row;

/// Values per front-coded block: a lookup decodes at most this many values.
const BLOCK: usize = 16;

/// A front-coded exact-match dictionary (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct ExactDict {
    /// Rows grouped by value in value order, ascending and distinct within a value.
    rows: Vec<Row>,
    /// `rows[starts[v]..starts[v + 1]]` hold distinct value `v` (one more start than values).
    starts: Vec<u32>,
    /// Byte offset in `data` of each block.
    blocks: Vec<usize>,
    /// Blocks of front-coded values: the first `len, bytes`, the others `shared, len, bytes`
    /// (LEB128 lengths).
    data: Vec<u8>,
}

impl ExactDict {
    /// Re-encodes a sorted dictionary (whose ties are ordered by row).
    pub(crate) fn from_dict(dict: &Dict) -> ExactDict {
        let entries = dict.entries();
        let sorted = dict.sorted();
        let mut exact = ExactDict {
            rows: Vec::with_capacity(sorted.len()),
            ..ExactDict::default()
        };
        let mut previous: Option<&[u8]> = None;
        let mut values = 0usize;
        for &entry in sorted {
            let text = entries.text(entry as usize).as_bytes();
            let row = entries.row(entry as usize);
            if previous == Some(text) {
                // Ties are in row order: a repeated (value, row) is adjacent to itself.
                if exact.rows.last() != Some(&row) {
                    exact.rows.push(row);
                }
                continue;
            }
            exact.starts.push(exact.rows.len() as u32);
            exact.rows.push(row);
            if values.is_multiple_of(BLOCK) {
                exact.blocks.push(exact.data.len());
                push_length(&mut exact.data, text.len());
                exact.data.extend_from_slice(text);
            } else {
                let before = previous.unwrap_or_default();
                let shared = before.iter().zip(text).take_while(|(a, b)| a == b).count();
                push_length(&mut exact.data, shared);
                push_length(&mut exact.data, text.len() - shared);
                exact.data.extend_from_slice(&text[shared..]);
            }
            previous = Some(text);
            values += 1;
        }
        exact.starts.push(exact.rows.len() as u32);
        exact.rows.shrink_to_fit();
        exact.starts.shrink_to_fit();
        exact.blocks.shrink_to_fit();
        exact.data.shrink_to_fit();
        exact
    }

    /// The first value of block `b`.
    fn block_head(&self, b: usize) -> &[u8] {
        let mut at = self.blocks[b];
        let len = read_length(&self.data, &mut at);
        &self.data[at..at + len]
    }

    /// The run of `rows` holding `value`, empty when no row does.
    fn run(&self, value: &[u8]) -> Range<usize> {
        // The last block whose first value is ≤ `value`.
        let (mut low, mut high) = (0, self.blocks.len());
        while low < high {
            let middle = low + (high - low) / 2;
            if self.block_head(middle) <= value {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        let block = low;
        let Some(block) = block.checked_sub(1) else {
            return 0..0;
        };
        let end = self
            .blocks
            .get(block + 1)
            .copied()
            .unwrap_or(self.data.len());
        let mut at = self.blocks[block];
        let mut current: Vec<u8> = Vec::new();
        let mut index = block * BLOCK;
        while at < end {
            if index > block * BLOCK {
                let shared = read_length(&self.data, &mut at);
                current.truncate(shared);
            }
            let len = read_length(&self.data, &mut at);
            current.extend_from_slice(&self.data[at..at + len]);
            at += len;
            match current.as_slice().cmp(value) {
                std::cmp::Ordering::Less => index += 1,
                std::cmp::Ordering::Equal => {
                    return self.starts[index] as usize..self.starts[index + 1] as usize;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        0..0
    }

    /// Rows holding exactly `value` (already normalised).
    pub(crate) fn rows(&self, value: &str) -> RoaringBitmap {
        bitmap_from_sorted(self.rows[self.run(value.as_bytes())].iter().copied())
    }

    /// The only row holding `value`, or the lowest if several do.
    pub(crate) fn first_row(&self, value: &str) -> Option<Row> {
        self.rows
            .get(self.run(value.as_bytes()))
            .and_then(|rows| rows.first().copied())
    }

    /// Every row in value order (ties by row): for a field with one value per row, such as the
    /// id, the rows sorted by value.
    pub(crate) fn rows_in_order(&self) -> &[Row] {
        &self.rows
    }

    /// For each position of [`ExactDict::rows_in_order`], whether it holds the same value as
    /// the position before.
    pub(crate) fn same_as_previous(&self) -> Vec<bool> {
        let mut same = vec![true; self.rows.len()];
        for &start in &self.starts {
            if let Some(flag) = same.get_mut(start as usize) {
                *flag = false;
            }
        }
        same
    }

    /// How many rows hold exactly `value`.
    pub(crate) fn count(&self, value: &str) -> u64 {
        self.run(value.as_bytes()).len() as u64
    }

    /// (value, row) pairs, each row counted once per distinct value it holds.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        (self.rows.capacity() * std::mem::size_of::<Row>()
            + self.starts.capacity() * std::mem::size_of::<u32>()
            + self.blocks.capacity() * std::mem::size_of::<usize>()
            + self.data.capacity()) as u64
    }
}

/// Appends `len` as LEB128 (one byte below 128).
fn push_length(data: &mut Vec<u8>, mut len: usize) {
    while len >= 0x80 {
        data.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    data.push(len as u8);
}

/// Reads a LEB128 length at `*at` and moves past it.
fn read_length(data: &[u8], at: &mut usize) -> usize {
    let mut len = 0usize;
    let mut shift = 0;
    while let Some(&byte) = data.get(*at) {
        *at += 1;
        len |= usize::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            break;
        }
        shift += 7;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::super::column::Entries;
    use super::*;
    use proptest::prelude::*;

    fn exact_of(values: &[(Row, String)]) -> (Dict, ExactDict) {
        let mut entries = Entries::default();
        for (row, value) in values {
            entries.push(*row, value);
        }
        let dict = Dict::build(entries, None);
        let exact = ExactDict::from_dict(&dict);
        (dict, exact)
    }

    proptest! {
        /// Every lookup, of a stored value or not, answers what the plain dictionary answers.
        #[test]
        fn lookups_agree_with_the_plain_dictionary(
            mut values in prop::collection::vec((0u32..60, "[ab]{0,5}|ssh-[a-c]{0,40}"), 0..200),
            probes in prop::collection::vec("[ab]{0,5}|ssh-[a-c]{0,40}", 0..20),
        ) {
            values.sort_by_key(|(row, _)| *row);
            let (dict, exact) = exact_of(&values);
            for probe in values.iter().map(|(_, v)| v).chain(&probes) {
                let range = dict.equal_range(probe);
                prop_assert_eq!(exact.rows(probe), dict.rows(range.clone()), "{:?}", probe);
                prop_assert_eq!(exact.count(probe), dict.count_equal(range), "{:?}", probe);
            }
        }
    }

    #[test]
    fn long_values_and_shared_prefixes_round_trip() {
        let long = "x".repeat(300);
        let values: Vec<(Row, String)> = (0..100)
            .map(|i| (i, format!("{long}{}", i % 37)))
            .chain([(100, String::new()), (101, "y".repeat(200))])
            .collect();
        let (_, exact) = exact_of(&values);
        assert_eq!(exact.count(&format!("{long}5")), 3);
        assert_eq!(exact.count(""), 1);
        assert_eq!(exact.count(&"y".repeat(200)), 1);
        assert_eq!(exact.count(&"y".repeat(199)), 0);
        assert_eq!(exact.count(&format!("{long}99")), 0);
        assert_eq!(
            exact.rows(&format!("{long}36")),
            RoaringBitmap::from_iter([36, 73])
        );
    }
}
