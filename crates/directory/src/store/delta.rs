//! The delta level (L1): indexes over only the rows changed since the base indexes.
//!
//! A snapshot's base indexes describe every row outside [`super::Snapshot::dirty`]. When the
//! dirty rows outgrow [`super::StoreOptions::max_dirty`] (but not
//! [`super::StoreOptions::max_delta`]), the store builds a [`Delta`]: a whole [`Indexes`] over
//! the model of that version *restricted* to the dirty rows (every other row a hole, the grants
//! to other users left out, team listings cut to those rows). It costs O(dirty rows) per-user
//! work, one pass over the slots (per-row arrays span them) and one over the grants and the
//! catalog — a fraction of a whole rebuild while the dirty rows are a small share of the
//! directory — and it reuses the ordinary builders unchanged.
//!
//! The delta's indexes describe exactly the rows of [`Delta::rows`], always a subset of the
//! dirty rows: a later batch that writes one of them (or makes a per-row change to it) takes
//! it out of `rows` (it is then re-checked one by one again), and the catalog and grant
//! changes the writer makes to the base in place ([`IndexOp`]s that are not per-row) are made
//! to the delta's indexes too, copy-on-write, so they stay exact for their rows. A change to
//! membership structure that rebuilds the base's structure and access parts (a team listing, a
//! role's permissions) drops the delta instead (rare; its rows are re-checked until the next
//! delta build).
//!
//! Readers that know nothing of the delta stay exact (its rows are dirty); the engine answers
//! `(base ∖ dirty) ∪ (delta ∩ delta rows) ∪ recheck(dirty ∖ delta rows)`.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::writer::{apply_ops, IndexOp};
use crate::facts::Subjects;
use crate::index::Indexes;
use crate::model::{Model, Subject};

/// Indexes over the rows changed since the base indexes (see the module doc).
#[derive(Debug, Clone)]
pub struct Delta {
    /// The version whose model `index` was built from.
    pub(super) version: u64,
    /// Indexes exact for every row of `rows` (other rows: unspecified, never read).
    pub index: Arc<Indexes>,
    /// The rows `index` describes exactly; a subset of the snapshot's dirty rows.
    pub rows: Arc<RoaringBitmap>,
}

impl Delta {
    /// Builds the delta level of `model` (version `version`) for `rows`, on the calling thread.
    pub(super) fn build(model: &Model, rows: &RoaringBitmap, version: u64) -> Delta {
        let rows = rows - model.users.holes();
        let index = Indexes::build_with(&restricted(model, &rows), 1);
        Delta {
            version,
            index: Arc::new(index),
            rows: Arc::new(rows),
        }
    }

    /// The delta after a batch that wrote `changed` and made `ops` to the indexes in place
    /// (against `model`, the model after the batch): written rows leave `rows`, catalog and
    /// grant changes are made to the delta's indexes. `None` when the batch changed membership
    /// structure wholesale (the delta is dropped; its rows stay dirty).
    pub(super) fn follow(
        &self,
        changed: &RoaringBitmap,
        ops: &[IndexOp],
        model: &Model,
        subjects: &Subjects,
    ) -> Option<Delta> {
        let shared: Vec<IndexOp> = ops
            .iter()
            .filter(|op| !op.is_row_change())
            .cloned()
            .collect();
        if shared.iter().any(|op| matches!(op, IndexOp::Members)) {
            return None;
        }
        let index = if shared.is_empty() {
            Arc::clone(&self.index)
        } else {
            let mut index = Indexes::clone(&self.index);
            // Rows a sign-in could not be moved for are per-row changes: none here.
            apply_ops(&mut index, &shared, model, subjects);
            Arc::new(index)
        };
        let rows = if self.rows.is_disjoint(changed) {
            Arc::clone(&self.rows)
        } else {
            Arc::new(&*self.rows - changed)
        };
        Some(Delta {
            version: self.version,
            index,
            rows,
        })
    }
}

/// `model` with only `rows` as users: the grants to other users left out and team listings
/// cut to `rows` (the catalog, groups and grants to groups and teams whole).
fn restricted(model: &Model, rows: &RoaringBitmap) -> Model {
    let mut restricted = model.clone();
    restricted.users = model.users.restricted(rows);
    restricted.grants = model
        .grants
        .iter()
        .filter(|grant| match grant.subject {
            Subject::User(row) => rows.contains(row),
            Subject::Group(_) | Subject::Team(_) => true,
        })
        .cloned()
        .collect();
    for team in restricted.teams.iter_mut() {
        if team.users.iter().any(|row| !rows.contains(*row)) {
            team.users.retain(|row| rows.contains(*row));
        }
    }
    restricted
}
