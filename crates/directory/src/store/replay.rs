//! Replaying batches into a model alone: the store's transaction and validation without indexes,
//! overlays or publication, for rebuilding a directory from a log of batches (crash recovery).
//!
//! A [`Replay`] runs each batch through the very code a [`Store`] runs ([`super::Txn`] over a
//! copy-on-write copy of the model, the writer's id, login and number maps kept current between
//! batches), so a replayed batch has exactly the store's semantics: the same cascades, the same
//! numbers for new users, the same refusals. What it skips is everything a reader needs and a
//! replay does not: index updates, the dirty overlay, snapshots, background rebuilds. The indexes
//! are built once, when [`Replay::into_store`] hands the result to a live store — so replaying
//! N batches costs N validations plus one index build, instead of N publications and a rebuild
//! every time the overlay outgrows its limit.

use std::sync::Arc;

use super::txn::apply_batch;
use super::{Applied, Snapshot, Store, StoreOptions, Update, Writer};
use crate::error::LoadErrors;
use crate::index::Indexes;
use crate::model::Model;

/// A model being rebuilt batch by batch with the store's semantics and no indexes.
pub struct Replay {
    model: Model,
    /// The store writer's maps for `model` (its index log stays empty: nothing is indexed);
    /// built by the first batch, or — when there is none — alongside the indexes.
    writer: Option<Writer>,
    version: u64,
}

impl Replay {
    /// Starts from a validated model as `version` (a checkpoint's).
    pub fn new(model: Model, version: u64) -> Replay {
        Replay {
            model,
            writer: None,
            version,
        }
    }

    /// The version reached.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The model as of [`Replay::version`].
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Applies a batch of [`Update`]s exactly as [`Store::apply`] would, and returns the new
    /// version (the current one for an empty batch). A refused batch changes nothing.
    pub fn apply(&mut self, batch: &[Update]) -> Result<u64, LoadErrors> {
        self.run(batch.is_empty(), |base, writer| {
            apply_batch(base, batch, writer)
        })
    }

    /// Runs `apply` on the current model and takes its result as the next version, keeping the
    /// writer's maps current the way [`Store::commit`] does (without touching any index).
    pub(crate) fn run<E>(
        &mut self,
        empty: bool,
        apply: impl FnOnce(&Model, &Writer) -> Result<Applied, E>,
    ) -> Result<u64, E> {
        if empty {
            return Ok(self.version);
        }
        let writer = self
            .writer
            .get_or_insert_with(|| Writer::of_model(&self.model));
        let Applied {
            model,
            changed,
            structural,
            ops,
            subjects,
        } = apply(&self.model, writer)?;
        writer.follow(&changed, structural, &ops, subjects, (&self.model, &model));
        self.model = model;
        self.version += 1;
        Ok(self.version)
    }

    /// A live store at the version reached: the indexes are built here, once, and the writer's
    /// maps are handed over as they are (not rebuilt). Without any replayed batch the maps do
    /// not exist yet: they are built on a second thread while the indexes are.
    pub fn into_store(self, options: StoreOptions) -> Store {
        let Replay {
            model,
            writer,
            version,
        } = self;
        let (index, writer) = match writer {
            Some(writer) => (Indexes::build(&model), writer),
            None => std::thread::scope(|scope| {
                let writer = scope.spawn(|| Writer::of_model(&model));
                let index = Indexes::build(&model);
                let writer = writer
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (index, writer)
            }),
        };
        let snapshot = Snapshot::indexed(version, Arc::new(model), Arc::new(index));
        Store::assemble(Arc::new(snapshot), writer, options)
    }
}
