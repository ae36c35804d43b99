//! GitLab's orders from the indexes agree with sorting every match (the path they replaced):
//! offset pages, keyset pages and the `search` relevance order, over random directories whose
//! names, logins, public emails and update times are mixed case, tied, missing or non-ASCII, with
//! and without pending changes in the overlay.
//!
//! The oracle takes the match set from the id order (the engine's number permutation, not the
//! code under test) and sorts it the way the dialect did before: `(key, GitLab id)` for an
//! explicit order, `(tier, displayed name, GitLab id)` for relevance.

use std::cmp::Ordering;
use std::sync::Arc;

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use userql_dialects::{answer, parse_query_string, Call, Dialect};
use userql_directory::generate::{generate, GenOptions, GEN_NOW_MS};
use userql_directory::model::User;
use userql_directory::save::user_to_raw;
use userql_directory::store::{StoreOptions, Update};
use userql_directory::{Snapshot, Store};
use userql_engine::{Engine, Viewer};

const NAMES: [&str; 10] = [
    "Mark Smith",
    "mark smith",
    "MARK SMITH",
    "Ölaf Smith",
    "ölaf smith",
    "Zed Smithers",
    "aaron smit",
    " Mark  Smith ",
    "smi",
    "Smi",
];
const LOGINS_SUFFIX: [&str; 3] = ["", "SMI", "Smith"];
const EMAILS: [&str; 3] = ["smi", "SMI", "mark@smith.example"];
const QUERIES: [&str; 5] = ["smi", "mark smith", "smith", "mark@smith.example", "ab"];

/// A generated directory with names, logins, public emails and update times redrawn from small
/// pools (so ties, case variants and exact-tier matches are common).
fn directory(users: usize, seed: u64) -> Snapshot {
    let mut model = generate(&GenOptions { users, seed });
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for user in model.users.records_mut() {
        user.name = match rng.gen_range(0..12) {
            0 => None,
            n => Some(NAMES[(n - 1) % NAMES.len()].into()),
        };
        let suffix = LOGINS_SUFFIX[rng.gen_range(0..LOGINS_SUFFIX.len())];
        let login = if rng.gen_bool(0.5) {
            user.login.to_uppercase()
        } else {
            user.login.to_string()
        };
        user.login = format!("{login}{suffix}").into();
        user.public_email = match rng.gen_range(0..6) {
            n @ 0..=2 => Some(EMAILS[n].into()),
            _ => None,
        };
        user.updated_at = (rng
            .gen_bool(0.7)
            .then(|| GEN_NOW_MS - rng.gen_range(0..4) * 1000))
        .into();
    }
    Snapshot::new(model)
}

/// The same directory with a few users rewritten as pending changes (no rebuild).
fn with_overlay(snapshot: Snapshot, seed: u64) -> Arc<Snapshot> {
    let store = Store::from_snapshot(Arc::new(snapshot), StoreOptions::never_compact());
    let before = store.snapshot();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut batch = Vec::new();
    for _ in 0..5 {
        let row = rng.gen_range(0..before.model.users.slots());
        let mut raw = user_to_raw(&before.model, row as u32);
        raw.name = Some(NAMES[rng.gen_range(0..NAMES.len())].to_string());
        batch.push(Update::ReplaceUser(raw));
    }
    store.apply(&batch).expect("renames apply");
    store.snapshot()
}

fn ask(snapshot: &Snapshot, viewer: &Viewer, query: &str) -> (Vec<String>, Option<String>) {
    let engine = Engine::default();
    let call = Call {
        dialect: Dialect::Gitlab,
        params: parse_query_string(query),
        viewer: viewer.clone(),
        now: GEN_NOW_MS,
        engine: &engine,
        snapshot,
    };
    let answer = answer(&call);
    assert_eq!(answer.response.status, 200, "{query}: {:?}", answer.error);
    let next = answer
        .response
        .headers
        .iter()
        .find(|(name, _)| name == "X-Next-Cursor")
        .map(|(_, value)| value.clone());
    (answer.ids, next)
}

/// Every match, from the id order.
fn matches(snapshot: &Snapshot, viewer: &Viewer, filter: &str) -> Vec<String> {
    offset_pages(
        snapshot,
        viewer,
        &format!("{filter}&order_by=id&sort=asc"),
        100,
    )
}

fn display(user: &User) -> &str {
    user.name.as_deref().unwrap_or(&user.login)
}

/// The oracle's order: what the dialect sorted every match by before.
fn sorted(
    snapshot: &Snapshot,
    ids: &[String],
    order_by: Option<&str>,
    desc: bool,
    search: Option<&str>,
) -> Vec<String> {
    let user = |id: &String| {
        let row = snapshot.row_of_id(id).expect("a listed user exists");
        &snapshot.model.users[row as usize]
    };
    let mut out = ids.to_vec();
    match (order_by, search) {
        (None, Some(query)) => {
            let tier = |u: &User| {
                let equal = |v: Option<&str>| v.is_some_and(|v| v.to_lowercase() == query);
                if equal(u.public_email.as_deref()) {
                    0
                } else if equal(Some(&u.login)) {
                    1
                } else if equal(u.name.as_deref()) {
                    2
                } else {
                    3
                }
            };
            out.sort_by_key(|id| {
                let u = user(id);
                (tier(u), display(u).to_string(), u.number)
            });
        }
        _ => {
            let by = order_by.unwrap_or("id");
            let compare = |a: &String, b: &String| -> Ordering {
                let (x, y) = (user(a), user(b));
                let first = match by {
                    "name" => display(x).cmp(display(y)),
                    "username" => x.login.to_lowercase().cmp(&y.login.to_lowercase()),
                    "updated_at" => x
                        .updated_at
                        .get()
                        .unwrap_or(x.created_at)
                        .cmp(&y.updated_at.get().unwrap_or(y.created_at)),
                    _ => (x.number as i64).cmp(&(y.number as i64)),
                };
                first.then(x.number.cmp(&y.number))
            };
            out.sort_by(|a, b| {
                let ordering = compare(a, b);
                if desc {
                    ordering.reverse()
                } else {
                    ordering
                }
            });
        }
    }
    out
}

/// Every offset page of a request, concatenated.
fn offset_pages(snapshot: &Snapshot, viewer: &Viewer, request: &str, per_page: u64) -> Vec<String> {
    let mut all = Vec::new();
    for page in 1.. {
        let (ids, _) = ask(
            snapshot,
            viewer,
            &format!("{request}&per_page={per_page}&page={page}"),
        );
        if ids.is_empty() {
            break;
        }
        all.extend(ids);
    }
    all
}

/// Every keyset page of a request, concatenated (following `X-Next-Cursor`).
fn keyset_pages(snapshot: &Snapshot, viewer: &Viewer, request: &str, per_page: u64) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            None => format!("{request}&pagination=keyset&per_page={per_page}"),
            Some(c) => format!("{request}&pagination=keyset&per_page={per_page}&cursor={c}"),
        };
        let (ids, next) = ask(snapshot, viewer, &query);
        all.extend(ids);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    all
}

fn check(snapshot: &Snapshot, viewer: &Viewer, case: &Case) {
    let search = case
        .search
        .map(|q| format!("search={}", q.replace(' ', "%20")));
    let filter = search
        .clone()
        .unwrap_or_else(|| "exclude_internal=false".into());
    let mut request = filter.clone();
    if let Some(by) = case.order_by {
        request.push_str(&format!("&order_by={by}"));
    }
    if let Some(sort) = case.sort {
        request.push_str(&format!("&sort={sort}"));
    }
    let all = matches(snapshot, viewer, &filter);
    let explicit = case.order_by.is_some() || case.sort.is_some();
    let desc = case.sort != Some("asc");
    let expected = sorted(
        snapshot,
        &all,
        case.order_by.or(explicit.then_some("id")),
        desc,
        case.search.filter(|_| !explicit),
    );
    assert_eq!(
        offset_pages(snapshot, viewer, &request, case.per_page),
        expected,
        "offset pages of {request}"
    );
    // Keyset pages ignore relevance: id descending unless an order is given.
    let keyset_expected = sorted(
        snapshot,
        &all,
        Some(case.order_by.unwrap_or("id")),
        desc,
        None,
    );
    assert_eq!(
        keyset_pages(snapshot, viewer, &request, case.per_page),
        keyset_expected,
        "keyset pages of {request}"
    );
}

#[derive(Debug)]
struct Case {
    search: Option<&'static str>,
    order_by: Option<&'static str>,
    sort: Option<&'static str>,
    per_page: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::option::of(proptest::sample::select(QUERIES.to_vec())),
        proptest::option::of(proptest::sample::select(vec![
            "id",
            "name",
            "username",
            "updated_at",
            "created_at",
        ])),
        proptest::option::of(proptest::sample::select(vec!["asc", "desc"])),
        1u64..9,
    )
        .prop_map(|(search, order_by, sort, per_page)| Case {
            search,
            order_by,
            sort,
            per_page,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn orders_from_the_indexes_match_sorting_every_match(
        seed in 0u64..1_000,
        users in 20usize..90,
        overlay in any::<bool>(),
        admin in any::<bool>(),
        case in case(),
    ) {
        let snapshot = directory(users, seed);
        let viewer = if admin {
            Viewer::Admin
        } else {
            Viewer::Login(snapshot.model.users[0].login.to_string())
        };
        let snapshot = if overlay {
            with_overlay(snapshot, seed)
        } else {
            Arc::new(snapshot)
        };
        check(&snapshot, &viewer, &case);
    }
}
