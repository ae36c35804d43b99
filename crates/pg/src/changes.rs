//! Change batches (`userql-changes/1`) applied to a loaded schema, one transaction each, with
//! exactly the in-memory store's refusals.
//!
//! The rules of `changes.md` (uniqueness, references, the group forest, `RESTRICT` on deletes,
//! numbering, patches as puts) are the store's, and are not written a second time here. Instead
//! the batch runs through a real [`Store`] over the **slice** of the stored directory it can see:
//! the whole catalog, every grant to a group or team, and the users the batch could touch or
//! collide with —
//! - the users it names (by id: puts, patches, deletes, sign-ins, grants, memberships, team
//!   listings),
//! - the holders of every login and number it writes (uniqueness is checked against them),
//! - the user with the largest number (a new user without one is numbered after it),
//! - every user listed in a team it writes (a team patch keeps the whole listing),
//! - every user referring to a catalog object it deletes (a refusal lists and counts them all),
//!
//! with their own grants. Users keep their stored order, so everything the store reports in
//! directory order is reported in the same order. A refused batch returns the store's errors
//! and the transaction is rolled back; an accepted one is written back as the difference
//! between the slice before and after (users and catalog objects by id, grants by sequence),
//! the group closure and the `access` table are brought up to date, and the transaction commits.
//!
//! Catalog objects are addressed by dense position in the schema, as in memory; deleting one
//! renumbers the later ones (`ON UPDATE CASCADE` carries the new numbers into every reference).
//! The batch holds an `EXCLUSIVE` lock on `userql_schema_version`: batches run one at a time,
//! readers are never blocked and see the directory before or after a batch, never between.

use std::collections::{HashMap, HashSet};

use postgres::types::ToSql;
use postgres::{Client, Transaction};
use serde_json::Value;
use userql_directory::changes::{Change, EntityKind, Object, Target};
use userql_directory::model::{Model, Row, Subject, User};
use userql_directory::text::fold;
use userql_directory::Store;
use userql_directory::{raw, save};

use crate::error::Error;
use crate::load::{
    copy_catalog_rows, copy_grants, copy_group_closure, copy_team_users, copy_user_relations,
    copy_users, CatalogTable, CopyMode,
};
use crate::respond::{slice_of_rows, Slice};

/// The per-user tables, rewritten with the user.
const USER_TABLES: [&str; 7] = [
    "user_emails",
    "memberships",
    "user_organizations",
    "user_licenses",
    "auth_details",
    "ssh_keys",
    "vcs_user_names",
];

/// Applies one batch in one transaction and returns the schema's new batch count (the current
/// one for an empty batch). A refused batch changes nothing: [`Error::Refused`] carries every
/// problem, placed by change as the in-memory store places them.
pub fn apply(client: &mut Client, batch: &[Change]) -> Result<u64, Error> {
    let mut tx = client.transaction()?;
    tx.batch_execute(
        "SET CONSTRAINTS ALL DEFERRED; LOCK TABLE userql_schema_version IN EXCLUSIVE MODE",
    )?;
    let current: i64 = tx
        .query_one("SELECT batches FROM userql_schema_version", &[])?
        .get(0);
    if batch.is_empty() {
        return Ok(u64::try_from(current).unwrap_or(0));
    }
    let catalog = crate::catalog::read(&mut tx)?;
    let reach = Reach::of(batch);
    let rows = reach.rows(&mut tx)?;
    let before = slice_of_rows(&mut tx, &catalog, &rows)?;
    let store = Store::new(before.model.clone());
    store.apply_changes(batch).map_err(Error::Refused)?;
    let after = store.snapshot().model.clone();
    write(&mut tx, &before, &after, batch, &reach.teams)?;
    let batches: i64 = tx
        .query_one(
            "UPDATE userql_schema_version SET batches = batches + 1 RETURNING batches",
            &[],
        )?
        .get(0);
    tx.commit()?;
    Ok(u64::try_from(batches).unwrap_or(0))
}

/// What a batch names, for finding the users it can reach.
#[derive(Debug, Default)]
struct Reach {
    ids: Vec<String>,
    logins: Vec<String>,
    numbers: Vec<i64>,
    /// Teams the batch writes or deletes (their whole listing is loaded and rewritten).
    teams: Vec<String>,
    groups: Vec<String>,
    organizations: Vec<String>,
    services: Vec<String>,
    roles: Vec<String>,
    projects: Vec<String>,
}

impl Reach {
    fn of(batch: &[Change]) -> Reach {
        let mut reach = Reach::default();
        for change in batch {
            reach.add(change);
        }
        reach
    }

    fn add(&mut self, change: &Change) {
        match change {
            Change::Put(Object::User(user)) => {
                self.ids.push(user.id.clone());
                self.logins.push(fold(&user.login));
                self.numbers.extend(user.number);
            }
            Change::Put(Object::Team(team)) => {
                self.teams.push(team.id.clone());
                self.ids.extend(team.users.iter().cloned());
            }
            Change::Put(Object::Grant(grant)) | Change::Delete(Target::Grant(grant)) => {
                self.ids.extend(grant.user.iter().cloned());
            }
            Change::Put(Object::Membership(m)) | Change::Delete(Target::Membership(m)) => {
                self.ids.push(m.user.clone());
            }
            Change::Put(_) => {}
            Change::Patch { kind, id, set } => match kind {
                EntityKind::User => {
                    self.ids.push(id.clone());
                    if let Some(login) = set.get("login").and_then(Value::as_str) {
                        self.logins.push(fold(login));
                    }
                    self.numbers
                        .extend(set.get("number").and_then(Value::as_i64));
                }
                EntityKind::Team => {
                    self.teams.push(id.clone());
                    if let Some(Value::Array(users)) = set.get("users") {
                        let named = users.iter().filter_map(Value::as_str);
                        self.ids.extend(named.map(str::to_owned));
                    }
                }
                _ => {}
            },
            Change::Delete(Target::Entity { kind, id }) => {
                let list = match kind {
                    EntityKind::User => &mut self.ids,
                    EntityKind::Team => &mut self.teams,
                    EntityKind::Group => &mut self.groups,
                    EntityKind::Organization => &mut self.organizations,
                    EntityKind::Service => &mut self.services,
                    EntityKind::Role => &mut self.roles,
                    EntityKind::Project => &mut self.projects,
                    EntityKind::Permission => return,
                };
                list.push(id.clone());
            }
            Change::Touch { id, .. } => self.ids.push(id.clone()),
        }
    }

    /// The `users.row`s of the slice, ascending: one `UNION` of index lookups, each part only
    /// when the batch names something it looks up (an empty part still costs a scan plan).
    fn rows(&self, tx: &mut Transaction<'_>) -> Result<Vec<i32>, Error> {
        let parts: [(&str, &(dyn ToSql + Sync), bool); 12] = [
            ("SELECT row FROM users WHERE id = ANY($?::text[])", &self.ids, self.ids.is_empty()),
            ("SELECT row FROM users WHERE login_f = ANY($?::text[])", &self.logins, self.logins.is_empty()),
            ("SELECT row FROM users WHERE number = ANY($?::int8[])", &self.numbers, self.numbers.is_empty()),
            (
                "SELECT tu.row FROM team_users tu JOIN teams t ON t.idx = tu.team WHERE t.id = ANY($?::text[])",
                &self.teams,
                self.teams.is_empty(),
            ),
            (
                "SELECT m.row FROM memberships m JOIN groups g ON g.idx = m.grp WHERE g.id = ANY($?::text[])",
                &self.groups,
                self.groups.is_empty(),
            ),
            (
                "SELECT u.row FROM users u JOIN groups g ON g.idx = u.enterprise_group WHERE g.id = ANY($?::text[])",
                &self.groups,
                self.groups.is_empty(),
            ),
            (
                "SELECT uo.row FROM user_organizations uo JOIN organizations o ON o.idx = uo.organization \
                 WHERE o.id = ANY($?::text[])",
                &self.organizations,
                self.organizations.is_empty(),
            ),
            (
                "SELECT l.row FROM user_licenses l JOIN services s ON s.idx = l.service WHERE s.id = ANY($?::text[])",
                &self.services,
                self.services.is_empty(),
            ),
            (
                "SELECT u.row FROM users u JOIN services s ON s.idx = u.origin_service WHERE s.id = ANY($?::text[])",
                &self.services,
                self.services.is_empty(),
            ),
            (
                "SELECT g.user_row FROM grants g JOIN roles r ON r.idx = g.role \
                 WHERE r.id = ANY($?::text[]) AND g.user_row IS NOT NULL",
                &self.roles,
                self.roles.is_empty(),
            ),
            (
                "SELECT g.user_row FROM grants g JOIN projects p ON p.idx = g.project \
                 WHERE p.id = ANY($?::text[]) AND g.user_row IS NOT NULL",
                &self.projects,
                self.projects.is_empty(),
            ),
            (
                "SELECT g.user_row FROM grants g JOIN organizations o ON o.idx = g.organization \
                 WHERE o.id = ANY($?::text[]) AND g.user_row IS NOT NULL",
                &self.organizations,
                self.organizations.is_empty(),
            ),
        ];
        // The user with the largest number: a new user without one is numbered after it.
        let mut sql = vec!["(SELECT row FROM users ORDER BY number DESC LIMIT 1)".to_owned()];
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
        for (template, value, empty) in parts {
            if !empty {
                params.push(value);
                sql.push(template.replace("$?", &format!("${}", params.len())));
            }
        }
        let text = format!(
            "SELECT row FROM ({}) found ORDER BY 1",
            sql.join("\nUNION ")
        );
        let found = tx.query(text.as_str(), &params)?;
        Ok(found.iter().map(|r| r.get(0)).collect())
    }
}

/// The catalog object at `i` in the form compared across models (ids, not positions; a team
/// without its listing, which is compared only for teams the batch writes).
fn catalog_value(m: &Model, table: CatalogTable, i: usize) -> Value {
    let value = match table {
        CatalogTable::Services => serde_json::to_value((&m.services[i].id, &m.services[i].name)),
        CatalogTable::Permissions => {
            serde_json::to_value((&m.permissions[i].id, &m.permissions[i].name))
        }
        CatalogTable::Organizations => {
            serde_json::to_value((&m.organizations[i].id, &m.organizations[i].name))
        }
        CatalogTable::Roles => serde_json::to_value(save::role_to_raw(m, &m.roles[i])),
        CatalogTable::Projects => serde_json::to_value(save::project_to_raw(m, &m.projects[i])),
        CatalogTable::Groups => serde_json::to_value(save::group_to_raw(m, &m.groups[i])),
        CatalogTable::Teams => {
            let mut team = save::team_to_raw(m, &m.teams[i]);
            team.users.clear();
            serde_json::to_value(team)
        }
    };
    value.unwrap_or(Value::Null)
}

fn catalog_id(m: &Model, table: CatalogTable, i: usize) -> &str {
    match table {
        CatalogTable::Services => &m.services[i].id,
        CatalogTable::Permissions => &m.permissions[i].id,
        CatalogTable::Roles => &m.roles[i].id,
        CatalogTable::Organizations => &m.organizations[i].id,
        CatalogTable::Projects => &m.projects[i].id,
        CatalogTable::Groups => &m.groups[i].id,
        CatalogTable::Teams => &m.teams[i].id,
    }
}

/// The rows of a catalog table's dependent tables that belong to its objects.
fn dependents(table: CatalogTable) -> &'static [(&'static str, &'static str)] {
    match table {
        CatalogTable::Roles => &[("role_permissions", "role")],
        CatalogTable::Teams => &[("team_groups", "team"), ("team_users", "team")],
        _ => &[],
    }
}

fn int_list(items: impl IntoIterator<Item = usize>) -> Vec<i32> {
    items
        .into_iter()
        .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
        .collect()
}

/// Deletes the objects at `positions` of a table and their dependent rows.
fn delete_catalog(
    tx: &mut Transaction<'_>,
    table: CatalogTable,
    positions: &[i32],
    with_team_users: bool,
) -> Result<(), Error> {
    for &(dependent, column) in dependents(table) {
        if dependent == "team_users" && !with_team_users {
            continue;
        }
        let sql = format!("DELETE FROM {dependent} WHERE {column} = ANY($1::int4[])");
        tx.execute(sql.as_str(), &[&positions])?;
    }
    let sql = format!("DELETE FROM {} WHERE idx = ANY($1::int4[])", table.name());
    tx.execute(sql.as_str(), &[&positions])?;
    Ok(())
}

/// Makes a table's positions dense again after deletions, keeping their order. Two steps so no
/// intermediate value collides: every position to `-idx - 1`, then each to its rank.
fn renumber(tx: &mut Transaction<'_>, table: CatalogTable) -> Result<(), Error> {
    let name = table.name();
    tx.batch_execute(&format!(
        "UPDATE {name} SET idx = -idx - 1;
         UPDATE {name} t SET idx = r.new
             FROM (SELECT idx AS old, (row_number() OVER (ORDER BY idx DESC) - 1)::int4 AS new
                   FROM {name}) r
             WHERE t.idx = r.old;"
    ))?;
    Ok(())
}

/// Writes the difference between the slice before and after the batch.
fn write(
    tx: &mut Transaction<'_>,
    before: &Slice,
    after: &Model,
    batch: &[Change],
    touched_teams: &[String],
) -> Result<(), Error> {
    let old = &before.model;
    if after.users.records().any(|u| u.number > i64::MAX as u64) {
        return Err(Error::Unstorable(
            "a user number above 9223372036854775807 does not fit PostgreSQL's bigint".into(),
        ));
    }
    // Whose access the batch can change beyond the users it wrote: the transitive members of
    // groups it wrote or granted to, and the members of teams it wrote or granted to — before
    // and after, since membership paths may be what changed.
    let (dropped, added) = grant_difference(old, after, batch);
    let mut groups = changed_ids(old, after, CatalogTable::Groups);
    let mut teams = changed_ids(old, after, CatalogTable::Teams);
    teams.extend(touched_teams.iter().cloned());
    let old_grants = dropped.iter().map(|&g| (old, &old.grants[g]));
    for (model, grant) in old_grants.chain(added.iter().map(|&g| (after, &after.grants[g]))) {
        match grant.subject {
            Subject::Group(g) => groups.push(model.groups[g.index()].id.clone()),
            Subject::Team(t) => teams.push(model.teams[t.index()].id.clone()),
            Subject::User(_) => {}
        }
    }
    let mut reached = members(tx, &groups, &teams)?;

    // Catalog: deletions (then renumbering), then every new or changed object.
    let mut groups_changed = false;
    for table in CatalogTable::ALL {
        let kept: HashSet<&str> = (0..table.len(after))
            .map(|i| catalog_id(after, table, i))
            .collect();
        let deleted =
            int_list((0..table.len(old)).filter(|&i| !kept.contains(catalog_id(old, table, i))));
        if !deleted.is_empty() {
            delete_catalog(tx, table, &deleted, true)?;
            renumber(tx, table)?;
        }
        let changed: Vec<usize> = (0..table.len(after))
            .filter(|&i| {
                position_of(old, table, catalog_id(after, table, i))
                    .is_none_or(|j| catalog_value(old, table, j) != catalog_value(after, table, i))
            })
            .collect();
        if !changed.is_empty() {
            delete_catalog(tx, table, &int_list(changed.iter().copied()), false)?;
            copy_catalog_rows(tx, after, table, &changed)?;
        }
        groups_changed |=
            table == CatalogTable::Groups && !(deleted.is_empty() && changed.is_empty());
    }
    // Foreign keys are checked at commit, so the closure can go after the groups it names.
    if groups_changed {
        tx.batch_execute("DELETE FROM group_closure")?;
        copy_group_closure(tx, after)?;
    }

    // Users, by id: rows of the slice kept, new users after the largest row in use.
    let old_rows: HashMap<&str, usize> = old
        .users
        .iter()
        .map(|(row, u)| (u.id.as_ref(), row as usize))
        .collect();
    let mut next_row: i32 = tx
        .query_one("SELECT coalesce(max(row) + 1, 0) FROM users", &[])?
        .get(0);
    // The stored row of each model row (`None` for a hole: a deleted user).
    let mut keys: Vec<Option<i32>> = vec![None; after.users.slots()];
    // Users written whole, and users whose `users` row alone changed (a sign-in, a state or
    // name patch): their per-user tables, and so their `access` rows, stay as they are.
    let mut written: Vec<(i32, usize)> = Vec::new();
    let mut row_only: Vec<(i32, usize)> = Vec::new();
    for (row, user) in after.users.iter() {
        let i = row as usize;
        match old_rows.get(user.id.as_ref()) {
            Some(&j) => {
                keys[i] = Some(before.rows[j]);
                let was = &old.users[j];
                if was.number != user.number
                    || serde_json::to_value(save::user_to_raw(old, j as Row)).ok()
                        != serde_json::to_value(save::user_to_raw(after, row)).ok()
                {
                    if same_relations(old, was, after, user) {
                        row_only.push((before.rows[j], i));
                    } else {
                        written.push((before.rows[j], i));
                    }
                }
            }
            None => {
                keys[i] = Some(next_row);
                written.push((next_row, i));
                next_row += 1;
            }
        }
    }
    let kept: HashSet<&str> = after.users.records().map(|u| u.id.as_ref()).collect();
    let removed: Vec<i32> = old
        .users
        .iter()
        .filter(|(_, u)| !kept.contains(u.id.as_ref()))
        .map(|(j, _)| before.rows[j as usize])
        .collect();
    let mut cleared: Vec<i32> = removed.clone();
    cleared.extend(written.iter().map(|&(key, _)| key));
    for table in USER_TABLES {
        let sql = format!("DELETE FROM {table} WHERE row = ANY($1::int4[])");
        tx.execute(sql.as_str(), &[&cleared])?;
    }
    tx.execute(
        "DELETE FROM team_users WHERE row = ANY($1::int4[])",
        &[&removed],
    )?;
    let mut replaced: Vec<i32> = cleared.clone();
    replaced.extend(row_only.iter().map(|&(key, _)| key));
    tx.execute(
        "DELETE FROM users WHERE row = ANY($1::int4[])",
        &[&replaced],
    )?;
    copy_user_relations(tx, CopyMode::Append, after, &written)?;
    written.append(&mut row_only);
    copy_users(tx, CopyMode::Append, after, &written)?;
    let key = |row: u32| keys.get(row as usize).copied().flatten();

    // Listings of the teams the batch wrote (the slice holds each of them whole).
    let mut touched: Vec<usize> = touched_teams
        .iter()
        .filter_map(|id| position_of(after, CatalogTable::Teams, id))
        .collect();
    touched.sort_unstable();
    touched.dedup();
    if !touched.is_empty() {
        let positions = int_list(touched.iter().copied());
        tx.execute(
            "DELETE FROM team_users WHERE team = ANY($1::int4[])",
            &[&positions],
        )?;
        copy_team_users(tx, CopyMode::Append, after, &touched, &key)?;
    }

    // Grants, by sequence: the batch only removes grants and appends new ones.
    let dropped_positions: Vec<i32> = dropped.iter().map(|&k| before.grant_positions[k]).collect();
    tx.execute(
        "DELETE FROM grants WHERE position = ANY($1::int4[])",
        &[&dropped_positions],
    )?;
    let mut next_position: i32 = tx
        .query_one("SELECT coalesce(max(position) + 1, 0) FROM grants", &[])?
        .get(0);
    let new_grants: Vec<(i32, usize)> = added
        .iter()
        .map(|&i| {
            next_position += 1;
            (next_position - 1, i)
        })
        .collect();
    copy_grants(tx, CopyMode::Append, after, &new_grants, &key)?;
    let mut holders: Vec<i32> = cleared;
    let old_key = |row: u32| before.rows.get(row as usize).copied();
    for &g in &dropped {
        if let Subject::User(row) = old.grants[g].subject {
            holders.extend(old_key(row));
        }
    }
    for &g in &added {
        if let Subject::User(row) = after.grants[g].subject {
            holders.extend(key(row));
        }
    }
    holders.append(&mut reached);
    holders.append(&mut members(tx, &groups, &teams)?);
    holders.sort_unstable();
    holders.dedup();
    crate::access::refresh(tx, &holders)
}

/// Whether a user's rows in the per-user tables are the same in both models: the lists those
/// tables hold, catalog references compared by id (positions may have been renumbered).
fn same_relations(old: &Model, was: &User, after: &Model, now: &User) -> bool {
    fn groups<'m>(m: &'m Model, u: &User) -> Vec<Option<&'m str>> {
        let id = |g: &userql_directory::model::Membership| m.groups.get(g.group.index());
        u.groups
            .iter()
            .map(|g| id(g).map(|x| x.id.as_str()))
            .collect()
    }
    fn organizations<'m>(m: &'m Model, u: &User) -> Vec<Option<&'m str>> {
        let id = |o: &userql_directory::model::OrgIdx| m.organizations.get(o.index());
        u.organizations
            .iter()
            .map(|o| id(o).map(|x| x.id.as_str()))
            .collect()
    }
    fn licenses<'m>(m: &'m Model, u: &User) -> Vec<Option<&'m str>> {
        let id = |s: &userql_directory::model::ServiceIdx| m.services.get(s.index());
        u.licenses
            .iter()
            .map(|s| id(s).map(|x| x.id.as_str()))
            .collect()
    }
    was.emails == now.emails
        && was.auth == now.auth
        && was.ssh_keys == now.ssh_keys
        && was.vcs_user_names == now.vcs_user_names
        && groups(old, was) == groups(after, now)
        && organizations(old, was) == organizations(after, now)
        && licenses(old, was) == licenses(after, now)
}

/// Ids of the objects of `table` the batch deleted, added or changed.
fn changed_ids(old: &Model, after: &Model, table: CatalogTable) -> Vec<String> {
    let deleted = (0..table.len(old))
        .filter(|&i| position_of(after, table, catalog_id(old, table, i)).is_none())
        .map(|i| catalog_id(old, table, i).to_owned());
    let written = (0..table.len(after))
        .filter(|&i| {
            position_of(old, table, catalog_id(after, table, i))
                .is_none_or(|j| catalog_value(old, table, j) != catalog_value(after, table, i))
        })
        .map(|i| catalog_id(after, table, i).to_owned());
    deleted.chain(written).collect()
}

/// The rows of the transitive members of `groups` and the members of `teams`, as stored now.
fn members(
    tx: &mut Transaction<'_>,
    groups: &[String],
    teams: &[String],
) -> Result<Vec<i32>, Error> {
    if groups.is_empty() && teams.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tx.query(
        "SELECT m.row FROM groups g JOIN group_closure c ON c.ancestor = g.idx
             JOIN memberships m ON m.grp = c.descendant WHERE g.id = ANY($1::text[])
         UNION SELECT tm.row FROM teams t JOIN team_members tm ON tm.team = t.idx
             WHERE t.id = ANY($2::text[])",
        &[&groups, &teams],
    )?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

fn position_of(m: &Model, table: CatalogTable, id: &str) -> Option<usize> {
    (0..table.len(m)).find(|&i| catalog_id(m, table, i) == id)
}

/// Grants of `old` gone from `after` (positions in `old`) and grants of `after` that are new
/// (positions in `after`). Grants have no identity but their value, and a directory may hold
/// equal grants, so which copy a delete removed is replayed from the batch with the store's
/// rule — a delete removes the first equal grant, a put of a grant equal to an existing one
/// changes nothing, deleting a user removes its grants — rather than guessed from the values.
/// The store keeps the surviving grants in order and appends new ones, so `after` is the
/// survivors followed by the new grants; if it is not, the positional difference is used.
fn grant_difference(old: &Model, after: &Model, batch: &[Change]) -> (Vec<usize>, Vec<usize>) {
    let old_grants: Vec<raw::Grant> = old
        .grants
        .iter()
        .map(|g| save::grant_to_raw(old, g))
        .collect();
    let new_grants: Vec<raw::Grant> = after
        .grants
        .iter()
        .map(|g| save::grant_to_raw(after, g))
        .collect();
    let mut live = vec![true; old_grants.len()];
    let mut fresh: HashMap<&raw::Grant, usize> = HashMap::new();
    let first_live = |live: &[bool], grant: &raw::Grant| {
        (0..old_grants.len()).find(|&i| live[i] && old_grants[i] == *grant)
    };
    for change in batch {
        match change {
            Change::Delete(Target::Grant(grant)) => match first_live(&live, grant) {
                Some(i) => live[i] = false,
                None => {
                    if let Some(count) = fresh.get_mut(grant) {
                        *count = count.saturating_sub(1);
                    }
                }
            },
            Change::Put(Object::Grant(grant)) => {
                let count = fresh.entry(grant).or_default();
                if *count == 0 && first_live(&live, grant).is_none() {
                    *count = 1;
                }
            }
            Change::Delete(Target::Entity {
                kind: EntityKind::User,
                id,
            }) => {
                for (i, grant) in old_grants.iter().enumerate() {
                    if grant.user.as_deref() == Some(id.as_str()) {
                        live[i] = false;
                    }
                }
                fresh.retain(|grant, _| grant.user.as_deref() != Some(id.as_str()));
            }
            _ => {}
        }
    }
    let survivors: Vec<&raw::Grant> = (0..old_grants.len())
        .filter(|&i| live[i])
        .map(|i| &old_grants[i])
        .collect();
    let replayed = survivors.len() <= new_grants.len()
        && survivors.iter().zip(&new_grants).all(|(a, b)| *a == b);
    if replayed {
        let dropped = (0..old_grants.len()).filter(|&i| !live[i]).collect();
        return (dropped, (survivors.len()..new_grants.len()).collect());
    }
    positional_difference(&old_grants, &new_grants)
}

/// `after` as a subsequence of `old` plus new grants, matching each grant to the earliest equal.
fn positional_difference(old: &[raw::Grant], after: &[raw::Grant]) -> (Vec<usize>, Vec<usize>) {
    let mut dropped = Vec::new();
    let mut added = Vec::new();
    let mut next = 0;
    for (i, grant) in after.iter().enumerate() {
        match old[next..].iter().position(|g| g == grant) {
            Some(offset) => {
                dropped.extend(next..next + offset);
                next += offset + 1;
            }
            None => added.push(i),
        }
    }
    dropped.extend(next..old.len());
    (dropped, added)
}
