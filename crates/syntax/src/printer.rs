//! The canonical printer: `Display` for the AST.
//!
//! Canonical form: lowercase keywords, canonical key spellings, `key: v1, v2`, `name(arg: v, arg: v)`,
//! `not x`, explicit `and`/`or` between every operand (never juxtaposition, so the parser's grouping
//! rule cannot regroup anything), and parentheses exactly where the structure needs them: an `Or`
//! inside an `And` or a `Not`, an `And` inside an `And` or a `Not`, an `Or` inside an `Or`. Values are
//! bare when the bare form reads back as the same text, otherwise braced with `\}` and `\\` escapes.
//! Contract: `parse(print(ast)) == ast` for every tree the parser can produce (see `tests/roundtrip.rs`).

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::{Atom, Bound, Expr, ExprKind, Field, Name, Query, Tuple, Value, ValueKind};
use crate::catalogue;
use crate::lexeme::{is_bare_char, word_len};

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.expr {
            Some(expr) => expr.fmt(f),
            None => Ok(()),
        }
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Or(operands) => write_chain(f, operands, " or ", |child| {
                matches!(child, ExprKind::Or(_))
            }),
            ExprKind::And(operands) => write_chain(f, operands, " and ", |child| {
                matches!(child, ExprKind::Or(_) | ExprKind::And(_))
            }),
            ExprKind::Not(inner) => {
                f.write_str("not ")?;
                write_operand(
                    f,
                    inner,
                    matches!(inner.kind, ExprKind::Or(_) | ExprKind::And(_)),
                )
            }
            ExprKind::Field(field) => field.fmt(f),
            ExprKind::Tuple(tuple) => tuple.fmt(f),
            ExprKind::Text(text) => f.write_str(text),
            ExprKind::Phrase(phrase) => write_escaped(f, phrase, '"', '"'),
        }
    }
}

fn write_chain(
    f: &mut Formatter<'_>,
    operands: &[Expr],
    separator: &str,
    needs_parens: fn(&ExprKind) -> bool,
) -> fmt::Result {
    for (index, operand) in operands.iter().enumerate() {
        if index > 0 {
            f.write_str(separator)?;
        }
        write_operand(f, operand, needs_parens(&operand.kind))?;
    }
    Ok(())
}

fn write_operand(f: &mut Formatter<'_>, expr: &Expr, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({expr})")
    } else {
        expr.fmt(f)
    }
}

impl Display for Name {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

impl Display for Field {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.key)?;
        for (index, value) in self.values.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            value.fmt(f)?;
        }
        Ok(())
    }
}

impl Display for Tuple {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        for (index, arg) in self.args.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            arg.fmt(f)?;
        }
        f.write_char(')')
    }
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ValueKind::Single(atom) => atom.fmt(f),
            ValueKind::Range(low, high) => write!(f, "{low} .. {high}"),
        }
    }
}

impl Display for Bound {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Open => f.write_char('*'),
            // A bare `*` would read back as an open bound.
            Bound::Value(atom) if atom.text == "*" => f.write_str("{*}"),
            Bound::Value(atom) => atom.fmt(f),
        }
    }
}

impl Display for Atom {
    /// Bare when that reads back as the same text, else braced. The empty text prints as `{}`, which
    /// the parser rejects (an empty value is an error), so the parser never produces one.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if is_bare_safe(&self.text) {
            f.write_str(&self.text)
        } else {
            write_escaped(f, &self.text, '{', '}')
        }
    }
}

/// `true` when `text` written bare in value position parses back as exactly `text`; otherwise the
/// printer (and query assist, when it inserts a value) writes it `{braced}`.
pub fn is_bare_safe(text: &str) -> bool {
    !text.is_empty()
        && text.chars().all(is_bare_char)
        && !text.contains("..")
        && !text.ends_with(':')
        && !looks_like_key(text)
}

/// `login:x` after a comma would be read as a new key; brace any value that starts with a known key
/// or argument name and a colon.
fn looks_like_key(text: &str) -> bool {
    let len = word_len(text);
    if !text[len..].starts_with(':') {
        return false;
    }
    let word = &text[..len];
    catalogue::field_key(word).is_some()
        || catalogue::TUPLES
            .iter()
            .any(|t| catalogue::tuple_argument(t, word).is_some())
}

fn write_escaped(f: &mut Formatter<'_>, text: &str, open: char, close: char) -> fmt::Result {
    f.write_char(open)?;
    for c in text.chars() {
        if c == close || c == '\\' {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char(close)
}
