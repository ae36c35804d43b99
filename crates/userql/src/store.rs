//! The live directory ([`Store`]) and the immutable versions it publishes ([`Snapshot`]).

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use userql_dialects::route::{self, LiveStore, WriteError};
use userql_directory::changes::{Change as InnerChange, ChangeErrors};
use userql_engine::{Engine, HubParams, Top};

use crate::change::Change;
use crate::directory::Directory;
use crate::error::{Error, QueryError};
use crate::explain::Explain;
use crate::http::{HttpRequest, HttpResponse};
use crate::hub::{HubPage, HubQuery};
use crate::serve::{Served, Tokens};
use crate::Assist;

/// Settings of a [`Store`]: request limits and the URLs the dialects put in responses.
///
/// ```
/// let options = userql::Options::default()
///     .top_cap(500)
///     .gitlab_url("https://gitlab.internal")
///     .lenient(true);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Options {
    engine: userql_engine::Options,
    dialects: userql_dialects::Settings,
    tokens: Tokens,
    now: Option<DateTime<Utc>>,
}

impl Options {
    /// The most users one page may hold (Hub `$top`; default 10,000).
    pub fn top_cap(mut self, cap: u64) -> Options {
        self.engine.top_cap = cap;
        self
    }

    /// Hub `$top` when a request does not say (default 100).
    pub fn default_top(mut self, top: u64) -> Options {
        self.engine.default_top = top;
        self
    }

    /// Unknown groups, projects, roles… in a query match nothing instead of being refused.
    pub fn lenient(mut self, lenient: bool) -> Options {
        self.engine.lenient = lenient;
        self
    }

    /// GitLab's external URL, for `Link` headers and `web_url` (no trailing slash).
    pub fn gitlab_url(mut self, url: impl Into<String>) -> Options {
        self.dialects.gitlab_url = url.into();
        self
    }

    /// Terraform Enterprise's external URL, for JSON:API links (no trailing slash).
    pub fn tfe_url(mut self, url: impl Into<String>) -> Options {
        self.dialects.tfe_url = url.into();
        self
    }

    /// How long one search may run before it is cancelled (default 2 s): past it the engine
    /// stops touching rows and the request is answered with the API's time-out error. A server
    /// sets it to its own per-request budget, so that abandoned work really stops.
    pub fn time_budget(mut self, budget: Duration) -> Options {
        self.engine.time_budget = budget;
        self
    }

    /// The API tokens [`Store::serve`] accepts, and the viewers they act as.
    pub fn tokens(mut self, tokens: Tokens) -> Options {
        self.tokens = tokens;
        self
    }

    /// Answers HTTP requests as if it were `now` (relative dates such as `last-access: -7d`,
    /// and the `created_at` of users made by `POST` routes): reproducible answers for tests.
    /// Default: the system clock at each request.
    pub fn now(mut self, now: DateTime<Utc>) -> Options {
        self.now = Some(now);
        self
    }
}

/// Where the versions live: in memory only, or logged to a state directory.
enum Backend {
    Memory(userql_directory::Store),
    Durable(userql_state::DurableStore<InnerChange>),
}

/// What every snapshot shares: the engine and the dialect settings.
#[derive(Debug)]
struct Shared {
    engine: Engine,
    dialects: userql_dialects::Settings,
}

/// The backend and what the store has seen of its index rebuilds; shared with the router.
struct Inner {
    backend: Backend,
    rebuilds: Mutex<Rebuilds>,
}

/// The indexes the snapshots read, as last seen: a new `Arc` means the indexes were rebuilt.
#[derive(Debug, Clone, Copy)]
struct Rebuilds {
    /// Address of the current indexes (compared only, never dereferenced).
    index: usize,
    /// When the current indexes were first seen.
    seen_at: SystemTime,
    /// Rebuilds seen since the store was opened.
    count: u64,
}

impl Inner {
    fn snapshot(&self) -> Arc<userql_directory::Snapshot> {
        match &self.backend {
            Backend::Memory(store) => store.snapshot(),
            Backend::Durable(store) => store.snapshot(),
        }
    }

    fn apply(&self, batch: &[InnerChange]) -> Result<u64, userql_state::ApplyError<ChangeErrors>> {
        let version = match &self.backend {
            Backend::Memory(store) => store
                .apply_changes(batch)
                .map_err(userql_state::ApplyError::Refused)?,
            Backend::Durable(store) => store.apply(batch)?,
        };
        self.observe();
        Ok(version)
    }

    /// Notes a rebuild if the current snapshot reads other indexes than last time.
    fn observe(&self) -> Rebuilds {
        let index = Arc::as_ptr(&self.snapshot().index) as usize;
        let mut seen = self.rebuilds.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.index != index {
            *seen = Rebuilds {
                index,
                seen_at: SystemTime::now(),
                count: seen.count + 1,
            };
        }
        *seen
    }
}

/// The router's view of the store: every write route is one batch through [`Inner::apply`].
struct Live(Arc<Inner>);

impl LiveStore for Live {
    fn snapshot(&self) -> Arc<userql_directory::Snapshot> {
        self.0.snapshot()
    }

    fn apply(&self, batch: &[InnerChange]) -> Result<u64, WriteError> {
        self.0.apply(batch).map_err(|error| match error {
            userql_state::ApplyError::Refused(errors) => WriteError::Refused(errors),
            userql_state::ApplyError::State(error) => WriteError::Failed(error.to_string()),
        })
    }
}

/// The live directory: readers take lock-free [`Snapshot`]s, writers apply atomic batches of
/// [`Change`]s. In memory ([`Store::new`]) or durable ([`Store::open_state`]: every batch is
/// logged and fsynced before it is acknowledged or seen).
///
/// A `Store` is `Send + Sync`; share it behind an `Arc` between request handlers and the task
/// that applies changes.
///
/// ```
/// use userql::{Change, Directory, HubQuery, Kind, Store};
///
/// let store = Store::new(Directory::from_json(include_bytes!("../tests/data/tiny.json"))?);
/// let before = store.search(&HubQuery::new("state: banned"))?.total;
/// let version = store.apply(&[Change::patch(Kind::User, "u-luke", [("state", "banned".into())])])?;
/// assert_eq!(version, 1);
/// assert_eq!(store.search(&HubQuery::new("state: banned"))?.total, before + 1);
/// # Ok::<(), userql::Error>(())
/// ```
pub struct Store {
    inner: Arc<Inner>,
    shared: Arc<Shared>,
    /// Every HTTP route of the APIs (reads and writes), over `inner`.
    router: route::Service,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.inner.backend {
            Backend::Memory(_) => None,
            Backend::Durable(durable) => Some(durable.dir()),
        };
        f.debug_struct("Store")
            .field("version", &self.version())
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Indexes a directory as version 0, with default [`Options`].
    pub fn new(directory: Directory) -> Store {
        Store::with_options(directory, Options::default())
    }

    /// Indexes a directory as version 0.
    ///
    /// ```
    /// use userql::{Directory, Options, Store};
    /// let directory = Directory::from_json(include_bytes!("../tests/data/tiny.json"))?;
    /// let store = Store::with_options(directory, Options::default().top_cap(50));
    /// assert_eq!(store.version(), 0);
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn with_options(directory: Directory, options: Options) -> Store {
        Store::with_backend(
            Backend::Memory(userql_directory::Store::new(directory.0)),
            options,
        )
    }

    /// Opens the durable store kept in the state directory `dir`, with default [`Options`].
    ///
    /// A new or empty `dir` is first seeded from `seed` (a directory file, `.json` or
    /// `.ndjson`) as version 0; for a directory that holds state, `seed` is ignored and the
    /// state is recovered: the newest checkpoint plus every logged batch after it. The store
    /// holds the directory's lock until it is dropped (a second opener gets
    /// [`crate::StateError::is_locked`]). Each [`Store::apply`] returns once its batch is on disk;
    /// checkpoints are written in the background as the log grows. The on-disk layout is
    /// described in the repository's `docs/state.md`.
    ///
    /// ```
    /// use chrono::Utc;
    /// use userql::{Change, HubQuery, NewUser, Store};
    ///
    /// let dir = std::env::temp_dir().join(format!("userql-doc-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let store = Store::open_state(&dir, Some("tests/data/tiny.json".as_ref()))?;
    /// store.apply(&[Change::put_user(NewUser::new("u-rey", "rey", Utc::now()))])?;
    /// drop(store);
    ///
    /// let reopened = Store::open_state(&dir, None)?;
    /// assert_eq!(reopened.version(), 1);
    /// assert_eq!(reopened.search(&HubQuery::new("login: rey"))?.total, 1);
    /// # drop(reopened);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn open_state(dir: impl AsRef<Path>, seed: Option<&Path>) -> Result<Store, Error> {
        Store::open_state_with_options(dir, seed, Options::default())
    }

    /// [`Store::open_state`] with the given [`Options`].
    pub fn open_state_with_options(
        dir: impl AsRef<Path>,
        seed: Option<&Path>,
        options: Options,
    ) -> Result<Store, Error> {
        let durable = userql_state::DurableStore::open(
            dir.as_ref(),
            seed,
            userql_state::DurableOptions::default(),
        )?;
        Ok(Store::with_backend(Backend::Durable(durable), options))
    }

    fn with_backend(backend: Backend, options: Options) -> Store {
        let engine = Engine::new(options.engine);
        let index = match &backend {
            Backend::Memory(store) => store.snapshot(),
            Backend::Durable(store) => store.snapshot(),
        };
        let inner = Arc::new(Inner {
            backend,
            rebuilds: Mutex::new(Rebuilds {
                index: Arc::as_ptr(&index.index) as usize,
                seen_at: SystemTime::now(),
                count: 0,
            }),
        });
        let router = route::Service::new(
            Arc::new(Live(Arc::clone(&inner))),
            route::ServiceOptions {
                tokens: options.tokens.0,
                settings: options.dialects.clone(),
                clock: options.now.map_or(route::Clock::System, |now| {
                    route::Clock::Fixed(now.timestamp_millis())
                }),
                engine: engine.clone(),
            },
        );
        Store {
            inner,
            shared: Arc::new(Shared {
                engine,
                dialects: options.dialects,
            }),
            router,
        }
    }

    /// The current version: one atomic load, never blocks, stays valid while held. Take one per
    /// request so that every part of an answer reads the same version.
    ///
    /// ```
    /// # let store = userql::Store::new(userql::Directory::builder().build()?);
    /// let snapshot = store.snapshot();
    /// assert_eq!(snapshot.version(), store.version());
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            inner: self.inner.snapshot(),
            shared: Arc::clone(&self.shared),
        }
    }

    /// The version number of the current snapshot (0, then +1 per applied batch).
    pub fn version(&self) -> u64 {
        match &self.inner.backend {
            Backend::Memory(store) => store.version(),
            Backend::Durable(store) => store.version(),
        }
    }

    /// Applies a batch atomically and returns the new version (the current one for an empty
    /// batch). A refused batch changes nothing and reports every problem, numbered by change
    /// ([`Error::Invalid`], [`crate::Problem::change`]). Readers are never blocked. On a
    /// durable store the batch is on disk when this returns; a failed write is
    /// [`Error::State`].
    ///
    /// ```
    /// use chrono::Utc;
    /// use userql::{Change, Directory, Error, Kind, NewUser, Store};
    /// let store = Store::new(Directory::builder().build()?);
    /// store.apply(&[Change::put_user(NewUser::new("u1", "ada", Utc::now()))])?;
    /// let Err(Error::Invalid(problems)) = store.apply(&[Change::delete(Kind::User, "nobody")]) else {
    ///     panic!("nobody is not a user");
    /// };
    /// assert_eq!(problems.iter().next().and_then(|p| p.change), Some(1));
    /// assert_eq!(store.snapshot().user_count(), 1);
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn apply(&self, batch: &[Change]) -> Result<u64, Error> {
        let inner: Vec<InnerChange> = batch.iter().map(|c| c.0.clone()).collect();
        Ok(self.inner.apply(&inner)?)
    }

    /// What a health check or a metrics page shows: version, users, rows not yet in the
    /// indexes, and the last index rebuild.
    ///
    /// ```
    /// # let store = userql::Store::new(userql::Directory::from_json(include_bytes!("../tests/data/tiny.json"))?);
    /// let stats = store.stats();
    /// assert_eq!(stats.version, 0);
    /// assert!(stats.users > 0);
    /// assert_eq!(stats.dirty_rows, 0);
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn stats(&self) -> Stats {
        let rebuilds = self.inner.observe();
        let snapshot = self.inner.snapshot();
        Stats {
            version: snapshot.version,
            users: snapshot.model.users.count(),
            dirty_rows: snapshot.dirty.len(),
            last_rebuild: rebuilds.seen_at,
            rebuilds: rebuilds.count,
        }
    }

    /// [`Snapshot::search`] on the current snapshot.
    pub fn search(&self, query: &HubQuery) -> Result<HubPage, Error> {
        self.snapshot().search(query)
    }

    /// Answers an HTTP-shaped request on any route of the APIs — reads and writes (the
    /// [`crate::http`](crate::HttpRequest) module lists them) — as `viewer`, whatever
    /// credentials the request carries: for an application that authenticates requests
    /// itself. A write is answered once its batch is applied (and durable, on a durable
    /// store). Never panics; refusals are the API's own error responses.
    ///
    /// ```
    /// use userql::{Directory, HttpRequest, Store, Viewer};
    /// let store = Store::new(Directory::from_json(include_bytes!("../tests/data/tiny.json"))?);
    /// let block = HttpRequest::new("POST", "/api/v4/users/7/block");
    /// assert_eq!(store.handle(&block, &Viewer::admin()).status(), 201);
    /// let luke = store.handle(&HttpRequest::get("/api/v4/users/7"), &Viewer::admin());
    /// assert!(luke.body().contains(r#""state":"blocked""#));
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn handle(&self, request: &HttpRequest, viewer: &crate::Viewer) -> HttpResponse {
        self.router
            .handle_as(&request.as_route(), viewer.0.clone())
            .response
            .into()
    }

    /// Answers an HTTP-shaped request on any route of the APIs, its viewer found from its
    /// credentials (`PRIVATE-TOKEN`, `Authorization: Bearer`, ArcGIS `token=`) and the
    /// [`Options::tokens`]; no credentials = anonymous, an unknown token gets the API's
    /// refusal. This is the whole of a server's request handling: `userql serve` only adds
    /// HTTP, limits and logging around it.
    ///
    /// ```
    /// use userql::{Directory, HttpRequest, Options, Store, Tokens};
    /// let directory = Directory::from_json(include_bytes!("../tests/data/tiny.json"))?;
    /// let store = Store::with_options(directory, Options::default().tokens(Tokens::admin("s3cret")));
    ///
    /// let create = HttpRequest::new("POST", "/api/v4/users")
    ///     .header("PRIVATE-TOKEN", "s3cret")
    ///     .header("Content-Type", "application/json")
    ///     .body(r#"{"username": "rey", "name": "Rey", "email": "rey@example.com"}"#);
    /// let served = store.serve(&create);
    /// assert_eq!((served.route(), served.response().status()), ("POST /api/v4/users", 201));
    ///
    /// let stranger = HttpRequest::get("/api/v4/users").header("PRIVATE-TOKEN", "guess");
    /// assert_eq!(store.serve(&stranger).response().status(), 401);
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn serve(&self, request: &HttpRequest) -> Served {
        Served::from(self.router.handle(&request.as_route()))
    }

    /// [`Snapshot::assist`] on the current snapshot.
    pub fn assist(&self, query: &str, caret: usize) -> Assist {
        self.snapshot().assist(query, caret)
    }

    /// [`Snapshot::explain`] on the current snapshot.
    pub fn explain(&self, query: &HubQuery) -> Result<Explain, Error> {
        self.snapshot().explain(query)
    }
}

/// A store's figures for health checks and metrics ([`Store::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// The current version.
    pub version: u64,
    /// Users in the current version.
    pub users: usize,
    /// Rows changed since the indexes were built (searches re-check them one by one; a
    /// rebuild folds them back into the indexes).
    pub dirty_rows: u64,
    /// When the store first saw its current indexes: the last rebuild (or the opening of the
    /// store, before any rebuild). Rebuilds run in the background, so this is when the rebuilt
    /// indexes were published, within one write or one `stats` call.
    pub last_rebuild: SystemTime,
    /// Index rebuilds seen since the store was opened.
    pub rebuilds: u64,
}

/// One immutable version of the directory, with everything needed to answer requests on it.
/// Cheap to clone (reference-counted), `Send + Sync`.
#[derive(Clone)]
pub struct Snapshot {
    inner: Arc<userql_directory::Snapshot>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("version", &self.inner.version)
            .field("users", &self.user_count())
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Its version number.
    pub fn version(&self) -> u64 {
        self.inner.version
    }

    /// How many users it holds.
    pub fn user_count(&self) -> usize {
        self.inner.model.users.count()
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    pub(crate) fn dialect_settings(&self) -> &userql_dialects::Settings {
        &self.shared.dialects
    }

    pub(crate) fn inner_arc(&self) -> &Arc<userql_directory::Snapshot> {
        &self.inner
    }

    /// The engine request for a Hub query, or the error with the text its span points into.
    fn request(&self, query: &HubQuery) -> Result<userql_engine::Request, Error> {
        let params = HubParams {
            query: Some(&query.query),
            order_by: query.order_by.as_deref(),
            skip: None,
            top: None,
            fields: query.fields.as_deref(),
        };
        let now = query
            .now
            .unwrap_or_else(chrono::Utc::now)
            .timestamp_millis();
        let mut request = self
            .engine()
            .hub_request(&params, query.viewer.0.clone(), now)
            .map_err(|e| {
                let source = match e.field() {
                    "orderBy" => query.order_by.clone(),
                    "fields" => query.fields.clone(),
                    _ => Some(query.query.clone()),
                };
                Error::Query(QueryError::new(e, source.unwrap_or_default()))
            })?;
        request.skip = query.skip;
        request.top = match (query.all, query.top) {
            (true, _) => Top::All,
            (false, Some(n)) => Top::Count(n),
            (false, None) => Top::Default,
        };
        Ok(request)
    }

    /// Answers a Hub user search: the total, the page's ids and Hub's `userPage` body.
    ///
    /// ```
    /// use userql::{Directory, HubQuery, Store, Viewer};
    /// let store = Store::new(Directory::from_json(include_bytes!("../tests/data/tiny.json"))?);
    /// let page = store.snapshot().search(&HubQuery::new("has: 2FA").fields("login"))?;
    /// assert_eq!(page.ids.len() as u64, page.total.min(page.top));
    /// assert!(page.body["users"].is_array());
    ///
    /// // Non-administrators may not filter on private attributes: a typed, located error.
    /// let refused = store.search(&HubQuery::new("has: 2FA").viewer(Viewer::anonymous()));
    /// assert!(matches!(refused, Err(userql::Error::Query(e)) if e.status() == 400));
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn search(&self, query: &HubQuery) -> Result<HubPage, Error> {
        let request = self.request(query)?;
        let page = self
            .engine()
            .search(&self.inner, &request)
            .map_err(|e| Error::Query(QueryError::new(e, query.query.clone())))?;
        let model = &self.inner.model;
        let body = userql_engine::project::page_json(
            &self.inner,
            &page.rows,
            page.skip,
            page.top,
            page.total,
            page.visibility(),
            request.selection.as_ref(),
        );
        Ok(HubPage {
            total: page.total,
            skip: page.skip,
            top: page.top,
            ids: page
                .rows
                .iter()
                .map(|&row| model.users[row as usize].id.to_string())
                .collect(),
            body,
        })
    }

    /// Answers a Hub search and says how: the plan with estimated and actual rows per step.
    ///
    /// ```
    /// # let store = userql::Store::new(userql::Directory::from_json(include_bytes!("../tests/data/tiny.json"))?);
    /// let explain = store.snapshot().explain(&userql::HubQuery::new("has: 2FA and state: active"))?;
    /// println!("{explain}");
    /// assert!(explain.without_times().contains("actual"));
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn explain(&self, query: &HubQuery) -> Result<Explain, Error> {
        let request = self.request(query)?;
        let (_, explain) = self
            .engine()
            .explain(&self.inner, &request)
            .map_err(|e| Error::Query(QueryError::new(e, query.query.clone())))?;
        Ok(Explain(explain))
    }

    /// Query assist for a search box: highlighting and completions for `query` with the caret at
    /// byte `caret` (Hub's `queryAssist`). Never fails, whatever the text and caret.
    ///
    /// ```
    /// # let store = userql::Store::new(userql::Directory::from_json(include_bytes!("../tests/data/tiny.json"))?);
    /// let assist = store.snapshot().assist("has: 2", 6);
    /// assert!(assist.suggestions.iter().any(|s| s.option == "2FA"));
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn assist(&self, query: &str, caret: usize) -> Assist {
        userql_engine::assist::assist(&self.inner, query, caret)
    }
}
