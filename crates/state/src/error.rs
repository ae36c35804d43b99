//! What can go wrong with a state directory, each variant naming the file (and byte offset)
//! involved, so an operator knows what to inspect.

use std::path::PathBuf;

/// An error opening, recovering or writing a state directory.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Another process holds the directory's lock.
    #[error("state directory {} is in use by process {pid} (lock file {})", dir.display(), lock.display())]
    Locked {
        /// The state directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// What the lock file says about its holder (`unknown` if it says nothing readable).
        pid: String,
    },
    /// The directory does not exist (or holds no state) and no seed was given.
    #[error("state directory {} does not exist or holds no state (seed it with --data FILE)", dir.display())]
    NotSeeded {
        /// The state directory.
        dir: PathBuf,
    },
    /// The directory holds logs but no checkpoint: the state they apply to is gone.
    #[error("state directory {}: no checkpoint found (logs are present, so the state cannot be rebuilt; it is not replaced by an empty directory)", dir.display())]
    MissingCheckpoint {
        /// The state directory.
        dir: PathBuf,
    },
    /// A checkpoint file cannot be used.
    #[error("checkpoint {} is damaged at byte {offset}: {reason}", path.display())]
    DamagedCheckpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// Where the damage was found.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// No usable checkpoint: every one is damaged (each listed).
    #[error("state directory {}: no usable checkpoint:\n{}", dir.display(), list(problems))]
    NoUsableCheckpoint {
        /// The state directory.
        dir: PathBuf,
        /// Why each checkpoint was refused.
        problems: Vec<StateError>,
    },
    /// A log file is damaged somewhere other than a torn last record.
    #[error("log {} is damaged at byte {offset}: {reason}", path.display())]
    DamagedLog {
        /// The log file.
        path: PathBuf,
        /// Offset of the first damaged byte range (the start of the record or header).
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The logs do not continue the checkpoint (a log is missing).
    #[error("state directory {}: {reason}", dir.display())]
    Gap {
        /// The state directory.
        dir: PathBuf,
        /// Which versions are missing.
        reason: String,
    },
    /// A logged batch could not be applied again while recovering.
    #[error("log {} at byte {offset} (version {version}): the batch cannot be replayed: {reason}", path.display())]
    Replay {
        /// The log file.
        path: PathBuf,
        /// The record's offset.
        offset: u64,
        /// The record's version.
        version: u64,
        /// Why the live store refused it.
        reason: String,
    },
    /// A checkpoint's directory does not load.
    #[error("checkpoint {} does not load:\n{reason}", path.display())]
    BadCheckpointContents {
        /// The checkpoint file.
        path: PathBuf,
        /// The load errors.
        reason: String,
    },
    /// The seed directory does not load.
    #[error("cannot seed from {}:\n{reason}", path.display())]
    Seed {
        /// The seed file.
        path: PathBuf,
        /// The load errors.
        reason: String,
    },
    /// A batch larger than a record may hold.
    #[error("a batch of {len} bytes exceeds the log's record limit of {limit} bytes")]
    RecordTooLarge {
        /// The payload's size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// An earlier write or fsync failed: the store no longer accepts writes (reopen to recover).
    #[error(
        "the log failed earlier and accepts no more writes (reopen the state directory): {reason}"
    )]
    Failed {
        /// The first failure.
        reason: String,
    },
}

fn list(problems: &[StateError]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl StateError {
    /// Wraps an I/O error with its path.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> StateError {
        StateError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Something recovery noticed and repaired without losing an acknowledged batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The last record of the log was incomplete (a crash mid-write) and was cut off.
    TornRecord {
        /// The log file.
        path: PathBuf,
        /// Where the torn record started (the log now ends there).
        offset: u64,
        /// How many bytes were dropped.
        dropped: u64,
    },
    /// The newest checkpoint was unusable; an older one plus the logs rebuilt the same state.
    SkippedCheckpoint {
        /// Why the newest checkpoint was refused.
        reason: String,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::TornRecord {
                path,
                offset,
                dropped,
            } => write!(
                f,
                "warning: {}: dropped a torn last record at byte {offset} ({dropped} bytes; a crash mid-write, never acknowledged)",
                path.display()
            ),
            Warning::SkippedCheckpoint { reason } => write!(
                f,
                "warning: {reason}; recovered from an older checkpoint and the logs"
            ),
        }
    }
}
