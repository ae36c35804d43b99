//! Loading the directory: a file given with `--data`, or the built-in demo.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use userql_directory::error::LoadErrors;
use userql_directory::generate;
use userql_directory::index::Indexes;
use userql_directory::model::Model;
use userql_directory::{load_path_limited, Snapshot, DEFAULT_MAX_FILE_BYTES};

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
            let model = load_path_limited(path, max_data_bytes()).map_err(|errors| DataError {
                path: path.to_path_buf(),
                errors,
            })?;
            Ok(Loaded {
                snapshot: Arc::new(snapshot_of(model)),
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
