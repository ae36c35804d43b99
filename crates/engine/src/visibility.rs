//! What a viewer may see of a user: the one place every response path asks.
//!
//! hub-query.md "Who may ask what": a non-admin viewer may neither filter on, nor order by, nor be
//! shown a private attribute — in any output format, cursor or error. The binder refuses private
//! keys; [`Visibility::check_order`] refuses private sort keys; [`crate::project`] builds only
//! the visible attributes; the CLI's table and REPL render a [`UserSummary`], which holds only
//! what the viewer may see; GitLab's keyset cursors carry a sort value only when
//! [`Visibility::may_order_by`] says the viewer may see it.
//!
//! Two API families differ on activity dates: Hub shows `creationTime` and `lastAccessTime` to
//! every viewer, GitLab's `UserBasic` (non-admin viewers) shows no date at all. So a visibility is
//! (admin?, activity dates?), built by [`Visibility::hub`] or [`Visibility::basic`].

use userql_directory::index::SortKey;
use userql_directory::model::{Millis, Model, Row, State};

use crate::error::{Error, ErrorKind};
use crate::OrderKey;

/// An attribute some viewers may not see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    /// Primary (and secondary) emails.
    Email,
    /// Auth details, identities, SSH keys, 2FA, ban reason: the account's security record.
    Security,
    /// Creation, last-access and update times.
    Activity,
}

/// What one viewer may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visibility {
    admin: bool,
    activity: bool,
}

impl Visibility {
    /// An administrator: everything.
    pub const ADMIN: Visibility = Visibility {
        admin: true,
        activity: true,
    };

    /// Nothing private (a refused request, an anonymous GitLab caller).
    pub const NONE: Visibility = Visibility {
        admin: false,
        activity: false,
    };

    /// Hub's rules: activity dates for everyone, private attributes for admins.
    pub fn hub(admin: bool) -> Visibility {
        Visibility {
            admin,
            activity: true,
        }
    }

    /// GitLab `UserBasic`-style rules: non-admins see neither private attributes nor dates.
    pub fn basic(admin: bool) -> Visibility {
        Visibility {
            admin,
            activity: admin,
        }
    }

    /// Whether the viewer is an administrator.
    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// Whether the viewer may see an attribute.
    pub fn may_see(&self, attribute: Attribute) -> bool {
        match attribute {
            Attribute::Email | Attribute::Security => self.admin,
            Attribute::Activity => self.activity,
        }
    }

    /// The attribute a sort key reads, when it is not public.
    pub fn attribute_of(key: SortKey) -> Option<Attribute> {
        match key {
            SortKey::Email => Some(Attribute::Email),
            SortKey::Created | SortKey::LastAccess | SortKey::Updated => Some(Attribute::Activity),
            SortKey::Login | SortKey::Name | SortKey::Id | SortKey::Number => None,
        }
    }

    /// Whether the viewer may order by (and so learn the order of) a sort key.
    pub fn may_order_by(&self, key: SortKey) -> bool {
        Self::attribute_of(key).is_none_or(|a| self.may_see(a))
    }

    /// Refuses an `orderBy` on an attribute the viewer may not see (an `Option` error on
    /// `orderBy`, so Hub answers 400 naming the option, like `has: email` is refused).
    pub fn check_order(&self, order: &[OrderKey]) -> Result<(), Error> {
        match order.iter().find(|(key, _)| !self.may_order_by(*key)) {
            None => Ok(()),
            Some((key, _)) => Err(Error::new(
                0..0,
                ErrorKind::Option {
                    option: "orderBy",
                    message: format!(
                        "'{}' is a private attribute: only administrators may order by it",
                        sort_key_name(*key)
                    ),
                },
            )),
        }
    }

    /// The user as this viewer may see them (hidden attributes are `None`).
    pub fn summary<'m>(&self, model: &'m Model, row: Row) -> Option<UserSummary<'m>> {
        let user = model.users.get(row as usize)?;
        let activity = self.may_see(Attribute::Activity);
        Some(UserSummary {
            id: &user.id,
            login: &user.login,
            name: user.name.as_deref(),
            state: user.state,
            email: self
                .may_see(Attribute::Email)
                .then_some(user.email.as_deref()),
            created: activity.then_some(user.created_at),
            last_access: activity.then_some(model.users.last_access(row as usize)),
        })
    }
}

/// Hub's name of a sort key (what the viewer wrote in `orderBy`).
fn sort_key_name(key: SortKey) -> &'static str {
    match key {
        SortKey::Login => "login",
        SortKey::Name => "name",
        SortKey::Created => "creationTime",
        SortKey::LastAccess => "lastAccessTime",
        SortKey::Id => "id",
        SortKey::Email => "email",
        SortKey::Number => "number",
        SortKey::Updated => "updated_at",
    }
}

/// A user as one viewer may see them: the outer `Option` of a field is `None` when it is hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserSummary<'m> {
    /// Hub id.
    pub id: &'m str,
    /// Login.
    pub login: &'m str,
    /// Full name.
    pub name: Option<&'m str>,
    /// Account state.
    pub state: State,
    /// Primary email (`Some(None)`: visible, but the user has none).
    pub email: Option<Option<&'m str>>,
    /// Creation time.
    pub created: Option<Millis>,
    /// Last access (`Some(None)`: visible, never accessed).
    pub last_access: Option<Option<Millis>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_admins_may_not_order_by_private_keys() {
        let hub = Visibility::hub(false);
        assert!(hub.may_order_by(SortKey::Created));
        assert!(!hub.may_order_by(SortKey::Email));
        let err = hub.check_order(&[(SortKey::Login, false), (SortKey::Email, true)]);
        assert!(err.is_err_and(|e| e.field() == "orderBy"));
        assert!(!Visibility::basic(false).may_order_by(SortKey::Updated));
        assert!(Visibility::ADMIN
            .check_order(&[(SortKey::Email, false)])
            .is_ok());
    }
}
