//! Catalog id → position maps kept between change batches. They live with the loader's
//! [`super::Tables`], which consult them, so the store's writer (which keeps them up to date)
//! depends on the loader and not the other way round.

use std::collections::HashMap;

use super::places::Kind;
use crate::model::Model;
use crate::shared::Chunked;

/// Catalog id → position maps the writer keeps between batches, so a batch resolving
/// references does O(batch) work instead of mapping the whole catalog. Catalog objects are only
/// ever appended or replaced in place (ids never change) outside structural batches, which
/// rebuild these maps.
#[derive(Debug, Default)]
pub(crate) struct CatalogIds {
    services: HashMap<String, u32>,
    permissions: HashMap<String, u32>,
    roles: HashMap<String, u32>,
    organizations: HashMap<String, u32>,
    projects: HashMap<String, u32>,
    groups: HashMap<String, u32>,
    teams: HashMap<String, u32>,
}

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
        add(&mut self.services, &before.services, &after.services, |o| {
            &o.id
        });
        add(
            &mut self.permissions,
            &before.permissions,
            &after.permissions,
            |o| &o.id,
        );
        add(&mut self.roles, &before.roles, &after.roles, |o| &o.id);
        let orgs = (&before.organizations, &after.organizations);
        add(&mut self.organizations, orgs.0, orgs.1, |o| &o.id);
        add(&mut self.projects, &before.projects, &after.projects, |o| {
            &o.id
        });
        add(&mut self.groups, &before.groups, &after.groups, |o| &o.id);
        add(&mut self.teams, &before.teams, &after.teams, |o| &o.id);
    }

    /// The position of catalog object `id` of `kind` (users and grants are not catalog).
    pub(crate) fn get(&self, kind: Kind, id: &str) -> Option<u32> {
        let table = match kind {
            Kind::Service => &self.services,
            Kind::Permission => &self.permissions,
            Kind::Role => &self.roles,
            Kind::Organization => &self.organizations,
            Kind::Project => &self.projects,
            Kind::Group => &self.groups,
            Kind::Team => &self.teams,
            Kind::User | Kind::Grant => return None,
        };
        table.get(id).copied()
    }
}
