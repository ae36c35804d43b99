//! The embedding contract, through the facade only: load a directory, apply changes, answer a Hub
//! query, a GitLab request and a query-assist call, as a server author would.

use chrono::{TimeZone, Utc};
use serde_json::Value;
use userql::{
    AccessLevel, Change, ChangeFile, Directory, Error, Grant, HttpRequest, HubQuery, Kind, NewUser,
    Store, Viewer,
};

const TINY: &[u8] = include_bytes!("data/tiny.json");

fn store() -> Store {
    Store::new(Directory::from_json(TINY).expect("the fixture is valid"))
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).expect("a JSON body")
}

#[test]
fn loads_applies_changes_and_answers_every_kind_of_request() {
    let store = store();
    let created = Utc.with_ymd_and_hms(2026, 2, 1, 12, 0, 0).unwrap();
    let version = store
        .apply(&[
            Change::put_user(
                NewUser::new("u-rey", "rey", created)
                    .name("Rey Skywalker")
                    .two_factor(true)
                    .group_with_access("g-jedi", AccessLevel::Developer),
            ),
            Change::patch(Kind::User, "u-han", [("state", Value::from("blocked"))]),
        ])
        .expect("a valid batch");
    assert_eq!(version, 1);

    let page = store
        .search(&HubQuery::new("in: g-jedi and has: 2FA").fields("login"))
        .expect("a valid query");
    assert!(page.ids.contains(&"u-rey".to_string()), "{:?}", page.ids);
    assert_eq!(page.body["total"], page.total);

    let gitlab = store.handle(
        &HttpRequest::get("/api/v4/users?search=rey&per_page=5"),
        &Viewer::admin(),
    );
    assert_eq!(gitlab.status(), 200);
    let users = json(gitlab.body());
    assert_eq!(users[0]["username"], "rey");
    assert_eq!(gitlab.header("X-Total"), Some("1"));

    let blocked = store.handle(
        &HttpRequest::get("/api/v4/users?blocked=true"),
        &Viewer::admin(),
    );
    let logins: Vec<Value> = json(blocked.body())
        .as_array()
        .expect("a list")
        .iter()
        .map(|u| u["username"].clone())
        .collect();
    assert!(logins.contains(&Value::from("han")), "{logins:?}");

    let assist = store.assist("login: re", 9);
    assert!(
        assist.suggestions.iter().any(|s| s.option == "rey"),
        "{:?}",
        assist.suggestions
    );
    let over_http = store.handle(
        &HttpRequest::get("/hub/api/rest/users/queryAssist?query=has%3A%202&caret=6"),
        &Viewer::admin(),
    );
    assert_eq!(over_http.status(), 200);
    assert_eq!(json(over_http.body())["caret"], 6);
}

#[test]
fn a_snapshot_keeps_reading_its_version() {
    let store = store();
    let before = store.snapshot();
    store
        .apply(&[Change::delete(Kind::User, "u-luke")])
        .expect("luke exists");
    let query = HubQuery::new("login: luke");
    assert_eq!(before.search(&query).expect("valid").total, 1);
    assert_eq!(store.search(&query).expect("valid").total, 0);
}

#[test]
fn a_refused_batch_changes_nothing_and_says_why() {
    let store = store();
    let error = store
        .apply(&[
            Change::patch(Kind::User, "u-luke", [("admin", Value::from(true))]),
            Change::put_membership("u-luke", "g-nowhere", None),
        ])
        .expect_err("an unknown group");
    let Error::Invalid(problems) = error else {
        panic!("expected Invalid, got {error:?}");
    };
    assert!(problems.to_string().contains("g-nowhere"), "{problems}");
    let problem = problems.iter().next().expect("one problem");
    assert_eq!(problem.change, Some(2));
    assert_eq!(problem.line, None);
    assert!(problem.place.starts_with("change 2"), "{}", problem.place);
    assert_eq!(store.version(), 0);
    assert_eq!(
        store
            .search(&HubQuery::new("is: admin"))
            .expect("valid")
            .total,
        1
    );
}

#[test]
fn query_errors_name_the_parameter_and_span() {
    let store = store();
    let Err(Error::Query(error)) = store.search(&HubQuery::new("has: 2FA and lgoin: x")) else {
        panic!("expected a query error");
    };
    assert_eq!(error.parameter(), "query");
    assert_eq!(error.status(), 400);
    assert_eq!(&error.source_text()[error.span()], "lgoin");
    assert!(error.render().contains('^'));

    let Err(Error::Query(error)) = store.search(&HubQuery::new("").order_by("shoeSize")) else {
        panic!("expected an orderBy error");
    };
    assert_eq!(error.parameter(), "orderBy");
    assert_eq!(error.body()["error_field"], "orderBy");

    let Err(Error::Query(error)) = store.search(&HubQuery::new("").viewer(Viewer::login("nobody")))
    else {
        panic!("expected an unknown viewer");
    };
    assert_eq!(error.status(), 401);
}

#[test]
fn a_directory_built_in_code_is_validated_like_a_file() {
    let created = Utc.with_ymd_and_hms(2025, 5, 4, 0, 0, 0).unwrap();
    let directory = Directory::builder()
        .organization("o-1", "Rebellion")
        .project("p-1", "Echo Base", Some("o-1"))
        .group("g-1", "Pilots", None)
        .role("r-dev", "Developer", &[])
        .user(NewUser::new("u-1", "wedge", created).group("g-1"))
        .grant(Grant::role("r-dev").to_group("g-1").in_project("p-1"))
        .build()
        .expect("a valid directory");
    let store = Store::new(directory);
    let page = store
        .search(&HubQuery::new(
            "access(project: {Echo Base}, with: Developer)",
        ))
        .expect("a valid query");
    assert_eq!(page.ids, ["u-1"]);

    let invalid = Directory::builder()
        .user(NewUser::new("u-1", "a", created).group("g-missing"))
        .user(NewUser::new("u-1", "b", created))
        .build()
        .expect_err("two problems");
    let Error::Invalid(problems) = invalid else {
        panic!("expected Invalid");
    };
    assert!(problems.len() >= 2, "{problems}");
}

#[test]
fn http_routes_answer_as_their_api_and_refuse_others() {
    let store = store();
    let admin = Viewer::admin();
    let tfe = store.handle(&HttpRequest::get("/api/v2/admin/users"), &admin);
    assert_eq!(tfe.status(), 200);
    assert!(tfe
        .header("Content-Type")
        .is_some_and(|t| t.contains("vnd.api+json")));
    assert_eq!(
        store
            .handle(
                &HttpRequest::get("/api/v2/admin/users"),
                &Viewer::login("luke")
            )
            .status(),
        404
    );
    let hub = store.handle(
        &HttpRequest::get("/hub/api/rest/users?query=login:%20luke"),
        &admin,
    );
    assert_eq!(json(hub.body())["total"], 1);
    let arcgis = store.handle(
        &HttpRequest::new("POST", "/portaladmin/security/users/searchEnterpriseUsers")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("filter=lu&f=json"),
        &admin,
    );
    assert_eq!(arcgis.status(), 200);
    assert!(arcgis.body().contains("luke"), "{}", arcgis.body());
    assert_eq!(
        store.handle(&HttpRequest::get("/nowhere"), &admin).status(),
        404
    );
    let wrong_method = store.handle(&HttpRequest::new("DELETE", "/api/v4/users"), &admin);
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.header("Allow"), Some("GET, POST"));
}

#[test]
fn http_crate_conversions_keep_status_headers_and_body() {
    let store = store();
    let request = http::Request::get("/api/v4/users?username=luke")
        .header("Accept", "application/json")
        .body(Vec::<u8>::new())
        .expect("a valid request");
    let response: http::Response<String> = store
        .handle(&HttpRequest::from(&request), &Viewer::admin())
        .into();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.body().contains("\"username\":\"luke\""));
}

#[test]
fn every_kind_of_change_applies_and_round_trips_through_json() {
    let store = store();
    let at = Utc.with_ymd_and_hms(2026, 4, 1, 8, 30, 0).unwrap();
    let batch = vec![
        Change::put_user(NewUser::new("u-rey", "rey", at)),
        Change::put_membership("u-rey", "g-jedi", Some(AccessLevel::Maintainer)),
        Change::put_grant(Grant::role("developer").to_user("u-rey")),
        Change::touch("u-rey", at),
        Change::delete_membership("u-luke", "g-jedi"),
    ];
    let json = Value::Array(batch.iter().map(Change::to_json).collect()).to_string();
    assert_eq!(Change::from_json(&json).expect("its own JSON"), batch);
    store.apply(&batch).expect("a valid batch");
    let members = |query: &str| store.search(&HubQuery::new(query)).expect("valid").ids;
    assert_eq!(members("login: rey and in: g-jedi"), ["u-rey"]);
    assert!(!members("in: g-jedi").contains(&"u-luke".to_owned()));
    assert_eq!(
        members("lastAccess: 2026-04-01 .. 2026-04-02 and login: rey"),
        ["u-rey"]
    );

    store
        .apply(&[Change::delete_grant(
            Grant::role("developer").to_user("u-rey"),
        )])
        .expect("the grant exists");
    let missing = store.apply(&[Change::delete_grant(
        Grant::role("developer").to_user("u-rey"),
    )]);
    assert!(matches!(missing, Err(Error::Invalid(_))), "{missing:?}");
}

#[test]
fn a_changes_file_is_read_batch_by_batch_and_errors_name_the_line() {
    let store = store();
    let file = br#"{"format": "userql-changes/1"}
{"op": "patch", "kind": "user", "id": "u-luke", "set": {"state": "banned"}}

[{"op": "delete", "kind": "user", "id": "u-han"}, {"op": "touch", "kind": "user", "id": "u-leia", "at": "2026-01-01T00:00:00Z"}]
[{"op": "delete", "kind": "user", "id": "u-x"}, {"op": "put", "kind": "user"}]
"#;
    let mut batches = ChangeFile::new(&file[..]);
    for expected_line in [2, 4] {
        let batch = batches.next().expect("a batch").expect("well-formed");
        assert_eq!(batch.line(), expected_line);
        store.apply(batch.changes()).expect("valid changes");
    }
    let Some(Err(Error::Invalid(problems))) = batches.next() else {
        panic!("expected the malformed line 5");
    };
    let problem = problems.iter().next().expect("one problem");
    assert_eq!((problem.line, problem.change), (Some(5), Some(2)));
    assert!(problem.message.contains("value"), "{problem}");
    assert!(batches.next().is_none(), "the reader stops at an error");
    assert_eq!(store.version(), 2);

    let not_a_change = Change::from_json("42").expect_err("not a change");
    assert!(matches!(not_a_change, Error::Invalid(_)));
    let bad_header = ChangeFile::new(&b"{\"format\": \"other\"}\n"[..])
        .next()
        .expect("one item");
    assert!(bad_header.is_err());
}

#[test]
fn a_state_directory_keeps_applied_batches_across_reopening() {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = temp.path().join("state");
    let seed = std::path::Path::new("tests/data/tiny.json");
    let store = Store::open_state(&dir, Some(seed)).expect("seeded");
    assert_eq!(store.version(), 0);
    let joined = Utc.with_ymd_and_hms(2026, 2, 1, 12, 0, 0).unwrap();
    let version = store
        .apply(&[
            Change::put_user(NewUser::new("u-rey", "rey", joined).group("g-jedi")),
            Change::delete(Kind::User, "u-han"),
        ])
        .expect("a valid batch");
    assert_eq!(version, 1);
    let refused = store.apply(&[Change::delete(Kind::User, "u-nobody")]);
    assert!(matches!(refused, Err(Error::Invalid(_))), "{refused:?}");

    let Err(Error::State(locked)) = Store::open_state(&dir, None) else {
        panic!("a second opener must be refused while the store is open");
    };
    assert!(locked.is_locked(), "{locked}");
    drop(store);

    let reopened = Store::open_state(&dir, None).expect("recovered");
    assert_eq!(reopened.version(), 1);
    let search = |query: &str| reopened.search(&HubQuery::new(query)).expect("valid").total;
    assert_eq!(search("login: rey and in: g-jedi"), 1);
    assert_eq!(search("login: han"), 0);

    let unseeded = Store::open_state(temp.path().join("empty"), None);
    assert!(matches!(unseeded, Err(Error::State(_))), "{unseeded:?}");
}

/// A write route through `Store::serve`: one batch of changes, visible to the next read, and on
/// disk for a durable store (reopened, the write is still there).
#[test]
fn writes_through_serve_are_batches_on_memory_and_durable_stores() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = dir.path().join("tiny.json");
    std::fs::write(&seed, TINY).expect("write seed");
    let state = dir.path().join("state");
    let options = || userql::Options::default().tokens(userql::Tokens::admin("root"));
    let block = HttpRequest::new("POST", "/api/v4/users/7/block").header("PRIVATE-TOKEN", "root");
    let add_key = HttpRequest::new("POST", "/api/v4/users/7/keys")
        .header("PRIVATE-TOKEN", "root")
        .header("Content-Type", "application/json")
        .body(r#"{"title": "laptop", "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl luke@laptop"}"#);
    let memory = Store::with_options(Directory::from_json(TINY).expect("valid"), options());
    let durable =
        Store::open_state_with_options(&state, Some(&seed), options()).expect("opens the state");
    for store in [&memory, &durable] {
        let served = store.serve(&block);
        assert_eq!(
            (served.route(), served.response().status(), served.api()),
            ("POST /api/v4/users/:id/block", 201, "gitlab")
        );
        let key = store.serve(&add_key);
        assert_eq!(key.response().status(), 201, "{}", key.response().body());
        assert_eq!(store.version(), 2, "one batch per write");
        assert_eq!(store.stats().version, 2);
        let luke = store.handle(&HttpRequest::get("/api/v4/users/7"), &Viewer::admin());
        assert_eq!(json(luke.body())["state"], "blocked");
    }
    drop(durable);
    let reopened = Store::open_state(&state, None).expect("recovers");
    let keys = reopened.handle(&HttpRequest::get("/api/v4/users/7/keys"), &Viewer::admin());
    let titles = json(keys.body());
    let titles: Vec<&str> = titles
        .as_array()
        .expect("a list of keys")
        .iter()
        .filter_map(|k| k["title"].as_str())
        .collect();
    assert!(titles.contains(&"laptop"), "{}", keys.body());
    let luke = reopened.handle(&HttpRequest::get("/api/v4/users/7"), &Viewer::admin());
    assert_eq!(json(luke.body())["state"], "blocked");
}
