//! GitLab `GET /api/v4/users` (`--dialect gitlab`); the mapping table is in `docs/dialects.md`.
//!
//! Every parameter becomes a Hub clause except two things Hub cannot say, which this module
//! applies over the engine's row set:
//! - `public_email` is compared **case-sensitively** by GitLab; the clause `publicEmail: v` is
//!   case-insensitive, so the exact comparison is re-checked here;
//! - the `search` relevance order (see the `gitlab_search` module) and GitLab's tie-breaking by id in
//!   the direction of the sort (Hub breaks ties by id ascending) are applied here.
//!
//! A non-admin viewer's hidden states appear in the Hub form as `not state: blocked, banned,
//! ldap_blocked`. A viewer login that is not in the directory is answered 401
//! `{"message":"401 Unauthorized"}` (an unknown token).

use serde_json::{json, Value};
use userql_directory::model::Row;
use userql_engine::{Viewer, Visibility};
use userql_syntax::ast::Expr;

use crate::gitlab_dates;
use crate::gitlab_paging::{self, Cursor, Paging};
use crate::gitlab_rows::{users_json, Entity};
use crate::gitlab_search::{self, EmailScope, Search};
use crate::gitlab_values::{message_error, Validation};
use crate::http::{HttpResponse, JSON};
use crate::memory::MemorySource;
use crate::params::Params;
use crate::query::{self, field, not, nothing, range, tuple};
use crate::source::{
    Failure, Fetch, GitlabKey, KeyValue, Position, Residue, RowOrder, RowSource, SourceError,
    Window,
};
use crate::{Answer, Api, Call, DialectError, Settings, Translated};

/// The path `Link` headers point at.
pub const USERS_PATH: &str = "/api/v4/users";

/// Who calls, in GitLab's terms (an admin is an admin in admin mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    /// No token.
    Anonymous,
    /// A signed-in user (its row).
    User(Row),
    /// An administrator.
    Admin,
}

/// Resolves the viewer; an unknown login is a 401 (an invalid token).
pub(crate) fn caller(call: &Call) -> Result<Caller, DialectError> {
    match &call.viewer {
        Viewer::Admin => Ok(Caller::Admin),
        Viewer::Anonymous => Ok(Caller::Anonymous),
        Viewer::Login(login) => match call.snapshot.row_of_login(login) {
            Some(row) if call.snapshot.model.users[row as usize].admin => Ok(Caller::Admin),
            Some(row) => Ok(Caller::User(row)),
            None => Err(message_error(
                401,
                "401 Unauthorized",
                format!("unknown viewer '{login}'"),
            )),
        },
    }
}

/// `order_by`, after GitLab's `created_at` → `id` substitution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderBy {
    /// `id` (and `created_at`): the number.
    Id,
    /// `name`.
    Name,
    /// `username`.
    Username,
    /// `updated_at`.
    UpdatedAt,
}

impl OrderBy {
    /// The row source's key for the same column.
    pub(crate) fn key(self) -> GitlabKey {
        match self {
            OrderBy::Id => GitlabKey::Number,
            OrderBy::Name => GitlabKey::DisplayName,
            OrderBy::Username => GitlabKey::LoweredLogin,
            OrderBy::UpdatedAt => GitlabKey::Updated,
        }
    }
}

/// The order of the result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Order {
    /// `order_by`/`sort` (default id descending), ties by id in the same direction.
    Explicit {
        /// The key.
        by: OrderBy,
        /// Descending.
        desc: bool,
    },
    /// `search` without `order_by`/`sort`: relevance bucket, name, id, all ascending.
    Relevance(String),
}

impl Order {
    fn describe(&self) -> String {
        match self {
            Order::Explicit { by, desc } => {
                let dir = if *desc { "desc" } else { "asc" };
                match by {
                    OrderBy::Id => format!("number {dir}"),
                    OrderBy::Name => format!("name {dir}, number {dir}"),
                    OrderBy::Username => format!("login {dir}, number {dir}"),
                    OrderBy::UpdatedAt => format!("updatedTime {dir}, number {dir}"),
                }
            }
            Order::Relevance(_) => "searchRelevance, name, number".into(),
        }
    }

    /// The row source's order.
    fn row_order(&self) -> RowOrder {
        match self {
            Order::Explicit { by, desc } => RowOrder::Gitlab {
                key: by.key(),
                desc: *desc,
            },
            Order::Relevance(query) => RowOrder::Relevance(query.clone()),
        }
    }
}

/// A validated request, ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Translation {
    /// AND-ed Hub clauses.
    pub clauses: Vec<Expr>,
    /// `public_email`, compared exactly after the engine's case-insensitive match.
    pub exact_public_email: Option<String>,
    /// Result order.
    pub order: Order,
    /// Paging.
    pub paging: Paging,
    /// Row entity.
    pub entity: Entity,
    /// The endpoint path (`Link` headers).
    pub path: String,
}

impl Translation {
    /// What the viewer may see: `UserBasic` shows neither private attributes nor dates.
    pub(crate) fn visibility(&self) -> Visibility {
        match self.entity {
            Entity::Basic => Visibility::basic(false),
            Entity::Admin | Entity::Public => Visibility::ADMIN,
        }
    }

    /// The `check` line: query and options.
    pub(crate) fn hub(&self) -> String {
        let options = match &self.paging {
            Paging::Offset { page, per_page } => format!(
                "orderBy: {}, $skip: {}, $top: {per_page}",
                self.order.describe(),
                (page - 1).saturating_mul(*per_page)
            ),
            Paging::Keyset { per_page, after } => format!(
                "orderBy: {}, keyset: {}, $top: {per_page}",
                self.order.describe(),
                after
                    .as_ref()
                    .map_or("start".to_string(), |c| format!("after {}", c.encode()))
            ),
        };
        query::hub_line(&self.clauses, &options)
    }
}

/// Created-at bounds (inclusive) as one clause.
pub(crate) fn created_clause(after: Option<i64>, before: Option<i64>) -> Option<Expr> {
    if after.is_none() && before.is_none() {
        return None;
    }
    let after = after.map(gitlab_dates::format);
    let before = before.map(gitlab_dates::format);
    Some(range("created", after.as_deref(), before.as_deref()))
}

/// The filters `GET /users` and enterprise users share (`username`, `active`, `blocked`).
pub(crate) fn username_clause(username: Option<&str>) -> Option<Expr> {
    username.map(|name| {
        if name.is_empty() {
            nothing()
        } else {
            field("login", &[name])
        }
    })
}

/// `two_factor`: `enabled` / `disabled`; other values ignored.
pub(crate) fn two_factor_clause(value: Option<&str>) -> Option<Expr> {
    match value {
        Some("enabled") => Some(field("has", &["2FA"])),
        Some("disabled") => Some(not(field("has", &["2FA"]))),
        _ => None,
    }
}

/// `active`: state active and not an internal type.
pub(crate) fn active_clauses() -> [Expr; 2] {
    [field("state", &["active"]), not(field("is", &["internal"]))]
}

/// `blocked`: `blocked` or `ldap_blocked`.
pub(crate) fn blocked_clause() -> Expr {
    field("state", &["blocked", "ldap_blocked"])
}

fn translate(call: &Call) -> Result<Translation, DialectError> {
    let params = Params::new(&call.params);
    let mut v = Validation::new(params);
    let username = params.last("username");
    let public_email = params.last("public_email");
    let search = gitlab_search::normalise(params.last("search"));
    let active = v.flag("active");
    let blocked = v.flag("blocked");
    let exclude_active = v.flag("exclude_active");
    let external = v.flag("external");
    let exclude_external = v.flag("exclude_external");
    let humans = v.flag("humans");
    let exclude_humans = v.flag("exclude_humans");
    let exclude_internal = v.flag("exclude_internal");
    let without_project_bots = v.flag("without_project_bots");
    let admins = v.flag("admins");
    let skip_ldap = v.flag("skip_ldap");
    let two_factor = params.last("two_factor");
    let created_after = v.date("created_after");
    let created_before = v.date("created_before");
    let without_projects = v.flag("without_projects");
    let extern_uid = params.last("extern_uid");
    let provider = params.last("provider");
    if extern_uid.is_some() != provider.is_some() {
        v.fail("extern_uid, provider provide all or none of parameters".into());
    }
    let order_by = v.choice(
        "order_by",
        &["id", "name", "username", "created_at", "updated_at"],
    );
    let sort = v.choice("sort", &["asc", "desc"]);
    let paging = gitlab_paging::read(&mut v, true);
    v.finish()?;

    let caller = caller(call)?;
    let admin = caller == Caller::Admin;
    if extern_uid.is_some() {
        match caller {
            Caller::Anonymous => {
                return Err(message_error(
                    401,
                    "401 Unauthorized",
                    "extern_uid/provider need an administrator",
                ))
            }
            Caller::User(_) => {
                return Err(message_error(
                    403,
                    "403 Forbidden",
                    "extern_uid/provider need an administrator",
                ))
            }
            Caller::Admin => {}
        }
    }
    if caller == Caller::Anonymous && username.is_none_or(str::is_empty) {
        return Err(message_error(
            403,
            "403 Forbidden - Not authorized to access /api/v4/users",
            "anonymous callers must give a non-empty username",
        ));
    }

    let mut clauses = Vec::new();
    if !admin {
        clauses.push(not(field("state", &["blocked", "banned", "ldap_blocked"])));
    }
    clauses.extend(username_clause(username));
    if let Some(email) = public_email {
        clauses.push(if email.is_empty() {
            nothing()
        } else {
            field("publicEmail", &[email])
        });
    }
    let scope = if admin {
        EmailScope::Private
    } else {
        EmailScope::Public
    };
    if let Some(search) = &search {
        clauses.push(gitlab_search::clause(search, scope));
    }
    if active {
        clauses.extend(active_clauses());
    }
    if blocked {
        clauses.push(blocked_clause());
    }
    if exclude_active {
        clauses.push(not(field("state", &["active"])));
    }
    if external {
        clauses.push(field("is", &["external"]));
    }
    if exclude_external {
        clauses.push(not(field("is", &["external"])));
    }
    if humans {
        clauses.push(field("type", &["human"]));
    }
    if exclude_humans {
        clauses.push(not(field("type", &["human"])));
    }
    if exclude_internal {
        clauses.push(not(field("is", &["internal"])));
    }
    if without_project_bots {
        clauses.push(not(field("type", &["project_bot"])));
    }
    if skip_ldap {
        clauses.push(not(field("has", &["ldapIdentity"])));
    }
    if admin {
        if admins {
            clauses.push(field("is", &["admin"]));
        }
        clauses.extend(two_factor_clause(two_factor));
        clauses.extend(created_clause(created_after, created_before));
        if without_projects {
            clauses.push(not(field("has", &["projectRole"])));
        }
        if let (Some(uid), Some(provider)) = (extern_uid, provider) {
            clauses.push(tuple("identity", &[("provider", provider), ("uid", uid)]));
        }
    }
    let order = match (order_by, sort, &search) {
        (None, None, Some(Search::Query(q))) => Order::Relevance(q.clone()),
        _ => Order::Explicit {
            by: match order_by {
                Some("name") => OrderBy::Name,
                Some("username") => OrderBy::Username,
                Some("updated_at") => OrderBy::UpdatedAt,
                _ => OrderBy::Id,
            },
            desc: sort != Some("asc"),
        },
    };
    Ok(Translation {
        clauses,
        exact_public_email: public_email.filter(|e| !e.is_empty()).map(str::to_string),
        order,
        paging,
        entity: if admin { Entity::Admin } else { Entity::Basic },
        path: USERS_PATH.to_string(),
    })
}

/// GitLab `GET /users`.
#[derive(Debug, Clone, Copy)]
pub struct GitlabApi;

impl Api for GitlabApi {
    fn translate(
        &self,
        call: &Call,
        _settings: &Settings,
    ) -> Result<Box<dyn Translated>, DialectError> {
        Ok(Box::new(translate(call)?))
    }
}

impl Translated for Translation {
    fn hub(&self) -> String {
        Translation::hub(self)
    }

    fn answer<'a>(
        &self,
        call: &Call<'a>,
        settings: &Settings,
        source: &mut dyn RowSource<'a>,
    ) -> Result<Answer, Failure> {
        execute(call, settings, self, source)
    }
}

/// The Hub form of a `GET /users` request.
pub fn to_hub(call: &Call, settings: &Settings) -> Result<String, DialectError> {
    crate::to_hub_with(call, settings)
}

/// Answers `GET /users`.
pub fn answer(call: &Call, settings: &Settings) -> Answer {
    crate::answer_with(call, settings)
}

/// An engine failure on a clause this crate built: the cost bound's 400 (`{"error": …}`, like
/// Grape's validation errors), else a bug: 500.
pub(crate) fn internal(error: userql_engine::Error) -> DialectError {
    DialectError::cost_bound(&error, |status, text| {
        DialectError::new(
            HttpResponse::json(status, JSON, &json!({ "error": text })),
            text,
        )
    })
    .unwrap_or_else(|| {
        message_error(
            500,
            "500 Internal Server Error",
            format!("internal error: {error}"),
        )
    })
}

fn key_json(value: &KeyValue) -> Value {
    match value {
        KeyValue::Number(n) => json!(n),
        KeyValue::Text(t) => json!(t),
    }
}

fn key_from_json(value: &Value) -> Option<KeyValue> {
    match value {
        Value::Number(n) => n.as_i64().map(KeyValue::Number),
        Value::String(s) => Some(KeyValue::Text(s.clone())),
        _ => None,
    }
}

fn cursor_invalid() -> DialectError {
    DialectError::new(
        HttpResponse::json(400, JSON, &json!({ "error": "cursor is invalid" })),
        "cursor is invalid: it names no user of this directory",
    )
}

/// The order and window of a request's page.
///
/// A keyset cursor carries the sort value only when the viewer may see it ([`Visibility`]);
/// otherwise it names the row by its GitLab id alone and the value is read back from the
/// directory, and a value a client put in such a cursor is ignored — so a cursor neither reveals
/// a hidden value nor lets a client probe one (see [`crate::gitlab_paging`]). `None`: the
/// cursor's value is not a key.
fn window(t: &Translation) -> Option<(RowOrder, Window)> {
    match &t.paging {
        Paging::Offset { page, per_page } => Some((
            t.order.row_order(),
            Window::Offset {
                skip: (page - 1).saturating_mul(*per_page),
                top: *per_page,
            },
        )),
        Paging::Keyset { per_page, after } => {
            // Keyset paging ignores the relevance order: id descending.
            let (key, desc) = match &t.order {
                Order::Explicit { by, desc } => (by.key(), *desc),
                Order::Relevance(_) => (GitlabKey::Number, true),
            };
            let visible = t.visibility().may_order_by(key.sort_key());
            let position = match after {
                None => Position::Start,
                Some(cursor) => match cursor.key.as_ref().filter(|_| visible) {
                    Some(value) => Position::After(key_from_json(value)?, cursor.number),
                    None => Position::AfterRow(cursor.number),
                },
            };
            Some((
                RowOrder::Gitlab { key, desc },
                Window::Keyset {
                    position,
                    limit: *per_page,
                },
            ))
        }
    }
}

/// How a `GET /users` request's page is ordered, e.g. `relevance: 2 exact-tier rows, rest by
/// name (walk)` or
/// `keyset by updated_at desc (walk)`: the ordering half of its plan (the engine's EXPLAIN of
/// [`Answer::request`] is the matching half), for regression tests that a request still pages
/// from an order rather than sorting every match. Answered by the in-memory source.
pub fn page_path(call: &Call) -> Result<String, DialectError> {
    let t = translate(call)?;
    let mut source = MemorySource::new(call);
    let answer = execute(call, &Settings::default(), &t, &mut source)
        .map_err(|failure| message_error(500, "500 Internal Server Error", failure.to_string()))?;
    if let Some(error) = answer.error {
        return Err(error);
    }
    let path = source
        .last_path()
        .map_or_else(|| "none".to_owned(), |path| path.to_string());
    let by_name = |by: OrderBy| match by {
        OrderBy::Id => "id",
        OrderBy::Name => "name",
        OrderBy::Username => "username",
        OrderBy::UpdatedAt => "updated_at",
    };
    let direction = |desc: bool| if desc { "desc" } else { "asc" };
    Ok(match (&t.paging, &t.order) {
        (Paging::Keyset { .. }, Order::Explicit { by, desc }) => {
            format!("keyset by {} {} ({path})", by_name(*by), direction(*desc))
        }
        (Paging::Keyset { .. }, Order::Relevance(_)) => format!("keyset by id desc ({path})"),
        (Paging::Offset { .. }, Order::Relevance(_)) => format!(
            "relevance: {} exact-tier rows, rest by name ({path})",
            source.last_exact_tier()
        ),
        (Paging::Offset { .. }, Order::Explicit { by, desc }) => {
            format!("offset by {} {} ({path})", by_name(*by), direction(*desc))
        }
    })
}

/// Runs a translated request and renders GitLab's response (shared with enterprise users).
pub(crate) fn execute<'a>(
    call: &Call<'a>,
    settings: &Settings,
    t: &Translation,
    source: &mut dyn RowSource<'a>,
) -> Result<Answer, Failure> {
    if let Paging::Offset { page, per_page } = t.paging {
        if page.saturating_mul(per_page) > settings.offset_limit {
            let message = format!(
                "Offset pagination has a maximum allowed offset of {} for requests that return objects of type User. Remaining records can be retrieved using keyset pagination.",
                settings.offset_limit
            );
            return Ok(Answer::refused(message_error(
                405,
                &message,
                message.clone(),
            )));
        }
    }
    let request = query::request(call, &t.clauses);
    let planned = window(t);
    let (order, window) = planned.clone().unwrap_or((
        RowOrder::Gitlab {
            key: GitlabKey::Number,
            desc: true,
        },
        Window::Offset { skip: 0, top: 0 },
    ));
    let fetch = Fetch {
        filter: request.clone(),
        residue: Residue {
            exact_public_email: t.exact_public_email.clone(),
            glob: None,
        },
        order,
        window,
        counts: Vec::new(),
    };
    let fetched = match source.fetch(&fetch) {
        // A cursor value that is no key: refused after the filter's own errors.
        Ok(_) if planned.is_none() => return Ok(Answer::refused(cursor_invalid())),
        Ok(fetched) => fetched,
        Err(SourceError::Engine(error)) => return Ok(Answer::refused(internal(error))),
        Err(SourceError::CursorInvalid) => return Ok(Answer::refused(cursor_invalid())),
        Err(SourceError::Failure(failure)) => return Err(failure),
    };
    let view = &fetched.view;
    let total = fetched.total;
    let base = format!("{}{}", settings.gitlab_url, t.path);
    let link_params = Params::new(&call.params).last_values();
    let body = users_json(view, &fetched.rows, t.entity, &settings.gitlab_url);
    let mut response = HttpResponse::new(200, JSON, body);
    response = match (&t.paging, &fetch.order) {
        (Paging::Offset { page, per_page }, _) => gitlab_paging::offset_headers(
            response,
            &base,
            &link_params,
            *page,
            *per_page,
            total,
            settings.count_limit,
        ),
        (Paging::Keyset { per_page, .. }, order) => {
            let next = fetched.rows.last().filter(|_| fetched.more).map(|&row| {
                let user = &view.model.users[row as usize];
                let key = match order {
                    RowOrder::Gitlab { key, .. } => Some(*key),
                    _ => None,
                }
                .filter(|key| t.visibility().may_order_by(key.sort_key()));
                Cursor {
                    key: key.map(|key| key_json(&KeyValue::of(user, key))),
                    number: user.number,
                }
            });
            gitlab_paging::keyset_headers(response, &base, &link_params, *per_page, next.as_ref())
        }
    };
    Ok(Answer {
        response,
        ids: fetched
            .rows
            .iter()
            .map(|&r| view.model.users[r as usize].id.to_string())
            .collect(),
        total: Some(total),
        hub: Some(t.hub()),
        error: None,
        request: Some(request),
        visibility: t.visibility(),
    })
}
