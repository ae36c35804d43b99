//! Shared test helpers: tiny.json as a snapshot, a fixed clock, and id lists.
#![allow(dead_code)]

use std::sync::Arc;

use userql_directory::index::Indexes;
use userql_directory::Snapshot;
use userql_engine::{Engine, Request, Viewer};

/// `--now 2026-06-15T12:00:00Z`, the clock of the fixture's worked examples.
pub const NOW: i64 = 1_781_524_800_000;

pub fn tiny_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../userql/tests/data/tiny.json")
}

pub fn tiny() -> Snapshot {
    let bytes = std::fs::read(tiny_path()).expect("tiny.json is readable");
    let model = userql_directory::load_json(&bytes).expect("tiny.json is valid");
    let index = Indexes::build(&model);
    Snapshot::indexed(0, Arc::new(model), Arc::new(index))
}

pub fn request(engine: &Engine, query: &str, viewer: Viewer) -> Request {
    let mut request = engine
        .request(query, viewer)
        .unwrap_or_else(|e| panic!("{query:?} should parse: {e}"));
    request.now = NOW;
    request.top = userql_engine::Top::All;
    request
}

/// Ids of every match in login order, as admin.
pub fn ids(snapshot: &Snapshot, query: &str) -> Vec<String> {
    ids_as(snapshot, query, Viewer::Admin)
}

/// Ids of every match in login order, as `viewer`; also checks the reference evaluator agrees.
pub fn ids_as(snapshot: &Snapshot, query: &str, viewer: Viewer) -> Vec<String> {
    let engine = Engine::default();
    let request = request(&engine, query, viewer);
    let page = engine
        .search(snapshot, &request)
        .unwrap_or_else(|e| panic!("{query:?} should answer: {e}"));
    let reference = engine
        .reference(snapshot, &request)
        .unwrap_or_else(|e| panic!("{query:?} reference should answer: {e}"));
    assert_eq!(page, reference, "engine and reference differ on {query:?}");
    page.rows
        .iter()
        .map(|&r| snapshot.model.users[r as usize].id.to_string())
        .collect()
}

/// The error a query gives as `viewer`.
pub fn error_as(snapshot: &Snapshot, query: &str, viewer: Viewer) -> userql_engine::Error {
    let engine = Engine::default();
    let mut request = match engine.request(query, viewer) {
        Ok(r) => r,
        Err(e) => return e,
    };
    request.now = NOW;
    match engine.search(snapshot, &request) {
        Ok(page) => panic!("{query:?} should fail, got {} rows", page.total),
        Err(e) => e,
    }
}
