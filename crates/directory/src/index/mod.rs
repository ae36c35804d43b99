//! The directory's indexes: everything a query filter, `orderBy` or a dialect parameter needs,
//! answered without scanning `Model::users`.
//!
//! [`Indexes::build`] reads a validated [`Model`] once and owns everything it needs afterwards
//! (no borrow of the model). Results are [`RoaringBitmap`]s of dense [`Row`]s. All
//! case-insensitive values are normalised with [`crate::text::fold`] (user types with
//! [`crate::text::fold_user_type`]) on both sides, at build time and at lookup time, so the
//! engine passes values exactly as the user typed them.
//!
//! One paragraph per structure, and why it fits its access pattern:
//!
//! Each family below is built by its own builder (`Texts`, `Terms`, `CategorySets`,
//! `SortedColumns`, `FlagSets`, `Structure`, `AccessIndex`, `Lookups`); [`Indexes::build`] only
//! calls them, each field and family as one job on a worker per core (`parallel.rs`). The text family (`texts.rs`) and the plain dictionaries (`terms.rs`) are tables
//! keyed by field: a new field is one table row, not a new arm in every lookup.
//!
//! - **Term dictionaries** (`text_dict.rs`, `front_coded.rs`): login, name and the emails are
//!   almost unique per user. A hash map of term → bitmap would cost ~80 bytes per value; instead
//!   the distinct values are kept sorted and front-coded in blocks of 16 (each stores only what
//!   it does not share with the value before), each owning a run of rows, and each row keeps the
//!   number of its value (to verify substring candidates). An exact term is a binary search over
//!   the blocks, a prefix (`loginStartsWith`, `nameStartsWith`) a contiguous range of the runs.
//!   Ties are sorted by id rank, so for single-valued fields the rows are also the `orderBy`
//!   order. They are built from a plain arena-and-permutation dictionary (`column.rs`), which
//!   the trigram and prefix builders read and which is then dropped.
//! - **Exact dictionaries** (`exact.rs`): the id, auth login/name/email/uid, Google and OpenID
//!   uids, VCS user names and SSH keys are only looked up whole. Their distinct values are kept
//!   sorted and front-coded (each stores only what it does not share with the value before),
//!   each owning a run of rows: a lookup is a binary search over blocks of 16 values. Shared
//!   prefixes and values held by many users cost almost nothing (half the bytes of the arena
//!   layout at 1M users). The id dictionary's rows, in value order, are the id order.
//! - **Categories** (`categories.rs`): auth module type and module name, user type and ban status
//!   have few distinct values shared by many users: a hash map from the folded value to a bitmap.
//! - **Trigrams** (`trigram.rs`): free text and `search`/`q` parameters want substrings of login,
//!   name and emails. Each text field keeps byte-trigram postings; a needle's postings are
//!   intersected smallest first and the candidates verified against the folded values in the
//!   dictionary. Needles under three bytes have no trigram and scan the dictionary's values.
//! - **Ordered columns** (`ordered.rs`): creation, last access and update times and GitLab numbers
//!   as (value, row) vectors sorted by value then id rank: a range is two binary searches, its
//!   exact size is O(log n) for the planner, and the vector is also the `orderBy` order.
//! - **Flags and states** (`flags.rs`): one bitmap per `is:`/`has:` fact and per account state,
//!   precomputed, so `has:`/`is:` and their negations are set operations on ready bitmaps.
//! - **Structure** (`structure.rs`): per group direct and transitive members (built bottom-up
//!   over the forest), ancestor/descendant lists, team, organization, enterprise-group, license
//!   and origin-service members, each a bitmap, since queries name a few entities at a time.
//!   The group and team member sets, like the own-role holders and the users in a project, are
//!   changed in place by memberships and kept copy-on-write per 65,536-row block once large
//!   (`block_bitmap.rs`); readers get a [`RowSet`] view (`row_set.rs`) that intersects and
//!   subtracts block by block instead of joining the blocks per query.
//! - **Access** (`access/`): each grant's subject expanded to users at build time and OR-ed into
//!   its role's holders at its scope level (global / organization / project), so `access(…)` is a
//!   union of a few bitmaps; a delta level's few rows are built row by row (`access/by_row.rs`).
//! - **Orders** (`order.rs`): per (sort key, direction) a permutation of all rows and its inverse
//!   rank, built lazily on first use from the already-sorted columns.
//! - **Entity lookups** (`resolve.rs`): id → key → name hash maps per entity kind.
//!
//! Negations are left to the engine; every "has a value" set it needs to say what `not` means for
//! users without a value is exposed ([`Flag`], [`Indexes::present`]).

mod access;
mod block_bitmap;
mod blocks;
mod categories;
mod column;
mod entities;
mod exact;
mod flags;
mod front_coded;
mod live_column;
mod membership;
mod order;
mod ordered;
mod parallel;
mod prefixes;
mod resolve;
mod row_set;
mod scoped;
mod structure;
mod terms;
mod text_dict;
mod texts;
mod trigram;
mod union;
mod wildcard;

use std::ops::Bound;
use std::sync::{Arc, OnceLock};

pub use roaring::RoaringBitmap;

pub use access::AccessScope;
pub use flags::Flag;
pub use order::SortKey;
pub use row_set::RowSet;
pub use union::union_of;
pub use wildcard::{Wildcard, WildcardPath};

use access::AccessIndex;
use categories::CategorySets;
pub(crate) use column::bitmap_bytes;
use column::{Dict, Entries};
pub(crate) use flags::FlagChange;
use flags::FlagSets;
use live_column::LiveColumn;
use order::{KeyedRows, Orders, Permutation};
use ordered::{OrderedColumn, SortedColumns, SortedValues};
use resolve::EntityLookup;
pub(crate) use resolve::Names;
pub(crate) use structure::Forest;
use structure::Structure;
use terms::Terms;
use text_dict::TextDict;
use texts::Texts;
use trigram::TextIndex;

use crate::facts::{RowFacts, StillHeld, Subjects};
use crate::model::{
    Grant, GroupIdx, Millis, Model, OrgIdx, PermissionIdx, ProjectIdx, RoleIdx, Row, ServiceIdx,
    State, Subject, TeamIdx,
};
use crate::text::{fold, fold_user_type};

/// A field answered by exact term lookup ([`Indexes::term`]). Unless noted, the value is folded
/// with [`fold`] before the lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TermField {
    /// Hub id, exact.
    Id,
    /// Login.
    Login,
    /// Primary or any secondary email.
    Email,
    /// Primary email only.
    PrimaryEmail,
    /// GitLab public email (folded, like every email in the query language; a dialect wanting
    /// GitLab's exact comparison verifies the few matches against the model).
    PublicEmail,
    /// Full name.
    Name,
    /// An auth detail whose module type or module name is the value.
    AuthModule,
    /// An auth detail whose module type is the value.
    AuthModuleType,
    /// An auth detail whose login is the value.
    AuthLogin,
    /// An auth detail whose full name is the value.
    AuthName,
    /// An auth detail whose email is the value.
    AuthEmail,
    /// An auth detail (any module) whose uid is the value, exact.
    AuthUid,
    /// A `google` auth detail whose uid is the value, exact.
    GoogleId,
    /// An `openid` auth detail whose uid is the value, exact.
    OpenId,
    /// A VCS user name.
    VcsUserName,
    /// An SSH key whose key text, key blob (second whitespace token) or fingerprint is the value,
    /// exact.
    SshKey,
    /// Imported from the service the value references (resolved like an entity reference:
    /// id, then name). [`Indexes::origin_service`] takes an already resolved service.
    OriginService,
    /// A ban record whose status is the value.
    BanStatus,
    /// User type, normalised with [`fold_user_type`].
    UserType,
}

impl TermField {
    /// Every term field, in declaration order.
    pub const ALL: [TermField; 19] = [
        TermField::Id,
        TermField::Login,
        TermField::Email,
        TermField::PrimaryEmail,
        TermField::PublicEmail,
        TermField::Name,
        TermField::AuthModule,
        TermField::AuthModuleType,
        TermField::AuthLogin,
        TermField::AuthName,
        TermField::AuthEmail,
        TermField::AuthUid,
        TermField::GoogleId,
        TermField::OpenId,
        TermField::VcsUserName,
        TermField::SshKey,
        TermField::OriginService,
        TermField::BanStatus,
        TermField::UserType,
    ];
}

/// A field answered by prefix lookup ([`Indexes::prefix`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrefixField {
    /// Login (`loginStartsWith`).
    Login,
    /// Full name (`nameStartsWith` is this OR-ed with [`PrefixField::Login`] by the engine).
    Name,
}

/// A field answered by substring search ([`Indexes::substring`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextField {
    /// Login.
    Login,
    /// Full name.
    Name,
    /// Primary email.
    PrimaryEmail,
    /// Any secondary email.
    SecondaryEmail,
    /// GitLab public email.
    PublicEmail,
}

impl TextField {
    /// Every text field, in declaration order.
    pub const ALL: [TextField; 5] = [
        TextField::Login,
        TextField::Name,
        TextField::PrimaryEmail,
        TextField::SecondaryEmail,
        TextField::PublicEmail,
    ];
}

/// A time column answered by range ([`Indexes::time_range`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeColumn {
    /// `created_at`.
    Created,
    /// `last_access_at` (never-accessed users are in no range).
    LastAccess,
    /// `updated_at`, defaulting to `created_at`.
    Updated,
}

/// A low-cardinality field whose distinct values [`Indexes::category_values`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Auth module types (`core`, `ldap`, …).
    AuthModuleType,
    /// Auth module names (`Corporate LDAP`, …).
    AuthModuleName,
    /// User types.
    UserType,
    /// Ban statuses.
    BanStatus,
}

/// Size of one index, for `:stats` and EXPLAIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexStats {
    /// Index name (`terms.login`, `trigrams.name`, …).
    pub name: &'static str,
    /// Entries: values, postings or member rows, depending on the index.
    pub entries: u64,
    /// Approximate heap bytes (capacities, and roaring's serialized size for bitmaps).
    pub bytes: u64,
}

/// Every index over one [`Model`], in shared parts: cloning is a few reference-count bumps, and
/// a live change replaces only the part it touches (copy-on-write, see [`crate::store`]). Orders
/// fill in lazily, thread-safely.
#[derive(Debug, Default, Clone)]
pub struct Indexes {
    /// Per-user columns: dictionaries, trigrams, sorted columns, categories, flags, orders.
    columns: Arc<Columns>,
    /// Membership structure.
    structure: Arc<Structure>,
    /// Grants resolved to holders.
    access: Arc<AccessIndex>,
    /// Entity references.
    lookups: Arc<Lookups>,
    /// `last_access_at`, sorted, updated in place by sign-ins (see [`Indexes::touched`]).
    last_access: Arc<LiveColumn<Millis>>,
    /// Flags and states, bits flipped in place by state/admin/2FA changes
    /// (see [`Indexes::flags_changed`]).
    flags: Arc<FlagSets>,
    empty: RoaringBitmap,
}

/// The per-user part of [`Indexes`] (changes only with a rebuild; changed rows are an overlay).
#[derive(Debug, Default)]
struct Columns {
    user_count: u32,
    all: RoaringBitmap,
    /// Raw ids, front-coded; its rows in value order are the rows in id order.
    id: exact::ExactDict,
    /// Login, name and emails: folded dictionaries with trigrams.
    texts: Texts,
    /// Every other dictionary field, one table entry each.
    terms: Terms,
    /// Low-cardinality fields.
    categories: CategorySets,
    /// Times and numbers, sorted.
    sorted: SortedColumns,
    orders: Orders,
}

/// Users a removed grant no longer reaches at its scope up to which their facts re-derive
/// what they still hold; more go through the holder bitmaps.
const FEW_LOST: u64 = 256;

/// Entity lookups per kind, built once and then kept by live catalog puts in place (see
/// `entities.rs`): cloning copies a few dozen shard pointers.
pub(crate) type Lookups = crate::load::PerCatalog<EntityLookup>;

impl Lookups {
    /// Id, key and name maps of every catalog kind: O(catalog), independent of the users.
    pub(crate) fn build(model: &Model) -> Lookups {
        let projects = EntityLookup::build(
            model
                .projects
                .iter()
                .map(|p| (p.id.as_str(), p.key.as_deref(), p.name.as_str())),
        );
        let organizations = EntityLookup::build(
            model
                .organizations
                .iter()
                .map(|o| (o.id.as_str(), None, o.name.as_str())),
        );
        let groups = EntityLookup::build(
            model
                .groups
                .iter()
                .map(|g| (g.id.as_str(), None, g.name.as_str())),
        );
        let teams = EntityLookup::build(
            model
                .teams
                .iter()
                .map(|t| (t.id.as_str(), None, t.name.as_str())),
        );
        let roles = EntityLookup::build(
            model
                .roles
                .iter()
                .map(|r| (r.id.as_str(), None, r.name.as_str())),
        );
        let permissions = EntityLookup::build(
            model
                .permissions
                .iter()
                .map(|p| (p.id.as_str(), None, p.name.as_str())),
        );
        let services = EntityLookup::build(
            model
                .services
                .iter()
                .map(|s| (s.id.as_str(), None, s.name.as_str())),
        );

        crate::load::PerCatalog {
            projects,
            organizations,
            groups,
            teams,
            roles,
            permissions,
            services,
        }
    }
}

/// One independent piece of [`Indexes::build`], run by [`parallel::run`]. Listed longest first
/// (measured at 1M users, `build_cost`: structure and access ≈ a sixth of the work, then the
/// primary email text and the auth email dictionary), so the workers stay busy to the end.
#[derive(Debug, Clone, Copy)]
enum Job {
    /// Membership structure, then the access bitmaps over it.
    Access,
    /// One text field (position in [`TextField::ALL`]).
    Text(usize),
    /// One plain dictionary field (position in the [`terms`] table).
    Term(usize),
    Categories,
    Sorted,
    Flags,
    Lookups,
}

/// What a [`Job`] built.
enum Part {
    Access(Box<(Structure, AccessIndex)>),
    Text(usize, Box<TextIndex>),
    Term(usize, exact::ExactDict),
    Categories(Box<CategorySets>),
    Sorted(Box<SortedColumns>),
    Flags(Box<FlagSets>),
    Lookups(Box<Lookups>),
}

impl Job {
    /// Every job of a build, longest first.
    fn list() -> Vec<Job> {
        // Longest processing time first (job times of `build_cost 1000000`, 2026-12-04): the
        // last jobs to start are the shortest, so the workers finish within one short job of
        // each other. Flags and sorted columns (~1 s) used to start last of all.
        let jobs = vec![
            Job::Access,
            Job::Text(2),
            Job::Term(2),
            Job::Text(1),
            Job::Text(0),
            Job::Term(0),
            Job::Term(1),
            Job::Term(7),
            Job::Flags,
            Job::Sorted,
            Job::Categories,
            Job::Term(3),
            Job::Text(4),
            Job::Term(4),
            Job::Term(5),
            Job::Text(3),
            Job::Term(6),
            Job::Lookups,
        ];
        debug_assert_eq!(jobs.len(), 5 + Texts::FIELDS + Terms::FIELDS);
        jobs
    }

    fn build(self, model: &Model, ids: &OnceLock<IdOrder>) -> Part {
        let id_rank = || ids.get_or_init(|| IdOrder::build(model)).rank.as_slice();
        match self {
            Job::Access => {
                let structure = Structure::build(model);
                let access = AccessIndex::build(model, &structure);
                Part::Access(Box::new((structure, access)))
            }
            Job::Text(slot) => {
                Part::Text(slot, Box::new(Texts::build_field(model, id_rank(), slot)))
            }
            Job::Term(i) => Part::Term(i, Terms::build_field(model, i)),
            Job::Categories => Part::Categories(Box::new(CategorySets::build(model))),
            Job::Sorted => Part::Sorted(Box::new(SortedColumns::build(model, id_rank()))),
            Job::Flags => Part::Flags(Box::new(FlagSets::build(model))),
            Job::Lookups => Part::Lookups(Box::new(Lookups::build(model))),
        }
    }
}

/// The id dictionary and the id order, which the text dictionaries and sorted columns break
/// ties by: built by the first job that needs it while the other worker starts on a job that
/// does not (the access job), rather than before every job.
struct IdOrder {
    /// The ids; its rows in value order are the rows in id order.
    id: exact::ExactDict,
    /// `rank[row]`: position of `row` in id order.
    rank: Vec<u32>,
}

impl IdOrder {
    fn build(model: &Model) -> IdOrder {
        let mut ids = Entries::default();
        for (row, user) in model.users.iter() {
            ids.push(row, &user.id);
        }
        let id = exact::ExactDict::from_dict(&Dict::build(ids, None));
        let mut rank = vec![0u32; model.users.slots()];
        for (position, &row) in id.rows_in_order().iter().enumerate() {
            rank[row as usize] = position as u32;
        }
        IdOrder { id, rank }
    }
}

/// The parts of a build, gathered in field order whatever order the jobs finished in.
#[derive(Default)]
struct Built {
    access: Option<(Structure, AccessIndex)>,
    texts: Vec<TextIndex>,
    terms: Vec<exact::ExactDict>,
    categories: Option<CategorySets>,
    sorted: Option<SortedColumns>,
    flags: Option<FlagSets>,
    lookups: Option<Lookups>,
}

impl Built {
    fn take(&mut self, part: Part) {
        fn put<T: Default>(list: &mut Vec<T>, at: usize, value: T) {
            if list.len() <= at {
                list.resize_with(at + 1, T::default);
            }
            list[at] = value;
        }
        match part {
            Part::Access(both) => self.access = Some(*both),
            Part::Text(slot, index) => put(&mut self.texts, slot, *index),
            Part::Term(i, dict) => put(&mut self.terms, i, dict),
            Part::Categories(sets) => self.categories = Some(*sets),
            Part::Sorted(columns) => self.sorted = Some(*columns),
            Part::Flags(flags) => self.flags = Some(*flags),
            Part::Lookups(lookups) => self.lookups = Some(*lookups),
        }
    }
}

impl Indexes {
    /// Builds every index (except the lazily built sort orders). Linear in the model apart from
    /// the dictionary sorts, O(n log n). Rows are `u32`, as in the model. The families are
    /// independent and, for large models, built on one scoped thread per available core.
    pub fn build(model: &Model) -> Indexes {
        Indexes::build_with(model, parallel::workers_for(model.users.slots()))
    }

    /// [`Indexes::build`], also returning each job's name and wall time in seconds, in job
    /// order (for the `build_cost` example: which job bounds the build).
    pub fn build_timed(model: &Model) -> (Indexes, Vec<(String, f64)>) {
        let times = std::sync::Mutex::new(Vec::new());
        let indexes = Indexes::build_jobs(
            model,
            parallel::workers_for(model.users.slots()),
            |job, build| {
                let started = std::time::Instant::now();
                let part = build();
                if let Ok(mut times) = times.lock() {
                    times.push((format!("{job:?}"), started.elapsed().as_secs_f64()));
                }
                part
            },
        );
        let times = times
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (indexes, times)
    }

    /// [`Indexes::build`] on at most `workers` threads (the result does not depend on them).
    pub(crate) fn build_with(model: &Model, workers: usize) -> Indexes {
        Indexes::build_jobs(model, workers, |_, build| build())
    }

    /// [`Indexes::build`] on the calling thread for a model restricted to a few rows (a delta
    /// level, `store/delta.rs`), with the entity lookups of `current` (indexes whose catalog
    /// is `model`'s): they depend on the catalog only, and rebuilding them would cost
    /// O(catalog) per delta whatever its rows. The other catalog-only parts (group forest,
    /// projects' organizations) are taken from `current` too, so the level shares them from
    /// the start: the writer never frees a level's own copies when it first shares a catalog
    /// change with it ([`Indexes::catalog_shared`]).
    pub(crate) fn build_for_rows(model: &Model, current: &Indexes) -> Indexes {
        let mut index = Indexes::build_from(model, 1, Some(&current.lookups), |_, build| build());
        index.catalog_shared(current, &[]);
        index.groups_added(&current.forest());
        index
    }

    /// The build, each job run through `run_job(job, build)` (which must call `build`).
    fn build_jobs(
        model: &Model,
        workers: usize,
        run_job: impl Fn(Job, &dyn Fn() -> Part) -> Part + Sync,
    ) -> Indexes {
        Indexes::build_from(model, workers, None, run_job)
    }

    /// [`Indexes::build_jobs`], taking the entity lookups from `lookups` when given.
    fn build_from(
        model: &Model,
        workers: usize,
        lookups: Option<&Arc<Lookups>>,
        run_job: impl Fn(Job, &dyn Fn() -> Part) -> Part + Sync,
    ) -> Indexes {
        // Rows are stable across deletions: per-row arrays span every slot, holes included,
        // and no index names a hole.
        let user_count = model.users.slots() as u32;
        let all = model.users.live_rows();

        let ids = OnceLock::new();
        let mut jobs = Job::list();
        if lookups.is_some() {
            jobs.retain(|job| !matches!(job, Job::Lookups));
        }
        let parts = parallel::run(&jobs, workers, |&job| {
            run_job(job, &|| job.build(model, &ids))
        });
        let id = ids.into_inner().unwrap_or_else(|| IdOrder::build(model)).id;
        let mut built = Built::default();
        for part in parts {
            built.take(part);
        }
        let texts = Texts::from_fields(built.texts);
        let terms = Terms::from_fields(built.terms);
        let (structure, access) = built.access.unwrap_or_default();
        let lookups = match lookups {
            Some(shared) => Arc::clone(shared),
            None => Arc::new(built.lookups.unwrap_or_default()),
        };
        let mut sorted = built.sorted.unwrap_or_default();
        let last_access = Arc::new(std::mem::take(&mut sorted.last_access));

        Indexes {
            columns: Arc::new(Columns {
                user_count,
                all,
                id,
                texts,
                terms,
                categories: built.categories.unwrap_or_default(),
                sorted,
                orders: Orders::default(),
            }),
            structure: Arc::new(structure),
            access: Arc::new(access),
            lookups,
            last_access,
            flags: Arc::new(built.flags.unwrap_or_default()),
            empty: RoaringBitmap::new(),
        }
    }

    /// A live sign-in moved `row`'s last access from `old` to `new` (the row is otherwise
    /// unchanged and was described by these indexes): copies the column's chunks it touches.
    /// False when the column does not hold `(old, row)`.
    pub(crate) fn touched(&mut self, row: Row, old: Millis, new: Millis) -> bool {
        Arc::make_mut(&mut self.last_access).set(row, old, new)
    }

    /// A live change flipped `row`'s flags or state only (the rest of its record, as these
    /// indexes describe it, is unchanged): copies the bitmaps it writes.
    pub(crate) fn flags_changed(&mut self, row: Row, change: &FlagChange) {
        Arc::make_mut(&mut self.flags).apply(row, change);
    }

    /// The users a grant to `subject` reaches according to these indexes: exact for every row
    /// whose record the indexes describe (a changed row is re-checked by the overlay anyway).
    fn subject_users(&self, subject: Subject) -> RoaringBitmap {
        match subject {
            Subject::User(row) => RoaringBitmap::from_iter([row]),
            Subject::Group(g) => self.group_transitive(g).to_bitmap(),
            Subject::Team(t) => self.team_members(t).to_bitmap(),
        }
    }

    /// A live change added `grant`: its subject's members now hold its role at its scope.
    /// Copies only the access bitmaps it writes; O(subject's members).
    pub(crate) fn grant_added(&mut self, grant: &Grant) {
        let users = self.subject_users(grant.subject);
        let direct = matches!(grant.subject, Subject::User(_));
        Arc::make_mut(&mut self.access).grant_added(grant.role, grant.scope, &users, direct);
    }

    /// A live change removed `grant`; `subjects` are the grants by subject after the change.
    /// A user leaves a holder set only when no remaining path keeps it there, decided on
    /// bitmaps: the other grants of the same role and scope (to the user itself, or to groups
    /// and teams containing it), then the role's and the scope's other holder bitmaps. Cost:
    /// the subject's members and the bitmaps they are in, never every user.
    pub(crate) fn grant_removed(&mut self, grant: &Grant, subjects: &Subjects, model: &Model) {
        let affected = self.subject_users(grant.subject);
        let mut kept = RoaringBitmap::new();
        // Direct grants of the same role and scope: only users holding the role directly
        // (few affected users are looked up one by one: roaring's intersection walks every
        // array container of the holders they share, two fifths of a user deletion's
        // instructions at 1M users, benches/RESULTS.md `member9`).
        if let Some(own) = self.access.own_role(grant.role) {
            for row in own.intersection(&affected) {
                if subjects.user_holds(row, grant.role, Some(grant.scope)) {
                    kept.insert(row);
                }
            }
        }
        for other in subjects.shared_holders(grant.role, grant.scope) {
            let members = match other {
                Subject::Group(g) => self.group_transitive(g),
                Subject::Team(t) => self.team_members(t),
                Subject::User(_) => continue,
            };
            kept |= members.intersection(&affected);
        }
        let own_kept = match grant.subject {
            Subject::User(row) => subjects.user_holds(row, grant.role, None),
            _ => true,
        };
        let lost = affected - kept;
        let access = Arc::make_mut(&mut self.access);
        if lost.len() <= FEW_LOST {
            // A few users (a grant to a user, most removals): their facts are cheaper than
            // walking every holder bitmap of the role and of the scope.
            let still: Vec<(Row, RowFacts)> = lost
                .iter()
                .map(|row| (row, subjects.facts(model, row)))
                .collect();
            access.grant_removed(grant.role, grant.scope, &still);
            if let (false, Subject::User(row)) = (own_kept, grant.subject) {
                access.grant_removed_by_paths(
                    (grant.role, grant.scope),
                    &RoaringBitmap::new(),
                    Some(Subject::User(row)),
                    &StillHeld::default(),
                );
            }
        } else {
            // Many users (a grant to a large group): what each still holds comes from its
            // paths to grants, asked once per group and team, rather than from every holder
            // bitmap of the role (`facts/holding.rs`).
            let granted = self.flags.flag(Flag::HasOwnRole);
            let still =
                subjects.still_held(model, &lost, granted, (grant.role, grant.scope), |scope| {
                    access.covers_a_project(scope)
                });
            access.grant_removed_by_paths(
                (grant.role, grant.scope),
                &lost,
                (!own_kept).then_some(grant.subject),
                &still,
            );
        }
    }

    /// A live change put catalog object `kind` at `at` (its names before: `old`, none when
    /// new): its kind's lookup moves it to its names in `model`, copying only the shards those
    /// names are in.
    pub(crate) fn entity_written(
        &mut self,
        kind: crate::load::places::Kind,
        at: u32,
        old: Option<&resolve::Names>,
        model: &Model,
    ) {
        Arc::make_mut(&mut self.lookups).entity_written(kind, at, old, model);
    }

    /// A live change rewrote membership structure (a team's listing or a role's permissions
    /// changed, a project moved to another organization): the structure and access parts are
    /// rebuilt, O(users + grants) but without the dictionaries, trigrams and sorted columns of a
    /// full build.
    pub(crate) fn members_rebuilt(&mut self, model: &Model) {
        let structure = Structure::build(model);
        self.access = Arc::new(AccessIndex::build(model, &structure));
        self.structure = Arc::new(structure);
    }

    /// Groups changed parent (`model` is the final one, `forest` its group forest, computed
    /// once per batch, `subjects` its grants by subject): the structure recomputes the old and
    /// new ancestors' transitive members among the moved subtrees' members and the teams
    /// listing them, then only the users whose groups changed are re-derived in the access
    /// part, for the grants of the groups and teams whose members changed. Cost: the moved
    /// subtrees' members against the ancestors' sets, never every user nor a whole
    /// ancestor's members.
    pub(crate) fn groups_moved(
        &mut self,
        model: &Model,
        moved: &[GroupIdx],
        forest: &Forest,
        subjects: &Subjects,
    ) {
        let changed =
            Arc::make_mut(&mut self.structure).groups_moved(model, moved, forest, subjects);
        if changed.users.is_empty() {
            return;
        }
        // Each grant with its subject's members among the changed users: all that the
        // re-derivation reads of them.
        let mut grants = Vec::new();
        for &g in &changed.groups {
            for (role, scope) in subjects.grants_of(Subject::Group(g)) {
                let members = self.group_transitive(g).intersection(&changed.users);
                grants.push((role, scope, members));
            }
        }
        for &t in &changed.teams {
            for (role, scope) in subjects.grants_of(Subject::Team(t)) {
                let members = self.team_members(t).intersection(&changed.users);
                grants.push((role, scope, members));
            }
        }
        if grants.is_empty() {
            return;
        }
        let still: Vec<(Row, RowFacts)> = changed
            .users
            .iter()
            .map(|row| (row, subjects.facts(model, row)))
            .collect();
        Arc::make_mut(&mut self.access).members_changed(&grants, &still);
    }

    /// Groups were added under parents (without members): the forest's lists only, `forest`
    /// (the final model's, computed once per batch).
    pub(crate) fn groups_added(&mut self, forest: &Forest) {
        if !self.structure.shares_forest(forest) {
            Arc::make_mut(&mut self.structure).forest_taken(forest);
        }
    }

    /// The group forest's lists these indexes hold (shared).
    pub(crate) fn forest(&self) -> Forest {
        self.structure.forest()
    }

    /// A project was added at position `project` (the next one).
    pub(crate) fn project_added(&mut self, project: ProjectIdx, organization: Option<OrgIdx>) {
        Arc::make_mut(&mut self.access).project_added(project, organization);
    }

    /// The parts that depend on the catalog only — the entity lookups, the projects'
    /// organizations, the roles by permission — taken from `from`, indexes of the same final
    /// catalog (the base after the batch's changes): a delta level shares them instead of
    /// making each catalog change again (a batch's catalog work was done once per level and
    /// once for the base). `added` are the projects the batch added, in order: the level's
    /// holders "in a project" follow them as [`Indexes::project_added`] would. Pointer copies
    /// when nothing else changes.
    pub(crate) fn catalog_shared(
        &mut self,
        from: &Indexes,
        added: &[(ProjectIdx, Option<OrgIdx>)],
    ) {
        if !Arc::ptr_eq(&self.lookups, &from.lookups) {
            self.lookups = Arc::clone(&from.lookups);
        }
        if !added.is_empty() || !self.access.shares_catalog(&from.access) {
            Arc::make_mut(&mut self.access).catalog_taken(&from.access, added);
        }
    }

    /// Whether two indexes share every catalog-only part (see [`Indexes::catalog_shared`]).
    #[cfg(test)]
    pub(crate) fn shares_catalog(&self, other: &Indexes) -> bool {
        Arc::ptr_eq(&self.lookups, &other.lookups)
            && self.structure.shares_forest(&other.forest())
            && self.access.shares_catalog(&other.access)
    }

    /// Whether two indexes share their per-user columns (a live change never copies them).
    pub fn shares_columns(&self, other: &Indexes) -> bool {
        Arc::ptr_eq(&self.columns, &other.columns)
    }

    /// The distinct values of a low-cardinality field as the directory spells them, sorted (for
    /// query assist; `:stats`).
    pub fn category_values(&self, category: Category) -> Vec<&str> {
        let categories = match category {
            Category::AuthModuleType => &self.columns.categories.auth_module_type,
            Category::AuthModuleName => &self.columns.categories.auth_module_name,
            Category::UserType => &self.columns.categories.user_type,
            Category::BanStatus => &self.columns.categories.ban_status,
        };
        categories.spellings().collect()
    }

    /// One past the largest row (rows are `0..user_count`; deleted rows are holes in it).
    pub fn user_count(&self) -> u32 {
        self.columns.user_count
    }

    /// Every row: the universe for negations and the empty query.
    pub fn all(&self) -> &RoaringBitmap {
        &self.columns.all
    }

    /// The front-coded dictionary behind an exact-only term field, when it is one.
    fn exact_dict(&self, field: TermField) -> Option<&exact::ExactDict> {
        match field {
            TermField::Id => Some(&self.columns.id),
            _ => self.columns.terms.get(field),
        }
    }

    /// The sorted dictionary behind a text term field, when it is one.
    fn term_dict(&self, field: TermField) -> Option<&TextDict> {
        let text = |field| Some(self.columns.texts.get(field).dict());
        match field {
            TermField::Login => text(TextField::Login),
            TermField::PrimaryEmail => text(TextField::PrimaryEmail),
            TermField::PublicEmail => text(TextField::PublicEmail),
            TermField::Name => text(TextField::Name),
            _ => None,
        }
    }

    /// The value as the index stores it for `field`.
    fn normalise(field: TermField, value: &str) -> String {
        if let Some((_, spec)) = terms::spec(field) {
            return spec.case.apply(value);
        }
        match field {
            TermField::Id | TermField::OriginService => value.to_owned(),
            TermField::UserType => fold_user_type(value),
            _ => fold(value),
        }
    }

    /// Exact term lookup; `value` is given as the user typed it; the index folds it per the
    /// field's rule (see [`TermField`]).
    pub fn term(&self, field: TermField, value: &str) -> RoaringBitmap {
        let value = Self::normalise(field, value);
        if let Some(exact) = self.exact_dict(field) {
            return exact.rows(&value);
        }
        if let Some(dict) = self.term_dict(field) {
            return dict.rows(dict.equal_range(&value));
        }
        match field {
            TermField::Email => {
                let primary = self.columns.texts.get(TextField::PrimaryEmail).dict();
                let secondary = self.columns.texts.get(TextField::SecondaryEmail).dict();
                primary.rows(primary.equal_range(&value))
                    | secondary.rows(secondary.equal_range(&value))
            }
            TermField::AuthModule => {
                let by_type = self.columns.categories.auth_module_type.get(&value);
                let by_name = self.columns.categories.auth_module_name.get(&value);
                match (by_type, by_name) {
                    (Some(a), Some(b)) => a | b,
                    (Some(a), None) | (None, Some(a)) => a.clone(),
                    (None, None) => RoaringBitmap::new(),
                }
            }
            TermField::OriginService => {
                let mut rows = RoaringBitmap::new();
                for service in self.resolve_service(&value) {
                    rows |= self.origin_service(service);
                }
                rows
            }
            _ => self.categories(field, &value).cloned().unwrap_or_default(),
        }
    }

    fn categories(&self, field: TermField, value: &str) -> Option<&RoaringBitmap> {
        match field {
            TermField::AuthModuleType => self.columns.categories.auth_module_type.get(value),
            TermField::BanStatus => self.columns.categories.ban_status.get(value),
            TermField::UserType => self.columns.categories.user_type.get(value),
            _ => None,
        }
    }

    /// Cheap cardinality estimate for the planner: exact for every field except
    /// [`TermField::Email`], [`TermField::AuthModule`] and [`TermField::OriginService`]
    /// (sums of exact parts, capped at the user count).
    pub fn term_count(&self, field: TermField, value: &str) -> u64 {
        let normalised = Self::normalise(field, value);
        if let Some(exact) = self.exact_dict(field) {
            return exact.count(&normalised);
        }
        if let Some(dict) = self.term_dict(field) {
            return dict.count_equal(dict.equal_range(&normalised));
        }
        let count = match field {
            TermField::Email => {
                let secondary = self.columns.texts.get(TextField::SecondaryEmail).dict();
                self.term_count(TermField::PrimaryEmail, value)
                    + secondary.count_equal(secondary.equal_range(&normalised))
            }
            TermField::AuthModule => {
                self.columns
                    .categories
                    .auth_module_type
                    .get(&normalised)
                    .map_or(0, RoaringBitmap::len)
                    + self
                        .columns
                        .categories
                        .auth_module_name
                        .get(&normalised)
                        .map_or(0, RoaringBitmap::len)
            }
            TermField::OriginService => self
                .resolve_service(&normalised)
                .into_iter()
                .map(|service| self.origin_service(service).len())
                .sum(),
            _ => self
                .categories(field, &normalised)
                .map_or(0, RoaringBitmap::len),
        };
        count.min(u64::from(self.columns.user_count))
    }

    fn prefix_text(&self, field: PrefixField) -> &TextIndex {
        match field {
            PrefixField::Login => self.columns.texts.get(TextField::Login),
            PrefixField::Name => self.columns.texts.get(TextField::Name),
        }
    }

    /// Rows whose folded field starts with the folded `prefix` (a range of the sorted
    /// dictionary, a ready set when the range is wide). Folding trims the prefix, so `{Darth }`
    /// is the prefix `darth`; an empty prefix matches every user with a value.
    pub fn prefix(&self, field: PrefixField, prefix: &str) -> RoaringBitmap {
        let text = self.prefix_text(field);
        let prefix = fold(prefix);
        text.prefix_rows(&prefix, text.dict().prefix_range(&prefix))
    }

    /// Exact size of [`Indexes::prefix`] (both prefix fields are single-valued), O(log n).
    pub fn prefix_count(&self, field: PrefixField, prefix: &str) -> u64 {
        self.prefix_text(field)
            .dict()
            .prefix_range(&fold(prefix))
            .len() as u64
    }

    /// Rows with a value of `field` matching `pattern`, compared with the *folded* values
    /// byte for byte (so the pattern should be lowercase): from the sorted dictionary for a
    /// pattern with a literal start, else from the trigrams of its longest piece, each candidate
    /// checked. For a comparison with the plain lowercase of the values, the rows of
    /// [`Indexes::unlowered`] are the ones to re-check.
    pub fn wildcard(&self, field: TextField, pattern: &Wildcard) -> (RoaringBitmap, WildcardPath) {
        self.text(field).wildcard(pattern)
    }

    /// Rows having a value of `field` whose fold ([`fold`]: trimmed, whitespace runs collapsed)
    /// is not its plain lowercase (`str::to_lowercase`): where answers over the folded values
    /// may differ from a lowercase comparison. Empty for ordinary data.
    pub fn unlowered(&self, field: TextField) -> &RoaringBitmap {
        self.text(field).unlowered()
    }

    fn text(&self, field: TextField) -> &TextIndex {
        match field {
            TextField::Login => self.columns.texts.get(TextField::Login),
            TextField::Name => self.columns.texts.get(TextField::Name),
            TextField::PrimaryEmail => self.columns.texts.get(TextField::PrimaryEmail),
            TextField::SecondaryEmail => self.columns.texts.get(TextField::SecondaryEmail),
            TextField::PublicEmail => self.columns.texts.get(TextField::PublicEmail),
        }
    }

    /// Rows whose field contains `needle` (folded) as a substring: trigram candidates, then
    /// verification; needles under three bytes scan the field's values. An empty needle matches
    /// every user with a value.
    pub fn substring(&self, field: TextField, needle: &str) -> RoaringBitmap {
        self.text(field).substring(&fold(needle))
    }

    /// Upper bound of [`Indexes::substring`]: the smallest trigram posting, or the number of
    /// users with a value for needles under three bytes.
    pub fn substring_estimate(&self, field: TextField, needle: &str) -> u64 {
        self.text(field).estimate(&fold(needle))
    }

    /// Rows having a value for a text field (what `not` is relative to for users without one).
    pub fn present(&self, field: TextField) -> &RoaringBitmap {
        self.text(field).present()
    }

    fn time_column(&self, column: TimeColumn) -> &dyn OrderedColumn<Millis> {
        match column {
            TimeColumn::Created => &self.columns.sorted.created,
            TimeColumn::LastAccess => &*self.last_access,
            TimeColumn::Updated => &self.columns.sorted.updated,
        }
    }

    /// Rows whose time lies within the bounds; users without a value never match; reversed
    /// bounds are empty.
    pub fn time_range(
        &self,
        column: TimeColumn,
        lo: Bound<Millis>,
        hi: Bound<Millis>,
    ) -> RoaringBitmap {
        let values = self.time_column(column);
        values.rows(values.range(lo, hi))
    }

    /// [`Indexes::time_range`] among `candidates`, without materialising the range:
    /// `(sure, unsure)` — `sure` are in the range, `unsure` (a small part of the candidates,
    /// about 2/64 of them) must be checked on their records. `None` when the column is too short
    /// to have blocks (then [`Indexes::time_range`] is cheap anyway).
    pub fn time_range_within(
        &self,
        column: TimeColumn,
        lo: Bound<Millis>,
        hi: Bound<Millis>,
        candidates: &RoaringBitmap,
    ) -> Option<(RoaringBitmap, RoaringBitmap)> {
        let values = self.time_column(column);
        values.rows_within(values.range(lo, hi), candidates)
    }

    /// Exact size of [`Indexes::time_range`], by two binary searches.
    pub fn time_range_count(
        &self,
        column: TimeColumn,
        lo: Bound<Millis>,
        hi: Bound<Millis>,
    ) -> u64 {
        self.time_column(column).range(lo, hi).len() as u64
    }

    /// Rows whose GitLab number lies within the bounds.
    pub fn number_range(&self, lo: Bound<u64>, hi: Bound<u64>) -> RoaringBitmap {
        self.columns
            .sorted
            .numbers
            .rows(self.columns.sorted.numbers.range(lo, hi))
    }

    /// Exact size of [`Indexes::number_range`].
    pub fn number_range_count(&self, lo: Bound<u64>, hi: Bound<u64>) -> u64 {
        self.columns.sorted.numbers.range(lo, hi).len() as u64
    }

    /// The user with GitLab number `n` (numbers are unique).
    pub fn number(&self, n: u64) -> Option<Row> {
        let range = self
            .columns
            .sorted
            .numbers
            .range(Bound::Included(n), Bound::Included(n));
        (!range.is_empty()).then(|| self.columns.sorted.numbers.sorted_rows()[range.start])
    }

    /// Rows with a flag.
    pub fn flag(&self, flag: Flag) -> &RoaringBitmap {
        self.flags.flag(flag)
    }

    /// Rows in an account state.
    pub fn state(&self, state: State) -> &RoaringBitmap {
        self.flags.state(state)
    }

    fn set_at<'a>(&'a self, sets: &'a [RoaringBitmap], index: usize) -> &'a RoaringBitmap {
        sets.get(index).unwrap_or(&self.empty)
    }

    /// Set `index` of a list of member sets kept in blocks (empty past the list).
    fn shared_at<'a>(sets: &'a structure::SharedSets, index: usize) -> RowSet<'a> {
        sets.get(index).map(RowSet::of).unwrap_or_default()
    }

    /// Users listing `g` in `users[].groups` (`group:`).
    pub fn group_direct(&self, g: GroupIdx) -> RowSet<'_> {
        Self::shared_at(&self.structure.group_direct, g.index())
    }

    /// Direct members of `g` or of any descendant (`in:`, grants to groups).
    pub fn group_transitive(&self, g: GroupIdx) -> RowSet<'_> {
        Self::shared_at(&self.structure.group_transitive, g.index())
    }

    /// Parent chain of `g`, nearest first (ArcGIS groups-for-user).
    pub fn group_ancestors(&self, g: GroupIdx) -> &[GroupIdx] {
        self.structure.group_ancestors.get(g.index())
    }

    /// Every descendant of `g` (not `g` itself), ascending by index.
    pub fn group_descendants(&self, g: GroupIdx) -> &[GroupIdx] {
        self.structure.group_descendants.get(g.index())
    }

    /// Team members: its users plus the transitive members of its groups.
    pub fn team_members(&self, t: TeamIdx) -> RowSet<'_> {
        Self::shared_at(&self.structure.team_members, t.index())
    }

    /// Users listing `o` in `users[].organizations`.
    pub fn org_members(&self, o: OrgIdx) -> &RoaringBitmap {
        self.set_at(&self.structure.org_members, o.index())
    }

    /// Users whose `enterprise_group` is `g`.
    pub fn enterprise_users(&self, g: GroupIdx) -> &RoaringBitmap {
        self.set_at(&self.structure.enterprise_users, g.index())
    }

    /// Users imported from service `s` (`originService:`).
    pub fn origin_service(&self, s: ServiceIdx) -> &RoaringBitmap {
        self.set_at(&self.structure.origin_services, s.index())
    }

    /// Users holding a license for service `s` (`hasLicense:`).
    pub fn license(&self, s: ServiceIdx) -> &RoaringBitmap {
        self.set_at(&self.structure.licenses, s.index())
    }

    /// Users granted `role` directly (not through a group or team), in any scope (`ownRole:`).
    pub fn own_role(&self, role: RoleIdx) -> RowSet<'_> {
        self.access
            .own_role(role)
            .map(RowSet::of)
            .unwrap_or_default()
    }

    /// Roles containing permission `p` (`with:` naming a permission), ascending.
    pub fn roles_with_permission(&self, p: PermissionIdx) -> &[RoleIdx] {
        self.access.roles_with_permission(p)
    }

    /// Users holding any of `roles` (`None` = any role) through any grant (to the user, to a
    /// group they are in transitively, to a team they are in) whose scope covers `scope` — see
    /// [`AccessScope`]. **(decided)** an organization scope does not count grants scoped to a
    /// project inside it.
    pub fn access(&self, scope: AccessScope, roles: Option<&[RoleIdx]>) -> RoaringBitmap {
        self.access.access(scope, roles)
    }

    /// Upper bound of [`Indexes::access`] (exact when a single precomputed bitmap answers).
    pub fn access_estimate(&self, scope: AccessScope, roles: Option<&[RoleIdx]>) -> u64 {
        self.access.estimate(scope, roles, self.columns.user_count)
    }

    /// Users holding some role in at least one project: a project grant, a grant to an
    /// organization owning a project, or a global grant when any project exists (GitLab
    /// `without_projects` is the complement).
    pub fn in_any_project(&self) -> RowSet<'_> {
        RowSet::of(self.access.in_any_project())
    }

    fn permutation(&self, key: SortKey, descending: bool) -> &Permutation {
        let make = || {
            self.keyed_rows(key).into_permutation(
                self.columns.id.rows_in_order(),
                self.columns.user_count as usize,
                descending,
            )
        };
        if key == SortKey::LastAccess {
            return self.last_access.permutation(descending, make);
        }
        self.columns.orders.get(key, descending, make)
    }

    fn keyed_rows(&self, key: SortKey) -> KeyedRows {
        let from_dict = |dict: &TextDict| KeyedRows {
            rows: dict.sorted_rows().to_vec(),
            same_as_previous: dict.same_as_previous(),
        };
        fn from_values<T: Ord + Copy>(values: &SortedValues<T>) -> KeyedRows {
            KeyedRows {
                rows: values.sorted_rows().to_vec(),
                same_as_previous: (0..values.len())
                    .map(|k| k > 0 && values.value(k - 1) == values.value(k))
                    .collect(),
            }
        }
        match key {
            SortKey::Login => from_dict(self.columns.texts.get(TextField::Login).dict()),
            SortKey::Name => from_dict(self.columns.texts.get(TextField::Name).dict()),
            SortKey::Email => from_dict(self.columns.texts.get(TextField::PrimaryEmail).dict()),
            SortKey::Id => KeyedRows {
                rows: self.columns.id.rows_in_order().to_vec(),
                same_as_previous: self.columns.id.same_as_previous(),
            },
            SortKey::Created => from_values(&self.columns.sorted.created),
            SortKey::LastAccess => self.last_access.keyed_rows(),
            SortKey::Updated => from_values(&self.columns.sorted.updated),
            SortKey::Number => from_values(&self.columns.sorted.numbers),
        }
    }

    /// All rows sorted for `orderBy`: by key (ascending, or descending), ties by id ascending in
    /// either direction, users without a value last (by id ascending). Built on first use.
    pub fn order(&self, key: SortKey, descending: bool) -> &[Row] {
        &self.permutation(key, descending).order
    }

    /// `rank[row]` = position of `row` in [`Indexes::order`] for the same key and direction:
    /// lets the executor sort a small match set without comparing values.
    pub fn rank(&self, key: SortKey, descending: bool) -> &[u32] {
        &self.permutation(key, descending).rank
    }

    /// Sizes of every index, for `:stats` and EXPLAIN.
    pub fn stats(&self) -> Vec<IndexStats> {
        let mut stats = Vec::new();
        let mut add = |name: &'static str, entries: u64, bytes: u64| {
            stats.push(IndexStats {
                name,
                entries,
                bytes,
            })
        };
        add(
            "all",
            self.columns.all.len(),
            bitmap_bytes(&self.columns.all),
        );
        add(
            "terms.id",
            self.columns.id.len() as u64,
            self.columns.id.heap_bytes(),
        );
        for ((term_name, trigram_name), text) in self.columns.texts.named() {
            add(
                term_name,
                text.dict().len() as u64,
                text.dict().heap_bytes() + text.extra_bytes(),
            );
            let (trigrams, bytes) = text.trigram_stats();
            add(trigram_name, trigrams, bytes);
        }
        for (name, exact) in self.columns.terms.named() {
            add(name, exact.len() as u64, exact.heap_bytes());
        }
        for (name, set) in self.columns.categories.named() {
            add(name, set.len() as u64, set.heap_bytes());
        }
        let columns: [(&str, &dyn OrderedColumn<Millis>); 3] = [
            ("ordered.created", &self.columns.sorted.created),
            ("ordered.last_access", &*self.last_access),
            ("ordered.updated", &self.columns.sorted.updated),
        ];
        for (name, column) in columns {
            add(name, column.len() as u64, column.heap_bytes());
        }
        add(
            "ordered.number",
            self.columns.sorted.numbers.len() as u64,
            self.columns.sorted.numbers.heap_bytes(),
        );
        add(
            "flags",
            (Flag::ALL.len() + State::ALL.len()) as u64,
            self.flags.heap_bytes(),
        );
        let (entries, bytes) = self.structure.stats();
        add("structure", entries, bytes);
        let (entries, bytes) = self.access.stats();
        add("access", entries, bytes);
        let (built, bytes) = self.columns.orders.stats();
        add("orders", built, bytes);
        let lookups = [
            &self.lookups.projects,
            &self.lookups.organizations,
            &self.lookups.groups,
            &self.lookups.teams,
            &self.lookups.roles,
            &self.lookups.permissions,
            &self.lookups.services,
        ];
        add(
            "entities",
            lookups.iter().map(|l| l.len() as u64).sum(),
            lookups.iter().map(|l| l.heap_bytes()).sum(),
        );
        stats
    }

    /// Projects matching a reference: id exact, then key (folded), then name (folded).
    pub fn resolve_project(&self, reference: &str) -> Vec<ProjectIdx> {
        self.lookups
            .projects
            .resolve(reference)
            .into_iter()
            .map(ProjectIdx)
            .collect()
    }

    /// Organizations matching a reference: id exact, then name (folded).
    pub fn resolve_organization(&self, reference: &str) -> Vec<OrgIdx> {
        self.lookups
            .organizations
            .resolve(reference)
            .into_iter()
            .map(OrgIdx)
            .collect()
    }

    /// Groups matching a reference: id exact, then name (folded).
    pub fn resolve_group(&self, reference: &str) -> Vec<GroupIdx> {
        self.lookups
            .groups
            .resolve(reference)
            .into_iter()
            .map(GroupIdx)
            .collect()
    }

    /// Teams matching a reference: id exact, then name (folded).
    pub fn resolve_team(&self, reference: &str) -> Vec<TeamIdx> {
        self.lookups
            .teams
            .resolve(reference)
            .into_iter()
            .map(TeamIdx)
            .collect()
    }

    /// Groups and teams matching a reference together (`in:`): the first level (id, then name)
    /// with a match in either kind decides, and every match of both kinds at that level counts.
    pub fn resolve_group_or_team(&self, reference: &str) -> (Vec<GroupIdx>, Vec<TeamIdx>) {
        let groups = self.lookups.groups.resolve_level(reference);
        let teams = self.lookups.teams.resolve_level(reference);
        let first = match (&groups, &teams) {
            (Some((g, _)), Some((t, _))) => (*g).min(*t),
            (Some((level, _)), None) | (None, Some((level, _))) => *level,
            (None, None) => return (Vec::new(), Vec::new()),
        };
        let at = |found: Option<(resolve::Level, Vec<u32>)>| {
            found
                .filter(|(level, _)| *level == first)
                .map(|(_, positions)| positions)
                .unwrap_or_default()
        };
        (
            at(groups).into_iter().map(GroupIdx).collect(),
            at(teams).into_iter().map(TeamIdx).collect(),
        )
    }

    /// Roles matching a reference: id exact, then name (folded).
    pub fn resolve_role(&self, reference: &str) -> Vec<RoleIdx> {
        self.lookups
            .roles
            .resolve(reference)
            .into_iter()
            .map(RoleIdx)
            .collect()
    }

    /// Permissions matching a reference: id exact, then name (folded).
    pub fn resolve_permission(&self, reference: &str) -> Vec<PermissionIdx> {
        self.lookups
            .permissions
            .resolve(reference)
            .into_iter()
            .map(PermissionIdx)
            .collect()
    }

    /// Services matching a reference: id exact, then name (folded).
    pub fn resolve_service(&self, reference: &str) -> Vec<ServiceIdx> {
        self.lookups
            .services
            .resolve(reference)
            .into_iter()
            .map(ServiceIdx)
            .collect()
    }

    /// The user with this id (exact).
    pub fn row_of_id(&self, id: &str) -> Option<Row> {
        self.columns.id.first_row(id)
    }

    /// The user with this login (folded; logins are unique case-insensitively).
    pub fn row_of_login(&self, login: &str) -> Option<Row> {
        self.columns
            .texts
            .get(TextField::Login)
            .dict()
            .first_row(&fold(login))
    }
}

/// The base64 blob of an OpenSSH public key line: its second whitespace-separated token.
fn ssh_key_blob(key: &str) -> Option<&str> {
    key.split_whitespace().nth(1)
}

#[cfg(all(test, feature = "generate"))]
mod tests {
    /// The job list, in whatever order it is tuned to, builds every part exactly once.
    #[test]
    fn every_job_is_listed_once() {
        let jobs = Job::list();
        let mut texts: Vec<usize> = Vec::new();
        let mut terms: Vec<usize> = Vec::new();
        let mut others: Vec<String> = Vec::new();
        for job in &jobs {
            match *job {
                Job::Text(slot) => texts.push(slot),
                Job::Term(i) => terms.push(i),
                other => others.push(format!("{other:?}")),
            }
        }
        texts.sort_unstable();
        terms.sort_unstable();
        others.sort_unstable();
        assert_eq!(texts, (0..Texts::FIELDS).collect::<Vec<_>>());
        assert_eq!(terms, (0..Terms::FIELDS).collect::<Vec<_>>());
        assert_eq!(
            others,
            ["Access", "Categories", "Flags", "Lookups", "Sorted"]
        );
    }

    use super::*;
    use crate::generate::{generate, GenOptions};

    /// The parallel build assembles the same indexes as the sequential one, whatever order its
    /// jobs finish in.
    #[test]
    fn parallel_and_sequential_builds_agree() {
        let model = generate(&GenOptions {
            users: 3_000,
            seed: 7,
        });
        let one = Indexes::build_with(&model, 1);
        let four = Indexes::build_with(&model, 4);
        assert_eq!(one.stats(), four.stats());
        let login = one.order(SortKey::Login, false).to_vec();
        assert_eq!(login, four.order(SortKey::Login, false));
        for field in TextField::ALL {
            assert_eq!(one.substring(field, "an"), four.substring(field, "an"));
        }
        for field in TermField::ALL {
            let value = model.users[login[7] as usize].login.clone();
            assert_eq!(
                one.term(field, &value),
                four.term(field, &value),
                "{field:?}"
            );
        }
        assert_eq!(
            one.access(AccessScope::Any, None),
            four.access(AccessScope::Any, None)
        );
        assert_eq!(one.flag(Flag::TwoFactor), four.flag(Flag::TwoFactor));
    }
}
