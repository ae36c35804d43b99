//! Loading the directory: a state directory given with `--state`, a file given with `--data`,
//! or the built-in demo.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use userql_directory::error::LoadErrors;
use userql_directory::generate;
use userql_directory::index::Indexes;
use userql_directory::model::Model;
use userql_directory::{load_path, Snapshot};

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

/// Loads the directory the flags name: `--state DIR` (recovered; `--data` seeds it if it does
/// not exist yet), else `--data FILE`, else the demo.
pub fn load_args(args: &DataArgs) -> Result<Loaded, Failure> {
    match &args.state {
        Some(dir) => Ok(Loaded {
            snapshot: state::snapshot(dir, args.data.as_deref())?,
            label: dir.display().to_string(),
        }),
        None => Ok(load(args.data.as_deref())?),
    }
}

/// Loads `--data FILE`, or builds the demo directory without one.
pub fn load(path: Option<&Path>) -> Result<Loaded, DataError> {
    match path {
        Some(path) => {
            let model = load_path(path).map_err(|errors| DataError {
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
