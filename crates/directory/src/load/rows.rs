//! What the loaders hand to validation: the raw objects, except that grants and users are read
//! into rows whose *consumed* strings — references resolved to indexes, timestamps parsed to
//! milliseconds, states parsed to enums — borrow from the input instead of being owned.
//!
//! Why: a generated directory has ~4.8 grants per user, each with three ids, and every user has
//! a few timestamps, licenses and group ids. As owned `String`s these were millions of small
//! allocations made only to be hashed once and freed (a fifth of the load time in malloc/free).
//! A [`Text`] borrows when the JSON string has no escapes and owns only when it must.
//!
//! The rows accept exactly what the raw types accept (same fields, same defaults, unknown fields
//! denied), so the fast readers and the tolerant readers never disagree on a file. Strings that end
//! up in the model (ids, logins, names, emails, …) stay owned: they are allocated once either way.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::blocks::Blocks;
use crate::raw::{self, GroupRefVisitor};

/// A JSON string borrowed from the input when it has no escapes, owned otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Text<'a>(Cow<'a, str>);

impl Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Text<'_> {
    fn from(owned: String) -> Self {
        Text(Cow::Owned(owned))
    }
}

impl<'a> raw::FromText<'a> for Text<'a> {
    fn borrowed(text: &'a str) -> Self {
        Text(Cow::Borrowed(text))
    }

    fn owned(text: &str) -> Self {
        Text(Cow::Owned(text.to_owned()))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(value)))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(value.to_owned())))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(value)))
            }
        }

        deserializer.deserialize_str(TextVisitor)
    }
}

fn texts(owned: Vec<String>) -> Vec<Text<'static>> {
    // Same size and alignment: the collect reuses the vector's buffer.
    owned.into_iter().map(Text::from).collect()
}

fn text(owned: Option<String>) -> Option<Text<'static>> {
    owned.map(Text::from)
}

/// A grant as written ([`raw::Grant`]), every id borrowed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantRow<'a> {
    #[serde(borrow)]
    pub role: Text<'a>,
    #[serde(default, borrow)]
    pub project: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub organization: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub user: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub group: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub team: Option<Text<'a>>,
}

impl From<raw::Grant> for GrantRow<'static> {
    fn from(grant: raw::Grant) -> Self {
        GrantRow {
            role: grant.role.into(),
            project: text(grant.project),
            organization: text(grant.organization),
            user: text(grant.user),
            group: text(grant.group),
            team: text(grant.team),
        }
    }
}

/// The fields of a grant that validation reads, whatever holds them.
pub(crate) trait GrantFields {
    fn role(&self) -> &str;
    fn project(&self) -> Option<&str>;
    fn organization(&self) -> Option<&str>;
    fn user(&self) -> Option<&str>;
    fn group(&self) -> Option<&str>;
    fn team(&self) -> Option<&str>;
}

/// The same accessors for both grant types (their fields have the same names and shapes).
macro_rules! grant_fields {
    ($type:ty) => {
        impl GrantFields for $type {
            fn role(&self) -> &str {
                &self.role
            }
            fn project(&self) -> Option<&str> {
                self.project.as_deref()
            }
            fn organization(&self) -> Option<&str> {
                self.organization.as_deref()
            }
            fn user(&self) -> Option<&str> {
                self.user.as_deref()
            }
            fn group(&self) -> Option<&str> {
                self.group.as_deref()
            }
            fn team(&self) -> Option<&str> {
                self.team.as_deref()
            }
        }
    };
}
grant_fields!(raw::Grant);
grant_fields!(GrantRow<'_>);

/// One entry of `users[].groups` ([`raw::GroupRef`]), borrowed.
#[derive(Debug)]
pub(crate) struct GroupRow<'a> {
    pub id: Text<'a>,
    pub access: Option<Text<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for GroupRow<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (id, access) = deserializer.deserialize_any(GroupRefVisitor::<Text<'de>>::new())?;
        Ok(GroupRow { id, access })
    }
}

/// A user as written ([`raw::User`]): what the model keeps is owned, what validation consumes is
/// borrowed. Field for field the same format (see the raw type for each field's meaning).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub(crate) struct UserRow<'a> {
    pub id: String,
    #[serde(default)]
    pub number: Option<i64>,
    pub login: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub public_email: Option<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default, borrow)]
    pub state: Option<Text<'a>>,
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub guest: bool,
    #[serde(default, rename = "type")]
    pub user_type: Option<String>,
    #[serde(default)]
    pub external: bool,
    #[serde(default)]
    pub two_factor: bool,
    #[serde(default)]
    pub two_factor_capable: bool,
    #[serde(borrow)]
    pub created_at: Text<'a>,
    #[serde(default, borrow)]
    pub updated_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub last_access_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub last_sign_in_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub confirmed_at: Option<Text<'a>>,
    #[serde(default)]
    pub ban: Option<raw::Ban>,
    #[serde(default)]
    pub auth: Vec<raw::AuthDetail>,
    #[serde(default)]
    pub ssh_keys: Vec<raw::SshKey>,
    #[serde(default, borrow)]
    pub licenses: Vec<Text<'a>>,
    #[serde(default)]
    pub vcs_user_names: Vec<String>,
    #[serde(default, borrow)]
    pub origin_service: Option<Text<'a>>,
    #[serde(default)]
    pub refresh_token: bool,
    #[serde(default)]
    pub permanent_token: bool,
    #[serde(default)]
    pub approved_resource: bool,
    #[serde(default)]
    pub accepted_eua: bool,
    #[serde(default, borrow)]
    pub groups: Vec<GroupRow<'a>>,
    #[serde(default, borrow)]
    pub organizations: Vec<Text<'a>>,
    #[serde(default, borrow)]
    pub enterprise_group: Option<Text<'a>>,
    #[serde(default)]
    pub profile: Map<String, Value>,
}

impl From<raw::User> for UserRow<'static> {
    fn from(user: raw::User) -> Self {
        UserRow {
            id: user.id,
            number: user.number,
            login: user.login,
            name: user.name,
            email: user.email,
            email_verified: user.email_verified,
            public_email: user.public_email,
            emails: user.emails,
            state: text(user.state),
            admin: user.admin,
            guest: user.guest,
            user_type: user.user_type,
            external: user.external,
            two_factor: user.two_factor,
            two_factor_capable: user.two_factor_capable,
            created_at: user.created_at.into(),
            updated_at: text(user.updated_at),
            last_access_at: text(user.last_access_at),
            last_sign_in_at: text(user.last_sign_in_at),
            confirmed_at: text(user.confirmed_at),
            ban: user.ban,
            auth: user.auth,
            ssh_keys: user.ssh_keys,
            licenses: texts(user.licenses),
            vcs_user_names: user.vcs_user_names,
            origin_service: text(user.origin_service),
            refresh_token: user.refresh_token,
            permanent_token: user.permanent_token,
            approved_resource: user.approved_resource,
            accepted_eua: user.accepted_eua,
            groups: user
                .groups
                .into_iter()
                .map(|g| GroupRow {
                    id: g.id.into(),
                    access: text(g.access),
                })
                .collect(),
            organizations: texts(user.organizations),
            enterprise_group: text(user.enterprise_group),
            profile: user.profile,
        }
    }
}

/// A directory for validation: the raw lists, with grants and users as rows.
#[derive(Debug, Default)]
pub(crate) struct Rows<'a> {
    /// Everything but grants and users (those two lists are left empty).
    pub rest: raw::Directory,
    pub grants: Blocks<GrantRow<'a>>,
    pub users: Blocks<UserRow<'a>>,
}

impl From<raw::Directory> for Rows<'static> {
    fn from(mut directory: raw::Directory) -> Self {
        let grants = std::mem::take(&mut directory.grants);
        let users = std::mem::take(&mut directory.users);
        Rows {
            rest: directory,
            grants: grants.into_iter().map(GrantRow::from).collect(),
            users: users.into_iter().map(UserRow::from).collect(),
        }
    }
}
