//! A bounded loopback load generator for `userql serve` (issue 16).
//!
//! By default it runs the server in a **separate process** (this binary again, with `--serve`):
//! the child generates a directory (`--users`, seed 42), sets up the store and logging as
//! `userql serve` does (one JSON log line per request, to `--server-log`, discarded by default),
//! times each read route in process (`Store::serve`, no HTTP), listens on `127.0.0.1:0` (the
//! address is never configurable: traffic stays on loopback) and serves until its standard
//! input closes. The parent drives it with `--connections` keep-alive HTTP/1.1 connections on a
//! `--client-threads` runtime, sending prepared requests. Each phase sends at most `--requests`
//! requests and runs at most `--seconds` seconds, whichever comes first, then stops by itself.
//! Two phases: reads alone, then reads with `--write-percent` writes (GitLab `PUT /users/:id`
//! setting `bio`, block and unblock). Per phase it prints, per route, requests, requests/s and
//! p50 / p99 latency, and the CPU time the server and the client each took (from `/proc`), so
//! the reader sees how much of the shared cores the client used.
//!
//! `--in-process` runs server and client in one process and one runtime instead (the setup of
//! the first four runs in `benches/RESULTS.md`, without the log line).
//!
//! `cargo build --release -p userql-benches --bin loadgen && target/release/loadgen --users 1000000`

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use userql_benches::loadgen::{self, cpu, CpuUse, Mix, Phase};
use userql_server::{app, serve};

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
    /// Threads of the client's runtime (separate-process runs).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Server and client in one process and one runtime (no request log).
    #[arg(long)]
    in_process: bool,
    /// File for the server's request log (separate-process runs); default: discarded.
    #[arg(long)]
    server_log: Option<PathBuf>,
    /// Internal: be the server process.
    #[arg(long, hide = true)]
    serve: bool,
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("loadgen: {message}");
    std::process::exit(1);
}

fn runtime(threads: Option<usize>) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        builder.worker_threads(threads.max(1));
    }
    builder
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("cannot start the runtime: {e}")))
}

/// Builds the store and prints the setup and the in-process profile.
fn prepare(users: usize, mix: &Mix) -> userql::Store {
    let started = Instant::now();
    let store = loadgen::store(users);
    eprintln!(
        "generated and indexed {users} users in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let limits = loadgen::limits();
    println!(
        "users: {users}, workers: {}, max in flight: {}, time budget: {:?}",
        limits.workers, limits.max_inflight, limits.time_budget
    );
    println!("{}", loadgen::profile(&store, mix));
    store
}

/// A listener on a free loopback port, and its address.
async fn bind_loopback() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| fail(format!("cannot bind 127.0.0.1:0: {e}")));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| fail(format!("no local address: {e}")));
    (listener, addr)
}

/// The server process: serves until standard input closes.
fn serve_role(args: &Args) {
    userql_server::log_to_stderr();
    let store = prepare(args.users, &Mix::new(args.users));
    runtime(None).block_on(async {
        let (listener, addr) = bind_loopback().await;
        println!("listening on {addr}");
        let _ = std::io::stdout().flush();
        let stdin_closed = async {
            let _ = tokio::task::spawn_blocking(|| {
                std::io::copy(&mut std::io::stdin(), &mut std::io::sink())
            })
            .await;
        };
        if let Err(e) = serve(
            listener,
            app(Arc::new(store), loadgen::limits()),
            stdin_closed,
        )
        .await
        {
            fail(format!("serving failed: {e}"));
        }
    });
}

/// Starts the server process and waits for its address, echoing its report lines.
fn spawn_server(args: &Args) -> (Child, SocketAddr) {
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(format!("no executable: {e}")));
    let log = match &args.server_log {
        Some(path) => Stdio::from(
            std::fs::File::create(path)
                .unwrap_or_else(|e| fail(format!("cannot create {}: {e}", path.display()))),
        ),
        None => Stdio::null(),
    };
    let mut child = Command::new(exe)
        .args(["--serve", "--users", &args.users.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| fail(format!("cannot start the server process: {e}")));
    let Some(stdout) = child.stdout.take() else {
        stop(child, "no server output")
    };
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else {
            stop(child, "cannot read the server's output")
        };
        if let Some(addr) = line.strip_prefix("listening on ") {
            match addr.parse::<SocketAddr>() {
                Ok(addr) if addr.ip().is_loopback() => return (child, addr),
                _ => stop(child, format!("bad or non-loopback server address {addr}")),
            }
        }
        println!("{line}");
    }
    stop(child, "the server process stopped before listening")
}

/// Stops the server process, then this one, with `message`.
fn stop(mut child: Child, message: impl std::fmt::Display) -> ! {
    let _ = child.kill();
    let _ = child.wait();
    fail(message)
}

/// Runs both phases against `addr`; `server_pid` = `None` when the server is this process.
async fn drive(args: &Args, addr: SocketAddr, server_pid: Option<u32>) {
    println!(
        "users: {}, connections: {}, per phase: at most {} requests or {} s, server: {}",
        args.users,
        args.connections,
        args.requests,
        args.seconds,
        if server_pid.is_some() {
            "separate process"
        } else {
            "in this process"
        }
    );
    let mix = Arc::new(Mix::new(args.users));
    for write_percent in [0, args.write_percent] {
        let phase = Phase {
            connections: args.connections,
            requests: args.requests,
            duration: Duration::from_secs(args.seconds),
            write_percent,
        };
        let before = (cpu::cpu_time(server_pid), cpu::cpu_time(None));
        let (samples, elapsed) = loadgen::run_phase(addr, Arc::clone(&mix), phase).await;
        let after = (cpu::cpu_time(server_pid), cpu::cpu_time(None));
        let delta = |a: Option<Duration>, b: Option<Duration>| Some(b?.saturating_sub(a?));
        let cpu = CpuUse {
            server: delta(before.0, after.0),
            client: server_pid.and_then(|_| delta(before.1, after.1)),
        };
        let title = match write_percent {
            0 => format!("reads only ({} connections)", args.connections),
            n => format!("reads with {n} % writes ({} connections)", args.connections),
        };
        println!("{}", loadgen::report(&title, samples, elapsed, cpu));
    }
}

fn main() {
    let args = Args::parse();
    if args.serve {
        return serve_role(&args);
    }
    if !args.in_process {
        let (mut child, addr) = spawn_server(&args);
        runtime(Some(args.client_threads)).block_on(drive(&args, addr, Some(child.id())));
        // Closing its standard input stops the server.
        drop(child.stdin.take());
        let _ = child.wait();
        return;
    }
    let store = prepare(args.users, &Mix::new(args.users));
    runtime(None).block_on(async {
        let (listener, addr) = bind_loopback().await;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            app(Arc::new(store), loadgen::limits()),
            async {
                let _ = stop_rx.await;
            },
        ));
        drive(&args, addr, None).await;
        let _ = stop_tx.send(());
        let _ = server.await;
    });
}
