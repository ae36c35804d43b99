//! The live store a [`super::Service`] reads and writes: any store that publishes
//! [`Snapshot`]s and applies `userql-changes/1` batches ([`Change`]) atomically.
//!
//! The router builds every write as one batch of changes and acknowledges it only once
//! [`LiveStore::apply`] has returned, so whatever the store promises on return — visible to the
//! next snapshot, and on disk for a durable store — holds for every acknowledged write. The
//! facade crate implements this trait for its in-memory and durable stores alike; the in-memory
//! [`userql_directory::Store`] implements it here for tests and tools.

use std::sync::Arc;

use userql_directory::changes::{Change, ChangeErrors};
use userql_directory::{Snapshot, Store};

/// Why a batch was not applied.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The batch breaks a rule of the directory; nothing changed.
    #[error("{0}")]
    Refused(ChangeErrors),
    /// The store could not apply or persist the batch (an I/O failure of a durable store);
    /// nothing was acknowledged.
    #[error("the change could not be stored: {0}")]
    Failed(String),
}

/// A live directory: lock-free snapshots for readers, atomic batches for writers.
pub trait LiveStore: Send + Sync {
    /// The current version.
    fn snapshot(&self) -> Arc<Snapshot>;

    /// Applies one batch all or nothing and returns the new version. Returns only once the
    /// batch is visible to [`LiveStore::snapshot`] (and durable, for a durable store).
    fn apply(&self, batch: &[Change]) -> Result<u64, WriteError>;
}

impl LiveStore for Store {
    fn snapshot(&self) -> Arc<Snapshot> {
        Store::snapshot(self)
    }

    fn apply(&self, batch: &[Change]) -> Result<u64, WriteError> {
        self.apply_changes(batch).map_err(WriteError::Refused)
    }
}
