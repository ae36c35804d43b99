//! Crash test of `userql apply --state` with real processes (changes.md, Durability).
//!
//! A child applies a stream of batches and prints `applied VERSION` after each durable one; the
//! test kills it with SIGKILL at a random moment (sometimes a `userql checkpoint` instead),
//! then recovers the directory and checks that
//! - every batch whose `applied` line was read is present (version ≥ acknowledged),
//! - no batch is partly applied, and the whole directory equals the one built by applying the
//!   first K batches of the stream in memory, for K = the recovered version;
//!
//! and then restarts the child on the batches after K.
//!
//! `USERQL_CRASH_KILLS` sets the number of kills (default 60, a few seconds of CI);
//! `USERQL_CRASH_SEED` the RNG seed (the default is fixed, so a failure reproduces).
#![cfg(unix)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use userql_directory::changes::Change;
use userql_directory::save::save_ndjson;
use userql_directory::{load_path, Store};
use userql_state::{DurableOptions, DurableStore};

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fuzz/seeds/load_json/tiny.json"
);

const USERS: [&str; 6] = ["u-luke", "u-leia", "u-han", "u-chewie", "u-finn", "u-piett"];

/// Batch `i` of the stream: several changes to two or three users that all carry `i`, so a
/// partly applied batch would show as users disagreeing.
fn batch(i: usize) -> String {
    let first = USERS[i % USERS.len()];
    let second = USERS[(i + 1) % USERS.len()];
    let state = if i.is_multiple_of(3) {
        "blocked"
    } else {
        "active"
    };
    let mut changes = vec![
        format!(r#"{{"op":"patch","kind":"user","id":"{first}","set":{{"name":"batch {i}"}}}}"#),
        format!(
            r#"{{"op":"patch","kind":"user","id":"{second}","set":{{"name":"batch {i}","state":"{state}"}}}}"#
        ),
        format!(
            r#"{{"op":"touch","kind":"user","id":"{first}","at":"2026-06-01T00:{:02}:{:02}Z"}}"#,
            (i / 60) % 60,
            i % 60
        ),
    ];
    if i.is_multiple_of(4) {
        let third = USERS[(i + 2) % USERS.len()];
        changes.push(format!(
            r#"{{"op":"patch","kind":"user","id":"{third}","set":{{"admin":{}}}}}"#,
            i.is_multiple_of(8)
        ));
    }
    format!("[{}]", changes.join(","))
}

fn parse_batch(text: &str) -> Vec<Change> {
    serde_json::from_str(text).expect("the stream's batches parse")
}

fn hash_of(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// The hash of the saved directory after each prefix of the stream: `expected[k]` after `k`
/// batches, built in memory with the live store.
fn expected_hashes(batches: &[String]) -> Vec<u64> {
    let store = Store::new(load_path(Path::new(SEED)).expect("seed loads"));
    let mut hashes = vec![hash_of(&save_ndjson(&store.snapshot().model))];
    for text in batches {
        store
            .apply_changes(&parse_batch(text))
            .expect("stream batch applies");
        hashes.push(hash_of(&save_ndjson(&store.snapshot().model)));
    }
    hashes
}

fn write_stream(path: &Path, batches: &[String]) {
    let mut file = std::fs::File::create(path).expect("changes file");
    writeln!(file, r#"{{"format": "userql-changes/1"}}"#).expect("header");
    for text in batches {
        writeln!(file, "{text}").expect("batch");
    }
}

/// Recovers the directory in this process; returns (version, hash of the saved directory).
fn recover(state: &Path) -> (u64, u64) {
    let options = DurableOptions {
        checkpoint_bytes: None,
        ..DurableOptions::default()
    };
    let store: DurableStore<Change> =
        DurableStore::open(state, Some(Path::new(SEED)), options).expect("recovers");
    let snapshot = store.snapshot();
    (snapshot.version, hash_of(&save_ndjson(&snapshot.model)))
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn sigkill_at_random_moments_never_loses_or_half_applies_a_batch() {
    let kills = env_number("USERQL_CRASH_KILLS", 60);
    let mut rng = ChaCha8Rng::seed_from_u64(env_number("USERQL_CRASH_SEED", 14));
    let total = (kills as usize * 60).max(400);
    let batches: Vec<String> = (0..total).map(batch).collect();
    let expected = expected_hashes(&batches);
    let temp = tempfile::tempdir().expect("tempdir");
    let state = temp.path().join("state");
    let stream = temp.path().join("changes.ndjson");
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_userql"));

    let mut acknowledged = 0u64;
    let mut done_kills = 0u64;
    let mut checkpoint_kills = 0u64;
    let mut rounds = 0u64;
    while done_kills < kills {
        rounds += 1;
        let applied = if state.exists() {
            let (version, hash) = recover(&state);
            assert!(
                version >= acknowledged,
                "round {rounds}: batch {acknowledged} was acknowledged but recovery reached only {version}"
            );
            assert_eq!(
                Some(&hash),
                expected.get(version as usize),
                "round {rounds}: the directory at version {version} is not the first {version} batches"
            );
            version as usize
        } else {
            0
        };
        if applied == total {
            break;
        }
        let checkpoint = rng.gen_bool(0.15) && applied > 0;
        let mut command = Command::new(&binary);
        if checkpoint {
            command.args(["checkpoint", "--state"]).arg(&state);
        } else {
            write_stream(&stream, &batches[applied..]);
            command
                .args(["apply", "--state"])
                .arg(&state)
                .args(["--data", SEED, "--changes"])
                .arg(&stream)
                // Small logs: background checkpoints run (and get killed) too.
                .args(["--checkpoint-bytes", "4096"]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn userql");
        let stdout = child.stdout.take().expect("stdout");
        let last_acknowledged = Arc::new(AtomicU64::new(acknowledged));
        let reader = {
            let last = Arc::clone(&last_acknowledged);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(version) = line.strip_prefix("applied ") {
                        let version: u64 = version.trim().parse().expect("a version");
                        last.fetch_max(version, Ordering::SeqCst);
                    }
                }
            })
        };
        // The moment to kill: after a random number of acknowledged batches (so the stream
        // outlasts every kill however fast the machine is) or a random delay, whichever comes
        // first, then a little later still, so kills also land in the middle of a batch.
        let target = applied as u64 + rng.gen_range(0..40);
        let delay = Duration::from_micros(rng.gen_range(0..150_000));
        let started = Instant::now();
        while started.elapsed() < delay && last_acknowledged.load(Ordering::SeqCst) < target {
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..2_000)));
        // SIGKILL; an error means the child already exited (stream done), which is fine.
        let _ = child.kill();
        let status = child.wait().expect("wait");
        reader.join().expect("reader");
        acknowledged = last_acknowledged.load(Ordering::SeqCst);
        if status.code().is_none() {
            done_kills += 1;
            checkpoint_kills += u64::from(checkpoint);
        } else {
            assert!(status.success(), "round {rounds}: userql failed: {status}");
        }
    }
    let (version, hash) = recover(&state);
    assert!(version >= acknowledged);
    assert_eq!(Some(&hash), expected.get(version as usize));
    eprintln!(
        "crash test: {done_kills} kills ({checkpoint_kills} during `userql checkpoint`) in {rounds} rounds; \
         {acknowledged} batches acknowledged, recovered version {version} of {total}"
    );
    assert!(acknowledged > 0, "no batch was ever acknowledged");
    assert_eq!(done_kills, kills, "the stream ran out before every kill");
}
