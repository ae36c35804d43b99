//! CI smoke test: the whole comparison at 10k users — every peer must give the same counts and
//! first pages for every query. No timing is asserted (the machines are noisy).

use std::time::Duration;

use userql_benches::extras::{dialects, parse_throughput, update_throughput};
use userql_benches::harness::{compare, RunOptions};
use userql_benches::peers::sqlite::sql_for;
use userql_benches::report;
use userql_benches::workload::{cases, pick_values};
use userql_directory::generate::{generate, GenOptions};

#[test]
fn all_peers_agree_at_ten_thousand_users() {
    let options = RunOptions {
        users: 10_000,
        seed: 42,
        reps: 1,
        budget: Duration::ZERO,
    };
    let (comparison, setup) = match compare(&options) {
        Ok(done) => done,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(comparison.results.len(), 12);
    let letters: String = comparison.results.iter().map(|r| r.case.letter).collect();
    assert_eq!(letters, "abcdefghijkl");
    assert_eq!(
        comparison.peers,
        ["userql", "sqlite", "sqlite-fts5", "scan"]
    );
    for result in &comparison.results {
        let expected_peers = if result.case.letter == 'c' { 4 } else { 3 };
        assert_eq!(
            result.timings.len(),
            expected_peers,
            "query {}",
            result.case.letter
        );
    }
    let rows = |letter: char| {
        comparison
            .results
            .iter()
            .find(|r| r.case.letter == letter)
            .map_or(0, |r| r.rows)
    };
    // The workload is meaningful: the exact lookups find their user, the broad queries many.
    assert_eq!(rows('a'), 1, "L is an existing login");
    assert!(rows('b') >= 1, "E is an existing email");
    for letter in ['c', 'd', 'e', 'f', 'g', 'h', 'i', 'l'] {
        assert!(
            rows(letter) > 10,
            "query {letter} should match many users, got {}",
            rows(letter)
        );
    }
    assert!(rows('e') > rows('k'), "k narrows e");

    let table = report::query_table(&comparison);
    assert_eq!(table.lines().count(), 2 + 12);
    assert!(table.lines().nth(2).is_some_and(|l| l.starts_with("| a |")));

    // The extras run on the same data without failing.
    let parse = parse_throughput(&setup.cases, Duration::from_millis(10));
    assert!(parse.parsed >= parse.queries as u64);
    let dialect_results = dialects(setup.userql.snapshot(), 1, Duration::ZERO);
    assert_eq!(dialect_results.len(), 9);
    for r in &dialect_results {
        assert_eq!(r.status, 200, "{} {}", r.dialect, r.query_string);
    }
    let reader = setup.cases[4].clone();
    let updates = match update_throughput(&setup.model, &reader, 2, Duration::ZERO) {
        Ok(u) => u,
        Err(e) => panic!("{e}"),
    };
    assert!(updates.updates >= 1);
}

#[test]
fn values_are_deterministic_and_the_subtree_is_about_fifteen_groups() {
    let model = generate(&GenOptions {
        users: 2_000,
        seed: 42,
    });
    let values = pick_values(&model);
    assert_eq!(values, pick_values(&model));
    let subtree = (0..model.groups.len())
        .filter(|&g| {
            let mut cur = Some(userql_directory::model::GroupIdx(g as u32));
            while let Some(c) = cur {
                if c == values.group {
                    return true;
                }
                cur = model.groups[c.index()].parent;
            }
            false
        })
        .count();
    assert!((10..=20).contains(&subtree), "subtree of {subtree} groups");
    assert!(!values.other_groups.contains(&values.group));
    assert_ne!(values.other_groups[0], values.other_groups[1]);
    // Every letter has SQL and a Hub query.
    let all = cases(&model, &values);
    for case in &all {
        assert!(
            sql_for(case.letter, &model, &values).is_some(),
            "no SQL for {}",
            case.letter
        );
    }
}
