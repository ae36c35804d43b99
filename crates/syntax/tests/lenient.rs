//! The lenient scanner agrees with the strict parser on every valid query of the grammar corpus:
//! no token is an error, and every key, value and text item of the AST starts where a token of the
//! matching class starts. On every invalid query the scanner still runs to the end.

use userql_syntax::ast::{Bound, Expr, ExprKind, Value, ValueKind};
use userql_syntax::lenient::{scan, Class, Token};
use userql_syntax::parse_query;

const VALID: &str = include_str!("../../../grammar/corpus/valid.txt");
const INVALID: &str = include_str!("../../../grammar/corpus/invalid.txt");

fn entries(corpus: &str) -> impl Iterator<Item = &str> {
    corpus
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
}

/// (start, class) of every leaf the AST says was written.
fn leaves(query: &str, expr: &Expr, out: &mut Vec<(usize, Class)>) {
    match &expr.kind {
        ExprKind::Or(items) | ExprKind::And(items) => {
            items.iter().for_each(|e| leaves(query, e, out))
        }
        ExprKind::Not(inner) => leaves(query, inner, out),
        ExprKind::Field(field) => {
            out.push((field.key.span.start, Class::FieldName));
            field.values.iter().for_each(|v| value(v, out));
        }
        ExprKind::Tuple(tuple) => {
            out.push((tuple.name.span.start, Class::FieldName));
            for argument in &tuple.args {
                out.push((argument.key.span.start, Class::FieldName));
                argument.values.iter().for_each(|v| value(v, out));
            }
        }
        ExprKind::Text(_) | ExprKind::Phrase(_) => {
            // A parenthesised item's span includes its parentheses.
            let written = &query[expr.span.clone()];
            let inner = written.trim_start_matches(|c: char| c == '(' || c.is_whitespace());
            out.push((expr.span.start + written.len() - inner.len(), Class::Text));
        }
    }
}

fn value(value: &Value, out: &mut Vec<(usize, Class)>) {
    let atoms = match &value.kind {
        ValueKind::Single(atom) => vec![atom],
        ValueKind::Range(low, high) => [low, high]
            .into_iter()
            .filter_map(|bound| match bound {
                Bound::Value(atom) => Some(atom),
                Bound::Open => None,
            })
            .collect(),
    };
    out.extend(atoms.into_iter().map(|a| (a.span.start, Class::FieldValue)));
}

fn class_at(tokens: &[Token], start: usize) -> Option<Class> {
    tokens.iter().find(|t| t.start == start).map(|t| t.class)
}

#[test]
fn lenient_and_strict_agree_on_valid_queries() {
    let mut checked = 0;
    for query in entries(VALID) {
        let ast = parse_query(query).unwrap_or_else(|e| panic!("{query:?}: {e}"));
        let scanned = scan(query, query.len());
        let errors: Vec<&Token> = scanned
            .tokens
            .iter()
            .filter(|t| t.class == Class::Error)
            .collect();
        assert!(errors.is_empty(), "{query:?}: lenient errors {errors:?}");
        let mut expected = Vec::new();
        if let Some(expr) = &ast.expr {
            leaves(query, expr, &mut expected);
        }
        for (start, class) in expected {
            assert_eq!(
                class_at(&scanned.tokens, start),
                Some(class),
                "{query:?}: at byte {start} the parser has a {class:?}; tokens {:?}",
                scanned.tokens
            );
            checked += 1;
        }
    }
    assert!(checked > 300, "only {checked} leaves checked");
}

#[test]
fn lenient_scans_invalid_queries_to_the_end_without_panicking() {
    for query in entries(INVALID) {
        assert!(parse_query(query).is_err(), "{query:?} parses");
        for caret in (0..=query.len()).filter(|&c| query.is_char_boundary(c)) {
            let scanned = scan(query, caret);
            for token in &scanned.tokens {
                assert!(
                    token.start + token.length <= query.len(),
                    "{query:?}: {token:?}"
                );
            }
        }
    }
}
