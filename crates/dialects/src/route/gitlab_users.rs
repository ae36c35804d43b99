//! GitLab users under `/api/v4`: `GET /users` (the dialect), `GET /users/:id`, `GET /user`,
//! `POST /users`, `PUT /users/:id`, `DELETE /users/:id`, and the state actions
//! `block` · `unblock` · `ban` · `unban` · `deactivate` · `activate` (POST answers 201, PUT 200,
//! both with the body `true`, which python-gitlab checks).
//!
//! Decisions where the seed is silent or out of date (the current GitLab behaviour is followed):
//! - `:id` is the user's `number`; anything else is `404 User Not Found`. A non-admin asking for
//!   a user in a hidden state (`blocked`, `banned`, `ldap_blocked`) gets the same 404, so the
//!   single-user route shows no more than `GET /users` does.
//! - The token viewer `admin` is the server's operator, not a directory account: `GET /user`
//!   shows it as user `0`, `admin`, an administrator. A token whose viewer is an admin login is
//!   that account.
//! - Writes are admin-only: anonymous 401, other users 403 `{"message":"403 Forbidden"}`.
//! - `POST /users` needs `email`, `name` and `username` (400 `<p> is missing`, joined with
//!   `, `); `password`, `reset_password`, `force_random_password` are accepted and discarded
//!   (userql keeps no credentials); a taken username or email is a 409; the new user's id is
//!   `u-<login>` (suffixed `-2`, `-3`, … if taken), its number the next free one, `created_at`
//!   now; `skip_confirmation=true` sets `confirmed_at` to now.
//! - Profile fields (`bio`, `location`, `skype`, `linkedin`, `twitter`, `discord`,
//!   `website_url`, `organization`, `job_title`, `pronouns`, `note`, `projects_limit`, …) are
//!   stored in the user's free-form `profile`, where the rows read them from.
//! - `DELETE /users/:id`: 204, or `404 User Not Found` (current GitLab; the seed's idempotent
//!   200 predates it).

use serde_json::{json, Map, Value};
use userql_directory::changes::Change;
use userql_directory::model::{Row, State};
use userql_directory::raw;
use userql_directory::save::{format_timestamp, user_to_raw};
use userql_directory::Snapshot;
use userql_engine::Viewer;

use super::edits;
use super::refusal::{refusal, Api};
use super::{not_allowed, Ctx};
use crate::gitlab_rows::{user_json, Entity};
use crate::gitlab_values::parse_bool;
use crate::http::{HttpResponse, JSON};
use crate::Dialect;
use userql_directory::text::fold as text_fold;

/// Who calls, in GitLab's terms.
pub(crate) enum Who {
    /// No token.
    Anonymous,
    /// An administrator: the operator (no row) or an admin account.
    Admin(Option<Row>),
    /// A signed-in non-admin.
    User(Row),
}

impl Who {
    /// Whether the caller is an administrator.
    pub fn is_admin(&self) -> bool {
        matches!(self, Who::Admin(_))
    }
}

/// A GitLab error `{"message": text}`.
pub(crate) fn message(status: u16, text: &str) -> HttpResponse {
    refusal(Api::Gitlab, status, text)
}

/// Grape's validation error `{"error": text}`.
pub(crate) fn invalid(text: &str) -> HttpResponse {
    HttpResponse::json(400, JSON, &json!({ "error": text }))
}

/// The caller; a token whose login is not (or no longer) in the directory is a 401.
pub(crate) fn who(ctx: &Ctx) -> Result<Who, HttpResponse> {
    match &ctx.viewer {
        Viewer::Admin => Ok(Who::Admin(None)),
        Viewer::Anonymous => Ok(Who::Anonymous),
        Viewer::Login(login) => match ctx.snapshot.row_of_login(login) {
            Some(row) if ctx.snapshot.model.users[row as usize].admin => Ok(Who::Admin(Some(row))),
            Some(row) => Ok(Who::User(row)),
            None => Err(message(401, "401 Unauthorized")),
        },
    }
}

/// The caller if it is an administrator; else 401 (anonymous) or 403.
pub(crate) fn require_admin(ctx: &Ctx) -> Result<Who, HttpResponse> {
    match who(ctx)? {
        Who::Anonymous => Err(message(401, "401 Unauthorized")),
        Who::User(_) => Err(message(403, "403 Forbidden")),
        admin => Ok(admin),
    }
}

/// The row of the user whose number is `segment` in `snapshot`, or `404 User Not Found`.
pub(crate) fn user_row(snapshot: &Snapshot, segment: &str) -> Result<Row, HttpResponse> {
    segment
        .parse::<u64>()
        .ok()
        .and_then(|n| snapshot.row_of_number(n))
        .ok_or_else(|| message(404, "404 User Not Found"))
}

/// Whether a non-admin may see a user in this state (GitLab hides these from non-admins).
fn visible_to_users(state: State) -> bool {
    !matches!(state, State::Blocked | State::Banned | State::LdapBlocked)
}

/// Routes under `/users` and `/user` other than keys and emails.
pub(crate) fn route(ctx: &Ctx, method: &str, segs: &[&str]) -> (&'static str, HttpResponse) {
    let outcome = match (method, segs) {
        ("GET" | "HEAD", ["users"]) => return ("GET /api/v4/users", list(ctx)),
        ("POST", ["users"]) => ("POST /api/v4/users", create(ctx)),
        (_, ["users"]) => ("/api/v4/users", Ok(not_allowed(Api::Gitlab, "GET, POST"))),
        ("GET" | "HEAD", ["users", id]) => ("GET /api/v4/users/:id", show(ctx, id)),
        ("PUT", ["users", id]) => ("PUT /api/v4/users/:id", modify(ctx, id)),
        ("DELETE", ["users", id]) => ("DELETE /api/v4/users/:id", delete(ctx, id)),
        (_, ["users", _]) => (
            "/api/v4/users/:id",
            Ok(not_allowed(Api::Gitlab, "GET, PUT, DELETE")),
        ),
        ("POST" | "PUT", ["users", id, action]) => match Action::parse(action) {
            Some(action) => (action.route(), act(ctx, id, action, method == "POST")),
            None => ("not found", Ok(message(404, "404 Not Found"))),
        },
        ("GET" | "HEAD", ["user"]) => ("GET /api/v4/user", current(ctx)),
        (_, ["user"]) => ("/api/v4/user", Ok(not_allowed(Api::Gitlab, "GET"))),
        _ => ("not found", Ok(message(404, "404 Not Found"))),
    };
    (outcome.0, outcome.1.unwrap_or_else(|e| e))
}

/// The request's params without the credential ones, which must not reach `Link` headers.
pub(crate) fn read_params(ctx: &Ctx) -> Vec<(String, String)> {
    ctx.input
        .params
        .iter()
        .filter(|(k, _)| k != "private_token" && k != "access_token")
        .cloned()
        .collect()
}

/// `GET /users`: the dialect.
fn list(ctx: &Ctx) -> HttpResponse {
    let call = ctx.call(Dialect::Gitlab, read_params(ctx));
    crate::answer_with(&call, ctx.settings()).response
}

fn admin_row(ctx: &Ctx, snapshot: &Snapshot, row: Row) -> Value {
    user_json(snapshot, row, Entity::Admin, &ctx.settings().gitlab_url)
}

fn show(ctx: &Ctx, id: &str) -> Result<HttpResponse, HttpResponse> {
    let who = who(ctx)?;
    let row = user_row(&ctx.snapshot, id)?;
    let entity = if who.is_admin() {
        Entity::Admin
    } else {
        if !visible_to_users(ctx.snapshot.model.users[row as usize].state) {
            return Err(message(404, "404 User Not Found"));
        }
        Entity::Basic
    };
    let body = user_json(&ctx.snapshot, row, entity, &ctx.settings().gitlab_url);
    Ok(HttpResponse::json(200, JSON, &body))
}

fn current(ctx: &Ctx) -> Result<HttpResponse, HttpResponse> {
    let url = &ctx.settings().gitlab_url;
    let body = match who(ctx)? {
        Who::Anonymous => return Err(message(401, "401 Unauthorized")),
        Who::Admin(None) => json!({
            "id": 0, "username": "admin", "name": "Administrator", "state": "active",
            "locked": false, "avatar_url": null, "web_url": format!("{url}/admin"),
            "is_admin": true, "bot": false, "email": null, "two_factor_enabled": false,
            "external": false, "identities": [],
        }),
        Who::Admin(Some(row)) => user_json(&ctx.snapshot, row, Entity::Admin, url),
        Who::User(row) => user_json(&ctx.snapshot, row, Entity::Public, url),
    };
    Ok(HttpResponse::json(200, JSON, &body))
}

/// Profile fields by their GitLab type.
const TEXT_FIELDS: [&str; 13] = [
    "skype",
    "linkedin",
    "twitter",
    "discord",
    "website_url",
    "bio",
    "location",
    "organization",
    "job_title",
    "pronouns",
    "note",
    "github",
    "commit_email",
];
const FLAG_FIELDS: [&str; 3] = ["can_create_group", "can_create_project", "private_profile"];
const NUMBER_FIELDS: [&str; 3] = ["projects_limit", "theme_id", "color_scheme_id"];

/// Whether a login is one GitLab accepts: letters, digits, `_`, `-`, `.`; not starting with
/// `-`, not ending in `.`, `.git` or `.atom`; at most 255 characters.
fn valid_username(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 255
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !login.starts_with('-')
        && !login.ends_with('.')
        && !login.ends_with(".git")
        && !login.ends_with(".atom")
}

/// The row using `email` as its primary or a secondary email (case-insensitive), if any. A scan:
/// writes are rare next to reads, and no index covers secondary emails.
pub(crate) fn email_owner(snapshot: &Snapshot, email: &str) -> Option<Row> {
    let folded = text_fold(email);
    snapshot
        .model
        .users
        .iter()
        .find(|(_, u)| {
            u.email.as_deref().is_some_and(|e| text_fold(e) == folded)
                || u.emails.iter().any(|e| text_fold(e) == folded)
        })
        .map(|(row, _)| row)
}

/// Applies the request's attributes to a user record; validation errors are joined like Grape's.
fn set_fields(
    ctx: &Ctx,
    snapshot: &Snapshot,
    user: &mut raw::User,
    row: Option<Row>,
) -> Result<(), HttpResponse> {
    let input = &ctx.input;
    let mut errors = Vec::new();
    let flag = |name: &str, errors: &mut Vec<String>| -> Option<bool> {
        let value = input.last(name)?;
        let parsed = parse_bool(value);
        if parsed.is_none() {
            errors.push(format!("{name} is invalid"));
        }
        parsed
    };
    let admin = flag("admin", &mut errors);
    let external = flag("external", &mut errors);
    let skip_confirmation = flag("skip_confirmation", &mut errors);
    let mut profile = Map::new();
    for name in FLAG_FIELDS {
        if let Some(value) = flag(name, &mut errors) {
            profile.insert(name.into(), json!(value));
        }
    }
    for name in NUMBER_FIELDS {
        if let Some(value) = input.last(name) {
            match value.parse::<i64>() {
                Ok(n) => {
                    profile.insert(name.into(), json!(n));
                }
                Err(_) => errors.push(format!("{name} is invalid")),
            }
        }
    }
    if !errors.is_empty() {
        return Err(invalid(&errors.join(", ")));
    }
    for name in TEXT_FIELDS {
        if let Some(value) = input.last(name) {
            profile.insert(name.into(), json!(value));
        }
    }
    if let Some(login) = input.last("username") {
        if !valid_username(login) {
            return Err(HttpResponse::json(
                400,
                JSON,
                &json!({"message": {"username": ["can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or end in '.', '.git' or '.atom'."]}}),
            ));
        }
        if snapshot.row_of_login(login).is_some_and(|r| Some(r) != row) {
            return Err(message(409, "Username has already been taken"));
        }
        user.login = login.to_string();
    }
    if let Some(email) = input.last("email") {
        if !email.contains('@') {
            return Err(HttpResponse::json(
                400,
                JSON,
                &json!({"message": {"email": ["is invalid"]}}),
            ));
        }
        if email_owner(snapshot, email).is_some_and(|r| Some(r) != row) {
            return Err(message(409, "Email has already been taken"));
        }
        user.email = Some(email.to_string());
    }
    if let Some(name) = input.last("name") {
        user.name = Some(name.to_string());
    }
    if let Some(public) = input.last("public_email") {
        user.public_email = (!public.is_empty()).then(|| public.to_string());
    }
    if let Some(admin) = admin {
        user.admin = admin;
    }
    if let Some(external) = external {
        user.external = external;
    }
    if skip_confirmation == Some(true) && user.confirmed_at.is_none() {
        user.confirmed_at = Some(format_timestamp(ctx.now));
    }
    match (input.last("provider"), input.last("extern_uid")) {
        (Some(provider), Some(uid)) if !provider.is_empty() => {
            user.auth.retain(|a| a.module != provider);
            user.auth.push(raw::AuthDetail {
                module: provider.to_string(),
                uid: Some(uid.to_string()),
                ..raw::AuthDetail::default()
            });
        }
        (None, None) => {}
        _ => {
            return Err(invalid(
                "extern_uid, provider provide all or none of parameters",
            ))
        }
    }
    user.profile.extend(profile);
    user.updated_at = Some(format_timestamp(ctx.now));
    Ok(())
}

/// A store refusal of a batch this module built: 400 with the store's message.
pub(crate) fn store_error(errors: &userql_directory::changes::ChangeErrors) -> HttpResponse {
    message(400, &format!("400 Bad request - {errors}"))
}

fn create(ctx: &Ctx) -> Result<HttpResponse, HttpResponse> {
    require_admin(ctx)?;
    let missing: Vec<String> = ["email", "name", "username"]
        .into_iter()
        .filter(|p| ctx.input.last(p).is_none_or(str::is_empty))
        .map(|p| format!("{p} is missing"))
        .collect();
    if !missing.is_empty() {
        return Err(invalid(&missing.join(", ")));
    }
    let (after, id) = ctx.write(
        |snapshot| {
            let login = ctx.input.last("username").unwrap_or_default();
            let base = format!("u-{}", text_fold(login));
            let id = (1..)
                .map(|n| {
                    if n == 1 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    }
                })
                .find(|id| snapshot.row_of_id(id).is_none())
                .unwrap_or(base);
            let mut user: raw::User = serde_json::from_value(json!({
                "id": id, "login": login, "created_at": format_timestamp(ctx.now),
            }))
            .map_err(|e| message(500, &format!("500 Internal Server Error - {e}")))?;
            set_fields(ctx, snapshot, &mut user, None)?;
            Ok((vec![edits::put_user(user)], id))
        },
        store_error,
    )?;
    let row = after
        .row_of_id(&id)
        .ok_or_else(|| message(500, "500 Internal Server Error"))?;
    Ok(HttpResponse::json(201, JSON, &admin_row(ctx, &after, row)))
}

fn modify(ctx: &Ctx, id: &str) -> Result<HttpResponse, HttpResponse> {
    require_admin(ctx)?;
    let (after, user_id) = ctx.write(
        |snapshot| {
            let row = user_row(snapshot, id)?;
            let before = user_to_raw(&snapshot.model, row);
            let mut user = before.clone();
            set_fields(ctx, snapshot, &mut user, Some(row))?;
            let user_id = user.id.clone();
            Ok((
                edits::diff_user(&before, &user).into_iter().collect(),
                user_id,
            ))
        },
        store_error,
    )?;
    let row = after
        .row_of_id(&user_id)
        .ok_or_else(|| message(404, "404 User Not Found"))?;
    Ok(HttpResponse::json(200, JSON, &admin_row(ctx, &after, row)))
}

fn delete(ctx: &Ctx, id: &str) -> Result<HttpResponse, HttpResponse> {
    require_admin(ctx)?;
    ctx.write(
        |snapshot| {
            let row = user_row(snapshot, id)?;
            let id = snapshot.model.users[row as usize].id.clone();
            Ok((vec![edits::delete_user(&id)], ()))
        },
        store_error,
    )?;
    Ok(HttpResponse::new(204, JSON, String::new()))
}

/// The state actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Block,
    Unblock,
    Ban,
    Unban,
    Deactivate,
    Activate,
}

impl Action {
    fn parse(text: &str) -> Option<Action> {
        Some(match text {
            "block" => Action::Block,
            "unblock" => Action::Unblock,
            "ban" => Action::Ban,
            "unban" => Action::Unban,
            "deactivate" => Action::Deactivate,
            "activate" => Action::Activate,
            _ => return None,
        })
    }

    fn route(self) -> &'static str {
        match self {
            Action::Block => "POST /api/v4/users/:id/block",
            Action::Unblock => "POST /api/v4/users/:id/unblock",
            Action::Ban => "POST /api/v4/users/:id/ban",
            Action::Unban => "POST /api/v4/users/:id/unban",
            Action::Deactivate => "POST /api/v4/users/:id/deactivate",
            Action::Activate => "POST /api/v4/users/:id/activate",
        }
    }

    /// The update for a user in `state`, GitLab's refusal, or `None` when nothing changes.
    fn update(
        self,
        user: &userql_directory::model::User,
        now: i64,
    ) -> Result<Option<Change>, HttpResponse> {
        let internal = !matches!(
            user.user_type.as_ref(),
            "human" | "project_bot" | "service_user" | "service_account"
        );
        let id = user.id.as_ref();
        let set = |state: &str| Ok(Some(edits::set_state(id, state)));
        let forbidden = |why: &str| Err(message(403, &format!("403 Forbidden - {why}")));
        match (self, user.state) {
            (Action::Block, State::LdapBlocked) => {
                forbidden("LDAP blocked users cannot be modified by the API")
            }
            (Action::Block, _) if internal => forbidden("An internal user cannot be blocked"),
            (Action::Block, State::Blocked) => Ok(None),
            (Action::Block, _) => set("blocked"),
            (Action::Unblock, State::LdapBlocked) => {
                forbidden("LDAP blocked users cannot be unblocked by the API")
            }
            (Action::Unblock, State::Deactivated) => {
                forbidden("Deactivated users cannot be unblocked by the API")
            }
            (Action::Unblock, State::Banned) => Ok(Some(edits::unban(id))),
            (Action::Unblock, State::Active) => Ok(None),
            (Action::Unblock, _) => set("active"),
            (Action::Ban, State::Banned) => Ok(None),
            (Action::Ban, State::Active) => Ok(Some(edits::ban(id, format_timestamp(now)))),
            (Action::Ban, _) => Err(message(403, "You cannot ban blocked users.")),
            (Action::Unban, State::Banned) => Ok(Some(edits::unban(id))),
            (Action::Unban, _) => Err(message(403, "You cannot unban active users.")),
            (Action::Deactivate, State::Deactivated) => Ok(None),
            (Action::Deactivate, _) if internal => {
                forbidden("An internal user cannot be deactivated by the API")
            }
            (Action::Deactivate, State::Active) => set("deactivated"),
            (Action::Deactivate, _) => forbidden("A blocked user cannot be deactivated by the API"),
            (Action::Activate, State::Active) => Ok(None),
            (Action::Activate, State::Deactivated) => set("active"),
            (Action::Activate, _) => forbidden("A blocked user must be unblocked to be activated"),
        }
    }
}

fn act(ctx: &Ctx, id: &str, action: Action, post: bool) -> Result<HttpResponse, HttpResponse> {
    require_admin(ctx)?;
    ctx.write(
        |snapshot| {
            let row = user_row(snapshot, id)?;
            let update = action.update(&snapshot.model.users[row as usize], ctx.now)?;
            Ok((update.into_iter().collect(), ()))
        },
        store_error,
    )?;
    Ok(HttpResponse::new(
        if post { 201 } else { 200 },
        JSON,
        "true".into(),
    ))
}
