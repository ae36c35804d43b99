//! End-to-end tests of changes on the command line (`spec/changes.md`, "Command line").

use std::path::{Path, PathBuf};

mod common;

use common::{temp_path, text, tiny, userql, NOW};

/// Writes a changes file (header + `lines`) under the test's temporary directory.
fn changes_file(name: &str, lines: &str) -> PathBuf {
    common::changes_file(temp_path("changes", name), lines)
}

/// `userql query --data tiny --changes F… --format ids QUERY` → (status, stdout, stderr)
fn query(changes: &[&Path], query: &str) -> (i32, String, String) {
    let mut command = userql();
    command.args(["query", "--data", &tiny(), "--now", NOW, "--format", "ids"]);
    for path in changes {
        command.arg("--changes").arg(path);
    }
    common::run(command.arg(query))
}

const SIGN_IN_AND_BLOCK: &str = r#"
{"op":"touch","kind":"user","id":"u-luke","at":"2026-05-01T10:00:00Z"}
[{"op":"patch","kind":"user","id":"u-leia","set":{"state":"blocked"}},{"op":"put","kind":"membership","value":{"user":"u-luke","group":"g-navy"}}]
"#;

#[test]
fn query_answers_after_the_changes() {
    let file = changes_file("block.ndjson", SIGN_IN_AND_BLOCK);
    let (status, out, _) = query(&[&file], "state: blocked");
    assert_eq!(status, 0);
    assert_eq!(out, "u-jabba\nu-leia\n");
    let (_, out, _) = query(&[&file], "login: luke group: {Imperial Navy}");
    assert_eq!(out, "u-luke\n");
}

#[test]
fn changes_files_apply_in_order() {
    let block = changes_file("order-1.ndjson", SIGN_IN_AND_BLOCK);
    let unblock = changes_file(
        "order-2.ndjson",
        r#"{"op":"patch","kind":"user","id":"u-leia","set":{"state":"active"}}"#,
    );
    let (_, out, _) = query(&[&block, &unblock], "state: blocked");
    assert_eq!(out, "u-jabba\n");
}

#[test]
fn a_refused_batch_stops_with_its_place_and_answers_nothing() {
    let file = changes_file(
        "refused.ndjson",
        r#"{"op":"touch","kind":"user","id":"u-luke","at":"2026-05-01T10:00:00Z"}
[{"op":"touch","kind":"user","id":"u-luke","at":"2026-05-01T10:00:00Z"},{"op":"put","kind":"user","value":{"id":"u-42","login":"vader","created_at":"2026-01-01T00:00:00Z"}}]
"#,
    );
    let (status, out, err) = query(&[&file], "state: blocked");
    assert_eq!(status, 1);
    assert_eq!(out, "");
    assert_eq!(
        err,
        format!(
            "userql: {}: line 3, change 2 (user u-42): login 'vader' is already used by u-vader\n",
            file.display()
        )
    );
}

#[test]
fn a_malformed_line_is_located() {
    let file = changes_file(
        "malformed.ndjson",
        r#"{"op":"frob","kind":"user","id":"u-luke"}"#,
    );
    let (status, _, err) = query(&[&file], "");
    assert_eq!(status, 1);
    let expected = format!(
        "userql: {}: line 2, change 1: unknown variant `frob`, expected one of `put`, `patch`, `delete`, `touch`\n",
        file.display()
    );
    assert_eq!(err, expected);
}

#[test]
fn check_and_explain_accept_changes() {
    let file = changes_file(
        "new-group.ndjson",
        r#"{"op":"put","kind":"group","value":{"id":"g-new","name":"Brand New"}}"#,
    );
    let output = userql()
        .args(["check", "--data", &tiny(), "--changes"])
        .arg(&file)
        .arg("group: {Brand New}")
        .output()
        .expect("runs");
    assert_eq!(text(&output.stdout), "group: {Brand New}\n");
    let without = userql()
        .args(["check", "--data", &tiny(), "group: {Brand New}"])
        .output()
        .expect("runs");
    assert_eq!(without.status.code(), Some(2));
    let explain = userql()
        .args(["explain", "--data", &tiny(), "--now", NOW, "--changes"])
        .arg(&file)
        .arg("group: {Brand New}")
        .output()
        .expect("runs");
    assert_eq!(explain.status.code(), Some(0));
}

#[test]
fn apply_writes_the_directory_after_the_changes() {
    let file = changes_file("apply.ndjson", SIGN_IN_AND_BLOCK);
    for extension in ["json", "ndjson", "jsonl"] {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("changes-{}-out.{extension}", std::process::id()));
        let status = userql()
            .args(["apply", "--data", &tiny(), "--changes"])
            .arg(&file)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("runs");
        assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
        let output = userql()
            .args(["query", "--data"])
            .arg(&out)
            .args(["--format", "ids", "state: blocked"])
            .output()
            .expect("runs");
        assert_eq!(text(&output.stdout), "u-jabba\nu-leia\n");
    }
}

#[test]
fn apply_refuses_an_unknown_extension() {
    let file = changes_file("apply-ext.ndjson", SIGN_IN_AND_BLOCK);
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("changes-out.txt");
    let output = userql()
        .args(["apply", "--data", &tiny(), "--changes"])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "a usage error");
    assert_eq!(
        text(&output.stderr),
        format!(
            "userql: cannot write {}: the extension must be .json, .ndjson or .jsonl\n",
            out.display()
        )
    );
    assert!(!out.exists());
}

#[test]
fn the_repl_applies_a_file() {
    let file = changes_file("repl.ndjson", SIGN_IN_AND_BLOCK);
    let output = userql()
        .args(["repl", "--data", &tiny(), "--format", "ids", "--now", NOW])
        .write_stdin(format!(":apply {}\nstate: blocked\n", file.display()))
        .output()
        .expect("runs");
    let out = text(&output.stdout);
    assert!(
        out.starts_with(&format!(
            "applied 2 batches from {} (20 users)\nu-jabba\nu-leia\n",
            file.display()
        )),
        "{out}"
    );
}

#[test]
fn gen_writes_a_seeded_change_stream_that_applies() {
    let stream = |seed: &str| {
        userql()
            .args(["gen", "--users", "200", "--seed", seed, "--changes", "300"])
            .output()
            .expect("runs")
            .stdout
    };
    let first = stream("5");
    assert_eq!(first, stream("5"));
    assert_ne!(first, stream("6"));
    let lines: Vec<&str> = std::str::from_utf8(&first)
        .expect("utf-8")
        .lines()
        .collect();
    assert_eq!(lines.len(), 301);
    assert_eq!(lines[0], r#"{"format": "userql-changes/1"}"#);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let data = dir.join(format!("changes-{}-gen.ndjson", std::process::id()));
    let changes = dir.join(format!("changes-{}-gen-changes.ndjson", std::process::id()));
    std::fs::write(&changes, &first).expect("writes");
    let gen = userql()
        .args(["gen", "--users", "200", "--seed", "5", "--out"])
        .arg(&data)
        .output()
        .expect("runs");
    assert!(gen.status.success());
    let output = userql()
        .args(["query", "--data"])
        .arg(&data)
        .arg("--changes")
        .arg(&changes)
        .args(["--format", "count", ""])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

#[test]
fn the_repl_stats_count_what_changes_add_to_the_indexes() {
    // A renamed user is no longer described by the indexes: re-checked one by one (the tiny
    // directory's store compacts past 64 such rows), and so is a user who joined a group (a
    // membership is left to the overlay while it has room). A sign-in and a block change in
    // place.
    let file = changes_file(
        "stats.ndjson",
        &format!(
            "{SIGN_IN_AND_BLOCK}\n{}\n",
            r#"{"op":"patch","kind":"user","id":"u-han","set":{"name":"Han Solo of Corellia"}}"#
        ),
    );
    let output = userql()
        .args(["repl", "--data", &tiny(), "--now", NOW])
        .write_stdin(format!(":stats\n:apply {}\n:stats\n", file.display()))
        .output()
        .expect("runs");
    let out = text(&output.stdout);
    let rows = |part: &str| -> Vec<String> {
        out.lines()
            .filter(|line| line.starts_with(part))
            .filter_map(|line| line.split_whitespace().nth(1).map(str::to_owned))
            .collect()
    };
    assert_eq!(rows("live.dirty"), ["0", "2"], "{out}");
    assert_eq!(rows("live.overlay"), ["0", "2"], "{out}");
    assert_eq!(rows("live.levels"), ["0", "0"], "{out}");
}
