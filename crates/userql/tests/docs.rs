//! Every query example in `docs/language.md` is accepted (parses and binds) on the sample
//! directory, and every key, tuple and `is:`/`has:` value the language knows has an example, so the
//! user documentation cannot drift from the implementation.

use chrono::{TimeZone, Utc};
use userql::{Directory, Error, HubQuery, Store};

const LANGUAGE: &str = include_str!("../../../docs/language.md");

/// The inline code spans of a markdown table cell.
fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The cells of a table row (`|` inside code spans is kept: the docs escape none).
fn cells(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut current = String::new();
    let mut in_code = false;
    for ch in line.trim().trim_matches('|').chars() {
        match ch {
            '`' => {
                in_code = !in_code;
                current.push(ch);
            }
            '|' if !in_code => cells.push(std::mem::take(&mut current)),
            _ => current.push(ch),
        }
    }
    cells.push(current);
    cells
}

/// Query examples: the `example` column of the key and value tables, and the first column of
/// the "you write" table.
fn examples() -> Vec<String> {
    let mut out = Vec::new();
    let mut column: Option<usize> = None;
    for line in LANGUAGE.lines() {
        if !line.starts_with('|') {
            column = None;
            continue;
        }
        let row = cells(line);
        if row.iter().all(|c| c.trim().chars().all(|ch| ch == '-')) {
            continue;
        }
        match column {
            None => {
                let header: Vec<&str> = row.iter().map(|c| c.trim()).collect();
                column = if header.first() == Some(&"you write") {
                    Some(0)
                } else if header.last() == Some(&"example") && header.first() != Some(&"option") {
                    Some(header.len() - 1)
                } else {
                    Some(usize::MAX)
                };
            }
            Some(i) => {
                if let Some(cell) = row.get(i) {
                    out.extend(code_spans(cell));
                }
            }
        }
    }
    out
}

#[test]
fn every_documented_example_is_accepted() {
    let store = Store::new(
        Directory::from_json(include_bytes!("data/tiny.json")).expect("the sample is valid"),
    );
    let now = Utc.with_ymd_and_hms(2026, 6, 15, 12, 0, 0).unwrap();
    let examples = examples();
    assert!(
        examples.len() > 60,
        "found only {} examples",
        examples.len()
    );
    for example in &examples {
        match store.search(&HubQuery::new(example.as_str()).now(now)) {
            Ok(_) => {}
            Err(Error::Query(e)) => panic!("docs example `{example}` refused:\n{}", e.render()),
            Err(e) => panic!("docs example `{example}`: {e}"),
        }
    }
}

#[test]
fn every_key_tuple_and_value_has_an_example() {
    use userql_syntax::catalogue::{FIELD_KEYS, HAS_VALUES, IS_VALUES, TUPLES};
    let examples = examples().join("\n");
    for key in FIELD_KEYS {
        assert!(
            examples.contains(&format!("{}:", key.name)),
            "no example for key `{}`",
            key.name
        );
    }
    for tuple in TUPLES {
        assert!(
            examples.contains(&format!("{}(", tuple.name)),
            "no example for tuple `{}`",
            tuple.name
        );
    }
    for (key, values) in [("is", IS_VALUES), ("has", HAS_VALUES)] {
        for value in values {
            let written = if value.name.contains(' ') {
                format!("{key}: {{{}}}", value.name)
            } else {
                format!("{key}: {}", value.name)
            };
            let listed =
                examples.contains(&written) || LANGUAGE.contains(&format!("`{{{}}}`", value.name));
            assert!(listed, "no example for `{written}`");
        }
    }
}
