//! ArcGIS Enterprise portal admin, enterprise identity store (`--dialect arcgis`): four
//! operations chosen with `op=` (default `getUsersWithinEnterpriseGroup`).
//!
//! - Access: an admin viewer; a non-admin login gets code 403, an anonymous caller code 499
//!   ("Token not found", reference §5), an unknown login code 498 ("Invalid token"). Errors are
//!   HTTP 200 with `{"status":"error","messages":[…],"code":N}`, checked in this order: access,
//!   unknown `op` (400), missing required param (400), unknown group or user (404).
//! - `filter`: a case-insensitive glob (`*` = any run), a prefix when it has no `*`; users match
//!   on login, full name or primary email, groups on their name. **Not expressible in Hub**: the
//!   Hub form is a superset (`nameStartsWith: f or emailContains: f` for a prefix; for a glob,
//!   each field containing every literal piece) and the exact glob is applied here.
//! - Group operations return groups, which no Hub query selects: their Hub form is the user
//!   clause (for `getEnterpriseGroupsForUser`) or nothing, with the operation in the brackets.
//! - `maxCount`: default 1000, capped at 10,000; anything but a positive integer is the default.
//!   Order: login (group name) case-insensitively. `f`: `json` (compact; also the default here,
//!   a decision — the real portal defaults to `html`), `pjson` (indented), `html` (a table).

use serde_json::{json, Value};
use userql_directory::index::SortKey;
use userql_directory::model::{GroupIdx, Row};
use userql_directory::text::fold;
use userql_engine::{Viewer, Visibility};
use userql_syntax::ast::Expr;

pub use crate::arcgis_glob::{glob, glob_matches};
use crate::http::{HttpResponse, HTML, JSON};
use crate::memory::MemorySource;
use crate::params::Params;
use crate::query::{self, and, field, or};
use crate::source::{Failure, Fetch, Residue, RowOrder, RowSource, SourceError, Window};
use crate::{Answer, Api, Call, DialectError, NamedUser, Settings, Translated};

/// `maxCount` when absent or invalid.
pub const DEFAULT_MAX_COUNT: u64 = 1000;
/// The largest `maxCount` honoured.
pub const MAX_COUNT_CAP: u64 = 10_000;

/// The operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `groups/getUsersWithinEnterpriseGroup`.
    UsersWithinGroup,
    /// `users/searchEnterpriseUsers`.
    SearchUsers,
    /// `groups/searchEnterpriseGroups`.
    SearchGroups,
    /// `groups/getEnterpriseGroupsForUser`.
    GroupsForUser,
}

impl Operation {
    fn parse(text: &str) -> Option<Operation> {
        match text {
            "getUsersWithinEnterpriseGroup" => Some(Operation::UsersWithinGroup),
            "searchEnterpriseUsers" => Some(Operation::SearchUsers),
            "searchEnterpriseGroups" => Some(Operation::SearchGroups),
            "getEnterpriseGroupsForUser" | "getEnterpriseGroupsForUsers" => {
                Some(Operation::GroupsForUser)
            }
            _ => None,
        }
    }
}

/// Response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Pretty,
    Html,
}

fn format_of(params: Params<'_>) -> Format {
    match params.last("f").map(str::to_ascii_lowercase).as_deref() {
        Some("pjson") => Format::Pretty,
        Some("html") => Format::Html,
        _ => Format::Json,
    }
}

fn render(value: &Value, format: Format) -> HttpResponse {
    match format {
        Format::Json => HttpResponse::json(200, JSON, value),
        Format::Pretty => HttpResponse::new(
            200,
            JSON,
            serde_json::to_string_pretty(value).unwrap_or_default(),
        ),
        Format::Html => HttpResponse::new(200, HTML, html(value)),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => escape(s),
        other => escape(&other.to_string()),
    }
}

/// A plain HTML page: a table of users or groups, or the error messages.
fn html(value: &Value) -> String {
    let mut out =
        String::from("<html><head><title>Portal Administrator Directory</title></head><body>\n");
    if let Some(messages) = value.get("messages").and_then(Value::as_array) {
        out.push_str(&format!("<h2>Error: {}</h2>\n<ul>\n", cell(&value["code"])));
        for m in messages {
            out.push_str(&format!("<li>{}</li>\n", cell(m)));
        }
        out.push_str("</ul>\n");
    } else if let Some(users) = value.get("users").and_then(Value::as_array) {
        out.push_str("<table>\n<tr><th>username</th><th>description</th><th>email</th><th>fullname</th></tr>\n");
        for u in users {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                cell(&u["username"]),
                cell(&u["description"]),
                cell(&u["email"]),
                cell(&u["fullname"])
            ));
        }
        out.push_str("</table>\n");
    } else if let Some(groups) = value.get("groups").and_then(Value::as_array) {
        out.push_str("<table>\n<tr><th>group</th></tr>\n");
        for g in groups {
            let name = g.get("rolename").unwrap_or(g);
            out.push_str(&format!("<tr><td>{}</td></tr>\n", cell(name)));
        }
        out.push_str("</table>\n");
    }
    if let Some(more) = value.get("hasMore") {
        out.push_str(&format!("<p>hasMore: {more}</p>\n"));
    }
    out.push_str("</body></html>\n");
    out
}

fn error(code: u16, message: &str, format: Format) -> DialectError {
    let body = json!({"status": "error", "messages": [message], "code": code});
    DialectError::new(render(&body, format), format!("code {code}: {message}"))
}

/// The Hub superset of a users filter (`None`: every user).
fn filter_clause(filter: &str) -> Option<Expr> {
    if filter.is_empty() {
        return None;
    }
    if !filter.contains('*') {
        return Some(or(vec![
            field("nameStartsWith", &[filter]),
            field("emailContains", &[filter]),
        ]));
    }
    let pieces: Vec<&str> = filter.split('*').filter(|p| !p.is_empty()).collect();
    if pieces.is_empty() {
        return None;
    }
    let per_field = |key: &str| and(pieces.iter().map(|p| field(key, &[p])).collect());
    Some(or(["loginContains", "nameContains", "emailContains"]
        .into_iter()
        .filter_map(per_field)
        .collect()))
}

fn strip_domain(name: &str) -> &str {
    name.rsplit_once('\\').map_or(name, |(_, rest)| rest)
}

struct Request {
    op: Operation,
    format: Format,
    filter: String,
    max_count: u64,
    user: Option<Row>,
    clauses: Vec<Expr>,
    /// The Hub form (filled once translated).
    hub: String,
}

impl Request {
    fn hub(&self, call: &Call) -> String {
        let filter = if self.filter.is_empty() {
            "*"
        } else {
            &self.filter
        };
        match self.op {
            Operation::UsersWithinGroup | Operation::SearchUsers => query::hub_line(
                &self.clauses,
                &format!("filter: {filter}, orderBy: login, $top: {}", self.max_count),
            ),
            Operation::SearchGroups => format!(
                "[groups: filter: {filter}, orderBy: name, $top: {}]",
                self.max_count
            ),
            Operation::GroupsForUser => {
                let login = self
                    .user
                    .map(|r| call.snapshot.model.users[r as usize].login.as_ref())
                    .unwrap_or_default();
                query::hub_line(
                    &[field("login", &[login])],
                    &format!(
                        "groups of the user with their ancestors: filter: {filter}, orderBy: name, $top: {}",
                        self.max_count
                    ),
                )
            }
        }
    }
}

fn translate(call: &Call) -> Result<Request, DialectError> {
    let params = Params::new(&call.params);
    let format = format_of(params);
    match &call.viewer {
        Viewer::Admin => {}
        Viewer::Anonymous => {
            return Err(error(
                499,
                "Unauthorized access. Token not found. You can generate a token using the 'generateToken' operation.",
                format,
            ))
        }
        Viewer::Login(login) => match call.snapshot.row_of_login(login) {
            Some(row) if call.snapshot.model.users[row as usize].admin => {}
            Some(_) => {
                return Err(error(
                    403,
                    "You do not have permissions to access this resource or perform this operation.",
                    format,
                ))
            }
            None => return Err(error(498, "Invalid token.", format)),
        },
    }
    let op_text = params.last("op").unwrap_or("getUsersWithinEnterpriseGroup");
    let Some(op) = Operation::parse(op_text) else {
        return Err(error(
            400,
            &format!("Could not find resource or operation '{op_text}' on the system."),
            format,
        ));
    };
    let filter = params.last("filter").unwrap_or_default().trim().to_string();
    let max_count = params
        .last("maxCount")
        .and_then(|t| t.trim().parse::<u64>().ok())
        .filter(|n| *n > 0)
        .map_or(DEFAULT_MAX_COUNT, |n| n.min(MAX_COUNT_CAP));
    let mut request = Request {
        op,
        format,
        filter,
        max_count,
        user: None,
        clauses: Vec::new(),
        hub: String::new(),
    };
    let model = &call.snapshot.model;
    match op {
        Operation::UsersWithinGroup => {
            let name = params.last("groupName").unwrap_or_default().trim();
            if name.is_empty() {
                return Err(error(400, "The 'groupName' parameter is required.", format));
            }
            let wanted = fold(strip_domain(name));
            let named: Vec<GroupIdx> = (0..model.groups.len() as u32)
                .map(GroupIdx)
                .filter(|g| fold(&model.groups[g.index()].name) == wanted)
                .collect();
            if named.is_empty() {
                return Err(error(
                    404,
                    &format!("Group '{name}' does not exist in the identity store."),
                    format,
                ));
            }
            // Transitive members as `group:` over the groups and every subgroup, by id: `in:`
            // would also take a *team* whose id equals a group's (ids are unique per kind only).
            let ids: Vec<&str> = with_subgroups(model, &named)
                .into_iter()
                .map(|g| model.groups[g.index()].id.as_str())
                .collect();
            request.clauses.push(field("group", &ids));
        }
        Operation::GroupsForUser => {
            let name = params.last("username").unwrap_or_default().trim();
            if name.is_empty() {
                return Err(error(400, "The 'username' parameter is required.", format));
            }
            let Some(row) = call.snapshot.row_of_login(strip_domain(name)) else {
                return Err(error(
                    404,
                    &format!("User '{name}' does not exist in the identity store."),
                    format,
                ));
            };
            request.user = Some(row);
        }
        Operation::SearchUsers | Operation::SearchGroups => {}
    }
    if matches!(op, Operation::UsersWithinGroup | Operation::SearchUsers) {
        request.clauses.extend(filter_clause(&request.filter));
    }
    request.hub = request.hub(call);
    Ok(request)
}

/// The groups and all their subgroups (any depth), in directory order.
fn with_subgroups(model: &userql_directory::model::Model, roots: &[GroupIdx]) -> Vec<GroupIdx> {
    let mut children: Vec<Vec<GroupIdx>> = vec![Vec::new(); model.groups.len()];
    for (i, group) in model.groups.iter().enumerate() {
        if let Some(parent) = group.parent {
            if let Some(list) = children.get_mut(parent.index()) {
                list.push(GroupIdx(i as u32));
            }
        }
    }
    let mut included = vec![false; model.groups.len()];
    let mut stack: Vec<GroupIdx> = roots.to_vec();
    while let Some(g) = stack.pop() {
        if std::mem::replace(&mut included[g.index()], true) {
            continue;
        }
        stack.extend(children[g.index()].iter().copied());
    }
    (0..model.groups.len() as u32)
        .map(GroupIdx)
        .filter(|g| included[g.index()])
        .collect()
}

/// The Hub form of an ArcGIS request.
pub fn to_hub(call: &Call) -> Result<String, DialectError> {
    crate::to_hub(call)
}

/// How the in-memory source answers a users request's `filter` glob (per field: a dictionary
/// prefix range, checked entries, trigram candidates or a scan; then how many rows were checked
/// on their records), for the plan-shape test; `None` for a request without a glob.
pub fn glob_path(call: &Call) -> Result<Option<String>, DialectError> {
    let request = translate(call)?;
    let mut source = MemorySource::new(call);
    let answer = request
        .answer(call, &Settings::default(), &mut source)
        .map_err(|failure| error(500, &failure.to_string(), request.format))?;
    if let Some(error) = answer.error {
        return Err(error);
    }
    Ok(source.last_glob().map(ToString::to_string))
}

fn users_answer<'a>(
    call: &Call<'a>,
    request: &Request,
    source: &mut dyn RowSource<'a>,
) -> Result<Answer, Failure> {
    let filter = query::request(call, &request.clauses);
    let fetch = Fetch {
        filter: filter.clone(),
        residue: Residue {
            exact_public_email: None,
            glob: (!request.filter.is_empty()).then(|| request.filter.clone()),
        },
        order: RowOrder::Engine(vec![(SortKey::Login, false)]),
        window: Window::Offset {
            skip: 0,
            top: request.max_count,
        },
        counts: Vec::new(),
    };
    let fetched = match source.fetch(&fetch) {
        Ok(fetched) => fetched,
        Err(SourceError::Engine(e)) => {
            return Ok(Answer::refused(
                DialectError::cost_bound(&e, |code, text| error(code, &text, request.format))
                    .unwrap_or_else(|| error(500, &format!("internal error: {e}"), request.format)),
            ))
        }
        Err(SourceError::Failure(failure)) => return Err(failure),
        Err(SourceError::CursorInvalid) => {
            return Err(Failure::Unsupported(
                "a keyset cursor in an ArcGIS request".into(),
            ))
        }
    };
    let users = &fetched.view.model.users;
    let page = &fetched.rows;
    let items: Vec<Value> = page
        .iter()
        .map(|&r| {
            let u = &users[r as usize];
            json!({
                "username": u.login,
                "description": u.profile.get("description").and_then(Value::as_str).unwrap_or(""),
                "email": u.email.as_deref().unwrap_or(""),
                "fullname": u.name.as_deref().unwrap_or(""),
            })
        })
        .collect();
    let body = json!({"users": items, "hasMore": fetched.total > page.len() as u64});
    Ok(Answer {
        response: render(&body, request.format),
        ids: page
            .iter()
            .map(|&r| users[r as usize].id.to_string())
            .collect(),
        total: Some(fetched.total),
        hub: Some(request.hub.clone()),
        error: None,
        request: Some(filter),
        visibility: Visibility::ADMIN,
    })
}

fn groups_answer(call: &Call, request: &Request) -> Answer {
    let model = &call.snapshot.model;
    let mut groups: Vec<GroupIdx> = match request.user {
        None => (0..model.groups.len() as u32).map(GroupIdx).collect(),
        Some(row) => {
            let mut out: Vec<GroupIdx> = Vec::new();
            for membership in &model.users[row as usize].groups {
                let mut current = Some(membership.group);
                while let Some(g) = current {
                    if out.contains(&g) {
                        break;
                    }
                    out.push(g);
                    current = model.groups[g.index()].parent;
                }
            }
            out
        }
    };
    groups.retain(|g| {
        request.filter.is_empty() || glob_matches(&request.filter, &model.groups[g.index()].name)
    });
    groups.sort_by_cached_key(|g| {
        let group = &model.groups[g.index()];
        (group.name.to_lowercase(), group.id.clone())
    });
    let total = groups.len() as u64;
    groups.truncate(usize::try_from(request.max_count).unwrap_or(usize::MAX));
    let names = groups.iter().map(|g| model.groups[g.index()].name.clone());
    let items: Vec<Value> = match request.op {
        Operation::SearchGroups => names.map(|n| json!({ "rolename": n })).collect(),
        _ => names.map(Value::String).collect(),
    };
    let body = json!({"groups": items, "hasMore": total > groups.len() as u64});
    Answer {
        response: render(&body, request.format),
        ids: groups
            .iter()
            .map(|g| model.groups[g.index()].id.clone())
            .collect(),
        total: Some(total),
        hub: Some(request.hub.clone()),
        error: None,
        request: None,
        visibility: Visibility::ADMIN,
    }
}

/// ArcGIS portal admin enterprise-identity-store operations.
#[derive(Debug, Clone, Copy)]
pub struct ArcgisApi;

impl Api for ArcgisApi {
    fn translate(
        &self,
        call: &Call,
        _settings: &Settings,
    ) -> Result<Box<dyn Translated>, DialectError> {
        Ok(Box::new(translate(call)?))
    }

    /// `getEnterpriseGroupsForUser` names a user by login (`username`, domain stripped).
    fn named_users(&self, params: &[(String, String)]) -> Vec<NamedUser> {
        Params::new(params)
            .last("username")
            .map(|name| NamedUser::Login(strip_domain(name.trim()).to_string()))
            .into_iter()
            .collect()
    }
}

impl Translated for Request {
    fn hub(&self) -> String {
        self.hub.clone()
    }

    fn answer<'a>(
        &self,
        call: &Call<'a>,
        _settings: &Settings,
        source: &mut dyn RowSource<'a>,
    ) -> Result<Answer, Failure> {
        match self.op {
            Operation::UsersWithinGroup | Operation::SearchUsers => {
                users_answer(call, self, source)
            }
            // Groups are catalog: answered from the call's snapshot, whatever the source.
            Operation::SearchGroups | Operation::GroupsForUser => Ok(groups_answer(call, self)),
        }
    }
}

/// Answers an ArcGIS operation.
pub fn answer(call: &Call) -> Answer {
    crate::answer(call)
}
