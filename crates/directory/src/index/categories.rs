//! Low-cardinality string fields (auth module, user type, ban status): one bitmap per value.
//!
//! A handful of distinct values each shared by many users is the case roaring bitmaps are made
//! for; a hash map from the normalised value gives the bitmap in one probe.

use std::collections::HashMap;

use roaring::RoaringBitmap;

use super::column::{bitmap_bytes, RowSetBuilder};
use crate::model::{Model, Row};
use crate::text::{fold, fold_user_type};

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
    /// Each spelling seen → the position of its normalised value in `values`: one probe per
    /// value read (a million users have a few million category values but only a handful of
    /// distinct spellings, each normalised once). foldhash, seeded per process, as validation's
    /// maps.
    spelled: HashMap<Box<str>, usize, foldhash::fast::RandomState>,
    /// Normalised value → its position in `values`.
    positions: HashMap<Box<str>, usize>,
    /// Each normalised value with its rows, in order of first appearance.
    values: Vec<(Box<str>, RowSetBuilder)>,
    /// The first spelling seen of each value.
    spellings: Vec<Box<str>>,
}

impl CategoriesBuilder {
    /// Adds `row` under `normalise(written)` (`written` is the value as the directory spells
    /// it), normalising each distinct spelling only once; rows must arrive in non-decreasing
    /// order.
    pub(crate) fn add_spelled(&mut self, written: &str, normalise: fn(&str) -> String, row: Row) {
        let at = match self.spelled.get(written) {
            Some(&at) => at,
            None => {
                let value = normalise(written).into_boxed_str();
                let at = match self.positions.get(&value) {
                    Some(&at) => at,
                    None => {
                        let at = self.values.len();
                        self.positions.insert(value.clone(), at);
                        self.values.push((value, RowSetBuilder::default()));
                        self.spellings.push(written.into());
                        at
                    }
                };
                self.spelled.insert(written.into(), at);
                at
            }
        };
        self.values[at].1.push(row);
    }

    pub(crate) fn finish(self) -> Categories {
        let mut spellings = self.spellings;
        spellings.sort_unstable();
        Categories {
            sets: self
                .values
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

/// The category family: every low-cardinality field, built in one pass over the users.
#[derive(Debug, Default)]
pub(crate) struct CategorySets {
    /// Auth module types (`core`, `ldap`, …), folded.
    pub(crate) auth_module_type: Categories,
    /// Auth module names, folded.
    pub(crate) auth_module_name: Categories,
    /// Ban statuses, folded.
    pub(crate) ban_status: Categories,
    /// User types, normalised with [`fold_user_type`].
    pub(crate) user_type: Categories,
}

impl CategorySets {
    /// Reads every user once.
    pub(crate) fn build(model: &Model) -> CategorySets {
        let mut auth_module_type = CategoriesBuilder::default();
        let mut auth_module_name = CategoriesBuilder::default();
        let mut ban_status = CategoriesBuilder::default();
        let mut user_type = CategoriesBuilder::default();
        for (row, user) in model.users.iter() {
            for detail in &user.auth {
                auth_module_type.add_spelled(detail.module, fold, row);
                if let Some(module_name) = &detail.module_name {
                    auth_module_name.add_spelled(module_name, fold, row);
                }
            }
            if let Some(status) = user.ban.as_ref().and_then(|ban| ban.status.as_deref()) {
                ban_status.add_spelled(status, fold, row);
            }
            user_type.add_spelled(&user.user_type, fold_user_type, row);
        }
        CategorySets {
            auth_module_type: auth_module_type.finish(),
            auth_module_name: auth_module_name.finish(),
            ban_status: ban_status.finish(),
            user_type: user_type.finish(),
        }
    }

    /// Every set with its `:stats` name.
    pub(crate) fn named(&self) -> [(&'static str, &Categories); 4] {
        [
            ("categories.auth_module_type", &self.auth_module_type),
            ("categories.auth_module_name", &self.auth_module_name),
            ("categories.ban_status", &self.ban_status),
            ("categories.user_type", &self.user_type),
        ]
    }
}
