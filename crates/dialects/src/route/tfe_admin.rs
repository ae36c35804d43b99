//! Terraform Enterprise's admin users API under `/api/v2/admin/users`: the list (the `tfe`
//! dialect), `GET` and `DELETE /:id`, and `POST /:id/actions/{suspend, unsuspend, grant_admin,
//! revoke_admin, disable_two_factor, impersonate, unimpersonate}` (and the seed's
//! `POST /actions/unimpersonate`). TFE user ids are the directory's user ids.
//!
//! As in the dialect, only administrators get past the door: anyone else gets 404, an unknown
//! viewer 401. Decisions where the seed is silent:
//! - suspend sets state `blocked` (an already suspended user stays as it is: deactivated,
//!   banned, …); unsuspend sets `active`;
//! - actions answer 200 with the user resource after the change; delete answers 204;
//! - the sole owner of an organization is a user holding a role named or with id `owner` on it
//!   (an organization-scoped grant) that no other user holds there; deleting such a user is a
//!   422 naming the organizations;
//! - impersonate refuses service accounts and the caller's own account (422), as the seed says,
//!   and otherwise answers 204; userql keeps no sessions, so neither it nor unimpersonate
//!   changes the directory.

use std::collections::HashMap;

use serde_json::json;
use userql_directory::model::{Row, Scope, State, Subject};
use userql_directory::Snapshot;
use userql_engine::Viewer;

use super::edits;
use super::refusal::{tfe, Api};
use super::{not_allowed, Ctx};
use crate::http::{HttpResponse, JSON_API};
use crate::Dialect;

fn not_found() -> HttpResponse {
    tfe(404, "not found", None)
}

/// The caller's own row when it is an admin account, `None` for the operator token; anyone
/// else is refused (404, or 401 for a login that is not in the directory).
fn admin(ctx: &Ctx) -> Result<Option<Row>, HttpResponse> {
    match &ctx.viewer {
        Viewer::Admin => Ok(None),
        Viewer::Anonymous => Err(not_found()),
        Viewer::Login(login) => match ctx.snapshot.row_of_login(login) {
            Some(row) if ctx.snapshot.model.users[row as usize].admin => Ok(Some(row)),
            Some(_) => Err(not_found()),
            None => Err(tfe(401, "unauthorized", None)),
        },
    }
}

/// Routes under `/api/v2/admin/users` (`segs` are the segments after `users`).
pub(crate) fn route(ctx: &Ctx, method: &str, segs: &[&str]) -> (&'static str, HttpResponse) {
    let (route, result) = match (method, segs) {
        ("GET" | "HEAD", []) => ("GET /api/v2/admin/users", Ok(list(ctx))),
        ("GET" | "HEAD", [id]) => ("GET /api/v2/admin/users/:id", show(ctx, id)),
        ("DELETE", [id]) => ("DELETE /api/v2/admin/users/:id", delete(ctx, id)),
        ("POST", ["actions", "unimpersonate"]) | ("POST", [_, "actions", "unimpersonate"]) => (
            "POST /api/v2/admin/users/actions/unimpersonate",
            admin(ctx).map(|_| HttpResponse::new(204, JSON_API, String::new())),
        ),
        ("POST", [id, "actions", action]) => match Action::parse(action) {
            Some(action) => (action.route(), act(ctx, id, action)),
            None => ("not found", Err(not_found())),
        },
        (_, []) => ("/api/v2/admin/users", Ok(not_allowed(Api::Tfe, "GET"))),
        (_, [_]) => (
            "/api/v2/admin/users",
            Ok(not_allowed(Api::Tfe, "GET, DELETE")),
        ),
        (_, [_, "actions", _]) => ("/api/v2/admin/users", Ok(not_allowed(Api::Tfe, "POST"))),
        _ => ("not found", Err(not_found())),
    };
    (route, result.unwrap_or_else(|e| e))
}

fn list(ctx: &Ctx) -> HttpResponse {
    let call = ctx.call(Dialect::Tfe, ctx.input.query.clone());
    crate::answer_with(&call, ctx.settings()).response
}

fn resource(ctx: &Ctx, snapshot: &Snapshot, row: Row) -> HttpResponse {
    let call = crate::Call {
        snapshot,
        ..ctx.call(Dialect::Tfe, Vec::new())
    };
    let data = crate::tfe::user_resource(call.snapshot, row);
    HttpResponse::json(200, JSON_API, &json!({ "data": data }))
}

fn show(ctx: &Ctx, id: &str) -> Result<HttpResponse, HttpResponse> {
    admin(ctx)?;
    let row = ctx.snapshot.row_of_id(id).ok_or_else(not_found)?;
    Ok(resource(ctx, &ctx.snapshot, row))
}

/// A store refusal: 422 with the store's message.
fn store_error(errors: &userql_directory::changes::ChangeErrors) -> HttpResponse {
    tfe(422, "unprocessable entity", Some(&errors.to_string()))
}

/// Names of the organizations `row` is the only owner of.
fn solely_owned(snapshot: &Snapshot, row: Row) -> Vec<String> {
    let model = &snapshot.model;
    let mut owners: HashMap<usize, Vec<Row>> = HashMap::new();
    for grant in model.grants.iter() {
        let role = &model.roles[grant.role.index()];
        let is_owner =
            role.id.eq_ignore_ascii_case("owner") || role.name.eq_ignore_ascii_case("owner");
        if let (true, Subject::User(user), Scope::Organization(org)) =
            (is_owner, grant.subject, grant.scope)
        {
            let entry = owners.entry(org.index()).or_default();
            if !entry.contains(&user) {
                entry.push(user);
            }
        }
    }
    let mut names: Vec<String> = owners
        .into_iter()
        .filter(|(_, users)| users.as_slice() == [row])
        .map(|(org, _)| model.organizations[org].name.clone())
        .collect();
    names.sort();
    names
}

fn delete(ctx: &Ctx, id: &str) -> Result<HttpResponse, HttpResponse> {
    admin(ctx)?;
    ctx.write(
        |snapshot| {
            let row = snapshot.row_of_id(id).ok_or_else(not_found)?;
            let owned = solely_owned(snapshot, row);
            if !owned.is_empty() {
                return Err(tfe(
                    422,
                    "unprocessable entity",
                    Some(&format!(
                        "user is the sole owner of organizations: {}; give them a new owner or delete them first",
                        owned.join(", ")
                    )),
                ));
            }
            Ok((vec![edits::delete_user(id)], ()))
        },
        store_error,
    )?;
    Ok(HttpResponse::new(204, JSON_API, String::new()))
}

/// The user actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Suspend,
    Unsuspend,
    GrantAdmin,
    RevokeAdmin,
    DisableTwoFactor,
    Impersonate,
}

impl Action {
    fn parse(text: &str) -> Option<Action> {
        Some(match text {
            "suspend" => Action::Suspend,
            "unsuspend" => Action::Unsuspend,
            "grant_admin" => Action::GrantAdmin,
            "revoke_admin" => Action::RevokeAdmin,
            "disable_two_factor" => Action::DisableTwoFactor,
            "impersonate" => Action::Impersonate,
            _ => return None,
        })
    }

    fn route(self) -> &'static str {
        match self {
            Action::Suspend => "POST /api/v2/admin/users/:id/actions/suspend",
            Action::Unsuspend => "POST /api/v2/admin/users/:id/actions/unsuspend",
            Action::GrantAdmin => "POST /api/v2/admin/users/:id/actions/grant_admin",
            Action::RevokeAdmin => "POST /api/v2/admin/users/:id/actions/revoke_admin",
            Action::DisableTwoFactor => "POST /api/v2/admin/users/:id/actions/disable_two_factor",
            Action::Impersonate => "POST /api/v2/admin/users/:id/actions/impersonate",
        }
    }
}

fn act(ctx: &Ctx, id: &str, action: Action) -> Result<HttpResponse, HttpResponse> {
    let me = admin(ctx)?;
    let (after, row) = ctx.write(
        |snapshot| {
            let row = snapshot.row_of_id(id).ok_or_else(not_found)?;
            let user = &snapshot.model.users[row as usize];
            let id = user.id.as_ref();
            let update = match action {
                Action::Suspend if user.state == State::Active => {
                    Some(edits::set_state(id, "blocked"))
                }
                Action::Suspend => None,
                Action::Unsuspend if user.state == State::Banned => Some(edits::unban(id)),
                Action::Unsuspend if user.state != State::Active => {
                    Some(edits::set_state(id, "active"))
                }
                Action::Unsuspend => None,
                Action::GrantAdmin => Some(edits::patch_user(id, [("admin", true.into())])),
                Action::RevokeAdmin => Some(edits::patch_user(id, [("admin", false.into())])),
                Action::DisableTwoFactor => {
                    Some(edits::patch_user(id, [("two_factor", false.into())]))
                }
                Action::Impersonate => {
                    let own = me.is_some_and(|r| &*ctx.snapshot.model.users[r as usize].id == id);
                    if own || &*user.user_type == "service_account" {
                        return Err(tfe(
                            422,
                            "unprocessable entity",
                            Some("service accounts and your own account cannot be impersonated"),
                        ));
                    }
                    None
                }
            };
            Ok((update.into_iter().collect(), row))
        },
        store_error,
    )?;
    if action == Action::Impersonate {
        return Ok(HttpResponse::new(204, JSON_API, String::new()));
    }
    Ok(resource(ctx, &after, row))
}
