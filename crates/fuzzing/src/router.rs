//! Target `router`: the server's whole routing layer ([`userql_dialects::route::Service`]) on
//! arbitrary method, path, query, headers and body.

use userql_dialects::route::{Clock, Request, Service, ServiceOptions, Tokens};
use userql_dialects::Settings;
use userql_directory::generate::GEN_NOW_MS;
use userql_directory::Store;
use userql_engine::{Engine, Options, Viewer};

use crate::fixture;

/// Methods the first byte picks from (the last is not one HTTP knows).
const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "BREW",
];

/// Content types the second byte picks from.
const CONTENT_TYPES: [&str; 4] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "application/vnd.api+json",
    "text/plain",
];

/// Input: byte 0 picks the method and the credential (admin, a non-admin login, an unknown
/// token, none); byte 1 the content type; then the target (`path?query`) up to the first
/// newline, and the body after it. A fresh live store per input, so writes are exercised too.
/// The service must answer without panicking, with a status a server can send, and a write's
/// effect must leave a directory that still answers reads.
pub fn router(data: &[u8]) {
    let [selector, content, rest @ ..] = data else {
        return;
    };
    let text = crate::text(rest);
    let (target, body) = text.split_once('\n').unwrap_or((&text, ""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let method = METHODS[usize::from(*selector) % METHODS.len()];
    let mut tokens = Tokens::admin("admin");
    let user = fixture::snapshot()
        .model
        .users
        .records()
        .find(|u| !u.admin)
        .map(|u| u.login.clone())
        .unwrap_or_default();
    tokens.insert("user", Viewer::Login(user.into()));
    let token = ["admin", "user", "unknown", ""][usize::from(*selector) / METHODS.len() % 4];
    let mut headers = vec![(
        "Content-Type".to_string(),
        CONTENT_TYPES[usize::from(*content) % CONTENT_TYPES.len()].to_string(),
    )];
    if !token.is_empty() {
        headers.push(("Authorization".into(), format!("Bearer {token}")));
        headers.push(("PRIVATE-TOKEN".into(), token.into()));
    }
    let service = Service::new(
        std::sync::Arc::new(Store::new((*fixture::snapshot().model).clone())),
        ServiceOptions {
            tokens,
            settings: Settings::default(),
            clock: Clock::Fixed(GEN_NOW_MS),
            engine: Engine::new(Options::default()),
        },
    );
    let request = Request {
        method,
        path,
        query,
        headers: &headers,
        body: body.as_bytes(),
    };
    let routed = service.handle(&request);
    let status = routed.response.status;
    assert!(
        (200..600).contains(&status),
        "{method} {target:?}: status {status}"
    );
    assert!(!routed.route.is_empty());
    // Whatever the request did, the directory still answers.
    let after = service.handle(&Request {
        method: "GET",
        path: "/api/v4/users",
        query: "per_page=5",
        headers: &[("PRIVATE-TOKEN".to_string(), "admin".to_string())],
        body: b"",
    });
    assert_eq!(
        after.response.status, 200,
        "{method} {target:?} broke reads"
    );
}
