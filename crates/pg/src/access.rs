//! The `access` table: `grant_holders` materialised (user, role, scope), so `access(…)` and
//! `inAnyProject` are one index lookup instead of expanding group and team grants per query.
//!
//! It is derived data, kept exact inside the transaction that changes what it derives from: the
//! loader writes it with `COPY` from the model ([`Holdings`], the view's definition computed per
//! user in Rust: at 1M users the view's `SELECT DISTINCT` over every group grant expanded to its
//! members is the slowest step of a load); a change batch recomputes the rows of every user it can
//! have reached ([`refresh`]) — the users it wrote or deleted, the subjects of user grants it
//! added or removed, and the transitive members (before and after the batch) of groups and teams
//! it wrote or granted to. Renumbered catalog positions reach it through `ON UPDATE CASCADE`.
//! A batch that grants to a group holding most of the directory therefore refreshes most rows;
//! a whole rebuild is never done by a batch (at 100k users it takes minutes with the indexes in
//! place).

use std::collections::HashMap;

use postgres::GenericClient;
use userql_directory::model::{GroupIdx, Model, Row, Scope, Subject, User};

use crate::error::Error;

/// One `access` row without its user: (role, project, organization), positions in the model.
pub type Held = (u32, Option<u32>, Option<u32>);

/// `grant_holders` per user, from a model: for user `u`, the grants to `u`, to every group
/// `u` is a direct member of and their ancestors (the closure joined with memberships, read
/// from the user's side), and to every team listing `u` or one of those groups.
#[derive(Debug)]
pub struct Holdings<'m> {
    model: &'m Model,
    /// Each group's ancestors, itself included.
    ancestors: Vec<Vec<u32>>,
    by_user: HashMap<Row, Vec<Held>>,
    by_group: Vec<Vec<Held>>,
    by_team: Vec<Vec<Held>>,
    /// Teams listing each group.
    teams_of_group: Vec<Vec<u32>>,
    /// Teams listing each user.
    teams_of_user: HashMap<Row, Vec<u32>>,
}

impl<'m> Holdings<'m> {
    /// Indexes the grants and team listings of `model`.
    pub fn new(model: &'m Model) -> Self {
        let groups = model.groups.len();
        let mut holdings = Holdings {
            model,
            ancestors: (0..groups)
                .map(|g| {
                    ancestors(model, GroupIdx(g as u32))
                        .into_iter()
                        .map(|a| a.index() as u32)
                        .collect()
                })
                .collect(),
            by_user: HashMap::new(),
            by_group: vec![Vec::new(); groups],
            by_team: vec![Vec::new(); model.teams.len()],
            teams_of_group: vec![Vec::new(); groups],
            teams_of_user: HashMap::new(),
        };
        for grant in model.grants.iter() {
            let held = (
                grant.role.index() as u32,
                match grant.scope {
                    Scope::Project(p) => Some(p.index() as u32),
                    _ => None,
                },
                match grant.scope {
                    Scope::Organization(o) => Some(o.index() as u32),
                    _ => None,
                },
            );
            match grant.subject {
                Subject::User(row) => holdings.by_user.entry(row).or_default().push(held),
                Subject::Group(g) => holdings.by_group[g.index()].push(held),
                Subject::Team(t) => holdings.by_team[t.index()].push(held),
            }
        }
        for (t, team) in model.teams.iter().enumerate() {
            for g in &team.groups {
                holdings.teams_of_group[g.index()].push(t as u32);
            }
            for row in &team.users {
                holdings
                    .teams_of_user
                    .entry(*row)
                    .or_default()
                    .push(t as u32);
            }
        }
        holdings
    }

    /// What `user` (at `row`) holds by any path, sorted, without duplicates.
    pub fn of(&self, row: Row, user: &User) -> Vec<Held> {
        let mut held: Vec<Held> = self.by_user.get(&row).cloned().unwrap_or_default();
        let mut groups: Vec<u32> = user
            .groups
            .iter()
            .filter(|m| m.group.index() < self.model.groups.len())
            .flat_map(|m| self.ancestors[m.group.index()].iter().copied())
            .collect();
        groups.sort_unstable();
        groups.dedup();
        let mut teams: Vec<u32> = self.teams_of_user.get(&row).cloned().unwrap_or_default();
        for &g in &groups {
            held.extend_from_slice(&self.by_group[g as usize]);
            teams.extend_from_slice(&self.teams_of_group[g as usize]);
        }
        teams.sort_unstable();
        teams.dedup();
        for t in teams {
            held.extend_from_slice(&self.by_team[t as usize]);
        }
        held.sort_unstable();
        held.dedup();
        held
    }
}

/// Recomputes the rows of the users `rows` (deleted users simply lose theirs), writing only the
/// difference: a grant to a group of 30,000 users adds one row each instead of deleting and
/// re-inserting all ~40 rows of each member (and their five index entries).
pub fn refresh(client: &mut impl GenericClient, rows: &[i32]) -> Result<(), Error> {
    if rows.is_empty() {
        return Ok(());
    }
    // One statement, one snapshot: the rows deleted (held no more) and the rows inserted (held
    // newly) are disjoint, so the unique key never sees both.
    client.execute(
        "WITH fresh AS MATERIALIZED (
             SELECT DISTINCT h.row, h.role, h.project, h.organization
             FROM grant_holders h WHERE h.row = ANY($1::int4[])),
         gone AS (
             DELETE FROM access a WHERE a.row = ANY($1::int4[]) AND NOT EXISTS (
                 SELECT 1 FROM fresh f WHERE f.row = a.row AND f.role = a.role
                     AND f.project IS NOT DISTINCT FROM a.project
                     AND f.organization IS NOT DISTINCT FROM a.organization))
         INSERT INTO access (row, role, project, organization)
         SELECT f.row, f.role, f.project, f.organization FROM fresh f
         WHERE NOT EXISTS (
             SELECT 1 FROM access a WHERE a.row = f.row AND a.role = f.role
                 AND a.project IS NOT DISTINCT FROM f.project
                 AND a.organization IS NOT DISTINCT FROM f.organization)",
        &[&rows],
    )?;
    Ok(())
}

/// A group and all its ancestors (the forest is acyclic; the bound guards a corrupt model).
pub fn ancestors(m: &Model, group: GroupIdx) -> Vec<GroupIdx> {
    let mut out = Vec::new();
    let mut current = Some(group);
    while let Some(g) = current {
        if out.contains(&g) || out.len() > m.groups.len() {
            break;
        }
        out.push(g);
        current = m.groups.get(g.index()).and_then(|x| x.parent);
    }
    out
}
