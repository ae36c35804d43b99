//! A streaming reader of changes files (NDJSON): one batch per line, read as it is needed, so
//! a stream of millions of changes never sits in memory at once.

use std::io::{BufRead, Read};

use serde_json::Value;

use super::error::{ChangeError, ChangeErrors, ChangeProblem};
use super::format::{Change, FORMAT};

/// The longest line accepted (a batch of 100,000 changes fits comfortably); longer lines are
/// refused rather than buffered without bound.
pub const MAX_LINE: usize = 64 << 20;

/// One batch of a changes file and the line it was on.
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedBatch {
    /// 1-based line number.
    pub line: usize,
    /// The changes, applied all or nothing.
    pub changes: Vec<Change>,
}

/// Reads a changes file batch by batch: checks the header, skips blank lines, and reports the
/// first malformed line (with its number, and the change within an array) as an error, after
/// which it yields nothing more.
pub struct ChangeReader<R> {
    input: R,
    line: usize,
    header_seen: bool,
    failed: bool,
    buffer: Vec<u8>,
}

impl<R: BufRead> ChangeReader<R> {
    /// A reader over `input` (the whole file, header first).
    pub fn new(input: R) -> ChangeReader<R> {
        ChangeReader {
            input,
            line: 0,
            header_seen: false,
            failed: false,
            buffer: Vec::new(),
        }
    }

    /// The next non-blank line, or `None` at the end of the input.
    fn next_line(&mut self) -> Result<Option<String>, ChangeErrors> {
        loop {
            self.buffer.clear();
            let read = (&mut self.input)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut self.buffer)
                .map_err(|e| {
                    self.error(
                        None,
                        ChangeProblem::Io {
                            message: e.to_string(),
                        },
                    )
                })?;
            if read == 0 {
                return Ok(None);
            }
            self.line += 1;
            if self.buffer.len() > MAX_LINE {
                return Err(self.error(
                    None,
                    ChangeProblem::Malformed {
                        message: format!("line longer than {MAX_LINE} bytes"),
                    },
                ));
            }
            let text = std::str::from_utf8(&self.buffer).map_err(|e| {
                self.error(
                    None,
                    ChangeProblem::Malformed {
                        message: format!("not UTF-8: {e}"),
                    },
                )
            })?;
            let text = text.trim();
            if !text.is_empty() {
                return Ok(Some(text.to_owned()));
            }
        }
    }

    fn error(&self, change: Option<usize>, problem: ChangeProblem) -> ChangeErrors {
        ChangeErrors::single(ChangeError {
            line: Some(self.line),
            change,
            subject: None,
            field: None,
            problem,
        })
    }

    fn header(&mut self, text: &str) -> Result<(), ChangeErrors> {
        let format = serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v.get("format").and_then(Value::as_str).map(str::to_owned));
        if format.as_deref() == Some(FORMAT) {
            return Ok(());
        }
        let found: String = text.chars().take(80).collect();
        Err(self.error(None, ChangeProblem::Header { found }))
    }

    fn batch(&self, text: &str) -> Result<LocatedBatch, ChangeErrors> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            self.error(
                None,
                ChangeProblem::Malformed {
                    message: format!("invalid JSON at column {}: {}", e.column(), strip(&e)),
                },
            )
        })?;
        let items = match value {
            Value::Array(items) => items,
            object @ Value::Object(_) => vec![object],
            _ => {
                return Err(self.error(
                    None,
                    ChangeProblem::Malformed {
                        message: "expected a change (an object) or a batch (an array)".to_owned(),
                    },
                ))
            }
        };
        let mut changes = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            match serde_json::from_value::<Change>(item) {
                Ok(change) => changes.push(change),
                Err(e) => errors.extend(
                    self.error(
                        Some(index + 1),
                        ChangeProblem::Malformed { message: strip(&e) },
                    )
                    .errors,
                ),
            }
        }
        if errors.is_empty() {
            Ok(LocatedBatch {
                line: self.line,
                changes,
            })
        } else {
            Err(ChangeErrors { errors })
        }
    }
}

/// serde's message without its own (meaningless, per-value) position.
fn strip(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

impl<R: BufRead> Iterator for ChangeReader<R> {
    type Item = Result<LocatedBatch, ChangeErrors>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let result = self.next_item();
        if matches!(result, Some(Err(_))) {
            self.failed = true;
        }
        result
    }
}

impl<R: BufRead> ChangeReader<R> {
    fn next_item(&mut self) -> Option<Result<LocatedBatch, ChangeErrors>> {
        let text = match self.next_line() {
            Ok(Some(text)) => text,
            Ok(None) if self.header_seen => return None,
            Ok(None) => {
                return Some(Err(self.error(
                    None,
                    ChangeProblem::Header {
                        found: "an empty file".to_owned(),
                    },
                )))
            }
            Err(errors) => return Some(Err(errors)),
        };
        if !self.header_seen {
            if let Err(errors) = self.header(&text) {
                return Some(Err(errors));
            }
            self.header_seen = true;
            return self.next_item();
        }
        Some(self.batch(&text))
    }
}

/// Reads a whole changes file held in memory (tests, small files).
pub fn read_changes(bytes: &[u8]) -> Result<Vec<LocatedBatch>, ChangeErrors> {
    ChangeReader::new(bytes).collect()
}
