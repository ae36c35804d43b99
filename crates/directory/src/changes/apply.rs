//! Applying a batch of [`Change`]s to the live store: every rule of `changes.md`.
//!
//! A batch runs in the store's transaction ([`crate::store::Txn`]) over a copy-on-write copy of
//! the model, change by change, each checked against the would-be directory as it stands after
//! the previous changes of the batch. Problems are collected (each with its change number and
//! subject) and the batch is refused as a whole if there is any.
//!
//! - **put** inserts or replaces by id; a replaced user keeps its number unless one is given.
//! - **patch** converts the current object to its file form, sets the listed fields (`null`
//!   removes the field, so optional fields clear and flags fall back to `false`), and validates
//!   the result as a put would.
//! - **delete** of a user cascades to its grants, memberships and team listings; deleting
//!   anything else that is still referenced is refused (`RESTRICT`), naming the references.
//!   Deleted catalog objects are tombstoned during the batch; the model is rebuilt without
//!   them at the end (rare, so a full pass is acceptable there).
//! - Groups written by the batch are checked for parent cycles once the batch has run.

use std::collections::{HashMap, HashSet};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::{ChangeError, ChangeErrors, ChangeProblem};
use super::format::{Change, EntityKind, Membership, Object, Target};
use crate::error::LoadErrorKind;
use crate::load::places::{Kind, Loc, Places, Style};
use crate::load::{parse_timestamp, resolve_grant, Tolerated};
use crate::model::{self, GroupIdx, Model, OrgIdx, Scope, Subject};
use crate::raw;
use crate::save;
use crate::store::{Applied, IndexOp, Replay, Store, Txn, Writer};

/// How many references a `RESTRICT` refusal lists before "and N more".
const LISTED_REFERENCES: usize = 5;

impl Store {
    /// Applies one batch of changes atomically and returns the new version (an empty batch
    /// returns the current one). A refused batch changes nothing; every problem is reported,
    /// placed by change number and subject (`change 2 (user u-42): …`; see
    /// [`ChangeErrors::at_line`] for changes read from a file).
    pub fn apply_changes(&self, batch: &[Change]) -> Result<u64, ChangeErrors> {
        self.commit(batch.is_empty(), |base, writer| {
            apply_changes(base, batch, writer)
        })
    }
}

impl Replay {
    /// Applies one batch of changes exactly as [`Store::apply_changes`] would (same checks,
    /// cascades and numbering), to the model alone, and returns the new version. A refused
    /// batch changes nothing.
    pub fn apply_changes(&mut self, batch: &[Change]) -> Result<u64, ChangeErrors> {
        self.run(batch.is_empty(), |base, writer| {
            apply_changes(base, batch, writer)
        })
    }
}

pub(crate) fn apply_changes(
    base: &Model,
    batch: &[Change],
    writer: &Writer,
) -> Result<Applied, ChangeErrors> {
    let places = Places::identity(Style::Batch);
    let tolerated = Tolerated::new();
    let mut run = Run {
        txn: Txn::new(base, writer, &places, &tolerated),
        errors: Vec::new(),
        deleted: HashSet::new(),
        groups_written: HashMap::new(),
    };
    for (index, change) in batch.iter().enumerate() {
        run.apply(index, change);
    }
    run.check_cycles(batch);
    for (index, row, field, kind) in run.txn.uniqueness_problems(base, writer) {
        let subject = format!("user {}", run.txn.model.users[row as usize].id);
        run.errors.push(ChangeError::of_change(
            index + 1,
            subject,
            Some(field.to_owned()),
            ChangeProblem::Directory(kind),
        ));
    }
    if !run.errors.is_empty() {
        run.errors.sort_by_key(|e| e.change);
        return Err(ChangeErrors { errors: run.errors });
    }
    let Run { txn, deleted, .. } = run;
    let applied = txn.finish();
    if deleted.is_empty() {
        return Ok(applied);
    }
    drop_deleted(applied, &deleted)
}

/// A batch in progress.
struct Run<'a> {
    txn: Txn<'a>,
    errors: Vec<ChangeError>,
    /// Catalog objects deleted by the batch (kind, position), dropped at the end.
    deleted: HashSet<(Kind, u32)>,
    /// Groups whose parent the batch set, and the last change that set it.
    groups_written: HashMap<u32, usize>,
}

/// Where a problem of change `index` about `kind` `id` is (the store's checker renders it, but
/// the place is replaced by the change's own).
fn loc(kind: Kind, index: usize, id: &str) -> Loc<'_> {
    Loc { kind, index, id }
}

fn kind_of(kind: EntityKind) -> Kind {
    match kind {
        EntityKind::User => Kind::User,
        EntityKind::Group => Kind::Group,
        EntityKind::Team => Kind::Team,
        EntityKind::Project => Kind::Project,
        EntityKind::Organization => Kind::Organization,
        EntityKind::Role => Kind::Role,
        EntityKind::Permission => Kind::Permission,
        EntityKind::Service => Kind::Service,
    }
}

impl<'a> Run<'a> {
    fn apply(&mut self, index: usize, change: &'a Change) {
        let before = self.txn.checker.errors.len();
        let own_before = self.errors.len();
        let problem = self.apply_one(index, change);
        if problem.is_none()
            && self.txn.checker.errors.len() == before
            && self.errors.len() == own_before
        {
            // The common case, without the subject's text (only a problem names it).
            self.record(change);
            return;
        }
        let subject = change.subject();
        if let Some((field, problem)) = problem {
            self.errors.push(ChangeError::of_change(
                index + 1,
                subject.clone(),
                field,
                problem,
            ));
        }
        let found: Vec<_> = self.txn.checker.errors.drain(before..).collect();
        let failed = !found.is_empty() || self.errors.len() > own_before;
        for error in found {
            self.errors.push(ChangeError::of_change(
                index + 1,
                subject.clone(),
                error.field,
                ChangeProblem::Directory(error.kind),
            ));
        }
        if !failed {
            self.record(change);
        }
    }

    /// Notes what a successful change wrote: the user rows it changed, or that the indexes need
    /// a rebuild (catalog deletions). Grants and catalog puts record their index
    /// changes themselves ([`Txn::ops`]).
    fn record(&mut self, change: &Change) {
        let row = match change {
            // A user put or patch records its own writes (the row, or in-place flag changes),
            // a user deletion too (the hole, its grants), a sign-in or a membership its index
            // change.
            Change::Put(Object::Membership(_))
            | Change::Delete(Target::Membership(_))
            | Change::Touch { .. }
            | Change::Put(_)
            | Change::Patch { .. }
            | Change::Delete(Target::Grant(_))
            | Change::Delete(Target::Entity {
                kind: EntityKind::User,
                ..
            }) => None,
            Change::Delete(Target::Entity { .. }) => {
                self.txn.structural = true;
                None
            }
        };
        if let Some(row) = row {
            self.txn.written.insert(row);
        }
    }

    /// Applies one change; problems go to the checker, or come back as (field, problem).
    fn apply_one(
        &mut self,
        index: usize,
        change: &'a Change,
    ) -> Option<(Option<String>, ChangeProblem)> {
        match change {
            Change::Put(object) => self.put(index, object),
            Change::Patch { kind, id, set } => return self.patch(index, *kind, id, set),
            Change::Delete(Target::Entity { kind, id }) => return self.delete(index, *kind, id),
            Change::Delete(Target::Grant(grant)) => self.txn.remove_grant(index, grant),
            Change::Delete(Target::Membership(Membership { user, group, .. })) => {
                self.txn.remove_membership(index, user, group)
            }
            Change::Touch { id, at } => {
                let row = self.txn.user_row(index, id)?;
                match parse_timestamp(at) {
                    Ok(ms) => {
                        // The time only: the user's record is not copied.
                        let users = &mut self.txn.model.users;
                        if let Some(old) = users.set_last_access(row as usize, Some(ms).into()) {
                            self.txn.touched(row, old.get(), ms);
                        }
                    }
                    Err(reason) => {
                        let value = at.clone();
                        let problem = LoadErrorKind::BadTimestamp { value, reason };
                        return Some((Some("at".to_owned()), ChangeProblem::Directory(problem)));
                    }
                }
            }
        }
        None
    }

    fn put(&mut self, index: usize, object: &'a Object) {
        match object {
            Object::User(user) => match self.txn.tables.get(Kind::User, &user.id) {
                Some(row) => self.txn.replace_user(index, row, user),
                None => self.txn.add_user(index, user),
            },
            Object::Membership(m) => {
                self.txn
                    .add_membership(index, &m.user, &m.group, m.access.as_deref());
            }
            Object::Grant(grant) => {
                let txn = &mut self.txn;
                if let Some(grant) = resolve_grant(&mut txn.checker, &txn.tables, index, grant) {
                    // Putting a grant equal to an existing one changes nothing.
                    if !txn.has_grant(&grant) {
                        txn.add_grant(grant);
                    }
                }
            }
            Object::Group(v) => self.put_catalog(index, object, &v.id),
            Object::Team(v) => self.put_catalog(index, object, &v.id),
            Object::Project(v) => self.put_catalog(index, object, &v.id),
            Object::Role(v) => self.put_catalog(index, object, &v.id),
            Object::Organization(v) => self.put_catalog(index, object, &v.id),
            Object::Permission(v) => self.put_catalog(index, object, &v.id),
            Object::Service(v) => self.put_catalog(index, object, &v.id),
        }
    }

    /// The position a put of `kind` `id` writes: the existing object's, or a new one at the end
    /// (registered in the id table at once, so later changes of the batch can refer to it).
    fn slot(&mut self, index: usize, kind: Kind, id: &'a str) -> u32 {
        if id.is_empty() {
            self.txn.checker.error(
                loc(kind, index, id),
                Some("id".to_owned()),
                LoadErrorKind::Empty,
            );
        }
        let len = self.len(kind) as u32;
        match self.txn.tables.get(kind, id) {
            Some(at) => at,
            None => {
                if let Some(table) = self.txn.tables.table_mut(kind) {
                    table.insert(id, len);
                }
                len
            }
        }
    }

    fn len(&self, kind: Kind) -> usize {
        let model = &self.txn.model;
        match kind {
            Kind::Service => model.services.len(),
            Kind::Permission => model.permissions.len(),
            Kind::Role => model.roles.len(),
            Kind::Organization => model.organizations.len(),
            Kind::Project => model.projects.len(),
            Kind::Group => model.groups.len(),
            Kind::Team => model.teams.len(),
            Kind::Grant => model.grants.len(),
            Kind::User => model.users.slots(),
        }
    }

    /// Resolves a reference of the object being put (`field` names it in a problem).
    fn resolve(&mut self, at: Loc<'_>, field: &str, target: Kind, id: &str) -> Option<u32> {
        let txn = &mut self.txn;
        txn.checker
            .resolve(&txn.tables, at, || field.to_owned(), target, id)
    }

    /// Records that catalog object `kind` at `at` is being put (call before writing it): the
    /// entity lookups move it from its current names, if it exists, to its new ones.
    fn entity_put(&mut self, kind: Kind, at: u32) {
        let old = crate::index::Names::of(&self.txn.model, kind, at).map(Box::new);
        self.txn.ops.push(IndexOp::Entity { kind, at, old });
    }

    fn put_group(&mut self, index: usize, group: &raw::Group, id: &'a str) {
        let at = self.slot(index, Kind::Group, id);
        let here = loc(Kind::Group, index, id);
        let parent = group
            .parent
            .as_deref()
            .and_then(|p| self.resolve(here, "parent", Kind::Group, p))
            .map(GroupIdx);
        let value = model::Group {
            id: group.id.clone(),
            name: group.name.clone(),
            parent,
        };
        // A renamed group keeps its members; a new one has none yet (under a parent it changes
        // the forest's lists only); a moved one changes its ancestors' member sets.
        self.entity_put(Kind::Group, at);
        match self.txn.model.groups.get(at as usize) {
            None if parent.is_some() => self.txn.ops.push(IndexOp::GroupAdded),
            Some(old) if old.parent != parent => {
                self.txn.ops.push(IndexOp::GroupMoved(GroupIdx(at)));
            }
            _ => {}
        }
        place(&mut self.txn.model.groups, at, value);
        self.groups_written.insert(at, index);
    }

    fn put_team(&mut self, index: usize, team: &raw::Team, id: &'a str) {
        let at = self.slot(index, Kind::Team, id);
        let here = loc(Kind::Team, index, id);
        let project = team
            .project
            .as_deref()
            .and_then(|p| self.resolve(here, "project", Kind::Project, p))
            .map(model::ProjectIdx);
        let mut users = Vec::with_capacity(team.users.len());
        for (i, user) in team.users.iter().enumerate() {
            let field = format!("users[{i}]");
            users.extend(self.resolve(here, &field, Kind::User, user));
        }
        let mut groups = Vec::with_capacity(team.groups.len());
        for (i, group) in team.groups.iter().enumerate() {
            let field = format!("groups[{i}]");
            groups.extend(self.resolve(here, &field, Kind::Group, group).map(GroupIdx));
        }
        let value = model::Team {
            id: team.id.clone(),
            name: team.name.clone(),
            project,
            users,
            groups,
        };
        let members = self
            .txn
            .model
            .teams
            .get(at as usize)
            .is_none_or(|old| old.users != value.users || old.groups != value.groups);
        self.entity_put(Kind::Team, at);
        if members {
            self.txn.ops.push(IndexOp::Members);
        }
        place(&mut self.txn.model.teams, at, value);
    }

    fn put_project(&mut self, index: usize, project: &raw::Project, id: &'a str) {
        let at = self.slot(index, Kind::Project, id);
        let here = loc(Kind::Project, index, id);
        let organization = project
            .organization
            .as_deref()
            .and_then(|o| self.resolve(here, "organization", Kind::Organization, o))
            .map(OrgIdx);
        let value = model::Project {
            id: project.id.clone(),
            name: project.name.clone(),
            key: project.key.clone(),
            organization,
        };
        // Projects feed the access part (their organization, "in any project").
        self.entity_put(Kind::Project, at);
        match self.txn.model.projects.get(at as usize) {
            None => self.txn.ops.push(IndexOp::ProjectAdded {
                project: model::ProjectIdx(at),
                organization,
            }),
            Some(old) if old.organization != organization => self.txn.ops.push(IndexOp::Members),
            Some(_) => {}
        }
        place(&mut self.txn.model.projects, at, value);
    }

    fn put_role(&mut self, index: usize, role: &raw::Role, id: &'a str) {
        let at = self.slot(index, Kind::Role, id);
        let here = loc(Kind::Role, index, id);
        let mut permissions = Vec::with_capacity(role.permissions.len());
        for (i, permission) in role.permissions.iter().enumerate() {
            let field = format!("permissions[{i}]");
            permissions.extend(
                self.resolve(here, &field, Kind::Permission, permission)
                    .map(model::PermissionIdx),
            );
        }
        let value = model::Role {
            id: role.id.clone(),
            name: role.name.clone(),
            permissions,
        };
        let members = self
            .txn
            .model
            .roles
            .get(at as usize)
            .is_none_or(|old| old.permissions != value.permissions);
        self.entity_put(Kind::Role, at);
        if members {
            self.txn.ops.push(IndexOp::Members);
        }
        place(&mut self.txn.model.roles, at, value);
    }

    /// The position of an existing object, or a "no such" problem.
    fn existing(&mut self, index: usize, kind: Kind, id: &str) -> Option<u32> {
        let found = self.txn.tables.get(kind, id);
        if found.is_none() {
            self.txn.checker.error(
                loc(kind, index, id),
                None,
                LoadErrorKind::NotFound {
                    what: kind.singular(),
                    id: id.to_owned(),
                },
            );
        }
        found
    }

    fn patch(
        &mut self,
        index: usize,
        kind: EntityKind,
        id: &'a str,
        set: &Map<String, Value>,
    ) -> Option<(Option<String>, ChangeProblem)> {
        if let Some(to) = set.get("id").filter(|v| v.as_str() != Some(id)) {
            let problem = ChangeProblem::IdChange {
                from: id.to_owned(),
                to: to.to_string(),
            };
            return Some((Some("id".to_owned()), problem));
        }
        let at = self.existing(index, kind_of(kind), id)?;
        let model = &self.txn.model;
        let i = at as usize;
        let patched = match kind {
            EntityKind::User => {
                let mut current = save::user_to_raw(model, at);
                let user = if set_simple_fields(&mut current, set) {
                    Ok(current)
                } else {
                    merge(&current, set)
                };
                return match user {
                    Ok(user) => {
                        self.txn.replace_user(index, at, &user);
                        None
                    }
                    Err(problem) => Some((None, problem)),
                };
            }
            EntityKind::Group => {
                merge(&save::group_to_raw(model, &model.groups[i]), set).map(Object::Group)
            }
            EntityKind::Team => {
                merge(&save::team_to_raw(model, &model.teams[i]), set).map(Object::Team)
            }
            EntityKind::Project => {
                merge(&save::project_to_raw(model, &model.projects[i]), set).map(Object::Project)
            }
            EntityKind::Role => {
                merge(&save::role_to_raw(model, &model.roles[i]), set).map(Object::Role)
            }
            EntityKind::Organization => {
                let o = &model.organizations[i];
                let current = raw::Organization {
                    id: o.id.clone(),
                    name: o.name.clone(),
                };
                merge(&current, set).map(Object::Organization)
            }
            EntityKind::Permission => {
                let p = &model.permissions[i];
                let current = raw::Permission {
                    id: p.id.clone(),
                    name: p.name.clone(),
                };
                merge(&current, set).map(Object::Permission)
            }
            EntityKind::Service => {
                let s = &model.services[i];
                let current = raw::Service {
                    id: s.id.clone(),
                    name: s.name.clone(),
                };
                merge(&current, set).map(Object::Service)
            }
        };
        match patched {
            Ok(object) => {
                self.put_catalog(index, &object, id);
                None
            }
            Err(problem) => Some((None, problem)),
        }
    }

    /// Puts a catalog object under `id` (a batch-lifetime copy of its id: the put's own, or
    /// the patch's), registering a new id so later changes of the batch can refer to it.
    fn put_catalog(&mut self, index: usize, object: &Object, id: &'a str) {
        match object {
            Object::Group(group) => self.put_group(index, group, id),
            Object::Team(team) => self.put_team(index, team, id),
            Object::Project(project) => self.put_project(index, project, id),
            Object::Role(role) => self.put_role(index, role, id),
            Object::Organization(org) => {
                let at = self.slot(index, Kind::Organization, id);
                self.entity_put(Kind::Organization, at);
                let value = model::Organization {
                    id: org.id.clone(),
                    name: org.name.clone(),
                };
                place(&mut self.txn.model.organizations, at, value);
            }
            Object::Permission(permission) => {
                let at = self.slot(index, Kind::Permission, id);
                self.entity_put(Kind::Permission, at);
                let value = model::Permission {
                    id: permission.id.clone(),
                    name: permission.name.clone(),
                };
                place(&mut self.txn.model.permissions, at, value);
            }
            Object::Service(service) => {
                let at = self.slot(index, Kind::Service, id);
                self.entity_put(Kind::Service, at);
                let value = model::Service {
                    id: service.id.clone(),
                    name: service.name.clone(),
                };
                place(&mut self.txn.model.services, at, value);
            }
            Object::User(_) | Object::Grant(_) | Object::Membership(_) => {}
        }
    }

    fn delete(
        &mut self,
        index: usize,
        kind: EntityKind,
        id: &'a str,
    ) -> Option<(Option<String>, ChangeProblem)> {
        let kind = kind_of(kind);
        let at = self.existing(index, kind, id)?;
        if kind == Kind::User {
            self.txn.remove_user(id, at);
            return None;
        }
        let mut references = self.references(kind, at);
        if !references.is_empty() {
            let more = references.len().saturating_sub(LISTED_REFERENCES);
            references.truncate(LISTED_REFERENCES);
            return Some((None, ChangeProblem::Referenced { references, more }));
        }
        // Hides the writer's entry too (see `Tables::get`).
        if let Some(table) = self.txn.tables.table_mut(kind) {
            table.insert(id, crate::load::Tables::DELETED);
        }
        self.deleted.insert((kind, at));
        None
    }

    fn gone(&self, kind: Kind, at: u32) -> bool {
        self.deleted.contains(&(kind, at))
    }

    /// Everything that still refers to catalog object `kind` at position `at`, described.
    fn references(&self, kind: Kind, at: u32) -> Vec<String> {
        let model = &self.txn.model;
        let mut found = Vec::new();
        for user in model.users.records() {
            let hit = match kind {
                Kind::Group => {
                    if user.groups.iter().any(|m| m.group.0 == at) {
                        Some("member")
                    } else if user.enterprise_group.is_some_and(|g| g.0 == at) {
                        Some("enterprise_group")
                    } else {
                        None
                    }
                }
                Kind::Organization => user
                    .organizations
                    .iter()
                    .any(|o| o.0 == at)
                    .then_some("organizations"),
                Kind::Service => {
                    if user.licenses.iter().any(|s| s.0 == at) {
                        Some("licenses")
                    } else if user.origin_service.is_some_and(|s| s.0 == at) {
                        Some("origin_service")
                    } else {
                        None
                    }
                }
                _ => None,
            };
            if let Some(how) = hit {
                found.push(format!("user {} ({how})", user.id));
            }
        }
        for (i, group) in model.groups.iter().enumerate() {
            if kind == Kind::Group
                && group.parent.is_some_and(|p| p.0 == at)
                && !self.gone(Kind::Group, i as u32)
            {
                found.push(format!("group {} (parent)", group.id));
            }
        }
        for (i, team) in model.teams.iter().enumerate() {
            if self.gone(Kind::Team, i as u32) {
                continue;
            }
            let hit = match kind {
                Kind::Group => team.groups.iter().any(|g| g.0 == at).then_some("groups"),
                Kind::Project => team.project.is_some_and(|p| p.0 == at).then_some("project"),
                _ => None,
            };
            if let Some(how) = hit {
                found.push(format!("team {} ({how})", team.id));
            }
        }
        for (i, project) in model.projects.iter().enumerate() {
            let hit = kind == Kind::Organization && project.organization.is_some_and(|o| o.0 == at);
            if hit && !self.gone(Kind::Project, i as u32) {
                found.push(format!("project {} (organization)", project.id));
            }
        }
        for (i, role) in model.roles.iter().enumerate() {
            let hit = kind == Kind::Permission && role.permissions.iter().any(|p| p.0 == at);
            if hit && !self.gone(Kind::Role, i as u32) {
                found.push(format!("role {} (permissions)", role.id));
            }
        }
        for grant in model.grants.iter() {
            if let Subject::User(row) = grant.subject {
                if !self.txn.live(row as usize) {
                    continue;
                }
            }
            let hit = match kind {
                Kind::Role => grant.role.0 == at,
                Kind::Group => grant.subject == Subject::Group(GroupIdx(at)),
                Kind::Team => grant.subject == Subject::Team(model::TeamIdx(at)),
                Kind::Project => grant.scope == Scope::Project(model::ProjectIdx(at)),
                Kind::Organization => grant.scope == Scope::Organization(OrgIdx(at)),
                _ => false,
            };
            if hit {
                found.push(describe_grant(model, grant));
            }
        }
        found
    }

    /// Reports a parent cycle through any group the batch wrote (at the change that last
    /// wrote a group on it).
    fn check_cycles(&mut self, batch: &[Change]) {
        let groups = &self.txn.model.groups;
        let mut reported: HashSet<u32> = HashSet::new();
        let mut written: Vec<(u32, usize)> =
            self.groups_written.iter().map(|(&g, &i)| (g, i)).collect();
        written.sort_by_key(|&(_, index)| index);
        for (start, index) in written {
            if reported.contains(&start) || self.gone(Kind::Group, start) {
                continue;
            }
            let mut path = vec![start];
            let mut current = groups.get(start as usize).and_then(|g| g.parent);
            let mut cycle = false;
            while let Some(next) = current {
                if next.0 == start {
                    cycle = true;
                    break;
                }
                if path.len() > groups.len() {
                    break; // a cycle above `start`, reported from a group on it
                }
                path.push(next.0);
                current = groups.get(next.index()).and_then(|g| g.parent);
            }
            if !cycle {
                continue;
            }
            reported.extend(path.iter().copied());
            let ids = path
                .iter()
                .map(|&g| groups[g as usize].id.clone())
                .collect();
            self.errors.push(ChangeError::of_change(
                index + 1,
                batch[index].subject(),
                Some("parent".to_owned()),
                ChangeProblem::Directory(LoadErrorKind::GroupCycle { ids }),
            ));
        }
    }
}

/// Writes `value` at `at` (an existing position, or the next one).
fn place<T: Clone>(table: &mut crate::shared::Chunked<T>, at: u32, value: T) {
    match table.get_mut(at as usize) {
        Some(slot) => *slot = value,
        None => table.push(value),
    }
}

/// Sets the fields of `set` on `user` and returns true when every field is a flag or a plain
/// optional text given as its type or `null` (what an embedding server patches most: state,
/// flags, name, email); otherwise returns false and leaves `user` as it was, for [`merge`].
/// The same result as `merge` (`null` removes the field: a flag falls back to `false`, a text
/// to none) without writing the whole record as JSON and reading it back: that round trip was
/// over a third of a user patch's instructions (callgrind, benches/RESULTS.md `touch11`).
fn set_simple_fields(user: &mut raw::User, set: &Map<String, Value>) -> bool {
    /// A field `set_simple_fields` writes directly: one list of names for the check and the
    /// write, so a field cannot be accepted by one and skipped by the other.
    enum Slot<'u> {
        Text(&'u mut Option<String>),
        Flag(&'u mut bool),
    }
    fn slot<'u>(user: &'u mut raw::User, field: &str) -> Option<Slot<'u>> {
        Some(match field {
            "state" => Slot::Text(&mut user.state),
            "name" => Slot::Text(&mut user.name),
            "email" => Slot::Text(&mut user.email),
            "public_email" => Slot::Text(&mut user.public_email),
            "admin" => Slot::Flag(&mut user.admin),
            "two_factor" => Slot::Flag(&mut user.two_factor),
            "two_factor_capable" => Slot::Flag(&mut user.two_factor_capable),
            "guest" => Slot::Flag(&mut user.guest),
            "external" => Slot::Flag(&mut user.external),
            "email_verified" => Slot::Flag(&mut user.email_verified),
            _ => return None,
        })
    }
    fn text(value: &Value) -> Option<Option<String>> {
        match value {
            Value::Null => Some(None),
            Value::String(text) => Some(Some(text.clone())),
            _ => None,
        }
    }
    fn flag(value: &Value) -> Option<bool> {
        match value {
            Value::Null => Some(false),
            Value::Bool(flag) => Some(*flag),
            _ => None,
        }
    }
    let simple = set.iter().all(|(field, value)| match slot(user, field) {
        Some(Slot::Text(_)) => text(value).is_some(),
        Some(Slot::Flag(_)) => flag(value).is_some(),
        None => false,
    });
    if !simple {
        return false;
    }
    for (field, value) in set {
        // Every value was checked above: `text` and `flag` are `Some`.
        match slot(user, field) {
            Some(Slot::Text(slot)) => *slot = text(value).flatten(),
            Some(Slot::Flag(slot)) => *slot = flag(value).unwrap_or(false),
            None => {}
        }
    }
    true
}

/// `current` with the fields of `set` replaced (`null` removes a field).
fn merge<T: Serialize + DeserializeOwned>(
    current: &T,
    set: &Map<String, Value>,
) -> Result<T, ChangeProblem> {
    let mut object = match serde_json::to_value(current) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    };
    for (field, value) in set {
        if value.is_null() {
            object.remove(field);
        } else {
            object.insert(field.clone(), value.clone());
        }
    }
    serde_json::from_value(Value::Object(object)).map_err(|e| ChangeProblem::Malformed {
        message: format!("`set`: {e}"),
    })
}

fn describe_grant(model: &Model, grant: &model::Grant) -> String {
    let raw = save::grant_to_raw(model, grant);
    let subject = match (&raw.user, &raw.group, &raw.team) {
        (Some(u), _, _) => format!("user {u}"),
        (_, Some(g), _) => format!("group {g}"),
        (_, _, Some(t)) => format!("team {t}"),
        _ => String::new(),
    };
    let scope = match (&raw.project, &raw.organization) {
        (Some(p), _) => format!(" in project {p}"),
        (_, Some(o)) => format!(" in organization {o}"),
        _ => String::new(),
    };
    format!("grant of role {} to {subject}{scope}", raw.role)
}

/// The model without the catalog objects the batch deleted: written out and validated again
/// (references to them were refused, so every other reference still resolves).
fn drop_deleted(applied: Applied, deleted: &HashSet<(Kind, u32)>) -> Result<Applied, ChangeErrors> {
    fn keep<T>(list: &mut Vec<T>, kind: Kind, deleted: &HashSet<(Kind, u32)>) {
        let mut at = 0u32;
        list.retain(|_| {
            let kept = !deleted.contains(&(kind, at));
            at += 1;
            kept
        });
    }
    let mut raw = save::to_raw(&applied.model);
    keep(&mut raw.services, Kind::Service, deleted);
    keep(&mut raw.permissions, Kind::Permission, deleted);
    keep(&mut raw.roles, Kind::Role, deleted);
    keep(&mut raw.organizations, Kind::Organization, deleted);
    keep(&mut raw.projects, Kind::Project, deleted);
    keep(&mut raw.groups, Kind::Group, deleted);
    keep(&mut raw.teams, Kind::Team, deleted);
    let model = crate::load::validate(raw).map_err(|errors| ChangeErrors {
        errors: errors
            .errors
            .into_iter()
            .map(|e| ChangeError {
                line: None,
                change: None,
                subject: None,
                field: e.field,
                problem: ChangeProblem::Directory(e.kind),
            })
            .collect(),
    })?;
    Ok(Applied {
        model,
        changed: applied.changed,
        structural: true,
        ops: Vec::new(),
        subjects: None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::{merge, set_simple_fields};
    use crate::raw;

    fn user() -> raw::User {
        raw::User {
            id: "u-1".to_owned(),
            login: "luke".to_owned(),
            name: Some("Luke".to_owned()),
            email: Some("luke@example.com".to_owned()),
            public_email: Some("l@example.com".to_owned()),
            state: Some("active".to_owned()),
            admin: true,
            email_verified: true,
            created_at: "2020-01-01T00:00:00Z".to_owned(),
            ..raw::User::default()
        }
    }

    /// The fast path of a user patch agrees with the JSON round trip (`merge`) on every field
    /// it takes, for each value it accepts (`null` included), alone and together.
    #[test]
    fn simple_fields_are_set_as_merge_sets_them() {
        let fields = [
            ("state", vec![json!("blocked"), Value::Null]),
            ("name", vec![json!("Renamed"), Value::Null]),
            ("email", vec![json!("x@example.com"), Value::Null]),
            ("public_email", vec![json!("p@example.com"), Value::Null]),
            ("admin", vec![json!(false), json!(true), Value::Null]),
            ("two_factor", vec![json!(true), Value::Null]),
            ("two_factor_capable", vec![json!(true), Value::Null]),
            ("guest", vec![json!(true), Value::Null]),
            ("external", vec![json!(true), Value::Null]),
            ("email_verified", vec![json!(false), Value::Null]),
        ];
        let mut all = Map::new();
        for (field, values) in &fields {
            for value in values {
                let mut set = Map::new();
                set.insert((*field).to_owned(), value.clone());
                let mut fast = user();
                assert!(set_simple_fields(&mut fast, &set), "{field} = {value}");
                assert_eq!(Ok(fast), merge(&user(), &set), "{field} = {value}");
            }
            all.insert((*field).to_owned(), values[0].clone());
        }
        let mut fast = user();
        assert!(set_simple_fields(&mut fast, &all));
        assert_eq!(Ok(fast), merge(&user(), &all));
    }

    /// Anything else (another field, a value of another type) goes the general way, which
    /// reports the problem.
    #[test]
    fn other_fields_and_types_take_the_general_path() {
        for (field, value) in [
            ("login", json!("vader")),
            ("admin", json!("yes")),
            ("name", json!(3)),
            ("groups", json!([])),
        ] {
            let mut set = Map::new();
            set.insert(field.to_owned(), value);
            let mut slow = user();
            assert!(!set_simple_fields(&mut slow, &set));
            assert_eq!(slow, user());
        }
    }
}
