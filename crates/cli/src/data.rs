//! Loading the directory: a state directory given with `--state`, a file given with `--data`,
//! or the built-in demo.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use userql_directory::changes::{ChangeErrors, ChangeReader};
use userql_directory::error::LoadErrors;
use userql_directory::generate;
use userql_directory::index::Indexes;
use userql_directory::model::Model;
use userql_directory::store::StoreOptions;
use userql_directory::{load_path, Snapshot, Store};

use crate::args::DataArgs;
use crate::run::Failure;
use crate::state;

/// Why a directory could not be loaded (exit status 1).
#[derive(Debug, thiserror::Error)]
#[error("cannot load {}:\n{errors}", path.display())]
pub struct DataError {
    /// The file.
    pub path: PathBuf,
    /// Every problem found, each with its place.
    pub errors: LoadErrors,
}

/// A loaded directory and what to call it in messages.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Model and indexes.
    pub snapshot: Arc<Snapshot>,
    /// The file name, or `demo`.
    pub label: String,
}

/// Loads `--data FILE`, or builds the demo directory without one.
pub fn load(path: Option<&Path>) -> Result<Loaded, DataError> {
    match path {
        Some(path) => {
            let large = std::fs::metadata(path).is_ok_and(|m| m.len() >= PROGRESS_BYTES);
            let progress = Progress::start(format!("loading {}", path.display()), large);
            let model = load_path(path).map_err(|errors| DataError {
                path: path.to_path_buf(),
                errors,
            })?;
            progress.say(format!("indexing {} users", model.users.len()));
            let snapshot = Arc::new(snapshot_of(model));
            drop(progress);
            Ok(Loaded {
                snapshot,
                label: path.display().to_string(),
            })
        }
        None => Ok(Loaded {
            snapshot: Arc::new(snapshot_of(generate::demo())),
            label: "demo".into(),
        }),
    }
}

/// Indexes a model into a snapshot (version 0: the CLI never updates it).
pub fn snapshot_of(model: Model) -> Snapshot {
    let index = Indexes::build(&model);
    Snapshot::indexed(0, Arc::new(model), Arc::new(index))
}

/// Why a changes file was not (fully) applied (exit status 1). `Display` puts the file in
/// front of every problem: `changes.ndjson: line 7, change 2 (user u-42): …`.
#[derive(Debug, thiserror::Error)]
#[error("{}", located(path, errors))]
pub struct ChangesError {
    /// The changes file.
    pub path: PathBuf,
    /// The problems of the refused batch (or of the unreadable line).
    pub errors: ChangeErrors,
    /// Batches of this file applied before the refusal.
    pub applied: usize,
}

fn located(path: &Path, errors: &ChangeErrors) -> String {
    let file = path.display();
    errors
        .errors
        .iter()
        .map(|e| format!("{file}: {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Loads the directory the flags name — `--state DIR` (recovered; `--data` seeds it if it does
/// not exist yet), else `--data FILE`, else the demo — then applies every `--changes` file, in
/// order, through a live store. Changes given this way live in memory only: a state directory is
/// changed by `userql apply --state`, never by a reading subcommand.
pub fn load_args(args: &DataArgs) -> Result<Loaded, Failure> {
    let loaded = match &args.state {
        Some(dir) => Loaded {
            snapshot: state::snapshot(dir, args.data.as_deref())?,
            label: dir.display().to_string(),
        },
        None => load(args.data.as_deref())?,
    };
    if args.changes.is_empty() {
        return Ok(loaded);
    }
    let store = store_of(&loaded);
    for path in &args.changes {
        apply_file(&store, path)?;
    }
    store.wait_for_rebuild();
    Ok(Loaded {
        snapshot: store.snapshot(),
        label: loaded.label,
    })
}

/// A live store over a loaded directory (its indexes are reused).
pub fn store_of(loaded: &Loaded) -> Store {
    let options = StoreOptions::for_users(loaded.snapshot.model.users.len());
    Store::from_snapshot(Arc::clone(&loaded.snapshot), options)
}

/// Applies the batches of one changes file, in order, streaming it; returns how many were
/// applied. Stops at the first refused batch (or unreadable line).
pub fn apply_file(store: &Store, path: &Path) -> Result<usize, ChangesError> {
    let failed = |errors: ChangeErrors, applied: usize| ChangesError {
        path: path.to_path_buf(),
        errors,
        applied,
    };
    let file = std::fs::File::open(path).map_err(|e| {
        let problem = userql_directory::changes::ChangeProblem::Io {
            message: e.to_string(),
        };
        let error = userql_directory::changes::ChangeError {
            line: None,
            change: None,
            subject: None,
            field: None,
            problem,
        };
        failed(ChangeErrors::single(error), 0)
    })?;
    let mut applied = 0;
    for batch in ChangeReader::new(std::io::BufReader::new(file)) {
        let batch = batch.map_err(|errors| failed(errors, applied))?;
        store
            .apply_changes(&batch.changes)
            .map_err(|errors| failed(errors.at_line(batch.line), applied))?;
        applied += 1;
    }
    Ok(applied)
}

/// Files at least this large get a progress indicator while they load or are written.
pub const PROGRESS_BYTES: u64 = 32 << 20;

/// Directories with at least this many users get one while they are serialised.
pub const PROGRESS_USERS: usize = 100_000;

/// A spinner on standard error for a long step, shown only when standard error is a terminal
/// (never in pipes, logs or tests); cleared when dropped.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// Starts a spinner saying `message` when `worth_it` and standard error is a terminal.
    pub fn start(message: String, worth_it: bool) -> Progress {
        use std::io::IsTerminal;
        if !worth_it || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new_spinner().with_message(message);
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress(Some(bar))
    }

    /// Changes the message (the next step of the same job).
    pub fn say(&self, message: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
