//! Role grants resolved to users: `access(…)`, `ownRole:`, GitLab `without_projects`.
//!
//! A grant reaches a user directly, through a group (transitively) or through a team; resolving
//! that per query would mean walking every grant. Instead, at build time every grant's subject is
//! expanded to a bitmap and OR-ed into its role's holders *at the grant's scope level*: global,
//! per organization, per project. `access(project: p, with: r)` is then the union of at most
//! three bitmaps per role (global, p's organization, p), and the same aggregation over all roles
//! is kept for `access(project: p)` without `with:`.
//!
//! **Live changes (decided, measured at 1M users in benches/RESULTS.md, `acc8`).** A membership
//! or grant change writes a few rows into large shared sets while readers keep the previous
//! version. Every holder set is a [`BlockBitmap`]: a large one (a role's union over its scopes,
//! the any-role union, global holders, a popular project's or organization's holders) is copied
//! on write per 65,536-row block, so a one-row change copies one container (≤ 8 KB), not the
//! whole set (16 containers at 1M); a small one (most per-project sets) stays one shared bitmap
//! and is copied only when it gains or loses a row. On a removal, which of the users it reached
//! still hold the role elsewhere, some role at the scope, any role, or a role in a project
//! comes from their paths to grants ([`crate::facts::Subjects`], each group and team asked
//! once), not from a walk over every holder set of the role (`large13`).
//!
//! A membership (one user joins or leaves a group: the most frequent change that reaches this
//! index) is re-derived for that one row ([`AccessIndex::user_changed`], `mship11`): each set
//! the changed groups' and teams' grants name is set to what the user's facts say, read first
//! and written only where the row flips. Exact without counting paths (the facts are every
//! path), and no temporary bitmap, hash set or set operation per grant: those were 83 % of a
//! membership put's instructions. A small set spread over many blocks (a few hundred rows at
//! 1M users, one container in each of sixteen blocks) is built in blocks too, so a write copies
//! one container, not sixteen ([`BlockBitmap`], `cow13`); cutting such sets into blocks on their
//! first write instead cost more than it saved (measured, `mship11`).
//!
//! **Memory (measured, not done).** The any-role per-project unions (~50 MiB at 1M) could be
//! computed at query time from the roles' sets of the project: that cut the access part from
//! 136.5 to 88.6 MiB, but `access(project: p-0)` went from 0.058 to 0.633 ms and query j from
//! 0.22 to 1.26 ms (a popular project: twenty large sets OR-ed per query), so they are kept.
//! Also not done: keeping grants to groups apart from direct grants (the copies of group
//! members in the per-project sets, ~70 MB), whose any-scope unions (`access(with: R)`, query k)
//! would then be unions over every granted group at query time.
//!
//! **(decided)** `AccessScope::Organization(o)` counts grants scoped to `o` or global only — not
//! grants scoped to a single project inside `o` (hub-query.md: "the same for grants scoped to o
//! (or global)"). A global grant covers every project, an organization grant every project of
//! that organization.

use std::collections::HashSet;
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::block_bitmap::{union_all, union_blocked, BlockBitmap, Cut};
use super::column::{bitmap_from_sorted, Ragged};
use super::scoped::{Dense, ScopeMap};
use super::structure::Structure;
use crate::facts::{RowFacts, StillHeld};
use crate::model::{Model, OrgIdx, PermissionIdx, ProjectIdx, RoleIdx, Row, Scope, Subject};

mod by_row;

/// Which grants count for [`super::Indexes::access`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessScope {
    /// Any grant at all, whatever its scope.
    Any,
    /// Grants scoped to the project, to its organization, or global.
    Project(ProjectIdx),
    /// Grants scoped to the organization or global (not to projects inside it).
    Organization(OrgIdx),
}

/// Holders of one role (or of any role) split by the scope level of the grant. Every bitmap is
/// shared between versions and copied only when a change writes it; the global level and the
/// union `any` are [`BlockBitmap`]s, so a one-row change copies one 65,536-row block of them.
#[derive(Debug, Default, Clone)]
struct Holders {
    global: BlockBitmap,
    organizations: ScopeMap<OrgIdx>,
    projects: ScopeMap<ProjectIdx>,
    /// Union of the three levels.
    any: BlockBitmap,
}

impl Holders {
    /// Adds `users` to one scope level (not to `any`), copying only what gains a row (a level
    /// already holding them all is not even looked up for writing: that copies its leaf of the
    /// scope table).
    fn add_at(&mut self, scope: Scope, users: &Cut<'_>) {
        if self.get(scope).is_some_and(|set| set.holds_all(users)) {
            return;
        }
        self.level_mut(scope).union_with(users);
    }

    fn add(&mut self, scope: Scope, users: &Cut<'_>) {
        self.add_at(scope, users);
        self.any.union_with(users);
    }

    /// Whether `row` is in one scope level.
    fn holds(&self, scope: Scope, row: Row) -> bool {
        self.get(scope).is_some_and(|set| set.contains(row))
    }

    /// Adds (`on`) or removes `row` at one scope level (not `any`). The caller checked that it
    /// changes ([`Self::holds`]): the level is looked up for writing, which copies its leaf of
    /// the scope table, and its bitmap copies the one container holding `row`.
    fn set_at(&mut self, scope: Scope, row: Row, on: bool) {
        let set = if on {
            Some(self.level_mut(scope))
        } else {
            self.held_mut(scope)
        };
        if let Some(set) = set {
            set.set(row, on);
        }
    }

    /// Removes `rows` from one scope level (no copy when none of them is there: not even of the
    /// scope table's leaf).
    fn remove(&mut self, scope: Scope, rows: &Cut<'_>) {
        if rows.is_empty() || !self.get(scope).is_some_and(|set| set.holds_any(rows)) {
            return;
        }
        if let Some(set) = self.held_mut(scope) {
            set.difference_with(rows);
        }
    }

    /// One scope level's set for writing, created empty if missing (looking a scoped level up
    /// for writing copies its leaf of the scope table).
    fn level_mut(&mut self, scope: Scope) -> &mut BlockBitmap {
        match scope {
            Scope::Global => &mut self.global,
            Scope::Organization(o) => self.organizations.slot(o),
            Scope::Project(p) => self.projects.slot(p),
        }
    }

    /// One scope level's set for writing, if it exists.
    fn held_mut(&mut self, scope: Scope) -> Option<&mut BlockBitmap> {
        match scope {
            Scope::Global => Some(&mut self.global),
            Scope::Organization(o) => self.organizations.get_mut(&o),
            Scope::Project(p) => self.projects.get_mut(&p),
        }
    }

    /// The union of every scope level (what `any` holds).
    fn union_of_levels(&self) -> RoaringBitmap {
        union_all(
            std::iter::once(&self.global)
                .chain(self.organizations.values())
                .chain(self.projects.values()),
        )
    }

    /// Adds `users` to one scope level while building (sets stay whole until [`Self::seal`]).
    fn build_add_at(&mut self, scope: Scope, users: &RoaringBitmap) {
        self.level_mut(scope).build_union(users);
    }

    /// Ends a build: every large set cut into blocks, and `any` from the levels, block by block.
    fn seal(&mut self) {
        self.global.seal();
        self.organizations.for_each_mut(BlockBitmap::seal);
        self.projects.for_each_mut(BlockBitmap::seal);
        self.any = union_blocked(
            std::iter::once(&self.global)
                .chain(self.organizations.values())
                .chain(self.projects.values()),
        );
    }

    /// The any-role aggregation of every role's holders, level by level, `any` included (each
    /// large union made block by block: [`union_blocked`]).
    fn union(all: &[Holders]) -> Holders {
        // The sets by key, then each key's union, in key order (the table grows once).
        fn merge<'m, K: Dense + 'm>(maps: impl Iterator<Item = &'m ScopeMap<K>>) -> ScopeMap<K> {
            let mut sets: Vec<(usize, &BlockBitmap)> = maps
                .flat_map(|map| map.iter().map(|(key, set)| (key.at(), set)))
                .collect();
            sets.sort_by_key(|&(at, _)| at);
            sets.chunk_by(|a, b| a.0 == b.0)
                .map(|run| {
                    (
                        K::of(run[0].0),
                        union_blocked(run.iter().map(|&(_, set)| set)),
                    )
                })
                .collect()
        }
        Holders {
            global: union_blocked(all.iter().map(|h| &h.global)),
            organizations: merge(all.iter().map(|h| &h.organizations)),
            projects: merge(all.iter().map(|h| &h.projects)),
            any: union_blocked(all.iter().map(|h| &h.any)),
        }
    }

    /// The bitmap of one scope level, if any.
    fn get(&self, scope: Scope) -> Option<&BlockBitmap> {
        match scope {
            Scope::Global => Some(&self.global),
            Scope::Organization(o) => self.organizations.get(&o),
            Scope::Project(p) => self.projects.get(&p),
        }
    }

    /// The (at most three) bitmaps whose union answers `scope`.
    fn sets(&self, scope: AccessScope, project_org: &[Option<OrgIdx>]) -> Vec<&BlockBitmap> {
        match scope {
            AccessScope::Any => vec![&self.any],
            AccessScope::Organization(o) => {
                let mut sets = vec![&self.global];
                sets.extend(self.organizations.get(&o));
                sets
            }
            AccessScope::Project(p) => {
                let mut sets = vec![&self.global];
                if let Some(Some(o)) = project_org.get(p.index()) {
                    sets.extend(self.organizations.get(o));
                }
                sets.extend(self.projects.get(&p));
                sets
            }
        }
    }

    fn stats(&self) -> (u64, u64) {
        let sets = std::iter::once(&self.global)
            .chain(self.organizations.values())
            .chain(self.projects.values())
            .chain(std::iter::once(&self.any));
        let (mut entries, mut bytes) = (0, 0);
        for set in sets {
            entries += set.len();
            bytes += 32 + set.heap_bytes();
        }
        (entries, bytes)
    }
}

/// Grants resolved to user bitmaps. Cloning copies one pointer per role and per scoped bitmap
/// of the any-role aggregation; a change then copies only the bitmaps it writes.
#[derive(Debug, Default, Clone)]
pub(crate) struct AccessIndex {
    by_role: Vec<Arc<Holders>>,
    any_role: Holders,
    /// Per role, the users granted it directly (large ones kept in blocks: a grant to a user
    /// or a user's deletion writes one row).
    own_role: Vec<BlockBitmap>,
    roles_with_permission: Arc<Ragged<RoleIdx>>,
    project_org: Arc<Vec<Option<OrgIdx>>>,
    /// The organizations owning at least one project (what [`Self::covers_a_project`] asks
    /// per held grant: a scan of `project_org` there made re-deriving one user's access
    /// O(its grants × projects)).
    orgs_with_projects: Arc<HashSet<OrgIdx>>,
    /// Users holding a role "in a project" (most users at 1M: kept in blocks, a membership
    /// that puts a user in or out of every project copies one block).
    in_any_project: BlockBitmap,
}

impl AccessIndex {
    /// Grants to users (~5 per user, 4.8M at 1M users) are bucketed by (role, scope) with a
    /// counting sort and each bucket becomes a bitmap in one ordered append; inserting them one
    /// by one into per-scope hash maps of bitmaps (two SipHash lookups and five inserts per
    /// grant) was half of the whole index build. Grants to groups and teams OR their subject's
    /// members in, and the any-role and any-scope unions are taken once at the end.
    ///
    /// A few users' holders (a delta level's rows) are built row by row instead ([`by_row`]):
    /// the same sets, without the work per (role, scope) the dense build does.
    pub(crate) fn build(model: &Model, structure: &Structure) -> AccessIndex {
        let (by_role, own_role, any_role) = match by_row::Entries::of(model, structure) {
            Some(entries) => entries.holders(),
            None => dense_holders(model, structure),
        };

        let mut with_permission: Vec<Vec<RoleIdx>> = vec![Vec::new(); model.permissions.len()];
        for (role, definition) in model.roles.iter().enumerate() {
            for permission in &definition.permissions {
                if let Some(list) = with_permission.get_mut(permission.index()) {
                    if list.last() != Some(&RoleIdx(role as u32)) {
                        list.push(RoleIdx(role as u32));
                    }
                }
            }
        }

        let project_org: Vec<Option<OrgIdx>> =
            model.projects.iter().map(|p| p.organization).collect();
        // A role "in a project": a project grant, an organization grant of an organization that
        // owns a project, or a global grant when there is any project at all.
        let mut in_any_project = RoaringBitmap::new();
        if !model.projects.is_empty() {
            any_role.global.or_into(&mut in_any_project);
        }
        for (org, set) in any_role.organizations.iter() {
            if project_org.contains(&Some(org)) {
                set.or_into(&mut in_any_project);
            }
        }
        in_any_project |= union_all(by_role.iter().flat_map(|holders| holders.projects.values()));

        AccessIndex {
            by_role: by_role.into_iter().map(Arc::new).collect(),
            any_role,
            own_role,
            roles_with_permission: Arc::new(Ragged::from_lists(with_permission)),
            orgs_with_projects: Arc::new(project_org.iter().flatten().copied().collect()),
            project_org: Arc::new(project_org),
            in_any_project: BlockBitmap::from(in_any_project),
        }
    }

    /// Whether a role held at `scope` puts its holder "in a project" ([`Self::in_any_project`]).
    pub(crate) fn covers_a_project(&self, scope: Scope) -> bool {
        match scope {
            Scope::Global => !self.project_org.is_empty(),
            Scope::Organization(o) => self.orgs_with_projects.contains(&o),
            Scope::Project(_) => true,
        }
    }

    /// A project was added at position `project` (ignored unless it is the next one: a replay
    /// onto indexes that already have it). The first project puts global holders "in a
    /// project"; the first of an organization does the same for the organization's holders.
    pub(crate) fn project_added(&mut self, project: ProjectIdx, organization: Option<OrgIdx>) {
        if project.index() != self.project_org.len() {
            return;
        }
        let first = self.project_org.is_empty();
        let first_of_org = organization.is_some_and(|o| !self.orgs_with_projects.contains(&o));
        Arc::make_mut(&mut self.project_org).push(organization);
        if let Some(org) = organization.filter(|_| first_of_org) {
            Arc::make_mut(&mut self.orgs_with_projects).insert(org);
        }
        if first {
            let global = self.any_role.global.to_bitmap();
            self.in_any_project.union_with(&Cut::new(&global));
        }
        if let Some(org) = organization.filter(|_| first_of_org) {
            if let Some(held) = self.any_role.organizations.get(&org) {
                let held = held.to_bitmap();
                self.in_any_project.union_with(&Cut::new(&held));
            }
        }
    }

    /// Whether the catalog-only parts are `from`'s (see [`Self::catalog_taken`]).
    pub(crate) fn shares_catalog(&self, from: &AccessIndex) -> bool {
        Arc::ptr_eq(&self.project_org, &from.project_org)
            && Arc::ptr_eq(&self.orgs_with_projects, &from.orgs_with_projects)
            && Arc::ptr_eq(&self.roles_with_permission, &from.roles_with_permission)
    }

    /// Takes the catalog-only parts (the projects' organizations, the organizations with
    /// projects, the roles by permission) from `from`, an index of the final catalog, instead
    /// of changing them here again (a delta level, see [`super::Indexes::catalog_shared`]).
    /// `added` are the projects added since this index's catalog, in order: the holders "in a
    /// project" follow them as [`Self::project_added`] would (decided against this index's
    /// catalog before it is replaced, and on this index's own holders).
    pub(crate) fn catalog_taken(
        &mut self,
        from: &AccessIndex,
        added: &[(ProjectIdx, Option<OrgIdx>)],
    ) {
        let mut known = self.project_org.len();
        let mut first = false;
        let mut first_of_org: Vec<OrgIdx> = Vec::new();
        for &(project, organization) in added {
            if project.index() != known {
                continue; // already held (as in `project_added`)
            }
            first |= known == 0;
            if let Some(org) = organization {
                if !self.orgs_with_projects.contains(&org) && !first_of_org.contains(&org) {
                    first_of_org.push(org);
                }
            }
            known += 1;
        }
        self.project_org = Arc::clone(&from.project_org);
        self.orgs_with_projects = Arc::clone(&from.orgs_with_projects);
        self.roles_with_permission = Arc::clone(&from.roles_with_permission);
        if first {
            let global = self.any_role.global.to_bitmap();
            self.in_any_project.union_with(&Cut::new(&global));
        }
        for org in first_of_org {
            if let Some(held) = self.any_role.organizations.get(&org) {
                let held = held.to_bitmap();
                self.in_any_project.union_with(&Cut::new(&held));
            }
        }
    }

    /// A grant of `role` at `scope` was added; `users` are its subject's members now (one row
    /// for a grant to a user, `direct`). Copies only the bitmaps it writes.
    pub(crate) fn grant_added(
        &mut self,
        role: RoleIdx,
        scope: Scope,
        users: &RoaringBitmap,
        direct: bool,
    ) {
        if self.by_role.len() <= role.index() {
            self.by_role.resize_with(role.index() + 1, Default::default);
        }
        // Cut into blocks once for the five or six sets written (see `Cut`).
        let users = &Cut::new(users);
        Arc::make_mut(&mut self.by_role[role.index()]).add(scope, users);
        self.any_role.add(scope, users);
        if direct {
            if self.own_role.len() <= role.index() {
                self.own_role
                    .resize_with(role.index() + 1, Default::default);
            }
            self.own_role[role.index()].union_with(users);
        }
        if self.covers_a_project(scope) {
            self.in_any_project.union_with(users);
        }
    }

    /// A grant of `role` at `scope` was removed. `still` lists every user it reached with what
    /// that user still holds through the remaining grants (its [`RowFacts`], computed after the
    /// removal): a user leaves a holder set only when no other path keeps it there, so removing
    /// one of several paths is exact. Time is proportional to the affected users.
    ///
    /// One (role, scope) asks each user's facts once: a scan of them, not the summary sets of
    /// [`Self::summaries`] (four `HashSet`s per user, hashed with SipHash, were 35 % of a grant
    /// removal's instructions; `benches/RESULTS.md` "room13").
    pub(crate) fn grant_removed(&mut self, role: RoleIdx, scope: Scope, still: &[(Row, RowFacts)]) {
        let losses: Vec<Loss> = still
            .iter()
            .map(|(row, facts)| {
                let access = &facts.access;
                Loss {
                    row: *row,
                    scope: !access.contains(&(role, scope)),
                    role: !access.iter().any(|&(r, _)| r == role),
                    any_scope: !access.iter().any(|&(_, s)| s == scope),
                    any: access.is_empty(),
                    own: !facts.own_roles.contains(&role),
                    project: !access.iter().any(|&(_, s)| self.covers_a_project(s)),
                }
            })
            .collect();
        self.lose(role, scope, &losses);
    }

    /// What each user of `still` holds, in sets asked in O(1) (once per user, however many
    /// grants are re-derived for it).
    fn summaries(&self, still: &[(Row, RowFacts)]) -> Vec<Still> {
        still
            .iter()
            .map(|(row, facts)| Still {
                row: *row,
                pairs: facts.access.iter().copied().collect(),
                roles: facts.access.iter().map(|&(r, _)| r).collect(),
                scopes: facts.access.iter().map(|&(_, s)| s).collect(),
                own: facts.own_roles.iter().copied().collect(),
                in_project: facts.access.iter().any(|&(_, s)| self.covers_a_project(s)),
            })
            .collect()
    }

    /// [`Self::grant_removed`] for users already summarised.
    fn removed_for(&mut self, role: RoleIdx, scope: Scope, still: &[Still]) {
        let losses: Vec<Loss> = still
            .iter()
            .map(|user| Loss {
                row: user.row,
                scope: !user.pairs.contains(&(role, scope)),
                role: !user.roles.contains(&role),
                any_scope: !user.scopes.contains(&scope),
                any: user.pairs.is_empty(),
                own: !user.own.contains(&role),
                project: !user.in_project,
            })
            .collect();
        self.lose(role, scope, &losses);
    }

    /// Takes each user of `losses` out of the sets of a removed grant of `role` at `scope`
    /// that it no longer belongs to (copying only the sets that hold one of them).
    fn lose(&mut self, role: RoleIdx, scope: Scope, losses: &[Loss]) {
        let rows = |lost: fn(&Loss) -> bool| -> RoaringBitmap {
            losses
                .iter()
                .filter(|loss| lost(loss))
                .map(|loss| loss.row)
                .collect()
        };
        let lose_scope = rows(|l| l.scope);
        let lose_role = rows(|l| l.role);
        let lose_any_scope = rows(|l| l.any_scope);
        let lose_any = rows(|l| l.any);
        let lose_own = rows(|l| l.own);
        let lose_project = rows(|l| l.project);
        if let Some(holders) = self.by_role.get_mut(role.index()) {
            // Each asked first, then written: cut once for both.
            let (lose_scope, lose_role) = (Cut::new(&lose_scope), Cut::new(&lose_role));
            let writes = holders
                .get(scope)
                .is_some_and(|set| set.holds_any(&lose_scope))
                || holders.any.holds_any(&lose_role);
            if writes {
                let holders = Arc::make_mut(holders);
                holders.remove(scope, &lose_scope);
                holders.any.difference_with(&lose_role);
            }
        }
        self.any_role.remove(scope, &Cut::new(&lose_any_scope));
        self.any_role.any.difference_with(&Cut::new(&lose_any));
        if let Some(own) = self.own_role.get_mut(role.index()) {
            own.difference_with(&Cut::new(&lose_own));
        }
        self.in_any_project
            .difference_with(&Cut::new(&lose_project));
    }

    /// A grant of `role` at `scope` was removed; `lost` are the users it reached that no other
    /// grant of the same role and scope reaches (the caller decided that on bitmaps), and
    /// `still` what they hold now from their paths to grants ([`crate::facts::Subjects`]):
    /// the role's level at `scope` loses them all, its union those that hold the role nowhere
    /// else, the any-role level those that hold no role at `scope`, the any-role union those
    /// that hold none at all, "in a project" those that hold none at a scope covering one.
    /// `own` is the user subject when it holds the role directly no more. Cost: O(the lost
    /// users) per set written; before, the aggregations were re-derived on the holder bitmaps,
    /// one subtraction per scope the role is held at (thousands of projects at 1M users: 18–21
    /// ms for a group of 10k members, benches/RESULTS.md `large13`).
    pub(crate) fn grant_removed_by_paths(
        &mut self,
        (role, scope): (RoleIdx, Scope),
        lost: &RoaringBitmap,
        own: Option<Subject>,
        still: &StillHeld,
    ) {
        if let (Some(Subject::User(row)), Some(set)) = (own, self.own_role.get_mut(role.index())) {
            set.set(row, false);
        }
        if lost.is_empty() {
            return;
        }
        if let Some(holders) = self.by_role.get_mut(role.index()) {
            let holders = Arc::make_mut(holders);
            holders.remove(scope, &Cut::new(lost));
            holders
                .any
                .difference_with(&Cut::new(&(lost - &still.role)));
        }
        self.any_role
            .remove(scope, &Cut::new(&(lost - &still.at_scope)));
        self.any_role
            .any
            .difference_with(&Cut::new(&(lost - &still.any)));
        if self.covers_a_project(scope) {
            self.in_any_project
                .difference_with(&Cut::new(&(lost - &still.in_a_project)));
        }
    }

    /// One user's groups or teams changed (a membership put or deleted): `pairs` are the
    /// (role, scope) of every grant to a group or team that gained or lost `row`, `facts` what
    /// `row` holds now. Only the sets those pairs name can change for `row` (any other pair is
    /// held, or not, through the same grants as before), and for one row each is a lookup in
    /// `facts`: the level of each pair holds `row` iff `facts` has the pair (whatever other
    /// path keeps it there, so a removal is exact), the role's union iff it has the role, the
    /// any-role level iff it has the scope, and so on. Each set is read first and written only
    /// when `row` flips in it, one row into one container ([`BlockBitmap::set`]).
    ///
    /// Before, a membership went through the many-users path ([`Self::members_changed`]) with a
    /// one-row bitmap: per grant, sets of summaries hashed, six temporary bitmaps, a
    /// difference against every level a holder may be in (walking its array container), then
    /// the unions added back one grant at a time — 83 % of a membership put's instructions
    /// (callgrind, benches/RESULTS.md `mship11`). O(facts × log(pairs) + pairs × log(pairs))
    /// plus a copy of each set that changes; nothing proportional to the directory or a
    /// group's size.
    pub(crate) fn user_changed(&mut self, row: Row, pairs: &[(RoleIdx, Scope)], facts: &RowFacts) {
        // Sorted as packed keys: a sort by a key recomputed per comparison (a `match` on the
        // scope) was 5 % of a membership put's instructions.
        let mut keys: Vec<u128> = pairs
            .iter()
            .map(|&(role, scope)| pair_key(role, scope))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut scopes: Vec<u64> = keys.iter().map(|&key| key as u64).collect();
        scopes.sort_unstable();
        scopes.dedup();
        let held = HeldPairs::of(facts, &keys, &scopes);
        for &key in &keys {
            let (role, scope) = pair_of(key);
            let on = held.has_pair(key);
            if self.by_role.len() <= role.index() {
                if !on {
                    continue;
                }
                self.by_role.resize_with(role.index() + 1, Default::default);
            }
            let holders = &mut self.by_role[role.index()];
            if holders.holds(scope, row) != on {
                Arc::make_mut(holders).set_at(scope, row, on);
            }
        }
        // The roles' unions: `keys` are sorted by role.
        let mut last_role = None;
        for (role, _) in keys.iter().map(|&key| pair_of(key)) {
            if last_role.replace(role) == Some(role) {
                continue;
            }
            let on = held.has_role(role);
            if let Some(holders) = self.by_role.get_mut(role.index()) {
                if holders.any.contains(row) != on {
                    Arc::make_mut(holders).any.set(row, on);
                }
            }
        }
        for scope in scopes.into_iter().map(scope_of) {
            let on = held.has_scope(scope);
            if self.any_role.holds(scope, row) != on {
                self.any_role.set_at(scope, row, on);
            }
        }
        self.any_role.any.set(row, !facts.access.is_empty());
        let in_project = facts
            .access
            .iter()
            .any(|&(_, scope)| self.covers_a_project(scope));
        self.in_any_project.set(row, in_project);
    }

    /// The groups or teams of some users changed (groups moved): `grants` are the grants to
    /// every group and team whose member set changed, each with its subject's members now;
    /// `still` lists every affected user with its facts now. Each such (role, scope) loses the
    /// affected users that no longer hold it through any path and gains the affected users its
    /// subject reaches now, so the result is exact. O(affected users × those grants).
    pub(crate) fn members_changed(
        &mut self,
        grants: &[(RoleIdx, Scope, RoaringBitmap)],
        still: &[(Row, RowFacts)],
    ) {
        let affected: RoaringBitmap = still.iter().map(|(row, _)| *row).collect();
        let summaries = self.summaries(still);
        let mut removed = HashSet::new();
        for &(role, scope, _) in grants {
            if removed.insert((role, scope)) {
                self.removed_for(role, scope, &summaries);
            }
        }
        for (role, scope, members) in grants {
            let mut gained = members & &affected;
            // Holders at the scope are in every aggregation already: adding them again would
            // only copy the role's holders.
            if let Some(held) = self.by_role.get(role.index()).and_then(|h| h.get(*scope)) {
                held.subtract_from(&mut gained);
            }
            if !gained.is_empty() {
                self.grant_added(*role, *scope, &gained, false);
            }
        }
    }

    fn sets<'a>(&'a self, scope: AccessScope, roles: Option<&[RoleIdx]>) -> Vec<&'a BlockBitmap> {
        match roles {
            None => self.any_role.sets(scope, &self.project_org),
            Some(roles) => roles
                .iter()
                .filter_map(|role| self.by_role.get(role.index()))
                .flat_map(|holders| holders.sets(scope, &self.project_org))
                .collect(),
        }
    }

    pub(crate) fn access(&self, scope: AccessScope, roles: Option<&[RoleIdx]>) -> RoaringBitmap {
        let mut result = RoaringBitmap::new();
        for set in self.sets(scope, roles) {
            set.or_into(&mut result);
        }
        result
    }

    /// Sum of the unioned bitmaps' sizes, capped at `user_count`: exact when one bitmap answers.
    pub(crate) fn estimate(
        &self,
        scope: AccessScope,
        roles: Option<&[RoleIdx]>,
        user_count: u32,
    ) -> u64 {
        let sum: u64 = self.sets(scope, roles).iter().map(|set| set.len()).sum();
        sum.min(u64::from(user_count))
    }

    pub(crate) fn own_role(&self, role: RoleIdx) -> Option<&BlockBitmap> {
        self.own_role.get(role.index())
    }

    pub(crate) fn roles_with_permission(&self, permission: PermissionIdx) -> &[RoleIdx] {
        self.roles_with_permission.get(permission.index())
    }

    pub(crate) fn in_any_project(&self) -> &BlockBitmap {
        &self.in_any_project
    }

    pub(crate) fn stats(&self) -> (u64, u64) {
        let (mut entries, mut bytes) = self.any_role.stats();
        for holders in &self.by_role {
            let (e, b) = holders.stats();
            entries += e;
            bytes += b;
        }
        for set in self
            .own_role
            .iter()
            .chain(std::iter::once(&self.in_any_project))
        {
            entries += set.len();
            bytes += 24 + set.heap_bytes();
        }
        bytes += self.roles_with_permission.heap_bytes();
        (entries, bytes)
    }
}

/// Which sets of a removed grant's (role, scope) one user leaves: those no remaining path
/// keeps it in.
struct Loss {
    row: Row,
    /// The role's holders at the scope.
    scope: bool,
    /// The role's union over scopes.
    role: bool,
    /// The any-role holders at the scope.
    any_scope: bool,
    /// The any-role union (it holds nothing at all).
    any: bool,
    /// The role's own-role set (not granted the role itself).
    own: bool,
    /// The users holding some role at a scope covering a project.
    project: bool,
}

/// What one user still holds after a change, as sets (see [`AccessIndex::members_changed`]).
struct Still {
    row: Row,
    /// Every (role, scope) it holds.
    pairs: HashSet<(RoleIdx, Scope)>,
    /// The roles of `pairs`.
    roles: HashSet<RoleIdx>,
    /// The scopes of `pairs`.
    scopes: HashSet<Scope>,
    /// Roles granted to the user itself.
    own: HashSet<RoleIdx>,
    /// Whether some held scope covers a project.
    in_project: bool,
}

/// An order for [`Scope`] (which has none): level, then position.
fn scope_key(scope: Scope) -> (u8, u32) {
    match scope {
        Scope::Global => (0, 0),
        Scope::Organization(o) => (1, o.0),
        Scope::Project(p) => (2, p.0),
    }
}

/// The scope of a [`packed_scope`].
fn scope_of(key: u64) -> Scope {
    let at = key as u32;
    match key >> 32 {
        0 => Scope::Global,
        1 => Scope::Organization(OrgIdx(at)),
        _ => Scope::Project(ProjectIdx(at)),
    }
}

/// The (role, scope) of a [`pair_key`].
fn pair_of(key: u128) -> (RoleIdx, Scope) {
    (RoleIdx((key >> 64) as u32), scope_of(key as u64))
}

/// A (role, scope) packed into one sortable number: role, then [`scope_key`].
fn pair_key(role: RoleIdx, scope: Scope) -> u128 {
    joined(role, packed_scope(scope))
}

/// The [`pair_key`] of `role` and a scope already packed ([`packed_scope`]).
fn joined(role: RoleIdx, scope: u64) -> u128 {
    (u128::from(role.0) << 64) | u128::from(scope)
}

/// What one user holds ([`RowFacts::access`]: up to thousands of pairs, many of them the same
/// few roles) of the roles and scopes a change asks about, as sorted packed keys for binary
/// searches: SipHashing them into sets was a tenth of a membership's instructions in the
/// summaries of [`AccessIndex::members_changed`], and sorting all of a user's pairs (when a
/// membership asks about a few dozen) still 8 % of [`AccessIndex::user_changed`]
/// (benches/RESULTS.md `mship11`, `small13`).
struct HeldPairs {
    /// [`pair_key`]s of the held pairs whose scope was asked about, sorted, distinct.
    pairs: Vec<u128>,
    /// [`packed_scope`]s of those pairs, sorted, distinct.
    scopes: Vec<u64>,
    /// The asked roles, sorted, distinct, each with whether some held pair has it.
    roles: Vec<(RoleIdx, bool)>,
}

impl HeldPairs {
    /// What `facts` hold of the roles and scopes of `asked` ([`pair_key`]s, sorted; `scopes`
    /// are their [`packed_scope`]s, sorted, distinct): the held pairs at those scopes
    /// (all that [`Self::has_pair`] and [`Self::has_scope`] of them can need) and which of
    /// those roles are held anywhere. One pass over `facts` with a binary search in the (few)
    /// asked scopes and roles each, then a sort of the pairs kept — not of every pair held:
    /// roles are few, so a user's pairs are mostly at scopes no change names.
    fn of(facts: &RowFacts, asked: &[u128], scopes: &[u64]) -> HeldPairs {
        let mut roles: Vec<(RoleIdx, bool)> =
            asked.iter().map(|&key| (pair_of(key).0, false)).collect();
        roles.dedup();
        let mut pairs: Vec<u128> = Vec::new();
        for &(role, scope) in &facts.access {
            if let Ok(at) = roles.binary_search_by_key(&role, |&(r, _)| r) {
                roles[at].1 = true;
            }
            let key = packed_scope(scope);
            if scopes.binary_search(&key).is_ok() {
                pairs.push(joined(role, key));
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut scopes: Vec<u64> = pairs.iter().map(|&key| key as u64).collect();
        scopes.sort_unstable();
        scopes.dedup();
        HeldPairs {
            pairs,
            scopes,
            roles,
        }
    }

    /// Whether the pair of `key` (a [`pair_key`]) is held.
    fn has_pair(&self, key: u128) -> bool {
        self.pairs.binary_search(&key).is_ok()
    }

    /// Whether some held pair has `role` (one of the asked roles; any other is answered no).
    fn has_role(&self, role: RoleIdx) -> bool {
        self.roles
            .binary_search_by_key(&role, |&(r, _)| r)
            .is_ok_and(|at| self.roles[at].1)
    }

    fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.binary_search(&packed_scope(scope)).is_ok()
    }
}

/// [`scope_key`] as one number (the low half of a [`pair_key`]).
fn packed_scope(scope: Scope) -> u64 {
    let (level, at) = scope_key(scope);
    (u64::from(level) << 32) | u64::from(at)
}

/// Per role its holders, per role the users granted it directly, and the any-role
/// aggregation, by bucketing and multi-way unions (see [`AccessIndex::build`]).
fn dense_holders(
    model: &Model,
    structure: &Structure,
) -> (Vec<Holders>, Vec<BlockBitmap>, Holders) {
    let mut by_role = direct_grants(model);
    let own_role: Vec<BlockBitmap> = by_role
        .iter()
        .map(|holders| BlockBitmap::from(holders.union_of_levels()))
        .collect();
    add_subject_grants(model, structure, &mut by_role);
    for holders in &mut by_role {
        holders.seal();
    }
    let any_role = Holders::union(&by_role);
    (by_role, own_role, any_role)
}

/// Adds the members of every grant to a group or a team to its role's holders at its scope.
/// The grants are gathered by (role, scope) and each set becomes one multi-way union of its
/// direct holders and its subjects' members: OR-ing them in one grant at a time merged sorted
/// arrays again and again (two fifths of the access build at 1M users).
fn add_subject_grants(model: &Model, structure: &Structure, by_role: &mut [Holders]) {
    let empty = BlockBitmap::default();
    // (role, scope level, scope index): a sort key for `Scope`, which has no order.
    let key = |role: RoleIdx, scope: Scope| match scope {
        Scope::Global => (role.index(), 0, 0),
        Scope::Organization(o) => (role.index(), 1, o.index()),
        Scope::Project(p) => (role.index(), 2, p.index()),
    };
    let mut grants: Vec<((usize, u8, usize), Scope, &BlockBitmap)> = model
        .grants
        .iter()
        .filter(|grant| grant.role.index() < by_role.len())
        .filter_map(|grant| {
            let users = match grant.subject {
                Subject::User(_) => return None,
                Subject::Group(g) => structure.group_transitive.get(g.index()),
                Subject::Team(t) => structure.team_members.get(t.index()),
            }
            .unwrap_or(&empty);
            Some((key(grant.role, grant.scope), grant.scope, users))
        })
        .collect();
    grants.sort_by_key(|&(key, _, _)| key);
    for run in grants.chunk_by(|a, b| a.0 == b.0) {
        let ((role, _, _), scope, _) = run[0];
        let set = by_role[role].level_mut(scope);
        // With the direct grants' holders: a lone small set (one group's few members) is
        // shared, not copied; a large union is cut into blocks, as
        // sealing would cut it ([`union_blocked`]).
        let direct = std::mem::take(set);
        *set =
            union_blocked(std::iter::once(&direct).chain(run.iter().map(|&(_, _, users)| users)));
    }
}

/// Per role, the holders through direct grants to users (without `any`, set by the caller):
/// grants bucketed by (role, scope) with a counting sort, each bucket appended to its bitmap in
/// row order. Grants naming a role past the role list take the slow path.
fn direct_grants(model: &Model) -> Vec<Holders> {
    let role_count = model.roles.len();
    let orgs = model.organizations.len();
    let levels = 1 + orgs + model.projects.len();
    // Scopes past the tables (not produced by validation) get a level of their own per role
    // through the slow path below.
    let level = |scope: Scope| match scope {
        Scope::Global => Some(0),
        Scope::Organization(o) => (o.index() < orgs).then(|| 1 + o.index()),
        Scope::Project(p) => (p.index() < model.projects.len()).then(|| 1 + orgs + p.index()),
    };
    let slot = |role: RoleIdx, scope: Scope| {
        let level = level(scope)?;
        (role.index() < role_count).then(|| role.index() * levels + level)
    };
    let direct = || {
        model.grants.iter().filter_map(|grant| match grant.subject {
            Subject::User(row) => Some((grant.role, grant.scope, row)),
            _ => None,
        })
    };
    // Counting sort: bucket sizes, then bucket starts, then the rows in grant order.
    let mut starts = vec![0u32; role_count * levels + 1];
    for (role, scope, _) in direct() {
        if let Some(slot) = slot(role, scope) {
            starts[slot + 1] += 1;
        }
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut next = starts.clone();
    let mut rows = vec![0 as Row; starts[starts.len() - 1] as usize];
    // One entry per role of the list and per role a grant names past it (not produced by
    // validation: such grants count for the any-role queries only).
    let roles = model
        .grants
        .iter()
        .map(|grant| grant.role.index() + 1)
        .max()
        .unwrap_or(0)
        .max(role_count);
    let mut by_role = vec![Holders::default(); roles];
    for (role, scope, row) in direct() {
        match slot(role, scope) {
            Some(slot) => {
                rows[next[slot] as usize] = row;
                next[slot] += 1;
            }
            None => {
                if let Some(holders) = by_role.get_mut(role.index()) {
                    holders.build_add_at(scope, &RoaringBitmap::from_iter([row]));
                }
            }
        }
    }
    for (slot, bucket) in starts.windows(2).enumerate() {
        let bucket = &mut rows[bucket[0] as usize..bucket[1] as usize];
        if bucket.is_empty() {
            continue;
        }
        // Grants arrive in row order from the generator and the loaders; sort if not.
        if !bucket.is_sorted() {
            bucket.sort_unstable();
        }
        let (role, level) = (slot / levels, slot % levels);
        let scope = match level {
            0 => Scope::Global,
            l if l <= orgs => Scope::Organization(OrgIdx((l - 1) as u32)),
            l => Scope::Project(ProjectIdx((l - 1 - orgs) as u32)),
        };
        by_role[role].build_add_at(scope, &bitmap_from_sorted(bucket.iter().copied()));
    }
    by_role
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{packed_scope, pair_key, pair_of, scope_of};
    use crate::model::{OrgIdx, ProjectIdx, RoleIdx, Scope};

    fn scope() -> impl Strategy<Value = Scope> {
        prop_oneof![
            Just(Scope::Global),
            any::<u32>().prop_map(|at| Scope::Organization(OrgIdx(at))),
            any::<u32>().prop_map(|at| Scope::Project(ProjectIdx(at))),
        ]
    }

    proptest! {
        /// `user_changed` sorts packed keys and unpacks them: the packing is lossless and
        /// orders pairs by role, then scope (level, then position), as the scope keys do.
        #[test]
        fn packed_pairs_unpack_and_sort_by_role_then_scope(
            a in (any::<u32>(), scope()),
            b in (any::<u32>(), scope()),
        ) {
            let (a, b) = ((RoleIdx(a.0), a.1), (RoleIdx(b.0), b.1));
            prop_assert_eq!(pair_of(pair_key(a.0, a.1)), a);
            prop_assert_eq!(scope_of(packed_scope(a.1)), a.1);
            let by_parts = (a.0, super::scope_key(a.1)).cmp(&(b.0, super::scope_key(b.1)));
            prop_assert_eq!(pair_key(a.0, a.1).cmp(&pair_key(b.0, b.1)), by_parts);
        }
    }
}
