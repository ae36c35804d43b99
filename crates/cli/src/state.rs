//! `--state DIR`: the durable store (`docs/state.md`) behind `apply --state`, `checkpoint`, and
//! the reading subcommands.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use userql_directory::changes::{Change, ChangeReader};
use userql_directory::Snapshot;
use userql_state::{ApplyError, DurableOptions, DurableStore};

use crate::args::{ApplyArgs, CheckpointArgs};
use crate::failure::{emit, Failure, StateFailure};

/// Opens (or seeds) a state directory and prints what recovery repaired.
pub fn open(
    dir: &Path,
    seed: Option<&Path>,
    options: DurableOptions,
) -> Result<DurableStore<Change>, Failure> {
    let store = DurableStore::open(dir, seed, options).map_err(StateFailure::State)?;
    for warning in store.warnings() {
        eprintln!("userql: {warning}");
    }
    Ok(store)
}

/// The newest durable snapshot of a state directory, for the reading subcommands. The lock is
/// released once the snapshot is taken (the snapshot needs no files).
pub fn snapshot(dir: &Path, seed: Option<&Path>) -> Result<Arc<Snapshot>, Failure> {
    let options = DurableOptions {
        checkpoint_bytes: None,
        ..DurableOptions::default()
    };
    Ok(open(dir, seed, options)?.snapshot())
}

/// `userql apply --state DIR [--data SEED] --changes FILE…`: applies batch after batch and
/// prints `applied VERSION` (flushed) as soon as each one is durable.
pub fn apply(dir: &Path, args: &ApplyArgs) -> Result<(), Failure> {
    let options = DurableOptions {
        checkpoint_bytes: args
            .checkpoint_bytes
            .or(DurableOptions::default().checkpoint_bytes),
        ..DurableOptions::default()
    };
    let store = open(dir, args.data.as_deref(), options)?;
    for path in &args.changes {
        apply_file(&store, path)?;
    }
    store.wait_for_checkpoint().map_err(StateFailure::State)?;
    Ok(())
}

fn apply_file(store: &DurableStore<Change>, path: &PathBuf) -> Result<(), Failure> {
    let file = File::open(path).map_err(|e| Failure::io(path.display().to_string(), e))?;
    let refused = |errors: userql_directory::changes::ChangeErrors| {
        Failure::from(StateFailure::Refused {
            file: path.display().to_string(),
            errors: errors.to_string(),
        })
    };
    for batch in ChangeReader::new(BufReader::new(file)) {
        let batch = batch.map_err(refused)?;
        match store.apply(&batch.changes) {
            Ok(version) => emit(&format!("applied {version}\n"))?,
            Err(ApplyError::Refused(errors)) => return Err(refused(errors.at_line(batch.line))),
            Err(ApplyError::State(error)) => return Err(StateFailure::State(error).into()),
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
    let report = store.checkpoint().map_err(StateFailure::State)?;
    emit(&format!(
        "checkpoint {} ({} bytes)\n",
        report.version, report.bytes
    ))
}
