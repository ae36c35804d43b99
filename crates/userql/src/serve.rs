//! What a server around [`Store::serve`](crate::Store::serve) needs besides the store: the API
//! tokens it accepts ([`Tokens`]), the answer with its route for logs and metrics ([`Served`]),
//! and each API's own refusals for the limits a server enforces itself ([`Refusal`]: body too
//! large, too many requests in flight, out of time).

use userql_dialects::route::{self, Api};

use crate::error::Error;
use crate::http::HttpResponse;
use crate::vocabulary::Viewer;

/// The API tokens a store's [`crate::Store::serve`] accepts, each acting as a viewer.
///
/// ```
/// use userql::{Tokens, Viewer};
/// let mut tokens = Tokens::from_json(r#"{"tokens": [{"token": "t-1", "viewer": "admin"}]}"#)?;
/// tokens.insert("t-2", Viewer::login("luke"));
/// assert_eq!(tokens.len(), 2);
/// assert!(Tokens::from_json(r#"{"tokens": [{"token": "", "viewer": "admin"}]}"#).is_err());
/// # Ok::<(), userql::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Tokens(pub(crate) route::Tokens);

/// Shows how many tokens there are, never the tokens (options are logged in debug output).
impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("count", &self.len())
            .finish()
    }
}

impl Tokens {
    /// Parses `{"tokens": [{"token": "…", "viewer": "admin" | "anonymous" | LOGIN}]}` (the
    /// `--tokens` file of `userql serve`). Empty or repeated tokens are refused.
    pub fn from_json(text: &str) -> Result<Tokens, Error> {
        route::Tokens::from_json(text)
            .map(Tokens)
            .map_err(|e| Error::Tokens(e.to_string()))
    }

    /// One token acting as the administrator.
    pub fn admin(token: impl Into<String>) -> Tokens {
        Tokens(route::Tokens::admin(token))
    }

    /// Adds a token (replacing the viewer of a token already known).
    pub fn insert(&mut self, token: impl Into<String>, viewer: Viewer) {
        self.0.insert(token, viewer.0);
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The answer of [`crate::Store::serve`], with what a server logs and counts.
#[derive(Debug, Clone)]
pub struct Served {
    api: Api,
    route: &'static str,
    response: HttpResponse,
}

impl From<route::Routed> for Served {
    fn from(routed: route::Routed) -> Self {
        Served {
            api: routed.api,
            route: routed.route,
            response: routed.response.into(),
        }
    }
}

impl Served {
    /// The route template, e.g. `GET /api/v4/users/:id`, or what refused the request
    /// (`unknown token`, `malformed path`, `not found`, …): a small fixed set, fit for metric
    /// labels whatever clients send.
    pub fn route(&self) -> &'static str {
        self.route
    }

    /// The API the path belongs to: `gitlab`, `tfe`, `arcgis`, `hub` or `other`.
    pub fn api(&self) -> &'static str {
        self.api.as_str()
    }

    /// The response.
    pub fn response(&self) -> &HttpResponse {
        &self.response
    }

    /// Takes the response.
    pub fn into_response(self) -> HttpResponse {
        self.response
    }
}

/// The refusals a server makes before a request reaches the store, each in the shape of the
/// API the path belongs to (GitLab `{"message"}`, TFE `errors[]`, ArcGIS `code` in a 200 body,
/// Hub `error_description`).
///
/// ```
/// use userql::Refusal;
/// let busy = Refusal::Overloaded.response("/api/v4/users");
/// assert_eq!(busy.status(), 503);
/// assert_eq!(busy.header("Retry-After"), Some("1"));
/// assert_eq!(Refusal::BodyTooLarge(1024).response("/api/v2/admin/users").status(), 413);
/// assert_eq!(userql::api_of("/hub/api/rest/users"), "hub");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The body is larger than the server accepts (this many bytes): 413.
    BodyTooLarge(usize),
    /// The headers are larger than the server accepts (this many bytes): 431.
    HeadersTooLarge(usize),
    /// Too many requests in flight: 503 with `Retry-After`.
    Overloaded,
    /// The request ran past the server's time budget: 503 with `Retry-After`.
    TimedOut,
    /// The server failed (a handler crashed): 500.
    Internal,
}

impl Refusal {
    /// This refusal for a request on `path`, in that API's shape.
    pub fn response(self, path: &str) -> HttpResponse {
        let api = Api::of_path(path);
        let inner = match self {
            Refusal::BodyTooLarge(limit) => route::refusal::too_large(api, limit),
            Refusal::HeadersTooLarge(limit) => route::refusal(
                api,
                431,
                &format!("the request headers exceed {limit} bytes"),
            ),
            Refusal::Overloaded => route::refusal::overloaded(api),
            Refusal::TimedOut => route::refusal::timeout(api),
            Refusal::Internal => route::refusal(api, 500, "internal server error"),
        };
        inner.into()
    }
}

/// The API a path belongs to, as [`Served::api`] names it (for logging a server's own
/// refusals).
pub fn api_of(path: &str) -> &'static str {
    Api::of_path(path).as_str()
}
