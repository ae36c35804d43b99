//! Errors a request can produce, each with the span of the query text it blames.

use std::ops::Range;

/// A request error: what went wrong and where in the query text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}")]
pub struct Error {
    /// Byte span in the query text (`0..0` when the error is about a request option).
    pub span: Range<usize>,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl Error {
    /// An error at `span`.
    pub fn new(span: Range<usize>, kind: ErrorKind) -> Self {
        Error { span, kind }
    }

    /// A human diagnostic: the message, the query, and a caret under the span.
    pub fn render(&self, source: &str) -> String {
        if let ErrorKind::Syntax(inner) = &self.kind {
            return inner.render(source);
        }
        render_caret(source, &self.span, &self.kind.to_string())
    }

    /// What the request should have contained instead (for API error bodies).
    pub fn field(&self) -> &'static str {
        match &self.kind {
            ErrorKind::Option { option, .. } => option,
            _ => "query",
        }
    }
}

pub use userql_syntax::render_caret;

/// The kinds of request error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ErrorKind {
    /// The query text does not parse.
    #[error("{0}")]
    Syntax(userql_syntax::Error),
    /// A reference to a project, group, role … that does not exist.
    #[error("unknown {entity} '{name}'{}", suggestions_text(.suggestions))]
    UnknownEntity {
        /// `project`, `group`, `role`, …
        entity: &'static str,
        /// As written.
        name: String,
        /// Nearest known names.
        suggestions: Vec<String>,
    },
    /// A value outside a closed set (`is:`, `has:`, `state:`).
    #[error("unknown value '{value}' for '{key}': expected {expected}{}", suggestion_text(.suggestion))]
    UnknownValue {
        /// The key.
        key: String,
        /// As written.
        value: String,
        /// The accepted values.
        expected: String,
        /// Did-you-mean.
        suggestion: Option<String>,
    },
    /// A value of the wrong form (a bad date, a non-number).
    #[error("invalid value '{value}' for '{key}': {expected}")]
    BadValue {
        /// The key.
        key: String,
        /// As written.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// A range where a range means nothing (`login: a .. b`).
    #[error("'{key}' does not take a range")]
    RangeNotAllowed {
        /// The key.
        key: String,
    },
    /// An open bound `*` where a value is needed.
    #[error("'{key}' needs a value here, not '*'")]
    OpenNotAllowed {
        /// The key.
        key: String,
    },
    /// A tuple needs an argument it was not given.
    #[error("'{tuple}(…)' needs {expected}")]
    MissingArgument {
        /// The tuple.
        tuple: String,
        /// What is needed.
        expected: String,
    },
    /// A non-admin viewer filtered on a private attribute.
    #[error("'{key}' is a private attribute: only administrators may filter on it")]
    Forbidden {
        /// The key (as `has: 2FA` for `is:`/`has:` values).
        key: String,
    },
    /// A request option is invalid (`orderBy`, `fields`, `$skip`, `$top`).
    #[error("invalid {option}: {message}")]
    Option {
        /// The option's name.
        option: &'static str,
        /// Why.
        message: String,
    },
    /// The viewer login does not exist.
    #[error("unknown viewer '{0}'")]
    UnknownViewer(String),
    /// The planner's work estimate exceeds the budget (see [`crate::cost`]).
    #[error(
        "request too costly: it would visit about {estimate} rows, the budget is {budget} — \
         use longer words (3 characters or more), fewer values, or a narrower filter"
    )]
    TooCostly {
        /// Estimated row visits.
        estimate: u64,
        /// The configured budget.
        budget: u64,
    },
    /// The request ran past its time budget and was cancelled.
    #[error("request cancelled: it ran past its time budget of {limit_ms} ms")]
    TimedOut {
        /// The budget in milliseconds.
        limit_ms: u64,
    },
}

impl ErrorKind {
    /// Whether the error is the cost bound refusing or cancelling a request (a well-formed
    /// request that is too large): every API answers it with its 400, never a 500.
    pub fn is_cost_bound(&self) -> bool {
        match self {
            ErrorKind::TooCostly { .. } | ErrorKind::TimedOut { .. } => true,
            ErrorKind::Syntax(inner) => matches!(
                inner.kind,
                userql_syntax::ErrorKind::TooLong { .. }
                    | userql_syntax::ErrorKind::TooDeep { .. }
                    | userql_syntax::ErrorKind::TooManyItems { .. }
            ),
            _ => false,
        }
    }
}

fn suggestions_text(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" — did you mean '{one}'?"),
        many => format!(
            " — did you mean one of {}?",
            many.iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" — did you mean '{s}'?"))
        .unwrap_or_default()
}

impl From<userql_syntax::Error> for Error {
    fn from(inner: userql_syntax::Error) -> Self {
        Error {
            span: inner.span.clone(),
            kind: ErrorKind::Syntax(inner),
        }
    }
}
