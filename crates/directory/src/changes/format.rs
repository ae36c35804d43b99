//! The change format of `userql-changes/1` as serde types.
//!
//! On the wire a change is one flat object (`op`, `kind`, and `value`, `id`, `set` or `at`);
//! in Rust it is the typed [`Change`], so a change that parses is well-formed: a put carries a
//! complete object of its kind, a patch names an id and fields, a delete names what it removes.
//! The JSON form is stable and round-trips (`Change` → JSON → `Change` is the identity), which
//! the write-ahead log relies on: it stores a batch as the JSON array of its changes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::raw;

/// The tag of the first line of a changes file.
pub const FORMAT: &str = "userql-changes/1";

/// An atomic batch: applied all or nothing.
pub type Batch = Vec<Change>;

/// The kinds of object of `directory.md` that put, patch and delete address by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    /// A user.
    User,
    /// A group.
    Group,
    /// A project team.
    Team,
    /// A project.
    Project,
    /// An organization.
    Organization,
    /// A role.
    Role,
    /// A permission.
    Permission,
    /// A service.
    Service,
}

impl EntityKind {
    /// The spelling in changes and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Group => "group",
            EntityKind::Team => "team",
            EntityKind::Project => "project",
            EntityKind::Organization => "organization",
            EntityKind::Role => "role",
            EntityKind::Permission => "permission",
            EntityKind::Service => "service",
        }
    }
}

/// One direct group membership (`{"user", "group", "access"}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    /// User id.
    pub user: String,
    /// Group id.
    pub group: String,
    /// GitLab access level (`guest` … `owner`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
}

/// A complete object, as a put carries it (fields exactly as in `directory.md`).
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// A user (boxed: much larger than the other kinds).
    User(Box<raw::User>),
    /// A group.
    Group(raw::Group),
    /// A team.
    Team(raw::Team),
    /// A project.
    Project(raw::Project),
    /// An organization.
    Organization(raw::Organization),
    /// A role.
    Role(raw::Role),
    /// A permission.
    Permission(raw::Permission),
    /// A service.
    Service(raw::Service),
    /// A grant.
    Grant(raw::Grant),
    /// A direct membership.
    Membership(Membership),
}

/// What a delete removes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// The object of this kind with this id.
    Entity {
        /// Its kind.
        kind: EntityKind,
        /// Its id.
        id: String,
    },
    /// The grant equal to this one.
    Grant(raw::Grant),
    /// The direct membership of `user` in `group` (`access` is ignored).
    Membership(Membership),
}

/// One change to the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Wire", into = "Wire")]
pub enum Change {
    /// Insert or replace an object (add a grant, make or update a membership).
    Put(Object),
    /// Set the listed fields of an existing object.
    Patch {
        /// The object's kind.
        kind: EntityKind,
        /// Its id (cannot change).
        id: String,
        /// Field → new value; `null` clears an optional field, a list replaces the list.
        set: Map<String, Value>,
    },
    /// Remove an object, a grant or a membership.
    Delete(Target),
    /// A sign-in: set a user's `last_access_at`.
    Touch {
        /// User id.
        id: String,
        /// RFC 3339 time.
        at: String,
    },
}

impl Change {
    /// What the change is about, as messages name it: `user u-42`, `grant role developer`,
    /// `membership u-1 in g-2`.
    pub fn subject(&self) -> String {
        match self {
            Change::Put(object) => match object {
                Object::User(v) => format!("user {}", v.id),
                Object::Group(v) => format!("group {}", v.id),
                Object::Team(v) => format!("team {}", v.id),
                Object::Project(v) => format!("project {}", v.id),
                Object::Organization(v) => format!("organization {}", v.id),
                Object::Role(v) => format!("role {}", v.id),
                Object::Permission(v) => format!("permission {}", v.id),
                Object::Service(v) => format!("service {}", v.id),
                Object::Grant(g) => format!("grant role {}", g.role),
                Object::Membership(m) => format!("membership {} in {}", m.user, m.group),
            },
            Change::Patch { kind, id, .. } | Change::Delete(Target::Entity { kind, id }) => {
                format!("{} {id}", kind.as_str())
            }
            Change::Delete(Target::Grant(g)) => format!("grant role {}", g.role),
            Change::Delete(Target::Membership(m)) => {
                format!("membership {} in {}", m.user, m.group)
            }
            Change::Touch { id, .. } => format!("user {id}"),
        }
    }
}

/// The operations of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Op {
    Put,
    Patch,
    Delete,
    Touch,
}

/// The `kind` field: an entity kind, or one of the two relations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum WireKind {
    User,
    Group,
    Team,
    Project,
    Organization,
    Role,
    Permission,
    Service,
    Grant,
    Membership,
}

impl WireKind {
    fn entity(self) -> Option<EntityKind> {
        Some(match self {
            WireKind::User => EntityKind::User,
            WireKind::Group => EntityKind::Group,
            WireKind::Team => EntityKind::Team,
            WireKind::Project => EntityKind::Project,
            WireKind::Organization => EntityKind::Organization,
            WireKind::Role => EntityKind::Role,
            WireKind::Permission => EntityKind::Permission,
            WireKind::Service => EntityKind::Service,
            WireKind::Grant | WireKind::Membership => return None,
        })
    }

    fn of_entity(kind: EntityKind) -> WireKind {
        match kind {
            EntityKind::User => WireKind::User,
            EntityKind::Group => WireKind::Group,
            EntityKind::Team => WireKind::Team,
            EntityKind::Project => WireKind::Project,
            EntityKind::Organization => WireKind::Organization,
            EntityKind::Role => WireKind::Role,
            EntityKind::Permission => WireKind::Permission,
            EntityKind::Service => WireKind::Service,
        }
    }

    fn name(self) -> &'static str {
        match self.entity() {
            Some(kind) => kind.as_str(),
            None if self == WireKind::Grant => "grant",
            None => "membership",
        }
    }
}

/// The flat wire form every change is read from and written as.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    op: Op,
    kind: WireKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    set: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<String>,
}

impl Wire {
    fn new(op: Op, kind: WireKind) -> Wire {
        Wire {
            op,
            kind,
            id: None,
            value: None,
            set: None,
            at: None,
        }
    }

    /// Refuses the fields this op does not take.
    fn only(&self, allowed: &[&str]) -> Result<(), String> {
        let present = [
            ("id", self.id.is_some()),
            ("value", self.value.is_some()),
            ("set", self.set.is_some()),
            ("at", self.at.is_some()),
        ];
        for (name, is_present) in present {
            if is_present && !allowed.contains(&name) {
                return Err(format!(
                    "field `{name}` is not allowed in a {} of a {}",
                    op_name(self.op),
                    self.kind.name()
                ));
            }
        }
        Ok(())
    }

    fn required<T>(&self, field: Option<T>, name: &str) -> Result<T, String> {
        field.ok_or_else(|| {
            format!(
                "missing field `{name}` (a {} of a {} needs it)",
                op_name(self.op),
                self.kind.name()
            )
        })
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Put => "put",
        Op::Patch => "patch",
        Op::Delete => "delete",
        Op::Touch => "touch",
    }
}

/// Deserializes `value` as `T`, naming the field on failure.
fn value_as<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| format!("`value`: {e}"))
}

fn to_value<T: Serialize>(value: &T) -> Value {
    // The raw types serialize to plain JSON objects; nothing in them can fail to serialize.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl TryFrom<Wire> for Change {
    type Error = String;

    fn try_from(wire: Wire) -> Result<Change, String> {
        match wire.op {
            Op::Put => {
                wire.only(&["value"])?;
                let value = wire.required(wire.value.clone(), "value")?;
                let object = match wire.kind {
                    WireKind::User => Object::User(value_as(value)?),
                    WireKind::Group => Object::Group(value_as(value)?),
                    WireKind::Team => Object::Team(value_as(value)?),
                    WireKind::Project => Object::Project(value_as(value)?),
                    WireKind::Organization => Object::Organization(value_as(value)?),
                    WireKind::Role => Object::Role(value_as(value)?),
                    WireKind::Permission => Object::Permission(value_as(value)?),
                    WireKind::Service => Object::Service(value_as(value)?),
                    WireKind::Grant => Object::Grant(value_as(value)?),
                    WireKind::Membership => Object::Membership(value_as(value)?),
                };
                Ok(Change::Put(object))
            }
            Op::Patch => {
                let Some(kind) = wire.kind.entity() else {
                    return Err(format!(
                        "a {} cannot be patched (put or delete it)",
                        wire.kind.name()
                    ));
                };
                wire.only(&["id", "set"])?;
                let id = wire.required(wire.id.clone(), "id")?;
                let set = wire.required(wire.set.clone(), "set")?;
                Ok(Change::Patch { kind, id, set })
            }
            Op::Delete => match wire.kind.entity() {
                Some(kind) => {
                    wire.only(&["id"])?;
                    let id = wire.required(wire.id.clone(), "id")?;
                    Ok(Change::Delete(Target::Entity { kind, id }))
                }
                None => {
                    wire.only(&["value"])?;
                    let value = wire.required(wire.value.clone(), "value")?;
                    Ok(Change::Delete(if wire.kind == WireKind::Grant {
                        Target::Grant(value_as(value)?)
                    } else {
                        Target::Membership(value_as(value)?)
                    }))
                }
            },
            Op::Touch => {
                if wire.kind != WireKind::User {
                    return Err(format!(
                        "touch applies to users, not to a {}",
                        wire.kind.name()
                    ));
                }
                wire.only(&["id", "at"])?;
                let id = wire.required(wire.id.clone(), "id")?;
                let at = wire.required(wire.at.clone(), "at")?;
                Ok(Change::Touch { id, at })
            }
        }
    }
}

impl From<Change> for Wire {
    fn from(change: Change) -> Wire {
        match change {
            Change::Put(object) => {
                let (kind, value) = match &object {
                    Object::User(v) => (WireKind::User, to_value(v)),
                    Object::Group(v) => (WireKind::Group, to_value(v)),
                    Object::Team(v) => (WireKind::Team, to_value(v)),
                    Object::Project(v) => (WireKind::Project, to_value(v)),
                    Object::Organization(v) => (WireKind::Organization, to_value(v)),
                    Object::Role(v) => (WireKind::Role, to_value(v)),
                    Object::Permission(v) => (WireKind::Permission, to_value(v)),
                    Object::Service(v) => (WireKind::Service, to_value(v)),
                    Object::Grant(v) => (WireKind::Grant, to_value(v)),
                    Object::Membership(v) => (WireKind::Membership, to_value(v)),
                };
                Wire {
                    value: Some(value),
                    ..Wire::new(Op::Put, kind)
                }
            }
            Change::Patch { kind, id, set } => Wire {
                id: Some(id),
                set: Some(set),
                ..Wire::new(Op::Patch, WireKind::of_entity(kind))
            },
            Change::Delete(Target::Entity { kind, id }) => Wire {
                id: Some(id),
                ..Wire::new(Op::Delete, WireKind::of_entity(kind))
            },
            Change::Delete(Target::Grant(grant)) => Wire {
                value: Some(to_value(&grant)),
                ..Wire::new(Op::Delete, WireKind::Grant)
            },
            Change::Delete(Target::Membership(membership)) => Wire {
                value: Some(to_value(&membership)),
                ..Wire::new(Op::Delete, WireKind::Membership)
            },
            Change::Touch { id, at } => Wire {
                id: Some(id),
                at: Some(at),
                ..Wire::new(Op::Touch, WireKind::User)
            },
        }
    }
}
