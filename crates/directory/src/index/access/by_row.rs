//! The holder sets of a few users (a delta level's rows), built row by row.
//!
//! The dense build ([`super::direct_grants`], [`super::add_subject_grants`], then sealing and
//! the any-role aggregation) does work per holder set: a counting table over every (role,
//! scope), a multi-way union per granted (role, scope), per role for its `any` and per scope
//! for the any-role sets. For a delta level of a few hundred rows nearly every such set holds
//! one to a few rows, and those ~3,000 small unions per build were 47 % of a level's build
//! (callgrind at 200k users, benches/RESULTS.md `rows13`).
//!
//! Here every (row, set) that a grant puts a row in is listed once, as one number (a grant to
//! a group or a team lists its members among the rows; ~55 a row at 1M users), and one sort
//! puts the list in row order. Walking it row by row appends each row once to every set it is
//! in: the roles' levels, each role's `any`, the any-role levels and `any`. Every set comes out
//! sorted, with no merge, no per-set sort and nothing per catalog object that holds none of
//! the rows. Sorting three lists of (role, scope, row) tuples instead, one per order, cost
//! more than the dense build it replaced. Past [`FEW_ENTRIES`] entries (a whole directory's
//! build: ~30M at 1M users) the dense build is faster and uses less memory.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use super::{packed_scope, scope_of, Holders};
use crate::index::block_bitmap::BlockBitmap;
use crate::index::column::bitmap_from_strictly_sorted;
use crate::index::structure::Structure;
use crate::model::{Model, Row, Subject};

/// Entries at or below which the holder sets are built row by row (see the module doc): a
/// delta level of a few thousand rows stays below (~55 entries a row at 1M users); the list
/// is 8 bytes an entry.
pub(super) const FEW_ENTRIES: u64 = 1 << 18;

/// What the grants put in the holder sets, listed (see the module doc).
pub(super) struct Entries<'a> {
    /// `row << 32 | key`: a row in the set of `keys[key]`.
    entries: Vec<u64>,
    /// Each distinct (role, [`packed_scope`]) some grant puts a row in.
    keys: Vec<(u32, u64)>,
    /// Per key, the members of its one grant when that is its only grant and names a group or
    /// a team: its set is then that set, shared rather than built again (most keys of a delta
    /// level: a group granted a role in many projects).
    alone: Vec<Option<&'a BlockBitmap>>,
    /// `role << 32 | row` for every grant to a user.
    own: Vec<u64>,
    /// Roles of the list, or past it as far as a grant names one (not produced by
    /// validation: such grants count for the any-role queries only).
    roles: usize,
}

impl<'a> Entries<'a> {
    /// The entries of `model`'s grants, with their groups' and teams' members from
    /// `structure`; `None` past [`FEW_ENTRIES`] (counted before anything is listed, and the
    /// count stops there: a whole directory's build pays a few grants for asking).
    pub(super) fn of(model: &Model, structure: &'a Structure) -> Option<Entries<'a>> {
        let members = |subject: Subject| match subject {
            Subject::User(_) => None,
            Subject::Group(g) => structure.group_transitive.get(g.index()),
            Subject::Team(t) => structure.team_members.get(t.index()),
        };
        let mut total = 0u64;
        let mut roles = model.roles.len();
        for grant in &model.grants {
            roles = roles.max(grant.role.index() + 1);
            total += match grant.subject {
                Subject::User(_) => 1,
                subject => members(subject).map_or(0, BlockBitmap::len),
            };
            if total > FEW_ENTRIES {
                return None;
            }
        }
        let mut entries = Vec::with_capacity(total as usize);
        let mut own = Vec::new();
        let mut keys = Vec::new();
        let mut alone = Vec::new();
        // A key per distinct (role, scope) that some grant puts a row in (sorting the grants
        // by pair instead took more instructions than hashing them).
        let mut key_of: HashMap<(u32, u64), u32> = HashMap::new();
        for grant in &model.grants {
            let users = members(grant.subject);
            if users.is_some_and(BlockBitmap::is_empty) {
                continue;
            }
            let pair = (grant.role.0, packed_scope(grant.scope));
            let key = match key_of.entry(pair) {
                Entry::Occupied(key) => {
                    alone[*key.get() as usize] = None;
                    *key.get()
                }
                Entry::Vacant(vacant) => {
                    keys.push(pair);
                    alone.push(users);
                    *vacant.insert((keys.len() - 1) as u32)
                }
            };
            let entry = |row: Row| (u64::from(row) << 32) | u64::from(key);
            match (grant.subject, users) {
                (Subject::User(row), _) => {
                    entries.push(entry(row));
                    own.push((u64::from(pair.0) << 32) | u64::from(row));
                }
                (_, Some(users)) => entries.extend(users.iter().map(entry)),
                (_, None) => {}
            }
        }
        Some(Entries {
            entries,
            keys,
            alone,
            own,
            roles,
        })
    }

    /// Per role (every role of the list and every role a grant names), its holders; per role,
    /// the users granted it directly; and the any-role aggregation, as the dense build makes
    /// them (the same rows in every set, large sets in blocks).
    ///
    /// One sort of the entries puts them in row order; walking the rows in that order appends
    /// each row once to every set it is in, so every set comes out sorted: no merge per set.
    pub(super) fn holders(self) -> (Vec<Holders>, Vec<BlockBitmap>, Holders) {
        let Entries {
            mut entries,
            keys,
            alone,
            mut own,
            roles,
        } = self;
        entries.sort_unstable();
        entries.dedup();
        // The any-role levels: one set per distinct scope.
        let mut scopes: Vec<u64> = keys.iter().map(|&(_, scope)| scope).collect();
        scopes.sort_unstable();
        scopes.dedup();
        let scope_at: Vec<usize> = keys
            .iter()
            .map(|(_, scope)| scopes.partition_point(|s| s < scope))
            .collect();

        // Room for each list, from each key's number of entries: exact for the keys, at
        // least enough for the roles and scopes (a row counts once in each).
        let mut per_key = vec![0usize; keys.len()];
        for &entry in &entries {
            per_key[entry as u32 as usize] += 1;
        }
        let mut per_role = vec![0usize; roles];
        let mut per_scope = vec![0usize; scopes.len()];
        for (key, &count) in per_key.iter().enumerate() {
            per_role[keys[key].0 as usize] += count;
            per_scope[scope_at[key]] += count;
        }
        for (count, alone) in per_key.iter_mut().zip(&alone) {
            if alone.is_some() {
                *count = 0;
            }
        }
        let mut in_key = Lists::with_room(&per_key);
        let mut in_role = Lists::with_room(&per_role);
        let mut in_scope = Lists::with_room(&per_scope);
        let mut all: Vec<Row> = Vec::new();
        for run in entries.chunk_by(|a, b| a >> 32 == b >> 32) {
            let row = (run[0] >> 32) as Row;
            all.push(row);
            for &entry in run {
                let key = entry as u32 as usize;
                if alone[key].is_none() {
                    in_key.push(key, row);
                }
                in_role.push_once(keys[key].0 as usize, row);
                in_scope.push_once(scope_at[key], row);
            }
        }

        let mut by_role = vec![Holders::default(); roles];
        for (key, (&(role, scope), alone)) in keys.iter().zip(alone).enumerate() {
            let set = match alone {
                Some(members) => members.clone(),
                None => set_of(in_key.get(key)),
            };
            *by_role[role as usize].level_mut(scope_of(scope)) = set;
        }
        for (role, holders) in by_role.iter_mut().enumerate() {
            holders.any = set_of(in_role.get(role));
        }
        let mut any_role = Holders::default();
        for (at, &scope) in scopes.iter().enumerate() {
            *any_role.level_mut(scope_of(scope)) = set_of(in_scope.get(at));
        }
        any_role.any = set_of(&all);

        own.sort_unstable();
        own.dedup();
        let mut own_role = vec![BlockBitmap::default(); roles];
        let mut rows = Vec::new();
        for run in own.chunk_by(|a, b| a >> 32 == b >> 32) {
            rows.clear();
            rows.extend(run.iter().map(|&pair| pair as u32));
            own_role[(run[0] >> 32) as usize] = set_of(&rows);
        }
        (by_role, own_role, any_role)
    }
}

/// Lists of rows in one flat array, each with room set aside up front: one allocation for
/// all of them (a vector per list, grown push by push, was a quarter of the holders' build).
struct Lists {
    rows: Vec<Row>,
    start: Vec<usize>,
    len: Vec<usize>,
}

impl Lists {
    /// Lists with room for `room[i]` rows in list `i`.
    fn with_room(room: &[usize]) -> Lists {
        let mut start = Vec::with_capacity(room.len());
        let mut total = 0;
        for &room in room {
            start.push(total);
            total += room;
        }
        Lists {
            rows: vec![0; total],
            start,
            len: vec![0; room.len()],
        }
    }

    /// Appends `row` to list `i` (within its room).
    fn push(&mut self, i: usize, row: Row) {
        self.rows[self.start[i] + self.len[i]] = row;
        self.len[i] += 1;
    }

    /// Appends `row` to list `i` unless it is already its last (rows arrive in ascending
    /// order).
    fn push_once(&mut self, i: usize, row: Row) {
        if self.get(i).last() != Some(&row) {
            self.push(i, row);
        }
    }

    /// List `i`.
    fn get(&self, i: usize) -> &[Row] {
        &self.rows[self.start[i]..self.start[i] + self.len[i]]
    }
}

/// The set of `rows` (strictly ascending); large sets in blocks, as sealing a built set cuts
/// them.
fn set_of(rows: &[Row]) -> BlockBitmap {
    BlockBitmap::from(bitmap_from_strictly_sorted(rows))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use roaring::RoaringBitmap;

    use crate::generate::{generate, GenOptions};
    use crate::model::{Grant, GroupIdx, RoleIdx, Scope};

    /// Holders' rows by scope level (`None`: their union, `any`), empty levels left out (the
    /// dense build may keep an empty slot where a granted group has no member).
    fn levels(holders: &Holders) -> Vec<(Option<Scope>, RoaringBitmap)> {
        std::iter::once((Some(Scope::Global), BlockBitmap::to_bitmap(&holders.global)))
            .chain(
                holders
                    .organizations
                    .iter()
                    .map(|(o, set)| (Some(Scope::Organization(o)), BlockBitmap::to_bitmap(set))),
            )
            .chain(
                holders
                    .projects
                    .iter()
                    .map(|(p, set)| (Some(Scope::Project(p)), BlockBitmap::to_bitmap(set))),
            )
            .chain(std::iter::once((
                None,
                BlockBitmap::to_bitmap(&holders.any),
            )))
            .filter(|(_, rows)| !rows.is_empty())
            .collect()
    }

    /// Both builds of one model's holder sets agree set by set.
    fn agree(model: &Model) -> Result<(), TestCaseError> {
        let structure = Structure::build(model);
        let entries = Entries::of(model, &structure).ok_or_else(|| {
            TestCaseError::fail("a small directory's entries are under the bound")
        })?;
        let (by_role, own_role, any_role) = entries.holders();
        let (dense_by_role, dense_own, dense_any) = super::super::dense_holders(model, &structure);
        prop_assert_eq!(by_role.len(), dense_by_role.len());
        for (by_row, dense) in by_role.iter().zip(&dense_by_role) {
            prop_assert_eq!(levels(by_row), levels(dense));
        }
        let own: Vec<RoaringBitmap> = own_role.iter().map(BlockBitmap::to_bitmap).collect();
        let dense_own: Vec<RoaringBitmap> = dense_own.iter().map(BlockBitmap::to_bitmap).collect();
        prop_assert_eq!(own, dense_own);
        prop_assert_eq!(levels(&any_role), levels(&dense_any));
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// On generated directories (grants to users, groups with subgroups, teams; some
        /// users deleted; a role past the role list; one (role, scope) granted to two groups
        /// and a user), building row by row makes every holder set the dense build makes.
        #[test]
        fn row_by_row_builds_the_dense_builds_sets(
            users in 1usize..400,
            seed in any::<u64>(),
            deleted in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
        ) {
            let mut model = generate(&GenOptions { users, seed });
            for at in deleted {
                let row = at.index(model.users.slots()) as Row;
                model.grants.retain(|grant| grant.subject != Subject::User(row));
                model.users.remove(row);
            }
            let grant = |subject, role| Grant { subject, role, scope: Scope::Global };
            if model.groups.len() >= 2 {
                let past = RoleIdx(model.roles.len() as u32 + 2);
                model.grants.push(grant(Subject::Group(GroupIdx(0)), past));
                model.grants.push(grant(Subject::Group(GroupIdx(0)), RoleIdx(0)));
                model.grants.push(grant(Subject::Group(GroupIdx(1)), RoleIdx(0)));
            }
            if let Some(row) = model.users.live_rows().min() {
                model.grants.push(grant(Subject::User(row), RoleIdx(0)));
            }
            agree(&model)?;
        }
    }

    #[test]
    fn past_the_bound_the_dense_build_is_taken() {
        let mut model = Model::default();
        let grant = Grant {
            subject: Subject::User(0),
            role: RoleIdx(0),
            scope: Scope::Global,
        };
        model.grants = vec![grant; FEW_ENTRIES as usize].into();
        let structure = Structure::build(&model);
        assert!(Entries::of(&model, &structure).is_some());
        model.grants.push(grant);
        assert!(Entries::of(&model, &structure).is_none());
    }
}
