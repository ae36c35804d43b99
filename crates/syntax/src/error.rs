//! Syntax errors: one [`ErrorKind`] per mistake a user can make, with the byte span it concerns.
//!
//! The one-line `Display` is what goes into Hub's 400 body (`error_children[].error`, with the span as
//! `start`/`end`); [`Error::render`] is the human diagnostic for the CLI, with the query and a caret.

use std::fmt;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor::NoColor};

/// A syntax error in a query or a request option.
///
/// Invariant: `span` is a byte range of the parsed text with `start <= end <= len`, both on char
/// boundaries, so callers may slice the text with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct Error {
    /// Where the mistake is (empty at the end of the input for "unexpected end").
    pub span: Range<usize>,
    /// What the mistake is.
    pub kind: ErrorKind,
}

/// What the parser was looking for when it failed; part of "unexpected …" errors so the message (and
/// an API client) can say what would have been accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// The start of an item: `key:`, `tuple(`, a word, a `"phrase"`, `(`, `not` or `-`.
    Item,
    /// An item or the end of the query / group: after a complete item.
    ItemOrEnd,
    /// A value after `:` or `,`.
    Value,
    /// A tuple argument `name: value`.
    Argument,
    /// `:` after an argument name.
    Colon,
    /// `)` closing a group or a tuple.
    CloseParen,
    /// A field name of `orderBy`.
    OrderField,
    /// `asc` or `desc`.
    Direction,
    /// A `,` between `orderBy` keys.
    Comma,
    /// A field name of `fields`.
    FieldName,
    /// A number (`$skip`, `$top`).
    Number,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Item => "a key, a tuple, a word, a \"phrase\", '(', 'not' or '-'",
            Expected::ItemOrEnd => "an item, 'and', 'or' or the end",
            Expected::Value => "a value",
            Expected::Argument => "an argument 'name: value'",
            Expected::Colon => "':'",
            Expected::CloseParen => "')'",
            Expected::OrderField => "a field name",
            Expected::Direction => "'asc' or 'desc'",
            Expected::Comma => "','",
            Expected::FieldName => "a field name",
            Expected::Number => "a number",
        })
    }
}

/// One variant per mistake. Messages are one line; suggestions come from [`crate::catalogue::suggest`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// A character that cannot start or continue anything here.
    #[error("unexpected '{found}' — expected {expected}")]
    UnexpectedChar {
        /// The character found.
        found: char,
        /// What would have been accepted.
        expected: Expected,
    },
    /// A keyword where an operand was needed (`and or`, `not)`, a query starting with `and`).
    #[error("unexpected keyword '{found}' — expected {expected}")]
    UnexpectedKeyword {
        /// The keyword as written.
        found: String,
        /// What would have been accepted.
        expected: Expected,
    },
    /// The input stopped in the middle of something.
    #[error("unexpected end of input — expected {expected}")]
    UnexpectedEnd {
        /// What would have been accepted.
        expected: Expected,
    },
    /// A `(` (of a group or a tuple) without its `)`.
    #[error("unclosed '(' — add a matching ')'")]
    UnclosedParen,
    /// A `)` without a `(`.
    #[error("unmatched ')'")]
    UnmatchedParen,
    /// A `{` without its `}`.
    #[error("unclosed '{{' — add a matching '}}' (write '\\}}' for a literal brace)")]
    UnclosedBrace,
    /// A `"` without its closing `"`.
    #[error("unclosed '\"' — add a matching '\"'")]
    UnclosedQuote,
    /// A backslash followed by something other than the closing delimiter or a backslash.
    #[error("bad escape '\\{found}' — only '\\\\' and the closing delimiter can be escaped")]
    BadEscape {
        /// The character after the backslash.
        found: char,
    },
    /// `()`: a group must contain an expression.
    #[error("empty parentheses")]
    EmptyParens,
    /// `access()`: a tuple needs at least one argument.
    #[error("tuple '{name}' needs at least one argument")]
    EmptyTuple {
        /// The tuple's canonical name.
        name: String,
    },
    /// `key:` or `,` with nothing after it.
    #[error("expected a value after '{after}'")]
    MissingValue {
        /// `:`, `,` or `..`.
        after: String,
    },
    /// `{}` or `""` as a value: a value cannot be empty.
    #[error("empty value")]
    EmptyValue,
    /// `""` as free text: it would match everything.
    #[error("empty phrase")]
    EmptyPhrase,
    /// A bare value ending with `:` (`login: foo:`), which reads like a forgotten key.
    #[error("value '{value}' ends with ':' — put it in braces: {{{value}}}")]
    ValueEndsWithColon {
        /// The bare value as written.
        value: String,
    },
    /// `- x`: the minus sign must touch what it negates.
    #[error("'-' must be directly followed by what it negates (or write 'not')")]
    DetachedMinus,
    /// `access (…)`: a tuple name followed by a space, which would silently be text next to a group.
    #[error("no space allowed between tuple name '{name}' and '('")]
    SpaceBeforeTupleParen {
        /// The tuple's canonical name.
        name: String,
    },
    /// `foo: x` with an unknown key.
    #[error("unknown key '{found}'{}", did_you_mean(suggestion))]
    UnknownKey {
        /// The key as written.
        found: String,
        /// The nearest known key.
        suggestion: Option<String>,
    },
    /// `foo(…)` with an unknown tuple name.
    #[error("unknown tuple '{found}'{}", did_you_mean(suggestion))]
    UnknownTuple {
        /// The name as written.
        found: String,
        /// The nearest known tuple.
        suggestion: Option<String>,
    },
    /// An argument the tuple does not take.
    #[error("unknown argument '{found}' of '{tuple}'{}", did_you_mean(suggestion))]
    UnknownArgument {
        /// The tuple's canonical name.
        tuple: String,
        /// The argument as written.
        found: String,
        /// The nearest argument of this tuple.
        suggestion: Option<String>,
    },
    /// The same argument slot twice (`with:` and `role:` count as the same).
    #[error("argument '{argument}' of '{tuple}' given twice")]
    DuplicateArgument {
        /// The tuple's canonical name.
        tuple: String,
        /// The argument's canonical name (the second occurrence).
        argument: String,
    },
    /// `access(project: …, organization: …)`: the scope is one or the other.
    #[error("'project' and 'organization' cannot both be given — the scope is one or the other")]
    ProjectWithOrganization,
    /// `login: a, login: b`: a comma continues a value list, it does not start a new key.
    #[error(
        "a ',' continues the values of a key — start another key '{key}:' with a space instead"
    )]
    CommaBeforeKey {
        /// The key as written after the comma.
        key: String,
    },
    /// The input is longer than the limit.
    #[error("input too long: {len} bytes, the limit is {limit}")]
    TooLong {
        /// The limit in bytes.
        limit: usize,
        /// The input length in bytes.
        len: usize,
    },
    /// Parentheses and negations nested deeper than the limit.
    #[error("nested too deeply: the limit is {limit} levels of parentheses and 'not'")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// More items (fields, tuples, words, phrases) than the limit.
    #[error("too many items: the limit is {limit}")]
    TooManyItems {
        /// The limit.
        limit: usize,
    },
    /// An `orderBy` field that cannot be sorted on.
    #[error("cannot order by '{found}'{}", did_you_mean(suggestion))]
    UnknownOrderField {
        /// The field as written.
        found: String,
        /// The nearest orderable field.
        suggestion: Option<String>,
    },
    /// An `orderBy` direction other than `asc`/`desc`.
    #[error("unknown direction '{found}' — expected 'asc' or 'desc'")]
    BadDirection {
        /// The direction as written.
        found: String,
    },
    /// A request option that must be a number is not one (or does not fit).
    #[error("{option} must be a number, got '{found}'")]
    InvalidNumber {
        /// `$skip` or `$top`.
        option: &'static str,
        /// The text given.
        found: String,
    },
    /// `$skip` below zero.
    #[error("$skip cannot be negative, got {found}")]
    NegativeSkip {
        /// The text given.
        found: String,
    },
    /// `$top` below −1 (−1 means "all").
    #[error("$top cannot be below -1, got {found}")]
    TopTooSmall {
        /// The text given.
        found: String,
    },
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" — did you mean '{s}'?"),
        None => String::new(),
    }
}

impl Error {
    /// Builds an error; `span` must satisfy the type's invariant.
    pub fn new(span: Range<usize>, kind: ErrorKind) -> Self {
        Error { span, kind }
    }

    /// What would have been accepted at the error, for "unexpected …" errors — the engine puts it into
    /// Hub's 400 body and query assist into its suggestions.
    pub fn expected(&self) -> Option<Expected> {
        match &self.kind {
            ErrorKind::UnexpectedChar { expected, .. }
            | ErrorKind::UnexpectedKeyword { expected, .. }
            | ErrorKind::UnexpectedEnd { expected } => Some(*expected),
            ErrorKind::MissingValue { .. } | ErrorKind::EmptyValue => Some(Expected::Value),
            ErrorKind::UnclosedParen => Some(Expected::CloseParen),
            ErrorKind::EmptyTuple { .. } => Some(Expected::Argument),
            ErrorKind::BadDirection { .. } => Some(Expected::Direction),
            ErrorKind::InvalidNumber { .. } => Some(Expected::Number),
            _ => None,
        }
    }

    /// The suggested replacement of an "unknown …" error, if a close name exists.
    pub fn suggestion(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::UnknownKey { suggestion, .. }
            | ErrorKind::UnknownTuple { suggestion, .. }
            | ErrorKind::UnknownArgument { suggestion, .. }
            | ErrorKind::UnknownOrderField { suggestion, .. } => suggestion.as_deref(),
            _ => None,
        }
    }

    /// A human diagnostic: the message, the query, and a caret line under the span. No colour, so it
    /// is stable for snapshots and safe for any terminal or log.
    pub fn render(&self, source: &str) -> String {
        render_caret(source, &self.span, &self.kind.to_string())
    }
}

/// Renders `message` over `source` with a caret under `span` (codespan-reporting, no colour). The
/// engine renders its binding errors with this too, so every diagnostic a user sees looks alike.
pub fn render_caret(source: &str, span: &Range<usize>, message: &str) -> String {
    let file = SimpleFile::new("query", source);
    let diagnostic = Diagnostic::error()
        .with_message(message)
        .with_labels(vec![Label::primary((), clamp_span(span, source))]);
    let mut out = NoColor::new(Vec::new());
    if term::emit(&mut out, &term::Config::default(), &file, &diagnostic).is_err() {
        return format!("error: {message}");
    }
    String::from_utf8_lossy(&out.into_inner()).into_owned()
}

/// Defends `render` against an error built by hand for another text: never slice past the end or
/// inside a character.
fn clamp_span(span: &Range<usize>, source: &str) -> Range<usize> {
    let floor = |mut i: usize| {
        i = i.min(source.len());
        while !source.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(span.start);
    let end = floor(span.end).max(start);
    start..end
}
