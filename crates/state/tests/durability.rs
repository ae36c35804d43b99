//! The Durability section of changes.md, rule by rule, on the tiny directory.
//!
//! The batches here are a small test type mapped onto the store's own updates: the durable
//! layer is generic over the batch type, and these tests hold whatever that type is.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier, Mutex};

use serde::{Deserialize, Serialize};
use userql_directory::error::LoadErrors;
use userql_directory::store::{Replay, Update};
use userql_directory::Store;
use userql_state::wal::{self, Log};
use userql_state::{Batch, DurableOptions, DurableStore, StateError, Warning};

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fuzz/seeds/load_json/tiny.json"
);

/// One change of the test batches.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Change {
    /// Sets a user's state.
    State { id: String, state: String },
    /// Sets a user's administrator flag.
    Admin { id: String, admin: bool },
}

impl Change {
    fn update(&self) -> Update {
        match self {
            Change::State { id, state } => Update::SetState {
                id: id.clone(),
                state: state.clone(),
            },
            Change::Admin { id, admin } => Update::SetAdmin {
                id: id.clone(),
                admin: *admin,
            },
        }
    }
}

impl Batch for Change {
    type Error = LoadErrors;

    fn apply(store: &Store, batch: &[Change]) -> Result<u64, LoadErrors> {
        store.apply(&batch.iter().map(Change::update).collect::<Vec<_>>())
    }

    fn replay(replay: &mut Replay, batch: &[Change]) -> Result<u64, LoadErrors> {
        replay.apply(&batch.iter().map(Change::update).collect::<Vec<_>>())
    }
}

fn block(id: &str) -> Vec<Change> {
    vec![Change::State {
        id: id.to_owned(),
        state: "blocked".to_owned(),
    }]
}

const OPTIONS: DurableOptions = DurableOptions {
    store: None,
    checkpoint_bytes: None,
};

fn open(dir: &Path) -> Result<DurableStore<Change>, StateError> {
    DurableStore::open(dir, Some(Path::new(SEED)), OPTIONS)
}

fn state_of(store: &DurableStore<Change>, id: &str) -> String {
    let snapshot = store.snapshot();
    let row = snapshot.row_of_id(id).expect("user exists");
    format!("{:?}", snapshot.model.users[row as usize].state)
}

/// A seeded state directory with `batches` single-change batches applied (versions 1..).
fn state_with(batches: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("state");
    let store = open(&dir).expect("seed");
    for (i, id) in batches.iter().enumerate() {
        assert_eq!(store.apply(&block(id)).expect("apply"), i as u64 + 1);
    }
    drop(store);
    (temp, dir)
}

/// The one file of `dir` with this extension.
fn only_file(dir: &Path, extension: &str) -> PathBuf {
    let found: Vec<PathBuf> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

fn only_log(dir: &Path) -> PathBuf {
    only_file(dir, "log")
}

fn record_offsets(log: &Path) -> Vec<u64> {
    let bytes = fs::read(log).expect("log");
    let scan = wal::scan(log, &bytes).expect("valid log");
    scan.records.iter().map(|r| r.offset).collect()
}

mod log_damage {
    use super::*;

    #[test]
    fn truncating_the_log_anywhere_in_its_last_record_recovers_the_batches_before_it() {
        let (_temp, dir) = state_with(&["u-luke", "u-leia", "u-han"]);
        let log = only_log(&dir);
        let whole = fs::read(&log).expect("log");
        let last = record_offsets(&log)[2];
        for cut in last..whole.len() as u64 {
            fs::write(&log, &whole[..cut as usize]).expect("truncate");
            let store = open(&dir).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            assert_eq!(store.version(), 2, "cut at {cut}");
            assert_eq!(state_of(&store, "u-leia"), "Blocked");
            assert_eq!(state_of(&store, "u-han"), "Active", "cut at {cut}");
            let torn: Vec<&Warning> = store.warnings().iter().collect();
            if cut == last {
                assert!(torn.is_empty(), "a clean end is not torn: {torn:?}");
            } else {
                assert_eq!(
                    torn,
                    vec![&Warning::TornRecord {
                        path: log.clone(),
                        offset: last,
                        dropped: cut - last,
                    }]
                );
            }
            // The torn bytes were cut off: the next batch is version 3 again, and survives.
            assert_eq!(store.apply(&block("u-chewie")).expect("apply"), 3);
            drop(store);
            let reopened = open(&dir).expect("reopen");
            assert_eq!(reopened.version(), 3);
            assert!(reopened.warnings().is_empty());
            assert_eq!(state_of(&reopened, "u-chewie"), "Blocked");
            drop(reopened);
            fs::write(&log, &whole).expect("restore");
        }
    }

    #[test]
    fn a_flipped_byte_inside_an_earlier_record_is_refused_with_its_offset() {
        let (_temp, dir) = state_with(&["u-luke", "u-leia", "u-han"]);
        let log = only_log(&dir);
        let whole = fs::read(&log).expect("log");
        let offsets = record_offsets(&log);
        for (record, end) in [(0, offsets[1]), (1, offsets[2])] {
            let start = offsets[record];
            for at in start..end {
                let mut bytes = whole.clone();
                bytes[at as usize] ^= 0x01;
                fs::write(&log, &bytes).expect("flip");
                match open(&dir) {
                    Err(StateError::DamagedLog { path, offset, .. }) => {
                        assert_eq!((path, offset), (log.clone(), start), "flip at {at}");
                    }
                    Err(other) => panic!("flip at {at}: unexpected error {other}"),
                    Ok(store) => panic!("flip at {at} accepted at version {}", store.version()),
                }
            }
        }
        fs::write(&log, &whole).expect("restore");
        let message = {
            let mut bytes = whole.clone();
            bytes[offsets[1] as usize + 20] ^= 0x40;
            fs::write(&log, &bytes).expect("flip");
            open(&dir).err().expect("refused").to_string()
        };
        assert!(
            message.starts_with(&format!(
                "log {} is damaged at byte {}: record checksum does not match",
                log.display(),
                offsets[1]
            )),
            "{message}"
        );
    }

    #[test]
    fn a_damaged_log_header_is_refused_at_offset_zero() {
        let (_temp, dir) = state_with(&["u-luke"]);
        let log = only_log(&dir);
        let mut bytes = fs::read(&log).expect("log");
        bytes[9] ^= 0xff;
        fs::write(&log, &bytes).expect("damage");
        let error = open(&dir).err().expect("refused");
        assert!(
            matches!(&error, StateError::DamagedLog { offset: 0, .. }),
            "{error}"
        );
    }

    /// A well-formed record whose batch the directory refuses (here: a user that does not
    /// exist, so the log was not written by this store) is damage at that record's offset,
    /// reported with the store's own refusal — replay validates like a live batch.
    #[test]
    fn a_logged_batch_the_directory_refuses_is_reported_at_its_offset() {
        let (_temp, dir) = state_with(&["u-luke"]);
        let path = only_log(&dir);
        let end = fs::metadata(&path).expect("log").len();
        let log = Log::open(&path, 0, 1, end).expect("log");
        let payload = serde_json::to_vec(&block("u-nobody")).expect("json");
        log.append_durable(2, &payload).expect("append");
        drop(log);
        let error = open(&dir).err().expect("refused");
        let message = error.to_string();
        assert!(
            matches!(&error, StateError::Replay { offset, version: 2, .. } if *offset == end),
            "{message}"
        );
        assert!(message.contains("u-nobody"), "{message}");
    }

    #[test]
    fn a_missing_log_is_a_gap_not_an_empty_history() {
        let (_temp, dir) = state_with(&["u-luke"]);
        fs::remove_file(only_log(&dir)).expect("remove");
        let error = open(&dir).err().expect("refused");
        assert!(matches!(error, StateError::Gap { .. }), "{error}");
    }
}

mod checkpoints {
    use super::*;

    fn only_checkpoint(dir: &Path) -> PathBuf {
        only_file(dir, "ndjson")
    }

    #[test]
    fn a_checkpoint_covers_its_version_and_starts_a_fresh_log() {
        let (_temp, dir) = state_with(&["u-luke", "u-leia"]);
        let store = open(&dir).expect("open");
        let report = store.checkpoint().expect("checkpoint");
        assert_eq!(report.version, 2);
        assert!(report.bytes > 0);
        assert!(only_checkpoint(&dir).ends_with("checkpoint-00000000000000000002.ndjson"));
        assert!(only_log(&dir).ends_with("wal-00000000000000000002.log"));
        assert_eq!(store.apply(&block("u-han")).expect("apply"), 3);
        drop(store);
        let store = open(&dir).expect("reopen");
        assert_eq!(store.version(), 3);
        for id in ["u-luke", "u-leia", "u-han"] {
            assert_eq!(state_of(&store, id), "Blocked", "{id}");
        }
    }

    #[test]
    fn a_missing_checkpoint_is_reported_not_replaced_by_an_empty_directory() {
        let (_temp, dir) = state_with(&["u-luke"]);
        fs::remove_file(only_checkpoint(&dir)).expect("remove");
        let error = open(&dir).err().expect("refused");
        assert!(
            matches!(error, StateError::MissingCheckpoint { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("no checkpoint found"), "{error}");
    }

    #[test]
    fn a_damaged_checkpoint_is_reported_with_its_offset() {
        let (_temp, dir) = state_with(&["u-luke"]);
        let path = only_checkpoint(&dir);
        let mut bytes = fs::read(&path).expect("checkpoint");
        let body = bytes.iter().position(|&b| b == b'\n').expect("header") + 1;
        let at = bytes.len() - 100;
        bytes[at] ^= 0x02;
        fs::write(&path, &bytes).expect("damage");
        match open(&dir) {
            Err(StateError::DamagedCheckpoint {
                path: reported,
                offset,
                ..
            }) => assert_eq!((reported, offset), (path.clone(), body as u64)),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("a damaged checkpoint was accepted"),
        }
        bytes.truncate(at);
        fs::write(&path, &bytes).expect("truncate");
        let error = open(&dir).err().expect("refused");
        assert!(error.to_string().contains("truncated"), "{error}");
    }

    #[test]
    fn a_damaged_newest_checkpoint_falls_back_only_when_the_logs_reach() {
        let (_temp, dir) = state_with(&["u-luke"]);
        // Keep the old checkpoint and log around, as a crash right after the switch would.
        let old_checkpoint = only_checkpoint(&dir);
        let old_log = only_log(&dir);
        let saved = (
            fs::read(&old_checkpoint).expect("c"),
            fs::read(&old_log).expect("l"),
        );
        let store = open(&dir).expect("open");
        store.checkpoint().expect("checkpoint");
        assert_eq!(store.apply(&block("u-leia")).expect("apply"), 2);
        drop(store);
        fs::write(&old_checkpoint, &saved.0).expect("restore old checkpoint");
        fs::write(&old_log, &saved.1).expect("restore old log");
        let newest = dir.join("checkpoint-00000000000000000001.ndjson");
        let mut bytes = fs::read(&newest).expect("newest");
        let at = bytes.len() - 5;
        bytes[at] ^= 0x04;
        fs::write(&newest, &bytes).expect("damage");
        let store = open(&dir).expect("older checkpoint + logs");
        assert_eq!(store.version(), 2);
        assert!(matches!(
            store.warnings(),
            [Warning::SkippedCheckpoint { .. }]
        ));
        drop(store);
        fs::remove_file(&old_log).expect("remove old log");
        let error = open(&dir).err().expect("refused without the old log");
        assert!(matches!(error, StateError::Gap { .. }), "{error}");
    }

    #[test]
    fn an_unseeded_directory_without_a_seed_is_an_error() {
        let temp = tempfile::tempdir().expect("tempdir");
        let error = DurableStore::<Change>::open(&temp.path().join("none"), None, OPTIONS)
            .err()
            .expect("refused");
        assert!(matches!(error, StateError::NotSeeded { .. }), "{error}");
    }

    #[test]
    fn background_checkpoints_leave_one_checkpoint_and_lose_nothing() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().join("state");
        let options = DurableOptions {
            store: None,
            checkpoint_bytes: Some(200),
        };
        let store: DurableStore<Change> =
            DurableStore::open(&dir, Some(Path::new(SEED)), options).expect("seed");
        let ids = ["u-luke", "u-leia", "u-han", "u-chewie", "u-finn"];
        for round in 0..10 {
            for id in ids {
                let change = Change::Admin {
                    id: id.to_owned(),
                    admin: round % 2 == 0,
                };
                store.apply(&[change]).expect("apply");
            }
        }
        store.wait_for_checkpoint().expect("background checkpoint");
        drop(store);
        let store = open(&dir).expect("reopen");
        assert_eq!(store.version(), 50);
        let snapshot = store.snapshot();
        for id in ids {
            let row = snapshot.row_of_id(id).expect("user");
            assert!(!snapshot.model.users[row as usize].admin, "{id}");
        }
        let checkpoints = fs::read_dir(&dir)
            .expect("list")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "ndjson"))
            })
            .count();
        assert_eq!(checkpoints, 1);
    }
}

mod lock {
    use super::*;

    #[test]
    fn a_second_opener_is_refused_with_the_holders_pid() {
        let (_temp, dir) = state_with(&[]);
        let first = open(&dir).expect("first");
        let error = open(&dir).err().expect("second refused");
        let pid = std::process::id().to_string();
        assert!(
            matches!(&error, StateError::Locked { pid: holder, .. } if *holder == pid),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains(&format!("in use by process {pid}")),
            "{error}"
        );
        drop(first);
        open(&dir).expect("free again");
    }
}

mod group_commit {
    use super::*;

    #[test]
    fn writers_waiting_together_share_one_fsync() {
        let temp = tempfile::tempdir().expect("tempdir");
        let layout = userql_state::layout::Layout::new(temp.path());
        let log = Arc::new(Log::create(&layout, 0).expect("log"));
        let writers = 8;
        let rounds = 5;
        let next = Arc::new(Mutex::new(0u64));
        let barrier = Arc::new(Barrier::new(writers));
        let threads: Vec<_> = (0..writers)
            .map(|_| {
                let (log, next, barrier) =
                    (Arc::clone(&log), Arc::clone(&next), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    for _ in 0..rounds {
                        let version = {
                            let mut next = next.lock().expect("order");
                            *next += 1;
                            log.append(*next, b"[]").expect("append");
                            *next
                        };
                        // Everyone has written before anyone syncs: the first leader's fsync
                        // covers the whole round.
                        barrier.wait();
                        log.sync_to(version).expect("sync");
                        assert!(log.durable_version() >= version);
                        barrier.wait();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("writer");
        }
        assert_eq!(log.last_version(), (writers * rounds) as u64);
        assert_eq!(log.fsyncs(), rounds as u64);
    }

    #[test]
    fn concurrent_batches_are_all_durable_and_share_fsyncs() {
        let (_temp, dir) = state_with(&[]);
        let store = Arc::new(open(&dir).expect("open"));
        let ids = [
            "u-luke", "u-leia", "u-han", "u-chewie", "u-finn", "u-vader", "u-tarkin", "u-piett",
        ];
        let per_thread = 25;
        let barrier = Arc::new(Barrier::new(ids.len()));
        let threads: Vec<_> = ids
            .iter()
            .map(|id| {
                let (store, id) = (Arc::clone(&store), id.to_string());
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    for i in 0..per_thread {
                        let change = Change::Admin {
                            id: id.clone(),
                            admin: i % 2 == 0,
                        };
                        // Every round starts together: while one batch's fsync runs, the
                        // others validate and append, and the next fsync covers them all.
                        barrier.wait();
                        let version = store.apply(&[change]).expect("apply");
                        // Acknowledged means published: a reader sees at least this version.
                        assert!(store.version() >= version);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("writer");
        }
        let batches = (ids.len() * per_thread) as u64;
        assert_eq!(store.version(), batches);
        let fsyncs = store.fsyncs();
        // Group commit: concurrent writers share fsyncs (a count, not a time).
        assert!(fsyncs < batches, "{fsyncs} fsyncs for {batches} batches");
        drop(store);
        let reopened = open(&dir).expect("reopen");
        assert_eq!(reopened.version(), batches);
        let snapshot = reopened.snapshot();
        for id in ids {
            let row = snapshot.row_of_id(id).expect("user");
            // The last change of each thread (i = 24) set admin.
            assert!(snapshot.model.users[row as usize].admin, "{id}");
        }
    }
}
