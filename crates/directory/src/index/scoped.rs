//! Holder bitmaps keyed by organization or project position, in shared copy-on-write leaves.
//!
//! The access index keeps, per role and for the any-role aggregation, one bitmap per
//! organization and per project a grant is scoped to. In hash maps, every batch that wrote one
//! of them cloned the role's whole map (a pointer and a reference count per scoped bitmap: at
//! 1M users a third of a membership change's time went to cloning and later dropping them).
//! Here the bitmaps sit in a dense table of [`Chunked`] leaves: writing one copies one leaf of
//! pointers, whatever the number of projects.

use super::block_bitmap::BlockBitmap;
use crate::model::{OrgIdx, ProjectIdx};
use crate::shared::Chunked;
use std::marker::PhantomData;

/// A dense position (an organization's or a project's).
pub(crate) trait Dense: Copy {
    /// The position.
    fn at(self) -> usize;
    /// The key of position `at`.
    fn of(at: usize) -> Self;
}

impl Dense for OrgIdx {
    fn at(self) -> usize {
        self.index()
    }
    fn of(at: usize) -> Self {
        OrgIdx(at as u32)
    }
}

impl Dense for ProjectIdx {
    fn at(self) -> usize {
        self.index()
    }
    fn of(at: usize) -> Self {
        ProjectIdx(at as u32)
    }
}

/// Holder sets ([`BlockBitmap`]s: a large one is copied on write per block) by dense key;
/// absent keys hold nothing. Cloning copies one pointer.
#[derive(Debug, Clone)]
pub(crate) struct ScopeMap<K> {
    sets: Chunked<Option<BlockBitmap>>,
    key: PhantomData<K>,
}

impl<K> Default for ScopeMap<K> {
    fn default() -> Self {
        ScopeMap {
            sets: Chunked::default(),
            key: PhantomData,
        }
    }
}

impl<K: Dense> ScopeMap<K> {
    /// The bitmap of `key`, if any.
    pub(crate) fn get(&self, key: &K) -> Option<&BlockBitmap> {
        self.sets.get(key.at()).and_then(Option::as_ref)
    }

    /// The bitmap of `key` for writing, if it exists (copies one leaf of pointers if shared).
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut BlockBitmap> {
        self.get(key)?;
        self.sets.get_mut(key.at()).and_then(Option::as_mut)
    }

    /// The bitmap of `key` for writing, created empty if missing.
    pub(crate) fn slot(&mut self, key: K) -> &mut BlockBitmap {
        self.sets.grow_to(key.at() + 1, None);
        self.sets
            .get_mut(key.at())
            .expect("the table was just extended past the key")
            .get_or_insert_with(BlockBitmap::default)
    }

    /// Every (key, bitmap) held, by key.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (K, &BlockBitmap)> + '_ {
        self.sets
            .iter()
            .enumerate()
            .filter_map(|(at, set)| set.as_ref().map(|set| (K::of(at), set)))
    }

    /// Runs `write` on every bitmap held. Only the leaves of pointers holding one are looked up
    /// for writing (copied if shared): a table grown past many empty slots keeps its shared
    /// empty leaves ([`Chunked::grow_to`]).
    pub(crate) fn for_each_mut(&mut self, mut write: impl FnMut(&mut BlockBitmap)) {
        let held: Vec<usize> = self
            .sets
            .iter()
            .enumerate()
            .filter_map(|(at, set)| set.is_some().then_some(at))
            .collect();
        for at in held {
            if let Some(Some(set)) = self.sets.get_mut(at) {
                write(set);
            }
        }
    }

    /// Every bitmap held, by key.
    pub(crate) fn values(&self) -> impl Iterator<Item = &BlockBitmap> + '_ {
        self.sets.iter().filter_map(Option::as_ref)
    }
}

impl<K: Dense> FromIterator<(K, BlockBitmap)> for ScopeMap<K> {
    fn from_iter<I: IntoIterator<Item = (K, BlockBitmap)>>(pairs: I) -> Self {
        let mut map = ScopeMap::default();
        for (key, set) in pairs {
            *map.slot(key) = set;
        }
        map
    }
}
