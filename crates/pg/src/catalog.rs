//! The catalog (services, permissions, roles, organizations, projects, groups, teams) read back
//! from the database into a user-less [`Model`], so the engine's own binder resolves names
//! exactly as it does in memory. Users, memberships and grants stay in the database.

use std::sync::Arc;

use postgres::GenericClient;
use userql_directory::index::Indexes;
use userql_directory::model::{
    Group, GroupIdx, Model, OrgIdx, Organization, Permission, PermissionIdx, Project, ProjectIdx,
    Role, Service, Team,
};
use userql_directory::Snapshot;

use crate::error::Error;

fn position(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Reads the catalog tables (ordered by their dense index) into a model without users.
pub fn read(client: &mut impl GenericClient) -> Result<Model, Error> {
    let mut model = Model::default();
    for row in client.query("SELECT id, name FROM services ORDER BY idx", &[])? {
        model.services.push(Service {
            id: row.get(0),
            name: row.get(1),
        });
    }
    for row in client.query("SELECT id, name FROM permissions ORDER BY idx", &[])? {
        model.permissions.push(Permission {
            id: row.get(0),
            name: row.get(1),
        });
    }
    let role_permissions = client.query(
        "SELECT role, permission FROM role_permissions ORDER BY role, position",
        &[],
    )?;
    for row in client.query("SELECT idx, id, name FROM roles ORDER BY idx", &[])? {
        let idx: i32 = row.get(0);
        model.roles.push(Role {
            id: row.get(1),
            name: row.get(2),
            permissions: role_permissions
                .iter()
                .filter(|p| p.get::<_, i32>(0) == idx)
                .map(|p| PermissionIdx(position(p.get(1))))
                .collect(),
        });
    }
    for row in client.query("SELECT id, name FROM organizations ORDER BY idx", &[])? {
        model.organizations.push(Organization {
            id: row.get(0),
            name: row.get(1),
        });
    }
    for row in client.query(
        "SELECT id, name, key, organization FROM projects ORDER BY idx",
        &[],
    )? {
        model.projects.push(Project {
            id: row.get(0),
            name: row.get(1),
            key: row.get(2),
            organization: row.get::<_, Option<i32>>(3).map(|o| OrgIdx(position(o))),
        });
    }
    for row in client.query("SELECT id, name, parent FROM groups ORDER BY idx", &[])? {
        model.groups.push(Group {
            id: row.get(0),
            name: row.get(1),
            parent: row.get::<_, Option<i32>>(2).map(|g| GroupIdx(position(g))),
        });
    }
    let team_groups = client.query(
        "SELECT team, grp FROM team_groups ORDER BY team, position",
        &[],
    )?;
    for row in client.query("SELECT idx, id, name, project FROM teams ORDER BY idx", &[])? {
        let idx: i32 = row.get(0);
        model.teams.push(Team {
            id: row.get(1),
            name: row.get(2),
            project: row
                .get::<_, Option<i32>>(3)
                .map(|p| ProjectIdx(position(p))),
            users: Vec::new(),
            groups: team_groups
                .iter()
                .filter(|g| g.get::<_, i32>(0) == idx)
                .map(|g| GroupIdx(position(g.get(1))))
                .collect(),
        });
    }
    Ok(model)
}

/// The catalog model with its indexes (entity resolution), ready for the binder.
pub fn snapshot(model: Model) -> Snapshot {
    let index = Indexes::build(&model);
    Snapshot::indexed(0, Arc::new(model), Arc::new(index))
}
