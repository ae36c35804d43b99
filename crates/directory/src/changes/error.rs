//! Refusals of change batches and change files, each located by line, change and subject.

use std::fmt;

use crate::error::LoadErrorKind;

/// Every problem of a refused batch (or an unreadable changes file). Never empty as an `Err`;
/// `Display` prints one problem per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ChangeErrors {
    /// The problems, in batch order.
    pub errors: Vec<ChangeError>,
}

impl fmt::Display for ChangeErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::error::write_lines(f, &self.errors)
    }
}

impl ChangeErrors {
    /// One problem.
    pub fn single(error: ChangeError) -> ChangeErrors {
        ChangeErrors {
            errors: vec![error],
        }
    }

    /// The same problems, placed on `line` of a changes file.
    pub fn at_line(mut self, line: usize) -> ChangeErrors {
        for error in &mut self.errors {
            error.line = Some(line);
        }
        self
    }
}

/// One located problem: `line 7, change 2 (user u-42): login 'vader' is already used by u-vader`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeError {
    /// 1-based line of the changes file, when the batch came from one.
    pub line: Option<usize>,
    /// 1-based position of the change in its batch (`None` for a problem of the whole line,
    /// such as invalid JSON).
    pub change: Option<usize>,
    /// What the change is about (`user u-42`), when known.
    pub subject: Option<String>,
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// What is wrong.
    pub problem: ChangeProblem,
}

impl ChangeError {
    /// A problem of one change of a batch.
    pub fn of_change(
        change: usize,
        subject: String,
        field: Option<String>,
        problem: ChangeProblem,
    ) -> ChangeError {
        ChangeError {
            line: None,
            change: Some(change),
            subject: Some(subject),
            field,
            problem,
        }
    }
}

impl fmt::Display for ChangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut place = Vec::new();
        if let Some(line) = self.line {
            place.push(format!("line {line}"));
        }
        if let Some(change) = self.change {
            place.push(format!("change {change}"));
        }
        let mut place = place.join(", ");
        if let Some(subject) = &self.subject {
            if place.is_empty() {
                place = subject.clone();
            } else {
                place = format!("{place} ({subject})");
            }
        }
        if place.is_empty() {
            place = "changes".to_owned();
        }
        // The uniqueness messages read as one sentence about the field; the others name it.
        let named_by_problem = matches!(
            self.problem,
            ChangeProblem::Directory(LoadErrorKind::DuplicateLogin { .. })
                | ChangeProblem::Directory(LoadErrorKind::DuplicateNumber { .. })
        );
        match &self.field {
            Some(field) if !named_by_problem => {
                write!(f, "{place}, field `{field}`: {}", self.problem)
            }
            _ => write!(f, "{place}: {}", self.problem),
        }
    }
}

/// What is wrong with a change or a changes file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeProblem {
    /// The file could not be read.
    #[error("cannot read: {message}")]
    Io {
        /// The underlying reason.
        message: String,
    },
    /// The first line is not `{"format": "userql-changes/1"}`.
    #[error("expected the header {{\"format\": \"userql-changes/1\"}}, found {found}")]
    Header {
        /// What the line holds (shortened).
        found: String,
    },
    /// A line that is not JSON, or not a change or an array of changes.
    #[error("{message}")]
    Malformed {
        /// serde's description.
        message: String,
    },
    /// The change would break a rule of the directory (message as for loading, except the
    /// uniqueness ones: `login 'vader' is already used by u-vader`).
    #[error("{}", directory_text(.0))]
    Directory(LoadErrorKind),
    /// A patch tries to change the id.
    #[error("`id` cannot change (from {from:?} to {to})")]
    IdChange {
        /// The object's id.
        from: String,
        /// The value in `set`.
        to: String,
    },
    /// A delete of an object that something still refers to (foreign key `RESTRICT`).
    #[error("still referenced by {}", references_text(.references, *.more))]
    Referenced {
        /// The first references (`user u-1 (member)`, `group g-2 (parent)`).
        references: Vec<String>,
        /// How many more were not listed.
        more: usize,
    },
}

fn directory_text(kind: &LoadErrorKind) -> String {
    match kind {
        LoadErrorKind::DuplicateLogin { login, first } => {
            format!("login '{login}' is already used by {first}")
        }
        LoadErrorKind::DuplicateNumber { number, first } => {
            format!("number {number} is already used by {first}")
        }
        other => other.to_string(),
    }
}

fn references_text(references: &[String], more: usize) -> String {
    let mut text = references.join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}
