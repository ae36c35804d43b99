//! The durable store: a live [`Store`] whose batches are logged and fsynced before anyone sees
//! them.
//!
//! # The order of a batch, and why
//! 1. **Validate and apply in memory**, under the writer lock, into the *head* store — a
//!    [`Store`] no reader looks at. A refused batch stops here: nothing logged, nothing seen.
//! 2. **Append** its record to the log's buffer (no system call, still under the writer lock, so
//!    records are in version order), and release the lock: the next batch can be validated
//!    against this one while it waits for the disk.
//! 3. **Wait for the write and fsync** (group commit: the first waiter writes every buffered
//!    record and fsyncs once for all of them, see [`crate::wal`]).
//! 4. **Publish**: the newest durable snapshot becomes what [`DurableStore::snapshot`] returns,
//!    and `apply` returns its version (the acknowledgement).
//!
//! So a reader never sees a batch that a crash could take back, and a returned version is on
//! disk. A crash before 3 completes loses only unacknowledged batches, each whole: recovery
//! replays whole records and drops a torn last one. If a write or fsync fails, the head may hold
//! batches the log does not: the store then refuses every further write (readers go on
//! seeing the last durable version) and must be reopened, which recovers from the disk.
//!
//! # Recovery
//! Logged batches are replayed into the model alone ([`Replay`]: the live store's own
//! transaction and validation, without indexes, overlays or publication), and the head store is
//! indexed once, after the last record ([`Replay::into_store`]).
//!
//! # Checkpoints
//! A checkpoint blocks the writer only to switch logs: under the writer lock the current log
//! is fsynced, a fresh log (starting after the head version) is created, and the head
//! snapshot is taken. Serializing that snapshot (an immutable, shared model) to the checkpoint
//! file, and removing the older checkpoint and logs, happens after the lock is released —
//! in a background thread when the log outgrows [`DurableOptions::checkpoint_bytes`].
//! Readers never wait for any of it.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use userql_directory::changes::{Change, ChangeErrors};
use userql_directory::model::Model;
use userql_directory::save::save_ndjson;
use userql_directory::store::{Replay, StoreOptions};
use userql_directory::{load_ndjson, load_path, Snapshot, Store};

use crate::checkpoint;
use crate::error::{StateError, Warning};
use crate::layout::{sync_dir, Layout};
use crate::lock::DirLock;
use crate::recover::{recover, Tail};
use crate::wal::{Log, HEADER_LEN, MAX_PAYLOAD};

/// A batch type the durable store can log (as its JSON array) and replay.
pub trait Batch: Serialize + DeserializeOwned + Sized {
    /// Why the live store refuses a batch.
    type Error: std::fmt::Display + std::fmt::Debug;

    /// Applies a batch atomically to the live store and returns the new version (the current
    /// one for an empty batch).
    fn apply(store: &Store, batch: &[Self]) -> Result<u64, Self::Error>;

    /// Applies a logged batch during recovery, to the model alone, with exactly the semantics
    /// of [`Batch::apply`] (the same validation, cascades and numbering): recovery builds the
    /// indexes once, after the last record, instead of publishing every batch.
    fn replay(replay: &mut Replay, batch: &[Self]) -> Result<u64, Self::Error>;
}

/// The change format of changes.md: a batch is logged as the JSON array of its changes.
impl Batch for Change {
    type Error = ChangeErrors;

    fn apply(store: &Store, batch: &[Change]) -> Result<u64, ChangeErrors> {
        store.apply_changes(batch)
    }

    fn replay(replay: &mut Replay, batch: &[Change]) -> Result<u64, ChangeErrors> {
        replay.apply_changes(batch)
    }
}

/// Why a batch was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError<E: std::fmt::Display + std::fmt::Debug> {
    /// The live store refused the batch (it broke a rule of the directory): nothing changed.
    #[error("{0}")]
    Refused(E),
    /// The log could not make the batch durable (the store accepts no more writes).
    #[error(transparent)]
    State(#[from] StateError),
}

/// Tuning for a [`DurableStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurableOptions {
    /// The live store's options; `None` picks [`StoreOptions::for_users`].
    pub store: Option<StoreOptions>,
    /// Start a background checkpoint when the log reaches this many bytes; `None`: only on
    /// [`DurableStore::checkpoint`].
    pub checkpoint_bytes: Option<u64>,
}

impl Default for DurableOptions {
    /// Background checkpoints every 64 MiB of log.
    fn default() -> DurableOptions {
        DurableOptions {
            store: None,
            checkpoint_bytes: Some(64 << 20),
        }
    }
}

/// What a checkpoint wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointReport {
    /// The version it covers.
    pub version: u64,
    /// Its size in bytes (0 if the newest checkpoint already covered the version).
    pub bytes: u64,
    /// How long the writer was blocked (the log switch).
    pub writer_blocked: Duration,
    /// How long the whole checkpoint took.
    pub total: Duration,
}

/// A live directory whose batches survive crashes. See the module docs for the order of a
/// batch.
pub struct DurableStore<B: Batch> {
    shared: Arc<Shared>,
    _batch: PhantomData<fn(&B)>,
}

struct Shared {
    layout: Layout,
    /// Held for the store's lifetime.
    _lock: DirLock,
    /// The head: every batch that passed validation, durable or not. Only the writer reads it.
    head: Store,
    /// What readers see: the newest durable version.
    published: ArcSwap<Snapshot>,
    writer: Mutex<Writer>,
    /// Head snapshots appended but not yet published, oldest first.
    pending: Mutex<VecDeque<Arc<Snapshot>>>,
    /// Held while a checkpoint runs (one at a time); the version of the newest checkpoint.
    checkpointed: Mutex<u64>,
    /// The background checkpoint in flight, if any.
    background: Mutex<Option<JoinHandle<Result<CheckpointReport, StateError>>>>,
    options: DurableOptions,
    warnings: Vec<Warning>,
    /// Fsyncs of logs already switched away from.
    retired_fsyncs: std::sync::atomic::AtomicU64,
}

struct Writer {
    log: Arc<Log>,
    /// The first failure that left the head ahead of the log.
    failed: Option<String>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here leaves its data consistent before anything can panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<B: Batch> DurableStore<B> {
    /// Opens the state directory `dir`, seeding it from `seed` (a directory file) if it does
    /// not exist yet or is empty; `seed` is ignored for a directory that holds state. Takes the
    /// directory's lock for the store's lifetime, and recovers: see [`crate::recover`].
    pub fn open(
        dir: &Path,
        seed: Option<&Path>,
        options: DurableOptions,
    ) -> Result<DurableStore<B>, StateError> {
        if is_unseeded(dir) {
            if let Some(seed) = seed {
                let model = load_path(seed).map_err(|errors| StateError::Seed {
                    path: seed.to_path_buf(),
                    reason: errors.to_string(),
                })?;
                if let Some(store) = Self::seed(dir, model, options)? {
                    return Ok(store);
                }
            }
        }
        let layout = Layout::new(dir);
        if !dir.is_dir() {
            return Err(StateError::NotSeeded {
                dir: dir.to_path_buf(),
            });
        }
        let lock = DirLock::acquire(&layout)?;
        let listing = layout.list()?;
        for temporary in &listing.temporary {
            // A checkpoint or log that was being written when a process stopped.
            std::fs::remove_file(temporary).map_err(|e| StateError::io(temporary, e))?;
        }
        let recovered = recover(
            &layout,
            |version, path, body| {
                let model =
                    load_ndjson(&body).map_err(|errors| StateError::BadCheckpointContents {
                        path: path.to_path_buf(),
                        reason: errors.to_string(),
                    })?;
                Ok(Replay::new(model, version))
            },
            |state, version, payload| replay::<B>(state, version, payload),
        )?;
        Self::assemble(
            layout,
            lock,
            head_store(recovered.state, options.store),
            recovered.checkpoint,
            recovered.tail,
            recovered.warnings,
            options,
        )
    }

    /// Creates a state directory holding `model` as version 0, atomically: it is built in a
    /// sibling temporary directory and renamed into place, so a crash never leaves a half-seeded
    /// directory. `None` if another process seeded `dir` first.
    fn seed(
        dir: &Path,
        model: Model,
        options: DurableOptions,
    ) -> Result<Option<DurableStore<B>>, StateError> {
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| StateError::io(&parent, e))?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".to_owned());
        let building = parent.join(format!(".{name}.seeding-{}", std::process::id()));
        if building.exists() {
            std::fs::remove_dir_all(&building).map_err(|e| StateError::io(&building, e))?;
        }
        std::fs::create_dir(&building).map_err(|e| StateError::io(&building, e))?;
        let staging = Layout::new(&building);
        let lock = DirLock::acquire(&staging)?;
        checkpoint::write(&staging, 0, &save_ndjson(&model))?;
        drop(Log::create(&staging, 0)?);
        // rename(2) replaces an empty directory and fails on a non-empty one.
        if std::fs::rename(&building, dir).is_err() {
            std::fs::remove_dir_all(&building).map_err(|e| StateError::io(&building, e))?;
            return Ok(None);
        }
        sync_dir(&parent)?;
        let layout = Layout::new(dir);
        let tail = Tail {
            path: layout.log(0),
            base: 0,
            last: 0,
            valid_len: HEADER_LEN as u64,
        };
        let head = head_store(Replay::new(model, 0), options.store);
        Self::assemble(layout, lock, head, 0, tail, Vec::new(), options).map(Some)
    }

    fn assemble(
        layout: Layout,
        lock: DirLock,
        head: Store,
        checkpointed: u64,
        tail: Tail,
        warnings: Vec<Warning>,
        options: DurableOptions,
    ) -> Result<DurableStore<B>, StateError> {
        let log = Log::open(&tail.path, tail.base, tail.last, tail.valid_len)?;
        let published = ArcSwap::new(head.snapshot());
        Ok(DurableStore {
            shared: Arc::new(Shared {
                layout,
                _lock: lock,
                head,
                published,
                writer: Mutex::new(Writer {
                    log: Arc::new(log),
                    failed: None,
                }),
                pending: Mutex::new(VecDeque::new()),
                checkpointed: Mutex::new(checkpointed),
                background: Mutex::new(None),
                options,
                warnings,
                retired_fsyncs: Default::default(),
            }),
            _batch: PhantomData,
        })
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        self.shared.layout.dir()
    }

    /// What recovery repaired when the directory was opened (a torn record dropped, …).
    pub fn warnings(&self) -> &[Warning] {
        &self.shared.warnings
    }

    /// The newest durable snapshot: lock-free, never blocks, stays valid while held.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        let published = self.shared.published.load_full();
        // The head of the same version may carry fresher indexes (a background compaction
        // publishes to the head store only); it is durable since its version is.
        let head = self.shared.head.snapshot();
        if head.version == published.version {
            head
        } else {
            published
        }
    }

    /// The newest durable version.
    pub fn version(&self) -> u64 {
        self.shared.published.load().version
    }

    /// How many fsyncs the logs have done since the store was opened.
    pub fn fsyncs(&self) -> u64 {
        let current = lock(&self.shared.writer).log.fsyncs();
        current
            + self
                .shared
                .retired_fsyncs
                .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Applies a batch: validated and applied in memory, logged, fsynced (shared with
    /// concurrent callers), then published. Returns the new version once it is durable.
    pub fn apply(&self, batch: &[B]) -> Result<u64, ApplyError<B::Error>> {
        let shared = &self.shared;
        let payload = serde_json::to_vec(batch).map_err(|e| StateError::Failed {
            reason: format!("the batch cannot be written as JSON: {e}"),
        })?;
        if payload.len() > MAX_PAYLOAD {
            return Err(StateError::RecordTooLarge {
                len: payload.len(),
                limit: MAX_PAYLOAD,
            }
            .into());
        }
        let (log, version) = {
            let mut writer = lock(&shared.writer);
            if let Some(reason) = &writer.failed {
                return Err(StateError::Failed {
                    reason: reason.clone(),
                }
                .into());
            }
            let before = shared.head.version();
            let version = B::apply(&shared.head, batch).map_err(ApplyError::Refused)?;
            if version != before {
                let snapshot = shared.head.snapshot();
                if let Err(error) = writer.log.append(version, &payload) {
                    writer.failed = Some(error.to_string());
                    return Err(error.into());
                }
                lock(&shared.pending).push_back(snapshot);
            }
            // An empty batch changes nothing but still waits until the version it reports is
            // durable.
            (Arc::clone(&writer.log), version)
        };
        if let Err(error) = log.sync_to(version) {
            lock(&shared.writer).failed = Some(error.to_string());
            return Err(error.into());
        }
        shared.publish_through(version);
        if let Some(limit) = shared.options.checkpoint_bytes {
            if log.len() >= limit {
                self.start_checkpoint();
            }
        }
        Ok(version)
    }

    /// Writes a checkpoint of the newest version now (waiting for one in flight first) and
    /// removes the older checkpoint and logs.
    pub fn checkpoint(&self) -> Result<CheckpointReport, StateError> {
        self.wait_for_checkpoint()?;
        self.shared.checkpoint()
    }

    /// Starts a checkpoint on a background thread unless one is running.
    pub fn start_checkpoint(&self) {
        let mut slot = lock(&self.shared.background);
        if slot.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        // A finished one's failure is not lost: the next checkpoint retries the same work, and
        // a failed log switch already refused writes.
        if let Some(done) = slot.take() {
            let _ = done.join();
        }
        let shared = Arc::clone(&self.shared);
        *slot = Some(std::thread::spawn(move || shared.checkpoint()));
    }

    /// Waits for a background checkpoint in flight, and returns its failure if it failed.
    pub fn wait_for_checkpoint(&self) -> Result<(), StateError> {
        let handle = lock(&self.shared.background).take();
        match handle.map(JoinHandle::join) {
            Some(Ok(Err(error))) => Err(error),
            _ => Ok(()),
        }
    }
}

impl<B: Batch> Drop for DurableStore<B> {
    fn drop(&mut self) {
        // Let a background checkpoint finish its files before the lock goes away.
        let _ = self.wait_for_checkpoint();
    }
}

impl Shared {
    /// Publishes the newest pending snapshot whose version is durable (≤ `durable`).
    fn publish_through(&self, durable: u64) {
        let mut pending = lock(&self.pending);
        let mut newest = None;
        while pending.front().is_some_and(|s| s.version <= durable) {
            newest = pending.pop_front();
        }
        if let Some(snapshot) = newest {
            // Under the pending lock, so a slower thread cannot publish an older version last.
            if snapshot.version > self.published.load().version {
                self.published.store(snapshot);
            }
        }
    }

    fn checkpoint(&self) -> Result<CheckpointReport, StateError> {
        let started = Instant::now();
        let mut checkpointed = lock(&self.checkpointed);
        let head = {
            let mut writer = lock(&self.writer);
            if let Some(reason) = &writer.failed {
                return Err(StateError::Failed {
                    reason: reason.clone(),
                });
            }
            let head = self.head.snapshot();
            if head.version == *checkpointed {
                return Ok(CheckpointReport {
                    version: head.version,
                    bytes: 0,
                    writer_blocked: started.elapsed(),
                    total: started.elapsed(),
                });
            }
            if writer.log.base() != head.version {
                // Everything up to the head is in this log (the writer lock is held): make it
                // durable before any record of the next log can be acknowledged.
                let old = Arc::clone(&writer.log);
                if let Err(error) = old.sync_to(old.last_version()) {
                    writer.failed = Some(error.to_string());
                    return Err(error);
                }
                self.publish_through(head.version);
                writer.log = Arc::new(Log::create(&self.layout, head.version)?);
                self.retired_fsyncs
                    .fetch_add(old.fsyncs(), std::sync::atomic::Ordering::Relaxed);
            }
            head
        };
        let writer_blocked = started.elapsed();
        let bytes = checkpoint::write(&self.layout, head.version, &save_ndjson(&head.model))?;
        *checkpointed = head.version;
        self.remove_older(head.version)?;
        Ok(CheckpointReport {
            version: head.version,
            bytes,
            writer_blocked,
            total: started.elapsed(),
        })
    }

    /// Removes checkpoints and logs that the checkpoint of `version` makes unnecessary:
    /// checkpoints first, so a crash in between leaves a directory that still recovers.
    fn remove_older(&self, version: u64) -> Result<(), StateError> {
        let listing = self.layout.list()?;
        let older_checkpoints = listing.checkpoints.iter().filter(|(v, _)| *v < version);
        let older_logs = listing.logs.iter().filter(|(base, _)| *base < version);
        for (_, path) in older_checkpoints.chain(older_logs) {
            std::fs::remove_file(path).map_err(|e| StateError::io(path, e))?;
        }
        self.layout.sync()
    }
}

/// The head store for a recovered model, indexed once: numbering goes on from the version
/// reached, so versions mean the same before and after a restart.
fn head_store(state: Replay, options: Option<StoreOptions>) -> Store {
    let options = options.unwrap_or_else(|| StoreOptions::for_users(state.model().users.count()));
    state.into_store(options)
}

/// Applies one logged batch during recovery, to the model alone (see [`Batch::replay`]); it
/// must produce exactly the logged version.
fn replay<B: Batch>(state: &mut Replay, version: u64, payload: &[u8]) -> Result<(), String> {
    let batch: Vec<B> = serde_json::from_slice(payload).map_err(|e| format!("not a batch: {e}"))?;
    let reached = B::replay(state, &batch).map_err(|e| e.to_string())?;
    if reached != version {
        return Err(format!(
            "applying it produced version {reached}, the log says {version}"
        ));
    }
    Ok(())
}

/// Whether `dir` holds no state yet: it does not exist, or is an empty directory.
fn is_unseeded(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}
