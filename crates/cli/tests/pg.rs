//! `userql sql`, `userql pg load` and `--backend` against a throwaway PostgreSQL cluster: the
//! same answers (ids, counts, response bytes, exit statuses) as with `--data`.

mod common;

use common::{stdout_of as stdout, tiny, userql, NOW};
use userql_pg::cluster::for_test;

/// A throwaway cluster with tiny.json loaded by `userql pg load`, and its URL.
fn tiny_cluster() -> Option<(userql_pg::cluster::Cluster, String)> {
    let cluster = for_test()?;
    let url = cluster.url();
    userql()
        .args(["pg", "load", "--data", &tiny(), "--backend", &url])
        .assert()
        .success();
    Some((cluster, url))
}

#[test]
fn backend_answers_like_data() {
    let Some((_cluster, url)) = tiny_cluster() else {
        return;
    };
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
    // Every dialect: the same output and exit status as in memory (answers and API errors).
    for (dialect, viewer, input) in [
        ("gitlab", "admin", "search=smi"),
        ("gitlab", "luke", "search=Luke&per_page=2&page=2"),
        (
            "gitlab",
            "admin",
            "order_by=username&sort=asc&per_page=3&pagination=keyset",
        ),
        ("gitlab", "admin", "public_email=luke@example.com"),
        ("gitlab", "anonymous", "active=true"),
        ("gitlab-enterprise", "admin", "id=Rebellion&search=a"),
        (
            "tfe",
            "admin",
            "q=a&filter[admin]=false&page[size]=2&include=organizations",
        ),
        ("tfe", "luke", "q=a"),
        (
            "arcgis",
            "admin",
            "op=searchEnterpriseUsers&filter=d*r&maxCount=2",
        ),
        (
            "arcgis",
            "admin",
            "op=getEnterpriseGroupsForUser&username=luke",
        ),
        ("arcgis", "admin", "op=searchEnterpriseGroups&filter=*"),
    ] {
        for format in ["http", "ids", "table"] {
            let args = [
                "query",
                "--format",
                format,
                "--now",
                NOW,
                "--dialect",
                dialect,
                "--viewer",
                viewer,
                "--",
                input,
            ];
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
            assert_eq!(
                actual.status.code(),
                expected.status.code(),
                "{dialect} {input:?}: {}",
                String::from_utf8_lossy(&actual.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&actual.stdout),
                String::from_utf8_lossy(&expected.stdout),
                "{dialect} {format} {input:?}"
            );
        }
    }
    // A dialect's statement: GitLab's relevance order as a CASE over the lower-cased columns.
    let sql = stdout(userql().args([
        "sql",
        "--backend",
        &url,
        "--dialect",
        "gitlab",
        "--",
        "search=smi",
    ]));
    assert!(
        sql.contains("CASE WHEN") && sql.contains("u.login_l = $"),
        "{sql}"
    );
    let offline = stdout(userql().args([
        "sql",
        "--data",
        &tiny(),
        "--dialect",
        "arcgis",
        "--",
        "op=searchEnterpriseUsers&filter=a_*",
    ]));
    assert!(
        offline.contains("u.login_l LIKE $") && offline.contains(r"'a\_%'"),
        "{offline}"
    );
    let plan = stdout(userql().args([
        "explain",
        "--backend",
        &url,
        "--dialect",
        "tfe",
        "--",
        "q=a",
    ]));
    assert!(
        plan.contains("count(*)") && plan.contains("Execution Time"),
        "{plan}"
    );
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

/// `userql apply --backend`: one transaction per batch, `applied N` per commit, the store's
/// refusal (file, line, change) with exit status 1 and nothing of the refused batch written;
/// afterwards the backend answers as `--data … --changes …` does in memory.
#[test]
fn apply_backend_changes_like_the_store() {
    let Some((_cluster, url)) = tiny_cluster() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("userql-pg-apply-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("good.ndjson");
    std::fs::write(
        &good,
        concat!(
            "{\"format\": \"userql-changes/1\"}\n",
            "{\"op\": \"touch\", \"kind\": \"user\", \"id\": \"u-vader\", \"at\": \"2026-06-15T11:00:00Z\"}\n",
            "[{\"op\": \"delete\", \"kind\": \"membership\", \"value\": {\"user\": \"u-vader\", \"group\": \"g-army\"}},",
            " {\"op\": \"put\", \"kind\": \"user\", \"value\": {\"id\": \"u-new\", \"login\": \"newbie\", \"created_at\": \"2026-01-01T00:00:00Z\", \"groups\": [\"g-navy\"]}}]\n",
        ),
    )
    .expect("writes");
    let bad = dir.join("bad.ndjson");
    std::fs::write(
        &bad,
        concat!(
            "{\"format\": \"userql-changes/1\"}\n",
            "[{\"op\": \"delete\", \"kind\": \"user\", \"id\": \"u-tarkin\"}, {\"op\": \"patch\", \"kind\": \"user\", \"id\": \"u-piett\", \"set\": {\"login\": \"VADER\"}}]\n",
        ),
    )
    .expect("writes");
    let (good, bad) = (good.display().to_string(), bad.display().to_string());
    let applied = stdout(userql().args(["apply", "--backend", &url, "--changes", &good]));
    assert_eq!(applied, "applied 1\napplied 2\n");
    let refused = userql()
        .args(["apply", "--backend", &url, "--changes", &bad])
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(1));
    let in_memory = userql()
        .args(["query", "--data", &tiny(), "--changes", &bad, "x"])
        .output()
        .expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        String::from_utf8_lossy(&in_memory.stderr),
        "the same refusal as in memory"
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("line 2, change 2"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    for query in [
        "",
        "in: {Imperial Navy}",
        "in: {Imperial Army}",
        "lastAccess: today",
    ] {
        let common = ["query", "--format", "json", "--now", NOW];
        let expected = stdout(userql().args(common).args([
            "--data",
            &tiny(),
            "--changes",
            &good,
            "--",
            query,
        ]));
        let actual = stdout(userql().args(common).args(["--backend", &url, "--", query]));
        assert_eq!(actual, expected, "{query:?}");
    }
    let mixed = userql()
        .args(["query", "--backend", &url, "--changes", &good, "x"])
        .output()
        .expect("runs");
    assert_eq!(mixed.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
