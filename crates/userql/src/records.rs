//! Typed builders for the records an application feeds from its own database: users and grants
//! take `chrono` times and the facade's enums, never pre-formatted strings.
//!
//! They produce the directory file format's records, which validation then checks exactly as it
//! checks a loaded file (unknown group ids, duplicate logins… are [`crate::Error::Invalid`]).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use userql_directory::raw;

use crate::vocabulary::{AccessLevel, State};

fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A user record: the id, login and creation time are required, everything else has the
/// directory format's defaults (state `active`, not admin, no 2FA, no memberships).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use userql::{AccessLevel, NewUser, State};
///
/// let created = Utc.with_ymd_and_hms(2024, 3, 1, 9, 30, 0).unwrap();
/// let user = NewUser::new("u-42", "ada", created)
///     .name("Ada Lovelace")
///     .email("ada@example.com")
///     .state(State::Active)
///     .two_factor(true)
///     .last_access(Utc::now())
///     .group_with_access("g-eng", AccessLevel::Developer);
/// assert_eq!(user.id(), "u-42");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser(pub(crate) raw::User);

impl NewUser {
    /// A user with its id (unique, stable), login (unique case-insensitively) and creation time.
    pub fn new(id: impl Into<String>, login: impl Into<String>, created: DateTime<Utc>) -> Self {
        NewUser(raw::User {
            id: id.into(),
            login: login.into(),
            created_at: timestamp(created),
            ..raw::User::default()
        })
    }

    /// The user's id.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// GitLab's numeric id (default: the next free number).
    pub fn number(mut self, number: u64) -> Self {
        self.0.number = Some(i64::try_from(number).unwrap_or(i64::MAX));
        self
    }

    /// Full name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.0.name = Some(name.into());
        self
    }

    /// Primary email (private: only administrators may search or see it).
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.0.email = Some(email.into());
        self
    }

    /// Whether the primary email is verified.
    pub fn email_verified(mut self, verified: bool) -> Self {
        self.0.email_verified = verified;
        self
    }

    /// GitLab's public email.
    pub fn public_email(mut self, email: impl Into<String>) -> Self {
        self.0.public_email = Some(email.into());
        self
    }

    /// Adds a secondary email.
    pub fn secondary_email(mut self, email: impl Into<String>) -> Self {
        self.0.emails.push(email.into());
        self
    }

    /// Account state.
    pub fn state(mut self, state: State) -> Self {
        self.0.state = Some(state.as_str().to_owned());
        self
    }

    /// Administrator.
    pub fn admin(mut self, admin: bool) -> Self {
        self.0.admin = admin;
        self
    }

    /// Hub's guest account.
    pub fn guest(mut self, guest: bool) -> Self {
        self.0.guest = guest;
        self
    }

    /// External user (GitLab).
    pub fn external(mut self, external: bool) -> Self {
        self.0.external = external;
        self
    }

    /// User type as GitLab spells it (`human`, `service_account`, `project_bot`, …).
    pub fn user_type(mut self, user_type: impl Into<String>) -> Self {
        self.0.user_type = Some(user_type.into());
        self
    }

    /// Two-factor authentication enabled.
    pub fn two_factor(mut self, enabled: bool) -> Self {
        self.0.two_factor = enabled;
        self
    }

    /// Last update (default: the creation time).
    pub fn updated(mut self, time: DateTime<Utc>) -> Self {
        self.0.updated_at = Some(timestamp(time));
        self
    }

    /// Last access (`lastAccess:` in queries).
    pub fn last_access(mut self, time: DateTime<Utc>) -> Self {
        self.0.last_access_at = Some(timestamp(time));
        self
    }

    /// Last sign-in.
    pub fn last_sign_in(mut self, time: DateTime<Utc>) -> Self {
        self.0.last_sign_in_at = Some(timestamp(time));
        self
    }

    /// Adds a direct membership of a group (by group id).
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.0.groups.push(raw::GroupRef {
            id: group.into(),
            access: None,
        });
        self
    }

    /// Adds a direct membership with a GitLab access level.
    pub fn group_with_access(mut self, group: impl Into<String>, access: AccessLevel) -> Self {
        self.0.groups.push(raw::GroupRef {
            id: group.into(),
            access: Some(access.as_str().to_owned()),
        });
        self
    }

    /// Adds an organization membership (by organization id).
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.0.organizations.push(organization.into());
        self
    }

    /// Adds a licensed service (by service id).
    pub fn license(mut self, service: impl Into<String>) -> Self {
        self.0.licenses.push(service.into());
        self
    }

    /// Adds an authentication detail (`authModule:` matches the module id).
    pub fn auth_module(mut self, module: impl Into<String>, login: Option<&str>) -> Self {
        self.0.auth.push(raw::AuthDetail {
            module: module.into(),
            login: login.map(str::to_owned),
            ..raw::AuthDetail::default()
        });
        self
    }

    /// Sets a free-form profile entry, passed through to responses.
    pub fn profile(mut self, key: impl Into<String>, value: Value) -> Self {
        self.0.profile.insert(key.into(), value);
        self
    }
}

/// A role grant: a role, given to one subject (a user, group or team), scoped to a project, an
/// organization or (neither) globally.
///
/// ```
/// use userql::Grant;
/// let grant = Grant::role("developer").to_group("g-eng").in_project("p-1");
/// # let _ = grant;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant(pub(crate) raw::Grant);

impl Grant {
    /// A global grant of `role` (by role id), to nobody yet.
    pub fn role(role: impl Into<String>) -> Grant {
        Grant(raw::Grant {
            role: role.into(),
            ..raw::Grant::default()
        })
    }

    /// Granted to a user (by id).
    pub fn to_user(mut self, user: impl Into<String>) -> Grant {
        self.0.user = Some(user.into());
        self
    }

    /// Granted to every member of a group (by id).
    pub fn to_group(mut self, group: impl Into<String>) -> Grant {
        self.0.group = Some(group.into());
        self
    }

    /// Granted to a project team (by id).
    pub fn to_team(mut self, team: impl Into<String>) -> Grant {
        self.0.team = Some(team.into());
        self
    }

    /// Scoped to a project (by id).
    pub fn in_project(mut self, project: impl Into<String>) -> Grant {
        self.0.project = Some(project.into());
        self
    }

    /// Scoped to an organization (by id).
    pub fn in_organization(mut self, organization: impl Into<String>) -> Grant {
        self.0.organization = Some(organization.into());
        self
    }
}
