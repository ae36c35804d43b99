//! Differential over every dialect: random directories × random Hub, GitLab, GitLab enterprise, TFE
//! and ArcGIS requests (params drawn from the directory's own values, case-changed, cut into
//! substrings, with `%`, `_`, `\`, non-ASCII text, quoted phrases, invalid values, keyset
//! cursors taken from real answers and forged ones), answered by PostgreSQL exactly as by the
//! in-memory engine: status, every header (`X-Total`, `Link`, cursors…), body bytes, ids, total
//! and Hub form. One cluster, one connection, each directory loaded in turn. Seed:
//! `USERQL_PG_SEED` (default 17).

mod common;

use common::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use userql_dialects::{answer_with, Answer, Call, Dialect, Settings};
use userql_directory::model::{AccessLevel, Model};
use userql_directory::Snapshot;
use userql_engine::{Engine, Viewer};
use userql_pg::dialect::DialectRequest;
use userql_pg::{Backend, Schema};

const DIRECTORIES: usize = 16;
const REQUESTS_PER_DIRECTORY: usize = 160;

/// Text that must be taken literally or folded exactly.
const SPECIAL: &[&str] = &[
    "%",
    "_",
    "\\",
    "a_b",
    "a%",
    "%a",
    "\\%",
    "é",
    "É",
    "ÉCOLE",
    "straße",
    "STRASSE",
    "ΣΑΣ",
    "σας",
    "İ",
    "Ω",
    "@",
    " ",
    "  a  b ",
    "\"sky walker\"",
    "ab",
    "a*",
    "*",
    "**",
    "*e*",
    "x*y",
    "\u{1F600}",
];

/// Values from the directory: logins, names, emails, numbers, groups, identities.
struct Vocabulary {
    texts: Vec<String>,
    numbers: Vec<u64>,
    groups: Vec<String>,
    top_groups: Vec<String>,
    identities: Vec<(String, String)>,
}

impl Vocabulary {
    fn of(model: &Model) -> Vocabulary {
        let mut texts: Vec<String> = SPECIAL.iter().map(|s| s.to_string()).collect();
        let mut identities = Vec::new();
        for user in model.users.records().take(60) {
            texts.push(user.login.to_string());
            texts.extend(user.name.as_deref().map(str::to_owned));
            texts.extend(user.email.as_deref().map(str::to_owned));
            texts.extend(user.public_email.as_deref().map(str::to_owned));
            for auth in &user.auth {
                if let Some(uid) = &auth.uid {
                    identities.push((auth.module.to_string(), uid.to_string()));
                }
            }
        }
        let groups = model
            .groups
            .iter()
            .flat_map(|g| [g.id.clone(), g.name.clone()])
            .collect();
        let top_groups = model
            .groups
            .iter()
            .filter(|g| g.parent.is_none())
            .flat_map(|g| [g.id.clone(), g.name.clone()])
            .collect();
        Vocabulary {
            top_groups,
            texts,
            numbers: model.users.records().map(|u| u.number).collect(),
            groups,
            identities,
        }
    }

    /// A value: whole, a piece, case-changed, or with a metacharacter.
    fn text(&self, rng: &mut ChaCha8Rng) -> String {
        let base = self.texts.choose(rng).cloned().unwrap_or_default();
        let chars: Vec<char> = base.chars().collect();
        let mut value = match rng.gen_range(0..8) {
            4 if chars.len() > 2 => {
                let start = rng.gen_range(0..chars.len() - 1);
                let end = rng.gen_range(start + 1..=chars.len());
                chars[start..end].iter().collect()
            }
            5 => base.to_uppercase(),
            6 => format!(
                "{}{}",
                base,
                SPECIAL.choose(rng).copied().unwrap_or_default()
            ),
            7 => base.to_lowercase(),
            _ => base,
        };
        if rng.gen_bool(0.05) {
            value = format!("@{value}");
        }
        value
    }

    fn number(&self, rng: &mut ChaCha8Rng) -> String {
        match rng.gen_range(0..5) {
            0 => rng.gen_range(0..5000).to_string(),
            _ => self.numbers.choose(rng).map_or("1".into(), u64::to_string),
        }
    }
}

fn flag(rng: &mut ChaCha8Rng) -> String {
    small_or(
        rng,
        &[
            "true", "true", "true", "false", "yes", "0", "T", "maybe", "",
        ],
        7,
    )
}

/// One of `values`; the ones from `valid` on (invalid values) only one time in ten.
fn small_or(rng: &mut ChaCha8Rng, values: &[&str], valid: usize) -> String {
    let end = if rng.gen_bool(0.9) {
        valid
    } else {
        values.len()
    };
    small(rng, &values[..end])
}

fn small(rng: &mut ChaCha8Rng, values: &[&str]) -> String {
    values.choose(rng).copied().unwrap_or_default().to_string()
}

fn gitlab_common(rng: &mut ChaCha8Rng, v: &Vocabulary, params: &mut Vec<(String, String)>) {
    let mut add = |k: &str, value: String| params.push((k.to_string(), value));
    if rng.gen_bool(0.35) {
        add("search", v.text(rng));
    }
    if rng.gen_bool(0.1) {
        add("username", v.text(rng));
    }
    for name in ["active", "blocked"] {
        if rng.gen_bool(0.15) {
            add(name, flag(rng));
        }
    }
    if rng.gen_bool(0.15) {
        add("two_factor", small(rng, &["enabled", "disabled", "x"]));
    }
    if rng.gen_bool(0.15) {
        add(
            "created_after",
            small(
                rng,
                &["2019-01-01", "2023-06-01T00:00:00Z", "2030-01-01", "bad"],
            ),
        );
    }
    if rng.gen_bool(0.15) {
        add(
            "created_before",
            small(rng, &["2021-01-01", "2026-01-01", "2000-01-01"]),
        );
    }
    if rng.gen_bool(0.6) {
        add(
            "per_page",
            small_or(
                rng,
                &["1", "2", "3", "5", "7", "20", "20", "-1", "500", "0"],
                9,
            ),
        );
    }
    if rng.gen_bool(0.5) {
        add(
            "page",
            small_or(rng, &["1", "1", "2", "3", "4", "0", "-2", "x"], 7),
        );
    }
}

fn gitlab(rng: &mut ChaCha8Rng, v: &Vocabulary) -> Vec<(String, String)> {
    let mut params = Vec::new();
    gitlab_common(rng, v, &mut params);
    let mut add = |k: &str, value: String| params.push((k.to_string(), value));
    if rng.gen_bool(0.15) {
        add("public_email", v.text(rng));
    }
    for name in [
        "exclude_active",
        "external",
        "exclude_external",
        "humans",
        "exclude_humans",
        "exclude_internal",
        "without_project_bots",
        "admins",
        "skip_ldap",
        "without_projects",
    ] {
        if rng.gen_bool(0.06) {
            add(name, flag(rng));
        }
    }
    if rng.gen_bool(0.05) {
        if let Some((provider, uid)) = v.identities.choose(rng) {
            add("provider", provider.clone());
            add("extern_uid", uid.clone());
        }
    }
    if rng.gen_bool(0.5) {
        add(
            "order_by",
            small(rng, &["id", "name", "username", "created_at", "updated_at"]),
        );
    }
    if rng.gen_bool(0.5) {
        add("sort", small(rng, &["asc", "desc"]));
    }
    if rng.gen_bool(0.3) {
        add("pagination", "keyset".into());
        if rng.gen_bool(0.3) {
            let forged = match rng.gen_range(0..4) {
                0 => format!("{{\"id\":{}}}", v.number(rng)),
                1 => format!("{{\"key\":{:?},\"id\":{}}}", v.text(rng), v.number(rng)),
                2 => format!("{{\"key\":{},\"id\":{}}}", v.number(rng), v.number(rng)),
                _ => "{\"key\":null,\"id\":1}".to_string(),
            };
            let hex: String = forged.bytes().map(|b| format!("{b:02x}")).collect();
            add("cursor", hex);
        }
    }
    params
}

fn enterprise(rng: &mut ChaCha8Rng, v: &Vocabulary) -> Vec<(String, String)> {
    let groups = if rng.gen_bool(0.85) {
        &v.top_groups
    } else {
        &v.groups
    };
    let mut params = vec![(
        "id".to_string(),
        groups.choose(rng).cloned().unwrap_or_default(),
    )];
    gitlab_common(rng, v, &mut params);
    if rng.gen_bool(0.1) {
        params.push(("user_id".into(), v.number(rng)));
    }
    params
}

fn tfe(rng: &mut ChaCha8Rng, v: &Vocabulary) -> Vec<(String, String)> {
    let mut params = Vec::new();
    if rng.gen_bool(0.7) {
        params.push(("q".into(), v.text(rng)));
    }
    for name in ["filter[admin]", "filter[suspended]"] {
        if rng.gen_bool(0.3) {
            params.push((name.into(), small(rng, &["true", "false", "x"])));
        }
    }
    if rng.gen_bool(0.6) {
        params.push((
            "page[size]".into(),
            small(rng, &["1", "2", "3", "5", "20", "0"]),
        ));
    }
    if rng.gen_bool(0.5) {
        params.push((
            "page[number]".into(),
            small(rng, &["1", "2", "3", "9", "x"]),
        ));
    }
    if rng.gen_bool(0.3) {
        params.push((
            "include".into(),
            small_or(rng, &["organizations", "teams"], 1),
        ));
    }
    params
}

/// Hub's REST options, through the same seam (`RowSource::hub`).
fn hub(rng: &mut ChaCha8Rng, v: &Vocabulary) -> Vec<(String, String)> {
    let mut params = vec![("query".to_string(), v.text(rng))];
    if rng.gen_bool(0.5) {
        params.push((
            "orderBy".into(),
            small(
                rng,
                &["login", "name desc", "creationTime", "lastAccessTime desc"],
            ),
        ));
    }
    if rng.gen_bool(0.5) {
        params.push(("$top".into(), small(rng, &["1", "3", "10"])));
    }
    if rng.gen_bool(0.3) {
        params.push(("$skip".into(), small(rng, &["0", "2", "5"])));
    }
    if rng.gen_bool(0.2) {
        params.push((
            "fields".into(),
            small(rng, &["id,login", "id,name,groups(name)"]),
        ));
    }
    params
}

fn arcgis(rng: &mut ChaCha8Rng, v: &Vocabulary) -> Vec<(String, String)> {
    let op = small(
        rng,
        &[
            "getUsersWithinEnterpriseGroup",
            "searchEnterpriseUsers",
            "searchEnterpriseUsers",
            "searchEnterpriseGroups",
            "getEnterpriseGroupsForUser",
        ],
    );
    let mut params = vec![("op".to_string(), op)];
    if rng.gen_bool(0.7) {
        let mut filter = v.text(rng);
        if rng.gen_bool(0.4) && !filter.is_empty() {
            let chars: Vec<char> = filter.chars().collect();
            let at = rng.gen_range(0..=chars.len());
            filter = chars[..at]
                .iter()
                .chain(['*'].iter())
                .chain(chars[at..].iter())
                .collect();
        }
        params.push(("filter".into(), filter));
    }
    params.push((
        "groupName".into(),
        v.groups.choose(rng).cloned().unwrap_or_default(),
    ));
    params.push(("username".into(), v.text(rng)));
    if rng.gen_bool(0.6) {
        params.push((
            "maxCount".into(),
            small(rng, &["1", "2", "3", "10", "0", "x"]),
        ));
    }
    if rng.gen_bool(0.2) {
        params.push(("f".into(), small(rng, &["json", "pjson", "html"])));
    }
    params
}

/// A viewer: admin, anonymous, a group owner, a plain user, or an unknown login.
fn viewer(rng: &mut ChaCha8Rng, model: &Model) -> Viewer {
    fn login(
        rng: &mut ChaCha8Rng,
        model: &Model,
        pick: impl Fn(&userql_directory::model::User) -> bool,
    ) -> Viewer {
        let candidates: Vec<&Box<str>> = model
            .users
            .records()
            .filter(|u| pick(u))
            .map(|u| &u.login)
            .collect();
        candidates
            .choose(rng)
            .map_or(Viewer::Admin, |l| Viewer::Login(l.to_string()))
    }
    match rng.gen_range(0..10) {
        0..=5 => Viewer::Admin,
        6 => Viewer::Anonymous,
        7 | 8 => login(rng, model, |u| {
            u.groups
                .iter()
                .any(|m| m.access == Some(AccessLevel::Owner))
        }),
        9 if rng.gen_bool(0.8) => login(rng, model, |u| !u.admin),
        _ => Viewer::Login("nobody-here".into()),
    }
}

fn summary(answer: &Answer) -> String {
    format!(
        "{:?}\nids {:?}\ntotal {:?}\nhub {:?}\nerror {:?}",
        answer.response,
        answer.ids,
        answer.total,
        answer.hub,
        answer.error.as_ref().map(|e| e.message.clone())
    )
}

struct Case {
    dialect: Dialect,
    params: Vec<(String, String)>,
    viewer: Viewer,
}

/// Compares one case; returns the in-memory answer.
fn compare(backend: &mut Backend, snapshot: &Snapshot, engine: &Engine, case: &Case) -> Answer {
    let settings = Settings {
        count_limit: 150,
        ..Settings::default()
    };
    let call = Call {
        dialect: case.dialect,
        params: case.params.clone(),
        viewer: case.viewer.clone(),
        now: NOW,
        engine,
        snapshot,
    };
    let expected = answer_with(&call, &settings);
    let actual = userql_pg::dialect::answer(
        backend,
        engine,
        DialectRequest {
            dialect: case.dialect,
            params: case.params.clone(),
            viewer: case.viewer.clone(),
            now: NOW,
        },
        &settings,
    )
    .unwrap_or_else(|e| {
        panic!(
            "PostgreSQL failed on {} {:?}: {e}",
            case.dialect, case.params
        )
    });
    assert_eq!(
        summary(&actual),
        summary(&expected),
        "PostgreSQL (left) and engine (right) differ on {} {:?}, viewer {:?}, over {} users",
        case.dialect,
        case.params,
        case.viewer,
        snapshot.model.users.count()
    );
    expected
}

#[test]
fn every_dialect_answers_as_the_engine() {
    let Some(cluster) = userql_pg::cluster::for_test() else {
        return;
    };
    let seed = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xd1a1);
    let mut client = userql_pg::connect(&cluster.url()).expect("connects");
    let schema = Schema::default();
    let engine = Engine::default();
    let mut compared = [0usize; 5];
    let mut ok_with_rows = 0usize;
    for directory in 0..DIRECTORIES {
        let Some(model) = random_directory(&mut rng, directory, 30..300) else {
            continue;
        };
        userql_pg::load(&mut client, &schema, &model)
            .unwrap_or_else(|e| panic!("directory {directory} (seed {seed}) loads: {e}"));
        let mut backend = Backend::on(client, schema.clone()).expect("opens");
        let vocabulary = Vocabulary::of(&model);
        let snapshot = snapshot(model);
        for _ in 0..REQUESTS_PER_DIRECTORY {
            let which = rng.gen_range(0..5);
            let (dialect, params) = match which {
                0 => (Dialect::Gitlab, gitlab(&mut rng, &vocabulary)),
                1 => (Dialect::GitlabEnterprise, enterprise(&mut rng, &vocabulary)),
                2 => (Dialect::Tfe, tfe(&mut rng, &vocabulary)),
                3 => (Dialect::Arcgis, arcgis(&mut rng, &vocabulary)),
                _ => (Dialect::Hub, hub(&mut rng, &vocabulary)),
            };
            let case = Case {
                dialect,
                params,
                viewer: viewer(&mut rng, &snapshot.model),
            };
            let answer = compare(&mut backend, &snapshot, &engine, &case);
            compared[which] += 1;
            if answer.error.is_none() && !answer.ids.is_empty() {
                ok_with_rows += 1;
            }
            // Follow a keyset cursor the answer handed out, as a client would.
            let next = answer
                .response
                .headers
                .iter()
                .find(|(name, _)| name == "X-Next-Cursor")
                .map(|(_, value)| value.clone());
            if let Some(cursor) = next {
                let mut params = case.params.clone();
                params.retain(|(k, _)| k != "cursor");
                params.push(("cursor".into(), cursor));
                compare(&mut backend, &snapshot, &engine, &Case { params, ..case });
                compared[which] += 1;
            }
        }
        client = backend.into_client();
    }
    let total: usize = compared.iter().sum();
    eprintln!(
        "{total} dialect cases compared (GitLab, enterprise, TFE, ArcGIS, Hub: {compared:?}), \
         {ok_with_rows} answered with rows (seed {seed})"
    );
    assert!(total >= 2000, "only {total} cases");
    assert!(
        compared.iter().all(|&n| n >= 300),
        "a dialect is under-sampled: {compared:?}"
    );
    assert!(
        ok_with_rows * 5 >= total,
        "too few cases answer rows ({ok_with_rows} of {total}): the generator is not exercising the backend"
    );
}
