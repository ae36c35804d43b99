//! Dialect answers from an HTTP-shaped request: method, path, query string, headers and body in;
//! status, headers and body out — with no HTTP library required (see the `http` feature for
//! conversions to and from the `http` crate's types).
//!
//! # Routes
//! | route | answered as |
//! |---|---|
//! | `GET /api/v4/users` | GitLab users search |
//! | `GET /api/v4/groups/:id/enterprise_users` | GitLab enterprise users of a group |
//! | `GET /api/v2/admin/users` | Terraform Enterprise admin users |
//! | `GET`/`POST` `/portaladmin/security/{groups,users}/<operation>` (also under `/:context/admin/orgs/:orgID/security/…`) | ArcGIS enterprise identity-store operations |
//! | `GET /hub/api/rest/users` | Hub user search |
//! | `GET /hub/api/rest/users/queryAssist` | Hub query assist (`query`, `caret`) |
//!
//! A route that exists with another method is a `405` with `Allow`; any other path a `404`.
//!
//! Those are the searches, which [`Snapshot::handle`] answers on one version (through the same
//! router as the store; a write route there is refused with the API's 500, since one version
//! cannot change). The store answers
//! every route of the APIs, reads and writes — single users (`GET /api/v4/users/:id`,
//! `GET /api/v2/admin/users/:id`, …), `POST`/`PUT`/`DELETE` of users, state actions (block, ban,
//! suspend, grant admin, …), SSH keys and emails, enterprise users' 2FA reset — each write as one
//! atomic batch of changes: [`crate::Store::handle`] as a viewer the application names,
//! [`crate::Store::serve`] as the viewer of the request's API token.

use std::sync::Arc;

use userql_dialects::route::{self, LiveStore, WriteError};

use crate::store::Snapshot;
use crate::vocabulary::Viewer;

/// A request as an HTTP server received it.
///
/// ```
/// let request = userql::HttpRequest::get("/api/v4/users?search=luke&per_page=5")
///     .header("Accept", "application/json");
/// assert_eq!(request.path(), "/api/v4/users");
/// assert_eq!(request.query(), "search=luke&per_page=5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpRequest {
    /// A request for `target`, a path with an optional `?query`.
    pub fn new(method: &str, target: &str) -> HttpRequest {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        HttpRequest {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `GET` request for `target`.
    pub fn get(target: &str) -> HttpRequest {
        HttpRequest::new("GET", target)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> HttpRequest {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body (a form body for ArcGIS `POST`s).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.body = body.into();
        self
    }

    /// The method, upper-case.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path, without the query string.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw query string, without `?`.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// The headers, in the order given.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body bytes.
    pub fn body_bytes(&self) -> &[u8] {
        &self.body
    }

    /// The router's view of this request.
    pub(crate) fn as_route(&self) -> userql_dialects::route::Request<'_> {
        userql_dialects::route::Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

/// A complete response: status, headers in sending order, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpResponse {
    /// A response with this status, `Content-Type` and body: for an embedding server's own
    /// routes (health checks, metrics), answered alongside userql's.
    ///
    /// ```
    /// let ok = userql::HttpResponse::new(200, "text/plain", "ok");
    /// assert_eq!((ok.status(), ok.header("content-type"), ok.body()), (200, Some("text/plain"), "ok"));
    /// ```
    pub fn new(status: u16, content_type: &str, body: impl Into<String>) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers, in the order the API sends them.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body text.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// Takes the body.
    pub fn into_body(self) -> String {
        self.body
    }
}

impl From<userql_dialects::HttpResponse> for HttpResponse {
    fn from(inner: userql_dialects::HttpResponse) -> Self {
        HttpResponse {
            status: inner.status,
            headers: inner.headers,
            body: inner.body,
        }
    }
}

impl Snapshot {
    /// Answers an HTTP-shaped request the way the API behind its route does (module docs list
    /// the routes), as `viewer`. Never panics; refusals are the API's own error responses.
    ///
    /// ```
    /// use userql::{Directory, HttpRequest, Store, Viewer};
    /// let store = Store::new(Directory::from_json(include_bytes!("../tests/data/tiny.json"))?);
    /// let response = store
    ///     .snapshot()
    ///     .handle(&HttpRequest::get("/api/v4/users?active=true&per_page=2"), &Viewer::admin());
    /// assert_eq!(response.status(), 200);
    /// assert!(response.header("X-Total").is_some());
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn handle(&self, request: &HttpRequest, viewer: &Viewer) -> HttpResponse {
        // The store's own router over this one version: the routes, parameters and refusals
        // are written once (`userql_dialects::route`), and a write finds a store that cannot
        // change.
        let router = route::Service::new(
            Arc::new(Frozen(Arc::clone(self.inner_arc()))),
            route::ServiceOptions {
                tokens: route::Tokens::default(),
                settings: self.dialect_settings().clone(),
                clock: route::Clock::System,
                engine: self.engine().clone(),
            },
        );
        router
            .handle_as(&request.as_route(), viewer.0.clone())
            .response
            .into()
    }
}

/// One version as the router's store: it reads, and refuses every write (writes go through
/// [`crate::Store`], which publishes new versions).
struct Frozen(Arc<userql_directory::Snapshot>);

impl LiveStore for Frozen {
    fn snapshot(&self) -> Arc<userql_directory::Snapshot> {
        Arc::clone(&self.0)
    }

    fn apply(&self, _: &[userql_directory::changes::Change]) -> Result<u64, WriteError> {
        Err(WriteError::Failed(
            "a snapshot is one version and cannot change: send writes to the store".into(),
        ))
    }
}
