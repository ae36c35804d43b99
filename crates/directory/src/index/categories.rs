//! Low-cardinality string fields (auth module, user type, ban status): one bitmap per value.
//!
//! A handful of distinct values each shared by many users is the case roaring bitmaps are made
//! for; a hash map from the normalised value gives the bitmap in one probe.

use std::collections::HashMap;

use roaring::RoaringBitmap;

use super::column::{bitmap_bytes, RowSetBuilder};
use crate::model::Row;

/// Normalised value → rows holding it, plus the first spelling seen of each value (what query
/// assist offers: `Corporate LDAP`, not `corporate ldap`).
#[derive(Debug, Default)]
pub(crate) struct Categories {
    sets: HashMap<Box<str>, RoaringBitmap>,
    spellings: Vec<Box<str>>,
}

/// Collects [`Categories`] row by row.
#[derive(Debug, Default)]
pub(crate) struct CategoriesBuilder {
    sets: HashMap<Box<str>, RowSetBuilder>,
    spellings: Vec<Box<str>>,
}

impl CategoriesBuilder {
    /// Adds `row` under `value` (already normalised; `written` is the value as the directory
    /// spells it); rows must arrive in non-decreasing order.
    pub(crate) fn add(&mut self, value: &str, written: &str, row: Row) {
        match self.sets.get_mut(value) {
            Some(set) => set.push(row),
            None => {
                let mut set = RowSetBuilder::default();
                set.push(row);
                self.sets.insert(value.into(), set);
                self.spellings.push(written.into());
            }
        }
    }

    pub(crate) fn finish(self) -> Categories {
        let mut spellings = self.spellings;
        spellings.sort_unstable();
        Categories {
            sets: self
                .sets
                .into_iter()
                .map(|(value, set)| (value, set.finish()))
                .collect(),
            spellings,
        }
    }
}

impl Categories {
    /// The rows holding `value` (already normalised), if any.
    pub(crate) fn get(&self, value: &str) -> Option<&RoaringBitmap> {
        self.sets.get(value)
    }

    /// Each distinct value as first spelled, sorted.
    pub(crate) fn spellings(&self) -> impl Iterator<Item = &str> {
        self.spellings.iter().map(|s| &**s)
    }

    /// Number of distinct values.
    pub(crate) fn len(&self) -> usize {
        self.sets.len()
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        self.sets
            .iter()
            .map(|(key, set)| key.len() as u64 + 48 + bitmap_bytes(set))
            .sum()
    }
}
