//! SQLite in memory, set up the way a competent developer would (benchmark.md "Peers"), and the
//! FTS5 trigram variant for the substring query.
//!
//! Schema: one `users` row per user keyed by its dense row (`row INTEGER PRIMARY KEY`), text
//! columns declared `COLLATE NOCASE` so `=`, `LIKE 'x%'` and `ORDER BY login` are
//! case-insensitive *and* use the indexes; side tables for secondary emails, auth details,
//! memberships, team lists and grants (one table per subject kind, scope as nullable
//! `project` / `org`: both null = global). Indexes are exactly the list in benchmark.md, plus the
//! two a developer needs to walk the group forest and to find a group by id.
//!
//! Semantics replicated on purpose (hub-query.md):
//! - `created: 2022-01-02 .. 2024-01-01` covers both days whole: `[2022-01-02T00:00Z,
//!   2024-01-02T00:00Z)`; `lastAccess(after: {90 days ago})` is strictly after that instant,
//!   and never-accessed users (NULL) never match.
//! - `not authModule: google` matches users with *no* Google auth detail, including users with
//!   no auth detail at all: `NOT EXISTS`, not `module <> 'google'` (SQL NULL logic would drop
//!   them).
//! - `in: G` is G's subtree through a recursive CTE; grants reach a group's transitive members
//!   and a team's members (its users plus its groups' transitive members); `access(project: P)`
//!   counts grants scoped to P, to P's organization, or global.
//! - Case-insensitivity is SQLite's ASCII `NOCASE`; the generated directory is ASCII, so it
//!   equals userql's Unicode folding there.

use std::rc::Rc;

use chrono::NaiveDate;
use rusqlite::{params, Connection};
use userql_directory::generate::GEN_NOW_MS;
use userql_directory::model::{Model, Row, Scope, Subject};

use super::{Peer, PAGE_SIZE};
use crate::error::BenchError;
use crate::workload::{Case, Values};

const SCHEMA: &str = "
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA temp_store = MEMORY;
CREATE TABLE users(
    row INTEGER PRIMARY KEY, id TEXT NOT NULL, login TEXT NOT NULL COLLATE NOCASE,
    name TEXT COLLATE NOCASE, email TEXT COLLATE NOCASE, state TEXT NOT NULL,
    admin INTEGER NOT NULL, external INTEGER NOT NULL, two_factor INTEGER NOT NULL,
    created_at INTEGER NOT NULL, last_access_at INTEGER);
CREATE TABLE user_emails(row INTEGER NOT NULL, email TEXT NOT NULL COLLATE NOCASE);
CREATE TABLE auth(row INTEGER NOT NULL, module TEXT NOT NULL COLLATE NOCASE,
    module_name TEXT COLLATE NOCASE);
CREATE TABLE groups(idx INTEGER PRIMARY KEY, id TEXT NOT NULL, name TEXT COLLATE NOCASE,
    parent INTEGER);
CREATE TABLE memberships(group_idx INTEGER NOT NULL, row INTEGER NOT NULL);
CREATE TABLE projects(idx INTEGER PRIMARY KEY, id TEXT NOT NULL, org INTEGER);
CREATE TABLE roles(idx INTEGER PRIMARY KEY, id TEXT NOT NULL, name TEXT COLLATE NOCASE);
CREATE TABLE permissions(idx INTEGER PRIMARY KEY, id TEXT NOT NULL, name TEXT COLLATE NOCASE);
CREATE TABLE role_permissions(role INTEGER NOT NULL, permission INTEGER NOT NULL);
CREATE TABLE team_users(team INTEGER NOT NULL, row INTEGER NOT NULL);
CREATE TABLE team_groups(team INTEGER NOT NULL, group_idx INTEGER NOT NULL);
CREATE TABLE user_grants(row INTEGER NOT NULL, role INTEGER NOT NULL, project INTEGER,
    org INTEGER);
CREATE TABLE group_grants(group_idx INTEGER NOT NULL, role INTEGER NOT NULL, project INTEGER,
    org INTEGER);
CREATE TABLE team_grants(team INTEGER NOT NULL, role INTEGER NOT NULL, project INTEGER,
    org INTEGER);
";

/// The indexes of benchmark.md ("unique NOCASE login and email, name, (state, created_at),
/// (state, two_factor), created_at, last_access_at, auth module, memberships (group, user) and
/// (user, group), direct grants (project, role, user) and (user, …), group grants"), plus
/// `groups(parent)` and `groups(id)` for the subtree CTE. Email is indexed but not `UNIQUE`:
/// directory.md does not promise unique emails.
const INDEXES: &str = "
CREATE UNIQUE INDEX users_login ON users(login);
CREATE INDEX users_email ON users(email);
CREATE INDEX user_emails_email ON user_emails(email);
CREATE INDEX users_name ON users(name);
CREATE INDEX users_state_created ON users(state, created_at);
CREATE INDEX users_state_2fa ON users(state, two_factor);
CREATE INDEX users_created ON users(created_at);
CREATE INDEX users_last_access ON users(last_access_at);
CREATE INDEX auth_module ON auth(module, row);
CREATE INDEX auth_row ON auth(row, module, module_name);
CREATE INDEX memberships_group_user ON memberships(group_idx, row);
CREATE INDEX memberships_user_group ON memberships(row, group_idx);
CREATE INDEX user_grants_project ON user_grants(project, role, row);
CREATE INDEX user_grants_user ON user_grants(row, role, project);
CREATE INDEX group_grants_group ON group_grants(group_idx, role, project);
CREATE INDEX group_grants_project ON group_grants(project, role, group_idx);
CREATE INDEX team_users_team ON team_users(team, row);
CREATE INDEX team_groups_team ON team_groups(team, group_idx);
CREATE INDEX groups_parent ON groups(parent);
CREATE INDEX groups_id ON groups(id);
ANALYZE;
";

const DAY_MS: i64 = 86_400_000;

/// An SQL string literal.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Midnight UTC of a date, in epoch milliseconds.
fn midnight_ms(year: i32, month: u32, day: u32) -> i64 {
    NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(0, |t| t.and_utc().timestamp_millis())
}

/// The in-memory database, shared by the B-tree peer and the FTS5 peer.
pub struct Database {
    conn: Connection,
}

impl Database {
    /// Creates the schema, loads `model`, builds the indexes and runs `ANALYZE`.
    pub fn load(model: &Model) -> Result<Database, BenchError> {
        let mut conn = Connection::open_in_memory()?;
        conn.set_prepared_statement_cache_capacity(64);
        conn.execute_batch(SCHEMA)?;
        let tx = conn.transaction()?;
        insert_model(&tx, model)?;
        tx.commit()?;
        conn.execute_batch(INDEXES)?;
        Ok(Database { conn })
    }

    /// The connection, for workloads that write (the changes benchmark).
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Adds the FTS5 trigram table over login, name, primary and secondary emails (the FTS5
    /// peer's build). Secondary emails are joined with a newline, which no needle contains, so
    /// no trigram spans two values.
    pub fn add_trigram_index(&self, model: &Model) -> Result<(), BenchError> {
        self.conn.execute_batch(
            "CREATE VIRTUAL TABLE users_fts USING fts5(login, name, email, emails, \
             tokenize = 'trigram'); BEGIN;",
        )?;
        {
            let mut insert = self.conn.prepare(
                "INSERT INTO users_fts(rowid, login, name, email, emails) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (row, user) in model.users.iter().map(|(r, u)| (r as usize, u)) {
                let emails = (!user.emails.is_empty()).then(|| user.emails.join("\n"));
                insert.execute(params![
                    row as i64, user.login, user.name, user.email, emails
                ])?;
            }
        }
        self.conn
            .execute_batch("COMMIT; INSERT INTO users_fts(users_fts) VALUES ('optimize');")?;
        Ok(())
    }
}

fn scope_columns(scope: Scope) -> (Option<i64>, Option<i64>) {
    match scope {
        Scope::Global => (None, None),
        Scope::Organization(o) => (None, Some(i64::from(o.0))),
        Scope::Project(p) => (Some(i64::from(p.0)), None),
    }
}

fn insert_model(conn: &Connection, model: &Model) -> Result<(), BenchError> {
    let mut user =
        conn.prepare("INSERT INTO users VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?;
    let mut email = conn.prepare("INSERT INTO user_emails VALUES (?1, ?2)")?;
    let mut auth = conn.prepare("INSERT INTO auth VALUES (?1, ?2, ?3)")?;
    let mut member = conn.prepare("INSERT INTO memberships VALUES (?1, ?2)")?;
    for (row, u) in model.users.iter().map(|(r, u)| (r as usize, u)) {
        let last_access = model.users.last_access(row);
        let row = row as i64;
        user.execute(params![
            row,
            u.id,
            u.login,
            u.name,
            u.email,
            u.state.as_str(),
            u.admin,
            u.external,
            u.two_factor,
            u.created_at,
            last_access
        ])?;
        for e in &u.emails {
            email.execute(params![row, e])?;
        }
        for a in &u.auth {
            auth.execute(params![row, a.module, a.module_name])?;
        }
        for m in &u.groups {
            member.execute(params![i64::from(m.group.0), row])?;
        }
    }
    let mut group = conn.prepare("INSERT INTO groups VALUES (?1, ?2, ?3, ?4)")?;
    for (idx, g) in model.groups.iter().enumerate() {
        group.execute(params![
            idx as i64,
            g.id,
            g.name,
            g.parent.map(|p| i64::from(p.0))
        ])?;
    }
    let mut project = conn.prepare("INSERT INTO projects VALUES (?1, ?2, ?3)")?;
    for (idx, p) in model.projects.iter().enumerate() {
        project.execute(params![
            idx as i64,
            p.id,
            p.organization.map(|o| i64::from(o.0))
        ])?;
    }
    let mut role = conn.prepare("INSERT INTO roles VALUES (?1, ?2, ?3)")?;
    let mut role_permission = conn.prepare("INSERT INTO role_permissions VALUES (?1, ?2)")?;
    for (idx, r) in model.roles.iter().enumerate() {
        role.execute(params![idx as i64, r.id, r.name])?;
        for p in &r.permissions {
            role_permission.execute(params![idx as i64, i64::from(p.0)])?;
        }
    }
    let mut permission = conn.prepare("INSERT INTO permissions VALUES (?1, ?2, ?3)")?;
    for (idx, p) in model.permissions.iter().enumerate() {
        permission.execute(params![idx as i64, p.id, p.name])?;
    }
    let mut team_user = conn.prepare("INSERT INTO team_users VALUES (?1, ?2)")?;
    let mut team_group = conn.prepare("INSERT INTO team_groups VALUES (?1, ?2)")?;
    for (idx, t) in model.teams.iter().enumerate() {
        for &row in &t.users {
            team_user.execute(params![idx as i64, i64::from(row)])?;
        }
        for g in &t.groups {
            team_group.execute(params![idx as i64, i64::from(g.0)])?;
        }
    }
    let mut user_grant = conn.prepare("INSERT INTO user_grants VALUES (?1, ?2, ?3, ?4)")?;
    let mut group_grant = conn.prepare("INSERT INTO group_grants VALUES (?1, ?2, ?3, ?4)")?;
    let mut team_grant = conn.prepare("INSERT INTO team_grants VALUES (?1, ?2, ?3, ?4)")?;
    for grant in &model.grants {
        let (project, org) = scope_columns(grant.scope);
        let role = i64::from(grant.role.0);
        match grant.subject {
            Subject::User(row) => {
                user_grant.execute(params![i64::from(row), role, project, org])?
            }
            Subject::Group(g) => {
                group_grant.execute(params![i64::from(g.0), role, project, org])?
            }
            Subject::Team(t) => team_grant.execute(params![i64::from(t.0), role, project, org])?,
        };
    }
    Ok(())
}

/// One query as SQL: common table expressions and the `WHERE` condition over `users u`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlQuery {
    /// `name(col) AS (…)` definitions, joined after `WITH RECURSIVE`.
    pub ctes: Vec<String>,
    /// The condition on `users u`.
    pub condition: String,
}

impl SqlQuery {
    fn plain(condition: String) -> SqlQuery {
        SqlQuery {
            ctes: Vec::new(),
            condition,
        }
    }

    fn with_clause(&self) -> String {
        if self.ctes.is_empty() {
            String::new()
        } else {
            format!("WITH RECURSIVE {} ", self.ctes.join(",\n  "))
        }
    }

    /// The counting statement.
    pub fn count_sql(&self) -> String {
        format!(
            "{}SELECT count(*) FROM users u WHERE {}",
            self.with_clause(),
            self.condition
        )
    }

    /// The first-page statement: ordered by login (NOCASE), ties by id.
    pub fn page_sql(&self) -> String {
        format!(
            "{}SELECT u.row FROM users u WHERE {} ORDER BY u.login, u.id LIMIT {PAGE_SIZE}",
            self.with_clause(),
            self.condition
        )
    }
}

/// The scope condition on a grant table for "covers project P": scoped to P, to P's
/// organization, or global.
fn project_scope(project: i64, org: Option<i64>) -> String {
    match org {
        Some(o) => {
            format!("(project = {project} OR (project IS NULL AND (org = {o} OR org IS NULL)))")
        }
        None => format!("(project = {project} OR (project IS NULL AND org IS NULL))"),
    }
}

/// CTEs defining `{prefix}_holders(row)`: users holding a role that matches `role_condition` in
/// a scope matching the project (or any scope): direct grants, group grants through the group
/// subtree, team grants through team users and team groups' subtrees.
fn holders(prefix: &str, role_condition: &str, project: Option<(i64, Option<i64>)>) -> Vec<String> {
    let scope = project.map_or_else(|| "1".to_owned(), |(p, o)| project_scope(p, o));
    // Direct grants: split by scope level so each branch is an index range on
    // (project, role, row) — one OR across levels would scan the grants.
    let direct = match project {
        Some((p, org)) => {
            let mut branches = vec![
                format!("SELECT row FROM user_grants WHERE project = {p} AND {role_condition}"),
                format!(
                    "SELECT row FROM user_grants WHERE project IS NULL AND org IS NULL AND {role_condition}"
                ),
            ];
            if let Some(o) = org {
                branches.push(format!(
                    "SELECT row FROM user_grants WHERE project IS NULL AND org = {o} AND {role_condition}"
                ));
            }
            branches.join(" UNION ")
        }
        None => format!("SELECT row FROM user_grants WHERE {role_condition}"),
    };
    vec![
        format!("{prefix}_teams(team) AS (SELECT team FROM team_grants WHERE {role_condition} AND {scope})"),
        format!(
            "{prefix}_groups(g) AS (SELECT group_idx FROM group_grants WHERE {role_condition} AND {scope} \
             UNION SELECT group_idx FROM team_groups WHERE team IN {prefix}_teams \
             UNION SELECT c.idx FROM groups c JOIN {prefix}_groups s ON c.parent = s.g)"
        ),
        format!(
            "{prefix}_holders(row) AS ({direct} \
             UNION SELECT row FROM memberships WHERE group_idx IN {prefix}_groups \
             UNION SELECT row FROM team_users WHERE team IN {prefix}_teams)"
        ),
    ]
}

/// `{name}(g)`: the groups with these ids and all their descendants.
fn subtree(name: &str, group_ids: &[&str]) -> String {
    let ids: Vec<String> = group_ids.iter().map(|id| quote(id)).collect();
    format!(
        "{name}(g) AS (SELECT idx FROM groups WHERE id IN ({}) \
         UNION SELECT c.idx FROM groups c JOIN {name} s ON c.parent = s.g)",
        ids.join(", ")
    )
}

/// The roles `with: name` selects: the role of that name or a role containing a permission of
/// that name (hub-query.md `access(…, with: x)`).
fn wanted_roles(name: &str) -> String {
    let name = quote(name);
    format!(
        "wanted_roles(role) AS (SELECT idx FROM roles WHERE name = {name} \
         UNION SELECT rp.role FROM role_permissions rp JOIN permissions p ON p.idx = rp.permission \
         WHERE p.name = {name})"
    )
}

/// The SQL for each benchmark query letter (`None` for a letter the workload does not have).
pub fn sql_for(letter: char, model: &Model, values: &Values) -> Option<SqlQuery> {
    let login = quote(&values.login);
    let email = quote(&values.email);
    let group_id = model.groups[values.group.index()].id.as_str();
    let project = i64::from(values.project.0);
    let org = model.projects[values.project.index()]
        .organization
        .map(|o| i64::from(o.0));
    let recent = GEN_NOW_MS - 90 * DAY_MS;
    Some(match letter {
        'a' => SqlQuery::plain(format!("u.login = {login}")),
        'b' => SqlQuery::plain(format!(
            "u.row IN (SELECT row FROM users WHERE email = {email} \
             UNION SELECT row FROM user_emails WHERE email = {email})"
        )),
        'c' => SqlQuery::plain(
            "(u.login LIKE '%smi%' OR u.name LIKE '%smi%' OR u.email LIKE '%smi%' \
             OR u.row IN (SELECT row FROM user_emails WHERE email LIKE '%smi%'))"
                .to_owned(),
        ),
        'd' => SqlQuery::plain("(u.name LIKE 'mar%' OR u.login LIKE 'mar%')".to_owned()),
        'e' => SqlQuery::plain("u.state = 'active' AND u.two_factor = 1".to_owned()),
        'f' => SqlQuery::plain(format!(
            "u.created_at >= {} AND u.created_at < {} AND u.state = 'active'",
            midnight_ms(2022, 1, 2),
            midnight_ms(2024, 1, 2)
        )),
        'g' => SqlQuery::plain(format!(
            "u.last_access_at > {recent} \
             AND NOT EXISTS (SELECT 1 FROM auth a WHERE a.row = u.row \
                             AND (a.module = 'google' OR a.module_name = 'google')) \
             AND EXISTS (SELECT 1 FROM user_grants ug WHERE ug.row = u.row)"
        )),
        'h' => SqlQuery {
            ctes: vec![subtree("sub", &[group_id])],
            condition: "u.row IN (SELECT row FROM memberships WHERE group_idx IN sub) \
                        AND u.two_factor = 0"
                .to_owned(),
        },
        'i' => {
            let mut ctes = vec![wanted_roles("Developer")];
            ctes.extend(holders("dev", "role IN wanted_roles", Some((project, org))));
            SqlQuery {
                ctes,
                condition: "u.row IN dev_holders".to_owned(),
            }
        }
        'j' => SqlQuery {
            ctes: holders("any", "1", Some((project, org))),
            condition: format!(
                "(u.login = {login} OR u.row IN (SELECT row FROM memberships WHERE group_idx = \
                 (SELECT idx FROM groups WHERE id = {}))) AND u.row IN any_holders",
                quote(group_id)
            ),
        },
        'k' => {
            let [g1, g2] = values
                .other_groups
                .map(|g| model.groups[g.index()].id.as_str());
            let mut ctes = vec![wanted_roles("Developer"), subtree("sub", &[g1, g2])];
            ctes.extend(holders("dev", "role IN wanted_roles", None));
            SqlQuery {
                ctes,
                condition: format!(
                    "u.state = 'active' AND u.two_factor = 1 \
                     AND u.row IN (SELECT row FROM memberships WHERE group_idx IN sub) \
                     AND u.last_access_at > {recent} AND u.external = 0 AND u.row IN dev_holders"
                ),
            }
        }
        'l' => SqlQuery::plain("(u.state <> 'active' OR u.admin = 1)".to_owned()),
        _ => return None,
    })
}

fn page_rows(conn: &Connection, sql: &str) -> Result<Vec<Row>, BenchError> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map([], |r| r.get::<_, i64>(0))?;
    let mut out = Vec::with_capacity(PAGE_SIZE);
    for row in rows {
        out.push(row? as Row);
    }
    Ok(out)
}

fn count(conn: &Connection, sql: &str) -> Result<u64, BenchError> {
    let mut statement = conn.prepare_cached(sql)?;
    Ok(statement.query_row([], |r| r.get::<_, i64>(0))? as u64)
}

/// SQLite with B-tree indexes, recursive CTEs for group subtrees, grants resolved in SQL.
pub struct SqlitePeer {
    db: Rc<Database>,
    statements: Vec<(char, String, String)>,
}

impl SqlitePeer {
    /// A peer over a loaded database for the workload's values.
    pub fn new(db: Rc<Database>, model: &Model, values: &Values) -> SqlitePeer {
        let statements = "abcdefghijkl"
            .chars()
            .filter_map(|letter| {
                sql_for(letter, model, values).map(|q| (letter, q.count_sql(), q.page_sql()))
            })
            .collect();
        SqlitePeer { db, statements }
    }

    fn statements(&self, case: &Case) -> Result<&(char, String, String), BenchError> {
        self.statements
            .iter()
            .find(|(letter, _, _)| *letter == case.letter)
            .ok_or_else(|| BenchError::Mismatch(format!("no SQL for query {}", case.letter)))
    }
}

impl Peer for SqlitePeer {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn count(&mut self, case: &Case) -> Result<u64, BenchError> {
        let (_, sql, _) = self.statements(case)?;
        count(&self.db.conn, sql)
    }

    fn page(&mut self, case: &Case) -> Result<Vec<Row>, BenchError> {
        let (_, _, sql) = self.statements(case)?;
        page_rows(&self.db.conn, sql)
    }
}

/// SQLite's FTS5 trigram index answering the substring query c (and nothing else).
pub struct FtsPeer {
    db: Rc<Database>,
}

const FTS_MATCH: &str = "SELECT rowid FROM users_fts WHERE users_fts MATCH '\"smi\"'";

impl FtsPeer {
    /// A peer over a database that has [`Database::add_trigram_index`].
    pub fn new(db: Rc<Database>) -> FtsPeer {
        FtsPeer { db }
    }
}

impl Peer for FtsPeer {
    fn name(&self) -> &'static str {
        "sqlite-fts5"
    }

    fn answers(&self, case: &Case) -> bool {
        case.letter == 'c'
    }

    fn count(&mut self, _case: &Case) -> Result<u64, BenchError> {
        count(
            &self.db.conn,
            &format!("SELECT count(*) FROM ({FTS_MATCH})"),
        )
    }

    fn page(&mut self, _case: &Case) -> Result<Vec<Row>, BenchError> {
        page_rows(
            &self.db.conn,
            &format!(
                "SELECT u.row FROM users u WHERE u.row IN ({FTS_MATCH}) ORDER BY u.login, u.id LIMIT {PAGE_SIZE}"
            ),
        )
    }
}
