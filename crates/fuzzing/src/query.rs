//! Target `hub_query`: the Hub query parser, its spans and the canonical print round trip.

use userql_syntax::ast::{Bound, Expr, ExprKind, Field, ValueKind};
use userql_syntax::{parse_query, parse_query_with, Limits};

use crate::checks::span_in;

/// Limits for re-parsing the canonical print. Printing may add parentheses (an `Or` operand of an
/// `And`), canonical key spellings and braces, so a query at the default limits can print slightly
/// longer or deeper; that is not a bug, so the round trip gets room. The depth stays small enough
/// for the recursive passes over the tree.
const REPARSE: Limits = Limits {
    max_len: 1 << 20,
    max_depth: 256,
    max_items: 1 << 16,
};

/// Parses the input as a Hub query. On success: spans slice the input, and
/// `parse(print(ast)) == ast` with the print a fixed point. On failure: the error's span slices the
/// input and its rendering does not panic.
pub fn hub_query(data: &[u8]) {
    let text = crate::text(data);
    match parse_query(&text) {
        Ok(query) => {
            assert_eq!(query.span, 0..text.len(), "query span of {text:?}");
            if let Some(expr) = &query.expr {
                expr_spans(&text, expr);
            }
            let printed = query.to_string();
            let reparsed = parse_query_with(&printed, &REPARSE).unwrap_or_else(|e| {
                panic!("canonical print {printed:?} of {text:?} does not parse: {e}")
            });
            assert_eq!(
                reparsed, query,
                "{text:?} printed as {printed:?} parses to another tree"
            );
            assert_eq!(
                reparsed.to_string(),
                printed,
                "print of {text:?} is not a fixed point"
            );
        }
        Err(error) => {
            span_in(&text, &error.span, "error");
            let _ = error.render(&text);
        }
    }
}

fn expr_spans(text: &str, expr: &Expr) {
    span_in(text, &expr.span, "expression");
    match &expr.kind {
        ExprKind::Or(operands) | ExprKind::And(operands) => {
            assert!(
                operands.len() >= 2,
                "a chain of fewer than two operands in {text:?}"
            );
            for operand in operands {
                expr_spans(text, operand);
            }
        }
        ExprKind::Not(inner) => expr_spans(text, inner),
        ExprKind::Field(field) => field_spans(text, field),
        ExprKind::Tuple(tuple) => {
            span_in(text, &tuple.name.span, "tuple name");
            for arg in &tuple.args {
                field_spans(text, arg);
            }
        }
        ExprKind::Text(_) | ExprKind::Phrase(_) => {}
    }
}

fn field_spans(text: &str, field: &Field) {
    span_in(text, &field.key.span, "key");
    for value in &field.values {
        span_in(text, &value.span, "value");
        match &value.kind {
            ValueKind::Single(atom) => span_in(text, &atom.span, "atom"),
            ValueKind::Range(low, high) => {
                for bound in [low, high] {
                    if let Bound::Value(atom) = bound {
                        span_in(text, &atom.span, "range bound");
                    }
                }
            }
        }
    }
}
