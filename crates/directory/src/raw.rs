//! The file format (`directory.md`) as serde structs: exactly what is written, nothing resolved.
//!
//! Every struct denies unknown fields (except `profile`, which is free-form). Lists default to
//! empty when absent but reject `null` (serde's `Vec` does). Timestamps, states and access levels
//! stay strings here so that [`crate::load::validate`] can report every bad value with its place
//! instead of serde stopping at the first.

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

/// The only format tag this version reads and writes.
pub const FORMAT: &str = "userql-directory/1";

fn is_false(value: &bool) -> bool {
    !*value
}

/// A whole directory document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// Must be [`FORMAT`].
    pub format: String,
    /// Services.
    #[serde(default)]
    pub services: Vec<Service>,
    /// Permissions.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Organizations.
    #[serde(default)]
    pub organizations: Vec<Organization>,
    /// Projects.
    #[serde(default)]
    pub projects: Vec<Project>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Teams.
    #[serde(default)]
    pub teams: Vec<Team>,
    /// Grants.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Users.
    #[serde(default)]
    pub users: Vec<User>,
}

/// A service.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Unique id.
    pub id: String,
    /// Display name (defaults to empty).
    #[serde(default)]
    pub name: String,
}

/// A permission.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permission {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// A role.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Permission ids.
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Short key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Owning organization id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
}

/// A group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Parent group id (`null` for a root).
    #[serde(default)]
    pub parent: Option<String>,
}

/// A project team.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Project id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// User ids.
    #[serde(default)]
    pub users: Vec<String>,
    /// Group ids.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// A grant, as written: subject and scope fields are separate optional ids, so a grant with
/// two subjects can be represented (and rejected with a precise message).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Role id (required).
    pub role: String,
    /// Project scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Organization scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// User subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Group subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Team subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// A ban record.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ban {
    /// Ban status.
    #[serde(default)]
    pub status: Option<String>,
    /// Reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// RFC 3339 time.
    #[serde(default)]
    pub at: Option<String>,
}

/// An auth detail.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthDetail {
    /// Module type.
    pub module: String,
    /// Module name.
    #[serde(default)]
    pub module_name: Option<String>,
    /// Login in the module.
    #[serde(default)]
    pub login: Option<String>,
    /// Full name in the module.
    #[serde(default)]
    pub name: Option<String>,
    /// Email in the module.
    #[serde(default)]
    pub email: Option<String>,
    /// External uid.
    #[serde(default)]
    pub uid: Option<String>,
    /// GitLab SAML provider id.
    #[serde(default)]
    pub saml_provider_id: Option<String>,
}

/// An SSH key.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshKey {
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Key text.
    pub key: String,
    /// Fingerprint.
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// One entry of `users[].groups`: a bare group id, or `{"id", "access"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupRef {
    /// Group id.
    pub id: String,
    /// Access level as written (validated later), when the object form is used.
    pub access: Option<String>,
}

impl Serialize for GroupRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match &self.access {
            None => serializer.serialize_str(&self.id),
            Some(access) => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("id", &self.id)?;
                map.serialize_entry("access", access)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for GroupRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (id, access) = deserializer.deserialize_any(GroupRefVisitor::<String>::new())?;
        Ok(GroupRef { id, access })
    }
}

/// A string type a [`GroupRefVisitor`] can produce: owned, or borrowed from the input.
pub(crate) trait FromText<'de>: Deserialize<'de> {
    /// From a string that lives as long as the input.
    fn borrowed(text: &'de str) -> Self;
    /// From a transient string (one with escapes).
    fn owned(text: &str) -> Self;
}

impl<'de> FromText<'de> for String {
    fn borrowed(text: &'de str) -> Self {
        text.to_owned()
    }

    fn owned(text: &str) -> Self {
        text.to_owned()
    }
}

/// Reads one `users[].groups` entry — a bare id or `{"id", "access"}` — as `(id, access)`; shared
/// by [`GroupRef`] and the loader's borrowed rows so both accept exactly the same input.
pub(crate) struct GroupRefVisitor<S>(std::marker::PhantomData<S>);

impl<S> GroupRefVisitor<S> {
    pub(crate) fn new() -> Self {
        GroupRefVisitor(std::marker::PhantomData)
    }
}

impl<'de, S: FromText<'de>> Visitor<'de> for GroupRefVisitor<S> {
    type Value = (S, Option<S>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a group id or an object {\"id\", \"access\"}")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok((S::borrowed(value), None))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok((S::owned(value), None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut id: Option<S> = None;
        let mut access: Option<Option<S>> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "id" if id.is_none() => id = Some(map.next_value()?),
                "access" if access.is_none() => access = Some(map.next_value()?),
                "id" | "access" => {
                    return Err(de::Error::custom(format!("duplicate field `{key}`")))
                }
                other => return Err(de::Error::unknown_field(other, &["id", "access"])),
            }
        }
        let id = id.ok_or_else(|| de::Error::missing_field("id"))?;
        Ok((id, access.flatten()))
    }
}

/// A user, as written.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Hub-style id.
    pub id: String,
    /// Explicit number; signed so that `-1` is reported as "not positive" rather than a type error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
    /// Login.
    pub login: String,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Primary email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Primary email verified.
    #[serde(default, skip_serializing_if = "is_false")]
    pub email_verified: bool,
    /// GitLab public email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_email: Option<String>,
    /// Secondary emails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    /// State (default `active`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Administrator.
    #[serde(default, skip_serializing_if = "is_false")]
    pub admin: bool,
    /// Hub guest account.
    #[serde(default, skip_serializing_if = "is_false")]
    pub guest: bool,
    /// User type (default `human`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// External.
    #[serde(default, skip_serializing_if = "is_false")]
    pub external: bool,
    /// 2FA enabled.
    #[serde(default, skip_serializing_if = "is_false")]
    pub two_factor: bool,
    /// 2FA capable.
    #[serde(default, skip_serializing_if = "is_false")]
    pub two_factor_capable: bool,
    /// RFC 3339, required.
    pub created_at: String,
    /// RFC 3339 or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// RFC 3339 or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_access_at: Option<String>,
    /// RFC 3339 or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sign_in_at: Option<String>,
    /// RFC 3339 or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<String>,
    /// Ban record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ban: Option<Ban>,
    /// Auth details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth: Vec<AuthDetail>,
    /// SSH keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_keys: Vec<SshKey>,
    /// Licensed service ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// VCS user names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vcs_user_names: Vec<String>,
    /// Origin service id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_service: Option<String>,
    /// Has a refresh token.
    #[serde(default, skip_serializing_if = "is_false")]
    pub refresh_token: bool,
    /// Has a permanent token.
    #[serde(default, skip_serializing_if = "is_false")]
    pub permanent_token: bool,
    /// Has an approved resource.
    #[serde(default, skip_serializing_if = "is_false")]
    pub approved_resource: bool,
    /// Accepted the EUA.
    #[serde(default, skip_serializing_if = "is_false")]
    pub accepted_eua: bool,
    /// Direct group memberships.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupRef>,
    /// Organization ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizations: Vec<String>,
    /// Enterprise group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_group: Option<String>,
    /// Free-form profile.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub profile: Map<String, Value>,
}
