//! Target `differential`: the indexed engine against the reference evaluator, on a small
//! directory and a request both decoded from the input with `arbitrary`.
//!
//! The input is structure: [`spec::Case`] describes a directory (users, groups, projects, roles,
//! teams, grants — every index kind gets data), a query tree whose leaves are clauses over every
//! key of the catalogue (values drawn from the directory itself, near misses, or free text the
//! fuzzer controls) — both built by `userql_testkit`, the builder the engine's differential test
//! uses too — and
//! paging, order, viewer and leniency, and optional live updates applied through a `Store` (so
//! the engine's overlay path — dirty rows re-checked and merged into pages — and the rebuild path
//! are compared too). Any difference between `Engine::search` and
//! `Engine::reference` — rows, order, total, or the error — is a bug in the engine's fast path.

mod spec;
mod updates;

use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use userql_directory::index::Indexes;
use userql_directory::Snapshot;
use userql_engine::{Engine, Options, Request, Top, Viewer};
use userql_syntax::ast::Query;

use spec::{Case, RequestSpec};

/// The clock every case runs at (the generator's "now"), so relative instants are reproducible.
const NOW: i64 = userql_testkit::NOW;

/// Decodes a case from the bytes and fails on any engine/reference difference.
pub fn differential(data: &[u8]) {
    let _ = run(data);
}

/// What one differential input decodes to and how it ran: the readable form of a crash input
/// (the bytes are an `arbitrary` encoding), and the measure of how much of the fuzzer's effort
/// reaches the comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DifferentialCase {
    /// Users in the directory the query ran on (after updates).
    pub users: usize,
    /// Whether that snapshot carried an update overlay.
    pub overlay: bool,
    /// The generated query text.
    pub query: String,
    /// `None` when the query did not parse (the case stops there); otherwise the number of
    /// matches both evaluators agreed on, or the error both gave.
    pub outcome: Option<Result<u64, String>>,
}

/// Decodes and runs a differential input like [`differential`] (panicking on a difference), and
/// says what it was; `None` when the bytes are too short to decode.
pub fn describe_differential(data: &[u8]) -> Option<DifferentialCase> {
    run(data)
}

fn run(data: &[u8]) -> Option<DifferentialCase> {
    let case = Case::arbitrary_take_rest(Unstructured::new(data)).ok()?;
    let model = userql_testkit::model(&case.directory);
    let text = userql_testkit::query(&model, &case.query);
    let snapshot = if case.updates.is_empty() {
        let index = Indexes::build(&model);
        Arc::new(Snapshot::indexed(0, Arc::new(model), Arc::new(index)))
    } else {
        updates::apply(model, &case.updates, case.max_dirty)
    };
    let users = snapshot.model.users.count();
    let overlay = snapshot.has_overlay();
    let engine = Engine::new(Options {
        lenient: case.request.lenient,
        ..Options::default()
    });
    let Ok(query) = engine.parse(&text) else {
        return Some(DifferentialCase {
            users,
            overlay,
            query: text,
            outcome: None,
        });
    };
    let request = request(&case.request, query, &snapshot);
    let fast = engine.search(&snapshot, &request);
    let slow = engine.reference(&snapshot, &request);
    assert_eq!(
        fast, slow,
        "engine (left) and reference (right) differ on {text:?} over {users} users, request {:?}, updates {:?}",
        case.request, case.updates
    );
    let outcome = Some(fast.map(|page| page.total).map_err(|e| e.to_string()));
    Some(DifferentialCase {
        users,
        overlay,
        query: text,
        outcome,
    })
}

fn request(spec: &RequestSpec, query: Query, snapshot: &Snapshot) -> Request {
    let users = &snapshot.model.users;
    let viewer = match spec.viewer % 4 {
        0 => Viewer::Admin,
        1 => Viewer::Anonymous,
        2 if !users.is_empty() => {
            let at = usize::from(spec.viewer) % users.count();
            let viewer = users.records().nth(at).map(|u| u.login.clone());
            Viewer::Login(viewer.unwrap_or_default().into())
        }
        _ => Viewer::Login("Nobody-Here".to_owned()),
    };
    let mut request = Request::new(query, viewer);
    request.now = NOW;
    request.skip = u64::from(spec.skip % 12);
    request.top = match spec.top % 10 {
        9 => Top::All,
        8 => Top::Default,
        n => Top::Count(u64::from(n) * 2),
    };
    request.order = spec
        .order
        .iter()
        .take(3)
        .map(|&(key, descending)| (userql_testkit::sort_key(key), descending))
        .collect();
    request
}

/// A directory decoded from bytes with the differential target's builder (every index kind gets
/// data; names include non-ASCII text), for other backends' differential tests.
pub fn directory_from(data: &[u8]) -> Option<userql_directory::model::Model> {
    userql_testkit::model_from(data)
}

/// A request decoded from bytes over `snapshot`, as the differential target builds them: the
/// query text (clauses over every key, values drawn from the directory, near misses and free
/// text), then paging, order and viewer. `request` is `None` when the text does not parse.
#[derive(Debug, Clone)]
pub struct GeneratedRequest {
    /// The query text.
    pub text: String,
    /// Whether the engine should resolve unknown entities leniently.
    pub lenient: bool,
    /// The request (clock: the generator's "now").
    pub request: Option<Request>,
}

/// See [`GeneratedRequest`].
pub fn request_from(snapshot: &Snapshot, data: &[u8]) -> Option<GeneratedRequest> {
    let mut input = Unstructured::new(data);
    let query = userql_testkit::QuerySpec::arbitrary(&mut input).ok()?;
    let spec = RequestSpec::arbitrary(&mut input).ok()?;
    let text = userql_testkit::query(&snapshot.model, &query);
    let engine = Engine::new(Options {
        lenient: spec.lenient,
        ..Options::default()
    });
    let request = engine
        .parse(&text)
        .ok()
        .map(|q| request(&spec, q, snapshot));
    Some(GeneratedRequest {
        text,
        lenient: spec.lenient,
        request,
    })
}
