//! Role grants resolved to users: `access(…)`, `ownRole:`, GitLab `without_projects`.
//!
//! A grant reaches a user directly, through a group (transitively) or through a team; resolving
//! that per query would mean walking every grant. Instead, at build time every grant's subject is
//! expanded to a bitmap and OR-ed into its role's holders *at the grant's scope level*: global,
//! per organization, per project. `access(project: p, with: r)` is then the union of at most
//! three bitmaps per role (global, p's organization, p), and the same aggregation over all roles
//! is kept for `access(project: p)` without `with:`.
//!
//! **(decided)** `AccessScope::Organization(o)` counts grants scoped to `o` or global only — not
//! grants scoped to a single project inside `o` (hub-query.md: "the same for grants scoped to o
//! (or global)"). A global grant covers every project, an organization grant every project of
//! that organization.

use std::collections::HashMap;

use roaring::RoaringBitmap;

use super::column::{bitmap_bytes, Ragged};
use super::structure::Structure;
use crate::model::{Model, OrgIdx, PermissionIdx, ProjectIdx, RoleIdx, Row, Scope, Subject};

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

/// Holders of one role (or of any role) split by the scope level of the grant.
#[derive(Debug, Default, Clone)]
struct Holders {
    global: RoaringBitmap,
    organizations: HashMap<OrgIdx, RoaringBitmap>,
    projects: HashMap<ProjectIdx, RoaringBitmap>,
    /// Union of the three levels.
    any: RoaringBitmap,
}

impl Holders {
    /// Adds one user: an `insert`, not `|=` with a one-row bitmap, because roaring's `|=` on
    /// array containers rebuilds the target container (O(container) per call), which made the
    /// build quadratic in the number of user grants (measured: 40 % of a 1M-user build).
    fn add_row(&mut self, scope: Scope, row: Row) {
        match scope {
            Scope::Global => self.global.insert(row),
            Scope::Organization(o) => self.organizations.entry(o).or_default().insert(row),
            Scope::Project(p) => self.projects.entry(p).or_default().insert(row),
        };
        self.any.insert(row);
    }

    fn add(&mut self, scope: Scope, users: &RoaringBitmap) {
        match scope {
            Scope::Global => self.global |= users,
            Scope::Organization(o) => *self.organizations.entry(o).or_default() |= users,
            Scope::Project(p) => *self.projects.entry(p).or_default() |= users,
        }
        self.any |= users;
    }

    /// The (at most three) bitmaps whose union answers `scope`.
    fn sets(&self, scope: AccessScope, project_org: &[Option<OrgIdx>]) -> Vec<&RoaringBitmap> {
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
            bytes += 32 + bitmap_bytes(set);
        }
        (entries, bytes)
    }
}

/// Grants resolved to user bitmaps.
#[derive(Debug, Default)]
pub(crate) struct AccessIndex {
    by_role: Vec<Holders>,
    any_role: Holders,
    own_role: Vec<RoaringBitmap>,
    roles_with_permission: Ragged<RoleIdx>,
    project_org: Vec<Option<OrgIdx>>,
    in_any_project: RoaringBitmap,
}

impl AccessIndex {
    pub(crate) fn build(model: &Model, structure: &Structure) -> AccessIndex {
        let role_count = model.roles.len();
        let mut by_role = vec![Holders::default(); role_count];
        let mut any_role = Holders::default();
        let mut own_role = vec![RoaringBitmap::new(); role_count];
        let empty = RoaringBitmap::new();
        for grant in &model.grants {
            let users: &RoaringBitmap = match grant.subject {
                Subject::User(row) => {
                    if let Some(set) = own_role.get_mut(grant.role.index()) {
                        set.insert(row);
                    }
                    if let Some(holders) = by_role.get_mut(grant.role.index()) {
                        holders.add_row(grant.scope, row);
                    }
                    any_role.add_row(grant.scope, row);
                    continue;
                }
                Subject::Group(g) => structure.group_transitive.get(g.index()).unwrap_or(&empty),
                Subject::Team(t) => structure.team_members.get(t.index()).unwrap_or(&empty),
            };
            if let Some(holders) = by_role.get_mut(grant.role.index()) {
                holders.add(grant.scope, users);
            }
            any_role.add(grant.scope, users);
        }

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
            in_any_project |= &any_role.global;
        }
        for (org, set) in &any_role.organizations {
            if project_org.contains(&Some(*org)) {
                in_any_project |= set;
            }
        }
        for set in any_role.projects.values() {
            in_any_project |= set;
        }

        AccessIndex {
            by_role,
            any_role,
            own_role,
            roles_with_permission: Ragged::from_lists(with_permission),
            project_org,
            in_any_project,
        }
    }

    fn sets<'a>(&'a self, scope: AccessScope, roles: Option<&[RoleIdx]>) -> Vec<&'a RoaringBitmap> {
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
            result |= set;
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

    pub(crate) fn own_role(&self, role: RoleIdx) -> Option<&RoaringBitmap> {
        self.own_role.get(role.index())
    }

    pub(crate) fn roles_with_permission(&self, permission: PermissionIdx) -> &[RoleIdx] {
        self.roles_with_permission.get(permission.index())
    }

    pub(crate) fn in_any_project(&self) -> &RoaringBitmap {
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
            bytes += 24 + bitmap_bytes(set);
        }
        bytes += self.roles_with_permission.heap_bytes();
        (entries, bytes)
    }
}
