//! `userql serve` end to end with the APIs' real clients (issue 16): python-gitlab and pytfe,
//! pinned in `serve_clients/requirements.txt`, installed by this test into a virtual environment
//! under the target directory (once; reused while the requirements are unchanged). The test
//! starts `userql serve --listen 127.0.0.1:0` on the demo directory with a tokens file, waits for
//! `listening on http://ADDR`, runs `serve_clients/clients_test.py` against it, then stops the
//! server with SIGTERM and checks that it exits 0 (graceful shutdown).

mod serve_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serve_common::Server;

use userql_directory::generate;
use userql_directory::model::State;

const SUITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/serve_clients");

/// The virtual environment with the pinned clients, installed if needed.
fn venv() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-clients-venv");
    let requirements = Path::new(SUITE).join("requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).expect("requirements.txt");
    let marker = dir.join("installed-requirements.txt");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return dir;
    }
    let status = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir)
        .status()
        .expect("python3 is needed for the client end-to-end tests");
    assert!(status.success(), "python3 -m venv failed");
    let status = Command::new(dir.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements)
        .status()
        .expect("pip runs");
    assert!(
        status.success(),
        "pip install -r {} failed",
        requirements.display()
    );
    std::fs::write(&marker, wanted).expect("write marker");
    dir
}

/// An active non-admin human of the demo directory (the server's default data).
fn user_login() -> String {
    let model = generate::demo();
    let login = model
        .users
        .records()
        .find(|u| u.state == State::Active && !u.admin && &*u.user_type == "human")
        .map(|u| u.login.clone());
    login
        .expect("the demo directory has an active non-admin user")
        .into()
}

#[test]
fn real_clients_work_against_userql_serve() {
    let venv = venv();
    let dir = std::env::temp_dir().join(format!("userql-serve-clients-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let login = user_login();
    let tokens = dir.join("tokens.json");
    let admin_token = format!("admin-{}", std::process::id());
    let user_token = format!("user-{}", std::process::id());
    std::fs::write(
        &tokens,
        serde_json::json!({"tokens": [
            {"token": admin_token, "viewer": "admin"},
            {"token": user_token, "viewer": login},
        ]})
        .to_string(),
    )
    .expect("write tokens");
    let server = Server::start(&tokens, &[]);
    let url = server.url.clone();

    let output = Command::new(venv.join("bin/python"))
        .arg(Path::new(SUITE).join("clients_test.py"))
        .env("USERQL_URL", &url)
        .env("USERQL_ADMIN_TOKEN", &admin_token)
        .env("USERQL_USER_TOKEN", &user_token)
        .env("USERQL_USER_LOGIN", &login)
        .output()
        .expect("the client script runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "client checks failed:\n{stdout}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");

    let exit = server.stop("TERM");
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
