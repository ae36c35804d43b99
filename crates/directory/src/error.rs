//! Load and update errors: data, not strings, so callers (CLI, tests, the store) can inspect them.
//!
//! A load never stops at the first problem: every error found is collected into [`LoadErrors`], so a
//! user fixing a hand-written directory sees the whole list at once.

use std::fmt;

/// Every problem found while loading, validating or applying an update batch.
///
/// Never empty when returned as an `Err`. `Display` prints one error per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors {
    /// The errors, in the order they were found (file order, then validation pass order).
    pub errors: Vec<LoadError>,
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_lines(f, &self.errors)
    }
}

/// Writes `items` one per line: how every list of problems in this crate prints.
pub(crate) fn write_lines<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            writeln!(f)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl LoadErrors {
    /// Wraps a list the caller knows is non-empty.
    pub(crate) fn new(errors: Vec<LoadError>) -> LoadErrors {
        LoadErrors { errors }
    }

    /// One error with a place and no field (syntax errors, format tag, I/O).
    pub(crate) fn single(place: impl Into<String>, kind: LoadErrorKind) -> LoadErrors {
        LoadErrors::new(vec![LoadError::new(place, None, kind)])
    }
}

/// One problem, located: which object (kind + index + id, or NDJSON line), which field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// Where: `users[3] (id u-vader)`, `grants[2]`, `line 17 (user u-vader)`, `batch[0]`, `document`.
    pub place: String,
    /// The offending field (`groups[1]`, `created_at`), when the problem is in one field.
    pub field: Option<String>,
    /// What is wrong, with the offending value.
    pub kind: LoadErrorKind,
}

impl LoadError {
    /// Builds an error; `field` is optional because some problems concern the whole object.
    pub fn new(place: impl Into<String>, field: Option<String>, kind: LoadErrorKind) -> LoadError {
        LoadError {
            place: place.into(),
            field,
            kind,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}, field `{}`: {}", self.place, field, self.kind),
            None => write!(f, "{}: {}", self.place, self.kind),
        }
    }
}

/// What went wrong — one variant per mistake a directory author (or update producer) can make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadErrorKind {
    /// The bytes are not JSON (or a NDJSON line is not).
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line in the whole input.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// The input is not valid UTF-8 text or could not be read.
    #[error("cannot read input: {message}")]
    Io {
        /// The underlying reason.
        message: String,
    },
    /// The `format` tag is missing or not `userql-directory/1`.
    #[error("unsupported format {found:?}, expected \"userql-directory/1\"")]
    BadFormat {
        /// What the file says (empty when absent).
        found: String,
    },
    /// A key the format does not define (anywhere except inside `profile`).
    #[error("unknown field `{name}`")]
    UnknownField {
        /// The key as written.
        name: String,
    },
    /// A required field is absent.
    #[error("missing required field `{name}`")]
    MissingField {
        /// The field's name.
        name: String,
    },
    /// A field has the wrong JSON type or shape (e.g. a list given as `null`).
    #[error("{message}")]
    Invalid {
        /// serde's description, with the line in the whole input when known.
        message: String,
    },
    /// An NDJSON line's `kind` is missing or unknown.
    #[error("unknown object kind {found:?} (expected service, permission, role, organization, project, group, team, grant or user)")]
    UnknownKind {
        /// The `kind` value (empty when absent).
        found: String,
    },
    /// An id or login is the empty string.
    #[error("must not be empty")]
    Empty,
    /// Two objects of the same kind share an id.
    #[error("duplicate id {id:?} (first used by {first})")]
    DuplicateId {
        /// The repeated id.
        id: String,
        /// Place of the first object with that id.
        first: String,
    },
    /// Two users' logins are equal up to case.
    #[error("duplicate login {login:?} (case-insensitive; first used by {first})")]
    DuplicateLogin {
        /// The login as written on this user.
        login: String,
        /// Place of the first user with that login.
        first: String,
    },
    /// Two users have the same explicit number.
    #[error("duplicate number {number} (first used by {first})")]
    DuplicateNumber {
        /// The number.
        number: u64,
        /// Place of the first user with that number.
        first: String,
    },
    /// A user without `number` gets its 1-based position, which another user claims explicitly.
    #[error(
        "default number {number} (the user's position) is already the explicit number of {other}"
    )]
    DefaultNumberTaken {
        /// The position-derived number.
        number: u64,
        /// Place of the user with that explicit number.
        other: String,
    },
    /// `number` is zero or negative.
    #[error("number must be a positive integer, found {value}")]
    NumberNotPositive {
        /// The value as written.
        value: i64,
    },
    /// A reference to an id that does not exist.
    #[error("unknown {target} id {id:?}")]
    Dangling {
        /// The kind of object referred to (`group`, `user`, `service`, …).
        target: &'static str,
        /// The missing id.
        id: String,
    },
    /// The group forest has a cycle through `parent`.
    #[error("group cycle: {}", cycle_text(.ids))]
    GroupCycle {
        /// The group ids on the cycle, in parent order, starting with the reporting group.
        ids: Vec<String>,
    },
    /// A grant names no subject or more than one of `user` / `group` / `team`.
    #[error("a grant needs exactly one of `user`, `group`, `team`; found {}", subjects_text(.found))]
    GrantSubjects {
        /// The subject fields present.
        found: Vec<&'static str>,
    },
    /// A grant names both `project` and `organization`.
    #[error("a grant may have `project` or `organization`, not both")]
    GrantScope,
    /// An unknown user state.
    #[error("unknown state {value:?} (expected active, blocked, ldap_blocked, deactivated, banned or blocked_pending_approval)")]
    BadState {
        /// The value as written.
        value: String,
    },
    /// An unknown group access level.
    #[error("unknown access level {value:?} (expected guest, planner, reporter, developer, maintainer or owner)")]
    BadAccess {
        /// The value as written.
        value: String,
    },
    /// A timestamp that is not RFC 3339.
    #[error("invalid RFC 3339 timestamp {value:?}: {reason}")]
    BadTimestamp {
        /// The value as written.
        value: String,
        /// chrono's reason.
        reason: String,
    },
    /// An update names a user (or membership, grant) that does not exist in the would-be model.
    #[error("no such {what}: {id:?}")]
    NotFound {
        /// What was looked for (`user`, `membership`, `grant`).
        what: &'static str,
        /// How it was named.
        id: String,
    },
}

fn cycle_text(ids: &[String]) -> String {
    let mut text = ids.join(" -> ");
    if let Some(first) = ids.first() {
        text.push_str(" -> ");
        text.push_str(first);
    }
    text
}

fn subjects_text(found: &[&'static str]) -> String {
    if found.is_empty() {
        "none".to_owned()
    } else {
        found.join(", ")
    }
}
