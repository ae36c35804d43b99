//! Projection: users → Hub's user JSON, the `fields` selection, and the page envelope.
//!
//! The full object is built per user on the page (a page is at most the `$top` cap), then cut
//! down to the selection. Private attributes (hub-query.md "Who may ask what") are never built
//! for a non-admin viewer, so no selection can reveal them.

use std::collections::{BTreeSet, HashSet};

use serde_json::{json, Map, Value};
use userql_directory::model::{GroupIdx, Model, Row, Scope, Subject, TeamIdx};
use userql_syntax::FieldSelection as Selection;

/// The fields shown when the request has no `fields`.
pub const DEFAULT_FIELDS: &[&str] = &[
    "type",
    "id",
    "login",
    "name",
    "banned",
    "guest",
    "creationTime",
    "lastAccessTime",
];

fn entity(id: &str, name: &str, kind: &str) -> Value {
    json!({"type": kind, "id": id, "name": name})
}

/// Every group the user is in, directly or through a subgroup (ancestors of direct groups).
fn transitive_groups(model: &Model, row: Row) -> BTreeSet<GroupIdx> {
    let mut out = BTreeSet::new();
    for m in &model.users[row as usize].groups {
        let mut cur = Some(m.group);
        while let Some(g) = cur {
            if !out.insert(g) {
                break;
            }
            cur = model.groups[g.index()].parent;
        }
    }
    out
}

fn teams_of(model: &Model, row: Row, groups: &BTreeSet<GroupIdx>) -> Vec<TeamIdx> {
    model
        .teams
        .iter()
        .enumerate()
        .filter(|(_, t)| t.users.contains(&row) || t.groups.iter().any(|g| groups.contains(g)))
        .map(|(i, _)| TeamIdx(i as u32))
        .collect()
}

fn project_roles(
    model: &Model,
    row: Row,
    groups: &BTreeSet<GroupIdx>,
    teams: &[TeamIdx],
) -> Vec<Value> {
    let mut seen: HashSet<(usize, String)> = HashSet::new();
    let mut out = Vec::new();
    for grant in &model.grants {
        let reaches = match grant.subject {
            Subject::User(r) => r == row,
            Subject::Group(g) => groups.contains(&g),
            Subject::Team(t) => teams.contains(&t),
        };
        if !reaches {
            continue;
        }
        let role = &model.roles[grant.role.index()];
        let projects: Vec<(String, String)> = match grant.scope {
            Scope::Global => vec![("0".into(), "Global".into())],
            Scope::Project(p) => {
                let p = &model.projects[p.index()];
                vec![(p.id.clone(), p.name.clone())]
            }
            Scope::Organization(o) => model
                .projects
                .iter()
                .filter(|p| p.organization == Some(o))
                .map(|p| (p.id.clone(), p.name.clone()))
                .collect(),
        };
        for (pid, pname) in projects {
            if seen.insert((grant.role.index(), pid.clone())) {
                out.push(json!({
                    "type": "projectRole",
                    "role": entity(&role.id, &role.name, "role"),
                    "project": entity(&pid, &pname, "project"),
                }));
            }
        }
    }
    out
}

/// The full Hub user object (private attributes only for an admin viewer).
pub fn user_json(model: &Model, row: Row, admin_viewer: bool) -> Value {
    let u = &model.users[row as usize];
    let groups = transitive_groups(model, row);
    let teams = teams_of(model, row, &groups);
    let mut o = Map::new();
    o.insert("type".into(), json!("user"));
    o.insert("id".into(), json!(u.id));
    o.insert("login".into(), json!(u.login));
    o.insert(
        "name".into(),
        json!(u.name.clone().unwrap_or_else(|| u.login.clone())),
    );
    o.insert(
        "banned".into(),
        json!(u.state == userql_directory::model::State::Banned),
    );
    o.insert("guest".into(), json!(u.guest));
    o.insert("creationTime".into(), json!(u.created_at));
    o.insert("lastAccessTime".into(), json!(u.last_access_at));
    if admin_viewer {
        o.insert(
            "banReason".into(),
            json!(u.ban.as_ref().and_then(|b| b.reason.clone())),
        );
        let email = u
            .email
            .as_ref()
            .map(|e| json!({"type": "EmailJSON", "email": e, "verified": u.email_verified}));
        o.insert("profile".into(), json!({"email": email}));
        o.insert(
            "details".into(),
            Value::Array(
                u.auth
                    .iter()
                    .map(|a| {
                        json!({
                            "authModule": a.module,
                            "authModuleName": a.module_name,
                            "login": a.login,
                            "fullName": a.name,
                            "email": a.email,
                            "userid": a.uid,
                        })
                    })
                    .collect(),
            ),
        );
        o.insert(
            "sshPublicKeys".into(),
            Value::Array(
                u.ssh_keys
                    .iter()
                    .map(|k| json!({"data": k.key, "fingerprint": k.fingerprint}))
                    .collect(),
            ),
        );
        o.insert(
            "twoFactorAuthentication".into(),
            json!({"enabled": u.two_factor}),
        );
    }
    o.insert(
        "groups".into(),
        Value::Array(
            u.groups
                .iter()
                .map(|m| {
                    let g = &model.groups[m.group.index()];
                    entity(&g.id, &g.name, "userGroup")
                })
                .collect(),
        ),
    );
    o.insert(
        "transitiveGroups".into(),
        Value::Array(
            groups
                .iter()
                .map(|g| {
                    let g = &model.groups[g.index()];
                    entity(&g.id, &g.name, "userGroup")
                })
                .collect(),
        ),
    );
    o.insert(
        "teams".into(),
        Value::Array(
            teams
                .iter()
                .map(|t| {
                    let t = &model.teams[t.index()];
                    entity(&t.id, &t.name, "projectTeam")
                })
                .collect(),
        ),
    );
    o.insert(
        "projectRoles".into(),
        Value::Array(project_roles(model, row, &groups, &teams)),
    );
    o.insert(
        "VCSUserNames".into(),
        Value::Array(
            u.vcs_user_names
                .iter()
                .map(|n| json!({"name": n}))
                .collect(),
        ),
    );
    o.insert(
        "licenses".into(),
        Value::Array(
            u.licenses
                .iter()
                .map(|s| {
                    let s = &model.services[s.index()];
                    entity(&s.id, &s.name, "service")
                })
                .collect(),
        ),
    );
    o.insert("userType".into(), json!({"id": u.user_type}));
    Value::Object(o)
}

/// Cuts a value down to a selection. Unknown names are ignored (Hub's behaviour).
pub fn select(value: &Value, selection: &Selection) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| select(v, selection)).collect()),
        Value::Object(map) => {
            let mut out = Map::new();
            for node in &selection.fields {
                if let Some(v) = map.get(&node.name) {
                    let v = if node.children.is_empty() {
                        v.clone()
                    } else {
                        select(v, &node.children)
                    };
                    out.insert(node.name.clone(), v);
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// One user as the response shows it: the selection, or the default fields.
pub fn project_user(
    model: &Model,
    row: Row,
    admin_viewer: bool,
    selection: Option<&Selection>,
) -> Value {
    let full = user_json(model, row, admin_viewer);
    match selection {
        Some(sel) => select(&full, sel),
        None => match full {
            Value::Object(mut map) => {
                map.retain(|k, _| DEFAULT_FIELDS.contains(&k.as_str()));
                Value::Object(map)
            }
            other => other,
        },
    }
}

/// Hub's `userPage`: `{"type": "userPage", "skip", "top", "total", "users"}`. **(decided)** When
/// the selection names any page-level field (`skip`, `top`, `total`), only those page-level fields
/// appear; otherwise all do. `type` and `users` always appear.
pub fn page_json(
    model: &Model,
    rows: &[Row],
    skip: u64,
    top: u64,
    total: u64,
    admin_viewer: bool,
    selection: Option<&Selection>,
) -> Value {
    let users: Vec<Value> = rows
        .iter()
        .map(|&r| project_user(model, r, admin_viewer, selection))
        .collect();
    let mut o = Map::new();
    let show = |name: &str| selection.is_none_or(|s| s.get(name).is_some() || !has_page_names(s));
    o.insert("type".into(), json!("userPage"));
    if show("skip") {
        o.insert("skip".into(), json!(skip));
    }
    if show("top") {
        o.insert("top".into(), json!(top));
    }
    if show("total") {
        o.insert("total".into(), json!(total));
    }
    o.insert("users".into(), Value::Array(users));
    Value::Object(o)
}

fn has_page_names(selection: &Selection) -> bool {
    ["skip", "top", "total"]
        .iter()
        .any(|n| selection.get(n).is_some())
}
