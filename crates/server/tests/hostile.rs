//! Hostile traffic against the adapter, over real sockets (`serve.md` "Limits"): malformed and
//! percent-encoded paths, huge headers and bodies, unknown tokens, slow clients, too many
//! requests in flight. Each gets the right refusal and the server keeps serving.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use userql::{Directory, Options, Store, Tokens, Viewer};
use userql_server::{app, serve, Limits};

const ADMIN: &str = "admin-token";

/// Starts a server on a free port with these limits; it runs until the test process ends.
fn start(limits: Limits) -> SocketAddr {
    let mut tokens = Tokens::admin(ADMIN);
    tokens.insert("ghost-token", Viewer::login("nobody-by-this-login"));
    let now = chrono::DateTime::from_timestamp_millis(1_781_524_800_000).expect("a valid instant");
    let store = Store::with_options(
        Directory::generate(60, 7),
        Options::default().tokens(tokens).now(now),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            let _ = serve(
                listener,
                app(Arc::new(store), limits),
                std::future::pending(),
            )
            .await;
        });
    });
    rx.recv().expect("the server starts")
}

/// Sends raw bytes, reads until the server closes; returns (status, whole response text).
fn exchange(addr: SocketAddr, raw: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    // The server may close early (a refused huge header): a failed write is part of the answer.
    let _ = stream.write_all(raw);
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn get(addr: SocketAddr, target: &str, extra: &str) -> (u16, String) {
    exchange(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n").as_bytes(),
    )
}

fn body_of(response: &str) -> &str {
    response.split("\r\n\r\n").nth(1).unwrap_or("")
}

fn small_limits() -> Limits {
    Limits {
        max_body: 1024,
        max_inflight: 64,
        time_budget: Duration::from_millis(500),
        ..Limits::default()
    }
}

#[test]
fn malformed_and_percent_encoded_paths() {
    let addr = start(small_limits());
    let admin = format!("PRIVATE-TOKEN: {ADMIN}\r\n");
    let (status, text) = get(addr, "/api/v4/users/%zz", &admin);
    assert_eq!(status, 404, "{text}");
    assert_eq!(body_of(&text), r#"{"message":"malformed path"}"#);
    let (status, text) = get(addr, "/api/v4/users/%FF%FE", &admin);
    assert_eq!(status, 404, "{text}");
    let (status, text) = get(addr, "/api/v4/users/%31", &admin);
    assert_eq!(status, 200, "{text}");
    assert!(body_of(&text).starts_with(r#"{"id":1,"#), "{text}");
    let (status, text) = get(addr, "/api%2Fv4/users", &admin);
    assert_eq!(status, 404, "{text}");
    let (status, text) = get(addr, &format!("/{}", "a/".repeat(200)), &admin);
    assert_eq!(status, 404, "{text}");
    let (status, text) = get(addr, "/api/v4/users/1/../../users", &admin);
    assert_eq!(status, 404, "{text}");
    let (status, text) = get(addr, "/api/v4/nothing-here", &admin);
    assert_eq!(status, 404);
    assert_eq!(body_of(&text), r#"{"error":"404 Not Found"}"#);
    // The server is still fine.
    assert_eq!(get(addr, "/healthz", "").0, 200);
}

#[test]
fn huge_headers_and_bodies_are_refused() {
    let addr = start(small_limits());
    let huge = format!("X-Filler: {}\r\n", "a".repeat(100_000));
    let (status, text) = get(addr, "/api/v4/users", &huge);
    assert_eq!(status, 431, "{text}");
    assert!(body_of(&text).contains("headers exceed"), "{text}");
    // Past hyper's own buffer the connection is refused before routing: 431 or closed.
    let enormous = format!("X-Filler: {}\r\n", "a".repeat(1_000_000));
    let (status, _) = get(addr, "/api/v4/users", &enormous);
    assert!(status == 431 || status == 0, "{status}");
    let body = "x".repeat(4096);
    let (status, text) = exchange(
        addr,
        format!(
            "POST /api/v4/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\nPRIVATE-TOKEN: {ADMIN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(status, 413, "{text}");
    assert!(body_of(&text).starts_with(r#"{"message":"413"#), "{text}");
    // Chunked, no declared length: still cut at the limit.
    let chunk = "y".repeat(2048);
    let (status, text) = exchange(
        addr,
        format!(
            "POST /api/v2/admin/users/u-1/actions/suspend HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {ADMIN}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
            chunk.len()
        )
        .as_bytes(),
    );
    assert_eq!(status, 413, "{text}");
    assert!(body_of(&text).contains(r#""errors""#), "{text}");
    assert_eq!(get(addr, "/healthz", "").0, 200);
}

#[test]
fn unknown_tokens_get_each_apis_refusal() {
    let addr = start(small_limits());
    let (status, text) = get(addr, "/api/v4/users", "PRIVATE-TOKEN: nope\r\n");
    assert_eq!(
        (status, body_of(&text)),
        (401, r#"{"message":"401 Unauthorized"}"#)
    );
    let (status, text) = get(addr, "/api/v4/user", "PRIVATE-TOKEN: ghost-token\r\n");
    assert_eq!(
        (status, body_of(&text)),
        (401, r#"{"message":"401 Unauthorized"}"#)
    );
    let (status, text) = get(
        addr,
        "/api/v2/admin/users",
        "Authorization: Bearer nope\r\n",
    );
    assert_eq!(status, 401);
    assert!(body_of(&text).contains(r#""status":"401""#), "{text}");
    let (status, text) = get(
        addr,
        "/portaladmin/security/users/searchEnterpriseUsers?f=json&token=nope",
        "",
    );
    assert_eq!(status, 200);
    assert!(body_of(&text).contains(r#""code":498"#), "{text}");
    let (status, _) = get(
        addr,
        "/hub/api/rest/users",
        "Authorization: Bearer nope\r\n",
    );
    assert_eq!(status, 401);
}

#[test]
fn a_slow_client_neither_blocks_others_nor_holds_forever() {
    let addr = start(small_limits());
    // Half a request line, then silence.
    let mut stalled = TcpStream::connect(addr).expect("connect");
    stalled.write_all(b"GET /api/v4/us").expect("write");
    // A body that never arrives in full: answered within the time budget with the API's 503.
    let (status, text) = exchange(
        addr,
        format!(
            "PUT /api/v4/users/1 HTTP/1.1\r\nHost: x\r\nPRIVATE-TOKEN: {ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"bio\":"
        )
        .as_bytes(),
    );
    assert_eq!(status, 503, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text}"
    );
    assert!(body_of(&text).starts_with(r#"{"message":"503"#), "{text}");
    let (status, _) = get(addr, "/api/v4/users?username=x", "");
    assert_eq!(status, 200);
    drop(stalled);
}

#[test]
fn too_many_requests_in_flight_get_503_with_retry_after() {
    let addr = start(Limits {
        max_body: 1024,
        max_inflight: 1,
        time_budget: Duration::from_secs(3),
        ..Limits::default()
    });
    // Holds the only permit while its body trickles in.
    let mut holder = TcpStream::connect(addr).expect("connect");
    holder
        .write_all(
            format!("PUT /api/v4/users/1 HTTP/1.1\r\nHost: x\r\nPRIVATE-TOKEN: {ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{{").as_bytes(),
        )
        .expect("write");
    std::thread::sleep(Duration::from_millis(300));
    let (status, text) = get(
        addr,
        "/api/v2/admin/users",
        &format!("Authorization: Bearer {ADMIN}\r\n"),
    );
    assert_eq!(status, 503, "{text}");
    assert!(text.to_ascii_lowercase().contains("retry-after"), "{text}");
    assert!(body_of(&text).contains(r#""errors""#), "{text}");
    drop(holder);
    // Health and metrics are never refused.
    let (status, text) = get(addr, "/metrics", "");
    assert_eq!(status, 200);
    assert!(text.contains("userql_refused_overload_total 1"), "{text}");
}
