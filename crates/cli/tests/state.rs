//! `--state DIR` on the command line (changes.md, Durability): `apply --state`, `checkpoint`,
//! and reading subcommands on a state directory.

use std::path::{Path, PathBuf};

mod common;

use common::userql;
use userql_directory::changes::Change;
use userql_state::{DurableOptions, DurableStore};

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fuzz/seeds/load_json/tiny.json"
);

fn changes(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    let body: String = lines.iter().map(|line| format!("{line}\n")).collect();
    common::changes_file(dir.join(name), &body)
}

const BLOCK_LUKE: &str =
    r#"[{"op":"patch","kind":"user","id":"u-luke","set":{"state":"blocked"}}]"#;
const BLOCK_LEIA: &str = r#"{"op":"patch","kind":"user","id":"u-leia","set":{"state":"blocked"}}"#;

fn apply(state: &Path, file: &Path) -> assert_cmd::assert::Assert {
    userql()
        .args(["apply", "--state"])
        .arg(state)
        .args(["--data", SEED, "--changes"])
        .arg(file)
        .assert()
}

#[test]
fn apply_prints_each_durable_version_and_readers_see_the_state() {
    let temp = tempfile::tempdir().expect("tempdir");
    let state = temp.path().join("state");
    let file = changes(temp.path(), "c.ndjson", &[BLOCK_LUKE, "", BLOCK_LEIA]);
    apply(&state, &file)
        .success()
        .stdout("applied 1\napplied 2\n");
    let ids = userql()
        .args(["query", "--state"])
        .arg(&state)
        .args(["--format", "ids", "state: blocked"])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&ids.get_output().stdout).into_owned();
    assert!(out.lines().any(|l| l == "u-luke"), "{out}");
    assert!(out.lines().any(|l| l == "u-leia"), "{out}");
    // A second run continues the versions (the seed is ignored for an existing directory).
    apply(&state, &file)
        .success()
        .stdout("applied 3\napplied 4\n");
}

#[test]
fn a_refused_batch_stops_apply_naming_file_line_and_change() {
    let temp = tempfile::tempdir().expect("tempdir");
    let state = temp.path().join("state");
    let bad = r#"[{"op":"touch","kind":"user","id":"u-luke","at":"2026-06-01T00:00:00Z"},{"op":"patch","kind":"user","id":"u-nobody","set":{"admin":true}}]"#;
    let file = changes(temp.path(), "bad.ndjson", &[BLOCK_LUKE, bad, BLOCK_LEIA]);
    let assert = apply(&state, &file).code(1).stdout("applied 1\n");
    let err = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        err.contains("bad.ndjson") && err.contains("line 3, change 2 (user u-nobody)"),
        "{err}"
    );
    let store: DurableStore<Change> =
        DurableStore::open(&state, None, DurableOptions::default()).expect("open");
    assert_eq!(
        store.version(),
        1,
        "nothing of the refused batch was applied"
    );
}

#[test]
fn a_second_process_gets_the_holders_pid() {
    let temp = tempfile::tempdir().expect("tempdir");
    let state = temp.path().join("state");
    let held: DurableStore<Change> =
        DurableStore::open(&state, Some(Path::new(SEED)), DurableOptions::default()).expect("seed");
    let assert = userql()
        .args(["check", "--state"])
        .arg(&state)
        .arg("state: active")
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        err.contains(&format!("is in use by process {}", std::process::id())),
        "{err}"
    );
    drop(held);
}

#[test]
fn checkpoint_writes_the_newest_version_and_starts_a_new_log() {
    let temp = tempfile::tempdir().expect("tempdir");
    let state = temp.path().join("state");
    let file = changes(temp.path(), "c.ndjson", &[BLOCK_LUKE, BLOCK_LEIA]);
    apply(&state, &file).success();
    let assert = userql()
        .args(["checkpoint", "--state"])
        .arg(&state)
        .assert()
        .success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(out.starts_with("checkpoint 2 ("), "{out}");
    let mut names: Vec<String> = std::fs::read_dir(&state)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "LOCK",
            "checkpoint-00000000000000000002.ndjson",
            "wal-00000000000000000002.log"
        ]
    );
}

#[test]
fn a_state_directory_that_does_not_exist_needs_a_seed() {
    let temp = tempfile::tempdir().expect("tempdir");
    let assert = userql()
        .args(["query", "--state"])
        .arg(temp.path().join("none"))
        .arg("state: active")
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(err.contains("seed it with --data FILE"), "{err}");
}
