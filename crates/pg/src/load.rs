//! Loading a directory into PostgreSQL: the whole schema and every row in one transaction, the
//! rows with `COPY … FROM STDIN` (text format), the secondary indexes built after the data.
//!
//! The file has already been parsed and validated by `userql_directory` (a bad file never gets
//! here), and anything PostgreSQL cannot store identically (text with NUL, a `number` above
//! `i64::MAX`) aborts the transaction with an error naming the table: a failed load leaves the
//! database exactly as it was.

use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use postgres::{Client, Transaction};
use userql_directory::model::{GroupIdx, Model, Row, Scope, Subject};
use userql_directory::save::user_to_raw;
use userql_directory::text::{fold, fold_user_type};

use crate::access::ancestors;
use crate::compile::FLAG_COLUMNS;
use crate::error::Error;
use crate::schema::{Schema, DDL, INDEXES, SCHEMA_VERSION};

/// What a load did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// Users loaded.
    pub users: u64,
    /// Wall time of the whole transaction.
    pub elapsed: Duration,
    /// Wall time of each step, in order (`COPY users`, `access`, each index, `ANALYZE`,
    /// `COMMIT`, …): where a load's time goes.
    pub phases: Vec<(String, Duration)>,
}

/// Times the steps of a load.
struct Phases {
    at: Instant,
    done: Vec<(String, Duration)>,
}

impl Phases {
    fn new() -> Self {
        Phases {
            at: Instant::now(),
            done: Vec::new(),
        }
    }

    /// Closes the step that ran since the previous one.
    fn mark(&mut self, name: impl Into<String>) {
        let now = Instant::now();
        self.done.push((name.into(), now - self.at));
        self.at = now;
    }
}

/// The statements of a DDL script (`;`-terminated, `--` comments), each with a short label
/// (`CREATE INDEX users_name_f`).
fn statements(script: &str) -> impl Iterator<Item = (String, &str)> {
    script.split(';').filter_map(|raw| {
        let code: Vec<&str> = raw
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("--"))
            .collect();
        let first = code.first()?;
        let label = first
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        Some((label, raw))
    })
}

/// One `COPY … FROM STDIN` in text format, buffered; values are escaped here.
struct Copy<W: Write> {
    out: BufWriter<W>,
    table: &'static str,
    line: u64,
    first: bool,
    nul: Option<u64>,
}

impl<W: Write> Copy<W> {
    fn new(out: W, table: &'static str) -> Self {
        Copy {
            out: BufWriter::with_capacity(1 << 20, out),
            table,
            line: 1,
            first: true,
            nul: None,
        }
    }

    fn sep(&mut self) -> std::io::Result<()> {
        if !self.first {
            self.out.write_all(b"\t")?;
        }
        self.first = false;
        Ok(())
    }

    fn text(&mut self, value: &str) -> std::io::Result<&mut Self> {
        self.sep()?;
        let mut start = 0;
        for (i, byte) in value.bytes().enumerate() {
            let escaped: &[u8] = match byte {
                b'\\' => b"\\\\",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                0 => {
                    self.nul.get_or_insert(self.line);
                    b""
                }
                _ => continue,
            };
            self.out.write_all(&value.as_bytes()[start..i])?;
            self.out.write_all(escaped)?;
            start = i + 1;
        }
        self.out.write_all(&value.as_bytes()[start..])?;
        Ok(self)
    }

    fn opt(&mut self, value: Option<&str>) -> std::io::Result<&mut Self> {
        match value {
            Some(v) => self.text(v),
            None => {
                self.sep()?;
                self.out.write_all(b"\\N")?;
                Ok(self)
            }
        }
    }

    fn int(&mut self, value: i64) -> std::io::Result<&mut Self> {
        self.sep()?;
        write!(self.out, "{value}")?;
        Ok(self)
    }

    fn opt_int(&mut self, value: Option<i64>) -> std::io::Result<&mut Self> {
        match value {
            Some(v) => self.int(v),
            None => self.opt(None),
        }
    }

    fn boolean(&mut self, value: bool) -> std::io::Result<&mut Self> {
        self.sep()?;
        self.out.write_all(if value { b"t" } else { b"f" })?;
        Ok(self)
    }

    fn end(&mut self) -> std::io::Result<()> {
        self.out.write_all(b"\n")?;
        self.line += 1;
        self.first = true;
        Ok(())
    }

    fn finish(self) -> Result<W, Error> {
        if let Some(line) = self.nul {
            return Err(Error::Unstorable(format!(
                "text containing NUL (U+0000) in table {}, row {line}: PostgreSQL text cannot hold it",
                self.table
            )));
        }
        self.out
            .into_inner()
            .map_err(|e| Error::Io(e.into_error().to_string()))
    }
}

/// How rows go into a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMode {
    /// The table was created in this transaction (a load): `COPY … WITH (FREEZE)` writes the
    /// rows already frozen and all-visible, so no reader later rewrites every page to set hint
    /// bits, and index-only scans need no heap visits until the rows change.
    Fresh,
    /// The table holds rows from earlier transactions (a change batch): a plain `COPY`.
    Append,
}

/// The schema's primary keys, unique constraints and foreign keys, lifted off the empty tables
/// before `COPY` and put back after it, each exactly as `schema.sql` declares it (read back with
/// `pg_get_constraintdef`). Put back, a key builds its index by sorting once and a foreign key
/// is checked by one anti-join, where kept in place every copied row would update each index
/// and queue one deferred check per foreign key to run at commit — tens of millions of checks,
/// and the memory to queue them, at 1M users.
struct Constraints(Vec<(String, String, String)>);

impl Constraints {
    fn lift(tx: &mut Transaction<'_>, schema: &Schema) -> Result<Self, Error> {
        let rows = tx.query(
            "SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid)
             FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
             WHERE n.nspname = $1::text AND c.contype IN ('p', 'u', 'f')
             ORDER BY c.contype <> 'f', c.oid",
            &[&schema.name()],
        )?;
        let lifted: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        // Foreign keys first: a key cannot be dropped while one references it.
        for (table, name, _) in &lifted {
            tx.batch_execute(&format!("ALTER TABLE {table} DROP CONSTRAINT {name}"))?;
        }
        Ok(Constraints(lifted))
    }

    /// Keys first, then the foreign keys that reference them.
    fn restore(self, tx: &mut Transaction<'_>, phases: &mut Phases) -> Result<(), Error> {
        for (table, name, definition) in self.0.iter().rev() {
            tx.batch_execute(&format!(
                "ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
            ))?;
            phases.mark(format!("ADD CONSTRAINT {name}"));
        }
        Ok(())
    }
}

/// Runs one COPY, feeding it the rows `write` produces.
fn copy_rows(
    tx: &mut Transaction<'_>,
    mode: CopyMode,
    table: &'static str,
    columns: &'static str,
    write: impl FnOnce(&mut Copy<postgres::CopyInWriter<'_>>) -> std::io::Result<()>,
) -> Result<(), Error> {
    let options = match mode {
        CopyMode::Fresh => " WITH (FREEZE)",
        CopyMode::Append => "",
    };
    let statement = format!("COPY {table} ({columns}) FROM STDIN{options}");
    let writer = tx.copy_in(statement.as_str())?;
    let mut copy = Copy::new(writer, table);
    write(&mut copy).map_err(|e| Error::Io(e.to_string()))?;
    copy.finish()?.finish()?;
    Ok(())
}

/// A plain COPY (the catalog tables: small, and rewritten by change batches).
fn copy(
    tx: &mut Transaction<'_>,
    table: &'static str,
    columns: &'static str,
    write: impl FnOnce(&mut Copy<postgres::CopyInWriter<'_>>) -> std::io::Result<()>,
) -> Result<(), Error> {
    copy_rows(tx, CopyMode::Append, table, columns, write)
}

fn idx(i: usize) -> i64 {
    i as i64
}

/// Creates (or replaces) the schema and loads `model` into it, in one transaction.
pub fn load(client: &mut Client, schema: &Schema, model: &Model) -> Result<LoadReport, Error> {
    let started = Instant::now();
    let mut phases = Phases::new();
    if model.users.records().any(|u| u.number > i64::MAX as u64) {
        return Err(Error::Unstorable(
            "a user number above 9223372036854775807 does not fit PostgreSQL's bigint".into(),
        ));
    }
    client.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")?;
    let mut tx = client.transaction()?;
    let existing: i64 = tx
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = $1::text",
            &[&schema.name()],
        )?
        .get(0);
    if existing > 0 {
        let ours: Option<String> = tx
            .query_one(
                "SELECT to_regclass(quote_ident($1::text) || '.userql_schema_version')::text",
                &[&schema.name()],
            )?
            .get(0);
        let tables: i64 = tx
            .query_one(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1::text",
                &[&schema.name()],
            )?
            .get(0);
        if ours.is_none() && tables > 0 {
            return Err(Error::ForeignSchema(schema.name().to_owned()));
        }
        tx.batch_execute(&format!("DROP SCHEMA {} CASCADE", schema.quoted()))?;
    }
    tx.batch_execute(&format!(
        "CREATE SCHEMA {0}; SET LOCAL search_path TO {0}, public;",
        schema.quoted()
    ))?;
    tx.batch_execute(DDL)?;
    let constraints = Constraints::lift(&mut tx, schema)?;
    phases.mark("CREATE SCHEMA, tables");
    copy_catalog(&mut tx, model)?;
    phases.mark("COPY catalog");
    let users = all_users(model);
    copy_users(&mut tx, CopyMode::Fresh, model, &users)?;
    phases.mark("COPY users");
    copy_user_relations(&mut tx, CopyMode::Fresh, model, &users)?;
    phases.mark("COPY per-user tables");
    let teams: Vec<usize> = (0..model.teams.len()).collect();
    copy_team_users(&mut tx, CopyMode::Fresh, model, &teams, &|row| {
        Some(row as i32)
    })?;
    let grants: Vec<(i32, usize)> = (0..model.grants.len()).map(|i| (i as i32, i)).collect();
    copy_grants(&mut tx, CopyMode::Fresh, model, &grants, &|row| {
        Some(row as i32)
    })?;
    phases.mark("COPY team_users, grants");
    copy_access(&mut tx, model, &users)?;
    phases.mark("COPY access");
    constraints.restore(&mut tx, &mut phases)?;
    for (label, statement) in statements(INDEXES) {
        tx.batch_execute(statement)?;
        phases.mark(label);
    }
    tx.execute(
        "INSERT INTO userql_schema_version (version, loaded_users) VALUES ($1::int4, $2::int8)",
        &[&SCHEMA_VERSION, &(model.users.count() as i64)],
    )?;
    tx.batch_execute("ANALYZE")?;
    phases.mark("ANALYZE");
    tx.commit()?;
    phases.mark("COMMIT");
    Ok(LoadReport {
        users: model.users.count() as u64,
        elapsed: started.elapsed(),
        phases: phases.done,
    })
}

/// A catalog table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CatalogTable {
    /// `services`.
    Services,
    /// `permissions`.
    Permissions,
    /// `roles` (and `role_permissions`).
    Roles,
    /// `organizations`.
    Organizations,
    /// `projects`.
    Projects,
    /// `groups`.
    Groups,
    /// `teams` (and `team_groups`).
    Teams,
}

impl CatalogTable {
    /// Every catalog table, referenced tables first.
    pub const ALL: [CatalogTable; 7] = [
        CatalogTable::Services,
        CatalogTable::Permissions,
        CatalogTable::Roles,
        CatalogTable::Organizations,
        CatalogTable::Projects,
        CatalogTable::Groups,
        CatalogTable::Teams,
    ];

    /// The table's name.
    pub fn name(self) -> &'static str {
        match self {
            CatalogTable::Services => "services",
            CatalogTable::Permissions => "permissions",
            CatalogTable::Roles => "roles",
            CatalogTable::Organizations => "organizations",
            CatalogTable::Projects => "projects",
            CatalogTable::Groups => "groups",
            CatalogTable::Teams => "teams",
        }
    }

    /// How many objects of this table `m` holds.
    pub fn len(self, m: &Model) -> usize {
        match self {
            CatalogTable::Services => m.services.len(),
            CatalogTable::Permissions => m.permissions.len(),
            CatalogTable::Roles => m.roles.len(),
            CatalogTable::Organizations => m.organizations.len(),
            CatalogTable::Projects => m.projects.len(),
            CatalogTable::Groups => m.groups.len(),
            CatalogTable::Teams => m.teams.len(),
        }
    }
}

fn copy_catalog(tx: &mut Transaction<'_>, m: &Model) -> Result<(), Error> {
    for table in CatalogTable::ALL {
        let all: Vec<usize> = (0..table.len(m)).collect();
        copy_catalog_rows(tx, m, table, &all)?;
    }
    copy_group_closure(tx, m)
}

/// Writes the objects at `positions` of one catalog table (with a role's permissions, a team's
/// groups).
pub fn copy_catalog_rows(
    tx: &mut Transaction<'_>,
    m: &Model,
    table: CatalogTable,
    positions: &[usize],
) -> Result<(), Error> {
    if positions.is_empty() {
        return Ok(());
    }
    let named = |items: &[(&String, &String)]| -> Vec<(usize, String, String)> {
        positions
            .iter()
            .map(|&i| (i, items[i].0.clone(), items[i].1.clone()))
            .collect()
    };
    match table {
        CatalogTable::Services => {
            let items: Vec<_> = m.services.iter().map(|x| (&x.id, &x.name)).collect();
            copy_named(tx, "services", named(&items))
        }
        CatalogTable::Permissions => {
            let items: Vec<_> = m.permissions.iter().map(|x| (&x.id, &x.name)).collect();
            copy_named(tx, "permissions", named(&items))
        }
        CatalogTable::Roles => {
            let items: Vec<_> = m.roles.iter().map(|x| (&x.id, &x.name)).collect();
            copy_named(tx, "roles", named(&items))?;
            copy_role_permissions(tx, m, positions)
        }
        CatalogTable::Organizations => {
            let items: Vec<_> = m.organizations.iter().map(|x| (&x.id, &x.name)).collect();
            copy_named(tx, "organizations", named(&items))
        }
        CatalogTable::Projects => copy(tx, "projects", "idx, id, name, key, organization", |c| {
            for &i in positions {
                let p = &m.projects[i];
                c.int(idx(i))?
                    .text(&p.id)?
                    .text(&p.name)?
                    .opt(p.key.as_deref())?
                    .opt_int(p.organization.map(|o| idx(o.index())))?
                    .end()?;
            }
            Ok(())
        }),
        CatalogTable::Groups => copy(tx, "groups", "idx, id, name, parent", |c| {
            for &i in positions {
                let g = &m.groups[i];
                c.int(idx(i))?
                    .text(&g.id)?
                    .text(&g.name)?
                    .opt_int(g.parent.map(|p| idx(p.index())))?
                    .end()?;
            }
            Ok(())
        }),
        CatalogTable::Teams => {
            copy(tx, "teams", "idx, id, name, project", |c| {
                for &i in positions {
                    let t = &m.teams[i];
                    c.int(idx(i))?
                        .text(&t.id)?
                        .text(&t.name)?
                        .opt_int(t.project.map(|p| idx(p.index())))?
                        .end()?;
                }
                Ok(())
            })?;
            copy_team_groups(tx, m, positions)
        }
    }
}

/// Writes the permissions of the roles at positions `roles`.
pub fn copy_role_permissions(
    tx: &mut Transaction<'_>,
    m: &Model,
    roles: &[usize],
) -> Result<(), Error> {
    copy(tx, "role_permissions", "role, permission, position", |c| {
        for &i in roles {
            let r = &m.roles[i];
            let mut seen = Vec::new();
            for (position, p) in r.permissions.iter().enumerate() {
                if !seen.contains(p) {
                    seen.push(*p);
                    c.int(idx(i))?
                        .int(idx(p.index()))?
                        .int(idx(position))?
                        .end()?;
                }
            }
        }
        Ok(())
    })
}

/// Writes the whole group closure (every group with each of its ancestors, itself included).
pub fn copy_group_closure(tx: &mut Transaction<'_>, m: &Model) -> Result<(), Error> {
    copy(tx, "group_closure", "ancestor, descendant", |c| {
        for (i, _) in m.groups.iter().enumerate() {
            for ancestor in ancestors(m, GroupIdx(i as u32)) {
                c.int(idx(ancestor.index()))?.int(idx(i))?.end()?;
            }
        }
        Ok(())
    })
}

/// Writes the groups of the teams at positions `teams`.
pub fn copy_team_groups(tx: &mut Transaction<'_>, m: &Model, teams: &[usize]) -> Result<(), Error> {
    copy(tx, "team_groups", "team, grp, position", |c| {
        for &i in teams {
            let t = &m.teams[i];
            let mut seen = Vec::new();
            for (position, g) in t.groups.iter().enumerate() {
                if !seen.contains(g) {
                    seen.push(*g);
                    c.int(idx(i))?
                        .int(idx(g.index()))?
                        .int(idx(position))?
                        .end()?;
                }
            }
        }
        Ok(())
    })
}

/// A catalog table of `(idx, id, name)` rows.
fn copy_named(
    tx: &mut Transaction<'_>,
    table: &'static str,
    rows: Vec<(usize, String, String)>,
) -> Result<(), Error> {
    copy(tx, table, "idx, id, name", |c| {
        for (i, id, name) in &rows {
            c.int(idx(*i))?.text(id)?.text(name)?.end()?;
        }
        Ok(())
    })
}

const USER_COLUMNS: &str = "row, id, number, login, login_f, name, name_f, email, email_f, \
    public_email, public_email_f, login_l, name_l, email_l, public_email_l, state, user_type_f, ban_status_f, created_at, updated_at, \
    last_access_at, origin_service, enterprise_group, f_admin, f_guest, f_external, f_two_factor, \
    f_two_factor_capable, f_refresh_token, f_permanent_token, f_approved_resource, f_accepted_eua, \
    f_has_email, f_verified_email, f_has_public_email, f_has_last_access, f_has_group, f_has_auth, \
    f_has_core_auth, f_has_ssh_key, f_has_license, f_has_origin_service, f_bot, f_internal, \
    f_human, f_project_bot, f_banned, f_has_ldap_auth, doc";

/// The users to write: (`users.row`, row in the model).
pub type UserRows<'a> = &'a [(i32, usize)];

/// Every user of `m`, each at its model row (deleted rows, holes, are skipped).
fn all_users(m: &Model) -> Vec<(i32, usize)> {
    m.users
        .iter()
        .map(|(row, _)| (row as i32, row as usize))
        .collect()
}

/// Writes the `users` rows of `rows`.
pub fn copy_users(
    tx: &mut Transaction<'_>,
    mode: CopyMode,
    m: &Model,
    rows: UserRows<'_>,
) -> Result<(), Error> {
    copy_rows(tx, mode, "users", USER_COLUMNS, |c| {
        for &(key, row) in rows {
            let u = &m.users[row];
            let folded = |v: Option<&str>| v.map(fold);
            let lowered = |v: Option<&str>| v.map(str::to_lowercase);
            c.int(i64::from(key))?
                .text(&u.id)?
                .int(u.number as i64)?
                .text(&u.login)?
                .text(&fold(&u.login))?
                .opt(u.name.as_deref())?
                .opt(folded(u.name.as_deref()).as_deref())?
                .opt(u.email.as_deref())?
                .opt(folded(u.email.as_deref()).as_deref())?
                .opt(u.public_email.as_deref())?
                .opt(folded(u.public_email.as_deref()).as_deref())?
                .text(&u.login.to_lowercase())?
                .opt(lowered(u.name.as_deref()).as_deref())?
                .opt(lowered(u.email.as_deref()).as_deref())?
                .opt(lowered(u.public_email.as_deref()).as_deref())?
                .text(u.state.as_str())?
                .text(&fold_user_type(&u.user_type))?
                .opt(
                    u.ban
                        .as_ref()
                        .and_then(|b| b.status.as_deref())
                        .map(fold)
                        .as_deref(),
                )?
                .int(u.created_at)?
                .int(u.updated_or_created())?
                .opt_int(m.users.last_access(row))?
                .opt_int(u.origin_service.map(|s| idx(s.index())))?
                .opt_int(u.enterprise_group.map(|g| idx(g.index())))?;
            for (flag, _) in FLAG_COLUMNS {
                // Every flag with a column is row-local (`HasOwnRole` is answered from `grants`).
                c.boolean(flag.of_user(u, false, m.users.last_access(row)))?;
            }
            let doc = serde_json::to_string(&user_to_raw(m, row as Row))
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            c.text(&doc)?.end()?;
        }
        Ok(())
    })
}

/// Writes the whole `access` table of a freshly created schema (see [`crate::access`]), in row
/// order.
fn copy_access(tx: &mut Transaction<'_>, m: &Model, rows: UserRows<'_>) -> Result<(), Error> {
    let holdings = crate::access::Holdings::new(m);
    let position = |p: Option<u32>| p.map(i64::from);
    copy_rows(
        tx,
        CopyMode::Fresh,
        "access",
        "row, role, project, organization",
        |c| {
            for &(key, row) in rows {
                for (role, project, organization) in holdings.of(row as Row, &m.users[row]) {
                    c.int(i64::from(key))?
                        .int(i64::from(role))?
                        .opt_int(position(project))?
                        .opt_int(position(organization))?
                        .end()?;
                }
            }
            Ok(())
        },
    )
}

/// Writes the per-user tables (emails, memberships, organizations, licenses, auth details, SSH
/// keys, VCS names) of `rows`.
pub fn copy_user_relations(
    tx: &mut Transaction<'_>,
    mode: CopyMode,
    m: &Model,
    rows: UserRows<'_>,
) -> Result<(), Error> {
    copy_rows(tx, mode, "user_emails", "row, email_f", |c| {
        for &(key, row) in rows {
            let u = &m.users[row];
            for e in &u.emails {
                c.int(i64::from(key))?.text(&fold(e))?.end()?;
            }
        }
        Ok(())
    })?;
    copy_rows(tx, mode, "memberships", "row, grp", |c| {
        for &(key, row) in rows {
            let u = &m.users[row];
            let mut seen = Vec::new();
            for g in &u.groups {
                if !seen.contains(&g.group) {
                    seen.push(g.group);
                    c.int(i64::from(key))?.int(idx(g.group.index()))?.end()?;
                }
            }
        }
        Ok(())
    })?;
    copy_rows(tx, mode, "user_organizations", "row, organization", |c| {
        for &(key, row) in rows {
            let u = &m.users[row];
            let mut seen = Vec::new();
            for o in &u.organizations {
                if !seen.contains(o) {
                    seen.push(*o);
                    c.int(i64::from(key))?.int(idx(o.index()))?.end()?;
                }
            }
        }
        Ok(())
    })?;
    copy_rows(tx, mode, "user_licenses", "row, service", |c| {
        for &(key, row) in rows {
            let u = &m.users[row];
            let mut seen = Vec::new();
            for s in &u.licenses {
                if !seen.contains(s) {
                    seen.push(*s);
                    c.int(i64::from(key))?.int(idx(s.index()))?.end()?;
                }
            }
        }
        Ok(())
    })?;
    copy_rows(
        tx,
        mode,
        "auth_details",
        "row, module, module_f, module_name_f, login_f, name_f, email_f, uid, uid_f",
        |c| {
            for &(key, row) in rows {
                let u = &m.users[row];
                for a in &u.auth {
                    let folded = |v: Option<&str>| v.map(fold);
                    c.int(i64::from(key))?
                        .text(a.module)?
                        .text(&fold(a.module))?
                        .opt(folded(a.module_name).as_deref())?
                        .opt(folded(a.login).as_deref())?
                        .opt(folded(a.name).as_deref())?
                        .opt(folded(a.email).as_deref())?
                        .opt(a.uid)?
                        .opt(folded(a.uid).as_deref())?
                        .end()?;
                }
            }
            Ok(())
        },
    )?;
    copy_rows(tx, mode, "ssh_keys", "row, key, blob, fingerprint", |c| {
        for &(key, row) in rows {
            let u = &m.users[row];
            for k in &u.ssh_keys {
                c.int(i64::from(key))?
                    .text(k.key)?
                    .opt(k.key.split_whitespace().nth(1))?
                    .opt(k.fingerprint)?
                    .end()?;
            }
        }
        Ok(())
    })?;
    copy_rows(tx, mode, "vcs_user_names", "row, name_f", |c| {
        for &(key, row) in rows {
            let u = &m.users[row];
            for v in &u.vcs_user_names {
                c.int(i64::from(key))?.text(&fold(v))?.end()?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// The `users.row` of a model row, when the model row is one being written.
pub type RowKey<'a> = &'a dyn Fn(u32) -> Option<i32>;

/// Writes the listings of the teams at model positions `teams` (users through `key`).
pub fn copy_team_users(
    tx: &mut Transaction<'_>,
    mode: CopyMode,
    m: &Model,
    teams: &[usize],
    key: RowKey<'_>,
) -> Result<(), Error> {
    copy_rows(tx, mode, "team_users", "team, row, position", |c| {
        for &i in teams {
            let t = &m.teams[i];
            let mut seen = Vec::new();
            for (position, row) in t.users.iter().enumerate() {
                let Some(user) = key(*row) else { continue };
                if !seen.contains(row) {
                    seen.push(*row);
                    c.int(idx(i))?
                        .int(i64::from(user))?
                        .int(idx(position))?
                        .end()?;
                }
            }
        }
        Ok(())
    })
}

/// Writes the grants of the model positions in `grants` as (`grants.position`, model position),
/// users through `key`.
pub fn copy_grants(
    tx: &mut Transaction<'_>,
    mode: CopyMode,
    m: &Model,
    grants: &[(i32, usize)],
    key: RowKey<'_>,
) -> Result<(), Error> {
    copy_rows(
        tx,
        mode,
        "grants",
        "position, role, user_row, grp, team, project, organization",
        |c| {
            for &(position, i) in grants {
                let g = &m.grants[i];
                let (user, group, team) = match g.subject {
                    Subject::User(r) => (key(r).map(i64::from), None, None),
                    Subject::Group(x) => (None, Some(idx(x.index())), None),
                    Subject::Team(t) => (None, None, Some(idx(t.index()))),
                };
                let (project, organization) = match g.scope {
                    Scope::Global => (None, None),
                    Scope::Project(p) => (Some(idx(p.index())), None),
                    Scope::Organization(o) => (None, Some(idx(o.index()))),
                };
                c.int(i64::from(position))?
                    .int(idx(g.role.index()))?
                    .opt_int(user)?
                    .opt_int(group)?
                    .opt_int(team)?
                    .opt_int(project)?
                    .opt_int(organization)?
                    .end()?;
            }
            Ok(())
        },
    )?;
    Ok(())
}
