//! Differential test: the indexed engine against the reference evaluator, on random directories
//! and random queries that cover every key of hub-query.md.
//!
//! Queries are generated as *text* from the directory they run on (values are drawn from the
//! directory's own names, logins, emails and times, plus near misses), so they exercise entity
//! resolution, folding, every index kind, the planner's rewrites and every paging strategy.
//! Cases: 2,000 per run; set `USERQL_PROPTEST_CASES` for more.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use userql_directory::changes::Change;
use userql_directory::index::{Indexes, SortKey};
use userql_directory::model::*;
use userql_directory::save;
use userql_directory::store::{StoreOptions, Update};
use userql_directory::{Snapshot, Store};
use userql_engine::{Engine, Options, Request, Top, Viewer};
use userql_syntax::catalogue;

const NOW: i64 = 1_781_524_800_000;
const DAY: i64 = 86_400_000;

const FIRST: &[&str] = &[
    "Ann", "anna", "Bob", "Émile", "Zoë", "Mar", "mark", "Li", "Ola",
];
const LAST: &[&str] = &["Smith", "smithers", "Marsh", "Ng", "O'Neil", "Dupré", "Lee"];
const MODULES: &[(&str, &str)] = &[
    ("core", "Hub"),
    ("ldap", "Corp LDAP"),
    ("ldapmain", "Main LDAP"),
    ("LDAP", "Upper LDAP"),
    ("Core", "Hub"),
    ("google", "Google"),
    ("Google", "Google"),
    ("github", "GitHub"),
    ("openid", "OpenID"),
];
const TYPES: &[&str] = &[
    "human",
    "human",
    "human",
    "service_account",
    "project_bot",
    "ghost",
    "bot",
    "Project-Bot",
    "SERVICE ACCOUNT",
    "Bot",
];

/// A random but valid model: unique logins (case-insensitively) and numbers, an acyclic forest.
fn arb_model() -> impl Strategy<Value = Model> {
    (0usize..24, 0usize..6, 0usize..4, 1usize..4, any::<u64>()).prop_map(
        |(users, groups, projects, roles, seed)| build_model(users, groups, projects, roles, seed),
    )
}

/// Tiny deterministic generator so the model is a pure function of the proptest inputs.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn build_model(users: usize, groups: usize, projects: usize, roles: usize, seed: u64) -> Model {
    let mut r = Lcg(seed);
    let mut m = Model {
        services: vec![
            Service {
                id: "yt".into(),
                name: "YouTrack".into(),
            },
            Service {
                id: "tc".into(),
                name: "TeamCity".into(),
            },
        ]
        .into(),
        permissions: (0..4)
            .map(|i| Permission {
                id: format!("perm-{i}"),
                name: format!("Perm {i}"),
            })
            .collect(),
        organizations: vec![
            Organization {
                id: "o-1".into(),
                name: "Org One".into(),
            },
            Organization {
                id: "o-2".into(),
                name: "Org Two".into(),
            },
        ]
        .into(),
        ..Model::default()
    };
    m.roles = (0..roles)
        .map(|i| Role {
            id: format!("role-{i}"),
            name: if i == 0 {
                "Developer".into()
            } else {
                format!("Role {i}")
            },
            permissions: (0..4).filter(|_| r.chance(40)).map(PermissionIdx).collect(),
        })
        .collect();
    m.projects = (0..projects)
        .map(|i| Project {
            id: format!("p-{i}"),
            name: format!("Project {i}"),
            key: Some(format!("P{i}")),
            organization: if r.chance(70) {
                Some(OrgIdx(r.below(2) as u32))
            } else {
                None
            },
        })
        .collect();
    m.groups = (0..groups)
        .map(|i| Group {
            id: format!("g-{i}"),
            name: if i % 2 == 0 {
                format!("Group {i}")
            } else {
                format!("team-ish {i}")
            },
            parent: if i > 0 && r.chance(60) {
                Some(GroupIdx(r.below(i) as u32))
            } else {
                None
            },
        })
        .collect();
    let mut logins = std::collections::HashSet::new();
    for i in 0..users {
        let first = r.pick(FIRST);
        let last = r.pick(LAST);
        let mut login = match r.below(3) {
            0 => format!("{}.{}", first, last),
            1 => format!("{}{}", first.chars().next().unwrap_or('x'), last),
            _ => last.to_string(),
        };
        if r.chance(50) {
            login = login.to_uppercase();
        }
        while !logins.insert(login.to_lowercase()) {
            login.push_str(&r.below(10).to_string());
        }
        let created = NOW - (r.below(4000) as i64) * DAY - r.below(86_400_000) as i64;
        let email = r
            .chance(80)
            .then(|| format!("{}.{}@{}.example", first, last, r.pick(&["corp", "mail"])));
        let auth = (0..r.below(3))
            .map(|_| {
                let (module, module_name) = MODULES[r.below(MODULES.len())];
                AuthDetail {
                    module: module.into(),
                    module_name: Some(module_name.into()),
                    login: r.chance(80).then(|| login.to_lowercase()),
                    name: Some(format!("{first} {last}")),
                    email: email.clone(),
                    uid: r.chance(70).then(|| format!("UID-{}", r.below(5))),
                    saml_provider_id: None,
                }
            })
            .collect();
        let state = State::ALL[if r.chance(70) { 0 } else { r.below(6) }];
        m.users.push(User {
            id: format!("u-{i:02}"),
            number: (i + 1) as u64,
            number_explicit: false,
            login,
            name: r.chance(90).then(|| format!("{first} {last}")),
            email: email.clone(),
            email_verified: r.chance(60),
            public_email: if r.chance(30) { email.clone() } else { None },
            emails: if r.chance(20) {
                vec![format!("{last}{i}@alt.example")]
            } else {
                vec![]
            },
            state,
            admin: r.chance(10),
            guest: i == 3,
            user_type: r.pick(TYPES).into(),
            external: r.chance(15),
            two_factor: r.chance(35),
            two_factor_capable: r.chance(50),
            created_at: created,
            updated_at: r.chance(50).then(|| created + DAY),
            last_access_at: r
                .chance(80)
                .then(|| created + (r.below(3000) as i64) * DAY / 2),
            last_sign_in_at: None,
            confirmed_at: None,
            ban: (state == State::Banned).then(|| Ban {
                status: Some(r.pick(&["permanent", "Temporary"]).into()),
                reason: None,
                at: None,
            }),
            auth,
            ssh_keys: if r.chance(20) {
                vec![SshKey {
                    title: None,
                    key: format!("ssh-ed25519 AAAA{i} me@host"),
                    fingerprint: Some(format!("SHA256:fp{i}")),
                }]
            } else {
                vec![]
            },
            licenses: (0..2).filter(|_| r.chance(30)).map(ServiceIdx).collect(),
            vcs_user_names: if r.chance(30) {
                vec![format!("vcs{}", r.below(4))]
            } else {
                vec![]
            },
            origin_service: r.chance(20).then(|| ServiceIdx(r.below(2) as u32)),
            refresh_token: r.chance(20),
            permanent_token: r.chance(20),
            approved_resource: r.chance(20),
            accepted_eua: r.chance(50),
            groups: {
                let mut gs: Vec<Membership> = (0..groups)
                    .filter(|_| r.chance(25))
                    .map(|g| Membership {
                        group: GroupIdx(g as u32),
                        access: None,
                    })
                    .collect();
                gs.dedup();
                gs
            },
            organizations: (0..2).filter(|_| r.chance(30)).map(OrgIdx).collect(),
            enterprise_group: if groups > 0 && r.chance(15) {
                Some(GroupIdx(0))
            } else {
                None
            },
            profile: Default::default(),
        });
    }
    m.teams = (0..projects.min(2))
        .map(|i| Team {
            id: format!("t-{i}"),
            name: format!("Team {i}"),
            project: Some(ProjectIdx(i as u32)),
            users: (0..users as u32).filter(|_| r.chance(15)).collect(),
            groups: (0..groups as u32)
                .filter(|_| r.chance(30))
                .map(GroupIdx)
                .collect(),
        })
        .collect();
    let grant_count = r.below(12);
    for _ in 0..grant_count {
        let subject = match r.below(3) {
            0 if users > 0 => Subject::User(r.below(users) as u32),
            1 if groups > 0 => Subject::Group(GroupIdx(r.below(groups) as u32)),
            2 if !m.teams.is_empty() => Subject::Team(TeamIdx(r.below(m.teams.len()) as u32)),
            _ => continue,
        };
        let scope = match r.below(3) {
            0 if projects > 0 => Scope::Project(ProjectIdx(r.below(projects) as u32)),
            1 => Scope::Organization(OrgIdx(r.below(2) as u32)),
            _ => Scope::Global,
        };
        m.grants.push(Grant {
            role: RoleIdx(r.below(roles) as u32),
            subject,
            scope,
        });
    }
    m
}

fn braced(text: &str) -> String {
    format!("{{{}}}", text.replace('\\', "\\\\").replace('}', "\\}"))
}

/// One query clause drawn from the model (or a near miss).
fn clause(m: &Model, r: &mut Lcg) -> String {
    let user = if m.users.is_empty() {
        None
    } else {
        Some(&m.users[r.below(m.users.count())])
    };
    let login = user
        .map(|u| u.login.clone())
        .unwrap_or_else(|| "nobody".into());
    let name = user
        .and_then(|u| u.name.clone())
        .unwrap_or_else(|| "No Name".into());
    let word = |r: &mut Lcg| -> String {
        let src = if r.chance(50) {
            login.clone()
        } else {
            name.clone()
        };
        let chars: Vec<char> = src.chars().collect();
        let start = r.below(chars.len().max(1));
        let len = 1 + r.below(4);
        chars.iter().skip(start).take(len).collect::<String>()
    };
    let time = |r: &mut Lcg| -> String {
        let t = NOW - (r.below(4000) as i64) * DAY;
        let dt = chrono::DateTime::from_timestamp_millis(t).unwrap_or_default();
        match r.below(4) {
            0 => dt.format("%Y").to_string(),
            1 => dt.format("%Y-%m").to_string(),
            2 => dt.format("%Y-%m-%d").to_string(),
            _ => format!("{{{} days ago}}", r.below(3000)),
        }
    };
    let group = |r: &mut Lcg| {
        m.groups
            .get(r.below(m.groups.len()))
            .map(|g| braced(&g.name))
    };
    match r.below(40) {
        0 => format!(
            "id: {}",
            user.map(|u| u.id.clone()).unwrap_or_else(|| "u-x".into())
        ),
        1 => format!("login: {}", braced(&login.to_lowercase())),
        2 => format!("loginStartsWith: {}", braced(&word(r))),
        3 => format!("name: {}", braced(&name.to_uppercase())),
        4 => format!("nameStartsWith: {}", braced(&word(r))),
        5 => format!(
            "email: {}",
            braced(
                &user
                    .and_then(|u| u.email.clone())
                    .unwrap_or_else(|| "x@y.z".into())
            )
        ),
        6 => format!("after: {}", time(r)),
        7 => format!("before: {}", time(r)),
        8 => format!("lastAccess(after: {}, before: {})", time(r), time(r)),
        9 => format!(
            "created: {} .. {}",
            time(r),
            if r.chance(30) { "*".into() } else { time(r) }
        ),
        10 => format!("lastAccess: * .. {}", time(r)),
        11 => format!("vcsUserName: vcs{}", r.below(5)),
        12 => format!("ownRole: {}", braced(&m.roles[r.below(m.roles.len())].name)),
        13 => group(r)
            .map(|g| format!("group: {g}"))
            .unwrap_or_else(|| "has: group".into()),
        14 => group(r)
            .map(|g| format!("in: {g}"))
            .unwrap_or_else(|| "is: admin".into()),
        15 => m
            .teams
            .first()
            .map(|t| format!("team: {}", braced(&t.name)))
            .unwrap_or_else(|| "has: ownRole".into()),
        16 => match (m.projects.get(r.below(m.projects.len().max(1))), r.below(3)) {
            (Some(p), 0) => format!("access(project: {})", p.key.clone().unwrap_or_default()),
            (Some(p), 1) => format!("access(project: {}, with: Developer)", braced(&p.name)),
            (_, _) => format!("access(with: {})", braced(&m.permissions[r.below(4)].name)),
        },
        17 => format!(
            "access(organization: {})",
            braced(&m.organizations[r.below(2)].name)
        ),
        18 => format!("authModule: {}", braced(MODULES[r.below(MODULES.len())].1)),
        19 => format!("authModule: {}", MODULES[r.below(MODULES.len())].0),
        20 => format!("authLogin: {}", braced(&login.to_lowercase())),
        21 => format!("authName: {}", braced(&name)),
        22 => format!("googleID: UID-{}", r.below(5)),
        23 => format!("originService: {}", r.pick(&["YouTrack", "tc"])),
        24 => format!("hasLicense: {}", r.pick(&["yt", "TeamCity"])),
        25 => format!("sshPublicKey: SHA256:fp{}", r.below(20)),
        26 => format!("banStatus: {}", r.pick(&["permanent", "temporary"])),
        27 => format!(
            "type: {}",
            braced(r.pick(&["Service account", "human", "project-bot", "ghost"]))
        ),
        // Closed values straight from the catalogue: a value added there is generated here.
        28 => format!("is: {}", braced(closed(r, catalogue::IS_VALUES))),
        29 => format!("has: {}", braced(closed(r, catalogue::HAS_VALUES))),
        30 => format!("state: {}", closed(r, catalogue::STATE_VALUES)),
        31 => format!(
            "identity(provider: {}, uid: UID-{})",
            MODULES[r.below(MODULES.len())].0,
            r.below(5)
        ),
        32 => format!("number: {} .. {}", r.below(10), r.below(30)),
        33 => format!(
            "{}: {}",
            r.pick(&["loginContains", "nameContains", "emailContains"]),
            braced(&word(r))
        ),
        34 => format!(
            "{}: {}",
            r.pick(&["authEmail", "publicEmail"]),
            braced(
                &user
                    .and_then(|u| u.email.clone())
                    .unwrap_or_else(|| "x@y.z".into())
                    .to_uppercase()
            )
        ),
        35 => format!("openID: UID-{}", r.below(5)),
        36 => format!(
            "organization: {}",
            braced(&m.organizations[r.below(2)].name)
        ),
        37 => group(r)
            .map(|g| format!("enterpriseGroup: {g}"))
            .unwrap_or_else(|| "is: bot".into()),
        _ => {
            let w = word(r);
            if w.trim().is_empty() || w.contains(['"', '\\']) {
                "is: admin".into()
            } else {
                format!("\"{}\"", w)
            }
        }
    }
}

/// One closed value of the catalogue (`is:`, `has:`, `state:`).
fn closed<'a>(r: &mut Lcg, values: &'a [catalogue::ClosedValue]) -> &'a str {
    values[r.below(values.len())].name
}

/// A random boolean combination of clauses.
fn query(m: &Model, r: &mut Lcg, depth: usize) -> String {
    if depth == 0 || r.chance(35) {
        return clause(m, r);
    }
    let a = query(m, r, depth - 1);
    let b = query(m, r, depth - 1);
    match r.below(5) {
        0 => format!("({a}) and ({b})"),
        1 => format!("({a}) or ({b})"),
        2 => format!("not ({a})"),
        3 => format!("({a}) and not ({b})"),
        _ => format!("{a} {b}"),
    }
}

const ORDERS: &[&[(SortKey, bool)]] = &[
    &[],
    &[(SortKey::Login, true)],
    &[(SortKey::Name, false)],
    &[(SortKey::Name, true)],
    &[(SortKey::Created, false)],
    &[(SortKey::LastAccess, true)],
    &[(SortKey::LastAccess, false)],
    &[(SortKey::Email, false)],
    &[(SortKey::Id, true)],
    &[(SortKey::Name, false), (SortKey::Created, true)],
];

fn cases() -> u32 {
    std::env::var("USERQL_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// A store over `model` with a few random user-level updates applied as an overlay.
fn with_updates(model: Model, r: &mut Lcg) -> Arc<Snapshot> {
    // Mostly a growing overlay; sometimes a tiny limit, rebuilt by the writer or on a background
    // thread racing the next updates (both must publish snapshots the reference agrees with).
    let max_dirty = if r.chance(70) {
        u64::MAX
    } else {
        1 + r.below(3) as u64
    };
    let store = Store::with_options(
        model,
        StoreOptions {
            max_dirty,
            background: r.chance(50),
        },
    );
    for _ in 0..1 + r.below(6) {
        let snap = store.snapshot();
        let users = snap.model.users.count();
        if users == 0 {
            break;
        }
        let user = &snap.model.users[r.below(users)];
        let id = user.id.clone();
        let update = match r.below(9) {
            0 => Update::SetState {
                id,
                state: State::ALL[r.below(6)].as_str().to_string(),
            },
            1 => Update::SetAdmin {
                id,
                admin: r.chance(50),
            },
            2 => Update::SetTwoFactor {
                id,
                enabled: r.chance(50),
            },
            3 => Update::Ban {
                id,
                status: Some("temporary".into()),
                reason: None,
                at: None,
            },
            4 => Update::Unban { id },
            5 | 6 if !snap.model.groups.is_empty() => {
                let group = snap.model.groups[r.below(snap.model.groups.len())]
                    .id
                    .clone();
                if r.chance(50) {
                    Update::AddMembership {
                        user: id,
                        group,
                        access: None,
                    }
                } else {
                    Update::RemoveMembership { user: id, group }
                }
            }
            7 => {
                let mut raw = save::user_to_raw(&snap.model, user);
                raw.id = format!("u-new-{users}");
                raw.login = format!("Newcomer{users}");
                raw.number = None;
                Update::AddUser(raw)
            }
            _ => {
                let mut raw = save::user_to_raw(&snap.model, user);
                raw.name = Some(format!("Renamed Marsh {}", r.below(9)));
                raw.two_factor = !raw.two_factor;
                Update::ReplaceUser(raw)
            }
        };
        // Some updates are invalid (removing a membership that does not exist): the store
        // refuses them atomically and the loop goes on.
        let _ = store.apply(&[update]);
    }
    if r.chance(50) {
        store.wait_for_rebuild();
    }
    store.snapshot()
}

#[test]
fn engine_agrees_with_reference_on_random_directories_and_queries() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        arb_model(),
        any::<u64>(),
        0usize..4,
        0u64..6,
        0u64..8,
        0usize..ORDERS.len(),
        0usize..4,
    );
    runner
        .run(
            &strategy,
            |(model, seed, depth, skip, top, order, viewer)| {
                let mut r = Lcg(seed);
                let text = query(&model, &mut r, depth);
                // Half the cases run on a snapshot with an overlay: user-level updates applied
                // after the indexes were built (the store keeps them as dirty rows).
                let snapshot = if r.chance(50) {
                    let index = Indexes::build(&model);
                    Arc::new(Snapshot::indexed(0, Arc::new(model), Arc::new(index)))
                } else {
                    with_updates(model, &mut r)
                };
                if snapshot.has_overlay() {
                    OVERLAID.fetch_add(1, Ordering::Relaxed);
                }
                let viewer = match viewer {
                    0 | 1 => Viewer::Admin,
                    2 => Viewer::Anonymous,
                    _ => snapshot
                        .model
                        .users
                        .records()
                        .next()
                        .map(|u| Viewer::Login(u.login.clone()))
                        .unwrap_or(Viewer::Admin),
                };
                let engine = Engine::new(Options {
                    lenient: true,
                    ..Options::default()
                });
                let parsed = match engine.parse(&text) {
                    Ok(q) => q,
                    Err(e) => {
                        return Err(TestCaseError::fail(format!(
                            "generated query {text:?} does not parse: {e}"
                        )))
                    }
                };
                let mut request = Request::new(parsed, viewer);
                request.now = NOW;
                request.skip = skip;
                request.top = if top == 7 {
                    Top::All
                } else {
                    Top::Count(top * 3)
                };
                request.order = ORDERS[order].to_vec();
                let fast = engine.search(&snapshot, &request);
                let slow = engine.reference(&snapshot, &request);
                match (fast, slow) {
                    (Ok(fast), Ok(slow)) => {
                        ANSWERED.fetch_add(1, Ordering::Relaxed);
                        if fast.total > 0 && fast.total < snapshot.model.users.count() as u64 {
                            SELECTIVE.fetch_add(1, Ordering::Relaxed);
                        }
                        prop_assert_eq!(fast, slow, "query {:?}", text)
                    }
                    (Err(a), Err(b)) => {
                        if std::env::var("USERQL_DEBUG_ERRORS").is_ok() {
                            eprintln!("{text:?}: {a}");
                        }
                        prop_assert_eq!(a, b)
                    }
                    (a, b) => prop_assert!(
                        false,
                        "query {:?}: engine {:?} vs reference {:?}",
                        text,
                        a,
                        b
                    ),
                }
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    // The generator must produce meaningful cases: mostly valid requests (non-admin viewers are
    // refused private keys), many of them matching some but not all users.
    let answered = ANSWERED.load(Ordering::Relaxed);
    let selective = SELECTIVE.load(Ordering::Relaxed);
    let overlaid = OVERLAID.load(Ordering::Relaxed);
    eprintln!(
        "answered {answered} of {} cases, {selective} selective, {overlaid} over an overlay",
        cases()
    );
    assert!(
        overlaid * 10 >= u64::from(cases()) * 3,
        "only {overlaid} cases had an overlay"
    );
    assert!(
        answered * 10 >= u64::from(cases()) * 7,
        "only {answered} cases answered"
    );
    assert!(
        selective * 10 >= u64::from(cases()) * 3,
        "only {selective} cases selective"
    );
}

static ANSWERED: AtomicU64 = AtomicU64::new(0);
static OVERLAID: AtomicU64 = AtomicU64::new(0);
static SELECTIVE: AtomicU64 = AtomicU64::new(0);

mod naive;

/// One random change over the directory as it stands (valid or not: refusals are compared too).
fn random_change(dir: &userql_directory::raw::Directory, r: &mut Lcg, serial: usize) -> Change {
    use serde_json::json;
    let user_id = |r: &mut Lcg| {
        if dir.users.is_empty() || r.chance(5) {
            "u-none".to_owned()
        } else {
            dir.users[r.below(dir.users.len())].id.clone()
        }
    };
    let group_id = |r: &mut Lcg| {
        if dir.groups.is_empty() || r.chance(5) {
            "g-none".to_owned()
        } else {
            dir.groups[r.below(dir.groups.len())].id.clone()
        }
    };
    let parse = |value: serde_json::Value| -> Change {
        serde_json::from_value(value).expect("generated changes are well-formed")
    };
    match r.below(16) {
        0..=3 => {
            let at = if r.chance(95) {
                save::format_timestamp(NOW - r.below(400) as i64 * DAY)
            } else {
                "noon".to_owned()
            };
            Change::Touch { id: user_id(r), at }
        }
        4 | 5 => {
            let set = match r.below(7) {
                0 => json!({"state": State::ALL[r.below(6)].as_str()}),
                1 => json!({"admin": r.chance(50), "two_factor": r.chance(50)}),
                2 => {
                    json!({"name": if r.chance(30) { serde_json::Value::Null } else { json!(format!("Renamed Marsh {}", r.below(9))) }})
                }
                3 => {
                    // Sometimes another user's login in another case (refused).
                    let login = if !dir.users.is_empty() && r.chance(40) {
                        dir.users[r.below(dir.users.len())].login.to_uppercase()
                    } else {
                        format!("fresh{serial}")
                    };
                    json!({"login": login})
                }
                4 => json!({"number": 1 + r.below(30)}),
                5 => json!({"emails": [format!("alt{serial}@alt.example")], "email": null}),
                _ => json!({"groups": [group_id(r)]}),
            };
            parse(json!({"op": "patch", "kind": "user", "id": user_id(r), "set": set}))
        }
        6 => {
            let login = if !dir.users.is_empty() && r.chance(20) {
                dir.users[r.below(dir.users.len())].login.clone()
            } else {
                format!("Newcomer{serial}")
            };
            let id = if r.chance(30) {
                user_id(r)
            } else {
                format!("u-new-{serial}")
            };
            parse(json!({"op": "put", "kind": "user", "value": {
                "id": id, "login": login, "name": "New Marsh",
                "created_at": save::format_timestamp(NOW - DAY),
                "groups": if r.chance(50) { vec![group_id(r)] } else { vec![] },
                "state": State::ALL[r.below(6)].as_str(),
            }}))
        }
        7 => parse(json!({"op": "delete", "kind": "user", "id": user_id(r)})),
        8 | 9 => {
            let op = if r.chance(60) { "put" } else { "delete" };
            parse(
                json!({"op": op, "kind": "membership", "value": {"user": user_id(r), "group": group_id(r)}}),
            )
        }
        10 | 11 => {
            if r.chance(40) && !dir.grants.is_empty() {
                let grant = dir.grants[r.below(dir.grants.len())].clone();
                return Change::Delete(userql_directory::changes::Target::Grant(grant));
            }
            let mut grant = json!({"role": if dir.roles.is_empty() { "role-x".to_owned() } else { dir.roles[r.below(dir.roles.len())].id.clone() }});
            match r.below(3) {
                0 => grant["group"] = json!(group_id(r)),
                1 if !dir.teams.is_empty() => {
                    grant["team"] = json!(dir.teams[r.below(dir.teams.len())].id)
                }
                _ => grant["user"] = json!(user_id(r)),
            }
            match r.below(3) {
                0 if !dir.projects.is_empty() => {
                    grant["project"] = json!(dir.projects[r.below(dir.projects.len())].id)
                }
                1 => grant["organization"] = json!("o-1"),
                _ => {}
            }
            let op = if r.chance(80) { "put" } else { "delete" };
            parse(json!({"op": op, "kind": "grant", "value": grant}))
        }
        12 => {
            let parent = if r.chance(50) {
                json!(group_id(r))
            } else {
                serde_json::Value::Null
            };
            let id = if r.chance(30) {
                group_id(r)
            } else {
                format!("g-new-{serial}")
            };
            parse(
                json!({"op": "put", "kind": "group", "value": {"id": id, "name": format!("Group {serial}"), "parent": parent}}),
            )
        }
        13 => {
            let set = if r.chance(50) {
                json!({"parent": group_id(r)})
            } else {
                json!({"name": format!("Renamed Group {serial}")})
            };
            parse(json!({"op": "patch", "kind": "group", "id": group_id(r), "set": set}))
        }
        14 => {
            let (kind, id) = match r.below(4) {
                0 => ("group", group_id(r)),
                1 => (
                    "project",
                    if dir.projects.is_empty() {
                        "p-none".to_owned()
                    } else {
                        dir.projects[r.below(dir.projects.len())].id.clone()
                    },
                ),
                // The query generator needs a role: the last one is never deleted.
                2 => (
                    "role",
                    if dir.roles.len() < 2 {
                        "role-none".to_owned()
                    } else {
                        dir.roles[r.below(dir.roles.len())].id.clone()
                    },
                ),
                _ => (
                    "team",
                    if dir.teams.is_empty() {
                        "t-none".to_owned()
                    } else {
                        dir.teams[r.below(dir.teams.len())].id.clone()
                    },
                ),
            };
            parse(json!({"op": "delete", "kind": kind, "id": id}))
        }
        _ => {
            let project = if dir.projects.is_empty() {
                serde_json::Value::Null
            } else {
                json!(dir.projects[r.below(dir.projects.len())].id)
            };
            parse(json!({"op": "put", "kind": "team", "value": {
                "id": format!("t-{}", r.below(3)), "name": format!("Team {serial}"),
                "project": project, "users": [user_id(r)], "groups": [group_id(r)],
            }}))
        }
    }
}

#[test]
fn engine_after_changes_agrees_with_reference_on_a_naively_changed_directory() {
    let mut runner = TestRunner::new(Config {
        cases: (cases() / 4).max(1),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        arb_model(),
        any::<u64>(),
        0usize..4,
        0u64..6,
        0u64..8,
        0usize..ORDERS.len(),
    );
    let accepted = AtomicU64::new(0);
    let refused = AtomicU64::new(0);
    runner
        .run(&strategy, |(model, seed, depth, skip, top, order)| {
            let mut r = Lcg(seed);
            let max_dirty = if r.chance(50) {
                u64::MAX
            } else {
                1 + r.below(3) as u64
            };
            let store = Store::with_options(
                model.clone(),
                StoreOptions {
                    max_dirty,
                    background: r.chance(50),
                },
            );
            let mut naive = naive::Naive::new(&model);
            let mut serial = 0;
            // A user deleted by the previous batch, put back (same id and login) by the next
            // one: the store keeps the old row as a hole and gives the user a new row.
            let mut reborn: Option<Change> = None;
            for _ in 0..1 + r.below(8) {
                let mut batch: Vec<Change> = reborn.take().into_iter().collect();
                batch.extend((0..1 + r.below(3)).map(|_| {
                    serial += 1;
                    random_change(&naive.dir, &mut r, serial)
                }));
                reborn = batch.iter().find_map(|change| match change {
                    Change::Delete(userql_directory::changes::Target::Entity {
                        kind: userql_directory::changes::EntityKind::User,
                        id,
                    }) if r.chance(50) => {
                        let user = naive.dir.users.iter().find(|u| &u.id == id)?;
                        Some(Change::Put(userql_directory::changes::Object::User(
                            Box::new(user.clone()),
                        )))
                    }
                    _ => None,
                });
                let result = store.apply_changes(&batch);
                let expected = naive.apply(&batch);
                prop_assert_eq!(
                    result.is_ok(),
                    expected,
                    "batch {:?}: store said {:?}",
                    serde_json::to_string(&batch).unwrap_or_default(),
                    result
                );
                if expected {
                    accepted.fetch_add(1, Ordering::Relaxed);
                } else {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
            if r.chance(50) {
                store.wait_for_rebuild();
            }
            let snapshot = store.snapshot();
            let reference = Snapshot::new(naive.model());
            let fresh = Snapshot::new(
                userql_directory::load_json(&save::save_json(&snapshot.model))
                    .map_err(|e| TestCaseError::fail(format!("saved result does not load: {e}")))?,
            );
            let text = query(&reference.model, &mut r, depth);
            let engine = Engine::new(Options {
                lenient: true,
                ..Options::default()
            });
            let parsed = engine
                .parse(&text)
                .map_err(|e| TestCaseError::fail(format!("{text:?} does not parse: {e}")))?;
            let mut request = Request::new(parsed, Viewer::Admin);
            request.now = NOW;
            request.skip = skip;
            request.top = if top == 7 {
                Top::All
            } else {
                Top::Count(top * 3)
            };
            request.order = ORDERS[order].to_vec();
            // Rows are compared as user ids: the live store keeps deleted users as holes, the
            // naive model and a reload number rows densely.
            let fast = engine
                .search(&snapshot, &request)
                .map(|p| by_id(&p, &snapshot));
            let slow = engine
                .reference(&reference, &request)
                .map(|p| by_id(&p, &reference));
            let reloaded = engine.search(&fresh, &request).map(|p| by_id(&p, &fresh));
            match (&fast, &slow) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "query {:?}", text),
                (Err(a), Err(b)) => prop_assert_eq!(a, b, "query {:?}", text),
                (a, b) => prop_assert!(
                    false,
                    "query {:?}: engine {:?} vs reference {:?}",
                    text,
                    a,
                    b
                ),
            }
            match (&fast, &reloaded) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "query {:?} after reload", text),
                (Err(a), Err(b)) => prop_assert_eq!(a, b, "query {:?} after reload", text),
                (a, b) => prop_assert!(false, "query {:?}: live {:?} vs reloaded {:?}", text, a, b),
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let (accepted, refused) = (accepted.into_inner(), refused.into_inner());
    eprintln!("{accepted} batches accepted, {refused} refused");
    assert!(
        accepted * 10 >= (accepted + refused) * 4,
        "only {accepted} accepted"
    );
    assert!(refused * 20 >= accepted + refused, "only {refused} refused");
}

/// Every key and tuple of the catalogue is generated by [`clause`], so a key added to the
/// language is in the differential test (and fails this test until it is).
#[test]
fn every_catalogue_key_is_generated() {
    let mut seen = std::collections::BTreeSet::new();
    let mut r = Lcg(7);
    for seed in 0..40 {
        let model = build_model(12, 3, 2, 2, seed);
        for _ in 0..400 {
            let text = clause(&model, &mut r);
            let head: String = text.chars().take_while(|c| c.is_alphanumeric()).collect();
            seen.insert(head);
        }
    }
    let keys = catalogue::FIELD_KEYS.iter().map(|k| k.name);
    let tuples = catalogue::TUPLES.iter().map(|t| t.name);
    let missing: Vec<&str> = keys.chain(tuples).filter(|k| !seen.contains(*k)).collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
}

/// A page with its rows replaced by user ids: (total, skip, top, ids).
fn by_id(page: &userql_engine::Page, snapshot: &Snapshot) -> (u64, u64, u64, Vec<String>) {
    let ids = page
        .rows
        .iter()
        .map(|&row| snapshot.model.users[row as usize].id.clone())
        .collect();
    (page.total, page.skip, page.top, ids)
}
