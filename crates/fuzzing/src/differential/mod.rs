//! Target `differential`: the indexed engine against the reference evaluator, on a small
//! directory and a request both decoded from the input with `arbitrary`.
//!
//! The input is structure: [`spec::Case`] describes a directory (users, groups, projects, roles,
//! teams, grants — every index kind gets data), a query tree whose leaves are clauses over every
//! key (values drawn from the directory itself, near misses, or free text the fuzzer controls), and
//! paging, order, viewer and leniency. Any difference between `Engine::search` and
//! `Engine::reference` — rows, order, total, or the error — is a bug in the engine's fast path.

mod build;
mod render;
mod spec;

use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use userql_directory::index::Indexes;
use userql_directory::Snapshot;
use userql_engine::{Engine, Options, Request, Top, Viewer};

use spec::Case;

/// The clock every case runs at (the generator's "now"), so relative instants are reproducible.
const NOW: i64 = userql_directory::generate::GEN_NOW_MS;

/// Decodes a case from the bytes and fails on any engine/reference difference.
pub fn differential(data: &[u8]) {
    let Ok(case) = Case::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let model = build::model(&case.directory);
    let text = render::query(&model, &case.query);
    let index = Indexes::build(&model);
    let snapshot = Snapshot {
        version: 0,
        model: Arc::new(model),
        index: Arc::new(index),
    };
    let engine = Engine::new(Options {
        lenient: case.request.lenient,
        ..Options::default()
    });
    let Ok(query) = engine.parse(&text) else {
        return;
    };
    let users = &snapshot.model.users;
    let viewer = match case.request.viewer % 4 {
        0 => Viewer::Admin,
        1 => Viewer::Anonymous,
        2 if !users.is_empty() => {
            Viewer::Login(users[usize::from(case.request.viewer) % users.len()].login.clone())
        }
        _ => Viewer::Login("Nobody-Here".to_owned()),
    };
    let mut request = Request::new(query, viewer);
    request.now = NOW;
    request.skip = u64::from(case.request.skip % 12);
    request.top = match case.request.top % 10 {
        9 => Top::All,
        8 => Top::Default,
        n => Top::Count(u64::from(n) * 2),
    };
    request.order = case
        .request
        .order
        .iter()
        .take(3)
        .map(|&(key, descending)| (render::sort_key(key), descending))
        .collect();
    let fast = engine.search(&snapshot, &request);
    let slow = engine.reference(&snapshot, &request);
    assert_eq!(
        fast, slow,
        "engine (left) and reference (right) differ on {text:?} over {} users, request {:?}",
        users.len(),
        case.request
    );
}
