//! One change to a live directory, built with typed values.
//!
//! A batch of updates is applied atomically by [`crate::Store::apply`]: every reader sees all of
//! it or none of it. Change batches in the `changes` file format (put / patch / delete records,
//! `docs/formats.md`) are the other way in once that format is supported by the library; these
//! updates stay as the typed, in-process form.

use chrono::{DateTime, SecondsFormat, Utc};
use userql_directory::store::Update as Inner;

use crate::records::{Grant, NewUser};
use crate::vocabulary::{AccessLevel, State};

/// One change; users, groups and grants are named by id.
///
/// ```
/// use chrono::Utc;
/// use userql::{NewUser, State, Update};
///
/// let batch = vec![
///     Update::add_user(NewUser::new("u-new", "newcomer", Utc::now())),
///     Update::set_state("u-new", State::Blocked),
///     Update::remove_user("u-old"),
/// ];
/// # let _ = batch;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Update(pub(crate) Inner);

impl Update {
    /// Adds a user; its id and login must be new.
    pub fn add_user(user: NewUser) -> Update {
        Update(Inner::AddUser(user.0))
    }

    /// Replaces the user with the same id (keeping its GitLab number unless the new record sets
    /// one).
    pub fn replace_user(user: NewUser) -> Update {
        Update(Inner::ReplaceUser(user.0))
    }

    /// Removes a user with its direct grants and team listings.
    pub fn remove_user(id: impl Into<String>) -> Update {
        Update(Inner::RemoveUser { id: id.into() })
    }

    /// Sets the account state.
    pub fn set_state(id: impl Into<String>, state: State) -> Update {
        Update(Inner::SetState {
            id: id.into(),
            state: state.as_str().to_owned(),
        })
    }

    /// Sets or clears administrator.
    pub fn set_admin(id: impl Into<String>, admin: bool) -> Update {
        Update(Inner::SetAdmin {
            id: id.into(),
            admin,
        })
    }

    /// Enables or disables two-factor authentication.
    pub fn set_two_factor(id: impl Into<String>, enabled: bool) -> Update {
        Update(Inner::SetTwoFactor {
            id: id.into(),
            enabled,
        })
    }

    /// Bans a user (state `banned` plus a ban record).
    pub fn ban(id: impl Into<String>, reason: Option<&str>, at: Option<DateTime<Utc>>) -> Update {
        Update(Inner::Ban {
            id: id.into(),
            status: None,
            reason: reason.map(str::to_owned),
            at: at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        })
    }

    /// Lifts a ban (state `active`, ban record cleared).
    pub fn unban(id: impl Into<String>) -> Update {
        Update(Inner::Unban { id: id.into() })
    }

    /// Adds a direct group membership, or changes its access level if it exists.
    pub fn add_membership(
        user: impl Into<String>,
        group: impl Into<String>,
        access: Option<AccessLevel>,
    ) -> Update {
        Update(Inner::AddMembership {
            user: user.into(),
            group: group.into(),
            access: access.map(|a| a.as_str().to_owned()),
        })
    }

    /// Removes a direct group membership (refused if there is none).
    pub fn remove_membership(user: impl Into<String>, group: impl Into<String>) -> Update {
        Update(Inner::RemoveMembership {
            user: user.into(),
            group: group.into(),
        })
    }

    /// Adds a grant.
    pub fn add_grant(grant: Grant) -> Update {
        Update(Inner::AddGrant(grant.0))
    }

    /// Removes one grant equal to this one (refused if there is none).
    pub fn remove_grant(grant: Grant) -> Update {
        Update(Inner::RemoveGrant(grant.0))
    }
}
