//! The builder generates every key and tuple of the catalogue, so a key added to the language is
//! in the differential test and the fuzz targets (and fails this test until it is).

use userql_syntax::catalogue;
use userql_testkit::{query, ClauseSpec, DirectorySpec, QuerySpec, ValueSpec};

#[test]
fn every_catalogue_key_and_tuple_is_generated_and_parses() {
    // The first pseudo-random byte string whose directory has every table filled.
    let model = (1..200u64)
        .filter_map(|seed| {
            let mut state = seed;
            let bytes: Vec<u8> = (0..4096)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    (state >> 33) as u8
                })
                .collect();
            userql_testkit::model_from(&bytes)
        })
        .find(|m| {
            !m.users.is_empty()
                && !m.groups.is_empty()
                && !m.teams.is_empty()
                && !m.projects.is_empty()
        })
        .expect("some byte string fills every table");
    let mut seen = std::collections::BTreeSet::new();
    for key in 0..=u8::MAX {
        for pick in 0..8 {
            let spec = QuerySpec::Clause(ClauseSpec {
                key,
                pick,
                value: ValueSpec::Exact { case: 0 },
            });
            let text = query(&model, &spec);
            let parsed = userql_syntax::parse_query(&text);
            assert!(parsed.is_ok(), "{text:?} does not parse: {parsed:?}");
            let head: String = text.chars().take_while(|c| c.is_alphanumeric()).collect();
            seen.insert(head.to_lowercase());
        }
    }
    let keys = catalogue::FIELD_KEYS.iter().map(|k| k.name);
    let tuples = catalogue::TUPLES.iter().map(|t| t.name);
    let missing: Vec<&str> = keys
        .chain(tuples)
        .filter(|k| !seen.contains(&k.to_lowercase()))
        .collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
}

#[test]
fn an_empty_spec_builds_a_valid_directory() {
    let spec = DirectorySpec {
        roles: vec![],
        projects: vec![],
        groups: vec![],
        teams: vec![],
        grants: vec![],
        users: vec![],
    };
    let model = userql_testkit::model(&spec);
    assert_eq!(model.users.count(), 0);
    assert_eq!(
        model.roles.len(),
        1,
        "grants always have a role to point at"
    );
    let saved = userql_directory::save::save_json(&model);
    assert_eq!(userql_directory::load_json(&saved).ok(), Some(model));
}
