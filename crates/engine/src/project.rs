//! Projection: users → Hub's user JSON, the `fields` selection, and the page envelope.
//!
//! The full object is built per user on the page (a page is at most the `$top` cap), then cut
//! down to the selection; one user costs O(what reaches that user) — its groups, teams and
//! grants come from the snapshot's per-subject index, never from a pass over every grant.
//! Attributes the viewer may not see ([`Visibility`], hub-query.md "Who may ask what") are never
//! built, so no selection can reveal them.

use std::cell::OnceCell;
use std::collections::HashSet;

use serde_json::{json, Map, Value};
use userql_directory::facts::RowFacts;
use userql_directory::model::{Model, Row, Scope};
use userql_directory::Snapshot;
use userql_syntax::FieldSelection as Selection;

use crate::cost::Deadline;
use crate::error::Error;
use crate::visibility::{Attribute, Visibility};

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

/// Hub's `projectRoles` of one user: every grant reaching the user (in directory order, read
/// from the snapshot's per-subject index, so the cost is the user's own grants, never all of
/// them), one entry per distinct (role, project), global grants as project `0` "Global".
fn project_roles(snapshot: &Snapshot, row: Row, facts: &RowFacts) -> Vec<Value> {
    let model = &snapshot.model;
    let subjects = snapshot.subjects();
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    let mut out = Vec::new();
    for id in subjects.grants_reaching(row, facts) {
        let Some(grant) = model.grants.get(id as usize) else {
            continue;
        };
        let role = &model.roles[grant.role.index()];
        // usize::MAX stands for the global pseudo-project.
        let projects: Vec<usize> = match grant.scope {
            Scope::Global => vec![usize::MAX],
            Scope::Project(p) => vec![p.index()],
            Scope::Organization(o) => subjects.projects_of(o).iter().map(|p| p.index()).collect(),
        };
        for project in projects {
            if !seen.insert((grant.role.index(), project)) {
                continue;
            }
            let project = match model.projects.get(project) {
                Some(p) => entity(&p.id, &p.name, "project"),
                None => entity("0", "Global", "project"),
            };
            out.push(json!({
                "type": "projectRole",
                "role": entity(&role.id, &role.name, "role"),
                "project": project,
            }));
        }
    }
    out
}

/// The full Hub user object: private attributes only when the viewer may see them
/// ([`Visibility`]).
pub fn user_json(snapshot: &Snapshot, row: Row, visibility: Visibility) -> Value {
    user_fields(snapshot, row, visibility, &|_| true)
}

/// The top-level fields of the user object that `want` names: a field not wanted is never
/// computed (`fields=id` costs no group, team or grant lookup).
fn user_fields(
    snapshot: &Snapshot,
    row: Row,
    visibility: Visibility,
    want: &dyn Fn(&str) -> bool,
) -> Value {
    let model: &Model = &snapshot.model;
    let u = &model.users[row as usize];
    let facts_cell: OnceCell<RowFacts> = OnceCell::new();
    let facts = || facts_cell.get_or_init(|| snapshot.row_facts(row));
    let mut o = Fields {
        map: Map::new(),
        want,
    };
    o.put("type", || json!("user"));
    o.put("id", || json!(u.id));
    o.put("login", || json!(u.login));
    o.put("name", || {
        json!(u.name.clone().unwrap_or_else(|| u.login.clone()))
    });
    o.put("banned", || {
        json!(u.state == userql_directory::model::State::Banned)
    });
    o.put("guest", || json!(u.guest));
    if visibility.may_see(Attribute::Activity) {
        o.put("creationTime", || json!(u.created_at));
        o.put("lastAccessTime", || {
            json!(model.users.last_access(row as usize))
        });
    }
    if visibility.may_see(Attribute::Security) {
        o.put("banReason", || {
            json!(u.ban.as_ref().and_then(|b| b.reason.clone()))
        });
    }
    if visibility.may_see(Attribute::Email) {
        let email = u
            .email
            .as_ref()
            .map(|e| json!({"type": "EmailJSON", "email": e, "verified": u.email_verified}));
        o.put("profile", || json!({"email": email}));
    }
    if visibility.may_see(Attribute::Security) {
        o.put("details", || {
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
            )
        });
        o.put("sshPublicKeys", || {
            Value::Array(
                u.ssh_keys
                    .iter()
                    .map(|k| json!({"data": k.key, "fingerprint": k.fingerprint}))
                    .collect(),
            )
        });
        o.put(
            "twoFactorAuthentication",
            || json!({"enabled": u.two_factor}),
        );
    }
    o.put("groups", || {
        Value::Array(
            u.groups
                .iter()
                .map(|m| {
                    let g = &model.groups[m.group.index()];
                    entity(&g.id, &g.name, "userGroup")
                })
                .collect(),
        )
    });
    o.put("transitiveGroups", || {
        Value::Array(
            facts()
                .transitive_groups
                .iter()
                .map(|g| {
                    let g = &model.groups[g.index()];
                    entity(&g.id, &g.name, "userGroup")
                })
                .collect(),
        )
    });
    o.put("teams", || {
        Value::Array(
            facts()
                .teams
                .iter()
                .map(|t| {
                    let t = &model.teams[t.index()];
                    entity(&t.id, &t.name, "projectTeam")
                })
                .collect(),
        )
    });
    o.put("projectRoles", || {
        Value::Array(project_roles(snapshot, row, facts()))
    });
    o.put("VCSUserNames", || {
        Value::Array(
            u.vcs_user_names
                .iter()
                .map(|n| json!({"name": n}))
                .collect(),
        )
    });
    o.put("licenses", || {
        Value::Array(
            u.licenses
                .iter()
                .map(|s| {
                    let s = &model.services[s.index()];
                    entity(&s.id, &s.name, "service")
                })
                .collect(),
        )
    });
    o.put("userType", || json!({"id": &*u.user_type}));
    Value::Object(o.map)
}

/// A user object under construction that computes only the fields wanted.
struct Fields<'w> {
    map: Map<String, Value>,
    want: &'w dyn Fn(&str) -> bool,
}

impl Fields<'_> {
    fn put(&mut self, name: &str, value: impl FnOnce() -> Value) {
        if (self.want)(name) {
            self.map.insert(name.to_owned(), value());
        }
    }
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
    snapshot: &Snapshot,
    row: Row,
    visibility: Visibility,
    selection: Option<&Selection>,
) -> Value {
    match selection {
        Some(sel) => {
            let full = user_fields(snapshot, row, visibility, &|name| sel.get(name).is_some());
            select(&full, sel)
        }
        None => match user_fields(snapshot, row, visibility, &|name| {
            DEFAULT_FIELDS.contains(&name)
        }) {
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
    snapshot: &Snapshot,
    rows: &[Row],
    skip: u64,
    top: u64,
    total: u64,
    visibility: Visibility,
    selection: Option<&Selection>,
) -> Value {
    let users = project_users(snapshot, rows, visibility, selection, &Deadline::never())
        .unwrap_or_default();
    page_envelope(users, skip, top, total, selection)
}

/// The users of a page as the response shows them, checking the deadline per user (a page of
/// 10,000 users with every project role is a large body: a request past its time is cancelled).
pub fn project_users(
    snapshot: &Snapshot,
    rows: &[Row],
    visibility: Visibility,
    selection: Option<&Selection>,
    deadline: &Deadline,
) -> Result<Vec<Value>, Error> {
    let mut users = Vec::with_capacity(rows.len());
    for (i, &row) in rows.iter().enumerate() {
        if i.is_multiple_of(64) {
            deadline.check()?;
        }
        users.push(project_user(snapshot, row, visibility, selection));
    }
    Ok(users)
}

/// Hub's `userPage` around already projected users (see [`page_json`]).
pub fn page_envelope(
    users: Vec<Value>,
    skip: u64,
    top: u64,
    total: u64,
    selection: Option<&Selection>,
) -> Value {
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
