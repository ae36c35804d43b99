//! ArcGIS Enterprise's portal admin operations and Hub's users API: reads only.
//!
//! ArcGIS: `GET` or form `POST` on `/portaladmin/security/{groups,users}/<operation>` and
//! `/:context/admin/orgs/:orgID/security/{groups,users}/<operation>`; the operation comes from
//! the path (it must sit under its own folder: `users/searchEnterpriseUsers`, the others under
//! `groups/`), and the query string and the form body together are the dialect's params. The
//! `token` param is consumed by authentication.
//!
//! Hub: `GET /hub/api/rest/users` (the `hub` dialect), `GET /hub/api/rest/users/queryAssist`
//! (`query`, `caret`: a byte offset, default the end; not a number is a 400) and
//! `GET /hub/api/rest/users/:id` (the directory id; `fields` selects as in a page; 404 when
//! there is no such user).

use serde_json::Value;
use userql_engine::HubParams;

use super::refusal::{refusal, Api};
use super::{not_allowed, Ctx};
use crate::http::{HttpResponse, JSON};
use crate::Dialect;

/// ArcGIS: `segs` are the whole path's segments (the API check guaranteed the shape).
pub(crate) fn arcgis(ctx: &Ctx, method: &str, segs: &[&str]) -> (&'static str, HttpResponse) {
    let (folder, operation) = match segs {
        [.., folder, operation] => (*folder, *operation),
        _ => return ("not found", refusal(Api::Arcgis, 404, "Not found.")),
    };
    let route = match (folder, operation) {
        ("groups", "getUsersWithinEnterpriseGroup") => "arcgis getUsersWithinEnterpriseGroup",
        ("users", "searchEnterpriseUsers") => "arcgis searchEnterpriseUsers",
        ("groups", "searchEnterpriseGroups") => "arcgis searchEnterpriseGroups",
        ("groups", "getEnterpriseGroupsForUser") => "arcgis getEnterpriseGroupsForUser",
        _ => {
            return (
                "not found",
                refusal(
                    Api::Arcgis,
                    404,
                    &format!("The operation '{operation}' is not supported."),
                ),
            )
        }
    };
    if !matches!(method, "GET" | "HEAD" | "POST") {
        return (route, not_allowed(Api::Arcgis, "GET, POST"));
    }
    let mut params: Vec<(String, String)> = ctx
        .input
        .all()
        .into_iter()
        .filter(|(k, _)| k != "token" && k != "op")
        .collect();
    params.push(("op".into(), operation.into()));
    let call = ctx.call(Dialect::Arcgis, params);
    (route, crate::answer_with(&call, ctx.settings()).response)
}

/// Hub: `segs` are the segments after `/hub/api/rest/users`.
pub(crate) fn hub(ctx: &Ctx, method: &str, segs: &[&str]) -> (&'static str, HttpResponse) {
    if !matches!(method, "GET" | "HEAD") {
        return ("hub", not_allowed(Api::Hub, "GET"));
    }
    match segs {
        [] => {
            let call = ctx.call(Dialect::Hub, ctx.input.query.clone());
            (
                "GET /hub/api/rest/users",
                crate::answer_with(&call, ctx.settings()).response,
            )
        }
        ["queryAssist"] => ("GET /hub/api/rest/users/queryAssist", assist(ctx)),
        [id] => (
            "GET /hub/api/rest/users/:id",
            user(ctx, id).unwrap_or_else(|e| e),
        ),
        _ => ("not found", refusal(Api::Hub, 404, "no such resource")),
    }
}

fn assist(ctx: &Ctx) -> HttpResponse {
    if let Err(error) = ctx
        .service
        .options
        .engine
        .is_admin(&ctx.snapshot, &ctx.viewer)
    {
        return crate::hub::refuse(error, "").response;
    }
    let query = ctx.input.last("query").unwrap_or_default();
    let caret = match ctx.input.last("caret") {
        None | Some("") => query.len(),
        Some(text) => match text.parse::<usize>() {
            Ok(caret) => caret,
            Err(_) => return refusal(Api::Hub, 400, "caret must be a non-negative integer"),
        },
    };
    let answer = userql_engine::assist::assist(&ctx.snapshot, query, caret);
    match serde_json::to_value(&answer) {
        Ok(body) => HttpResponse::json(200, JSON, &body),
        Err(e) => refusal(Api::Hub, 500, &e.to_string()),
    }
}

fn user(ctx: &Ctx, id: &str) -> Result<HttpResponse, HttpResponse> {
    let engine = &ctx.service.options.engine;
    let fields = ctx.input.last("fields");
    let request = engine
        .hub_request(
            &HubParams {
                fields,
                ..HubParams::default()
            },
            ctx.viewer.clone(),
            ctx.now,
        )
        .map_err(|e| crate::hub::refuse(e, fields.unwrap_or_default()).response)?;
    let admin = engine
        .is_admin(&ctx.snapshot, &ctx.viewer)
        .map_err(|e| crate::hub::refuse(e, "").response)?;
    let row = ctx
        .snapshot
        .row_of_id(id)
        .ok_or_else(|| refusal(Api::Hub, 404, &format!("user '{id}' not found")))?;
    let body: Value = userql_engine::project::project_user(
        &ctx.snapshot,
        row,
        userql_engine::visibility::Visibility::hub(admin),
        request.selection.as_ref(),
    );
    Ok(HttpResponse::json(200, JSON, &body))
}
