//! Times building every index over a generated directory and prints what each index costs per
//! user (the `:stats` table), plus the resident memory of the model and of the indexes.
//!
//! ```sh
//! cargo run --release -p userql-directory --example build_cost -- 1000000 [REPETITIONS]
//! ```

/// mimalloc, as the `userql` binary uses by default (`--features example-mimalloc`).
#[cfg(feature = "example-mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use userql_directory::footprint;
use userql_directory::generate::{generate, GenOptions};
use userql_directory::index::{Indexes, SortKey};

/// Resident set size of this process in bytes (Linux; 0 elsewhere).
fn resident() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) this process has used so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The model's side of the per-user table: each component's heap bytes and allocations.
fn print_model_footprint(model: &userql_directory::model::Model, users: usize) {
    println!(
        "size_of: User {} B, user slot {} B",
        std::mem::size_of::<userql_directory::model::User>(),
        std::mem::size_of::<Option<std::sync::Arc<userql_directory::model::User>>>()
    );
    println!(
        "{:<28}{:>12}{:>12}{:>10}{:>10}",
        "model part", "allocations", "MiB", "B/user", "allocs/u"
    );
    let parts = footprint::user_footprint(model);
    let per_user = |n: u64| n as f64 / users.max(1) as f64;
    for part in &parts {
        println!(
            "{:<28}{:>12}{:>12.1}{:>10.1}{:>10.2}",
            part.name,
            part.allocations,
            mib(part.bytes),
            per_user(part.bytes),
            per_user(part.allocations)
        );
    }
    let (allocations, bytes) = parts
        .iter()
        .fold((0, 0), |(a, b), p| (a + p.allocations, b + p.bytes));
    println!(
        "{:<28}{:>12}{:>12.1}{:>10.1}{:>10.2}",
        "total",
        allocations,
        mib(bytes),
        per_user(bytes),
        per_user(allocations)
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let users: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let repetitions: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let before = resident();
    let started = Instant::now();
    let model = generate(&GenOptions { users, seed: 42 });
    let after_model = resident();
    println!(
        "generate {users} users: {:.2?}, model resident {:.1} MiB",
        started.elapsed(),
        mib(after_model - before)
    );
    print_model_footprint(&model, users);
    let mut index = Indexes::default();
    for _ in 0..repetitions {
        drop(index);
        let start_rss = resident();
        let started = Instant::now();
        let cpu = cpu_seconds();
        let (built, jobs) = Indexes::build_timed(&model);
        index = built;
        println!(
            "build: {:.2?} wall, {:.2} CPU s, indexes resident {:.1} MiB",
            started.elapsed(),
            cpu_seconds() - cpu,
            mib(resident().saturating_sub(start_rss))
        );
        let jobs: Vec<String> = jobs
            .iter()
            .map(|(job, seconds)| format!("{job} {seconds:.2}"))
            .collect();
        println!("  jobs (s): {}", jobs.join(", "));
    }
    let started = Instant::now();
    let _ = index.order(SortKey::Login, false);
    println!("login order: {:.2?}", started.elapsed());
    let stats = index.stats();
    let total: u64 = stats.iter().map(|s| s.bytes).sum();
    println!(
        "{:<28}{:>12}{:>12}{:>10}",
        "index", "entries", "MiB", "B/user"
    );
    for s in &stats {
        println!(
            "{:<28}{:>12}{:>12.1}{:>10.1}",
            s.name,
            s.entries,
            mib(s.bytes),
            s.bytes as f64 / users.max(1) as f64
        );
    }
    println!(
        "{:<28}{:>12}{:>12.1}{:>10.1}",
        "total",
        "",
        mib(total),
        total as f64 / users.max(1) as f64
    );
    println!(
        "process resident: {:.1} MiB (model + indexes)",
        mib(resident())
    );
}
