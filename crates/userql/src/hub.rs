//! Hub's user search as a typed request: the query plus `orderBy`, `fields`, `$skip`, `$top`.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::vocabulary::Viewer;

/// A Hub user search (`GET /hub/api/rest/users`), built in code.
///
/// `query`, `order_by` and `fields` are Hub-language texts (users type them); paging and the
/// clock are typed. Defaults: login order, `$skip` 0, `$top` 100 (capped by
/// [`crate::Options::top_cap`]), an administrator viewer, the system clock.
///
/// ```
/// use userql::{HubQuery, Viewer};
/// let request = HubQuery::new("has: 2FA and not is: banned")
///     .order_by("login desc")
///     .fields("id,login,name")
///     .skip(20)
///     .top(10)
///     .viewer(Viewer::login("luke"));
/// # let _ = request;
/// ```
#[derive(Debug, Clone)]
pub struct HubQuery {
    pub(crate) query: String,
    pub(crate) order_by: Option<String>,
    pub(crate) fields: Option<String>,
    pub(crate) skip: u64,
    pub(crate) top: Option<u64>,
    pub(crate) all: bool,
    pub(crate) viewer: Viewer,
    pub(crate) now: Option<DateTime<Utc>>,
}

impl HubQuery {
    /// A search for `query` (empty: every user the viewer may see).
    pub fn new(query: impl Into<String>) -> HubQuery {
        HubQuery {
            query: query.into(),
            order_by: None,
            fields: None,
            skip: 0,
            top: None,
            all: false,
            viewer: Viewer::admin(),
            now: None,
        }
    }

    /// `orderBy`, e.g. `lastAccessTime desc, login`.
    pub fn order_by(mut self, order_by: impl Into<String>) -> HubQuery {
        self.order_by = Some(order_by.into());
        self
    }

    /// `fields`, e.g. `id,login,profile(email(email))`.
    pub fn fields(mut self, fields: impl Into<String>) -> HubQuery {
        self.fields = Some(fields.into());
        self
    }

    /// `$skip`: rows to skip.
    pub fn skip(mut self, skip: u64) -> HubQuery {
        self.skip = skip;
        self
    }

    /// `$top`: page size (clamped to [`crate::Options::top_cap`]).
    pub fn top(mut self, top: u64) -> HubQuery {
        self.top = Some(top);
        self.all = false;
        self
    }

    /// `$top=-1`: every match, up to [`crate::Options::top_cap`].
    pub fn all(mut self) -> HubQuery {
        self.all = true;
        self.top = None;
        self
    }

    /// Who asks (default: an administrator).
    pub fn viewer(mut self, viewer: Viewer) -> HubQuery {
        self.viewer = viewer;
        self
    }

    /// The clock for relative dates such as `lastAccess: {last week}` (default: now).
    pub fn now(mut self, now: DateTime<Utc>) -> HubQuery {
        self.now = Some(now);
        self
    }
}

/// One page of a Hub search.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HubPage {
    /// Every match, regardless of paging.
    pub total: u64,
    /// Rows skipped.
    pub skip: u64,
    /// The effective page size.
    pub top: u64,
    /// User ids of the page, in order.
    pub ids: Vec<String>,
    /// Hub's `userPage` response body (projected by `fields`, private attributes hidden from
    /// non-administrators).
    pub body: Value,
}
