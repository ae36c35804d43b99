//! Which of many users still hold a role somewhere, from the grants by subject.
//!
//! Removing a grant from a group of 10k members asks, for each member that no other grant of
//! the same role and scope reaches, whether it holds the role at another scope. Walking the
//! role's holder bitmaps answers that with one subtraction per scope the role is held at, each
//! walking every container of the members (thousands of projects at 1M users: a removal took
//! 18–21 ms, benches/RESULTS.md `large13`). The members' paths to grants are few and shared:
//! their groups (and those groups' ancestors and teams) are asked once each, memoised, so the
//! cost is one pass over the members' direct memberships and teams. The same pass answers
//! the aggregations' questions (some role at the scope, any role, a role in a project), which
//! walked every role's sets and the organizations' the same way.

use roaring::RoaringBitmap;

use super::{Held, Subjects};
use crate::model::{GroupIdx, Model, RoleIdx, Scope, Subject, TeamIdx};

/// What users still hold once a grant of `role` at `scope` is gone (see
/// [`Subjects::still_held`]): each set is those of the asked rows that hold it.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct StillHeld {
    /// `role`, at any scope.
    pub(crate) role: RoaringBitmap,
    /// Some role at `scope`.
    pub(crate) at_scope: RoaringBitmap,
    /// Some role, anywhere.
    pub(crate) any: RoaringBitmap,
    /// Some role at a scope covering a project.
    pub(crate) in_a_project: RoaringBitmap,
}

/// The questions, one bit each, answered for every grant a path reaches.
const ROLE: u8 = 1;
const AT_SCOPE: u8 = 2;
const ANY: u8 = 4;
const IN_A_PROJECT: u8 = 8;
const ALL: u8 = ROLE | AT_SCOPE | ANY | IN_A_PROJECT;

/// The answers of the grants reachable through each group and team, made once each.
struct Memo<'a, F> {
    subjects: &'a Subjects,
    model: &'a Model,
    role: RoleIdx,
    scope: Scope,
    covers_a_project: F,
    /// Per group: the answers of it, the teams listing it and its ancestors (and theirs).
    chains: Vec<Option<u8>>,
    /// Per team: the answers of its own grants.
    teams: Vec<Option<u8>>,
}

impl<F: Fn(Scope) -> bool> Memo<'_, F> {
    /// The answers of the grants made to `subject` itself.
    fn own(&self, subject: Subject) -> u8 {
        self.answers(self.subjects.held(subject))
    }

    /// The answers of `grants`.
    fn answers(&self, grants: &[Held]) -> u8 {
        let mut bits = 0;
        for held in grants {
            bits |= ANY;
            if held.role == self.role {
                bits |= ROLE;
            }
            if held.scope == self.scope {
                bits |= AT_SCOPE;
            }
            if (self.covers_a_project)(held.scope) {
                bits |= IN_A_PROJECT;
            }
            if bits == ALL {
                break;
            }
        }
        bits
    }

    /// The answers of team `t`'s grants.
    fn team(&mut self, t: TeamIdx) -> u8 {
        if let Some(Some(bits)) = self.teams.get(t.index()) {
            return *bits;
        }
        let bits = self.own(Subject::Team(t));
        if let Some(slot) = self.teams.get_mut(t.index()) {
            *slot = Some(bits);
        }
        bits
    }

    /// The answers of group `g` itself and of the teams listing it.
    fn direct(&mut self, g: GroupIdx) -> u8 {
        let mut bits = self.own(Subject::Group(g));
        for &t in self.subjects.teams_of_group(g) {
            bits |= self.team(t);
        }
        bits
    }

    /// The answers for a member of `g`: through `g` and its ancestors (a member of a group is
    /// a member of its ancestors and of the teams listing any of them).
    fn chain(&mut self, g: GroupIdx) -> u8 {
        // The groups up to the first one answered (or the root), bottom first.
        let mut path: Vec<GroupIdx> = Vec::new();
        let mut above = 0;
        let mut current = Some(g);
        // The forest is acyclic (validated); the bound only guards a corrupt model.
        while let Some(at) = current.filter(|_| path.len() <= self.model.groups.len()) {
            if let Some(Some(bits)) = self.chains.get(at.index()) {
                above = *bits;
                break;
            }
            path.push(at);
            current = self
                .model
                .groups
                .get(at.index())
                .and_then(|group| group.parent);
        }
        for &at in path.iter().rev() {
            above |= self.direct(at);
            if let Some(slot) = self.chains.get_mut(at.index()) {
                *slot = Some(above);
            }
        }
        above
    }
}

impl Subjects {
    /// Of `rows` (users of `model`, the model these grants describe), those that hold `role`
    /// at some scope, some role at `scope`, some role at all, and some role at a scope that
    /// `covers_a_project`: by a grant to themselves, to a team listing them, or to a group they
    /// are in (directly or through subgroups) or a team listing that group. One pass over the
    /// rows' memberships and teams, each group, ancestor and team asked once. `granted` holds
    /// at least the rows with a grant of their own (the index's own-role flag): the others'
    /// empty grant lists are not looked up, nor the team lists of rows no team lists.
    pub(crate) fn still_held(
        &self,
        model: &Model,
        rows: &RoaringBitmap,
        granted: &RoaringBitmap,
        (role, scope): (RoleIdx, Scope),
        covers_a_project: impl Fn(Scope) -> bool,
    ) -> StillHeld {
        let mut memo = Memo {
            subjects: self,
            model,
            role,
            scope,
            covers_a_project,
            chains: vec![None; model.groups.len()],
            teams: vec![None; model.teams.len()],
        };
        let mut held = StillHeld::default();
        for row in rows {
            let Some(user) = model.users.get(row as usize) else {
                continue;
            };
            let mut bits = 0;
            if granted.contains(row) {
                bits |= memo.own(Subject::User(row));
            }
            if self.listed.contains(row) {
                for &t in self.teams_of_user(row) {
                    if bits == ALL {
                        break;
                    }
                    bits |= memo.team(t);
                }
            }
            for membership in user.groups.iter() {
                if bits == ALL {
                    break;
                }
                bits |= memo.chain(membership.group);
            }
            // Ascending: `rows` iterates in order.
            for (bit, set) in [
                (ROLE, &mut held.role),
                (AT_SCOPE, &mut held.at_scope),
                (ANY, &mut held.any),
                (IN_A_PROJECT, &mut held.in_a_project),
            ] {
                if bits & bit != 0 {
                    set.push(row);
                }
            }
        }
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Subjects;
    use crate::generate::{generate, GenOptions};

    /// The memoised answers equal each row's own facts, for every role and a few scopes.
    #[test]
    fn still_held_agrees_with_each_rows_facts() {
        let model = generate(&GenOptions {
            users: 2_000,
            seed: 11,
        });
        let subjects = Subjects::build(&model);
        let rows: RoaringBitmap = (0..model.users.slots() as u32).collect();
        // Some organization's projects "cover a project", the rest not: both answers occur.
        let covers = |scope: Scope| match scope {
            Scope::Global => true,
            Scope::Organization(o) => o.index() % 2 == 0,
            Scope::Project(_) => true,
        };
        let scopes: Vec<Scope> = model.grants.iter().map(|g| g.scope).take(5).collect();
        let mut some = [0u64; 4];
        for role in 0..model.roles.len() {
            let role = RoleIdx(role as u32);
            for &scope in &scopes {
                let held = subjects.still_held(&model, &rows, &rows, (role, scope), covers);
                for row in &rows {
                    let access = subjects.facts(&model, row).access;
                    let expected = [
                        access.iter().any(|&(r, _)| r == role),
                        access.iter().any(|&(_, s)| s == scope),
                        !access.is_empty(),
                        access.iter().any(|&(_, s)| covers(s)),
                    ];
                    let got = [
                        held.role.contains(row),
                        held.at_scope.contains(row),
                        held.any.contains(row),
                        held.in_a_project.contains(row),
                    ];
                    assert_eq!(got, expected, "row {row}, role {role:?}, scope {scope:?}");
                    for (count, got) in some.iter_mut().zip(got) {
                        *count += u64::from(got);
                    }
                }
            }
        }
        assert!(some.iter().all(|&n| n > 0), "every answer occurs: {some:?}");
    }
}
