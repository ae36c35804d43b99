//! A deliberately naive applier of changes, written independently of the store: it edits the
//! directory's *file form* (`raw::Directory`, plain vectors searched linearly) and revalidates
//! the whole directory after every batch. The differential test compares the store against it.

use serde_json::{Map, Value};
use userql_directory::changes::{Change, EntityKind, Object, Target};
use userql_directory::error::LoadErrorKind;
use userql_directory::load::validate;
use userql_directory::model::Model;
use userql_directory::raw;
use userql_directory::save::to_raw;

/// The directory in file form, with every user's number written out (numbers never move when
/// users before them are removed).
#[derive(Clone)]
pub struct Naive {
    pub dir: raw::Directory,
}

impl Naive {
    pub fn new(model: &Model) -> Naive {
        let mut dir = to_raw(model);
        for (user, model_user) in dir.users.iter_mut().zip(model.users.records()) {
            user.number = Some(model_user.number as i64);
        }
        Naive { dir }
    }

    /// The validated model (the directory is valid after every accepted batch).
    pub fn model(&self) -> Model {
        validate(self.dir.clone()).expect("the naive directory stays valid")
    }

    /// Applies a batch: all of it, or nothing (returns whether it was accepted).
    pub fn apply(&mut self, batch: &[Change]) -> bool {
        let mut next = self.dir.clone();
        let mut max_number = next
            .users
            .iter()
            .filter_map(|u| u.number)
            .max()
            .unwrap_or(0);
        for change in batch {
            if apply_one(&mut next, change, &mut max_number).is_none() {
                return false;
            }
            // Each change must be valid on its own (values, references); only the directory's
            // global invariants (unique logins and numbers, an acyclic forest) may be broken
            // in the middle of a batch and restored by a later change.
            if let Err(errors) = validate(next.clone()) {
                let local = errors.errors.iter().any(|e| {
                    !matches!(
                        e.kind,
                        LoadErrorKind::DuplicateLogin { .. }
                            | LoadErrorKind::DuplicateNumber { .. }
                            | LoadErrorKind::GroupCycle { .. }
                    )
                });
                if local {
                    return false;
                }
            }
        }
        if validate(next.clone()).is_err() {
            return false;
        }
        self.dir = next;
        true
    }
}

fn merge<T: serde::Serialize + serde::de::DeserializeOwned>(
    value: &T,
    set: &Map<String, Value>,
) -> Option<T> {
    let Value::Object(mut object) = serde_json::to_value(value).ok()? else {
        return None;
    };
    for (key, value) in set {
        if key == "id" && object.get("id") != Some(value) {
            return None;
        }
        if value.is_null() {
            object.remove(key);
        } else {
            object.insert(key.clone(), value.clone());
        }
    }
    serde_json::from_value(Value::Object(object)).ok()
}

fn put_by_id<T: Clone>(list: &mut Vec<T>, value: &T, id: impl Fn(&T) -> &str) {
    match list.iter().position(|x| id(x) == id(value)) {
        Some(at) => list[at] = value.clone(),
        None => list.push(value.clone()),
    }
}

fn patch_by_id<T: serde::Serialize + serde::de::DeserializeOwned>(
    list: &mut [T],
    key: &str,
    set: &Map<String, Value>,
    id: impl Fn(&T) -> &str,
) -> Option<()> {
    let at = list.iter().position(|x| id(x) == key)?;
    list[at] = merge(&list[at], set)?;
    Some(())
}

fn apply_one(dir: &mut raw::Directory, change: &Change, max_number: &mut i64) -> Option<()> {
    match change {
        Change::Put(Object::User(user)) => {
            let mut user = (**user).clone();
            match dir.users.iter().position(|u| u.id == user.id) {
                Some(at) => {
                    if user.number.is_none() {
                        user.number = dir.users[at].number;
                    }
                    dir.users[at] = user;
                }
                None => {
                    if user.number.is_none() {
                        // One more than the largest number in use (changes.md), which an
                        // earlier patch in the same batch may have raised.
                        let in_use = dir.users.iter().filter_map(|u| u.number).max();
                        user.number = Some((*max_number).max(in_use.unwrap_or(0)) + 1);
                    }
                    dir.users.push(user);
                }
            }
            if let Some(n) = dir.users.iter().filter_map(|u| u.number).max() {
                *max_number = (*max_number).max(n);
            }
        }
        Change::Put(Object::Group(v)) => put_by_id(&mut dir.groups, v, |x| &x.id),
        Change::Put(Object::Team(v)) => put_by_id(&mut dir.teams, v, |x| &x.id),
        Change::Put(Object::Project(v)) => put_by_id(&mut dir.projects, v, |x| &x.id),
        Change::Put(Object::Organization(v)) => put_by_id(&mut dir.organizations, v, |x| &x.id),
        Change::Put(Object::Role(v)) => put_by_id(&mut dir.roles, v, |x| &x.id),
        Change::Put(Object::Permission(v)) => put_by_id(&mut dir.permissions, v, |x| &x.id),
        Change::Put(Object::Service(v)) => put_by_id(&mut dir.services, v, |x| &x.id),
        Change::Put(Object::Grant(grant)) => {
            if !dir.grants.contains(grant) {
                dir.grants.push(grant.clone());
            }
        }
        Change::Put(Object::Membership(m)) => {
            let user = dir.users.iter_mut().find(|u| u.id == m.user)?;
            let entry = raw::GroupRef {
                id: m.group.clone(),
                access: m.access.clone(),
            };
            match user.groups.iter_mut().find(|g| g.id == m.group) {
                Some(existing) => *existing = entry,
                None => user.groups.push(entry),
            }
        }
        Change::Patch { kind, id, set } => match kind {
            EntityKind::User => patch_by_id(&mut dir.users, id, set, |x| &x.id)?,
            EntityKind::Group => patch_by_id(&mut dir.groups, id, set, |x| &x.id)?,
            EntityKind::Team => patch_by_id(&mut dir.teams, id, set, |x| &x.id)?,
            EntityKind::Project => patch_by_id(&mut dir.projects, id, set, |x| &x.id)?,
            EntityKind::Organization => patch_by_id(&mut dir.organizations, id, set, |x| &x.id)?,
            EntityKind::Role => patch_by_id(&mut dir.roles, id, set, |x| &x.id)?,
            EntityKind::Permission => patch_by_id(&mut dir.permissions, id, set, |x| &x.id)?,
            EntityKind::Service => patch_by_id(&mut dir.services, id, set, |x| &x.id)?,
        },
        Change::Touch { id, at } => {
            let user = dir.users.iter_mut().find(|u| &u.id == id)?;
            user.last_access_at = Some(at.clone());
        }
        Change::Delete(Target::Grant(grant)) => {
            let at = dir.grants.iter().position(|g| g == grant)?;
            dir.grants.remove(at);
        }
        Change::Delete(Target::Membership(m)) => {
            let user = dir.users.iter_mut().find(|u| u.id == m.user)?;
            let at = user.groups.iter().position(|g| g.id == m.group)?;
            user.groups.remove(at);
        }
        Change::Delete(Target::Entity { kind, id }) => delete(dir, *kind, id)?,
    }
    Some(())
}

/// Deletes an object: a user with its grants and team listings; anything else only when
/// nothing refers to it.
fn delete(dir: &mut raw::Directory, kind: EntityKind, id: &str) -> Option<()> {
    let some = |v: &Option<String>| v.as_deref() == Some(id);
    let has = |v: &[String]| v.iter().any(|x| x == id);
    let referenced = match kind {
        EntityKind::User => {
            let at = dir.users.iter().position(|u| u.id == id)?;
            dir.users.remove(at);
            dir.grants.retain(|g| !some(&g.user));
            for team in &mut dir.teams {
                team.users.retain(|u| u != id);
            }
            return Some(());
        }
        EntityKind::Group => {
            dir.users
                .iter()
                .any(|u| u.groups.iter().any(|g| g.id == id) || some(&u.enterprise_group))
                || dir.groups.iter().any(|g| some(&g.parent))
                || dir.teams.iter().any(|t| has(&t.groups))
                || dir.grants.iter().any(|g| some(&g.group))
        }
        EntityKind::Team => dir.grants.iter().any(|g| some(&g.team)),
        EntityKind::Project => {
            dir.teams.iter().any(|t| some(&t.project))
                || dir.grants.iter().any(|g| some(&g.project))
        }
        EntityKind::Organization => {
            dir.users.iter().any(|u| has(&u.organizations))
                || dir.projects.iter().any(|p| some(&p.organization))
                || dir.grants.iter().any(|g| some(&g.organization))
        }
        EntityKind::Role => dir.grants.iter().any(|g| g.role == id),
        EntityKind::Permission => dir.roles.iter().any(|r| has(&r.permissions)),
        EntityKind::Service => dir
            .users
            .iter()
            .any(|u| has(&u.licenses) || some(&u.origin_service)),
    };
    if referenced {
        return None;
    }
    let before = count(dir, kind);
    match kind {
        EntityKind::Group => dir.groups.retain(|x| x.id != id),
        EntityKind::Team => dir.teams.retain(|x| x.id != id),
        EntityKind::Project => dir.projects.retain(|x| x.id != id),
        EntityKind::Organization => dir.organizations.retain(|x| x.id != id),
        EntityKind::Role => dir.roles.retain(|x| x.id != id),
        EntityKind::Permission => dir.permissions.retain(|x| x.id != id),
        EntityKind::Service => dir.services.retain(|x| x.id != id),
        EntityKind::User => {}
    }
    (count(dir, kind) < before).then_some(())
}

fn count(dir: &raw::Directory, kind: EntityKind) -> usize {
    match kind {
        EntityKind::User => dir.users.len(),
        EntityKind::Group => dir.groups.len(),
        EntityKind::Team => dir.teams.len(),
        EntityKind::Project => dir.projects.len(),
        EntityKind::Organization => dir.organizations.len(),
        EntityKind::Role => dir.roles.len(),
        EntityKind::Permission => dir.permissions.len(),
        EntityKind::Service => dir.services.len(),
    }
}
