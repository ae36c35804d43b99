//! Catalog id → position maps kept between change batches. They live with the loader's
//! [`super::Tables`], which consult them, so the store's writer (which keeps them up to date)
//! depends on the loader and not the other way round.

use std::collections::HashMap;

use super::places::Kind;
use super::PerCatalog;
use crate::model::Model;
use crate::shared::Chunked;

/// Catalog id → position maps the writer keeps between batches, so a batch resolving
/// references does O(batch) work instead of mapping the whole catalog. Catalog objects are only
/// ever appended or replaced in place (ids never change) outside structural batches, which
/// rebuild these maps.
#[derive(Debug, Default)]
pub(crate) struct CatalogIds(PerCatalog<HashMap<String, u32>>);

impl CatalogIds {
    pub(crate) fn of_model(model: &Model) -> CatalogIds {
        let mut ids = CatalogIds::default();
        ids.follow(&Model::default(), model);
        ids
    }

    /// Maps the catalog objects `after` has beyond `before`'s (appended by a batch).
    pub(crate) fn follow(&mut self, before: &Model, after: &Model) {
        fn add<T: Clone>(
            table: &mut HashMap<String, u32>,
            before: &Chunked<T>,
            after: &Chunked<T>,
            id: impl Fn(&T) -> &str,
        ) {
            for at in before.len()..after.len() {
                table.insert(id(&after[at]).to_owned(), at as u32);
            }
        }
        let ids = &mut self.0;
        add(&mut ids.services, &before.services, &after.services, |o| {
            &o.id
        });
        let permissions = (&before.permissions, &after.permissions);
        add(&mut ids.permissions, permissions.0, permissions.1, |o| {
            &o.id
        });
        add(&mut ids.roles, &before.roles, &after.roles, |o| &o.id);
        let orgs = (&before.organizations, &after.organizations);
        add(&mut ids.organizations, orgs.0, orgs.1, |o| &o.id);
        add(&mut ids.projects, &before.projects, &after.projects, |o| {
            &o.id
        });
        add(&mut ids.groups, &before.groups, &after.groups, |o| &o.id);
        add(&mut ids.teams, &before.teams, &after.teams, |o| &o.id);
    }

    /// The position of catalog object `id` of `kind` (users and grants are not catalog).
    pub(crate) fn get(&self, kind: Kind, id: &str) -> Option<u32> {
        self.0.get(kind)?.get(id).copied()
    }
}
