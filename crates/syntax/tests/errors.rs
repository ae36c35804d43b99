//! One snapshot of the rendered diagnostic for each [`ErrorKind`] the query parser and the option
//! parsers can produce, so message changes are reviewed.

use userql_syntax::{
    parse_fields, parse_order_by, parse_query, parse_query_with, parse_skip, parse_top, Error,
    Limits,
};

fn render(source: &str, result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Ok(value) => panic!("{source:?} should fail, got {value:?}"),
        Err(error) => format!("[{:?}]\n{}", error.span, error.render(source)),
    }
}

fn query(source: &str) -> String {
    render(source, parse_query(source))
}

macro_rules! snapshot {
    ($name:ident, $value:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), $value);
        }
    };
}

snapshot!(unexpected_char, query("login: a {b}"));
snapshot!(unexpected_keyword, query("login: a and or b"));
snapshot!(unexpected_end, query("login: a and"));
snapshot!(unclosed_paren, query("(login: a or login: b"));
snapshot!(unmatched_paren, query("login: a)"));
snapshot!(unclosed_brace, query("name: {Lisa Butler"));
snapshot!(unclosed_quote, query("name: \"Lisa Butler"));
snapshot!(bad_escape, query("name: {Lisa \\n Butler}"));
snapshot!(empty_parens, query("login: a and ()"));
snapshot!(empty_tuple, query("access()"));
snapshot!(missing_value, query("login:"));
snapshot!(empty_value, query("login: {}"));
snapshot!(empty_phrase, query("vader \"\""));
snapshot!(value_ends_with_colon, query("login: vader:"));
snapshot!(detached_minus, query("- login: vader"));
snapshot!(space_before_tuple_paren, query("access (project: DS)"));
snapshot!(unknown_key, query("lastAcess: 2024-01-01"));
snapshot!(unknown_key_without_suggestion, query("frobnicate: x"));
snapshot!(unknown_tuple, query("acces(project: DS)"));
snapshot!(unknown_argument, query("access(projet: DS)"));
snapshot!(
    duplicate_argument,
    query("access(with: Developer, role: Admin)")
);
snapshot!(
    project_with_organization,
    query("access(project: DS, organization: Empire)")
);
snapshot!(comma_before_key, query("login: a, login: b"));
snapshot!(too_long, {
    let source = "login: abcdefgh";
    render(
        source,
        parse_query_with(
            source,
            &Limits {
                max_len: 10,
                ..Limits::default()
            },
        ),
    )
});
snapshot!(too_deep, {
    let source = "((((login: a))))";
    render(
        source,
        parse_query_with(
            source,
            &Limits {
                max_depth: 3,
                ..Limits::default()
            },
        ),
    )
});
snapshot!(too_many_items, {
    let source = "a b c d";
    render(
        source,
        parse_query_with(
            source,
            &Limits {
                max_items: 3,
                ..Limits::default()
            },
        ),
    )
});
snapshot!(
    unknown_order_field,
    render("login, nmae:desc", parse_order_by("login, nmae:desc"))
);
snapshot!(
    bad_direction,
    render("login:up", parse_order_by("login:up"))
);
snapshot!(
    order_by_missing_comma,
    render("login name", parse_order_by("login name"))
);
snapshot!(
    fields_unclosed_paren,
    render("id,groups(id", parse_fields("id,groups(id"))
);
snapshot!(
    fields_empty_parens,
    render("id,groups()", parse_fields("id,groups()"))
);
snapshot!(invalid_number, render("ten", parse_top("ten")));
snapshot!(negative_skip, render("-5", parse_skip("-5")));
snapshot!(top_too_small, render("-2", parse_top("-2")));
