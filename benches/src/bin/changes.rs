//! The changes workload (benchmark.md, section Changes): userql's live store vs SQLite applying
//! the same seeded change stream. Prints a markdown report.
//!
//! `cargo run --release -p userql-benches --bin changes -- --users 1000000 --changes 2000`

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use userql_benches::changes::{
    kind_of, large_group, reader_idle, sqlite_stream, userql_batches, userql_stream, writer_only,
    PerKind, ReadTrace, StreamRun, Tuning,
};
use userql_benches::extras::update_throughput;
use userql_benches::measure::{format_ms, resident_bytes, Samples};
use userql_benches::report::update_line;
use userql_benches::workload::{cases, pick_values};
use userql_directory::changes::Change;
use userql_directory::generate::{generate, generate_changes, GenOptions};
use userql_directory::model::Model;
use userql_directory::store::{Backpressure, Replay};

/// The changes benchmark.
#[derive(Debug, Parser)]
struct Args {
    /// Users to generate.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Changes in the stream.
    #[arg(long, default_value_t = 2_000)]
    changes: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Batch size of the batched run.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Skip SQLite.
    #[arg(long)]
    no_sqlite: bool,
    /// Only the writer's per-batch cost: single-change batches with no reader and no index
    /// rebuild (for profiling).
    #[arg(long)]
    writer_only: bool,
    /// Only the batched run (batches of `--batch`, no reader): for profiling the batched path.
    #[arg(long)]
    batched_only: bool,
    /// Rows re-checked one by one before the store compacts (default: the store's default for
    /// the directory's size, `StoreOptions::for_users`).
    #[arg(long)]
    max_dirty: Option<u64>,
    /// Compact on the writer's path (`StoreOptions::background` false) instead of a
    /// background thread: on two cores the reader then keeps a core to itself.
    #[arg(long)]
    foreground: bool,
    /// Keep only the changes of this kind (a row name of the per-kind table, e.g. `touch`,
    /// `membership delete`, `grant put (group)`). Works for every kind: a change that the
    /// filtered stream would refuse out of context (a membership put in a group the stream
    /// created, a delete of a membership a dropped put made, a user the stream added) is left
    /// out, decided by replaying the filtered stream on the model alone before the run.
    #[arg(long)]
    only: Option<String>,
    /// Only the comparison harness's update benchmark (`compare --updates`): this many
    /// single-user 2FA updates through `Store::apply` (at most 20 s) while a reader answers
    /// query e, without the rest of the harness.
    #[arg(long)]
    store_updates: Option<usize>,
}

/// The changes of kind `only`, less those refused once the other kinds are gone: the filtered
/// stream is replayed change by change on the model alone ([`Replay`]: the store's checks,
/// no indexes) and a refused change is dropped, so every kept change applies in the run.
fn only_kind(model: &Model, changes: Vec<Change>, only: &str) -> Vec<Change> {
    let mut replay = Replay::new(model.clone(), 0);
    let before = changes.len();
    let kept: Vec<Change> = changes
        .into_iter()
        .filter(|change| kind_of(change) == only)
        .filter(|change| replay.apply_changes(std::slice::from_ref(change)).is_ok())
        .collect();
    eprintln!(
        "--only {only:?}: {} of {before} changes kept (of that kind and accepted without the others)",
        kept.len()
    );
    kept
}

fn table(title: &str, per_kind: &PerKind) -> String {
    // The batches/s rate is changes over the stream's wall time: the per-kind means (not the
    // medians) add up to it, less what runs outside the timed applies (the harness). The large
    // group's grants come after the stream: they have no share of it.
    let timed: Duration = per_kind
        .times
        .iter()
        .filter(|(kind, _)| !large_group::is_large(kind))
        .flat_map(|(_, times)| times)
        .sum();
    let mut out = format!(
        "\n### {title}: {:.0} single-change batches/s ({} changes in {:.2} s; {:.2} s inside the timed applies, mean {} ms)\n\n| kind | n | median ms | mean ms | p99 ms | max ms | share of applied time |\n|---|---|---|---|---|---|---|\n",
        per_kind.rate(),
        per_kind.changes,
        per_kind.elapsed.as_secs_f64(),
        timed.as_secs_f64(),
        format_ms(timed / per_kind.changes.max(1) as u32),
    );
    for (kind, n, median, p99, max) in per_kind.rows() {
        let sum: Duration = per_kind.times[kind].iter().sum();
        let share = if large_group::is_large(kind) {
            "after the stream".to_owned()
        } else {
            format!(
                "{:.1} %",
                100.0 * sum.as_secs_f64() / timed.as_secs_f64().max(1e-12)
            )
        };
        out.push_str(&format!(
            "| {kind} | {n} | {} | {} | {} | {} | {share} |\n",
            format_ms(median),
            format_ms(sum / n.max(1) as u32),
            format_ms(p99),
            format_ms(max),
        ));
    }
    let waits = per_kind.backpressure;
    if waits.waits > 0 || waits.delta_builds > 0 {
        out.push_str(&backpressure_line(waits));
    }
    out
}

/// The batches that waited for a compaction in flight (the writer's back-pressure) and how long,
/// and the delta builds (their rows: the compactions' work, whatever the load).
fn backpressure_line(waits: Backpressure) -> String {
    format!(
        "\nbatches that waited for a compaction (back-pressure): {} of them, {} ms in all; {} delta builds over {} rows in all ({:.0} rows per build)\n",
        waits.waits,
        format_ms(waits.waited),
        waits.delta_builds,
        waits.delta_rows,
        waits.delta_rows as f64 / waits.delta_builds.max(1) as f64
    )
}

/// The three slowest reads during the stream and what their snapshots carried.
fn slowest_reads(traces: &[ReadTrace]) -> String {
    let mut slow = traces.to_vec();
    slow.sort_by_key(|t| std::cmp::Reverse(t.time));
    let mut out = String::from("\nslowest reads (ms, version, dirty rows, ms waiting for a core):");
    for t in slow.iter().take(3) {
        out.push_str(&format!(
            " {} (v{}, {}, {});",
            format_ms(t.time),
            t.version,
            t.dirty,
            format_ms(t.waited)
        ));
    }
    out.push('\n');
    out
}

/// Prints a part of the report as soon as it is measured (a long run shows progress) and keeps it.
fn emit(report: &mut String, text: &str) {
    print!("{text}");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    report.push_str(text);
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = GenOptions {
        users: args.users,
        seed: args.seed,
    };
    let model = generate(&options);
    let mut changes = generate_changes(&model, args.changes, args.seed);
    if let Some(only) = &args.only {
        changes = only_kind(&model, changes, only);
        if changes.is_empty() {
            eprintln!("no change of kind {only:?} applies (kinds are the per-kind table's rows)");
            return ExitCode::FAILURE;
        }
    }
    let values = pick_values(&model);
    let Some(reader) = cases(&model, &values).into_iter().find(|c| c.letter == 'k') else {
        eprintln!("no query k");
        return ExitCode::FAILURE;
    };
    let tuning = Tuning {
        max_dirty: args.max_dirty,
        foreground: args.foreground,
    };
    let mut report = String::new();
    emit(
        &mut report,
        &format!(
            "## Changes ({} users, {} changes, seed {})\n\nreader: query k `{}`\n",
            args.users, args.changes, args.seed, reader.hub
        ),
    );
    let mut run = || -> Result<(), userql_benches::BenchError> {
        if let Some(updates) = args.store_updates {
            let Some(e) = cases(&model, &values).into_iter().find(|c| c.letter == 'e') else {
                return Err(userql_benches::BenchError::Update("no query e".to_owned()));
            };
            let measured = update_throughput(&model, &e, updates, Duration::from_secs(20))?;
            emit(&mut report, &format!("\n{}\n", update_line(&measured, 'e')));
            return Ok(());
        }
        if args.writer_only {
            let writer = writer_only(&model, &changes)?;
            emit(&mut report, &table("userql writer only", &writer));
            return Ok(());
        }
        if args.batched_only {
            let (batched, waits) = userql_batches(&model, &changes, args.batch, tuning)?;
            let line = format!(
                "\nuserql in batches of {}: {batched:.0} changes/s{}\n",
                args.batch,
                backpressure_line(waits).trim_end()
            );
            emit(&mut report, &line);
            return Ok(());
        }
        let idle = reader_idle(&model, &reader.hub, 200)?;
        let StreamRun {
            per_kind: userql,
            traces,
            footprint,
            large,
            large_group,
        } = userql_stream(&model, &changes, &reader.hub, tuning)?;
        let during = Samples {
            times: traces.iter().map(|t| t.time).collect(),
        };
        let on_core = Samples {
            times: traces.iter().map(|t| t.time - t.waited).collect(),
        };
        let waits = Samples {
            times: traces.iter().map(|t| t.waited).collect(),
        };
        emit(&mut report, &table("userql", &userql));
        if let Some((id, members)) = &large_group {
            emit(
                &mut report,
                &format!(
                    "\nthe `{}` rows: {} grants put to and deleted from group `{id}` ({members} transitive members) after the stream\n",
                    large_group::LARGE_PUT,
                    large.len() / 2
                ),
            );
        }
        emit(
            &mut report,
            &format!(
                "\nreader (query k, count) p99: idle {} ms, during the stream {} ms ({} reads); \
                 during the stream on a core (minus run-queue waits) {} ms, waits p99 {} ms; \
                 medians: idle {} ms, during the stream {} ms\n",
                format_ms(idle.p99()),
                format_ms(during.p99()),
                during.times.len(),
                format_ms(on_core.p99()),
                format_ms(waits.p99()),
                format_ms(idle.median()),
                format_ms(during.median())
            ),
        );
        emit(&mut report, &slowest_reads(&traces));
        if let Some(bytes) = resident_bytes() {
            emit(
                &mut report,
                &format!(
                    "\nresident memory after the stream: {:.0} MiB\n",
                    bytes as f64 / (1 << 20) as f64
                ),
            );
        }
        emit(
            &mut report,
            &format!(
                "\nindex heap after the stream: {:.1} MiB live vs {:.1} MiB fresh build ({:+.1} %)\n",
                footprint.live as f64 / (1 << 20) as f64,
                footprint.fresh as f64 / (1 << 20) as f64,
                (footprint.live as f64 / footprint.fresh.max(1) as f64 - 1.0) * 100.0
            ),
        );
        let (batched, waits) = userql_batches(&model, &changes, args.batch, tuning)?;
        emit(
            &mut report,
            &format!(
                "\nuserql in batches of {}: {batched:.0} changes/s{}\n",
                args.batch,
                backpressure_line(waits).trim_end()
            ),
        );
        if !args.no_sqlite {
            let sqlite = sqlite_stream(&model, &changes, &large)?;
            emit(
                &mut report,
                &table("SQLite (one transaction per change)", &sqlite),
            );
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("changes benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}
