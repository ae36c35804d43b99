//! Query assist: highlighting and completion for a query being typed (Hub's `GET /users/queryAssist`).
//!
//! [`assist`] never fails. It does not use the parser (which stops at the first mistake): it runs a
//! tolerant scanner of its own over the whole text, which keeps going after every error, styles each
//! token, marks what is wrong with the `error` style, and remembers what was expected at the caret
//! (a key, a value of some key, a tuple argument …). Suggestions are then drawn from the key
//! catalogue of the syntax crate and, for entity keys, from the directory itself.
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

use std::collections::BTreeSet;
use std::sync::Arc;

use userql_directory::index::Category;

use serde::Serialize;
use userql_directory::index::PrefixField;
use userql_directory::model::Model;
use userql_directory::Snapshot;
use userql_syntax::catalogue::{self, ClosedValue, TupleInfo};

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
    let scan = Scanner::new(query, caret).run();
    let suggestions = match &scan.at_caret {
        Some(spot) => suggest(snapshot, query, caret, spot),
        None => Vec::new(),
    };
    Assist {
        query: query.to_owned(),
        caret,
        style_ranges: mark_entity_errors(snapshot, query, scan.styles, &scan.entity_values),
        suggestions,
    }
}

fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

// ---------------------------------------------------------------------------------------------
// Scanning

/// What the query expects at some position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The start of an item; `after_item` when an item precedes (so `and`/`or` make sense).
    Item { after_item: bool },
    /// A value of a field key (canonical name, or `None` for an unknown key).
    Value { key: Option<&'static str> },
    /// An argument name of a tuple (`None` for an unknown tuple).
    Argument { tuple: Option<&'static TupleInfo> },
    /// A value of a tuple argument.
    ArgumentValue { argument: Option<&'static str> },
    /// Nothing can be completed here (between a key and its `:`).
    Nothing,
}

/// The token under the caret and what was expected there.
#[derive(Debug, Clone, Copy)]
struct Spot {
    slot: Slot,
    /// The replaced range (the token, or empty at the caret).
    start: usize,
    end: usize,
    /// Offset where the typed text begins (after a `{` or `"`).
    typed_start: usize,
}

/// A value of an entity key, checked against the directory after scanning.
#[derive(Debug, Clone)]
struct EntityValue {
    kind: EntityKind,
    /// The value unbraced/unquoted.
    text: String,
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntityKind {
    Group,
    GroupOrTeam,
    Team,
    Project,
    Organization,
    Role,
    Permission,
    RoleOrPermission,
    Service,
}

enum Frame {
    Group {
        open: usize,
    },
    Tuple {
        open: usize,
        tuple: Option<&'static TupleInfo>,
    },
}

struct ScanResult {
    styles: Vec<StyleRange>,
    at_caret: Option<Spot>,
    entity_values: Vec<EntityValue>,
}

struct Scanner<'q> {
    text: &'q str,
    pos: usize,
    caret: usize,
    slot: Slot,
    stack: Vec<Frame>,
    styles: Vec<StyleRange>,
    at_caret: Option<Spot>,
    entity_values: Vec<EntityValue>,
}

const fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '{' | '}' | '"' | ',')
}

impl<'q> Scanner<'q> {
    fn new(text: &'q str, caret: usize) -> Self {
        Scanner {
            text,
            pos: 0,
            caret,
            slot: Slot::Item { after_item: false },
            stack: Vec::new(),
            styles: Vec::new(),
            at_caret: None,
            entity_values: Vec::new(),
        }
    }

    fn rest(&self) -> &'q str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_whitespace(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn style(&mut self, style: Style, start: usize, end: usize) {
        if end > start {
            self.styles.push(StyleRange {
                style,
                start,
                length: end - start,
            });
        }
    }

    /// Records the caret's spot when a word-like token `start..end` touches it.
    fn token_at_caret(&mut self, slot: Slot, start: usize, end: usize, typed_start: usize) {
        if self.at_caret.is_none() && start <= self.caret && self.caret <= end {
            self.at_caret = Some(Spot {
                slot,
                start,
                end,
                typed_start: typed_start.min(self.caret),
            });
        }
    }

    /// Records the caret's spot when it lies in the gap `gap_start..=gap_end` before a non-word token.
    fn gap_at_caret(&mut self, slot: Slot, gap_start: usize, gap_end: usize) {
        if self.at_caret.is_none() && gap_start <= self.caret && self.caret <= gap_end {
            self.at_caret = Some(Spot {
                slot,
                start: self.caret,
                end: self.caret,
                typed_start: self.caret,
            });
        }
    }

    /// The length of the bare word at the cursor. In value position `:` belongs to the word and
    /// `..` ends it; elsewhere `:` ends it.
    fn bare_len(&self, value: bool) -> usize {
        let rest = self.rest();
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            if is_delimiter(c) || (!value && c == ':') || (value && rest[i..].starts_with("..")) {
                break;
            }
            end = i + c.len_utf8();
        }
        end
    }

    /// A `{…}` or `"…"` token at the cursor: (end, closed).
    fn delimited_len(&self) -> (usize, bool) {
        let rest = self.rest();
        let mut chars = rest.char_indices();
        let open = match chars.next() {
            Some((_, c)) => c,
            None => return (0, false),
        };
        let close = if open == '{' { '}' } else { '"' };
        let mut escaped = false;
        for (i, c) in chars {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == close {
                return (i + 1, true);
            }
        }
        (rest.len(), false)
    }

    fn run(mut self) -> ScanResult {
        loop {
            let gap_start = self.pos;
            self.skip_whitespace();
            let gap_slot = self.slot;
            let token_start = self.pos;
            if token_start >= self.text.len() {
                self.gap_at_caret(gap_slot, gap_start, self.text.len());
                break;
            }
            if self.caret < token_start {
                self.gap_at_caret(gap_slot, gap_start, token_start);
            }
            self.step(gap_start);
            // A caret right before a punctuation token (which never records itself).
            self.gap_at_caret(gap_slot, gap_start, token_start);
        }
        for frame in std::mem::take(&mut self.stack) {
            let open = match frame {
                Frame::Group { open } | Frame::Tuple { open, .. } => open,
            };
            self.restyle(open, Style::Error);
        }
        self.styles.sort_by_key(|s| s.start);
        ScanResult {
            styles: self.styles,
            at_caret: self.at_caret,
            entity_values: self.entity_values,
        }
    }

    fn restyle(&mut self, start: usize, style: Style) {
        if let Some(range) = self.styles.iter_mut().find(|s| s.start == start) {
            range.style = style;
        }
    }

    /// Reads one token in the current slot and moves to the next slot.
    fn step(&mut self, gap_start: usize) {
        let start = self.pos;
        let c = match self.peek() {
            Some(c) => c,
            None => return,
        };
        match self.slot {
            Slot::Item { .. } | Slot::Nothing => self.item(start, c, gap_start),
            Slot::Value { key } => self.value(start, c, ValueOwner::Key(key)),
            Slot::ArgumentValue { argument } => {
                self.value(start, c, ValueOwner::Argument(argument))
            }
            Slot::Argument { tuple } => self.argument(start, c, tuple),
        }
    }

    fn punctuation(&mut self, start: usize, len: usize, style: Style) {
        self.pos = start + len;
        self.style(style, start, start + len);
    }

    fn item(&mut self, start: usize, c: char, gap_start: usize) {
        let slot = match self.slot {
            Slot::Nothing => Slot::Item { after_item: true },
            other => other,
        };
        match c {
            '(' => {
                self.punctuation(start, 1, Style::Operator);
                self.stack.push(Frame::Group { open: start });
                self.slot = Slot::Item { after_item: false };
            }
            ')' => self.close(start, gap_start),
            '"' | '{' => {
                let (len, closed) = self.delimited_len();
                self.token_at_caret(slot, start, start + len, start + 1);
                self.pos = start + len;
                let style = if closed && c == '"' {
                    Style::Text
                } else {
                    Style::Error
                };
                self.style(style, start, start + len);
                self.slot = Slot::Item { after_item: true };
            }
            '-' if self.rest()[1..]
                .chars()
                .next()
                .is_some_and(|n| !is_delimiter(n) && n != ':') =>
            {
                self.punctuation(start, 1, Style::Operator);
                self.slot = Slot::Item { after_item: false };
            }
            ',' | ':' | '}' => {
                self.punctuation(start, c.len_utf8(), Style::Error);
            }
            _ => self.word(start, slot),
        }
    }

    /// A bare word in item position: a key, a tuple name, a keyword or text.
    fn word(&mut self, start: usize, slot: Slot) {
        let len = self
            .bare_len(false)
            .max(self.peek().map_or(1, char::len_utf8));
        let end = start + len;
        let word = &self.text[start..end];
        self.token_at_caret(slot, start, end, start);
        self.pos = end;
        if self.rest().starts_with('(') {
            let tuple = catalogue::tuple(word);
            self.style(
                if tuple.is_some() {
                    Style::FieldName
                } else {
                    Style::Error
                },
                start,
                end,
            );
            self.punctuation(end, 1, Style::Operator);
            self.stack.push(Frame::Tuple { open: end, tuple });
            self.slot = Slot::Argument { tuple };
            return;
        }
        let after_word = self.pos;
        self.skip_whitespace();
        if self.rest().starts_with(':') {
            let key = catalogue::field_key(word);
            let style = if key.is_some() {
                Style::FieldName
            } else {
                Style::Error
            };
            self.style(style, start, end);
            self.gap_at_caret(Slot::Nothing, after_word + 1, self.pos);
            let colon = self.pos;
            self.punctuation(colon, 1, Style::FieldName);
            self.slot = Slot::Value { key };
            return;
        }
        self.pos = after_word;
        if catalogue::is_keyword(word) {
            self.style(Style::Operator, start, end);
            self.slot = Slot::Item { after_item: false };
        } else {
            self.style(Style::Text, start, end);
            self.slot = Slot::Item { after_item: true };
        }
    }

    fn close(&mut self, start: usize, gap_start: usize) {
        self.gap_at_caret(self.slot, gap_start, start);
        match self.stack.pop() {
            Some(_) => self.punctuation(start, 1, Style::Operator),
            None => self.punctuation(start, 1, Style::Error),
        }
        self.slot = Slot::Item { after_item: true };
    }

    fn argument(&mut self, start: usize, c: char, tuple: Option<&'static TupleInfo>) {
        let slot = Slot::Argument { tuple };
        match c {
            ')' => {
                self.gap_at_caret(slot, start, start);
                self.close(start, start);
            }
            ',' => self.punctuation(start, 1, Style::Operator),
            '(' | '{' | '"' | ':' | '}' => {
                let len = match c {
                    '{' | '"' => self.delimited_len().0,
                    _ => 1,
                };
                self.gap_at_caret(slot, start, start);
                self.punctuation(start, len, Style::Error);
            }
            _ => {
                let len = self.bare_len(false).max(c.len_utf8());
                let end = start + len;
                let word = &self.text[start..end];
                self.token_at_caret(slot, start, end, start);
                self.pos = end;
                let argument = tuple.and_then(|t| catalogue::tuple_argument(t, word));
                // Under an unknown tuple only the tuple name is blamed.
                let known = argument.is_some() || tuple.is_none();
                self.style(
                    if known {
                        Style::FieldName
                    } else {
                        Style::Error
                    },
                    start,
                    end,
                );
                let after_word = self.pos;
                self.skip_whitespace();
                if self.rest().starts_with(':') {
                    self.gap_at_caret(Slot::Nothing, after_word + 1, self.pos);
                    let colon = self.pos;
                    self.punctuation(colon, 1, Style::FieldName);
                    self.slot = Slot::ArgumentValue { argument };
                } else {
                    self.pos = after_word;
                    self.restyle(start, Style::Error);
                }
            }
        }
    }

    /// A value (after `:`, `,` or `..`), then what may follow it.
    fn value(&mut self, start: usize, c: char, owner: ValueOwner) {
        let slot = self.slot;
        if matches!(c, ')' | '(' | ',' | ':' | '}') || self.rest().starts_with("..") {
            // A value was expected and is missing: blame the punctuation, then carry on as if
            // the value had been there.
            self.gap_at_caret(slot, start, start);
            self.restyle_last_colon_as_error(start);
            self.after_value(owner);
            if c == ')' {
                self.close(start, start);
            } else if c == '(' {
                self.item(start, c, start);
            } else {
                self.punctuation(start, if c == '.' { 2 } else { 1 }, Style::Error);
            }
            return;
        }
        let (len, closed, typed_start) = match c {
            '{' | '"' => {
                let (len, closed) = self.delimited_len();
                (len, closed, start + 1)
            }
            _ => (self.bare_len(true).max(c.len_utf8()), true, start),
        };
        let end = start + len;
        self.token_at_caret(slot, start, end, typed_start);
        self.pos = end;
        let raw = &self.text[start..end];
        let inner = if matches!(c, '{' | '"') && len >= 2 && closed {
            &raw[1..raw.len() - 1]
        } else if matches!(c, '{' | '"') {
            &raw[1..]
        } else {
            raw
        };
        let valid = closed && closed_value_ok(owner, inner);
        self.style(
            if valid {
                Style::FieldValue
            } else {
                Style::Error
            },
            start,
            end,
        );
        if closed {
            if let Some(kind) = entity_kind(owner) {
                self.entity_values.push(EntityValue {
                    kind,
                    text: inner.to_owned(),
                    start,
                    end,
                });
            }
        }
        // What follows a value (spaces allowed): `,` or `..` continue it.
        let value_end = self.pos;
        let rest = self.rest().trim_start();
        if rest.starts_with("..") || rest.starts_with(',') {
            self.skip_whitespace();
            self.gap_at_caret(Slot::Nothing, value_end + 1, self.pos);
        }
        if self.rest().starts_with("..") {
            let at = self.pos;
            self.punctuation(at, 2, Style::Operator);
            return;
        }
        if self.rest().starts_with(',') {
            let at = self.pos;
            self.punctuation(at, 1, Style::Operator);
            if matches!(owner, ValueOwner::Argument(_)) {
                // In a tuple a comma may also separate arguments: decided by what follows (and
                // with nothing after it yet, an argument is the likelier next step).
                let rest = self.rest().trim_start();
                if rest.is_empty() || rest.starts_with(')') || argument_follows(rest) {
                    self.after_value(owner);
                }
            }
            return;
        }
        self.after_value(owner);
    }

    fn after_value(&mut self, owner: ValueOwner) {
        self.slot = match owner {
            ValueOwner::Key(_) => Slot::Item { after_item: true },
            ValueOwner::Argument(_) => match self.stack.last() {
                Some(Frame::Tuple { tuple, .. }) => Slot::Argument { tuple: *tuple },
                _ => Slot::Item { after_item: true },
            },
        };
    }

    fn restyle_last_colon_as_error(&mut self, before: usize) {
        if let Some(range) = self
            .styles
            .iter_mut()
            .rev()
            .find(|s| s.start < before && s.length == 1)
        {
            if self.text.get(range.start..range.start + 1) == Some(":") {
                range.style = Style::Error;
            }
        }
    }
}

/// Whether `rest` starts with `name :` (a tuple argument) rather than another value.
fn argument_follows(rest: &str) -> bool {
    let len = rest
        .char_indices()
        .find(|(_, c)| is_delimiter(*c) || *c == ':')
        .map_or(rest.len(), |(i, _)| i);
    len > 0 && rest[len..].trim_start().starts_with(':')
}

#[derive(Debug, Clone, Copy)]
enum ValueOwner {
    Key(Option<&'static str>),
    Argument(Option<&'static str>),
}

/// Closed-set values (`is:`, `has:`, `state:`) must be known; everything else is checked later.
fn closed_value_ok(owner: ValueOwner, value: &str) -> bool {
    match owner {
        ValueOwner::Key(Some("is")) => catalogue::is_value(value).is_some(),
        ValueOwner::Key(Some("has")) => catalogue::has_value(value).is_some(),
        ValueOwner::Key(Some("state")) => catalogue::state_value(value).is_some(),
        // An unknown key or argument is already an error; its value is not blamed twice.
        _ => true,
    }
}

fn entity_kind(owner: ValueOwner) -> Option<EntityKind> {
    let name = match owner {
        ValueOwner::Key(Some(key)) => key,
        ValueOwner::Argument(Some(argument)) => argument,
        _ => return None,
    };
    Some(match name {
        "group" | "enterpriseGroup" => EntityKind::Group,
        "in" => EntityKind::GroupOrTeam,
        "team" => EntityKind::Team,
        "project" => EntityKind::Project,
        "organization" => EntityKind::Organization,
        "ownRole" | "role" => EntityKind::Role,
        "permission" => EntityKind::Permission,
        "with" => EntityKind::RoleOrPermission,
        "originService" | "hasLicense" => EntityKind::Service,
        _ => return None,
    })
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

// ---------------------------------------------------------------------------------------------
// Suggestions

/// One candidate before matching: the bare option, how it is written, and what it means.
struct Candidate {
    option: String,
    description: String,
    group: &'static str,
    kind: CandidateKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CandidateKind {
    Key,
    Tuple,
    Keyword,
    Argument,
    Value,
}

fn candidate(
    option: impl Into<String>,
    description: impl Into<String>,
    group: &'static str,
    kind: CandidateKind,
) -> Candidate {
    Candidate {
        option: option.into(),
        description: description.into(),
        group,
        kind,
    }
}

fn suggest(snapshot: &Snapshot, query: &str, caret: usize, spot: &Spot) -> Vec<Suggestion> {
    let typed_start = spot.typed_start.clamp(spot.start, caret);
    let typed = query.get(typed_start..caret).unwrap_or("");
    let candidates = candidates(snapshot, spot.slot, typed);
    let rest = query.get(spot.end..).unwrap_or("");
    let followed_by_colon = rest.trim_start().starts_with(':');
    let followed_by_paren = rest.starts_with('(');
    let followed_by_break =
        rest.is_empty() || rest.starts_with(|c: char| c.is_whitespace() || c == ')' || c == ',');

    let mut starting = Vec::new();
    let mut containing = Vec::new();
    let mut seen = BTreeSet::new();
    for candidate in candidates {
        if !seen.insert((candidate.kind as u8, candidate.option.to_lowercase())) {
            continue;
        }
        let Some((matching_start, matching_end)) = find_case_insensitive(&candidate.option, typed)
        else {
            continue;
        };
        let (prefix, suffix) = match candidate.kind {
            CandidateKind::Key | CandidateKind::Argument if followed_by_colon => ("", ""),
            CandidateKind::Key | CandidateKind::Argument => ("", ": "),
            CandidateKind::Tuple if followed_by_paren => ("", ""),
            CandidateKind::Tuple => ("", "("),
            CandidateKind::Keyword | CandidateKind::Value => {
                let braced =
                    candidate.kind == CandidateKind::Value && needs_braces(&candidate.option);
                match (braced, followed_by_break && !rest.is_empty()) {
                    (true, true) => ("{", "}"),
                    (true, false) => ("{", "} "),
                    (false, true) => ("", ""),
                    (false, false) => ("", " "),
                }
            }
        };
        let suggestion = Suggestion {
            caret: spot.start + prefix.len() + candidate.option.len() + suffix.len(),
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
            description: candidate.description,
            matching_start,
            matching_end,
            completion_start: spot.start,
            completion_end: spot.end,
            group: candidate.group.to_owned(),
            option: candidate.option,
        };
        if matching_start == 0 {
            starting.push(suggestion);
        } else {
            containing.push(suggestion);
        }
    }
    starting.extend(containing);
    starting.truncate(MAX_SUGGESTIONS);
    starting
}

/// Whether a value must be written in braces to stay one value.
fn needs_braces(value: &str) -> bool {
    value.is_empty()
        || value.contains(|c: char| is_delimiter(c) || c == '}')
        || value.contains("..")
        || catalogue::is_keyword(value)
}

/// Where `needle` occurs in `haystack`, ignoring case: byte offsets in `haystack`.
fn find_case_insensitive(haystack: &str, needle: &str) -> Option<(usize, usize)> {
    if needle.is_empty() {
        return Some((0, 0));
    }
    let needle: Vec<char> = needle.chars().flat_map(char::to_lowercase).collect();
    for (start, _) in haystack.char_indices() {
        let mut wanted = needle.iter();
        let mut end = start;
        let mut matched = true;
        'outer: for (i, c) in haystack[start..].char_indices() {
            for lower in c.to_lowercase() {
                match wanted.next() {
                    Some(w) if *w == lower => {}
                    Some(_) => {
                        matched = false;
                        break 'outer;
                    }
                    None => break 'outer,
                }
            }
            end = start + i + c.len_utf8();
            if wanted.len() == 0 {
                break;
            }
        }
        if matched && wanted.len() == 0 {
            return Some((start, end));
        }
    }
    None
}

fn candidates(snapshot: &Snapshot, slot: Slot, typed: &str) -> Vec<Candidate> {
    match slot {
        Slot::Item { after_item } => item_candidates(after_item, typed),
        Slot::Value { key } => {
            key.map_or_else(Vec::new, |key| value_candidates(snapshot, key, typed))
        }
        Slot::Argument { tuple } => tuple.map_or_else(Vec::new, |tuple| {
            tuple
                .arguments
                .iter()
                .map(|a| {
                    candidate(
                        *a,
                        argument_description(tuple.name, a),
                        "arguments",
                        CandidateKind::Argument,
                    )
                })
                .collect()
        }),
        Slot::ArgumentValue { argument } => argument.map_or_else(Vec::new, |argument| {
            value_candidates(snapshot, argument, typed)
        }),
        Slot::Nothing => Vec::new(),
    }
}

fn argument_description(tuple: &str, argument: &str) -> String {
    match (tuple, argument) {
        ("access", "project") => "in this project".into(),
        ("access", "organization") => "in this organization".into(),
        ("access", "with") => "a role, or a permission some role contains".into(),
        ("access", "role") => "holding this role".into(),
        ("access", "permission") => "holding a role with this permission".into(),
        ("lastAccess", "after") => "last accessed after".into(),
        ("lastAccess", "before") => "last accessed before".into(),
        ("identity", "provider") => "auth module type".into(),
        ("identity", "uid") => "external uid".into(),
        _ => format!("{argument} of {tuple}(…)"),
    }
}

fn item_candidates(after_item: bool, typed: &str) -> Vec<Candidate> {
    let mut out = Vec::new();
    let keywords: &[&str] = if after_item {
        &["and", "or", "not"]
    } else {
        &["not"]
    };
    let keyword_candidates = keywords.iter().map(|k| {
        let description = match *k {
            "and" => "both sides match",
            "or" => "either side matches",
            _ => "the next item does not match",
        };
        candidate(*k, description, "keywords", CandidateKind::Keyword)
    });
    if after_item && typed.is_empty() {
        out.extend(keyword_candidates);
        push_keys_and_tuples(&mut out, typed);
    } else {
        push_keys_and_tuples(&mut out, typed);
        out.extend(keyword_candidates);
    }
    out
}

fn push_keys_and_tuples(out: &mut Vec<Candidate>, typed: &str) {
    for key in catalogue::FIELD_KEYS {
        out.push(candidate(
            key.name,
            key.description,
            "keys",
            CandidateKind::Key,
        ));
        if !typed.is_empty() {
            for alias in key.aliases {
                out.push(candidate(
                    *alias,
                    format!("same as {}", key.name),
                    "keys",
                    CandidateKind::Key,
                ));
            }
        }
    }
    for tuple in catalogue::TUPLES {
        out.push(candidate(
            tuple.name,
            tuple.description,
            "tuples",
            CandidateKind::Tuple,
        ));
    }
}

fn closed_candidates(values: &[ClosedValue], key: &str) -> Vec<Candidate> {
    values
        .iter()
        .map(|v| {
            let description = if v.extension {
                format!("{key}: {} (userql extension)", v.name)
            } else {
                format!("{key}: {}", v.name)
            };
            candidate(v.name, description, "values", CandidateKind::Value)
        })
        .collect()
}

fn named<'a, T: 'a>(
    items: impl IntoIterator<Item = &'a T>,
    name: fn(&T) -> &str,
    description: &str,
) -> Vec<Candidate> {
    items
        .into_iter()
        .map(|item| candidate(name(item), description, "values", CandidateKind::Value))
        .collect()
}

const DATE_WORDS: &[(&str, &str)] = &[
    ("today", "the current day"),
    ("yesterday", "the day before today"),
    ("now", "the current instant"),
    ("7 days ago", "one week before now"),
    ("30 days ago", "thirty days before now"),
    ("1 year ago", "one year before now"),
];

fn value_candidates(snapshot: &Snapshot, key: &str, typed: &str) -> Vec<Candidate> {
    let model: &Model = &snapshot.model;
    match key {
        "is" => closed_candidates(catalogue::IS_VALUES, "is"),
        "has" => closed_candidates(catalogue::HAS_VALUES, "has"),
        "state" => closed_candidates(catalogue::STATE_VALUES, "state"),
        "group" => named(&model.groups, |g| g.name.as_str(), "group"),
        "enterpriseGroup" => named(
            model.groups.iter().filter(|g| g.parent.is_none()),
            |g| g.name.as_str(),
            "top-level group",
        ),
        "in" => {
            let mut out = named(
                &model.groups,
                |g| g.name.as_str(),
                "group and its subgroups",
            );
            out.extend(named(&model.teams, |t| t.name.as_str(), "team"));
            out
        }
        "team" => named(&model.teams, |t| t.name.as_str(), "team"),
        "project" => {
            let mut out = Vec::new();
            for project in &model.projects {
                let description = match &project.key {
                    Some(k) => format!("project {k}"),
                    None => "project".to_owned(),
                };
                out.push(candidate(
                    project.name.as_str(),
                    description,
                    "values",
                    CandidateKind::Value,
                ));
                if let Some(k) = &project.key {
                    out.push(candidate(
                        k.as_str(),
                        format!("key of project {}", project.name),
                        "values",
                        CandidateKind::Value,
                    ));
                }
            }
            out
        }
        "organization" => named(&model.organizations, |o| o.name.as_str(), "organization"),
        "ownRole" | "role" => named(&model.roles, |r| r.name.as_str(), "role"),
        "permission" => named(&model.permissions, |p| p.name.as_str(), "permission"),
        "with" => {
            let mut out = named(&model.roles, |r| r.name.as_str(), "role");
            out.extend(named(&model.permissions, |p| p.name.as_str(), "permission"));
            out
        }
        "originService" | "hasLicense" => named(&model.services, |s| s.name.as_str(), "service"),
        "authModule" => {
            let facts = scanned(snapshot);
            let mut out: Vec<Candidate> = facts
                .module_types
                .iter()
                .map(|m| {
                    candidate(
                        m.as_str(),
                        "auth module type",
                        "values",
                        CandidateKind::Value,
                    )
                })
                .collect();
            out.extend(
                facts
                    .module_names
                    .iter()
                    .map(|m| candidate(m.as_str(), "auth module", "values", CandidateKind::Value)),
            );
            out
        }
        "provider" => scanned(snapshot)
            .module_types
            .iter()
            .map(|m| {
                candidate(
                    m.as_str(),
                    "auth module type",
                    "values",
                    CandidateKind::Value,
                )
            })
            .collect(),
        "type" => scanned(snapshot)
            .user_types
            .iter()
            .map(|t| candidate(t.as_str(), "user type", "values", CandidateKind::Value))
            .collect(),
        "banStatus" => scanned(snapshot)
            .ban_statuses
            .iter()
            .map(|t| candidate(t.as_str(), "ban status", "values", CandidateKind::Value))
            .collect(),
        "after" | "before" | "created" | "lastAccess" => DATE_WORDS
            .iter()
            .map(|(word, description)| {
                candidate(*word, *description, "values", CandidateKind::Value)
            })
            .collect(),
        "login" | "loginStartsWith" => {
            users_by_prefix(snapshot, PrefixField::Login, typed, |u| Some(&u.login))
        }
        "name" | "nameStartsWith" => {
            users_by_prefix(snapshot, PrefixField::Name, typed, |u| u.name.as_ref())
        }
        _ => Vec::new(),
    }
}

/// Logins or names starting with what was typed, from the prefix index (nothing until something is
/// typed: every user would be a poor list).
fn users_by_prefix(
    snapshot: &Snapshot,
    field: PrefixField,
    typed: &str,
    value: fn(&userql_directory::model::User) -> Option<&String>,
) -> Vec<Candidate> {
    if typed.trim().is_empty() {
        return Vec::new();
    }
    // The index describes clean rows only: rows changed since it was built are checked one by
    // one, so a user added a moment ago is offered too (and a removed one is not).
    let mut rows = snapshot.index.prefix(field, typed);
    rows -= &*snapshot.dirty;
    let folded = userql_directory::text::fold(typed);
    for row in snapshot.dirty.iter() {
        let starts = snapshot
            .model
            .users
            .get(row as usize)
            .and_then(value)
            .is_some_and(|v| userql_directory::text::fold(v).starts_with(&folded));
        if starts {
            rows.insert(row);
        }
    }
    rows.iter()
        .take(MAX_SUGGESTIONS)
        .filter_map(|row| snapshot.model.users.get(row as usize))
        .filter_map(|user| {
            value(user).map(|v| {
                candidate(
                    v.as_str(),
                    format!("user {}", user.id),
                    "users",
                    CandidateKind::Value,
                )
            })
        })
        .collect()
}

/// The per-user value lists assist offers, from the index's category dictionaries (the values
/// as first spelled in the directory, sorted).
#[derive(Debug, Default)]
struct Scanned {
    module_types: Vec<String>,
    module_names: Vec<String>,
    user_types: Vec<String>,
    ban_statuses: Vec<String>,
}

fn scanned(snapshot: &Snapshot) -> Arc<Scanned> {
    let values = |category| {
        snapshot
            .index
            .category_values(category)
            .into_iter()
            .map(str::to_string)
            .collect()
    };
    Arc::new(Scanned {
        module_types: values(Category::AuthModuleType),
        module_names: values(Category::AuthModuleName),
        user_types: values(Category::UserType),
        ban_statuses: values(Category::BanStatus),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_find_reports_offsets_in_the_option() {
        assert_eq!(find_case_insensitive("Imperial Army", "arm"), Some((9, 12)));
        assert_eq!(find_case_insensitive("Imperial Army", "IMP"), Some((0, 3)));
        assert_eq!(find_case_insensitive("École", "éc"), Some((0, 3)));
        assert_eq!(find_case_insensitive("abc", "abcd"), None);
        assert_eq!(find_case_insensitive("abc", ""), Some((0, 0)));
    }

    #[test]
    fn braces_are_needed_for_spaces_and_keywords() {
        assert!(needs_braces("Imperial Army"));
        assert!(needs_braces("or"));
        assert!(!needs_braces("Stormtroopers"));
        assert!(!needs_braces("2FA"));
    }
}
