//! Parse throughput for named query shapes (short, typical, long ≈ 2 KB), plus printing.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use userql_syntax::parse_query;

/// A ~2 KB query mixing every construct: fields, lists, ranges, tuples, negations, groups, text.
fn long_query() -> String {
    let clause = "(login: vader, {darth.sidious} or group: {Imperial Army}) and not is: banned \
                  access(project: {Death Star}, with: {Low-level Admin Read}) lastAccess: 2024-01 .. * \
                  has: 2FA \"Darth Vader\" or -name: {Luke Skywalker}";
    let mut query = String::new();
    while query.len() < 2000 {
        if !query.is_empty() {
            query.push_str(" or ");
        }
        query.push_str(clause);
    }
    query
}

fn cases() -> Vec<(&'static str, String)> {
    vec![
        ("short", "login: vader".to_string()),
        (
            "typical",
            "has: 2FA and not is: banned in: {Imperial Army} lastAccess(after: 2024-01-01)"
                .to_string(),
        ),
        ("long", long_query()),
    ]
}

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    for (name, query) in cases() {
        assert!(parse_query(&query).is_ok(), "bench query {name} must parse");
        group.bench_function(name, |b| b.iter(|| parse_query(black_box(&query))));
    }
    group.finish();

    let mut group = c.benchmark_group("print");
    group.throughput(Throughput::Elements(1));
    for (name, query) in cases() {
        if let Ok(parsed) = parse_query(&query) {
            group.bench_function(name, |b| b.iter(|| black_box(&parsed).to_string()));
        }
    }
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
