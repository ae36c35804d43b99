//! `userql sql`, `userql pg load` and `--backend` against a throwaway PostgreSQL cluster: the
//! same answers (ids, counts, response bytes, exit statuses) as with `--data`.

use assert_cmd::Command;
use userql_pg::cluster::for_test;

const NOW: &str = "2026-06-15T12:00:00Z";

fn tiny() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/tiny.json")
        .display()
        .to_string()
}

fn userql() -> Command {
    let mut command = Command::cargo_bin("userql").expect("the binary is built");
    command.env_remove("USERQL_BACKEND");
    command
}

fn stdout(command: &mut Command) -> String {
    let out = command.output().expect("runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn backend_answers_like_data() {
    let Some(cluster) = for_test() else {
        return;
    };
    let url = cluster.url();
    userql()
        .args(["pg", "load", "--data", &tiny(), "--backend", &url])
        .assert()
        .success();
    for (format, query, extra) in [
        ("ids", "in: {Imperial Army}", vec![]),
        ("count", "has: 2FA or is: banned", vec![]),
        ("json", "access(project: DS, with: Developer)", vec![]),
        (
            "json",
            "",
            vec![
                "--order-by",
                "lastAccessTime desc",
                "--top",
                "3",
                "--skip",
                "2",
            ],
        ),
        (
            "json",
            "vader",
            vec!["--fields", "id,login,groups(name),projectRoles(role(name))"],
        ),
        ("ids", "dar", vec!["--viewer", "luke"]),
    ] {
        let mut common = vec!["query", "--format", format, "--now", NOW];
        common.extend(extra.iter().copied());
        let expected = stdout(
            userql()
                .args(&common)
                .args(["--data", &tiny(), "--", query]),
        );
        let actual = stdout(
            userql()
                .args(&common)
                .args(["--backend", &url, "--", query]),
        );
        assert_eq!(actual, expected, "{format} {query:?} {extra:?}");
        let via_env = stdout(
            userql()
                .env("USERQL_BACKEND", &url)
                .args(&common)
                .args(["--", query]),
        );
        assert_eq!(via_env, expected, "USERQL_BACKEND {query:?}");
    }
    // Invalid requests: exit 2 with the same body.
    for query in ["lastAcess: today", "email: x"] {
        let args = ["query", "--format", "json", "--viewer", "luke", "--", query];
        let expected = userql()
            .args(["--data", &tiny()])
            .args(args)
            .output()
            .expect("runs");
        let actual = userql()
            .args(["--backend", &url])
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(actual.status.code(), Some(2), "{query:?}");
        assert_eq!(actual.status.code(), expected.status.code(), "{query:?}");
        assert_eq!(actual.stdout, expected.stdout, "{query:?}");
    }
    // The statement: parameters, never values, in the SQL text.
    let sql = stdout(userql().args([
        "sql",
        "--backend",
        &url,
        "--",
        "login: {x'; DROP TABLE users}",
    ]));
    assert!(sql.contains("u.login_f = $1::text"), "{sql}");
    assert!(sql.contains("-- $1 = 'x''; drop table users'"), "{sql}");
    let offline = stdout(userql().args(["sql", "--data", &tiny(), "--", "in: {Imperial Army}"]));
    assert!(offline.contains("group_closure"), "{offline}");
    // EXPLAIN (ANALYZE, BUFFERS) of the statement.
    let plan = stdout(userql().args(["explain", "--backend", &url, "--", "login: vader"]));
    assert!(plan.starts_with("SELECT"), "{plan}");
    assert!(
        plan.contains("Buffers:") && plan.contains("Execution Time"),
        "{plan}"
    );
    // Other dialects are refused, naming the dialect.
    let refused = userql()
        .args([
            "query",
            "--backend",
            &url,
            "--dialect",
            "gitlab",
            "active=true",
        ])
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("gitlab"));
}

#[test]
fn connection_and_schema_errors_exit_1_with_the_message() {
    let out = userql()
        .args([
            "query",
            "--backend",
            "host=/nonexistent-userql-socket port=1 user=nobody dbname=x",
            "login: vader",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PostgreSQL"));
    let Some(cluster) = for_test() else {
        return;
    };
    let out = userql()
        .args([
            "query",
            "--backend",
            &cluster.url(),
            "--schema",
            "nothing_here",
            "x",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nothing_here") && stderr.contains("userql pg load"),
        "{stderr}"
    );
    // A bad file loads nothing: the schema keeps its previous contents.
    let dir = std::env::temp_dir().join(format!("userql-pg-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"format": "userql-directory/1", "users": [{"id": "a"}]}"#,
    )
    .expect("writes");
    let out = userql()
        .args([
            "pg",
            "load",
            "--data",
            &bad.display().to_string(),
            "--backend",
            &cluster.url(),
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}
