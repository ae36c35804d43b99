//! Measures what single-change catalog batches (a new group or project, a group renamed, a
//! group moved under another parent) cost on the writer while delta levels exist (issue 13:
//! a catalog change used to be applied to every level, so its cost grew with their number).
//!
//! ```sh
//! cargo run --release -p userql-directory --example catalog_cost -- 1000000 20000
//! ```
//! Applies the seeded change stream (`generate_changes`, seed 42) one change per batch on a
//! store with the default limits for the directory's size but compacting on the writer's path
//! (no background thread, so the levels present at each change are reproducible), and times
//! the catalog changes only, per kind, with the number of delta levels they found. Under
//! callgrind, only the catalog applies are counted:
//! ```sh
//! valgrind --tool=callgrind --toggle-collect='*catalog_cost::apply_catalog*' \
//!     target/release/examples/catalog_cost 200000 20000
//! ```

#[cfg(feature = "example-mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use userql_directory::changes::{Change, EntityKind, Object};
use userql_directory::generate::{generate, generate_changes, GenOptions};
use userql_directory::store::{Store, StoreOptions};

/// The catalog kind of a change of the generated stream, if it is one.
fn kind(change: &Change) -> Option<&'static str> {
    match change {
        Change::Put(Object::Group(_)) => Some("new group"),
        Change::Put(Object::Project(_)) => Some("new project"),
        Change::Patch {
            kind: EntityKind::Group,
            set,
            ..
        } if set.contains_key("parent") => Some("group moved"),
        Change::Patch {
            kind: EntityKind::Group,
            ..
        } => Some("group renamed"),
        _ => None,
    }
}

/// One catalog change as its own batch (a function of its own: callgrind's toggle).
#[inline(never)]
fn apply_catalog(store: &Store, change: &Change) -> bool {
    store.apply_changes(std::slice::from_ref(change)).is_ok()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let users: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let started = Instant::now();
    let model = generate(&GenOptions { users, seed: 42 });
    let changes = generate_changes(&model, count, 42);
    println!("generate {users}: {:.2?}", started.elapsed());
    let options = StoreOptions {
        background: false,
        ..StoreOptions::for_users(users)
    };
    let store = Store::with_options(model, options);
    let mut times: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut levels_seen: BTreeMap<usize, usize> = BTreeMap::new();
    let mut slowest: Vec<(Duration, &str, usize)> = Vec::new();
    let mut refused = 0;
    for change in &changes {
        let Some(kind) = kind(change) else {
            if store.apply_changes(std::slice::from_ref(change)).is_err() {
                refused += 1;
            }
            continue;
        };
        let levels = store.snapshot().deltas.len();
        let t = Instant::now();
        if !apply_catalog(&store, change) {
            refused += 1;
            continue;
        }
        let took = t.elapsed();
        times.entry(kind).or_default().push(took);
        *levels_seen.entry(levels).or_default() += 1;
        slowest.push((took, kind, levels));
    }
    println!("{refused} refused; catalog changes by delta levels present: {levels_seen:?}");
    println!("| kind | n | median ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|");
    for (kind, mut list) in times {
        list.sort();
        let at = |q: f64| list[((list.len() - 1) as f64 * q).round() as usize];
        println!(
            "| {kind} | {} | {:.3} | {:.3} | {:.3} |",
            list.len(),
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            at(1.0).as_secs_f64() * 1e3
        );
    }
    slowest.sort_by_key(|b| std::cmp::Reverse(b.0));
    for (took, kind, levels) in slowest.iter().take(8) {
        println!(
            "{:.3} ms  {kind} ({levels} levels)",
            took.as_secs_f64() * 1e3
        );
    }
    // Without freeing the directory (seconds at 1M users, and nothing to measure).
    std::process::exit(0);
}
