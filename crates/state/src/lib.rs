//! Durable state directories (`--state DIR`): a write-ahead log of batches, checkpoints, crash
//! recovery and a directory lock, so that no acknowledged batch is ever lost and no
//! unacknowledged batch is ever half applied.
//!
//! A crate of its own because durability is a job of its own (files, fsync, locks, checksums)
//! that the in-memory directory crate should not carry, and because its byte layers — the log
//! ([`wal`]), checkpoints ([`checkpoint`]), the lock ([`lock`]) and recovery ([`recover`]) — know
//! nothing about what a batch means: the log's payload is opaque bytes and recovery replays
//! them through a callback. Only [`durable`] ties them to the live
//! [`userql_directory::Store`], for any batch type implementing [`Batch`].
//!
//! The on-disk format is documented in each module and, for users, in `docs/state.md`.
#![deny(missing_docs)]

pub mod checkpoint;
pub mod durable;
pub mod error;
pub mod layout;
pub mod lock;
pub mod recover;
pub mod wal;

pub use durable::{ApplyError, Batch, CheckpointReport, DurableOptions, DurableStore};
pub use error::{StateError, Warning};
