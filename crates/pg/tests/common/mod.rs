//! Shared by the PostgreSQL tests: a throwaway cluster with a directory loaded, and the
//! comparison of its answers with the in-memory engine's.
#![allow(dead_code)]

use std::sync::Arc;

use userql_directory::index::Indexes;
use userql_directory::model::Model;
use userql_directory::Snapshot;
use userql_engine::{Engine, Request};
use userql_pg::cluster::{for_test, Cluster};
use userql_pg::{Backend, Schema};

/// `--now 2026-06-15T12:00:00Z`, the clock of the fixture's worked examples.
pub const NOW: i64 = 1_781_524_800_000;

pub fn tiny_model() -> Model {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../userql/tests/data/tiny.json");
    let bytes = std::fs::read(path).expect("tiny.json is readable");
    userql_directory::load_json(&bytes).expect("tiny.json is valid")
}

pub fn snapshot(model: Model) -> Snapshot {
    let index = Indexes::build(&model);
    Snapshot::indexed(0, Arc::new(model), Arc::new(index))
}

/// A cluster (None: PostgreSQL missing outside CI) and a backend on `model` loaded into it.
pub fn loaded(model: &Model) -> Option<(Cluster, Backend)> {
    let cluster = for_test()?;
    let backend = load_into(&cluster, model, &Schema::default());
    Some((cluster, backend))
}

pub fn load_into(cluster: &Cluster, model: &Model, schema: &Schema) -> Backend {
    let mut client = userql_pg::connect(&cluster.url()).expect("connects");
    userql_pg::load(&mut client, schema, model).expect("loads");
    Backend::on(client, schema.clone()).expect("opens the schema")
}

/// What one side answered: (total, ids) or the error text.
pub type Outcome = Result<(u64, Vec<String>), String>;

pub fn engine_outcome(engine: &Engine, snapshot: &Snapshot, request: &Request) -> Outcome {
    engine
        .search(snapshot, request)
        .map(|page| {
            let ids = page
                .rows
                .iter()
                .map(|&r| snapshot.model.users[r as usize].id.to_string())
                .collect();
            (page.total, ids)
        })
        .map_err(|e| e.to_string())
}

pub fn pg_outcome(engine: &Engine, backend: &mut Backend, request: &Request) -> Outcome {
    match backend.search(engine, request) {
        Ok(page) => Ok((page.total, page.ids)),
        Err(userql_pg::Error::Request(e)) => Err(e.to_string()),
        Err(e) => panic!("PostgreSQL failed on {:?}: {e}", request.query),
    }
}

/// `USERQL_PG_SEED`, default 17.
pub fn seed() -> u64 {
    std::env::var("USERQL_PG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(17)
}

/// A random directory: the benchmark generator (realistic proportions, `users` users) for even
/// `n`, the fuzz builder otherwise — whose `arbitrary` lists continue while a byte is odd, so the
/// bytes are biased odd to make the lists (users, grants, groups…) long, not one item on average.
/// `None` when the fuzz bytes build no directory.
pub fn random_directory(
    rng: &mut rand_chacha::ChaCha8Rng,
    n: usize,
    users: std::ops::Range<usize>,
) -> Option<Model> {
    use rand::Rng;
    if n.is_multiple_of(2) {
        return Some(userql_directory::generate::generate(
            &userql_directory::generate::GenOptions {
                users: rng.gen_range(users),
                seed: rng.gen(),
            },
        ));
    }
    let bytes: Vec<u8> = (0..rng.gen_range(2000..8000))
        .map(|_| rng.gen::<u8>() | u8::from(rng.gen_bool(0.9)))
        .collect();
    userql_fuzzing::directory_from(&bytes)
}

/// A random request over `snapshot` from the fuzzing crate's differential builder, with the
/// engine its `lenient` flag asks for; `None` when the bytes make no request.
pub fn random_request(
    rng: &mut rand_chacha::ChaCha8Rng,
    snapshot: &Snapshot,
    max_bytes: usize,
) -> Option<(Engine, Request, String)> {
    use rand::Rng;
    let bytes: Vec<u8> = (0..rng.gen_range(8..max_bytes))
        .map(|_| rng.gen())
        .collect();
    let generated = userql_fuzzing::request_from(snapshot, &bytes)?;
    let engine = Engine::new(userql_engine::Options {
        lenient: generated.lenient,
        ..userql_engine::Options::default()
    });
    Some((engine, generated.request?, generated.text))
}
