//! Differential: random directories × random requests (the fuzzing crate's differential builder:
//! every key, values from the directory, near misses, free text, non-ASCII names, NULL dates,
//! every order key with ties, paging, admin / non-admin / anonymous / unknown viewers), answered
//! by PostgreSQL exactly as by the in-memory engine — total, ids, order, or the same error.
//! One cluster, one connection, each directory loaded in turn. Seed: `USERQL_PG_SEED` (default 17).

mod common;

use common::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use userql_engine::{Engine, Request, Top, Viewer};
use userql_pg::{Backend, Schema};

const DIRECTORIES: usize = 50;
const REQUESTS_PER_DIRECTORY: usize = 40;

/// Text with LIKE metacharacters, escapes and non-ASCII, as substring, prefix and exact values.
const LITERAL_QUERIES: &[&str] = &[
    "%",
    "_",
    r#""\\""#,
    "a%",
    "%a",
    "_a",
    "loginStartsWith: %",
    "loginStartsWith: _",
    r"loginStartsWith: {\\}",
    "nameStartsWith: %",
    "nameStartsWith: {_}",
    "name: %",
    "login: _",
    "\"a_b\"",
    "\"a%b\"",
    "\"%\"",
    "é",
    "É",
    "dupré",
    "DUPRÉ",
    "strasse",
    "STRASSE",
    "ß",
    "not %",
    "not lastAccess(after: 2020-01-01)",
    "not has: lastAccess",
];

fn compare(
    backend: &mut Backend,
    snapshot: &userql_directory::Snapshot,
    engine: &Engine,
    request: &Request,
    text: &str,
) {
    let expected = engine_outcome(engine, snapshot, request);
    let actual = pg_outcome(engine, backend, request);
    assert_eq!(
        actual, expected,
        "PostgreSQL (left) and engine (right) differ on {text:?}, viewer {:?}, order {:?}, skip {}, top {:?}, over {} users",
        request.viewer, request.order, request.skip, request.top, snapshot.model.users.count()
    );
}

#[test]
fn random_directories_and_requests_match_the_engine() {
    let Some(cluster) = userql_pg::cluster::for_test() else {
        return;
    };
    let seed = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut client = userql_pg::connect(&cluster.url()).expect("connects");
    let schema = Schema::default();
    let mut compared = 0usize;
    let mut matched_some = 0usize;
    let mut errors = 0usize;
    let mut users = 0usize;
    for directory in 0..DIRECTORIES {
        let Some(model) = random_directory(&mut rng, directory, 40..400) else {
            continue;
        };
        userql_pg::load(&mut client, &schema, &model)
            .unwrap_or_else(|e| panic!("directory {directory} (seed {seed}) loads: {e}"));
        let mut backend = Backend::on(client, schema.clone()).expect("opens");
        users += model.users.count();
        let snapshot = snapshot(model);
        for _ in 0..REQUESTS_PER_DIRECTORY {
            let Some((engine, request, text)) = random_request(&mut rng, &snapshot, 400) else {
                continue;
            };
            compare(&mut backend, &snapshot, &engine, &request, &text);
            match engine.search(&snapshot, &request) {
                Ok(page) if page.total > 0 => matched_some += 1,
                Ok(_) => {}
                Err(_) => errors += 1,
            }
            compared += 1;
        }
        let engine = Engine::default();
        for (i, text) in LITERAL_QUERIES.iter().enumerate() {
            let viewer = if i % 2 == 0 {
                Viewer::Admin
            } else {
                Viewer::Anonymous
            };
            let mut request = engine.request(text, viewer).expect("parses");
            request.now = userql_directory::generate::GEN_NOW_MS;
            request.top = Top::All;
            compare(&mut backend, &snapshot, &engine, &request, text);
            compared += 1;
        }
        client = backend.into_client();
    }
    eprintln!(
        "{compared} cases compared over {users} users in {DIRECTORIES} directories: \
         {matched_some} random ones with matches, {errors} refused by both (seed {seed})"
    );
    assert!(compared >= 2000, "only {compared} cases");
    assert!(
        matched_some * 4 >= compared / 2,
        "too few random cases match anything ({matched_some} of {compared}): the generator is not exercising the backend"
    );
}
