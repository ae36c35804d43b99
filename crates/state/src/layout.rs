//! The files of a state directory and their names.
//!
//! ```text
//! DIR/LOCK                              the lock (holds the owner's pid)
//! DIR/checkpoint-00000000000000000042.ndjson   the directory as of version 42
//! DIR/wal-00000000000000000042.log             batches for versions 43, 44, …
//! DIR/*.tmp                             a checkpoint or log being written (ignored, removed on open)
//! ```
//!
//! Versions are zero-padded to 20 digits so names sort like their versions.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::error::StateError;

const CHECKPOINT_PREFIX: &str = "checkpoint-";
const CHECKPOINT_SUFFIX: &str = ".ndjson";
const LOG_PREFIX: &str = "wal-";
const LOG_SUFFIX: &str = ".log";
/// Suffix of files being written; never read by recovery.
pub const TMP_SUFFIX: &str = ".tmp";
/// The lock file's name.
pub const LOCK_NAME: &str = "LOCK";

/// A state directory's path and its naming rules.
#[derive(Debug, Clone)]
pub struct Layout {
    dir: PathBuf,
}

/// The checkpoints and logs found in a state directory, each sorted by version.
#[derive(Debug, Default)]
pub struct Listing {
    /// `(version covered, path)`, oldest first.
    pub checkpoints: Vec<(u64, PathBuf)>,
    /// `(base version, path)`: the log holds versions after `base`; oldest first.
    pub logs: Vec<(u64, PathBuf)>,
    /// Leftover temporary files.
    pub temporary: Vec<PathBuf>,
    /// Whether the directory has any entry at all.
    pub any_entry: bool,
}

impl Layout {
    /// The layout of the state directory `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Layout {
        Layout { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lock file.
    pub fn lock(&self) -> PathBuf {
        self.dir.join(LOCK_NAME)
    }

    /// The checkpoint covering versions up to `version`.
    pub fn checkpoint(&self, version: u64) -> PathBuf {
        self.dir.join(format!(
            "{CHECKPOINT_PREFIX}{version:020}{CHECKPOINT_SUFFIX}"
        ))
    }

    /// The log holding the versions after `base`.
    pub fn log(&self, base: u64) -> PathBuf {
        self.dir.join(format!("{LOG_PREFIX}{base:020}{LOG_SUFFIX}"))
    }

    /// The temporary name under which `path` is written before its atomic rename.
    pub fn temporary(path: &Path) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(TMP_SUFFIX);
        PathBuf::from(name)
    }

    /// Lists the directory (an error if it cannot be read).
    pub fn list(&self) -> Result<Listing, StateError> {
        let mut listing = Listing::default();
        let entries = fs::read_dir(&self.dir).map_err(|e| StateError::io(&self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StateError::io(&self.dir, e))?;
            listing.any_entry = true;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let path = entry.path();
            if name.ends_with(TMP_SUFFIX) {
                listing.temporary.push(path);
            } else if let Some(version) = parse(name, CHECKPOINT_PREFIX, CHECKPOINT_SUFFIX) {
                listing.checkpoints.push((version, path));
            } else if let Some(base) = parse(name, LOG_PREFIX, LOG_SUFFIX) {
                listing.logs.push((base, path));
            }
        }
        listing.checkpoints.sort();
        listing.logs.sort();
        Ok(listing)
    }

    /// Makes the directory's entries (creations, renames, removals) durable.
    pub fn sync(&self) -> Result<(), StateError> {
        sync_dir(&self.dir)
    }
}

/// fsyncs a directory so that the names in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StateError::io(dir, e))
}

fn parse(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_like_versions_and_parse_back() {
        let layout = Layout::new("/s");
        let small = layout.log(9);
        let big = layout.log(10);
        assert!(small < big);
        let name = big.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        assert_eq!(parse(name, LOG_PREFIX, LOG_SUFFIX), Some(10));
        assert_eq!(parse("wal-12.log", LOG_PREFIX, LOG_SUFFIX), None);
    }
}
