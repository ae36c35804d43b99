//! The state directory's lock: one process at a time.
//!
//! An exclusive advisory lock (`flock` through `fs4`) on `DIR/LOCK`, held for as long as the
//! [`DirLock`] lives; the holder writes its pid into the file so a second process can say who
//! holds it. The kernel drops the lock when the holder exits or is killed, so a crash never
//! leaves a stale lock behind (the pid left in the file is then simply overwritten).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};

use fs4::fs_std::FileExt;

use crate::error::StateError;
use crate::layout::Layout;

/// A held lock on a state directory; released on drop.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock of `layout`'s directory, or fails with [`StateError::Locked`] naming
    /// the holder's pid. Never waits.
    pub fn acquire(layout: &Layout) -> Result<DirLock, StateError> {
        let path = layout.lock();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StateError::io(&path, e))?;
        let acquired = file
            .try_lock_exclusive()
            .map_err(|e| StateError::io(&path, e))?;
        if !acquired {
            return Err(StateError::Locked {
                dir: layout.dir().to_path_buf(),
                lock: path.clone(),
                pid: holder(&mut file),
            });
        }
        write_pid(&mut file).map_err(|e| StateError::io(&path, e))?;
        Ok(DirLock { _file: file })
    }
}

fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    file.flush()
}

/// The pid the holder wrote, or `unknown`.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let read = file.read_to_string(&mut text);
    let pid = text.trim();
    match read {
        Ok(_) if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) => pid.to_owned(),
        _ => "unknown".to_owned(),
    }
}
