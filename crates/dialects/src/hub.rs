//! Hub's own REST request (`--dialect hub`): `query`, `fields`, `orderBy`, `$skip`, `$top` →
//! an engine [`Request`]; the body is Hub's `userPage`, a bad request is a 400 with
//! [`userql_engine::error_body`].
//!
//! The request is built by [`userql_engine::Engine::hub_request`]; option errors are engine
//! errors of kind `Option` whose span points into the option's own text, which is kept beside
//! the error for rendering. An unknown viewer login is answered 401 with the same error body.

use userql_engine::{Error, ErrorKind, HubParams, Request};
use userql_syntax::{format_order_by, parse_order_by};

use crate::http::{HttpResponse, JSON};
use crate::params::Params;
use crate::source::{Failure, RowSource, SourceError};
use crate::{Answer, Call, DialectError, Settings, Translated};

/// The Hub REST param an option error's `field()` names.
fn param_text<'a>(params: Params<'a>, error: &Error) -> &'a str {
    params.last(error.field()).unwrap_or_default()
}

/// A refused Hub request: 401 for an unknown viewer, else 400, with the engine's error body.
pub(crate) fn refuse(error: Error, source: &str) -> DialectError {
    let status = match error.kind {
        ErrorKind::UnknownViewer(_) => 401,
        _ => 400,
    };
    let body = userql_engine::error_body(&error);
    DialectError {
        response: HttpResponse::json(status, JSON, &body),
        message: error.to_string(),
        engine: Some(Box::new((error, source.to_string()))),
    }
}

/// A validated Hub request plus the texts needed to describe it.
struct Parsed {
    request: Request,
    query_text: String,
    /// The canonical form (filled once parsed).
    hub: String,
}

fn parse(call: &Call) -> Result<Parsed, DialectError> {
    let params = Params::new(&call.params);
    let hub_params = HubParams {
        query: params.last("query"),
        order_by: params.last("orderBy"),
        skip: params.last("$skip"),
        top: params.last("$top"),
        fields: params.last("fields"),
    };
    let query_text = params.last("query").unwrap_or_default().to_string();
    let request = call
        .engine
        .hub_request(&hub_params, call.viewer.clone(), call.now)
        .map_err(|e| {
            let source = param_text(params, &e).to_string();
            refuse(e, &source)
        })?;
    // Binding checks keys, values and the viewer's rights without evaluating.
    call.engine.bind(call.snapshot, &request).map_err(|mut e| {
        let source = param_text(params, &e).to_string();
        // A refused option (an `orderBy` on a private attribute) blames the whole option text.
        if e.field() != "query" && e.span.is_empty() {
            e.span = 0..source.len();
        }
        refuse(e, &source)
    })?;
    Ok(Parsed {
        request,
        query_text,
        hub: String::new(),
    })
}

fn describe(call: &Call, parsed: &Parsed) -> String {
    let request = &parsed.request;
    let order = if request.order.is_empty() {
        "login".to_string()
    } else {
        let keys: Vec<userql_syntax::OrderKey> = params_order(call);
        format_order_by(&keys)
    };
    let mut options = format!(
        "orderBy: {order}, $skip: {}, $top: {}",
        request.skip,
        call.engine.effective_top(request.top)
    );
    if let Some(fields) = &request.selection {
        options.push_str(&format!(", fields: {fields}"));
    }
    let query = request.query.to_string();
    if query.is_empty() {
        format!("[{options}]")
    } else {
        format!("{query}  [{options}]")
    }
}

fn params_order(call: &Call) -> Vec<userql_syntax::OrderKey> {
    Params::new(&call.params)
        .last("orderBy")
        .and_then(|t| parse_order_by(t).ok())
        .unwrap_or_default()
}

/// Hub's own REST options.
#[derive(Debug, Clone, Copy)]
pub struct HubApi;

impl crate::Api for HubApi {
    fn translate(
        &self,
        call: &Call,
        _settings: &Settings,
    ) -> Result<Box<dyn Translated>, DialectError> {
        let mut parsed = parse(call)?;
        parsed.hub = describe(call, &parsed);
        Ok(Box::new(parsed))
    }
}

impl Translated for Parsed {
    fn hub(&self) -> String {
        self.hub.clone()
    }

    fn answer<'a>(
        &self,
        _call: &Call<'a>,
        _settings: &Settings,
        source: &mut dyn RowSource<'a>,
    ) -> Result<Answer, Failure> {
        let rows = match source.hub(&self.request) {
            Ok(rows) => rows,
            Err(SourceError::Failure(failure)) => return Err(failure),
            Err(SourceError::Engine(error)) => {
                return Ok(Answer::refused(refuse(error, &self.query_text)))
            }
            Err(SourceError::CursorInvalid) => {
                return Err(Failure::Unsupported(
                    "a keyset cursor in a Hub request".into(),
                ))
            }
        };
        Ok(Answer {
            response: HttpResponse::json(200, JSON, &rows.body),
            ids: rows.ids,
            total: Some(rows.total),
            hub: Some(self.hub.clone()),
            error: None,
            visibility: rows.visibility,
            request: Some(self.request.clone()),
        })
    }
}

/// The canonical Hub form of the request.
pub fn to_hub(call: &Call) -> Result<String, DialectError> {
    crate::to_hub_with(call, &Settings::default())
}

/// Answers a Hub request.
pub fn answer(call: &Call) -> Answer {
    crate::answer_with(call, &Settings::default())
}
