//! Entity references (`project: DS`, `group: {Army}`, `with: Developer`): id, then key, then name.
//!
//! Entities number in the thousands at most but are resolved on every query, so each kind keeps
//! three hash maps — exact id, folded key, folded name — probed in that order; the first level
//! with a match wins and all its matches are returned (hub-query.md "Entity references").

use std::collections::HashMap;

use crate::text::fold;

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
        if let Some(found) = self.by_id.get(reference) {
            return found.clone();
        }
        let folded = fold(reference);
        self.by_key
            .get(folded.as_str())
            .or_else(|| self.by_name.get(folded.as_str()))
            .cloned()
            .unwrap_or_default()
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
