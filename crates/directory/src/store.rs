//! Live updates: immutable snapshots swapped atomically, so readers never block.
//!
//! A [`Store`] holds the current [`Snapshot`] in an `ArcSwap`. Readers call [`Store::snapshot`] —
//! one atomic load, no lock — and keep that snapshot for as long as a query runs; it never
//! changes under them. Writers serialize on a mutex and publish a new snapshot per batch.
//!
//! **Atomicity.** A batch is applied to a copy of the model; every update is checked against the
//! would-be model as it stands after the previous updates of the same batch. If any update fails,
//! nothing is published and the version does not move; all errors are reported.
//!
//! **No copy of the world.** The copy is cheap: users and grants live in shared copy-on-write
//! chunks ([`crate::shared::Chunked`]), so a batch copies only the chunks it writes. The checks use
//! maps the writer keeps between batches (ids, case-folded logins, numbers), so a batch costs time
//! proportional to its own size. The indexes are not rebuilt per batch either: a snapshot carries
//! the indexes of an earlier version plus [`Snapshot::dirty`], the rows whose records changed since
//! (or that the indexes have never seen). The engine answers clean rows from the indexes and
//! re-checks dirty rows one by one (an *overlay*, as in log-structured stores). When the dirty set
//! outgrows [`StoreOptions::max_dirty`], a background thread rebuilds the indexes for that
//! version while batches go on, then publishes them with only the rows changed since as dirty
//! (a compaction); the writer waits for it only if the overlay reaches four times the limit.
//!
//! **Grants and catalog objects in place.** [`Indexes`] is a handful of shared parts (per-user
//! columns, structure, access, entity lookups), and inside the access part every holder bitmap is
//! shared too. A batch that adds or removes grants clones the parts it writes (pointer copies)
//! and copies only the bitmaps it changes: a grant added ORs its subject's members into its
//! role's holders at its scope (and the any-role, own-role and "in a project" aggregations); a
//! grant removed re-derives, for the users it reached only, what they still hold through every
//! remaining grant (the writer keeps grants by subject current, [`crate::facts::Subjects`]), so
//! removing one of several paths is exact. Catalog puts rebuild the entity lookups
//! (O(catalog)); those that change membership structure (a group moved, a team's listing or a
//! role's permissions changed, a project added or moved) also rebuild the structure and access
//! parts, O(users + grants) but without the per-user columns. These changes are logged and
//! replayed onto indexes a background rebuild produced for an earlier version. A grant to a
//! user also dirties the user's row (its own-role flag is a per-user column).
//!
//! **Deleting a user leaves a hole** ([`crate::model::Users`]): rows never move, so no index is
//! renumbered or rebuilt. The row is marked dirty, so the overlay drops it from every indexed
//! answer (the engine re-checks dirty rows against the model, where a hole matches nothing), and
//! [`Snapshot::all_rows`] (the universe of `not` queries and counts) excludes holes. The cascade is
//! incremental: the user's direct grants are removed as grant removals (exact in the access
//! index, one pass over the grants only when the user holds any directly), its team listings
//! are dropped from the model (O(its teams)), its memberships go with its record. A put may
//! reuse a deleted user's id, login and number; it gets a new row.
//!
//! **Compaction**: none on the writer's path and none in the background. A background rebuild
//! produces indexes without the holes (they are then clean and absent from every index); the
//! slots themselves stay until the directory is next loaded: a save writes no holes (numbers
//! that the missing rows would shift are written out), so a checkpoint reload is compact. A hole
//! costs one null pointer per row.
//!
//! **Still synchronous**: deleting a catalog object renumbers that catalog (and, through a
//! revalidation of the saved form, compacts user rows); it rebuilds every index before the batch
//! returns ([`Store::writer_rebuilds`] counts these).
//!
//! **Numbers are stable.** A user added without `number` gets max(number) + 1 over the live
//! users; a save writes every number that differs from the user's position in the file, so a
//! save → load keeps every number (GitLab ids never change).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use arc_swap::ArcSwap;
use roaring::RoaringBitmap;

use crate::error::{LoadErrorKind, LoadErrors};
use crate::facts::Subjects;
use crate::index::Indexes;
use crate::load::places::{Kind, Loc, Places, Style};
use crate::load::{convert_user, parse_timestamp, resolve_grant, Checker, Tables, Tolerated};
use crate::model::{self, AccessLevel, GroupIdx, Model, Row, State, Subject};
use crate::raw;
use crate::text::fold;

/// One consistent version of the directory: the model, and indexes over it or over an earlier
/// version that differs only in the rows of [`Snapshot::dirty`].
#[derive(Debug)]
pub struct Snapshot {
    /// Increases by one per applied batch; 0 for the initial model.
    pub version: u64,
    /// The model, exactly as of `version`.
    pub model: Arc<Model>,
    /// Indexes over the model as it was when they were built.
    pub index: Arc<Indexes>,
    /// Rows whose record differs from what `index` saw, or that `index` has never seen. Every
    /// other row is described exactly by `index`. Empty right after a rebuild.
    pub dirty: Arc<RoaringBitmap>,
    /// Grants and teams by subject, built on first use; shared by every snapshot over the same
    /// grants, groups and teams (a batch changing those starts a new one).
    subjects: Arc<OnceLock<Subjects>>,
}

impl Snapshot {
    /// A clean snapshot (version 0) of a model: builds its indexes.
    pub fn new(model: Model) -> Snapshot {
        let index = Indexes::build(&model);
        Snapshot::indexed(0, Arc::new(model), Arc::new(index))
    }

    /// A clean snapshot from a model and indexes built from exactly that model.
    pub fn indexed(version: u64, model: Arc<Model>, index: Arc<Indexes>) -> Snapshot {
        Snapshot {
            version,
            model,
            index,
            dirty: Arc::new(RoaringBitmap::new()),
            subjects: Arc::new(OnceLock::new()),
        }
    }

    /// Grants and team listings by subject (built once per set of indexes).
    pub fn subjects(&self) -> &Subjects {
        self.subjects.get_or_init(|| Subjects::build(&self.model))
    }

    /// Whether some rows are not described by the indexes.
    pub fn has_overlay(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Every row of the model.
    pub fn all_rows(&self) -> RoaringBitmap {
        self.model.users.live_rows()
    }

    /// The row of the user with this login (case-insensitive), overlay included.
    pub fn row_of_login(&self, login: &str) -> Option<Row> {
        let folded = fold(login);
        self.find(self.index.row_of_login(login), |u| fold(&u.login) == folded)
    }

    /// The row of the user with this id, overlay included.
    pub fn row_of_id(&self, id: &str) -> Option<Row> {
        self.find(self.index.row_of_id(id), |u| u.id == id)
    }

    /// The row of the user with this number, overlay included.
    pub fn row_of_number(&self, number: u64) -> Option<Row> {
        self.find(self.index.number(number), |u| u.number == number)
    }

    /// An index hit that is still clean, else a scan of the (few) dirty rows.
    fn find(&self, indexed: Option<Row>, matches: impl Fn(&model::User) -> bool) -> Option<Row> {
        if let Some(row) = indexed {
            if !self.dirty.contains(row) {
                return Some(row);
            }
        }
        self.dirty
            .iter()
            .find(|&row| self.model.users.get(row as usize).is_some_and(&matches))
    }
}

/// Tuning for a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Dirty rows at which the indexes are rebuilt. Queries re-check dirty rows one by one, so
    /// this bounds their extra cost; rebuilds are O(users log users).
    pub max_dirty: u64,
    /// Rebuild on a background thread while batches go on (the overlay keeps growing until the
    /// new indexes are published; at four times `max_dirty` the writer waits for the rebuild in
    /// flight). When `false`, the batch that crosses `max_dirty` rebuilds before it returns.
    pub background: bool,
}

impl StoreOptions {
    /// The default for a directory of `users` users: 1,024 rows, or one in a thousand users when
    /// that is more.
    pub fn for_users(users: usize) -> StoreOptions {
        StoreOptions {
            max_dirty: (users as u64 / 1000).max(1024),
            background: true,
        }
    }
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
    shared: Arc<Shared>,
}

/// What the store shares with its background rebuilds.
struct Shared {
    current: ArcSwap<Snapshot>,
    writer: Mutex<Writer>,
    options: StoreOptions,
    /// The background rebuild in flight, if any.
    rebuild: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Index rebuilds run on the writer's path (see [`Store::writer_rebuilds`]).
    writer_rebuilds: AtomicU64,
}

/// What the writer keeps between batches so that checking a batch never scans every user.
pub(crate) struct Writer {
    /// Id → row.
    pub(crate) ids: HashMap<String, Row>,
    /// Case-folded login → row.
    logins: HashMap<String, Row>,
    /// Number → row.
    numbers: BTreeMap<u64, Row>,
    /// What each version changed since the current indexes' model (for background rebuilds:
    /// the rows changed after the rebuilt version stay dirty, its index changes are replayed).
    log: Vec<Logged>,
    /// Grants and team listings by subject, current as of the last published version: what a
    /// grant removal asks to know whether a user still holds the role through another path.
    subjects: Subjects,
    /// Bumped by every rebuild the writer does itself; a background rebuild started under an
    /// older epoch is stale and dropped.
    epoch: u64,
}

/// One version's changes, kept until a rebuild covers them.
struct Logged {
    version: u64,
    /// Rows whose record the version wrote.
    rows: RoaringBitmap,
    /// The index changes it made in place.
    ops: Vec<IndexOp>,
}

/// A change a batch made to the indexes in place (instead of dirtying rows): replayed, in
/// order, onto indexes rebuilt in the background for an earlier version.
#[derive(Debug, Clone)]
pub(crate) enum IndexOp {
    /// A grant was added.
    GrantAdded(model::Grant),
    /// A grant was removed.
    GrantRemoved(model::Grant),
    /// Catalog objects were written; `members` when group, team, role or project membership
    /// structure changed (not only names).
    Catalog {
        /// The structure and access parts must be rebuilt too.
        members: bool,
    },
    /// A group was added under a parent: the forest's lists change, no member set does.
    GroupAdded,
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
/// addition only adds users the final directory's grant reaches). Catalog changes to members
/// rebuild the structure and access parts once from the final model, which already holds every
/// grant of the batch.
fn apply_ops(index: &mut Indexes, ops: &[IndexOp], model: &Model, subjects: &Subjects) {
    let members = ops
        .iter()
        .any(|op| matches!(op, IndexOp::Catalog { members: true }));
    let catalog = |op: &IndexOp| !matches!(op, IndexOp::GrantAdded(_) | IndexOp::GrantRemoved(_));
    if ops.iter().any(catalog) {
        index.catalog_changed(model, members);
    }
    if members {
        return;
    }
    if ops.iter().any(|op| matches!(op, IndexOp::GroupAdded)) {
        index.groups_added(model);
    }
    // Catalog first: the grants of the batch then see the final projects.
    for op in ops {
        if let IndexOp::ProjectAdded {
            project,
            organization,
        } = op
        {
            index.project_added(*project, *organization);
        }
    }
    for op in ops {
        match op {
            IndexOp::GrantAdded(grant) => index.grant_added(grant),
            IndexOp::GrantRemoved(grant) => {
                index.grant_removed(grant, |row| subjects.facts(model, row));
            }
            _ => {}
        }
    }
}

impl Writer {
    fn of_model(model: &Model) -> Writer {
        let mut writer = Writer {
            ids: HashMap::with_capacity(model.users.count()),
            logins: HashMap::with_capacity(model.users.count()),
            numbers: BTreeMap::new(),
            log: Vec::new(),
            subjects: Subjects::build(model),
            epoch: 0,
        };
        for (row, user) in model.users.iter() {
            writer.insert(row, user);
        }
        writer
    }

    /// Brings the grant maps up to date for a batch's index changes.
    fn apply_ops(&mut self, ops: &[IndexOp], model: &Model) {
        if ops
            .iter()
            .any(|op| matches!(op, IndexOp::Catalog { members: true }))
        {
            // Teams or groups changed: O(grants + teams), on the (rare) catalog path only.
            self.subjects = Subjects::build(model);
            return;
        }
        for op in ops {
            match op {
                IndexOp::GrantAdded(g) => self.subjects.grant_added(g.subject, g.role, g.scope),
                IndexOp::GrantRemoved(g) => {
                    self.subjects.grant_removed(g.subject, g.role, g.scope);
                }
                _ => {}
            }
        }
    }

    fn insert(&mut self, row: Row, user: &model::User) {
        self.ids.insert(user.id.clone(), row);
        self.logins.insert(fold(&user.login), row);
        self.numbers.insert(user.number, row);
    }

    /// Brings the maps up to date for a batch that wrote `changed` without renumbering rows.
    fn update(&mut self, changed: &RoaringBitmap, before: &Model, after: &Model) {
        for row in changed {
            if let Some(old) = before.users.get(row as usize) {
                self.remove(row, old);
            }
        }
        for row in changed {
            if let Some(new) = after.users.get(row as usize) {
                self.insert(row, new);
            }
        }
    }

    /// The largest number in use (ordered map: exact after removals and renumberings too).
    fn max_number(&self) -> u64 {
        self.numbers.keys().next_back().copied().unwrap_or(0)
    }

    /// Forgets `user`'s entries, but only those still pointing at `row` (another row may have
    /// taken the login or number in the same batch).
    fn remove(&mut self, row: Row, user: &model::User) {
        if self.ids.get(&user.id) == Some(&row) {
            self.ids.remove(&user.id);
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

impl Store {
    /// Wraps a validated model as version 0 (builds its indexes), with default options.
    pub fn new(model: Model) -> Store {
        let options = StoreOptions::for_users(model.users.count());
        Store::with_options(model, options)
    }

    /// Wraps a validated model as version 0 with explicit options.
    pub fn with_options(model: Model, options: StoreOptions) -> Store {
        let writer = Writer::of_model(&model);
        Store {
            shared: Arc::new(Shared {
                current: ArcSwap::from_pointee(Snapshot::new(model)),
                writer: Mutex::new(writer),
                options,
                rebuild: Mutex::new(None),
                writer_rebuilds: AtomicU64::new(0),
            }),
        }
    }

    /// A store whose version 0 is an existing clean snapshot (its indexes are reused; a
    /// snapshot with an overlay is re-indexed first).
    pub fn from_snapshot(snapshot: Arc<Snapshot>, options: StoreOptions) -> Store {
        let snapshot = if snapshot.has_overlay() {
            Arc::new(Snapshot::new(Model::clone(&snapshot.model)))
        } else {
            snapshot
        };
        let writer = Writer::of_model(&snapshot.model);
        Store {
            shared: Arc::new(Shared {
                current: ArcSwap::new(snapshot),
                writer: Mutex::new(writer),
                options,
                rebuild: Mutex::new(None),
                writer_rebuilds: AtomicU64::new(0),
            }),
        }
    }

    /// Wraps a validated model as `version`: a store reopened from a checkpoint of version N
    /// goes on numbering from N, so versions mean the same before and after a restart.
    pub fn at_version(model: Model, options: StoreOptions, version: u64) -> Store {
        let store = Store::with_options(model, options);
        let first = store.snapshot();
        store.shared.current.store(Arc::new(Snapshot::indexed(
            version,
            Arc::clone(&first.model),
            Arc::clone(&first.index),
        )));
        store
    }

    /// The current snapshot: one atomic load, never blocks, stays valid while held.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.current.load_full()
    }

    /// The current version.
    pub fn version(&self) -> u64 {
        self.shared.current.load().version
    }

    /// How many times a batch rebuilt every index before returning (a catalog deletion, or the
    /// overlay passing its limit without background rebuilds). User deletions, grants and
    /// catalog puts never do.
    pub fn writer_rebuilds(&self) -> u64 {
        self.shared.writer_rebuilds.load(Ordering::Relaxed)
    }

    /// Waits for a background rebuild in flight, if any, to publish its indexes.
    pub fn wait_for_rebuild(&self) {
        let handle = self
            .shared
            .rebuild
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            // A panicking rebuild publishes nothing; the overlay stays correct, only larger.
            let _ = handle.join();
        }
    }

    /// Applies a batch atomically and returns the new version (an empty batch changes nothing
    /// and returns the current version). On error nothing changes and every problem is listed,
    /// each placed as `batch[i] (user <id>)`.
    pub fn apply(&self, batch: &[Update]) -> Result<u64, LoadErrors> {
        self.commit(batch.is_empty(), |base, writer| {
            apply_batch(base, batch, writer)
        })
    }

    /// Runs `apply` on the current model under the writer lock and publishes its result as the
    /// next version (unless `empty`: then nothing runs and the current version is returned).
    pub(crate) fn commit<E>(
        &self,
        empty: bool,
        apply: impl FnOnce(&Model, &Writer) -> Result<Applied, E>,
    ) -> Result<u64, E> {
        // The writer state is only updated after a batch succeeds, so a panic mid-batch leaves
        // it as it was: a poisoned lock is safe to reuse.
        let shared = &self.shared;
        let mut writer = shared.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let base = shared.current.load_full();
        if empty {
            return Ok(base.version);
        }
        let applied = apply(&base.model, &writer)?;
        let version = base.version + 1;
        let Applied {
            model,
            changed,
            structural,
            ops,
        } = applied;
        let model = Arc::new(model);
        let mut dirty = (*base.dirty).clone();
        dirty |= &changed;
        let max_dirty = shared.options.max_dirty;
        let background = shared.options.background;
        let rebuild_now = structural || (!background && dirty.len() > max_dirty);
        let snapshot = if rebuild_now {
            if structural {
                let epoch = writer.epoch;
                *writer = Writer::of_model(&model);
                writer.epoch = epoch;
            } else {
                writer.update(&changed, &base.model, &model);
                writer.apply_ops(&ops, &model);
            }
            writer.epoch += 1;
            writer.log.clear();
            shared.writer_rebuilds.fetch_add(1, Ordering::Relaxed);
            let index = Indexes::build(&model);
            Snapshot::indexed(version, model, Arc::new(index))
        } else {
            writer.update(&changed, &base.model, &model);
            // Grants and catalog objects are updated in place, in parts shared copy-on-write
            // with the previous snapshot; the per-user columns are never copied.
            let (index, subjects) = if ops.is_empty() {
                (Arc::clone(&base.index), Arc::clone(&base.subjects))
            } else {
                writer.apply_ops(&ops, &model);
                let mut index = Indexes::clone(&base.index);
                apply_ops(&mut index, &ops, &model, &writer.subjects);
                (Arc::new(index), Arc::new(OnceLock::new()))
            };
            writer.log.push(Logged {
                version,
                rows: changed,
                ops,
            });
            Snapshot {
                version,
                model,
                index,
                dirty: Arc::new(dirty),
                subjects,
            }
        };
        let start_background = !rebuild_now && background && snapshot.dirty.len() > max_dirty;
        // Past four times the limit the writer waits for the rebuild in flight, so the overlay
        // (and what every query pays for it) stays bounded when updates outpace rebuilds.
        let over_cap = snapshot.dirty.len() > max_dirty.saturating_mul(4);
        let snapshot = Arc::new(snapshot);
        shared.current.store(Arc::clone(&snapshot));
        let epoch = writer.epoch;
        drop(writer);
        if start_background {
            self.start_rebuild(snapshot, epoch);
            if over_cap {
                self.wait_for_rebuild();
            }
        }
        Ok(version)
    }

    /// Starts a background rebuild of `snapshot`'s model unless one is already running.
    fn start_rebuild(&self, snapshot: Arc<Snapshot>, epoch: u64) {
        let mut slot = self
            .shared
            .rebuild
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        if let Some(done) = slot.take() {
            let _ = done.join();
        }
        let shared = Arc::clone(&self.shared);
        *slot = Some(std::thread::spawn(move || {
            let index = Arc::new(Indexes::build(&snapshot.model));
            shared.publish_rebuild(&snapshot, index, epoch);
        }));
    }
}

impl Shared {
    /// Publishes indexes built for `built` (an earlier or the current version): the current
    /// model with those indexes, and as dirty only the rows changed after `built`.
    fn publish_rebuild(&self, built: &Snapshot, index: Arc<Indexes>, epoch: u64) {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if writer.epoch != epoch {
            return; // the writer rebuilt (or renumbered rows) meanwhile: these are stale
        }
        writer.log.retain(|logged| logged.version > built.version);
        let mut dirty = RoaringBitmap::new();
        let mut ops = Vec::new();
        for logged in &writer.log {
            dirty |= &logged.rows;
            ops.extend(logged.ops.iter().cloned());
        }
        let current = self.current.load_full();
        // The index changes made since `built` (grants, catalog) are replayed onto the rebuilt
        // indexes against the current model: O(those changes).
        let index = if ops.is_empty() {
            index
        } else {
            let mut index = Indexes::clone(&index);
            apply_ops(&mut index, &ops, &current.model, &writer.subjects);
            Arc::new(index)
        };
        self.current.store(Arc::new(Snapshot {
            version: current.version,
            model: Arc::clone(&current.model),
            index,
            dirty: Arc::new(dirty),
            // The grants and teams by subject describe the model, not the indexes.
            subjects: Arc::clone(&current.subjects),
        }));
    }
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
}

/// Applies `batch` to a copy of `base`, or returns every error.
fn apply_batch(base: &Model, batch: &[Update], writer: &Writer) -> Result<Applied, LoadErrors> {
    let places = Places::identity(Style::Batch);
    let tolerated = Tolerated::new();
    let named = batch.iter().flat_map(Update::user_ids);
    let mut txn = Txn::new(base, writer, &places, &tolerated, named, true);
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

impl Update {
    /// The user ids this update names (for looking them up before the batch runs).
    fn user_ids(&self) -> Vec<&str> {
        match self {
            Update::AddUser(raw) | Update::ReplaceUser(raw) => vec![raw.id.as_str()],
            Update::RemoveUser { id }
            | Update::SetState { id, .. }
            | Update::SetAdmin { id, .. }
            | Update::SetTwoFactor { id, .. }
            | Update::Ban { id, .. }
            | Update::Unban { id } => vec![id.as_str()],
            Update::AddMembership { user, .. } | Update::RemoveMembership { user, .. } => {
                vec![user.as_str()]
            }
            Update::AddGrant(grant) | Update::RemoveGrant(grant) => {
                grant.user.iter().map(String::as_str).collect()
            }
        }
    }
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
    /// Grants by subject as of the base version (the writer's), for existence checks that do
    /// not scan every grant.
    held: &'a Subjects,
    /// The largest number in use so far.
    pub(crate) max_number: u64,
}

impl<'a> Txn<'a> {
    /// A transaction over a copy of `base`; `named` are the user ids the batch mentions (only
    /// those are looked up: the writer's map covers the rest). Without `catalog` the id tables
    /// of groups, projects, roles, … stay empty: a batch that resolves no reference (sign-ins)
    /// then costs nothing proportional to the catalog.
    pub(crate) fn new(
        base: &'a Model,
        writer: &'a Writer,
        places: &'a Places,
        tolerated: &'a Tolerated,
        named: impl Iterator<Item = &'a str>,
        catalog: bool,
    ) -> Txn<'a> {
        let mut tables = if catalog {
            Tables::of_entities(base)
        } else {
            Tables::default()
        };
        for id in named {
            if let Some(&row) = writer.ids.get(id) {
                if let Some(user) = base.users.get(row as usize) {
                    tables.users.insert(user.id.as_str(), row);
                }
            }
        }
        Txn {
            checker: Checker::new(places, tolerated),
            tables,
            model: base.clone(),
            removed: RoaringBitmap::new(),
            changed: Vec::new(),
            written: RoaringBitmap::new(),
            structural: false,
            ops: Vec::new(),
            held: &writer.subjects,
            max_number: writer.max_number(),
        }
    }

    /// The applied batch (deleted users stay holes: rows never move on the writer's path).
    pub(crate) fn finish(self) -> Applied {
        let Txn {
            model,
            written,
            structural,
            ops,
            ..
        } = self;
        Applied {
            model,
            changed: written,
            structural,
            ops,
        }
    }

    pub(crate) fn user_row(&mut self, index: usize, id: &str) -> Option<Row> {
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

    /// Applies one update and records what it wrote.
    fn apply(&mut self, index: usize, update: &'a Update) {
        let errors = self.checker.errors.len();
        self.apply_one(index, update);
        if self.checker.errors.len() > errors {
            return;
        }
        match update {
            // Deletion records its own writes (the row, its grants).
            Update::RemoveUser { .. } | Update::AddGrant(_) | Update::RemoveGrant(_) => {}
            _ => {
                for id in update.user_ids() {
                    if let Some(&row) = self.tables.users.get(id) {
                        self.written.insert(row);
                    }
                }
            }
        }
    }

    fn apply_one(&mut self, index: usize, update: &'a Update) {
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
        let row = self.model.users.slots() as Row;
        // A number that is not the position must be written out, or a save → load would
        // renumber the user (a save also writes those that holes moved).
        let explicit = explicit || number != u64::from(row) + 1;
        if let Some(user) = self.convert(index, raw, number, explicit) {
            let row = self.model.users.push(user);
            self.tables.users.insert(&raw.id, row);
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
        if let Some(user) = self.convert(index, raw, number, explicit) {
            self.model.users.set(row as usize, user);
            self.changed.push((index, row));
        }
    }

    /// Deletes the user at `row`: its row becomes a hole (no renumbering) and is dirty, so the
    /// overlay hides it from every indexed answer until a rebuild drops it. Its direct grants
    /// are removed as grant removals (exact in the access index), its team listings dropped
    /// from the model (the team member sets in the index only name it while it is dirty).
    /// O(the user's grants and teams), plus one pass over the grants when it holds any directly.
    pub(crate) fn remove_user(&mut self, id: &str, row: Row) {
        self.tables.users.remove(id);
        if !self.model.users.remove(row) {
            return;
        }
        self.removed.insert(row);
        self.written.insert(row);
        let subject = Subject::User(row);
        let granted_in_batch = self
            .ops
            .iter()
            .any(|op| matches!(op, IndexOp::GrantAdded(g) if g.subject == subject));
        if granted_in_batch || self.held.has_grants(subject) {
            while let Some(at) = self.model.grants.position(|g| g.subject == subject) {
                if let Some(grant) = self.model.grants.remove(at) {
                    self.grant_changed(IndexOp::GrantRemoved(grant));
                }
            }
        }
        // A team written by this batch may list the user without the base version knowing.
        let teams_written = self
            .ops
            .iter()
            .any(|op| matches!(op, IndexOp::Catalog { .. }));
        let teams: Vec<usize> = if teams_written {
            (0..self.model.teams.len()).collect()
        } else {
            self.held
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
            Some(existing) => existing.access = access,
            None => memberships.push(model::Membership { group, access }),
        }
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
                memberships.remove(at);
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

    /// Whether the working model has a grant equal to `grant`: the base version's count plus
    /// this batch's additions minus its removals, O(the subject's grants + the batch).
    pub(crate) fn has_grant(&self, grant: &model::Grant) -> bool {
        let mut count = self
            .held
            .count_grants(grant.subject, grant.role, grant.scope) as i64;
        for op in &self.ops {
            match op {
                IndexOp::GrantAdded(g) if g == grant => count += 1,
                IndexOp::GrantRemoved(g) if g == grant => count -= 1,
                _ => {}
            }
        }
        count > 0
    }

    /// Adds a resolved grant.
    pub(crate) fn add_grant(&mut self, grant: model::Grant) {
        self.grant_changed(IndexOp::GrantAdded(grant));
        self.model.grants.push(grant);
    }

    /// Records a grant change. A grant to a user also dirties the user's row: the per-user
    /// flags (`has:role`-like facts of the user itself) are columns, re-checked by the overlay.
    fn grant_changed(&mut self, op: IndexOp) {
        if let IndexOp::GrantAdded(grant) | IndexOp::GrantRemoved(grant) = &op {
            if let Subject::User(row) = grant.subject {
                self.written.insert(row);
            }
        }
        self.ops.push(op);
    }

    /// Removes one grant equal to `raw_grant` (an error if there is none).
    pub(crate) fn remove_grant(&mut self, index: usize, raw_grant: &raw::Grant) {
        let Some(grant) = resolve_grant(&mut self.checker, &self.tables, index, raw_grant) else {
            return;
        };
        let found = if self.has_grant(&grant) {
            self.model.grants.position(|g| *g == grant)
        } else {
            None
        };
        match found {
            Some(at) => {
                self.model.grants.remove(at);
                self.grant_changed(IndexOp::GrantRemoved(grant));
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
        let mut stale: HashSet<Row> = self.changed.iter().map(|&(_, row)| row).collect();
        stale.extend(self.removed.iter());
        let users = &self.model.users;
        let mut logins: HashMap<String, Row> = HashMap::new();
        let mut numbers: HashMap<u64, Row> = HashMap::new();
        let mut problems = Vec::new();
        let mut seen_rows = HashSet::new();
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
                        login: me.login.clone(),
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
        .map(|u| u.id.clone())
        .unwrap_or_default()
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
