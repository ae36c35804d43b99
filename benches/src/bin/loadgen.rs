//! A bounded loopback load generator for `userql serve` (issue 16).
//!
//! It generates a directory (`--users`, seed 42), starts the server in this process on
//! `127.0.0.1:0` (the address is never configurable: traffic stays on loopback), and drives it
//! with `--connections` keep-alive HTTP/1.1 connections. Each phase sends at most `--requests`
//! requests and runs at most `--seconds` seconds, whichever comes first, then stops by itself.
//! Two phases: reads alone, then reads with `--write-percent` writes (GitLab `PUT /users/:id`
//! setting `bio`, and block/unblock through `POST /users/:id/block|unblock`). It prints, per
//! route, the requests, requests/s and p50 / p99 latency as a Markdown table.
//!
//! Before the HTTP phases it times each read route in process (`Store::serve`, one thread, no
//! HTTP), so the report separates the engine's cost per request from the server's overhead.
//!
//! `cargo run --release -p userql-benches --bin loadgen -- --users 1000000`

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use userql::{Directory, HttpRequest, Options, Store, Tokens};
use userql_directory::generate::GEN_NOW_MS;
use userql_server::{app, serve, Limits};

const TOKEN: &str = "loadgen-admin";

#[derive(Debug, Parser)]
#[command(about = "Bounded loopback load generator for userql serve")]
struct Args {
    /// Users in the generated directory.
    #[arg(long, default_value_t = 1_000_000)]
    users: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Most requests per phase.
    #[arg(long, default_value_t = 200_000)]
    requests: u64,
    /// Most seconds per phase.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Percentage of writes in the mixed phase.
    #[arg(long, default_value_t = 5)]
    write_percent: u64,
}

/// A representative request: its label and the raw request bytes.
#[derive(Clone)]
struct Route {
    label: &'static str,
    method: &'static str,
    target: String,
    body: Option<String>,
}

fn reads(users: usize, i: u64) -> Route {
    let n = (i.wrapping_mul(2_654_435_761) % users as u64) + 1;
    let routes = [
        ("gitlab list active", "/api/v4/users?active=true&per_page=20".to_string()),
        ("gitlab list search", format!("/api/v4/users?search=user{}&per_page=20", n % 1000)),
        ("gitlab get by id", format!("/api/v4/users/{n}")),
        ("tfe list q", format!("/api/v2/admin/users?q=user{}&page%5Bsize%5D=20", n % 1000)),
        ("hub query", "/hub/api/rest/users?query=has%3A%202FA%20and%20not%20is%3A%20banned&%24top=20".to_string()),
        ("arcgis search", format!("/portaladmin/security/users/searchEnterpriseUsers?filter=user{}&maxCount=20&f=json&token={TOKEN}", n % 100)),
    ];
    let (label, target) = routes[(i % routes.len() as u64) as usize].clone();
    Route {
        label,
        method: "GET",
        target,
        body: None,
    }
}

fn write(users: usize, i: u64) -> Route {
    let n = (i.wrapping_mul(40_503) % users as u64) + 1;
    match i % 3 {
        0 => Route {
            label: "gitlab PUT user (write)",
            method: "PUT",
            target: format!("/api/v4/users/{n}"),
            body: Some(format!("{{\"bio\":\"load {i}\"}}")),
        },
        1 => Route {
            label: "gitlab block (write)",
            method: "POST",
            target: format!("/api/v4/users/{n}/block"),
            body: None,
        },
        _ => Route {
            label: "gitlab unblock (write)",
            method: "POST",
            target: format!("/api/v4/users/{n}/unblock"),
            body: None,
        },
    }
}

/// Sends one request on a keep-alive connection and reads the whole response; returns the status.
async fn exchange(
    stream: &mut TcpStream,
    route: &Route,
    buf: &mut Vec<u8>,
) -> std::io::Result<u16> {
    let body = route.body.as_deref().unwrap_or("");
    let head = format!(
        "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nPRIVATE-TOKEN: {TOKEN}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        route.method,
        route.target,
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    buf.clear();
    let mut chunk = [0u8; 16384];
    let header_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(status)
}

type Samples = BTreeMap<&'static str, (Vec<Duration>, u64)>;

/// Times each read route through `Store::serve` directly: at most 200 calls or 3 s per route.
fn profile(store: &Store, users: usize) {
    println!("\n### in process (Store::serve, one thread, no HTTP)\n");
    println!("| route | calls | p50 ms | p99 ms | one core, req/s |");
    println!("|---|---|---|---|---|");
    let kinds = 6;
    for kind in 0..kinds {
        let mut times = Vec::new();
        let started = Instant::now();
        let mut label = "";
        for call in 0..200u64 {
            if started.elapsed() > Duration::from_secs(3) {
                break;
            }
            let route = reads(users, call * kinds + kind);
            label = route.label;
            let request = HttpRequest::new(route.method, &route.target)
                .header("PRIVATE-TOKEN", TOKEN)
                .header("Authorization", &format!("Bearer {TOKEN}"));
            let sent = Instant::now();
            let served = store.serve(&request);
            times.push(sent.elapsed());
            std::hint::black_box(served);
        }
        times.sort();
        let mean = times.iter().sum::<Duration>().as_secs_f64() / times.len().max(1) as f64;
        println!(
            "| {label} | {} | {:.3} | {:.3} | {:.0} |",
            times.len(),
            percentile(&times, 0.50),
            percentile(&times, 0.99),
            if mean > 0.0 { 1.0 / mean } else { 0.0 }
        );
    }
}

/// One phase: `connections` workers share a request counter; each stops at the count or deadline.
async fn phase(addr: std::net::SocketAddr, args: &Args, write_percent: u64) -> (Samples, Duration) {
    let counter = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let counter = Arc::clone(&counter);
        let (users, limit) = (args.users, args.requests);
        workers.push(tokio::spawn(async move {
            let mut samples: Samples = BTreeMap::new();
            let Ok(mut stream) = TcpStream::connect(addr).await else {
                return samples;
            };
            let _ = stream.set_nodelay(true);
            let mut buf = Vec::with_capacity(65536);
            loop {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                if i >= limit || Instant::now() >= deadline {
                    break;
                }
                let route = if write_percent > 0 && i % 100 < write_percent {
                    write(users, i)
                } else {
                    reads(users, i)
                };
                let sent = Instant::now();
                let status = exchange(&mut stream, &route, &mut buf).await;
                let entry = samples.entry(route.label).or_default();
                match status {
                    Ok(s) if s < 500 => entry.0.push(sent.elapsed()),
                    _ => {
                        entry.1 += 1;
                        if status.is_err() {
                            match TcpStream::connect(addr).await {
                                Ok(s) => stream = s,
                                Err(_) => break,
                            }
                        }
                    }
                }
            }
            samples
        }));
    }
    let mut all: Samples = BTreeMap::new();
    for worker in workers {
        if let Ok(samples) = worker.await {
            for (label, (times, errors)) in samples {
                let entry = all.entry(label).or_default();
                entry.0.extend(times);
                entry.1 += errors;
            }
        }
    }
    (all, started.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn report(title: &str, samples: Samples, elapsed: Duration) {
    println!("\n### {title}\n");
    println!("| route | requests | errors (5xx/io) | req/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    let mut total = 0usize;
    let mut everything = Vec::new();
    for (label, (mut times, errors)) in samples {
        times.sort();
        total += times.len();
        println!(
            "| {label} | {} | {errors} | {:.0} | {:.2} | {:.2} |",
            times.len(),
            times.len() as f64 / elapsed.as_secs_f64(),
            percentile(&times, 0.50),
            percentile(&times, 0.99)
        );
        everything.extend(times);
    }
    everything.sort();
    println!(
        "| **all** | {total} | | **{:.0}** | {:.2} | {:.2} |",
        total as f64 / elapsed.as_secs_f64(),
        percentile(&everything, 0.50),
        percentile(&everything, 0.99)
    );
    println!("\n({:.1} s)", elapsed.as_secs_f64());
}

fn main() {
    let args = Args::parse();
    let started = Instant::now();
    let limits = Limits {
        max_inflight: 1024,
        ..Limits::default()
    };
    let now = chrono::DateTime::from_timestamp_millis(GEN_NOW_MS).unwrap_or_default();
    // The server's configuration, as `userql serve` sets it: tokens, clock, and the engine's
    // time budget equal to the server's.
    let store = Store::with_options(
        Directory::generate(args.users, 42),
        Options::default()
            .tokens(Tokens::admin(TOKEN))
            .now(now)
            .time_budget(limits.time_budget),
    );
    eprintln!(
        "generated and indexed {} users in {:.1} s",
        args.users,
        started.elapsed().as_secs_f64()
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("loadgen: cannot bind 127.0.0.1:0: {e}");
                std::process::exit(1);
            }
        };
        let Ok(addr) = listener.local_addr() else {
            std::process::exit(1);
        };
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        println!(
            "users: {}, workers: {}, max in flight: {}, time budget: {:?}",
            args.users, limits.workers, limits.max_inflight, limits.time_budget
        );
        profile(&store, args.users);
        let server = tokio::spawn(serve(listener, app(Arc::new(store), limits), async {
            let _ = stop_rx.await;
        }));
        println!(
            "users: {}, connections: {}, per phase: at most {} requests or {} s",
            args.users, args.connections, args.requests, args.seconds
        );
        let (samples, elapsed) = phase(addr, &args, 0).await;
        report("reads only", samples, elapsed);
        let (samples, elapsed) = phase(addr, &args, args.write_percent).await;
        report(
            &format!("reads with {} % writes", args.write_percent),
            samples,
            elapsed,
        );
        let _ = stop_tx.send(());
        let _ = server.await;
    });
}
