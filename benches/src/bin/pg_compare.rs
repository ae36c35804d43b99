//! PostgreSQL as a peer (`spec/sql.md`, `spec/benchmark.md`): generates the benchmark directory,
//! loads it into a throwaway cluster (timed), checks that PostgreSQL returns userql's counts and
//! first pages for queries a–l, then times both and prints a markdown report with the database
//! size and each statement's `EXPLAIN (ANALYZE, BUFFERS)` index use.
//!
//! `cargo run --release -p userql-benches --bin pg_compare -- --users 100000 [--reps 10] [--plans]`

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use userql_benches::measure::{format_mib, format_ms, repeat};
use userql_benches::peers::postgres::PostgresPeer;
use userql_benches::peers::userql::UserqlPeer;
use userql_benches::peers::Peer;
use userql_benches::workload::{cases, pick_values};
use userql_benches::BenchError;
use userql_directory::generate::{generate, GenOptions};
use userql_pg::cluster::Cluster;
use userql_pg::{Backend, Schema};

/// Compare userql with PostgreSQL on the benchmark workload.
#[derive(Debug, Parser)]
struct Args {
    /// Users in the generated directory.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Timed repetitions per query and kind (after one warm-up run).
    #[arg(long, default_value_t = 10)]
    reps: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Time budget per query and kind, in ms (at least 3 repetitions are always run).
    #[arg(long, default_value_t = 3000)]
    budget_ms: u64,
    /// Also print every statement with its full plan.
    #[arg(long)]
    plans: bool,
}

fn pg(e: impl std::fmt::Display) -> BenchError {
    BenchError::Postgres(e.to_string())
}

/// The indexes a plan reads (`Index Scan using X`, `Bitmap Index Scan on X`, …), deduplicated.
fn indexes_used(plan: &str) -> Vec<String> {
    let mut used: Vec<String> = Vec::new();
    for line in plan.lines() {
        for marker in [" using ", "Index Scan on "] {
            if let Some(at) = line.find(marker) {
                let name = line[at + marker.len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_owned();
                if line.contains("Index") && !name.is_empty() && !used.contains(&name) {
                    used.push(name);
                }
            }
        }
    }
    used
}

fn run(args: &Args) -> Result<String, BenchError> {
    let mut out = String::new();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let _ = writeln!(out, "### PostgreSQL peer, {} users\n", args.users);
    let _ = writeln!(out, "`{command}`\n");
    let model = Arc::new(generate(&GenOptions {
        users: args.users,
        seed: args.seed,
    }));
    let values = pick_values(&model);
    let workload = cases(&model, &values);
    let mut userql = UserqlPeer::build(Arc::clone(&model));
    let cluster = Cluster::start().map_err(pg)?;
    let mut client = userql_pg::connect(&cluster.url()).map_err(pg)?;
    let started = Instant::now();
    let report = userql_pg::load(&mut client, &Schema::default(), &model).map_err(pg)?;
    let load_time = started.elapsed();
    let size: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .map_err(pg)?
        .get(0);
    let backend = Backend::on(client, Schema::default()).map_err(pg)?;
    let mut postgres = PostgresPeer::new(backend, Arc::clone(userql.snapshot()));
    let _ = writeln!(
        out,
        "Load ({} users, one transaction: COPY, indexes, ANALYZE): {:.1} s; database size {}.\n",
        report.users,
        load_time.as_secs_f64(),
        format_mib(u64::try_from(size).unwrap_or(0))
    );
    let _ = writeln!(
        out,
        "| # | rows | pg count median / p99 | pg page median / p99 | userql count / page median | indexes in the page statement's plan |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---|");
    let budget = Duration::from_millis(args.budget_ms);
    let mut plans = String::new();
    for case in &workload {
        let count = postgres.count(case)?;
        let expected = userql.count(case)?;
        let page = postgres.page(case)?;
        let expected_page = userql.page(case)?;
        if count != expected || page != expected_page {
            return Err(BenchError::Mismatch(format!(
                "query {}: postgres {count} rows, page {page:?}; userql {expected} rows, page {expected_page:?}",
                case.letter
            )));
        }
        let (pg_count, _) = repeat(args.reps, 3, budget, || postgres.count(case))?;
        let (pg_page, _) = repeat(args.reps, 3, budget, || postgres.page(case))?;
        let (uq_count, _) = repeat(args.reps, 3, budget, || userql.count(case))?;
        let (uq_page, _) = repeat(args.reps, 3, budget, || userql.page(case))?;
        let (statement, plan) = postgres.explain(case)?;
        let used = indexes_used(&plan);
        let _ = writeln!(
            out,
            "| {} | {} | {} / {} | {} / {} | {} / {} | {} |",
            case.letter,
            count,
            format_ms(pg_count.median()),
            format_ms(pg_count.p99()),
            format_ms(pg_page.median()),
            format_ms(pg_page.p99()),
            format_ms(uq_count.median()),
            format_ms(uq_page.median()),
            if used.is_empty() {
                "(sequential scan)".to_owned()
            } else {
                used.join(", ")
            }
        );
        let _ = writeln!(
            plans,
            "#### {} `{}`\n```\n{statement}\n{plan}\n```\n",
            case.letter, case.hub
        );
    }
    let _ = writeln!(
        out,
        "\nDialect rows (GitLab `search=smi`, `active=true&two_factor=enabled`, …; TFE `q=smi&filter[suspended]=false`): \
         refused by the PostgreSQL backend (it answers the Hub dialect only), so not measured.\n"
    );
    if args.plans {
        out.push_str(&plans);
    }
    drop(postgres);
    drop(cluster);
    Ok(out)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pg_compare: {e}");
            ExitCode::FAILURE
        }
    }
}
