//! The lenient scanner: the query's tokens and what is expected at a caret, for text that may not
//! parse (completion and highlighting while a query is being typed).
//!
//! The strict parser ([`crate::parse_query`]) stops at the first mistake; this scanner never stops.
//! It reads the whole text with the **same lexemes** as the parser (the crate's `lexeme` module: words, bare
//! values, `{braced}` / `"quoted"` bodies, whitespace), classes every token ([`Class`]), marks what
//! the parser would refuse as [`Class::Error`] (unknown keys, tuples and arguments, closed values
//! that do not exist, unbalanced punctuation, a missing value) and records what the query expects
//! at the caret ([`Spot`]). Names that only the directory can check (groups, roles, …) are returned
//! as [`EntityValue`]s for the caller to look up.
//!
//! On text the parser accepts, the two agree: no token is an error, and every key, value and text
//! item of the AST starts where a token of the matching class starts (`tests/lenient.rs`).

use crate::catalogue::{self, TupleInfo};
use crate::lexeme::{bare_value_len, classify_word, delimited_extent, word_len, ws_len, Word};

/// How a token reads: the highlighting classes of Hub's query assist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
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

/// One classed range of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// How it reads.
    pub class: Class,
    /// Byte offset.
    pub start: usize,
    /// Length in bytes.
    pub length: usize,
}

/// Scans `text` to its end, recording what is expected at byte `caret` (a character boundary).
/// Never fails or panics; no recursion (open parentheses are an explicit stack), one pass.
pub fn scan(text: &str, caret: usize) -> Scan {
    Scanner::new(text, caret).run()
}

/// What the query expects at some position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The start of an item; `after_item` when an item precedes (so `and`/`or` make sense).
    Item {
        /// An item precedes.
        after_item: bool,
    },
    /// A value of a field key.
    Value {
        /// Canonical key name, or `None` for an unknown key.
        key: Option<&'static str>,
    },
    /// An argument name of a tuple.
    Argument {
        /// The tuple, or `None` for an unknown tuple.
        tuple: Option<&'static TupleInfo>,
    },
    /// A value of a tuple argument.
    ArgumentValue {
        /// Canonical argument name, or `None` for an unknown argument.
        argument: Option<&'static str>,
    },
    /// Nothing can be completed here (between a key and its `:`).
    Nothing,
}

/// The token under the caret and what was expected there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spot {
    /// What is expected.
    pub slot: Slot,
    /// Start of the range a completion replaces (the token, or empty at the caret).
    pub start: usize,
    /// End of that range.
    pub end: usize,
    /// Offset where the typed text begins (after a `{` or `"`).
    pub typed_start: usize,
}

/// A value naming a directory object (group, role, …), for the caller to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityValue {
    /// What kind of object it names.
    pub kind: EntityKind,
    /// The value, unbraced and unquoted.
    pub text: String,
    /// Byte offset of the written value.
    pub start: usize,
    /// End of the written value.
    pub end: usize,
}

/// The kinds of object an entity value may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    /// A group (`group:`, `enterpriseGroup:`).
    Group,
    /// A group or a team (`in:`).
    GroupOrTeam,
    /// A team.
    Team,
    /// A project.
    Project,
    /// An organization.
    Organization,
    /// A role (`ownRole:`, `role:`).
    Role,
    /// A permission.
    Permission,
    /// A role or a permission (`with:`).
    RoleOrPermission,
    /// A service (`originService:`, `hasLicense:`).
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

/// What [`scan`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Every token, in text order; whitespace is not covered.
    pub tokens: Vec<Token>,
    /// What is expected at the caret (`None` only when nothing at all can be completed there).
    pub at_caret: Option<Spot>,
    /// Values that name directory objects, in text order.
    pub entity_values: Vec<EntityValue>,
}

struct Scanner<'q> {
    text: &'q str,
    pos: usize,
    caret: usize,
    slot: Slot,
    stack: Vec<Frame>,
    tokens: Vec<Token>,
    at_caret: Option<Spot>,
    entity_values: Vec<EntityValue>,
}

impl<'q> Scanner<'q> {
    fn new(text: &'q str, caret: usize) -> Self {
        Scanner {
            text,
            pos: 0,
            caret,
            slot: Slot::Item { after_item: false },
            stack: Vec::new(),
            tokens: Vec::new(),
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
        self.pos += ws_len(self.rest());
    }

    fn mark(&mut self, class: Class, start: usize, end: usize) {
        if end > start {
            self.tokens.push(Token {
                class,
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

    /// The length of the bare word at the cursor, by the parser's own lexemes: in value position
    /// `:` belongs to the word and `..` ends it ([`bare_value_len`]); elsewhere `:` ends it
    /// ([`word_len`]).
    fn bare_len(&self, value: bool) -> usize {
        if value {
            bare_value_len(self.rest())
        } else {
            word_len(self.rest())
        }
    }

    /// A `{…}` or `"…"` token at the cursor: (length, closed).
    fn delimited_len(&self) -> (usize, bool) {
        delimited_extent(self.rest())
    }

    fn run(mut self) -> Scan {
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
            self.restyle(open, Class::Error);
        }
        self.tokens.sort_by_key(|s| s.start);
        Scan {
            tokens: self.tokens,
            at_caret: self.at_caret,
            entity_values: self.entity_values,
        }
    }

    fn restyle(&mut self, start: usize, class: Class) {
        if let Some(range) = self.tokens.iter_mut().find(|s| s.start == start) {
            range.class = class;
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

    fn punctuation(&mut self, start: usize, len: usize, class: Class) {
        self.pos = start + len;
        self.mark(class, start, start + len);
    }

    fn item(&mut self, start: usize, c: char, gap_start: usize) {
        let slot = match self.slot {
            Slot::Nothing => Slot::Item { after_item: true },
            other => other,
        };
        match c {
            '(' => {
                self.punctuation(start, 1, Class::Operator);
                self.stack.push(Frame::Group { open: start });
                self.slot = Slot::Item { after_item: false };
            }
            ')' => self.close(start, gap_start),
            '"' | '{' => {
                let (len, closed) = self.delimited_len();
                self.token_at_caret(slot, start, start + len, start + 1);
                self.pos = start + len;
                let class = if closed && c == '"' {
                    Class::Text
                } else {
                    Class::Error
                };
                self.mark(class, start, start + len);
                self.slot = Slot::Item { after_item: true };
            }
            '-' if self.rest()[1..]
                .chars()
                .next()
                .is_some_and(|next| !next.is_whitespace()) =>
            {
                // As in the parser: `-` glued to anything (a word, `(`, a phrase) negates it.
                self.punctuation(start, 1, Class::Operator);
                self.slot = Slot::Item { after_item: false };
            }
            ',' | ':' | '}' => {
                self.punctuation(start, c.len_utf8(), Class::Error);
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
        let class = classify_word(word, self.rest());
        if class == Word::Tuple {
            let tuple = catalogue::tuple(word);
            self.mark(
                if tuple.is_some() {
                    Class::FieldName
                } else {
                    Class::Error
                },
                start,
                end,
            );
            self.punctuation(end, 1, Class::Operator);
            self.stack.push(Frame::Tuple { open: end, tuple });
            self.slot = Slot::Argument { tuple };
            return;
        }
        if class == Word::Field {
            let after_word = self.pos;
            self.skip_whitespace();
            let key = catalogue::field_key(word);
            let class = if key.is_some() {
                Class::FieldName
            } else {
                Class::Error
            };
            self.mark(class, start, end);
            self.gap_at_caret(Slot::Nothing, after_word + 1, self.pos);
            let colon = self.pos;
            self.punctuation(colon, 1, Class::FieldName);
            self.slot = Slot::Value { key };
            return;
        }
        if matches!(class, Word::Not | Word::Keyword) {
            self.mark(Class::Operator, start, end);
            self.slot = Slot::Item { after_item: false };
        } else {
            self.mark(Class::Text, start, end);
            self.slot = Slot::Item { after_item: true };
        }
    }

    fn close(&mut self, start: usize, gap_start: usize) {
        self.gap_at_caret(self.slot, gap_start, start);
        match self.stack.pop() {
            Some(_) => self.punctuation(start, 1, Class::Operator),
            None => self.punctuation(start, 1, Class::Error),
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
            ',' => self.punctuation(start, 1, Class::Operator),
            '(' | '{' | '"' | ':' | '}' => {
                let len = match c {
                    '{' | '"' => self.delimited_len().0,
                    _ => 1,
                };
                self.gap_at_caret(slot, start, start);
                self.punctuation(start, len, Class::Error);
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
                self.mark(
                    if known {
                        Class::FieldName
                    } else {
                        Class::Error
                    },
                    start,
                    end,
                );
                let after_word = self.pos;
                self.skip_whitespace();
                if self.rest().starts_with(':') {
                    self.gap_at_caret(Slot::Nothing, after_word + 1, self.pos);
                    let colon = self.pos;
                    self.punctuation(colon, 1, Class::FieldName);
                    self.slot = Slot::ArgumentValue { argument };
                } else {
                    self.pos = after_word;
                    self.restyle(start, Class::Error);
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
                self.punctuation(start, if c == '.' { 2 } else { 1 }, Class::Error);
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
        self.mark(
            if valid {
                Class::FieldValue
            } else {
                Class::Error
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
            self.punctuation(at, 2, Class::Operator);
            return;
        }
        if self.rest().starts_with(',') {
            let at = self.pos;
            self.punctuation(at, 1, Class::Operator);
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
            .tokens
            .iter_mut()
            .rev()
            .find(|s| s.start < before && s.length == 1)
        {
            if self.text.get(range.start..range.start + 1) == Some(":") {
                range.class = Class::Error;
            }
        }
    }
}

/// Whether `rest` starts with `name :` (a tuple argument) rather than another value.
fn argument_follows(rest: &str) -> bool {
    let len = word_len(rest);
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
