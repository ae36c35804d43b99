//! Responses with the engine's exact bytes: after the one statement that answers a request, the
//! page's user records (stored as written, `users.doc`) and what projection shows about them
//! (their teams, the grants that reach them) are read back into a small directory holding the
//! cached catalog and just those users, and the engine's own projection renders it. Only the
//! page's users ever leave the database.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, GenericClient};
use serde_json::Value;
use userql_directory::model::Model;
use userql_directory::raw;
use userql_directory::save::to_raw;

use crate::error::Error;

/// A directory of the catalog plus the users `ids` (in that order, rows 0..n), with their team
/// listings and every grant that can reach them.
pub fn page_model(client: &mut Client, catalog: &Model, ids: &[String]) -> Result<Model, Error> {
    let mut users: HashMap<String, (i32, raw::User)> = HashMap::new();
    for stored in stored_users(
        client,
        "SELECT row, id, number, doc FROM users WHERE id = ANY($1::text[])",
        &ids,
    )? {
        users.insert(stored.1.id.clone(), stored);
    }
    let users = ids.iter().filter_map(|id| users.remove(id)).collect();
    Ok(slice(client, catalog, users)?.model)
}

/// Part of a stored directory: the catalog, some users and what references them.
#[derive(Debug)]
pub struct Slice {
    /// The catalog, the users (in the order asked), their team listings, every grant to a
    /// group or team and every grant to one of these users.
    pub model: Model,
    /// The `users.row` of each user of `model`, by model row.
    pub rows: Vec<i32>,
    /// The `grants.position` of each grant of `model`, by model position.
    pub grant_positions: Vec<i32>,
}

/// The users of `rows` (in row order, so their relative order is the store's) as a [`Slice`].
pub fn slice_of_rows(
    client: &mut impl GenericClient,
    catalog: &Model,
    rows: &[i32],
) -> Result<Slice, Error> {
    let users = stored_users(
        client,
        "SELECT row, id, number, doc FROM users WHERE row = ANY($1::int4[]) ORDER BY row",
        &rows,
    )?;
    slice(client, catalog, users)
}

/// Users read back from their stored records, with their rows.
fn stored_users(
    client: &mut impl GenericClient,
    query: &str,
    key: &(dyn ToSql + Sync),
) -> Result<Vec<(i32, raw::User)>, Error> {
    let mut users = Vec::new();
    for row in client.query(query, &[key])? {
        let id: String = row.get(1);
        let number: i64 = row.get(2);
        let doc: String = row.get(3);
        let mut user: raw::User = serde_json::from_str(&doc)
            .map_err(|e| Error::Unstorable(format!("stored record of user {id}: {e}")))?;
        user.number = Some(number);
        users.push((row.get(0), user));
    }
    Ok(users)
}

fn slice(
    client: &mut impl GenericClient,
    catalog: &Model,
    users: Vec<(i32, raw::User)>,
) -> Result<Slice, Error> {
    let mut directory = to_raw(catalog);
    let (rows, users): (Vec<i32>, Vec<raw::User>) = users.into_iter().unzip();
    directory.users = users;
    for row in client.query(
        "SELECT tu.team, u.id FROM team_users tu JOIN users u ON u.row = tu.row \
         WHERE tu.row = ANY($1::int4[]) ORDER BY tu.team, tu.position",
        &[&rows],
    )? {
        let team: i32 = row.get(0);
        if let Some(t) = usize::try_from(team)
            .ok()
            .and_then(|t| directory.teams.get_mut(t))
        {
            t.users.push(row.get(1));
        }
    }
    let name = |items: &[String], i: Option<i32>| {
        i.and_then(|i| usize::try_from(i).ok())
            .and_then(|i| items.get(i).cloned())
    };
    let roles: Vec<String> = catalog.roles.iter().map(|r| r.id.clone()).collect();
    let groups: Vec<String> = catalog.groups.iter().map(|g| g.id.clone()).collect();
    let teams: Vec<String> = catalog.teams.iter().map(|t| t.id.clone()).collect();
    let projects: Vec<String> = catalog.projects.iter().map(|p| p.id.clone()).collect();
    let orgs: Vec<String> = catalog.organizations.iter().map(|o| o.id.clone()).collect();
    let mut grant_positions = Vec::new();
    directory.grants = client
        .query(
            // Two index lookups (`grants_user` answers `IS NULL` too), the users joined to the
            // few user grants only: one `OR` over the table reads every grant (~5 per user).
            "SELECT role, NULL::text, grp, team, project, organization, position FROM grants \
                 WHERE user_row IS NULL \
             UNION ALL SELECT g.role, u.id, g.grp, g.team, g.project, g.organization, g.position \
                 FROM grants g JOIN users u ON u.row = g.user_row \
                 WHERE g.user_row = ANY($1::int4[]) \
             ORDER BY 7",
            &[&rows],
        )?
        .iter()
        .map(|row| {
            grant_positions.push(row.get(6));
            raw::Grant {
                role: name(&roles, Some(row.get(0))).unwrap_or_default(),
                user: row.get(1),
                group: name(&groups, row.get(2)),
                team: name(&teams, row.get(3)),
                project: name(&projects, row.get(4)),
                organization: name(&orgs, row.get(5)),
            }
        })
        .collect();
    let bytes = serde_json::to_vec(&directory).map_err(|e| Error::Io(e.to_string()))?;
    let model = userql_directory::load_json(&bytes)
        .map_err(|e| Error::Unstorable(format!("stored records do not form a directory: {e}")))?;
    Ok(Slice {
        model,
        rows,
        grant_positions,
    })
}

/// Hub's `userPage` for a page answered by PostgreSQL, over its [`page_model`] (indexed here: it
/// holds the page's users only, so the projection's per-user lookups stay that small).
pub fn hub_page(
    model: &Model,
    page: &crate::PgPage,
    selection: Option<&userql_engine::Selection>,
) -> Value {
    let rows: Vec<u32> = model.users.iter().map(|(row, _)| row).collect();
    let snapshot = userql_directory::Snapshot::new(model.clone());
    userql_engine::project::page_json(
        &snapshot,
        &rows,
        page.skip,
        page.top,
        page.total,
        userql_engine::Visibility::hub(page.admin_viewer),
        selection,
    )
}
