//! Every dialect answered by PostgreSQL: the row-source seam of `userql_dialects`
//! ([`RowSource`]) implemented with one statement per [`Fetch`].
//!
//! The dialect translates the request exactly as in memory, over a small directory holding the
//! cached catalog plus the users the translation looks up (the viewer and the users the request
//! names: [`context`]); what it asks of the rows — filter, residue, order, window, counts — is
//! compiled here ([`fetch_statement`]), and the page's users are read back to render the API's
//! response with the dialect's own code. What is pushed down:
//! - the filter: the Hub clauses bound as an administrator, compiled as for Hub requests;
//! - GitLab's case-sensitive `public_email`: `public_email = $v` in the "C" collation (byte
//!   equality);
//! - ArcGIS globs: `LIKE` over the lower-cased copies (`*_l`, lower-cased by the loader with
//!   Rust's `to_lowercase`, as the glob compares), each literal piece escaped, `*` as `%`;
//! - GitLab orders: `ORDER BY` key then number in the same direction, the displayed name as
//!   `coalesce(name, login)` and `username` as `login_l`, both in the "C" collation;
//! - GitLab's search relevance: `ORDER BY CASE` over the lower-cased public email, login and
//!   name, then the displayed name, then the number;
//! - keyset positions: `(key, number)` compared in the order's direction, the key read back from
//!   the cursor's row by a scalar subquery when the viewer may not see it (the statement also
//!   says whether that row exists);
//! - TFE's status counts: one `count(*)` subquery each.
//!
//! Refused (never answered differently): a keyset cursor whose text value contains NUL
//! (PostgreSQL text cannot hold it, and it orders differently from every stored value).

use postgres::Client;
use userql_dialects::source::{
    Fetch, Fetched, GitlabKey, HubRows, KeyValue, PageView, Position, RowOrder, SourceError, Window,
};
use userql_dialects::{
    answer_from, Answer, Call, Dialect, Failure, NamedUser, RowSource, Settings,
};
use userql_directory::model::Model;
use userql_directory::text::fold;
use userql_directory::Snapshot;
use userql_engine::bind::{bind, BindContext};
use userql_engine::bound::Expr;
use userql_engine::{Engine, Request, Viewer, Visibility};

use crate::backend::Backend;
use crate::compile::{escape_like, expr, order};
use crate::error::Error;
use crate::sql::{Builder, Param, Statement};

/// A request's filter bound as an administrator (the dialects evaluate their clauses so, having
/// applied their APIs' visibility rules), with the engine's own limits checked first.
fn bound_admin(engine: &Engine, catalog: &Snapshot, request: &Request) -> Result<Expr, Error> {
    userql_syntax::check_tree(&request.query, &engine.options.limits)
        .map_err(userql_engine::Error::from)?;
    let ctx = BindContext {
        model: &catalog.model,
        index: &catalog.index,
        admin: true,
        now: request.now,
        lenient: engine.options.lenient,
    };
    Ok(bind(&request.query, &ctx)?)
}

fn big(n: u64) -> Param {
    Param::BigInt(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The SQL of a GitLab key for the row alias `u` (the page) or `r` (the cursor's row).
fn key_sql(key: GitlabKey, cursor_row: bool) -> &'static str {
    match (key, cursor_row) {
        (GitlabKey::Number, false) => "u.number",
        (GitlabKey::Number, true) => "r.number",
        (GitlabKey::DisplayName, false) => "(coalesce(u.name, u.login) COLLATE \"C\")",
        (GitlabKey::DisplayName, true) => "(coalesce(r.name, r.login) COLLATE \"C\")",
        (GitlabKey::LoweredLogin, false) => "u.login_l",
        (GitlabKey::LoweredLogin, true) => "r.login_l",
        (GitlabKey::Updated, false) => "u.updated_at",
        (GitlabKey::Updated, true) => "r.updated_at",
    }
}

/// `col IS NOT NULL AND col LIKE $p` (or `col LIKE $p` for a NOT NULL column).
fn like(b: &mut Builder, column: &'static str, nullable: bool, pattern: &str) {
    b.sql("(");
    if nullable {
        b.sql(column).sql(" IS NOT NULL AND ");
    }
    b.sql(column)
        .sql(" LIKE ")
        .param(Param::Text(pattern.to_owned()))
        .sql(")");
}

/// The `LIKE` pattern of an ArcGIS glob: lower-cased, a prefix when it has no `*`, literal
/// pieces escaped, `*` as `%`.
pub fn glob_pattern(glob: &str) -> String {
    let lowered = glob.to_lowercase();
    let pieces: Vec<String> = lowered.split('*').map(escape_like).collect();
    let mut pattern = pieces.join("%");
    if !lowered.contains('*') {
        pattern.push('%');
    }
    pattern
}

/// Filter plus residue: the rows counted and paged.
fn condition(b: &mut Builder, catalog: &Model, filter: &Expr, fetch: &Fetch) {
    b.sql("(");
    expr(b, catalog, filter);
    if let Some(email) = &fetch.residue.exact_public_email {
        if email.contains('\0') {
            b.sql(" AND FALSE");
        } else {
            b.sql(" AND (u.public_email IS NOT NULL AND u.public_email COLLATE \"C\" = ")
                .param(Param::Text(email.clone()))
                .sql(")");
        }
    }
    if let Some(glob) = &fetch.residue.glob {
        if glob.contains('\0') {
            b.sql(" AND FALSE");
        } else {
            let pattern = glob_pattern(glob);
            b.sql(" AND (");
            like(b, "u.login_l", false, &pattern);
            b.sql(" OR ");
            like(b, "u.name_l", true, &pattern);
            b.sql(" OR ");
            like(b, "u.email_l", true, &pattern);
            b.sql(")");
        }
    }
    b.sql(")");
}

/// `(K > v OR (K = v AND u.number > n))`, `<` when descending.
fn after(b: &mut Builder, key: GitlabKey, desc: bool, value: impl Fn(&mut Builder), number: u64) {
    let (strict, column) = (if desc { " < " } else { " > " }, key_sql(key, false));
    b.sql(" AND (").sql(column).sql(strict);
    value(b);
    b.sql(" OR (").sql(column).sql(" = ");
    value(b);
    b.sql(" AND u.number")
        .sql(strict)
        .param(big(number))
        .sql("))");
}

/// The keyset start as a condition on `u`.
fn position(
    b: &mut Builder,
    key: GitlabKey,
    desc: bool,
    position: &Position,
) -> Result<(), Failure> {
    match position {
        Position::Start => {}
        Position::After(value, number) => match (value, key.is_text()) {
            (KeyValue::Number(n), false) => after(
                b,
                key,
                desc,
                |b| {
                    b.param(Param::BigInt(*n));
                },
                *number,
            ),
            (KeyValue::Text(t), true) => {
                if t.contains('\0') {
                    return Err(Failure::Unsupported(
                        "a keyset cursor value containing NUL".into(),
                    ));
                }
                after(
                    b,
                    key,
                    desc,
                    |b| {
                        b.param(Param::Text(t.clone())).sql(" COLLATE \"C\"");
                    },
                    *number,
                );
            }
            // A value of the other type: numbers sort before text, so the page starts at one
            // end (every row follows a number in a text order, none follows a text in a number
            // order), exactly as in memory.
            (KeyValue::Number(_), true) => {
                b.sql(if desc { " AND FALSE" } else { " AND TRUE" });
            }
            (KeyValue::Text(_), false) => {
                b.sql(if desc { " AND TRUE" } else { " AND FALSE" });
            }
        },
        Position::AfterRow(number) => {
            let read_back = |b: &mut Builder| {
                b.sql("(SELECT ")
                    .sql(key_sql(key, true))
                    .sql(" FROM users r WHERE r.number = ")
                    .param(big(*number))
                    .sql(")");
            };
            after(b, key, desc, read_back, *number);
        }
    }
    Ok(())
}

/// The ORDER BY list of a dialect order.
fn order_by(b: &mut Builder, row_order: &RowOrder) {
    match row_order {
        RowOrder::Engine(keys) => order(b, keys),
        RowOrder::Gitlab { key, desc } => {
            let dir = if *desc { " DESC" } else { " ASC" };
            b.sql(key_sql(*key, false))
                .sql(dir)
                .sql(", u.number")
                .sql(dir);
        }
        RowOrder::Relevance(query) => {
            if query.contains('\0') {
                // No stored text holds NUL: every row is in the last tier.
                b.sql("3");
            } else {
                let q = b.bind(Param::Text(query.clone()));
                b.sql("CASE WHEN (u.public_email_l IS NOT NULL AND u.public_email_l = ")
                    .placeholder(q)
                    .sql(") THEN 0 WHEN u.login_l = ")
                    .placeholder(q)
                    .sql(" THEN 1 WHEN (u.name_l IS NOT NULL AND u.name_l = ")
                    .placeholder(q)
                    .sql(") THEN 2 ELSE 3 END");
            }
            b.sql(", (coalesce(u.name, u.login) COLLATE \"C\") ASC, u.number ASC");
        }
    }
}

fn unsupported(failure: Failure) -> Error {
    match failure {
        Failure::Unsupported(construct) => Error::Unsupported(construct),
        Failure::Backend(message) => Error::Server(message),
    }
}

/// The statement answering a [`Fetch`], bound against `catalog`. It returns one row: `total`
/// (bigint), `ids` (text[], the page in order; one more than the keyset limit, to tell whether
/// rows follow), `counts` (bigint[], one per [`Fetch::counts`]) and `found` (boolean: the keyset
/// cursor's row exists).
pub fn fetch_statement(
    engine: &Engine,
    catalog: &Snapshot,
    fetch: &Fetch,
) -> Result<Statement, Error> {
    let filter = bound_admin(engine, catalog, &fetch.filter)?;
    let counts = fetch
        .counts
        .iter()
        .map(|request| bound_admin(engine, catalog, request))
        .collect::<Result<Vec<Expr>, Error>>()?;
    let model = &catalog.model;
    let mut b = Builder::new();
    let cond = b.capture(|b| condition(b, model, &filter, fetch));
    b.sql("SELECT (SELECT count(*) FROM users u WHERE ");
    b.fragment_sql(&cond);
    b.sql(") AS total,\n  ARRAY(SELECT u.id FROM users u WHERE ");
    b.fragment_sql(&cond);
    let (limit, skip) = match &fetch.window {
        Window::Offset { skip, top } => (*top, *skip),
        Window::Keyset {
            position: start,
            limit,
        } => {
            let RowOrder::Gitlab { key, desc } = fetch.order else {
                return Err(Error::Unsupported(
                    "keyset paging outside GitLab's orders".into(),
                ));
            };
            position(&mut b, key, desc, start).map_err(unsupported)?;
            (limit.saturating_add(1), 0)
        }
    };
    b.sql("\n    ORDER BY ");
    order_by(&mut b, &fetch.order);
    b.sql("\n    LIMIT ")
        .param(big(limit))
        .sql(" OFFSET ")
        .param(big(skip))
        .sql(") AS ids,\n  ARRAY[");
    for (i, count) in counts.iter().enumerate() {
        if i > 0 {
            b.sql(", ");
        }
        b.sql("(SELECT count(*) FROM users u WHERE ");
        expr(&mut b, model, count);
        b.sql(")");
    }
    b.sql("]::int8[] AS counts,\n  ");
    match &fetch.window {
        Window::Keyset {
            position: Position::AfterRow(number),
            ..
        } => {
            b.sql("EXISTS (SELECT 1 FROM users r WHERE r.number = ")
                .param(big(*number))
                .sql(") AS found");
        }
        _ => {
            b.sql("TRUE AS found");
        }
    }
    Ok(b.finish())
}

/// The directory a dialect translates against: the catalog plus the viewer and the users the
/// request names (see [`userql_dialects::named_users`]), read from the database.
pub fn context(
    client: &mut Client,
    catalog: &Model,
    viewer: &Viewer,
    named: &[NamedUser],
) -> Result<Snapshot, Error> {
    let mut logins: Vec<String> = Vec::new();
    let mut numbers: Vec<i64> = Vec::new();
    if let Viewer::Login(login) = viewer {
        logins.push(fold(login));
    }
    for user in named {
        match user {
            NamedUser::Login(login) => logins.push(fold(login)),
            NamedUser::Number(n) => numbers.extend(i64::try_from(*n).ok()),
        }
    }
    // PostgreSQL text cannot hold NUL, and no login contains it: such a name names nobody.
    logins.retain(|login| !login.contains('\0'));
    let ids: Vec<String> = if logins.is_empty() && numbers.is_empty() {
        Vec::new()
    } else {
        client
        .query(
            "SELECT id FROM users WHERE login_f = ANY($1::text[]) OR number = ANY($2::int8[]) ORDER BY row",
            &[&logins, &numbers],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect()
    };
    let model = crate::respond::page_model(client, catalog, &ids)?;
    Ok(Snapshot::new(model))
}

/// A [`RowSource`] answering from a loaded schema.
pub struct PgSource<'b> {
    backend: &'b mut Backend,
    engine: &'b Engine,
}

impl std::fmt::Debug for PgSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSource").finish_non_exhaustive()
    }
}

impl<'b> PgSource<'b> {
    /// A source over `backend`, with `engine`'s options (limits, page sizes).
    pub fn new(backend: &'b mut Backend, engine: &'b Engine) -> Self {
        PgSource { backend, engine }
    }
}

/// A backend error as the seam's: the engine's refusals stay the dialect's to answer.
fn source_error(error: Error) -> SourceError {
    match error {
        Error::Request(e) => SourceError::Engine(e),
        Error::Unsupported(construct) => SourceError::Failure(Failure::Unsupported(construct)),
        other => SourceError::Failure(Failure::Backend(other.to_string())),
    }
}

impl<'a> RowSource<'a> for PgSource<'_> {
    fn fetch(&mut self, fetch: &Fetch) -> Result<Fetched<'a>, SourceError> {
        let statement =
            fetch_statement(self.engine, self.backend.catalog(), fetch).map_err(source_error)?;
        let row = self
            .backend
            .client()
            .query_one(statement.text.as_str(), &statement.args())
            .map_err(|e| source_error(e.into()))?;
        let total: i64 = row.get(0);
        let mut ids: Vec<String> = row.get(1);
        let counts: Vec<i64> = row.get(2);
        let found: bool = row.get(3);
        if !found {
            return Err(SourceError::CursorInvalid);
        }
        let mut more = false;
        if let Window::Keyset { limit, .. } = fetch.window {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            more = ids.len() > limit;
            ids.truncate(limit);
        }
        let model = self.backend.page_model(&ids).map_err(source_error)?;
        let rows = (0..model.users.slots() as u32).collect();
        Ok(Fetched {
            total: u64::try_from(total).unwrap_or(0),
            view: PageView::Owned(Box::new(Snapshot::new(model))),
            rows,
            more,
            counts: counts
                .into_iter()
                .map(|c| u64::try_from(c).unwrap_or(0))
                .collect(),
        })
    }

    fn hub(&mut self, request: &Request) -> Result<HubRows, SourceError> {
        let (page, body) = self
            .backend
            .respond(self.engine, request)
            .map_err(source_error)?;
        Ok(HubRows {
            body,
            total: page.total,
            ids: page.ids,
            visibility: Visibility::hub(page.admin_viewer),
        })
    }
}

/// Answers a request of any dialect from the schema: translated over [`context`], its rows
/// fetched by [`PgSource`], rendered by the dialect. `Err` for server errors and for requests
/// PostgreSQL cannot answer identically (naming the construct); API errors are answers.
pub fn answer(
    backend: &mut Backend,
    engine: &Engine,
    request: DialectRequest,
    settings: &Settings,
) -> Result<Answer, Error> {
    let context = backend_context(backend, &request)?;
    let call = Call {
        dialect: request.dialect,
        params: request.params,
        viewer: request.viewer,
        now: request.now,
        engine,
        snapshot: &context,
    };
    let mut source = PgSource::new(backend, engine);
    answer_from(&call, settings, &mut source).map_err(unsupported)
}

/// [`context`] for a request, read through `backend` (its catalog re-read first if the schema
/// changed: [`Backend::revalidate`]); for a request naming no user, the backend's cached
/// [`Backend::shared_context`] (the same directory).
pub fn backend_context(backend: &mut Backend, request: &DialectRequest) -> Result<Snapshot, Error> {
    backend.revalidate()?;
    let named = userql_dialects::named_users(request.dialect, &request.params);
    if named.is_empty() && !matches!(request.viewer, Viewer::Login(_)) {
        return backend.shared_context();
    }
    let (client, catalog) = backend.client_and_catalog();
    context(client, &catalog.model, &request.viewer, &named)
}

/// A dialect request, as [`Call`] without what it is answered from.
#[derive(Debug, Clone)]
pub struct DialectRequest {
    /// The API.
    pub dialect: Dialect,
    /// Decoded query-string params in request order.
    pub params: Vec<(String, String)>,
    /// Who asks.
    pub viewer: Viewer,
    /// The clock (epoch ms).
    pub now: i64,
}

/// The statements a dialect request runs (none for a refused request or one answered from the
/// catalog alone, such as ArcGIS group searches), bound against `catalog` (a user-less catalog
/// or a whole directory) with the request translated over `context`; with the answer of a
/// source that finds no rows (its `error` is the request's refusal, if any).
pub fn statements(
    engine: &Engine,
    catalog: &Snapshot,
    context: &Snapshot,
    request: DialectRequest,
    settings: &Settings,
) -> Result<(Answer, Vec<Statement>), Error> {
    let call = Call {
        dialect: request.dialect,
        params: request.params,
        viewer: request.viewer,
        now: request.now,
        engine,
        snapshot: context,
    };
    let mut source = CompileSource {
        engine,
        catalog,
        statements: Vec::new(),
        error: None,
    };
    let answer = answer_from(&call, settings, &mut source);
    match source.error {
        Some(error) => Err(error),
        None => Ok((answer.map_err(unsupported)?, source.statements)),
    }
}

/// Compiles each fetch and answers it with no rows.
struct CompileSource<'c> {
    engine: &'c Engine,
    catalog: &'c Snapshot,
    statements: Vec<Statement>,
    error: Option<Error>,
}

impl<'a> RowSource<'a> for CompileSource<'a> {
    fn fetch(&mut self, fetch: &Fetch) -> Result<Fetched<'a>, SourceError> {
        match fetch_statement(self.engine, self.catalog, fetch) {
            Ok(statement) => self.statements.push(statement),
            Err(error) => {
                let failure = Failure::Unsupported(error.to_string());
                self.error = Some(error);
                return Err(SourceError::Failure(failure));
            }
        }
        Ok(Fetched {
            total: 0,
            view: PageView::Borrowed(self.catalog),
            rows: Vec::new(),
            more: false,
            counts: vec![0; fetch.counts.len()],
        })
    }

    fn hub(&mut self, _request: &Request) -> Result<HubRows, SourceError> {
        Err(SourceError::Failure(Failure::Unsupported(
            "Hub requests compile with userql_pg::compile_request".into(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use userql_dialects::arcgis::glob_matches;
    use userql_dialects::source::Residue;
    use userql_syntax::ast::Query;

    /// `LIKE` over a lower-cased text, for the patterns [`glob_pattern`] writes (`%` any run,
    /// `\` escaping the next character, no `_` wildcard since it is always escaped).
    fn like(pattern: &str, text: &str) -> bool {
        let mut pieces: Vec<String> = vec![String::new()];
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => pieces.last_mut().unwrap().extend(chars.next()),
                '%' => pieces.push(String::new()),
                other => pieces.last_mut().unwrap().push(other),
            }
        }
        let glob = pieces.join("*");
        // Same semantics once the pattern has a `*`; without one it is a whole-string match.
        if pieces.len() == 1 {
            return text == glob;
        }
        glob_matches(&glob, text)
    }

    #[test]
    fn glob_patterns_escape_literals_and_keep_the_prefix_rule() {
        assert_eq!(glob_pattern("Lu"), "lu%");
        assert_eq!(glob_pattern("*UKE"), "%uke");
        assert_eq!(glob_pattern("a_b*%c\\"), "a\\_b%\\%c\\\\");
        assert_eq!(glob_pattern("**"), "%%");
        assert_eq!(glob_pattern(""), "%");
        for pattern in [
            "lu", "*uke", "l*e", "a*a", "aa*aa", "*", "Σ*", "a_*", "%", "*\\*",
        ] {
            for text in [
                "luke", "lukes", "aa", "aaa", "σας", "a_b", "ab", "%x", "\\x\\",
            ] {
                assert_eq!(
                    like(&glob_pattern(pattern), text),
                    glob_matches(pattern, text),
                    "{pattern:?} on {text:?}"
                );
            }
        }
    }

    fn fetch(order: RowOrder, window: Window) -> Fetch {
        let query = Query {
            expr: None,
            span: 0..0,
        };
        let mut filter = Request::new(query, Viewer::Admin);
        filter.now = 0;
        Fetch {
            filter,
            residue: Residue {
                exact_public_email: Some("Luke@Example.com".into()),
                glob: Some("d*r".into()),
            },
            order,
            window,
            counts: Vec::new(),
        }
    }

    #[test]
    fn gitlab_relevance_and_keyset_statements() {
        let engine = Engine::default();
        let catalog = Snapshot::new(Model::default());
        let relevance = fetch_statement(
            &engine,
            &catalog,
            &fetch(
                RowOrder::Relevance("luke".into()),
                Window::Offset { skip: 20, top: 10 },
            ),
        )
        .expect("compiles");
        insta::assert_snapshot!("relevance", relevance.to_string());
        let keyset = fetch_statement(
            &engine,
            &catalog,
            &fetch(
                RowOrder::Gitlab {
                    key: GitlabKey::DisplayName,
                    desc: true,
                },
                Window::Keyset {
                    position: Position::AfterRow(7),
                    limit: 5,
                },
            ),
        )
        .expect("compiles");
        insta::assert_snapshot!("keyset_read_back", keyset.to_string());
        let refused = fetch_statement(
            &engine,
            &catalog,
            &fetch(
                RowOrder::Gitlab {
                    key: GitlabKey::LoweredLogin,
                    desc: false,
                },
                Window::Keyset {
                    position: Position::After(KeyValue::Text("a\0".into()), 1),
                    limit: 5,
                },
            ),
        );
        assert!(
            matches!(&refused, Err(Error::Unsupported(c)) if c.contains("NUL")),
            "{refused:?}"
        );
    }
}
