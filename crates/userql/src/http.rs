//! Dialect answers from an HTTP-shaped request: method, path, query string, headers and body in;
//! status, headers and body out — with no HTTP library required (see the `http` feature for
//! conversions to and from the `http` crate's types). A leaf module: the store and the snapshot
//! answer with these types, and nothing here depends on them.
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
//! Those are the searches, which [`crate::Snapshot::handle`] answers on one version (through
//! the same router as the store; a write route there is refused with the API's 500, since one
//! version cannot change). The store answers every route of the APIs, reads and writes — single
//! users (`GET /api/v4/users/:id`, `GET /api/v2/admin/users/:id`, …), `POST`/`PUT`/`DELETE` of
//! users, state actions (block, ban, suspend, grant admin, …), SSH keys and emails, enterprise
//! users' 2FA reset — each write as one atomic batch of changes: [`crate::Store::handle`] as a viewer the application names,
//! [`crate::Store::serve`] as the viewer of the request's API token.

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
