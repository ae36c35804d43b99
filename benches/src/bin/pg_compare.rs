//! PostgreSQL as a peer (`spec/sql.md`, `spec/benchmark.md`): generates the benchmark directory,
//! loads it into a throwaway cluster tuned for bulk loading (timed, step by step), checks that
//! PostgreSQL returns userql's counts and first pages for queries a–l and userql's whole answers
//! for the dialect rows, then times both and prints a markdown report with the database size and
//! the indexes (and sequential scans) in each statement's `EXPLAIN (ANALYZE, BUFFERS)`.
//!
//! `cargo run --release -p userql-benches --bin pg_compare -- --users 100000 [--reps 10] [--plans]`

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use userql_benches::measure::{format_mib, format_ms, repeat, Samples};
use userql_benches::peers::postgres::PostgresPeer;
use userql_benches::peers::userql::UserqlPeer;
use userql_benches::peers::Peer;
use userql_benches::workload::{cases, pick_values, Case, DIALECT_CASES};
use userql_benches::BenchError;
use userql_dialects::{answer, parse_query_string, Call, Dialect};
use userql_directory::generate::{generate, GenOptions, GEN_NOW_MS};
use userql_engine::{Engine, Viewer};
use userql_pg::cluster::{Cluster, Setting};
use userql_pg::{Backend, Schema};

/// The benchmark cluster's settings on top of the test cluster's (`fsync`, `synchronous_commit`
/// and `full_page_writes` off): memory for index builds and the `access` table's `DISTINCT`,
/// no checkpoints during the load, and `wal_level = minimal`, under which `COPY` into tables
/// created in the loading transaction and the index builds write no WAL. A throwaway cluster
/// only; the test clusters keep PostgreSQL's defaults.
const BENCH_SETTINGS: [Setting<'static>; 10] = [
    ("shared_buffers", "2GB"),
    ("work_mem", "256MB"),
    ("maintenance_work_mem", "1GB"),
    ("max_parallel_maintenance_workers", "2"),
    ("wal_level", "minimal"),
    ("max_wal_senders", "0"),
    ("max_wal_size", "16GB"),
    ("checkpoint_timeout", "1h"),
    ("effective_cache_size", "8GB"),
    ("autovacuum", "off"),
];

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
    /// PostgreSQL's `statement_timeout` for every benchmark statement, in ms: a statement that
    /// takes longer is reported as timed out and the run goes on.
    #[arg(long, default_value_t = 60_000)]
    statement_timeout_ms: u64,
    /// Use PostgreSQL's default memory and WAL settings (the test cluster's) instead of the
    /// benchmark's.
    #[arg(long)]
    default_settings: bool,
    /// Also print every statement with its full plan.
    #[arg(long)]
    plans: bool,
}

fn pg(e: impl std::fmt::Display) -> BenchError {
    BenchError::Postgres(e.to_string())
}

/// The first word after `marker` on a plan line.
fn name_after<'p>(line: &'p str, marker: &str) -> Option<&'p str> {
    let at = line.find(marker)?;
    line[at + marker.len()..].split_whitespace().next()
}

fn push_new(list: &mut Vec<String>, name: Option<&str>) {
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        if !list.iter().any(|x| x == name) {
            list.push(name.to_owned());
        }
    }
}

/// The indexes a plan reads (`Index Scan using X`, `Index Only Scan using X`, `Bitmap Index
/// Scan on X`) and the tables it scans sequentially (`Seq Scan on T`), each deduplicated.
fn plan_access(plan: &str) -> (Vec<String>, Vec<String>) {
    let (mut indexes, mut scans) = (Vec::new(), Vec::new());
    for line in plan.lines() {
        if line.contains("Index") {
            push_new(
                &mut indexes,
                name_after(line, " using ").or_else(|| name_after(line, "Index Scan on ")),
            );
        }
        push_new(&mut scans, name_after(line, "Seq Scan on "));
    }
    (indexes, scans)
}

/// The plan column: indexes, then `seq: tables` when any table is read whole.
fn plan_cell(plan: &str) -> String {
    let (indexes, scans) = plan_access(plan);
    let mut cell = if indexes.is_empty() {
        "(no index)".to_owned()
    } else {
        indexes.join(", ")
    };
    if !scans.is_empty() {
        let _ = write!(cell, "; seq: {}", scans.join(", "));
    }
    cell
}

/// Whether PostgreSQL cancelled a statement at `statement_timeout`.
fn timed_out(error: &BenchError) -> bool {
    matches!(error, BenchError::Postgres(m) if m.contains("statement timeout"))
}

/// Times `op` like [`repeat`], `None` when a run hits the statement timeout.
fn timed<T>(
    args: &Args,
    op: impl FnMut() -> Result<T, BenchError>,
) -> Result<Option<Samples>, BenchError> {
    match repeat(args.reps, 3, Duration::from_millis(args.budget_ms), op) {
        Ok((samples, _)) => Ok(Some(samples)),
        Err(e) if timed_out(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `median / p99`, or the timeout.
fn cell(samples: &Option<Samples>, timeout_ms: u64) -> String {
    match samples {
        Some(s) => format!("{} / {}", format_ms(s.median()), format_ms(s.p99())),
        None => format!("> {timeout_ms} (timeout)"),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The largest relations of the schema (table with its indexes and TOAST), for the size line.
fn sizes(backend: &mut Backend) -> Result<String, BenchError> {
    let rows = backend
        .client()
        .query(
            "SELECT c.relname::text, pg_total_relation_size(c.oid), pg_relation_size(c.oid)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind = 'r'
             ORDER BY 2 DESC LIMIT 6",
            &[],
        )
        .map_err(pg)?;
    let parts: Vec<String> = rows
        .iter()
        .map(|r| {
            let (name, total, heap): (String, i64, i64) = (r.get(0), r.get(1), r.get(2));
            format!(
                "`{name}` {} (heap {})",
                format_mib(u64::try_from(total).unwrap_or(0)),
                format_mib(u64::try_from(heap).unwrap_or(0))
            )
        })
        .collect();
    Ok(parts.join(", "))
}

/// One Hub query: checked against userql, timed on both, its page statement explained.
fn hub_row(
    args: &Args,
    case: &Case,
    postgres: &mut PostgresPeer,
    userql: &mut UserqlPeer,
    plans: &mut String,
) -> Result<String, BenchError> {
    let expected = userql.count(case)?;
    let expected_page = userql.page(case)?;
    let checked = match (postgres.count(case), postgres.page(case)) {
        (Ok(count), Ok(page)) => {
            if count != expected || page != expected_page {
                return Err(BenchError::Mismatch(format!(
                    "query {}: postgres {count} rows, page {page:?}; userql {expected} rows, page {expected_page:?}",
                    case.letter
                )));
            }
            true
        }
        (Err(e), _) | (_, Err(e)) if timed_out(&e) => false,
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let (pg_count, pg_page) = if checked {
        (
            timed(args, || postgres.count(case))?,
            timed(args, || postgres.page(case))?,
        )
    } else {
        (None, None)
    };
    let budget = Duration::from_millis(args.budget_ms);
    let (uq_count, _) = repeat(args.reps, 3, budget, || userql.count(case))?;
    let (uq_page, _) = repeat(args.reps, 3, budget, || userql.page(case))?;
    let plan_column = match postgres.explain(case) {
        Ok((statement, plan)) => {
            let _ = writeln!(
                plans,
                "#### {} `{}`\n```\n{statement}\n{plan}\n```\n",
                case.letter, case.hub
            );
            plan_cell(&plan)
        }
        Err(e) if timed_out(&e) => "(EXPLAIN ANALYZE timed out)".to_owned(),
        Err(e) => return Err(e),
    };
    Ok(format!(
        "| {} | {} | {} | {} | {} / {} | {} |",
        case.letter,
        expected,
        cell(&pg_count, args.statement_timeout_ms),
        cell(&pg_page, args.statement_timeout_ms),
        format_ms(uq_count.median()),
        format_ms(uq_page.median()),
        plan_column
    ))
}

/// One dialect row: PostgreSQL's whole answer (status, headers, body, ids, total) checked equal
/// to the in-memory one, both timed, each statement explained.
fn dialect_row(
    args: &Args,
    (letter, name, query_string): (&str, &str, &str),
    postgres: &mut PostgresPeer,
    userql: &UserqlPeer,
    plans: &mut String,
) -> Result<String, BenchError> {
    let dialect = if name == "tfe" {
        Dialect::Tfe
    } else {
        Dialect::Gitlab
    };
    let engine = Engine::default();
    let call = Call {
        dialect,
        params: parse_query_string(query_string),
        viewer: Viewer::Admin,
        now: GEN_NOW_MS,
        engine: &engine,
        snapshot: userql.snapshot(),
    };
    let expected = answer(&call);
    let label = format!("{letter} | {name} `{query_string}`");
    let got = match postgres.dialect(dialect, query_string) {
        Ok(got) => got,
        Err(e) if timed_out(&e) => {
            return Ok(format!(
                "| {label} | {} | > {} (timeout) | | |",
                expected.total.unwrap_or(0),
                args.statement_timeout_ms
            ))
        }
        Err(e) => return Err(e),
    };
    if got.response != expected.response || got.ids != expected.ids || got.total != expected.total {
        return Err(BenchError::Mismatch(format!(
            "{name} `{query_string}`: postgres {} {:?} total {:?}; userql {} {:?} total {:?}",
            got.response.status,
            got.ids,
            got.total,
            expected.response.status,
            expected.ids,
            expected.total
        )));
    }
    let pg_answer = timed(args, || postgres.dialect(dialect, query_string))?;
    let budget = Duration::from_millis(args.budget_ms);
    let (uq_answer, _) = repeat::<_, BenchError>(args.reps, 3, budget, || Ok(answer(&call)))?;
    let mut cells = Vec::new();
    for (statement, plan) in postgres.dialect_explain(dialect, query_string)? {
        let _ = writeln!(
            plans,
            "#### {name} `{query_string}`\n```\n{statement}\n{plan}\n```\n"
        );
        cells.push(plan_cell(&plan));
    }
    Ok(format!(
        "| {label} | {} | {} | {} | {} / {} | {} |",
        expected.total.unwrap_or(0),
        expected.ids.len(),
        cell(&pg_answer, args.statement_timeout_ms),
        format_ms(uq_answer.median()),
        format_ms(uq_answer.p99()),
        cells.join(" // ")
    ))
}

fn run(args: &Args) -> Result<String, BenchError> {
    let mut out = String::new();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let _ = writeln!(out, "### PostgreSQL peer, {} users\n", args.users);
    let _ = writeln!(out, "`{command}`\n");
    let _ = writeln!(out, "Load average at start: {}.\n", load_average());
    let model = Arc::new(generate(&GenOptions {
        users: args.users,
        seed: args.seed,
    }));
    let values = pick_values(&model);
    let workload = cases(&model, &values);
    let mut userql = UserqlPeer::build(Arc::clone(&model));
    let settings: &[Setting<'_>] = if args.default_settings {
        &[]
    } else {
        &BENCH_SETTINGS
    };
    let cluster = Cluster::start_with(settings).map_err(pg)?;
    let mut client = userql_pg::connect(&cluster.url()).map_err(pg)?;
    let started = Instant::now();
    let report = userql_pg::load(&mut client, &Schema::default(), &model).map_err(pg)?;
    let load_time = started.elapsed();
    let load_avg = load_average();
    let size: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .map_err(pg)?
        .get(0);
    let mut backend = Backend::on(client, Schema::default()).map_err(pg)?;
    backend
        .client()
        .batch_execute(&format!(
            "SET statement_timeout = {}",
            args.statement_timeout_ms
        ))
        .map_err(pg)?;
    let largest = sizes(&mut backend)?;
    let mut postgres = PostgresPeer::new(backend, Arc::clone(userql.snapshot()));
    let settings_text: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(
        out,
        "Server settings: fsync=off, synchronous_commit=off, full_page_writes=off{}{}.\n",
        if settings_text.is_empty() { "" } else { ", " },
        settings_text.join(", ")
    );
    let _ = writeln!(
        out,
        "Load ({} users, one transaction): {:.1} s (load average after: {load_avg}); database size {}; largest: {largest}.\n",
        report.users,
        load_time.as_secs_f64(),
        format_mib(u64::try_from(size).unwrap_or(0))
    );
    let steps: Vec<String> = report
        .phases
        .iter()
        .filter(|(_, d)| d.as_millis() >= 50)
        .map(|(name, d)| format!("{name} {:.1} s", d.as_secs_f64()))
        .collect();
    let _ = writeln!(out, "Load steps (≥ 0.05 s): {}.\n", steps.join("; "));
    let _ = writeln!(
        out,
        "| # | rows | pg count median / p99 | pg page median / p99 | userql count / page median | page statement's plan: indexes; seq: tables read whole |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---|");
    let mut plans = String::new();
    for case in &workload {
        eprintln!("query {}", case.letter);
        let row = hub_row(args, case, &mut postgres, &mut userql, &mut plans)?;
        let _ = writeln!(out, "{row}");
    }
    let _ = writeln!(
        out,
        "\nDialect rows (administrator; one statement computes the total and the first page, so one \
         timing covers both; the answer includes reading the page's users back and rendering the API's body):\n"
    );
    let _ = writeln!(
        out,
        "| q | request | total | page rows | pg answer median / p99 | userql answer median / p99 | statement's plan |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---|");
    for &case in &DIALECT_CASES {
        eprintln!("dialect {} {}", case.1, case.2);
        let row = dialect_row(args, case, &mut postgres, &userql, &mut plans)?;
        let _ = writeln!(out, "{row}");
    }
    let _ = writeln!(out, "\nLoad average at the end: {}.\n", load_average());
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
