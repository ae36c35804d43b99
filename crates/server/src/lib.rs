//! `userql serve`: the seed APIs over HTTP (README, "Serving the APIs over HTTP"), as a thin
//! axum/tokio adapter around [`userql_dialects::route::Service`], which does all the routing, authentication and
//! answering. This crate only moves bytes and enforces the server's limits:
//!
//! - request bodies above [`Limits::max_body`]: 413 in the API's shape;
//! - more than [`Limits::max_inflight`] requests at once: 503 with `Retry-After`;
//! - a request that runs past [`Limits::time_budget`] (reading its body included): 503 with
//!   `Retry-After` in the API's shape; the answer is abandoned (a write that was already under
//!   way still completes, atomically, as a batch does);
//! - every request is answered on the blocking pool (`spawn_blocking`), never on the async
//!   workers, so a large batch or a slow query never stalls the accept loop;
//! - `/healthz` and `/metrics` (Prometheus text);
//! - one structured `tracing` line per request (method, route, status, microseconds, API);
//! - graceful shutdown: stop accepting, let requests in flight finish (at most
//!   [`SHUTDOWN_GRACE`]), return.
//!
//! [`run`] is the whole `userql serve` command (loading, tokens, runtime, signals); [`app`] and
//! [`serve`] are for embedding the adapter in tests or another binary.
#![deny(missing_docs)]

pub mod metrics;
mod run;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use userql_dialects::route::{self, refusal, Api, Service};
use userql_dialects::HttpResponse;

pub use metrics::Metrics;
pub use run::{run, ServeError, ServeOptions};

/// The most header bytes (names and values) a request may carry: 431 above it. Hyper's own
/// limit (about 400 KiB) is far above what any of the APIs' clients send.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// How long shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The server's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body, in bytes (default 1 MiB).
    pub max_body: usize,
    /// Most requests in flight at once (default 256).
    pub max_inflight: usize,
    /// Time budget of one request (default 2 s).
    pub time_budget: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 1 << 20,
            max_inflight: 256,
            time_budget: Duration::from_secs(2),
        }
    }
}

/// What every request shares.
struct Shared {
    service: Arc<Service>,
    limits: Limits,
    inflight: Semaphore,
    metrics: Metrics,
}

/// The axum application over a service.
pub fn app(service: Arc<Service>, limits: Limits) -> Router {
    let shared = Arc::new(Shared {
        service,
        limits,
        inflight: Semaphore::new(limits.max_inflight),
        metrics: Metrics::default(),
    });
    Router::new().fallback(handle).with_state(shared)
}

/// Serves `app` on `listener` until `shutdown` completes, then waits at most
/// [`SHUTDOWN_GRACE`] for requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop_rx.await;
    });
    let mut server = std::pin::pin!(std::future::IntoFuture::into_future(server));
    tokio::select! {
        result = &mut server => return result,
        () = shutdown => {}
    }
    let _ = stop_tx.send(());
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!("requests still in flight after the shutdown grace period");
            Ok(())
        }
    }
}

/// Turns the router's response into axum's.
fn to_axum(response: HttpResponse) -> Response<Body> {
    let mut out = Response::new(Body::from(response.body));
    *out.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

/// One request: operations routes, limits, then the service on the blocking pool.
async fn handle(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response<Body> {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let api = Api::of_path(&path);
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len())
        .sum();
    let (route, response) = match path.as_str() {
        _ if header_bytes > MAX_HEADER_BYTES => (
            "headers too large",
            refusal::refusal(
                api,
                431,
                &format!("the request headers exceed {MAX_HEADER_BYTES} bytes"),
            ),
        ),
        "/healthz" => ("GET /healthz", health(&shared)),
        "/metrics" => (
            "GET /metrics",
            HttpResponse::new(
                200,
                "text/plain; version=0.0.4",
                shared.metrics.render(shared.service.store()),
            ),
        ),
        _ => match shared.inflight.try_acquire() {
            Err(_) => {
                shared.metrics.overloaded();
                ("overloaded", refusal::overloaded(api))
            }
            Ok(_permit) => {
                let budget = shared.limits.time_budget;
                match tokio::time::timeout(budget, answer(&shared, request)).await {
                    Ok(routed) => routed,
                    Err(_) => {
                        shared.metrics.timed_out();
                        ("timed out", refusal::timeout(api))
                    }
                }
            }
        },
    };
    let elapsed = started.elapsed();
    shared.metrics.record(route, response.status, elapsed);
    tracing::info!(
        method = %method,
        route,
        path = %path,
        status = response.status,
        micros = elapsed.as_micros() as u64,
        api = api.as_str(),
        "request"
    );
    to_axum(response)
}

fn health(shared: &Shared) -> HttpResponse {
    let snapshot = shared.service.store().snapshot();
    HttpResponse::json(
        200,
        "application/json",
        &serde_json::json!({
            "status": "ok",
            "version": snapshot.version,
            "users": snapshot.model.users.len(),
        }),
    )
}

/// Reads the body within the limit and answers on the blocking pool.
async fn answer(shared: &Arc<Shared>, request: Request<Body>) -> (&'static str, HttpResponse) {
    let (parts, body) = request.into_parts();
    let api = Api::of_path(parts.uri.path());
    let max = shared.limits.max_body;
    let declared = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return ("body too large", refusal::too_large(api, max));
    }
    let Ok(body) = to_bytes(body, max).await else {
        return ("body too large", refusal::too_large(api, max));
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let service = Arc::clone(&shared.service);
    let work = tokio::task::spawn_blocking(move || {
        let routed = service.handle(&route::Request {
            method: &method,
            path: &path,
            query: &query,
            headers: &headers,
            body: &body,
        });
        (routed.route, routed.response)
    });
    match work.await {
        Ok(answer) => answer,
        Err(error) => {
            tracing::error!(%error, "request handler failed");
            (
                "panicked",
                refusal::refusal(api, 500, "internal server error"),
            )
        }
    }
}
