//! Checkpoints: the whole directory as of one version, written atomically and checksummed.
//!
//! # Format
//! ```text
//! {"format":"userql-checkpoint/1","version":V,"bytes":N,"crc32c":C}\n
//! <N bytes: the directory as NDJSON, exactly as `userql_directory::save::save_ndjson` writes it>
//! ```
//! The first line says which version the checkpoint covers and how long and what checksum
//! (CRC-32C) its body has, so truncation and flipped bytes are detected before the body is
//! parsed; the body is the ordinary directory format (`tail -n +2` of a checkpoint is a file
//! `--data` can load).
//!
//! # Writing
//! Written to `NAME.tmp`, fsynced, renamed to `NAME`, and the directory fsynced: after a crash
//! the checkpoint either exists whole or not at all (a leftover `.tmp` is ignored and removed).

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::StateError;
use crate::layout::{sync_dir, Layout};

/// The `format` value of a checkpoint's first line.
pub const FORMAT: &str = "userql-checkpoint/1";

/// A checkpoint's first line.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u64,
    bytes: u64,
    crc32c: u32,
}

/// Writes the checkpoint of `version` with `body` (the directory's NDJSON) atomically, and
/// returns its size in bytes.
pub fn write(layout: &Layout, version: u64, body: &[u8]) -> Result<u64, StateError> {
    let path = layout.checkpoint(version);
    let temporary = Layout::temporary(&path);
    let header = Header {
        format: FORMAT.to_owned(),
        version,
        bytes: body.len() as u64,
        crc32c: crc32c::crc32c(body),
    };
    let mut first_line = serde_json::to_vec(&header).unwrap_or_default();
    first_line.push(b'\n');
    let mut file = File::create(&temporary).map_err(|e| StateError::io(&temporary, e))?;
    file.write_all(&first_line)
        .and_then(|()| file.write_all(body))
        .and_then(|()| file.sync_all())
        .map_err(|e| StateError::io(&temporary, e))?;
    drop(file);
    fs::rename(&temporary, &path).map_err(|e| StateError::io(&path, e))?;
    sync_dir(layout.dir())?;
    Ok((first_line.len() + body.len()) as u64)
}

/// Reads the checkpoint at `path`, expected to cover `version`, and returns its body after
/// checking length and checksum. Every problem is [`StateError::DamagedCheckpoint`] with the
/// offset where it shows.
pub fn read(path: &Path, version: u64) -> Result<Vec<u8>, StateError> {
    let mut bytes = fs::read(path).map_err(|e| StateError::io(path, e))?;
    let damaged = |offset: usize, reason: String| StateError::DamagedCheckpoint {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    let Some(newline) = bytes.iter().position(|&b| b == b'\n') else {
        return Err(damaged(0, "no header line".to_owned()));
    };
    let header: Header = serde_json::from_slice(&bytes[..newline])
        .map_err(|e| damaged(0, format!("bad header line: {e}")))?;
    if header.format != FORMAT {
        return Err(damaged(
            0,
            format!("format is {:?}, expected {FORMAT:?}", header.format),
        ));
    }
    if header.version != version {
        return Err(damaged(
            0,
            format!(
                "header says version {}, the file name says {version}",
                header.version
            ),
        ));
    }
    let start = newline + 1;
    let present = (bytes.len() - start) as u64;
    if present != header.bytes {
        let offset = start + present.min(header.bytes) as usize;
        return Err(damaged(
            offset,
            format!(
                "body is {present} bytes, the header says {} (truncated or extended)",
                header.bytes
            ),
        ));
    }
    if crc32c::crc32c(&bytes[start..]) != header.crc32c {
        return Err(damaged(
            start,
            format!(
                "checksum of the {} body bytes from byte {start} does not match the header",
                header.bytes
            ),
        ));
    }
    bytes.drain(..start);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_round_trips_and_detects_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(dir.path());
        let body = b"{\"format\":\"userql-directory/1\"}\n";
        write(&layout, 5, body).expect("write");
        let path = layout.checkpoint(5);
        assert_eq!(read(&path, 5).expect("read"), body.to_vec());
        assert!(read(&path, 6).is_err());

        let mut bytes = fs::read(&path).expect("bytes");
        let last = bytes.len() - 3;
        bytes[last] ^= 0x20;
        fs::write(&path, &bytes).expect("damage");
        let error = read(&path, 5).expect_err("flipped byte");
        assert!(error.to_string().contains("checksum"), "{error}");

        bytes.truncate(bytes.len() - 10);
        fs::write(&path, &bytes).expect("truncate");
        let error = read(&path, 5).expect_err("truncated");
        assert!(error.to_string().contains("truncated"), "{error}");
    }
}
