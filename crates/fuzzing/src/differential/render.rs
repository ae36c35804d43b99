//! Query text from a [`QuerySpec`]: clauses over every key of `hub-query.md`, with values taken
//! from the directory the query runs on (so entity resolution and every index get real hits).

use userql_directory::index::SortKey;
use userql_directory::model::Model;
use userql_syntax::catalogue;

use super::build::{MODULES, TYPES};
use super::spec::{ClauseSpec, QuerySpec, ValueSpec};
use super::NOW;

/// Deep enough for every planner rewrite to nest; shallow enough for fast cases.
const MAX_DEPTH: usize = 6;
/// Clauses per query.
const MAX_CLAUSES: usize = 24;
const DAY: i64 = 86_400_000;

const SORT_KEYS: [SortKey; 6] = [
    SortKey::Login,
    SortKey::Name,
    SortKey::Created,
    SortKey::LastAccess,
    SortKey::Id,
    SortKey::Email,
];

pub(super) fn sort_key(index: u8) -> SortKey {
    SORT_KEYS[usize::from(index) % SORT_KEYS.len()]
}

pub(super) fn query(model: &Model, spec: &QuerySpec) -> String {
    let mut clauses = 0;
    render(model, spec, MAX_DEPTH, &mut clauses)
}

fn render(m: &Model, spec: &QuerySpec, depth: usize, clauses: &mut usize) -> String {
    if depth == 0 || *clauses >= MAX_CLAUSES {
        *clauses += 1;
        return clause(m, leftmost_clause(spec));
    }
    let mut sub = |s: &QuerySpec| render(m, s, depth - 1, clauses);
    match spec {
        QuerySpec::Clause(c) => {
            *clauses += 1;
            clause(m, c)
        }
        QuerySpec::And(a, b) => format!("({}) and ({})", sub(a), sub(b)),
        QuerySpec::Or(a, b) => format!("({}) or ({})", sub(a), sub(b)),
        QuerySpec::Not(a) => format!("not ({})", sub(a)),
        QuerySpec::AndNot(a, b) => format!("({}) and not ({})", sub(a), sub(b)),
        QuerySpec::Juxtapose(a, b) => format!("{} {}", sub(a), sub(b)),
        QuerySpec::Minus(a) => format!("-({})", sub(a)),
    }
}

/// The leftmost clause of a subtree: it stands for the whole subtree once the budget is spent.
fn leftmost_clause(mut spec: &QuerySpec) -> &ClauseSpec {
    loop {
        spec = match spec {
            QuerySpec::Clause(clause) => return clause,
            QuerySpec::And(a, _)
            | QuerySpec::Or(a, _)
            | QuerySpec::AndNot(a, _)
            | QuerySpec::Juxtapose(a, _)
            | QuerySpec::Not(a)
            | QuerySpec::Minus(a) => a,
        };
    }
}

fn braced(text: &str) -> String {
    format!("{{{}}}", text.replace('\\', "\\\\").replace('}', "\\}"))
}

fn recase(text: &str, case: u8) -> String {
    match case % 3 {
        1 => text.to_lowercase(),
        2 => text.to_uppercase(),
        _ => text.to_owned(),
    }
}

/// The value text for a clause whose natural value is `source`.
fn value(source: &str, spec: &ValueSpec) -> String {
    match spec {
        ValueSpec::Exact { case } => braced(&recase(source, *case)),
        ValueSpec::Slice { start, len, case } => {
            let chars: Vec<char> = source.chars().collect();
            let start = usize::from(*start) % chars.len().max(1);
            let piece: String = chars
                .iter()
                .skip(start)
                .take(1 + usize::from(*len) % 5)
                .collect();
            braced(&recase(&piece, *case))
        }
        ValueSpec::Free(text) => braced(text),
        ValueSpec::Time { .. } => time(spec),
        ValueSpec::Number(n) => n.to_string(),
    }
}

fn time(spec: &ValueSpec) -> String {
    let (form, days) = match spec {
        ValueSpec::Time { form, days } => (*form, *days),
        ValueSpec::Number(n) => (*n, u16::from(*n) * 17),
        _ => (0, 0),
    };
    let instant = NOW - i64::from(days % 4000) * DAY;
    let Some(dt) = userql_directory::save::format_timestamp(instant)
        .get(..10)
        .map(str::to_owned)
    else {
        return "*".into();
    };
    match form % 6 {
        0 => dt[..4].to_owned(),
        1 => dt[..7].to_owned(),
        2 => dt,
        3 => format!("{{{} days ago}}", days % 3000),
        4 => "*".into(),
        _ => format!("{{{} hours ago}}", days % 100),
    }
}

/// One closed value of the catalogue (`is:`, `has:`, `state:`).
fn closed(values: &[catalogue::ClosedValue], pick: usize) -> &str {
    values[pick % values.len()].name
}

fn clause(m: &Model, c: &ClauseSpec) -> String {
    let pick = usize::from(c.pick);
    let count = m.users.count().max(1);
    let user = m.users.records().nth(pick % count);
    let login = user.map_or("nobody", |u| u.login.as_str());
    let name = user.and_then(|u| u.name.as_deref()).unwrap_or("No Name");
    let email = user.and_then(|u| u.email.as_deref()).unwrap_or("x@y.z");
    let v = |source: &str| value(source, &c.value);
    let t = || time(&c.value);
    let group = m
        .groups
        .get(pick % m.groups.len().max(1))
        .map(|g| g.name.as_str());
    match c.key % 40 {
        0 => format!("id: {}", v(user.map_or("u-x", |u| u.id.as_str()))),
        1 => format!("login: {}", v(login)),
        2 => format!("loginStartsWith: {}", v(login)),
        3 => format!("name: {}", v(name)),
        4 => format!("nameStartsWith: {}", v(name)),
        5 => format!("email: {}", v(email)),
        6 => format!("after: {}", t()),
        7 => format!("before: {}", t()),
        8 => format!(
            "lastAccess(after: {}, before: {})",
            t(),
            time(&ValueSpec::Number(c.pick))
        ),
        9 => format!("created: {} .. {}", t(), time(&ValueSpec::Number(c.pick))),
        10 => format!(
            "lastAccess: {} .. {}",
            time(&ValueSpec::Number(c.pick)),
            t()
        ),
        11 => format!("vcsUserName: {}", v(&format!("vcs{}", pick % 5))),
        12 => format!(
            "ownRole: {}",
            v(m.roles
                .get(pick % m.roles.len().max(1))
                .map_or("Developer", |r| r.name.as_str()))
        ),
        13 => group.map_or_else(|| "has: group".into(), |g| format!("group: {}", v(g))),
        14 => group.map_or_else(|| "is: admin".into(), |g| format!("in: {}", v(g))),
        15 => m.teams.get(pick % 2).map_or_else(
            || "has: ownRole".into(),
            |team| format!("team: {}", v(&team.name)),
        ),
        16 => match m.projects.get(pick % m.projects.len().max(1)) {
            Some(p) if pick % 3 == 0 => format!(
                "access(project: {})",
                v(p.key.as_deref().unwrap_or(&p.name))
            ),
            Some(p) if pick % 3 == 1 => format!("access(project: {}, with: Developer)", v(&p.name)),
            _ => format!("access(with: {})", v(&m.permissions[pick % 4].name)),
        },
        17 => format!(
            "access(organization: {})",
            v(&m.organizations[pick % 2].name)
        ),
        18 => format!("authModule: {}", v(MODULES[pick % MODULES.len()].1)),
        19 => format!("authModule: {}", v(MODULES[pick % MODULES.len()].0)),
        20 => format!("authLogin: {}", v(login)),
        21 => format!("authName: {}", v(name)),
        22 => format!("googleID: {}", v(&format!("UID-{}", pick % 5))),
        23 => format!("originService: {}", v(["YouTrack", "tc"][pick % 2])),
        24 => format!("hasLicense: {}", v(["yt", "TeamCity"][pick % 2])),
        25 => format!("sshPublicKey: {}", v(&format!("SHA256:fp{}", pick % 20))),
        26 => format!("banStatus: {}", v(["permanent", "temporary"][pick % 2])),
        27 => format!(
            "type: {}",
            v([
                "Service account",
                "human",
                "project-bot",
                "ghost",
                TYPES[pick % TYPES.len()]
            ][pick % 5])
        ),
        // Closed values straight from the catalogue: a value added there is fuzzed here.
        28 => format!("is: {}", closed(catalogue::IS_VALUES, pick)),
        29 => format!("has: {}", braced(closed(catalogue::HAS_VALUES, pick))),
        30 => format!("state: {}", closed(catalogue::STATE_VALUES, pick)),
        31 => format!(
            "identity(provider: {}, uid: {})",
            MODULES[pick % MODULES.len()].0,
            v(&format!("UID-{}", pick % 5))
        ),
        32 => format!("number: {} .. {}", pick % 10, value("", &c.value)),
        33 => format!("number: {}", value("", &c.value)),
        34 => format!(
            "login: {}, {}",
            v(login),
            braced(
                &m.users
                    .records()
                    .next()
                    .map_or("x", |u| u.login.as_str())
                    .to_lowercase()
            )
        ),
        35 => format!(
            "email: {}",
            v(user
                .and_then(|u| u.emails.first())
                .map_or(email, String::as_str))
        ),
        36 => format!("vcsUserName: {}", v(login)),
        _ => {
            let word = match &c.value {
                ValueSpec::Free(text) => text.clone(),
                _ => name.chars().skip(pick % 4).take(1 + pick % 4).collect(),
            };
            if word.trim().is_empty() || word.contains(['"', '\\']) {
                format!("{{{}}}", word.replace(['{', '}', '\\', '"'], ""))
            } else {
                format!("\"{word}\"")
            }
        }
    }
}
