//! What ends a command other than an answer, and how it is reported: every CLI error type, the
//! diagnostic of a refused request, and writing to standard output. A leaf module: the command
//! modules (`run`, `data`, `state`, `pg`, `request`, `repl`) all report through it, and it
//! imports none of them, so the CLI's modules import each other without a cycle.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use userql_directory::changes::ChangeErrors;
use userql_directory::error::LoadErrors;
use userql_state::StateError;

/// What ended a subcommand other than an answer.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The request is invalid; the diagnostic has been printed (exit status 2).
    #[error("invalid request")]
    Invalid,
    /// The command line asks for something that cannot be done (exit status 2).
    #[error("{0}")]
    Usage(String),
    /// The data file could not be loaded (exit status 1).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A changes file was refused or unreadable (exit status 1).
    #[error(transparent)]
    Changes(#[from] ChangesError),
    /// A state directory could not be used, or a batch was refused (exit status 1).
    #[error(transparent)]
    State(#[from] StateFailure),
    /// The PostgreSQL backend failed: connection, server or schema (exit status 1).
    #[error("{0}")]
    Backend(String),
    /// Reading or writing failed (exit status 1).
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

impl Failure {
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Invalid | Failure::Usage(_) => ExitCode::from(2),
            Failure::Data(_)
            | Failure::Changes(_)
            | Failure::State(_)
            | Failure::Io { .. }
            | Failure::Backend(_) => ExitCode::from(1),
        }
    }

    /// An I/O failure while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Failure::Io {
            what: what.into(),
            source,
        }
    }
}

/// Why a directory could not be loaded (exit status 1).
#[derive(Debug, thiserror::Error)]
#[error("cannot load {}:\n{errors}", path.display())]
pub struct DataError {
    /// The file.
    pub path: PathBuf,
    /// Every problem found, each with its place.
    pub errors: LoadErrors,
}

/// Why a changes file was not (fully) applied (exit status 1). `Display` puts the file in
/// front of every problem: `changes.ndjson: line 7, change 2 (user u-42): …`.
#[derive(Debug, thiserror::Error)]
#[error("{}", located(path, errors))]
pub struct ChangesError {
    /// The changes file.
    pub path: PathBuf,
    /// The problems of the refused batch (or of the unreadable line).
    pub errors: ChangeErrors,
    /// Batches of this file applied before the refusal.
    pub applied: usize,
}

fn located(path: &Path, errors: &ChangeErrors) -> String {
    let file = path.display();
    errors
        .errors
        .iter()
        .map(|e| format!("{file}: {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why `--state` work stopped (exit status 1).
#[derive(Debug, thiserror::Error)]
pub enum StateFailure {
    /// The state directory could not be opened, recovered or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// A batch was refused: nothing of it was applied, the batches before it are durable.
    #[error("{file}: {errors}")]
    Refused {
        /// The changes file.
        file: String,
        /// Every problem, each naming its line and change.
        errors: String,
    },
}

/// Writes to standard output; a closed pipe (`userql … | head`) is not an error.
pub fn emit(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::io("writing standard output", e))
        }
        _ => Ok(()),
    }
}

/// An engine error for standard error: with the text and a caret when it is about the text;
/// a plain line when it is about the request as a whole (an unknown `--viewer`).
pub fn render_engine_error(error: &userql_engine::Error, source: &str) -> String {
    match &error.kind {
        userql_engine::ErrorKind::UnknownViewer(_) => {
            format!("error: {error} (--viewer takes admin, anonymous or a login)\n")
        }
        _ => error.render(source),
    }
}

/// The diagnostic of a refused request: for Hub the input with a caret under the span; for
/// other APIs the message naming the param, then the input with a caret under that param.
pub fn diagnostic(error: &userql_dialects::DialectError, input: &str) -> String {
    let mut text = match &error.engine {
        Some(engine) => {
            let (engine_error, source) = &**engine;
            render_engine_error(engine_error, source)
        }
        None => error.render(),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if error.engine.is_none() {
        text.push_str(&format!("  | {input}\n"));
        if let Some((start, end)) = blamed_param(&error.message, input) {
            let indent = input[..start].chars().count();
            let width = input[start..end].chars().count().max(1);
            text.push_str(&format!(
                "  | {}{}\n",
                " ".repeat(indent),
                "^".repeat(width)
            ));
        }
    }
    text
}

/// The `key=value` segment of a raw query string whose key the message names (as a whole word;
/// the longest such key wins, so `user_id` beats `id`), as a byte range of `input`.
fn blamed_param(message: &str, input: &str) -> Option<(usize, usize)> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let names = |key: &str| {
        message.match_indices(key).any(|(at, _)| {
            let before = message[..at].chars().next_back();
            let after = message[at + key.len()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
    };
    let mut best: Option<(usize, usize, usize)> = None;
    let mut start = 0;
    for segment in input.split('&') {
        let end = start + segment.len();
        let raw_key = segment.split('=').next().unwrap_or("");
        let key = userql_dialects::params::decode_component(raw_key);
        let longer = match best {
            Some((_, _, len)) => key.len() > len,
            None => true,
        };
        if !key.is_empty() && longer && names(&key) {
            best = Some((start, end, key.len()));
        }
        start = end + 1;
    }
    best.map(|(start, end, _)| (start, end))
}

#[cfg(test)]
mod tests {
    use super::blamed_param;

    #[test]
    fn the_named_param_is_blamed() {
        let input = "id=5&per_page=0&user_id=x";
        assert_eq!(
            blamed_param("per_page has a value not allowed", input),
            Some((5, 15))
        );
        assert_eq!(blamed_param("user_id is invalid", input), Some((16, 25)));
        assert_eq!(blamed_param("something else", input), None);
    }
}
