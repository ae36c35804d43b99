//! `userql serve`: the seed APIs over HTTP (README, "Serving the APIs over HTTP"), built on the
//! `userql` library exactly as an embedding server would use it: a [`userql::Store`] (in memory
//! or durable) answers every route through [`userql::Store::serve`]; this crate only moves bytes
//! and enforces the server's limits:
//!
//! - request bodies above [`Limits::max_body`]: 413 in the API's shape;
//! - more than [`Limits::max_inflight`] requests at once: 503 with `Retry-After`;
//! - a fixed pool of [`Limits::workers`] threads (one per core by default) fed by one queue
//!   answers requests, never the async workers, so a large batch or a slow query never stalls
//!   the accept loop, and abandoned work cannot pile up on an unbounded blocking pool;
//! - a request that runs past [`Limits::time_budget`] (waiting for a worker and reading its
//!   body included): 503 with `Retry-After` in the API's shape. The store's engine is given the
//!   same budget, so a search that is abandoned also stops; a request whose budget ran out
//!   while it waited for a worker is not started; a write already under way still completes,
//!   atomically, as a batch does;
//! - `/healthz` and `/metrics` (Prometheus text);
//! - one structured `tracing` line per request (method, route, status, microseconds, API);
//! - graceful shutdown: stop accepting, let requests in flight finish (at most
//!   [`SHUTDOWN_GRACE`]), return.
//!
//! [`run`] is the whole `userql serve` command (loading, tokens, runtime, signals); [`app`] and
//! [`serve`] are for embedding the adapter in tests or another binary.
#![deny(missing_docs)]

pub mod metrics;
mod pool;
mod run;

use pool::Pool;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use userql::{api_of, HttpRequest, HttpResponse, Refusal, Store};

pub use metrics::Metrics;
pub use run::{log_to_stderr, run, ServeError, ServeOptions};

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
    /// Time budget of one request (default 2 s). Give the store the same budget
    /// ([`userql::Options::time_budget`]) so that abandoned searches stop too.
    pub time_budget: Duration,
    /// Requests answered at once (default: one per core). More only adds contention: the
    /// work is CPU-bound.
    pub workers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 1 << 20,
            max_inflight: 256,
            time_budget: Duration::from_secs(2),
            workers: std::thread::available_parallelism().map_or(2, usize::from),
        }
    }
}

/// What every request shares.
struct Shared {
    store: Arc<Store>,
    limits: Limits,
    /// Admission: at most `max_inflight` requests past the door (queued or answered).
    inflight: Arc<Semaphore>,
    /// The threads that answer requests.
    pool: Pool,
    metrics: Metrics,
}

/// The axum application over a store (whose [`userql::Options::tokens`] say who may ask).
pub fn app(store: Arc<Store>, limits: Limits) -> Router {
    let shared = Arc::new(Shared {
        store,
        limits,
        inflight: Arc::new(Semaphore::new(limits.max_inflight.max(1))),
        pool: Pool::new(limits.workers),
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
    let status =
        StatusCode::from_u16(response.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers().to_vec();
    let mut out = Response::new(Body::from(response.into_body()));
    *out.status_mut() = status;
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

/// One request: operations routes, limits, then the service on the worker pool.
async fn handle(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response<Body> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let api = api_of(&path);
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len())
        .sum();
    let (route, response) = match path.as_str() {
        _ if header_bytes > MAX_HEADER_BYTES => (
            "headers too large",
            Refusal::HeadersTooLarge(MAX_HEADER_BYTES).response(&path),
        ),
        "/healthz" => ("GET /healthz", health(&shared)),
        "/metrics" => (
            "GET /metrics",
            shared.metrics.response(&shared.store.stats()),
        ),
        _ => match Arc::clone(&shared.inflight).try_acquire_owned() {
            Err(_) => {
                shared.metrics.overloaded();
                ("overloaded", Refusal::Overloaded.response(&path))
            }
            Ok(admitted) => {
                let deadline = started + shared.limits.time_budget;
                let answering = answer(&shared, &path, request, deadline, admitted);
                match tokio::time::timeout_at(deadline.into(), answering).await {
                    Ok(Some(routed)) => routed,
                    Ok(None) | Err(_) => {
                        shared.metrics.timed_out();
                        ("timed out", Refusal::TimedOut.response(&path))
                    }
                }
            }
        },
    };
    let elapsed = started.elapsed();
    let status = response.status();
    shared.metrics.record(route, status, elapsed);
    tracing::info!(
        method = method.as_str(),
        route,
        path = path.as_str(),
        status,
        micros = elapsed.as_micros() as u64,
        api,
        "request"
    );
    to_axum(response)
}

fn health(shared: &Shared) -> HttpResponse {
    let stats = shared.store.stats();
    let body = serde_json::json!({
        "status": "ok",
        "version": stats.version,
        "users": stats.users,
    });
    HttpResponse::new(200, "application/json", body.to_string())
}

/// Reads the body within the limit and answers on the worker pool. `None` when the deadline
/// passed before a worker took the request (it is then not started).
///
/// The admission permit moves into the job: a request abandoned at its deadline still counts
/// against `max_inflight` until its (engine-bounded) work ends, so neither the queue nor the
/// workers can be oversubscribed by abandoned requests.
async fn answer(
    shared: &Arc<Shared>,
    path: &str,
    request: Request<Body>,
    deadline: Instant,
    admitted: OwnedSemaphorePermit,
) -> Option<(&'static str, HttpResponse)> {
    let (parts, body) = request.into_parts();
    let max = shared.limits.max_body;
    let declared = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Some(("body too large", Refusal::BodyTooLarge(max).response(path)));
    }
    let Ok(body) = to_bytes(body, max).await else {
        return Some(("body too large", Refusal::BodyTooLarge(max).response(path)));
    };
    let store = Arc::clone(&shared.store);
    let job = shared.pool.run(move || {
        let _admitted = admitted;
        if Instant::now() >= deadline {
            return None;
        }
        let served = store.serve(&http_request(&parts, body.into()));
        Some((served.route(), served.into_response()))
    });
    match job.await {
        Some(answer) => answer,
        None => {
            tracing::error!("request handler failed");
            Some(("panicked", Refusal::Internal.response(path)))
        }
    }
}

/// The library's view of a request: method, target, the headers whose values are text, body.
fn http_request(parts: &axum::http::request::Parts, body: Vec<u8>) -> HttpRequest {
    let target = match parts.uri.path_and_query() {
        Some(target) => target.as_str(),
        None => parts.uri.path(),
    };
    let mut http = HttpRequest::new(parts.method.as_str(), target).body(body);
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            http = http.header(name.as_str(), value);
        }
    }
    http
}
