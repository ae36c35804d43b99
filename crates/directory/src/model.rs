//! The validated, resolved directory model.
//!
//! This is what every other part of userql reads. It differs from the file format
//! (`directory.md`, see [`crate::raw`]) in three ways, all decided so that later phases never
//! re-validate: references are dense indices into the owning table (a [`GroupIdx`] can always be
//! indexed without a check), timestamps are UTC epoch milliseconds, and defaults are filled in.
//! A `Model` only ever comes out of validation, so its invariants hold: ids unique per kind, logins
//! unique case-insensitively, numbers unique, the group forest acyclic, every index in range.

use std::cell::RefCell;
use std::fmt;
use std::ops::{Deref, DerefMut, Index, IndexMut};
use std::sync::{Arc, OnceLock};

use roaring::RoaringBitmap;
use serde_json::{Map, Value};

use crate::packed::{Packed, PackedIter};
use crate::shared::Chunked;

/// Epoch milliseconds, UTC.
pub type Millis = i64;

/// An optional [`Millis`] in 8 bytes, where `Option<Millis>` takes 16: a user record holds
/// three (and the users' last access times are a column of them), and a million records are
/// resident (issue 18). [`Millis::MIN`] stands for "none": no
/// timestamp of the file format reaches it (RFC 3339 years 0000–9999 are within ±2.6e14 ms),
/// and a clock is nowhere near it either. Read it with [`OptionalMillis::get`]; it compares
/// equal to the `Option<Millis>` it holds, and prints as one (`Some(…)` / `None`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptionalMillis(Millis);

impl OptionalMillis {
    /// No time.
    pub const NONE: OptionalMillis = OptionalMillis(Millis::MIN);

    /// The time, if there is one.
    pub fn get(self) -> Option<Millis> {
        (self.0 != Millis::MIN).then_some(self.0)
    }

    /// Whether there is a time.
    pub fn is_some(self) -> bool {
        self.0 != Millis::MIN
    }

    /// Whether there is none.
    pub fn is_none(self) -> bool {
        self.0 == Millis::MIN
    }
}

impl Default for OptionalMillis {
    fn default() -> OptionalMillis {
        OptionalMillis::NONE
    }
}

impl From<Option<Millis>> for OptionalMillis {
    fn from(time: Option<Millis>) -> OptionalMillis {
        debug_assert_ne!(time, Some(Millis::MIN), "Millis::MIN stands for none");
        OptionalMillis(time.unwrap_or(Millis::MIN))
    }
}

impl From<OptionalMillis> for Option<Millis> {
    fn from(time: OptionalMillis) -> Option<Millis> {
        time.get()
    }
}

impl PartialEq<Option<Millis>> for OptionalMillis {
    fn eq(&self, other: &Option<Millis>) -> bool {
        self.get() == *other
    }
}

impl PartialEq<OptionalMillis> for Option<Millis> {
    fn eq(&self, other: &OptionalMillis) -> bool {
        *self == other.get()
    }
}

/// Serialized as the `Option<Millis>` it holds (a number or `null`), for response bodies.
impl serde::Serialize for OptionalMillis {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

impl fmt::Debug for OptionalMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

macro_rules! index_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            /// The position in the owning table.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

index_type!(
    /// A position in [`Model::services`].
    ServiceIdx
);
index_type!(
    /// A position in [`Model::permissions`].
    PermissionIdx
);
index_type!(
    /// A position in [`Model::roles`].
    RoleIdx
);
index_type!(
    /// A position in [`Model::organizations`].
    OrgIdx
);
index_type!(
    /// A position in [`Model::projects`].
    ProjectIdx
);
index_type!(
    /// A position in [`Model::groups`].
    GroupIdx
);
index_type!(
    /// A position in [`Model::teams`].
    TeamIdx
);

/// A user's dense row number: its position in [`Model::users`].
pub type Row = u32;

/// The whole directory. Every table is a [`Chunked`] vector, so cloning a model (which every
/// update batch does) copies chunk pointers, never records.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Model {
    /// Services (licenses, origin services).
    pub services: Chunked<Service>,
    /// Permissions.
    pub permissions: Chunked<Permission>,
    /// Roles.
    pub roles: Chunked<Role>,
    /// Organizations.
    pub organizations: Chunked<Organization>,
    /// Projects.
    pub projects: Chunked<Project>,
    /// Groups (a forest through `parent`).
    pub groups: Chunked<Group>,
    /// Project teams.
    pub teams: Chunked<Team>,
    /// Role grants (shared between snapshots, see [`Chunked`]).
    pub grants: Chunked<Grant>,
    /// Users by [`Row`]; a deleted user leaves a hole (see [`Users`]).
    pub users: Users,
}

/// The users of a model, by [`Row`], with *holes* where users were deleted.
///
/// The live store deletes a user by tombstoning its row instead of renumbering every row after
/// it (which would invalidate every index). Rows are therefore stable for the life of a store;
/// a hole is never reused, and a save writes no holes (the next load numbers rows densely).
///
/// The API is shaped so that the compiler finds every reader that must know about holes:
/// there is no `len` (use [`Users::slots`] to size per-row arrays, [`Users::count`] for how many
/// users exist), [`Users::iter`] yields `(row, user)` for live rows only, and [`Users::get`]
/// answers `None` for a hole. Indexing (`users[row]`) is for rows taken from an answer or an
/// index, which never name a hole; it panics on one, like an out-of-range index.
///
/// Slots are small shared blocks of `Arc`s, themselves in a shared copy-on-write [`Chunked`]
/// vector: a batch that writes one user copies that user's record, its block of [`BLOCK`] user
/// pointers, one leaf of block pointers and the node pointers above it — never other records.
///
/// Why blocks: copying a pointer to a user increments the user's reference count, which lives
/// in the user's own allocation — at 1M users a cache miss each, paid again when the old
/// snapshot drops the copy. With the users straight in [`Chunked`] leaves (128 pointers of
/// 1 KB), those 2 × 128 misses were most of a sign-in's 40 µs (perf, benches/RESULTS.md).
/// A block pointer's count lives in the block's small header, allocated next to its
/// neighbours', so the 128 pointers of a leaf of blocks are a few contiguous cache lines.
#[derive(Clone, Default)]
pub struct Users {
    /// Every block but the last holds [`BLOCK`] slots.
    blocks: Chunked<Block>,
    /// Each slot's last access, apart from the records: a sign-in (most of a live
    /// directory's changes) writes one leaf of times here instead of copying its user's record
    /// with every string and list in it, the user's block of pointers and the path above it
    /// (`benches/RESULTS.md`, "access13"). A hole's time is none.
    last_access: Chunked<OptionalMillis>,
    /// Slots in use (holes included).
    slots: usize,
    /// Rows of deleted users.
    holes: Arc<RoaringBitmap>,
    /// The live rows, when they are few and known ([`Users::restricted`]): every index builder
    /// walks a delta level's users by them, and making them again as the complement of the
    /// holes (a full range of 8 KiB containers, minus a near-full set) per builder was a tenth
    /// of a delta build (`union13`). `None`: not kept (computed from the holes on demand).
    /// Any change of which rows are live drops it.
    live: Option<Arc<RoaringBitmap>>,
}

/// User slots per block of [`Users`] (what a write copies in user pointers).
pub const BLOCK: usize = 16;

/// [`BLOCK`] user slots (fewer in the last block), shared copy-on-write.
type Block = Arc<Vec<Option<Arc<User>>>>;

impl Users {
    /// No users.
    pub fn new() -> Users {
        Users::default()
    }

    /// One past the largest row ever used: every row is below it (holes included). Size per-row
    /// arrays with this.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// How many users exist (holes excluded).
    pub fn count(&self) -> usize {
        self.slots - self.holes.len() as usize
    }

    /// Whether there is no user (there may be holes).
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The user at `row`; `None` for a hole or past the end.
    pub fn get(&self, row: usize) -> Option<&User> {
        self.blocks
            .get(row / BLOCK)?
            .get(row % BLOCK)
            .and_then(Option::as_deref)
    }

    /// The slot at `row`, for writing (copies its block and the pointers above it if shared).
    fn slot_mut(&mut self, row: usize) -> Option<&mut Option<Arc<User>>> {
        Arc::make_mut(self.blocks.get_mut(row / BLOCK)?).get_mut(row % BLOCK)
    }

    /// The user at `row`, for writing (copies its block's pointers if shared, and the record
    /// itself if another snapshot holds it).
    pub fn get_mut(&mut self, row: usize) -> Option<&mut User> {
        self.slot_mut(row)
            .and_then(Option::as_mut)
            .map(Arc::make_mut)
    }

    /// Appends a user, last accessed at `last_access`, at a new row and returns the row.
    pub fn push(&mut self, user: User, last_access: OptionalMillis) -> Row {
        self.push_slot(Some(Arc::new(user)), last_access)
    }

    fn push_slot(&mut self, slot: Option<Arc<User>>, last_access: OptionalMillis) -> Row {
        self.live = None;
        self.last_access.push(last_access);
        let row = self.slots;
        if row.is_multiple_of(BLOCK) {
            let mut block = Vec::with_capacity(BLOCK);
            block.push(slot);
            self.blocks.push(Arc::new(block));
        } else if let Some(block) = self.blocks.get_mut(row / BLOCK) {
            Arc::make_mut(block).push(slot);
        }
        self.slots += 1;
        row as Row
    }

    /// Replaces the user at `row`, keeping its last access (a hole stays a hole: returns
    /// `false`). [`Users::set_last_access`] sets that.
    pub fn set(&mut self, row: usize, user: User) -> bool {
        match self.slot_mut(row) {
            Some(slot @ Some(_)) => {
                *slot = Some(Arc::new(user));
                true
            }
            _ => false,
        }
    }

    /// When the user at `row` last accessed the directory (`None` for a hole, past the end, or
    /// a user who never did).
    pub fn last_access(&self, row: usize) -> Option<Millis> {
        self.last_access.get(row).and_then(|time| time.get())
    }

    /// Sets the last access of the user at `row` and returns the previous one, without
    /// touching the record; `None` for a hole or past the end.
    pub fn set_last_access(&mut self, row: usize, at: OptionalMillis) -> Option<OptionalMillis> {
        self.get(row)?;
        Some(self.write_last_access(row, at))
    }

    /// Writes the time of slot `row` (it exists) and returns the previous one.
    fn write_last_access(&mut self, row: usize, at: OptionalMillis) -> OptionalMillis {
        match self.last_access.get_mut(row) {
            Some(time) => std::mem::replace(time, at),
            None => OptionalMillis::NONE,
        }
    }

    /// Deletes the user at `row`, leaving a hole; returns whether there was one.
    pub fn remove(&mut self, row: Row) -> bool {
        match self.slot_mut(row as usize) {
            Some(slot @ Some(_)) => {
                *slot = None;
                self.live = None;
                self.write_last_access(row as usize, OptionalMillis::NONE);
                Arc::make_mut(&mut self.holes).insert(row);
                true
            }
            _ => false,
        }
    }

    /// Whether `row` holds a user.
    pub fn is_live(&self, row: Row) -> bool {
        self.get(row as usize).is_some()
    }

    /// The rows of deleted users.
    pub fn holes(&self) -> &RoaringBitmap {
        &self.holes
    }

    /// Every live row.
    pub fn live_rows(&self) -> RoaringBitmap {
        if let Some(live) = &self.live {
            return RoaringBitmap::clone(live);
        }
        let mut all = RoaringBitmap::new();
        all.insert_range(0..self.slots as u32);
        all -= &*self.holes;
        all
    }

    /// Every slot in row order (holes as `None`).
    fn all_slots(&self) -> impl DoubleEndedIterator<Item = &Option<Arc<User>>> + Clone + '_ {
        self.blocks.iter().flat_map(|block| block.iter())
    }

    /// Every user with its row, in row order, holes skipped. Users mostly holes (a delta
    /// level's, [`Users::restricted`]) are walked by their live rows, in O(live rows), not by
    /// their slots: every index builder reads users through here.
    pub fn iter(&self) -> impl Iterator<Item = (Row, &User)> + Clone + '_ {
        let sparse = self.holes.len() > self.slots as u64 / 2;
        let (slots, rows) = if sparse {
            (
                None,
                Some(self.live_rows().into_iter().collect::<Vec<Row>>()),
            )
        } else {
            (Some(self.all_slots().enumerate()), None)
        };
        let by_slot = slots
            .into_iter()
            .flatten()
            .filter_map(|(row, slot)| slot.as_deref().map(|user| (row as Row, user)));
        let by_row = rows
            .into_iter()
            .flatten()
            .filter_map(move |row| self.get(row as usize).map(|user| (row, user)));
        by_slot.chain(by_row)
    }

    /// Every user in row order, holes skipped (for readers that need no row).
    pub fn records(&self) -> impl DoubleEndedIterator<Item = &User> + Clone + '_ {
        self.all_slots().filter_map(Option::as_deref)
    }

    /// Every user in row order, for writing (copies every shared block and record).
    pub fn records_mut(&mut self) -> impl Iterator<Item = &mut User> + '_ {
        self.blocks
            .iter_mut()
            .flat_map(|block| Arc::make_mut(block).iter_mut())
            .filter_map(|slot| slot.as_mut().map(Arc::make_mut))
    }

    /// Reserves room for `additional` more users' block pointers.
    pub fn reserve(&mut self, additional: usize) {
        self.blocks.reserve(additional.div_ceil(BLOCK));
        self.last_access.reserve(additional);
    }

    /// The same slots with only `rows` live (every other row a hole): the users a delta
    /// level's indexes describe. Shares the records; O(rows) plus one pointer per leaf of
    /// slots (the holes share one leaf), and [`Users::iter`] then walks only `rows`. The last
    /// access times are shared whole (ask them for live rows only).
    pub fn restricted(&self, rows: &RoaringBitmap) -> Users {
        // Every block a hole, all sharing one allocation (the last one shorter); then only
        // the blocks of `rows` are copied and filled.
        let full = self.slots / BLOCK;
        let tail = self.slots % BLOCK;
        let mut blocks: Chunked<Block> = Chunked::filled(full, Arc::new(vec![None; BLOCK]));
        if tail > 0 {
            blocks.push(Arc::new(vec![None; tail]));
        }
        let mut restricted = Users {
            blocks,
            // Shared whole (pointer copies): readers ask it for live rows only.
            last_access: self.last_access.clone(),
            slots: self.slots,
            holes: Arc::new(RoaringBitmap::new()),
            live: None,
        };
        let mut live = RoaringBitmap::new();
        for row in rows {
            let user = self
                .blocks
                .get(row as usize / BLOCK)
                .and_then(|block| block.get(row as usize % BLOCK))
                .and_then(Option::as_ref);
            if let (Some(user), Some(slot)) = (user, restricted.slot_mut(row as usize)) {
                *slot = Some(Arc::clone(user));
                live.insert(row);
            }
        }
        let mut holes = RoaringBitmap::new();
        holes.insert_range(0..self.slots as Row);
        holes -= &live;
        restricted.holes = Arc::new(holes);
        restricted.live = Some(Arc::new(live));
        restricted
    }

    /// (allocations, bytes) of the slots themselves: each block's `Arc` and pointer array, the
    /// leaves of block pointers and the last access times (for [`crate::footprint`]).
    pub(crate) fn slot_bytes(&self) -> (u64, u64) {
        let per_block = 2 * std::mem::size_of::<usize>() + std::mem::size_of::<Vec<()>>();
        let mut allocations = 0u64;
        let mut bytes = 0u64;
        for block in self.blocks.iter() {
            allocations += 2;
            bytes +=
                (per_block + block.capacity() * std::mem::size_of::<Option<Arc<User>>>()) as u64;
        }
        let leaves = self
            .blocks
            .len()
            .div_ceil(crate::shared::chunk_len::<Block>());
        allocations += leaves as u64;
        bytes += (self.blocks.len() * std::mem::size_of::<Block>()) as u64;
        // The last access times, in leaves of their own.
        let times = self.last_access.len();
        allocations += times.div_ceil(crate::shared::chunk_len::<OptionalMillis>()) as u64;
        bytes += (times * std::mem::size_of::<OptionalMillis>()) as u64;
        (allocations, bytes)
    }

    /// How many blocks of slots this shares with `other` (same allocation, same place): for
    /// tests and stats.
    pub fn shared_chunks(&self, other: &Users) -> usize {
        self.blocks
            .iter()
            .zip(other.blocks.iter())
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count()
    }
}

impl Users {
    /// Users already shared (the loader wraps each record on the thread that converted it),
    /// with their last access.
    pub(crate) fn from_shared(users: Vec<(Arc<User>, OptionalMillis)>) -> Users {
        let mut out = Users::new();
        out.reserve(users.len());
        for (user, last_access) in users {
            out.push_slot(Some(user), last_access);
        }
        out
    }
}

impl From<Vec<(User, OptionalMillis)>> for Users {
    fn from(users: Vec<(User, OptionalMillis)>) -> Users {
        users.into_iter().collect()
    }
}

impl FromIterator<(User, OptionalMillis)> for Users {
    fn from_iter<I: IntoIterator<Item = (User, OptionalMillis)>>(iter: I) -> Users {
        let mut out = Users::new();
        for (user, last_access) in iter {
            out.push(user, last_access);
        }
        out
    }
}

impl Index<usize> for Users {
    type Output = User;

    fn index(&self, row: usize) -> &User {
        match self.get(row) {
            Some(user) => user,
            None => panic!(
                "row {row} is a hole or out of bounds ({} slots)",
                self.slots()
            ),
        }
    }
}

impl IndexMut<usize> for Users {
    fn index_mut(&mut self, row: usize) -> &mut User {
        let slots = self.slots();
        match self.get_mut(row) {
            Some(user) => user,
            None => panic!("row {row} is a hole or out of bounds ({slots} slots)"),
        }
    }
}

/// Two user tables are equal when they hold the same users, last accessed at the same
/// times, at the same rows.
impl PartialEq for Users {
    fn eq(&self, other: &Users) -> bool {
        self.slots() == other.slots()
            && self.iter().eq(other.iter())
            && self
                .iter()
                .all(|(row, _)| self.last_access(row as usize) == other.last_access(row as usize))
    }
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(row, user)| ((row, self.last_access(row as usize)), user)),
            )
            .finish()
    }
}

/// A service (YouTrack, Hub, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Unique id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A permission.
#[derive(Debug, Clone, PartialEq)]
pub struct Permission {
    /// Unique id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A role: a named set of permissions.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    /// Unique id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The permissions it contains.
    pub permissions: Vec<PermissionIdx>,
}

/// An organization (owns projects; users may be members).
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    /// Unique id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A project.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Unique id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Short key (`DS`), if any.
    pub key: Option<String>,
    /// The owning organization, if any.
    pub organization: Option<OrgIdx>,
}

/// A user group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Unique id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The parent group; `None` for a root.
    pub parent: Option<GroupIdx>,
}

/// A project team: its users plus the transitive members of its groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    /// Unique id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The project the team belongs to, if any.
    pub project: Option<ProjectIdx>,
    /// Users listed directly.
    pub users: Vec<Row>,
    /// Groups whose transitive members belong to the team.
    pub groups: Vec<GroupIdx>,
}

/// Who a grant is made to: exactly one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A user.
    User(Row),
    /// A group (reaches its transitive members).
    Group(GroupIdx),
    /// A team (reaches its members).
    Team(TeamIdx),
}

/// Where a grant applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every project.
    Global,
    /// Every project of the organization.
    Organization(OrgIdx),
    /// One project.
    Project(ProjectIdx),
}

/// A role granted to a subject in a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grant {
    /// The role.
    pub role: RoleIdx,
    /// Who holds it.
    pub subject: Subject,
    /// Where it applies.
    pub scope: Scope,
}

/// A user's account state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// `active`
    Active,
    /// `blocked`
    Blocked,
    /// `ldap_blocked`
    LdapBlocked,
    /// `deactivated`
    Deactivated,
    /// `banned`
    Banned,
    /// `blocked_pending_approval`
    BlockedPendingApproval,
}

impl State {
    /// Every state, in a fixed order (used to size per-state bitmaps).
    pub const ALL: [State; 6] = [
        State::Active,
        State::Blocked,
        State::LdapBlocked,
        State::Deactivated,
        State::Banned,
        State::BlockedPendingApproval,
    ];

    /// The spelling in the file format and in queries.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Blocked => "blocked",
            State::LdapBlocked => "ldap_blocked",
            State::Deactivated => "deactivated",
            State::Banned => "banned",
            State::BlockedPendingApproval => "blocked_pending_approval",
        }
    }

    /// Parses the file-format spelling (exact, lowercase).
    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A GitLab group access level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccessLevel {
    /// 10
    Guest,
    /// 15
    Planner,
    /// 20
    Reporter,
    /// 30
    Developer,
    /// 40
    Maintainer,
    /// 50
    Owner,
}

impl AccessLevel {
    /// Every level, lowest first.
    pub const ALL: [AccessLevel; 6] = [
        AccessLevel::Guest,
        AccessLevel::Planner,
        AccessLevel::Reporter,
        AccessLevel::Developer,
        AccessLevel::Maintainer,
        AccessLevel::Owner,
    ];

    /// The spelling in the file format.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Guest => "guest",
            AccessLevel::Planner => "planner",
            AccessLevel::Reporter => "reporter",
            AccessLevel::Developer => "developer",
            AccessLevel::Maintainer => "maintainer",
            AccessLevel::Owner => "owner",
        }
    }

    /// GitLab's numeric level.
    pub fn gitlab_level(self) -> u32 {
        match self {
            AccessLevel::Guest => 10,
            AccessLevel::Planner => 15,
            AccessLevel::Reporter => 20,
            AccessLevel::Developer => 30,
            AccessLevel::Maintainer => 40,
            AccessLevel::Owner => 50,
        }
    }

    /// Parses the file-format spelling.
    pub fn parse(text: &str) -> Option<AccessLevel> {
        AccessLevel::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// A direct group membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Membership {
    /// The group.
    pub group: GroupIdx,
    /// GitLab access level, when given (`{"id", "access"}` form).
    pub access: Option<AccessLevel>,
}

/// A ban record (Hub `banStatus`, `banReason`).
#[derive(Debug, Clone, PartialEq)]
pub struct Ban {
    /// Ban status (free text, compared case-insensitively).
    pub status: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub at: Option<Millis>,
}

/// An auth detail / identity: the account bound to one auth module, as built (the generator,
/// validation, tests). A user keeps its details packed ([`AuthDetails`]) and reads them as
/// [`AuthDetailRef`]s, which have the same fields, borrowed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuthDetail {
    /// Module type, lowercase (`core`, `ldap`, `google`, …).
    pub module: Box<str>,
    /// The module's configured name (`Corporate LDAP`).
    pub module_name: Option<Box<str>>,
    /// Login in that module.
    pub login: Option<Box<str>>,
    /// Full name in that module.
    pub name: Option<Box<str>>,
    /// Email in that module.
    pub email: Option<Box<str>>,
    /// External uid (GitLab `extern_uid`, Hub `googleID` / `openID`).
    pub uid: Option<Box<str>>,
    /// GitLab SAML provider id.
    pub saml_provider_id: Option<Box<str>>,
}

/// One of a user's auth details, read from its packed list (see [`AuthDetail`] for the
/// fields' meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthDetailRef<'a> {
    /// Module type, lowercase.
    pub module: &'a str,
    /// The module's configured name.
    pub module_name: Option<&'a str>,
    /// Login in that module.
    pub login: Option<&'a str>,
    /// Full name in that module.
    pub name: Option<&'a str>,
    /// Email in that module.
    pub email: Option<&'a str>,
    /// External uid.
    pub uid: Option<&'a str>,
    /// GitLab SAML provider id.
    pub saml_provider_id: Option<&'a str>,
}

impl AuthDetailRef<'_> {
    /// An owned copy.
    pub fn to_owned(&self) -> AuthDetail {
        AuthDetail {
            module: self.module.into(),
            module_name: self.module_name.map(Box::from),
            login: self.login.map(Box::from),
            name: self.name.map(Box::from),
            email: self.email.map(Box::from),
            uid: self.uid.map(Box::from),
            saml_provider_id: self.saml_provider_id.map(Box::from),
        }
    }
}

/// A user's auth details in one allocation ([`Packed`]: at 1M users this was seven
/// allocations and ~200 bytes a user as a slice of [`AuthDetail`]s, issue 18). Read with
/// [`AuthDetails::iter`]; to change, build a new list (`Vec<AuthDetail>` converts, and
/// [`AuthDetails::into_vec`] gives one back).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthDetails(Packed<7>);

impl AuthDetails {
    /// The details in order.
    pub fn iter(&self) -> AuthDetailsIter<'_> {
        AuthDetailsIter(self.0.iter())
    }

    /// The first detail (the primary identity), if any.
    pub fn first(&self) -> Option<AuthDetailRef<'_>> {
        self.iter().next()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Owned copies, to edit and convert back.
    pub fn into_vec(self) -> Vec<AuthDetail> {
        self.iter().map(|detail| detail.to_owned()).collect()
    }

    /// The packed buffer's size (for [`crate::footprint`]).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }
}

impl<'a> FromIterator<AuthDetailRef<'a>> for AuthDetails {
    fn from_iter<I: IntoIterator<Item = AuthDetailRef<'a>>>(details: I) -> AuthDetails {
        AuthDetails(Packed::new(details.into_iter().map(|d| {
            [
                Some(d.module),
                d.module_name,
                d.login,
                d.name,
                d.email,
                d.uid,
                d.saml_provider_id,
            ]
        })))
    }
}

impl<'a> FromIterator<&'a AuthDetail> for AuthDetails {
    fn from_iter<I: IntoIterator<Item = &'a AuthDetail>>(details: I) -> AuthDetails {
        details
            .into_iter()
            .map(|d| AuthDetailRef {
                module: &d.module,
                module_name: d.module_name.as_deref(),
                login: d.login.as_deref(),
                name: d.name.as_deref(),
                email: d.email.as_deref(),
                uid: d.uid.as_deref(),
                saml_provider_id: d.saml_provider_id.as_deref(),
            })
            .collect()
    }
}

impl From<Vec<AuthDetail>> for AuthDetails {
    fn from(details: Vec<AuthDetail>) -> AuthDetails {
        details.iter().collect()
    }
}

impl FromIterator<AuthDetail> for AuthDetails {
    fn from_iter<I: IntoIterator<Item = AuthDetail>>(details: I) -> AuthDetails {
        details.into_iter().collect::<Vec<AuthDetail>>().into()
    }
}

impl<'a> IntoIterator for &'a AuthDetails {
    type Item = AuthDetailRef<'a>;
    type IntoIter = AuthDetailsIter<'a>;

    fn into_iter(self) -> AuthDetailsIter<'a> {
        self.iter()
    }
}

/// The details of an [`AuthDetails`] list, in order.
#[derive(Clone)]
pub struct AuthDetailsIter<'a>(PackedIter<'a, 7>);

impl<'a> Iterator for AuthDetailsIter<'a> {
    type Item = AuthDetailRef<'a>;

    fn next(&mut self) -> Option<AuthDetailRef<'a>> {
        let [module, module_name, login, name, email, uid, saml_provider_id] = self.0.next()?;
        Some(AuthDetailRef {
            module: module.unwrap_or_default(),
            module_name,
            login,
            name,
            email,
            uid,
            saml_provider_id,
        })
    }
}

impl fmt::Debug for AuthDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// An SSH public key, as built. A user keeps its keys packed ([`SshKeys`]) and reads them as
/// [`SshKeyRef`]s.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SshKey {
    /// Title.
    pub title: Option<Box<str>>,
    /// The key text (`ssh-ed25519 AAAA… comment`).
    pub key: Box<str>,
    /// Fingerprint (`SHA256:…`).
    pub fingerprint: Option<Box<str>>,
}

/// One of a user's SSH keys, read from its packed list (see [`SshKey`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SshKeyRef<'a> {
    /// Title.
    pub title: Option<&'a str>,
    /// The key text.
    pub key: &'a str,
    /// Fingerprint.
    pub fingerprint: Option<&'a str>,
}

impl SshKeyRef<'_> {
    /// An owned copy.
    pub fn to_owned(&self) -> SshKey {
        SshKey {
            title: self.title.map(Box::from),
            key: self.key.into(),
            fingerprint: self.fingerprint.map(Box::from),
        }
    }
}

/// A user's SSH keys in one allocation (like [`AuthDetails`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SshKeys(Packed<3>);

impl SshKeys {
    /// The keys in order.
    pub fn iter(&self) -> SshKeysIter<'_> {
        SshKeysIter(self.0.iter())
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Owned copies, to edit and convert back.
    pub fn into_vec(self) -> Vec<SshKey> {
        self.iter().map(|key| key.to_owned()).collect()
    }

    /// The packed buffer's size (for [`crate::footprint`]).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }
}

impl<'a> FromIterator<SshKeyRef<'a>> for SshKeys {
    fn from_iter<I: IntoIterator<Item = SshKeyRef<'a>>>(keys: I) -> SshKeys {
        SshKeys(Packed::new(
            keys.into_iter()
                .map(|k| [k.title, Some(k.key), k.fingerprint]),
        ))
    }
}

impl<'a> FromIterator<&'a SshKey> for SshKeys {
    fn from_iter<I: IntoIterator<Item = &'a SshKey>>(keys: I) -> SshKeys {
        keys.into_iter()
            .map(|k| SshKeyRef {
                title: k.title.as_deref(),
                key: &k.key,
                fingerprint: k.fingerprint.as_deref(),
            })
            .collect()
    }
}

impl From<Vec<SshKey>> for SshKeys {
    fn from(keys: Vec<SshKey>) -> SshKeys {
        keys.iter().collect()
    }
}

impl FromIterator<SshKey> for SshKeys {
    fn from_iter<I: IntoIterator<Item = SshKey>>(keys: I) -> SshKeys {
        keys.into_iter().collect::<Vec<SshKey>>().into()
    }
}

impl<'a> IntoIterator for &'a SshKeys {
    type Item = SshKeyRef<'a>;
    type IntoIter = SshKeysIter<'a>;

    fn into_iter(self) -> SshKeysIter<'a> {
        self.iter()
    }
}

/// The keys of an [`SshKeys`] list, in order.
#[derive(Clone)]
pub struct SshKeysIter<'a>(PackedIter<'a, 3>);

impl<'a> Iterator for SshKeysIter<'a> {
    type Item = SshKeyRef<'a>;

    fn next(&mut self) -> Option<SshKeyRef<'a>> {
        let [title, key, fingerprint] = self.0.next()?;
        Some(SshKeyRef {
            title,
            key: key.unwrap_or_default(),
            fingerprint,
        })
    }
}

impl fmt::Debug for SshKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A user, with defaults filled in.
///
/// Memory (issue 18): a million of these are resident, each in its own allocation, so the
/// record is kept small — strings are `Box<str>` and lists boxed slices (no spare capacity,
/// 16 bytes instead of 24; they change rarely and are then rebuilt), the optional times are
/// [`OptionalMillis`] (8 bytes instead of 16), the rare parts (`ban`, `profile`) are one
/// pointer each, the identities and SSH keys one packed allocation per list ([`AuthDetails`],
/// [`SshKeys`]), and the user type is shared ([`shared_user_type`]). An allocator rounds a record up to its size class, so a few bytes past a
/// class boundary cost a whole step (`build_cost` prints the table per component). The last
/// access is not here but beside the records ([`Users::last_access`]): a sign-in, most of a
/// live directory's changes, then writes a time instead of copying the whole record.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Hub-style string id.
    pub id: Box<str>,
    /// GitLab numeric id: explicit, or the 1-based position in the file.
    pub number: u64,
    /// Whether `number` was given explicitly (kept so saving writes the file back as it was).
    pub number_explicit: bool,
    /// Login (unique case-insensitively).
    pub login: Box<str>,
    /// Full name.
    pub name: Option<Box<str>>,
    /// Primary email.
    pub email: Option<Box<str>>,
    /// Whether the primary email is verified.
    pub email_verified: bool,
    /// GitLab public email.
    pub public_email: Option<Box<str>>,
    /// Secondary emails.
    pub emails: Box<[String]>,
    /// Account state.
    pub state: State,
    /// Administrator.
    pub admin: bool,
    /// Hub's guest account.
    pub guest: bool,
    /// User type as written (`human`, `service_account`, `project_bot`, …): shared between
    /// records, see [`shared_user_type`].
    pub user_type: Arc<str>,
    /// External user.
    pub external: bool,
    /// 2FA enabled.
    pub two_factor: bool,
    /// Has credentials that can use 2FA.
    pub two_factor_capable: bool,
    /// Creation time.
    pub created_at: Millis,
    /// Last update, as written (`None` means "same as created_at").
    pub updated_at: OptionalMillis,
    /// Last sign-in.
    pub last_sign_in_at: OptionalMillis,
    /// Email confirmation time.
    pub confirmed_at: OptionalMillis,
    /// Ban record (boxed: 2 % of users have one, and the record is 64 bytes).
    pub ban: Option<Box<Ban>>,
    /// Auth details (packed: one allocation).
    pub auth: AuthDetails,
    /// SSH keys (packed: one allocation).
    pub ssh_keys: SshKeys,
    /// Licensed services.
    pub licenses: Box<[ServiceIdx]>,
    /// VCS user names.
    pub vcs_user_names: Box<[String]>,
    /// Service the account was imported from.
    pub origin_service: Option<ServiceIdx>,
    /// Has a refresh token.
    pub refresh_token: bool,
    /// Has a permanent token.
    pub permanent_token: bool,
    /// Has an approved resource.
    pub approved_resource: bool,
    /// Accepted the end-user agreement.
    pub accepted_eua: bool,
    /// Direct group memberships.
    pub groups: Box<[Membership]>,
    /// Organization memberships.
    pub organizations: Box<[OrgIdx]>,
    /// Top-level group owning the account (GitLab enterprise users).
    pub enterprise_group: Option<GroupIdx>,
    /// Free-form profile, passed through to responses.
    pub profile: Profile,
}

impl User {
    /// Whether `self` and `other` are equal but for the state and the admin and 2FA flags
    /// (what the live store flips in place in the flag bitmaps). Field by field, without the
    /// copy of the record a comparison of a modified clone needs; the destructuring names
    /// every field, so a new one cannot be forgotten here.
    pub(crate) fn same_but_flags(&self, other: &User) -> bool {
        let User {
            id,
            number,
            number_explicit,
            login,
            name,
            email,
            email_verified,
            public_email,
            emails,
            state: _,
            admin: _,
            guest,
            user_type,
            external,
            two_factor: _,
            two_factor_capable: _,
            created_at,
            updated_at,
            last_sign_in_at,
            confirmed_at,
            ban,
            auth,
            ssh_keys,
            licenses,
            vcs_user_names,
            origin_service,
            refresh_token,
            permanent_token,
            approved_resource,
            accepted_eua,
            groups,
            organizations,
            enterprise_group,
            profile,
        } = self;
        *id == other.id
            && *number == other.number
            && *number_explicit == other.number_explicit
            && *login == other.login
            && *name == other.name
            && *email == other.email
            && *email_verified == other.email_verified
            && *public_email == other.public_email
            && *emails == other.emails
            && *guest == other.guest
            && *user_type == other.user_type
            && *external == other.external
            && *created_at == other.created_at
            && *updated_at == other.updated_at
            && *last_sign_in_at == other.last_sign_in_at
            && *confirmed_at == other.confirmed_at
            && *ban == other.ban
            && *auth == other.auth
            && *ssh_keys == other.ssh_keys
            && *licenses == other.licenses
            && *vcs_user_names == other.vcs_user_names
            && *origin_service == other.origin_service
            && *refresh_token == other.refresh_token
            && *permanent_token == other.permanent_token
            && *approved_resource == other.approved_resource
            && *accepted_eua == other.accepted_eua
            && *groups == other.groups
            && *organizations == other.organizations
            && *enterprise_group == other.enterprise_group
            && *profile == other.profile
    }
}

/// A user's free-form profile: a JSON object, boxed only when it has entries, so the ~95 % of
/// users without one pay one pointer instead of an empty map (72 bytes with `preserve-order`).
/// Reads and writes go through the map (`Deref`, `DerefMut`); an empty profile equals an
/// absent one.
#[derive(Clone, Default)]
pub struct Profile(Option<Box<Map<String, Value>>>);

impl Profile {
    /// The profile as a plain map (a copy).
    pub fn to_map(&self) -> Map<String, Value> {
        (**self).clone()
    }

    /// The profile as a plain map.
    pub fn into_map(self) -> Map<String, Value> {
        self.0.map(|map| *map).unwrap_or_default()
    }
}

impl From<Map<String, Value>> for Profile {
    fn from(map: Map<String, Value>) -> Profile {
        Profile((!map.is_empty()).then(|| Box::new(map)))
    }
}

impl Deref for Profile {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
        self.0
            .as_deref()
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }
}

impl DerefMut for Profile {
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        self.0.get_or_insert_with(Box::default)
    }
}

impl PartialEq for Profile {
    fn eq(&self, other: &Profile) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

/// A user type shared with the records made before it on this thread: there are a handful of
/// distinct types, and a string of its own for each of a million records was an allocation a
/// user (issue 18). The loader converts records on several threads; each keeps its own few
/// shared strings (a reference count touched by one thread only, so converting stays free of
/// contention). At most [`SHARED_USER_TYPES`] short types are kept per thread; others get a
/// string of their own, so odd input cannot grow the table.
pub fn shared_user_type(text: &str) -> Arc<str> {
    thread_local! {
        static SHARED: RefCell<Vec<Arc<str>>> = const { RefCell::new(Vec::new()) };
    }
    SHARED.with(|shared| {
        let mut shared = shared.borrow_mut();
        if let Some(known) = shared.iter().find(|known| ***known == *text) {
            return Arc::clone(known);
        }
        let fresh: Arc<str> = Arc::from(text);
        if shared.len() < SHARED_USER_TYPES && text.len() <= 64 {
            shared.push(Arc::clone(&fresh));
        }
        fresh
    })
}

/// How many user types [`shared_user_type`] keeps per thread.
pub const SHARED_USER_TYPES: usize = 32;

impl User {
    /// `updated_at`, defaulting to `created_at` as directory.md says.
    pub fn updated_or_created(&self) -> Millis {
        self.updated_at.get().unwrap_or(self.created_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{generate, GenOptions};

    /// A few distinct users to copy from (told apart by `number`).
    fn prototypes() -> Vec<User> {
        generate(&GenOptions { users: 8, seed: 3 })
            .users
            .records()
            .cloned()
            .collect()
    }

    /// User `n` (a prototype's copy), with a last access for most `n`.
    fn user(prototypes: &[User], n: u64) -> (User, OptionalMillis) {
        let mut user = prototypes[n as usize % prototypes.len()].clone();
        user.number = n;
        let last_access = (!n.is_multiple_of(5)).then_some(n as Millis * 10);
        (user, last_access.into())
    }

    /// Every observable of `users` against the plain model (a vector of optional users with
    /// their last access).
    fn assert_same(users: &Users, plain: &[Option<(User, OptionalMillis)>]) {
        assert_eq!(users.slots(), plain.len());
        let live: Vec<(Row, &User)> = plain
            .iter()
            .enumerate()
            .filter_map(|(row, slot)| slot.as_ref().map(|(u, _)| (row as Row, u)))
            .collect();
        assert_eq!(users.count(), live.len());
        assert!(users.iter().eq(live.iter().copied()));
        assert!(users.records().eq(live.iter().map(|&(_, u)| u)));
        let holes: RoaringBitmap = plain
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.is_none())
            .map(|(row, _)| row as Row)
            .collect();
        assert_eq!(users.holes(), &holes);
        let rows: RoaringBitmap = live.iter().map(|&(row, _)| row).collect();
        assert_eq!(users.live_rows(), rows);
        for (row, slot) in plain.iter().enumerate() {
            assert_eq!(users.get(row), slot.as_ref().map(|(u, _)| u));
            if let Some((_, time)) = slot {
                assert_eq!(users.last_access(row), time.get(), "row {row}");
            }
        }
        assert_eq!(users.get(plain.len()), None);
        assert_eq!(users.last_access(plain.len()), None);
    }

    /// Random pushes, writes, replacements and deletions (with snapshots taken now and then,
    /// which must not see later changes) behave like a vector of optional users, across
    /// several blocks, leaves and nodes of the shared tree.
    #[test]
    fn random_ops_match_a_plain_vector_and_keep_earlier_snapshots() {
        let prototypes = prototypes();
        let start = 40_000u64; // more than one node of blocks (FANOUT leaves of 32 blocks)
        let mut users: Users = (0..start).map(|n| user(&prototypes, n)).collect();
        let mut plain: Vec<Option<(User, OptionalMillis)>> =
            (0..start).map(|n| Some(user(&prototypes, n))).collect();
        let mut state = 11u64;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n.max(1)
        };
        let mut kept = Vec::new();
        for step in 0..4_000u64 {
            if step % 331 == 0 {
                kept.push((users.clone(), plain.clone()));
            }
            let row = next(plain.len() + 1);
            match next(5) {
                0 => {
                    let (new, time) = user(&prototypes, start + step);
                    assert_eq!(users.push(new.clone(), time), plain.len() as Row);
                    plain.push(Some((new, time)));
                }
                1 => {
                    let (new, _) = user(&prototypes, 1_000_000 + step);
                    let live = plain.get(row).is_some_and(Option::is_some);
                    assert_eq!(users.set(row, new.clone()), live);
                    if let Some(Some((user, _))) = plain.get_mut(row) {
                        *user = new; // the last access stays
                    }
                }
                2 => {
                    let written = users.get_mut(row).map(|u| u.number = step);
                    let expected = plain
                        .get_mut(row)
                        .and_then(Option::as_mut)
                        .map(|(u, _)| u.number = step);
                    assert_eq!(written, expected);
                }
                3 => {
                    let at = OptionalMillis::from((step % 3 != 0).then_some(step as Millis));
                    let expected = plain
                        .get_mut(row)
                        .and_then(Option::as_mut)
                        .map(|(_, time)| std::mem::replace(time, at));
                    assert_eq!(users.set_last_access(row, at), expected);
                }
                _ => {
                    let live = plain.get(row).is_some_and(Option::is_some);
                    assert_eq!(users.remove(row as Row), live);
                    if live {
                        plain[row] = None;
                    }
                }
            }
            if step % 499 == 0 {
                assert_same(&users, &plain);
            }
        }
        assert_same(&users, &plain);
        for (snapshot, then) in &kept {
            assert_same(snapshot, then);
        }
        // Restricting keeps the slots and hides every row but the chosen live ones.
        let rows: RoaringBitmap = (0..plain.len() as Row).filter(|r| r % 7 == 3).collect();
        let restricted: Vec<Option<(User, OptionalMillis)>> = plain
            .iter()
            .enumerate()
            .map(|(row, slot)| slot.clone().filter(|_| rows.contains(row as Row)))
            .collect();
        assert_same(&users.restricted(&rows), &restricted);
        assert_eq!(users.records_mut().count(), users.count());
    }

    /// The compact fields read back what was stored: an absent time is `None` (and `Millis::MIN`
    /// is reserved for it), an empty profile equals an absent one and boxes on first write.
    #[test]
    fn compact_fields_hold_what_was_stored() {
        for time in [
            None,
            Some(0),
            Some(-1),
            Some(1_700_000_000_000),
            Some(Millis::MAX),
        ] {
            let stored = OptionalMillis::from(time);
            assert_eq!(stored.get(), time);
            assert_eq!(stored, time);
            assert_eq!(time, stored);
            assert_eq!(stored.is_some(), time.is_some());
            assert_eq!(format!("{stored:?}"), format!("{time:?}"));
            assert_eq!(
                serde_json::to_value(stored).ok(),
                serde_json::to_value(time).ok()
            );
        }
        assert_eq!(OptionalMillis::default(), None);
        assert_eq!(std::mem::size_of::<OptionalMillis>(), 8);

        let mut profile = Profile::default();
        assert!(profile.is_empty());
        assert_eq!(profile, Profile::from(Map::new()));
        profile.insert("location".to_owned(), Value::from("Prague"));
        assert_eq!(profile.get("location"), Some(&Value::from("Prague")));
        assert_eq!(Profile::from(profile.to_map()), profile);
        profile.clear();
        assert_eq!(profile, Profile::default(), "emptied equals absent");
        assert_eq!(std::mem::size_of::<Profile>(), 8);
    }

    /// Packed auth details and SSH keys read back field for field what they were built from
    /// (absent and empty fields told apart), and compare equal exactly when their contents do.
    #[test]
    fn packed_lists_read_back_what_was_stored() {
        let details = vec![
            AuthDetail {
                module: "ldap".into(),
                module_name: Some("Corporate LDAP".into()),
                login: Some("dvader".into()),
                name: Some("".into()),
                email: None,
                uid: Some("CN=Darth Vader,OU=Sith".into()),
                saml_provider_id: None,
            },
            AuthDetail {
                module: "saml".into(),
                saml_provider_id: Some("saml-okta".into()),
                ..AuthDetail::default()
            },
            AuthDetail::default(),
        ];
        let packed = AuthDetails::from(details.clone());
        assert_eq!(packed.len(), 3);
        assert!(!packed.is_empty());
        assert_eq!(packed.first().map(|d| d.module), Some("ldap"));
        assert_eq!(
            packed.iter().map(|d| d.to_owned()).collect::<Vec<_>>(),
            details
        );
        assert_eq!((&packed).into_iter().count(), 3);
        assert_eq!(packed.iter().collect::<AuthDetails>(), packed);
        assert_eq!(packed.clone().into_vec(), details);
        assert_ne!(packed, AuthDetails::from(details[..2].to_vec()));
        assert!(AuthDetails::default().is_empty());
        assert_eq!(AuthDetails::default().first(), None);

        let keys = vec![
            SshKey {
                title: Some("laptop".into()),
                key: "ssh-ed25519 AAAAC3 me@host".into(),
                fingerprint: Some("SHA256:abc".into()),
            },
            SshKey {
                title: None,
                key: "".into(),
                fingerprint: None,
            },
        ];
        let packed: SshKeys = keys.iter().collect();
        assert_eq!(packed.len(), 2);
        assert_eq!(
            packed.iter().map(|k| k.to_owned()).collect::<Vec<_>>(),
            keys
        );
        assert_eq!(packed.clone().into_vec(), keys);
        assert_eq!(packed, keys.into_iter().collect::<SshKeys>());
        assert_eq!(
            format!("{packed:?}"),
            format!("{:?}", packed.iter().collect::<Vec<_>>())
        );
    }

    /// Equal user types share one string on a thread; every type reads back as given, also
    /// past the per-thread table's limit.
    #[test]
    fn user_types_are_shared_and_read_back() {
        let human = shared_user_type("human");
        assert!(Arc::ptr_eq(&human, &shared_user_type("human")));
        assert_eq!(&*human, "human");
        for n in 0..2 * SHARED_USER_TYPES {
            let text = format!("type_{n}");
            assert_eq!(&*shared_user_type(&text), text);
        }
        assert!(Arc::ptr_eq(&human, &shared_user_type("human")));
        let long = "x".repeat(100);
        assert_eq!(&*shared_user_type(&long), long);
    }

    #[test]
    fn a_write_copies_one_block() {
        let prototypes = prototypes();
        let original: Users = (0..1_000).map(|n| user(&prototypes, n)).collect();
        let blocks = 1_000usize.div_ceil(BLOCK);
        let mut copy = original.clone();
        assert_eq!(copy.shared_chunks(&original), blocks);
        copy[517].number = 1;
        assert_eq!(copy.shared_chunks(&original), blocks - 1);
        assert_ne!(original[517].number, 1);
        // A sign-in writes the time only: every block of records stays shared.
        let before = copy.set_last_access(301, Some(1).into());
        assert_eq!(before, Some(Some(3_010).into()));
        assert_eq!(copy.shared_chunks(&original), blocks - 1);
        assert_eq!(
            (copy.last_access(301), original.last_access(301)),
            (Some(1), Some(3_010))
        );
        let reshared = Users::from_shared(
            copy.iter()
                .map(|(row, u)| (Arc::new(u.clone()), copy.last_access(row as usize).into()))
                .collect(),
        );
        assert_eq!(reshared, copy);
        assert_ne!(reshared, original);
    }
}
