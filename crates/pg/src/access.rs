//! The `access` table: `grant_holders` materialised (user, role, scope), so `access(…)` and
//! `inAnyProject` are one index lookup instead of expanding group and team grants per query.
//!
//! It is derived data, kept exact inside the transaction that changes what it derives from: the
//! loader builds it once; a change batch refreshes the rows of the users it wrote when only
//! user-level facts changed (records, memberships, grants to users), and rebuilds it whole when
//! a grant to a group or team, the group forest, or a team's listing changed — those can reach
//! any number of users, and a rebuild is one `INSERT … SELECT DISTINCT` over the view.

use postgres::GenericClient;

use crate::error::Error;

/// Recomputes the whole table.
pub fn rebuild(client: &mut impl GenericClient) -> Result<(), Error> {
    client.batch_execute(
        "DELETE FROM access;
         INSERT INTO access (row, role, project, organization)
             SELECT DISTINCT h.row, h.role, h.project, h.organization FROM grant_holders h;",
    )?;
    Ok(())
}

/// Recomputes the rows of the users `rows` (deleted users simply lose theirs).
pub fn refresh(client: &mut impl GenericClient, rows: &[i32]) -> Result<(), Error> {
    if rows.is_empty() {
        return Ok(());
    }
    client.execute("DELETE FROM access WHERE row = ANY($1::int4[])", &[&rows])?;
    client.execute(
        "INSERT INTO access (row, role, project, organization)
             SELECT DISTINCT h.row, h.role, h.project, h.organization
             FROM grant_holders h WHERE h.row = ANY($1::int4[])",
        &[&rows],
    )?;
    Ok(())
}
