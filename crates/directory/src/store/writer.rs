//! What the writer keeps between batches: id, login and number maps (so that checking a batch
//! never scans every user), grants by subject, and the log of index changes since the current
//! indexes, replayed onto indexes a background rebuild produced.

use std::collections::{BTreeMap, HashMap};

use roaring::RoaringBitmap;

use crate::facts::Subjects;
use crate::index::Names;
use crate::index::{Flag, FlagChange, Forest, Indexes};
use crate::load::places::Kind;
use crate::load::{CatalogIds, IdHasher, UserIds};
use crate::model::{self, Model, Row};
use crate::text::fold;

/// What the writer keeps between batches so that checking a batch never scans every user.
pub(crate) struct Writer {
    /// Id → row, of the live users of the current version: what a batch's user ids resolve
    /// against ([`crate::load::Tables::base_users`]).
    pub(crate) ids: UserIds,
    /// Case-folded login → row.
    pub(super) logins: HashMap<String, Row, IdHasher>,
    /// Number → row.
    pub(super) numbers: BTreeMap<u64, Row>,
    /// Catalog id → position, per kind (what a batch's references resolve against).
    pub(crate) catalog: CatalogIds,
    /// What each version changed since the current indexes' model (for background rebuilds:
    /// the rows changed after the rebuilt version stay dirty, its index changes are replayed).
    pub(super) log: Vec<Logged>,
    /// Grants and team listings by subject, current as of the last published version: what a
    /// grant removal asks to know whether a user still holds the role through another path.
    pub(super) subjects: Subjects,
    /// Bumped by every rebuild the writer does itself; a background rebuild started under an
    /// older epoch is stale and dropped.
    pub(super) epoch: u64,
    /// How many rows the next batch may leave to the overlay instead of changing the indexes
    /// in place, for the changes that cost the writer far more in place than as a dirty row
    /// (memberships: ~0.2 ms against ~10 µs at 1M users, `benches/RESULTS.md` "room13").
    /// The store sets it after each version to what remains below twice
    /// [`super::StoreOptions::max_dirty`] rows re-checked one by one when compactions run in
    /// the background (below the four times at which the writer waits for a compaction, so no
    /// batch waits because of them); 0 otherwise (a replay, or compactions on the writer's
    /// path, which the overlay would then make the writer run).
    pub(crate) overlay_room: u64,
}

/// One version's changes, kept until a rebuild covers them.
pub(super) struct Logged {
    pub(super) version: u64,
    /// Rows whose record the version wrote.
    pub(super) rows: RoaringBitmap,
    /// The index changes it made in place.
    pub(super) ops: Vec<IndexOp>,
}

/// A change a batch made to the indexes in place (instead of dirtying rows): replayed, in
/// order, onto indexes rebuilt in the background for an earlier version.
#[derive(Debug, Clone)]
pub(crate) enum IndexOp {
    /// A grant was added.
    GrantAdded(model::Grant),
    /// A grant was removed.
    GrantRemoved(model::Grant),
    /// A catalog object was put (new, renamed, or otherwise rewritten): its kind's entity
    /// lookup moves it from its `old` names (none when new) to those of the final model.
    Entity {
        /// Its kind.
        kind: Kind,
        /// Its position.
        at: u32,
        /// Its names before the put.
        old: Option<Box<Names>>,
    },
    /// Membership structure changed other than by moving groups (a team's listing or a role's
    /// permissions, a project moved to another organization): the structure and access parts
    /// are rebuilt, and the grants and teams by subject.
    Members,
    /// A group was added under a parent: the forest's lists change, no member set does.
    GroupAdded,
    /// A group changed parent: its old and new ancestors' member sets change, and the access
    /// of the moved subtree's members.
    GroupMoved(model::GroupIdx),
    /// A sign-in moved a clean row's last access (the row itself stays clean).
    Touched {
        /// The row.
        row: Row,
        /// Its last access before (the index holds `(old, row)`).
        old: model::Millis,
        /// After.
        new: model::Millis,
    },
    /// A clean row's record changed in its flags or state only (the row stays clean).
    Flagged {
        /// The row.
        row: Row,
        /// The bits that changed.
        change: FlagChange,
    },
    /// A clean row joined or left a group (the row stays clean: its group, team and access
    /// bits follow its final memberships in place).
    Membership {
        /// The row.
        row: Row,
        /// The group joined or left.
        group: model::GroupIdx,
    },
    /// A project was added (at the end of the projects).
    ProjectAdded {
        /// Its position.
        project: model::ProjectIdx,
        /// Its organization.
        organization: Option<model::OrgIdx>,
    },
}

/// Applies `ops` to `index` given the model and subjects as they stand *after* all of them
/// (exact: a removal keeps a user that any grant of the final directory still reaches, and an
/// addition only adds users the final directory's grant reaches). Grants are applied on the
/// member sets the indexes hold, then group moves reconcile the index's forest with the final
/// model's and re-derive the moved members for the final grants. Catalog
/// puts move their objects' names in the entity lookups. Other catalog changes to members
/// (team listings, role permissions, projects moved) rebuild the structure and access parts
/// once from the final model, which already holds every grant of the batch.
///
/// Returns the rows a sign-in could not be moved for in the index (it did not hold the row's
/// old value: never expected, as only rows the index describes are moved): the caller marks
/// them dirty, so the overlay answers for them.
pub(super) fn apply_ops(
    index: &mut Indexes,
    ops: &[IndexOp],
    model: &Model,
    subjects: &Subjects,
) -> RoaringBitmap {
    apply_ops_with(index, ops, model, subjects, None)
}

/// [`apply_ops`] for a delta level (`store/delta.rs`): `catalog` are indexes of the final
/// catalog (the base after the same changes), whose catalog-only parts — entity lookups,
/// group forest, projects' organizations — the level takes in pointer copies instead of
/// making every catalog change again: that work is done once per batch, not once per level.
/// Only what depends on the level's rows (holders, member sets) is applied to it.
pub(super) fn follow_ops(
    index: &mut Indexes,
    ops: &[IndexOp],
    model: &Model,
    subjects: &Subjects,
    catalog: &Indexes,
) {
    // Rows a sign-in could not be moved for are per-row changes: a level follows none.
    apply_ops_with(index, ops, model, subjects, Some(catalog));
}

/// [`apply_ops`], or [`follow_ops`] when `catalog` is given.
fn apply_ops_with(
    index: &mut Indexes,
    ops: &[IndexOp],
    model: &Model,
    subjects: &Subjects,
    catalog: Option<&Indexes>,
) -> RoaringBitmap {
    let mut unmoved = RoaringBitmap::new();
    for op in ops {
        match op {
            IndexOp::Touched { row, old, new } if !index.touched(*row, *old, *new) => {
                unmoved.insert(*row);
            }
            IndexOp::Flagged { row, change } => index.flags_changed(*row, change),
            // Flags are not part of the structure: they follow even when it is rebuilt below.
            IndexOp::Membership { row, .. } => {
                let grouped = model
                    .users
                    .get(*row as usize)
                    .is_some_and(|user| !user.groups.is_empty());
                let flags = vec![(Flag::HasGroup, grouped)];
                index.flags_changed(*row, &FlagChange { flags, state: None });
            }
            // The own-role flag of a user granted to follows the final grants.
            IndexOp::GrantAdded(grant) | IndexOp::GrantRemoved(grant) => {
                if let model::Subject::User(row) = grant.subject {
                    let flags = vec![(Flag::HasOwnRole, subjects.has_grants(grant.subject))];
                    index.flags_changed(row, &FlagChange { flags, state: None });
                }
            }
            _ => {}
        }
    }
    if catalog.is_none() {
        for op in ops {
            if let IndexOp::Entity { kind, at, old } = op {
                index.entity_written(*kind, *at, old.as_deref(), model);
            }
        }
    }
    if ops.iter().any(|op| matches!(op, IndexOp::Members)) {
        index.members_rebuilt(model);
        return unmoved;
    }
    // Catalog first: the grants of the batch then see the final projects.
    let added: Vec<(model::ProjectIdx, Option<model::OrgIdx>)> = ops
        .iter()
        .filter_map(|op| match *op {
            IndexOp::ProjectAdded {
                project,
                organization,
            } => Some((project, organization)),
            _ => None,
        })
        .collect();
    match catalog {
        None => {
            for &(project, organization) in &added {
                index.project_added(project, organization);
            }
        }
        Some(catalog) => index.catalog_shared(catalog, &added),
    }
    for op in ops {
        match op {
            IndexOp::GrantAdded(grant) => index.grant_added(grant),
            IndexOp::GrantRemoved(grant) => index.grant_removed(grant, subjects, model),
            _ => {}
        }
    }
    // Group moves after the grants: a grant removed above saw its subject's members as the
    // indexes held them (the moved subtrees still inside), so every user it reached was
    // re-derived; a move then re-derives the moved members for the final grants of every
    // group and team whose members changed. The other way round, a grant removed from an old
    // ancestor (gone from the final grants) would never reach the members moved out of it.
    let moved: Vec<model::GroupIdx> = ops
        .iter()
        .filter_map(|op| match op {
            IndexOp::GroupMoved(g) => Some(*g),
            _ => None,
        })
        .collect();
    let added_groups = ops.iter().any(|op| matches!(op, IndexOp::GroupAdded));
    if !moved.is_empty() || added_groups {
        // The final forest: computed once for the batch (O(groups × depth)), shared by levels.
        let forest = catalog.map_or_else(|| Forest::of(model), Indexes::forest);
        if moved.is_empty() {
            index.groups_added(&forest);
        } else {
            // Also brings the forest's lists up to date for groups added by the same batches.
            index.groups_moved(model, &moved, &forest, subjects);
        }
    }
    // Memberships last: a grant removed above still saw the row in its old groups, and the
    // row's access is then re-derived for the final grants of the groups it joined or left.
    for op in ops {
        if let IndexOp::Membership { row, group } = op {
            index.membership_changed(*row, *group, model, subjects);
        }
    }
    unmoved
}

impl IndexOp {
    /// The row a per-row change made in place (a sign-in, a flags-only change), if it is one.
    pub(super) fn row(&self) -> Option<Row> {
        match *self {
            IndexOp::Touched { row, .. }
            | IndexOp::Flagged { row, .. }
            | IndexOp::Membership { row, .. } => Some(row),
            _ => None,
        }
    }

    /// Whether this is a per-row change (see [`IndexOp::row`]).
    pub(super) fn is_row_change(&self) -> bool {
        self.row().is_some()
    }
}

/// Per-row changes (sign-ins, flags-only changes) of rows the current indexes do not describe
/// (`dirty`, or written otherwise by the same batch: `changed`) cannot be made in place: they
/// are dropped and the rows join `changed` (the overlay answers for them until a rebuild).
pub(super) fn settle_row_changes(
    ops: &mut Vec<IndexOp>,
    changed: &mut RoaringBitmap,
    dirty: &RoaringBitmap,
) {
    let stale: RoaringBitmap = ops
        .iter()
        .filter_map(IndexOp::row)
        .filter(|&row| dirty.contains(row) || changed.contains(row))
        .collect();
    if stale.is_empty() {
        return;
    }
    ops.retain(|op| op.row().is_none_or(|row| !stale.contains(row)));
    *changed |= stale;
}

impl Writer {
    pub(super) fn of_model(model: &Model) -> Writer {
        let mut writer = Writer {
            ids: UserIds::with_capacity_and_hasher(model.users.count(), Default::default()),
            logins: HashMap::with_capacity_and_hasher(model.users.count(), Default::default()),
            numbers: BTreeMap::new(),
            catalog: CatalogIds::of_model(model),
            log: Vec::new(),
            subjects: Subjects::build(model),
            epoch: 0,
            overlay_room: 0,
        };
        for (row, user) in model.users.iter() {
            writer.insert(row, user);
        }
        writer
    }

    /// Brings every map to `after`, the model a batch produced from `before`: rebuilt for a
    /// structural batch (rows renumbered; the epoch is kept), else updated for the rows the batch
    /// `changed` and its index changes. `subjects` are the batch's grants by subject when it
    /// changed them (its transaction made every grant change on a copy of the writer's): they
    /// are adopted, not made again. The store's commit and a replay both call this, so the
    /// writer's maps follow a batch the same way in both.
    pub(super) fn follow(
        &mut self,
        changed: &RoaringBitmap,
        structural: bool,
        ops: &[IndexOp],
        subjects: Option<Subjects>,
        (before, after): (&Model, &Model),
    ) {
        if structural {
            let epoch = self.epoch;
            *self = Writer::of_model(after);
            self.epoch = epoch;
        } else {
            self.update(changed, before, after);
            self.catalog.follow(before, after);
            self.follow_subjects(ops, subjects, after);
        }
    }

    /// Brings the grants and team listings by subject up to date for a batch: the batch's own
    /// when it changed grants (its removals picked the grants the model lost), plus the
    /// projects it added to organizations (the transaction does not track those).
    fn follow_subjects(&mut self, ops: &[IndexOp], subjects: Option<Subjects>, model: &Model) {
        if ops.iter().any(|op| matches!(op, IndexOp::Members)) {
            // Teams or role permissions changed: O(grants + teams), on that (rare) catalog
            // path only.
            self.subjects = Subjects::build(model);
            return;
        }
        if let Some(subjects) = subjects {
            self.subjects = subjects;
        }
        for op in ops {
            if let IndexOp::ProjectAdded {
                project,
                organization,
            } = op
            {
                self.subjects.project_added(*project, *organization);
            }
        }
    }

    pub(super) fn insert(&mut self, row: Row, user: &model::User) {
        self.ids.insert(user.id.to_string(), row);
        self.logins.insert(fold(&user.login), row);
        self.numbers.insert(user.number, row);
    }

    /// Brings the maps up to date for a batch that wrote `changed` without renumbering rows.
    /// A row whose id, login and number did not change (a sign-in, a state change: most
    /// batches) costs two lookups and no allocation.
    pub(super) fn update(&mut self, changed: &RoaringBitmap, before: &Model, after: &Model) {
        let same = |row: u32| match (
            before.users.get(row as usize),
            after.users.get(row as usize),
        ) {
            (Some(old), Some(new)) => {
                old.id == new.id && old.login == new.login && old.number == new.number
            }
            _ => false,
        };
        let moved: Vec<u32> = changed.iter().filter(|&row| !same(row)).collect();
        for &row in &moved {
            if let Some(old) = before.users.get(row as usize) {
                self.remove(row, old);
            }
        }
        for &row in &moved {
            if let Some(new) = after.users.get(row as usize) {
                self.insert(row, new);
            }
        }
    }

    /// The largest number in use (ordered map: exact after removals and renumberings too).
    pub(super) fn max_number(&self) -> u64 {
        self.numbers.keys().next_back().copied().unwrap_or(0)
    }

    /// Forgets `user`'s entries, but only those still pointing at `row` (another row may have
    /// taken the login or number in the same batch).
    pub(super) fn remove(&mut self, row: Row, user: &model::User) {
        if self.ids.get(&*user.id) == Some(&row) {
            self.ids.remove(&*user.id);
        }
        let login = fold(&user.login);
        if self.logins.get(&login) == Some(&row) {
            self.logins.remove(&login);
        }
        if self.numbers.get(&user.number) == Some(&row) {
            self.numbers.remove(&user.number);
        }
    }
}
