//! One value per catalog kind, reached by [`Kind`]: the id tables of validation, the writer's
//! catalog id maps and the entity lookups all hold one map per catalog kind, and this is the one
//! place that says which field a kind lives in.

use super::places::Kind;

/// A `T` for each of the seven catalog kinds (users and grants are not catalog objects).
#[derive(Debug, Default, Clone)]
pub(crate) struct PerCatalog<T> {
    pub services: T,
    pub permissions: T,
    pub roles: T,
    pub organizations: T,
    pub projects: T,
    pub groups: T,
    pub teams: T,
}

impl<T> PerCatalog<T> {
    /// The value of catalog `kind` (`None` for users and grants).
    pub(crate) fn get(&self, kind: Kind) -> Option<&T> {
        Some(match kind {
            Kind::Service => &self.services,
            Kind::Permission => &self.permissions,
            Kind::Role => &self.roles,
            Kind::Organization => &self.organizations,
            Kind::Project => &self.projects,
            Kind::Group => &self.groups,
            Kind::Team => &self.teams,
            Kind::User | Kind::Grant => return None,
        })
    }

    /// The value of catalog `kind`, mutably (`None` for users and grants).
    pub(crate) fn get_mut(&mut self, kind: Kind) -> Option<&mut T> {
        Some(match kind {
            Kind::Service => &mut self.services,
            Kind::Permission => &mut self.permissions,
            Kind::Role => &mut self.roles,
            Kind::Organization => &mut self.organizations,
            Kind::Project => &mut self.projects,
            Kind::Group => &mut self.groups,
            Kind::Team => &mut self.teams,
            Kind::User | Kind::Grant => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_kind_has_its_own_slot_and_others_none() {
        let mut per = PerCatalog::<Vec<Kind>>::default();
        for kind in Kind::ALL {
            if let Some(slot) = per.get_mut(kind) {
                slot.push(kind);
            }
        }
        for kind in Kind::ALL {
            match kind {
                Kind::User | Kind::Grant => assert!(per.get(kind).is_none()),
                _ => assert_eq!(per.get(kind), Some(&vec![kind])),
            }
        }
    }
}
