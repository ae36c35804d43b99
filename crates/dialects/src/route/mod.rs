//! Every route of `userql serve` (README, "Serving the APIs over HTTP") as a plain function of
//! the request: method, path, query, headers and body in, status, headers and body out. No HTTP library is involved, so an
//! embedding server (axum, hyper, a test, a fuzzer) only moves bytes in and out of
//! [`Service::handle`].
//!
//! Reads go through the dialects ([`crate::answer_with`]), so a server answers exactly what
//! `userql query --format http` prints. Writes become batches of `userql-changes/1` changes
//! (module `edits`) applied through the [`LiveStore`] the service was given — in memory or durable —
//! and a write is acknowledged only after its batch is applied (and durable, when the store is),
//! so the next read sees it. Writes that
//! read-modify-write a user (keys, emails, profile fields) are serialised by one lock, so two
//! concurrent key additions never lose one another.
//!
//! Modules, one job each: [`auth`] (tokens to viewers, credentials per API), [`mod@refusal`] (each
//! API's error shapes), [`input`] (path segments and parameters from query string, form or JSON
//! bodies), and one module per API family: `gitlab_users`, `gitlab_keys`,
//! `gitlab_enterprise`, `tfe_admin`, `portal` (ArcGIS and Hub).
//!
//! Decisions where the seed documents are silent are listed in each module's docs.

pub mod auth;
mod edits;
mod gitlab_enterprise;
mod gitlab_keys;
mod gitlab_users;
pub mod input;
mod live;
mod portal;
pub mod refusal;
mod tfe_admin;

use std::sync::{Arc, Mutex, PoisonError};

use userql_directory::changes::{Change, ChangeErrors};
use userql_directory::Snapshot;
use userql_engine::{Engine, Viewer};

pub use auth::{Tokens, TokensError};
pub use live::{LiveStore, WriteError};
pub use refusal::{refusal, Api};

use crate::http::HttpResponse;
use crate::Settings;
use input::Input;

/// One HTTP request, as the embedding server received it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET`, `POST`, … (upper case).
    pub method: &'a str,
    /// The raw path, still percent-encoded, without the query string.
    pub path: &'a str,
    /// The raw query string (without `?`), possibly empty.
    pub query: &'a str,
    /// Header names and values (names compared case-insensitively; values that were not
    /// visible ASCII may be left out by the server).
    pub headers: &'a [(String, String)],
    /// The request body (already bounded by the server's body limit).
    pub body: &'a [u8],
}

impl Request<'_> {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The answer to one request, with what a server needs to log and count it.
#[derive(Debug, Clone)]
pub struct Routed {
    /// Which API the path belongs to (for shaping the server's own refusals).
    pub api: Api,
    /// The route template, e.g. `GET /api/v4/users/:id` (a bounded set: metrics labels).
    pub route: &'static str,
    /// The response.
    pub response: HttpResponse,
}

/// The clock of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock at each request.
    System,
    /// A fixed instant (epoch ms), for reproducible answers (`--now`).
    Fixed(i64),
}

impl Clock {
    /// The current time in epoch ms.
    pub fn now(self) -> i64 {
        match self {
            Clock::System => chrono::Utc::now().timestamp_millis(),
            Clock::Fixed(ms) => ms,
        }
    }
}

/// What a [`Service`] is configured with besides its store.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// Tokens and the viewers they act as.
    pub tokens: Tokens,
    /// External URLs in links, and GitLab's paging limits.
    pub settings: Settings,
    /// The clock.
    pub clock: Clock,
    /// The engine (limits, page caps).
    pub engine: Engine,
}

/// The routes of `serve.md` over one live store.
pub struct Service {
    store: Arc<dyn LiveStore>,
    options: ServiceOptions,
    /// Serialises read-modify-write batches (see the module docs).
    writes: Mutex<()>,
}

/// Everything a route handler needs for one request.
pub(crate) struct Ctx<'a> {
    /// The service.
    pub service: &'a Service,
    /// The API the path belongs to (for the shape of storage failures).
    pub api: Api,
    /// The snapshot the request reads.
    pub snapshot: std::sync::Arc<Snapshot>,
    /// Who asks.
    pub viewer: Viewer,
    /// Decoded parameters: query string, then body (so the body wins on repeats).
    pub input: Input,
    /// The clock for this request.
    pub now: i64,
}

impl<'a> Ctx<'a> {
    /// A dialect call over this request's snapshot with these params.
    pub fn call(&self, dialect: crate::Dialect, params: Vec<(String, String)>) -> crate::Call<'_> {
        crate::Call {
            dialect,
            params,
            viewer: self.viewer.clone(),
            now: self.now,
            engine: &self.service.options.engine,
            snapshot: &self.snapshot,
        }
    }

    /// The settings (URLs, limits).
    pub fn settings(&self) -> &Settings {
        &self.service.options.settings
    }

    /// Applies one batch built from the latest snapshot, under the write lock: `build` sees the
    /// snapshot current at lock time and returns the batch (or a refusal). Returns the snapshot
    /// after the batch.
    ///
    /// A store that fails to persist the batch answers 500 in the API's shape: nothing was
    /// acknowledged.
    pub fn write<T>(
        &self,
        build: impl FnOnce(&Snapshot) -> Result<(Vec<Change>, T), HttpResponse>,
        on_store_error: impl FnOnce(&ChangeErrors) -> HttpResponse,
    ) -> Result<(std::sync::Arc<Snapshot>, T), HttpResponse> {
        let _guard = self
            .service
            .writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let before = self.service.store.snapshot();
        let (batch, extra) = build(&before)?;
        if !batch.is_empty() {
            self.service.store.apply(&batch).map_err(|e| match e {
                WriteError::Refused(errors) => on_store_error(&errors),
                // Only administrators write, so the reason (an I/O error) may be shown.
                WriteError::Failed(why) => refusal(
                    self.api,
                    500,
                    &format!("500 Internal Server Error - the change could not be stored: {why}"),
                ),
            })?;
        }
        Ok((self.service.store.snapshot(), extra))
    }
}

impl Service {
    /// A service over a live store (in memory or durable: anything that implements
    /// [`LiveStore`]).
    pub fn new(store: Arc<dyn LiveStore>, options: ServiceOptions) -> Service {
        Service {
            store,
            options,
            writes: Mutex::new(()),
        }
    }

    /// The live store (for health and metrics).
    pub fn store(&self) -> &dyn LiveStore {
        &*self.store
    }

    /// The options.
    pub fn options(&self) -> &ServiceOptions {
        &self.options
    }

    /// Answers one request, its viewer found from its credentials and the service's
    /// [`Tokens`]. Never panics on any input; every refusal has its API's shape.
    pub fn handle(&self, request: &Request) -> Routed {
        self.route(request, None)
    }

    /// Answers one request as `viewer`, whatever credentials it carries: for an embedding
    /// application that authenticates requests itself.
    pub fn handle_as(&self, request: &Request, viewer: Viewer) -> Routed {
        self.route(request, Some(viewer))
    }

    fn route(&self, request: &Request, viewer: Option<Viewer>) -> Routed {
        let Some(segments) = input::segments(request.path) else {
            let api = Api::of_path(request.path);
            return Routed {
                api,
                route: "malformed path",
                response: refusal(api, 404, "malformed path"),
            };
        };
        let api = Api::of_segments(&segments);
        let viewer = match viewer {
            Some(viewer) => viewer,
            None => match auth::viewer(api, request, &segments, &self.options.tokens) {
                Ok(viewer) => viewer,
                Err(response) => {
                    return Routed {
                        api,
                        route: "unknown token",
                        response,
                    }
                }
            },
        };
        let input = match Input::read(request) {
            Ok(input) => input,
            Err(message) => {
                return Routed {
                    api,
                    route: "bad body",
                    response: refusal(api, 400, &message),
                }
            }
        };
        let ctx = Ctx {
            service: self,
            api,
            snapshot: self.store.snapshot(),
            viewer,
            input,
            now: self.options.clock.now(),
        };
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = request.method;
        let (route, response) = match api {
            Api::Gitlab => gitlab(&ctx, method, &segs[2..]),
            Api::Tfe => tfe_admin::route(&ctx, method, &segs[4..]),
            Api::Hub => portal::hub(&ctx, method, &segs[4..]),
            Api::Arcgis => portal::arcgis(&ctx, method, &segs),
            Api::Other => ("not found", refusal(Api::Other, 404, "no such route")),
        };
        Routed {
            api,
            route,
            response,
        }
    }
}

/// GitLab's routes under `/api/v4`.
fn gitlab(ctx: &Ctx, method: &str, segs: &[&str]) -> (&'static str, HttpResponse) {
    match segs {
        ["users", ..] | ["user", ..] => {
            if let Some(answer) = gitlab_keys::route(ctx, method, segs) {
                return answer;
            }
            gitlab_users::route(ctx, method, segs)
        }
        ["groups", _, "enterprise_users", ..] => gitlab_enterprise::route(ctx, method, segs),
        _ => ("not found", refusal(Api::Gitlab, 404, "404 Not Found")),
    }
}

/// A method the route does not take: each API's 405 (GitLab: `405 Not Allowed`), with the
/// `Allow` header HTTP requires (`allow`: the methods the route takes).
pub(crate) fn not_allowed(api: Api, allow: &str) -> HttpResponse {
    refusal(api, 405, "405 Method Not Allowed").with_header("Allow", allow)
}
