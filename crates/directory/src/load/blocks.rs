//! A list of rows kept in blocks of fixed capacity instead of one growing vector.
//!
//! Why: a [`super::rows::UserRow`] is several hundred bytes, and a million of them pushed onto
//! one `Vec` were copied again at every doubling, then once more when the NDJSON chunks were
//! merged and once more when validation paired each row with its number — each copy onto fresh
//! memory the kernel had to zero (a profile of the 100k NDJSON load: a fifth of the time in
//! `finish_grow` and its page faults). Blocks are allocated once at their final size, merged by
//! moving their headers, and handed whole to the validation threads, which free each block as soon
//! as its rows are converted.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// Rows per block: a few MB of user rows, small enough to balance the threads, large enough that
/// the block headers cost nothing.
const BLOCK: usize = 4096;

/// Rows in blocks of at most [`BLOCK`] (a block may be shorter than that in the middle, where two
/// NDJSON chunks were joined). Indices count rows across blocks, in order.
#[derive(Debug)]
pub(crate) struct Blocks<T> {
    blocks: Vec<Vec<T>>,
    /// The index of each block's first row (same length as `blocks`).
    starts: Vec<usize>,
    len: usize,
}

impl<T> Default for Blocks<T> {
    fn default() -> Self {
        Blocks {
            blocks: Vec::new(),
            starts: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Blocks<T> {
    /// How many rows there are.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends one row. The first block grows as a `Vec` does (a small directory allocates
    /// little); once it is full, each new block is allocated at its final capacity.
    pub(crate) fn push(&mut self, row: T) {
        match self.blocks.last_mut() {
            Some(last) if last.len() < BLOCK => last.push(row),
            _ => {
                let mut block = if self.blocks.is_empty() {
                    Vec::new()
                } else {
                    Vec::with_capacity(BLOCK)
                };
                block.push(row);
                self.starts.push(self.len);
                self.blocks.push(block);
            }
        }
        self.len += 1;
    }

    /// Moves every block of `other` after this one's (no row is copied).
    pub(crate) fn append(&mut self, other: Blocks<T>) {
        for block in other.blocks {
            if block.is_empty() {
                continue;
            }
            self.starts.push(self.len);
            self.len += block.len();
            self.blocks.push(block);
        }
    }

    /// Every row in order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &T> + '_ {
        Iter {
            rows: self.blocks.iter().flatten(),
            left: self.len,
        }
    }

    /// The row at `index` (a binary search over the blocks: for error messages, not for loops).
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        let block = self.starts.partition_point(|&start| start <= index);
        let block = block.checked_sub(1)?;
        self.blocks[block].get(index - self.starts[block])
    }

    /// The blocks cut into at most `pieces` runs of consecutive blocks with about as many rows
    /// each, every run with the index of its first row.
    pub(crate) fn into_runs(self, pieces: usize) -> Vec<(usize, Vec<Vec<T>>)> {
        let per_run = self.len.div_ceil(pieces.max(1)).max(1);
        let mut runs: Vec<(usize, Vec<Vec<T>>)> = Vec::with_capacity(pieces);
        let mut filled = 0;
        for (start, block) in self.starts.into_iter().zip(self.blocks) {
            match runs.last_mut() {
                Some((_, run)) if filled < per_run => {
                    filled += block.len();
                    run.push(block);
                }
                _ => {
                    filled = block.len();
                    runs.push((start, vec![block]));
                }
            }
        }
        runs
    }
}

/// [`Blocks::iter`]: the rows of every block, with their count.
struct Iter<I> {
    rows: I,
    left: usize,
}

impl<'a, T: 'a, I: Iterator<Item = &'a T>> Iterator for Iter<I> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        let row = self.rows.next()?;
        self.left -= 1;
        Some(row)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a, T: 'a, I: Iterator<Item = &'a T>> ExactSizeIterator for Iter<I> {}

impl<T> FromIterator<T> for Blocks<T> {
    fn from_iter<I: IntoIterator<Item = T>>(rows: I) -> Self {
        let mut blocks = Blocks::default();
        for row in rows {
            blocks.push(row);
        }
        blocks
    }
}

/// A JSON array read straight into blocks (as `Vec<T>` reads it: `null` is refused).
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Blocks<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BlocksVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for BlocksVisitor<T> {
            type Value = Blocks<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sequence")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Blocks<T>, A::Error> {
                let mut blocks = Blocks::default();
                while let Some(row) = seq.next_element()? {
                    blocks.push(row);
                }
                Ok(blocks)
            }
        }

        deserializer.deserialize_seq(BlocksVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::{Blocks, BLOCK};

    fn numbers(blocks: &Blocks<usize>) -> Vec<usize> {
        blocks.iter().copied().collect()
    }

    #[test]
    fn rows_keep_their_order_and_indices_across_appended_blocks() {
        let mut first = Blocks::default();
        for n in 0..BLOCK + 3 {
            first.push(n);
        }
        let mut second = Blocks::default();
        for n in BLOCK + 3..2 * BLOCK + 10 {
            second.push(n);
        }
        first.append(second);
        first.append(Blocks::default());
        let all: Vec<usize> = (0..2 * BLOCK + 10).collect();
        assert_eq!(numbers(&first), all);
        assert_eq!(first.len(), all.len());
        for index in [0, BLOCK - 1, BLOCK, BLOCK + 2, BLOCK + 3, 2 * BLOCK + 9] {
            assert_eq!(first.get(index), Some(&index));
        }
        assert_eq!(first.get(2 * BLOCK + 10), None);
    }

    #[test]
    fn runs_cover_every_row_once_with_their_first_index() {
        let blocks = (0..5 * BLOCK + 7).collect::<Blocks<usize>>();
        for pieces in 1..8 {
            let mut blocks = Blocks::default();
            blocks.append((0..5 * BLOCK + 7).collect::<Blocks<usize>>());
            let runs = blocks.into_runs(pieces);
            assert!(runs.len() <= pieces, "{} runs for {pieces}", runs.len());
            let mut next = 0;
            for (start, run) in runs {
                assert_eq!(start, next);
                for row in run.into_iter().flatten() {
                    assert_eq!(row, next);
                    next += 1;
                }
            }
            assert_eq!(next, 5 * BLOCK + 7);
        }
        assert_eq!(numbers(&blocks).len(), 5 * BLOCK + 7);
        assert!(Blocks::<usize>::default().into_runs(2).is_empty());
    }

    #[test]
    fn a_json_array_reads_into_blocks_and_null_is_refused() {
        let blocks: Blocks<u32> = serde_json::from_str("[1, 2, 3]").unwrap();
        assert_eq!(blocks.iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
        assert!(serde_json::from_str::<Blocks<u32>>("null").is_err());
    }
}
