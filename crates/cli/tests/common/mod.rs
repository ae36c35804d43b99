//! What the CLI's integration tests share: the binary, the fixture, the clock of its worked
//! examples, temporary paths, and running a command to its status and output.

#![allow(dead_code)] // Each test binary uses part of it.

use std::path::PathBuf;

use assert_cmd::Command;

/// `--now` of the fixture's worked examples.
pub const NOW: &str = "2026-06-15T12:00:00Z";

/// The fixture directory (`tiny.json`), as a `--data` argument.
pub fn tiny() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../userql/tests/data/tiny.json"
    )
    .to_owned()
}

/// The `userql` binary, with no `USERQL_BACKEND` inherited from the environment, so every test
/// answers in memory unless it names a backend itself.
pub fn userql() -> Command {
    let mut command = Command::cargo_bin("userql").expect("the binary is built");
    command.env_remove("USERQL_BACKEND");
    command
}

/// `userql <subcommand> --data tiny.json --now NOW <args…>`.
pub fn on_tiny(subcommand: &str, args: &[&str]) -> Command {
    let mut command = userql();
    command
        .args([subcommand, "--data", &tiny(), "--now", NOW])
        .args(args);
    command
}

/// Bytes of a command's output as text (lossy: a test shows what it got).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs the command → (status, stdout, stderr); `-1` when it died of a signal.
pub fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().expect("runs");
    (
        output.status.code().unwrap_or(-1),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// Standard output of a command that must succeed (its standard error in the failure message).
pub fn stdout_of(command: &mut Command) -> String {
    let output = command.output().expect("runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        output.status,
        text(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// A path under the test's temporary directory, unique to this process: `<prefix>-PID-<name>`.
pub fn temp_path(prefix: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{prefix}-{}-{name}", std::process::id()))
}

/// Writes a changes file: the `userql-changes/1` header, then `lines` as given.
pub fn changes_file(path: PathBuf, lines: &str) -> PathBuf {
    std::fs::write(
        &path,
        format!("{{\"format\": \"userql-changes/1\"}}\n{lines}"),
    )
    .expect("writes the changes file");
    path
}
