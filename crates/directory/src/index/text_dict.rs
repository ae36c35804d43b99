//! The dictionary of a text field (login, name, emails), front-coded: what the text family asks
//! of its values once they are indexed — exact terms, prefix ranges, the `orderBy` order, and
//! each row's own values to verify trigram candidates and wildcard matches against.
//!
//! The distinct values sit sorted in a [`FrontCoded`] store (ties by id rank, so for a
//! single-valued field its rows are also the `orderBy` order), and a row finds its values
//! through [`ByRow`]: a value number per row. The plain [`Dict`] it is built from (an arena of
//! every value in row order, plus its end offset, row and sort position: 12 bytes and the whole
//! text per value) is dropped after the build; the text now costs only what a value does not
//! share with its sorted neighbour, and a name held by many users is stored once (at 1M users:
//! see benches/RESULTS.md, `dict10`).

use std::ops::Range;

use roaring::RoaringBitmap;

use super::column::{bitmap_from_sorted, Dict, Entries};
use super::front_coded::FrontCoded;
use crate::model::Row;

/// The value numbers of each row.
#[derive(Debug)]
enum ByRow {
    /// At most one value per row: `values[row]`, [`NONE`] for a row without one.
    Single(Vec<u32>),
    /// Several values for some rows: `(row, value)` pairs in row order.
    Multi { rows: Vec<Row>, values: Vec<u32> },
}

/// No value, in [`ByRow::Single`].
const NONE: u32 = u32::MAX;

impl Default for ByRow {
    fn default() -> ByRow {
        ByRow::Single(Vec::new())
    }
}

impl ByRow {
    /// The smaller of the two layouts for `value_of[entry]`, the value number of each entry of
    /// `entries` (whose rows never decrease).
    fn build(entries: &Entries, value_of: Vec<u32>) -> ByRow {
        let rows = || (0..entries.len()).map(|entry| entries.row(entry));
        let mut previous = None;
        let single = rows().all(|row| {
            let increasing = previous.is_none_or(|last| last < row);
            previous = Some(row);
            increasing
        });
        let slots = previous.map_or(0, |row: Row| row as usize + 1);
        if single && slots <= 2 * value_of.len() {
            let mut values = vec![NONE; slots];
            for (row, value) in rows().zip(value_of) {
                values[row as usize] = value;
            }
            ByRow::Single(values)
        } else {
            ByRow::Multi {
                rows: rows().collect(),
                values: value_of,
            }
        }
    }

    /// The value numbers of `row`.
    fn of(&self, row: Row) -> &[u32] {
        match self {
            ByRow::Single(values) => match values.get(row as usize) {
                Some(value) if *value != NONE => std::slice::from_ref(value),
                _ => &[],
            },
            ByRow::Multi { rows, values } => {
                let start = rows.partition_point(|&r| r < row);
                let len = rows[start..].partition_point(|&r| r <= row);
                &values[start..start + len]
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            ByRow::Single(values) => values.capacity() * std::mem::size_of::<u32>(),
            ByRow::Multi { rows, values } => {
                rows.capacity() * std::mem::size_of::<Row>()
                    + values.capacity() * std::mem::size_of::<u32>()
            }
        }
    }
}

/// A text field's dictionary (see the module documentation). Positions are those of
/// [`TextDict::sorted_rows`].
#[derive(Debug, Default)]
pub(crate) struct TextDict {
    values: FrontCoded,
    by_row: ByRow,
}

impl TextDict {
    /// Re-encodes a sorted dictionary (ties by id rank, or any order keeping a row's equal
    /// values adjacent).
    pub(crate) fn from_dict(dict: &Dict) -> TextDict {
        let entries = dict.entries();
        let mut value_of = vec![0u32; entries.len()];
        let values = FrontCoded::from_dict(dict, |entry, value| value_of[entry as usize] = value);
        TextDict {
            values,
            by_row: ByRow::build(entries, value_of),
        }
    }

    /// Positions whose value equals `value`.
    pub(crate) fn equal_range(&self, value: &str) -> Range<usize> {
        self.values.equal_range(value.as_bytes())
    }

    /// Positions whose value starts with `prefix`.
    pub(crate) fn prefix_range(&self, prefix: &str) -> Range<usize> {
        self.values.prefix_range(prefix.as_bytes())
    }

    /// The rows at a range of positions as a set.
    pub(crate) fn rows(&self, range: Range<usize>) -> RoaringBitmap {
        let mut rows: Vec<Row> = self.values.rows()[range].to_vec();
        rows.sort_unstable();
        bitmap_from_sorted(rows)
    }

    /// Distinct rows of an *equal* range (a row holding a value twice is kept once).
    pub(crate) fn count_equal(&self, range: Range<usize>) -> u64 {
        range.len() as u64
    }

    /// The only row whose value equals `value`, or the first in tie order if several do.
    pub(crate) fn first_row(&self, value: &str) -> Option<Row> {
        let range = self.equal_range(value);
        self.values
            .rows()
            .get(range.start)
            .filter(|_| !range.is_empty())
            .copied()
    }

    /// Every row in value order, ties by id rank: for a single-valued field, its `orderBy`
    /// order.
    pub(crate) fn sorted_rows(&self) -> &[Row] {
        self.values.rows()
    }

    /// For each position, whether it holds the same value as the position before.
    pub(crate) fn same_as_previous(&self) -> Vec<bool> {
        self.values.same_as_previous()
    }

    /// (value, row) pairs, each row counted once per distinct value it holds.
    pub(crate) fn len(&self) -> usize {
        self.values.rows().len()
    }

    /// Whether a value of `row` satisfies `test`.
    pub(crate) fn any_value_of(&self, row: Row, mut test: impl FnMut(&str) -> bool) -> bool {
        self.by_row.of(row).iter().any(|&value| {
            self.values
                .with_value(value, |text| std::str::from_utf8(text).is_ok_and(&mut test))
        })
    }

    /// The rows, as a set, of the values at `positions` (all when `None`) that satisfy `test`.
    pub(crate) fn rows_where(
        &self,
        positions: Option<Range<usize>>,
        mut test: impl FnMut(&str) -> bool,
    ) -> RoaringBitmap {
        let mut rows: Vec<Row> = Vec::new();
        let mut visit = |text: &[u8], run: Range<usize>| {
            if std::str::from_utf8(text).is_ok_and(&mut test) {
                rows.extend_from_slice(&self.values.rows()[run]);
            }
        };
        match positions {
            Some(positions) => self.values.for_each_in(positions, &mut visit),
            None => self.values.for_each(&mut visit),
        }
        rows.sort_unstable();
        bitmap_from_sorted(rows)
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        self.values.heap_bytes() + self.by_row.heap_bytes() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every lookup answers what the plain dictionary it was built from answers: exact
        /// terms and prefixes (stored or not), the order, each row's values, filtered scans.
        #[test]
        fn lookups_agree_with_the_plain_dictionary(
            values in prop::collection::vec(("[ab]{0,4}|ssh-[a-c]{0,30}|é[ab]{0,2}", 0u32..3), 0..300),
            probes in prop::collection::vec("[ab]{0,4}|ssh-[a-c]{0,30}|é", 0..20),
            by_rank in any::<bool>(),
        ) {
            let mut entries = Entries::default();
            let mut row = 0;
            for (text, step) in &values {
                row += step;
                entries.push(row, text);
            }
            let ranks: Vec<u32> = (0..=row).rev().collect();
            let dict = Dict::build(entries, by_rank.then_some(ranks.as_slice()));
            let text = TextDict::from_dict(&dict);
            for probe in values.iter().map(|(v, _)| v).chain(&probes) {
                let equal = dict.equal_range(probe);
                let range = text.equal_range(probe);
                prop_assert_eq!(text.rows(range.clone()), dict.rows(equal.clone()), "{:?}", probe);
                prop_assert_eq!(text.count_equal(range), dict.count_equal(equal.clone()));
                prop_assert_eq!(text.first_row(probe), dict.first_row(probe));
                for cut in 0..=probe.len() {
                    let Some(prefix) = probe.get(..cut) else { continue };
                    let expected = dict.rows(dict.prefix_range(prefix));
                    let range = text.prefix_range(prefix);
                    prop_assert_eq!(text.rows(range.clone()), expected.clone(), "{:?}", prefix);
                    prop_assert_eq!(
                        text.rows_where(Some(range), |v| v.starts_with(prefix)),
                        expected,
                    );
                }
            }
            // The order: rows by value then tie rank, a row holding one value twice once.
            let mut order: Vec<(String, Row)> = Vec::new();
            for &entry in dict.sorted() {
                let pair = (
                    dict.entries().text(entry as usize).to_owned(),
                    dict.entries().row(entry as usize),
                );
                if order.last() != Some(&pair) {
                    order.push(pair);
                }
            }
            let rows: Vec<Row> = order.iter().map(|(_, row)| *row).collect();
            prop_assert_eq!(text.sorted_rows(), rows.as_slice());
            let same: Vec<bool> = (0..order.len())
                .map(|k| k > 0 && order[k - 1].0 == order[k].0)
                .collect();
            prop_assert_eq!(text.same_as_previous(), same);
            // Each row's values.
            for probe in &probes {
                let mut expected = Vec::new();
                for (row, value) in dict.entries().iter() {
                    if value.contains(probe.as_str()) && expected.last() != Some(&row) {
                        expected.push(row);
                    }
                }
                let by_row: Vec<Row> = (0..=row + 1)
                    .filter(|&r| text.any_value_of(r, |v| v.contains(probe.as_str())))
                    .collect();
                prop_assert_eq!(&by_row, &expected);
                prop_assert_eq!(
                    text.rows_where(None, |v| v.contains(probe.as_str())),
                    RoaringBitmap::from_iter(expected)
                );
            }
        }
    }

    /// The by-row layout of `(row, value number)` pairs in row order.
    fn by_row(pairs: &[(Row, u32)]) -> ByRow {
        let mut entries = Entries::default();
        for &(row, _) in pairs {
            entries.push(row, "");
        }
        ByRow::build(&entries, pairs.iter().map(|&(_, value)| value).collect())
    }

    #[test]
    fn one_value_per_row_is_a_value_per_slot_and_several_are_pairs() {
        let single = by_row(&[(0, 1), (2, 0), (3, 2)]);
        assert!(matches!(single, ByRow::Single(_)));
        assert_eq!(single.of(2), &[0]);
        assert!(single.of(1).is_empty() && single.of(7).is_empty());
        // Sparse rows: pairs cost less than a slot each.
        assert!(matches!(by_row(&[(0, 0), (1_000, 1)]), ByRow::Multi { .. }));
        let multi = by_row(&[(0, 0), (0, 3), (5, 1)]);
        assert!(matches!(multi, ByRow::Multi { .. }));
        assert_eq!(multi.of(0), &[0, 3]);
        assert_eq!(multi.of(5), &[1]);
        assert!(multi.of(4).is_empty() && multi.of(9).is_empty());
    }
}
