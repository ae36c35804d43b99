//! Change validation: a batch runs as a transaction ([`Txn`]) over a copy-on-write copy of the
//! model, each update checked against the would-be model as it stands after the previous ones;
//! the result ([`Applied`]) is what the store publishes. Shared by [`Update`] batches and
//! [`crate::changes`] batches.

use std::collections::{HashMap, HashSet};

use roaring::RoaringBitmap;

use super::writer::{IndexOp, Writer};
use crate::error::{LoadErrorKind, LoadErrors};
use crate::facts::Subjects;
use crate::index::FlagChange;
use crate::load::places::{Kind, Loc, Places, Style};
use crate::load::{
    convert_user, parse_timestamp, resolve_grant, Checker, IdHasher, Tables, Tolerated,
};
use crate::model::{self, AccessLevel, GroupIdx, Millis, Model, Row, State};
use crate::raw;
use crate::text::fold;

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

/// A successfully applied batch.
pub(crate) struct Applied {
    pub(crate) model: Model,
    /// Rows whose record was written (added, replaced or changed).
    pub(crate) changed: RoaringBitmap,
    /// Rows were renumbered (a user removed) or catalog objects deleted: the indexes must be
    /// rebuilt.
    pub(crate) structural: bool,
    /// Index changes made in place, in batch order.
    pub(crate) ops: Vec<IndexOp>,
    /// The transaction's grants by subject when the batch changed them (grants added or
    /// removed, a user deletion's cascade): the writer adopts them instead of making the same
    /// changes to its own copy again ([`super::Writer::follow`]). `None`: unchanged.
    pub(crate) subjects: Option<Subjects>,
}

/// Applies `batch` to a copy of `base`, or returns every error.
pub(super) fn apply_batch(
    base: &Model,
    batch: &[Update],
    writer: &Writer,
) -> Result<Applied, LoadErrors> {
    let places = Places::identity(Style::Batch);
    let tolerated = Tolerated::new();
    let mut txn = Txn::new(base, writer, &places, &tolerated);
    for (index, update) in batch.iter().enumerate() {
        txn.apply(index, update);
    }
    for (index, row, field, kind) in txn.uniqueness_problems(base, writer) {
        let kind = match kind {
            LoadErrorKind::DuplicateLogin { login, first } => LoadErrorKind::DuplicateLogin {
                login,
                first: format!("user {first}"),
            },
            LoadErrorKind::DuplicateNumber { number, first } => LoadErrorKind::DuplicateNumber {
                number,
                first: format!("user {first}"),
            },
            other => other,
        };
        let id = txn.model.users[row as usize].id.clone();
        txn.checker.error(
            Loc {
                kind: Kind::User,
                index,
                id: &id,
            },
            Some(field.to_owned()),
            kind,
        );
    }
    if !txn.checker.errors.is_empty() {
        return Err(LoadErrors::new(txn.checker.errors));
    }
    Ok(txn.finish())
}

/// A batch in progress over a copy of the model; shared by [`Update`] batches and
/// [`crate::changes`] batches.
pub(crate) struct Txn<'a> {
    pub(crate) checker: Checker<'a>,
    /// Id tables; `users` maps ids to rows of the working `model` (removed users unmapped).
    pub(crate) tables: Tables<'a>,
    pub(crate) model: Model,
    /// Rows of users this batch deleted (holes in `model.users`).
    pub(crate) removed: RoaringBitmap,
    /// (batch index, row) of users added or replaced, for the login and number checks.
    pub(crate) changed: Vec<(usize, Row)>,
    /// Every row whose record this batch wrote.
    pub(crate) written: RoaringBitmap,
    /// Rows renumbered or catalog objects deleted.
    pub(crate) structural: bool,
    /// Grants and catalog objects this batch changed, for in-place index updates.
    pub(crate) ops: Vec<IndexOp>,
    /// Grants and team listings by subject, kept current with the working model (a copy of the
    /// writer's: a few pointer copies), so grant checks and removals never scan the grants.
    pub(crate) subjects: Subjects,
    /// Whether `subjects` changed (a grant added or removed).
    pub(crate) subjects_written: bool,
    /// The largest number in use so far.
    pub(crate) max_number: u64,
    /// Memberships this batch may still leave to the overlay ([`Writer::overlay_room`]).
    overlay_room: u64,
}

impl<'a> Txn<'a> {
    /// A transaction over a copy of `base`. User and catalog references resolve against the
    /// writer's maps ([`Tables::base_users`], [`Tables::base`]); the batch's own tables hold
    /// only what it adds or deletes, so nothing here is proportional to the directory or to
    /// the batch: a single sign-in allocates no map (a per-batch map of the users a batch
    /// named, with a `Vec` of ids per change, was half of what `Txn::new` cost a sign-in).
    pub(crate) fn new(
        base: &'a Model,
        writer: &'a Writer,
        places: &'a Places,
        tolerated: &'a Tolerated,
    ) -> Txn<'a> {
        let tables = Tables {
            base: Some(&writer.catalog),
            base_users: Some(&writer.ids),
            ..Tables::default()
        };
        Txn {
            checker: Checker::new(places, tolerated),
            tables,
            model: base.clone(),
            removed: RoaringBitmap::new(),
            changed: Vec::new(),
            written: RoaringBitmap::new(),
            structural: false,
            ops: Vec::new(),
            subjects: writer.subjects.clone(),
            subjects_written: false,
            max_number: writer.max_number(),
            overlay_room: writer.overlay_room,
        }
    }

    /// The applied batch (deleted users stay holes: rows never move on the writer's path).
    pub(crate) fn finish(self) -> Applied {
        let Txn {
            model,
            written,
            structural,
            ops,
            subjects,
            subjects_written,
            ..
        } = self;
        Applied {
            model,
            changed: written,
            structural,
            ops,
            subjects: subjects_written.then_some(subjects),
        }
    }

    pub(crate) fn user_row(&mut self, index: usize, id: &str) -> Option<Row> {
        let row = self.tables.get(Kind::User, id);
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

    /// Applies one update; each records what it wrote (the row dirty, or its in-place index
    /// changes).
    fn apply(&mut self, index: usize, update: &'a Update) {
        let loc = move |id: &'a str| Loc {
            kind: Kind::User,
            index,
            id,
        };
        match update {
            Update::AddUser(raw) => {
                if self.tables.get(Kind::User, &raw.id).is_some() {
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
                self.add_user(index, raw);
            }
            Update::ReplaceUser(raw) => {
                if let Some(row) = self.user_row(index, &raw.id) {
                    self.replace_user(index, row, raw);
                }
            }
            Update::RemoveUser { id } => {
                if let Some(row) = self.user_row(index, id) {
                    self.remove_user(id, row);
                }
            }
            Update::SetState { id, state } => {
                let Some(row) = self.user_row(index, id) else {
                    return;
                };
                match State::parse(state) {
                    Some(state) => self.edit_user(row, |user| user.state = state),
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
                    self.edit_user(row, |user| user.admin = *admin);
                }
            }
            Update::SetTwoFactor { id, enabled } => {
                if let Some(row) = self.user_row(index, id) {
                    self.edit_user(row, |user| {
                        user.two_factor = *enabled;
                        user.two_factor_capable |= *enabled;
                    });
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
                self.edit_user(row, |user| {
                    user.state = State::Banned;
                    user.ban = Some(Box::new(model::Ban {
                        status: status.clone(),
                        reason: reason.clone(),
                        at,
                    }));
                });
            }
            Update::Unban { id } => {
                if let Some(row) = self.user_row(index, id) {
                    self.edit_user(row, |user| {
                        user.state = State::Active;
                        user.ban = None;
                    });
                }
            }
            Update::AddMembership {
                user,
                group,
                access,
            } => self.add_membership(index, user, group, access.as_deref()),
            Update::RemoveMembership { user, group } => {
                self.remove_membership(index, user, group);
            }
            Update::AddGrant(grant) => {
                if let Some(grant) = resolve_grant(&mut self.checker, &self.tables, index, grant) {
                    self.add_grant(grant);
                }
            }
            Update::RemoveGrant(raw_grant) => self.remove_grant(index, raw_grant),
        }
    }

    /// Adds a user whose id is new (the caller checked), numbering it when it has no number.
    pub(crate) fn add_user(&mut self, index: usize, raw: &'a raw::User) {
        let (number, explicit) = match raw.number {
            Some(n) => (self.claim_number(n), true),
            None => (self.next_number(), false),
        };
        // A number that is not the user's position in a save (after every live user: holes
        // take none) must be written out, or a save → load would renumber the user; one that
        // is stays implicit, as a load of that save makes it. The slot, which counts holes,
        // made a store with deletions write numbers that a store recovered from a compact
        // checkpoint did not (tests/replay.rs in userql-state).
        let position = self.model.users.count() as u64 + 1;
        let explicit = explicit || number != position;
        if let Some((user, last_access)) = self.convert(index, raw, number, explicit) {
            let row = self.model.users.push(user, last_access);
            self.tables.users.insert(&raw.id, row);
            self.written.insert(row);
            self.changed.push((index, row));
        }
    }

    /// Replaces the user at `row`, keeping its number unless `raw` gives one.
    pub(crate) fn replace_user(&mut self, index: usize, row: Row, raw: &raw::User) {
        let old = &self.model.users[row as usize];
        let (number, explicit) = match raw.number {
            Some(n) => (self.claim_number(n), true),
            None => (old.number, old.number_explicit),
        };
        if let Some((user, last_access)) = self.convert(index, raw, number, explicit) {
            self.record_replaced(row, &user);
            self.model.users.set(row as usize, user);
            let before = self.model.users.last_access(row as usize);
            if before != last_access.get() {
                self.model.users.set_last_access(row as usize, last_access);
                match last_access.get() {
                    Some(new) => self.touched(row, before, new),
                    None => {
                        self.written.insert(row);
                    }
                }
            }
            self.changed.push((index, row));
        }
    }

    /// Edits the record at `row` in place and records what that wrote, as a replacement does:
    /// a change of flags or state only (2FA, admin, state: what an embedding server sets
    /// most) flips bits in the flag and state bitmaps and leaves the row clean; anything else
    /// (a ban record) makes it dirty. Before, every such update dirtied its row, so a stream
    /// of them kept the store compacting (a delta build per `max_dirty` rows).
    fn edit_user(&mut self, row: Row, edit: impl FnOnce(&mut model::User)) {
        let mut user = self.model.users[row as usize].clone();
        edit(&mut user);
        self.record_replaced(row, &user);
        self.model.users.set(row as usize, user);
    }

    /// Records what replacing `row`'s record by `new` writes: when only flags or the state
    /// change (and nothing else of the batch wrote the row so far), the flag and state bitmaps
    /// in place; otherwise the row is dirty.
    fn record_replaced(&mut self, row: Row, new: &model::User) {
        let old = &self.model.users[row as usize];
        if !self.written.contains(row) && old.same_but_flags(new) {
            let change = FlagChange::between(old, new);
            if !change.flags.is_empty() || change.state.is_some() {
                self.ops.push(IndexOp::Flagged { row, change });
            }
            return;
        }
        self.written.insert(row);
    }

    /// Deletes the user at `row`: its row becomes a hole (no renumbering) and is dirty, so the
    /// overlay hides it from every indexed answer until a rebuild drops it. Its direct grants
    /// are removed as grant removals (exact in the access index), its team listings dropped
    /// from the model (the team member sets in the index only name it while it is dirty).
    /// O(the user's grants and teams): its grants are found by subject, each removed at a
    /// position found by binary search ([`Subjects::grant_removed`]).
    pub(crate) fn remove_user(&mut self, id: &'a str, row: Row) {
        // Hides the writer's entry for the rest of the batch.
        self.tables.users.insert(id, Tables::DELETED);
        if !self.model.users.remove(row) {
            return;
        }
        self.removed.insert(row);
        self.written.insert(row);
        self.remove_grants_of_user(row);
        // A team written by this batch may list the user without the base version knowing.
        let teams_written = self.ops.iter().any(|op| {
            matches!(
                op,
                IndexOp::Entity {
                    kind: Kind::Team,
                    ..
                }
            )
        });
        let teams: Vec<usize> = if teams_written {
            (0..self.model.teams.len()).collect()
        } else {
            self.subjects
                .teams_of_user(row)
                .iter()
                .map(|t| t.index())
                .collect()
        };
        for at in teams {
            let lists = self
                .model
                .teams
                .get(at)
                .is_some_and(|team| team.users.contains(&row));
            if lists {
                if let Some(team) = self.model.teams.get_mut(at) {
                    team.users.retain(|&r| r != row);
                }
            }
        }
    }

    /// Makes `user` a direct member of `group`, or changes the access of the membership.
    pub(crate) fn add_membership(
        &mut self,
        index: usize,
        user: &str,
        group: &str,
        access: Option<&str>,
    ) {
        let row = self.user_row(index, user);
        let group = self.group(index, user, group);
        let access = match access {
            None => Some(None),
            Some(text) => match AccessLevel::parse(text) {
                Some(level) => Some(Some(level)),
                None => {
                    self.checker.error(
                        Loc {
                            kind: Kind::User,
                            index,
                            id: user,
                        },
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
            Some(existing) => {
                // The access level is read from the record: the indexes do not hold it.
                existing.access = access;
            }
            None => {
                // Boxed slices hold no spare room: a join rebuilds the (short) list.
                let mut list = std::mem::take(memberships).into_vec();
                list.push(model::Membership { group, access });
                *memberships = list.into_boxed_slice();
                self.membership_changed(row, group);
            }
        }
    }

    /// `row` joined or left `group`: left to the overlay (the row is dirty) while the writer's
    /// [`Writer::overlay_room`] lasts, else made in place in the indexes (the row stays clean)
    /// unless something else of the batch wrote the row (then it is dirty; the store also
    /// dirties it if the indexes do not describe it, see
    /// [`super::writer::settle_row_changes`]).
    fn membership_changed(&mut self, row: Row, group: GroupIdx) {
        if !self.overlaid(row) {
            self.ops.push(IndexOp::Membership { row, group });
        }
    }

    /// Leaves a change of `row` alone to the overlay (marks the row written) if the row is
    /// written already or the batch has [`Writer::overlay_room`] left: true when it did, and
    /// the caller changes no index. Only for changes that set no bit of another row.
    ///
    /// Memberships only: a grant to a user is one too, but costs the writer ~0.05 ms in place
    /// against a membership's ~0.2 ms, and giving it room left memberships less of it (the
    /// stream was no faster; `benches/RESULTS.md` "room13").
    fn overlaid(&mut self, row: Row) -> bool {
        if self.written.contains(row) {
            return true;
        }
        if self.overlay_room == 0 {
            return false;
        }
        // Cheaper to re-check than to place while the overlay is below its limit.
        self.overlay_room -= 1;
        self.written.insert(row);
        true
    }

    /// Ends a direct membership (an error if there is none).
    pub(crate) fn remove_membership(&mut self, index: usize, user: &str, group_id: &str) {
        let row = self.user_row(index, user);
        let group = self.group(index, user, group_id);
        let (Some(row), Some(group)) = (row, group) else {
            return;
        };
        let memberships = &mut self.model.users[row as usize].groups;
        match memberships.iter().position(|m| m.group == group) {
            Some(at) => {
                let mut list = std::mem::take(memberships).into_vec();
                list.remove(at);
                *memberships = list.into_boxed_slice();
                self.membership_changed(row, group);
            }
            None => self.checker.error(
                Loc {
                    kind: Kind::User,
                    index,
                    id: user,
                },
                Some("groups".to_owned()),
                LoadErrorKind::NotFound {
                    what: "membership",
                    id: format!("{user} in {group_id}"),
                },
            ),
        }
    }

    /// A sign-in moved `row`'s last access from `old` to `new`: an index change made in place
    /// when the row had a last access and nothing else of the batch wrote it so far (the store
    /// still dirties it instead if the indexes do not describe it, see
    /// [`super::writer::settle_row_changes`]); otherwise the row is dirty.
    pub(crate) fn touched(&mut self, row: Row, old: Option<Millis>, new: Millis) {
        match old {
            Some(old) if !self.written.contains(row) => {
                self.ops.push(IndexOp::Touched { row, old, new });
            }
            _ => {
                self.written.insert(row);
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
    ) -> Option<(model::User, model::OptionalMillis)> {
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

    /// An explicit number given in the batch (later users without one are numbered above it).
    fn claim_number(&mut self, given: i64) -> u64 {
        let number = given.max(0) as u64;
        self.max_number = self.max_number.max(number);
        number
    }

    fn next_number(&mut self) -> u64 {
        self.max_number += 1;
        self.max_number
    }

    pub(crate) fn live(&self, row: usize) -> bool {
        self.model.users.is_live(row as Row)
    }

    /// Logins (case-insensitive) and numbers of added/replaced users must stay unique among the
    /// live users. Checked against the writer's maps: the rows this batch wrote or removed no
    /// longer count with their old values, the written rows count with their new ones. Time is
    /// proportional to the batch, not the directory.
    pub(crate) fn uniqueness_problems(
        &self,
        base: &Model,
        writer: &Writer,
    ) -> Vec<(usize, Row, &'static str, LoadErrorKind)> {
        if self.changed.is_empty() {
            return Vec::new();
        }
        // Small maps of the batch's rows, hashed with the fast seeded hasher of the writer's
        // maps (SipHash, here and in the login map, was ~10 % of a user patch's instructions).
        let mut stale: HashSet<Row, IdHasher> = self.changed.iter().map(|&(_, row)| row).collect();
        stale.extend(self.removed.iter());
        let users = &self.model.users;
        let mut logins: HashMap<String, Row, IdHasher> = HashMap::default();
        let mut numbers: HashMap<u64, Row, IdHasher> = HashMap::default();
        let mut problems = Vec::new();
        let mut seen_rows: HashSet<Row, IdHasher> = HashSet::default();
        for &(index, row) in &self.changed {
            if !self.live(row as usize) || !seen_rows.insert(row) {
                continue;
            }
            let me = &users[row as usize];
            let folded = fold(&me.login);
            let login_owner = writer
                .logins
                .get(&folded)
                .copied()
                .filter(|other| !stale.contains(other))
                .or_else(|| logins.get(&folded).copied());
            if let Some(other) = login_owner.filter(|&other| other != row) {
                problems.push((
                    index,
                    row,
                    "login",
                    LoadErrorKind::DuplicateLogin {
                        login: me.login.to_string(),
                        first: owner_id(base, users, other),
                    },
                ));
            }
            logins.insert(folded, row);
            let number_owner = writer
                .numbers
                .get(&me.number)
                .copied()
                .filter(|other| !stale.contains(other))
                .or_else(|| numbers.get(&me.number).copied());
            if let Some(other) = number_owner.filter(|&other| other != row) {
                problems.push((
                    index,
                    row,
                    "number",
                    LoadErrorKind::DuplicateNumber {
                        number: me.number,
                        first: owner_id(base, users, other),
                    },
                ));
            }
            numbers.insert(me.number, row);
        }
        problems
    }
}

/// The id of the user at `row` (working model first: it may be a user added by this batch).
fn owner_id(base: &Model, users: &model::Users, row: Row) -> String {
    users
        .get(row as usize)
        .or_else(|| base.users.get(row as usize))
        .map(|u| u.id.to_string())
        .unwrap_or_default()
}
