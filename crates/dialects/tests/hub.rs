//! Hub's REST options through the dialect entry point (spec/hub-query.md "Request options").

mod common;

use common::*;
use userql_dialects::Dialect::Hub;

#[test]
fn query_and_default_options() {
    let a = ask(Hub, "query=in%3A+%7BImperial+Army%7D", "admin");
    assert_eq!(ids(ok(&a)), "u-finn u-tk421 u-vader");
    let doc = body(&a);
    assert_eq!(doc["type"], "userPage");
    assert_eq!(doc["total"], 3);
    assert_eq!(doc["top"], 100);
    assert_eq!(
        a.hub.as_deref(),
        Some("in: {Imperial Army}  [orderBy: login, $skip: 0, $top: 100]")
    );
}

#[test]
fn fields_order_skip_top() {
    let a = ask(
        Hub,
        "query=team:+{Yavin+Team}&orderBy=login:desc&$skip=1&$top=2&fields=login,total",
        "admin",
    );
    assert_eq!(ids(ok(&a)), "u-r2d2 u-luke");
    assert_eq!(
        a.response.body,
        r#"{"type":"userPage","total":4,"users":[{"login":"r2-d2"},{"login":"luke"}]}"#
    );
    assert_eq!(a.total, Some(4));
    assert_eq!(
        hub_form(
            Hub,
            "query=team:+{Yavin+Team}&orderBy=login:desc&$skip=1&$top=2&fields=login,total",
            "admin"
        )
        .as_deref(),
        Ok("team: {Yavin Team}  [orderBy: login:desc, $skip: 1, $top: 2, fields: login,total]")
    );
    assert_eq!(ok(&ask(Hub, "$top=-1", "admin")).ids.len(), 20);
}

#[test]
fn bad_query_is_400_with_hub_error_body() {
    let a = ask(Hub, "query=lastAcess%3A+today", "admin");
    let (status, _) = refusal(&a);
    assert_eq!(status, 400);
    let doc = body(&a);
    assert_eq!(doc["error"], "invalid_query");
    assert_eq!(doc["error_field"], "query");
    let error = a.error.as_ref().map(|e| e.render()).unwrap_or_default();
    assert!(error.contains("lastAcess"), "{error}");
}

#[test]
fn bad_option_names_the_option() {
    let a = ask(Hub, "orderBy=logn", "admin");
    assert_eq!(refusal(&a).0, 400);
    assert_eq!(body(&a)["error_field"], "orderBy");
    assert_eq!(refusal(&ask(Hub, "$skip=-1", "admin")).0, 400);
    assert_eq!(refusal(&ask(Hub, "$top=x", "admin")).0, 400);
}

#[test]
fn private_keys_are_refused_for_non_admins() {
    let a = ask(Hub, "query=has%3A+2FA", "leia");
    assert_eq!(refusal(&a).0, 400);
    assert!(hub_form(Hub, "query=has%3A+2FA", "leia").is_err());
    assert_eq!(refusal(&ask(Hub, "", "nobody")).0, 401);
}
