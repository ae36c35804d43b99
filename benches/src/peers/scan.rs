//! The linear-scan peer: the engine's reference evaluator over `Vec<User>`, with its per-user
//! [`Facts`] prebuilt once.
//!
//! Two deviations from calling `reference::evaluate` directly, both about *setup*, not about the
//! per-row semantics:
//! - `Facts::new` is quadratic (every user × every team, every user × every grant): hours at
//!   1M users and ~5M grants. [`build_facts`] computes the same three tables in linear time
//!   from their definitions (transitive groups from ancestor chains, team members from the
//!   teams' users and group subtrees, access from the grants of the user, its groups and teams).
//! - `has: ownRole` / `ownRole:` in the reference walk every grant for every row (again
//!   users × grants); here they read a per-user list of directly granted roles. Every other
//!   predicate is answered by `reference::pred_matches`.
//!
//! The first page is a top-k selection by (folded login, id) over the matches — what a scan
//! would do — instead of the reference's full comparator sort, which allocates per comparison.

use std::collections::HashSet;
use std::sync::Arc;

use userql_directory::index::Flag;
use userql_directory::model::{GroupIdx, Model, RoleIdx, Row, Scope, Subject, TeamIdx};
use userql_directory::text::fold;
use userql_directory::Snapshot;
use userql_engine::bound::{Expr, Pred};
use userql_engine::reference::{self, Facts};
use userql_engine::Engine;

use super::userql::{query_error, UserqlPeer};
use super::{Peer, PAGE_SIZE};
use crate::error::BenchError;
use crate::workload::Case;

/// The scan peer. Queries are bound against the userql snapshot (entity names → indices only);
/// evaluation never touches an index.
pub struct ScanPeer {
    engine: Engine,
    snapshot: Arc<Snapshot>,
    facts: Facts,
    /// For each row, the roles granted to the user itself (any scope), sorted and deduplicated.
    own_roles: Vec<Vec<RoleIdx>>,
}

impl ScanPeer {
    /// Prebuilds the facts (the timed "build" of this peer).
    pub fn build(snapshot: Arc<Snapshot>) -> ScanPeer {
        let (facts, own_roles) = build_facts(&snapshot.model);
        ScanPeer {
            engine: Engine::default(),
            snapshot,
            facts,
            own_roles,
        }
    }

    fn evaluate(&self, case: &Case) -> Result<Vec<Row>, BenchError> {
        let request = UserqlPeer::request(&self.engine, case)?;
        let expr = self
            .engine
            .bind(&self.snapshot, &request)
            .map_err(|e| query_error(case, &e))?;
        let model = &self.snapshot.model;
        Ok((0..model.users.len() as Row)
            .filter(|&row| self.matches(row, &expr))
            .collect())
    }

    fn matches(&self, row: Row, expr: &Expr) -> bool {
        match expr {
            Expr::All => true,
            Expr::Nothing => false,
            Expr::Pred(Pred::Flag(Flag::HasOwnRole)) => !self.own_roles[row as usize].is_empty(),
            Expr::Pred(Pred::OwnRole(role)) => {
                self.own_roles[row as usize].binary_search(role).is_ok()
            }
            Expr::Pred(pred) => {
                reference::pred_matches(&self.snapshot.model, &self.facts, row, pred)
            }
            Expr::Not(operand) => !self.matches(row, operand),
            Expr::And(operands) => operands.iter().all(|e| self.matches(row, e)),
            Expr::Or(operands) => operands.iter().any(|e| self.matches(row, e)),
        }
    }
}

impl Peer for ScanPeer {
    fn name(&self) -> &'static str {
        "scan"
    }

    fn count(&mut self, case: &Case) -> Result<u64, BenchError> {
        Ok(self.evaluate(case)?.len() as u64)
    }

    fn page(&mut self, case: &Case) -> Result<Vec<Row>, BenchError> {
        let rows = self.evaluate(case)?;
        let model = &self.snapshot.model;
        let mut keyed: Vec<(String, &str, Row)> = rows
            .into_iter()
            .map(|row| {
                let user = &model.users[row as usize];
                (fold(&user.login), user.id.as_str(), row)
            })
            .collect();
        if keyed.len() > PAGE_SIZE {
            keyed.select_nth_unstable(PAGE_SIZE - 1);
            keyed.truncate(PAGE_SIZE);
        }
        keyed.sort_unstable();
        Ok(keyed.into_iter().map(|(_, _, row)| row).collect())
    }
}

/// The reference [`Facts`] plus each user's own roles, in time linear in users + grants +
/// memberships (see the module docs for why not `Facts::new`).
pub fn build_facts(model: &Model) -> (Facts, Vec<Vec<RoleIdx>>) {
    let users = model.users.len();
    let groups = model.groups.len();

    // Ancestor-or-self chains per group; the forest is acyclic (validated), the length check
    // only guards against a corrupt model.
    let chains: Vec<Vec<GroupIdx>> = (0..groups)
        .map(|g| {
            let mut chain = vec![GroupIdx(g as u32)];
            let mut cur = model.groups[g].parent;
            while let Some(parent) = cur {
                if chain.len() > groups {
                    break;
                }
                chain.push(parent);
                cur = model.groups[parent.index()].parent;
            }
            chain
        })
        .collect();
    let transitive_groups: Vec<HashSet<GroupIdx>> = model
        .users
        .iter()
        .map(|u| {
            u.groups
                .iter()
                .flat_map(|m| chains[m.group.index()].iter().copied())
                .collect()
        })
        .collect();

    // Transitive members per group, through the inverse of the chains.
    let mut transitive_members: Vec<Vec<Row>> = vec![Vec::new(); groups];
    for (row, set) in transitive_groups.iter().enumerate() {
        for g in set {
            transitive_members[g.index()].push(row as Row);
        }
    }
    let mut teams: Vec<HashSet<TeamIdx>> = vec![HashSet::new(); users];
    for (t, team) in model.teams.iter().enumerate() {
        let members = team.users.iter().copied().chain(
            team.groups
                .iter()
                .flat_map(|g| transitive_members[g.index()].iter().copied()),
        );
        for row in members {
            teams[row as usize].insert(TeamIdx(t as u32));
        }
    }

    let mut own: Vec<Vec<(RoleIdx, Scope)>> = vec![Vec::new(); users];
    let mut by_group: Vec<Vec<(RoleIdx, Scope)>> = vec![Vec::new(); groups];
    let mut by_team: Vec<Vec<(RoleIdx, Scope)>> = vec![Vec::new(); model.teams.len()];
    for grant in &model.grants {
        let entry = (grant.role, grant.scope);
        match grant.subject {
            Subject::User(row) => own[row as usize].push(entry),
            Subject::Group(g) => by_group[g.index()].push(entry),
            Subject::Team(t) => by_team[t.index()].push(entry),
        }
    }
    let scope_key = |scope: &Scope| match scope {
        Scope::Global => (0u8, 0u32),
        Scope::Organization(o) => (1, o.0),
        Scope::Project(p) => (2, p.0),
    };
    let access: Vec<Vec<(RoleIdx, Scope)>> = (0..users)
        .map(|row| {
            let mut held: Vec<(RoleIdx, Scope)> = own[row].clone();
            for g in &transitive_groups[row] {
                held.extend_from_slice(&by_group[g.index()]);
            }
            for t in &teams[row] {
                held.extend_from_slice(&by_team[t.index()]);
            }
            held.sort_unstable_by_key(|(role, scope)| (*role, scope_key(scope)));
            held.dedup();
            held.shrink_to_fit();
            held
        })
        .collect();
    let own_roles = own
        .into_iter()
        .map(|grants| {
            let mut roles: Vec<RoleIdx> = grants.into_iter().map(|(role, _)| role).collect();
            roles.sort_unstable();
            roles.dedup();
            roles
        })
        .collect();
    (
        Facts {
            transitive_groups,
            teams,
            access,
        },
        own_roles,
    )
}
