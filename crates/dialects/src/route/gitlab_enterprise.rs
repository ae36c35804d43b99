//! GitLab enterprise users: `GET /groups/:id/enterprise_users` and `…/:user_id` (the
//! `gitlab-enterprise` dialect, with the path's ids as its `id` / `user_id` params), and
//! `PATCH …/:user_id/disable_two_factor`: 204, or 400 when the user has no 2FA. The write makes
//! the same checks as the single-user read first (group found and top-level, viewer an admin or
//! the group's owner, user an enterprise user of the group), so it refuses exactly what the read
//! refuses.

use super::gitlab_users::{message, read_params, store_error};
use super::refusal::Api;
use super::{not_allowed, Ctx};
use crate::http::{HttpResponse, JSON};
use crate::Dialect;

/// The dialect's params: the request's, then the path's (which win).
fn params(ctx: &Ctx, group: &str, user: Option<&str>) -> Vec<(String, String)> {
    let mut params = read_params(ctx);
    params.push(("id".into(), group.into()));
    if let Some(user) = user {
        params.push(("user_id".into(), user.into()));
    }
    params
}

/// Routes under `/groups/:id/enterprise_users`.
pub(crate) fn route(ctx: &Ctx, method: &str, segs: &[&str]) -> (&'static str, HttpResponse) {
    match (method, segs) {
        ("GET" | "HEAD", ["groups", group, "enterprise_users"]) => (
            "GET /api/v4/groups/:id/enterprise_users",
            read(ctx, group, None),
        ),
        ("GET" | "HEAD", ["groups", group, "enterprise_users", user]) => (
            "GET /api/v4/groups/:id/enterprise_users/:user_id",
            read(ctx, group, Some(user)),
        ),
        ("PATCH", ["groups", group, "enterprise_users", user, "disable_two_factor"]) => (
            "PATCH /api/v4/groups/:id/enterprise_users/:user_id/disable_two_factor",
            disable_two_factor(ctx, group, user).unwrap_or_else(|e| e),
        ),
        (_, ["groups", _, "enterprise_users", _, "disable_two_factor"]) => {
            ("enterprise_users", not_allowed(Api::Gitlab, "PATCH"))
        }
        (_, ["groups", _, "enterprise_users", ..]) if segs.len() <= 4 => {
            ("enterprise_users", not_allowed(Api::Gitlab, "GET"))
        }
        _ => ("not found", message(404, "404 Not Found")),
    }
}

fn read(ctx: &Ctx, group: &str, user: Option<&str>) -> HttpResponse {
    let call = ctx.call(Dialect::GitlabEnterprise, params(ctx, group, user));
    crate::answer_with(&call, ctx.settings()).response
}

fn disable_two_factor(ctx: &Ctx, group: &str, user: &str) -> Result<HttpResponse, HttpResponse> {
    ctx.write(
        |snapshot| {
            let call = crate::Call {
                snapshot,
                ..ctx.call(Dialect::GitlabEnterprise, params(ctx, group, Some(user)))
            };
            let answer = crate::answer_with(&call, ctx.settings());
            if let Some(error) = answer.error {
                return Err(error.response);
            }
            let id = answer
                .ids
                .first()
                .cloned()
                .ok_or_else(|| message(404, "404 Not found"))?;
            let row = snapshot
                .row_of_id(&id)
                .ok_or_else(|| message(404, "404 Not found"))?;
            if !snapshot.model.users[row as usize].two_factor {
                return Err(message(
                    400,
                    "400 Bad request - The user does not have two-factor authentication enabled.",
                ));
            }
            Ok((
                vec![super::edits::patch_user(
                    &id,
                    [("two_factor", false.into())],
                )],
                (),
            ))
        },
        store_error,
    )?;
    Ok(HttpResponse::new(204, JSON, String::new()))
}
