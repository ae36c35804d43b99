//! Embed userql in an axum server: every GitLab, TFE, ArcGIS and Hub route — searches, single
//! users and writes — answered from one live directory, with the viewer resolved from the
//! request's token by the application. (`Store::serve` resolves API tokens itself instead, as
//! `userql serve` does.)
//!
//! ```sh
//! cargo run -p userql --example axum_handler
//! curl -H 'PRIVATE-TOKEN: admin-token' 'http://127.0.0.1:3000/api/v4/users?search=luke'
//! curl 'http://127.0.0.1:3000/hub/api/rest/users/queryAssist?query=has:%202&caret=6'
//! curl -X POST -H 'PRIVATE-TOKEN: admin-token' 'http://127.0.0.1:3000/api/v4/users/7/block'
//! ```
//! `USERQL_LISTEN` changes the address (port 0 picks a free port).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, Response, Uri};
use userql::{Directory, HttpRequest, Store, Viewer};

/// The application's own token table; a real server would ask its session store.
fn viewer_of(headers: &HeaderMap) -> Viewer {
    let token = headers
        .get("private-token")
        .or_else(|| headers.get("authorization"))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_start_matches("Bearer ").to_owned());
    match token.as_deref() {
        Some("admin-token") => Viewer::admin(),
        Some("luke-token") => Viewer::login("luke"),
        _ => Viewer::anonymous(),
    }
}

/// One handler for every route: userql routes the path itself.
async fn answer(
    State(store): State<Arc<Store>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<String> {
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    let viewer = viewer_of(request.headers());
    // Each answer reads one version of the directory; a write returns once its batch is
    // applied. (Answering is CPU work: a busy server runs it off the async workers, as
    // `userql serve` does.)
    store.handle(&HttpRequest::from(&request), &viewer).into()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tiny.json");
    let store = Arc::new(Store::new(Directory::open(path)?));
    let app = axum::Router::new().fallback(answer).with_state(store);
    let address = std::env::var("USERQL_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
