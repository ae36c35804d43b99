//! Measures a state directory at scale (numbers in `benches/RESULTS.md`):
//! durable single-change batches per second with 1 and with 8 writer threads (group commit),
//! checkpoint time and size, and recovery time for a log of 1M changes.
//!
//! ```sh
//! userql gen --users 1000000 --seed 42 --out /tmp/g1m.ndjson
//! cargo run --release -p userql-state --example durable_bench -- /tmp/g1m.ndjson /tmp/state-bench
//! ```
//! The state directory (second argument) is deleted first. Optional arguments: batches per
//! throughput run (default 2000), changes in the recovery log (default 1000000), changes per
//! logged batch (default 1; a comma-separated list of shapes such as `1000,100000:1` — `N` or
//! `CHANGES:N` — measures one recovery per shape, with a checkpoint between them), and
//! `recovery-only` to skip seeding, throughput and
//! checkpoint and reuse a state directory whose log is empty.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use userql_directory::changes::Change;
use userql_directory::load_ndjson;
use userql_directory::store::{Replay, StoreOptions};
use userql_state::checkpoint;
use userql_state::layout::Layout;
use userql_state::wal::{Log, HEADER_LEN};
use userql_state::{DurableOptions, DurableStore};

const OPTIONS: DurableOptions = DurableOptions {
    store: None,
    checkpoint_bytes: None,
};

fn touch(id: &str, i: usize) -> Change {
    let text = format!(
        r#"{{"op":"touch","kind":"user","id":"{id}","at":"2026-06-{:02}T{:02}:{:02}:{:02}Z"}}"#,
        1 + (i / 86_400) % 28,
        (i / 3600) % 24,
        (i / 60) % 60,
        i % 60
    );
    serde_json::from_str(&text).expect("a touch change")
}

fn user_ids(store: &DurableStore<Change>, count: usize) -> Vec<String> {
    let snapshot = store.snapshot();
    let users = &snapshot.model.users;
    let live: Vec<&str> = users.records().map(|u| u.id.as_ref()).collect();
    let step = (live.len() / count.max(1)).max(1);
    (0..count)
        .map(|i| live[(i * step) % live.len()].to_owned())
        .collect()
}

fn throughput(store: &Arc<DurableStore<Change>>, ids: &[String], threads: usize) {
    let fsyncs = store.fsyncs();
    let per_thread = ids.len() / threads;
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(store);
            let ids = ids[t * per_thread..(t + 1) * per_thread].to_vec();
            std::thread::spawn(move || {
                for (i, id) in ids.iter().enumerate() {
                    store.apply(&[touch(id, i)]).expect("durable batch");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("writer");
    }
    let seconds = started.elapsed().as_secs_f64();
    let batches = per_thread * threads;
    println!(
        "writers {threads}: {batches} single-change batches in {seconds:.2} s = {:.0} batches/s, {} fsyncs ({:.1} batches per fsync)",
        batches as f64 / seconds,
        store.fsyncs() - fsyncs,
        batches as f64 / (store.fsyncs() - fsyncs).max(1) as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(seed), Some(dir)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: durable_bench SEED.ndjson STATE_DIR [BATCHES] [LOG_CHANGES]");
        std::process::exit(2);
    };
    let batches: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let log_changes: usize = args
        .get(4)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let shapes: Vec<(usize, usize)> = args
        .get(5)
        .map(|a| {
            a.split(',')
                .filter_map(|shape| parse_shape(shape, log_changes))
                .collect()
        })
        .unwrap_or_else(|| vec![(log_changes, 1)]);
    let dir = Path::new(dir);
    if args.get(6).map(String::as_str) == Some("recovery-only") {
        recoveries(dir, &shapes);
        return;
    }
    let _ = std::fs::remove_dir_all(dir);

    let started = Instant::now();
    let store: Arc<DurableStore<Change>> =
        Arc::new(DurableStore::open(dir, Some(Path::new(seed)), OPTIONS).expect("seeds the state"));
    let users = store.snapshot().model.users.count();
    println!(
        "seed: {users} users, state directory created in {:.2} s (load + index + checkpoint 0)",
        started.elapsed().as_secs_f64()
    );

    let ids = user_ids(&store, batches);
    throughput(&store, &ids, 1);
    throughput(&store, &ids, 8);

    let report = store.checkpoint().expect("checkpoint");
    println!(
        "checkpoint: version {}, {:.1} MB, {:.2} s total, writer blocked {:.1} ms",
        report.version,
        report.bytes as f64 / 1e6,
        report.total.as_secs_f64(),
        report.writer_blocked.as_secs_f64() * 1e3
    );
    drop(store);
    recoveries(dir, &shapes);
}

/// A recovery shape: `N` (N changes per batch, `log_changes` in all) or `C:N` (C changes, N per
/// batch).
fn parse_shape(shape: &str, log_changes: usize) -> Option<(usize, usize)> {
    let (changes, per_batch) = match shape.split_once(':') {
        Some((changes, per_batch)) => (changes.parse().ok()?, per_batch.parse().ok()?),
        None => (log_changes, shape.parse().ok()?),
    };
    Some((changes, usize::max(per_batch, 1)))
}

/// One recovery per shape (changes per logged batch), each from an empty log: a checkpoint
/// after each recovery empties it again.
fn recoveries(dir: &Path, shapes: &[(usize, usize)]) {
    open_breakdown(dir);
    for &(log_changes, per_batch) in shapes {
        let store = recovery(dir, log_changes, per_batch);
        let report = store.checkpoint().expect("checkpoint");
        println!(
            "checkpoint after recovery: version {}, {:.2} s",
            report.version,
            report.total.as_secs_f64()
        );
    }
}

/// Times the steps of opening a state directory whose log is empty, one by one, through the
/// same public calls `DurableStore::open` makes: read and verify the checkpoint, load its NDJSON
/// (parse + validate), the index build and the writer's maps (`Replay::into_store`).
fn open_breakdown(dir: &Path) {
    let listing = Layout::new(dir).list().expect("listing");
    let Some((version, path)) = listing.checkpoints.last() else {
        return;
    };
    let started = Instant::now();
    let body = checkpoint::read(path, *version).expect("checkpoint");
    let read = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let model = load_ndjson(&body).expect("checkpoint loads");
    drop(body);
    let load = started.elapsed().as_secs_f64();
    let users = model.users.count();
    let started = Instant::now();
    let store = Replay::new(model, *version).into_store(StoreOptions::for_users(users));
    let index = started.elapsed().as_secs_f64();
    println!(
        "open breakdown: read + verify checkpoint {read:.2} s, load NDJSON {load:.2} s, index build (writer maps alongside) {index:.2} s (version {})",
        store.version()
    );
}

/// Appends `log_changes` changes, `per_batch` to a record, to the (empty) newest log — straight
/// through the log with one fsync at the end, to save the time of that many fsyncs — and times
/// opening the directory: loading the checkpoint, then replaying the log.
fn recovery(dir: &Path, log_changes: usize, per_batch: usize) -> DurableStore<Change> {
    let (base, ids) = {
        let started = Instant::now();
        let store: DurableStore<Change> = DurableStore::open(dir, None, OPTIONS).expect("reopen");
        println!(
            "open with an empty log (checkpoint load + index): {:.2} s",
            started.elapsed().as_secs_f64()
        );
        (store.version(), user_ids(&store, 10_000))
    };
    let layout = Layout::new(dir);
    let log = Log::open(&layout.log(base), base, base, HEADER_LEN as u64).expect("log");
    let started = Instant::now();
    let records = log_changes.div_ceil(per_batch);
    for record in 0..records {
        let batch: Vec<Change> = (record * per_batch..((record + 1) * per_batch).min(log_changes))
            .map(|i| touch(&ids[i % ids.len()], i))
            .collect();
        let payload = serde_json::to_vec(&batch).expect("json");
        log.append(base + 1 + record as u64, &payload)
            .expect("append");
    }
    log.sync_to(base + records as u64).expect("sync");
    println!(
        "log: {log_changes} changes in {records} batches, {:.1} MB, written in {:.2} s",
        log.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    drop(log);
    let started = Instant::now();
    let store: DurableStore<Change> = DurableStore::open(dir, None, OPTIONS).expect("recovers");
    println!(
        "recovery: checkpoint + {log_changes} logged changes ({records} batches) in {:.2} s (version {})",
        started.elapsed().as_secs_f64(),
        store.version()
    );
    store
}
