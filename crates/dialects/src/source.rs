//! The row-source seam: what a translated request asks of the directory, and the in-memory
//! answer to it.
//!
//! A dialect turns params into a [`Fetch`] — the engine [`Request`] its clauses form (evaluated
//! as an administrator: the dialect has applied its API's visibility rules), the residue no Hub
//! clause expresses ([`Residue`]), the order ([`RowOrder`]), the window ([`Window`]) and the
//! extra counts it reports — and a [`RowSource`] answers it with the total, the page's rows and
//! those counts ([`Fetched`]). [`crate::memory::MemorySource`] answers from a [`Snapshot`] (indexes plus pending
//! changes); the PostgreSQL backend answers the same `Fetch` with one statement. The dialect then
//! renders the API's response from the rows, wherever they came from.

use std::ops::Deref;

use serde_json::Value;
use userql_directory::index::SortKey;
use userql_directory::model::{Row, User};
use userql_directory::Snapshot;
use userql_engine::{OrderKey, Request, Visibility};

use crate::gitlab_rows::display_name;

/// A column GitLab orders by; ties are broken by the number in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitlabKey {
    /// `id` (and `created_at`): the number.
    Number,
    /// `name`: the displayed name (the login when there is none), code-point order.
    DisplayName,
    /// `username`: the login lower-cased (Rust's `to_lowercase`).
    LoweredLogin,
    /// `updated_at` (the creation time when never updated).
    Updated,
}

impl GitlabKey {
    /// Whether the key's values are text (else numbers).
    pub fn is_text(self) -> bool {
        matches!(self, GitlabKey::DisplayName | GitlabKey::LoweredLogin)
    }

    /// The engine's sort key for the same column (for visibility decisions).
    pub fn sort_key(self) -> SortKey {
        match self {
            GitlabKey::Number => SortKey::Number,
            GitlabKey::DisplayName => SortKey::Name,
            GitlabKey::LoweredLogin => SortKey::Login,
            GitlabKey::Updated => SortKey::Updated,
        }
    }
}

/// A sort key value: numbers for id/updated_at, text for name/username. Numbers sort before
/// text (a cursor whose value has the other type than the column pages from one end).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyValue {
    /// A number.
    Number(i64),
    /// A text, compared by code point.
    Text(String),
}

impl KeyValue {
    /// The value of `key` for `user`.
    pub fn of(user: &User, key: GitlabKey) -> KeyValue {
        match key {
            GitlabKey::Number => KeyValue::Number(user.number as i64),
            GitlabKey::DisplayName => KeyValue::Text(display_name(user).to_string()),
            GitlabKey::LoweredLogin => KeyValue::Text(user.login.to_lowercase()),
            GitlabKey::Updated => KeyValue::Number(user.updated_or_created()),
        }
    }
}

/// The order of the rows.
#[derive(Debug, Clone, PartialEq)]
pub enum RowOrder {
    /// The engine's order keys (missing values last), ties by id ascending (TFE, ArcGIS).
    Engine(Vec<OrderKey>),
    /// GitLab's `order_by`/`sort`: the key, then the number, both in the direction.
    Gitlab {
        /// The key.
        key: GitlabKey,
        /// Descending.
        desc: bool,
    },
    /// GitLab's search relevance for a normalised query: public email equal, login equal, name
    /// equal, the rest (each compared lower-cased); then the displayed name; then the number.
    Relevance(String),
}

/// Where a keyset page starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Position {
    /// From the first row.
    Start,
    /// After the position (key value, number).
    After(KeyValue, u64),
    /// After the user with this GitLab id, its key read from the directory (a cursor whose value
    /// the viewer may not see); no such user is [`SourceError::CursorInvalid`].
    AfterRow(u64),
}

/// Which rows of the order to return.
#[derive(Debug, Clone, PartialEq)]
pub enum Window {
    /// `skip` rows, then at most `top`.
    Offset {
        /// Rows skipped.
        skip: u64,
        /// Rows returned at most.
        top: u64,
    },
    /// At most `limit` rows after `position`, in a [`RowOrder::Gitlab`] order; `more` tells
    /// whether rows follow.
    Keyset {
        /// The start.
        position: Position,
        /// Rows returned at most.
        limit: u64,
    },
}

/// What the dialect checks beyond the Hub clauses (both AND-ed with them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Residue {
    /// GitLab `public_email`: equal, case-sensitively.
    pub exact_public_email: Option<String>,
    /// ArcGIS `filter`: the glob ([`crate::arcgis::glob_matches`]) matches the login, the name or the email.
    pub glob: Option<String>,
}

/// One question to a [`RowSource`].
#[derive(Debug, Clone)]
pub struct Fetch {
    /// The filter: the AND of the dialect's clauses, as an administrator, with the clock.
    pub filter: Request,
    /// What the clauses cannot say.
    pub residue: Residue,
    /// The order.
    pub order: RowOrder,
    /// The rows wanted.
    pub window: Window,
    /// Extra counts: how many users match each filter (TFE's status counts), no residue.
    pub counts: Vec<Request>,
}

/// The rows a [`Fetched`] page indexes: the request's snapshot, or a directory holding just
/// the page's users (PostgreSQL).
#[derive(Debug)]
pub enum PageView<'a> {
    /// The snapshot the request reads.
    Borrowed(&'a Snapshot),
    /// A directory built for the answer.
    Owned(Box<Snapshot>),
}

impl Deref for PageView<'_> {
    type Target = Snapshot;

    fn deref(&self) -> &Snapshot {
        match self {
            PageView::Borrowed(snapshot) => snapshot,
            PageView::Owned(snapshot) => snapshot,
        }
    }
}

/// The answer to a [`Fetch`].
#[derive(Debug)]
pub struct Fetched<'a> {
    /// Matches of filter and residue, before the window.
    pub total: u64,
    /// Where `rows` point.
    pub view: PageView<'a>,
    /// The page, in order.
    pub rows: Vec<Row>,
    /// Keyset: whether rows follow the page.
    pub more: bool,
    /// One count per [`Fetch::counts`].
    pub counts: Vec<u64>,
}

/// A Hub request's page: the body is rendered by the source (both render with the engine's own
/// projection).
#[derive(Debug, Clone)]
pub struct HubRows {
    /// Hub's `userPage`.
    pub body: Value,
    /// The page's user ids in order.
    pub ids: Vec<String>,
    /// Every match.
    pub total: u64,
    /// What the viewer may see.
    pub visibility: Visibility,
}

/// A source that could not answer: never a different answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The database failed (connection, server error): its message.
    #[error("{0}")]
    Backend(String),
    /// The source cannot answer this construct identically, so it refuses it.
    #[error("not answered by this backend: {0}")]
    Unsupported(String),
}

/// Why a fetch failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// The engine refused the filter (limits, cost bound): the dialect answers its error.
    #[error("{0}")]
    Engine(userql_engine::Error),
    /// A keyset cursor names no user of the directory.
    #[error("cursor is invalid: it names no user of this directory")]
    CursorInvalid,
    /// The source failed or refused.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<userql_engine::Error> for SourceError {
    fn from(error: userql_engine::Error) -> Self {
        SourceError::Engine(error)
    }
}

/// Where a translated request's rows come from.
pub trait RowSource<'a> {
    /// Total, ordered page and counts of a dialect's fetch.
    fn fetch(&mut self, fetch: &Fetch) -> Result<Fetched<'a>, SourceError>;
    /// A Hub request (its viewer's own visibility rules), rendered.
    fn hub(&mut self, request: &Request) -> Result<HubRows, SourceError>;
}
