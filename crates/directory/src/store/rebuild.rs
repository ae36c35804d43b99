//! Background rebuilds (the store's compaction): indexes for a published version are built on a
//! thread while batches go on, then published with the index changes made since replayed and
//! only the rows written since left dirty. Holes (deleted users) are absent from rebuilt
//! indexes; their slots stay until the next load of a checkpoint.

use std::sync::{Arc, PoisonError};

use roaring::RoaringBitmap;

use super::writer::apply_ops;
use super::{Shared, Snapshot, Store};
use crate::index::Indexes;

impl Store {
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

    /// Starts a background rebuild of `snapshot`'s model unless one is already running.
    pub(super) fn start_rebuild(&self, snapshot: Arc<Snapshot>, epoch: u64) {
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
            // One thread: on a small machine a parallel build would take every core from the
            // readers (the reader's p99 during a change stream, see the module doc).
            let index = Arc::new(Indexes::build_with(&snapshot.model, 1));
            shared.publish_rebuild(&snapshot, index, epoch);
        }));
    }
}

impl Shared {
    /// Publishes indexes built for `built` (an earlier or the current version): the current
    /// model with those indexes, and as dirty only the rows changed after `built`.
    pub(super) fn publish_rebuild(&self, built: &Snapshot, index: Arc<Indexes>, epoch: u64) {
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
            dirty |= apply_ops(&mut index, &ops, &current.model, &writer.subjects);
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
