//! Catalog puts kept in the entity lookups in place: a put (new object, rename, new key) moves
//! one object's names in its kind's lookup ([`EntityLookup::replace`]), copying only the shards
//! those names live in — never a rebuild of every lookup.

use super::resolve::Names;
use super::Lookups;
use crate::load::places::Kind;
use crate::model::Model;

impl Names {
    /// The names of catalog object `kind` at `at` in `model` (`None`: no such object).
    pub(crate) fn of(model: &Model, kind: Kind, at: u32) -> Option<Names> {
        let at = at as usize;
        let plain = |id: &str, name: &str| Names {
            id: id.to_owned(),
            key: None,
            name: name.to_owned(),
        };
        match kind {
            Kind::Project => model.projects.get(at).map(|p| Names {
                id: p.id.clone(),
                key: p.key.clone(),
                name: p.name.clone(),
            }),
            Kind::Organization => model.organizations.get(at).map(|o| plain(&o.id, &o.name)),
            Kind::Group => model.groups.get(at).map(|g| plain(&g.id, &g.name)),
            Kind::Team => model.teams.get(at).map(|t| plain(&t.id, &t.name)),
            Kind::Role => model.roles.get(at).map(|r| plain(&r.id, &r.name)),
            Kind::Permission => model.permissions.get(at).map(|p| plain(&p.id, &p.name)),
            Kind::Service => model.services.get(at).map(|s| plain(&s.id, &s.name)),
            Kind::User | Kind::Grant => None,
        }
    }
}

impl Lookups {
    /// Catalog object `kind` at `at` was put: it loses its `old` names and takes those it has
    /// in `model` (the final model of the changes being applied).
    pub(crate) fn entity_written(
        &mut self,
        kind: Kind,
        at: u32,
        old: Option<&Names>,
        model: &Model,
    ) {
        let Some(new) = Names::of(model, kind, at) else {
            return;
        };
        if let Some(lookup) = self.get_mut(kind) {
            lookup.replace(at, old, &new);
        }
    }
}
