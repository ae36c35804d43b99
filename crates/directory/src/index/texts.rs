//! The text family: login, name and the three kinds of email, each a folded dictionary (exact
//! terms, and prefixes for login and name) with byte-trigram postings for substrings. One table
//! row per field says where its values come from and whether it answers prefixes.

use crate::model::{Model, User};

use super::column::{Dict, Entries, RowSetBuilder};
use super::trigram::TextIndex;
use super::TextField;

/// Feeds every value of one field of a user to a sink.
type Values = fn(&User, &mut dyn FnMut(&str));

/// One text field.
struct TextSpec {
    /// The field (the table is in [`slot`] order; a test checks it).
    #[cfg_attr(not(test), allow(dead_code))]
    field: TextField,
    /// `:stats` names of its dictionary and its trigrams.
    names: (&'static str, &'static str),
    /// Prefix lookups (`loginStartsWith`, `nameStartsWith`, ArcGIS globs) are ranges of the
    /// dictionary: keep ready sets of its wide prefixes.
    prefixes: bool,
    values: Values,
}

/// Every text field, in [`TextField::ALL`] order (the table is indexed by it).
const TEXTS: [TextSpec; 5] = [
    TextSpec {
        field: TextField::Login,
        names: ("terms.login", "trigrams.login"),
        prefixes: true,
        values: |user, push| push(&user.login),
    },
    TextSpec {
        field: TextField::Name,
        names: ("terms.name", "trigrams.name"),
        prefixes: true,
        values: |user, push| user.name.iter().for_each(|v| push(v)),
    },
    TextSpec {
        field: TextField::PrimaryEmail,
        names: ("terms.primary_email", "trigrams.primary_email"),
        // ArcGIS `filter=mar*` is a prefix of the email too.
        prefixes: true,
        values: |user, push| user.email.iter().for_each(|v| push(v)),
    },
    TextSpec {
        field: TextField::SecondaryEmail,
        names: ("terms.secondary_email", "trigrams.secondary_email"),
        prefixes: false,
        values: |user, push| user.emails.iter().for_each(|v| push(v)),
    },
    TextSpec {
        field: TextField::PublicEmail,
        names: ("terms.public_email", "trigrams.public_email"),
        prefixes: false,
        values: |user, push| user.public_email.iter().for_each(|v| push(v)),
    },
];

/// Position of a field in [`TEXTS`].
fn slot(field: TextField) -> usize {
    match field {
        TextField::Login => 0,
        TextField::Name => 1,
        TextField::PrimaryEmail => 2,
        TextField::SecondaryEmail => 3,
        TextField::PublicEmail => 4,
    }
}

/// One text index per row of [`TEXTS`].
#[derive(Debug)]
pub(super) struct Texts {
    indexes: Vec<TextIndex>,
}

impl Default for Texts {
    /// Empty indexes for every field (an index over no users).
    fn default() -> Texts {
        Texts {
            indexes: TEXTS.iter().map(|_| TextIndex::default()).collect(),
        }
    }
}

impl Texts {
    /// How many text fields there are (one [`Texts::build_field`] job each).
    pub(super) const FIELDS: usize = TEXTS.len();

    /// Reads every user once for field number `slot` (in [`TextField::ALL`] order); ties in the
    /// dictionary by id rank (`id_rank`), so a single-valued field's dictionary is also its
    /// `orderBy` order.
    pub(super) fn build_field(model: &Model, id_rank: &[u32], slot: usize) -> TextIndex {
        let Some(spec) = TEXTS.get(slot) else {
            return TextIndex::default();
        };
        let mut entries = Entries::default();
        let mut unlowered = RowSetBuilder::default();
        for (row, user) in model.users.iter() {
            (spec.values)(user, &mut |value| {
                // A plain value folds to its lowercase; another one is compared (its fold is
                // the entry just pushed, not computed twice).
                if !entries.push_folded(row, value) && entries.last_text() != value.to_lowercase() {
                    unlowered.push(row);
                }
            });
        }
        let dict = Dict::build(entries, Some(id_rank));
        TextIndex::build(dict, spec.prefixes, unlowered.finish())
    }

    /// The family from one [`Texts::build_field`] result per field, in slot order (missing
    /// fields are empty).
    pub(super) fn from_fields(mut indexes: Vec<TextIndex>) -> Texts {
        indexes.resize_with(TEXTS.len(), TextIndex::default);
        Texts { indexes }
    }

    /// The index of `field`.
    pub(super) fn get(&self, field: TextField) -> &TextIndex {
        &self.indexes[slot(field)]
    }

    /// Every index with the `:stats` names of its dictionary and trigrams.
    pub(super) fn named(&self) -> impl Iterator<Item = ((&'static str, &'static str), &TextIndex)> {
        TEXTS.iter().map(|spec| spec.names).zip(&self.indexes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_slot_order() {
        for (i, spec) in TEXTS.iter().enumerate() {
            assert_eq!(slot(spec.field), i);
        }
        assert_eq!(TextField::ALL.len(), TEXTS.len());
    }
}
