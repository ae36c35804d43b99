//! GitLab `GET /api/v4/groups/:id/enterprise_users` (`--dialect gitlab-enterprise`), and the
//! single-user form `…/enterprise_users/:user_id` (param `user_id=N`).
//!
//! The group (`id=`: the group's directory id, else its name, case-insensitively) must exist
//! (404) and be top-level (400); the viewer must be an admin or hold `owner` access to the group
//! through a direct membership (403); anonymous callers get 401. Grape's validation 400s come
//! first. The base set is `enterpriseGroup: <group>` in every state; `search` always matches
//! private emails; the order is number descending; rows are `UserPublic`. Everything is
//! expressible in Hub; nothing is applied outside the engine except the ordering tie rule.

use serde_json::Value;
use userql_directory::model::{AccessLevel, GroupIdx};
use userql_engine::Viewer;

use crate::gitlab::{
    active_clauses, blocked_clause, caller, created_clause, execute, two_factor_clause,
    username_clause, Caller, Order, OrderBy, Translation,
};
use crate::gitlab_paging;
use crate::gitlab_rows::{user_json, Entity};
use crate::gitlab_search::{self, EmailScope};
use crate::gitlab_values::{message_error, Validation};
use crate::http::{HttpResponse, JSON};
use crate::params::{encode_component, Params};
use crate::query::{self, field};
use crate::source::{Failure, RowSource};
use crate::{Answer, Api, Call, DialectError, NamedUser, Settings, Translated};

enum Request {
    /// The list.
    List(Translation),
    /// One user: its row, and the Hub form.
    One(Option<u32>, String),
}

/// The group `:id` names: id, then name (folded), by the directory's one entity resolver; the
/// first in directory order when several groups share the name.
fn find_group(call: &Call, reference: &str) -> Option<GroupIdx> {
    call.snapshot
        .index
        .resolve_group(reference)
        .into_iter()
        .next()
}

fn translate(call: &Call) -> Result<Request, DialectError> {
    let params = Params::new(&call.params);
    let mut v = Validation::new(params);
    let user_id = v.integer("user_id");
    let username = params.last("username");
    let search = gitlab_search::normalise(params.last("search"));
    let active = v.flag("active");
    let blocked = v.flag("blocked");
    let created_after = v.date("created_after");
    let created_before = v.date("created_before");
    let two_factor = params.last("two_factor");
    let paging = gitlab_paging::read(&mut v, false);
    v.finish()?;

    if call.viewer == Viewer::Anonymous {
        return Err(message_error(
            401,
            "401 Unauthorized",
            "enterprise users need a signed-in viewer",
        ));
    }
    let caller = caller(call)?;
    let reference = params.last("id").unwrap_or_default();
    let Some(group) = find_group(call, reference) else {
        return Err(message_error(
            404,
            "404 Group Not Found",
            format!("id: no group '{reference}'"),
        ));
    };
    let model = &call.snapshot.model;
    let group_record = &model.groups[group.index()];
    if group_record.parent.is_some() {
        return Err(message_error(
            400,
            "400 Bad request - Must be a top-level group",
            format!("id: '{}' is a subgroup", group_record.name),
        ));
    }
    let owner = match caller {
        Caller::Admin => true,
        Caller::User(row) => model.users[row as usize]
            .groups
            .iter()
            .any(|m| m.group == group && m.access == Some(AccessLevel::Owner)),
        Caller::Anonymous => false,
    };
    if !owner {
        return Err(message_error(
            403,
            "403 Forbidden",
            format!("the viewer is not an owner of '{}'", group_record.name),
        ));
    }
    let base = field("enterpriseGroup", &[&group_record.id]);
    if let Some(user_id) = user_id {
        let number = u64::try_from(user_id).ok();
        let hub = query::hub_line(
            &[base.clone(), field("number", &[&user_id.to_string()])],
            "$top: 1",
        );
        let row = number
            .and_then(|n| call.snapshot.row_of_number(n))
            .filter(|&r| {
                call.snapshot
                    .model
                    .users
                    .get(r as usize)
                    .is_some_and(|u| u.enterprise_group == Some(group))
            });
        return Ok(Request::One(row, hub));
    }
    let mut clauses = vec![base];
    clauses.extend(username_clause(username));
    if let Some(search) = &search {
        clauses.push(gitlab_search::clause(search, EmailScope::Private));
    }
    if active {
        clauses.extend(active_clauses());
    }
    if blocked {
        clauses.push(blocked_clause());
    }
    clauses.extend(created_clause(created_after, created_before));
    clauses.extend(two_factor_clause(two_factor));
    let path = format!(
        "/api/v4/groups/{}/enterprise_users",
        encode_component(reference)
    );
    Ok(Request::List(Translation {
        clauses,
        exact_public_email: None,
        order: Order::Explicit {
            by: OrderBy::Id,
            desc: true,
        },
        paging,
        entity: Entity::Public,
        path,
    }))
}

/// GitLab enterprise users of a group.
#[derive(Debug, Clone, Copy)]
pub struct EnterpriseApi;

impl Api for EnterpriseApi {
    fn translate(
        &self,
        call: &Call,
        _settings: &Settings,
    ) -> Result<Box<dyn Translated>, DialectError> {
        Ok(Box::new(translate(call)?))
    }

    /// `user_id` names a user by GitLab id.
    fn named_users(&self, params: &[(String, String)]) -> Vec<NamedUser> {
        Params::new(params)
            .last("user_id")
            .and_then(|id| id.trim().parse::<u64>().ok())
            .map(NamedUser::Number)
            .into_iter()
            .collect()
    }
}

impl Translated for Request {
    fn hub(&self) -> String {
        match self {
            Request::List(t) => t.hub(),
            Request::One(_, hub) => hub.clone(),
        }
    }

    fn answer<'a>(
        &self,
        call: &Call<'a>,
        settings: &Settings,
        source: &mut dyn RowSource<'a>,
    ) -> Result<Answer, Failure> {
        match self {
            Request::List(t) => execute(call, settings, t, source),
            Request::One(Some(row), hub) => {
                let body: Value =
                    user_json(call.snapshot, *row, Entity::Public, &settings.gitlab_url);
                Ok(Answer {
                    response: HttpResponse::json(200, JSON, &body),
                    ids: vec![call.snapshot.model.users[*row as usize].id.to_string()],
                    total: Some(1),
                    hub: Some(hub.clone()),
                    error: None,
                    request: None,
                    visibility: userql_engine::Visibility::ADMIN,
                })
            }
            Request::One(None, _) => Ok(Answer::refused(message_error(
                404,
                "404 Not found",
                "user_id: not an enterprise user of this group",
            ))),
        }
    }
}

/// The Hub form of an enterprise-users request.
pub fn to_hub(call: &Call, settings: &Settings) -> Result<String, DialectError> {
    crate::to_hub_with(call, settings)
}

/// Answers an enterprise-users request.
pub fn answer(call: &Call, settings: &Settings) -> Answer {
    crate::answer_with(call, settings)
}
