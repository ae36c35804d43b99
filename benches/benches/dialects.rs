//! Criterion benches of each dialect's translation (request → Hub clauses, `to_hub`) and full
//! answer (translate, evaluate, page, render) over 100k generated users (seed 42).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use userql_benches::peers::userql::UserqlPeer;
use userql_dialects::{answer, parse_query_string, to_hub, Call, Dialect};
use userql_directory::generate::{generate, GenOptions, GEN_NOW_MS};
use userql_directory::Snapshot;
use userql_engine::{Engine, Viewer};

/// Named requests per dialect: the benchmark's c/e/f variants plus typical lookups.
const REQUESTS: [(&str, Dialect, &str); 12] = [
    ("gitlab_search", Dialect::Gitlab, "search=smi"),
    (
        "gitlab_active_2fa",
        Dialect::Gitlab,
        "active=true&two_factor=enabled",
    ),
    (
        "gitlab_created_window",
        Dialect::Gitlab,
        "created_after=2022-01-02&created_before=2024-01-01&active=true",
    ),
    ("gitlab_username", Dialect::Gitlab, "username=guest"),
    ("tfe_q", Dialect::Tfe, "q=smi&filter[suspended]=false"),
    ("tfe_admins", Dialect::Tfe, "filter[admin]=true"),
    (
        "hub_query",
        Dialect::Hub,
        "query=state:%20active%20has:%202FA&%24top=20",
    ),
    (
        "arcgis_search",
        Dialect::Arcgis,
        "f=json&filter=mar&maxCount=20",
    ),
    ("gitlab_enterprise", Dialect::GitlabEnterprise, "search=smi"),
    (
        "gitlab_keyset_id",
        Dialect::Gitlab,
        "active=true&pagination=keyset&per_page=20",
    ),
    (
        "gitlab_keyset_name",
        Dialect::Gitlab,
        "active=true&pagination=keyset&order_by=name&sort=asc&per_page=20",
    ),
    (
        "gitlab_order_updated",
        Dialect::Gitlab,
        "active=true&order_by=updated_at&page=3",
    ),
];

fn snapshot() -> &'static Arc<Snapshot> {
    static SNAPSHOT: OnceLock<Arc<Snapshot>> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let model = generate(&GenOptions {
            users: 100_000,
            seed: 42,
        });
        Arc::clone(UserqlPeer::build(Arc::new(model)).snapshot())
    })
}

fn bench_dialects(c: &mut Criterion) {
    let snapshot = snapshot();
    let engine = Engine::default();
    let mut translate = c.benchmark_group("dialect_translate");
    for (name, dialect, query) in REQUESTS {
        let call = Call {
            dialect,
            params: parse_query_string(query),
            viewer: Viewer::Admin,
            now: GEN_NOW_MS,
            engine: &engine,
            snapshot,
        };
        translate.bench_with_input(BenchmarkId::from_parameter(name), &call, |b, call| {
            b.iter(|| to_hub(call).map(|s| s.len()).unwrap_or(0))
        });
    }
    translate.finish();
    let mut answers = c.benchmark_group("dialect_answer");
    for (name, dialect, query) in REQUESTS {
        let call = Call {
            dialect,
            params: parse_query_string(query),
            viewer: Viewer::Admin,
            now: GEN_NOW_MS,
            engine: &engine,
            snapshot,
        };
        answers.bench_with_input(BenchmarkId::from_parameter(name), &call, |b, call| {
            b.iter(|| answer(call).response.body.len())
        });
    }
    answers.finish();
}

criterion_group! {
    name = dialects;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = bench_dialects
}
criterion_main!(dialects);
