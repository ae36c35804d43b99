//! Query assist (hub-query.md, "Query assist"): highlighting and completion on tiny.json.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use userql_directory::index::Indexes;
use userql_directory::{load_json, Snapshot};
use userql_engine::assist::{assist, Assist, Style, Suggestion, MAX_SUGGESTIONS};

fn tiny() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../userql/tests/data/tiny.json"
        );
        let bytes = std::fs::read(path).expect("tiny.json is readable");
        let model = load_json(&bytes).expect("tiny.json is valid");
        let index = Indexes::build(&model);
        Snapshot::indexed(0, Arc::new(model), Arc::new(index))
    })
}

/// Assist with the caret at the end of the query.
fn at_end(query: &str) -> Assist {
    assist(tiny(), query, query.len())
}

/// Assist with the caret where `|` is written (the `|` is removed).
fn at_bar(marked: &str) -> Assist {
    let caret = marked.find('|').expect("a caret marker");
    let query = marked.replacen('|', "", 1);
    assist(tiny(), &query, caret)
}

fn options(answer: &Assist) -> Vec<&str> {
    answer
        .suggestions
        .iter()
        .map(|s| s.option.as_str())
        .collect()
}

fn find<'a>(answer: &'a Assist, option: &str) -> &'a Suggestion {
    answer
        .suggestions
        .iter()
        .find(|s| s.option == option)
        .unwrap_or_else(|| panic!("no suggestion {option:?} in {:?}", options(answer)))
}

fn styles(answer: &Assist) -> Vec<(Style, &str)> {
    answer
        .style_ranges
        .iter()
        .map(|r| (r.style, &answer.query[r.start..r.start + r.length]))
        .collect()
}

fn errors(answer: &Assist) -> Vec<&str> {
    styles(answer)
        .into_iter()
        .filter(|(style, _)| *style == Style::Error)
        .map(|(_, text)| text)
        .collect()
}

mod completion {
    use super::*;

    #[test]
    fn an_empty_query_offers_keys_tuples_and_not() {
        let answer = at_end("");
        let login = find(&answer, "login");
        assert_eq!((login.prefix.as_str(), login.suffix.as_str()), ("", ": "));
        assert_eq!(login.apply(""), "login: ");
        assert_eq!(login.caret, 7);
        assert_eq!(answer.suggestions.len(), MAX_SUGGESTIONS);
        assert!(
            !options(&answer).contains(&"and"),
            "no 'and' before any item"
        );
        assert!(answer.style_ranges.is_empty());
    }

    #[test]
    fn a_partial_key_is_replaced_by_the_key_and_a_colon() {
        let answer = at_end("vader gr");
        let group = find(&answer, "group");
        assert_eq!((group.completion_start, group.completion_end), (6, 8));
        assert_eq!((group.matching_start, group.matching_end), (0, 2));
        assert_eq!(group.apply(&answer.query), "vader group: ");
        assert_eq!(group.caret, "vader group: ".len());
        assert_eq!(group.group, "keys");
    }

    #[test]
    fn a_partial_tuple_name_gets_its_parenthesis() {
        let answer = at_end("acc");
        let access = find(&answer, "access");
        assert_eq!(access.suffix, "(");
        assert_eq!(access.apply("acc"), "access(");
    }

    #[test]
    fn group_values_come_from_the_directory_braced_when_spaced() {
        let answer = at_end("group: ");
        let names = options(&answer);
        for group in [
            "Imperial Army",
            "Stormtroopers",
            "501st Legion",
            "Rogue Squadron",
            "Jedi Order",
        ] {
            assert!(names.contains(&group), "{group} missing from {names:?}");
        }
        let army = find(&answer, "Imperial Army");
        assert_eq!((army.prefix.as_str(), army.suffix.as_str()), ("{", "} "));
        assert_eq!(army.apply(&answer.query), "group: {Imperial Army} ");
        let troopers = find(&answer, "Stormtroopers");
        assert_eq!(troopers.apply(&answer.query), "group: Stormtroopers ");
    }

    #[test]
    fn a_partly_typed_braced_value_is_matched_without_its_brace() {
        let answer = at_end("group: {imp");
        assert_eq!(options(&answer), vec!["Imperial Army", "Imperial Navy"]);
        let navy = find(&answer, "Imperial Navy");
        assert_eq!((navy.completion_start, navy.completion_end), (7, 11));
        assert_eq!((navy.matching_start, navy.matching_end), (0, 3));
        assert_eq!(navy.apply(&answer.query), "group: {Imperial Navy} ");
    }

    #[test]
    fn substring_matches_follow_prefix_matches() {
        let answer = at_end("group: r");
        let names = options(&answer);
        assert_eq!(names.first(), Some(&"Rebels"));
        assert!(names.contains(&"Imperial Army"), "contains 'r': {names:?}");
        let army = find(&answer, "Imperial Army");
        assert_eq!((army.matching_start, army.matching_end), (4, 5));
    }

    #[test]
    fn in_offers_groups_and_teams() {
        let names: Vec<String> = at_end("in: ")
            .suggestions
            .into_iter()
            .map(|s| s.option)
            .collect();
        assert!(names.contains(&"Yavin Team".to_owned()));
        assert!(names.contains(&"Imperial Army".to_owned()));
    }

    #[test]
    fn tuples_offer_their_arguments_and_argument_values() {
        let answer = at_end("access(");
        assert_eq!(
            options(&answer),
            vec!["project", "organization", "with", "role", "permission"]
        );
        assert_eq!(find(&answer, "with").apply(&answer.query), "access(with: ");

        let projects = at_end("access(project: ");
        let names = options(&projects);
        for value in ["Death Star", "DS", "Executor", "EX", "Yavin Base", "YB"] {
            assert!(names.contains(&value), "{value} missing from {names:?}");
        }
        let after_comma = at_end("access(project: DS, ");
        assert!(options(&after_comma).contains(&"with"));
        let with = at_end("access(project: DS, with: Dev");
        assert_eq!(options(&with), vec!["Developer"]);
        let permission = at_end("access(permission: read");
        assert_eq!(
            options(&permission),
            vec![
                "Read Issue",
                "Read Project",
                "Read Auth Module",
                "Low-level Admin Read"
            ]
        );
    }

    #[test]
    fn closed_values_of_is_has_and_state() {
        assert!(options(&at_end("is: ")).contains(&"banned"));
        let answer = at_end("has: ref");
        let refresh = find(&answer, "refresh token");
        assert_eq!(refresh.apply(&answer.query), "has: {refresh token} ");
        assert_eq!(options(&at_end("state: ldap")), vec!["ldap_blocked"]);
    }

    #[test]
    fn auth_modules_offer_types_and_names() {
        let names: Vec<String> = at_end("authModule: ")
            .suggestions
            .into_iter()
            .map(|s| s.option)
            .collect();
        for module in ["ldap", "google", "Corporate LDAP", "Rebel SSO"] {
            assert!(
                names.contains(&module.to_owned()),
                "{module} missing from {names:?}"
            );
        }
    }

    #[test]
    fn logins_complete_from_the_prefix_index() {
        let answer = at_end("login: va");
        assert_eq!(options(&answer), vec!["vader"]);
        assert_eq!(find(&answer, "vader").group, "users");
    }

    #[test]
    fn after_an_item_keywords_come_first() {
        let answer = at_end("vader ");
        assert_eq!(&options(&answer)[..3], &["and", "or", "not"]);
        assert_eq!(find(&answer, "and").apply(&answer.query), "vader and ");
    }

    #[test]
    fn a_caret_inside_a_token_replaces_the_whole_token() {
        let answer = at_bar("group: Storm|tro and vader");
        let troopers = find(&answer, "Stormtroopers");
        assert_eq!(
            (troopers.completion_start, troopers.completion_end),
            (7, 15)
        );
        assert_eq!(
            troopers.apply(&answer.query),
            "group: Stormtroopers and vader"
        );
    }

    #[test]
    fn a_key_already_followed_by_a_colon_gets_no_second_colon() {
        let answer = at_bar("gro|up: Rebels");
        assert_eq!(find(&answer, "group").apply(&answer.query), "group: Rebels");
    }

    #[test]
    fn the_caret_before_a_closing_parenthesis_completes_an_argument() {
        let answer = at_bar("access(project: DS, |)");
        assert!(options(&answer).contains(&"with"));
    }
}

mod highlighting {
    use super::*;

    #[test]
    fn a_valid_query_is_styled_token_by_token() {
        let answer =
            at_end("login: vader and not has: 2FA or access(project: DS) \"dark lord\" text");
        assert_eq!(
            styles(&answer),
            vec![
                (Style::FieldName, "login"),
                (Style::FieldName, ":"),
                (Style::FieldValue, "vader"),
                (Style::Operator, "and"),
                (Style::Operator, "not"),
                (Style::FieldName, "has"),
                (Style::FieldName, ":"),
                (Style::FieldValue, "2FA"),
                (Style::Operator, "or"),
                (Style::FieldName, "access"),
                (Style::Operator, "("),
                (Style::FieldName, "project"),
                (Style::FieldName, ":"),
                (Style::FieldValue, "DS"),
                (Style::Operator, ")"),
                (Style::Text, "\"dark lord\""),
                (Style::Text, "text"),
            ]
        );
    }

    #[test]
    fn ranges_and_value_lists_are_operators_between_values() {
        let answer = at_end("created: 2018-01-01 .. * group: Rebels, {Rogue Squadron} -is: banned");
        assert_eq!(
            styles(&answer),
            vec![
                (Style::FieldName, "created"),
                (Style::FieldName, ":"),
                (Style::FieldValue, "2018-01-01"),
                (Style::Operator, ".."),
                (Style::FieldValue, "*"),
                (Style::FieldName, "group"),
                (Style::FieldName, ":"),
                (Style::FieldValue, "Rebels"),
                (Style::Operator, ","),
                (Style::FieldValue, "{Rogue Squadron}"),
                (Style::Operator, "-"),
                (Style::FieldName, "is"),
                (Style::FieldName, ":"),
                (Style::FieldValue, "banned"),
            ]
        );
    }

    #[test]
    fn unknown_names_are_errors() {
        let answer = at_end(
            "lgoin: x is: bannd group: Nope access(projet: DS) acces(with: x) team: {Yavin Team}",
        );
        assert_eq!(
            errors(&answer),
            vec!["lgoin", "bannd", "Nope", "projet", "acces"]
        );
    }

    #[test]
    fn broken_queries_get_error_ranges_and_still_suggestions() {
        let answer = at_end("(group: Rebels ) ) login: {Imp");
        assert_eq!(errors(&answer), vec![")", "{Imp"]);
        let unclosed = at_end("(vader or (");
        assert_eq!(errors(&unclosed), vec!["(", "("]);
        assert!(!unclosed.suggestions.is_empty());
        let missing = at_end("login: ) vader");
        assert_eq!(errors(&missing), vec![":", ")"]);
        assert_eq!(errors(&at_end("\"open phrase")), vec!["\"open phrase"]);
    }

    #[test]
    fn the_answer_has_hubs_json_shape() {
        let answer = at_end("group: {Imp");
        let json = serde_json::to_value(&answer).expect("serializable");
        let keys: Vec<&String> = json.as_object().expect("an object").keys().collect();
        assert_eq!(keys, vec!["query", "caret", "styleRanges", "suggestions"]);
        assert_eq!(
            json["styleRanges"][0],
            serde_json::json!({"style": "field_name", "start": 0, "length": 5})
        );
        let suggestion: Vec<&String> = json["suggestions"][0]
            .as_object()
            .expect("an object")
            .keys()
            .collect();
        assert_eq!(
            suggestion,
            vec![
                "prefix",
                "option",
                "suffix",
                "description",
                "matchingStart",
                "matchingEnd",
                "caret",
                "completionStart",
                "completionEnd",
                "group"
            ]
        );
    }
}

mod robustness {
    use super::*;

    fn check_invariants(query: &str, caret: usize) {
        let answer = assist(tiny(), query, caret);
        assert!(answer.caret <= query.len() && query.is_char_boundary(answer.caret));
        let mut last_end = 0;
        for range in &answer.style_ranges {
            let end = range.start + range.length;
            assert!(
                range.length > 0 && end <= query.len(),
                "{range:?} in {query:?}"
            );
            assert!(query.is_char_boundary(range.start) && query.is_char_boundary(end));
            assert!(
                range.start >= last_end,
                "overlapping ranges in {query:?}: {:?}",
                answer.style_ranges
            );
            last_end = end;
        }
        assert!(answer.suggestions.len() <= MAX_SUGGESTIONS);
        for suggestion in &answer.suggestions {
            assert!(
                suggestion.completion_start <= answer.caret
                    && answer.caret <= suggestion.completion_end
            );
            assert!(suggestion.completion_end <= query.len());
            assert!(suggestion.matching_start <= suggestion.matching_end);
            assert!(suggestion.matching_end <= suggestion.option.len());
            let applied = suggestion.apply(query);
            assert!(
                suggestion.caret <= applied.len() && applied.is_char_boundary(suggestion.caret)
            );
        }
    }

    #[test]
    fn every_caret_position_of_some_queries_is_answered() {
        for query in [
            "login: vader and not has: 2FA",
            "access(project: DS, with: Developer) group: {Imperial Army}, Rebels",
            "lastAccess(after: {30 days ago}) created: 2018-01-01 .. * -is: banned",
            "((( group: {Imp \"x  , .. : ) ) ) }{",
            "nöme: Éçole 名前: 値 access(",
        ] {
            for caret in 0..=query.len() + 2 {
                check_invariants(query, caret);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text_and_caret_never_panic(query in "\\PC{0,40}", caret in 0usize..64) {
            check_invariants(&query, caret);
        }

        #[test]
        fn query_like_text_never_panics(
            query in "[a-z:(){}\", .\\-]{0,40}|(login|group|access|has|is|in|not|and|\\(|\\)|:|,|\\{|\\}|\"|\\.\\.| ){0,12}",
            caret in 0usize..64,
        ) {
            check_invariants(&query, caret);
        }
    }
}

/// Prints assist latency on the built-in demo directory (run with `--ignored --nocapture`);
/// asserts nothing about time, only that answers come back.
#[test]
#[ignore]
fn assist_latency_on_the_demo_directory() {
    let model = userql_directory::generate::demo();
    let index = Indexes::build(&model);
    let demo = Snapshot::indexed(0, Arc::new(model), Arc::new(index));
    let queries = [
        "",
        "gr",
        "group: ",
        "in: {a",
        "access(project: ",
        "authModule: ",
        "login: ma",
        "name: mar",
        "has: 2FA and not is: banned or group: Nope access(with: Dev",
    ];
    for query in queries {
        let started = std::time::Instant::now();
        let rounds = 200;
        let mut count = 0;
        for _ in 0..rounds {
            count += assist(&demo, query, query.len()).suggestions.len();
        }
        let each = started.elapsed() / rounds;
        println!(
            "{query:?}: {each:?} per call, {} suggestions",
            count / rounds as usize
        );
        assert!(count > 0 || query.is_empty());
    }
}

/// Logins added since the indexes were built (the store's overlay) are offered like the rest.
#[test]
fn login_values_see_changes_not_yet_indexed() {
    use userql_directory::raw;
    use userql_directory::store::{Store, StoreOptions, Update};

    let model = tiny().model.as_ref().clone();
    let options = StoreOptions {
        max_dirty: 1_000,
        max_delta: 0,
        background: false,
        idle_compaction: None,
    };
    let store = Store::with_options(model, options);
    store
        .apply(&[
            Update::AddUser(raw::User {
                id: "u-rey".into(),
                login: "rey".into(),
                created_at: "2026-01-05T08:00:00Z".into(),
                ..raw::User::default()
            }),
            Update::SetState {
                id: "u-leia".into(),
                state: "blocked".into(),
            },
        ])
        .expect("a valid batch");
    let snapshot = store.snapshot();
    assert!(snapshot.has_overlay(), "the change is not indexed yet");
    let offered = |query: &str| -> Vec<String> {
        assist(&snapshot, query, query.len())
            .suggestions
            .into_iter()
            .map(|s| s.option)
            .collect()
    };
    assert!(offered("login: re").contains(&"rey".to_string()));
    assert!(
        offered("login: le").contains(&"leia".to_string()),
        "changed, still there"
    );
    assert!(offered("login: lu").contains(&"luke".to_string()));
}
