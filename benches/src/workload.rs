//! The benchmark workload of `spec/benchmark.md`: the twelve queries a–l with their concrete
//! values (L, E, G, G1, G2, P) picked deterministically from the generated directory.
//!
//! Every peer answers the same [`Case`]s; the Hub text is what userql parses, and the
//! [`Values`] are what the SQL peer substitutes into its hand-written statements.

use userql_dialects::Dialect;
use userql_directory::model::{GroupIdx, Model, ProjectIdx, Scope};

/// The spec's example login for query a, used when the generated directory has it.
pub const SPEC_LOGIN: &str = "petra.hernandez1";
/// The spec's example email for query b, used when the generated directory has it.
pub const SPEC_EMAIL: &str = "TIMOTHY.HERRERA6@EXAMPLE.COM";
/// Size of the group subtree query h wants ("a root group with a subtree of ~15 groups").
pub const WANTED_SUBTREE: usize = 15;

/// The concrete values the queries refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values {
    /// L: an existing login (a, j).
    pub login: String,
    /// E: an existing email written in upper case (b).
    pub email: String,
    /// G: a root group whose subtree has about [`WANTED_SUBTREE`] groups (h, j).
    pub group: GroupIdx,
    /// G1, G2: the two groups with the most direct members outside G's subtree (k).
    pub other_groups: [GroupIdx; 2],
    /// P: the project with the most project-scoped grants (i, j).
    pub project: ProjectIdx,
}

/// One benchmark query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The spec's letter, `a` … `l`.
    pub letter: char,
    /// What the query asks, in words (for the report).
    pub what: &'static str,
    /// The Hub query text userql parses.
    pub hub: String,
}

/// Picks the query values. Deterministic: the same model always gives the same values, and
/// every choice breaks ties by the lowest index so runs are comparable.
pub fn pick_values(model: &Model) -> Values {
    let users = &model.users;
    let login = if users.records().any(|u| &*u.login == SPEC_LOGIN) || users.count() < 2 {
        SPEC_LOGIN.to_owned()
    } else {
        users
            .records()
            .nth(users.count() * 2 / 3)
            .map(|u| u.login.to_string())
            .unwrap_or_default()
    };
    let spec_email_exists = users.records().any(|u| {
        u.email
            .as_deref()
            .into_iter()
            .chain(u.emails.iter().map(String::as_str))
            .any(|e| e.eq_ignore_ascii_case(SPEC_EMAIL))
    });
    let email = if spec_email_exists {
        SPEC_EMAIL.to_owned()
    } else {
        users
            .records()
            .skip(users.count() / 3)
            .chain(users.records())
            .find_map(|u| u.email.as_ref())
            .map_or_else(|| SPEC_EMAIL.to_owned(), |e| e.to_uppercase())
    };

    let subtree_sizes = subtree_sizes(model);
    let group = (0..model.groups.len())
        .filter(|&g| model.groups[g].parent.is_none())
        .min_by_key(|&g| (subtree_sizes[g].abs_diff(WANTED_SUBTREE), g))
        .map_or(GroupIdx(0), |g| GroupIdx(g as u32));

    let in_subtree = |mut g: GroupIdx| loop {
        if g == group {
            return true;
        }
        match model.groups[g.index()].parent {
            Some(parent) => g = parent,
            None => return false,
        }
    };
    let mut direct = vec![0usize; model.groups.len()];
    for user in users.records() {
        for membership in &user.groups {
            direct[membership.group.index()] += 1;
        }
    }
    let mut popular: Vec<usize> = (0..model.groups.len())
        .filter(|&g| !in_subtree(GroupIdx(g as u32)))
        .collect();
    popular.sort_by_key(|&g| (std::cmp::Reverse(direct[g]), g));
    let pick = |k: usize| GroupIdx(popular.get(k).copied().unwrap_or(k) as u32);
    let other_groups = [pick(0), pick(1)];

    let mut project_grants = vec![0usize; model.projects.len()];
    for grant in &model.grants {
        if let Scope::Project(p) = grant.scope {
            project_grants[p.index()] += 1;
        }
    }
    let project = (0..model.projects.len())
        .max_by_key(|&p| (project_grants[p], std::cmp::Reverse(p)))
        .map_or(ProjectIdx(0), |p| ProjectIdx(p as u32));

    Values {
        login,
        email,
        group,
        other_groups,
        project,
    }
}

/// Number of groups in each group's subtree (itself included).
fn subtree_sizes(model: &Model) -> Vec<usize> {
    let mut sizes = vec![1usize; model.groups.len()];
    for g in 0..model.groups.len() {
        let mut seen = 0;
        let mut cur = model.groups[g].parent;
        // The model's forest is acyclic (validated), the counter only guards the loop.
        while let Some(parent) = cur {
            sizes[parent.index()] += 1;
            cur = model.groups[parent.index()].parent;
            seen += 1;
            if seen > model.groups.len() {
                break;
            }
        }
    }
    sizes
}

/// The twelve queries of benchmark.md with `values` filled in.
pub fn cases(model: &Model, values: &Values) -> Vec<Case> {
    let group = &model.groups[values.group.index()].id;
    let [g1, g2] = values
        .other_groups
        .map(|g| model.groups[g.index()].id.clone());
    let project = &model.projects[values.project.index()].id;
    let login = &values.login;
    let recent = "lastAccess(after: {90 days ago})";
    let table: [(char, &'static str, String); 12] = [
        ('a', "exact login", format!("login: {login}")),
        (
            'b',
            "exact email, other case",
            format!("email: {}", values.email),
        ),
        ('c', "substring of login, name or email", "smi".to_owned()),
        (
            'd',
            "prefix of name or login",
            "nameStartsWith: mar".to_owned(),
        ),
        ('e', "state and 2FA", "state: active has: 2FA".to_owned()),
        (
            'f',
            "creation window and state",
            "created: 2022-01-02 .. 2024-01-01 and state: active".to_owned(),
        ),
        (
            'g',
            "recent access, not Google, any direct role",
            format!("{recent} and not authModule: google and has: ownRole"),
        ),
        (
            'h',
            "group subtree, no 2FA",
            format!("in: {group} and not has: 2FA"),
        ),
        (
            'i',
            "role in a project, direct or through groups",
            format!("access(project: {project}, with: Developer)"),
        ),
        (
            'j',
            "login or group member, with access to P",
            format!("(login: {login} or group: {group}) and access(project: {project})"),
        ),
        (
            'k',
            "six-predicate mix",
            format!(
                "state: active has: 2FA (in: {g1} or in: {g2}) {recent} not is: external \
                 access(with: Developer)"
            ),
        ),
        (
            'l',
            "negation and OR",
            "not state: active or is: admin".to_owned(),
        ),
    ];
    table
        .into_iter()
        .map(|(letter, what, hub)| Case { letter, what, hub })
        .collect()
}

/// The GitLab / TFE dialect variants of c, e and f (benchmark.md "Also").
pub const DIALECT_CASES: [(&str, &str, &str); 4] = [
    ("c", "gitlab", "search=smi"),
    ("e", "gitlab", "active=true&two_factor=enabled"),
    (
        "f",
        "gitlab",
        "created_after=2022-01-02&created_before=2024-01-01&active=true",
    ),
    ("c", "tfe", "q=smi&filter[suspended]=false"),
];

/// One dialect request of the harness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialectCase {
    /// The benchmark query it corresponds to (`c`, `e`, `f`), or what it exercises (`keyset`,
    /// `glob`).
    pub letter: &'static str,
    /// The API.
    pub dialect: Dialect,
    /// The query string, as a client sends it.
    pub query_string: String,
}

/// Every dialect request the harness times: [`DIALECT_CASES`], then the paths with their own
/// orders or joins (issue 18): GitLab keyset pages (id descending, and by name), TFE with
/// `include=organizations`, ArcGIS `searchEnterpriseUsers` with a glob, and GitLab enterprise
/// users with `search` (of the group with the most enterprise users, lowest index on ties).
pub fn dialect_cases(model: &Model) -> Vec<DialectCase> {
    let parse = |dialect: &str| match dialect {
        "tfe" => Dialect::Tfe,
        _ => Dialect::Gitlab,
    };
    let mut list: Vec<DialectCase> = DIALECT_CASES
        .iter()
        .map(|&(letter, dialect, query_string)| DialectCase {
            letter,
            dialect: parse(dialect),
            query_string: query_string.to_owned(),
        })
        .collect();
    let mut enterprise = vec![0usize; model.groups.len()];
    for user in model.users.records() {
        if let Some(group) = user.enterprise_group {
            if let Some(count) = enterprise.get_mut(group.index()) {
                *count += 1;
            }
        }
    }
    let group = (0..enterprise.len())
        .max_by_key(|&g| (enterprise[g], std::cmp::Reverse(g)))
        .map_or_else(String::new, |g| model.groups[g].id.clone());
    let extra = [
        (
            "keyset",
            Dialect::Gitlab,
            "active=true&pagination=keyset&per_page=20".to_owned(),
        ),
        (
            "keyset",
            Dialect::Gitlab,
            "active=true&pagination=keyset&order_by=name&sort=asc&per_page=20".to_owned(),
        ),
        (
            "c",
            Dialect::Tfe,
            "q=smi&filter[suspended]=false&include=organizations".to_owned(),
        ),
        (
            "glob",
            Dialect::Arcgis,
            "op=searchEnterpriseUsers&filter=mar*&maxCount=20".to_owned(),
        ),
        (
            "c",
            Dialect::GitlabEnterprise,
            format!("id={group}&search=smi"),
        ),
    ];
    list.extend(
        extra
            .into_iter()
            .map(|(letter, dialect, query_string)| DialectCase {
                letter,
                dialect,
                query_string,
            }),
    );
    list
}
