//! The grammar corpus (`grammar/corpus/*.txt`): every valid query parses, prints canonically, and the
//! canonical text parses back to the same tree and prints identically; every invalid query fails with
//! the rendered diagnostic recorded in a snapshot.

use userql_syntax::parse_query;

const VALID: &str = include_str!("../../../grammar/corpus/valid.txt");
const INVALID: &str = include_str!("../../../grammar/corpus/invalid.txt");

/// Entries of a corpus file: one per line, skipping empty lines and `#` comment lines.
fn entries(file: &str) -> Vec<&str> {
    file.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .collect()
}

#[test]
fn corpus_files_are_big_enough() {
    assert!(entries(VALID).len() >= 150);
    assert!(entries(INVALID).len() >= 60);
}

#[test]
fn valid_queries_parse_round_trip_and_print_idempotently() {
    let mut report = String::new();
    for query in entries(VALID) {
        let parsed = match parse_query(query) {
            Ok(parsed) => parsed,
            Err(error) => panic!("valid query {query:?} failed:\n{}", error.render(query)),
        };
        let printed = parsed.to_string();
        let reparsed = match parse_query(&printed) {
            Ok(reparsed) => reparsed,
            Err(error) => panic!(
                "canonical {printed:?} of {query:?} failed:\n{}",
                error.render(&printed)
            ),
        };
        assert_eq!(reparsed, parsed, "{query:?} printed as {printed:?}");
        assert_eq!(
            reparsed.to_string(),
            printed,
            "printing {query:?} is not idempotent"
        );
        report.push_str(&format!("{query}\n    => {printed}\n"));
    }
    insta::assert_snapshot!("valid", report);
}

#[test]
fn invalid_queries_fail_with_a_specific_error() {
    let mut report = String::new();
    for query in entries(INVALID) {
        let error = match parse_query(query) {
            Ok(parsed) => panic!("invalid query {query:?} parsed as {parsed}"),
            Err(error) => error,
        };
        assert!(error.span.start <= error.span.end && error.span.end <= query.len());
        report.push_str(&format!("### {query}\n{}\n", error.render(query)));
    }
    insta::assert_snapshot!("invalid", report);
}
