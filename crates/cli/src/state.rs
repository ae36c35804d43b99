//! `--state DIR`: the durable store (`docs/state.md`) behind `apply --state`, `checkpoint`, and
//! the reading subcommands.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use userql_directory::changes::{Change, ChangeErrors, ChangeReader};
use userql_directory::Snapshot;
use userql_state::{ApplyError, DurableOptions, DurableStore, StateError};

use crate::args::{ApplyArgs, CheckpointArgs};
use crate::data::ChangesError;
use crate::run::{emit, Failure};

/// Why a state directory could not be opened, recovered or written (exit status 1).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct StateFailure(#[from] pub StateError);

/// Opens (or seeds) a state directory and prints what recovery repaired.
pub fn open(
    dir: &Path,
    seed: Option<&Path>,
    options: DurableOptions,
) -> Result<DurableStore<Change>, StateFailure> {
    let store = DurableStore::open(dir, seed, options)?;
    for warning in store.warnings() {
        eprintln!("userql: {warning}");
    }
    Ok(store)
}

/// The newest durable snapshot of a state directory, for the reading subcommands. The lock is
/// released once the snapshot is taken (the snapshot needs no files).
pub fn snapshot(dir: &Path, seed: Option<&Path>) -> Result<Arc<Snapshot>, StateFailure> {
    let options = DurableOptions {
        checkpoint_bytes: None,
        ..DurableOptions::default()
    };
    Ok(open(dir, seed, options)?.snapshot())
}

/// `userql apply --state DIR [--data SEED] --changes FILE…`: applies batch after batch and
/// prints `applied VERSION` (flushed) as soon as each one is durable.
pub fn apply(dir: &Path, seed: Option<&Path>, args: &ApplyArgs) -> Result<(), Failure> {
    let options = DurableOptions {
        checkpoint_bytes: args
            .checkpoint_bytes
            .or(DurableOptions::default().checkpoint_bytes),
        ..DurableOptions::default()
    };
    let store = open(dir, seed, options)?;
    for path in &args.changes {
        apply_file(&store, path)?;
    }
    store.wait_for_checkpoint().map_err(StateFailure)?;
    Ok(())
}

/// Streams one changes file into the durable store; a refused batch stops it, located like
/// `--changes` refusals (`FILE: line 7, change 2 (user u-42): …`).
fn apply_file(store: &DurableStore<Change>, path: &Path) -> Result<(), Failure> {
    let file = File::open(path).map_err(|e| Failure::io(path.display().to_string(), e))?;
    let refused = |errors: ChangeErrors, applied: usize| {
        Failure::Changes(ChangesError {
            path: path.to_path_buf(),
            errors,
            applied,
        })
    };
    for (applied, batch) in ChangeReader::new(BufReader::new(file)).enumerate() {
        let batch = batch.map_err(|errors| refused(errors, applied))?;
        match store.apply(&batch.changes) {
            Ok(version) => emit(&format!("applied {version}\n"))?,
            Err(ApplyError::Refused(errors)) => {
                return Err(refused(errors.at_line(batch.line), applied))
            }
            Err(ApplyError::State(error)) => return Err(StateFailure(error).into()),
        }
    }
    Ok(())
}

/// `userql checkpoint --state DIR`: writes a checkpoint of the newest version and starts a new
/// log (the old one is removed).
pub fn checkpoint(args: &CheckpointArgs) -> Result<(), Failure> {
    let options = DurableOptions {
        checkpoint_bytes: None,
        ..DurableOptions::default()
    };
    let store = open(&args.state, None, options)?;
    let report = store.checkpoint().map_err(StateFailure)?;
    emit(&format!(
        "checkpoint {} ({} bytes)\n",
        report.version, report.bytes
    ))
}
