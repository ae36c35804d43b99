//! Entity references (`project: DS`, `group: {Army}`, `with: Developer`): id, then key, then name.
//!
//! Entities number in the thousands at most but are resolved on every query, so each kind keeps
//! three hash maps — exact id, folded key, folded name — probed in that order; the first level
//! with a match wins and all its matches are returned (hub-query.md "Entity references").

use std::collections::HashMap;

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

/// Lookup tables for one entity kind; values are positions in the owning table.
#[derive(Debug, Default)]
pub(crate) struct EntityLookup {
    by_id: HashMap<Box<str>, Vec<u32>>,
    by_key: HashMap<Box<str>, Vec<u32>>,
    by_name: HashMap<Box<str>, Vec<u32>>,
}

impl EntityLookup {
    /// Builds from `(id, key, name)` per entity, in table order.
    pub(crate) fn build<'a>(
        entities: impl Iterator<Item = (&'a str, Option<&'a str>, &'a str)>,
    ) -> EntityLookup {
        let mut lookup = EntityLookup::default();
        for (position, (id, key, name)) in entities.enumerate() {
            let position = position as u32;
            lookup.by_id.entry(id.into()).or_default().push(position);
            if let Some(key) = key {
                lookup
                    .by_key
                    .entry(fold(key).into())
                    .or_default()
                    .push(position);
            }
            lookup
                .by_name
                .entry(fold(name).into())
                .or_default()
                .push(position);
        }
        lookup
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
        self.by_id.len()
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        [&self.by_id, &self.by_key, &self.by_name]
            .iter()
            .flat_map(|map| map.iter())
            .map(|(key, positions)| 56 + key.len() as u64 + 4 * positions.capacity() as u64)
            .sum()
    }
}
