//! One request, whatever the dialect: the CLI's INPUT and options become the dialect's params and
//! go through `userql_dialects::answer`, so Hub queries take the same path as GitLab's.

use std::time::{Duration, Instant};

use userql_dialects::{answer, parse_query_string, to_hub, Answer, Call, Dialect, DialectError};
use userql_directory::Snapshot;
use userql_engine::{Engine, Explain, HubParams, Request, Viewer};
use userql_syntax::parse_skip;

use crate::args::RequestArgs;

/// Everything about a request except its INPUT; the REPL changes it with `:` commands.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The API.
    pub dialect: Dialect,
    /// Who asks.
    pub viewer: Viewer,
    /// Fixed clock (epoch ms); `None` = the system clock at each request.
    pub now: Option<i64>,
    /// Hub `fields`.
    pub fields: Option<String>,
    /// Hub `orderBy`.
    pub order_by: Option<String>,
    /// Hub `$skip`.
    pub skip: Option<String>,
    /// Hub `$top`.
    pub top: Option<String>,
}

impl From<&RequestArgs> for Settings {
    fn from(args: &RequestArgs) -> Self {
        Settings {
            dialect: args.dialect,
            viewer: args.viewer.clone(),
            now: args.now,
            fields: args.fields.clone(),
            order_by: args.order_by.clone(),
            skip: args.skip.clone(),
            top: args.top.clone(),
        }
    }
}

impl Settings {
    /// The clock for this request.
    pub fn now(&self) -> i64 {
        self.now
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis())
    }

    /// The Hub options that were set, as (param, value).
    fn hub_options(&self) -> Vec<(&'static str, &str)> {
        [
            ("fields", &self.fields),
            ("orderBy", &self.order_by),
            ("$skip", &self.skip),
            ("$top", &self.top),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
        .collect()
    }

    /// Whether Hub-only options were given for another dialect (they are ignored there).
    pub fn ignored_options(&self) -> Vec<&'static str> {
        if self.dialect == Dialect::Hub {
            return Vec::new();
        }
        let flags = [
            ("--fields", &self.fields),
            ("--order-by", &self.order_by),
            ("--skip", &self.skip),
            ("--top", &self.top),
        ];
        flags
            .into_iter()
            .filter(|(_, v)| v.is_some())
            .map(|(n, _)| n)
            .collect()
    }

    /// The request's params: Hub's `query` and options, or another API's decoded query string.
    pub fn params(&self, input: &str) -> Vec<(String, String)> {
        match self.dialect {
            Dialect::Hub => std::iter::once(("query", input))
                .chain(self.hub_options())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            _ => parse_query_string(input),
        }
    }

    /// Hub's REST parameters for the query `input` with the options that were set.
    pub fn hub_params<'a>(&'a self, input: &'a str) -> HubParams<'a> {
        HubParams {
            query: Some(input),
            order_by: self.order_by.as_deref(),
            skip: self.skip.as_deref(),
            top: self.top.as_deref(),
            fields: self.fields.as_deref(),
        }
    }

    /// The text an engine error's span points into: the option it is about, or the query.
    pub fn source_of<'a>(&'a self, error: &userql_engine::Error, input: &'a str) -> &'a str {
        let option = match error.field() {
            "orderBy" => &self.order_by,
            "$skip" => &self.skip,
            "$top" => &self.top,
            "fields" => &self.fields,
            _ => return input,
        };
        option.as_deref().unwrap_or(input)
    }

    /// The `$skip` in effect for Hub (for "rows a–b" in summaries); 0 when unset or invalid.
    pub fn hub_skip(&self) -> u64 {
        self.skip
            .as_deref()
            .and_then(|s| parse_skip(s).ok())
            .unwrap_or(0)
    }
}

/// Answers INPUT; also says how long the dialect took.
pub fn run(
    snapshot: &Snapshot,
    engine: &Engine,
    settings: &Settings,
    input: &str,
) -> (Answer, Duration) {
    let params = settings.params(input);
    let call = Call {
        dialect: settings.dialect,
        params,
        viewer: settings.viewer.clone(),
        now: settings.now(),
        engine,
        snapshot,
    };
    let started = Instant::now();
    let answer = answer(&call);
    (answer, started.elapsed())
}

/// The equivalent Hub query of a request in another dialect (`check`).
pub fn hub_form(
    snapshot: &Snapshot,
    engine: &Engine,
    settings: &Settings,
    input: &str,
) -> Result<String, DialectError> {
    let call = Call {
        dialect: settings.dialect,
        params: settings.params(input),
        viewer: settings.viewer.clone(),
        now: settings.now(),
        engine,
        snapshot,
    };
    to_hub(&call)
}

/// The plan of a request: it is answered through its dialect, and the engine request the answer
/// carries — the very tree the dialect built, never a printed form parsed again — is planned.
/// Hub: the query with its options, as the viewer. Other dialects: their filter, evaluated as an
/// administrator as the dialects do (their own ordering and paging are not part of the plan).
pub fn explain(
    snapshot: &Snapshot,
    engine: &Engine,
    settings: &Settings,
    input: &str,
) -> Result<Explain, String> {
    let (answer, _) = run(snapshot, engine, settings, input);
    if let Some(error) = &answer.error {
        return Err(crate::failure::diagnostic(error, input));
    }
    explain_answer(snapshot, engine, settings, &answer, input)
}

/// The plan of an answered request (see [`explain`]); an answer that evaluated no user filter
/// (ArcGIS group operations) plans the empty query.
pub fn explain_answer(
    snapshot: &Snapshot,
    engine: &Engine,
    settings: &Settings,
    answer: &Answer,
    input: &str,
) -> Result<Explain, String> {
    let request = answer.request.clone().unwrap_or_else(|| {
        let mut request = Request::new(
            userql_syntax::ast::Query {
                expr: None,
                span: 0..0,
            },
            Viewer::Admin,
        );
        request.now = settings.now();
        request
    });
    let source = if settings.dialect == Dialect::Hub {
        input.to_owned()
    } else {
        request.query.to_string()
    };
    engine
        .explain(snapshot, &request)
        .map(|(_, explain)| explain)
        .map_err(|e| crate::failure::render_engine_error(&e, &source))
}
