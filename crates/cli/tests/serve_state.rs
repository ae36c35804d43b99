//! `userql serve --state DIR` (serve.md, changes.md "Durability"): a write acknowledged by the
//! server survives a graceful stop (SIGTERM) and a crash (SIGKILL right after the
//! acknowledgement), because the server answers only once the batch is fsynced.

mod serve_common;

use serve_common::{admin_tokens, Server};

const TOKEN: &str = "state-admin";
const TINY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../userql/tests/data/tiny.json"
);

#[test]
fn acknowledged_writes_survive_sigterm_and_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens = admin_tokens(dir.path(), TOKEN);
    let state = dir.path().join("state");
    let state_arg = state.to_str().expect("utf-8 path");

    // Seeded from --data on first start; a user created over HTTP.
    let server = Server::start(&tokens, &["--state", state_arg, "--data", TINY]);
    let (status, body) = server.request(
        "POST",
        "/api/v4/users",
        TOKEN,
        r#"{"username": "rey", "name": "Rey", "email": "rey@jakku.example"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let exit = server.stop("TERM");
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");

    // Restarted on the state alone: the user is there.
    let server = Server::start(&tokens, &["--state", state_arg]);
    let (status, body) = server.request("GET", "/api/v4/users?username=rey", TOKEN, "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""username":"rey""#), "{body}");

    // Blocked, then killed without a chance to flush anything: the block is there.
    let (status, body) = server.request("POST", "/api/v4/users/7/block", TOKEN, "");
    assert_eq!(status, 201, "{body}");
    let exit = server.stop("KILL");
    assert!(!exit.success());

    let server = Server::start(&tokens, &["--state", state_arg]);
    let (status, body) = server.request("GET", "/api/v4/users/7", TOKEN, "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""state":"blocked""#), "{body}");
    let (_, body) = server.request("GET", "/api/v4/users?username=rey", TOKEN, "");
    assert!(body.contains(r#""username":"rey""#), "{body}");
    let exit = server.stop("TERM");
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
}

#[test]
fn a_second_server_on_the_same_state_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens = admin_tokens(dir.path(), TOKEN);
    let state = dir.path().join("state");
    let state_arg = state.to_str().expect("utf-8 path");
    let server = Server::start(&tokens, &["--state", state_arg, "--data", TINY]);
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_userql"))
        .args(["serve", "--listen", "127.0.0.1:0", "--state", state_arg])
        .output()
        .expect("userql runs");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("lock") || stderr.contains("pid"),
        "{stderr}"
    );
    assert!(server.stop("TERM").success());
}
