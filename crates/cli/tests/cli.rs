//! End-to-end tests of the `userql` binary against `spec/cli.md`, on tiny.json with a fixed clock.

use std::path::PathBuf;

mod common;

use assert_cmd::Command;
use common::{on_tiny, stdout_of, tiny, userql};
use predicates::prelude::*;
use serde_json::Value;

fn temp_path(name: &str) -> PathBuf {
    common::temp_path("cli", name)
}

fn ids(args: &[&str]) -> Vec<String> {
    let mut all = vec!["--format", "ids"];
    all.extend_from_slice(args);
    stdout_of(&mut on_tiny("query", &all))
        .lines()
        .map(str::to_owned)
        .collect()
}

fn json_of(command: &mut Command) -> Value {
    serde_json::from_str(&stdout_of(command)).expect("JSON on stdout")
}

mod query_formats {
    use super::*;

    #[test]
    fn ids_follow_the_fixture_worked_examples() {
        let cases: &[(&str, &[&str])] = &[
            ("in: {Imperial Army}", &["u-finn", "u-tk421", "u-vader"]),
            (
                "access(project: DS, with: Developer)",
                &["u-finn", "u-tarkin", "u-tk421", "u-vader"],
            ),
            (
                "access(organization: {Galactic Empire})",
                &[
                    "u-finn", "u-luke", "u-tarkin", "u-tk421", "u-vader", "u-yoda",
                ],
            ),
            (
                "authModule: Google group: {Rogue Squadron} group: Rebels",
                &["u-luke"],
            ),
            (
                "team: {Yavin Team}",
                &["u-leia", "u-luke", "u-r2d2", "u-wedge"],
            ),
            (
                "not has: lastAccess",
                &[
                    "u-ackbar", "u-c3po", "u-chewie", "u-ghost", "u-guest", "u-jabba", "u-yoda",
                ],
            ),
            ("created: 2018-01-01 .. 2018-01-01", &["u-chewie", "u-han"]),
            (
                "lastAccess(after: {30 days ago})",
                &[
                    "u-finn",
                    "u-luke",
                    "u-mothma",
                    "u-palpatine",
                    "u-r2d2",
                    "u-vader",
                ],
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(ids(&[query]), *expected, "query {query:?}");
        }
    }

    #[test]
    fn count_is_the_total_before_paging() {
        let out = stdout_of(&mut on_tiny(
            "query",
            &["--format", "count", "--top", "1", "not has: lastAccess"],
        ));
        assert_eq!(out, "7\n");
        let all = stdout_of(&mut on_tiny("query", &["--format", "count", ""]));
        assert_eq!(all, "20\n");
    }

    #[test]
    fn json_is_hubs_user_page() {
        let page = json_of(&mut on_tiny(
            "query",
            &["--format", "json", "team: {Yavin Team}"],
        ));
        assert_eq!(page["type"], "userPage");
        assert_eq!(page["total"], 4);
        assert_eq!(page["skip"], 0);
        assert_eq!(page["users"][0]["login"], "leia");
    }

    #[test]
    fn json_is_the_default_when_stdout_is_not_a_terminal() {
        let page = json_of(&mut on_tiny("query", &["team: {Yavin Team}"]));
        assert_eq!(page["total"], 4);
    }

    #[test]
    fn http_is_status_line_headers_blank_line_body() {
        let out = stdout_of(&mut on_tiny(
            "query",
            &["--format", "http", "team: {Yavin Team}"],
        ));
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.contains("Content-Type: application/json\r\n"));
        let (_, body) = out.split_once("\r\n\r\n").expect("a blank line");
        let page: Value = serde_json::from_str(body).expect("JSON body");
        assert_eq!(page["total"], 4);
    }

    #[test]
    fn table_is_readable_with_a_summary() {
        let out = stdout_of(&mut on_tiny(
            "query",
            &["--format", "table", "team: {Yavin Team}"],
        ));
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("id") && lines[0].contains("login") && lines[0].contains("email")
        );
        assert!(lines[1].starts_with("--"));
        assert!(lines[2].starts_with("u-leia") && lines[2].contains("Leia Organa"));
        assert_eq!(lines.len(), 2 + 4, "only the table on a pipe: {out}");
    }
}

mod request_options {
    use super::*;

    #[test]
    fn top_minus_one_works_in_both_spellings() {
        for args in [&["--top=-1"][..], &["--top", "-1"][..]] {
            let mut all = vec!["--format", "json"];
            all.extend_from_slice(args);
            all.push("");
            let page = json_of(&mut on_tiny("query", &all));
            assert_eq!(page["users"].as_array().map(Vec::len), Some(20), "{args:?}");
        }
    }

    #[test]
    fn skip_top_order_by_and_fields() {
        let page = json_of(&mut on_tiny(
            "query",
            &[
                "--format",
                "json",
                "--skip",
                "1",
                "--top",
                "2",
                "--order-by",
                "login:desc",
                "--fields",
                "login,total",
                "",
            ],
        ));
        assert_eq!(page["total"], 20);
        assert_eq!(
            page["users"],
            serde_json::json!([{"login": "wedge"}, {"login": "vader"}])
        );
        assert!(
            page.get("skip").is_none(),
            "fields select the page names too: {page}"
        );
    }

    #[test]
    fn double_dash_lets_input_start_with_a_dash() {
        let banned_out = ids(&["--top=-1", "--", "-is: banned"]);
        assert_eq!(banned_out.len(), 19);
        assert!(!banned_out.contains(&"u-lando".to_owned()));
    }

    #[test]
    fn a_negative_skip_is_an_invalid_request() {
        on_tiny("query", &["--skip=-1", ""]).assert().code(2);
        on_tiny("query", &["--top=-2", ""]).assert().code(2);
    }

    #[test]
    fn the_viewer_limits_private_filters() {
        on_tiny("query", &["--viewer", "leia", "has: 2FA"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("private attribute"));
        on_tiny(
            "query",
            &[
                "--viewer",
                "anonymous",
                "--format",
                "count",
                "group: Rebels",
            ],
        )
        .assert()
        .success();
        on_tiny(
            "query",
            &["--viewer", "palpatine", "--format", "count", "has: 2FA"],
        )
        .assert()
        .success();
    }

    #[test]
    fn an_unknown_viewer_is_an_invalid_request() {
        on_tiny("query", &["--viewer", "nobody", "vader"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("unknown viewer 'nobody'"));
        on_tiny("check", &["--viewer", "nobody", "vader"])
            .assert()
            .code(2);
    }

    #[test]
    fn now_drives_relative_dates() {
        let created_today = ids(&["created: today"]);
        assert!(!created_today.is_empty());
        let mut earlier = userql();
        earlier.args([
            "query",
            "--data",
            &tiny(),
            "--now",
            "2030-01-01T00:00:00Z",
            "--format",
            "count",
            "created: today",
        ]);
        assert_eq!(stdout_of(&mut earlier), "0\n");
        userql()
            .args(["query", "--data", &tiny(), "--now", "yesterday", ""])
            .assert()
            .code(2);
    }
}

mod errors {
    use super::*;

    #[test]
    fn an_invalid_query_exits_2_with_a_diagnostic() {
        on_tiny("query", &["--format", "ids", "lastAcess: today"])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("lastAcess: today"))
            .stderr(predicate::str::contains("^^^^^^^^^"))
            .stderr(predicate::str::contains("did you mean 'lastAccess'?"));
    }

    #[test]
    fn with_json_stdout_gets_the_error_body() {
        let output = on_tiny("query", &["--format", "json", "group: Nope"])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2));
        let body: Value = serde_json::from_slice(&output.stdout).expect("JSON body");
        assert_eq!(body["error"], "invalid_query");
        assert_eq!(body["error_children"][0]["start"], 7);
        assert_eq!(body["error_children"][0]["end"], 11);
    }

    #[test]
    fn other_dialects_give_their_own_error_body() {
        let output = on_tiny(
            "query",
            &["--dialect", "gitlab", "--format", "json", "per_page=0"],
        )
        .output()
        .expect("runs");
        assert_eq!(output.status.code(), Some(2));
        let body: Value = serde_json::from_slice(&output.stdout).expect("JSON body");
        assert!(body.is_object());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("  | per_page=0\n  | ^^^^^^^^^^\n"),
            "{stderr}"
        );
    }

    #[test]
    fn a_bad_data_file_exits_1_naming_the_file_and_the_place() {
        let path = temp_path("bad.json");
        std::fs::write(
            &path,
            r#"{"format": "userql-directory/1", "users": [{"id": "u-1", "login": "a", "created_at": "not a date"}]}"#,
        )
        .expect("writable");
        let name = path.display().to_string();
        userql()
            .args(["query", "--data", &name, ""])
            .assert()
            .code(1)
            .stderr(predicate::str::contains(name.as_str()))
            .stderr(predicate::str::contains("users[0]"));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_missing_or_unknown_data_file_exits_1() {
        userql()
            .args(["query", "--data", "/nonexistent/dir.json", ""])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("/nonexistent/dir.json"));
        userql()
            .args(["check", "--data", "directory.csv", ""])
            .assert()
            .code(1);
    }

    #[test]
    fn a_bad_flag_value_is_refused() {
        on_tiny("query", &["--dialect", "jira", ""])
            .assert()
            .code(2);
        on_tiny("query", &["--format", "xml", ""]).assert().code(2);
    }
}

mod dialects {
    use super::*;

    #[test]
    fn gitlab_as_a_non_admin_follows_the_worked_example() {
        let out = ids(&["--dialect", "gitlab", "--viewer", "leia", ""]);
        assert_eq!(
            out,
            [
                "u-vader",
                "u-ghost",
                "u-yoda",
                "u-ackbar",
                "u-mothma",
                "u-guest",
                "u-c3po",
                "u-r2d2",
                "u-chewie",
                "u-han",
                "u-leia",
                "u-luke",
                "u-tk421",
                "u-finn",
                "u-piett",
                "u-tarkin",
                "u-palpatine"
            ]
        );
    }

    #[test]
    fn gitlab_http_carries_paging_headers() {
        let out = stdout_of(&mut on_tiny(
            "query",
            &[
                "--dialect",
                "gitlab",
                "--format",
                "http",
                "per_page=5&page=2",
            ],
        ));
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(out.contains("X-Total: "), "{out}");
        assert!(out.contains("X-Page: 2\r\n"), "{out}");
        assert!(out.contains("Link: <https://"), "{out}");
    }

    #[test]
    fn gitlab_enterprise_lists_the_groups_enterprise_users() {
        let mut out = ids(&["--dialect", "gitlab-enterprise", "id=g-rebels"]);
        out.sort();
        assert_eq!(out, ["u-ackbar", "u-leia", "u-luke", "u-wedge"]);
    }

    #[test]
    fn tfe_answers_json_api() {
        let document = json_of(&mut on_tiny(
            "query",
            &["--dialect", "tfe", "--format", "json", "q=leia"],
        ));
        assert!(document["data"].is_array());
        assert!(document["meta"]["pagination"].is_object());
    }

    #[test]
    fn arcgis_answers_its_operations() {
        let out = stdout_of(&mut on_tiny(
            "query",
            &[
                "--dialect",
                "arcgis",
                "--format",
                "count",
                "groupName=Rebels",
            ],
        ));
        assert_eq!(out.trim().parse::<u64>().ok(), Some(8));
    }
}

mod check_and_explain {
    use super::*;

    #[test]
    fn check_prints_the_canonical_hub_form() {
        let out = stdout_of(&mut on_tiny("check", &["LOGIN:vader   group : Rebels"]));
        assert_eq!(out, "login: vader and group: Rebels\n");
    }

    #[test]
    fn check_refuses_what_does_not_bind() {
        on_tiny("check", &["group: Nope"])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("unknown group 'Nope'"));
        on_tiny("check", &["login: (x"]).assert().code(2);
    }

    #[test]
    fn check_shows_other_dialects_as_hub_queries() {
        let out = stdout_of(&mut on_tiny(
            "check",
            &["--dialect", "gitlab", "active=true"],
        ));
        assert!(out.starts_with("state: active"), "{out}");
    }

    #[test]
    fn explain_prints_estimated_and_actual_rows() {
        let out = stdout_of(&mut on_tiny(
            "explain",
            &["in: {Imperial Army} and not is: banned"],
        ));
        assert!(out.contains("est "), "{out}");
        assert!(out.contains("actual 3"), "{out}");
        assert!(out.contains("total 3"), "{out}");
        on_tiny("explain", &["lgoin: x"]).assert().code(2);
    }

    #[test]
    fn query_explain_goes_to_stderr_keeping_stdout_the_answer() {
        on_tiny(
            "query",
            &["--explain", "--format", "count", "team: {Yavin Team}"],
        )
        .assert()
        .success()
        .stdout("4\n")
        .stderr(predicate::str::contains("total 4"));
    }
}

mod gen {
    use super::*;

    fn generated(args: &[&str]) -> Vec<u8> {
        let output = userql().arg("gen").args(args).output().expect("runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let first = generated(&["--users", "150", "--seed", "9"]);
        let second = generated(&["--users", "150", "--seed", "9"]);
        let other = generated(&["--users", "150", "--seed", "10"]);
        assert!(!first.is_empty());
        assert_eq!(first, second);
        assert_ne!(first, other);
    }

    #[test]
    fn its_output_loads_back_in_both_formats() {
        for (name, format) in [("gen.json", "json"), ("gen.ndjson", "ndjson")] {
            let path = temp_path(name);
            let file = path.display().to_string();
            userql()
                .args([
                    "gen", "--users", "120", "--seed", "3", "--format", format, "--out", &file,
                ])
                .assert()
                .success()
                .stdout("");
            let count =
                stdout_of(userql().args(["query", "--data", &file, "--format", "count", ""]));
            assert_eq!(count, "120\n", "{format}");
            let _ = std::fs::remove_file(&path);
        }
    }
}

mod demo_and_repl {
    use super::*;

    #[test]
    fn without_data_the_demo_directory_answers() {
        let count = stdout_of(userql().args(["query", "--format", "count", ""]));
        let users: u64 = count.trim().parse().expect("a number");
        assert!(users >= 1000, "{users}");
        let group_members = stdout_of(userql().args(["query", "--format", "count", "has: group"]));
        assert_ne!(group_members.trim(), "0");
    }

    #[test]
    fn a_piped_session_prints_answers_without_colour() {
        let script = [
            ":time off",
            ":now 2026-06-15T12:00:00Z",
            "in: {Imperial Army}",
            ":format ids",
            "team: {Yavin Team}",
            "lgoin: x",
            ":page 1 2",
            "team: {Yavin Team}",
            ":page",
            ":format count",
            ":dialect gitlab",
            ":viewer leia",
            "per_page=3",
            ":dialect hub",
            ":viewer admin",
            ":fields login",
            ":format json",
            ":order login:desc",
            "group: Rebels",
            ":bogus",
            ":quit",
            "vader",
        ]
        .join("\n");
        let output = userql()
            .args(["repl", "--no-bail", "--data", &tiny()])
            .write_stdin(script)
            .output()
            .expect("runs");
        assert!(output.status.success());
        let out = String::from_utf8(output.stdout).expect("utf-8");
        let err = String::from_utf8(output.stderr).expect("utf-8");
        assert!(!out.contains('\x1b'), "no ANSI when piped");
        // Standard output holds the answers alone; acknowledgements and summaries go to stderr.
        let expected = [
            "id       login    name         email                    state        created     last access",
            "-------  -------  -----------  -----------------------  -----------  ----------  -----------",
            "u-finn   fn-2187  Finn         finn@resistance.example  active       2024-12-19  2026-06-15",
            "u-tk421  tk-421   TK-421       tk421@empire.example     deactivated  2016-07-04  2017-01-01",
            "u-vader  vader    Darth Vader  vader@empire.example     active       2021-09-10  2026-06-01",
            "u-leia",
            "u-luke",
            "u-r2d2",
            "u-wedge",
            "u-luke",
            "u-r2d2",
            "17",
        ];
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(&lines[..expected.len()], &expected[..], "{out}");
        let page: Value = serde_json::from_str(lines[expected.len()]).expect("JSON page");
        assert_eq!(page["users"][0], serde_json::json!({"login": "mothma"}));
        assert_eq!(
            lines.len(),
            expected.len() + 1,
            "nothing after :quit: {out}"
        );
        assert!(err.contains("did you mean 'login'?"), "{err}");
        assert!(err.contains("unknown command ':bogus'"), "{err}");
        for note in [
            "time: off",
            "total 3 · rows 1–3",
            "page: skip 1, top 2",
            "total 4 · rows 2–3",
            "total 17 · page 1 of 6, 3 rows",
            "order: login:desc",
        ] {
            assert!(err.contains(note), "{note} on stderr: {err}");
        }
    }

    #[test]
    fn no_subcommand_is_the_repl() {
        userql()
            .args(["--data", &tiny()])
            .write_stdin(":format count\nis: banned\n")
            .assert()
            .success()
            .stdout("1\n");
    }

    #[test]
    fn stats_and_load_work_in_the_repl() {
        let script = format!(":load {}\n:stats\n:load /nonexistent.json\n:help\n", tiny());
        userql()
            .args(["repl", "--no-bail", "--data", &tiny()])
            .write_stdin(script)
            .assert()
            .success()
            .stderr(predicate::str::contains("(20 users)"))
            .stdout(predicate::str::contains("users                 20"))
            .stdout(predicate::str::contains("total index size"))
            .stdout(predicate::str::contains(":page SKIP TOP"))
            .stderr(predicate::str::contains("/nonexistent.json"));
    }
}
