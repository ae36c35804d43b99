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
//! re-checks dirty rows one by one (an *overlay*, as in log-structured stores). When the rows
//! re-checked outgrow [`StoreOptions::max_dirty`], a background thread compacts while batches
//! go on: a delta level over the dirty rows (below), or past [`StoreOptions::max_delta`] a
//! rebuild of every index published with only the rows changed since as dirty; the writer
//! waits for it only if the rows re-checked reach four times the limit.
//!
//! **Sign-ins and flag changes in place.** A sign-in of a row the indexes describe (not dirty,
//! not otherwise written by the batch, with a previous last access) moves the row inside the
//! last-access column, a copy-on-write chunked column (`index::live_column`): one sign-in copies
//! the one or two leaves of 64 entries (768 bytes) it leaves and enters, the leaf pointers and
//! row sets of their chunks (1,024 entries each), the chunk pointers of their groups and one
//! 4 KB leaf of the column's values by row (a group's union of its chunks is recomputed by the
//! first reader that needs it, not by the writer), and the row stays clean. A user put or patch that changes only the state, admin or 2FA flags of such a row
//! flips its bits in the flag and state bitmaps (each shared copy-on-write and copied whole:
//! ~128 KB for a flag a third of 1M users hold). Both are logged
//! (`IndexOp::Touched`, `IndexOp::Flagged`) and replayed onto background rebuilds; a row
//! that is dirty stays on the overlay instead.
//!
//! **Grants and catalog objects in place.** [`Indexes`] is a handful of shared parts (per-user
//! columns, structure, access, entity lookups), and inside the access part every holder bitmap is
//! shared too (those scoped to an organization or a project in chunked copy-on-write tables, so
//! writing one copies one leaf of pointers, not a map of every scoped bitmap). A batch that adds or removes grants clones the parts it writes (pointer copies)
//! and copies only the bitmaps it changes: a grant added ORs its subject's members into its
//! role's holders at its scope (and the any-role, own-role and "in a project" aggregations). The
//! writer keeps every grant by subject ([`crate::facts::Subjects`], copy-on-write per subject,
//! each grant with a sequence number whose rank is its position in the model's grant list), so a
//! removal finds its grant without a scan, and every snapshot publishes that copy (a few pointer
//! copies) instead of rebuilding it. A grant removed is re-derived on bitmaps for the users it
//! reached: those that another grant of the same role and scope reaches (the user's own grants,
//! groups and teams holding it) keep it; the role's union then loses only the users no other
//! scope of the role holds, each any-role aggregation only those no other role holds there — so
//! removing one of several paths is exact, in time proportional to those users and the bitmaps
//! they are in. Catalog puts move the object's names in its kind's entity lookup (sharded,
//! copy-on-write per shard). A group moved changes only its moved subtree's members in its
//! old and new ancestors' transitive members and in the teams listing them (each member
//! bitmap shared copy-on-write; O(those members), never an ancestor's whole set), and
//! re-derives the access of those members (exact, from their facts). Those that change other
//! membership structure (a team's listing or a role's permissions changed, a project moved to
//! another organization) still rebuild the structure and access parts, O(users + grants) but
//! without the per-user columns. These changes are logged and replayed onto indexes a
//! background rebuild produced for an earlier version. A grant to a user sets or clears its
//! own-role flag in place (from the grants after the batch).
//!
//! **Memberships: the overlay first, then in place.** A membership costs the writer ~10 µs as
//! a dirty row and ~0.2 ms in place at 1M users (tens of holder sets' blocks copied), so with
//! background compactions a batch leaves memberships to the overlay while the rows re-checked
//! one by one stay under twice `max_dirty` (`overlay_room`, `Writer::overlay_room`). Past
//! that, or with compactions on the writer's path, a membership put or delete of a clean row
//! (not otherwise written by the batch) is logged as `IndexOp::Membership`: the row's bits in
//! the group's direct
//! members, in the transitive members of the group and its ancestors and in the teams listing
//! them follow its final memberships (each bitmap copied on write), its has-group flag too, and
//! its access is re-derived from its facts for the grants of the groups and teams whose bit
//! changed — after the batch's grant changes, so a grant removed in the same batch still saw
//! the row in its old groups. The row stays clean. The re-derivation summarises what the row
//! still holds once (sets of its (role, scope)s, roles, scopes, own roles, whether one covers a
//! project) and asks them per grant in O(1): O(the grants of the groups it joined or left),
//! never a scan of the projects or of the holder bitmaps. Replayed logs apply grants before
//! group moves for the same reason: a grant removed from a group that a subtree later left
//! still reaches the subtree's members, which the move then re-derives for the final grants.
//!
//! **Deleting a user leaves a hole** ([`crate::model::Users`]): rows never move, so no index is
//! renumbered or rebuilt. The row is marked dirty, so the overlay drops it from every indexed
//! answer (the engine re-checks dirty rows against the model, where a hole matches nothing), and
//! [`Snapshot::all_rows`] (the universe of `not` queries and counts) excludes holes. The cascade is
//! incremental: the user's direct grants (found by subject) are removed from the model and the
//! grants by subject but not from the indexes (a grant to a user sets only that user's bits,
//! which every answer leaves out with the hole, like its bits in the member sets; removing
//! them in place was 56 % of a deletion), its team listings are dropped from the model
//! (O(its teams)), its memberships go with its record. A batch's grants by subject, changed by
//! its transaction, are adopted by the writer rather than changed again. A put may
//! reuse a deleted user's id, login and number; it gets a new row.
//!
//! **Readers during a stream.** The overlay derives a dirty row's facts (groups, teams,
//! grants) from [`Snapshot::row_facts`]: the writer's grants by subject
//! ([`crate::facts::Subjects`], copy-on-write per subject) shared by every snapshot. Before, a
//! grant or catalog change made the next reader rebuild them from the model in O(grants):
//! 240–700 ms per rebuild at 100k users, which was nearly all of the reader's p99 during a
//! stream (the `changes` bench prints its slowest reads with their dirty rows). Background
//! rebuilds run on one thread, so on two cores they do not starve the readers; the overlay
//! skips a dirty row that a record-only conjunct refutes before deriving its facts.
//!
//! **The delta level** (log-structured, L0/L1; [`Delta`], `store/delta.rs`). The overlay above
//! is L0; L1 is a whole [`Indexes`] built by the background thread over the model restricted
//! to the dirty rows (every other row a hole, grants to other users left out), gathered from
//! the dirty rows and the grants by subject: O(dirty rows and their grants) plus the catalog
//! (groups, teams and their grants), never a pass over every slot or grant, exact for those rows
//! in every part (columns, flags, last access, structure, access), and kept current by the
//! writer's `IndexOp`s that are not per-row (grants, catalog), copy-on-write like the base:
//! the parts that depend on the catalog only (entity lookups, group forest, projects'
//! organizations) are made once per batch, on the base, and shared by every level (pointer
//! copies); only what depends on a level's rows is applied per level. A
//! row written again (or changed per row) leaves L1 and is re-checked. `Snapshot::dirty` keeps
//! meaning "not described by the base" (so every reader that re-checks dirty rows — the
//! dialects' orders and searches — stays exact), with the L1 rows a subset the engine answers
//! from the L1 indexes: `(base ∖ dirty) ∪ (L1 ∩ L1 rows) ∪ recheck(dirty ∖ L1 rows)`, orders
//! merged run by run. L1 is a stack of levels with disjoint rows ([`Levels`]). Compaction
//! ([`StoreOptions`]): past `max_dirty` live rows re-checked one by one, a new level over those
//! rows, with the newest levels no larger than what it covers folded in (a binary counter's
//! carry: O(log) levels, each row rebuilt O(log) times; one level over every dirty row made a
//! stream's compactions cost ~D²/`max_dirty` and the writer wait more and more); past
//! `max_delta` dirty rows (5 % of the users by default), a whole rebuild on one thread (the
//! levels dropped). Holes are never counted against `max_dirty` (queries skip them in O(1)). Chosen over persistent per-term
//! structures (copy-on-write term and trigram bitmaps, `imbl` maps for the dictionaries)
//! because it reuses the existing builders unchanged and keeps the base's compact arena
//! dictionaries; its costs are a second plan evaluation per query while L1 exists, a few L1
//! per-row arrays spanning the slots (zeroed, or shared leaves), and a writer log (for replay onto rebuilds) that now
//! lives until a whole rebuild. A team-listing or role-permission change (`IndexOp::Members`)
//! drops L1 rather than rebuilding its structure from the full model.
//!
//! **When quiet** ([`StoreOptions::idle_compaction`], 1 s by default): a store with a delta
//! level (or more than `max_dirty` dirty rows) that received no batch for that long folds
//! everything into a whole rebuild on its compaction thread, so queries stop paying for the
//! levels and the overlay, and the levels, the dirty set and the writer's log are dropped (the
//! heap goes back to a fresh build's). Compactions run on one thread for the store's life
//! (`store/compactor.rs`), which also times the quiet period. A batch that meets the
//! back-pressure cap while such a rebuild (seconds at 1M users) is in flight builds its delta
//! level itself rather than wait for it. [`Store::compact`] does the same on demand.
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

mod compactor;
mod delta;
mod grants;
mod rebuild;
mod replay;
mod snapshot;
mod txn;
mod writer;

#[cfg(test)]
mod batch_paths;
#[cfg(test)]
mod replayed_ops;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::error::LoadErrors;
use crate::index::Indexes;
use crate::model::Model;

pub use delta::{Delta, Levels, MAX_LEVELS};
pub use replay::Replay;
pub use snapshot::Snapshot;
pub use txn::Update;
pub(crate) use txn::{Applied, Txn};
pub(crate) use writer::{IndexOp, Writer};

use compactor::Compactor;
use delta::Written;
use rebuild::Compaction;
use txn::apply_batch;
use writer::{apply_ops, settle_row_changes, Logged};

/// Tuning for a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Live rows that neither the base indexes nor any delta level describe at which the store
    /// compacts: it builds a new delta level over them, folding in the newest small levels
    /// ([`Delta`], [`Levels`]), or rebuilds the whole directory past
    /// [`StoreOptions::max_delta`]. Queries re-check those rows one by
    /// one, so this bounds their extra cost.
    pub max_dirty: u64,
    /// Dirty rows past which a compaction rebuilds every index (O(users log users)) instead of
    /// a delta level over the dirty rows (O(dirty rows and their grants) plus the catalog).
    /// 0: never a delta level.
    pub max_delta: u64,
    /// Compact on a background thread while batches go on (the overlay keeps growing until the
    /// new indexes are published; at four times `max_dirty` the writer waits for the compaction
    /// in flight). When `false`, the batch that crosses `max_dirty` compacts before it returns:
    /// no thread besides the writer and the readers, so on a machine whose cores the readers
    /// and the writer already take, readers do not wait for a core behind a compaction (at 1M
    /// users on two cores, a reader's p99 during a stream 1.3–1.8 ms instead of 5.6–7.3), at
    /// the price of that batch's build time (10–80 ms at 1M users for a delta level) and 5–20 %
    /// of the single-change throughput (`benches/RESULTS.md`, "fore13").
    pub background: bool,
    /// After this long without a batch, the store folds its delta levels and dirty rows into a
    /// whole rebuild of every index on its compaction thread (when it has a delta level or
    /// more than `max_dirty` dirty rows): queries stop paying for the levels and the overlay,
    /// and the store's memory goes back to what a fresh build of its directory takes (the
    /// levels, the dirty set and the writer's log since the last whole rebuild are dropped;
    /// at 100k users after 100k changes, 180 → 161 MiB of heap against 160 fresh,
    /// `benches/RESULTS.md` "idle13"). One whole rebuild per `max_dirty` changed rows at
    /// most, so a trickle of changes does not rebuild every period. `None`: never (a
    /// compaction runs only when a batch crosses `max_dirty`). Only with `background`.
    pub idle_compaction: Option<Duration>,
}

impl StoreOptions {
    /// The default for a directory of `users` users: one row in ten thousand checked one by
    /// one, at least 64 and at most 128 (a delta level over the dirty rows costs O(dirty rows),
    /// ~20 ms for a few hundred rows at 1M users on a busy machine, so it is built early: the rows checked one
    /// by one are what a query pays for during a stream), and a delta level up to one in twenty
    /// users (5 %).
    pub fn for_users(users: usize) -> StoreOptions {
        StoreOptions {
            max_dirty: (users as u64 / 10_000).clamp(64, 128),
            max_delta: users as u64 / 20,
            background: true,
            idle_compaction: Some(Duration::from_secs(1)),
        }
    }

    /// Never compacts (no delta level, no rebuild): the overlay grows without bound. What a
    /// measurement of the writer's own per-batch cost, or a test of the in-place index changes
    /// alone, wants.
    pub fn never_compact() -> StoreOptions {
        StoreOptions {
            max_dirty: u64::MAX,
            max_delta: 0,
            background: false,
            idle_compaction: None,
        }
    }
}
/// Rows the batch after `snapshot` may leave to the overlay instead of changing the indexes in
/// place ([`Writer::overlay_room`]): up to twice [`StoreOptions::max_dirty`] rows re-checked
/// one by one when compactions run in the background; up to `max_dirty` when delta levels are
/// built on the writer's path; none when the store never builds one (`max_delta` 0: the rows
/// would wait for a whole rebuild).
///
/// Twice: past `max_dirty` a compaction starts, and the writer waits for it at four times;
/// the rows that can only be dirty (patches of texts, new users) keep the other half. At 1M
/// users the single-change stream ran at 15–16k batches/s with every membership in place,
/// 20–21k with this room at 2×, 21–22k at 3× but with a back-pressure wait per stream
/// (`benches/RESULTS.md` "room13"). On the writer's path the batch that crosses `max_dirty`
/// builds the level itself, so the room ends there: a membership left dirty costs ~12 µs
/// and its share of that build, against ~0.2 ms in place (`benches/RESULTS.md` "fore13").
fn overlay_room(snapshot: &Snapshot, options: &StoreOptions) -> u64 {
    let limit = if options.background {
        options.max_dirty.saturating_mul(2)
    } else if options.max_delta > 0 {
        options.max_dirty
    } else {
        0
    };
    limit.saturating_sub(snapshot.undescribed())
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
    /// The compaction thread and the compaction in flight, if any.
    compactor: Compactor,
    /// Whether the compaction in flight is a whole rebuild started because the store was
    /// quiet ([`StoreOptions::idle_compaction`]): a batch past the back-pressure cap builds
    /// its own delta level rather than wait seconds for it.
    idle_rebuild: AtomicBool,
    /// When the store opened, and when the last batch was published (nanoseconds after).
    opened: std::time::Instant,
    last_commit: AtomicU64,
    /// Index rebuilds run on the writer's path (see [`Store::writer_rebuilds`]).
    writer_rebuilds: AtomicU64,
    /// Batches that waited for a compaction in flight, and their time waiting in nanoseconds
    /// (see [`Store::backpressure`]).
    waits: AtomicU64,
    waited_nanos: AtomicU64,
    /// Delta levels built, and the rows they were built over (see [`Store::backpressure`]).
    delta_builds: AtomicU64,
    delta_rows: AtomicU64,
}

/// How often, and how long, batches waited for a background compaction before returning (the
/// writer's back-pressure: past four times [`StoreOptions::max_dirty`] rows re-checked one by
/// one), and the compaction work behind them. The waits are the outliers of a change stream's
/// per-batch times; the rows built measure the compactions' work whatever the machine's load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backpressure {
    /// Batches that waited.
    pub waits: u64,
    /// Their total time waiting.
    pub waited: std::time::Duration,
    /// Delta levels built.
    pub delta_builds: u64,
    /// The rows those builds covered, in all (each build is O(its rows)).
    pub delta_rows: u64,
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
        Store::assemble(Arc::new(Snapshot::new(model)), writer, options)
    }

    /// A store publishing `snapshot`, with `writer` holding the maps of its model.
    fn assemble(snapshot: Arc<Snapshot>, mut writer: Writer, options: StoreOptions) -> Store {
        writer.overlay_room = overlay_room(&snapshot, &options);
        // The writer's grants by subject describe this model: readers and delta builds share
        // them instead of building their own (unless the snapshot already has some).
        let _ = snapshot.subjects.set(writer.subjects.clone());
        Store {
            shared: Arc::new(Shared {
                current: ArcSwap::new(snapshot),
                writer: Mutex::new(writer),
                options,
                compactor: Compactor::default(),
                idle_rebuild: AtomicBool::new(false),
                opened: std::time::Instant::now(),
                last_commit: AtomicU64::new(0),
                writer_rebuilds: AtomicU64::new(0),
                waits: AtomicU64::new(0),
                waited_nanos: AtomicU64::new(0),
                delta_builds: AtomicU64::new(0),
                delta_rows: AtomicU64::new(0),
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
        Store::assemble(snapshot, writer, options)
    }

    /// Wraps a validated model as `version`: a store reopened from a checkpoint of version N
    /// goes on numbering from N, so versions mean the same before and after a restart.
    pub fn at_version(model: Model, options: StoreOptions, version: u64) -> Store {
        let store = Store::with_options(model, options);
        let first = store.snapshot();
        let mut renumbered =
            Snapshot::indexed(version, Arc::clone(&first.model), Arc::clone(&first.index));
        renumbered.subjects = Arc::clone(&first.subjects);
        store.shared.current.store(Arc::new(renumbered));
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

    /// The batches that waited for a background compaction so far, how long in all, and the
    /// delta levels built.
    pub fn backpressure(&self) -> Backpressure {
        let shared = &self.shared;
        Backpressure {
            waits: shared.waits.load(Ordering::Relaxed),
            waited: std::time::Duration::from_nanos(shared.waited_nanos.load(Ordering::Relaxed)),
            delta_builds: shared.delta_builds.load(Ordering::Relaxed),
            delta_rows: shared.delta_rows.load(Ordering::Relaxed),
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
            mut changed,
            structural,
            mut ops,
            subjects: batch_subjects,
        } = applied;
        // Whether the grants by subject changed (else every snapshot keeps sharing them).
        let grants_changed = batch_subjects.is_some();
        settle_row_changes(&mut ops, &mut changed, &base.dirty);
        let model = Arc::new(model);
        // The rows this batch adds to the overlay; the dirty set is copied only when there is
        // one (a sign-in or a flag change of a clean row adds none, and copying a set of a
        // thousand rows spread over the directory is a dozen allocations).
        let mut newly_dirty = changed.clone();
        let StoreOptions {
            max_dirty,
            background,
            ..
        } = shared.options;
        writer.follow(
            &changed,
            structural,
            &ops,
            batch_subjects,
            (&base.model, &model),
        );
        let mut snapshot = if structural {
            let snapshot = Snapshot::indexed(
                version,
                Arc::clone(&model),
                Arc::new(Indexes::build(&model)),
            );
            let _ = snapshot.subjects.set(writer.subjects.clone());
            snapshot
        } else {
            // Grants and catalog objects are updated in place, in parts shared copy-on-write
            // with the previous snapshot; the per-user columns are never copied.
            let index = if ops.is_empty() {
                Arc::clone(&base.index)
            } else {
                let mut index = Indexes::clone(&base.index);
                newly_dirty |= apply_ops(&mut index, &ops, &model, &writer.subjects);
                Arc::new(index)
            };
            // Grants and teams by subject describe the model: per-row changes keep them, other
            // changes publish the writer's (kept current, copied in a few pointer copies).
            let subjects = if !grants_changed && ops.iter().all(IndexOp::is_row_change) {
                Arc::clone(&base.subjects)
            } else {
                Arc::new(OnceLock::from(writer.subjects.clone()))
            };
            let deltas = base.deltas.follow(&Written {
                changed: &changed,
                ops: &ops,
                model: &model,
                subjects: &writer.subjects,
                catalog: &index,
            });
            writer.log.push(Logged {
                version,
                rows: changed,
                ops,
            });
            Snapshot {
                version,
                model: Arc::clone(&model),
                index,
                dirty: if newly_dirty.is_subset(&base.dirty) {
                    Arc::clone(&base.dirty)
                } else {
                    Arc::new(&*base.dirty | &newly_dirty)
                },
                deltas,
                subjects,
            }
        };
        let compaction = Compaction::wanted(&snapshot, &shared.options);
        // A whole rebuild started because the store was quiet takes O(users) (seconds at 1M);
        // a batch that finds the overlay past the back-pressure cap meanwhile builds its own
        // delta level instead of waiting for it.
        let beside_idle_rebuild = background
            && shared.idle_rebuild.load(Ordering::Acquire)
            && snapshot.undescribed() > max_dirty.saturating_mul(4);
        if (!background || beside_idle_rebuild) && compaction == Some(Compaction::Delta) {
            let built = shared.build_level(&snapshot, &writer.subjects);
            snapshot.deltas = snapshot.deltas.with_level(built);
        }
        if structural || (!background && compaction == Some(Compaction::Full)) {
            writer.epoch += 1;
            writer.log.clear();
            shared.writer_rebuilds.fetch_add(1, Ordering::Relaxed);
            if !structural {
                let subjects = Arc::clone(&snapshot.subjects);
                snapshot = Snapshot::indexed(
                    version,
                    Arc::clone(&model),
                    Arc::new(Indexes::build(&model)),
                );
                snapshot.subjects = subjects;
            }
        }
        let start_background = compaction.filter(|_| background && !structural);
        // Past four times the limit the writer waits for the compaction in flight, so the overlay
        // (and what every query pays for it) stays bounded when updates outpace compactions.
        let over_cap = snapshot.undescribed() > max_dirty.saturating_mul(4);
        writer.overlay_room = overlay_room(&snapshot, &shared.options);
        let snapshot = Arc::new(snapshot);
        shared.current.store(Arc::clone(&snapshot));
        let now = shared.opened.elapsed().as_nanos();
        shared
            .last_commit
            .store(u64::try_from(now).unwrap_or(u64::MAX), Ordering::Relaxed);
        let epoch = writer.epoch;
        drop(writer);
        if let Some(kind) = start_background {
            let _ = self.start_rebuild(snapshot, epoch, kind);
            if over_cap {
                let started = std::time::Instant::now();
                self.wait_for_rebuild();
                let waited = started.elapsed().as_nanos() as u64;
                shared.waits.fetch_add(1, Ordering::Relaxed);
                shared.waited_nanos.fetch_add(waited, Ordering::Relaxed);
            }
        }
        Ok(version)
    }
}
