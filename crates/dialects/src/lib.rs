//! GitLab, Terraform Enterprise and ArcGIS requests (and Hub's own REST options) translated to
//! userql queries, and the engine's answers rendered back as each API's exact response.
//!
//! Each dialect turns one request's query-string parameters into Hub-language AST clauses (the
//! filter, so `userql check --dialect X` can show the equivalent Hub query, see [`to_hub`]) plus
//! order and paging, evaluates the clauses over a directory [`Snapshot`], and renders status,
//! headers and body as the real API would ([`answer`]). The mapping tables are in the
//! repository's `docs/dialects.md`.
//!
//! # One trait, one seam
//! Each dialect implements [`Api`]: params → a [`Translated`] request (its Hub form is
//! [`Translated::hub`], never re-parsed text), whose answer asks a [`RowSource`] for rows — a
//! [`source::Fetch`] of filter, residue, order, window and extra counts — and renders the API's
//! response from them. [`MemorySource`] answers from the call's snapshot; the PostgreSQL backend
//! (`userql_pg::PgSource`) answers the same fetch with one statement ([`answer_from`]).
//!
//! # How filters are evaluated
//! Clauses go to [`userql_engine::Engine::matches`] **as an administrator**: the dialect has
//! already applied its API's own visibility rules (GitLab's hidden states, the enterprise owner
//! check, TFE/ArcGIS admin-only access), and those APIs let callers filter on attributes Hub
//! treats as private (an enterprise-group owner searches private emails). The Hub extensions
//! `loginContains`, `nameContains`, `emailContains`, `has: ldapIdentity` and `has: projectRole`
//! are evaluated here from the directory indexes (the same bitmaps the binder uses), so the crate
//! works whether or not the engine's binder knows them yet. What no Hub clause can express is the
//! fetch's residue and order ([`source::Residue`], [`source::RowOrder`]), applied by the source
//! over the filter's rows; each module's docs list those cases.
//!
//! # Quirks reproduced (users' clients depend on them)
//! GitLab `GET /users` ([`gitlab`]):
//! - booleans are "only when true": `1 on t true y yes` / `0 off f false n no` in any case; false
//!   means *no filter*, not the complement; an empty or other value is a 400 `<param> is invalid`;
//! - several invalid params give one 400 whose messages are joined with `, `; every 400 comes
//!   before any 401/403; a repeated param: the last one wins; unknown params are ignored;
//! - non-admins never see `blocked`, `banned` or `ldap_blocked` users (so `blocked=true` is always
//!   empty for them); `admins`, `two_factor`, `created_after`, `created_before` and
//!   `without_projects` are validated but silently ignored for non-admins; `skip_ldap`,
//!   `order_by` and `sort` are honoured for everyone (GitLab's code, not its docs);
//! - `extern_uid` + `provider`: both or neither (400), admins only (403 for users, 401 for
//!   anonymous); anonymous callers need a non-empty `username` (403);
//! - `active` also drops internal user types (ghost, support/alert bots); `blocked` means only
//!   `blocked` and `ldap_blocked`; `two_factor` values other than `enabled`/`disabled` are ignored;
//! - `public_email` is compared case-sensitively; `username` case-insensitively;
//! - `order_by=created_at` orders by id, as GitLab does; ties broken by id in the same direction;
//! - `search`: one leading `@` stripped, lower-cased, exact email (public for non-admins, primary
//!   or secondary for admins) or every term of ≥ 3 characters a substring of the name or of the
//!   username (quoted phrases kept whole); with no such term, whole-string equality; results
//!   ordered public-email match, username match, name match, rest, then name, then id — unless
//!   `order_by`/`sort` is given;
//! - dates inclusive on both sides; `YYYY-MM-DD` is midnight UTC;
//! - `page` ≤ 0 is 1, `per_page` > 100 is 100, negative `per_page` is 20, `per_page=0` is a 400;
//! - above [`Settings::count_limit`] matches, `X-Total`, `X-Total-Pages` and `rel="last"` vanish;
//!   `page × per_page` above [`Settings::offset_limit`] is a 405;
//! - `Link` URLs carry every request param merged with `page`/`per_page`, sorted by name,
//!   encoded like Rails `to_query` (brackets and `*` percent-encoded, spaces as `+`).
//!
//! GitLab enterprise users ([`gitlab_enterprise`]): every state is listed; `search` always
//! matches private emails; `404 Not found` with a lower-case "found" for `user_id`.
//!
//! Terraform Enterprise ([`tfe`]): non-admins get 404, never 403; `filter[admin]` /
//! `filter[suspended]` values other than `true`/`false` are ignored; `page[number]` past the end
//! is an empty 200 echoing the page; `status-counts` ignore the two filters.
//!
//! ArcGIS ([`arcgis`]): errors are HTTP 200 with `{"status":"error",…,"code":N}`; a `filter`
//! without `*` is a prefix; `maxCount` that is not a positive integer falls back to 1000.
#![deny(missing_docs)]

pub mod arcgis;
mod arcgis_glob;
pub mod gitlab;
mod gitlab_dates;
pub mod gitlab_enterprise;
pub(crate) mod gitlab_order;
mod gitlab_paging;
mod gitlab_rows;
mod gitlab_search;
mod gitlab_values;
pub mod http;
pub mod hub;
pub mod memory;
pub mod params;
mod query;
pub mod route;
pub mod source;
pub mod tfe;

use std::fmt;
use std::str::FromStr;

use userql_directory::Snapshot;
use userql_engine::{Engine, Request, Viewer, Visibility};

pub use http::HttpResponse;
pub use memory::MemorySource;
pub use params::parse_query_string;
pub use source::{Failure, RowSource};

/// Which API a request is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Hub's own REST options (`query`, `fields`, `orderBy`, `$skip`, `$top`).
    Hub,
    /// GitLab `GET /api/v4/users`.
    Gitlab,
    /// GitLab `GET /api/v4/groups/:id/enterprise_users`.
    GitlabEnterprise,
    /// Terraform Enterprise `GET /api/v2/admin/users`.
    Tfe,
    /// ArcGIS Enterprise portal admin enterprise-identity-store operations.
    Arcgis,
}

impl Dialect {
    /// Every dialect, in CLI order.
    pub const ALL: [Dialect; 5] = [
        Dialect::Hub,
        Dialect::Gitlab,
        Dialect::GitlabEnterprise,
        Dialect::Tfe,
        Dialect::Arcgis,
    ];

    /// The CLI spelling (`--dialect`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Hub => "hub",
            Dialect::Gitlab => "gitlab",
            Dialect::GitlabEnterprise => "gitlab-enterprise",
            Dialect::Tfe => "tfe",
            Dialect::Arcgis => "arcgis",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--dialect` value that names no dialect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dialect '{0}': expected hub, gitlab, gitlab-enterprise, tfe or arcgis")]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| UnknownDialect(text.to_string()))
    }
}

/// One request: the dialect, its decoded params (see [`parse_query_string`]), who asks, the clock
/// and what to answer from.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// The API.
    pub dialect: Dialect,
    /// Decoded query-string params in request order (repeats kept).
    pub params: Vec<(String, String)>,
    /// Who asks.
    pub viewer: Viewer,
    /// The clock (epoch ms) for relative dates.
    pub now: i64,
    /// The engine (its options: limits, `top_cap`).
    pub engine: &'a Engine,
    /// The directory version to read.
    pub snapshot: &'a Snapshot,
}

/// The outcome of a request, successful or not.
#[derive(Debug, Clone)]
pub struct Answer {
    /// What the API sends back.
    pub response: HttpResponse,
    /// Directory ids of the returned page in order: users, or groups for ArcGIS group operations.
    pub ids: Vec<String>,
    /// Matches before paging, when the request got that far.
    pub total: Option<u64>,
    /// The equivalent Hub query plus options (what [`to_hub`] returns), when valid.
    pub hub: Option<String>,
    /// Set when the request was refused (the CLI exits with status 2).
    pub error: Option<DialectError>,
    /// The engine request the answer evaluated (its filter as a tree, never re-parsed from
    /// text), for EXPLAIN; `None` when refused or when no filter was evaluated.
    pub request: Option<Request>,
    /// What the viewer may see of the users in this answer: renderers other than the API's own
    /// body (the CLI's table) show only that.
    pub visibility: Visibility,
}

impl Answer {
    /// The answer for a refused request.
    pub fn refused(error: DialectError) -> Answer {
        Answer {
            response: error.response.clone(),
            ids: Vec::new(),
            total: None,
            hub: None,
            error: Some(error),
            request: None,
            visibility: Visibility::NONE,
        }
    }
}

/// A refused request: the API's own error response plus a human message naming the culprit.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DialectError {
    /// The error response the API sends (status, headers, body).
    pub response: HttpResponse,
    /// A human diagnostic naming the offending parameter(s).
    pub message: String,
    /// Hub dialect: the engine error and the text its span points into (query or option text);
    /// boxed so the common GitLab/TFE/ArcGIS errors stay small.
    pub engine: Option<Box<(userql_engine::Error, String)>>,
}

impl DialectError {
    /// An error with a response and a message.
    pub fn new(response: HttpResponse, message: impl Into<String>) -> Self {
        DialectError {
            response,
            message: message.into(),
            engine: None,
        }
    }

    /// The HTTP status of the error response.
    pub fn status(&self) -> u16 {
        self.response.status
    }

    /// The error response's body.
    pub fn body(&self) -> &str {
        &self.response.body
    }

    /// The API's 400 for an engine error on a tree the dialect built: the cost bound (limits,
    /// work budget, deadline) refuses a well-formed but too large request — a client error.
    /// Any other engine error there is a bug (`None`: the caller answers 500).
    pub(crate) fn cost_bound(
        error: &userql_engine::Error,
        respond: impl FnOnce(u16, String) -> DialectError,
    ) -> Option<DialectError> {
        error
            .kind
            .is_cost_bound()
            .then(|| respond(400, format!("request refused: {error}")))
    }

    /// A human diagnostic for standard error: for Hub, the input with a caret under the span.
    pub fn render(&self) -> String {
        match self.engine.as_deref() {
            Some((error, source)) => error.render(source),
            None => format!("error: {}\n", self.message),
        }
    }
}

/// Settings a deployment (or a test) may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// GitLab's external URL, used in `Link` headers and `web_url` (no trailing slash).
    pub gitlab_url: String,
    /// Terraform Enterprise's external URL, used in JSON:API `links` (no trailing slash).
    pub tfe_url: String,
    /// GitLab stops counting above this many matches (no `X-Total`, `X-Total-Pages`,
    /// `rel="last"`).
    pub count_limit: u64,
    /// GitLab refuses offset paging (405) when `page × per_page` exceeds this.
    pub offset_limit: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            gitlab_url: "https://gitlab.example.com".into(),
            tfe_url: "https://tfe.example.com".into(),
            count_limit: 10_000,
            offset_limit: 50_000,
        }
    }
}

/// A user a translation looks up besides the viewer: a source that does not hold the whole
/// directory in memory (PostgreSQL) reads these into the [`Call::snapshot`] it passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedUser {
    /// By login (folded, as [`Snapshot::row_of_login`] compares).
    Login(String),
    /// By GitLab id (the user's number).
    Number(u64),
}

/// One API: how its params become a translated request. Implemented once per dialect; the
/// only dispatch on [`Dialect`] is [`Dialect::api`].
pub trait Api: Sync {
    /// Parses and validates the params, applies the API's access and visibility rules, and
    /// resolves names against `call.snapshot` (catalog, viewer and [`Api::named_users`]).
    fn translate(
        &self,
        call: &Call,
        settings: &Settings,
    ) -> Result<Box<dyn Translated>, DialectError>;

    /// The users [`Api::translate`] looks up besides the viewer.
    fn named_users(&self, _params: &[(String, String)]) -> Vec<NamedUser> {
        Vec::new()
    }
}

/// A validated request: its Hub form, and its answer from any [`RowSource`].
pub trait Translated {
    /// The equivalent Hub query plus options in brackets (what [`to_hub`] returns).
    fn hub(&self) -> String;

    /// Fetches the rows from `source` and renders the API's response. `Err` only when the
    /// source failed or refused; every API error is an [`Answer`].
    fn answer<'a>(
        &self,
        call: &Call<'a>,
        settings: &Settings,
        source: &mut dyn RowSource<'a>,
    ) -> Result<Answer, Failure>;
}

impl Dialect {
    /// The dialect's implementation.
    pub fn api(self) -> &'static dyn Api {
        match self {
            Dialect::Hub => &hub::HubApi,
            Dialect::Gitlab => &gitlab::GitlabApi,
            Dialect::GitlabEnterprise => &gitlab_enterprise::EnterpriseApi,
            Dialect::Tfe => &tfe::TfeApi,
            Dialect::Arcgis => &arcgis::ArcgisApi,
        }
    }
}

/// The users a request of `dialect` names besides the viewer (see [`NamedUser`]).
pub fn named_users(dialect: Dialect, params: &[(String, String)]) -> Vec<NamedUser> {
    dialect.api().named_users(params)
}

/// Translates a request (see [`Api::translate`]).
pub fn translate(call: &Call, settings: &Settings) -> Result<Box<dyn Translated>, DialectError> {
    call.dialect.api().translate(call, settings)
}

/// Answers a request from `source`: `Err` only when the source failed or refused.
pub fn answer_from<'a>(
    call: &Call<'a>,
    settings: &Settings,
    source: &mut dyn RowSource<'a>,
) -> Result<Answer, Failure> {
    match translate(call, settings) {
        Ok(translated) => translated.answer(call, settings, source),
        Err(error) => Ok(Answer::refused(error)),
    }
}

/// Answers a request with the default [`Settings`]. Never panics; a refused request is an
/// [`Answer`] with `error` set and the API's error response.
pub fn answer(call: &Call) -> Answer {
    answer_with(call, &Settings::default())
}

/// Answers a request with explicit settings, from the in-memory engine over `call.snapshot`.
pub fn answer_with(call: &Call, settings: &Settings) -> Answer {
    answer_from(call, settings, &mut MemorySource::new(call)).unwrap_or_else(|failure| {
        // The in-memory source neither fails nor refuses; answered as a server error if it did.
        let message = failure.to_string();
        Answer::refused(DialectError::new(
            HttpResponse::json(500, http::JSON, &serde_json::json!({ "message": message })),
            message,
        ))
    })
}

/// The equivalent Hub-language query (canonical print) plus options in brackets, e.g.
/// `state: active and not is: internal  [orderBy: number desc, $skip: 0, $top: 20]`; the request's
/// validation and access errors are returned as they would be answered.
pub fn to_hub(call: &Call) -> Result<String, DialectError> {
    to_hub_with(call, &Settings::default())
}

/// [`to_hub`] with explicit settings: a view of the translated request.
pub fn to_hub_with(call: &Call, settings: &Settings) -> Result<String, DialectError> {
    translate(call, settings).map(|translated| translated.hub())
}
