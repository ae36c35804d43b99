//! The `access` table: `grant_holders` materialised (user, role, scope), so `access(…)` and
//! `inAnyProject` are one index lookup instead of expanding group and team grants per query.
//!
//! It is derived data, kept exact inside the transaction that changes what it derives from: the
//! loader builds it once ([`rebuild`]); a change batch recomputes the rows of every user it can
//! have reached ([`refresh`]) — the users it wrote or deleted, the subjects of user grants it
//! added or removed, and the transitive members (before and after the batch) of groups and teams
//! it wrote or granted to. Renumbered catalog positions reach it through `ON UPDATE CASCADE`.
//! A batch that grants to a group holding most of the directory therefore refreshes most rows;
//! a whole rebuild is never done by a batch (at 100k users it takes minutes with the indexes in
//! place).

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
