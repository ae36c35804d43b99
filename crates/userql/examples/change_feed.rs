//! Keep a userql directory in sync with an application's own change feed.
//!
//! The application owns its users (a database, an event stream); userql serves searches over a
//! copy. A writer thread turns the feed's events into typed [`Change`] batches — one batch per
//! transaction, applied atomically — while request threads keep reading snapshots without ever
//! waiting for the writer. Run with a directory argument, the store is durable: the batches are
//! logged in that state directory and a second run starts from where the first stopped.
//!
//! ```sh
//! cargo run -p userql --example change_feed
//! cargo run -p userql --example change_feed -- /tmp/feed-state   # durable, run it twice
//! ```

use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use userql::{AccessLevel, Change, Directory, HubQuery, Kind, NewUser, Store};

/// The groups of the example as a directory file, to seed a state directory.
const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/feed-seed.json");

/// What the application's database emits: its own vocabulary, not userql's.
enum Event {
    SignedUp {
        id: u64,
        login: String,
        name: String,
        at: DateTime<Utc>,
    },
    JoinedTeam {
        id: u64,
        team: String,
    },
    Suspended {
        id: u64,
    },
    Enrolled2fa {
        id: u64,
    },
}

fn user_id(id: u64) -> String {
    format!("app-{id}")
}

/// One event as userql changes.
fn changes(event: Event) -> Vec<Change> {
    match event {
        Event::SignedUp {
            id,
            login,
            name,
            at,
        } => vec![
            Change::put_user(NewUser::new(user_id(id), login, at).name(name)),
            Change::touch(user_id(id), at),
        ],
        Event::JoinedTeam { id, team } => vec![Change::put_membership(
            user_id(id),
            team,
            Some(AccessLevel::Developer),
        )],
        Event::Suspended { id } => vec![Change::patch(
            Kind::User,
            user_id(id),
            [("state", json!("blocked"))],
        )],
        Event::Enrolled2fa { id } => vec![Change::patch(
            Kind::User,
            user_id(id),
            [("two_factor", json!(true))],
        )],
    }
}

fn main() -> Result<(), userql::Error> {
    let store = Arc::new(match std::env::args_os().nth(1) {
        // A state directory, seeded on the first run from the same two groups as a file.
        Some(dir) => Store::open_state(&dir, Some(SEED.as_ref()))?,
        None => Store::new(
            Directory::builder()
                .group("g-eng", "Engineering", None)
                .group("g-web", "Web", Some("g-eng"))
                .build()?,
        ),
    });
    // A second run against the same state directory continues the feed after the users it has.
    let first = store.snapshot().user_count() as u64;

    // The feed: transactions of events, in commit order.
    let (feed, transactions) = mpsc::channel::<Vec<Event>>();
    let writer = {
        let store = Arc::clone(&store);
        thread::spawn(move || -> Result<u64, userql::Error> {
            let mut version = store.version();
            for transaction in transactions {
                let batch: Vec<Change> = transaction.into_iter().flat_map(changes).collect();
                version = store.apply(&batch)?;
            }
            Ok(version)
        })
    };

    let start = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    for id in first..first + 200 {
        let at = start + Duration::hours(id as i64);
        let mut transaction = vec![Event::SignedUp {
            id,
            login: format!("user{id}"),
            name: format!("User {id}"),
            at,
        }];
        if id % 3 == 0 {
            transaction.push(Event::JoinedTeam {
                id,
                team: "g-web".into(),
            });
        }
        if id % 4 == 0 {
            transaction.push(Event::Enrolled2fa { id });
        }
        if id % 50 == 49 {
            transaction.push(Event::Suspended { id });
        }
        // Readers never wait for the writer: a search here sees some prefix of the feed.
        let seen = store.search(&HubQuery::new(""))?.total;
        assert!(seen <= id, "{seen} users seen before user {id} signed up");
        feed.send(transaction).expect("the writer is running");
    }
    drop(feed);
    let version = writer.join().expect("the writer does not panic")?;

    let query = HubQuery::new("in: Engineering and has: 2FA and state: active").now(start);
    let page = store.search(&query)?;
    println!(
        "version {version}: {} users, {} of them active 2FA members of Engineering (first: {:?})",
        store.snapshot().user_count(),
        page.total,
        page.ids.first()
    );
    Ok(())
}
