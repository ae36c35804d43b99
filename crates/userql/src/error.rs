//! The facade's errors: one enum an embedder matches on, with the details kept as data.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use userql_directory::changes::ChangeErrors;

/// Everything a userql call can refuse.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A directory (file, bytes or one built in code), a change or a change batch failed
    /// validation; nothing was changed.
    #[error("invalid directory or changes:\n{0}")]
    Invalid(Problems),
    /// A Hub query or one of its options (`orderBy`, `fields`, `$skip`, `$top`) was refused.
    #[error("{0}")]
    Query(QueryError),
    /// A state directory could not be opened, recovered or written.
    #[error("{0}")]
    State(StateError),
    /// A tokens file ([`crate::Tokens::from_json`]) is not valid; the text says why.
    #[error("{0}")]
    Tokens(String),
}

/// Every problem validation found (never empty): a directory is checked as a whole, so a user
/// fixing a file sees the whole list at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// The problems, in the order they were found.
    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false` for a returned error; here for symmetry with [`Problems::len`].
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// One validation problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// Where: `users[3] (id u-vader)`, `line 17 (user u-vader)`, `change 2 (user u-42)`, a
    /// file path.
    pub place: String,
    /// The 1-based line of a changes file, for a change read from one ([`crate::ChangeFile`]).
    pub line: Option<usize>,
    /// The 1-based position of the change in its batch, for a problem of one change.
    pub change: Option<usize>,
    /// The offending field, when the problem is in one field.
    pub field: Option<String>,
    /// What is wrong, with the offending value.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: {}: {}", self.place, field, self.message),
            None => write!(f, "{}: {}", self.place, self.message),
        }
    }
}

impl From<userql_directory::error::LoadErrors> for Error {
    fn from(errors: userql_directory::error::LoadErrors) -> Self {
        Error::Invalid(Problems(
            errors
                .errors
                .into_iter()
                .map(|e| Problem {
                    place: e.place,
                    line: None,
                    change: None,
                    field: e.field,
                    message: e.kind.to_string(),
                })
                .collect(),
        ))
    }
}

impl From<ChangeErrors> for Error {
    fn from(errors: ChangeErrors) -> Self {
        Error::Invalid(Problems(
            errors
                .errors
                .into_iter()
                .map(|e| {
                    let mut place: Vec<String> = Vec::new();
                    place.extend(e.line.map(|line| format!("line {line}")));
                    place.extend(e.change.map(|change| format!("change {change}")));
                    let mut place = place.join(", ");
                    if let Some(subject) = &e.subject {
                        place = match place.is_empty() {
                            true => subject.clone(),
                            false => format!("{place} ({subject})"),
                        };
                    }
                    if place.is_empty() {
                        place = "changes".to_owned();
                    }
                    Problem {
                        place,
                        line: e.line,
                        change: e.change,
                        field: e.field,
                        message: e.problem.to_string(),
                    }
                })
                .collect(),
        ))
    }
}

/// A state directory that could not be opened, recovered or written: the message names the
/// file (and byte offset) involved. After a failed write the store refuses further changes
/// (readers keep the last durable version); reopen it to recover from the disk.
#[derive(Debug, Clone)]
pub struct StateError(Arc<userql_state::StateError>);

impl StateError {
    /// Another process holds the state directory's lock.
    pub fn is_locked(&self) -> bool {
        matches!(*self.0, userql_state::StateError::Locked { .. })
    }

    /// The state directory holds no state yet and no seed was given to start it from.
    pub fn is_not_seeded(&self) -> bool {
        matches!(*self.0, userql_state::StateError::NotSeeded { .. })
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl From<userql_state::StateError> for Error {
    fn from(error: userql_state::StateError) -> Self {
        Error::State(StateError(Arc::new(error)))
    }
}

impl From<userql_state::ApplyError<ChangeErrors>> for Error {
    fn from(error: userql_state::ApplyError<ChangeErrors>) -> Self {
        match error {
            userql_state::ApplyError::Refused(errors) => errors.into(),
            userql_state::ApplyError::State(error) => error.into(),
        }
    }
}

/// A refused Hub request: the message, the parameter it is about, and the span in that
/// parameter's text, so a client can underline the mistake.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryError {
    /// Boxed: engine errors are large and rare, results should stay small.
    inner: Box<userql_engine::Error>,
    source: String,
}

impl QueryError {
    pub(crate) fn new(inner: userql_engine::Error, source: impl Into<String>) -> Self {
        QueryError {
            inner: Box::new(inner),
            source: source.into(),
        }
    }

    /// The request parameter at fault: `query`, `orderBy`, `fields`, `$skip` or `$top`.
    pub fn parameter(&self) -> &'static str {
        self.inner.field()
    }

    /// Byte range in [`QueryError::source_text`] that the error blames.
    pub fn span(&self) -> Range<usize> {
        self.inner.span.clone()
    }

    /// The text the span points into: the query, or the option's value.
    pub fn source_text(&self) -> &str {
        &self.source
    }

    /// The HTTP status Hub answers this with: 401 for an unknown viewer, else 400.
    pub fn status(&self) -> u16 {
        match self.inner.kind {
            userql_engine::ErrorKind::UnknownViewer(_) => 401,
            _ => 400,
        }
    }

    /// Hub's JSON error body (`error`, `error_description`, `error_field`, `error_children`).
    pub fn body(&self) -> serde_json::Value {
        userql_engine::error_body(&self.inner)
    }

    /// A human diagnostic: the message, the text and a caret under the span.
    pub fn render(&self) -> String {
        self.inner.render(&self.source)
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl std::error::Error for QueryError {}
