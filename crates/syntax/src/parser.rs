//! The query parser: text → [`Query`], or an [`Error`] with a span.
//!
//! The grammar, exactly as implemented (also in `grammar/hub.ebnf`):
//!
//! ```text
#![doc = include_str!("../../../grammar/hub.ebnf")]
//! ```
//!
//! # Design
//! The expression levels (`or_expr`, `and_expr`, `juxt`, `unary`) are parsed by one loop over an
//! explicit stack of `Frame`s — one per open parenthesis — instead of recursive calls, so no input
//! can overflow the call stack whatever the configured depth limit. The depth counter plays the part
//! of the usual RAII depth guard: it rises on `(` and on each `not`/`-`, falls when the group closes or
//! the negation is applied, and past [`Limits::max_depth`] the parse stops with
//! [`ErrorKind::TooDeep`]. The parser never backtracks: every decision is taken on a bounded look-ahead
//! (a word and the next non-space character), so parsing is linear in the input length; once `(`,
//! `{`, `"`, `name(` or `not` has been read, a failure is final and specific.

use std::collections::HashMap;
use std::mem;

use smallvec::SmallVec;

use crate::ast::{
    Atom, Bound, Expr, ExprKind, Field, Name, Query, Quoting, Span, Tuple, Value, ValueKind,
};
use crate::catalogue::{self, TupleInfo};
use crate::error::{Error, ErrorKind, Expected};
use crate::lexeme::{
    bare_value_len, classify_word, delimited, is_bare_char, word_len, ws_len, Word,
};

/// Bounds on the work one query may cause; past any of them the parse fails with a specific error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum query length in bytes.
    pub max_len: usize,
    /// Maximum nesting: open parentheses plus pending negations. Later phases (printer, binder,
    /// `Drop` of the tree) recurse on the tree, so keep this in the hundreds at most.
    pub max_depth: usize,
    /// Maximum number of items (field values — each value of a key counts —, tuples, words,
    /// phrases).
    pub max_items: usize,
}

impl Default for Limits {
    /// The spec's defaults: 16 KiB, depth 64, 1,024 items.
    fn default() -> Self {
        Limits {
            max_len: 16 * 1024,
            max_depth: 64,
            max_items: 1024,
        }
    }
}

/// Parses a query with the default [`Limits`].
pub fn parse_query(text: &str) -> Result<Query, Error> {
    parse_query_with(text, &Limits::default())
}

/// Parses a query with explicit limits.
///
/// `query = ws [ or_expr ] ws EOF`
pub fn parse_query_with(text: &str, limits: &Limits) -> Result<Query, Error> {
    if text.len() > limits.max_len {
        let start = floor_char_boundary(text, limits.max_len);
        return Err(Error::new(
            start..text.len(),
            ErrorKind::TooLong {
                limit: limits.max_len,
                len: text.len(),
            },
        ));
    }
    let mut parser = Parser {
        src: text,
        pos: 0,
        limits,
        depth: 0,
        items: 0,
    };
    let expr = parser.parse_or_expr()?;
    Ok(Query {
        expr,
        span: 0..text.len(),
    })
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Operands of one precedence level. Most queries have a handful, kept inline: the parser's own
/// bookkeeping allocated more than the tree it built (measured with callgrind on the corpus).
type Operands = SmallVec<[Expr; 4]>;
/// A juxtaposition run: the unaries, with whether each may join a same-key group.
type Run = SmallVec<[(Expr, bool); 4]>;
/// Offsets of `not`/`-` keywords awaiting their operand.
type Negations = SmallVec<[usize; 2]>;

/// Runs up to this long are grouped by comparing keys pairwise; longer ones through a hash map,
/// so a run of 1,024 items stays linear.
const LINEAR_RUN: usize = 16;

/// One open parenthesis level (the bottom frame is the whole query): the operands collected so far
/// at each precedence level.
#[derive(Default)]
struct Frame {
    /// Offset of the `(`; `None` for the whole query.
    open: Option<usize>,
    /// Offsets of the `not`/`-` written before the `(`, applied when the group closes.
    negations_before: Negations,
    /// Finished operands of the `or` chain.
    or_operands: Operands,
    /// Finished operands of the current `and` chain.
    and_operands: Operands,
    /// The unaries of the current juxtaposition run, with whether each may join a same-key group.
    run: Run,
    /// Offsets of the `not`/`-` read since the last operand.
    negations: Negations,
}

impl Frame {
    fn is_empty(&self) -> bool {
        self.or_operands.is_empty()
            && self.and_operands.is_empty()
            && self.run.is_empty()
            && self.negations.is_empty()
    }

    /// Ends the juxtaposition run: its groups join the `and` chain (flattened, see [`group_run`]).
    fn end_run(&mut self) {
        group_run(&mut self.run, &mut self.and_operands);
    }

    /// Ends the `and` chain: it becomes one operand of the `or` chain.
    fn end_and(&mut self) {
        self.end_run();
        if let Some(expr) = combine(&mut self.and_operands, ExprKind::And) {
            self.or_operands.push(expr);
        }
    }

    /// Ends the frame: the whole `or_expr`, or `None` when nothing was written.
    /// Leaves the frame empty, in place (frames are large: moving one costs more than it saves).
    fn finish(&mut self) -> Option<Expr> {
        self.end_and();
        combine(&mut self.or_operands, ExprKind::Or)
    }
}

/// One operand stays itself; several become `make(operands)` spanning them all. Leaves
/// `operands` empty.
fn combine(operands: &mut Operands, make: fn(Vec<Expr>) -> ExprKind) -> Option<Expr> {
    match operands.len() {
        0 => None,
        1 => operands.pop(),
        _ => {
            let span = operands[0].span.start..operands[operands.len() - 1].span.end;
            Some(Expr {
                kind: make(operands.drain(..).collect()),
                span,
            })
        }
    }
}

/// Groups a juxtaposition run by Hub's rule: same key → `Or`, groups AND-ed in order of first
/// appearance. Pushes the groups onto `out`, the `and` chain they flatten into.
///
/// `juxt = unary { ws unary }`
/// Leaves `run` empty.
fn group_run(run: &mut Run, out: &mut Operands) {
    // Most runs are one item: nothing to group.
    if run.len() <= 1 {
        out.extend(run.drain(..).map(|(expr, _)| expr));
        return;
    }
    let count = run.len();
    // `leader[i]`: the first item of item i's group.
    let leaders: SmallVec<[usize; 8]> = {
        let keys: SmallVec<[Option<GroupKey>; 8]> = run
            .iter()
            .map(|(expr, groupable)| groupable.then(|| grouping_key(expr)).flatten())
            .collect();
        let mut first: HashMap<&GroupKey, usize> = HashMap::new();
        keys.iter()
            .enumerate()
            .map(|(i, key)| match key {
                None => i,
                Some(key) if count <= LINEAR_RUN => keys[..i]
                    .iter()
                    .position(|earlier| earlier.as_ref() == Some(key))
                    .unwrap_or(i),
                Some(key) => *first.entry(key).or_insert(i),
            })
            .collect()
    };
    // Chain each group's members (first to last), then emit the groups in order of their leaders.
    const END: usize = usize::MAX;
    let mut next: SmallVec<[usize; 8]> = smallvec::smallvec![END; count];
    let mut last: SmallVec<[usize; 8]> = (0..count).collect();
    for (item, &leader) in leaders.iter().enumerate() {
        if leader != item {
            next[last[leader]] = item;
            last[leader] = item;
        }
    }
    let mut items: SmallVec<[Option<Expr>; 8]> = run.drain(..).map(|(e, _)| Some(e)).collect();
    for leader in 0..count {
        if leaders[leader] != leader {
            continue;
        }
        let mut group = Operands::new();
        let mut member = leader;
        while member != END {
            group.extend(items[member].take());
            member = next[member];
        }
        out.extend(combine(&mut group, ExprKind::Or));
    }
}

/// The key under which an item joins others of its run: the canonical field key (for `is:`/`has:`
/// with the folded values, so `is: admin is: external` stays an AND), or the tuple name. Text,
/// phrases, negations and groups have none: each is a group of its own.
#[derive(PartialEq, Eq, Hash)]
enum GroupKey<'a> {
    /// A field key; the folded values only for `is:`/`has:` (empty otherwise).
    Field(&'a str, Vec<String>),
    /// A tuple name.
    Tuple(&'a str),
}

fn grouping_key(expr: &Expr) -> Option<GroupKey<'_>> {
    match &expr.kind {
        ExprKind::Field(field) => {
            let key = field.key.normalized.as_str();
            let values = if key == "is" || key == "has" {
                field
                    .values
                    .iter()
                    .map(|value| catalogue::fold(&value.to_string()))
                    .collect()
            } else {
                Vec::new()
            };
            Some(GroupKey::Field(key, values))
        }
        ExprKind::Tuple(tuple) => Some(GroupKey::Tuple(&tuple.name.normalized)),
        _ => None,
    }
}

/// Where a value list sits: at top level a comma before a key is an error, in a tuple it separates
/// arguments.
#[derive(Clone, Copy)]
enum ListContext {
    Field,
    Argument(&'static TupleInfo),
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    limits: &'a Limits,
    depth: usize,
    items: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn char_at(&self, at: usize) -> Option<char> {
        self.src.get(at..).and_then(|s| s.chars().next())
    }

    fn skip_ws(&mut self) {
        self.pos += ws_len(self.rest());
    }

    /// Offset of the first non-space character at or after `at`.
    fn after_ws(&self, at: usize) -> usize {
        at + ws_len(&self.src[at..])
    }

    fn end_span(&self) -> Span {
        self.src.len()..self.src.len()
    }

    fn char_span(&self, at: usize) -> Span {
        let len = self.char_at(at).map_or(0, char::len_utf8);
        at..at + len
    }

    fn unexpected_here(&self, expected: Expected) -> Error {
        match self.peek() {
            Some(found) => Error::new(
                self.char_span(self.pos),
                ErrorKind::UnexpectedChar { found, expected },
            ),
            None => Error::new(self.end_span(), ErrorKind::UnexpectedEnd { expected }),
        }
    }

    fn enter(&mut self, span: Span) -> Result<(), Error> {
        if self.depth >= self.limits.max_depth {
            return Err(Error::new(
                span,
                ErrorKind::TooDeep {
                    limit: self.limits.max_depth,
                },
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn count_item(&mut self, span: &Span) -> Result<(), Error> {
        self.items += 1;
        if self.items > self.limits.max_items {
            return Err(Error::new(
                span.clone(),
                ErrorKind::TooManyItems {
                    limit: self.limits.max_items,
                },
            ));
        }
        Ok(())
    }

    /// Wraps `expr` in the negations written before it (the last one innermost) and releases the
    /// depth they held.
    fn negate(&mut self, mut expr: Expr, negations: Negations) -> Expr {
        for start in negations.into_iter().rev() {
            let span = start..expr.span.end;
            expr = Expr {
                kind: ExprKind::Not(Box::new(expr)),
                span,
            };
            self.depth -= 1;
        }
        expr
    }

    /// The expression levels, iteratively (see the module doc).
    ///
    /// `or_expr = and_expr { ws "or" ws and_expr }`,
    /// `and_expr = juxt { ws "and" ws juxt }`,
    /// `unary = ( "not" ws | "-" ) unary | item`,
    /// `item = "(" ws or_expr ws ")" | tuple | field | phrase | text`
    fn parse_or_expr(&mut self) -> Result<Option<Expr>, Error> {
        let mut stack: SmallVec<[Frame; 2]> = smallvec::smallvec![Frame::default()];
        let mut want_operand = true;
        loop {
            self.skip_ws();
            let Some(frame) = stack.last_mut() else {
                return Ok(None);
            };
            if want_operand {
                match self.peek() {
                    None => {
                        if let (Some(open), true) = (frame.open, frame.is_empty()) {
                            return Err(Error::new(open..open + 1, ErrorKind::UnclosedParen));
                        }
                        if frame.open.is_none() && frame.is_empty() {
                            return Ok(None);
                        }
                        return Err(self.unexpected_here(Expected::Item));
                    }
                    Some('(') => {
                        self.enter(self.pos..self.pos + 1)?;
                        let negations_before = mem::take(&mut frame.negations);
                        stack.push(Frame {
                            open: Some(self.pos),
                            negations_before,
                            ..Frame::default()
                        });
                        self.pos += 1;
                    }
                    Some(')') => {
                        return Err(match frame.open {
                            Some(open) if frame.is_empty() => {
                                Error::new(open..self.pos + 1, ErrorKind::EmptyParens)
                            }
                            None if frame.is_empty() => {
                                Error::new(self.char_span(self.pos), ErrorKind::UnmatchedParen)
                            }
                            _ => self.unexpected_here(Expected::Item),
                        });
                    }
                    Some('-') => {
                        let start = self.pos;
                        match self.char_at(start + 1) {
                            Some(next) if !next.is_whitespace() => {}
                            _ => {
                                return Err(Error::new(start..start + 1, ErrorKind::DetachedMinus))
                            }
                        }
                        self.enter(start..start + 1)?;
                        frame.negations.push(start);
                        self.pos += 1;
                    }
                    Some(_) => {
                        if let Some(start) = self.parse_negation_keyword()? {
                            if let Some(frame) = stack.last_mut() {
                                frame.negations.push(start);
                            }
                            continue;
                        }
                        let (item, groupable) = self.parse_item()?;
                        if let Some(frame) = stack.last_mut() {
                            let negations = mem::take(&mut frame.negations);
                            let groupable = groupable && negations.is_empty();
                            let item = self.negate(item, negations);
                            frame.run.push((item, groupable));
                        }
                        want_operand = false;
                    }
                }
                continue;
            }
            // After an operand: an operator, the end of the group, or the next unary of the run.
            match self.peek() {
                None => {
                    if let Some(open) = frame.open {
                        return Err(Error::new(open..open + 1, ErrorKind::UnclosedParen));
                    }
                    return Ok(frame.finish());
                }
                Some(')') => {
                    let Some(open) = frame.open else {
                        return Err(Error::new(
                            self.char_span(self.pos),
                            ErrorKind::UnmatchedParen,
                        ));
                    };
                    self.pos += 1;
                    let negations = mem::take(&mut frame.negations_before);
                    let inner = frame.finish();
                    // Dropped in place: popping would move the whole frame out first.
                    stack.truncate(stack.len().saturating_sub(1));
                    let Some(mut inner) = inner else {
                        return Err(Error::new(open..self.pos, ErrorKind::EmptyParens));
                    };
                    self.depth -= 1;
                    inner.span = open..self.pos;
                    let expr = self.negate(inner, negations);
                    if let Some(parent) = stack.last_mut() {
                        // A parenthesised item is a unit: it never joins a same-key group.
                        parent.run.push((expr, false));
                    }
                }
                Some(c @ (',' | ':' | '}' | '{')) => {
                    return Err(Error::new(
                        self.char_span(self.pos),
                        ErrorKind::UnexpectedChar {
                            found: c,
                            expected: Expected::ItemOrEnd,
                        },
                    ));
                }
                Some(_) => {
                    let len = word_len(self.rest());
                    let word = &self.rest()[..len];
                    let is_operator = (word.eq_ignore_ascii_case("and")
                        || word.eq_ignore_ascii_case("or"))
                        && !self.colon_follows(self.pos + len);
                    if is_operator {
                        if word.eq_ignore_ascii_case("and") {
                            frame.end_run();
                        } else {
                            frame.end_and();
                        }
                        self.pos += len;
                        want_operand = true;
                    } else {
                        want_operand = true;
                    }
                }
            }
        }
    }

    /// `true` when `at` is followed by optional whitespace and a `:`.
    fn colon_follows(&self, at: usize) -> bool {
        self.char_at(self.after_ws(at)) == Some(':')
    }

    /// Reads a `not` keyword at the cursor, if there is one, returning its offset.
    fn parse_negation_keyword(&mut self) -> Result<Option<usize>, Error> {
        let start = self.pos;
        let len = word_len(self.rest());
        match self.classify_word(start, len) {
            Word::Not => {
                self.enter(start..start + len)?;
                self.pos += len;
                Ok(Some(start))
            }
            Word::Keyword => Err(Error::new(
                start..start + len,
                ErrorKind::UnexpectedKeyword {
                    found: self.src[start..start + len].to_string(),
                    expected: Expected::Item,
                },
            )),
            _ => Ok(None),
        }
    }

    /// Decides what the word `src[start..start + len]` at the start of a unary is (see the
    /// disambiguation rules in the grammar and [`classify_word`]).
    fn classify_word(&self, start: usize, len: usize) -> Word {
        classify_word(&self.src[start..start + len], &self.src[start + len..])
    }

    /// One item that is not a parenthesised group. Returns it and whether it may join a same-key
    /// group of its run.
    ///
    /// `item = tuple | field | phrase | text`
    fn parse_item(&mut self) -> Result<(Expr, bool), Error> {
        let start = self.pos;
        match self.peek() {
            Some('"') => {
                let (text, end) = delimited(self.src, start, '"')?;
                let span = start..end;
                if text.is_empty() {
                    return Err(Error::new(span, ErrorKind::EmptyPhrase));
                }
                self.count_item(&span)?;
                self.pos = end;
                return Ok((
                    Expr {
                        kind: ExprKind::Phrase(text),
                        span,
                    },
                    false,
                ));
            }
            Some(c) if !crate::lexeme::is_word_char(c) => {
                return Err(self.unexpected_here(Expected::Item));
            }
            None => return Err(self.unexpected_here(Expected::Item)),
            Some(_) => {}
        }
        let len = word_len(self.rest());
        let word_span = start..start + len;
        let expr = match self.classify_word(start, len) {
            Word::Tuple => self.parse_tuple(word_span)?,
            Word::Field => self.parse_field(word_span)?,
            Word::Not | Word::Keyword => return Err(self.unexpected_here(Expected::Item)),
            Word::Text => {
                let word = &self.src[word_span.clone()];
                if let Some(tuple) = catalogue::tuple(word) {
                    if self.char_at(self.after_ws(word_span.end)) == Some('(') {
                        return Err(Error::new(
                            word_span,
                            ErrorKind::SpaceBeforeTupleParen {
                                name: tuple.name.to_string(),
                            },
                        ));
                    }
                }
                self.pos = word_span.end;
                Expr {
                    kind: ExprKind::Text(word.to_string()),
                    span: word_span,
                }
            }
        };
        self.count_item(&expr.span)?;
        // Each further value of one key is an item too: `loginContains: a, b, …` costs a lookup
        // per value, exactly like `a or b or …` does.
        if let ExprKind::Field(field) = &expr.kind {
            for value in field.values.iter().skip(1) {
                self.count_item(&value.span)?;
            }
        }
        Ok((expr, true))
    }

    /// `field = word ws ":" ws value_list` — the word is a catalogue key (aliases folded).
    fn parse_field(&mut self, word_span: Span) -> Result<Expr, Error> {
        let written = &self.src[word_span.clone()];
        let Some(normalized) = catalogue::field_key(written) else {
            let spellings = catalogue::field_key_spellings();
            return Err(Error::new(
                word_span,
                ErrorKind::UnknownKey {
                    found: written.to_string(),
                    suggestion: catalogue::suggest(written, &spellings).map(str::to_string),
                },
            ));
        };
        let key = Name {
            written: written.to_string(),
            normalized: normalized.to_string(),
            span: word_span.clone(),
        };
        let colon = self.after_ws(word_span.end);
        self.pos = colon + 1;
        let values = self.parse_value_list(colon..colon + 1, ListContext::Field)?;
        let end = values.last().map_or(colon + 1, |v| v.span.end);
        Ok(Expr {
            kind: ExprKind::Field(Field { key, values }),
            span: word_span.start..end,
        })
    }

    /// `tuple = word "(" ws argument { ws [ "," ws ] argument } ws ")"`
    fn parse_tuple(&mut self, word_span: Span) -> Result<Expr, Error> {
        let written = &self.src[word_span.clone()];
        let Some(info) = catalogue::tuple(written) else {
            return Err(Error::new(
                word_span,
                ErrorKind::UnknownTuple {
                    found: written.to_string(),
                    suggestion: catalogue::suggest(written, &catalogue::tuple_names())
                        .map(str::to_string),
                },
            ));
        };
        let name = Name {
            written: written.to_string(),
            normalized: info.name.to_string(),
            span: word_span.clone(),
        };
        let open = word_span.end;
        self.pos = open + 1;
        let mut args: Vec<Field> = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => {
                    return Err(Error::new(
                        word_span.start..open + 1,
                        ErrorKind::UnclosedParen,
                    ))
                }
                Some(')') if args.is_empty() => {
                    return Err(Error::new(
                        word_span.start..self.pos + 1,
                        ErrorKind::EmptyTuple {
                            name: info.name.to_string(),
                        },
                    ))
                }
                Some(')') => {
                    self.pos += 1;
                    break;
                }
                Some(',') if !args.is_empty() => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(_) => {}
            }
            let arg = self.parse_argument(info, &args)?;
            args.push(arg);
        }
        Ok(Expr {
            kind: ExprKind::Tuple(Tuple { name, args }),
            span: word_span.start..self.pos,
        })
    }

    /// `argument = word ws ":" ws value_list` — the word is an argument of the tuple, its slot not
    /// yet taken.
    fn parse_argument(
        &mut self,
        info: &'static TupleInfo,
        previous: &[Field],
    ) -> Result<Field, Error> {
        let start = self.pos;
        let len = word_len(self.rest());
        if len == 0 {
            return Err(self.unexpected_here(Expected::Argument));
        }
        let span = start..start + len;
        let written = &self.src[span.clone()];
        let colon = self.after_ws(span.end);
        if self.char_at(colon) != Some(':') {
            self.pos = colon;
            return Err(self.unexpected_here(Expected::Colon));
        }
        let Some(normalized) = catalogue::tuple_argument(info, written) else {
            return Err(Error::new(
                span,
                ErrorKind::UnknownArgument {
                    tuple: info.name.to_string(),
                    found: written.to_string(),
                    suggestion: catalogue::suggest(written, info.arguments).map(str::to_string),
                },
            ));
        };
        let slot = catalogue::argument_slot(normalized);
        if previous
            .iter()
            .any(|f| catalogue::argument_slot(&f.key.normalized) == slot)
        {
            return Err(Error::new(
                span,
                ErrorKind::DuplicateArgument {
                    tuple: info.name.to_string(),
                    argument: normalized.to_string(),
                },
            ));
        }
        let scope_clash =
            |a: &str, b: &str| normalized == a && previous.iter().any(|f| f.key.normalized == b);
        if scope_clash("project", "organization") || scope_clash("organization", "project") {
            return Err(Error::new(span, ErrorKind::ProjectWithOrganization));
        }
        self.pos = colon + 1;
        let values = self.parse_value_list(colon..colon + 1, ListContext::Argument(info))?;
        Ok(Field {
            key: Name {
                written: written.to_string(),
                normalized: normalized.to_string(),
                span,
            },
            values,
        })
    }

    /// `value_list = value { ws "," ws value }`
    fn parse_value_list(&mut self, after: Span, context: ListContext) -> Result<Vec<Value>, Error> {
        let mut values = vec![self.parse_value(after)?];
        loop {
            let comma = self.after_ws(self.pos);
            if self.char_at(comma) != Some(',') {
                return Ok(values);
            }
            let next = self.after_ws(comma + 1);
            if let Some(key_end) = self.key_after_comma(next, context) {
                return match context {
                    ListContext::Field => {
                        let key = self.src[next..next + word_len(&self.src[next..])].to_string();
                        Err(Error::new(
                            comma..key_end,
                            ErrorKind::CommaBeforeKey { key },
                        ))
                    }
                    ListContext::Argument(_) => Ok(values),
                };
            }
            self.pos = comma + 1;
            values.push(self.parse_value(comma..comma + 1)?);
        }
    }

    /// After a comma: does a key (or argument) start at `at`? Returns the end of its `:` if so.
    /// A known name followed by `:` is always a key; an unknown one only when it cannot be read as a
    /// bare value (a space before the `:`, or nothing bare after it).
    fn key_after_comma(&self, at: usize, context: ListContext) -> Option<usize> {
        let len = word_len(&self.src[at..]);
        if len == 0 {
            return None;
        }
        let word = &self.src[at..at + len];
        let colon = self.after_ws(at + len);
        if self.char_at(colon) != Some(':') {
            return None;
        }
        let known = match context {
            ListContext::Field => catalogue::field_key(word).is_some(),
            ListContext::Argument(info) => catalogue::tuple_argument(info, word).is_some(),
        };
        let spaced = colon > at + len;
        let nothing_bare_after = !self.char_at(colon + 1).is_some_and(is_bare_char);
        (known || spaced || nothing_bare_after).then_some(colon + 1)
    }

    /// `value = single [ ws ".." ws single ]` — a bare `*` as either end is an open bound.
    fn parse_value(&mut self, after: Span) -> Result<Value, Error> {
        self.skip_ws();
        let low = self.parse_single(&after)?;
        let dots = self.after_ws(self.pos);
        if !self.src[dots..].starts_with("..") {
            return Ok(Value {
                span: low.span.clone(),
                kind: ValueKind::Single(low),
            });
        }
        self.pos = dots + 2;
        self.skip_ws();
        let high = self.parse_single(&(dots..dots + 2))?;
        let span = low.span.start..high.span.end;
        Ok(Value {
            kind: ValueKind::Range(bound(low), bound(high)),
            span,
        })
    }

    /// `single = "{" braced "}" | quoted | bare`
    fn parse_single(&mut self, after: &Span) -> Result<Atom, Error> {
        let start = self.pos;
        let missing = || {
            Error::new(
                after.clone(),
                ErrorKind::MissingValue {
                    after: self.src[after.clone()].to_string(),
                },
            )
        };
        let quoting = match self.peek() {
            None | Some(',' | ')') => return Err(missing()),
            Some(c @ ('{' | '"')) => {
                let close = if c == '{' { '}' } else { '"' };
                let (text, end) = delimited(self.src, start, close)?;
                if text.is_empty() {
                    return Err(Error::new(start..end, ErrorKind::EmptyValue));
                }
                self.pos = end;
                let quoting = if c == '{' {
                    Quoting::Braced
                } else {
                    Quoting::Quoted
                };
                return Ok(Atom {
                    text,
                    quoting,
                    span: start..end,
                });
            }
            Some('(' | '}') => return Err(self.unexpected_here(Expected::Value)),
            Some(_) => Quoting::Bare,
        };
        let len = bare_value_len(self.rest());
        if len == 0 {
            return Err(missing());
        }
        let text = &self.src[start..start + len];
        if text.ends_with(':') {
            return Err(Error::new(
                start..start + len,
                ErrorKind::ValueEndsWithColon {
                    value: text.to_string(),
                },
            ));
        }
        self.pos = start + len;
        Ok(Atom {
            text: text.to_string(),
            quoting,
            span: start..start + len,
        })
    }
}

/// A range end: a bare `*` is open; `{*}` or `"*"` is the value `*`.
fn bound(atom: Atom) -> Bound {
    if atom.quoting == Quoting::Bare && atom.text == "*" {
        Bound::Open
    } else {
        Bound::Value(atom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(text: &str) -> Expr {
        match parse_query(text) {
            Ok(Query {
                expr: Some(expr), ..
            }) => expr,
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    /// Runs are grouped pairwise up to [`LINEAR_RUN`] items and through a map beyond: both ways
    /// must give Hub's grouping (same key → `or`, groups in order of first appearance).
    #[test]
    fn long_and_short_runs_group_alike() {
        for items in [2, 3, LINEAR_RUN, LINEAR_RUN + 1, 60] {
            let keys = ["login", "is", "name", "is"];
            let values = ["a", "admin", "b", "Admin"];
            let text: Vec<String> = (0..items)
                .map(|i| {
                    format!(
                        "{}: {}{}",
                        keys[i % 4],
                        values[i % 4],
                        if i % 4 == 1 || i % 4 == 3 {
                            String::new()
                        } else {
                            i.to_string()
                        }
                    )
                })
                .collect();
            let printed = expr(&text.join(" ")).to_string();
            // `is: admin` and `is: Admin` fold alike, so they share a group; logins and names
            // form one group each.
            let mut groups: Vec<Vec<String>> = Vec::new();
            let mut order: Vec<&str> = Vec::new();
            for (i, item) in text.iter().enumerate() {
                let group = match i % 4 {
                    0 => "login",
                    2 => "name",
                    _ => "is",
                };
                match order.iter().position(|g| *g == group) {
                    Some(at) => groups[at].push(item.clone()),
                    None => {
                        order.push(group);
                        groups.push(vec![item.clone()]);
                    }
                }
            }
            let expected = expr(
                &groups
                    .iter()
                    .map(|g| format!("({})", g.join(" or ")))
                    .collect::<Vec<_>>()
                    .join(" and "),
            );
            assert_eq!(expr(&text.join(" ")), expected, "{items} items: {printed}");
        }
    }

    #[test]
    fn names_keep_what_was_written_and_where() {
        let ExprKind::Field(field) = expr("  UserName : {Darth  Vader}").kind else {
            panic!("not a field");
        };
        assert_eq!(field.key.written, "UserName");
        assert_eq!(field.key.normalized, "login");
        assert_eq!(field.key.span, 2..10);
        let ValueKind::Single(atom) = &field.values[0].kind else {
            panic!("not a single value");
        };
        assert_eq!(
            (atom.text.as_str(), atom.quoting, atom.span.clone()),
            ("Darth  Vader", Quoting::Braced, 13..27)
        );
    }

    #[test]
    fn group_and_negation_spans_cover_what_was_written() {
        let parsed = expr("-(login: a or login: b)");
        assert_eq!(parsed.span, 0..23);
        let ExprKind::Not(inner) = parsed.kind else {
            panic!("not a negation");
        };
        assert_eq!(inner.span, 1..23);
        assert_eq!(expr("not  vader").span, 0..10);
    }

    #[test]
    fn ranges_read_open_bounds_and_tight_dots() {
        let ExprKind::Field(field) = expr("lastAccess: 2024..*, {*} .. \"*\"").kind else {
            panic!("not a field");
        };
        assert!(
            matches!(&field.values[0].kind, ValueKind::Range(Bound::Value(a), Bound::Open) if a.text == "2024")
        );
        assert!(
            matches!(&field.values[1].kind, ValueKind::Range(Bound::Value(a), Bound::Value(b)) if a.text == "*" && b.text == "*")
        );
        assert_eq!(field.values[0].span, 12..19);
    }

    #[test]
    fn tuple_arguments_keep_their_own_names() {
        let ExprKind::Tuple(tuple) = expr("Access(PROJECT: DS role: Dev)").kind else {
            panic!("not a tuple");
        };
        let names: Vec<&str> = tuple
            .args
            .iter()
            .map(|a| a.key.normalized.as_str())
            .collect();
        assert_eq!(names, ["project", "role"]);
        assert_eq!(tuple.name.written, "Access");
    }
}
