//! Limits (spec "Grammar", last rule): one past each limit is an error, never a crash; hostile
//! megabyte inputs return (an error, or a result when the limits allow it) without overflowing the
//! stack. No timing assertions: the machine is shared.

use userql_syntax::ast::ExprKind;
use userql_syntax::{parse_query, parse_query_with, ErrorKind, Limits};

const MIB: usize = 1024 * 1024;

fn nested(depth: usize) -> String {
    format!("{}login: x{}", "(".repeat(depth), ")".repeat(depth))
}

fn kind(text: &str, limits: &Limits) -> Option<ErrorKind> {
    parse_query_with(text, limits).err().map(|e| e.kind)
}

#[test]
fn the_defaults_are_the_spec_values() {
    let limits = Limits::default();
    assert_eq!(
        (limits.max_len, limits.max_depth, limits.max_items),
        (16 * 1024, 64, 1024)
    );
}

#[test]
fn one_byte_past_the_length_limit_is_an_error() {
    let limits = Limits::default();
    let at_limit = format!("login: {}", "a".repeat(limits.max_len - 7));
    assert_eq!(at_limit.len(), limits.max_len);
    assert!(parse_query(&at_limit).is_ok());
    let past = format!("{at_limit}a");
    assert_eq!(
        kind(&past, &limits),
        Some(ErrorKind::TooLong {
            limit: limits.max_len,
            len: limits.max_len + 1
        })
    );
}

#[test]
fn the_length_error_span_is_on_a_char_boundary() {
    let text = "é".repeat(9000);
    let error = parse_query(&text).err().map(|e| e.span);
    let span = error.unwrap_or(0..0);
    assert!(text.is_char_boundary(span.start) && span.end == text.len());
}

#[test]
fn sixty_deep_nesting_parses() {
    let query = parse_query(&nested(60));
    assert!(matches!(
        query.map(|q| q.expr.map(|e| e.kind)),
        Ok(Some(ExprKind::Field(_)))
    ));
    assert!(parse_query(&nested(64)).is_ok());
}

#[test]
fn one_level_past_the_depth_limit_is_an_error() {
    let limits = Limits::default();
    assert_eq!(
        kind(&nested(65), &limits),
        Some(ErrorKind::TooDeep { limit: 64 })
    );
    let nots = format!("{}x", "not ".repeat(65));
    assert_eq!(kind(&nots, &limits), Some(ErrorKind::TooDeep { limit: 64 }));
    assert!(parse_query(&format!("{}x", "not ".repeat(64))).is_ok());
    let mixed = format!("{}x{}", "-(".repeat(33), ")".repeat(33));
    assert_eq!(
        kind(&mixed, &limits),
        Some(ErrorKind::TooDeep { limit: 64 })
    );
    assert!(parse_query(&format!("{}x{}", "-(".repeat(32), ")".repeat(32))).is_ok());
}

#[test]
fn one_item_past_the_item_limit_is_an_error() {
    let limits = Limits::default();
    let items = |n: usize| vec!["a"; n].join(" ");
    assert!(parse_query(&items(1024)).is_ok());
    assert_eq!(
        kind(&items(1025), &limits),
        Some(ErrorKind::TooManyItems { limit: 1024 })
    );
    let mixed = format!("{} \"p\"", vec!["login: a access(with: r)"; 512].join(" "));
    assert_eq!(
        kind(&mixed, &limits),
        Some(ErrorKind::TooManyItems { limit: 1024 })
    );
}

fn hostile_inputs() -> Vec<String> {
    vec![
        "(".repeat(MIB),
        format!("{}x", "not ".repeat(MIB / 4)),
        "-".repeat(MIB),
        vec!["a"; MIB / 5].join(" or "),
        vec!["login: a"; MIB / 9].join(" "),
        format!("login: {}", vec!["a"; MIB / 3].join(", ")),
        format!("{{{}", "\\}".repeat(MIB / 2)),
    ]
}

#[test]
fn megabyte_inputs_fail_fast_on_the_length_limit() {
    for input in hostile_inputs() {
        assert!(matches!(
            kind(&input, &Limits::default()),
            Some(ErrorKind::TooLong { .. })
        ));
    }
}

#[test]
fn megabyte_inputs_with_raised_limits_return_without_overflow() {
    let raised = Limits {
        max_len: 2 * MIB,
        max_depth: 64,
        max_items: MIB,
    };
    let results: Vec<_> = hostile_inputs()
        .iter()
        .map(|input| kind(input, &raised))
        .collect();
    assert!(matches!(results[0], Some(ErrorKind::TooDeep { .. })));
    assert!(matches!(results[1], Some(ErrorKind::TooDeep { .. })));
    assert!(matches!(results[2], Some(ErrorKind::TooDeep { .. })));
    assert_eq!(results[3], None);
    assert_eq!(results[4], None);
    assert_eq!(results[5], None);
    assert_eq!(
        results[6],
        Some(ErrorKind::UnexpectedChar {
            found: '{',
            expected: userql_syntax::Expected::Item
        })
    );
}

#[test]
fn nesting_is_stack_safe_even_with_an_unbounded_depth_limit() {
    // Parentheses leave no node, so a megabyte of them is a one-node tree: nothing recursive remains.
    let limits = Limits {
        max_len: 2 * MIB,
        max_depth: usize::MAX,
        max_items: 10,
    };
    let deep = nested(MIB / 2 - 8);
    let query = parse_query_with(&deep, &limits);
    assert!(matches!(
        query.map(|q| q.expr.map(|e| e.kind)),
        Ok(Some(ExprKind::Field(_)))
    ));
    let unclosed = "(".repeat(MIB);
    assert_eq!(kind(&unclosed, &limits), Some(ErrorKind::UnclosedParen));
}
