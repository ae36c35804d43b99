//! Hub's request options besides the query: `orderBy`, `fields`, `$skip` and `$top`.
//!
//! Each parser returns typed data or an [`Error`] with a span into the option's text, and each type's
//! `Display` prints a canonical form that parses back to an equal value.

use std::fmt::{self, Display, Formatter};

use crate::catalogue;
use crate::error::{Error, ErrorKind, Expected};
use crate::lexeme::ws_len;
use crate::parser::Limits;

/// A field users can be sorted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderField {
    /// `login` (also spelled `username`).
    Login,
    /// `name`: the full name.
    Name,
    /// `creationTime`.
    CreationTime,
    /// `lastAccessTime`; users who never logged in sort last.
    LastAccessTime,
    /// `id` (ext).
    Id,
    /// `email` (ext); users without one sort last.
    Email,
}

impl OrderField {
    /// The canonical spelling, as accepted by [`parse_order_by`].
    pub fn as_str(self) -> &'static str {
        match self {
            OrderField::Login => "login",
            OrderField::Name => "name",
            OrderField::CreationTime => "creationTime",
            OrderField::LastAccessTime => "lastAccessTime",
            OrderField::Id => "id",
            OrderField::Email => "email",
        }
    }

    fn from_canonical(name: &str) -> Option<Self> {
        [
            OrderField::Login,
            OrderField::Name,
            OrderField::CreationTime,
            OrderField::LastAccessTime,
            OrderField::Id,
            OrderField::Email,
        ]
        .into_iter()
        .find(|f| f.as_str() == name)
    }
}

/// A sort direction; without one a key sorts ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// One `orderBy` key: `field[:asc|desc]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderKey {
    /// What to sort on.
    pub field: OrderField,
    /// Which way.
    pub direction: Direction,
}

impl Display for OrderKey {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.field.as_str())?;
        if self.direction == Direction::Desc {
            f.write_str(":desc")?;
        }
        Ok(())
    }
}

/// The canonical text of a list of keys (`login:desc, name`), which [`parse_order_by`] reads back.
pub fn format_order_by(keys: &[OrderKey]) -> String {
    keys.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Small cursor over an option's text.
struct Scanner<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn skip_ws(&mut self) -> usize {
        let len = ws_len(&self.src[self.pos..]);
        self.pos += len;
        len
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> (&'a str, usize) {
        let start = self.pos;
        let len = self.src[start..]
            .char_indices()
            .find(|(_, c)| !pred(*c))
            .map_or(self.src.len() - start, |(i, _)| i);
        self.pos += len;
        (&self.src[start..start + len], start)
    }

    fn unexpected(&self, expected: Expected) -> Error {
        match self.peek() {
            Some(found) => Error::new(
                self.pos..self.pos + found.len_utf8(),
                ErrorKind::UnexpectedChar { found, expected },
            ),
            None => Error::new(
                self.src.len()..self.src.len(),
                ErrorKind::UnexpectedEnd { expected },
            ),
        }
    }
}

fn check_length(text: &str) -> Result<(), Error> {
    let limit = Limits::default().max_len;
    if text.len() > limit {
        let mut start = limit;
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        return Err(Error::new(
            start..text.len(),
            ErrorKind::TooLong {
                limit,
                len: text.len(),
            },
        ));
    }
    Ok(())
}

/// Parses `orderBy`: comma-separated `field[:asc|desc]` (or `field asc`), case-insensitive. An empty
/// text gives no keys, leaving the engine's default order (`login` ascending).
///
/// `order_by = ws [ order_key { ws "," ws order_key } ] ws`
pub fn parse_order_by(text: &str) -> Result<Vec<OrderKey>, Error> {
    check_length(text)?;
    let mut scanner = Scanner { src: text, pos: 0 };
    let mut keys = Vec::new();
    scanner.skip_ws();
    if scanner.peek().is_none() {
        return Ok(keys);
    }
    loop {
        keys.push(parse_order_key(&mut scanner)?);
        scanner.skip_ws();
        match scanner.peek() {
            None => return Ok(keys),
            Some(',') => {
                scanner.pos += 1;
                scanner.skip_ws();
            }
            Some(_) => return Err(scanner.unexpected(Expected::Comma)),
        }
    }
}

/// `order_key = order_field [ ws ":" ws direction | white_space ws direction ]`
fn parse_order_key(scanner: &mut Scanner<'_>) -> Result<OrderKey, Error> {
    let (word, start) = scanner.take_while(char::is_alphanumeric);
    if word.is_empty() {
        return Err(scanner.unexpected(Expected::OrderField));
    }
    let Some(field) = catalogue::order_by_field(word).and_then(OrderField::from_canonical) else {
        let spellings: Vec<&str> = catalogue::ORDER_BY_FIELDS.iter().map(|(s, _)| *s).collect();
        return Err(Error::new(
            start..start + word.len(),
            ErrorKind::UnknownOrderField {
                found: word.to_string(),
                suggestion: catalogue::suggest(word, &spellings).map(str::to_string),
            },
        ));
    };
    let before = scanner.pos;
    let spaced = scanner.skip_ws() > 0;
    let direction = match scanner.peek() {
        Some(':') => {
            scanner.pos += 1;
            scanner.skip_ws();
            Some(parse_direction(scanner)?)
        }
        Some(c) if spaced && c.is_alphabetic() => Some(parse_direction(scanner)?),
        _ => {
            scanner.pos = before;
            None
        }
    };
    Ok(OrderKey {
        field,
        direction: direction.unwrap_or_default(),
    })
}

fn parse_direction(scanner: &mut Scanner<'_>) -> Result<Direction, Error> {
    let (word, start) = scanner.take_while(char::is_alphanumeric);
    if word.is_empty() {
        return Err(scanner.unexpected(Expected::Direction));
    }
    if word.eq_ignore_ascii_case("asc") {
        Ok(Direction::Asc)
    } else if word.eq_ignore_ascii_case("desc") {
        Ok(Direction::Desc)
    } else {
        Err(Error::new(
            start..start + word.len(),
            ErrorKind::BadDirection {
                found: word.to_string(),
            },
        ))
    }
}

/// A `fields` selection: the names asked for, each with its own sub-selection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelection {
    /// The selected names in order of first appearance, each at most once.
    pub fields: Vec<FieldNode>,
}

/// One selected name. Names are kept as written (JSON names are case-sensitive) and unknown ones
/// are kept too: the projection ignores what it does not know, as Hub does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldNode {
    /// The JSON name (`login`, `groups`, `total`).
    pub name: String,
    /// The sub-selection; empty means the name is selected whole (its default sub-fields).
    pub children: FieldSelection,
}

impl FieldSelection {
    /// `true` when nothing is selected (the engine then uses its default fields).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The node selected under `name`, if any.
    pub fn get(&self, name: &str) -> Option<&FieldNode> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Adds a node, merging with a node of the same name: sub-selections are united, and a name
    /// selected whole stays whole (`groups,groups(id)` = `groups`).
    fn merge(&mut self, node: FieldNode) {
        match self.fields.iter_mut().find(|f| f.name == node.name) {
            None => self.fields.push(node),
            Some(existing) => {
                if existing.children.is_empty() || node.children.is_empty() {
                    existing.children = FieldSelection::default();
                } else {
                    for child in node.children.fields {
                        existing.children.merge(child);
                    }
                }
            }
        }
    }
}

impl Display for FieldSelection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (index, node) in self.fields.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            f.write_str(&node.name)?;
            if !node.children.is_empty() {
                write!(f, "({})", node.children)?;
            }
        }
        Ok(())
    }
}

fn is_field_name_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, ',' | '(' | ')' | '/')
}

/// One open `(` of a `fields` text: the selection being built and the path it belongs under.
struct FieldsFrame {
    selection: FieldSelection,
    path: Vec<String>,
    open: usize,
}

/// Parses `fields` (Google partial-response syntax): `id,login,groups(id,name),profile/email/email`.
/// Slash paths become nesting; same names merge. An empty text selects nothing (the engine's
/// default). Parsed with an explicit stack, so nesting costs no call stack; the depth limit is the
/// query's default.
///
/// `fields = ws [ selection ] ws`, `selection = path { ws "," ws path }`,
/// `path = fname { "/" fname } [ ws "(" ws selection ws ")" ]`
pub fn parse_fields(text: &str) -> Result<FieldSelection, Error> {
    check_length(text)?;
    let max_depth = Limits::default().max_depth;
    let mut scanner = Scanner { src: text, pos: 0 };
    scanner.skip_ws();
    if scanner.peek().is_none() {
        return Ok(FieldSelection::default());
    }
    let mut stack: Vec<FieldsFrame> = vec![FieldsFrame {
        selection: FieldSelection::default(),
        path: Vec::new(),
        open: 0,
    }];
    loop {
        // A path.
        scanner.skip_ws();
        let mut path = Vec::new();
        loop {
            let (name, _) = scanner.take_while(is_field_name_char);
            if name.is_empty() {
                return Err(match (scanner.peek(), stack.last()) {
                    (Some(')'), Some(frame))
                        if stack.len() > 1 && frame.selection.is_empty() && path.is_empty() =>
                    {
                        Error::new(frame.open..scanner.pos + 1, ErrorKind::EmptyParens)
                    }
                    _ => scanner.unexpected(Expected::FieldName),
                });
            }
            path.push(name.to_string());
            if scanner.peek() == Some('/') {
                scanner.pos += 1;
            } else {
                break;
            }
        }
        scanner.skip_ws();
        if scanner.peek() == Some('(') {
            if stack.len() > max_depth {
                return Err(Error::new(
                    scanner.pos..scanner.pos + 1,
                    ErrorKind::TooDeep { limit: max_depth },
                ));
            }
            stack.push(FieldsFrame {
                selection: FieldSelection::default(),
                path,
                open: scanner.pos,
            });
            scanner.pos += 1;
            continue;
        }
        if let Some(frame) = stack.last_mut() {
            frame.selection.merge(nest(path, FieldSelection::default()));
        }
        // After a path: `,`, `)` (possibly several) or the end.
        loop {
            scanner.skip_ws();
            match scanner.peek() {
                Some(',') => {
                    scanner.pos += 1;
                    break;
                }
                Some(')') if stack.len() > 1 => {
                    scanner.pos += 1;
                    if let Some(frame) = stack.pop() {
                        let node = nest(frame.path, frame.selection);
                        if let Some(parent) = stack.last_mut() {
                            parent.selection.merge(node);
                        }
                    }
                }
                None if stack.len() == 1 => {
                    return Ok(stack.pop().map(|f| f.selection).unwrap_or_default());
                }
                None => {
                    let open = stack.last().map_or(0, |f| f.open);
                    return Err(Error::new(open..open + 1, ErrorKind::UnclosedParen));
                }
                Some(')') => {
                    return Err(Error::new(
                        scanner.pos..scanner.pos + 1,
                        ErrorKind::UnmatchedParen,
                    ))
                }
                Some(_) => return Err(scanner.unexpected(Expected::Comma)),
            }
        }
    }
}

/// `a/b/c` with `children` → `a(b(c(children)))`.
fn nest(path: Vec<String>, children: FieldSelection) -> FieldNode {
    let mut selection = children;
    let mut names = path.into_iter().rev();
    let mut node = FieldNode {
        name: names.next().unwrap_or_default(),
        children: selection,
    };
    for name in names {
        selection = FieldSelection { fields: vec![node] };
        node = FieldNode {
            name,
            children: selection,
        };
    }
    node
}

/// Parses `$skip`: a non-negative integer.
pub fn parse_skip(text: &str) -> Result<u64, Error> {
    let trimmed = text.trim();
    if trimmed.starts_with('-') && parse_digits(&trimmed[1..]).is_some() {
        return Err(Error::new(
            0..text.len(),
            ErrorKind::NegativeSkip {
                found: trimmed.to_string(),
            },
        ));
    }
    parse_digits(trimmed).ok_or_else(|| invalid_number("$skip", text))
}

/// `$top`: how many users a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Top {
    /// `-1`: every match (the engine clamps it to its cap).
    All,
    /// At most this many (the engine clamps it to its cap).
    Count(u64),
}

impl Display for Top {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Top::All => f.write_str("-1"),
            Top::Count(n) => n.fmt(f),
        }
    }
}

/// Parses `$top`: a non-negative integer, or `-1` for all.
pub fn parse_top(text: &str) -> Result<Top, Error> {
    let trimmed = text.trim();
    if let Some(magnitude) = trimmed.strip_prefix('-') {
        return match parse_digits(magnitude) {
            Some(1) => Ok(Top::All),
            Some(0) => Ok(Top::Count(0)),
            Some(_) => Err(Error::new(
                0..text.len(),
                ErrorKind::TopTooSmall {
                    found: trimmed.to_string(),
                },
            )),
            None => Err(invalid_number("$top", text)),
        };
    }
    parse_digits(trimmed)
        .map(Top::Count)
        .ok_or_else(|| invalid_number("$top", text))
}

/// ASCII digits only (no sign, no spaces inside), fitting in a `u64`.
fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn invalid_number(option: &'static str, text: &str) -> Error {
    let shown: String = text.chars().take(64).collect();
    Error::new(
        0..text.len(),
        ErrorKind::InvalidNumber {
            option,
            found: shown,
        },
    )
}
