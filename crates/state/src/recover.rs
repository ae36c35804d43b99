//! Recovery: the newest usable checkpoint, then every logged batch after it, in order.
//!
//! Generic over what a checkpoint loads into and how a batch is applied (two callbacks), so the
//! rules below hold whatever the batch type:
//! - no checkpoint and no log: the directory was never seeded ([`StateError::NotSeeded`]);
//!   logs without a checkpoint: [`StateError::MissingCheckpoint`] — never an empty directory;
//! - the newest checkpoint that reads and loads is used; skipping a newer damaged one is a
//!   warning only if the logs still reach from the older one (otherwise the gap is an error);
//! - replay starts with the last log whose base is at or before the checkpoint's version
//!   (records the checkpoint already covers are skipped) and continues through every later log,
//!   each of which must start exactly where the previous one ended;
//! - a torn last record of the newest log is dropped with a warning; any other damage, and a
//!   batch the store refuses on replay, is an error naming the file and byte offset.

use std::fs;
use std::path::{Path, PathBuf};

use crate::checkpoint;
use crate::error::{StateError, Warning};
use crate::layout::Layout;
use crate::wal;

/// The newest log, where appends continue after recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    /// The log file.
    pub path: PathBuf,
    /// The version it starts after.
    pub base: u64,
    /// The version of its last valid record (`base` if none).
    pub last: u64,
    /// Where its last valid record ends (a torn tail after it is to be cut off).
    pub valid_len: u64,
}

/// What recovery rebuilt.
#[derive(Debug)]
pub struct Recovered<S> {
    /// The state: the checkpoint with every logged batch applied.
    pub state: S,
    /// The version reached.
    pub version: u64,
    /// The version of the checkpoint used.
    pub checkpoint: u64,
    /// Repairs made without losing an acknowledged batch.
    pub warnings: Vec<Warning>,
    /// The log to append to next.
    pub tail: Tail,
}

/// Rebuilds the state of `layout`'s directory. `load(version, path, body)` turns a checkpoint's
/// body into a state; `replay(state, version, payload)` applies one logged batch (its error
/// message is reported with the record's file and offset).
pub fn recover<S>(
    layout: &Layout,
    mut load: impl FnMut(u64, &Path, Vec<u8>) -> Result<S, StateError>,
    mut replay: impl FnMut(&mut S, u64, &[u8]) -> Result<(), String>,
) -> Result<Recovered<S>, StateError> {
    let listing = layout.list()?;
    let dir = layout.dir().to_path_buf();
    if listing.checkpoints.is_empty() {
        return Err(if listing.logs.is_empty() {
            StateError::NotSeeded { dir }
        } else {
            StateError::MissingCheckpoint { dir }
        });
    }
    let mut warnings = Vec::new();
    let mut problems = Vec::new();
    let mut chosen = None;
    for (version, path) in listing.checkpoints.iter().rev() {
        let loaded = checkpoint::read(path, *version).and_then(|body| load(*version, path, body));
        match loaded {
            Ok(state) => {
                chosen = Some((*version, state));
                break;
            }
            Err(problem) => problems.push(problem),
        }
    }
    let Some((checkpoint_version, mut state)) = chosen else {
        return Err(if problems.len() == 1 {
            problems.remove(0)
        } else {
            StateError::NoUsableCheckpoint { dir, problems }
        });
    };
    let Some(first) = listing
        .logs
        .iter()
        .rposition(|(base, _)| *base <= checkpoint_version)
    else {
        return Err(StateError::Gap {
            dir,
            reason: format!(
                "no log starts at or before checkpoint version {checkpoint_version} (was a wal-*.log file removed?)"
            ),
        });
    };
    let logs = &listing.logs[first..];
    let mut version = checkpoint_version;
    let mut tail = None;
    for (position, (base, path)) in logs.iter().enumerate() {
        let newest = position + 1 == logs.len();
        if *base > version {
            return Err(StateError::Gap {
                dir,
                reason: format!(
                    "{} starts after version {base}, but the state before it only reaches version {version}",
                    path.display()
                ),
            });
        }
        let bytes = fs::read(path).map_err(|e| StateError::io(path, e))?;
        let scan = wal::scan(path, &bytes)?;
        if scan.base != *base {
            return Err(StateError::DamagedLog {
                path: path.clone(),
                offset: 0,
                reason: format!(
                    "header says base version {}, the file name says {base}",
                    scan.base
                ),
            });
        }
        for record in &scan.records {
            if record.version <= version {
                continue; // already in the checkpoint
            }
            replay(&mut state, record.version, record.payload).map_err(|reason| {
                StateError::Replay {
                    path: path.clone(),
                    offset: record.offset,
                    version: record.version,
                    reason,
                }
            })?;
            version = record.version;
        }
        if let Some((offset, dropped)) = scan.torn {
            if !newest {
                return Err(StateError::DamagedLog {
                    path: path.clone(),
                    offset,
                    reason: "bad record at the end of a log that a newer log follows".to_owned(),
                });
            }
            warnings.push(Warning::TornRecord {
                path: path.clone(),
                offset,
                dropped,
            });
        }
        if newest {
            let last = scan.records.last().map_or(scan.base, |r| r.version);
            tail = Some(Tail {
                path: path.clone(),
                base: scan.base,
                last,
                valid_len: scan.valid_len,
            });
        }
    }
    let tail = tail.ok_or_else(|| StateError::Gap {
        dir: layout.dir().to_path_buf(),
        reason: "no log to continue".to_owned(),
    })?;
    if tail.last < checkpoint_version {
        // The newest log ends before the checkpoint (its base is older and the checkpoint was
        // taken after a switch that this listing does not show): nothing to append to safely.
        return Err(StateError::Gap {
            dir: layout.dir().to_path_buf(),
            reason: format!(
                "the newest log {} ends at version {}, before checkpoint version {checkpoint_version}",
                tail.path.display(),
                tail.last
            ),
        });
    }
    for problem in problems {
        warnings.insert(
            0,
            Warning::SkippedCheckpoint {
                reason: problem.to_string(),
            },
        );
    }
    Ok(Recovered {
        state,
        version,
        checkpoint: checkpoint_version,
        warnings,
        tail,
    })
}
