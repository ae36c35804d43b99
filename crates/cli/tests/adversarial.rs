//! Issue 11's reproductions through the binary: what a non-admin viewer sees in every format and
//! in the REPL, `explain` of dialect requests, hostile `--data` files and `gen --users 0`.

mod common;

use common::{tiny, userql};

/// Runs `userql ARGS` (with `stdin` when given) → (status, stdout, stderr).
fn run(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut command = userql();
    command.args(args);
    if let Some(input) = stdin {
        command.write_stdin(input);
    }
    common::run(&mut command)
}

#[test]
fn item_1_tables_show_a_non_admin_no_private_attribute() {
    let data = tiny();
    let query = ["query", "--data", &data, "--format", "table"];
    let (status, out, _) = run(
        &[
            &query[..],
            &["--viewer", "leia", "login: han or login: yoda"],
        ]
        .concat(),
        None,
    );
    assert_eq!(status, 0);
    assert!(!out.contains("falcon.example"), "{out}");
    assert!(!out.contains("email"), "{out}");
    // Hub shows creation and last-access times to every viewer (as its JSON does).
    assert!(out.contains("2018-01-01"), "{out}");
    let (_, admin, _) = run(
        &[&query[..], &["--viewer", "admin", "login: han"]].concat(),
        None,
    );
    assert!(admin.contains("han@falcon.example"), "{admin}");
    // GitLab's UserBasic shows no dates, so neither does its table.
    let (_, gitlab, _) = run(
        &[
            "query",
            "--data",
            &data,
            "--format",
            "table",
            "--dialect",
            "gitlab",
            "--viewer",
            "luke",
            "username=han",
        ],
        None,
    );
    assert!(gitlab.contains("han"), "{gitlab}");
    assert!(!gitlab.contains("2018-01-01"), "{gitlab}");
    assert!(!gitlab.contains("falcon"), "{gitlab}");
}

#[test]
fn item_1_the_repl_table_follows_its_viewer() {
    let (status, out, _) = run(
        &["repl", "--data", &tiny()],
        Some(":viewer anonymous\nlogin: yoda\n:viewer admin\nlogin: han\n"),
    );
    assert_eq!(status, 0);
    assert!(!out.contains("yoda@jedi.example"), "{out}");
    assert!(out.contains("han@falcon.example"), "{out}");
}

#[test]
fn item_2_ordering_by_a_private_attribute_is_refused_for_non_admins() {
    let data = tiny();
    let (status, out, err) = run(
        &[
            "query",
            "--data",
            &data,
            "--viewer",
            "leia",
            "--format",
            "ids",
            "--order-by",
            "email:desc",
            "",
        ],
        None,
    );
    assert_eq!(status, 2);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("private attribute"), "{err}");
    let (status, out, _) = run(
        &[
            "query",
            "--data",
            &data,
            "--viewer",
            "admin",
            "--format",
            "ids",
            "--order-by",
            "email:desc",
            "",
        ],
        None,
    );
    assert_eq!(status, 0);
    assert!(out.lines().count() > 5);
}

#[test]
fn item_8_explain_plans_the_dialect_tree_without_reparsing_it() {
    let data = tiny();
    let (status, out, err) = run(
        &[
            "explain",
            "--data",
            &data,
            "--dialect",
            "gitlab",
            "search=abc++[def",
        ],
        None,
    );
    assert_eq!(status, 0, "{err}");
    assert!(out.contains(r#"substring Name "[def""#), "{out}");
    // Query and explain agree on a request too large for the limits: both refuse it.
    let terms: Vec<String> = (0..600).map(|i| format!("t{i:03}")).collect();
    let search = format!("search={}", terms.join("+"));
    let (explain_status, _, explain_err) = run(
        &["explain", "--data", &data, "--dialect", "gitlab", &search],
        None,
    );
    let (query_status, _, _) = run(
        &[
            "query",
            "--data",
            &data,
            "--dialect",
            "gitlab",
            "--format",
            "count",
            &search,
        ],
        None,
    );
    assert_eq!(explain_status, query_status);
    assert!(explain_err.contains("request refused"), "{explain_err}");
}

#[cfg(unix)]
#[test]
fn item_11_only_regular_files_are_read_and_their_size_is_bounded() {
    let (status, _, err) = run(&["query", "--data", "/dev/zero", "''"], None);
    assert_eq!(status, 1);
    assert!(err.contains("cannot load"), "{err}");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let link = dir.join(format!("zero-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("/dev/zero", &link).expect("symlink");
    let (status, _, err) = run(&["query", "--data", &link.to_string_lossy(), ""], None);
    let _ = std::fs::remove_file(&link);
    assert_eq!(status, 1);
    assert!(err.contains("not a regular file"), "{err}");
    let (status, _, err) = userql()
        .env("USERQL_MAX_DATA_BYTES", "100")
        .args(["query", "--data", &tiny(), "--format", "count", ""])
        .output()
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                String::new(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .expect("runs");
    assert_eq!(status, 1);
    assert!(err.contains("file too large"), "{err}");
}

#[test]
fn item_12_gen_with_zero_users_writes_an_empty_directory() {
    let (status, out, _) = run(&["gen", "--users", "0"], None);
    assert_eq!(status, 0);
    let directory: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(directory["users"], serde_json::json!([]));
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("empty-{}.json", std::process::id()));
    std::fs::write(&path, &out).expect("writes");
    let (status, count, _) = run(
        &[
            "query",
            "--data",
            &path.to_string_lossy(),
            "--format",
            "count",
            "",
        ],
        None,
    );
    let _ = std::fs::remove_file(&path);
    assert_eq!((status, count.trim()), (0, "0"));
}
