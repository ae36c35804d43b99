//! Sort permutations and ranks for `orderBy`, built on first use.
//!
//! Sorting a million users per request is too slow, and most requests only need the first page,
//! so each (key, direction) gets a full permutation (`order`) and its inverse (`rank`): the
//! executor walks `order` until it has a page of matches when the match set is large, or sorts a
//! small match set by `rank` (one array read per row). Sixteen permutations plus ranks cost
//! 128 bytes per user, so they are computed lazily, once, behind a [`OnceLock`]; the key columns
//! they come from are already sorted (the term dictionaries and ordered columns sort ties by id
//! rank), so building one is a linear pass, not a sort.
//!
//! Contract: ascending by key, ties by id ascending; descending by key, ties *still* by id
//! ascending (stable paging in both directions); users without a value after all others, by id
//! ascending, in either direction.

use std::sync::OnceLock;

use crate::model::Row;

/// A column `orderBy` can sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SortKey {
    /// Folded login.
    Login,
    /// Folded full name; users without a name last.
    Name,
    /// Creation time.
    Created,
    /// Last access; never-accessed users last.
    LastAccess,
    /// Hub id (exact byte order).
    Id,
    /// Folded primary email; users without one last.
    Email,
    /// GitLab number.
    Number,
    /// `updated_at`, defaulting to `created_at`.
    Updated,
}

impl SortKey {
    /// Every key, in declaration order.
    pub const ALL: [SortKey; 8] = [
        SortKey::Login,
        SortKey::Name,
        SortKey::Created,
        SortKey::LastAccess,
        SortKey::Id,
        SortKey::Email,
        SortKey::Number,
        SortKey::Updated,
    ];

    fn slot(self, descending: bool) -> usize {
        self as usize * 2 + usize::from(descending)
    }
}

/// A permutation of all rows and its inverse.
#[derive(Debug, Default)]
pub(crate) struct Permutation {
    pub(crate) order: Vec<Row>,
    pub(crate) rank: Vec<u32>,
}

/// The rows that have a value for a key, ascending by (key, id), and where equal keys start.
pub(crate) struct KeyedRows {
    /// Rows with a value, ascending by key then id.
    pub(crate) rows: Vec<Row>,
    /// `same_as_previous[k]`: row `k` has the same key as row `k - 1` (false for `k = 0`).
    pub(crate) same_as_previous: Vec<bool>,
}

impl KeyedRows {
    /// The full permutation: keyed rows (groups of equal keys reversed when descending, each
    /// group kept in id order), then the rows without a value in id order.
    /// `slots` bounds every row (holes included: `id_order` lists live rows only).
    pub(crate) fn into_permutation(
        self,
        id_order: &[Row],
        slots: usize,
        descending: bool,
    ) -> Permutation {
        let user_count = slots;
        let mut order = Vec::with_capacity(id_order.len());
        if descending {
            let mut end = self.rows.len();
            while end > 0 {
                let mut start = end - 1;
                while start > 0 && self.same_as_previous[start] {
                    start -= 1;
                }
                order.extend_from_slice(&self.rows[start..end]);
                end = start;
            }
        } else {
            order.extend_from_slice(&self.rows);
        }
        let mut has_value = vec![false; user_count];
        for &row in &self.rows {
            has_value[row as usize] = true;
        }
        order.extend(id_order.iter().filter(|&&row| !has_value[row as usize]));
        let mut rank = vec![0u32; user_count];
        for (position, &row) in order.iter().enumerate() {
            rank[row as usize] = position as u32;
        }
        Permutation { order, rank }
    }
}

/// One lazily built permutation per (key, direction).
#[derive(Debug, Default)]
pub(crate) struct Orders {
    cells: [OnceLock<Permutation>; 16],
}

impl Orders {
    /// The permutation for (key, direction), built by `make` the first time it is asked for.
    pub(crate) fn get(
        &self,
        key: SortKey,
        descending: bool,
        make: impl FnOnce() -> Permutation,
    ) -> &Permutation {
        self.cells[key.slot(descending)].get_or_init(make)
    }

    /// (permutations built so far, their heap bytes).
    pub(crate) fn stats(&self) -> (u64, u64) {
        let (mut built, mut bytes) = (0, 0);
        for permutation in self.cells.iter().filter_map(OnceLock::get) {
            built += 1;
            bytes += ((permutation.order.capacity() + permutation.rank.capacity()) * 4) as u64;
        }
        (built, bytes)
    }
}
