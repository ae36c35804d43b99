//! Loading the directory: a file given with `--data`, or the built-in demo.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use userql_directory::error::LoadErrors;
use userql_directory::generate;
use userql_directory::index::Indexes;
use userql_directory::model::Model;
use userql_directory::{load_path, Snapshot};

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
