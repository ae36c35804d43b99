//! Request options, projection, viewer rules, error messages and EXPLAIN on tiny.json
//! (hub-query.md "Request options", "Who may ask what"; insta snapshots for messages and plans).

mod common;

use common::*;
use serde_json::json;
use userql_engine::{error_body, Engine, HubParams, Options, Viewer};

fn page_ids(
    query: &str,
    order_by: Option<&str>,
    skip: Option<&str>,
    top: Option<&str>,
) -> Vec<String> {
    let snapshot = tiny();
    let engine = Engine::default();
    let params = HubParams {
        query: Some(query),
        order_by,
        skip,
        top,
        fields: None,
    };
    let request = engine
        .hub_request(&params, Viewer::Admin, NOW)
        .unwrap_or_else(|e| panic!("{e}"));
    let page = engine
        .search(&snapshot, &request)
        .unwrap_or_else(|e| panic!("{e}"));
    let reference = engine
        .reference(&snapshot, &request)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page, reference);
    page.rows
        .iter()
        .map(|&r| snapshot.model.users[r as usize].id.to_string())
        .collect()
}

#[test]
fn default_order_is_login_ascending_and_skip_top_page_it() {
    assert_eq!(
        page_ids("", None, Some("2"), Some("3")),
        ["u-chewie", "u-finn", "u-ghost"]
    );
}

#[test]
fn order_by_last_access_descending_puts_never_accessed_last() {
    assert_eq!(
        page_ids("", Some("lastAccessTime:desc"), None, Some("5")),
        ["u-finn", "u-r2d2", "u-palpatine", "u-mothma", "u-luke"]
    );
    let all = page_ids("", Some("lastAccessTime:desc"), None, Some("-1"));
    assert_eq!(
        all[13..],
        ["u-ackbar", "u-c3po", "u-chewie", "u-ghost", "u-guest", "u-jabba", "u-yoda"]
    );
    let asc = page_ids("", Some("lastAccessTime"), None, Some("-1"));
    assert_eq!(
        asc[13..],
        all[13..],
        "users without a value sort last in either direction"
    );
}

#[test]
fn ties_are_broken_by_id_ascending_whatever_the_direction() {
    assert_eq!(
        page_ids("", Some("creationTime"), None, Some("4")),
        ["u-guest", "u-yoda", "u-ghost", "u-palpatine"]
    );
    assert_eq!(
        page_ids("", Some("creationTime:desc"), None, Some("4")),
        ["u-ackbar", "u-finn", "u-leia", "u-luke"]
    );
}

#[test]
fn order_by_several_keys_and_with_a_space_before_the_direction() {
    assert_eq!(
        page_ids("", Some("creationTime, name desc"), None, Some("3")),
        ["u-yoda", "u-guest", "u-ghost"]
    );
    assert_eq!(
        page_ids("", Some("name"), None, Some("4")),
        ["u-c3po", "u-chewie", "u-vader", "u-finn"]
    );
    assert_eq!(
        page_ids("", Some("email"), None, Some("-1"))[16..],
        ["u-chewie", "u-ghost", "u-guest", "u-r2d2"]
    );
    assert_eq!(
        page_ids("", Some("username:desc"), None, Some("2")),
        ["u-yoda", "u-wedge"]
    );
    assert_eq!(
        page_ids("is: external", Some("id:desc"), None, None),
        ["u-han", "u-finn"]
    );
}

#[test]
fn top_defaults_to_100_and_is_clamped_to_the_cap() {
    let snapshot = tiny();
    let engine = Engine::new(Options {
        top_cap: 5,
        ..Options::default()
    });
    for (top, expected) in [
        (None, 5),
        (Some("-1"), 5),
        (Some("3"), 3),
        (Some("999"), 5),
        (Some("0"), 0),
    ] {
        let params = HubParams {
            top,
            ..HubParams::default()
        };
        let request = engine
            .hub_request(&params, Viewer::Admin, NOW)
            .unwrap_or_else(|e| panic!("{e}"));
        let page = engine
            .search(&snapshot, &request)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (page.top, page.rows.len() as u64, page.total),
            (expected, expected, 20),
            "{top:?}"
        );
    }
    let request = Engine::default()
        .hub_request(&HubParams::default(), Viewer::Admin, NOW)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        Engine::default().search(&snapshot, &request).map(|p| p.top),
        Ok(100)
    );
}

#[test]
fn fields_select_nested_values_and_page_names() {
    let snapshot = tiny();
    let engine = Engine::default();
    let params = HubParams {
        query: Some("in: {Imperial Army}"),
        fields: Some("id,login,groups(name),profile/email/email,total,nonsense"),
        ..HubParams::default()
    };
    let request = engine
        .hub_request(&params, Viewer::Admin, NOW)
        .unwrap_or_else(|e| panic!("{e}"));
    let body = engine
        .respond(&snapshot, &request)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        body,
        json!({
            "type": "userPage",
            "total": 3,
            "users": [
                {"id": "u-finn", "login": "fn-2187", "groups": [{"name": "501st Legion"}],
                 "profile": {"email": {"email": "finn@resistance.example"}}},
                {"id": "u-tk421", "login": "tk-421", "groups": [{"name": "Stormtroopers"}],
                 "profile": {"email": {"email": "tk421@empire.example"}}},
                {"id": "u-vader", "login": "vader",
                 "groups": [{"name": "Imperial Army"}, {"name": "Imperial Navy"}],
                 "profile": {"email": {"email": "vader@empire.example"}}},
            ]
        })
    );
}

#[test]
fn default_fields_and_the_page_envelope() {
    let snapshot = tiny();
    let engine = Engine::default();
    let params = HubParams {
        query: Some("login: lando"),
        ..HubParams::default()
    };
    let request = engine
        .hub_request(&params, Viewer::Admin, NOW)
        .unwrap_or_else(|e| panic!("{e}"));
    let body = engine
        .respond(&snapshot, &request)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        body,
        json!({
            "type": "userPage", "skip": 0, "top": 100, "total": 1,
            "users": [{
                "type": "user", "id": "u-lando", "login": "lando", "name": "Lando Calrissian",
                "banned": true, "guest": false, "creationTime": 1597505400000_i64,
                "lastAccessTime": 1732996800000_i64,
            }]
        })
    );
}

#[test]
fn non_admin_viewers_never_see_private_fields() {
    let snapshot = tiny();
    let engine = Engine::default();
    let params = HubParams {
        query: Some("login: vader"),
        fields: Some(
            "id,details,sshPublicKeys,profile,twoFactorAuthentication,banReason,VCSUserNames(name)",
        ),
        ..HubParams::default()
    };
    let request = engine
        .hub_request(&params, Viewer::Login("luke".into()), NOW)
        .unwrap_or_else(|e| panic!("{e}"));
    let body = engine
        .respond(&snapshot, &request)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        body["users"],
        json!([{"id": "u-vader", "VCSUserNames": [{"name": "dvader"}, {"name": "anakin"}]}])
    );
}

#[test]
fn an_admin_account_is_an_admin_viewer() {
    let snapshot = tiny();
    assert_eq!(
        ids_as(
            &snapshot,
            "email: anakin@jedi.example",
            Viewer::Login("palpatine".into())
        ),
        ["u-vader"]
    );
}

#[test]
fn text_search_for_non_admins_uses_login_name_and_public_email_only() {
    let snapshot = tiny();
    assert_eq!(
        ids_as(&snapshot, "anakin", Viewer::Anonymous),
        Vec::<String>::new()
    );
    assert_eq!(
        ids_as(&snapshot, "resistance", Viewer::Anonymous),
        ["u-finn"]
    );
    assert_eq!(ids_as(&snapshot, "resistance", Viewer::Admin), ["u-finn"]);
    assert_eq!(ids_as(&snapshot, "fn2187", Viewer::Admin), ["u-finn"]);
    assert_eq!(
        ids_as(&snapshot, "fn2187", Viewer::Login("leia".into())),
        Vec::<String>::new()
    );
}

#[test]
fn lenient_mode_makes_unknown_entities_match_nothing() {
    let snapshot = tiny();
    let engine = Engine::new(Options {
        lenient: true,
        ..Options::default()
    });
    let mut request = engine
        .request("in: {Imperial Armie} or login: han", Viewer::Admin)
        .unwrap_or_else(|e| panic!("{e}"));
    request.now = NOW;
    let page = engine
        .search(&snapshot, &request)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.total, 1);
}

fn rendered(query: &str, viewer: Viewer) -> String {
    let snapshot = tiny();
    let error = error_as(&snapshot, query, viewer);
    format!("{}\n{}", error.render(query), error_body(&error))
}

#[test]
fn error_messages() {
    let cases: &[(&str, Viewer)] = &[
        ("in: {Imperial Armie}", Viewer::Admin),
        ("access(project: {Deth Star})", Viewer::Admin),
        ("access(project: DS, with: Developr)", Viewer::Admin),
        ("access(project: DS, role: {Read Issue})", Viewer::Admin),
        ("ownRole: nobody", Viewer::Admin),
        ("is: bannned", Viewer::Admin),
        ("has: {refresh tokens}", Viewer::Admin),
        ("state: actve", Viewer::Admin),
        ("after: 2024-13-01", Viewer::Admin),
        ("after: *", Viewer::Admin),
        ("login: a .. b", Viewer::Admin),
        ("lastAccess(after: soon)", Viewer::Admin),
        ("number: x", Viewer::Admin),
        ("email: vader@empire.example", Viewer::Login("luke".into())),
        ("has: 2FA", Viewer::Anonymous),
        ("is: supporting2FA", Viewer::Anonymous),
        ("identity(provider: github)", Viewer::Anonymous),
        ("login: vader", Viewer::Login("nobody".into())),
        ("lastAcess(after: 2024-01-01)", Viewer::Admin),
    ];
    let mut out = String::new();
    for (query, viewer) in cases {
        out.push_str(&format!(
            "== {query}  [{viewer:?}]\n{}\n\n",
            rendered(query, viewer.clone())
        ));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn option_errors_name_the_option() {
    let engine = Engine::default();
    let mut out = String::new();
    for params in [
        HubParams {
            order_by: Some("login:up"),
            ..HubParams::default()
        },
        HubParams {
            order_by: Some("logn"),
            ..HubParams::default()
        },
        HubParams {
            skip: Some("-1"),
            ..HubParams::default()
        },
        HubParams {
            top: Some("-2"),
            ..HubParams::default()
        },
        HubParams {
            top: Some("ten"),
            ..HubParams::default()
        },
        HubParams {
            fields: Some("id,groups(name"),
            ..HubParams::default()
        },
    ] {
        let error = match engine.hub_request(&params, Viewer::Admin, NOW) {
            Ok(_) => panic!("{params:?} should fail"),
            Err(e) => e,
        };
        out.push_str(&format!("== {params:?}\n{}\n\n", error_body(&error)));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn explain_shows_plans_with_estimates_and_actual_rows() {
    let snapshot = tiny();
    let engine = Engine::default();
    let mut out = String::new();
    for query in [
        "login: vader",
        "state: active has: 2FA",
        "in: {Imperial Army} and not has: 2FA",
        "not state: active or is: admin",
        "lastAccess(after: {90 days ago}) and not authModule: google and has: ownRole",
        "(login: luke or group: Rebels) and access(project: YB)",
        "sky and created: 2020 .. *",
        "has: email and not login: han and not in: Rebels",
        "is: admin and not is: admin",
        "",
    ] {
        let mut request = engine
            .request(query, Viewer::Admin)
            .unwrap_or_else(|e| panic!("{e}"));
        request.now = NOW;
        let (_, explain) = engine
            .explain(&snapshot, &request)
            .unwrap_or_else(|e| panic!("{e}"));
        out.push_str(&format!("== {query}\n{}\n", explain.without_times()));
    }
    insta::assert_snapshot!(out);
}
