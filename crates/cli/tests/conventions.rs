//! End-to-end tests of the command-line conventions: what goes to stdout when it is not a
//! terminal, stopping scripts at the first bad line, INPUT from stdin, colours, `gen --out`
//! formats, shell completions, help, and table widths.

use std::path::PathBuf;

mod common;

use assert_cmd::Command;
use common::{tiny, NOW};
use predicates::prelude::*;

/// The binary with `NO_COLOR` unset: the colour tests set it themselves.
fn userql() -> Command {
    let mut command = common::userql();
    command.env_remove("NO_COLOR");
    command
}

fn temp_path(name: &str) -> PathBuf {
    common::temp_path("conventions", name)
}

mod piped_output {
    use super::*;

    #[test]
    fn a_piped_repl_prints_answers_only_and_notes_on_stderr() {
        userql()
            .args(["repl", "--data", &tiny(), "--now", NOW, "--format", "count"])
            .write_stdin("is: banned\n:time on\nhas: 2FA\n")
            .assert()
            .success()
            .stdout("1\n4\n")
            .stderr(predicate::str::contains("total 1 · rows 1–1"))
            .stderr(predicate::str::contains(" ms"));
    }

    #[test]
    fn a_table_on_a_pipe_has_its_summary_on_stderr() {
        userql()
            .args([
                "query",
                "--data",
                &tiny(),
                "--format",
                "table",
                "is: banned",
            ])
            .assert()
            .success()
            .stdout(predicate::str::contains("total").not())
            .stderr(predicate::str::contains("total 1"));
    }
}

mod bail {
    use super::*;

    #[test]
    fn a_piped_script_stops_at_the_first_invalid_line() {
        userql()
            .args(["repl", "--data", &tiny(), "--format", "count"])
            .write_stdin("is: banned\nlgoin: x\nhas: 2FA\n")
            .assert()
            .code(2)
            .stdout("1\n")
            .stderr(predicate::str::contains("did you mean 'login'?"))
            .stderr(predicate::str::contains("stopped at line 2"));
    }

    #[test]
    fn a_bad_command_stops_the_script_too() {
        userql()
            .args(["--data", &tiny(), "--format", "count"])
            .write_stdin(":bogus\nis: banned\n")
            .assert()
            .code(2)
            .stdout("");
    }

    #[test]
    fn no_bail_reports_and_goes_on() {
        userql()
            .args(["repl", "--no-bail", "--data", &tiny(), "--format", "count"])
            .write_stdin("is: banned\nlgoin: x\nhas: 2FA\n")
            .assert()
            .success()
            .stdout("1\n4\n")
            .stderr(predicate::str::contains("did you mean 'login'?"));
    }

    #[test]
    fn the_last_of_bail_and_no_bail_wins() {
        userql()
            .args(["repl", "--no-bail", "--bail", "--data", &tiny()])
            .write_stdin("lgoin: x\nis: banned\n")
            .assert()
            .code(2);
    }
}

mod input_from_stdin {
    use super::*;

    #[test]
    fn a_missing_input_is_read_from_a_piped_stdin() {
        userql()
            .args([
                "query",
                "--data",
                &tiny(),
                "--format",
                "ids",
                "--order-by",
                "login",
            ])
            .write_stdin("is: banned\n")
            .assert()
            .success()
            .stdout("u-lando\n");
    }

    #[test]
    fn a_dash_reads_stdin() {
        userql()
            .args(["query", "--data", &tiny(), "--format", "count", "-"])
            .write_stdin("has: 2FA")
            .assert()
            .success()
            .stdout("4\n");
    }

    #[test]
    fn other_dialects_and_check_read_stdin_too() {
        userql()
            .args(["check", "--data", &tiny(), "--dialect", "gitlab", "-"])
            .write_stdin("active=true\n")
            .assert()
            .success()
            .stdout(predicate::str::contains("state: active"));
    }

    #[test]
    fn an_argument_wins_over_stdin() {
        userql()
            .args([
                "query",
                "--data",
                &tiny(),
                "--format",
                "count",
                "is: banned",
            ])
            .write_stdin("has: 2FA")
            .assert()
            .success()
            .stdout("1\n");
    }
}

mod colour {
    use super::*;

    #[test]
    fn always_colours_even_into_a_pipe() {
        userql()
            .args(["--color", "always", "--data", &tiny(), "--format", "count"])
            .write_stdin("is: banned\n")
            .assert()
            .success()
            .stderr(predicate::str::contains("\x1b["));
    }

    #[test]
    fn never_and_no_color_mean_plain_text() {
        userql()
            .args(["--color", "never", "--data", &tiny(), "--format", "count"])
            .write_stdin("is: banned\n")
            .assert()
            .success()
            .stderr(predicate::str::contains("\x1b[").not());
        userql()
            .env("NO_COLOR", "1")
            .args(["--data", &tiny(), "--format", "count"])
            .write_stdin("is: banned\n")
            .assert()
            .success()
            .stderr(predicate::str::contains("\x1b[").not());
    }

    #[test]
    fn an_unknown_choice_is_refused() {
        userql()
            .args(["repl", "--color", "sometimes"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("auto"));
    }
}

mod gen_formats {
    use super::*;

    #[test]
    fn the_extension_chooses_the_format() {
        let ndjson = temp_path("small.ndjson");
        userql()
            .args(["gen", "--users", "5", "--out"])
            .arg(&ndjson)
            .assert()
            .success();
        let text = std::fs::read_to_string(&ndjson).expect("written");
        assert!(text.lines().count() > 5, "one object a line");
        assert!(text.starts_with("{\"format\""), "{}", &text[..40]);
        let json = temp_path("small.json");
        userql()
            .args(["gen", "--users", "5", "--out"])
            .arg(&json)
            .assert()
            .success();
        let parsed: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).expect("written")).expect("one document");
        assert_eq!(parsed["users"].as_array().map(Vec::len), Some(5));
    }

    #[test]
    fn other_extensions_are_refused_and_nothing_is_written() {
        let csv = temp_path("users.csv");
        userql()
            .args(["gen", "--users", "5", "--out"])
            .arg(&csv)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(".json, .ndjson or .jsonl"));
        assert!(!csv.exists());
    }

    #[test]
    fn a_format_that_disagrees_with_the_extension_is_refused() {
        userql()
            .args(["gen", "--users", "5", "--format", "json", "--out"])
            .arg(temp_path("users.ndjson"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("disagrees"));
    }
}

mod completions_and_help {
    use super::*;

    #[test]
    fn completion_scripts_for_each_shell() {
        for (shell, marker) in [
            ("bash", "complete -F"),
            ("zsh", "#compdef userql"),
            ("fish", "complete -c userql"),
        ] {
            userql()
                .args(["completions", shell])
                .assert()
                .success()
                .stdout(predicate::str::contains(marker))
                .stdout(predicate::str::contains("explain"));
        }
        userql().args(["completions", "tcsh"]).assert().code(2);
    }

    #[test]
    fn help_has_examples_and_exit_statuses() {
        userql()
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:"))
            .stdout(predicate::str::contains("Exit status:"))
            .stdout(predicate::str::contains("--color"))
            .stdout(predicate::str::contains("completions"));
        userql()
            .args(["query", "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("standard input"))
            .stdout(predicate::str::contains("Exit status:"));
        userql()
            .args(["repl", "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("--bail"));
    }
}

mod table_widths {
    use super::*;

    #[test]
    fn wide_names_keep_columns_aligned() {
        let path = temp_path("wide.json");
        std::fs::write(
            &path,
            r#"{"format": "userql-directory/1", "users": [
                {"id": "u-1", "login": "bruce", "name": "李小龍", "created_at": "2024-01-01T00:00:00Z"},
                {"id": "u-2", "login": "ann", "name": "Ann", "created_at": "2024-01-01T00:00:00Z"}
            ]}"#,
        )
        .expect("written");
        let output = userql()
            .args(["query", "--data"])
            .arg(&path)
            .args(["--format", "table", "--order-by", "login", ""])
            .output()
            .expect("runs");
        assert!(output.status.success());
        let out = String::from_utf8(output.stdout).expect("utf-8");
        let lines: Vec<&str> = out.lines().collect();
        let column = |line: &str, text: &str| {
            let at = line.find(text).expect("present");
            unicode_width::UnicodeWidthStr::width(&line[..at])
        };
        // The column after `name` starts at the same display column on every row.
        let email = column(lines[0], "email");
        assert_eq!(
            column(lines[2], "active"),
            column(lines[0], "state"),
            "{out}"
        );
        assert_eq!(
            column(lines[3], "active"),
            column(lines[0], "state"),
            "{out}"
        );
        assert!(email > 0);
    }
}
