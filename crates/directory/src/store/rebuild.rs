//! Background compactions: indexes for a published version are built on a thread while
//! batches go on, then published with the index changes made since replayed. A whole rebuild
//! (the base) leaves only the rows written since dirty; holes (deleted users) are absent from
//! it, their slots stay until the next load of a checkpoint. A new delta level ([`Delta`])
//! covers the rows it was built over (see [`Levels::to_build`]) minus those written since.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use roaring::RoaringBitmap;

use super::compactor::{Compactor, Owner, Refused};
use super::delta::Written;
use super::writer::{apply_ops, IndexOp};
use super::{Delta, Levels, Shared, Snapshot, Store, StoreOptions};
use crate::facts::Subjects;
use crate::index::Indexes;

/// What a compaction builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compaction {
    /// A new delta level (see [`Levels::to_build`]).
    Delta,
    /// Every index, over the whole directory.
    Full,
}

impl Compaction {
    /// The compaction `snapshot` calls for under `options`: none while the rows re-checked one
    /// by one stay within `max_dirty`; else a delta level while the dirty rows stay within
    /// `max_delta`, a whole rebuild past it.
    pub(super) fn wanted(snapshot: &Snapshot, options: &StoreOptions) -> Option<Compaction> {
        if snapshot.undescribed() <= options.max_dirty {
            None
        } else if snapshot.dirty.len() <= options.max_delta {
            Some(Compaction::Delta)
        } else {
            Some(Compaction::Full)
        }
    }
}

impl Store {
    /// Waits for a background compaction in flight, if any, to publish its indexes.
    pub fn wait_for_rebuild(&self) {
        self.shared.compactor.wait();
    }

    /// Starts a background compaction of `snapshot` on the store's compaction thread unless
    /// one is already running or there is no thread to run it.
    pub(super) fn start_rebuild(
        &self,
        snapshot: Arc<Snapshot>,
        epoch: u64,
        kind: Compaction,
    ) -> Result<(), Refused> {
        start(&self.shared, snapshot, epoch, kind)
    }

    /// Folds every change since the indexes were built into a whole rebuild on the compaction
    /// thread and waits for it to publish: afterwards no row is dirty, no delta level is left
    /// and the writer's log is empty, so the store holds what a fresh build of its directory
    /// would. Nothing to do on a clean store. Batches may go on meanwhile (they are replayed
    /// onto the rebuild, as for any background compaction). What the store does by itself
    /// once it has been quiet for [`StoreOptions::idle_compaction`].
    pub fn compact(&self) {
        loop {
            self.wait_for_rebuild();
            let (snapshot, epoch) = self.shared.current_with_epoch();
            if !snapshot.has_overlay() {
                return;
            }
            match self.start_rebuild(snapshot, epoch, Compaction::Full) {
                Ok(()) => {
                    self.wait_for_rebuild();
                    return;
                }
                // Another compaction got in first: wait for it, then look again.
                Err(Refused::Busy) => {}
                // No thread to build on: the overlay stays correct, only larger.
                Err(Refused::NoThread) => return,
            }
        }
    }
}

/// Starts a compaction of `snapshot` on the compaction thread of `shared` unless one is
/// running or there is no thread.
fn start(
    shared: &Arc<Shared>,
    snapshot: Arc<Snapshot>,
    epoch: u64,
    kind: Compaction,
) -> Result<(), Refused> {
    Compactor::start(shared, move |shared: &Shared| match kind {
        Compaction::Full => {
            // Whether it published or failed, a quiet store's rebuild is over after this.
            let _over = ClearOnDrop(&shared.idle_rebuild);
            // One thread: on a small machine a parallel build would take every core from the
            // readers (the reader's p99 during a change stream, see the module doc).
            let index = Arc::new(Indexes::build_with(&snapshot.model, 1));
            shared.publish_rebuild(&snapshot, index, epoch);
        }
        Compaction::Delta => {
            let delta = shared.build_level(&snapshot, snapshot.subjects());
            shared.publish_delta(delta, epoch);
        }
    })
}

/// Clears its flag when dropped (also when a compaction panics).
struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Owner for Shared {
    fn compactor(&self) -> &Compactor {
        &self.compactor
    }

    fn idle_period(&self) -> Option<Duration> {
        self.options.idle_compaction
    }

    /// A whole rebuild once no batch came for the idle period and something is worth folding:
    /// a delta level, or more dirty rows than [`StoreOptions::max_dirty`]. The rows left
    /// dirty otherwise are few and their log short; and at most one whole rebuild per
    /// `max_dirty` changed rows keeps a trickle of changes from rebuilding every period.
    fn idle(self: &Arc<Self>) {
        let Some(period) = self.options.idle_compaction else {
            return;
        };
        if self.quiet_for() < period {
            return;
        }
        let (snapshot, epoch) = self.current_with_epoch();
        if snapshot.deltas.is_empty() && snapshot.dirty.len() <= self.options.max_dirty {
            return;
        }
        self.idle_rebuild.store(true, Ordering::Release);
        if start(self, snapshot, epoch, Compaction::Full).is_err() {
            self.idle_rebuild.store(false, Ordering::Release);
        }
    }
}

impl Shared {
    /// The current snapshot and the writer's epoch, read together under the writer's lock.
    fn current_with_epoch(&self) -> (Arc<Snapshot>, u64) {
        let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        (self.current.load_full(), writer.epoch)
    }

    /// How long since the last batch was published (or the store opened).
    fn quiet_for(&self) -> Duration {
        let last = Duration::from_nanos(self.last_commit.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }

    /// The next delta level of `snapshot` (with `subjects`, its grants and teams by subject): a
    /// level over the rows no level describes, with the newest levels folded in
    /// ([`Levels::to_build`]): O(those rows), not O(every dirty row). Counted for
    /// [`Store::backpressure`].
    pub(super) fn build_level(&self, snapshot: &Snapshot, subjects: &Subjects) -> Delta {
        let rows = snapshot.deltas.to_build(snapshot.undescribed_rows());
        self.delta_builds.fetch_add(1, Ordering::Relaxed);
        self.delta_rows.fetch_add(rows.len(), Ordering::Relaxed);
        Delta::build(
            &snapshot.model,
            subjects,
            &snapshot.index,
            &rows,
            snapshot.version,
        )
    }

    /// Publishes indexes built for `built` (an earlier or the current version): the current
    /// model with those indexes, and as dirty only the rows changed after `built` (any delta
    /// level is dropped: the rows it described are clean now or dirty again).
    pub(super) fn publish_rebuild(&self, built: &Snapshot, index: Arc<Indexes>, epoch: u64) {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if writer.epoch != epoch {
            return; // the writer rebuilt (or renumbered rows) meanwhile: these are stale
        }
        writer.log.retain(|logged| logged.version > built.version);
        let (mut dirty, ops) = since(&writer.log, built.version, |_| true);
        let current = self.current.load_full();
        // The index changes made since `built` (grants, catalog) are replayed onto the rebuilt
        // indexes against the current model: O(those changes).
        let index = if ops.is_empty() {
            index
        } else {
            let mut index = Indexes::clone(&index);
            dirty |= apply_ops(&mut index, &ops, &current.model, &writer.subjects);
            Arc::new(index)
        };
        self.current.store(Arc::new(Snapshot {
            version: current.version,
            model: Arc::clone(&current.model),
            index,
            dirty: Arc::new(dirty),
            deltas: Levels::default(),
            // The grants and teams by subject describe the model, not the indexes.
            subjects: Arc::clone(&current.subjects),
        }));
    }

    /// Publishes a delta level built for an earlier (or the current) version: the rows written
    /// since leave it, the catalog and grant changes made since are replayed onto it, and it
    /// takes its rows from the current levels (those it folded in are left empty and dropped).
    fn publish_delta(&self, built: Delta, epoch: u64) {
        let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if writer.epoch != epoch {
            return; // the writer rebuilt every index meanwhile: the dirty rows are others
        }
        let (written, ops) = since(&writer.log, built.version, |op| !op.is_row_change());
        let current = self.current.load_full();
        // A change that dropped deltas since (membership structure rebuilt) drops this one.
        let since = Written {
            changed: &written,
            ops: &ops,
            model: &current.model,
            subjects: &writer.subjects,
            catalog: &current.index,
        };
        let Some(delta) = built.follow(&since) else {
            return;
        };
        self.current.store(Arc::new(Snapshot {
            version: current.version,
            model: Arc::clone(&current.model),
            index: Arc::clone(&current.index),
            dirty: Arc::clone(&current.dirty),
            deltas: current.deltas.with_level(delta),
            subjects: Arc::clone(&current.subjects),
        }));
    }
}

/// The rows written and the index changes (those `keep` keeps) made after `version`, from the
/// writer's log.
fn since(
    log: &[super::writer::Logged],
    version: u64,
    keep: impl Fn(&IndexOp) -> bool,
) -> (RoaringBitmap, Vec<IndexOp>) {
    let mut rows = RoaringBitmap::new();
    let mut ops = Vec::new();
    for logged in log.iter().filter(|logged| logged.version > version) {
        rows |= &logged.rows;
        ops.extend(logged.ops.iter().filter(|op| keep(op)).cloned());
    }
    (rows, ops)
}
