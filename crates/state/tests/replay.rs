//! Recovery replays logged batches into the model alone ([`Replay`]) and indexes once at the
//! end; it must rebuild exactly the directory the live store built. For random directories and
//! random change streams (the engine's differential stream, refusals included), a durable store
//! and a plain live [`Store`] take the same batches; recovering the state directory (newest
//! checkpoint + log) must then give the live store's directory byte for byte (its save), and
//! the recovered store must go on taking batches exactly like the live one (the writer's maps
//! handed over by the replay are current).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use userql_directory::changes::Change;
use userql_directory::generate::{generate, GenOptions};
use userql_directory::save::{save_ndjson, to_raw};
use userql_directory::store::Replay;
use userql_directory::{load_ndjson, Store};
use userql_state::{ApplyError, DurableOptions, DurableStore};
use userql_testkit::changes::{random_change, Lcg};

const OPTIONS: DurableOptions = DurableOptions {
    store: None,
    checkpoint_bytes: None,
};

/// A random batch of one to four changes over the live directory as it stands.
fn random_batch(store: &Store, r: &mut Lcg, serial: &mut usize) -> Vec<Change> {
    let dir = to_raw(&store.snapshot().model);
    (0..1 + r.below(4))
        .map(|_| {
            *serial += 1;
            random_change(&dir, r, *serial)
        })
        .collect()
}

/// Panics with the first differing line unless two saved directories are equal (a whole
/// directory in an assertion message would bury it).
fn same_directory(got: &[u8], expected: &[u8], what: &str) {
    if got == expected {
        return;
    }
    let (got, expected) = (
        String::from_utf8_lossy(got),
        String::from_utf8_lossy(expected),
    );
    let line = got
        .lines()
        .zip(expected.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| got.lines().count().min(expected.lines().count()));
    panic!(
        "{what}: line {} differs\n got: {}\nwant: {}",
        line + 1,
        got.lines().nth(line).unwrap_or("(end)"),
        expected.lines().nth(line).unwrap_or("(end)")
    );
}

/// What a durable store answered, in the live store's terms.
fn durable_result(
    durable: &DurableStore<Change>,
    batch: &[Change],
    context: &str,
) -> Result<u64, String> {
    match durable.apply(batch) {
        Ok(version) => Ok(version),
        Err(ApplyError::Refused(e)) => Err(e.to_string()),
        Err(ApplyError::State(e)) => panic!("the log failed on {context}: {e}"),
    }
}

/// One case: `users` generated users, `batches` random batches, a checkpoint after batch
/// `checkpoint_at` (none if past the end), recovery, then `after` more batches on both.
fn case(seed: u64, users: usize, batches: usize, checkpoint_at: usize, after: usize) {
    let temp = tempfile::tempdir().expect("tempdir");
    let seed_file = temp.path().join("seed.ndjson");
    let generated = generate(&GenOptions { users, seed });
    let saved = save_ndjson(&generated);
    std::fs::write(&seed_file, &saved).expect("seed file");
    // The live store starts from what the state directory starts from: the seed file loaded.
    let model = load_ndjson(&saved).expect("a generated directory loads");
    let live = Store::new(model.clone());
    let mut replay = Replay::new(model, 0);
    let dir = temp.path().join("state");
    let durable: DurableStore<Change> =
        DurableStore::open(&dir, Some(&seed_file), OPTIONS).expect("seeds");
    let mut r = Lcg(seed);
    let mut serial = 0;
    let mut refused = 0;
    for number in 0..batches {
        let batch = random_batch(&live, &mut r, &mut serial);
        let context = format!(
            "seed {seed}, batch {number}: {}",
            serde_json::to_string(&batch).unwrap_or_default()
        );
        let expected = live.apply_changes(&batch).map_err(|e| e.to_string());
        refused += usize::from(expected.is_err());
        assert_eq!(
            durable_result(&durable, &batch, &context),
            expected,
            "{context}"
        );
        let replayed = replay.apply_changes(&batch).map_err(|e| e.to_string());
        assert_eq!(replayed, expected, "replay, {context}");
        if number == checkpoint_at {
            durable.checkpoint().expect("checkpoint");
        }
    }
    let expected = save_ndjson(&live.snapshot().model);
    same_directory(
        &save_ndjson(replay.model()),
        &expected,
        &format!("replay (seed {seed})"),
    );
    drop(durable);

    let recovered: DurableStore<Change> =
        DurableStore::open(&dir, None, OPTIONS).expect("recovers");
    assert_eq!(recovered.version(), live.version(), "seed {seed}");
    assert!(
        recovered.warnings().is_empty(),
        "{:?}",
        recovered.warnings()
    );
    same_directory(
        &save_ndjson(&recovered.snapshot().model),
        &expected,
        &format!("recovered (seed {seed}, {batches} batches, {refused} refused, checkpoint after {checkpoint_at})"),
    );
    for number in 0..after {
        let batch = random_batch(&live, &mut r, &mut serial);
        let context = format!(
            "seed {seed}, batch {number} after recovery: {}",
            serde_json::to_string(&batch).unwrap_or_default()
        );
        let expected = live.apply_changes(&batch).map_err(|e| e.to_string());
        assert_eq!(
            durable_result(&recovered, &batch, &context),
            expected,
            "{context}"
        );
    }
    same_directory(
        &save_ndjson(&recovered.snapshot().model),
        &save_ndjson(&live.snapshot().model),
        &format!("batches after recovery (seed {seed})"),
    );
}

fn cases() -> u32 {
    std::env::var("USERQL_REPLAY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

#[test]
fn recovery_rebuilds_the_live_stores_directory_for_random_streams() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (any::<u64>(), 5usize..60, 1usize..40, 0usize..50, 0usize..10);
    runner
        .run(&strategy, |(seed, users, batches, checkpoint_at, after)| {
            case(seed, users, batches, checkpoint_at, after);
            Ok(())
        })
        .expect("every case recovers the live directory");
}

/// A long stream on one directory: cascades, renumbering catalog deletions and new users'
/// numbers all show up, and most batches replay after the checkpoint.
#[test]
fn a_long_stream_recovers_exactly() {
    case(7, 80, 300, 40, 20);
}

/// A case the random streams found (CI, 2026-12-05): every user deleted, then one added
/// (number 1, first in a save) after a checkpoint. The live store, whose rows keep their
/// holes, marked its number explicit and wrote it; the store recovered from the compact
/// checkpoint did not.
#[test]
fn a_checkpoint_after_new_users_recovers_their_numbers() {
    case(12730429608310374573, 5, 34, 30, 0);
}
