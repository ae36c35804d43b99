//! Query assist: highlighting and completion for a query being typed (Hub's `GET /users/queryAssist`).
//!
//! [`assist`] never fails. It does not use the parser (which stops at the first mistake) but the
//! syntax crate's lenient scanner ([`userql_syntax::lenient`]), which reads the whole text with the
//! parser's own lexemes, keeps going after every error, classes each token and remembers what was
//! expected at the caret (a key, a value of some key, a tuple argument …). This module styles the
//! tokens, marks entity names the directory does not know, and draws suggestions
//! (`candidates`) from the key catalogue and, for entity keys, from the directory itself.
//!
//! Contract (decided where Hub is silent):
//! - All offsets (`caret`, `start`, `completionStart`, `matchingStart`, …) are **byte** offsets, as
//!   in the engine's 400 bodies; a caret past the end or inside a character is moved back to the
//!   nearest character boundary.
//! - Styles: a key and its `:` are `field_name`; values (and tuple argument values) are
//!   `field_value`; `and`/`or`/`not`/`-`, parentheses, `,` and `..` are `operator`; words and phrases
//!   are `text`; unknown keys, tuples, arguments, closed values and entity names, unclosed braces,
//!   quotes and parentheses, and stray punctuation are `error`.
//! - Applying a suggestion: `query[..completionStart] + prefix + option + suffix +
//!   query[completionEnd..]`; the caret then goes to `caret`. The completion range is the whole token
//!   under the caret (or an empty range at the caret between tokens).
//! - `matchingStart..matchingEnd` is the part of `option` matching what was typed before the caret
//!   (case-insensitive); options starting with it come before options merely containing it.

mod candidates;

use serde::Serialize;
use userql_directory::Snapshot;
use userql_syntax::lenient::{self, Class, EntityKind, EntityValue, Token};

use candidates::suggest;

/// The most suggestions one answer carries: enough to choose from, few enough for a popup.
pub const MAX_SUGGESTIONS: usize = 20;

/// The answer for one (query, caret): Hub's `queryAssist` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Assist {
    /// The query, echoed so a client can drop answers for text that has changed since.
    pub query: String,
    /// The caret, echoed (after clamping to a character boundary).
    pub caret: usize,
    /// How to colour the query, in text order; whitespace is not covered.
    pub style_ranges: Vec<StyleRange>,
    /// What could be typed at the caret, best first, at most [`MAX_SUGGESTIONS`].
    pub suggestions: Vec<Suggestion>,
}

/// One coloured range of the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StyleRange {
    /// `field_name`, `field_value`, `operator`, `text` or `error`.
    pub style: Style,
    /// Byte offset of the range.
    pub start: usize,
    /// Length in bytes.
    pub length: usize,
}

/// The highlighting classes Hub's clients (ring-ui) know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Style {
    /// A key (`login:`) or tuple name (`access(`), with its `:`.
    FieldName,
    /// A value of a key or tuple argument.
    FieldValue,
    /// `and`, `or`, `not`, `-`, parentheses, `,`, `..`.
    Operator,
    /// A free-text word or phrase.
    Text,
    /// Something the query would be refused for.
    Error,
}

/// One completion, in Hub's `querySuggestItem` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Suggestion {
    /// Glued before `option` (`{` for a value with spaces).
    pub prefix: String,
    /// The text offered.
    pub option: String,
    /// Glued after `option` (`: ` after a key, `(` after a tuple, `} ` after a braced value).
    pub suffix: String,
    /// What choosing it means.
    pub description: String,
    /// Start of the part of `option` matching what was typed (byte offset in `option`).
    pub matching_start: usize,
    /// End of that part.
    pub matching_end: usize,
    /// Where the caret goes once the suggestion is applied.
    pub caret: usize,
    /// Start of the replaced range of the query.
    pub completion_start: usize,
    /// End of the replaced range of the query.
    pub completion_end: usize,
    /// Section header: `keys`, `tuples`, `keywords`, `arguments`, `values`, `users`.
    pub group: String,
}

impl Suggestion {
    /// The query after choosing this suggestion (what a client shows), given the query it was made for.
    pub fn apply(&self, query: &str) -> String {
        let start = floor_boundary(query, self.completion_start);
        let end = floor_boundary(query, self.completion_end).max(start);
        format!(
            "{}{}{}{}{}",
            &query[..start],
            self.prefix,
            self.option,
            self.suffix,
            &query[end..]
        )
    }

    /// The text that replaces `completionStart..completionEnd`.
    pub fn replacement(&self) -> String {
        format!("{}{}{}", self.prefix, self.option, self.suffix)
    }
}

/// Highlighting and completions for `query` with the caret at byte `caret`. Never fails or panics,
/// whatever the text and caret.
pub fn assist(snapshot: &Snapshot, query: &str, caret: usize) -> Assist {
    let caret = floor_boundary(query, caret);
    let scan = lenient::scan(query, caret);
    let suggestions = match &scan.at_caret {
        Some(spot) => suggest(snapshot, query, caret, spot),
        None => Vec::new(),
    };
    let styles = scan.tokens.iter().map(StyleRange::from).collect();
    Assist {
        query: query.to_owned(),
        caret,
        style_ranges: mark_entity_errors(snapshot, query, styles, &scan.entity_values),
        suggestions,
    }
}

impl From<Class> for Style {
    fn from(class: Class) -> Style {
        match class {
            Class::FieldName => Style::FieldName,
            Class::FieldValue => Style::FieldValue,
            Class::Operator => Style::Operator,
            Class::Text => Style::Text,
            Class::Error => Style::Error,
        }
    }
}

impl From<&Token> for StyleRange {
    fn from(token: &Token) -> StyleRange {
        StyleRange {
            style: token.class.into(),
            start: token.start,
            length: token.length,
        }
    }
}

fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Marks entity names the directory does not know (what the binder would refuse).
fn mark_entity_errors(
    snapshot: &Snapshot,
    query: &str,
    mut styles: Vec<StyleRange>,
    values: &[EntityValue],
) -> Vec<StyleRange> {
    let index = &snapshot.index;
    for value in values {
        let name = value.text.as_str();
        if name == "*" || query.get(value.start..value.end).is_none() {
            continue;
        }
        let known = match value.kind {
            EntityKind::Group => !index.resolve_group(name).is_empty(),
            EntityKind::GroupOrTeam => {
                !index.resolve_group(name).is_empty() || !index.resolve_team(name).is_empty()
            }
            EntityKind::Team => !index.resolve_team(name).is_empty(),
            EntityKind::Project => !index.resolve_project(name).is_empty(),
            EntityKind::Organization => !index.resolve_organization(name).is_empty(),
            EntityKind::Role => !index.resolve_role(name).is_empty(),
            EntityKind::Permission => !index.resolve_permission(name).is_empty(),
            EntityKind::RoleOrPermission => {
                !index.resolve_role(name).is_empty() || !index.resolve_permission(name).is_empty()
            }
            EntityKind::Service => !index.resolve_service(name).is_empty(),
        };
        if !known {
            if let Some(range) = styles.iter_mut().find(|s| s.start == value.start) {
                range.style = Style::Error;
            }
        }
    }
    styles
}
