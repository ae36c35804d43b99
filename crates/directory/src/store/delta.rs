//! The delta level (L1): indexes over only the rows changed since the base indexes.
//!
//! A snapshot's base indexes describe every row outside [`super::Snapshot::dirty`]. When the
//! dirty rows outgrow [`super::StoreOptions::max_dirty`] (but not
//! [`super::StoreOptions::max_delta`]), the store builds a [`Delta`]: a whole [`Indexes`] over
//! the model of that version *restricted* to the dirty rows (every other row a hole, the grants
//! to other users left out, team listings cut to those rows), with the ordinary builders.
//!
//! **O(dirty rows).** The restricted model is gathered from the dirty rows, never from a pass
//! over the directory: its users are the slots of an all-hole table (one shared leaf of
//! pointers, `Chunked::filled`) with the dirty rows' records written in, which
//! [`crate::model::Users::iter`] walks by live row; its grants are the dirty rows' own grants
//! and the grants to groups and teams, from the writer's grants by subject
//! ([`crate::facts::Subjects`]); its team listings are cut through the dirty rows' teams. The
//! builders then do per-row work for those rows only; what stays proportional to the catalog
//! (groups, teams, their grants) is independent of the users, and the entity lookups are
//! shared with the base. Per-row arrays keep global row ids (the engine runs the same plan
//! over the delta with the snapshot's model), so the few that span every slot are allocated
//! zeroed (pages never touched stay unmapped) or as shared leaves (the last-access values by
//! row); the trigram postings of a few values are sorted rather than counted in a table of
//! every trigram. Measured (`examples/delta_cost.rs`, benches/RESULTS.md, under load): at 1M
//! users a build of 64 dirty rows went from 460 ms (a pass over every slot and grant) to 20 ms.
//!
//! The delta's indexes describe exactly the rows of [`Delta::rows`], always a subset of the
//! dirty rows: a later batch that writes one of them (or makes a per-row change to it) takes
//! it out of `rows` (it is then re-checked one by one again), and the catalog and grant
//! changes the writer makes to the base in place ([`IndexOp`]s that are not per-row) are made
//! to the delta's indexes too, copy-on-write, so they stay exact for their rows. What depends
//! on the catalog only (entity lookups, the group forest's lists, the projects' organizations)
//! is not made again per level: each level takes the base's, as it stands after the batch, in
//! pointer copies ([`Written::catalog`]); only its row-dependent parts (holders, member sets
//! among its rows) are changed. Making every catalog change once per level multiplied its cost
//! by the number of levels (benches/RESULTS.md, `catalog11`). A change to
//! membership structure that rebuilds the base's structure and access parts (a team listing, a
//! role's permissions) drops the delta instead (rare; its rows are re-checked until the next
//! delta build).
//!
//! Readers that know nothing of the delta stay exact (its rows are dirty); the engine answers
//! `(base ∖ dirty) ∪ (delta ∩ delta rows) ∪ recheck(dirty ∖ delta rows)`, with one such term
//! per level: a snapshot holds a stack of deltas over disjoint rows ([`Levels`]), and a
//! compaction builds one over the rows no level describes (plus the newest small levels),
//! not over every dirty row.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::writer::{follow_ops, IndexOp};
use crate::facts::Subjects;
use crate::index::Indexes;
use crate::model::{Grant, GroupIdx, Model, Row, Subject, TeamIdx};

/// What a batch (or the batches since a delta was built) did, for a delta to follow: the rows
/// it wrote and the index changes it made in place, with the model and the grants by subject
/// after it.
#[derive(Clone, Copy)]
pub(super) struct Written<'a> {
    /// Rows whose record was written.
    pub(super) changed: &'a RoaringBitmap,
    /// Index changes made in place, in order.
    pub(super) ops: &'a [IndexOp],
    /// The model after them.
    pub(super) model: &'a Model,
    /// Its grants and team listings by subject.
    pub(super) subjects: &'a Subjects,
    /// Indexes whose catalog is `model`'s (the base after the batch): the levels take its
    /// catalog-only parts rather than making the catalog changes again ([`follow_ops`]).
    pub(super) catalog: &'a Indexes,
}

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
    /// `subjects` are the grants and team listings by subject of `model`: the restricted model
    /// is gathered from them in O(rows + their grants + the catalog), never a pass over every
    /// slot or grant, so a build costs O(dirty rows) whatever the directory's size.
    /// `current`: indexes whose catalog is `model`'s (the snapshot's), whose entity lookups
    /// the delta shares.
    pub fn build(
        model: &Model,
        subjects: &Subjects,
        current: &Indexes,
        rows: &RoaringBitmap,
        version: u64,
    ) -> Delta {
        let rows = rows - model.users.holes();
        let index = Indexes::build_for_rows(&restricted(model, subjects, &rows), current);
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
    pub(super) fn follow(&self, batch: &Written<'_>) -> Option<Delta> {
        let Written {
            changed,
            ops,
            model,
            subjects,
            catalog,
        } = *batch;
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
            follow_ops(&mut index, &shared, model, subjects, catalog);
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

    /// This level without `rows` (a newer level describes them); `None` when nothing is left.
    fn without(&self, rows: &RoaringBitmap) -> Option<Delta> {
        if self.rows.is_disjoint(rows) {
            return Some(self.clone());
        }
        let left = &*self.rows - rows;
        (!left.is_empty()).then(|| Delta {
            version: self.version,
            index: Arc::clone(&self.index),
            rows: Arc::new(left),
        })
    }
}

/// At most this many delta levels at once: a compaction folds the newest levels into the level
/// it builds past it (each level costs readers one more plan evaluation).
pub const MAX_LEVELS: usize = 6;

/// The delta levels of a snapshot (an LSM-like stack): each a [`Delta`] over its own rows,
/// the rows of different levels disjoint, oldest (largest) first, with their union.
///
/// **Why a stack.** A single level rebuilt over every dirty row at each compaction costs
/// O(dirty rows) per compaction, so a stream of D dirtied rows costs ~D²/`max_dirty` in all
/// and the later builds outlast the writer's patience (it waits at four times `max_dirty`).
/// A compaction here builds a level over the rows no level describes and folds in only the
/// newest levels no larger than what it already covers ([`Levels::to_build`]): like a binary
/// counter, every row is rebuilt O(log(D / max_dirty)) times, most builds cover a few
/// hundred rows, and there are O(log(D / max_dirty)) levels for a query to run its plan over.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    /// Oldest first; none empty.
    levels: Vec<Delta>,
    /// The union of the levels' rows.
    rows: Arc<RoaringBitmap>,
}

impl Levels {
    /// The levels, oldest first (their rows are disjoint).
    pub fn iter(&self) -> impl Iterator<Item = &Delta> {
        self.levels.iter()
    }

    /// How many levels there are.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// Whether there is no level.
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Every row some level describes.
    pub fn rows(&self) -> &RoaringBitmap {
        &self.rows
    }

    /// One level (what a compaction without levels produces).
    pub fn one(delta: Delta) -> Levels {
        Levels::default().with_level(delta)
    }

    /// The rows the next compaction builds a level over: `undescribed` (the dirty rows no level
    /// describes) plus the newest levels, newest first, while each is no larger than the rows
    /// gathered so far (a binary counter's carry), and any past [`MAX_LEVELS`] − 1 kept.
    pub fn to_build(&self, undescribed: RoaringBitmap) -> RoaringBitmap {
        let mut rows = undescribed;
        for (older, level) in self.levels.iter().enumerate().rev() {
            // Stopping here keeps this level and the `older` ones, then adds one.
            if level.rows.len() > rows.len() && older + 2 <= MAX_LEVELS {
                break;
            }
            rows |= &*level.rows;
        }
        rows
    }

    /// These levels with `built` published on top: the rows it describes leave the older
    /// levels (it is exact for them as of a later version; a level left empty is dropped).
    pub fn with_level(&self, built: Delta) -> Levels {
        let mut levels: Vec<Delta> = self
            .levels
            .iter()
            .filter_map(|level| level.without(&built.rows))
            .collect();
        if !built.rows.is_empty() {
            levels.push(built);
        }
        Levels::of(levels)
    }

    /// The levels after a batch that wrote `changed` and made `ops` in place (see
    /// [`Delta::follow`]); none when the batch changed membership structure wholesale.
    pub(super) fn follow(&self, batch: &Written<'_>) -> Levels {
        if self.levels.is_empty() {
            return Levels::default();
        }
        let disjoint = self.rows.is_disjoint(batch.changed);
        if disjoint && batch.ops.iter().all(IndexOp::is_row_change) {
            return self.clone();
        }
        let mut levels = Vec::with_capacity(self.levels.len());
        for level in &self.levels {
            match level.follow(batch) {
                Some(level) if level.rows.is_empty() => {}
                Some(level) => levels.push(level),
                None => return Levels::default(),
            }
        }
        // Every level lost the rows the batch wrote and nothing else, so their union did too:
        // `Levels::of` would union the levels' rows again, O(their rows) for every batch that
        // writes a row or a grant while two levels or more exist.
        let rows = if disjoint {
            Arc::clone(&self.rows)
        } else {
            Arc::new(&*self.rows - batch.changed)
        };
        debug_assert_eq!(
            *rows,
            *Levels::of(levels.clone()).rows,
            "the union followed"
        );
        Levels { levels, rows }
    }

    fn of(levels: Vec<Delta>) -> Levels {
        let rows = match levels.as_slice() {
            [] => Arc::new(RoaringBitmap::new()),
            [only] => Arc::clone(&only.rows),
            _ => {
                let mut rows = RoaringBitmap::new();
                for level in &levels {
                    rows |= &*level.rows;
                }
                Arc::new(rows)
            }
        };
        Levels { levels, rows }
    }
}

/// `model` with only `rows` as users: the grants to other users left out, and those to
/// groups and teams that reach none of `rows` (they add nothing the delta answers for), and
/// team listings cut to `rows` (the catalog and groups whole). Gathered from `rows` and the
/// grants and team listings by subject: O(rows, the groups and teams reaching them and their
/// grants), plus a pass over the teams' listings.
fn restricted(model: &Model, subjects: &Subjects, rows: &RoaringBitmap) -> Model {
    let mut restricted = model.clone();
    restricted.users = model.users.restricted(rows);
    let reach = Reach::of(model, subjects, rows);
    let mut grants: Vec<(u64, Grant)> = Vec::new();
    for row in rows {
        grants.extend(subjects.numbered_grants(Subject::User(row)));
    }
    for &g in &reach.groups {
        grants.extend(subjects.numbered_grants(Subject::Group(g)));
    }
    for &t in &reach.teams {
        grants.extend(subjects.numbered_grants(Subject::Team(t)));
    }
    // Model order (the order a scan of the grants keeps).
    grants.sort_unstable_by_key(|&(seq, _)| seq);
    restricted.grants = grants.into_iter().map(|(_, grant)| grant).collect();
    // Teams listing one of `rows` keep those; every other team listing users lists none.
    for (t, team) in model.teams.iter().enumerate() {
        if team.users.is_empty() {
            continue;
        }
        let cut: Vec<Row> = if reach.listing.contains(&TeamIdx(t as u32)) {
            team.users
                .iter()
                .copied()
                .filter(|row| rows.contains(*row))
                .collect()
        } else {
            Vec::new()
        };
        if let Some(team) = restricted.teams.get_mut(t) {
            team.users = cut;
        }
    }
    restricted
}

/// The groups and teams whose grants reach one of a delta's rows.
struct Reach {
    /// The rows' groups and their ancestors, ascending.
    groups: Vec<GroupIdx>,
    /// The teams listing one of the rows or one of `groups`, ascending.
    teams: Vec<TeamIdx>,
    /// The teams listing one of the rows directly, ascending.
    listing: Vec<TeamIdx>,
}

impl Reach {
    /// O(the rows' memberships × the groups' depth, and their teams).
    fn of(model: &Model, subjects: &Subjects, rows: &RoaringBitmap) -> Reach {
        let mut seen = vec![false; model.groups.len()];
        let mut groups = Vec::new();
        let mut listing = Vec::new();
        for row in rows {
            listing.extend_from_slice(subjects.teams_of_user(row));
            let Some(user) = model.users.get(row as usize) else {
                continue;
            };
            for membership in &user.groups {
                let mut current = Some(membership.group);
                // Up to the first group already seen: its ancestors are in too.
                while let Some(g) = current {
                    match seen.get_mut(g.index()) {
                        Some(seen) if !*seen => *seen = true,
                        _ => break,
                    }
                    groups.push(g);
                    current = model.groups.get(g.index()).and_then(|group| group.parent);
                }
            }
        }
        groups.sort_unstable();
        listing.sort_unstable();
        listing.dedup();
        let mut teams = listing.clone();
        for &g in &groups {
            teams.extend_from_slice(subjects.teams_of_group(g));
        }
        teams.sort_unstable();
        teams.dedup();
        Reach {
            groups,
            teams,
            listing,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The delta level built from the dirty rows (O(dirty rows)) against its definition: the
    //! model restricted by a pass over every slot, grant and team, and the answers of a fresh
    //! build of the whole directory kept to the delta's rows.

    use std::ops::Bound;

    use proptest::prelude::*;

    use super::*;
    use crate::generate::{generate, generate_changes, GenOptions};
    use crate::index::{AccessScope, Flag, PrefixField, TermField, TextField, TimeColumn};
    use crate::model::{OrgIdx, ProjectIdx, RoleIdx, State};
    use crate::store::{Snapshot, Store, StoreOptions};

    /// A generated directory after `changes` changes of the benchmark's stream (new users,
    /// deletions, grants, memberships, catalog moves), none folded into the indexes.
    fn changed(users: usize, seed: u64, changes: usize) -> Arc<Snapshot> {
        let model = generate(&GenOptions { users, seed });
        let stream = generate_changes(&model, changes, seed);
        let store = Store::with_options(model, StoreOptions::never_compact());
        for change in &stream {
            store
                .apply_changes(std::slice::from_ref(change))
                .expect("the generated stream applies");
        }
        store.snapshot()
    }

    /// The dirty rows of `snapshot` plus every `stride`-th row from `offset` (holes included:
    /// the build drops them).
    fn dirty_set(snapshot: &Snapshot, stride: u32, offset: u32) -> RoaringBitmap {
        let mut rows = (*snapshot.dirty).clone();
        let slots = snapshot.model.users.slots() as u32;
        rows.extend((offset.min(slots)..slots).step_by(stride as usize));
        rows
    }

    /// `model` restricted to `rows` by a pass over everything, the groups and teams reaching
    /// them from their facts (the definition).
    fn assert_restricted_by_scan(model: &Model, rows: &RoaringBitmap, fast: &Model) {
        assert_eq!(fast.users.slots(), model.users.slots());
        let mut live = RoaringBitmap::new();
        for row in 0..model.users.slots() {
            let expected = model.users.get(row).filter(|_| rows.contains(row as u32));
            assert_eq!(fast.users.get(row), expected, "row {row}");
            if expected.is_some() {
                live.insert(row as u32);
            }
        }
        assert_eq!(fast.users.live_rows(), live);
        let walked: Vec<u32> = fast.users.iter().map(|(row, _)| row).collect();
        assert_eq!(walked, live.iter().collect::<Vec<_>>());
        // The groups and teams reaching a row, from each row's facts.
        let subjects = crate::facts::Subjects::build(model);
        let (mut groups, mut teams) = (Vec::new(), Vec::new());
        for row in rows {
            let facts = subjects.facts(model, row);
            groups.extend(facts.transitive_groups);
            teams.extend(facts.teams);
        }
        let grants: Vec<Grant> = model
            .grants
            .iter()
            .filter(|grant| match grant.subject {
                Subject::User(row) => rows.contains(row),
                Subject::Group(g) => groups.contains(&g),
                Subject::Team(t) => teams.contains(&t),
            })
            .cloned()
            .collect();
        assert_eq!(fast.grants.to_vec(), grants);
        let mut teams = model.teams.clone();
        for team in teams.iter_mut() {
            team.users.retain(|row| rows.contains(*row));
        }
        assert_eq!(fast.teams.to_vec(), teams.to_vec());
        assert_eq!(fast.groups.to_vec(), model.groups.to_vec());
        assert_eq!(fast.projects.to_vec(), model.projects.to_vec());
    }

    /// Every answer of `delta` on its rows against a fresh build of the whole model.
    fn assert_answers_as_fresh(model: &Model, delta: &Delta) {
        let fresh = Indexes::build(model);
        let rows = &*delta.rows;
        let on = |set: &RoaringBitmap| set & rows;
        let index = &delta.index;
        assert_eq!(on(index.all()), on(fresh.all()), "all");
        let mut scopes = vec![AccessScope::Any];
        scopes
            .extend((0..model.projects.len() as u32).map(|p| AccessScope::Project(ProjectIdx(p))));
        scopes.extend(
            (0..model.organizations.len() as u32).map(|o| AccessScope::Organization(OrgIdx(o))),
        );
        for &scope in &scopes {
            assert_eq!(
                on(&index.access(scope, None)),
                on(&fresh.access(scope, None))
            );
            for role in (0..model.roles.len() as u32).map(RoleIdx) {
                let one = [role];
                assert_eq!(
                    on(&index.access(scope, Some(&one))),
                    on(&fresh.access(scope, Some(&one))),
                    "access({scope:?}, {role:?})"
                );
            }
        }
        for role in (0..model.roles.len() as u32).map(RoleIdx) {
            assert_eq!(
                on(&index.own_role(role).to_bitmap()),
                on(&fresh.own_role(role).to_bitmap()),
                "{role:?}"
            );
        }
        assert_eq!(
            on(&index.in_any_project().to_bitmap()),
            on(&fresh.in_any_project().to_bitmap())
        );
        for g in (0..model.groups.len() as u32).map(GroupIdx) {
            assert_eq!(
                on(&index.group_direct(g).to_bitmap()),
                on(&fresh.group_direct(g).to_bitmap()),
                "{g:?}"
            );
            assert_eq!(
                on(&index.group_transitive(g).to_bitmap()),
                on(&fresh.group_transitive(g).to_bitmap())
            );
        }
        for t in (0..model.teams.len() as u32).map(TeamIdx) {
            assert_eq!(
                on(&index.team_members(t).to_bitmap()),
                on(&fresh.team_members(t).to_bitmap()),
                "{t:?}"
            );
        }
        for o in (0..model.organizations.len() as u32).map(OrgIdx) {
            assert_eq!(on(index.org_members(o)), on(fresh.org_members(o)), "{o:?}");
        }
        for group in model.groups.iter().take(20) {
            assert_eq!(
                index.resolve_group(&group.name),
                fresh.resolve_group(&group.name)
            );
        }
        for project in model.projects.iter().take(20) {
            assert_eq!(
                index.resolve_project(&project.id),
                fresh.resolve_project(&project.id)
            );
        }
        for flag in Flag::ALL {
            assert_eq!(on(index.flag(flag)), on(fresh.flag(flag)), "{flag:?}");
        }
        for state in State::ALL {
            assert_eq!(on(index.state(state)), on(fresh.state(state)), "{state:?}");
        }
        for row in rows.iter().take(40) {
            let user = &model.users[row as usize];
            for (field, value) in [
                (TermField::Login, user.login.as_ref()),
                (TermField::Id, user.id.as_ref()),
                (TermField::Name, user.name.as_deref().unwrap_or("x")),
            ] {
                assert_eq!(on(&index.term(field, value)), on(&fresh.term(field, value)));
            }
            let start: String = user.login.chars().take(2).collect();
            assert_eq!(
                on(&index.prefix(PrefixField::Login, &start)),
                on(&fresh.prefix(PrefixField::Login, &start))
            );
            let middle: String = user.login.chars().skip(1).take(3).collect();
            assert_eq!(
                on(&index.substring(TextField::Login, &middle)),
                on(&fresh.substring(TextField::Login, &middle))
            );
            let at = Bound::Included(user.created_at);
            for column in [
                TimeColumn::Created,
                TimeColumn::LastAccess,
                TimeColumn::Updated,
            ] {
                for (lo, hi) in [(Bound::Unbounded, at), (at, Bound::Unbounded)] {
                    assert_eq!(
                        on(&index.time_range(column, lo, hi)),
                        on(&fresh.time_range(column, lo, hi)),
                        "{column:?}"
                    );
                }
            }
            let number = Bound::Included(user.number);
            assert_eq!(
                on(&index.number_range(Bound::Unbounded, number)),
                on(&fresh.number_range(Bound::Unbounded, number))
            );
        }
    }

    #[test]
    fn a_delta_over_the_dirty_rows_of_a_stream_answers_as_a_fresh_build() {
        let snapshot = changed(600, 5, 400);
        let model = &snapshot.model;
        let rows = dirty_set(&snapshot, 7, 3);
        let gathered = restricted(model, snapshot.subjects(), &(&rows - model.users.holes()));
        assert_restricted_by_scan(model, &rows, &gathered);
        let delta = Delta::build(
            model,
            snapshot.subjects(),
            &snapshot.index,
            &rows,
            snapshot.version,
        );
        assert_eq!(*delta.rows, &rows - model.users.holes());
        assert_answers_as_fresh(model, &delta);
    }

    /// Levels of a stream of single-change batches, each compaction building a level over the
    /// rows no level describes (plus the newest levels it folds in): the levels' rows are
    /// disjoint dirty rows, there are never more than [`MAX_LEVELS`], and every level answers
    /// for its rows as a fresh build of the whole directory does.
    fn assert_levels_exact(
        users: usize,
        seed: u64,
        changes: usize,
        max_dirty: u64,
        check_every: usize,
    ) -> usize {
        let model = generate(&GenOptions { users, seed });
        let stream = generate_changes(&model, changes, seed);
        let store = Store::with_options(
            model,
            StoreOptions {
                max_dirty,
                max_delta: u64::MAX,
                background: false,
                idle_compaction: None,
            },
        );
        let mut most = 0;
        for (i, change) in stream.iter().enumerate() {
            store
                .apply_changes(std::slice::from_ref(change))
                .expect("the generated stream applies");
            let snapshot = store.snapshot();
            let levels = &snapshot.deltas;
            assert!(levels.len() <= MAX_LEVELS, "{} levels", levels.len());
            most = most.max(levels.len());
            let mut union = RoaringBitmap::new();
            for level in levels.iter() {
                assert!(!level.rows.is_empty());
                assert!(union.is_disjoint(&level.rows), "levels share rows");
                union |= &*level.rows;
            }
            assert_eq!(&union, levels.rows());
            assert!(union.is_subset(&snapshot.dirty));
            assert!(
                snapshot.undescribed() <= max_dirty,
                "a compaction left {} rows",
                snapshot.undescribed()
            );
            if i % check_every == check_every - 1 || i + 1 == stream.len() {
                for level in levels.iter() {
                    assert_answers_as_fresh(&snapshot.model, level);
                }
            }
        }
        most
    }

    #[test]
    fn levels_stay_disjoint_bounded_and_exact_over_a_stream() {
        let most = assert_levels_exact(500, 7, 600, 4, 25);
        assert!(most > 2, "at most {most} levels at once");
    }

    /// A store with at least two delta levels (a stream of single-change batches compacting
    /// on the writer's path).
    fn store_with_levels(users: usize, seed: u64) -> Store {
        let model = generate(&GenOptions { users, seed });
        let stream = generate_changes(&model, 600, seed);
        let store = Store::with_options(
            model,
            StoreOptions {
                max_dirty: 6,
                max_delta: u64::MAX,
                background: false,
                idle_compaction: None,
            },
        );
        for change in &stream {
            store
                .apply_changes(std::slice::from_ref(change))
                .expect("the generated stream applies");
            if store.snapshot().deltas.len() >= 2 {
                return store;
            }
        }
        panic!("the stream never made two levels");
    }

    /// The base and every level of `snapshot` answer for their rows as a fresh build does.
    fn assert_snapshot_exact(snapshot: &Snapshot) {
        let model = &snapshot.model;
        let clean = &(&model.users.live_rows() - &*snapshot.dirty);
        let base = Delta {
            version: snapshot.version,
            index: Arc::clone(&snapshot.index),
            rows: Arc::new(clean.clone()),
        };
        assert_answers_as_fresh(model, &base);
        for level in snapshot.deltas.iter() {
            assert_answers_as_fresh(model, level);
        }
    }

    fn patch_group(id: &str, field: &str, value: &str) -> crate::changes::Change {
        let mut set = serde_json::Map::new();
        set.insert(field.to_owned(), serde_json::Value::from(value));
        crate::changes::Change::Patch {
            kind: crate::changes::EntityKind::Group,
            id: id.to_owned(),
            set,
        }
    }

    /// Catalog changes (a group with members moved to another tree, renamed, a new group and a
    /// new project) while two levels exist: the base and every level answer as a fresh build
    /// for their rows, the levels survive, and they share the base's catalog parts (entity
    /// lookups, group forest, projects' organizations) instead of each making the changes.
    #[test]
    fn catalog_changes_over_two_levels_answer_as_a_fresh_build_and_share_the_catalog() {
        use crate::changes::{Change, Object};
        for seed in [3, 11] {
            let store = store_with_levels(600, seed);
            let snapshot = store.snapshot();
            let model = &snapshot.model;
            // A group below a root with members in a level, and a root of another tree.
            let level_rows = snapshot.deltas.rows().clone();
            let root = |mut g: GroupIdx| {
                while let Some(parent) = model.groups[g.index()].parent {
                    g = parent;
                }
                g
            };
            let moved = (0..model.groups.len() as u32)
                .map(GroupIdx)
                .filter(|&g| model.groups[g.index()].parent.is_some())
                .max_by_key(|&g| {
                    snapshot
                        .index
                        .group_transitive(g)
                        .intersection(&level_rows)
                        .len()
                })
                .expect("a group with a parent");
            assert!(
                !snapshot
                    .index
                    .group_transitive(moved)
                    .to_bitmap()
                    .is_empty()
                    || snapshot
                        .deltas
                        .iter()
                        .any(|l| !l.index.group_transitive(moved).is_empty()),
                "the moved group has members"
            );
            let target = (0..model.groups.len() as u32)
                .map(GroupIdx)
                .find(|&g| model.groups[g.index()].parent.is_none() && g != root(moved))
                .expect("another root");
            let moved_id = model.groups[moved.index()].id.clone();
            let old_parent = model.groups[model.groups[moved.index()].parent.unwrap().index()]
                .id
                .clone();
            let target_id = model.groups[target.index()].id.clone();
            let levels = snapshot.deltas.len();
            let batches: Vec<Vec<Change>> = vec![
                vec![patch_group(&moved_id, "parent", &target_id)],
                vec![patch_group(&moved_id, "name", "Moved And Renamed")],
                vec![
                    Change::Put(Object::Group(crate::raw::Group {
                        id: "g-under-moved".to_owned(),
                        name: "Under Moved".to_owned(),
                        parent: Some(moved_id.clone()),
                    })),
                    Change::Put(Object::Project(crate::raw::Project {
                        id: "p-new-in-org".to_owned(),
                        name: "New Project".to_owned(),
                        key: None,
                        organization: model.organizations.first().map(|o| o.id.clone()),
                    })),
                ],
                // Back under its old parent, in one batch with a rename of the target.
                vec![
                    patch_group(&moved_id, "parent", &old_parent),
                    patch_group(&target_id, "name", "Renamed Root"),
                ],
            ];
            for batch in &batches {
                store
                    .apply_changes(batch)
                    .expect("the catalog batch applies");
                let snapshot = store.snapshot();
                assert_eq!(
                    snapshot.deltas.len(),
                    levels,
                    "a catalog change kept the levels"
                );
                assert_snapshot_exact(&snapshot);
                let index = &snapshot.index;
                for level in snapshot.deltas.iter() {
                    assert!(
                        level.index.shares_catalog(index),
                        "a level copies the catalog"
                    );
                }
            }
            let index = &store.snapshot().index;
            assert_eq!(index.resolve_group("Renamed Root"), vec![target]);
            assert_eq!(index.resolve_group("Moved And Renamed"), vec![moved]);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// Random directories, random streams before the build, random dirty sets.
        #[test]
        fn the_delta_built_from_dirty_rows_is_the_restricted_build(
            users in 20usize..300,
            seed in 0u64..1_000,
            changes in 0usize..200,
            stride in 1u32..40,
            offset in 0u32..40,
        ) {
            let snapshot = changed(users, seed, changes);
            let model = &snapshot.model;
            let rows = dirty_set(&snapshot, stride, offset);
            let live = &rows - model.users.holes();
            let gathered = restricted(model, snapshot.subjects(), &live);
            assert_restricted_by_scan(model, &live, &gathered);
            let delta = Delta::build(model, snapshot.subjects(), &snapshot.index, &rows, snapshot.version);
            assert_answers_as_fresh(model, &delta);
        }

        /// Random directories and streams through levels, with random compaction limits.
        #[test]
        fn levels_of_random_streams_are_disjoint_and_exact(
            (users, seed) in (20usize..200, 0u64..1_000),
            (changes, max_dirty) in (1usize..150, 1u64..8),
        ) {
            assert_levels_exact(users, seed, changes, max_dirty, 40);
        }
    }
}
