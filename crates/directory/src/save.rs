//! Writing a [`Model`] back out in the file format (JSON or NDJSON).
//!
//! Saving is the inverse of validation: load → save → load yields an equal model. Numbers are
//! written only when they were explicit (a default number is the position, which the reader
//! recomputes), and timestamps as RFC 3339 UTC with milliseconds (`2021-09-10T12:48:22.381Z`).

use chrono::{DateTime, SecondsFormat};
use serde::Serialize;

use crate::model::{self, Millis, Model, Scope, Subject};
use crate::raw;

/// Formats epoch milliseconds as RFC 3339 UTC with milliseconds.
///
/// Out-of-range values (beyond chrono's ±262,000 years) cannot come from validation; they are
/// written as the epoch rather than panicking.
pub fn format_timestamp(ms: Millis) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn ids<T: Clone>(
    items: &crate::shared::Chunked<T>,
    indices: impl Iterator<Item = usize>,
    id: impl Fn(&T) -> &str,
) -> Vec<String> {
    indices.map(|i| id(&items[i]).to_owned()).collect()
}

/// Converts a model back into the file-format structs.
pub fn to_raw(model: &Model) -> raw::Directory {
    raw::Directory {
        format: raw::FORMAT.to_owned(),
        services: model
            .services
            .iter()
            .map(|s| raw::Service {
                id: s.id.clone(),
                name: s.name.clone(),
            })
            .collect(),
        permissions: model
            .permissions
            .iter()
            .map(|p| raw::Permission {
                id: p.id.clone(),
                name: p.name.clone(),
            })
            .collect(),
        roles: model.roles.iter().map(|r| role_to_raw(model, r)).collect(),
        organizations: model
            .organizations
            .iter()
            .map(|o| raw::Organization {
                id: o.id.clone(),
                name: o.name.clone(),
            })
            .collect(),
        projects: model
            .projects
            .iter()
            .map(|p| project_to_raw(model, p))
            .collect(),
        groups: model
            .groups
            .iter()
            .map(|g| group_to_raw(model, g))
            .collect(),
        teams: model.teams.iter().map(|t| team_to_raw(model, t)).collect(),
        grants: model
            .grants
            .iter()
            .map(|g| grant_to_raw(model, g))
            .collect(),
        users: saved_users(model).collect(),
    }
}

/// One role in file form.
pub fn role_to_raw(model: &Model, role: &model::Role) -> raw::Role {
    raw::Role {
        id: role.id.clone(),
        name: role.name.clone(),
        permissions: ids(
            &model.permissions,
            role.permissions.iter().map(|p| p.index()),
            |p| &p.id,
        ),
    }
}

/// One project in file form.
pub fn project_to_raw(model: &Model, project: &model::Project) -> raw::Project {
    raw::Project {
        id: project.id.clone(),
        name: project.name.clone(),
        key: project.key.clone(),
        organization: project
            .organization
            .map(|o| model.organizations[o.index()].id.clone()),
    }
}

/// One group in file form.
pub fn group_to_raw(model: &Model, group: &model::Group) -> raw::Group {
    raw::Group {
        id: group.id.clone(),
        name: group.name.clone(),
        parent: group.parent.map(|g| model.groups[g.index()].id.clone()),
    }
}

/// One team in file form.
pub fn team_to_raw(model: &Model, team: &model::Team) -> raw::Team {
    raw::Team {
        id: team.id.clone(),
        name: team.name.clone(),
        project: team.project.map(|p| model.projects[p.index()].id.clone()),
        users: team
            .users
            .iter()
            .map(|&u| model.users[u as usize].id.to_string())
            .collect(),
        groups: team
            .groups
            .iter()
            .map(|&g| model.groups[g.index()].id.clone())
            .collect(),
    }
}

/// One grant in file form (also used by the store to describe grants in errors).
pub fn grant_to_raw(model: &Model, grant: &model::Grant) -> raw::Grant {
    let mut out = raw::Grant {
        role: model.roles[grant.role.index()].id.clone(),
        ..raw::Grant::default()
    };
    match grant.subject {
        Subject::User(row) => out.user = Some(model.users[row as usize].id.to_string()),
        Subject::Group(g) => out.group = Some(model.groups[g.index()].id.clone()),
        Subject::Team(t) => out.team = Some(model.teams[t.index()].id.clone()),
    }
    match grant.scope {
        Scope::Global => {}
        Scope::Organization(o) => {
            out.organization = Some(model.organizations[o.index()].id.clone())
        }
        Scope::Project(p) => out.project = Some(model.projects[p.index()].id.clone()),
    }
    out
}

/// The live users in file form, in row order. A save writes no holes, so a user after a deleted
/// one lands at a smaller position than its row: its number is written out whenever it differs
/// from the position the reader will give it (GitLab ids never change across a save → load).
fn saved_users(model: &Model) -> impl Iterator<Item = raw::User> + '_ {
    model
        .users
        .iter()
        .enumerate()
        .map(move |(position, (row, user))| {
            let mut out = user_to_raw(model, row);
            if out.number.is_none() && user.number != position as u64 + 1 {
                out.number = Some(user.number as i64);
            }
            out
        })
}

/// The user at `row` in file form. `row` must hold a user, as for `model.users[row]`.
pub fn user_to_raw(model: &Model, row: model::Row) -> raw::User {
    let user = &model.users[row as usize];
    let time = |t: Option<Millis>| t.map(format_timestamp);
    raw::User {
        id: user.id.to_string(),
        number: user.number_explicit.then_some(user.number as i64),
        login: user.login.to_string(),
        name: user.name.clone().map(Into::into),
        email: user.email.clone().map(Into::into),
        email_verified: user.email_verified,
        public_email: user.public_email.clone().map(Into::into),
        emails: user.emails.clone().into_vec(),
        state: (user.state != model::State::Active).then(|| user.state.as_str().to_owned()),
        admin: user.admin,
        guest: user.guest,
        user_type: (&*user.user_type != "human").then(|| user.user_type.to_string()),
        external: user.external,
        two_factor: user.two_factor,
        two_factor_capable: user.two_factor_capable,
        created_at: format_timestamp(user.created_at),
        updated_at: time(user.updated_at.get()),
        last_access_at: time(model.users.last_access(row as usize)),
        last_sign_in_at: time(user.last_sign_in_at.get()),
        confirmed_at: time(user.confirmed_at.get()),
        ban: user.ban.as_ref().map(|b| raw::Ban {
            status: b.status.clone(),
            reason: b.reason.clone(),
            at: time(b.at),
        }),
        auth: user
            .auth
            .iter()
            .map(|a| raw::AuthDetail {
                module: a.module.to_string(),
                module_name: a.module_name.map(Into::into),
                login: a.login.map(Into::into),
                name: a.name.map(Into::into),
                email: a.email.map(Into::into),
                uid: a.uid.map(Into::into),
                saml_provider_id: a.saml_provider_id.map(Into::into),
            })
            .collect(),
        ssh_keys: user
            .ssh_keys
            .iter()
            .map(|k| raw::SshKey {
                title: k.title.map(Into::into),
                key: k.key.to_string(),
                fingerprint: k.fingerprint.map(Into::into),
            })
            .collect(),
        licenses: ids(
            &model.services,
            user.licenses.iter().map(|s| s.index()),
            |s| &s.id,
        ),
        vcs_user_names: user.vcs_user_names.clone().into_vec(),
        origin_service: user
            .origin_service
            .map(|s| model.services[s.index()].id.clone()),
        refresh_token: user.refresh_token,
        permanent_token: user.permanent_token,
        approved_resource: user.approved_resource,
        accepted_eua: user.accepted_eua,
        groups: user
            .groups
            .iter()
            .map(|m| raw::GroupRef {
                id: model.groups[m.group.index()].id.clone(),
                access: m.access.map(|a| a.as_str().to_owned()),
            })
            .collect(),
        organizations: ids(
            &model.organizations,
            user.organizations.iter().map(|o| o.index()),
            |o| &o.id,
        ),
        enterprise_group: user
            .enterprise_group
            .map(|g| model.groups[g.index()].id.clone()),
        profile: user.profile.clone().into_map(),
    }
}

/// The whole directory as pretty-printed JSON.
pub fn save_json(model: &Model) -> Vec<u8> {
    // Serializing plain structs and string maps into a Vec cannot fail.
    serde_json::to_vec_pretty(&to_raw(model)).unwrap_or_default()
}

/// An NDJSON line: the object's fields plus its `kind`, `kind` first.
#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    kind: &'static str,
    #[serde(flatten)]
    object: &'a T,
}

fn push_line<T: Serialize>(out: &mut Vec<u8>, kind: &'static str, object: &T) {
    if serde_json::to_writer(&mut *out, &Tagged { kind, object }).is_ok() {
        out.push(b'\n');
    }
}

/// The whole directory as NDJSON (header line, then one object per line, users last).
///
/// Users are converted one at a time, so saving a large directory does not hold a second copy
/// of every user in memory.
pub fn save_ndjson(model: &Model) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"{\"format\":\"userql-directory/1\"}\n");
    let skeleton = to_raw(&Model {
        users: Default::default(),
        grants: Default::default(),
        teams: Default::default(),
        ..model.clone_tables()
    });
    skeleton
        .services
        .iter()
        .for_each(|o| push_line(&mut out, "service", o));
    skeleton
        .permissions
        .iter()
        .for_each(|o| push_line(&mut out, "permission", o));
    skeleton
        .roles
        .iter()
        .for_each(|o| push_line(&mut out, "role", o));
    skeleton
        .organizations
        .iter()
        .for_each(|o| push_line(&mut out, "organization", o));
    skeleton
        .projects
        .iter()
        .for_each(|o| push_line(&mut out, "project", o));
    skeleton
        .groups
        .iter()
        .for_each(|o| push_line(&mut out, "group", o));
    let full = to_raw_teams_and_grants(model);
    full.0.iter().for_each(|o| push_line(&mut out, "team", o));
    full.1.iter().for_each(|o| push_line(&mut out, "grant", o));
    for user in saved_users(model) {
        push_line(&mut out, "user", &user);
    }
    out
}

fn to_raw_teams_and_grants(model: &Model) -> (Vec<raw::Team>, Vec<raw::Grant>) {
    let teams = model.teams.iter().map(|t| team_to_raw(model, t)).collect();
    let grants = model
        .grants
        .iter()
        .map(|g| grant_to_raw(model, g))
        .collect();
    (teams, grants)
}

/// Shallow copy helpers kept private to this module.
trait CloneTables {
    fn clone_tables(&self) -> Model;
}

impl CloneTables for Model {
    /// Copies the small tables only (no users, grants or teams).
    fn clone_tables(&self) -> Model {
        Model {
            services: self.services.clone(),
            permissions: self.permissions.clone(),
            roles: self.roles.clone(),
            organizations: self.organizations.clone(),
            projects: self.projects.clone(),
            groups: self.groups.clone(),
            teams: Default::default(),
            grants: Default::default(),
            users: Default::default(),
        }
    }
}
