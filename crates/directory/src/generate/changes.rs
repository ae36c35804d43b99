//! A seeded stream of changes over a generated directory, in the mix of benchmark.md (section
//! Changes): 70 % touch, 10 % user patches, 8 % membership put/delete, 6 % grant put/delete,
//! 3 % new users, 2 % user deletions, 1 % catalog changes.
//!
//! Every change is valid when applied in order to the directory it was generated for: the
//! generator tracks which users, memberships and grants exist as the stream goes, so a stream
//! of any length applies without refusals (deletes name things that exist, new logins are new,
//! and a group is only moved under a group that cannot be its descendant).

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use super::GEN_NOW_MS;
use crate::changes::{Change, EntityKind, Membership, Object, Target};
use crate::model::{Model, OrgIdx, ProjectIdx, Scope};
use crate::raw;
use crate::save::{format_timestamp, grant_to_raw};

const ACCESS: [&str; 6] = [
    "guest",
    "planner",
    "reporter",
    "developer",
    "maintainer",
    "owner",
];
const STATES: [&str; 3] = ["active", "blocked", "deactivated"];

/// Generates `count` changes for `model` (the directory `generate` made with the same
/// options), deterministically from `seed`.
pub fn generate_changes(model: &Model, count: usize, seed: u64) -> Vec<Change> {
    let mut stream = Stream::new(model, seed);
    (0..count).map(|_| stream.next_change()).collect()
}

/// What the stream knows about the directory as its changes go.
struct Stream<'m> {
    model: &'m Model,
    rng: ChaCha8Rng,
    /// Live user ids (swap-removed on deletion).
    users: Vec<String>,
    dead: HashSet<String>,
    /// Memberships known to exist (user, group); stale entries of dead users are skipped.
    memberships: Pool<(String, String)>,
    /// Grants known to exist, in file form.
    grants: Pool<raw::Grant>,
    /// Every group id, and the groups this stream created (only those are moved).
    groups: Vec<String>,
    new_groups: Vec<String>,
    projects: Vec<String>,
    /// Counter for new ids and the stream's clock.
    serial: u64,
    clock: i64,
}

impl<'m> Stream<'m> {
    fn new(model: &'m Model, seed: u64) -> Stream<'m> {
        let users = model.users.records().map(|u| u.id.to_string()).collect();
        let mut memberships = Pool::default();
        for user in model.users.records() {
            for m in &user.groups {
                memberships.push((
                    user.id.to_string(),
                    model.groups[m.group.index()].id.clone(),
                ));
            }
        }
        Stream {
            model,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x00c4_a45e),
            users,
            dead: HashSet::new(),
            memberships,
            grants: model.grants.iter().map(|g| grant_to_raw(model, g)).fold(
                Pool::default(),
                |mut pool, grant| {
                    pool.push(grant);
                    pool
                },
            ),
            groups: model.groups.iter().map(|g| g.id.clone()).collect(),
            new_groups: Vec::new(),
            projects: model.projects.iter().map(|p| p.id.clone()).collect(),
            serial: 0,
            clock: GEN_NOW_MS,
        }
    }

    fn next_change(&mut self) -> Change {
        self.serial += 1;
        self.clock += self.rng.gen_range(1..2_000);
        let roll = self.rng.gen_range(0..100);
        let change = match roll {
            0..70 => self.touch(),
            70..80 => self.patch_user(),
            80..88 => self.membership(),
            88..94 => self.grant(),
            94..97 => None,
            97..99 => self.delete_user(),
            _ => self.catalog(),
        };
        change.unwrap_or_else(|| self.new_user())
    }

    fn now(&self) -> String {
        format_timestamp(self.clock)
    }

    fn some_user(&mut self) -> Option<String> {
        if self.users.is_empty() {
            return None;
        }
        let i = self.rng.gen_range(0..self.users.len());
        Some(self.users[i].clone())
    }

    fn touch(&mut self) -> Option<Change> {
        let id = self.some_user()?;
        Some(Change::Touch { id, at: self.now() })
    }

    fn patch_user(&mut self) -> Option<Change> {
        let id = self.some_user()?;
        let mut set = Map::new();
        let (field, value) = match self.rng.gen_range(0..5) {
            0 => ("state", Value::from(STATES[self.rng.gen_range(0..3)])),
            1 => ("two_factor", Value::from(self.rng.gen_bool(0.5))),
            2 => ("admin", Value::from(self.rng.gen_bool(0.05))),
            3 => ("name", Value::from(format!("Renamed User {}", self.serial))),
            _ => (
                "email",
                Value::from(format!("user{}@changed.example", self.serial)),
            ),
        };
        set.insert(field.to_owned(), value);
        Some(Change::Patch {
            kind: EntityKind::User,
            id,
            set,
        })
    }

    fn membership(&mut self) -> Option<Change> {
        if self.rng.gen_bool(0.5) && !self.memberships.is_empty() {
            let i = self.rng.gen_range(0..self.memberships.len());
            let (user, group) = self.memberships.swap_remove(i);
            if self.dead.contains(&user) {
                return None;
            }
            return Some(Change::Delete(Target::Membership(Membership {
                user,
                group,
                access: None,
            })));
        }
        let user = self.some_user()?;
        let group = pick(&mut self.rng, &self.groups)?;
        let access = ACCESS[self.rng.gen_range(0..ACCESS.len())];
        self.memberships.insert((user.clone(), group.clone()));
        Some(Change::Put(Object::Membership(Membership {
            user,
            group,
            access: Some(access.to_owned()),
        })))
    }

    fn grant(&mut self) -> Option<Change> {
        if self.rng.gen_bool(0.5) && !self.grants.is_empty() {
            let i = self.rng.gen_range(0..self.grants.len());
            let grant = self.grants.swap_remove(i);
            if grant.user.as_ref().is_some_and(|u| self.dead.contains(u)) {
                return None;
            }
            return Some(Change::Delete(Target::Grant(grant)));
        }
        let model = self.model;
        if model.roles.is_empty() {
            return None;
        }
        let role = model.roles[self.rng.gen_range(0..model.roles.len())]
            .id
            .clone();
        let mut grant = raw::Grant {
            role,
            ..raw::Grant::default()
        };
        match self.rng.gen_range(0..3) {
            0 if !model.teams.is_empty() => {
                let t = self.rng.gen_range(0..model.teams.len());
                grant.team = Some(model.teams[t].id.clone());
            }
            1 => {
                grant.group = Some(pick(&mut self.rng, &self.groups)?);
            }
            _ => grant.user = Some(self.some_user()?),
        }
        let scope = match self.rng.gen_range(0..10) {
            0 => Scope::Global,
            1 if !model.organizations.is_empty() => Scope::Organization(OrgIdx(
                self.rng.gen_range(0..model.organizations.len()) as u32,
            )),
            _ => Scope::Project(ProjectIdx(0)),
        };
        match scope {
            Scope::Global => {}
            Scope::Organization(o) => {
                grant.organization = Some(model.organizations[o.index()].id.clone())
            }
            Scope::Project(_) => {
                grant.project = Some(pick(&mut self.rng, &self.projects)?);
            }
        }
        self.grants.insert(grant.clone());
        Some(Change::Put(Object::Grant(grant)))
    }

    fn new_user(&mut self) -> Change {
        let id = format!("u-new-{}", self.serial);
        let login = format!("new.user.{}", self.serial);
        self.users.push(id.clone());
        let user = raw::User {
            id,
            email: Some(format!("{login}@new.example")),
            name: Some(format!("New User {}", self.serial)),
            login,
            created_at: self.now(),
            ..raw::User::default()
        };
        Change::Put(Object::User(Box::new(user)))
    }

    fn delete_user(&mut self) -> Option<Change> {
        if self.users.len() < 2 {
            return None;
        }
        let i = self.rng.gen_range(0..self.users.len());
        let id = self.users.swap_remove(i);
        self.dead.insert(id.clone());
        Some(Change::Delete(Target::Entity {
            kind: EntityKind::User,
            id,
        }))
    }

    fn catalog(&mut self) -> Option<Change> {
        match self.rng.gen_range(0..4) {
            0 => {
                let id = format!("g-new-{}", self.serial);
                let parent = if self.rng.gen_bool(0.5) {
                    pick(&mut self.rng, &self.groups)
                } else {
                    None
                };
                self.groups.push(id.clone());
                self.new_groups.push(id.clone());
                Some(Change::Put(Object::Group(raw::Group {
                    name: format!("New Group {}", self.serial),
                    id,
                    parent,
                })))
            }
            1 => {
                let id = format!("p-new-{}", self.serial);
                self.projects.push(id.clone());
                Some(Change::Put(Object::Project(raw::Project {
                    name: format!("New Project {}", self.serial),
                    id,
                    key: None,
                    organization: None,
                })))
            }
            2 => {
                let id = pick(&mut self.rng, &self.groups)?;
                let mut set = Map::new();
                set.insert(
                    "name".to_owned(),
                    Value::from(format!("Renamed Group {}", self.serial)),
                );
                Some(Change::Patch {
                    kind: EntityKind::Group,
                    id,
                    set,
                })
            }
            _ => {
                // Only a group this stream created moves, and only under a group of the
                // original directory: those can never be its descendants.
                let id = pick(&mut self.rng, &self.new_groups)?;
                let groups = &self.model.groups;
                if groups.is_empty() {
                    return None;
                }
                let parent = groups[self.rng.gen_range(0..groups.len())].id.clone();
                let mut set = Map::new();
                set.insert("parent".to_owned(), Value::from(parent));
                Some(Change::Patch {
                    kind: EntityKind::Group,
                    id,
                    set,
                })
            }
        }
    }
}

/// A random element of `list` (cloned), or `None` when it is empty.
fn pick(rng: &mut ChaCha8Rng, list: &[String]) -> Option<String> {
    if list.is_empty() {
        return None;
    }
    Some(list[rng.gen_range(0..list.len())].clone())
}

/// Items with swap-removal by position (what the stream picks from at random) and a count per
/// item's 64-bit hash, so that "is it known?" is one lookup, not a scan of millions of grants per
/// generated grant. The items and their order are what a plain `Vec` with a `contains` scan
/// would hold (the source's duplicates included), so a seed gives the same stream as before.
#[derive(Debug)]
struct Pool<T> {
    items: Vec<T>,
    known: HashMap<u64, u32>,
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Pool {
            items: Vec::new(),
            known: HashMap::new(),
        }
    }
}

impl<T: Hash> Pool<T> {
    fn len(&self) -> usize {
        self.items.len()
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// A fixed hash (SipHash with zero keys): the same in every run.
    fn hash(item: &T) -> u64 {
        let mut hasher = DefaultHasher::new();
        item.hash(&mut hasher);
        hasher.finish()
    }

    /// Adds `item` whether or not it is known (the directory's own lists).
    fn push(&mut self, item: T) {
        *self.known.entry(Self::hash(&item)).or_default() += 1;
        self.items.push(item);
    }

    /// Adds `item` unless it is already known.
    fn insert(&mut self, item: T) {
        if !self.known.contains_key(&Self::hash(&item)) {
            self.push(item);
        }
    }

    /// Removes the item at `i`, moving the last one into its place (as `Vec::swap_remove`).
    fn swap_remove(&mut self, i: usize) -> T {
        let item = self.items.swap_remove(i);
        if let Entry::Occupied(mut count) = self.known.entry(Self::hash(&item)) {
            *count.get_mut() -= 1;
            if *count.get() == 0 {
                count.remove();
            }
        }
        item
    }
}
