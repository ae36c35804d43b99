//! The write-ahead log: length-prefixed, checksummed records of opaque batches, made durable
//! with group commit.
//!
//! # Format (all integers little-endian)
//!
//! ```text
//! header (20 bytes)
//!   0..8    magic  "UQL-WAL" followed by the format number 0x01
//!   8..16   base   u64: the version the log starts after (its first record is base + 1)
//!   16..20  crc    CRC-32C of bytes 0..16
//! record (16 + n bytes), repeated
//!   0..4    n        u32: payload length (at most MAX_PAYLOAD)
//!   4..8    crc      CRC-32C of bytes 0..4, then 8..16 + n (length, version, payload)
//!   8..16   version  u64: the store version this batch produced (previous record's + 1)
//!   16..    payload  n bytes: the batch, opaque to the log (userql writes its JSON array)
//! ```
//!
//! A log is created whole (header written to a temporary file, fsynced, renamed, directory
//! fsynced), so its header is never torn. Records are only ever appended.
//!
//! # Reading: torn tail versus damage
//! A crash mid-append can leave the last record incomplete or with garbage where its bytes
//! never reached the disk. Such a record was never acknowledged (acknowledgement waits for the
//! fsync), so it is dropped with a warning and the file is cut back to the end of the last good
//! record. Any other bad record — one followed by a valid record of a later version — is damage
//! to acknowledged data and an error naming the file and byte offset. A bad length field can make
//! a damaged record look like it runs to the end of the file, so before declaring a tail torn the
//! reader searches the bytes after it for a valid record; finding one means damage.
//!
//! # Group commit
//! [`Log::append`] adds a record to an in-memory buffer (no system call) and [`Log::sync_to`]
//! waits until it is durable. The first waiter becomes the *leader*: it takes every record
//! buffered so far, writes them with one `write` and fsyncs, outside the lock, while later
//! appends fill the next buffer; when it finishes it wakes every waiter its fsync covered, and
//! one of the rest leads the next round. So N concurrent writers share far fewer than N fsyncs,
//! and a lone writer pays exactly one per batch.
//!
//! Only the leader writes to the file, and never while an fsync runs. Writing while an fsync
//! runs would not help: the page holding the log's tail is under writeback then, and a `write`
//! into it waits for the device (stable pages) — an appender blocked that way, still holding
//! the store's writer lock, would keep every other batch from reaching the buffer, and each
//! fsync would cover one batch. A record still in the buffer was never acknowledged, so losing
//! it in a crash loses nothing.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::error::StateError;
use crate::layout::{sync_dir, Layout};

/// Magic bytes at the start of every log: `UQL-WAL` and the format number.
pub const MAGIC: [u8; 8] = *b"UQL-WAL\x01";
/// Size of the file header.
pub const HEADER_LEN: usize = 20;
/// Size of a record's header (length, checksum, version).
pub const RECORD_HEADER_LEN: usize = 16;
/// The largest payload a record may hold (256 MiB): a bigger length field is damage.
pub const MAX_PAYLOAD: usize = 256 << 20;

/// The bytes of a log header for `base`.
pub fn encode_header(base: u64) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(&MAGIC);
    header[8..16].copy_from_slice(&base.to_le_bytes());
    let crc = crc32c::crc32c(&header[..16]);
    header[16..20].copy_from_slice(&crc.to_le_bytes());
    header
}

/// The bytes of one record.
pub fn encode_record(version: u64, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut record = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
    record.extend_from_slice(&len.to_le_bytes());
    record.extend_from_slice(&[0; 4]);
    record.extend_from_slice(&version.to_le_bytes());
    record.extend_from_slice(payload);
    let crc = record_crc(&record);
    record[4..8].copy_from_slice(&crc.to_le_bytes());
    record
}

/// The checksum of an encoded record (its own crc field excluded).
fn record_crc(record: &[u8]) -> u32 {
    let crc = crc32c::crc32c(&record[..4]);
    crc32c::crc32c_append(crc, &record[8..])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// One record read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Byte offset of the record in its file.
    pub offset: u64,
    /// The version the batch produced.
    pub version: u64,
    /// The batch's bytes.
    pub payload: &'a [u8],
}

/// A log read back: its records and where the good bytes end.
#[derive(Debug)]
pub struct Scan<'a> {
    /// The version the log starts after.
    pub base: u64,
    /// Every valid record, in file order.
    pub records: Vec<Record<'a>>,
    /// The end of the last valid record (the file's length unless a tail is torn).
    pub valid_len: u64,
    /// `(offset, dropped bytes)` of a torn last record.
    pub torn: Option<(u64, u64)>,
}

/// Decodes the record starting at `at`, if the bytes there are a whole record with a good
/// checksum.
fn record_at(bytes: &[u8], at: usize) -> Option<Record<'_>> {
    let rest = bytes.get(at..)?;
    if rest.len() < RECORD_HEADER_LEN {
        return None;
    }
    let len = u32_at(rest, 0) as usize;
    if len > MAX_PAYLOAD || rest.len() < RECORD_HEADER_LEN + len {
        return None;
    }
    let record = &rest[..RECORD_HEADER_LEN + len];
    if u32_at(record, 4) != record_crc(record) {
        return None;
    }
    Some(Record {
        offset: at as u64,
        version: u64_at(record, 8),
        payload: &record[RECORD_HEADER_LEN..],
    })
}

/// Why the bytes at a record position are not a record (for messages).
fn describe_bad_record(bytes: &[u8], at: usize) -> String {
    let rest = &bytes[at..];
    if rest.len() < RECORD_HEADER_LEN {
        return format!(
            "incomplete record header ({} of {RECORD_HEADER_LEN} bytes)",
            rest.len()
        );
    }
    let len = u32_at(rest, 0) as usize;
    if len > MAX_PAYLOAD {
        return format!("record length {len} exceeds the limit of {MAX_PAYLOAD} bytes");
    }
    if rest.len() < RECORD_HEADER_LEN + len {
        return format!(
            "record of {len} bytes runs past the end of the file ({} bytes left)",
            rest.len() - RECORD_HEADER_LEN
        );
    }
    "record checksum does not match its contents".to_owned()
}

/// Reads a whole log. `path` is only for messages. A torn last record is reported in
/// [`Scan::torn`]; every other problem is an error with its offset.
pub fn scan<'a>(path: &Path, bytes: &'a [u8]) -> Result<Scan<'a>, StateError> {
    let damaged = |offset: u64, reason: String| StateError::DamagedLog {
        path: path.to_path_buf(),
        offset,
        reason,
    };
    if bytes.len() < HEADER_LEN {
        return Err(damaged(
            0,
            format!(
                "header is {} bytes, expected {HEADER_LEN} (not a userql log)",
                bytes.len()
            ),
        ));
    }
    if bytes[..8] != MAGIC {
        return Err(damaged(
            0,
            "bad magic bytes (not a userql log, or another format version)".to_owned(),
        ));
    }
    if u32_at(bytes, 16) != crc32c::crc32c(&bytes[..16]) {
        return Err(damaged(0, "header checksum does not match".to_owned()));
    }
    let base = u64_at(bytes, 8);
    let mut records = Vec::new();
    let mut at = HEADER_LEN;
    let mut expected = base + 1;
    while at < bytes.len() {
        match record_at(bytes, at) {
            Some(record) if record.version == expected => {
                at += RECORD_HEADER_LEN + record.payload.len();
                expected += 1;
                records.push(record);
            }
            Some(record) => {
                return Err(damaged(
                    at as u64,
                    format!("record has version {}, expected {expected}", record.version),
                ));
            }
            None => {
                if let Some(later) = later_record(bytes, at + 1, expected) {
                    return Err(damaged(
                        at as u64,
                        format!(
                            "{} (a valid record of version {} follows at byte {})",
                            describe_bad_record(bytes, at),
                            later.version,
                            later.offset
                        ),
                    ));
                }
                return Ok(Scan {
                    base,
                    records,
                    valid_len: at as u64,
                    torn: Some((at as u64, (bytes.len() - at) as u64)),
                });
            }
        }
    }
    Ok(Scan {
        base,
        records,
        valid_len: at as u64,
        torn: None,
    })
}

/// The first valid record at or after `from` whose version is at least `expected` — evidence
/// that the bad bytes before it are not a torn tail. Only runs on a bad record, so its cost
/// (a checksum attempt per plausible offset) is paid once per recovery at most.
fn later_record(bytes: &[u8], from: usize, expected: u64) -> Option<Record<'_>> {
    (from..bytes.len().saturating_sub(RECORD_HEADER_LEN - 1)).find_map(|at| {
        let version = u64_at(bytes, at + 8);
        if version < expected {
            return None;
        }
        record_at(bytes, at)
    })
}

/// An open log being appended to.
#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    base: u64,
    inner: Mutex<Inner>,
    synced: Condvar,
    fsyncs: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    /// Shared so the sync leader can write and fsync without holding the lock.
    file: Arc<File>,
    /// Records appended but not yet handed to a leader, in version order.
    buffer: Vec<u8>,
    /// Version of the last record appended (the base if none).
    written: u64,
    /// Version through which an fsync has completed.
    durable: u64,
    /// Whether a leader is fsyncing right now.
    syncing: bool,
    /// Bytes in the file once every appended record is written.
    len: u64,
    /// The first write or fsync failure: after it nothing more is accepted, since the
    /// file's tail (or the page cache's idea of it) can no longer be trusted.
    failed: Option<String>,
}

impl Log {
    /// Creates the log for versions after `base` in `layout`'s directory: header written to a
    /// temporary file, fsynced, renamed into place, directory fsynced.
    pub fn create(layout: &Layout, base: u64) -> Result<Log, StateError> {
        let path = layout.log(base);
        let temporary = Layout::temporary(&path);
        let mut file = File::create(&temporary).map_err(|e| StateError::io(&temporary, e))?;
        file.write_all(&encode_header(base))
            .and_then(|()| file.sync_all())
            .map_err(|e| StateError::io(&temporary, e))?;
        drop(file);
        fs::rename(&temporary, &path).map_err(|e| StateError::io(&path, e))?;
        sync_dir(layout.dir())?;
        Log::open(&path, base, base, HEADER_LEN as u64)
    }

    /// Opens an existing log for appending after its last valid record: `last` is that
    /// record's version (`base` if none) and `valid_len` where it ends. A torn tail beyond
    /// `valid_len` is cut off and the cut made durable first.
    pub fn open(path: &Path, base: u64, last: u64, valid_len: u64) -> Result<Log, StateError> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| StateError::io(path, e))?;
        let len = file.metadata().map_err(|e| StateError::io(path, e))?.len();
        if len != valid_len {
            file.set_len(valid_len)
                .and_then(|()| file.sync_all())
                .map_err(|e| StateError::io(path, e))?;
        }
        Ok(Log {
            path: path.to_path_buf(),
            base,
            inner: Mutex::new(Inner {
                file: Arc::new(file),
                buffer: Vec::new(),
                written: last,
                durable: last,
                syncing: false,
                len: valid_len,
                failed: None,
            }),
            synced: Condvar::new(),
            fsyncs: AtomicU64::new(0),
        })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The version this log starts after.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Bytes in the file, counting appended records not written yet.
    pub fn len(&self) -> u64 {
        self.lock().len
    }

    /// Whether the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.lock().len <= HEADER_LEN as u64
    }

    /// Version of the last record appended.
    pub fn last_version(&self) -> u64 {
        self.lock().written
    }

    /// Version through which records are durable.
    pub fn durable_version(&self) -> u64 {
        self.lock().durable
    }

    /// How many fsyncs this log has done (group commit makes this smaller than the number of
    /// records when writers overlap).
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every critical section leaves `Inner` consistent before anything can panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends the record of `version` (which must follow the last one) to the buffer of the
    /// next group; [`Log::sync_to`] writes and fsyncs it.
    pub fn append(&self, version: u64, payload: &[u8]) -> Result<(), StateError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(StateError::RecordTooLarge {
                len: payload.len(),
                limit: MAX_PAYLOAD,
            });
        }
        let record = encode_record(version, payload);
        let mut inner = self.lock();
        if let Some(reason) = &inner.failed {
            return Err(StateError::Failed {
                reason: reason.clone(),
            });
        }
        if version != inner.written + 1 {
            return Err(StateError::Failed {
                reason: format!(
                    "{}: version {version} appended after version {}",
                    self.path.display(),
                    inner.written
                ),
            });
        }
        inner.buffer.extend_from_slice(&record);
        inner.written = version;
        inner.len += record.len() as u64;
        Ok(())
    }

    /// Returns once every record up to `version` is durable: leads a round (write the buffered
    /// records, fsync) if none is running, else waits for the running one (and leads the next if
    /// that one did not cover `version`).
    pub fn sync_to(&self, version: u64) -> Result<(), StateError> {
        let mut inner = self.lock();
        loop {
            if let Some(reason) = &inner.failed {
                return Err(StateError::Failed {
                    reason: reason.clone(),
                });
            }
            if inner.durable >= version {
                return Ok(());
            }
            if inner.syncing {
                inner = self
                    .synced
                    .wait(inner)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            inner.syncing = true;
            let target = inner.written;
            let group = std::mem::take(&mut inner.buffer);
            let file = Arc::clone(&inner.file);
            drop(inner);
            // Appends go on into the next buffer while this runs; they wait for the next round.
            let result = (&*file).write_all(&group).and_then(|()| file.sync_data());
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            inner = self.lock();
            inner.syncing = false;
            match result {
                Ok(()) => inner.durable = inner.durable.max(target),
                Err(e) => inner.failed = Some(StateError::io(&self.path, e).to_string()),
            }
            self.synced.notify_all();
        }
    }

    /// Appends and waits until the record is durable.
    pub fn append_durable(&self, version: u64, payload: &[u8]) -> Result<(), StateError> {
        self.append(version, payload)?;
        self.sync_to(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_bytes(base: u64, payloads: &[&[u8]]) -> Vec<u8> {
        let mut bytes = encode_header(base).to_vec();
        for (i, payload) in payloads.iter().enumerate() {
            bytes.extend(encode_record(base + 1 + i as u64, payload));
        }
        bytes
    }

    #[test]
    fn records_round_trip() {
        let bytes = log_bytes(7, &[b"[1]", b"", b"[2,3]"]);
        let scan = scan(Path::new("x"), &bytes).expect("valid log");
        assert_eq!(scan.base, 7);
        let got: Vec<_> = scan
            .records
            .iter()
            .map(|r| (r.version, r.payload))
            .collect();
        assert_eq!(
            got,
            vec![(8, &b"[1]"[..]), (9, &b""[..]), (10, &b"[2,3]"[..])]
        );
        assert_eq!(scan.valid_len, bytes.len() as u64);
        assert_eq!(scan.torn, None);
    }

    #[test]
    fn a_zeroed_tail_is_torn() {
        let mut bytes = log_bytes(0, &[b"[1]"]);
        let end = bytes.len() as u64;
        bytes.extend([0u8; 40]);
        let scan = scan(Path::new("x"), &bytes).expect("torn tail is not an error");
        assert_eq!(scan.records.len(), 1);
        assert_eq!(scan.torn, Some((end, 40)));
    }

    #[test]
    fn a_corrupt_length_before_a_good_record_is_damage() {
        let mut bytes = log_bytes(0, &[b"[1]", b"[2]"]);
        // Make the first record claim to run past the end of the file.
        bytes[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&1000u32.to_le_bytes());
        let error = scan(Path::new("x"), &bytes).expect_err("damage");
        assert!(
            error.to_string().contains("at byte 20")
                && error.to_string().contains("runs past the end"),
            "{error}"
        );
    }
}
