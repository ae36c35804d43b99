//! Membership structure: groups (direct and transitive), the group forest, teams, organizations,
//! enterprise groups, and services (licenses, origin).
//!
//! `group:`, `in:`, `team:` and `organization:` filters, and every grant to a group or team, ask
//! "which users belong to X" for a handful of entities per query, so each entity gets its member
//! bitmap precomputed. Transitive group members are built bottom-up over the forest (deepest
//! groups first, each OR-ed into its parent), so the cost is one bitmap union per group rather
//! than one walk per user. Ancestor and descendant lists are flat ragged arrays.
//!
//! The group and team member sets are [`BlockBitmap`]s: a membership flips one user's bit in
//! the sets of a group's chain and of the teams listing it, and a large set (20k–300k members
//! at 1M users) is copied on write per 65,536-row block, not whole.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::block_bitmap::BlockBitmap;
use super::column::{bitmap_bytes, Ragged, RowSetBuilder};
use crate::model::{GroupIdx, Model, Row, TeamIdx};
use crate::shared::Chunked;

/// What moving groups changed in the structure (see [`Structure::groups_moved`]).
#[derive(Debug, Default)]
pub(crate) struct Moved {
    /// Users whose transitive groups changed.
    pub(crate) users: RoaringBitmap,
    /// Groups whose transitive members were recomputed (the moved groups' old and new
    /// ancestors).
    pub(crate) groups: Vec<GroupIdx>,
    /// Teams listing one of those groups (members recomputed).
    pub(crate) teams: Vec<TeamIdx>,
}

/// Member sets a live change rewrites one row at a time: every set is shared copy-on-write
/// (per block when large, [`BlockBitmap`]), and so is the list, in [`Chunked`] leaves. A
/// membership writes the sets of a group's chain; with the list in one `Vec` it copied the
/// pointers of every group and team (an atomic increment each, mostly a cache miss: a third of
/// a membership's time at 1M users, perf in benches/RESULTS.md `acc8`), now one leaf of
/// pointers per set written.
pub(crate) type SharedSets = Chunked<BlockBitmap>;

/// Shares each bitmap of a built list (a large one cut into blocks).
fn shared(sets: Vec<RoaringBitmap>) -> SharedSets {
    sets.into_iter().map(BlockBitmap::from).collect()
}

/// Grows `sets` with empty sets to `len`.
pub(crate) fn grow(sets: &mut SharedSets, len: usize) {
    while sets.len() < len {
        sets.push(BlockBitmap::default());
    }
}

/// Per-entity member bitmaps and the group forest, each list shared between versions (a live
/// change replaces one list without copying the others).
#[derive(Debug, Default, Clone)]
pub(crate) struct Structure {
    pub(crate) group_direct: SharedSets,
    pub(crate) group_transitive: SharedSets,
    pub(crate) group_ancestors: Arc<Ragged<GroupIdx>>,
    pub(crate) group_descendants: Arc<Ragged<GroupIdx>>,
    pub(crate) team_members: SharedSets,
    pub(crate) org_members: Arc<Vec<RoaringBitmap>>,
    pub(crate) enterprise_users: Arc<Vec<RoaringBitmap>>,
    pub(crate) licenses: Arc<Vec<RoaringBitmap>>,
    pub(crate) origin_services: Arc<Vec<RoaringBitmap>>,
}

impl Structure {
    pub(crate) fn build(model: &Model) -> Structure {
        let group_count = model.groups.len();
        let builders = |count: usize| -> Vec<RowSetBuilder> {
            (0..count).map(|_| RowSetBuilder::default()).collect()
        };
        let mut group_direct = builders(group_count);
        let mut org_members = builders(model.organizations.len());
        let mut enterprise_users = builders(group_count);
        let mut licenses = builders(model.services.len());
        let mut origin_services = builders(model.services.len());
        for (row, user) in model.users.iter() {
            // The builder ignores a row equal to the last one: a duplicated reference is harmless.
            for membership in &user.groups {
                add(&mut group_direct, membership.group.index(), row);
            }
            for org in &user.organizations {
                add(&mut org_members, org.index(), row);
            }
            if let Some(group) = user.enterprise_group {
                add(&mut enterprise_users, group.index(), row);
            }
            for service in &user.licenses {
                add(&mut licenses, service.index(), row);
            }
            if let Some(service) = user.origin_service {
                add(&mut origin_services, service.index(), row);
            }
        }

        let finish = |sets: Vec<RowSetBuilder>| -> Vec<RoaringBitmap> {
            sets.into_iter().map(RowSetBuilder::finish).collect()
        };
        let group_direct = finish(group_direct);
        let org_members = finish(org_members);
        let enterprise_users = finish(enterprise_users);
        let licenses = finish(licenses);
        let origin_services = finish(origin_services);

        let ancestors = ancestor_chains(model);
        let descendants = descendant_lists(&ancestors);

        // Deepest first: when a group is OR-ed into its parent, all its descendants are in it.
        let mut group_transitive = group_direct.clone();
        let mut by_depth: Vec<usize> = (0..group_count).collect();
        by_depth.sort_by_key(|&g| std::cmp::Reverse(ancestors[g].len()));
        for g in by_depth {
            if let Some(parent) = model.groups[g].parent {
                if parent.index() < group_count && parent.index() != g {
                    let members = std::mem::take(&mut group_transitive[g]);
                    group_transitive[parent.index()] |= &members;
                    group_transitive[g] = members;
                }
            }
        }

        let team_members = model
            .teams
            .iter()
            .map(|team| {
                let mut members = RoaringBitmap::new();
                for &row in &team.users {
                    members.insert(row);
                }
                for group in &team.groups {
                    if let Some(set) = group_transitive.get(group.index()) {
                        members |= set;
                    }
                }
                members
            })
            .collect();

        Structure {
            group_direct: shared(group_direct),
            group_transitive: shared(group_transitive),
            group_ancestors: Arc::new(Ragged::from_lists(ancestors)),
            group_descendants: Arc::new(Ragged::from_lists(descendants)),
            team_members: shared(team_members),
            org_members: Arc::new(org_members),
            enterprise_users: Arc::new(enterprise_users),
            licenses: Arc::new(licenses),
            origin_services: Arc::new(origin_services),
        }
    }

    /// Groups were added (without members yet): only the forest's ancestor and descendant
    /// lists change, O(groups × depth); no member bitmap is touched.
    pub(crate) fn groups_added(&mut self, model: &Model) {
        let ancestors = ancestor_chains(model);
        let descendants = descendant_lists(&ancestors);
        self.group_ancestors = Arc::new(Ragged::from_lists(ancestors));
        self.group_descendants = Arc::new(Ragged::from_lists(descendants));
    }

    /// Groups in `moved` changed parent (the model is the final one): the forest's lists are
    /// recomputed (O(groups × depth)), then the transitive members of every group whose subtree
    /// gained or lost a moved group (the old and new ancestors, deepest first: each is its
    /// direct members and its children's transitive members) and the members of the teams
    /// listing such a group. No user record is read and no other bitmap is touched. Returns the
    /// users whose transitive groups changed (only members of the moved subtrees) and the
    /// groups and teams whose member sets were recomputed.
    pub(crate) fn groups_moved(&mut self, model: &Model, moved: &[GroupIdx]) -> Moved {
        let group_count = model.groups.len();
        let mut affected: Vec<GroupIdx> = Vec::new();
        for &g in moved {
            affected.extend_from_slice(self.group_ancestors.get(g.index()));
        }
        let ancestors = ancestor_chains(model);
        for &g in moved {
            if let Some(chain) = ancestors.get(g.index()) {
                affected.extend_from_slice(chain);
            }
        }
        affected.retain(|g| g.index() < group_count);
        affected.sort_unstable();
        affected.dedup();
        // Deepest first, by the new forest: a group's children are recomputed before it.
        affected.sort_by_key(|g| std::cmp::Reverse(ancestors[g.index()].len()));
        let mut children: Vec<Vec<GroupIdx>> = vec![Vec::new(); group_count];
        for (g, group) in model.groups.iter().enumerate() {
            if let Some(parent) = group.parent.filter(|p| p.index() < group_count) {
                children[parent.index()].push(GroupIdx(g as u32));
            }
        }
        let descendants = descendant_lists(&ancestors);
        self.group_ancestors = Arc::new(Ragged::from_lists(ancestors));
        self.group_descendants = Arc::new(Ragged::from_lists(descendants));

        grow(&mut self.group_direct, group_count);
        let transitive = &mut self.group_transitive;
        grow(transitive, group_count);
        let mut users = RoaringBitmap::new();
        for &g in &affected {
            let mut members = self.group_direct[g.index()].to_bitmap();
            for child in &children[g.index()] {
                transitive[child.index()].or_into(&mut members);
            }
            let before = transitive[g.index()].to_bitmap();
            if before != members {
                users |= before ^ &members;
                transitive[g.index()] = BlockBitmap::from(members);
            }
        }

        let mut teams: Vec<TeamIdx> = Vec::new();
        for (t, team) in model.teams.iter().enumerate() {
            if team.groups.iter().any(|g| affected.contains(g)) {
                teams.push(TeamIdx(t as u32));
            }
        }
        if !teams.is_empty() {
            let team_members = &mut self.team_members;
            for &t in &teams {
                let Some(team) = model.teams.get(t.index()) else {
                    continue;
                };
                let mut members: RoaringBitmap = team.users.iter().copied().collect();
                for group in &team.groups {
                    if let Some(set) = transitive.get(group.index()) {
                        set.or_into(&mut members);
                    }
                }
                if let Some(slot) = team_members.get_mut(t.index()) {
                    *slot = BlockBitmap::from(members);
                }
            }
        }
        Moved {
            users,
            groups: affected,
            teams,
        }
    }

    /// (member entries over all per-entity bitmaps, approximate heap bytes).
    pub(crate) fn stats(&self) -> (u64, u64) {
        let (mut entries, mut bytes) = (0, 0);
        for set in self
            .group_direct
            .iter()
            .chain(self.group_transitive.iter())
            .chain(self.team_members.iter())
        {
            entries += set.len();
            bytes += 24 + set.heap_bytes();
        }
        let sets = self
            .org_members
            .iter()
            .chain(self.enterprise_users.iter())
            .chain(self.licenses.iter())
            .chain(self.origin_services.iter());
        for set in sets {
            entries += set.len();
            bytes += 24 + bitmap_bytes(set);
        }
        bytes += self.group_ancestors.heap_bytes() + self.group_descendants.heap_bytes();
        (entries, bytes)
    }
}

/// For every group, its descendants, ascending (from the ancestor chains).
fn descendant_lists(ancestors: &[Vec<GroupIdx>]) -> Vec<Vec<GroupIdx>> {
    let mut descendants: Vec<Vec<GroupIdx>> = vec![Vec::new(); ancestors.len()];
    for (group, chain) in ancestors.iter().enumerate() {
        for ancestor in chain {
            descendants[ancestor.index()].push(GroupIdx(group as u32));
        }
    }
    descendants
}

fn add(sets: &mut [RowSetBuilder], index: usize, row: Row) {
    if let Some(set) = sets.get_mut(index) {
        set.push(row);
    }
}

/// For every group, its parent chain, nearest first. The model guarantees a forest; the walk is
/// still bounded by the group count so a malformed model cannot loop forever.
fn ancestor_chains(model: &Model) -> Vec<Vec<GroupIdx>> {
    let group_count = model.groups.len();
    model
        .groups
        .iter()
        .map(|group| {
            let mut chain = Vec::new();
            let mut next = group.parent;
            while let Some(parent) = next {
                if parent.index() >= group_count || chain.len() >= group_count {
                    break;
                }
                chain.push(parent);
                next = model.groups[parent.index()].parent;
            }
            chain
        })
        .collect()
}
