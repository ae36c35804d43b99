//! The abstract syntax tree of a Hub query: exactly what was written, with byte spans.
//!
//! The tree is *logical*: parentheses leave no node of their own (their span is kept on the inner
//! node), a run of juxtaposed items is already grouped by Hub's rule (same key → `Or`, groups and
//! text items → `And`), and `-x` is the same `Not` as `not x`. What stays "as written" is recorded
//! beside the normalised form: key names ([`Name::written`]), value quoting ([`Quoting`]) and the
//! spans — all of which are left out of equality, so two queries that mean the same thing with the
//! same structure compare equal (`assert_eq!(parse(a), parse(b))`).
//!
//! Why no `Paren` and no `Juxt` node: every later phase wants the logical structure, and the
//! canonical printer re-inserts exactly the parentheses that structure needs, so
//! `parse(print(ast)) == ast` holds for every tree.

use std::fmt;
use std::ops::Range;

/// A byte range into the query text.
pub type Span = Range<usize>;

/// A whole query. `expr` is `None` for the empty query, which matches every user.
#[derive(Debug, Clone)]
pub struct Query {
    /// The expression, or `None` when the query is empty or only whitespace.
    pub expr: Option<Expr>,
    /// The span of the whole input.
    pub span: Span,
}

impl PartialEq for Query {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

/// One node of the expression tree.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Where it was written (for a parenthesised expression: including the parentheses).
    pub span: Span,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

impl Expr {
    /// Builds a node with an empty span (for trees made by code: dialects, generators, tests).
    pub fn new(kind: ExprKind) -> Self {
        Expr { kind, span: 0..0 }
    }
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// Any operand matches. At least two operands; a chain `a or b or c` is one `Or` of three, while
    /// `(a or b) or c` keeps its nesting.
    Or(Vec<Expr>),
    /// Every operand matches: an explicit `and` chain, or the groups of a juxtaposition run.
    /// At least two operands.
    And(Vec<Expr>),
    /// The operand does not match (`not x` or `-x`).
    Not(Box<Expr>),
    /// `key: value, value, …`
    Field(Field),
    /// `name(arg: value, arg: value)`
    Tuple(Tuple),
    /// Free text: a bare word.
    Text(String),
    /// Free text: a `"quoted phrase"` (unescaped content).
    Phrase(String),
}

/// A key or tuple/argument name, kept as written and normalised.
#[derive(Debug, Clone)]
pub struct Name {
    /// Exactly as written (`LastAccess`, `username`).
    pub written: String,
    /// The canonical catalogue spelling after case folding and aliasing (`lastAccess`, `login`).
    pub normalized: String,
    /// Where it was written.
    pub span: Span,
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}

impl Name {
    /// A name made by code: written as its canonical spelling, empty span.
    pub fn canonical(normalized: &str) -> Self {
        Name {
            written: normalized.to_string(),
            normalized: normalized.to_string(),
            span: 0..0,
        }
    }
}

/// `key: v1, v2, …` — the values are OR-ed.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The key.
    pub key: Name,
    /// One or more values.
    pub values: Vec<Value>,
}

/// `name(arg: v, arg: v)` — a tuple such as `access(…)`, `lastAccess(…)`, `identity(…)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuple {
    /// The tuple's name.
    pub name: Name,
    /// Its arguments, in the order written (each name at most once).
    pub args: Vec<Field>,
}

/// One value of a value list.
#[derive(Debug, Clone)]
pub struct Value {
    /// A single value or a range.
    pub kind: ValueKind,
    /// Where it was written.
    pub span: Span,
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

/// A single value or a range.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// `v`
    Single(Atom),
    /// `a .. b`; either end may be open (`*`).
    Range(Bound, Bound),
}

/// One end of a range.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// A bare `*`: unbounded.
    Open,
    /// A value.
    Value(Atom),
}

/// A single value: its unescaped text plus how it was written.
#[derive(Debug, Clone)]
pub struct Atom {
    /// The unescaped text (`Death Star` for `{Death Star}`).
    pub text: String,
    /// How it was quoted.
    pub quoting: Quoting,
    /// Where it was written (including braces or quotes).
    pub span: Span,
}

impl PartialEq for Atom {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Atom {
    /// An atom made by code; the printer picks a quoting that round-trips.
    pub fn new(text: impl Into<String>) -> Self {
        Atom {
            text: text.into(),
            quoting: Quoting::Bare,
            span: 0..0,
        }
    }
}

/// How a value was written. Printing may choose another quoting when the text needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quoting {
    /// `value`
    Bare,
    /// `{value}`
    Braced,
    /// `"value"`
    Quoted,
}

impl fmt::Display for Quoting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Quoting::Bare => "bare",
            Quoting::Braced => "braced",
            Quoting::Quoted => "quoted",
        })
    }
}
