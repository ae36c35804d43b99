//! The bounded loopback load generator behind the `loadgen` binary (issue 16): a prepared mix
//! of read and write requests ([`mix`]), keep-alive HTTP/1.1 connections that send them
//! ([`client`]), and the CPU each process took ([`cpu`]), so a report says how much of the
//! machine the client used next to the requests per second the server answered.
//!
//! The server is configured as `userql serve` configures it ([`store`], [`limits`]): the same
//! embedding API (`userql_server::app` over a [`userql::Store`]), tokens, fixed clock and the
//! engine's time budget equal to the server's.

pub mod client;
pub mod cpu;
pub mod mix;

use std::time::{Duration, Instant};

use userql::{Directory, HttpRequest, Options, Store, Tokens};
use userql_directory::generate::GEN_NOW_MS;
use userql_server::Limits;

pub use client::{run_phase, Phase, Samples};
pub use mix::{Mix, TOKEN};

/// The server's limits in a load run: the defaults, with room for every connection in flight.
pub fn limits() -> Limits {
    Limits {
        max_inflight: 1024,
        ..Limits::default()
    }
}

/// The generated directory (`users`, seed 42) in a store set up as `userql serve` sets it up.
pub fn store(users: usize) -> Store {
    let now = chrono::DateTime::from_timestamp_millis(GEN_NOW_MS).unwrap_or_default();
    Store::with_options(
        Directory::generate(users, 42),
        Options::default()
            .tokens(Tokens::admin(TOKEN))
            .now(now)
            .time_budget(limits().time_budget),
    )
}

/// Times each read route through `Store::serve` directly (one thread, no HTTP): at most 200
/// calls or 3 s per route. Returns the Markdown table.
pub fn profile(store: &Store, mix: &Mix) -> String {
    let mut out = String::from("\n### in process (Store::serve, one thread, no HTTP)\n\n");
    out.push_str("| route | calls | p50 ms | p99 ms | one core, req/s |\n|---|---|---|---|---|\n");
    let kinds = mix::READ_ROUTES as usize;
    for kind in 0..kinds {
        let mut times = Vec::new();
        let started = Instant::now();
        let mut label = "";
        for prepared in mix.reads().iter().skip(kind).step_by(kinds).take(200) {
            if started.elapsed() > Duration::from_secs(3) {
                break;
            }
            label = prepared.label;
            let request = HttpRequest::new(prepared.method, &prepared.target)
                .header("PRIVATE-TOKEN", TOKEN)
                .header("Authorization", &format!("Bearer {TOKEN}"));
            let sent = Instant::now();
            std::hint::black_box(store.serve(&request));
            times.push(sent.elapsed());
        }
        times.sort();
        let mean = times.iter().sum::<Duration>().as_secs_f64() / times.len().max(1) as f64;
        out.push_str(&format!(
            "| {label} | {} | {:.3} | {:.3} | {:.0} |\n",
            times.len(),
            percentile(&times, 0.50),
            percentile(&times, 0.99),
            if mean > 0.0 { 1.0 / mean } else { 0.0 }
        ));
    }
    out
}

/// The CPU time spent during one phase, measured from `/proc` before and after it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// The server process's CPU time; in an in-process run, the whole process's (server and
    /// client together).
    pub server: Option<Duration>,
    /// The client process's CPU time; `None` when the client shares the server's process.
    pub client: Option<Duration>,
}

/// The `p`-quantile of sorted latencies, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// One phase as a Markdown section: per route, requests, failures, requests/s, p50 and p99;
/// then the CPU each process took, per request and as a share of the wall-clock time.
pub fn report(title: &str, samples: Samples, elapsed: Duration, cpu: CpuUse) -> String {
    let seconds = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    let mut out = format!("\n### {title}\n\n");
    out.push_str("| route | requests | errors (5xx/io) | req/s | p50 ms | p99 ms |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    let mut everything = Vec::new();
    for (label, (mut times, errors)) in samples {
        times.sort();
        out.push_str(&format!(
            "| {label} | {} | {errors} | {:.0} | {:.2} | {:.2} |\n",
            times.len(),
            times.len() as f64 / seconds,
            percentile(&times, 0.50),
            percentile(&times, 0.99)
        ));
        everything.extend(times);
    }
    everything.sort();
    let total = everything.len();
    out.push_str(&format!(
        "| **all** | {total} | | **{:.0}** | {:.2} | {:.2} |\n\n",
        total as f64 / seconds,
        percentile(&everything, 0.50),
        percentile(&everything, 0.99)
    ));
    let share = |name: &str, time: Option<Duration>| match time {
        Some(time) => format!(
            "{name} CPU {:.1} s ({:.0} % of one core, {:.0} µs per request)",
            time.as_secs_f64(),
            100.0 * time.as_secs_f64() / seconds,
            1e6 * time.as_secs_f64() / total.max(1) as f64
        ),
        None => format!("{name} CPU unknown"),
    };
    let server = if cpu.client.is_some() {
        "server"
    } else {
        "process (server and client)"
    };
    out.push_str(&format!("({:.1} s; {}", seconds, share(server, cpu.server)));
    if cpu.client.is_some() {
        out.push_str(&format!("; {}", share("client", cpu.client)));
    }
    out.push_str(")\n");
    out
}
