//! Loading a directory from JSON or NDJSON bytes (directory.md), with full validation.
//!
//! Two readers per format, one job each:
//! - the fast path parses a valid file once, serde straight into the raw types: JSON in one pass
//!   over the document (`onepass.rs`), NDJSON split at newlines into one chunk per core, parsed on
//!   scoped threads and merged in file order (`split.rs`). It gives up at the first irregularity.
//! - the tolerant reader (`json.rs`, `ndjson.rs`) then reads the input again object by object, so
//!   one malformed user (an unknown field, a missing login) is reported with its place and the rest
//!   of the file is still checked. Objects that failed to parse are excluded from validation, and
//!   references to their ids are not reported again as dangling.
//!
//! A file only the tolerant reader can read has a parse error, so the two never disagree on a
//! model; every error message is the tolerant reader's. Both hand a [`crate::raw::Directory`] to
//! validation ([`validate`]). The result is either a whole valid [`Model`] or every error found.

mod blocks;
mod catalog_ids;
mod json;
mod ndjson;
mod onepass;
mod per_catalog;
pub(crate) mod places;
mod rows;
mod split;
mod validate;

use std::path::Path;

use crate::error::{LoadErrorKind, LoadErrors};
use crate::model::Model;
use places::{Places, Style};

pub(crate) use catalog_ids::CatalogIds;
pub(crate) use per_catalog::PerCatalog;
pub(crate) use validate::{
    convert_user, resolve_grant, validate_with, Checker, IdHasher, Tables, Tolerated, UserIds,
};
pub use validate::{parse_timestamp, validate};

/// Loads a whole-document JSON directory.
pub fn load_json(bytes: &[u8]) -> Result<Model, LoadErrors> {
    let text = utf8(bytes)?;
    match onepass::json(text) {
        Some(directory) => {
            validate_with(directory, &Places::identity(Style::Json), &Tolerated::new())
        }
        None => json::load(text),
    }
}

/// Loads an NDJSON directory: a `{"format": …}` header line, then one object per line with a
/// `kind`. Errors name the 1-based line number.
pub fn load_ndjson(bytes: &[u8]) -> Result<Model, LoadErrors> {
    let text = utf8(bytes)?;
    match split::ndjson(text) {
        Some((directory, lines)) => validate_with(
            directory,
            &Places::mapped(Style::Ndjson, lines),
            &Tolerated::new(),
        ),
        None => ndjson::load(text),
    }
}

/// The input as text: both formats are UTF-8 (checked once, before either reader runs).
fn utf8(bytes: &[u8]) -> Result<&str, LoadErrors> {
    std::str::from_utf8(bytes).map_err(|e| {
        LoadErrors::single(
            "document",
            LoadErrorKind::Io {
                message: format!("not UTF-8: {e}"),
            },
        )
    })
}

/// The default for [`load_path_limited`]: 4 GiB (a million generated users take about 1.5 GB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 4 << 30;

/// Loads a file, choosing the reader by extension: `.json`, or `.ndjson` / `.jsonl`; at most
/// [`DEFAULT_MAX_FILE_BYTES`].
pub fn load_path(path: &Path) -> Result<Model, LoadErrors> {
    load_path_limited(path, DEFAULT_MAX_FILE_BYTES)
}

/// [`load_path`] with a size bound. Only a regular file is read (a device such as `/dev/zero`,
/// a FIFO or a directory is refused before any byte is read), the extension is checked first,
/// and a file larger than `max_bytes` is refused — also when it grows while being read.
pub fn load_path_limited(path: &Path, max_bytes: u64) -> Result<Model, LoadErrors> {
    use std::io::Read;
    let place = path.display().to_string();
    let fail = |message: String| LoadErrors::single(place.clone(), LoadErrorKind::Io { message });
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let reader: fn(&[u8]) -> Result<Model, LoadErrors> = match extension.as_deref() {
        Some("json") => load_json,
        Some("ndjson") | Some("jsonl") => load_ndjson,
        other => {
            return Err(fail(format!(
                "unknown extension {:?}: expected .json, .ndjson or .jsonl",
                other.unwrap_or("")
            )))
        }
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let metadata = file.metadata().map_err(|e| fail(e.to_string()))?;
    if !metadata.is_file() {
        return Err(fail(
            "not a regular file: only a regular .json/.ndjson file can be loaded".to_owned(),
        ));
    }
    let too_large = |len: u64| {
        fail(format!(
            "file too large: {len} bytes, the limit is {max_bytes} bytes"
        ))
    };
    if metadata.len() > max_bytes {
        return Err(too_large(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    reader(&bytes)
}

/// Maps a serde error on one object to a precise kind; `line` is the object's first line in the
/// whole input (serde's own position is relative to the object).
pub(crate) fn object_error(
    error: &serde_json::Error,
    line: Option<usize>,
) -> (Option<String>, LoadErrorKind) {
    let text = error.to_string();
    let message = match text.rfind(" at line ") {
        Some(cut) if error.line() > 0 => &text[..cut],
        _ => text.as_str(),
    };
    if let Some(name) = backticked(message, "unknown field `") {
        return (Some(name.clone()), LoadErrorKind::UnknownField { name });
    }
    if let Some(name) = backticked(message, "missing field `") {
        return (Some(name.clone()), LoadErrorKind::MissingField { name });
    }
    let message = match line {
        Some(start) if error.line() > 0 => format!("{message} (line {})", start + error.line() - 1),
        _ => message.to_owned(),
    };
    (None, LoadErrorKind::Invalid { message })
}

fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    let end = rest.find('`')?;
    Some(rest[..end].to_owned())
}

/// Syntax error for the whole input.
pub(crate) fn syntax_error(error: &serde_json::Error, line_offset: usize) -> LoadErrorKind {
    let text = error.to_string();
    let message = match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    };
    LoadErrorKind::Syntax {
        line: error.line() + line_offset,
        column: error.column(),
        message,
    }
}
