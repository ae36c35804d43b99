//! Loading the directory: a state directory given with `--state`, a file given with `--data`,
//! or the built-in demo.

use std::path::Path;
use std::sync::Arc;

use userql_directory::changes::{ChangeErrors, ChangeReader};
use userql_directory::generate;
use userql_directory::index::Indexes;
use userql_directory::model::Model;
use userql_directory::store::StoreOptions;
use userql_directory::{load_path_limited, Snapshot, Store, DEFAULT_MAX_FILE_BYTES};

use crate::args::DataArgs;
use crate::failure::{ChangesError, DataError, Failure};
use crate::state;

/// A loaded directory and what to call it in messages.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Model and indexes.
    pub snapshot: Arc<Snapshot>,
    /// The file name, or `demo`.
    pub label: String,
}

/// The environment variable that changes the largest `--data` file read (bytes).
pub const MAX_DATA_BYTES_VAR: &str = "USERQL_MAX_DATA_BYTES";

/// The largest `--data` file read: `USERQL_MAX_DATA_BYTES` when it is a number, else 4 GiB.
/// Only regular files are read at all (`--data /dev/zero` is refused before reading).
pub fn max_data_bytes() -> u64 {
    std::env::var(MAX_DATA_BYTES_VAR)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_FILE_BYTES)
}

/// Loads `--data FILE`, or builds the demo directory without one.
pub fn load(path: Option<&Path>) -> Result<Loaded, DataError> {
    match path {
        Some(path) => {
            let large = std::fs::metadata(path).is_ok_and(|m| m.len() >= PROGRESS_BYTES);
            let progress = Progress::start(format!("loading {}", path.display()), large);
            let model = load_path_limited(path, max_data_bytes()).map_err(|errors| DataError {
                path: path.to_path_buf(),
                errors,
            })?;
            progress.say(format!("indexing {} users", model.users.count()));
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
    let options = StoreOptions::for_users(loaded.snapshot.model.users.count());
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
