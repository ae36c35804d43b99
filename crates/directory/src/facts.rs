//! Per-user derived facts, straight from the model's definitions: the groups a user is in
//! (directly or through subgroups), the teams they belong to, and every (role, scope) that reaches
//! them through a grant to the user, to one of those groups or to one of those teams.
//!
//! Two readers need these row by row without an index: the reference evaluator (the oracle the
//! indexed engine is tested against) and the engine's *overlay*, which re-checks the few users
//! changed since the indexes were built (see [`crate::store`]). [`Subjects`] holds the grants
//! and team listings keyed by subject, built in one pass over the model, so a user's facts cost
//! time proportional to what reaches that user rather than to the whole directory.

// Persistent maps: the store's writer keeps its copy current and every snapshot shares a
// clone of it (O(1)), so the overlay never rebuilds them per version.
use imbl::HashMap;

use crate::model::{GroupIdx, Model, OrgIdx, ProjectIdx, RoleIdx, Row, Scope, Subject, TeamIdx};

/// What reaches one user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowFacts {
    /// Direct groups and all their ancestors, sorted, without duplicates.
    pub transitive_groups: Vec<GroupIdx>,
    /// Teams listing the user or one of `transitive_groups`, sorted.
    pub teams: Vec<TeamIdx>,
    /// Every (role, scope) held through any grant.
    pub access: Vec<(RoleIdx, Scope)>,
    /// Roles granted to the user itself (any scope).
    pub own_roles: Vec<RoleIdx>,
}

/// Grants and team listings keyed by subject: one pass over the model.
#[derive(Debug, Default, Clone)]
pub struct Subjects {
    user_grants: HashMap<Row, Vec<(RoleIdx, Scope)>>,
    group_grants: HashMap<GroupIdx, Vec<(RoleIdx, Scope)>>,
    team_grants: HashMap<TeamIdx, Vec<(RoleIdx, Scope)>>,
    teams_of_user: HashMap<Row, Vec<TeamIdx>>,
    teams_of_group: HashMap<GroupIdx, Vec<TeamIdx>>,
    /// Grant indices (into `model.grants`) by subject, ascending: projection lists a user's
    /// grants in directory order without reading every grant.
    grant_ids: HashMap<Subject, Vec<u32>>,
    /// Projects by owning organization, in directory order.
    projects_of_org: HashMap<OrgIdx, Vec<ProjectIdx>>,
}

impl Subjects {
    /// Indexes the model's grants and team listings by subject.
    pub fn build(model: &Model) -> Subjects {
        let mut subjects = Subjects::default();
        for (i, grant) in model.grants.iter().enumerate() {
            subjects
                .grant_ids
                .entry(grant.subject)
                .or_default()
                .push(i as u32);
            let held = (grant.role, grant.scope);
            match grant.subject {
                Subject::User(row) => subjects.user_grants.entry(row).or_default().push(held),
                Subject::Group(g) => subjects.group_grants.entry(g).or_default().push(held),
                Subject::Team(t) => subjects.team_grants.entry(t).or_default().push(held),
            }
        }
        for (i, team) in model.teams.iter().enumerate() {
            let t = TeamIdx(i as u32);
            for &row in &team.users {
                subjects.teams_of_user.entry(row).or_default().push(t);
            }
            for &g in &team.groups {
                subjects.teams_of_group.entry(g).or_default().push(t);
            }
        }
        for (i, project) in model.projects.iter().enumerate() {
            if let Some(org) = project.organization {
                subjects
                    .projects_of_org
                    .entry(org)
                    .or_default()
                    .push(ProjectIdx(i as u32));
            }
        }
        subjects
    }

    /// The (role, scope) list of a grant's subject, for the writer's incremental updates.
    fn held_by(&mut self, subject: Subject) -> &mut Vec<(RoleIdx, Scope)> {
        match subject {
            Subject::User(row) => self.user_grants.entry(row).or_default(),
            Subject::Group(g) => self.group_grants.entry(g).or_default(),
            Subject::Team(t) => self.team_grants.entry(t).or_default(),
        }
    }

    /// How many grants of `role` at `scope` `subject` has (equal grants may repeat in a file).
    pub(crate) fn count_grants(&self, subject: Subject, role: RoleIdx, scope: Scope) -> usize {
        self.grants_of(subject)
            .iter()
            .filter(|&&h| h == (role, scope))
            .count()
    }

    /// Whether `subject` holds any grant directly.
    pub(crate) fn has_grants(&self, subject: Subject) -> bool {
        !self.grants_of(subject).is_empty()
    }

    /// The (role, scope) of every grant made to `subject` itself.
    pub(crate) fn grants_of(&self, subject: Subject) -> &[(RoleIdx, Scope)] {
        let held = match subject {
            Subject::User(row) => self.user_grants.get(&row),
            Subject::Group(g) => self.group_grants.get(&g),
            Subject::Team(t) => self.team_grants.get(&t),
        };
        held.map_or(&[], Vec::as_slice)
    }

    /// The teams listing user `row` directly.
    pub(crate) fn teams_of_user(&self, row: Row) -> &[TeamIdx] {
        self.teams_of_user.get(&row).map_or(&[], Vec::as_slice)
    }

    /// Records one more grant of `role` at `scope` to `subject` (the live store's writer keeps
    /// its copy current this way; [`Subjects::grants_reaching`] is not maintained by it).
    pub(crate) fn grant_added(&mut self, subject: Subject, role: RoleIdx, scope: Scope) {
        self.held_by(subject).push((role, scope));
    }

    /// Forgets one grant of `role` at `scope` to `subject` (one of equal grants, if several).
    pub(crate) fn grant_removed(&mut self, subject: Subject, role: RoleIdx, scope: Scope) {
        let held = self.held_by(subject);
        if let Some(at) = held.iter().position(|&h| h == (role, scope)) {
            held.swap_remove(at);
        }
    }

    /// Indices into `model.grants` of every grant reaching a user whose facts are `facts`
    /// (made to the user, to one of its transitive groups or to one of its teams), ascending:
    /// O(what reaches the user), never a pass over all grants.
    pub fn grants_reaching(&self, row: Row, facts: &RowFacts) -> Vec<u32> {
        let subjects = std::iter::once(Subject::User(row))
            .chain(facts.transitive_groups.iter().map(|&g| Subject::Group(g)))
            .chain(facts.teams.iter().map(|&t| Subject::Team(t)));
        let mut ids: Vec<u32> = subjects
            .filter_map(|s| self.grant_ids.get(&s))
            .flatten()
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The projects an organization owns, in directory order.
    pub fn projects_of(&self, org: OrgIdx) -> &[ProjectIdx] {
        self.projects_of_org.get(&org).map_or(&[], Vec::as_slice)
    }

    /// The facts of one user of `model` (the model this was built from, or one that differs from
    /// it only in user records: grants, groups and teams unchanged, rows stable).
    pub fn facts(&self, model: &Model, row: Row) -> RowFacts {
        let Some(user) = model.users.get(row as usize) else {
            return RowFacts::default();
        };
        let mut groups: Vec<GroupIdx> = Vec::new();
        for membership in &user.groups {
            let mut current = Some(membership.group);
            // The forest is acyclic (validated); the bound only guards a corrupt model.
            let mut steps = 0;
            while let Some(g) = current {
                if groups.contains(&g) || steps > model.groups.len() {
                    break;
                }
                groups.push(g);
                current = model.groups.get(g.index()).and_then(|group| group.parent);
                steps += 1;
            }
        }
        groups.sort_unstable();
        groups.dedup();
        let mut teams: Vec<TeamIdx> = self.teams_of_user.get(&row).cloned().unwrap_or_default();
        for g in &groups {
            if let Some(ts) = self.teams_of_group.get(g) {
                teams.extend_from_slice(ts);
            }
        }
        teams.sort_unstable();
        teams.dedup();
        let own: &[(RoleIdx, Scope)] = self.user_grants.get(&row).map(Vec::as_slice).unwrap_or(&[]);
        let mut access: Vec<(RoleIdx, Scope)> = own.to_vec();
        for g in &groups {
            if let Some(held) = self.group_grants.get(g) {
                access.extend_from_slice(held);
            }
        }
        for t in &teams {
            if let Some(held) = self.team_grants.get(t) {
                access.extend_from_slice(held);
            }
        }
        let mut own_roles: Vec<RoleIdx> = own.iter().map(|(role, _)| *role).collect();
        own_roles.sort_unstable();
        own_roles.dedup();
        RowFacts {
            transitive_groups: groups,
            teams,
            access,
            own_roles,
        }
    }
}
