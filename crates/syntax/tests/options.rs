//! Request options (spec "Request options"): `orderBy`, `fields`, `$skip`, `$top`.

use userql_syntax::{
    format_order_by, parse_fields, parse_order_by, parse_skip, parse_top, Direction, ErrorKind,
    OrderField, OrderKey, Top,
};

fn key(field: OrderField, direction: Direction) -> OrderKey {
    OrderKey { field, direction }
}

#[test]
fn order_by_reads_fields_directions_and_aliases() {
    assert_eq!(
        parse_order_by("login:desc, name"),
        Ok(vec![
            key(OrderField::Login, Direction::Desc),
            key(OrderField::Name, Direction::Asc)
        ])
    );
    assert_eq!(
        parse_order_by("USERNAME : ASC,creationTime desc,lastAccessTime,id:desc, email"),
        Ok(vec![
            key(OrderField::Login, Direction::Asc),
            key(OrderField::CreationTime, Direction::Desc),
            key(OrderField::LastAccessTime, Direction::Asc),
            key(OrderField::Id, Direction::Desc),
            key(OrderField::Email, Direction::Asc),
        ])
    );
    assert_eq!(parse_order_by(""), Ok(vec![]));
    assert_eq!(parse_order_by("   "), Ok(vec![]));
}

#[test]
fn order_by_rejects_unknown_fields_with_a_suggestion() {
    let error = parse_order_by("login, lastAccesTime").err();
    assert_eq!(
        error.map(|e| (e.span, e.kind)),
        Some((
            7..20,
            ErrorKind::UnknownOrderField {
                found: "lastAccesTime".into(),
                suggestion: Some("lastAccessTime".into())
            }
        ))
    );
    assert!(parse_order_by("login,").is_err());
    assert!(parse_order_by("login:").is_err());
    assert!(parse_order_by("login:sideways").is_err());
    assert!(parse_order_by("login name").is_err());
}

#[test]
fn order_by_display_round_trips() {
    for text in [
        "login:desc, name",
        "creationTime, id:desc",
        "USERNAME desc",
        "email",
    ] {
        let keys = parse_order_by(text).unwrap_or_default();
        let printed = format_order_by(&keys);
        assert_eq!(
            parse_order_by(&printed),
            Ok(keys.clone()),
            "{text:?} → {printed:?}"
        );
    }
    assert_eq!(
        format_order_by(&parse_order_by("username DESC,name").unwrap_or_default()),
        "login:desc, name"
    );
}

#[test]
fn fields_nest_and_expand_slash_paths() {
    let selection =
        parse_fields("id,login,groups(id,name),profile/email/email").unwrap_or_default();
    assert_eq!(
        selection.to_string(),
        "id,login,groups(id,name),profile(email(email))"
    );
    let email = selection
        .get("profile")
        .and_then(|p| p.children.get("email"));
    assert_eq!(
        email.map(|e| e.children.to_string()),
        Some("email".to_string())
    );
}

#[test]
fn fields_merge_repeated_names_and_keep_unknown_ones() {
    let selection = parse_fields(
        "profile/email/email, profile/email/verified,total,frobnicate,groups,groups(id)",
    )
    .unwrap_or_default();
    assert_eq!(
        selection.to_string(),
        "profile(email(email,verified)),total,frobnicate,groups"
    );
    let nested = parse_fields("a(b(c(d)),e/f(g))").unwrap_or_default();
    assert_eq!(nested.to_string(), "a(b(c(d)),e(f(g)))");
    assert!(parse_fields("").map(|s| s.is_empty()).unwrap_or(false));
}

#[test]
fn fields_syntax_errors_are_errors() {
    for bad in [
        "id,",
        ",id",
        "groups(",
        "groups(id",
        "groups()",
        "id)",
        "a//b",
        "a/",
        "a(b)c",
        "a,,b",
    ] {
        assert!(parse_fields(bad).is_err(), "{bad:?} should fail");
    }
    let deep = format!("{}x{}", "a(".repeat(65), ")".repeat(65));
    assert!(matches!(
        parse_fields(&deep).map_err(|e| e.kind),
        Err(ErrorKind::TooDeep { .. })
    ));
    assert!(parse_fields(&format!("{}x{}", "a(".repeat(64), ")".repeat(64))).is_ok());
}

#[test]
fn fields_display_round_trips() {
    for text in [
        "id,login,groups(id,name)",
        "a/b/c,a/b/d,e",
        "total,users(id)",
    ] {
        let selection = parse_fields(text).unwrap_or_default();
        assert_eq!(parse_fields(&selection.to_string()), Ok(selection.clone()));
    }
}

#[test]
fn skip_is_a_non_negative_number() {
    assert_eq!(parse_skip("0"), Ok(0));
    assert_eq!(parse_skip(" 42 "), Ok(42));
    assert!(matches!(
        parse_skip("-1").map_err(|e| e.kind),
        Err(ErrorKind::NegativeSkip { .. })
    ));
    for bad in ["", "abc", "1.5", "+3", "99999999999999999999999"] {
        assert!(
            matches!(
                parse_skip(bad).map_err(|e| e.kind),
                Err(ErrorKind::InvalidNumber { .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn top_is_a_number_or_minus_one_for_all() {
    assert_eq!(parse_top("-1"), Ok(Top::All));
    assert_eq!(parse_top("0"), Ok(Top::Count(0)));
    assert_eq!(parse_top("100000"), Ok(Top::Count(100_000)));
    assert!(matches!(
        parse_top("-2").map_err(|e| e.kind),
        Err(ErrorKind::TopTooSmall { .. })
    ));
    assert!(matches!(
        parse_top("many").map_err(|e| e.kind),
        Err(ErrorKind::InvalidNumber { .. })
    ));
    for top in [Top::All, Top::Count(0), Top::Count(7)] {
        assert_eq!(parse_top(&top.to_string()), Ok(top));
    }
}
