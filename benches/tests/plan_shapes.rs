//! Plan-shape regression test (issue 18): every benchmark query (a–l) and every dialect row of the
//! comparison harness is planned on its intended index path — asserted on EXPLAIN text, never on
//! time — so that a later change cannot fall back to a scan, a per-row check or a full sort
//! unnoticed.
//!
//! What is asserted per request: the multiset of index lookups the plan uses (kind and field,
//! without values or estimates), that no node is `All` (a scan of every row) and no `And` checks
//! predicates row by row, and that the first page comes from the index orders (walking a sort
//! permutation or selecting by rank), never from sorting every match. The operand order inside a
//! node is the planner's cost decision and depends on the directory's size, so it is not fixed
//! here.

use userql_benches::peers::userql::UserqlPeer;
use userql_benches::workload::{cases, dialect_cases, pick_values};
use userql_dialects::arcgis::glob_path;
use userql_dialects::gitlab::page_path;
use userql_dialects::{answer, parse_query_string, Call, Dialect};
use userql_directory::generate::{generate, GenOptions, GEN_NOW_MS};
use userql_directory::Snapshot;
use userql_engine::{Engine, Explain, Request, Viewer};

/// Users in the test directory: large enough that every query matches many users (so the
/// planner faces the same choices as at 1 M), small enough for CI.
const USERS: usize = 20_000;

/// The lookups each benchmark query must use (sorted), and the root node.
const HUB: [(char, &str, &[&str]); 12] = [
    ('a', "Lookup", &["term Login"]),
    ('b', "Lookup", &["term Email"]),
    (
        'c',
        "Or",
        &[
            "substring Login",
            "substring Name",
            "substring PrimaryEmail",
            "substring SecondaryEmail",
        ],
    ),
    ('d', "Or", &["prefix Login", "prefix Name"]),
    ('e', "And", &["flag TwoFactor", "state active"]),
    ('f', "And", &["range Created", "state active"]),
    (
        'g',
        "And",
        &["flag HasOwnRole", "range LastAccess", "term AuthModule"],
    ),
    ('h', "And", &["flag TwoFactor", "group-subtree"]),
    ('i', "Lookup", &["access project"]),
    (
        'j',
        "And",
        &["access project", "group-direct", "term Login"],
    ),
    (
        'k',
        "And",
        &[
            "access any",
            "flag External",
            "flag TwoFactor",
            "group-subtree",
            "group-subtree",
            "range LastAccess",
            "state active",
        ],
    ),
    ('l', "Complement", &["flag Admin", "state active"]),
];

/// The lookups each dialect row of the harness must use (sorted), in the order of
/// [`dialect_cases`].
const DIALECTS: [&[&str]; 9] = [
    // GitLab `search`: exact email, or the term as a substring of the name or the username.
    &["substring Login", "substring Name", "term Email"],
    &["flag Internal", "flag TwoFactor", "state active"],
    &["flag Internal", "range Created", "state active"],
    // TFE `q`: username or email substring; `filter[suspended]=false`: active.
    &["state active", "substring Login", "substring PrimaryEmail"],
    // GitLab keyset pages (id descending, then by name): `active=true`.
    &["flag Internal", "state active"],
    &["flag Internal", "state active"],
    // TFE with `include=organizations`: the same filter as the row above it.
    &["state active", "substring Login", "substring PrimaryEmail"],
    // ArcGIS `searchEnterpriseUsers` with `filter=mar*`: the glob's literal run as trigram
    // candidates in username, full name and email, each verified against the glob.
    &[
        "substring Login",
        "substring Name",
        "substring PrimaryEmail",
    ],
    // GitLab enterprise users of one group with `search`.
    &[
        "enterprise-group",
        "substring Login",
        "substring Name",
        "term Email",
    ],
];

/// A plan as its root label and sorted lookups (kind and field only), after checking that it
/// neither scans nor checks rows one by one nor sorts every match.
fn shape(explain: &Explain, what: &str) -> (String, Vec<String>) {
    let text = explain.to_string();
    let mut lines = text.lines();
    let root = lines
        .next()
        .and_then(|l| l.split("  (").next())
        .unwrap_or_default();
    let root = root
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut lookups = Vec::new();
    for line in text.lines() {
        let label = line.trim_start().trim_start_matches("minus ");
        assert!(
            !label.starts_with("All"),
            "{what}: a scan of every row\n{text}"
        );
        assert!(
            !label.contains("check per row"),
            "{what}: predicates checked row by row\n{text}"
        );
        if let Some(lookup) = label.strip_prefix("Lookup ") {
            // Kind and field; values (quoted, `= …`, `[…)`, `#n`) are not part of the shape.
            let words: Vec<&str> = lookup
                .split_whitespace()
                .take_while(|w| !w.starts_with(['"', '=', '[', '(', '#']))
                .take(2)
                .collect();
            lookups.push(words.join(" "));
        }
    }
    assert!(
        !text.contains("page by FullSort"),
        "{what}: the first page sorts every match\n{text}"
    );
    lookups.sort();
    (root, lookups)
}

fn setup() -> (Snapshot, Vec<userql_benches::workload::Case>) {
    let model = generate(&GenOptions {
        users: USERS,
        seed: 42,
    });
    let values = pick_values(&model);
    let cases = cases(&model, &values);
    (Snapshot::new(model), cases)
}

#[test]
fn benchmark_queries_use_their_indexes() {
    let (snapshot, cases) = setup();
    let engine = Engine::default();
    assert_eq!(cases.len(), HUB.len());
    for (case, (letter, root, lookups)) in cases.iter().zip(HUB) {
        assert_eq!(case.letter, letter);
        let request = match UserqlPeer::request(&engine, case) {
            Ok(request) => request,
            Err(e) => panic!("{e}"),
        };
        let explain = match engine.explain(&snapshot, &request) {
            Ok((_, explain)) => explain,
            Err(e) => panic!("{letter}: {e}"),
        };
        let what = format!("query {letter} `{}`", case.hub);
        assert_eq!(
            shape(&explain, &what),
            (root.to_owned(), to_strings(lookups)),
            "{what}\n{explain}"
        );
    }
}

#[test]
fn dialect_rows_use_their_indexes() {
    let (snapshot, _) = setup();
    let engine = Engine::default();
    let rows = dialect_cases(&snapshot.model);
    assert_eq!(
        rows.len(),
        DIALECTS.len(),
        "one expectation per harness row"
    );
    for (case, lookups) in rows.iter().zip(DIALECTS) {
        let call = Call {
            dialect: case.dialect,
            params: parse_query_string(&case.query_string),
            viewer: Viewer::Admin,
            now: GEN_NOW_MS,
            engine: &engine,
            snapshot: &snapshot,
        };
        let what = format!(
            "{} row {} `{}`",
            case.dialect, case.letter, case.query_string
        );
        let answered = answer(&call);
        assert_eq!(answered.response.status, 200, "{what}");
        let request: Request = match answered.request {
            Some(request) => request,
            None => panic!("{what}: no engine request ({:?})", answered.error),
        };
        let explain = match engine.explain(&snapshot, &request) {
            Ok((_, explain)) => explain,
            Err(e) => panic!("{what}: {e}"),
        };
        let (_, found) = shape(&explain, &what);
        assert_eq!(found, to_strings(lookups), "{what}\n{explain}");
    }
}

/// ArcGIS `filter` globs and how the in-memory source answers them from the login, name and
/// email dictionaries (generated data has no irregular whitespace, so no row is re-checked on its
/// record): a prefix is a range of each sorted dictionary, never trigram candidates each
/// matched against the glob (135 ms at 1 M before).
const GLOBS: [(&str, &str); 5] = [
    ("mar*", "prefix range"),
    ("MAR", "prefix range"),
    ("mar*ez", "prefix range checked"),
    ("*smith", "trigrams checked"),
    ("*a*", "scan"),
];

#[test]
fn arcgis_globs_come_from_the_dictionaries() {
    let (snapshot, _) = setup();
    let engine = Engine::default();
    for (filter, path) in GLOBS {
        let call = Call {
            dialect: Dialect::Arcgis,
            params: parse_query_string(&format!(
                "op=searchEnterpriseUsers&filter={filter}&maxCount=20"
            )),
            viewer: Viewer::Admin,
            now: GEN_NOW_MS,
            engine: &engine,
            snapshot: &snapshot,
        };
        let expected = format!("login: {path}, name: {path}, email: {path}, 0 rows re-checked");
        match glob_path(&call) {
            Ok(found) => assert_eq!(found.as_deref(), Some(expected.as_str()), "`{filter}`"),
            Err(e) => panic!("`{filter}`: {e}"),
        }
    }
}

fn to_strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// GitLab requests whose order is not the engine's (relevance, `order_by` name / username /
/// updated_at, keyset pages) and how their page must be ordered: walked from GitLab's own
/// permutation for broad filters, selected by rank for narrow ones — never by sorting every match.
/// `#` stands for the number of exact-tier rows (data-dependent).
const GITLAB_PAGES: [(&str, &str); 8] = [
    (
        "search=smi",
        "relevance: # exact-tier rows, rest by name (walk)",
    ),
    // A deep page of a broad filter: selecting 800 by rank is cheaper than walking.
    (
        "search=smi&page=40",
        "relevance: # exact-tier rows, rest by name (select)",
    ),
    ("search=smi&pagination=keyset", "keyset by id desc (walk)"),
    (
        "active=true&pagination=keyset&per_page=20",
        "keyset by id desc (walk)",
    ),
    (
        "active=true&pagination=keyset&order_by=name&sort=asc",
        "keyset by name asc (walk)",
    ),
    (
        "active=true&pagination=keyset&order_by=updated_at",
        "keyset by updated_at desc (walk)",
    ),
    (
        "active=true&order_by=username&page=3",
        "offset by username desc (walk)",
    ),
    (
        "admins=true&order_by=name&sort=asc",
        "offset by name asc (select)",
    ),
];

#[test]
fn gitlab_pages_come_from_orders() {
    let (snapshot, _) = setup();
    let engine = Engine::default();
    for (query_string, expected) in GITLAB_PAGES {
        let mut call = Call {
            dialect: Dialect::Gitlab,
            params: parse_query_string(query_string),
            viewer: Viewer::Admin,
            now: GEN_NOW_MS,
            engine: &engine,
            snapshot: &snapshot,
        };
        let path = match page_path(&call) {
            Ok(path) => path,
            Err(e) => panic!("{query_string}: {e:?}"),
        };
        let shape: String = path
            .split(' ')
            .map(|word| {
                if word.parse::<u64>().is_ok() {
                    "#"
                } else {
                    word
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(shape, expected, "`{query_string}`");
        // A keyset request's second page starts from the cursor's position in the same order.
        if query_string.contains("keyset") {
            let first = answer(&call);
            let cursor = first
                .response
                .header("X-Next-Cursor")
                .unwrap_or_else(|| panic!("`{query_string}`: a second page"))
                .to_owned();
            call.params.push(("cursor".into(), cursor));
            let second = match page_path(&call) {
                Ok(path) => path,
                Err(e) => panic!("{query_string} page 2: {e:?}"),
            };
            assert_eq!(second, expected, "`{query_string}` page 2");
        }
    }
}
