//! The comparison harness: userql vs SQLite vs SQLite FTS5 vs a linear scan on benchmark.md's
//! workload. Prints a markdown report; exits 1 if the peers disagree on any answer.
//!
//! `cargo run --release -p userql-benches --bin compare -- --users 1000000 [--reps N] [--seed 42]
//! [--out FILE] [--scaling]`

use std::fmt::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use userql_benches::extras::{dialects, parse_throughput, update_throughput};
use userql_benches::harness::{compare, Comparison, RunOptions};
use userql_benches::report;
use userql_benches::BenchError;

/// Compare userql with its peers on the benchmark workload (spec/benchmark.md).
#[derive(Debug, Parser)]
struct Args {
    /// Users to generate.
    #[arg(long, default_value_t = 1_000_000)]
    users: usize,
    /// Timed repetitions per query, peer and kind (after one warm-up run).
    #[arg(long, default_value_t = 10)]
    reps: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also write the report to this file.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Also run 10k and 100k users (sizes below --users) and report query time growth.
    #[arg(long)]
    scaling: bool,
    /// Time budget per query, peer and kind, in ms (at least 3 repetitions are always run).
    #[arg(long, default_value_t = 3000)]
    budget_ms: u64,
    /// Most single-user updates to apply in the update benchmark.
    #[arg(long, default_value_t = 50)]
    updates: usize,
    /// Time budget of the update benchmark, in seconds.
    #[arg(long, default_value_t = 20)]
    update_secs: u64,
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown", str::trim)
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1} GiB", kib as f64 / 1048576.0),
        );
    format!("{cpus} CPUs (nproc), {model}, {memory} RAM")
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn run(args: &Args) -> Result<String, BenchError> {
    let mut out = String::new();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let _ = writeln!(out, "# userql comparison ({} users)\n", args.users);
    let _ = writeln!(
        out,
        "- date: {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(out, "- machine: {}", machine());
    let _ = writeln!(out, "- load average at start: {}", load());
    let _ = writeln!(out, "- command: `{command}`");
    let options = |users| RunOptions {
        users,
        seed: args.seed,
        reps: args.reps,
        budget: Duration::from_millis(args.budget_ms),
    };

    let mut smaller: Vec<Comparison> = Vec::new();
    if args.scaling {
        for users in [10_000, 100_000].into_iter().filter(|&n| n < args.users) {
            eprintln!("scaling run: {users} users");
            smaller.push(compare(&options(users))?.0);
        }
    }
    eprintln!("main run: {} users", args.users);
    let (comparison, setup) = compare(&options(args.users))?;
    let _ = writeln!(out, "- load average after the query runs: {}\n", load());

    let _ = writeln!(
        out,
        "## Queries (median / p99 in ms; all peers returned the same counts and first pages)\n"
    );
    out.push_str(&report::query_table(&comparison));
    out.push('\n');
    out.push_str(&report::query_list(&comparison));
    let _ = writeln!(
        out,
        "\n## First page with its total (SQLite's page statement after its COUNT(*))\n"
    );
    out.push_str(&report::page_with_count_table(&comparison));
    if let Some((letter, count, page)) = report::slowest_userql(&comparison) {
        let _ = writeln!(
            out,
            "\nSlowest userql query: {letter} (count {} ms, first page {} ms median).",
            userql_benches::measure::format_ms(count),
            userql_benches::measure::format_ms(page)
        );
    }
    let _ = writeln!(out, "\n## Build\n");
    out.push_str(&report::build_table(&comparison));

    eprintln!("parse throughput");
    let parse = parse_throughput(&setup.cases, Duration::from_secs(2));
    let _ = writeln!(out, "\n## Parse\n\n{}", report::parse_line(&parse));

    eprintln!("dialects");
    let dialect_results = dialects(
        setup.userql.snapshot(),
        args.reps,
        Duration::from_millis(args.budget_ms),
    );
    let _ = writeln!(out, "\n## Dialects (as admin)\n");
    out.push_str(&report::dialect_table(&dialect_results));

    let reader = setup
        .cases
        .iter()
        .find(|c| c.letter == 'e')
        .cloned()
        .ok_or_else(|| BenchError::Update("no query e".to_owned()))?;
    let model = std::sync::Arc::clone(&setup.model);
    drop(setup);
    eprintln!("updates");
    let updates = update_throughput(
        &model,
        &reader,
        args.updates,
        Duration::from_secs(args.update_secs),
    )?;
    let _ = writeln!(
        out,
        "\n## Updates\n\n{}",
        report::update_line(&updates, reader.letter)
    );

    if !smaller.is_empty() {
        smaller.push(comparison);
        let _ = writeln!(out, "\n## Scaling (count medians in ms)\n");
        out.push_str(&report::scaling_table(&smaller));
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            print!("{report}");
            if let Some(path) = &args.out {
                if let Err(e) = std::fs::write(path, &report) {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
