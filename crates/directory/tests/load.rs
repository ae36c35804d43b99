//! directory.md: loading, validation errors, saving and round trips.

use proptest::prelude::*;
use userql_directory::error::{LoadErrorKind, LoadErrors};
use userql_directory::model::{AccessLevel, State};
use userql_directory::save::{save_json, save_ndjson};
use userql_directory::{load_json, load_ndjson, load_path};

const TINY: &str = include_str!("../../userql/tests/data/tiny.json");

fn tiny() -> userql_directory::model::Model {
    match load_json(TINY.as_bytes()) {
        Ok(model) => model,
        Err(errors) => panic!("tiny.json must load:\n{errors}"),
    }
}

fn errors_of(json: &str) -> LoadErrors {
    match load_json(json.as_bytes()) {
        Ok(_) => panic!("expected errors for:\n{json}"),
        Err(errors) => errors,
    }
}

/// A small valid directory with one slot to break, so each test shows only its mistake.
fn doc(groups: &str, grants: &str, users: &str) -> String {
    format!(
        r#"{{"format": "userql-directory/1",
  "services": [{{"id": "youtrack", "name": "YouTrack"}}],
  "roles": [{{"id": "developer", "name": "Developer"}}],
  "organizations": [{{"id": "o-empire", "name": "Empire"}}],
  "projects": [{{"id": "p-ds", "name": "Death Star", "key": "DS", "organization": "o-empire"}}],
  "groups": [{groups}],
  "grants": [{grants}],
  "users": [{users}]
}}"#
    )
}

const VADER: &str =
    r#"{"id": "u-vader", "login": "vader", "created_at": "2021-09-10T12:48:22.381Z"}"#;
const ARMY: &str = r#"{"id": "g-army", "name": "Army", "parent": null}"#;

mod loading {
    use super::*;

    #[test]
    fn tiny_fixture_loads_with_defaults_filled_in() {
        let model = tiny();
        assert_eq!(model.users.count(), 20);
        let vader = &model.users[1];
        assert_eq!(&*vader.login, "vader");
        assert_eq!(vader.number, 66);
        assert!(vader.number_explicit);
        assert_eq!(vader.created_at, 1_631_278_102_381);
        assert_eq!(vader.groups[1].access, Some(AccessLevel::Owner));
        assert_eq!(model.users[0].number, 1);
        assert!(!model.users[0].number_explicit);
        let tarkin = &model.users[2];
        assert_eq!(tarkin.state, State::Active);
        assert_eq!(&*tarkin.user_type, "human");
        assert_eq!(model.users.records().filter(|u| u.guest).count(), 1);
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let model = tiny();
        let finn = model
            .users
            .records()
            .find(|u| &*u.id == "u-finn")
            .map(|u| u.created_at);
        // 2024-12-19T18:00:00+01:00 == 17:00Z
        assert_eq!(finn, Some(1_734_627_600_000));
    }

    #[test]
    fn json_round_trip_is_equal() {
        let model = tiny();
        let saved = save_json(&model);
        let again = load_json(&saved).map_err(|e| e.to_string());
        assert_eq!(again, Ok(model));
    }

    #[test]
    fn ndjson_round_trip_is_equal() {
        let model = tiny();
        let saved = save_ndjson(&model);
        let again = load_ndjson(&saved).map_err(|e| e.to_string());
        assert_eq!(again, Ok(model));
    }

    #[test]
    fn timestamps_are_saved_as_utc_millis() {
        let saved = String::from_utf8(save_json(&tiny())).unwrap_or_default();
        assert!(saved.contains("\"created_at\": \"2021-09-10T12:48:22.381Z\""));
        assert!(saved.contains("\"created_at\": \"2024-12-19T17:00:00.000Z\""));
        // Only explicit numbers are written.
        assert_eq!(saved.matches("\"number\"").count(), 1);
    }

    #[test]
    fn load_path_picks_the_reader_by_extension() {
        let dir = std::env::temp_dir().join(format!("userql-dirload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let model = tiny();
        let json = dir.join("d.json");
        let ndjson = dir.join("d.ndjson");
        std::fs::write(&json, save_json(&model)).unwrap_or_default();
        std::fs::write(&ndjson, save_ndjson(&model)).unwrap_or_default();
        assert_eq!(load_path(&json).ok().as_ref(), Some(&model));
        assert_eq!(load_path(&ndjson).ok().as_ref(), Some(&model));
        assert!(load_path(&dir.join("d.txt")).is_err());
        std::fs::remove_dir_all(&dir).unwrap_or_default();
    }
}

mod invalid {
    use super::*;

    #[test]
    fn dangling_reference_names_object_field_and_id() {
        let users = VADER.replace(r#""login""#, r#""groups": ["g-nope"], "login""#);
        let errors = errors_of(&doc(ARMY, "", &users));
        insta::assert_snapshot!(errors.to_string(), @r#"users[0] (id u-vader), field `groups[0]`: unknown group id "g-nope""#);
    }

    #[test]
    fn group_cycle_names_the_groups() {
        let groups = r#"{"id": "g-a", "name": "A", "parent": "g-c"},
            {"id": "g-b", "name": "B", "parent": "g-a"},
            {"id": "g-c", "name": "C", "parent": "g-b"},
            {"id": "g-root", "name": "Root"}"#;
        let errors = errors_of(&doc(groups, "", VADER));
        insta::assert_snapshot!(errors.to_string(), @"groups[0] (id g-a), field `parent`: group cycle: g-a -> g-c -> g-b -> g-a");
    }

    #[test]
    fn duplicate_login_up_to_case() {
        let users = format!(
            r#"{VADER}, {{"id": "u-anakin", "login": "VADER", "created_at": "2020-01-01T00:00:00Z"}}"#
        );
        let errors = errors_of(&doc(ARMY, "", &users));
        insta::assert_snapshot!(errors.to_string(), @r#"users[1] (id u-anakin), field `login`: duplicate login "VADER" (case-insensitive; first used by users[0] (id u-vader))"#);
    }

    #[test]
    fn bad_timestamp_names_field_and_value() {
        let users = VADER.replace("2021-09-10T12:48:22.381Z", "2021-13-10 noon");
        let errors = errors_of(&doc(ARMY, "", &users));
        insta::assert_snapshot!(errors.to_string(), @r#"users[0] (id u-vader), field `created_at`: invalid RFC 3339 timestamp "2021-13-10 noon": premature end of input"#);
    }

    #[test]
    fn unknown_field_is_reported_with_its_place() {
        let users = VADER.replace(r#""login""#, r#""logn": "x", "login""#);
        let errors = errors_of(&doc(ARMY, "", &users));
        assert_eq!(errors.errors.len(), 1);
        assert_eq!(
            errors.errors[0].kind,
            LoadErrorKind::UnknownField {
                name: "logn".to_owned()
            }
        );
        insta::assert_snapshot!(errors.to_string(), @"users[0] (id u-vader), field `logn`: unknown field `logn`");
    }

    #[test]
    fn unknown_top_level_key() {
        let json =
            doc(ARMY, "", VADER).replacen("\"services\"", "\"servics\": [], \"services\"", 1);
        let errors = errors_of(&json);
        insta::assert_snapshot!(errors.to_string(), @"document, field `servics`: unknown field `servics`");
    }

    #[test]
    fn grant_with_two_subjects() {
        let grants =
            r#"{"role": "developer", "project": "p-ds", "user": "u-vader", "group": "g-army"}"#;
        let errors = errors_of(&doc(ARMY, grants, VADER));
        insta::assert_snapshot!(errors.to_string(), @"grants[0] (role developer): a grant needs exactly one of `user`, `group`, `team`; found user, group");
    }

    #[test]
    fn grant_with_no_subject_and_two_scopes() {
        let grants = r#"{"role": "developer", "project": "p-ds", "organization": "o-empire"}"#;
        let errors = errors_of(&doc(ARMY, grants, VADER));
        insta::assert_snapshot!(errors.to_string(), @r"
        grants[0] (role developer): a grant needs exactly one of `user`, `group`, `team`; found none
        grants[0] (role developer): a grant may have `project` or `organization`, not both
        ");
    }

    #[test]
    fn several_errors_in_one_file_are_all_reported() {
        let users = format!(
            r#"{VADER},
            {{"id": "u-vader", "login": "vader2", "created_at": "2020-01-01T00:00:00Z"}},
            {{"id": "u-x", "number": 0, "login": "", "state": "sleeping", "created_at": "yesterday",
              "licenses": ["nope"], "groups": [{{"id": "g-army", "access": "boss"}}]}},
            {{"id": "u-y", "number": 4, "login": "y", "created_at": "2020-01-01T00:00:00+02:00"}},
            {{"id": "u-z", "login": "z", "created_at": "2020-01-01T00:00:00Z", "unknown": 1}}"#
        );
        let grants = r#"{"role": "ghost-role", "user": "u-missing"}"#;
        let errors = errors_of(&doc(ARMY, grants, &users));
        insta::assert_snapshot!(errors.to_string());
    }

    #[test]
    fn bad_format_tag_and_null_list() {
        let json = doc(ARMY, "", VADER)
            .replace("userql-directory/1", "userql-directory/9")
            .replace(r#""grants": []"#, r#""grants": null"#);
        let errors = errors_of(&json);
        insta::assert_snapshot!(errors.to_string());
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let errors = errors_of("{\n  \"format\": \"userql-directory/1\",\n  \"users\": [,]\n}");
        assert_eq!(errors.errors.len(), 1);
        assert!(
            matches!(errors.errors[0].kind, LoadErrorKind::Syntax { line: 3, .. }),
            "{errors}"
        );
    }

    #[test]
    fn ndjson_errors_name_the_line() {
        let text = concat!(
            "{\"format\":\"userql-directory/1\"}\n",
            "{\"kind\":\"group\",\"id\":\"g-a\",\"name\":\"A\"}\n",
            "{\"kind\":\"user\",\"id\":\"u-1\",\"login\":\"one\",\"created_at\":\"2020-01-01T00:00:00Z\",\"groups\":[\"g-b\"]}\n",
            "{\"kind\":\"widget\",\"id\":\"w\"}\n",
            "{\"kind\":\"user\",\"id\":\"u-2\",\"login\":\"ONE\",\"created_at\":\"2020-01-01T00:00:00Z\"}\n",
            "not json\n",
        );
        let errors = match load_ndjson(text.as_bytes()) {
            Ok(_) => panic!("expected errors"),
            Err(errors) => errors,
        };
        insta::assert_snapshot!(errors.to_string());
    }

    #[test]
    fn default_number_colliding_with_explicit_one() {
        let users = format!(
            r#"{VADER}, {{"id": "u-b", "number": 1, "login": "b", "created_at": "2020-01-01T00:00:00Z"}}"#
        );
        let errors = errors_of(&doc(ARMY, "", &users));
        insta::assert_snapshot!(errors.to_string(), @"users[0] (id u-vader), field `number`: default number 1 (the user's position) is already the explicit number of users[1] (id u-b)");
    }
}

/// The fast readers (one pass for JSON, newline-split chunks on threads for NDJSON) and the
/// tolerant readers they fall back to must agree: same model, and every error located as before.
mod fast_path {
    use super::*;
    use userql_directory::generate::{generate, GenOptions};

    /// A directory whose NDJSON body is several MiB, so it is split across threads.
    fn large() -> userql_directory::model::Model {
        generate(&GenOptions {
            users: 3_000,
            seed: 7,
        })
    }

    #[test]
    fn a_split_ndjson_file_loads_the_same_model_as_its_json() {
        let model = large();
        let ndjson = save_ndjson(&model);
        assert!(ndjson.len() > 2 << 20, "{} bytes: not split", ndjson.len());
        assert_eq!(load_ndjson(&ndjson).ok().as_ref(), Some(&model));
        assert_eq!(load_json(&save_json(&model)).ok().as_ref(), Some(&model));
    }

    #[test]
    fn an_error_deep_in_a_split_file_names_its_line() {
        let text = String::from_utf8(save_ndjson(&large())).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let last = lines.len();
        let mut broken: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        // A typo in the last line, which is in the last chunk.
        broken[last - 1] = broken[last - 1].replacen("\"login\"", "\"logn\"", 1);
        let errors = match load_ndjson(broken.join("\n").as_bytes()) {
            Ok(_) => panic!("expected errors"),
            Err(errors) => errors,
        };
        assert_eq!(errors.errors.len(), 1, "{errors}");
        assert!(
            errors.errors[0]
                .place
                .starts_with(&format!("line {last} (user ")),
            "{errors}"
        );
        assert_eq!(
            errors.errors[0].kind,
            LoadErrorKind::UnknownField {
                name: "logn".to_owned()
            }
        );
    }

    #[test]
    fn validation_errors_of_a_split_file_name_the_line() {
        let text = String::from_utf8(save_ndjson(&large())).unwrap_or_default();
        let last = text.lines().count();
        let line = r#"{"kind":"user","id":"u-late","login":"late","created_at":"2020-01-01T00:00:00Z","groups":["g-none"]}"#;
        let errors = match load_ndjson(format!("{text}{line}\n").as_bytes()) {
            Ok(_) => panic!("expected errors"),
            Err(errors) => errors,
        };
        insta::assert_snapshot!(
            errors.to_string().replace(&(last + 1).to_string(), "N"),
            @r#"line N (user u-late), field `groups[0]`: unknown group id "g-none""#
        );
    }

    #[test]
    fn kind_anywhere_in_the_object_and_blank_lines_are_read() {
        let text = concat!(
            "\n  \n{\"format\": \"userql-directory/1\"}\r\n",
            "{\"id\":\"g-a\",\"kind\":\"group\",\"name\":\"A\"}\n",
            "\n",
            "{\"kind\":\"user\",\"id\":\"u-1\",\"login\":\"one\",\"created_at\":\"2020-01-01T00:00:00Z\",\"groups\":[\"g-a\"]}\r\n",
        );
        let model = load_ndjson(text.as_bytes()).map_err(|e| e.to_string());
        let model = model.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(model.groups[0].id, "g-a");
        assert_eq!(model.users[0].groups.len(), 1);
        let json = save_json(&model);
        assert_eq!(load_json(&json).ok(), Some(model));
    }

    #[test]
    fn duplicate_and_unknown_top_level_keys_still_reach_the_tolerant_reader() {
        let json = doc(ARMY, "", VADER).replacen("\"roles\"", "\"users\": [], \"roles\"", 1);
        let errors = errors_of(&json);
        insta::assert_snapshot!(errors.to_string(), @"document, field `users`: duplicate key `users`");
    }
}

mod robustness {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn truncated_tiny_never_panics(cut in 0usize..TINY.len()) {
            let bytes = &TINY.as_bytes()[..cut];
            let _ = load_json(bytes);
            let _ = load_ndjson(bytes);
        }

        #[test]
        fn json_ish_garbage_never_panics(text in r#"[\{\}\[\]":,a-z0-9 \n\-]{0,200}"#) {
            let _ = load_json(text.as_bytes());
            let _ = load_ndjson(text.as_bytes());
        }

        #[test]
        fn mutated_tiny_never_panics(at in 0usize..TINY.len(), byte in any::<u8>()) {
            let mut bytes = TINY.as_bytes().to_vec();
            bytes[at] = byte;
            let _ = load_json(&bytes);
        }
    }
}
