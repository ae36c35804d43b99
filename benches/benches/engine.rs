//! Criterion benches of the engine's phases over a generated directory (100k users, seed 42):
//! parsing, binding + planning, each index access kind, bitmap combination order, first-page
//! ordering (walk vs select), and projection to JSON. Cases are named in tables; the data is
//! built once. Wall-clock only — nothing here gates CI.

use std::ops::Bound;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use roaring::RoaringBitmap;
use userql_benches::extras::corpus;
use userql_benches::peers::userql::UserqlPeer;
use userql_benches::workload::{cases, pick_values, Case, Values};
use userql_directory::generate::{generate, GenOptions, GEN_NOW_MS};
use userql_directory::index::{
    AccessScope, Flag, Indexes, PrefixField, SortKey, TermField, TextField, TimeColumn,
};
use userql_directory::model::{Row, State};
use userql_directory::Snapshot;
use userql_engine::{execute, order, plan, project, Engine, Visibility};

const USERS: usize = 100_000;

struct Data {
    snapshot: Arc<Snapshot>,
    values: Values,
    cases: Vec<Case>,
}

fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        let model = generate(&GenOptions {
            users: USERS,
            seed: 42,
        });
        let values = pick_values(&model);
        let cases = cases(&model, &values);
        let peer = UserqlPeer::build(Arc::new(model));
        Data {
            snapshot: Arc::clone(peer.snapshot()),
            values,
            cases,
        }
    })
}

fn configured() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

fn bench_parse(c: &mut Criterion) {
    let data = data();
    let engine = Engine::default();
    let mut mixed: Vec<&str> = corpus();
    mixed.extend(data.cases.iter().map(|c| c.hub.as_str()));
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(mixed.len() as u64));
    group.bench_function("mixed_corpus", |b| {
        b.iter(|| {
            mixed
                .iter()
                .filter(|q| engine.parse(black_box(q)).is_ok())
                .count()
        })
    });
    group.throughput(Throughput::Elements(1));
    for case in &data.cases {
        group.bench_with_input(
            BenchmarkId::new("query", case.letter),
            &case.hub,
            |b, text| b.iter(|| engine.parse(black_box(text))),
        );
    }
    group.finish();
}

fn bench_bind_plan(c: &mut Criterion) {
    let data = data();
    let engine = Engine::default();
    let snapshot = &data.snapshot;
    let mut group = c.benchmark_group("bind_plan");
    for case in &data.cases {
        let Ok(request) = UserqlPeer::request(&engine, case) else {
            continue;
        };
        group.bench_with_input(
            BenchmarkId::from_parameter(case.letter),
            &request,
            |b, request| {
                b.iter(|| {
                    engine
                        .bind(snapshot, request)
                        .map(|expr| plan::plan(&expr, &snapshot.model, &snapshot.index))
                })
            },
        );
    }
    group.finish();
}

fn bench_index_access(c: &mut Criterion) {
    let data = data();
    let index: &Indexes = &data.snapshot.index;
    let values = &data.values;
    let developer = index.resolve_role("Developer");
    let created_lo = 1_641_081_600_000; // 2022-01-02T00:00Z
    let created_hi = 1_704_153_600_000; // 2024-01-02T00:00Z
    type Access<'a> = Box<dyn Fn() -> u64 + 'a>;
    let table: Vec<(&str, Access<'_>)> = vec![
        (
            "term_login",
            Box::new(|| index.term(TermField::Login, &values.login).len()),
        ),
        (
            "term_email",
            Box::new(|| index.term(TermField::Email, &values.email).len()),
        ),
        (
            "prefix_name_mar",
            Box::new(|| index.prefix(PrefixField::Name, "mar").len()),
        ),
        (
            "substring_login_smi",
            Box::new(|| index.substring(TextField::Login, "smi").len()),
        ),
        (
            "substring_name_smi",
            Box::new(|| index.substring(TextField::Name, "smi").len()),
        ),
        (
            "time_range_created",
            Box::new(|| {
                index
                    .time_range(
                        TimeColumn::Created,
                        Bound::Included(created_lo),
                        Bound::Excluded(created_hi),
                    )
                    .len()
            }),
        ),
        (
            "flag_2fa_and_active",
            Box::new(|| {
                index
                    .flag(Flag::TwoFactor)
                    .intersection_len(index.state(State::Active))
            }),
        ),
        (
            "group_subtree",
            Box::new(|| index.group_transitive(values.group).len()),
        ),
        (
            "access_project_developer",
            Box::new(|| {
                index
                    .access(AccessScope::Project(values.project), Some(&developer))
                    .len()
            }),
        ),
        (
            "access_any_developer",
            Box::new(|| index.access(AccessScope::Any, Some(&developer)).len()),
        ),
    ];
    let mut group = c.benchmark_group("index");
    for (name, access) in &table {
        group.bench_function(*name, |b| b.iter(access));
    }
    group.finish();
}

/// Four bitmaps of very different sizes, given largest first (the naive order of `state: active
/// has: 2FA lastAccess(…) in: G1` as written).
fn four_bitmaps() -> Vec<RoaringBitmap> {
    let data = data();
    let index = &data.snapshot.index;
    let recent = GEN_NOW_MS - 90 * 86_400_000;
    vec![
        index.state(State::Active).clone(),
        index.flag(Flag::TwoFactor).clone(),
        index.time_range(
            TimeColumn::LastAccess,
            Bound::Excluded(recent),
            Bound::Unbounded,
        ),
        index
            .group_transitive(data.values.other_groups[0])
            .to_bitmap(),
    ]
}

fn bench_bitmap_and(c: &mut Criterion) {
    let bitmaps = four_bitmaps();
    let mut smallest_first: Vec<&RoaringBitmap> = bitmaps.iter().collect();
    smallest_first.sort_by_key(|b| b.len());
    let mut group = c.benchmark_group("and4");
    group.bench_function("given_order", |b| {
        b.iter(|| {
            let mut acc = bitmaps[0].clone();
            for other in &bitmaps[1..] {
                acc &= other;
            }
            acc.len()
        })
    });
    group.bench_function("smallest_first", |b| {
        b.iter(|| {
            let mut acc = smallest_first[0].clone();
            for other in &smallest_first[1..] {
                if acc.is_empty() {
                    break;
                }
                acc &= *other;
            }
            acc.len()
        })
    });
    group.bench_function("smallest_first_count_last", |b| {
        b.iter(|| {
            let mut acc = smallest_first[0].clone();
            for other in &smallest_first[1..smallest_first.len() - 1] {
                acc &= *other;
            }
            acc.intersection_len(smallest_first[smallest_first.len() - 1])
        })
    });
    group.finish();
}

fn walk(index: &Indexes, rows: &RoaringBitmap, want: usize) -> Vec<Row> {
    index
        .order(SortKey::Login, false)
        .iter()
        .copied()
        .filter(|&r| rows.contains(r))
        .take(want)
        .collect()
}

fn select(index: &Indexes, rows: &RoaringBitmap, want: usize) -> Vec<Row> {
    let rank = index.rank(SortKey::Login, false);
    let mut all: Vec<Row> = rows.iter().collect();
    if all.len() > want {
        all.select_nth_unstable_by_key(want - 1, |&r| rank[r as usize]);
        all.truncate(want);
    }
    all.sort_unstable_by_key(|&r| rank[r as usize]);
    all
}

fn bench_first_page(c: &mut Criterion) {
    let data = data();
    let snapshot = &data.snapshot;
    let engine = Engine::default();
    let mut group = c.benchmark_group("first_page");
    for letter in ['e', 'h', 'k'] {
        let Some(case) = data.cases.iter().find(|c| c.letter == letter) else {
            continue;
        };
        let Ok(rows) = UserqlPeer::request(&engine, case).and_then(|r| {
            engine
                .matches(snapshot, &r)
                .map_err(|e| userql_benches::peers::userql::query_error(case, &e))
        }) else {
            continue;
        };
        let label = format!("{letter}_{}rows", rows.len());
        // Build the lazy permutation outside the measurement.
        let _ = snapshot.index.order(SortKey::Login, false);
        group.bench_with_input(BenchmarkId::new("walk", &label), &rows, |b, rows| {
            b.iter(|| walk(&snapshot.index, rows, 20))
        });
        group.bench_with_input(BenchmarkId::new("select", &label), &rows, |b, rows| {
            b.iter(|| select(&snapshot.index, rows, 20))
        });
        group.bench_with_input(BenchmarkId::new("engine_page", &label), &rows, |b, rows| {
            b.iter(|| order::page(snapshot, rows, &[(SortKey::Login, false)], 0, 20))
        });
    }
    group.finish();
}

fn bench_execute(c: &mut Criterion) {
    let data = data();
    let snapshot = &data.snapshot;
    let engine = Engine::default();
    let mut group = c.benchmark_group("execute");
    for case in &data.cases {
        let Ok(expr) = UserqlPeer::request(&engine, case).and_then(|r| {
            engine
                .bind(snapshot, &r)
                .map_err(|e| userql_benches::peers::userql::query_error(case, &e))
        }) else {
            continue;
        };
        let plan = plan::plan(&expr, &snapshot.model, &snapshot.index);
        group.bench_with_input(
            BenchmarkId::from_parameter(case.letter),
            &plan,
            |b, plan| {
                b.iter(|| {
                    execute::execute(plan, &snapshot.model, &snapshot.index)
                        .0
                        .len()
                })
            },
        );
    }
    group.finish();
}

fn bench_projection(c: &mut Criterion) {
    let data = data();
    let snapshot: &Snapshot = &data.snapshot;
    let page: Vec<Row> = data.snapshot.index.order(SortKey::Login, false)[..20].to_vec();
    let selection =
        userql_syntax::parse_fields("id,login,name,groups(id,name),profile/email/email").ok();
    let mut group = c.benchmark_group("projection");
    group.throughput(Throughput::Elements(page.len() as u64));
    group.bench_function("page_default_fields", |b| {
        b.iter(|| {
            project::page_json(snapshot, &page, 0, 20, 1000, Visibility::ADMIN, None).to_string()
        })
    });
    group.bench_function("page_selected_fields", |b| {
        b.iter(|| {
            project::page_json(
                snapshot,
                &page,
                0,
                20,
                1000,
                Visibility::ADMIN,
                selection.as_ref(),
            )
            .to_string()
        })
    });
    group.bench_function("full_user_objects", |b| {
        b.iter(|| {
            page.iter()
                .map(|&r| {
                    project::user_json(snapshot, r, Visibility::ADMIN)
                        .to_string()
                        .len()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group! {
    name = engine;
    config = configured();
    targets = bench_parse, bench_bind_plan, bench_index_access, bench_bitmap_and, bench_first_page,
        bench_execute, bench_projection
}
criterion_main!(engine);
