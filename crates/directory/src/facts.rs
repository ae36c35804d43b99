//! Per-user derived facts, straight from the model's definitions: the groups a user is in
//! (directly or through subgroups), the teams they belong to, and every (role, scope) that reaches
//! them through a grant to the user, to one of those groups or to one of those teams.
//!
//! Two readers need these row by row without an index: the reference evaluator (the oracle the
//! indexed engine is tested against) and the engine's *overlay*, which re-checks the few users
//! changed since the indexes were built (see [`crate::store`]). [`Subjects`] holds the grants
//! and team listings keyed by subject, built in one pass over the model, so a user's facts cost
//! time proportional to what reaches that user rather than to the whole directory.
//!
//! The live store's writer keeps one [`Subjects`] current batch by batch and hands a copy to
//! every snapshot: every list is keyed by a dense position (row, group, team, organization) in
//! a `Keyed` table of shared copy-on-write leaves, so a copy is a few pointer copies and a
//! grant change copies one leaf of its subject's table. Grants carry a *sequence number*
//! (their position at build time, then increasing for every grant added) and
//! [`Subjects`] keeps the numbers of the model's grants in model order: a grant's position in
//! `model.grants` is a binary search, so removing a grant never scans the grant list.

use std::sync::Arc;

use crate::model::{
    Grant, GroupIdx, Model, OrgIdx, ProjectIdx, RoleIdx, Row, Scope, Subject, TeamIdx,
};
use crate::shared::Chunked;
use roaring::RoaringBitmap;

mod holding;

pub(crate) use holding::StillHeld;

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

/// One grant as its subject's list holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    role: RoleIdx,
    scope: Scope,
    /// The grant's sequence number (see the module docs).
    seq: u64,
}

/// Small lists keyed by a dense position, in shared copy-on-write leaves: cloning copies one
/// pointer, writing one key's list copies that list and one leaf of pointers.
#[derive(Debug, Clone)]
struct Keyed<T> {
    lists: Chunked<Option<Arc<Vec<T>>>>,
}

impl<T> Default for Keyed<T> {
    fn default() -> Self {
        Keyed {
            lists: Chunked::default(),
        }
    }
}

impl<T: Clone> Keyed<T> {
    /// From one list per key (empty lists stored as nothing).
    fn from_lists(lists: Vec<Vec<T>>) -> Keyed<T> {
        Keyed {
            lists: lists
                .into_iter()
                .map(|list| (!list.is_empty()).then(|| Arc::new(list)))
                .collect(),
        }
    }

    fn get(&self, key: usize) -> &[T] {
        match self.lists.get(key) {
            Some(Some(list)) => list,
            _ => &[],
        }
    }

    /// The list of `key` for writing (created, with every key below it, if missing).
    fn get_mut(&mut self, key: usize) -> &mut Vec<T> {
        while self.lists.len() <= key {
            self.lists.push(None);
        }
        let slot = self
            .lists
            .get_mut(key)
            .expect("the table was just extended past `key`");
        Arc::make_mut(slot.get_or_insert_with(Default::default))
    }
}

/// Appends `value` to the list of `key` in a plain per-key builder.
fn push_at<T>(lists: &mut Vec<Vec<T>>, key: usize, value: T) {
    if lists.len() <= key {
        lists.resize_with(key + 1, Vec::new);
    }
    lists[key].push(value);
}

/// Grants and team listings keyed by subject (see the module docs). Cloning is cheap.
#[derive(Debug, Default, Clone)]
pub struct Subjects {
    user_grants: Keyed<Held>,
    group_grants: Keyed<Held>,
    team_grants: Keyed<Held>,
    teams_of_user: Keyed<TeamIdx>,
    /// The rows `teams_of_user` lists any team for: a pass over many users asks only those
    /// (each list is a few dependent loads, cold at 1M users; `facts/holding.rs`).
    listed: Arc<RoaringBitmap>,
    teams_of_group: Keyed<TeamIdx>,
    /// Projects by owning organization, in directory order.
    projects_of_org: Keyed<ProjectIdx>,
    /// The sequence number of every grant of the model, in model order (ascending).
    order: Chunked<u64>,
    /// The next grant's sequence number.
    next_seq: u64,
    /// Grants to groups and teams by role, (scope, subject) one entry per grant: the other
    /// paths a removed grant's users may still hold its role by.
    shared_grants: Keyed<(Scope, Subject)>,
}

impl Subjects {
    /// Indexes the model's grants and team listings by subject.
    pub fn build(model: &Model) -> Subjects {
        let mut users: Vec<Vec<Held>> = Vec::new();
        let mut groups: Vec<Vec<Held>> = Vec::new();
        let mut teams: Vec<Vec<Held>> = Vec::new();
        let mut shared: Vec<Vec<(Scope, Subject)>> = Vec::new();
        for (i, grant) in model.grants.iter().enumerate() {
            let held = Held {
                role: grant.role,
                scope: grant.scope,
                seq: i as u64,
            };
            match grant.subject {
                Subject::User(row) => push_at(&mut users, row as usize, held),
                Subject::Group(g) => push_at(&mut groups, g.index(), held),
                Subject::Team(t) => push_at(&mut teams, t.index(), held),
            }
            if !matches!(grant.subject, Subject::User(_)) {
                push_at(
                    &mut shared,
                    grant.role.index(),
                    (grant.scope, grant.subject),
                );
            }
        }
        let mut teams_of_user: Vec<Vec<TeamIdx>> = Vec::new();
        let mut teams_of_group: Vec<Vec<TeamIdx>> = Vec::new();
        for (i, team) in model.teams.iter().enumerate() {
            let t = TeamIdx(i as u32);
            for &row in &team.users {
                push_at(&mut teams_of_user, row as usize, t);
            }
            for &g in &team.groups {
                push_at(&mut teams_of_group, g.index(), t);
            }
        }
        let mut projects_of_org: Vec<Vec<ProjectIdx>> = Vec::new();
        for (i, project) in model.projects.iter().enumerate() {
            if let Some(org) = project.organization {
                push_at(&mut projects_of_org, org.index(), ProjectIdx(i as u32));
            }
        }
        let count = model.grants.len() as u64;
        Subjects {
            user_grants: Keyed::from_lists(users),
            group_grants: Keyed::from_lists(groups),
            team_grants: Keyed::from_lists(teams),
            listed: Arc::new(
                (0u32..)
                    .zip(&teams_of_user)
                    .filter(|(_, teams)| !teams.is_empty())
                    .map(|(row, _)| row)
                    .collect(),
            ),
            teams_of_user: Keyed::from_lists(teams_of_user),
            teams_of_group: Keyed::from_lists(teams_of_group),
            projects_of_org: Keyed::from_lists(projects_of_org),
            order: (0..count).collect(),
            next_seq: count,
            shared_grants: Keyed::from_lists(shared),
        }
    }

    /// The grant list of `subject`.
    fn held(&self, subject: Subject) -> &[Held] {
        match subject {
            Subject::User(row) => self.user_grants.get(row as usize),
            Subject::Group(g) => self.group_grants.get(g.index()),
            Subject::Team(t) => self.team_grants.get(t.index()),
        }
    }

    /// The grant list of `subject`, for writing.
    fn held_mut(&mut self, subject: Subject) -> &mut Vec<Held> {
        match subject {
            Subject::User(row) => self.user_grants.get_mut(row as usize),
            Subject::Group(g) => self.group_grants.get_mut(g.index()),
            Subject::Team(t) => self.team_grants.get_mut(t.index()),
        }
    }

    /// How many grants of `role` at `scope` `subject` has (equal grants may repeat in a file).
    pub(crate) fn count_grants(&self, subject: Subject, role: RoleIdx, scope: Scope) -> usize {
        self.held(subject)
            .iter()
            .filter(|h| h.role == role && h.scope == scope)
            .count()
    }

    /// Whether `subject` holds any grant directly.
    pub(crate) fn has_grants(&self, subject: Subject) -> bool {
        !self.held(subject).is_empty()
    }

    /// The (role, scope) of every grant made to `subject` itself.
    pub(crate) fn grants_of(
        &self,
        subject: Subject,
    ) -> impl Iterator<Item = (RoleIdx, Scope)> + '_ {
        self.held(subject).iter().map(|h| (h.role, h.scope))
    }

    /// Every grant made to `subject` itself with its sequence number (sorting by the number
    /// puts grants in model order): a delta level's grants come from here, O(their count).
    pub(crate) fn numbered_grants(
        &self,
        subject: Subject,
    ) -> impl Iterator<Item = (u64, Grant)> + '_ {
        self.held(subject).iter().map(move |h| {
            (
                h.seq,
                Grant {
                    role: h.role,
                    subject,
                    scope: h.scope,
                },
            )
        })
    }

    /// Whether user `row` holds `role` by a grant to itself (at `scope`, or at any scope).
    pub(crate) fn user_holds(&self, row: Row, role: RoleIdx, scope: Option<Scope>) -> bool {
        self.user_grants
            .get(row as usize)
            .iter()
            .any(|h| h.role == role && scope.is_none_or(|s| h.scope == s))
    }

    /// The groups and teams holding a grant of `role` at `scope` (one entry per grant).
    pub(crate) fn shared_holders(
        &self,
        role: RoleIdx,
        scope: Scope,
    ) -> impl Iterator<Item = Subject> + '_ {
        self.shared_grants
            .get(role.index())
            .iter()
            .filter(move |(s, _)| *s == scope)
            .map(|&(_, subject)| subject)
    }

    /// The teams listing group `g` directly.
    pub(crate) fn teams_of_group(&self, g: GroupIdx) -> &[TeamIdx] {
        self.teams_of_group.get(g.index())
    }

    /// The teams listing user `row` directly.
    pub(crate) fn teams_of_user(&self, row: Row) -> &[TeamIdx] {
        self.teams_of_user.get(row as usize)
    }

    /// Records `grant`, appended to the model's grants: O(its subject's grants), copying one
    /// leaf of its subject's table.
    pub(crate) fn grant_added(&mut self, grant: &Grant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.push(seq);
        self.held_mut(grant.subject).push(Held {
            role: grant.role,
            scope: grant.scope,
            seq,
        });
        if !matches!(grant.subject, Subject::User(_)) {
            self.shared_grants
                .get_mut(grant.role.index())
                .push((grant.scope, grant.subject));
        }
    }

    /// Forgets the first (in model order) grant equal to `grant` and returns its position in
    /// the model's grants (the caller removes it there), or `None` when there is none. A
    /// binary search over the sequence numbers, never a pass over the grants.
    pub(crate) fn grant_removed(&mut self, grant: &Grant) -> Option<usize> {
        let held = self.held(grant.subject);
        let (at, seq) = held
            .iter()
            .enumerate()
            .filter(|(_, h)| h.role == grant.role && h.scope == grant.scope)
            .map(|(at, h)| (at, h.seq))
            .min_by_key(|&(_, seq)| seq)?;
        self.held_mut(grant.subject).remove(at);
        if !matches!(grant.subject, Subject::User(_)) {
            let entry = (grant.scope, grant.subject);
            let shared = self.shared_grants.get_mut(grant.role.index());
            if let Some(found) = shared.iter().position(|&e| e == entry) {
                shared.swap_remove(found);
            }
        }
        let position = self.position_of(seq)?;
        self.order.remove(position);
        Some(position)
    }

    /// The grants made to user `row`, in model order (for a deletion's cascade).
    pub(crate) fn grants_of_user(&self, row: Row) -> Vec<Grant> {
        let mut held = self.user_grants.get(row as usize).to_vec();
        held.sort_unstable_by_key(|h| h.seq);
        held.iter()
            .map(|h| Grant {
                role: h.role,
                subject: Subject::User(row),
                scope: h.scope,
            })
            .collect()
    }

    /// A project was appended at `project` (owned by `organization`).
    pub(crate) fn project_added(&mut self, project: ProjectIdx, organization: Option<OrgIdx>) {
        if let Some(org) = organization {
            let list = self.projects_of_org.get_mut(org.index());
            if !list.contains(&project) {
                list.push(project);
            }
        }
    }

    /// The position in the model's grants of the grant numbered `seq` (binary search).
    fn position_of(&self, seq: u64) -> Option<usize> {
        let at = self.order.partition_point(|&s| s < seq);
        (self.order.get(at) == Some(&seq)).then_some(at)
    }

    /// Indices into `model.grants` of every grant reaching a user whose facts are `facts`
    /// (made to the user, to one of its transitive groups or to one of its teams), ascending:
    /// O(what reaches the user × log grants), never a pass over all grants.
    pub fn grants_reaching(&self, row: Row, facts: &RowFacts) -> Vec<u32> {
        let subjects = std::iter::once(Subject::User(row))
            .chain(facts.transitive_groups.iter().map(|&g| Subject::Group(g)))
            .chain(facts.teams.iter().map(|&t| Subject::Team(t)));
        let mut seqs: Vec<u64> = subjects
            .flat_map(|s| self.held(s).iter().map(|h| h.seq))
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        seqs.into_iter()
            .filter_map(|seq| self.position_of(seq))
            .map(|at| at as u32)
            .collect()
    }

    /// The projects an organization owns, in directory order.
    pub fn projects_of(&self, org: OrgIdx) -> &[ProjectIdx] {
        self.projects_of_org.get(org.index())
    }

    /// The facts of one user of `model` (the model this was built from, or one that differs from
    /// it only in user records: grants, groups and teams unchanged, rows stable).
    pub fn facts(&self, model: &Model, row: Row) -> RowFacts {
        self.facts_with_groups(model, row, transitive_groups(model, row))
    }

    /// [`Subjects::facts`] for a row whose [`transitive_groups`] are known (the overlay derives
    /// them first: a query's `in:` conjuncts often settle a row without its teams and grants).
    pub fn facts_with_groups(&self, model: &Model, row: Row, groups: Vec<GroupIdx>) -> RowFacts {
        if model.users.get(row as usize).is_none() {
            return RowFacts::default();
        }
        let mut teams: Vec<TeamIdx> = self.teams_of_user(row).to_vec();
        for g in &groups {
            teams.extend_from_slice(self.teams_of_group.get(g.index()));
        }
        teams.sort_unstable();
        teams.dedup();
        let own = self.user_grants.get(row as usize);
        let mut access: Vec<(RoleIdx, Scope)> = own.iter().map(|h| (h.role, h.scope)).collect();
        for g in &groups {
            access.extend(self.grants_of(Subject::Group(*g)));
        }
        for t in &teams {
            access.extend(self.grants_of(Subject::Team(*t)));
        }
        let mut own_roles: Vec<RoleIdx> = own.iter().map(|h| h.role).collect();
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

/// The groups user `row` of `model` is in, directly or through subgroups, sorted (none for a
/// hole): the part of a row's facts its own record and the group forest give.
pub fn transitive_groups(model: &Model, row: Row) -> Vec<GroupIdx> {
    let Some(user) = model.users.get(row as usize) else {
        return Vec::new();
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
    groups
}
