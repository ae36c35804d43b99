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

use super::block_bitmap::{BlockBitmap, Cut};
use super::column::{bitmap_bytes, Ragged, RowSetBuilder};
use crate::facts::Subjects;
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

/// The group forest's ancestor and descendant lists: they depend on the catalog only, so a
/// batch that adds or moves groups computes them once ([`Forest::of`], O(groups × depth)) and
/// the base indexes and every delta level share them.
#[derive(Debug, Clone)]
pub(crate) struct Forest {
    ancestors: Arc<Ragged<GroupIdx>>,
    descendants: Arc<Ragged<GroupIdx>>,
}

impl Forest {
    /// The lists of `model`'s forest, built flat (no list per group: two allocations per
    /// list of lists). The model guarantees a forest; each walk is still bounded by the group
    /// count so a malformed model cannot loop forever.
    pub(crate) fn of(model: &Model) -> Forest {
        let group_count = model.groups.len();
        // Ancestors: each group's parent chain, nearest first.
        let mut offsets = Vec::with_capacity(group_count + 1);
        let mut items: Vec<GroupIdx> = Vec::new();
        offsets.push(0);
        for group in model.groups.iter() {
            let start = items.len();
            let mut next = group.parent;
            while let Some(parent) = next {
                if parent.index() >= group_count || items.len() - start >= group_count {
                    break;
                }
                items.push(parent);
                next = model.groups[parent.index()].parent;
            }
            offsets.push(items.len());
        }
        let ancestors = Ragged::from_parts(offsets, items);
        // Descendants, ascending: a counting sort of the (ancestor, group) pairs by ancestor.
        let mut starts = vec![0usize; group_count + 1];
        for g in 0..group_count {
            for ancestor in ancestors.get(g) {
                starts[ancestor.index() + 1] += 1;
            }
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut items = vec![GroupIdx(0); starts[group_count]];
        for g in 0..group_count {
            for ancestor in ancestors.get(g) {
                items[next[ancestor.index()]] = GroupIdx(g as u32);
                next[ancestor.index()] += 1;
            }
        }
        Forest {
            ancestors: Arc::new(ancestors),
            descendants: Arc::new(Ragged::from_parts(starts, items)),
        }
    }
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

        let forest = Forest::of(model);

        // Deepest first: when a group is OR-ed into its parent, all its descendants are in it.
        let mut group_transitive = group_direct.clone();
        let mut by_depth: Vec<usize> = (0..group_count).collect();
        by_depth.sort_by_key(|&g| std::cmp::Reverse(forest.ancestors.get(g).len()));
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
            group_ancestors: forest.ancestors,
            group_descendants: forest.descendants,
            team_members: shared(team_members),
            org_members: Arc::new(org_members),
            enterprise_users: Arc::new(enterprise_users),
            licenses: Arc::new(licenses),
            origin_services: Arc::new(origin_services),
        }
    }

    /// The group forest's lists, as [`Forest::of`] the final model computed them once for the
    /// batch: no member bitmap is touched.
    pub(crate) fn forest_taken(&mut self, forest: &Forest) {
        self.group_ancestors = Arc::clone(&forest.ancestors);
        self.group_descendants = Arc::clone(&forest.descendants);
    }

    /// Whether these lists are `forest`'s (nothing to take).
    pub(crate) fn shares_forest(&self, forest: &Forest) -> bool {
        Arc::ptr_eq(&self.group_ancestors, &forest.ancestors)
            && Arc::ptr_eq(&self.group_descendants, &forest.descendants)
    }

    /// The forest's lists, shared (what a delta level takes instead of computing its own).
    pub(crate) fn forest(&self) -> Forest {
        Forest {
            ancestors: Arc::clone(&self.group_ancestors),
            descendants: Arc::clone(&self.group_descendants),
        }
    }

    /// Groups in `moved` changed parent; `forest` is the final model's (computed once per
    /// batch and shared by the base and every delta level), `subjects` the final grants and
    /// team listings by subject. The old ancestors come from the lists these indexes hold.
    ///
    /// Only members of the moved subtrees (as these indexes hold them) can change groups: a
    /// user gains or loses an ancestor only through a moved group between its own group and
    /// that ancestor, so the lowest moved group on the path held it before. So the transitive
    /// members of every group whose subtree gained or lost a moved group (the old and new
    /// ancestors, deepest first by the final forest: each is its direct members and its
    /// children's transitive members) are recomputed *among those candidates only*, and the
    /// candidates that changed are moved in or out of the set (copied on write per block): the
    /// cost is the candidates against the ancestors' and their children's sets, not the
    /// ancestors' members (a root's transitive set, 100k+ users at 1M, was copied, rebuilt and
    /// compared whole by every move: the slowest catalog changes, 5–9 ms). Teams listing an
    /// ancestor are brought up to date the same way. Returns the users whose transitive groups
    /// changed and the groups and teams whose member sets changed.
    pub(crate) fn groups_moved(
        &mut self,
        model: &Model,
        moved: &[GroupIdx],
        forest: &Forest,
        subjects: &Subjects,
    ) -> Moved {
        let group_count = model.groups.len();
        let mut affected: Vec<GroupIdx> = Vec::new();
        for &g in moved {
            affected.extend_from_slice(self.group_ancestors.get(g.index()));
            affected.extend_from_slice(forest.ancestors.get(g.index()));
        }
        affected.retain(|g| g.index() < group_count);
        affected.sort_unstable();
        affected.dedup();
        self.forest_taken(forest);
        grow(&mut self.group_direct, group_count);
        let transitive = &mut self.group_transitive;
        grow(transitive, group_count);
        let mut candidates = RoaringBitmap::new();
        for &g in moved {
            if let Some(set) = transitive.get(g.index()) {
                set.or_into(&mut candidates);
            }
        }
        if candidates.is_empty() {
            return Moved::default();
        }
        // Deepest first, by the final forest: a group's children are recomputed before it.
        affected.sort_by_key(|g| std::cmp::Reverse(forest.ancestors.get(g.index()).len()));
        let mut users = RoaringBitmap::new();
        let mut groups = Vec::new();
        for &g in &affected {
            let mut members = self.group_direct[g.index()].intersection(&candidates);
            // Its children in the final forest: the descendants whose parent it is.
            for &child in forest.descendants.get(g.index()) {
                let parent = model.groups.get(child.index()).and_then(|c| c.parent);
                if parent == Some(g) {
                    members |= transitive[child.index()].intersection(&candidates);
                }
            }
            let before = transitive[g.index()].intersection(&candidates);
            if before != members {
                let lost = &before - &members;
                let gained = &members - &before;
                transitive[g.index()].difference_with(&Cut::new(&lost));
                transitive[g.index()].union_with(&Cut::new(&gained));
                users |= lost;
                users |= gained;
                groups.push(g);
            }
        }
        let mut teams: Vec<TeamIdx> = groups
            .iter()
            .flat_map(|&g| subjects.teams_of_group(g))
            .copied()
            .collect();
        teams.sort_unstable();
        teams.dedup();
        let team_members = &mut self.team_members;
        grow(team_members, model.teams.len());
        for &t in &teams {
            let Some(team) = model.teams.get(t.index()) else {
                continue;
            };
            let mut members: RoaringBitmap = team
                .users
                .iter()
                .copied()
                .filter(|&row| candidates.contains(row))
                .collect();
            for group in &team.groups {
                if let Some(set) = transitive.get(group.index()) {
                    members |= set.intersection(&candidates);
                }
            }
            let before = team_members[t.index()].intersection(&candidates);
            if before != members {
                team_members[t.index()].difference_with(&Cut::new(&(&before - &members)));
                team_members[t.index()].union_with(&Cut::new(&(&members - &before)));
            }
        }
        Moved {
            users,
            groups,
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

fn add(sets: &mut [RowSetBuilder], index: usize, row: Row) {
    if let Some(set) = sets.get_mut(index) {
        set.push(row);
    }
}
