//! Precedence and juxtaposition (spec "Grammar"): `not`/`-` → juxtaposition → `and` → `or`, and
//! Hub's grouping rule inside a juxtaposition run.

use userql_syntax::ast::{ExprKind, Query};
use userql_syntax::parse_query;

fn parse(text: &str) -> Query {
    match parse_query(text) {
        Ok(query) => query,
        Err(error) => panic!("{text:?} should parse:\n{}", error.render(text)),
    }
}

fn same(a: &str, b: &str) {
    assert_eq!(parse(a), parse(b), "{a:?} should mean {b:?}");
}

fn canonical(text: &str) -> String {
    parse(text).to_string()
}

#[test]
fn juxtaposition_binds_tighter_than_or() {
    same(
        "login:1 group:2 group:3 or team:4",
        "(login:1 and (group:2 or group:3)) or team:4",
    );
}

#[test]
fn juxtaposition_same_key_is_or_and_different_keys_and() {
    same(
        "authModule: Google group: Stormtroopers group: Ewoks",
        "authModule: Google and (group: Stormtroopers or group: Ewoks)",
    );
    same(
        "authModule: Google group: Stormtroopers, Ewoks",
        "authModule: Google and group: Stormtroopers, Ewoks",
    );
}

#[test]
fn groups_follow_first_appearance() {
    assert_eq!(
        canonical("login: a group: g login: b"),
        "(login: a or login: b) and group: g"
    );
}

#[test]
fn aliases_share_a_group() {
    assert_eq!(canonical("username: a login: b"), "login: a or login: b");
    assert_eq!(
        canonical("authMethod: x AUTHMODULE: y"),
        "authModule: x or authModule: y"
    );
}

#[test]
fn is_and_has_group_by_value() {
    assert_eq!(
        canonical("is: admin is: external"),
        "is: admin and is: external"
    );
    assert_eq!(canonical("is: admin IS: Admin"), "is: admin or is: Admin");
    assert_eq!(
        canonical("has: {refresh  token} has: {Refresh token}"),
        "has: {refresh  token} or has: {Refresh token}"
    );
}

#[test]
fn texts_phrases_negations_and_groups_are_groups_of_their_own() {
    assert_eq!(canonical("vader yoda"), "vader and yoda");
    assert_eq!(
        canonical("login: a -login: b login: c"),
        "(login: a or login: c) and not login: b"
    );
    assert_eq!(canonical("(login: a) login: b"), "login: a and login: b");
    assert_eq!(canonical("vader (login: x)"), "vader and login: x");
    assert_eq!(canonical("\"a b\" \"a b\""), "\"a b\" and \"a b\"");
}

#[test]
fn same_tuple_name_groups() {
    assert_eq!(
        canonical("access(project: a) access(project: b) in: g"),
        "(access(project: a) or access(project: b)) and in: g"
    );
}

#[test]
fn a_juxtaposition_run_is_flattened_into_an_and_chain() {
    let query = parse("login: a group: b and team: c");
    match query.expr.map(|e| e.kind) {
        Some(ExprKind::And(operands)) => assert_eq!(operands.len(), 3),
        other => panic!("expected a flat And, got {other:?}"),
    }
    same(
        "login: a group: b and team: c",
        "login: a and group: b and team: c",
    );
}

#[test]
fn a_parenthesised_and_is_not_flattened() {
    assert_eq!(
        canonical("(login: a group: b) and team: c"),
        "(login: a and group: b) and team: c"
    );
    assert_ne!(
        parse("(login: a and group: b) and team: c"),
        parse("login: a and group: b and team: c")
    );
}

#[test]
fn or_chains_are_flat_but_parenthesised_ors_nest() {
    match parse("login: a or login: b or login: c")
        .expr
        .map(|e| e.kind)
    {
        Some(ExprKind::Or(operands)) => assert_eq!(operands.len(), 3),
        other => panic!("expected a flat Or, got {other:?}"),
    }
    assert_eq!(
        canonical("(login: a or login: b) or login: c"),
        "(login: a or login: b) or login: c"
    );
    assert_eq!(
        canonical("login: a login: b or login: c"),
        "(login: a or login: b) or login: c"
    );
}

#[test]
fn and_binds_tighter_than_or() {
    same(
        "login: a and group: b or team: c",
        "(login: a and group: b) or team: c",
    );
    same(
        "login: a or group: b and team: c",
        "login: a or (group: b and team: c)",
    );
}

#[test]
fn not_applies_to_one_item() {
    same("not login: a group: b", "(not login: a) group: b");
    same("not login: a and group: b", "(not login: a) and group: b");
    assert_eq!(
        canonical("not (login: a or group: b)"),
        "not (login: a or group: b)"
    );
    assert_eq!(canonical("-login: a"), "not login: a");
    same("-(login: a)", "not login: a");
    assert_eq!(canonical("not not -x"), "not not not x");
}

#[test]
fn keywords_are_case_insensitive_whole_words() {
    same(
        "login: a AND group: b Or NOT team: c",
        "login: a and group: b or not team: c",
    );
    assert_eq!(
        canonical("android order notion"),
        "android and order and notion"
    );
}

#[test]
fn single_operands_never_make_a_node() {
    assert_eq!(canonical("((login: a))"), "login: a");
    assert!(matches!(
        parse("(vader)").expr.map(|e| e.kind),
        Some(ExprKind::Text(_))
    ));
}

#[test]
fn the_empty_query_has_no_expression() {
    assert_eq!(parse("").expr, None);
    assert_eq!(parse("  \t\n").expr, None);
}
