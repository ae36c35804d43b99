//! Terraform Enterprise `GET /api/v2/admin/users` (`--dialect tfe`), a JSON:API document.
//!
//! - Access: admins only; everyone else (anonymous included, per spec) gets 404 — TFE never
//!   says 403. A viewer login not in the directory is a 401 (an invalid token).
//! - `q` → `loginContains: q or emailContains: q`; `filter[admin]` → `is: admin` / `not is:
//!   admin`; `filter[suspended]` → `is: suspended` / `not is: suspended`; other filter values
//!   are ignored.
//! - Order: created_at ascending, ties by number ascending — applied here (Hub's `creationTime`
//!   breaks ties by id).
//! - `links` are absolute (`Settings::tfe_url`) with `page%5Bnumber%5D=N&page%5Bsize%5D=M` first,
//!   followed by the request's other params (sorted, encoded) so a client following `next` keeps
//!   its filter (decision: the spec shows only the page params, which is what a request without
//!   other params gets).
//! - `meta.status-counts` count the users matching `q` alone.
//! - Errors are checked in this order: access (404), `include` (400), `page[size]` (422).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use userql_directory::index::SortKey;
use userql_directory::model::{OrgIdx, Row, State};
use userql_directory::Snapshot;
use userql_engine::Viewer;
use userql_syntax::ast::Expr;

use crate::http::{HttpResponse, JSON_API};
use crate::params::{encode_component, Params};
use crate::query::{self, field, not, or};
use crate::source::{Failure, Fetch, Residue, RowOrder, RowSource, SourceError, Window};
use crate::{Answer, Api, Call, DialectError, Settings, Translated};

/// The endpoint path.
pub const PATH: &str = "/api/v2/admin/users";

fn error(status: u16, title: &str, detail: Option<&str>, human: String) -> DialectError {
    let mut item = Map::new();
    item.insert("status".into(), json!(status.to_string()));
    item.insert("title".into(), json!(title));
    if let Some(detail) = detail {
        item.insert("detail".into(), json!(detail));
    }
    DialectError::new(
        HttpResponse::json(
            status,
            JSON_API,
            &json!({ "errors": [Value::Object(item)] }),
        ),
        human,
    )
}

struct Translation {
    /// `q` alone (the status-counts scope).
    search: Vec<Expr>,
    /// The two filters.
    filters: Vec<Expr>,
    page: u64,
    size: u64,
    include_organizations: bool,
}

impl Translation {
    fn clauses(&self) -> Vec<Expr> {
        self.search.iter().chain(&self.filters).cloned().collect()
    }

    fn hub(&self) -> String {
        let options = format!(
            "orderBy: creationTime, number, $skip: {}, $top: {}",
            (self.page - 1).saturating_mul(self.size),
            self.size
        );
        query::hub_line(&self.clauses(), &options)
    }
}

fn translate(call: &Call) -> Result<Translation, DialectError> {
    let params = Params::new(&call.params);
    let admin = match &call.viewer {
        Viewer::Admin => true,
        Viewer::Anonymous => false,
        Viewer::Login(login) => match call.snapshot.row_of_login(login) {
            Some(row) => call.snapshot.model.users[row as usize].admin,
            None => {
                return Err(error(
                    401,
                    "unauthorized",
                    None,
                    format!("unknown viewer '{login}'"),
                ))
            }
        },
    };
    if !admin {
        return Err(error(
            404,
            "not found",
            None,
            "the admin users API needs an administrator".into(),
        ));
    }
    let include_organizations = match params.last("include") {
        None | Some("") => false,
        Some(list) => {
            if list.split(',').all(|item| item.trim() == "organizations") {
                true
            } else {
                return Err(error(
                    400,
                    "bad request",
                    Some("Invalid include parameter"),
                    format!("include: '{list}' is not 'organizations'"),
                ));
            }
        }
    };
    let size = match params.last("page[size]") {
        None => 20,
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => n as u64,
            _ => {
                return Err(error(
                    422,
                    "invalid attribute",
                    Some("page[size] must be between 1 and 100"),
                    format!("page[size]: '{text}' is not between 1 and 100"),
                ))
            }
        },
    };
    let page = params.last("page[number]").map_or(1, page_number);
    let mut search = Vec::new();
    if let Some(q) = params.last("q").filter(|q| !q.trim().is_empty()) {
        search.push(or(vec![
            field("loginContains", &[q]),
            field("emailContains", &[q]),
        ]));
    }
    let mut filters = Vec::new();
    for (param, value) in [
        ("filter[admin]", "admin"),
        ("filter[suspended]", "suspended"),
    ] {
        match params.last(param) {
            Some("true") => filters.push(field("is", &[value])),
            Some("false") => filters.push(not(field("is", &[value]))),
            _ => {}
        }
    }
    Ok(Translation {
        search,
        filters,
        page,
        size,
        include_organizations,
    })
}

/// The Hub form of a TFE request.
pub fn to_hub(call: &Call) -> Result<String, DialectError> {
    crate::to_hub(call)
}

fn page_url(
    settings: &Settings,
    others: &BTreeMap<String, String>,
    page: u64,
    size: u64,
) -> String {
    let mut url = format!(
        "{}{PATH}?page%5Bnumber%5D={page}&page%5Bsize%5D={size}",
        settings.tfe_url
    );
    for (k, v) in others {
        url.push('&');
        url.push_str(&encode_component(k));
        url.push('=');
        url.push_str(&encode_component(v));
    }
    url
}

/// One user as a JSON:API resource (also the admin single-user routes).
pub(crate) fn user_resource(snapshot: &Snapshot, row: Row) -> Value {
    let model = &snapshot.model;
    let user = &model.users[row as usize];
    let orgs: Vec<Value> = user
        .organizations
        .iter()
        .map(|o| json!({"id": model.organizations[o.index()].name, "type": "organizations"}))
        .collect();
    json!({
        "id": user.id,
        "type": "users",
        "attributes": {
            "username": user.login,
            "email": user.email,
            "avatar-url": user.profile.get("avatar_url").cloned().unwrap_or(Value::Null),
            "is-admin": user.admin,
            "is-suspended": user.state != State::Active,
            "is-service-account": &*user.user_type == "service_account",
            "two-factor": {"enabled": user.two_factor, "verified": user.two_factor},
        },
        "relationships": {"organizations": {"data": orgs}},
        "links": {"self": format!("/api/v2/users/{}", user.login)},
    })
}

fn included(snapshot: &Snapshot, rows: &[Row]) -> Vec<Value> {
    let model = &snapshot.model;
    let mut seen: Vec<OrgIdx> = Vec::new();
    for &row in rows {
        for org in &model.users[row as usize].organizations {
            if !seen.contains(org) {
                seen.push(*org);
            }
        }
    }
    seen.iter()
        .map(|o| {
            let name = &model.organizations[o.index()].name;
            json!({
                "id": name,
                "type": "organizations",
                "attributes": {"name": name},
                "links": {"self": format!("/api/v2/organizations/{}", name.replace(' ', "%20"))},
            })
        })
        .collect()
}

fn run<'a>(
    call: &Call<'a>,
    settings: &Settings,
    t: &Translation,
    source: &mut dyn RowSource<'a>,
) -> Result<Answer, Failure> {
    let internal = |e: userql_engine::Error| {
        DialectError::cost_bound(&e, |status, text| {
            error(status, "bad request", Some(&text), text.clone())
        })
        .unwrap_or_else(|| {
            error(
                500,
                "internal server error",
                None,
                format!("internal error: {e}"),
            )
        })
    };
    let request = query::request(call, &t.clauses());
    // The status counts: `q` alone, its suspended (not active) and its admin users — through
    // the same source, so the same snapshot view (indexes plus pending changes) as the search.
    let counted = |extra: Option<Expr>| {
        let mut clauses = t.search.clone();
        clauses.extend(extra);
        query::request(call, &clauses)
    };
    // Creation time, ties by number: the engine walks the creation-order permutation and sorts
    // only the rows a page needs (numbers are unique, so the id tie-break never applies).
    let fetch = Fetch {
        filter: request.clone(),
        residue: Residue::default(),
        order: RowOrder::Engine(vec![(SortKey::Created, false), (SortKey::Number, false)]),
        window: Window::Offset {
            skip: (t.page - 1).saturating_mul(t.size),
            top: t.size,
        },
        counts: vec![
            counted(None),
            counted(Some(not(field("state", &["active"])))),
            counted(Some(field("is", &["admin"]))),
        ],
    };
    let fetched = match source.fetch(&fetch) {
        Ok(fetched) => fetched,
        Err(SourceError::Engine(e)) => return Ok(Answer::refused(internal(e))),
        Err(SourceError::Failure(failure)) => return Err(failure),
        Err(SourceError::CursorInvalid) => {
            return Err(Failure::Unsupported(
                "a keyset cursor in a TFE request".into(),
            ))
        }
    };
    let view = &fetched.view;
    let rows = &fetched.rows;
    let total = fetched.total;
    let count = |i: usize| fetched.counts.get(i).copied().unwrap_or(0);
    let total_pages = total.div_ceil(t.size);
    let others: BTreeMap<String, String> = Params::new(&call.params)
        .last_values()
        .into_iter()
        .filter(|(k, _)| k != "page[number]" && k != "page[size]")
        .collect();
    let url = |p: u64| json!(page_url(settings, &others, p, t.size));
    let prev = (t.page > 1).then(|| t.page - 1);
    let next = (t.page < total_pages).then(|| t.page + 1);
    let mut doc = Map::new();
    doc.insert(
        "data".into(),
        Value::Array(rows.iter().map(|&r| user_resource(view, r)).collect()),
    );
    if t.include_organizations {
        doc.insert("included".into(), Value::Array(included(view, rows)));
    }
    doc.insert(
        "links".into(),
        json!({
            "self": url(t.page),
            "first": url(1),
            "prev": prev.map_or(Value::Null, url),
            "next": next.map_or(Value::Null, url),
            "last": url(total_pages.max(1)),
        }),
    );
    doc.insert(
        "meta".into(),
        json!({
            "pagination": {
                "current-page": t.page,
                "prev-page": prev,
                "next-page": next,
                "total-pages": total_pages,
                "total-count": total,
            },
            "status-counts": {
                "total": count(0),
                "suspended": count(1),
                "admin": count(2),
            },
        }),
    );
    Ok(Answer {
        response: HttpResponse::json(200, JSON_API, &Value::Object(doc)),
        ids: rows
            .iter()
            .map(|&r| view.model.users[r as usize].id.to_string())
            .collect(),
        total: Some(total),
        hub: Some(t.hub()),
        error: None,
        request: Some(request),
        visibility: userql_engine::Visibility::ADMIN,
    })
}

/// `page[number]`: a positive integer; one too large for 64 bits is past any end (saturated,
/// so the page is empty rather than page 1); anything else is page 1.
fn page_number(text: &str) -> u64 {
    let digits = text.trim();
    let digits = digits.strip_prefix('+').unwrap_or(digits);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 1;
    }
    match digits.parse::<u64>() {
        Ok(0) => 1,
        Ok(n) => n,
        // All digits but no u64: larger than u64::MAX (leading zeros parse fine).
        Err(_) => u64::MAX,
    }
}

/// Terraform Enterprise admin users.
#[derive(Debug, Clone, Copy)]
pub struct TfeApi;

impl Api for TfeApi {
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
        run(call, settings, self, source)
    }
}

/// Answers a TFE admin users request.
pub fn answer(call: &Call, settings: &Settings) -> Answer {
    crate::answer_with(call, settings)
}
