//! Measures what single-change batches of the slow kinds (membership put and delete, user
//! deletion) cost on the writer at a given directory size, and names the slowest with what
//! they touched (the group's transitive members and depth, the user's grants and teams).
//!
//! ```sh
//! cargo run --release -p userql-directory --example member_cost -- 1000000 3000
//! ```
//! The changes are those of the seeded change stream (`generate_changes`, seed 42) of those
//! kinds, each its own batch on a writer-only store (no background compaction, no rebuild by
//! the writer), as `changes --writer-only` runs them. A change the filtered stream refuses out
//! of context is skipped. With a third argument `N`, the example prints `ready`, waits N
//! seconds (time to attach a profiler to the apply loop alone), then runs; a fourth keeps only
//! the changes of that kind (`"membership put"`, `"membership delete"`, `"delete user"`).
//!
//! Load-independent counts of the apply loop alone (`PERF_CTL` set: the changes are not
//! described, and `enable` / `disable` are written to that file around the loop, for
//! `perf stat --control fifo:…` where counters exist); under callgrind, start uninstrumented and
//! switch it on at `ready`:
//! ```sh
//! PERF_CTL=/dev/null valgrind --tool=callgrind --instr-atstart=no \
//!     target/release/examples/member_cost 1000000 3000 5 &   # then, at `ready`:
//! callgrind_control -i on
//! ```

#[cfg(feature = "example-mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use userql_directory::changes::{Change, EntityKind, Object, Target};
use userql_directory::generate::{generate, generate_changes, GenOptions};
use userql_directory::store::{Store, StoreOptions};

fn kind(change: &Change) -> Option<&'static str> {
    match change {
        Change::Put(Object::Membership(_)) => Some("membership put"),
        Change::Delete(Target::Membership(_)) => Some("membership delete"),
        Change::Delete(Target::Entity {
            kind: EntityKind::User,
            ..
        }) => Some("delete user"),
        _ => None,
    }
}

/// What a change touched, for the slowest list.
fn describe(store: &Store, change: &Change) -> String {
    let snapshot = store.snapshot();
    let index = &snapshot.index;
    match change {
        Change::Put(Object::Membership(m)) | Change::Delete(Target::Membership(m)) => {
            let groups = index.resolve_group(&m.group);
            let Some(&g) = groups.first() else {
                return m.group.clone();
            };
            let chain = index.group_ancestors(g);
            let all: Vec<_> = std::iter::once(g).chain(chain.iter().copied()).collect();
            let sizes: Vec<u64> = all
                .iter()
                .map(|&g| index.group_transitive(g).len())
                .collect();
            let model = &snapshot.model;
            let teams: Vec<u64> = model
                .teams
                .iter()
                .enumerate()
                .filter(|(_, t)| t.groups.iter().any(|g| all.contains(g)))
                .map(|(t, _)| {
                    index
                        .team_members(userql_directory::model::TeamIdx(t as u32))
                        .len()
                })
                .collect();
            let grants = model
                .grants
                .iter()
                .filter(|gr| matches!(gr.subject, userql_directory::model::Subject::Group(g) if all.contains(&g)))
                .count();
            format!(
                "{} transitive {:?}, {} grants, {} teams {:?}",
                m.group,
                sizes,
                grants,
                teams.len(),
                &teams[..teams.len().min(8)]
            )
        }
        Change::Delete(Target::Entity { id, .. }) => id.clone(),
        _ => String::new(),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let users: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3_000);
    let pause: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    // Only the changes of this kind (a row of the table), for per-kind counts.
    let only = args.next().filter(|kind| !kind.is_empty());
    let started = Instant::now();
    let model = generate(&GenOptions { users, seed: 42 });
    let changes: Vec<Change> = generate_changes(&model, count, 42)
        .into_iter()
        .filter(|c| kind(c).is_some_and(|k| only.as_deref().is_none_or(|only| only == k)))
        .collect();
    println!("generate {users}: {:.2?}", started.elapsed());
    let store = Store::with_options(model, StoreOptions::never_compact());
    if pause > 0 {
        println!("ready");
        std::thread::sleep(Duration::from_secs(pause));
    }
    // `perf stat --control`: count the apply loop only.
    let control = std::env::var_os("PERF_CTL");
    let signal = |what: &str| {
        if let Some(path) = &control {
            let _ = std::fs::write(path, format!("{what}\n"));
        }
    };
    signal("enable");
    let mut times: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut slowest: Vec<(Duration, String)> = Vec::new();
    let mut refused = 0;
    for change in &changes {
        let Some(kind) = kind(change) else { continue };
        let what = if control.is_some() {
            String::new()
        } else {
            describe(&store, change)
        };
        let t = Instant::now();
        if store.apply_changes(std::slice::from_ref(change)).is_err() {
            refused += 1;
            continue;
        }
        let took = t.elapsed();
        times.entry(kind).or_default().push(took);
        slowest.push((took, format!("{kind}: {what}")));
    }
    signal("disable");
    println!("{refused} refused");
    println!("| kind | n | median ms | p99 ms | max ms |");
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
    for (took, what) in slowest.iter().take(12) {
        println!("{:.3} ms  {what}", took.as_secs_f64() * 1e3);
    }
    // Without freeing the directory: a profiler attached for the loop sees nothing after it.
    std::process::exit(0);
}
