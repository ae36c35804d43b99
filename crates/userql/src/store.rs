//! The live directory ([`Store`]) and the immutable versions it publishes ([`Snapshot`]).

use std::path::Path;
use std::sync::Arc;

use userql_directory::changes::Change as InnerChange;
use userql_engine::{Engine, HubParams, Top};

use crate::change::Change;
use crate::directory::Directory;
use crate::error::{Error, QueryError};
use crate::explain::Explain;
use crate::http::{HttpRequest, HttpResponse};
use crate::hub::{HubPage, HubQuery};
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
    backend: Backend,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.backend {
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
        Store {
            backend,
            shared: Arc::new(Shared {
                engine: Engine::new(options.engine),
                dialects: options.dialects,
            }),
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
        let inner = match &self.backend {
            Backend::Memory(store) => store.snapshot(),
            Backend::Durable(store) => store.snapshot(),
        };
        Snapshot {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }

    /// The version number of the current snapshot (0, then +1 per applied batch).
    pub fn version(&self) -> u64 {
        match &self.backend {
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
        match &self.backend {
            Backend::Memory(store) => Ok(store.apply_changes(&inner)?),
            Backend::Durable(store) => Ok(store.apply(&inner)?),
        }
    }

    /// [`Snapshot::search`] on the current snapshot.
    pub fn search(&self, query: &HubQuery) -> Result<HubPage, Error> {
        self.snapshot().search(query)
    }

    /// [`Snapshot::handle`] on the current snapshot.
    pub fn handle(&self, request: &HttpRequest, viewer: &crate::Viewer) -> HttpResponse {
        self.snapshot().handle(request, viewer)
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
        self.inner.model.users.len()
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    pub(crate) fn dialect_settings(&self) -> &userql_dialects::Settings {
        &self.shared.dialects
    }

    pub(crate) fn inner(&self) -> &userql_directory::Snapshot {
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
                .map(|&row| model.users[row as usize].id.clone())
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
