//! A time range checked among few candidates (a residual of an `and`) is answered from the sorted
//! column's blocks, only the candidates in the blocks the range cuts being checked on their
//! records: the answer equals the reference evaluator's, on a directory large enough to have
//! blocks (issue 18, query k).

use userql_directory::generate::{generate, GenOptions, GEN_NOW_MS};
use userql_directory::Snapshot;
use userql_engine::{Engine, Top, Viewer};

#[test]
fn time_residuals_from_blocks_agree_with_the_reference() {
    let snapshot = Snapshot::new(generate(&GenOptions {
        users: 40_000,
        seed: 42,
    }));
    let engine = Engine::default();
    let mut residuals = 0;
    for query in [
        "is: admin lastAccess(after: {400 days ago})",
        "is: external created: 2017-03-04 .. 2026-05-06",
        "is: admin has: 2FA lastAccess(after: {90 days ago})",
        "is: external not is: admin lastAccess(before: {10 days ago})",
        "state: active has: 2FA (in: g-15 or in: g-16) lastAccess(after: {90 days ago}) not is: external",
        "is: admin not lastAccess(after: {30 days ago})",
    ] {
        let mut request = match engine.request(query, Viewer::Admin) {
            Ok(request) => request,
            Err(e) => panic!("{query}: {e}"),
        };
        request.now = GEN_NOW_MS;
        request.top = Top::Count(50);
        let fast = engine.search(&snapshot, &request).map(|p| (p.total, p.rows));
        let slow = engine.reference(&snapshot, &request).map(|p| (p.total, p.rows));
        assert_eq!(fast, slow, "{query}");
        let explain = match engine.explain(&snapshot, &request) {
            Ok((_, explain)) => explain.to_string(),
            Err(e) => panic!("{query}: {e}"),
        };
        if explain.contains("check per row: range") {
            residuals += 1;
        }
    }
    assert!(
        residuals >= 2,
        "the time ranges are residuals in most of these plans"
    );
}
