//! The term-dictionary family: one table row per field that is answered by exact lookup in a
//! plain dictionary (no trigrams, no prefixes), saying how its values are read from a user and
//! which case rule it follows. The build loops over the table and lookups index it, so a new
//! field is one row here and one [`TermField`] variant, not four parallel `match`es.
//!
//! The text fields (login, name, emails) are dictionaries too, but each carries trigrams and
//! some answer prefixes: they are the text family ([`super::texts`]).

use crate::model::{Model, User};
use crate::text::{fold, folds_to};

use super::column::{Dict, Entries};
use super::exact::ExactDict;
use super::TermField;

/// How a field's values compare: after [`fold`], or byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Case {
    /// Folded on both sides (build and lookup).
    Folded,
    /// Exact: identifiers and keys.
    Exact,
}

impl Case {
    /// A value as the dictionary stores it.
    pub(super) fn apply(self, value: &str) -> String {
        match self {
            Case::Folded => fold(value),
            Case::Exact => value.to_owned(),
        }
    }
}

/// Feeds every value of one field of a user to a sink.
type Values = fn(&User, &mut dyn FnMut(&str));

/// One dictionary field: what [`super::Indexes::term`] looks up, its name in `:stats`, its case
/// rule and where its values come from.
pub(super) struct TermSpec {
    pub(super) field: TermField,
    pub(super) name: &'static str,
    pub(super) case: Case,
    values: Values,
}

/// Every plain dictionary field, in `:stats` order.
pub(super) const TERMS: [TermSpec; 8] = [
    TermSpec {
        field: TermField::AuthLogin,
        name: "terms.auth_login",
        case: Case::Folded,
        values: |user, push| user.auth.iter().filter_map(|a| a.login).for_each(push),
    },
    TermSpec {
        field: TermField::AuthName,
        name: "terms.auth_name",
        case: Case::Folded,
        values: |user, push| user.auth.iter().filter_map(|a| a.name).for_each(push),
    },
    TermSpec {
        field: TermField::AuthEmail,
        name: "terms.auth_email",
        case: Case::Folded,
        values: |user, push| user.auth.iter().filter_map(|a| a.email).for_each(push),
    },
    TermSpec {
        field: TermField::AuthUid,
        name: "terms.auth_uid",
        case: Case::Exact,
        values: |user, push| user.auth.iter().filter_map(|a| a.uid).for_each(push),
    },
    TermSpec {
        field: TermField::GoogleId,
        name: "terms.google_id",
        case: Case::Exact,
        values: |user, push| uids_of_module(user, "google", push),
    },
    TermSpec {
        field: TermField::OpenId,
        name: "terms.open_id",
        case: Case::Exact,
        values: |user, push| uids_of_module(user, "openid", push),
    },
    TermSpec {
        field: TermField::VcsUserName,
        name: "terms.vcs_user_name",
        case: Case::Folded,
        values: |user, push| user.vcs_user_names.iter().for_each(|v| push(v)),
    },
    TermSpec {
        field: TermField::SshKey,
        name: "terms.ssh_key",
        case: Case::Exact,
        values: |user, push| {
            for key in &user.ssh_keys {
                push(key.key);
                if let Some(blob) = super::ssh_key_blob(key.key) {
                    push(blob);
                }
                if let Some(fingerprint) = &key.fingerprint {
                    push(fingerprint);
                }
            }
        },
    },
];

/// The uids of a user's auth details of one module type (case per the one case rule).
fn uids_of_module(user: &User, module: &str, push: &mut dyn FnMut(&str)) {
    user.auth
        .iter()
        .filter(|a| folds_to(a.module, module))
        .filter_map(|a| a.uid)
        .for_each(push);
}

/// The spec of a dictionary field, if it is one.
pub(super) fn spec(field: TermField) -> Option<(usize, &'static TermSpec)> {
    TERMS
        .iter()
        .enumerate()
        .find(|(_, spec)| spec.field == field)
}

/// One front-coded exact dictionary per row of [`TERMS`], in the same order.
#[derive(Debug)]
pub(super) struct Terms {
    dicts: Vec<ExactDict>,
}

impl Default for Terms {
    /// Empty dictionaries for every field (an index over no users).
    fn default() -> Terms {
        Terms {
            dicts: TERMS.iter().map(|_| ExactDict::default()).collect(),
        }
    }
}

impl Terms {
    /// How many dictionary fields there are (one [`Terms::build_field`] job each).
    pub(super) const FIELDS: usize = TERMS.len();

    /// Reads every user once for the field at position `i` of the table, sorts the values
    /// and front-codes them.
    pub(super) fn build_field(model: &Model, i: usize) -> ExactDict {
        let Some(spec) = TERMS.get(i) else {
            return ExactDict::default();
        };
        let mut entries = Entries::default();
        for (row, user) in model.users.iter() {
            (spec.values)(user, &mut |value| match spec.case {
                Case::Folded => {
                    entries.push_folded(row, value);
                }
                Case::Exact => entries.push(row, value),
            });
        }
        ExactDict::from_dict(&Dict::build(entries, None))
    }

    /// The family from one [`Terms::build_field`] result per field, in table order (missing
    /// fields are empty).
    pub(super) fn from_fields(mut dicts: Vec<ExactDict>) -> Terms {
        dicts.resize_with(TERMS.len(), ExactDict::default);
        Terms { dicts }
    }

    /// The dictionary of `field`, when it is a plain dictionary field.
    pub(super) fn get(&self, field: TermField) -> Option<&ExactDict> {
        spec(field).and_then(|(i, _)| self.dicts.get(i))
    }

    /// Every dictionary with its `:stats` name.
    pub(super) fn named(&self) -> impl Iterator<Item = (&'static str, &ExactDict)> {
        TERMS.iter().map(|spec| spec.name).zip(&self.dicts)
    }
}
