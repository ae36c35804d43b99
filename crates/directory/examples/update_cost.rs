//! Measures what one single-user update batch costs at a given directory size.
//!
//! ```sh
//! cargo run --release -p userql-directory --example update_cost -- 1000000 2000
//! ```

use std::time::Instant;

use userql_directory::generate::{generate, GenOptions};
use userql_directory::store::Update;
use userql_directory::Store;

fn main() {
    let mut args = std::env::args().skip(1);
    let users: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let batches: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let started = Instant::now();
    let model = generate(&GenOptions { users, seed: 3 });
    println!("generate {users}: {:?}", started.elapsed());
    let started = Instant::now();
    let store = Store::new(model);
    println!("index: {:?}", started.elapsed());
    let ids: Vec<String> = store
        .snapshot()
        .model
        .users
        .records()
        .map(|u| u.id.to_string())
        .collect();
    let mut rebuild_time = std::time::Duration::ZERO;
    let mut rebuilds = 0;
    let mut published = 0;
    let mut last_index = std::sync::Arc::clone(&store.snapshot().index);
    let started = Instant::now();
    for i in 0..batches {
        let id = ids[(i * 7919) % users].clone();
        let one = Instant::now();
        if let Err(e) = store.apply(&[Update::SetTwoFactor {
            id,
            enabled: i % 2 == 0,
        }]) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        let snapshot = store.snapshot();
        if snapshot.dirty.is_empty() {
            // The writer rebuilt the indexes itself during this batch.
            rebuilds += 1;
            rebuild_time += one.elapsed();
        }
        if !std::sync::Arc::ptr_eq(&snapshot.index, &last_index) {
            published += 1;
            last_index = std::sync::Arc::clone(&snapshot.index);
        }
    }
    let elapsed = started.elapsed();
    let without = elapsed - rebuild_time;
    println!(
        "{batches} single-user batches: {:?} total, {rebuilds} rebuilds by the writer taking {:?}, \
         {published} new indexes published in all; {:.1} µs per batch without writer rebuilds; \
         {:.0} batches/s overall",
        elapsed,
        rebuild_time,
        without.as_secs_f64() * 1e6 / (batches - rebuilds).max(1) as f64,
        batches as f64 / elapsed.as_secs_f64()
    );
}
