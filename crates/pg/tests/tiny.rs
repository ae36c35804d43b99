//! Every query of the engine's tiny.json key tests (`crates/engine/tests/tiny_keys.rs`, read from
//! its source so new cases are picked up), answered by PostgreSQL exactly as by the engine:
//! total, ids and order, as admin and as a non-admin, under several orders and pages.

mod common;

use common::*;
use userql_directory::index::SortKey;
use userql_engine::{Engine, Top, Viewer};

/// The query strings of tiny_keys.rs: every `("query", &[...])` case.
fn tiny_key_queries() -> Vec<String> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/tiny_keys.rs");
    let source = std::fs::read_to_string(path).expect("tiny_keys.rs is readable");
    let case = regex::Regex::new(r#"\(\s*"((?:[^"\\]|\\.)*)"\s*,\s*&\["#).expect("regex");
    case.captures_iter(&source)
        .map(|c| c[1].replace("\\\"", "\"").replace("\\\\", "\\"))
        .collect()
}

#[test]
fn tiny_key_cases_match_the_engine() {
    let queries = tiny_key_queries();
    assert!(queries.len() > 100, "found only {} cases", queries.len());
    let model = tiny_model();
    let Some((_cluster, mut backend)) = loaded(&model) else {
        return;
    };
    let snapshot = snapshot(model);
    let engine = Engine::default();
    let orders: [Vec<(SortKey, bool)>; 4] = [
        vec![],
        vec![(SortKey::Name, true)],
        vec![(SortKey::LastAccess, false), (SortKey::Email, true)],
        vec![(SortKey::Created, true)],
    ];
    let mut compared = 0;
    for query in &queries {
        for viewer in [Viewer::Admin, Viewer::Login("luke".into())] {
            for (i, order) in orders.iter().enumerate() {
                let mut request = engine.request(query, viewer.clone()).expect("parses");
                request.now = NOW;
                request.order = order.clone();
                request.skip = (i as u64) % 2;
                request.top = if i == 3 { Top::Count(2) } else { Top::All };
                let expected = engine_outcome(&engine, &snapshot, &request);
                let actual = pg_outcome(&engine, &mut backend, &request);
                assert_eq!(actual, expected, "{query:?} as {viewer:?}, order {order:?}");
                compared += 1;
            }
        }
    }
    assert!(compared >= queries.len() * 8);
}

/// Hub's response body from PostgreSQL is byte for byte the engine's, with the default fields and
/// with every relation projection selects (groups, teams, project roles, details…).
#[test]
fn hub_response_bytes_match_the_engine() {
    let model = tiny_model();
    let Some((_cluster, mut backend)) = loaded(&model) else {
        return;
    };
    let snapshot = snapshot(model);
    let engine = Engine::default();
    let rich = "id,login,name,banned,banReason,guest,creationTime,lastAccessTime,\
        profile(email(email,verified)),details(authModule,authModuleName,login,fullName,email,userid),\
        groups(id,name),transitiveGroups(id,name),teams(id,name),projectRoles(role(id,name),project(id,name)),\
        VCSUserNames(name),sshPublicKeys(data,fingerprint),licenses,twoFactorAuthentication(enabled),userType(id),total,skip,top";
    for query in tiny_key_queries() {
        for viewer in [Viewer::Admin, Viewer::Login("luke".into())] {
            for fields in [None, Some(rich)] {
                let params = userql_engine::HubParams {
                    query: Some(&query),
                    fields,
                    top: Some("5"),
                    skip: Some("1"),
                    ..Default::default()
                };
                let request = engine
                    .hub_request(&params, viewer.clone(), NOW)
                    .expect("valid request");
                let expected = engine.respond(&snapshot, &request).map(|v| v.to_string());
                let actual = match backend.respond(&engine, &request) {
                    Ok((_, body)) => Ok(body.to_string()),
                    Err(userql_pg::Error::Request(e)) => Err(e),
                    Err(e) => panic!("{query:?}: {e}"),
                };
                assert_eq!(
                    actual.map_err(|e| e.to_string()),
                    expected.map_err(|e| e.to_string()),
                    "{query:?} as {viewer:?} with fields {fields:?}"
                );
            }
        }
    }
}
