//! Robustness: no input makes the parser panic, and every span it reports (in an error or in the
//! tree) is a valid byte range of the input on char boundaries.

use proptest::prelude::*;
use userql_syntax::ast::{Bound, Expr, ExprKind, Field, Query, ValueKind};
use userql_syntax::{parse_query, parse_query_with, Limits};

const VALID: &str = include_str!("../../../grammar/corpus/valid.txt");

fn corpus() -> Vec<String> {
    VALID
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn check_span(text: &str, span: &std::ops::Range<usize>) -> Result<(), TestCaseError> {
    prop_assert!(
        span.start <= span.end && span.end <= text.len(),
        "span {span:?} of {text:?}"
    );
    prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
    Ok(())
}

fn check_field(text: &str, field: &Field) -> Result<(), TestCaseError> {
    check_span(text, &field.key.span)?;
    for value in &field.values {
        check_span(text, &value.span)?;
        match &value.kind {
            ValueKind::Single(atom) => check_span(text, &atom.span)?,
            ValueKind::Range(low, high) => {
                for bound in [low, high] {
                    if let Bound::Value(atom) = bound {
                        check_span(text, &atom.span)?;
                    }
                }
            }
        }
    }
    Ok(())
}

fn check_expr(text: &str, expr: &Expr) -> Result<(), TestCaseError> {
    check_span(text, &expr.span)?;
    match &expr.kind {
        ExprKind::Or(operands) | ExprKind::And(operands) => {
            prop_assert!(operands.len() >= 2);
            for operand in operands {
                check_expr(text, operand)?;
            }
        }
        ExprKind::Not(inner) => check_expr(text, inner)?,
        ExprKind::Field(field) => check_field(text, field)?,
        ExprKind::Tuple(tuple) => {
            check_span(text, &tuple.name.span)?;
            for arg in &tuple.args {
                check_field(text, arg)?;
            }
        }
        ExprKind::Text(_) | ExprKind::Phrase(_) => {}
    }
    Ok(())
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let limits = Limits {
        max_len: 4096,
        max_depth: 16,
        max_items: 64,
    };
    match parse_query_with(text, &limits) {
        Ok(Query { expr, span }) => {
            prop_assert_eq!(span, 0..text.len());
            if let Some(expr) = expr {
                check_expr(text, &expr)?;
            }
        }
        Err(error) => {
            check_span(text, &error.span)?;
            prop_assert!(!error.render(text).is_empty());
        }
    }
    Ok(())
}

/// Strings made mostly of the grammar's own characters, so they get past the first token.
fn grammar_soup() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "(",
        ")",
        "{",
        "}",
        "\"",
        "\\",
        ",",
        ":",
        "..",
        "*",
        "-",
        " ",
        "\t",
        "and",
        "or",
        "not",
        "login",
        "is",
        "access(",
        "with",
        "project",
        "é",
        "Ж",
        "a",
        "1",
        "\u{a0}",
        "lastAccess",
        "🦀",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn grammar_soup_never_panics(text in grammar_soup()) {
        check(&text)?;
    }

    #[test]
    fn mutated_corpus_entries_never_panic(
        index in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
        cut in 0usize..6,
        insert in prop::sample::select(vec!["", "(", ")", "{", "}", "\"", "\\", ",", ":", "..", "-", " ", "not ", "é"]),
    ) {
        let entries = corpus();
        let entry = &entries[index.index(entries.len())];
        let chars: Vec<char> = entry.chars().collect();
        let at = position.index(chars.len() + 1);
        let end = (at + cut).min(chars.len());
        let mutated: String = chars[..at].iter().chain(insert.chars().collect::<Vec<_>>().iter()).chain(chars[end..].iter()).collect();
        check(&mutated)?;
    }
}

#[test]
fn default_limits_accept_the_corpus_with_valid_spans() {
    for entry in corpus() {
        let parsed = parse_query(&entry);
        assert!(parsed.is_ok(), "{entry:?}");
    }
}
