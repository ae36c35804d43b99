//! The small closed vocabularies of the directory model, as the facade's own enums (so that the
//! internal crates can change without breaking embedders), and who asks.

use userql_directory::model;

/// A user's account state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// `active`
    Active,
    /// `blocked`
    Blocked,
    /// `ldap_blocked`
    LdapBlocked,
    /// `deactivated`
    Deactivated,
    /// `banned`
    Banned,
    /// `blocked_pending_approval`
    BlockedPendingApproval,
}

impl State {
    pub(crate) fn inner(self) -> model::State {
        match self {
            State::Active => model::State::Active,
            State::Blocked => model::State::Blocked,
            State::LdapBlocked => model::State::LdapBlocked,
            State::Deactivated => model::State::Deactivated,
            State::Banned => model::State::Banned,
            State::BlockedPendingApproval => model::State::BlockedPendingApproval,
        }
    }

    /// The spelling in directory files and queries (`state: ldap_blocked`).
    pub fn as_str(self) -> &'static str {
        self.inner().as_str()
    }
}

/// A GitLab group access level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AccessLevel {
    /// 10
    Guest,
    /// 15
    Planner,
    /// 20
    Reporter,
    /// 30
    Developer,
    /// 40
    Maintainer,
    /// 50
    Owner,
}

impl AccessLevel {
    /// The spelling in directory files (`developer`).
    pub fn as_str(self) -> &'static str {
        let inner = match self {
            AccessLevel::Guest => model::AccessLevel::Guest,
            AccessLevel::Planner => model::AccessLevel::Planner,
            AccessLevel::Reporter => model::AccessLevel::Reporter,
            AccessLevel::Developer => model::AccessLevel::Developer,
            AccessLevel::Maintainer => model::AccessLevel::Maintainer,
            AccessLevel::Owner => model::AccessLevel::Owner,
        };
        inner.as_str()
    }
}

/// Who asks: decides what a request may filter on and what a response shows.
///
/// Resolving a token or session to a viewer is the embedding server's job.
///
/// ```
/// use userql::Viewer;
/// let viewer = Viewer::login("luke");
/// assert_ne!(viewer, Viewer::admin());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer(pub(crate) userql_engine::Viewer);

impl Viewer {
    /// An administrator: sees and may filter on everything.
    pub fn admin() -> Viewer {
        Viewer(userql_engine::Viewer::Admin)
    }

    /// A signed-in user, by login; an administrator account is an admin viewer. A login the
    /// directory does not know is refused when the request is answered (Hub: 401).
    pub fn login(login: impl Into<String>) -> Viewer {
        Viewer(userql_engine::Viewer::Login(login.into()))
    }

    /// Nobody signed in.
    pub fn anonymous() -> Viewer {
        Viewer(userql_engine::Viewer::Anonymous)
    }
}
