//! The row-source seam: what a translated request asks of the directory, and the in-memory
//! answer to it.
//!
//! A dialect turns params into a [`Fetch`] — the engine [`Request`] its clauses form (evaluated
//! as an administrator: the dialect has applied its API's visibility rules), the residue no Hub
//! clause expresses ([`Residue`]), the order ([`RowOrder`]), the window ([`Window`]) and the
//! extra counts it reports — and a [`RowSource`] answers it with the total, the page's rows and
//! those counts ([`Fetched`]). [`MemorySource`] answers from a [`Snapshot`] (indexes plus pending
//! changes); the PostgreSQL backend answers the same `Fetch` with one statement. The dialect then
//! renders the API's response from the rows, wherever they came from.

use std::ops::Deref;

use roaring::RoaringBitmap;
use serde_json::Value;
use userql_directory::index::SortKey;
use userql_directory::model::{Row, User};
use userql_directory::Snapshot;
use userql_engine::order::PageStrategy;
use userql_engine::project::{page_envelope, project_users};
use userql_engine::{OrderKey, Request, Visibility};

use crate::arcgis::glob_matches;
use crate::gitlab_order::{self, PagePath};
use crate::gitlab_rows::display_name;
use crate::gitlab_search;
use crate::Call;

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
    /// ArcGIS `filter`: the glob ([`glob_matches`]) matches the login, the name or the email.
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

/// The in-memory engine over the request's snapshot.
#[derive(Debug)]
pub struct MemorySource<'c, 'a> {
    call: &'c Call<'a>,
    path: Option<PagePath>,
    exact_tier: usize,
}

impl<'c, 'a> MemorySource<'c, 'a> {
    /// A source reading `call.snapshot` with `call.engine`.
    pub fn new(call: &'c Call<'a>) -> Self {
        MemorySource {
            call,
            path: None,
            exact_tier: 0,
        }
    }

    fn rows(&self, request: &Request) -> Result<RoaringBitmap, userql_engine::Error> {
        if request.query.expr.is_none() {
            return Ok(self.call.snapshot.all_rows());
        }
        self.call.engine.matches(self.call.snapshot, request)
    }
}

/// Whether `user` passes the residue.
fn residue_passes(residue: &Residue, user: &User) -> bool {
    if let Some(email) = &residue.exact_public_email {
        if user.public_email.as_deref() != Some(email.as_str()) {
            return false;
        }
    }
    if let Some(glob) = &residue.glob {
        let matches = |text: Option<&str>| text.is_some_and(|t| glob_matches(glob, t));
        if !(matches(Some(&user.login))
            || matches(user.name.as_deref())
            || matches(user.email.as_deref()))
        {
            return false;
        }
    }
    true
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl MemorySource<'_, '_> {
    /// How the last fetched page was ordered (see [`crate::gitlab::page_path`]).
    pub fn last_path(&self) -> Option<PagePath> {
        self.path
    }

    /// How many rows of the last relevance-ordered fetch were in GitLab's exact-match tiers.
    pub fn last_exact_tier(&self) -> usize {
        self.exact_tier
    }

    fn offset(
        &mut self,
        rows: &RoaringBitmap,
        order: &RowOrder,
        skip: u64,
        top_n: u64,
    ) -> (Vec<Row>, PagePath) {
        let snapshot = self.call.snapshot;
        let engine_page = |keys: &[OrderKey]| {
            let (rows, strategy) = userql_engine::order::page(snapshot, rows, keys, skip, top_n);
            let path = match strategy {
                PageStrategy::Trivial => PagePath::Trivial,
                PageStrategy::Walk => PagePath::Walk,
                PageStrategy::Select | PageStrategy::FullSort => PagePath::Select,
            };
            (rows, path)
        };
        match order {
            RowOrder::Engine(keys) => engine_page(keys),
            // Numbers are unique: the index's permutation is already GitLab's order.
            RowOrder::Gitlab {
                key: GitlabKey::Number,
                desc,
            } => engine_page(&[(SortKey::Number, *desc)]),
            RowOrder::Gitlab { key, desc } => gitlab_order::page(
                snapshot,
                rows,
                *key,
                *desc,
                None,
                to_usize(skip),
                to_usize(top_n),
            ),
            RowOrder::Relevance(query) => {
                let (rows, exact, path) = gitlab_search::relevance_page(
                    snapshot,
                    rows,
                    query,
                    to_usize(skip),
                    to_usize(top_n),
                );
                self.exact_tier = exact;
                (rows, path)
            }
        }
    }

    /// A keyset page walked from the cursor's position in the order's permutation, one row
    /// more than asked to learn whether another page follows.
    fn keyset(
        &self,
        rows: &RoaringBitmap,
        order: &RowOrder,
        position: &Position,
        limit: u64,
    ) -> Result<(Vec<Row>, bool, PagePath), SourceError> {
        let RowOrder::Gitlab { key, desc } = *order else {
            return Err(
                Failure::Unsupported("keyset paging outside GitLab's orders".into()).into(),
            );
        };
        let snapshot = self.call.snapshot;
        let position = match position {
            Position::Start => None,
            Position::After(value, number) => Some((value.clone(), *number)),
            Position::AfterRow(number) => {
                let row = snapshot
                    .row_of_number(*number)
                    .ok_or(SourceError::CursorInvalid)?;
                Some((
                    KeyValue::of(&snapshot.model.users[row as usize], key),
                    *number,
                ))
            }
        };
        let limit = to_usize(limit);
        let (mut page, path) = gitlab_order::page(
            snapshot,
            rows,
            key,
            desc,
            position.as_ref(),
            0,
            limit.saturating_add(1),
        );
        let more = page.len() > limit;
        page.truncate(limit);
        Ok((page, more, path))
    }
}

impl<'a> RowSource<'a> for MemorySource<'_, 'a> {
    fn fetch(&mut self, fetch: &Fetch) -> Result<Fetched<'a>, SourceError> {
        let mut rows = self.rows(&fetch.filter)?;
        if fetch.residue != Residue::default() {
            let users = &self.call.snapshot.model.users;
            rows = rows
                .iter()
                .filter(|&r| residue_passes(&fetch.residue, &users[r as usize]))
                .collect();
        }
        let counts = fetch
            .counts
            .iter()
            .map(|request| self.rows(request).map(|rows| rows.len()))
            .collect::<Result<Vec<u64>, _>>()?;
        let (page, more, path) = match &fetch.window {
            Window::Offset { skip, top } => {
                let (page, path) = self.offset(&rows, &fetch.order, *skip, *top);
                (page, false, path)
            }
            Window::Keyset { position, limit } => {
                self.keyset(&rows, &fetch.order, position, *limit)?
            }
        };
        self.path = Some(path);
        Ok(Fetched {
            total: rows.len(),
            view: PageView::Borrowed(self.call.snapshot),
            rows: page,
            more,
            counts,
        })
    }

    fn hub(&mut self, request: &Request) -> Result<HubRows, SourceError> {
        let call = self.call;
        let page = call.engine.search(call.snapshot, request)?;
        let users = project_users(
            call.snapshot,
            &page.rows,
            page.visibility(),
            request.selection.as_ref(),
            &page.deadline,
        )?;
        let body = page_envelope(
            users,
            page.skip,
            page.top,
            page.total,
            request.selection.as_ref(),
        );
        Ok(HubRows {
            body,
            ids: page
                .rows
                .iter()
                .map(|&r| call.snapshot.model.users[r as usize].id.clone())
                .collect(),
            total: page.total,
            visibility: page.visibility(),
        })
    }
}
