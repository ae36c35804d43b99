//! Group memberships changed in place: a user joining or leaving a group flips its bit in the
//! group's direct members, in the transitive members of the group and its ancestors, and in the
//! members of the teams listing those groups (each set copied on write, of a large one only the
//! 65,536-row block holding the user: [`super::block_bitmap::BlockBitmap::set`]), then
//! re-derives that one user's access in the sets the changed groups' and teams' grants name
//! ([`AccessIndex::user_changed`]) — so the row stays clean instead of joining the overlay.

use std::sync::Arc;

use super::access::AccessIndex;
use super::structure::{grow, SharedSets};
use super::Indexes;
use crate::facts::Subjects;
use crate::model::{GroupIdx, Model, RoleIdx, Row, Scope, Subject, TeamIdx};

/// Sets or clears `row` in set `at` of `sets` (grown when a group or team is new); true when
/// the bit changed. A set already right is not looked up for writing (that copies its leaf).
fn set_bit(sets: &mut SharedSets, at: usize, row: Row, on: bool) -> bool {
    if sets.get(at).is_some_and(|set| set.contains(row) == on) || (!on && sets.len() <= at) {
        return false;
    }
    grow(sets, at + 1);
    sets.get_mut(at).is_some_and(|set| set.set(row, on))
}

/// `group` and its ancestors in `model`, nearest first (bounded: the forest is acyclic).
fn chain(model: &Model, group: GroupIdx) -> Vec<GroupIdx> {
    let mut chain = vec![group];
    let mut next = model.groups.get(group.index()).and_then(|g| g.parent);
    while let Some(parent) = next {
        if chain.len() > model.groups.len() || chain.contains(&parent) {
            break;
        }
        chain.push(parent);
        next = model.groups.get(parent.index()).and_then(|g| g.parent);
    }
    chain
}

impl Indexes {
    /// User `row` joined or left `group` (`model` and `subjects` are the final ones): its bits
    /// in the group's direct members, the transitive members of the group and its ancestors
    /// and the teams listing them follow its final memberships, and its access is re-derived
    /// from its facts (the has-group flag is the caller's: it follows even when the structure
    /// is rebuilt instead). O(depth + those teams + the grants to them).
    pub(crate) fn membership_changed(
        &mut self,
        row: Row,
        group: GroupIdx,
        model: &Model,
        subjects: &Subjects,
    ) {
        let facts = subjects.facts(model, row);
        let user = model.users.get(row as usize);
        let direct = user.is_some_and(|u| u.groups.iter().any(|m| m.group == group));
        let structure = Arc::make_mut(&mut self.structure);
        set_bit(&mut structure.group_direct, group.index(), row, direct);
        // The (role, scope) of every grant to a group or team that gained or lost the row.
        let mut changed: Vec<(RoleIdx, Scope)> = Vec::new();
        let mut teams: Vec<TeamIdx> = Vec::new();
        for g in chain(model, group) {
            let member = facts.transitive_groups.binary_search(&g).is_ok();
            if set_bit(&mut structure.group_transitive, g.index(), row, member) {
                changed.extend(subjects.grants_of(Subject::Group(g)));
            }
            teams.extend(subjects.teams_of_group(g));
        }
        teams.sort_unstable();
        teams.dedup();
        for t in teams {
            let member = facts.teams.binary_search(&t).is_ok();
            if set_bit(&mut structure.team_members, t.index(), row, member) {
                changed.extend(subjects.grants_of(Subject::Team(t)));
            }
        }
        if !changed.is_empty() {
            let access: &mut AccessIndex = Arc::make_mut(&mut self.access);
            access.user_changed(row, &changed, &facts);
        }
    }
}
