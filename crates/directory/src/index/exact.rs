//! Exact-match term dictionaries, front-coded: the plain dictionary fields (auth logins, names,
//! emails and uids, Google and OpenID uids, VCS user names, SSH keys) are only ever asked "which
//! rows hold exactly this value" — no prefix, no substring, no order — so they keep neither a
//! row-order arena nor a sort permutation.
//!
//! The distinct values are stored once, sorted and front-coded ([`FrontCoded`]), each owning a
//! contiguous run of rows, ascending, so a lookup's answer is already sorted. A lookup is a
//! binary search over blocks of 16 values, then decoding one block.
//!
//! Memory per value: its row (4 bytes), per distinct value three length bytes and the bytes it
//! does not share with the value before, per block an offset and a row position — against 12
//! bytes plus the whole text in the plain [`Dict`] layout.

use roaring::RoaringBitmap;

use super::column::{bitmap_from_sorted, Dict};
use super::front_coded::FrontCoded;
use crate::model::Row;

/// A front-coded exact-match dictionary (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct ExactDict {
    /// The distinct values; each value's rows ascending (the dictionary's ties are by row).
    values: FrontCoded,
}

impl ExactDict {
    /// Re-encodes a sorted dictionary (whose ties are ordered by row).
    pub(crate) fn from_dict(dict: &Dict) -> ExactDict {
        ExactDict {
            values: FrontCoded::from_dict(dict, |_, _| {}),
        }
    }

    /// Rows holding exactly `value` (already normalised).
    pub(crate) fn rows(&self, value: &str) -> RoaringBitmap {
        let run = self.values.equal_range(value.as_bytes());
        bitmap_from_sorted(self.values.rows()[run].iter().copied())
    }

    /// The only row holding `value`, or the lowest if several do.
    pub(crate) fn first_row(&self, value: &str) -> Option<Row> {
        let run = self.values.equal_range(value.as_bytes());
        self.values
            .rows()
            .get(run.start)
            .filter(|_| !run.is_empty())
            .copied()
    }

    /// Every row in value order (ties by row): for a field with one value per row, such as the
    /// id, the rows sorted by value.
    pub(crate) fn rows_in_order(&self) -> &[Row] {
        self.values.rows()
    }

    /// For each position of [`ExactDict::rows_in_order`], whether it holds the same value as
    /// the position before.
    pub(crate) fn same_as_previous(&self) -> Vec<bool> {
        self.values.same_as_previous()
    }

    /// How many rows hold exactly `value`.
    pub(crate) fn count(&self, value: &str) -> u64 {
        self.values.equal_range(value.as_bytes()).len() as u64
    }

    /// (value, row) pairs, each row counted once per distinct value it holds.
    pub(crate) fn len(&self) -> usize {
        self.values.rows().len()
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        self.values.heap_bytes()
    }
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
