//! The case issue 13 names beside the stream's mix: grants to a group with about ten thousand
//! transitive members, put and deleted. The stream's grants to groups pick groups at random, and
//! at 1M users most groups have a few hundred members, so its per-kind rows never show it.

use std::collections::HashSet;

use userql_directory::changes::{Change, Object, Target};
use userql_directory::facts::transitive_groups;
use userql_directory::model::{GroupIdx, Model, Scope, Subject};
use userql_directory::raw;

/// Transitive members from which a group is "large" (the ten thousand).
pub const LARGE_MEMBERS: u64 = 10_000;

/// The per-kind table's row of a grant put to the large group.
pub const LARGE_PUT: &str = "grant put (group, 10k+ members)";

/// The per-kind table's row of a grant deleted from the large group.
pub const LARGE_DELETE: &str = "grant delete (group, 10k+ members)";

/// Whether `kind` is one of the large group's rows (applied after the stream, so no share of it).
pub fn is_large(kind: &str) -> bool {
    kind == LARGE_PUT || kind == LARGE_DELETE
}

/// The kind of one of [`grants`]' changes.
pub fn kind(change: &Change) -> &'static str {
    match change {
        Change::Put(_) => LARGE_PUT,
        _ => LARGE_DELETE,
    }
}

/// The group with the fewest transitive members among those with at least
/// [`LARGE_MEMBERS`] (the largest group when none has that many), with its id and count.
pub fn group(model: &Model) -> Option<(GroupIdx, String, u64)> {
    let mut counts = vec![0u64; model.groups.len()];
    for (row, _) in model.users.iter() {
        for group in transitive_groups(model, row) {
            if let Some(count) = counts.get_mut(group.index()) {
                *count += 1;
            }
        }
    }
    let (at, &count) = counts
        .iter()
        .enumerate()
        .filter(|(_, &count)| count >= LARGE_MEMBERS)
        .min_by_key(|(_, &count)| count)
        .or_else(|| counts.iter().enumerate().max_by_key(|(_, &count)| count))?;
    let group = GroupIdx(at as u32);
    let id = model.groups.get(at)?.id.clone();
    Some((group, id, count))
}

/// `pairs` grants to `group` (id `id`) that `model` does not hold, each put then deleted,
/// cycling over the three scopes (global, an organization, a project) and the roles.
pub fn grants(model: &Model, group: GroupIdx, id: &str, pairs: usize) -> Vec<Change> {
    let held: HashSet<(u32, Scope)> = model
        .grants
        .iter()
        .filter(|grant| grant.subject == Subject::Group(group))
        .map(|grant| (grant.role.0, grant.scope))
        .collect();
    let (roles, orgs, projects) = (
        model.roles.len(),
        model.organizations.len(),
        model.projects.len(),
    );
    let mut changes = Vec::with_capacity(pairs * 2);
    for i in 0..pairs * 4 {
        if changes.len() >= pairs * 2 || roles == 0 {
            break;
        }
        let (scope, organization, project) = match i % 3 {
            1 if orgs > 0 => {
                let at = (i / 3) % orgs;
                let org = model.organizations.get(at).map(|o| o.id.clone());
                (
                    Scope::Organization(userql_directory::model::OrgIdx(at as u32)),
                    org,
                    None,
                )
            }
            2 if projects > 0 => {
                let at = (i / 3 * 7919) % projects;
                let project = model.projects.get(at).map(|p| p.id.clone());
                (
                    Scope::Project(userql_directory::model::ProjectIdx(at as u32)),
                    None,
                    project,
                )
            }
            _ => (Scope::Global, None, None),
        };
        let role = i % roles;
        if held.contains(&(role as u32, scope)) {
            continue;
        }
        let Some(role) = model.roles.get(role) else {
            continue;
        };
        let grant = raw::Grant {
            role: role.id.clone(),
            project,
            organization,
            group: Some(id.to_owned()),
            ..raw::Grant::default()
        };
        changes.push(Change::Put(Object::Grant(grant.clone())));
        changes.push(Change::Delete(Target::Grant(grant)));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use userql_directory::generate::{generate, GenOptions};
    use userql_directory::store::Store;

    #[test]
    fn the_large_groups_grants_apply_and_leave_the_directory_as_it_was() {
        let model = generate(&GenOptions {
            users: 3_000,
            seed: 7,
        });
        let (group, id, members) = group(&model).expect("a generated directory has groups");
        // No group has 10k members at 3k users: the largest is taken.
        assert!(members < LARGE_MEMBERS);
        assert!(members > 0, "the largest group has members");
        let changes = grants(&model, group, &id, 6);
        assert_eq!(changes.len(), 12, "six pairs");
        assert_eq!(changes.iter().filter(|c| kind(c) == LARGE_PUT).count(), 6);
        let store = Store::new(model.clone());
        let before = store.snapshot().model.grants.len();
        for change in &changes {
            store
                .apply_changes(std::slice::from_ref(change))
                .expect("each put is of a grant the group lacks, each delete of that grant");
        }
        assert_eq!(store.snapshot().model.grants.len(), before);
    }
}
