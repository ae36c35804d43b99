//! Resident memory after a long change stream versus a fresh build of the resulting directory
//! (issue 13's memory goal: "resident memory after 1 M changes within 10 % of a fresh build").
//!
//! `cargo run --release -p userql-benches --bin resident -- --users 1000000 --changes 1000000`
//!
//! Each side runs in a process of its own, so neither inherits the other's heap: the parent
//! re-runs this binary twice and prints one table.
//! - **live**: generate the directory and the seeded stream of benchmark.md, open a live store,
//!   apply the stream in batches of `--batch` (so a million changes take a minute, not an
//!   hour), let the store settle as a quiet server's would (the compaction in flight, then
//!   the whole rebuild a quiet store runs by itself, `StoreOptions::idle_compaction`; the
//!   time it took is printed), write the resulting directory
//!   (NDJSON) to a temporary file, drop everything but the store and measure.
//! - **fresh**: load that file and open a store on it (a full index build), then measure.
//!
//! Both report the process's resident set (`VmRSS`; each side runs with mimalloc's
//! `MIMALLOC_PURGE_DELAY=0`, so pages freed by the setup go back to the system at once and both
//! sides count only what their heap holds, fragmentation included), and the heap bytes
//! the model's users and the indexes ask of the allocator (`footprint::user_footprint`,
//! `Indexes::stats`): the resident set shows what the process really costs, the heap bytes
//! which part differs.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::{Parser, ValueEnum};
use userql_benches::measure::resident_bytes;
use userql_directory::footprint::user_footprint;
use userql_directory::generate::{generate, generate_changes, GenOptions};
use userql_directory::store::{Store, StoreOptions};

/// Resident memory after a change stream vs a fresh build.
#[derive(Debug, Parser)]
struct Args {
    /// Users to generate.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Changes in the stream.
    #[arg(long, default_value_t = 100_000)]
    changes: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Changes per batch.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Internal: run one side and print its measurements as one `key=value` line.
    #[arg(long, value_enum, hide = true)]
    phase: Option<Phase>,
    /// Internal: the resulting directory, written by the live side, read by the fresh side.
    #[arg(long, hide = true)]
    file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Phase {
    Live,
    Fresh,
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
enum ResidentError {
    /// The store refused a batch of the generated stream (the generator makes valid ones).
    #[error("a batch of the stream was refused: {0}")]
    Refused(#[from] userql_directory::changes::ChangeErrors),
    /// The written directory did not load back.
    #[error("the written directory does not load: {0}")]
    Load(#[from] userql_directory::error::LoadErrors),
    /// Writing the directory, or running a side, failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// `/proc/self/status` is unavailable (not Linux): nothing to measure.
    #[error("no resident set to read here (/proc/self/status)")]
    NoProcfs,
    /// A side exited with an error.
    #[error("the {phase} side failed: {stderr}")]
    Side {
        /// `live` or `fresh`.
        phase: String,
        /// What it printed on standard error.
        stderr: String,
    },
    /// A side printed no totals line.
    #[error("the {phase} side printed no measurements: {stdout}")]
    Unreadable {
        /// `live` or `fresh`.
        phase: String,
        /// What it printed.
        stdout: String,
    },
    /// `--phase` was given without `--file`.
    #[error("--phase needs --file")]
    NoFile,
    /// The live store still had delta levels ten minutes after its last batch.
    #[error("the store did not settle within ten minutes of its last batch")]
    Unsettled,
}

/// What one side measured.
#[derive(Debug, Default, Clone)]
struct Measured {
    resident: u64,
    /// The resident set once the store is dropped: what the side's setup left behind
    /// (allocator pages still partly in use), not the directory.
    dropped: u64,
    model: u64,
    index: u64,
    users: u64,
    seconds: f64,
    /// The live side's wait after its last batch until the store settled (see [`settle`]).
    settled: f64,
    /// Heap bytes by component: `index NAME` (`Indexes::stats`) and `model NAME`
    /// (`user_footprint`).
    parts: Vec<(String, u64)>,
}

impl Measured {
    /// What a side prints for the parent: one line of totals, then one tab-separated line per
    /// component.
    fn lines(&self) -> String {
        let mut out = format!(
            "resident={} dropped={} model={} index={} users={} seconds={} settled={}\n",
            self.resident,
            self.dropped,
            self.model,
            self.index,
            self.users,
            self.seconds,
            self.settled
        );
        for (name, bytes) in &self.parts {
            out.push_str(&format!("part\t{name}\t{bytes}\n"));
        }
        out
    }

    /// Reads a side's output back; `None` without a totals line.
    fn parse(output: &str) -> Option<Measured> {
        let mut measured = output.lines().find_map(Measured::parse_totals)?;
        measured.parts = output
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('\t');
                match (fields.next(), fields.next(), fields.next()) {
                    (Some("part"), Some(name), Some(bytes)) => {
                        Some((name.to_owned(), bytes.parse().ok()?))
                    }
                    _ => None,
                }
            })
            .collect();
        Some(measured)
    }

    /// The totals line; `None` if `line` is not one.
    fn parse_totals(line: &str) -> Option<Measured> {
        let mut m = Measured::default();
        for pair in line.split_whitespace() {
            let (key, value) = pair.split_once('=')?;
            match key {
                "resident" => m.resident = value.parse().ok()?,
                "dropped" => m.dropped = value.parse().ok()?,
                "model" => m.model = value.parse().ok()?,
                "index" => m.index = value.parse().ok()?,
                "users" => m.users = value.parse().ok()?,
                "seconds" => m.seconds = value.parse().ok()?,
                "settled" => m.settled = value.parse().ok()?,
                _ => return None,
            }
        }
        Some(m)
    }
}

/// The store's current model and indexes, and the process's resident set with the store and
/// once it is dropped.
fn measure(store: Store, seconds: f64, settled: f64) -> Result<Measured, ResidentError> {
    let snapshot = store.snapshot();
    let model = user_footprint(&snapshot.model);
    let index = snapshot.index.stats();
    let parts = index
        .iter()
        .map(|s| (format!("index {}", s.name), s.bytes))
        .chain(model.iter().map(|f| (format!("model {}", f.name), f.bytes)))
        .collect();
    let users = snapshot.model.users.count() as u64;
    let resident = resident_bytes().ok_or(ResidentError::NoProcfs)?;
    drop(snapshot);
    drop(store);
    Ok(Measured {
        resident,
        dropped: resident_bytes().ok_or(ResidentError::NoProcfs)?,
        model: model.iter().map(|f| f.bytes).sum(),
        index: index.iter().map(|s| s.bytes).sum(),
        users,
        seconds,
        settled,
        parts,
    })
}

/// The live side: the stream applied through the store, the result written to `file`.
fn live(args: &Args, file: &Path) -> Result<Measured, ResidentError> {
    let started = Instant::now();
    let store = {
        let model = generate(&GenOptions {
            users: args.users,
            seed: args.seed,
        });
        let changes = generate_changes(&model, args.changes, args.seed);
        let store = Store::with_options(model, StoreOptions::for_users(args.users));
        for batch in changes.chunks(args.batch.max(1)) {
            store.apply_changes(batch)?;
        }
        store
    };
    let seconds = started.elapsed().as_secs_f64();
    let settling = Instant::now();
    settle(&store)?;
    let settled = settling.elapsed().as_secs_f64();
    let bytes = userql_directory::save::save_ndjson(&store.snapshot().model);
    std::fs::write(file, &bytes).map_err(|source| ResidentError::Io {
        what: format!("writing {}", file.display()),
        source,
    })?;
    drop(bytes);
    measure(store, seconds, settled)
}

/// Waits until `store` is what a quiet server's store becomes: no compaction in flight, and
/// its delta levels folded by the whole rebuild it starts once quiet (at most a few dirty rows
/// left). At most ten minutes.
fn settle(store: &Store) -> Result<(), ResidentError> {
    let deadline = Instant::now() + std::time::Duration::from_secs(600);
    let max_dirty = StoreOptions::for_users(store.snapshot().model.users.count()).max_dirty;
    loop {
        store.wait_for_rebuild();
        let snapshot = store.snapshot();
        if snapshot.deltas.is_empty() && snapshot.dirty.len() <= max_dirty {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(ResidentError::Unsettled);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The fresh side: the written directory loaded and indexed from scratch.
fn fresh(file: &Path) -> Result<Measured, ResidentError> {
    let started = Instant::now();
    let store = {
        let model = userql_directory::load_path_limited(file, u64::MAX)?;
        let users = model.users.count();
        Store::with_options(model, StoreOptions::for_users(users))
    };
    let seconds = started.elapsed().as_secs_f64();
    measure(store, seconds, 0.0)
}

/// Runs this binary for one side and reads its line.
fn run_side(args: &Args, phase: &str, file: &Path) -> Result<Measured, ResidentError> {
    let io = |what: &str| {
        let what = what.to_owned();
        move |source| ResidentError::Io { what, source }
    };
    let exe = std::env::current_exe().map_err(io("finding this binary"))?;
    let output = Command::new(exe)
        // Return freed pages to the system at once (mimalloc otherwise keeps them until its
        // next allocation in that thread): the resident set is then what the heap holds,
        // not what the setup once touched.
        .env("MIMALLOC_PURGE_DELAY", "0")
        .args(["--phase", phase, "--file"])
        .arg(file)
        .args(["--users", &args.users.to_string()])
        .args(["--changes", &args.changes.to_string()])
        .args(["--seed", &args.seed.to_string()])
        .args(["--batch", &args.batch.to_string()])
        .output()
        .map_err(io("running a side"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(ResidentError::Side {
            phase: phase.to_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Measured::parse(&stdout).ok_or_else(|| ResidentError::Unreadable {
        phase: phase.to_owned(),
        stdout: stdout.into_owned(),
    })
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

fn report(args: &Args, live: &Measured, fresh: &Measured) -> String {
    let row = |name: &str, live: u64, fresh: u64| {
        format!(
            "| {name} | {:.1} | {:.1} | {:+.1} % |\n",
            mib(live),
            mib(fresh),
            (live as f64 / fresh.max(1) as f64 - 1.0) * 100.0
        )
    };
    let mut out = format!(
        "## Resident memory after {} changes ({} users, seed {}, batches of {})\n\n\
         live: {} users after the stream ({:.1} s to generate and apply, then {:.1} s until \
         the store settled: the compaction in flight and the one a quiet store runs); fresh: \
         the same directory loaded and indexed ({:.1} s)\n\n\
         | MiB | after the stream | fresh build | difference |\n|---|---|---|---|\n",
        args.changes,
        args.users,
        args.seed,
        args.batch,
        live.users,
        live.seconds,
        live.settled,
        fresh.seconds
    );
    out.push_str(&row(
        "process resident (VmRSS)",
        live.resident,
        fresh.resident,
    ));
    out.push_str(&row(
        "process resident once the store is dropped",
        live.dropped,
        fresh.dropped,
    ));
    out.push_str(&row("model users, heap asked", live.model, fresh.model));
    out.push_str(&row("indexes, heap asked", live.index, fresh.index));
    out.push_str(&parts_table(live, fresh));
    out
}

/// The components whose heap differs most between the sides (at most 12, ≥ 0.1 MiB apart),
/// then the largest, so a difference names its part.
fn parts_table(live: &Measured, fresh: &Measured) -> String {
    let fresh_of = |name: &str| {
        fresh
            .parts
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, b)| *b)
    };
    let mut rows: Vec<(&str, u64, u64)> = live
        .parts
        .iter()
        .map(|(name, bytes)| (name.as_str(), *bytes, fresh_of(name)))
        .collect();
    let gap = |&(_, live, fresh): &(&str, u64, u64)| live.abs_diff(fresh);
    rows.sort_by_key(|row| std::cmp::Reverse(gap(row)));
    let mut out = String::from(
        "\nComponents that differ most (heap asked, MiB):\n\n| component | after the stream | fresh build |\n|---|---|---|\n",
    );
    for (name, live, fresh) in rows.iter().filter(|r| gap(r) >= 1 << 17).take(12) {
        out.push_str(&format!(
            "| {name} | {:.1} | {:.1} |\n",
            mib(*live),
            mib(*fresh)
        ));
    }
    rows.sort_by_key(|&(_, live, _)| std::cmp::Reverse(live));
    out.push_str("\nLargest components (heap asked, MiB):\n\n| component | after the stream | fresh build |\n|---|---|---|\n");
    for (name, live, fresh) in rows.iter().take(12) {
        out.push_str(&format!(
            "| {name} | {:.1} | {:.1} |\n",
            mib(*live),
            mib(*fresh)
        ));
    }
    out
}

fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = match (args.phase, &args.file) {
        (Some(Phase::Live), Some(file)) => live(&args, file).map(|m| m.lines()),
        (Some(Phase::Fresh), Some(file)) => fresh(file).map(|m| m.lines()),
        (Some(_), None) => Err(ResidentError::NoFile),
        (None, _) => {
            let file = std::env::temp_dir().join(format!(
                "userql-resident-{}-{}.ndjson",
                std::process::id(),
                args.users
            ));
            let measured = run_side(&args, "live", &file)
                .and_then(|live| Ok((live, run_side(&args, "fresh", &file)?)));
            let _ = std::fs::remove_file(&file);
            measured.map(|(live, fresh)| report(&args, &live, &fresh))
        }
    };
    match outcome {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("resident benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}
