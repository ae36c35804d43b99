//! Shared helpers: tiny.json as a snapshot, the fixture clock, and one-line calls.
#![allow(dead_code)]

use std::sync::Arc;

use serde_json::Value;
use userql_dialects::{
    answer_with, parse_query_string, to_hub_with, Answer, Call, Dialect, Settings,
};
use userql_directory::index::Indexes;
use userql_directory::Snapshot;
use userql_engine::{Engine, Viewer};

/// `2026-06-15T12:00:00Z`, the clock of the fixture's worked examples.
pub const NOW: i64 = 1_781_524_800_000;

pub fn tiny() -> Snapshot {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../userql/tests/data/tiny.json");
    let bytes = std::fs::read(path).expect("tiny.json is readable");
    let model = userql_directory::load_json(&bytes).expect("tiny.json is valid");
    let index = Indexes::build(&model);
    Snapshot::indexed(0, Arc::new(model), Arc::new(index))
}

pub fn viewer(name: &str) -> Viewer {
    match name {
        "admin" => Viewer::Admin,
        "anonymous" => Viewer::Anonymous,
        login => Viewer::Login(login.to_string()),
    }
}

/// Answers `query_string` in `dialect` as `who` with custom settings.
pub fn ask_with(dialect: Dialect, query_string: &str, who: &str, settings: &Settings) -> Answer {
    answer_on(&tiny(), dialect, query_string, viewer(who), settings)
}

/// Answers `query_string` in `dialect` as `who` over `snapshot` (default settings).
pub fn ask_on(snapshot: &Snapshot, dialect: Dialect, query_string: &str, who: Viewer) -> Answer {
    answer_on(snapshot, dialect, query_string, who, &Settings::default())
}

fn answer_on(
    snapshot: &Snapshot,
    dialect: Dialect,
    query_string: &str,
    who: Viewer,
    settings: &Settings,
) -> Answer {
    let engine = Engine::default();
    let call = Call {
        dialect,
        params: parse_query_string(query_string),
        viewer: who,
        now: NOW,
        engine: &engine,
        snapshot,
    };
    answer_with(&call, settings)
}

pub fn ask(dialect: Dialect, query_string: &str, who: &str) -> Answer {
    ask_with(dialect, query_string, who, &Settings::default())
}

pub fn hub_form(dialect: Dialect, query_string: &str, who: &str) -> Result<String, String> {
    let snapshot = tiny();
    let engine = Engine::default();
    let call = Call {
        dialect,
        params: parse_query_string(query_string),
        viewer: viewer(who),
        now: NOW,
        engine: &engine,
        snapshot: &snapshot,
    };
    to_hub_with(&call, &Settings::default()).map_err(|e| e.body().to_string())
}

pub fn ids(answer: &Answer) -> String {
    answer.ids.join(" ")
}

pub fn ok(answer: &Answer) -> &Answer {
    assert!(
        answer.error.is_none(),
        "unexpected error: {:?}",
        answer.error
    );
    assert_eq!(answer.response.status, 200);
    answer
}

pub fn body(answer: &Answer) -> Value {
    serde_json::from_str(&answer.response.body).expect("the body is JSON")
}

/// Status and body of a refused request.
pub fn refusal(answer: &Answer) -> (u16, String) {
    assert!(
        answer.error.is_some(),
        "expected an error, got {}",
        answer.response.body
    );
    (answer.response.status, answer.response.body.clone())
}

pub fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer.response.header(name)
}
