//! [`Snapshot`]: one consistent, immutable version of the directory that readers hold.

use std::sync::{Arc, OnceLock};

use roaring::RoaringBitmap;

use super::Levels;
use crate::facts::{RowFacts, Subjects};
use crate::index::{bitmap_bytes, IndexStats, Indexes};
use crate::model::{self, Model, Row};
use crate::text::fold;

/// One consistent version of the directory: the model, and indexes over it or over an earlier
/// version that differs only in the rows of [`Snapshot::dirty`].
#[derive(Debug)]
pub struct Snapshot {
    /// Increases by one per applied batch; 0 for the initial model.
    pub version: u64,
    /// The model, exactly as of `version`.
    pub model: Arc<Model>,
    /// Indexes over the model as it was when they were built.
    pub index: Arc<Indexes>,
    /// Rows whose record differs from what `index` saw, or that `index` has never seen. Every
    /// other row is described exactly by `index`. Empty right after a rebuild.
    pub dirty: Arc<RoaringBitmap>,
    /// The delta levels: indexes exact for some of the dirty rows, each level over its own
    /// rows (see [`Levels`] and [`super::Delta`]); none until a compaction builds one.
    pub deltas: Levels,
    /// Grants and teams by subject, built on first use; shared by every snapshot over the same
    /// grants, groups and teams (a batch changing those starts a new one).
    pub(super) subjects: Arc<OnceLock<Subjects>>,
}

impl Snapshot {
    /// A clean snapshot (version 0) of a model: builds its indexes.
    pub fn new(model: Model) -> Snapshot {
        let index = Indexes::build(&model);
        Snapshot::indexed(0, Arc::new(model), Arc::new(index))
    }

    /// A clean snapshot from a model and indexes built from exactly that model.
    pub fn indexed(version: u64, model: Arc<Model>, index: Arc<Indexes>) -> Snapshot {
        Snapshot {
            version,
            model,
            index,
            dirty: Arc::new(RoaringBitmap::new()),
            deltas: Levels::default(),
            subjects: Arc::new(OnceLock::new()),
        }
    }

    /// Grants and team listings by subject (built once per set of indexes).
    pub fn subjects(&self) -> &Subjects {
        self.subjects.get_or_init(|| Subjects::build(&self.model))
    }

    /// The facts of one row (groups through subgroups, teams, grants reaching it), as of this
    /// version: O(what reaches the row). A store's snapshots carry the writer's grants by subject,
    /// so nothing is rebuilt per version; only a snapshot made outside a store builds them on
    /// first use.
    pub fn row_facts(&self, row: Row) -> RowFacts {
        self.subjects().facts(&self.model, row)
    }

    /// [`Snapshot::row_facts`] for a row whose groups through subgroups
    /// ([`crate::facts::transitive_groups`]) are already known.
    pub fn row_facts_with_groups(&self, row: Row, groups: Vec<model::GroupIdx>) -> RowFacts {
        self.subjects().facts_with_groups(&self.model, row, groups)
    }

    /// How many live dirty rows no delta level describes either (those the engine re-checks
    /// one by one; what [`super::StoreOptions::max_dirty`] bounds).
    ///
    /// Deleted users (holes) are not counted: the engine skips them in O(1), and no level
    /// can describe them, so counting them (as before) made every batch after `max_dirty`
    /// deletions start a compaction, and every batch after four times that wait for one.
    pub fn undescribed(&self) -> u64 {
        let holes = self.model.users.holes();
        let outside = self.dirty.len() - self.delta_rows().len();
        // Levels never hold holes, so the holes outside them are the dirty ones.
        outside.saturating_sub(holes.intersection_len(&self.dirty))
    }

    /// The live dirty rows no delta level describes (see [`Snapshot::undescribed`]).
    pub fn undescribed_rows(&self) -> RoaringBitmap {
        let mut rows = &*self.dirty - self.delta_rows();
        rows -= self.model.users.holes();
        rows
    }

    /// What this snapshot carries besides its base indexes, as rows of the `:stats` table:
    /// the rows the base does not describe (`live.dirty`), those no delta level describes
    /// either (`live.overlay`: re-checked one by one by every query) and the delta levels
    /// (`live.levels`: their rows, and their indexes' heap without the entity lookups, which
    /// they share with the base). All zero for a clean snapshot. The writer's log of changes
    /// since the base is the store's, not a snapshot's, and is not counted here.
    pub fn live_stats(&self) -> Vec<IndexStats> {
        let overlay = self.undescribed_rows();
        let level_bytes: u64 = self
            .deltas
            .iter()
            .flat_map(|level| level.index.stats())
            .filter(|stats| stats.name != "entities")
            .map(|stats| stats.bytes)
            .sum();
        vec![
            IndexStats {
                name: "live.dirty",
                entries: self.dirty.len(),
                bytes: bitmap_bytes(&self.dirty),
            },
            IndexStats {
                name: "live.overlay",
                entries: overlay.len(),
                bytes: bitmap_bytes(&overlay),
            },
            IndexStats {
                name: "live.levels",
                entries: self.delta_rows().len(),
                bytes: level_bytes,
            },
        ]
    }

    /// Whether some rows are not described by the indexes.
    pub fn has_overlay(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Every row of the model.
    pub fn all_rows(&self) -> RoaringBitmap {
        self.model.users.live_rows()
    }

    /// The row of the user with this login (case-insensitive), overlay included.
    pub fn row_of_login(&self, login: &str) -> Option<Row> {
        let folded = fold(login);
        self.find(
            self.index.row_of_login(login),
            |index| index.row_of_login(login),
            |u| fold(&u.login) == folded,
        )
    }

    /// The row of the user with this id, overlay included.
    pub fn row_of_id(&self, id: &str) -> Option<Row> {
        self.find(
            self.index.row_of_id(id),
            |index| index.row_of_id(id),
            |u| &*u.id == id,
        )
    }

    /// The row of the user with this number, overlay included.
    pub fn row_of_number(&self, number: u64) -> Option<Row> {
        self.find(
            self.index.number(number),
            |index| index.number(number),
            |u| u.number == number,
        )
    }

    /// The rows of the delta levels (empty without one).
    pub fn delta_rows(&self) -> &RoaringBitmap {
        self.deltas.rows()
    }

    /// An index hit that is still clean (in the base, or in a delta level's lookup `in_delta`),
    /// else a scan of the dirty rows none describes.
    fn find(
        &self,
        indexed: Option<Row>,
        in_delta: impl Fn(&Indexes) -> Option<Row>,
        matches: impl Fn(&model::User) -> bool,
    ) -> Option<Row> {
        if let Some(row) = indexed {
            if !self.dirty.contains(row) {
                return Some(row);
            }
        }
        if self.deltas.is_empty() {
            return self
                .dirty
                .iter()
                .find(|&row| self.model.users.get(row as usize).is_some_and(&matches));
        }
        for delta in self.deltas.iter() {
            if let Some(row) = in_delta(&delta.index).filter(|&row| delta.rows.contains(row)) {
                return Some(row);
            }
        }
        (&*self.dirty - self.deltas.rows())
            .iter()
            .find(|&row| self.model.users.get(row as usize).is_some_and(&matches))
    }
}
