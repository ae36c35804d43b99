//! Store: lock-free snapshots, atomic batches, consistent readers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use userql_directory::generate::{generate, GenOptions};
use userql_directory::index::Flag;
use userql_directory::model::{State, Subject};
use userql_directory::raw;
use userql_directory::save::to_raw;
use userql_directory::store::Update;
use userql_directory::{load, Store};

fn new_user(id: &str, login: &str) -> raw::User {
    raw::User {
        id: id.to_owned(),
        login: login.to_owned(),
        created_at: "2026-01-01T00:00:00Z".to_owned(),
        groups: vec![raw::GroupRef {
            id: "g-0".to_owned(),
            access: None,
        }],
        ..raw::User::default()
    }
}

/// Users in `state` as the overlay defines them: clean rows from the index, dirty rows from the
/// model (what the engine does for every predicate).
fn state_rows(snap: &userql_directory::Snapshot, state: State) -> Vec<u32> {
    let mut rows = snap.index.state(state) - &*snap.dirty;
    for row in snap.dirty.iter() {
        if snap
            .model
            .users
            .get(row as usize)
            .is_some_and(|u| u.state == state)
        {
            rows.insert(row);
        }
    }
    rows.iter().collect()
}

/// A ban: the state and a ban record, so the row is dirty (a state change alone is made to
/// the state bitmaps in place and leaves the row clean).
fn ban(id: &str) -> Update {
    Update::Ban {
        id: id.to_owned(),
        status: None,
        reason: None,
        at: None,
    }
}

#[test]
fn the_overlay_is_folded_into_new_indexes_past_its_limit() {
    let model = generate(&GenOptions {
        users: 500,
        seed: 9,
    });
    let store = Store::with_options(
        model,
        userql_directory::store::StoreOptions {
            max_dirty: 3,
            max_delta: 0,
            background: false,
            idle_compaction: None,
        },
    );
    let first = store.snapshot();
    for i in 0..3 {
        store
            .apply(&[ban(&first.model.users[i].id)])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let third = store.snapshot();
    assert_eq!(third.dirty.len(), 3);
    assert!(
        Arc::ptr_eq(&first.index, &third.index),
        "the indexes are shared until the limit"
    );
    store
        .apply(&[ban(&first.model.users[3].id)])
        .unwrap_or_else(|e| panic!("{e}"));
    let fourth = store.snapshot();
    assert!(
        fourth.dirty.is_empty(),
        "crossing the limit rebuilds the indexes"
    );
    assert!(!Arc::ptr_eq(&first.index, &fourth.index));
    // The fourth ban took row 3 out of the active users.
    let mut active = state_rows(&third, State::Active);
    active.retain(|&row| row != 3);
    assert_eq!(state_rows(&fourth, State::Active), active);
    assert!((0..4).all(|r| fourth.index.state(State::Banned).contains(r)));
}

#[test]
fn a_background_rebuild_publishes_new_indexes_and_keeps_later_changes_dirty() {
    let model = generate(&GenOptions {
        users: 800,
        seed: 5,
    });
    let ids: Vec<String> = model.users.records().map(|u| u.id.to_string()).collect();
    let store = Store::with_options(
        model,
        userql_directory::store::StoreOptions {
            max_dirty: 4,
            max_delta: 0,
            background: true,
            idle_compaction: None,
        },
    );
    let first = store.snapshot();
    for id in ids.iter().take(12) {
        store.apply(&[ban(id)]).unwrap_or_else(|e| panic!("{e}"));
    }
    store.wait_for_rebuild();
    let after = store.snapshot();
    assert_eq!(
        after.version, 12,
        "a rebuild publishes the same model version"
    );
    assert!(
        !Arc::ptr_eq(&first.index, &after.index),
        "new indexes were published"
    );
    assert!(
        after.dirty.len() < 12,
        "rows changed before the rebuilt version are clean"
    );
    // Clean rows from the new index plus dirty rows from the model give the model's answer.
    let from_model: Vec<u32> = after
        .model
        .users
        .iter()
        .map(|(r, u)| (r as usize, u))
        .filter(|(_, u)| u.state == State::Banned)
        .map(|(r, _)| r as u32)
        .collect();
    assert_eq!(state_rows(&after, State::Banned), from_model);
    assert!((0..12).all(|r| from_model.contains(&r)));
}

#[test]
fn a_single_user_update_shares_every_other_chunk() {
    let store = store(20_000);
    let before = store.snapshot();
    let id = before.model.users[9000].id.to_string(); // some chunk in the middle
    store
        .apply(&[Update::SetTwoFactor { id, enabled: true }])
        .unwrap_or_else(|e| panic!("{e}"));
    let after = store.snapshot();
    let chunks = after.model.users.shared_chunks(&after.model.users);
    assert!(chunks > 1);
    assert_eq!(
        after.model.users.shared_chunks(&before.model.users),
        chunks - 1
    );
    assert_eq!(
        after.model.grants.shared_chunks(&before.model.grants),
        before
            .model
            .grants
            .len()
            .div_ceil(userql_directory::shared::chunk_len::<
                userql_directory::model::Grant,
            >())
    );
}

fn store(users: usize) -> Store {
    Store::new(generate(&GenOptions { users, seed: 3 }))
}

#[test]
fn batch_applies_and_bumps_the_version() {
    let store = store(300);
    let before = store.snapshot();
    let version = store
        .apply(&[
            Update::AddUser(new_user("u-new", "newbie")),
            Update::SetState {
                id: "u-new".to_owned(),
                state: "blocked".to_owned(),
            },
            Update::AddGrant(raw::Grant {
                role: "developer".to_owned(),
                project: Some("p-0".to_owned()),
                user: Some("u-new".to_owned()),
                ..raw::Grant::default()
            }),
            Update::SetAdmin {
                id: "u-0000001".to_owned(),
                admin: true,
            },
        ])
        .map_err(|e| e.to_string());
    assert_eq!(version, Ok(1));
    let after = store.snapshot();
    assert_eq!(after.version, 1);
    assert_eq!(after.model.users.count(), before.model.users.count() + 1);
    let new = after
        .model
        .users
        .records()
        .last()
        .map(|u| (u.login.as_ref(), u.state, u.number));
    assert_eq!(new, Some(("newbie", State::Blocked, 301)));
    assert!(after.model.users[1].admin);
    // A grant changed the access part in place, and the admin flag its bitmap; the per-user
    // columns are shared with version 0, and the new row (the grantee) forms the overlay: a
    // flag-only update leaves its row clean.
    assert!(after.index.shares_columns(&before.index));
    assert_eq!(after.index.user_count(), 300);
    assert_eq!(after.dirty.iter().collect::<Vec<_>>(), [300]);
    assert!(after.index.flag(Flag::Admin).contains(1));
    assert!(!before.index.flag(Flag::Admin).contains(1));
    assert_eq!(after.row_of_login("NEWBIE"), Some(300));
    // Without a grant or a flag change the indexes are version 1's, and the overlay grows.
    store
        .apply(&[
            Update::AddUser(new_user("u-new2", "newbie2")),
            ban("u-0000002"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    let overlay = store.snapshot();
    assert!(Arc::ptr_eq(&overlay.index, &after.index));
    assert_eq!(overlay.dirty.iter().collect::<Vec<_>>(), [2, 300, 301]);
    assert_eq!(overlay.row_of_login("Newbie2"), Some(301));
    assert_eq!(overlay.row_of_id("u-new2"), Some(301));
    // The old snapshot is untouched.
    assert_eq!(before.model.users.count(), 300);
    // The new model is still a valid directory.
    let revalidated = load::validate(to_raw(&after.model)).map_err(|e| e.to_string());
    assert_eq!(revalidated.as_ref(), Ok(&*after.model));
}

#[test]
fn failing_batch_changes_nothing_and_reports_every_error() {
    let store = store(300);
    let before = store.snapshot();
    let guest_login = before.model.users[0].login.to_uppercase();
    let result = store.apply(&[
        Update::SetAdmin {
            id: "u-0000001".to_owned(),
            admin: true,
        },
        Update::AddUser(new_user("u-clash", &guest_login)),
        Update::RemoveUser {
            id: "u-nobody".to_owned(),
        },
        Update::SetState {
            id: "u-0000002".to_owned(),
            state: "asleep".to_owned(),
        },
        Update::AddMembership {
            user: "u-0000002".to_owned(),
            group: "g-missing".to_owned(),
            access: None,
        },
    ]);
    let errors = match result {
        Ok(v) => panic!("batch must fail, got version {v}"),
        Err(errors) => errors,
    };
    insta::assert_snapshot!(errors.to_string());
    let after = store.snapshot();
    assert_eq!(after.version, 0);
    assert!(Arc::ptr_eq(&before.model, &after.model));
}

#[test]
fn removing_a_user_cascades_to_grants_and_teams_and_keeps_numbers() {
    let store = store(2000);
    let before = store.snapshot();
    let team_user = before.model.teams[0].users[0];
    let victim = before.model.users[team_user as usize].id.clone();
    let last = before
        .model
        .users
        .records()
        .last()
        .map(|u| (u.id.clone(), u.number));
    store
        .apply(&[Update::RemoveUser {
            id: victim.clone().into(),
        }])
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let after = store.snapshot();
    assert!(after.model.users.records().all(|u| u.id != victim));
    // The row stays a hole (no renumbering); nothing refers to it any more.
    let users = &after.model.users;
    assert!(!users.is_live(team_user));
    assert_eq!(users.holes().iter().collect::<Vec<_>>(), vec![team_user]);
    assert_eq!(users.count() + 1, before.model.users.count());
    assert!(after
        .model
        .teams
        .iter()
        .all(|t| t.users.iter().all(|&r| users.is_live(r))));
    assert!(after
        .model
        .grants
        .iter()
        .all(|g| !matches!(g.subject, Subject::User(r) if !users.is_live(r))));
    // Numbers never change, and survive a save → load.
    let last_after = after
        .model
        .users
        .records()
        .last()
        .map(|u| (u.id.clone(), u.number));
    assert_eq!(last, last_after);
    // A save writes no holes: the reload has dense rows, the same file and the same numbers.
    let reloaded = load::validate(to_raw(&after.model)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(to_raw(&reloaded), to_raw(&after.model));
    let last_reloaded = reloaded
        .users
        .records()
        .last()
        .map(|u| (u.id.clone(), u.number));
    assert_eq!(last, last_reloaded);
}

#[test]
fn membership_and_ban_updates() {
    let store = store(300);
    let id = "u-0000005".to_owned();
    store
        .apply(&[
            Update::AddMembership {
                user: id.clone(),
                group: "g-3".to_owned(),
                access: Some("owner".to_owned()),
            },
            Update::Ban {
                id: id.clone(),
                status: Some("permanent".to_owned()),
                reason: None,
                at: Some("2026-02-01T00:00:00+01:00".to_owned()),
            },
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    let snap = store.snapshot();
    let user = &snap.model.users[5];
    assert_eq!(user.state, State::Banned);
    assert!(user.groups.iter().any(|m| m.group.0 == 3));
    assert!(snap.dirty.contains(5), "changed rows are in the overlay");
    assert!(state_rows(&snap, State::Banned).contains(&5));
    store
        .apply(&[
            Update::RemoveMembership {
                user: id.clone(),
                group: "g-3".to_owned(),
            },
            Update::Unban { id },
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    let snap = store.snapshot();
    assert_eq!(snap.model.users[5].state, State::Active);
    assert!(snap.model.users[5].groups.iter().all(|m| m.group.0 != 3));
}

/// Readers check, for the snapshot they hold, that the model and its index agree.
#[test]
fn readers_see_consistent_snapshots_while_a_writer_applies_batches() {
    let store = Arc::new(store(1500));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let store = Arc::clone(&store);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut last_version = 0;
                let mut checks = 0u32;
                while !done.load(Ordering::Acquire) || checks < 3 {
                    let snap = store.snapshot();
                    assert!(snap.version >= last_version, "versions only increase");
                    last_version = snap.version;
                    for state in [State::Blocked, State::Active] {
                        let from_model: Vec<u32> = snap
                            .model
                            .users
                            .iter()
                            .map(|(r, u)| (r as usize, u))
                            .filter(|(_, u)| u.state == state)
                            .map(|(r, _)| r as u32)
                            .collect();
                        assert_eq!(
                            from_model,
                            state_rows(&snap, state),
                            "version {}",
                            snap.version
                        );
                    }
                    // Rows the indexes have never seen are always in the overlay.
                    let indexed = snap.index.user_count();
                    assert!(
                        (indexed..snap.model.users.count() as u32).all(|r| snap.dirty.contains(r))
                    );
                    // Every snapshot has exactly the users the writer had added by its version.
                    let added = snap
                        .model
                        .users
                        .records()
                        .filter(|u| u.id.starts_with("u-added-"))
                        .count();
                    assert_eq!(added as u64, snap.version);
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    for i in 0..20 {
        let id = format!("u-0000{:03}", 100 + i);
        let result = store.apply(&[
            Update::SetState {
                id,
                state: "blocked".to_owned(),
            },
            Update::AddUser(new_user(&format!("u-added-{i}"), &format!("added{i}"))),
        ]);
        assert_eq!(result.map_err(|e| e.to_string()), Ok(i + 1));
    }
    done.store(true, Ordering::Release);
    for reader in readers {
        let checks = reader.join().unwrap_or_else(|_| panic!("reader panicked"));
        assert!(checks >= 3);
    }
    assert_eq!(store.version(), 20);
}

/// Single-user batches per second at 100k users with a reader thread running. Prints, never
/// asserts on time. Run: `cargo test --release -p userql-directory --test store -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_single_user_batches_per_second() {
    // USERQL_STORE_USERS (default 100k) and USERQL_STORE_BATCHES (default 5,000) size the run.
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let users = env("USERQL_STORE_USERS", 100_000);
    let batches = env("USERQL_STORE_BATCHES", 5_000);
    let started = Instant::now();
    let store = Arc::new(store(users));
    println!("generate + index {users}: {:?}", started.elapsed());
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, done) = (Arc::clone(&store), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !done.load(Ordering::Acquire) {
                let snap = store.snapshot();
                // What a query does with the overlay: clean rows from the index, dirty rows
                // from the model.
                let clean = snap.index.state(State::Active) - &*snap.dirty;
                reads += clean.len().min(1);
            }
            reads
        })
    };
    let ids: Vec<String> = store
        .snapshot()
        .model
        .users
        .records()
        .map(|u| u.id.to_string())
        .collect();
    let started = Instant::now();
    let mut rebuilds = 0;
    for i in 0..batches {
        let id = ids[(i * 7919) % users].clone();
        store
            .apply(&[Update::SetTwoFactor {
                id,
                enabled: i % 2 == 0,
            }])
            .unwrap_or_else(|e| panic!("{e}"));
        rebuilds += usize::from(store.snapshot().dirty.is_empty());
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Release);
    let reads = reader.join().unwrap_or(0);
    println!(
        "{batches} single-user batches at {users} users: {:?} ({:.0} batches/s, {rebuilds} index rebuilds), reader snapshots: {reads}",
        elapsed,
        batches as f64 / elapsed.as_secs_f64()
    );
}

/// Flag and state updates (2FA, admin, state) of clean rows flip their bits in the indexes in
/// place: the rows stay clean (a stream of them never compacts), and every flag and state
/// answer equals a fresh build's — also with two changes of one row in a batch, a state and a
/// flag together, and a ban (a record change: its row is dirty) before a flag change and an
/// unban after.
#[test]
fn flag_and_state_updates_stay_clean_and_answer_as_a_fresh_build() {
    let store = store(2_000);
    let first = store.snapshot();
    let id = |row: usize| first.model.users[row].id.to_string();
    let mut banned = Vec::new();
    for i in 0..60usize {
        let batch = match i % 5 {
            0 => vec![Update::SetTwoFactor {
                id: id(i * 13),
                enabled: i % 2 == 0,
            }],
            1 => vec![
                Update::SetAdmin {
                    id: id(i * 7),
                    admin: true,
                },
                Update::SetAdmin {
                    id: id(i * 7 + 1),
                    admin: true,
                },
                Update::SetAdmin {
                    id: id(i * 7),
                    admin: false,
                },
            ],
            2 => vec![
                Update::SetState {
                    id: id(i * 11),
                    state: "blocked".to_owned(),
                },
                Update::SetTwoFactor {
                    id: id(i * 11),
                    enabled: true,
                },
            ],
            3 => {
                banned.push((i * 3) as u32);
                vec![
                    ban(&id(i * 3)),
                    Update::SetAdmin {
                        id: id(i * 3),
                        admin: true,
                    },
                ]
            }
            _ => vec![Update::Unban {
                id: id((i - 1) * 3),
            }],
        };
        store.apply(&batch).unwrap_or_else(|e| panic!("{e}"));
    }
    let snap = store.snapshot();
    assert_eq!(snap.dirty.iter().collect::<Vec<_>>(), banned);
    let fresh = userql_directory::index::Indexes::build(&snap.model);
    let clean = |set: &userql_directory::RowSet| set - &*snap.dirty;
    for flag in Flag::ALL {
        assert_eq!(
            clean(snap.index.flag(flag)),
            clean(fresh.flag(flag)),
            "{flag:?}"
        );
    }
    for state in State::ALL {
        assert_eq!(
            clean(snap.index.state(state)),
            clean(fresh.state(state)),
            "{state:?}"
        );
    }
}
