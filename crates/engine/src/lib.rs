//! Bind, plan, execute and explain Hub queries over a directory snapshot.
//!
//! The pipeline, one type per phase: query text → [`userql_syntax::ast::Query`] →
//! [`bound::Expr`] (typed, resolved; [`bind`]) → [`plan::Plan`] (index operations with
//! estimates; [`plan`]) → a row set ([`execute`]) → a page ([`order`]) → JSON ([`project`]).
//! Rows checked one by one (residuals, the overlay of changed rows) go through [`rowcheck`]. The
//! linear-scan oracle the indexed path is tested against, `reference`, is built only with the
//! non-default `reference` feature (tests, fuzzing, benchmarks): no library build contains it.
//!
//! ```no_run
//! use userql_engine::{Engine, Request, Viewer};
//! # fn demo(snapshot: &userql_directory::Snapshot) -> Result<(), userql_engine::Error> {
//! let engine = Engine::default();
//! let request = engine.request("has: 2FA and not is: banned", Viewer::Admin)?;
//! let page = engine.search(snapshot, &request)?;
//! println!("{} matches, first page {:?}", page.total, page.rows);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod assist;
pub mod bind;
pub mod bound;
pub mod cost;
pub mod error;
#[doc(hidden)]
pub mod execute;
pub mod explain;
pub mod instant;
pub mod order;
#[doc(hidden)]
pub mod overlay;
pub mod plan;
pub mod project;
#[cfg(feature = "reference")]
pub mod reference;
pub mod rowcheck;
mod rows;
pub mod sort;
pub mod visibility;

use roaring::RoaringBitmap;
use serde_json::{json, Value};
use userql_directory::index::SortKey;
use userql_directory::model::{Millis, Row};
use userql_directory::Snapshot;
use userql_syntax::ast::Query;
use userql_syntax::Limits;

pub use cost::Deadline;
pub use error::{Error, ErrorKind};
pub use explain::Explain;
pub use order::{OrderKey, PageStrategy};
pub use userql_syntax::FieldSelection as Selection;
pub use visibility::Visibility;

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Parser limits (length, depth, items).
    pub limits: Limits,
    /// The most users one page may hold (`$top=-1` and larger values are clamped to it).
    pub top_cap: u64,
    /// `$top` when the request does not say.
    pub default_top: u64,
    /// Unknown entity references match nothing instead of failing.
    pub lenient: bool,
    /// The most row visits the planner may estimate for one request before refusing it
    /// ([`cost`]).
    pub work_budget: u64,
    /// How long one request may run before it is cancelled ([`cost::Deadline`]).
    pub time_budget: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            top_cap: 10_000,
            default_top: 100,
            lenient: false,
            work_budget: cost::DEFAULT_WORK_BUDGET,
            time_budget: cost::DEFAULT_TIME_BUDGET,
        }
    }
}

/// Hub's REST request parameters, as raw text (each optional).
#[derive(Debug, Clone, Copy, Default)]
pub struct HubParams<'a> {
    /// `query`.
    pub query: Option<&'a str>,
    /// `orderBy`.
    pub order_by: Option<&'a str>,
    /// `$skip`.
    pub skip: Option<&'a str>,
    /// `$top`.
    pub top: Option<&'a str>,
    /// `fields`.
    pub fields: Option<&'a str>,
}

/// The index sort key for an `orderBy` field.
pub fn sort_key(field: userql_syntax::OrderField) -> SortKey {
    use userql_syntax::OrderField as F;
    match field {
        F::Login => SortKey::Login,
        F::Name => SortKey::Name,
        F::CreationTime => SortKey::Created,
        F::LastAccessTime => SortKey::LastAccess,
        F::Id => SortKey::Id,
        F::Email => SortKey::Email,
    }
}

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// An administrator: sees and may filter everything.
    Admin,
    /// A user by login; an admin account is an admin viewer.
    Login(String),
    /// Nobody signed in.
    Anonymous,
}

/// `$top`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Top {
    /// Not given: [`Options::default_top`].
    Default,
    /// `-1`: all, up to [`Options::top_cap`].
    All,
    /// A count (clamped to the cap).
    Count(u64),
}

/// One search request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The parsed query.
    pub query: Query,
    /// `orderBy` keys; empty = login ascending.
    pub order: Vec<OrderKey>,
    /// `$skip`.
    pub skip: u64,
    /// `$top`.
    pub top: Top,
    /// `fields`.
    pub selection: Option<Selection>,
    /// Who asks.
    pub viewer: Viewer,
    /// The clock for relative instants (epoch ms).
    pub now: Millis,
}

impl Request {
    /// A request with default options for a parsed query.
    pub fn new(query: Query, viewer: Viewer) -> Request {
        Request {
            query,
            order: Vec::new(),
            skip: 0,
            top: Top::Default,
            selection: None,
            viewer,
            now: chrono::Utc::now().timestamp_millis(),
        }
    }
}

/// One page of results. Two pages are equal when they hold the same answer (their deadlines are
/// left out: they say when a request must finish, not what it answered).
#[derive(Debug, Clone)]
pub struct Page {
    /// All matches, regardless of paging.
    pub total: u64,
    /// Rows skipped.
    pub skip: u64,
    /// The effective page size (after defaults and the cap).
    pub top: u64,
    /// The rows of the page, in order.
    pub rows: Vec<Row>,
    /// Whether the viewer is an admin (decides what projection may show).
    pub admin_viewer: bool,
    /// When the request that produced the page must be finished. Projecting the page shares it
    /// (never a fresh budget), so one deadline covers the search and the response.
    pub deadline: Deadline,
}

impl PartialEq for Page {
    fn eq(&self, other: &Self) -> bool {
        self.total == other.total
            && self.skip == other.skip
            && self.top == other.top
            && self.rows == other.rows
            && self.admin_viewer == other.admin_viewer
    }
}

impl Page {
    /// What the page's viewer may see (Hub's rules).
    pub fn visibility(&self) -> Visibility {
        Visibility::hub(self.admin_viewer)
    }
}

/// The query engine: stateless apart from its options; every call takes the snapshot to read.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    /// Settings.
    pub options: Options,
}

impl Engine {
    /// An engine with these options.
    pub fn new(options: Options) -> Engine {
        Engine { options }
    }

    /// Parses query text within the configured limits.
    pub fn parse(&self, text: &str) -> Result<Query, Error> {
        Ok(userql_syntax::parse_query_with(text, &self.options.limits)?)
    }

    /// Parses query text into a request with default options.
    pub fn request(&self, text: &str, viewer: Viewer) -> Result<Request, Error> {
        Ok(Request::new(self.parse(text)?, viewer))
    }

    /// Builds a request from Hub's REST parameters (`query`, `orderBy`, `$skip`, `$top`,
    /// `fields`), each optional. Option errors carry the option's name and a span into its text.
    pub fn hub_request(
        &self,
        params: &HubParams<'_>,
        viewer: Viewer,
        now: Millis,
    ) -> Result<Request, Error> {
        let query = self.parse(params.query.unwrap_or(""))?;
        let option_error = |option: &'static str| {
            move |e: userql_syntax::Error| {
                Error::new(
                    e.span.clone(),
                    ErrorKind::Option {
                        option,
                        message: e.to_string(),
                    },
                )
            }
        };
        let order = match params.order_by {
            None => Vec::new(),
            Some(text) => userql_syntax::parse_order_by(text)
                .map_err(option_error("orderBy"))?
                .into_iter()
                .map(|k| {
                    (
                        sort_key(k.field),
                        k.direction == userql_syntax::Direction::Desc,
                    )
                })
                .collect(),
        };
        let skip = match params.skip {
            None => 0,
            Some(text) => userql_syntax::parse_skip(text).map_err(option_error("$skip"))?,
        };
        let top = match params.top {
            None => Top::Default,
            Some(text) => match userql_syntax::parse_top(text).map_err(option_error("$top"))? {
                userql_syntax::Top::All => Top::All,
                userql_syntax::Top::Count(n) => Top::Count(n),
            },
        };
        let selection = match params.fields {
            None => None,
            Some(text) => Some(userql_syntax::parse_fields(text).map_err(option_error("fields"))?)
                .filter(|s| !s.is_empty()),
        };
        Ok(Request {
            query,
            order,
            skip,
            top,
            selection,
            viewer,
            now,
        })
    }

    /// Whether the viewer is an administrator in this directory.
    pub fn is_admin(&self, snapshot: &Snapshot, viewer: &Viewer) -> Result<bool, Error> {
        match viewer {
            Viewer::Admin => Ok(true),
            Viewer::Anonymous => Ok(false),
            Viewer::Login(login) => snapshot
                .row_of_login(login)
                .map(|row| snapshot.model.users[row as usize].admin)
                .ok_or_else(|| Error::new(0..0, ErrorKind::UnknownViewer(login.clone()))),
        }
    }

    /// What the request's viewer may see (Hub's rules).
    pub fn visibility(&self, snapshot: &Snapshot, viewer: &Viewer) -> Result<Visibility, Error> {
        Ok(Visibility::hub(self.is_admin(snapshot, viewer)?))
    }

    /// Checks the request against the limits and the viewer's rights, then binds its query.
    ///
    /// Every request goes through here, whoever built its tree: the parser's limits are applied
    /// again to the tree ([`userql_syntax::check_tree`]) — a dialect builds trees without
    /// parsing — and an `orderBy` on an attribute the viewer may not see is refused.
    pub fn bind(&self, snapshot: &Snapshot, request: &Request) -> Result<bound::Expr, Error> {
        userql_syntax::check_tree(&request.query, &self.options.limits)?;
        let visibility = self.visibility(snapshot, &request.viewer)?;
        visibility.check_order(&request.order)?;
        let ctx = bind::BindContext {
            model: &snapshot.model,
            index: &snapshot.index,
            admin: visibility.is_admin(),
            now: request.now,
            lenient: self.options.lenient,
        };
        bind::bind(&request.query, &ctx)
    }

    /// The deadline of a request starting now.
    pub fn deadline(&self) -> Deadline {
        Deadline::after(self.options.time_budget)
    }

    /// Binds, plans, checks the work estimate against the budget, and executes within the
    /// deadline.
    fn evaluate(
        &self,
        snapshot: &Snapshot,
        request: &Request,
        deadline: &Deadline,
    ) -> Result<(bound::Expr, plan::Plan, RoaringBitmap, execute::Trace), Error> {
        let expr = self.bind(snapshot, request)?;
        let plan = plan::plan(&expr, &snapshot.model, &snapshot.index);
        cost::check(&plan, &snapshot.index, self.options.work_budget)
            .map_err(|e| blame_query(e, request))?;
        let (rows, trace) =
            execute::execute_within(&plan, &snapshot.model, &snapshot.index, deadline)
                .map_err(|e| blame_query(e, request))?;
        Ok((expr, plan, rows, trace))
    }

    /// Every matching row.
    pub fn matches(&self, snapshot: &Snapshot, request: &Request) -> Result<RoaringBitmap, Error> {
        let deadline = self.deadline();
        let (expr, _, mut rows, _) = self.evaluate(snapshot, request, &deadline)?;
        overlay::apply(snapshot, &expr, &mut rows, &deadline)
            .map_err(|e| blame_query(e, request))?;
        Ok(rows)
    }

    /// The page size a `$top` stands for: the default, or the count, clamped to the cap.
    pub fn effective_top(&self, top: Top) -> u64 {
        match top {
            Top::Default => self.options.default_top.min(self.options.top_cap),
            Top::All => self.options.top_cap,
            Top::Count(n) => n.min(self.options.top_cap),
        }
    }

    fn order_keys(request: &Request) -> Vec<OrderKey> {
        if request.order.is_empty() {
            vec![(SortKey::Login, false)]
        } else {
            request.order.clone()
        }
    }

    /// Answers a request: total and the requested page.
    pub fn search(&self, snapshot: &Snapshot, request: &Request) -> Result<Page, Error> {
        Ok(self.run(snapshot, request)?.0)
    }

    fn run(&self, snapshot: &Snapshot, request: &Request) -> Result<(Page, Explain), Error> {
        let deadline = self.deadline();
        let admin_viewer = self.is_admin(snapshot, &request.viewer)?;
        let (expr, plan, mut rows, trace) = self.evaluate(snapshot, request, &deadline)?;
        let overlay_rows = overlay::apply(snapshot, &expr, &mut rows, &deadline)
            .map_err(|e| blame_query(e, request))?;
        let top = self.effective_top(request.top);
        let (page_rows, strategy) = order::page_within(
            snapshot,
            &rows,
            &Self::order_keys(request),
            request.skip,
            top,
            &deadline,
        )
        .map_err(|e| blame_query(e, request))?;
        // Sorting and freeing the sort keys of a large match set check no deadline of their own:
        // a request past its budget by then is cancelled here rather than answered.
        deadline.check().map_err(|e| blame_query(e, request))?;
        let total = rows.len();
        let mut explain = Explain::new(&plan, &trace, &snapshot.model, total, strategy);
        explain.overlay_rows = overlay_rows;
        Ok((
            Page {
                total,
                skip: request.skip,
                top,
                rows: page_rows,
                admin_viewer,
                deadline,
            },
            explain,
        ))
    }

    /// Answers a request and says how: the plan with estimated and actual rows per node.
    pub fn explain(
        &self,
        snapshot: &Snapshot,
        request: &Request,
    ) -> Result<(Page, Explain), Error> {
        self.run(snapshot, request)
    }

    /// Hub's response body for a request (`userPage`).
    pub fn respond(&self, snapshot: &Snapshot, request: &Request) -> Result<Value, Error> {
        let page = self.search(snapshot, request)?;
        let users = project::project_users(
            snapshot,
            &page.rows,
            page.visibility(),
            request.selection.as_ref(),
            &page.deadline,
        )?;
        Ok(project::page_envelope(
            users,
            page.skip,
            page.top,
            page.total,
            request.selection.as_ref(),
        ))
    }

    /// The reference answer (linear scan, full sort): for differential tests and the benchmark
    /// (only with the `reference` feature).
    #[cfg(feature = "reference")]
    pub fn reference(&self, snapshot: &Snapshot, request: &Request) -> Result<Page, Error> {
        let admin_viewer = self.is_admin(snapshot, &request.viewer)?;
        let expr = self.bind(snapshot, request)?;
        let facts = reference::Facts::new(&snapshot.model);
        let mut rows = reference::evaluate(&snapshot.model, &facts, &expr);
        let total = rows.len() as u64;
        reference::sort_rows(&snapshot.model, &mut rows, &Self::order_keys(request));
        let top = self.effective_top(request.top);
        let rows = rows
            .into_iter()
            .skip(usize::try_from(request.skip).unwrap_or(usize::MAX))
            .take(usize::try_from(top).unwrap_or(usize::MAX))
            .collect();
        Ok(Page {
            total,
            skip: request.skip,
            top,
            rows,
            admin_viewer,
            deadline: Deadline::never(),
        })
    }
}

/// A cost-bound refusal is about the whole request, not one place in it: it spans the whole query
/// text (empty for a tree a dialect built, which has no text).
fn blame_query(mut error: Error, request: &Request) -> Error {
    if error.kind.is_cost_bound() && error.span.is_empty() {
        error.span = request.query.span.clone();
    }
    error
}

/// Hub's 400 body for an invalid query.
pub fn error_body(error: &Error) -> Value {
    let description = error.kind.to_string();
    json!({
        "error": "invalid_query",
        "error_description": description,
        "error_field": error.field(),
        "error_children": [{
            "error": description,
            "start": error.span.start,
            "end": error.span.end,
        }],
    })
}
