//! Entity references (`project: DS`, `group: {Army}`, `with: Developer`): id, then key, then name.
//!
//! Entities number in the thousands at most but are resolved on every query, so each kind keeps
//! three hash maps — exact id, folded key, folded name — probed in that order; the first level
//! with a match wins and all its matches are returned (hub-query.md "Entity references").

use std::collections::HashMap;
use std::sync::Arc;

use crate::text::fold;

/// Which part of an entity a reference matched, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// The exact id.
    Id,
    /// The folded key.
    Key,
    /// The folded name.
    Name,
}

/// One catalog object's names as its lookup keys them: id, key (projects only), name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Names {
    /// The id (exact).
    pub(crate) id: String,
    /// The key, if any.
    pub(crate) key: Option<String>,
    /// The name.
    pub(crate) name: String,
}

/// Shards per map: a live rename copies one shard of each map it writes, not the map.
const SHARDS: usize = 32;

/// A map from a key to ascending positions, split into shared copy-on-write shards.
#[derive(Debug, Clone)]
struct Shards(Vec<Arc<HashMap<Box<str>, Vec<u32>>>>);

impl Default for Shards {
    fn default() -> Self {
        Shards((0..SHARDS).map(|_| Arc::default()).collect())
    }
}

impl Shards {
    /// The shard of `key` (FNV-1a: fixed, so a lookup finds what an earlier version stored).
    fn shard(key: &str) -> usize {
        let mut hash: u32 = 0x811c_9dc5;
        for byte in key.bytes() {
            hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
        hash as usize % SHARDS
    }

    fn get(&self, key: &str) -> Option<&Vec<u32>> {
        self.0.get(Self::shard(key))?.get(key)
    }

    /// Adds `position` under `key` (kept ascending, once).
    fn insert(&mut self, key: &str, position: u32) {
        let Some(shard) = self.0.get_mut(Self::shard(key)) else {
            return;
        };
        let list = Arc::make_mut(shard).entry(key.into()).or_default();
        if let Err(at) = list.binary_search(&position) {
            list.insert(at, position);
        }
    }

    /// Drops `position` from `key` (the key goes with its last position).
    fn remove(&mut self, key: &str, position: u32) {
        let Some(shard) = self.0.get_mut(Self::shard(key)) else {
            return;
        };
        let held = shard
            .get(key)
            .is_some_and(|list| list.binary_search(&position).is_ok());
        if !held {
            return;
        }
        let map = Arc::make_mut(shard);
        if let Some(list) = map.get_mut(key) {
            list.retain(|&p| p != position);
            if list.is_empty() {
                map.remove(key);
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&Box<str>, &Vec<u32>)> {
        self.0.iter().flat_map(|shard| shard.iter())
    }
}

/// Lookup tables for one entity kind; values are positions in the owning table. Cloning copies
/// one pointer per shard; a live put rewrites only the shards of the names it changes.
#[derive(Debug, Default, Clone)]
pub(crate) struct EntityLookup {
    by_id: Shards,
    by_key: Shards,
    by_name: Shards,
}

impl EntityLookup {
    /// Builds from `(id, key, name)` per entity, in table order.
    pub(crate) fn build<'a>(
        entities: impl Iterator<Item = (&'a str, Option<&'a str>, &'a str)>,
    ) -> EntityLookup {
        let mut lookup = EntityLookup::default();
        for (position, (id, key, name)) in entities.enumerate() {
            lookup.add(position as u32, id, key, name);
        }
        lookup
    }

    fn add(&mut self, position: u32, id: &str, key: Option<&str>, name: &str) {
        self.by_id.insert(id, position);
        if let Some(key) = key {
            self.by_key.insert(&fold(key), position);
        }
        self.by_name.insert(&fold(name), position);
    }

    /// The object at `position` was put: it no longer answers to its `old` names (none for a
    /// new object) and answers to `new`. O(the names' lists), copying only their shards.
    pub(crate) fn replace(&mut self, position: u32, old: Option<&Names>, new: &Names) {
        if let Some(old) = old {
            if old == new {
                return;
            }
            self.by_id.remove(&old.id, position);
            if let Some(key) = &old.key {
                self.by_key.remove(&fold(key), position);
            }
            self.by_name.remove(&fold(&old.name), position);
        }
        self.add(position, &new.id, new.key.as_deref(), &new.name);
    }

    /// Positions matching `reference` at the first level that matches any (ascending).
    pub(crate) fn resolve(&self, reference: &str) -> Vec<u32> {
        self.resolve_level(reference)
            .map(|(_, found)| found)
            .unwrap_or_default()
    }

    /// [`EntityLookup::resolve`] with the level that matched (`None`: no level did), so that
    /// references resolving among two kinds at once (`in:` groups and teams) take the first level
    /// matching in either.
    pub(crate) fn resolve_level(&self, reference: &str) -> Option<(Level, Vec<u32>)> {
        if let Some(found) = self.by_id.get(reference) {
            return Some((Level::Id, found.clone()));
        }
        let folded = fold(reference);
        if let Some(found) = self.by_key.get(folded.as_str()) {
            return Some((Level::Key, found.clone()));
        }
        self.by_name
            .get(folded.as_str())
            .map(|found| (Level::Name, found.clone()))
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.0.iter().map(|shard| shard.len()).sum()
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        [&self.by_id, &self.by_key, &self.by_name]
            .into_iter()
            .flat_map(Shards::iter)
            .map(|(key, positions)| 56 + key.len() as u64 + 4 * positions.capacity() as u64)
            .sum()
    }
}
