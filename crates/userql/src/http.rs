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
//! Those are the searches, which [`Snapshot::handle`] answers on one version. The store answers
//! every route of the APIs, reads and writes — single users (`GET /api/v4/users/:id`,
//! `GET /api/v2/admin/users/:id`, …), `POST`/`PUT`/`DELETE` of users, state actions (block, ban,
//! suspend, grant admin, …), SSH keys and emails, enterprise users' 2FA reset — each write as one
//! atomic batch of changes: [`crate::Store::handle`] as a viewer the application names,
//! [`crate::Store::serve`] as the viewer of the request's API token.

use userql_dialects::{Call, Dialect};

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

    fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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

    fn json(status: u16, body: &serde_json::Value) -> HttpResponse {
        HttpResponse::from(userql_dialects::HttpResponse::json(
            status,
            userql_dialects::http::JSON,
            body,
        ))
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

/// Where a path goes.
enum Route {
    /// A dialect search, with parameters taken from the path (they win over the query string).
    Search {
        dialect: Dialect,
        path_params: Vec<(String, String)>,
        post: bool,
    },
    /// Hub query assist.
    Assist,
}

const ARCGIS_OPERATIONS: [&str; 5] = [
    "groups/getUsersWithinEnterpriseGroup",
    "users/searchEnterpriseUsers",
    "groups/searchEnterpriseGroups",
    "groups/getEnterpriseGroupsForUser",
    "groups/getEnterpriseGroupsForUsers",
];

fn route(path: &str) -> Option<Route> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let search = |dialect| {
        Some(Route::Search {
            dialect,
            path_params: Vec::new(),
            post: false,
        })
    };
    match path {
        "/api/v4/users" => return search(Dialect::Gitlab),
        "/api/v2/admin/users" => return search(Dialect::Tfe),
        "/hub/api/rest/users" => return search(Dialect::Hub),
        "/hub/api/rest/users/queryAssist" => return Some(Route::Assist),
        _ => {}
    }
    if let Some(group) = path
        .strip_prefix("/api/v4/groups/")
        .and_then(|rest| rest.strip_suffix("/enterprise_users"))
        .filter(|group| !group.is_empty() && !group.contains('/'))
    {
        return Some(Route::Search {
            dialect: Dialect::GitlabEnterprise,
            path_params: vec![(
                "id".into(),
                userql_dialects::params::decode_component(group),
            )],
            post: false,
        });
    }
    let (prefix, operation) = ARCGIS_OPERATIONS
        .iter()
        .find_map(|op| Some((path.strip_suffix(op)?, *op)))?;
    let prefix = prefix.strip_suffix("/security/")?;
    let segments: Vec<&str> = prefix.split('/').collect();
    // `/portaladmin` or `/:context/admin/orgs/:orgID`.
    let arcgis_prefix = matches!(segments.as_slice(), ["", "portaladmin"])
        || matches!(segments.as_slice(), ["", context, "admin", "orgs", org] if !context.is_empty() && !org.is_empty());
    arcgis_prefix.then(|| Route::Search {
        dialect: Dialect::Arcgis,
        path_params: vec![(
            "op".into(),
            operation.rsplit('/').next().unwrap_or(operation).to_owned(),
        )],
        post: true,
    })
}

fn not_found() -> HttpResponse {
    HttpResponse::json(404, &serde_json::json!({"message": "404 Not Found"}))
}

fn method_not_allowed(allow: &str) -> HttpResponse {
    let mut response = HttpResponse::json(
        405,
        &serde_json::json!({"message": "405 Method Not Allowed"}),
    );
    response.headers.push(("Allow".into(), allow.into()));
    response
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
        let Some(route) = route(request.path()) else {
            return not_found();
        };
        let method = request.method();
        match route {
            Route::Assist => {
                if method != "GET" {
                    return method_not_allowed("GET");
                }
                let params = userql_dialects::parse_query_string(request.query());
                let last = |name: &str| {
                    params
                        .iter()
                        .rev()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.as_str())
                };
                let query = last("query").unwrap_or("");
                let caret = last("caret")
                    .and_then(|c| c.parse::<usize>().ok())
                    .unwrap_or(query.len());
                let assist = self.assist(query, caret);
                match serde_json::to_value(&assist) {
                    Ok(body) => HttpResponse::json(200, &body),
                    Err(_) => HttpResponse::json(
                        500,
                        &serde_json::json!({"message": "500 Internal Server Error"}),
                    ),
                }
            }
            Route::Search {
                dialect,
                path_params,
                post,
            } => {
                let allowed = if post { "GET, POST" } else { "GET" };
                let is_post = method == "POST";
                if method != "GET" && !(post && is_post) {
                    return method_not_allowed(allowed);
                }
                let mut params = userql_dialects::parse_query_string(request.query());
                let form = request
                    .header_value("Content-Type")
                    .is_none_or(|t| t.starts_with("application/x-www-form-urlencoded"));
                if is_post && form {
                    params.extend(userql_dialects::parse_query_string(
                        &String::from_utf8_lossy(request.body_bytes()),
                    ));
                }
                params.extend(path_params);
                let call = Call {
                    dialect,
                    params,
                    viewer: viewer.0.clone(),
                    now: chrono::Utc::now().timestamp_millis(),
                    engine: self.engine(),
                    snapshot: self.inner(),
                };
                userql_dialects::answer_with(&call, self.dialect_settings())
                    .response
                    .into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect_of(path: &str) -> Option<Dialect> {
        match route(path)? {
            Route::Search { dialect, .. } => Some(dialect),
            Route::Assist => None,
        }
    }

    #[test]
    fn routes_name_their_dialect() {
        assert_eq!(dialect_of("/api/v4/users"), Some(Dialect::Gitlab));
        assert_eq!(dialect_of("/api/v4/users/"), Some(Dialect::Gitlab));
        assert_eq!(
            dialect_of("/api/v4/groups/g-1/enterprise_users"),
            Some(Dialect::GitlabEnterprise)
        );
        assert_eq!(dialect_of("/api/v2/admin/users"), Some(Dialect::Tfe));
        assert_eq!(
            dialect_of("/portaladmin/security/users/searchEnterpriseUsers"),
            Some(Dialect::Arcgis)
        );
        assert_eq!(
            dialect_of("/arcgis/admin/orgs/o1/security/groups/searchEnterpriseGroups"),
            Some(Dialect::Arcgis)
        );
        assert_eq!(dialect_of("/hub/api/rest/users"), Some(Dialect::Hub));
        assert!(matches!(
            route("/hub/api/rest/users/queryAssist"),
            Some(Route::Assist)
        ));
    }

    #[test]
    fn unknown_paths_have_no_route() {
        for path in [
            "/",
            "/api/v4/groups//enterprise_users",
            "/api/v4/groups/a/b/enterprise_users",
            "/x/security/users/searchEnterpriseUsers",
            "/portaladmin/security/users/deleteEverything",
        ] {
            assert!(route(path).is_none(), "{path}");
        }
    }
}
