//! Live updates: immutable snapshots swapped atomically, so readers never block.
//!
//! A [`Store`] holds the current [`Snapshot`] (model + indexes + version) in an `ArcSwap`.
//! Readers call [`Store::snapshot`] — one atomic load, no lock — and keep that snapshot for as
//! long as a query runs; it never changes under them. Writers serialize on a mutex and publish a
//! whole new snapshot per batch.
//!
//! **Atomicity.** A batch is applied to a private copy of the model; every update is checked
//! against the would-be model as it stands after the previous updates of the same batch. If any
//! update fails, nothing is published and the version does not move; all errors are reported.
//!
//! **Removing a user cascades**: the user's direct grants are dropped and the user is removed from
//! team member lists (a user leaving should not require the producer to know every reference).
//!
//! **Numbers are stable.** A user added without `number` gets max(number) + 1; after removals,
//! users whose number no longer equals their position are marked explicit, so a save → load
//! keeps every number (GitLab ids never change).
//!
//! **Cost (first version).** Each batch clones the model (O(users), deep) and rebuilds every
//! index (O(users log users)); the checks themselves are O(users) per batch. Batching amortises
//! this: one batch of 1,000 updates costs about as much as one of a single update. Measured
//! numbers are in the crate's report / bench; a chunked, structurally shared user table would
//! remove the clone but needs a different `Model` shape.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use crate::error::{LoadErrorKind, LoadErrors};
use crate::index::Indexes;
use crate::load::places::{Kind, Loc, Places, Style};
use crate::load::{convert_user, parse_timestamp, resolve_grant, Checker, Tables, Tolerated};
use crate::model::{self, AccessLevel, GroupIdx, Model, Row, State, Subject};
use crate::raw;

/// One consistent version of the directory: a model and the indexes built from exactly it.
#[derive(Debug)]
pub struct Snapshot {
    /// Increases by one per applied batch; 0 for the initial model.
    pub version: u64,
    /// The model.
    pub model: Arc<Model>,
    /// Indexes over `model` (never over another version).
    pub index: Arc<Indexes>,
}

/// One change to the directory. Users are named by id.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// Adds a user (file form, validated like a loaded one); the id and login must be new.
    AddUser(raw::User),
    /// Replaces the user with the same id, keeping its row (and its number unless one is given).
    ReplaceUser(raw::User),
    /// Removes a user, its direct grants and its team listings.
    RemoveUser {
        /// User id.
        id: String,
    },
    /// Sets the account state (file spelling: `active`, `blocked`, …).
    SetState {
        /// User id.
        id: String,
        /// New state.
        state: String,
    },
    /// Sets or clears administrator.
    SetAdmin {
        /// User id.
        id: String,
        /// New value.
        admin: bool,
    },
    /// Enables or disables 2FA.
    SetTwoFactor {
        /// User id.
        id: String,
        /// New value.
        enabled: bool,
    },
    /// Bans a user: state `banned` plus a ban record.
    Ban {
        /// User id.
        id: String,
        /// Ban status.
        status: Option<String>,
        /// Reason.
        reason: Option<String>,
        /// RFC 3339 time.
        at: Option<String>,
    },
    /// Lifts a ban: state `active`, ban record cleared.
    Unban {
        /// User id.
        id: String,
    },
    /// Adds a direct membership, or changes its access level if it exists.
    AddMembership {
        /// User id.
        user: String,
        /// Group id.
        group: String,
        /// GitLab access level, if any.
        access: Option<String>,
    },
    /// Removes a direct membership (an error if the user is not a direct member).
    RemoveMembership {
        /// User id.
        user: String,
        /// Group id.
        group: String,
    },
    /// Adds a grant.
    AddGrant(raw::Grant),
    /// Removes one grant equal to this one (an error if there is none).
    RemoveGrant(raw::Grant),
}

/// The live directory: lock-free snapshots for readers, serialized batches for writers.
pub struct Store {
    current: ArcSwap<Snapshot>,
    writer: Mutex<()>,
}

impl Store {
    /// Wraps a validated model as version 0 (builds its indexes).
    pub fn new(model: Model) -> Store {
        let index = Indexes::build(&model);
        Store {
            current: ArcSwap::from_pointee(Snapshot {
                version: 0,
                model: Arc::new(model),
                index: Arc::new(index),
            }),
            writer: Mutex::new(()),
        }
    }

    /// The current snapshot: one atomic load, never blocks, stays valid while held.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// The current version.
    pub fn version(&self) -> u64 {
        self.current.load().version
    }

    /// Applies a batch atomically and returns the new version (an empty batch changes nothing
    /// and returns the current version). On error nothing changes and every problem is listed,
    /// each placed as `batch[i] (user <id>)`.
    pub fn apply(&self, batch: &[Update]) -> Result<u64, LoadErrors> {
        // A panicking writer cannot leave a half-applied model (we publish only at the end), so a
        // poisoned lock is safe to reuse.
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let base = self.current.load_full();
        if batch.is_empty() {
            return Ok(base.version);
        }
        let model = apply_batch(&base.model, batch)?;
        let index = Indexes::build(&model);
        let version = base.version + 1;
        self.current.store(Arc::new(Snapshot {
            version,
            model: Arc::new(model),
            index: Arc::new(index),
        }));
        Ok(version)
    }
}

/// Applies `batch` to a copy of `base`, or returns every error.
fn apply_batch(base: &Model, batch: &[Update]) -> Result<Model, LoadErrors> {
    let places = Places::identity(Style::Batch);
    let tolerated = Tolerated::new();
    let mut txn = Txn {
        checker: Checker::new(&places, &tolerated),
        tables: Tables::of_model(base),
        model: base.clone(),
        removed: Vec::new(),
        changed: Vec::new(),
    };
    for (index, update) in batch.iter().enumerate() {
        txn.apply(index, update);
    }
    txn.check_uniqueness();
    if !txn.checker.errors.is_empty() {
        return Err(LoadErrors::new(txn.checker.errors));
    }
    let Txn {
        mut model, removed, ..
    } = txn;
    compact(&mut model, &removed);
    Ok(model)
}

struct Txn<'a> {
    checker: Checker<'a>,
    /// Id tables; `users` maps ids to rows of the working `model` (removed users unmapped).
    tables: Tables<'a>,
    model: Model,
    /// Tombstones, by working row (rows are compacted only at the end so indices stay stable).
    removed: Vec<bool>,
    /// (batch index, row) of users added or replaced, for the login and number checks.
    changed: Vec<(usize, Row)>,
}

impl<'a> Txn<'a> {
    fn user_row(&mut self, index: usize, id: &str) -> Option<Row> {
        let row = self.tables.users.get(id).copied();
        if row.is_none() {
            self.checker.error(
                Loc {
                    kind: Kind::User,
                    index,
                    id,
                },
                None,
                LoadErrorKind::NotFound {
                    what: "user",
                    id: id.to_owned(),
                },
            );
        }
        row
    }

    fn apply(&mut self, index: usize, update: &'a Update) {
        let loc = move |id: &'a str| Loc {
            kind: Kind::User,
            index,
            id,
        };
        match update {
            Update::AddUser(raw) => {
                if self.tables.users.contains_key(raw.id.as_str()) {
                    self.checker.error(
                        loc(&raw.id),
                        Some("id".to_owned()),
                        LoadErrorKind::DuplicateId {
                            id: raw.id.clone(),
                            first: "an existing user".to_owned(),
                        },
                    );
                    return;
                }
                let (number, explicit) = match raw.number {
                    Some(n) => (n.max(0) as u64, true),
                    None => (self.next_number(), false),
                };
                if let Some(user) = self.convert(index, raw, number, explicit) {
                    let row = self.model.users.len() as Row;
                    self.model.users.push(user);
                    self.tables.users.insert(&raw.id, row);
                    self.changed.push((index, row));
                }
            }
            Update::ReplaceUser(raw) => {
                let Some(row) = self.user_row(index, &raw.id) else {
                    return;
                };
                let old = &self.model.users[row as usize];
                let (number, explicit) = match raw.number {
                    Some(n) => (n.max(0) as u64, true),
                    None => (old.number, old.number_explicit),
                };
                if let Some(user) = self.convert(index, raw, number, explicit) {
                    self.model.users[row as usize] = user;
                    self.changed.push((index, row));
                }
            }
            Update::RemoveUser { id } => {
                if let Some(row) = self.user_row(index, id) {
                    self.tables.users.remove(id.as_str());
                    if self.removed.len() < self.model.users.len() {
                        self.removed.resize(self.model.users.len(), false);
                    }
                    self.removed[row as usize] = true;
                }
            }
            Update::SetState { id, state } => {
                let Some(row) = self.user_row(index, id) else {
                    return;
                };
                match State::parse(state) {
                    Some(state) => self.model.users[row as usize].state = state,
                    None => self.checker.error(
                        loc(id),
                        Some("state".to_owned()),
                        LoadErrorKind::BadState {
                            value: state.clone(),
                        },
                    ),
                }
            }
            Update::SetAdmin { id, admin } => {
                if let Some(row) = self.user_row(index, id) {
                    self.model.users[row as usize].admin = *admin;
                }
            }
            Update::SetTwoFactor { id, enabled } => {
                if let Some(row) = self.user_row(index, id) {
                    let user = &mut self.model.users[row as usize];
                    user.two_factor = *enabled;
                    user.two_factor_capable |= *enabled;
                }
            }
            Update::Ban {
                id,
                status,
                reason,
                at,
            } => {
                let Some(row) = self.user_row(index, id) else {
                    return;
                };
                let at = match at.as_deref().map(parse_timestamp) {
                    None => None,
                    Some(Ok(ms)) => Some(ms),
                    Some(Err(reason)) => {
                        let value = at.clone().unwrap_or_default();
                        self.checker.error(
                            loc(id),
                            Some("at".to_owned()),
                            LoadErrorKind::BadTimestamp { value, reason },
                        );
                        return;
                    }
                };
                let user = &mut self.model.users[row as usize];
                user.state = State::Banned;
                user.ban = Some(model::Ban {
                    status: status.clone(),
                    reason: reason.clone(),
                    at,
                });
            }
            Update::Unban { id } => {
                if let Some(row) = self.user_row(index, id) {
                    let user = &mut self.model.users[row as usize];
                    user.state = State::Active;
                    user.ban = None;
                }
            }
            Update::AddMembership {
                user,
                group,
                access,
            } => {
                let row = self.user_row(index, user);
                let group = self.group(index, user, group);
                let access = match access.as_deref() {
                    None => Some(None),
                    Some(text) => match AccessLevel::parse(text) {
                        Some(level) => Some(Some(level)),
                        None => {
                            self.checker.error(
                                loc(user),
                                Some("access".to_owned()),
                                LoadErrorKind::BadAccess {
                                    value: text.to_owned(),
                                },
                            );
                            None
                        }
                    },
                };
                let (Some(row), Some(group), Some(access)) = (row, group, access) else {
                    return;
                };
                let memberships = &mut self.model.users[row as usize].groups;
                match memberships.iter_mut().find(|m| m.group == group) {
                    Some(existing) => existing.access = access,
                    None => memberships.push(model::Membership { group, access }),
                }
            }
            Update::RemoveMembership {
                user,
                group: group_id,
            } => {
                let row = self.user_row(index, user);
                let group = self.group(index, user, group_id);
                let (Some(row), Some(group)) = (row, group) else {
                    return;
                };
                let memberships = &mut self.model.users[row as usize].groups;
                match memberships.iter().position(|m| m.group == group) {
                    Some(at) => {
                        memberships.remove(at);
                    }
                    None => self.checker.error(
                        loc(user),
                        Some("groups".to_owned()),
                        LoadErrorKind::NotFound {
                            what: "membership",
                            id: format!("{user} in {group_id}"),
                        },
                    ),
                }
            }
            Update::AddGrant(grant) => {
                if let Some(grant) = resolve_grant(&mut self.checker, &self.tables, index, grant) {
                    self.model.grants.push(grant);
                }
            }
            Update::RemoveGrant(raw_grant) => {
                let Some(grant) = resolve_grant(&mut self.checker, &self.tables, index, raw_grant)
                else {
                    return;
                };
                match self.model.grants.position(|g| *g == grant) {
                    Some(at) => {
                        self.model.grants.remove(at);
                    }
                    None => self.checker.error(
                        Loc {
                            kind: Kind::Grant,
                            index,
                            id: &raw_grant.role,
                        },
                        None,
                        LoadErrorKind::NotFound {
                            what: "grant",
                            id: describe_grant(raw_grant),
                        },
                    ),
                }
            }
        }
    }

    fn group(&mut self, index: usize, user: &str, group: &str) -> Option<GroupIdx> {
        let loc = Loc {
            kind: Kind::User,
            index,
            id: user,
        };
        self.checker
            .resolve(&self.tables, loc, || "group".to_owned(), Kind::Group, group)
            .map(GroupIdx)
    }

    fn convert(
        &mut self,
        index: usize,
        raw: &raw::User,
        number: u64,
        explicit: bool,
    ) -> Option<model::User> {
        if raw.number.is_some_and(|n| n <= 0) {
            self.checker.error(
                Loc {
                    kind: Kind::User,
                    index,
                    id: &raw.id,
                },
                Some("number".to_owned()),
                LoadErrorKind::NumberNotPositive {
                    value: raw.number.unwrap_or_default(),
                },
            );
            return None;
        }
        convert_user(
            &mut self.checker,
            &self.tables,
            index,
            raw.clone(),
            number,
            explicit,
        )
    }

    fn next_number(&self) -> u64 {
        self.model.users.iter().map(|u| u.number).max().unwrap_or(0) + 1
    }

    fn live(&self, row: usize) -> bool {
        !self.removed.get(row).copied().unwrap_or(false)
    }

    /// Logins (case-insensitive) and numbers of added/replaced users must stay unique among the
    /// live users. O(users × changed) by scan for small batches, O(users) by map otherwise.
    fn check_uniqueness(&mut self) {
        if self.changed.is_empty() {
            return;
        }
        let users = &self.model.users;
        let mut problems = Vec::new();
        if self.changed.len() <= 8 {
            for &(index, row) in &self.changed {
                let me = &users[row as usize];
                let folded = me.login.to_lowercase();
                for (other, user) in users.iter().enumerate() {
                    if other == row as usize || !self.live(other) {
                        continue;
                    }
                    if same_login(&user.login, &folded) {
                        problems.push((
                            index,
                            row,
                            LoadErrorKind::DuplicateLogin {
                                login: me.login.clone(),
                                first: format!("user {}", user.id),
                            },
                        ));
                    }
                    if user.number == me.number {
                        problems.push((
                            index,
                            row,
                            LoadErrorKind::DuplicateNumber {
                                number: me.number,
                                first: format!("user {}", user.id),
                            },
                        ));
                    }
                }
            }
        } else {
            let mut logins: HashMap<String, usize> = HashMap::with_capacity(users.len());
            let mut numbers: HashMap<u64, usize> = HashMap::with_capacity(users.len());
            let changed: std::collections::HashSet<Row> =
                self.changed.iter().map(|&(_, r)| r).collect();
            // Unchanged users first, so conflicts are reported on the changed ones.
            let order = (0..users.len())
                .filter(|r| !changed.contains(&(*r as Row)))
                .chain(self.changed.iter().map(|&(_, r)| r as usize));
            let batch_index: HashMap<Row, usize> =
                self.changed.iter().map(|&(i, r)| (r, i)).collect();
            for row in order {
                if !self.live(row) {
                    continue;
                }
                let user = &users[row];
                let index = batch_index.get(&(row as Row)).copied();
                if let Some(first) = logins.insert(user.login.to_lowercase(), row) {
                    if let Some(index) = index {
                        problems.push((
                            index,
                            row as Row,
                            LoadErrorKind::DuplicateLogin {
                                login: user.login.clone(),
                                first: format!("user {}", users[first].id),
                            },
                        ));
                    }
                }
                if let Some(first) = numbers.insert(user.number, row) {
                    if let Some(index) = index {
                        problems.push((
                            index,
                            row as Row,
                            LoadErrorKind::DuplicateNumber {
                                number: user.number,
                                first: format!("user {}", users[first].id),
                            },
                        ));
                    }
                }
            }
        }
        for (index, row, kind) in problems {
            let field = match kind {
                LoadErrorKind::DuplicateLogin { .. } => "login",
                _ => "number",
            };
            let id = self.model.users[row as usize].id.clone();
            self.checker.error(
                Loc {
                    kind: Kind::User,
                    index,
                    id: &id,
                },
                Some(field.to_owned()),
                kind,
            );
        }
    }
}

/// Case-insensitive login equality without allocating for the common ASCII case.
fn same_login(login: &str, folded: &str) -> bool {
    if login.is_ascii() && folded.is_ascii() {
        login.len() == folded.len() && login.eq_ignore_ascii_case(folded)
    } else {
        login.to_lowercase() == folded
    }
}

fn describe_grant(grant: &raw::Grant) -> String {
    let mut parts = vec![format!("role {}", grant.role)];
    for (key, value) in [
        ("user", &grant.user),
        ("group", &grant.group),
        ("team", &grant.team),
        ("project", &grant.project),
        ("organization", &grant.organization),
    ] {
        if let Some(value) = value {
            parts.push(format!("{key} {value}"));
        }
    }
    parts.join(", ")
}

/// Drops removed users and every row reference to them, renumbers rows, and marks numbers
/// explicit where they no longer equal the position.
fn compact(model: &mut Model, removed: &[bool]) {
    if removed.iter().any(|&r| r) {
        let mut new_row = Vec::with_capacity(model.users.len());
        let mut next = 0u32;
        for row in 0..model.users.len() {
            if removed.get(row).copied().unwrap_or(false) {
                new_row.push(None);
            } else {
                new_row.push(Some(next));
                next += 1;
            }
        }
        let mut row = 0;
        model.users.retain(|_| {
            let keep = new_row[row].is_some();
            row += 1;
            keep
        });
        model.grants.retain_mut(|grant| match grant.subject {
            Subject::User(r) => match new_row[r as usize] {
                Some(n) => {
                    grant.subject = Subject::User(n);
                    true
                }
                None => false,
            },
            _ => true,
        });
        for team in &mut model.teams {
            team.users = team
                .users
                .iter()
                .filter_map(|&r| new_row[r as usize])
                .collect();
        }
    }
    for (position, user) in model.users.iter_mut().enumerate() {
        if !user.number_explicit && user.number != position as u64 + 1 {
            user.number_explicit = true;
        }
    }
}
