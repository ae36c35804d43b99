//! Background compactions: indexes for a published version are built on a thread while
//! batches go on, then published with the index changes made since replayed. A whole rebuild
//! (the base) leaves only the rows written since dirty; holes (deleted users) are absent from
//! it, their slots stay until the next load of a checkpoint. A new delta level ([`Delta`])
//! covers the rows it was built over (see [`Levels::to_build`]) minus those written since.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use roaring::RoaringBitmap;

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

    /// Starts a background compaction of `snapshot` unless one is already running.
    pub(super) fn start_rebuild(&self, snapshot: Arc<Snapshot>, epoch: u64, kind: Compaction) {
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
        *slot = Some(std::thread::spawn(move || match kind {
            Compaction::Full => {
                // One thread: on a small machine a parallel build would take every core from
                // the readers (the reader's p99 during a change stream, see the module doc).
                let index = Arc::new(Indexes::build_with(&snapshot.model, 1));
                shared.publish_rebuild(&snapshot, index, epoch);
            }
            Compaction::Delta => {
                let delta = shared.build_level(&snapshot, snapshot.subjects());
                shared.publish_delta(delta, epoch);
            }
        }));
    }
}

impl Shared {
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
