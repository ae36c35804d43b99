//! Query text from a [`QuerySpec`]: clauses over every key and tuple of the syntax catalogue,
//! with values taken from the directory the query runs on (so entity resolution and every index
//! get real hits).
//!
//! Keys are drawn from `catalogue::FIELD_KEYS` and `catalogue::TUPLES`, and each one's value comes
//! from an exhaustive `match` on its [`KeyKind`] / [`TupleKind`]: a key added to the catalogue is
//! generated the day it is added — the day it gets a kind, this file stops compiling until it
//! says what the key's values look like.

use userql_directory::index::SortKey;
use userql_directory::model::Model;
use userql_syntax::catalogue;

use userql_syntax::catalogue::{FieldKey, KeyKind, TupleInfo, TupleKind};

use crate::model::{MODULES, TYPES};
use crate::spec::{ClauseSpec, QuerySpec, ValueSpec};
use crate::NOW;

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

/// The `orderBy` key a choice stands for.
pub fn sort_key(index: u8) -> SortKey {
    SORT_KEYS[usize::from(index) % SORT_KEYS.len()]
}

/// The query text a [`QuerySpec`] stands for over `model`.
pub fn query(model: &Model, spec: &QuerySpec) -> String {
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

/// `text` as one braced value; blank text (which no value may be) becomes a near miss, so every
/// generated clause parses.
fn braced(text: &str) -> String {
    if text.trim().is_empty() {
        return "{none}".into();
    }
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

/// One clause: a field key, a tuple, or a bare word, chosen by `c.key` over the catalogue.
fn clause(m: &Model, c: &ClauseSpec) -> String {
    let keys = catalogue::FIELD_KEYS;
    let tuples = catalogue::TUPLES;
    let choice = usize::from(c.key) % (keys.len() + tuples.len() + 1);
    let s = Sources::new(m, c);
    if let Some(key) = keys.get(choice) {
        return field(&s, key);
    }
    match tuples.get(choice - keys.len()) {
        Some(tuple) => tuple_clause(&s, tuple),
        None => word(&s),
    }
}

/// What a clause's values are drawn from: the picked user and entities of the directory.
struct Sources<'a> {
    m: &'a Model,
    c: &'a ClauseSpec,
    pick: usize,
    user: Option<&'a userql_directory::model::User>,
    login: &'a str,
    name: &'a str,
    email: &'a str,
    group: Option<&'a str>,
}

impl<'a> Sources<'a> {
    fn new(m: &'a Model, c: &'a ClauseSpec) -> Sources<'a> {
        let pick = usize::from(c.pick);
        let count = m.users.count().max(1);
        let user = m.users.records().nth(pick % count);
        Sources {
            m,
            c,
            pick,
            user,
            login: user.map_or("nobody", |u| u.login.as_ref()),
            name: user.and_then(|u| u.name.as_deref()).unwrap_or("No Name"),
            email: user.and_then(|u| u.email.as_deref()).unwrap_or("x@y.z"),
            group: m
                .groups
                .get(pick % m.groups.len().max(1))
                .map(|g| g.name.as_str()),
        }
    }

    /// `source` shaped by the clause's value spec (as is, recased, sliced, or free text).
    fn v(&self, source: &str) -> String {
        value(source, &self.c.value)
    }

    /// A time (or `*`) shaped by the value spec.
    fn t(&self) -> String {
        time(&self.c.value)
    }

    /// A second time from the pick, for ranges.
    fn t2(&self) -> String {
        time(&ValueSpec::Number(self.c.pick))
    }

    fn role(&self) -> &'a str {
        self.m
            .roles
            .get(self.pick % self.m.roles.len().max(1))
            .map_or("Developer", |r| r.name.as_str())
    }

    fn module(&self) -> (&'static str, &'static str) {
        MODULES[self.pick % MODULES.len()]
    }

    fn uid(&self) -> String {
        self.v(&format!("UID-{}", self.pick % 5))
    }

    fn number(&self) -> String {
        match self.c.value {
            ValueSpec::Number(n) => n.to_string(),
            _ => (self.pick % 30).to_string(),
        }
    }
}

/// The key's canonical spelling, or one of its aliases.
fn spelling(key: &FieldKey, pick: usize) -> &'static str {
    match key.aliases {
        [] => key.name,
        aliases if pick % 4 == 3 => aliases[pick / 4 % aliases.len()],
        _ => key.name,
    }
}

/// `key: value` for a field key, the value drawn from what the key matches.
fn field(s: &Sources<'_>, key: &FieldKey) -> String {
    let k = spelling(key, s.pick);
    match key.kind {
        KeyKind::Id => format!("{k}: {}", s.v(s.user.map_or("u-x", |u| u.id.as_ref()))),
        KeyKind::Login if s.pick % 5 == 4 => format!(
            "{k}: {}, {}",
            s.v(s.login),
            braced(
                &s.m.users
                    .records()
                    .next()
                    .map_or("x", |u| u.login.as_ref())
                    .to_lowercase()
            )
        ),
        KeyKind::Login | KeyKind::LoginStartsWith | KeyKind::LoginContains | KeyKind::AuthLogin => {
            format!("{k}: {}", s.v(s.login))
        }
        KeyKind::Name | KeyKind::NameStartsWith | KeyKind::NameContains | KeyKind::AuthName => {
            format!("{k}: {}", s.v(s.name))
        }
        KeyKind::Email if s.pick % 3 == 2 => format!(
            "{k}: {}",
            s.v(s
                .user
                .and_then(|u| u.emails.first())
                .map_or(s.email, String::as_str))
        ),
        KeyKind::Email | KeyKind::AuthEmail | KeyKind::PublicEmail | KeyKind::EmailContains => {
            format!("{k}: {}", s.v(s.email))
        }
        KeyKind::After | KeyKind::Before => format!("{k}: {}", s.t()),
        KeyKind::LastAccess => format!("{k}: {} .. {}", s.t2(), s.t()),
        KeyKind::Created => format!("{k}: {} .. {}", s.t(), s.t2()),
        KeyKind::VcsUserName if s.pick % 4 == 3 => format!("{k}: {}", s.v(s.login)),
        KeyKind::VcsUserName => format!("{k}: {}", s.v(&format!("vcs{}", s.pick % 5))),
        KeyKind::OwnRole => format!("{k}: {}", s.v(s.role())),
        KeyKind::Group | KeyKind::In | KeyKind::EnterpriseGroup => match s.group {
            Some(group) => format!("{k}: {}", s.v(group)),
            None => "has: group".into(),
        },
        KeyKind::Team => match s.m.teams.get(s.pick % 2) {
            Some(team) => format!("{k}: {}", s.v(&team.name)),
            None => "has: ownRole".into(),
        },
        KeyKind::Organization => {
            format!("{k}: {}", s.v(&s.m.organizations[s.pick % 2].name))
        }
        KeyKind::AuthModule if s.pick.is_multiple_of(2) => format!("{k}: {}", s.v(s.module().0)),
        KeyKind::AuthModule => format!("{k}: {}", s.v(s.module().1)),
        KeyKind::GoogleId | KeyKind::OpenId => format!("{k}: {}", s.uid()),
        KeyKind::OriginService => format!("{k}: {}", s.v(["YouTrack", "tc"][s.pick % 2])),
        KeyKind::HasLicense => format!("{k}: {}", s.v(["yt", "TeamCity"][s.pick % 2])),
        KeyKind::SshPublicKey => format!("{k}: {}", s.v(&format!("SHA256:fp{}", s.pick % 20))),
        KeyKind::BanStatus => format!("{k}: {}", s.v(["permanent", "temporary"][s.pick % 2])),
        KeyKind::Type => format!(
            "{k}: {}",
            s.v([
                "Service account",
                "human",
                "project-bot",
                "ghost",
                TYPES[s.pick % TYPES.len()]
            ][s.pick % 5])
        ),
        // Closed values straight from the catalogue: a value added there is generated here.
        KeyKind::Is => format!("{k}: {}", braced(closed(catalogue::IS_VALUES, s.pick))),
        KeyKind::Has => format!("{k}: {}", braced(closed(catalogue::HAS_VALUES, s.pick))),
        KeyKind::State => format!("{k}: {}", closed(catalogue::STATE_VALUES, s.pick)),
        KeyKind::Number if s.pick.is_multiple_of(2) => format!("{k}: {}", s.number()),
        KeyKind::Number => format!("{k}: {} .. {}", s.pick % 10, s.number()),
    }
}

/// A tuple clause; the argument spellings come from the catalogue's argument list.
fn tuple_clause(s: &Sources<'_>, tuple: &TupleInfo) -> String {
    let name = tuple.name;
    let argument = |wanted: &str| {
        tuple
            .arguments
            .iter()
            .copied()
            .find(|a| *a == wanted)
            .unwrap_or(tuple.arguments[0])
    };
    match tuple.kind {
        TupleKind::Access => {
            let project = s.m.projects.get(s.pick % s.m.projects.len().max(1));
            let with = ["with", "role"][s.pick / 3 % 2];
            match (project, s.pick % 4) {
                (Some(p), 0) => format!(
                    "{name}({}: {})",
                    argument("project"),
                    s.v(p.key.as_deref().unwrap_or(&p.name))
                ),
                (Some(p), 1) => format!(
                    "{name}({}: {}, {}: Developer)",
                    argument("project"),
                    s.v(&p.name),
                    argument(with)
                ),
                (_, 2) => format!(
                    "{name}({}: {})",
                    argument("organization"),
                    s.v(&s.m.organizations[s.pick % 2].name)
                ),
                _ => format!(
                    "{name}({}: {})",
                    argument(["with", "permission"][s.pick / 4 % 2]),
                    s.v(&s.m.permissions[s.pick % 4].name)
                ),
            }
        }
        TupleKind::LastAccess => format!(
            "{name}({}: {}, {}: {})",
            argument("after"),
            s.t(),
            argument("before"),
            s.t2()
        ),
        TupleKind::Identity => format!(
            "{name}({}: {}, {}: {})",
            argument("provider"),
            s.module().0,
            argument("uid"),
            s.uid()
        ),
    }
}

/// Free text: a quoted phrase (quotes and backslashes dropped); `is: admin` when nothing is left.
fn word(s: &Sources<'_>) -> String {
    let word = match &s.c.value {
        ValueSpec::Free(text) => text.clone(),
        _ => s
            .name
            .chars()
            .skip(s.pick % 4)
            .take(1 + s.pick % 4)
            .collect(),
    };
    let word = word.replace(['"', '\\'], "");
    if word.trim().is_empty() {
        "is: admin".into()
    } else {
        format!("\"{word}\"")
    }
}
