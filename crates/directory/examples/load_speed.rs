//! Times loading a directory file end to end — parse, validate, build the model — from bytes
//! already in memory (reading the file is timed apart), and prints MB/s.
//!
//! ```sh
//! cargo run --release -p userql-cli -- gen --users 1000000 --seed 42 --format ndjson --out /tmp/g1m.ndjson
//! cargo run --release -p userql-directory --example load_speed -- /tmp/g1m.ndjson
//! ```

/// mimalloc, as the `userql` binary uses by default (`--features example-mimalloc`).
#[cfg(feature = "example-mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: load_speed FILE.json|FILE.ndjson [REPETITIONS]");
        std::process::exit(2);
    };
    let repetitions: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let started = Instant::now();
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(1);
        }
    };
    let read = started.elapsed();
    let megabytes = bytes.len() as f64 / 1e6;
    println!("read {megabytes:.0} MB in {read:.2?}");
    let ndjson = path.ends_with(".ndjson") || path.ends_with(".jsonl");
    for _ in 0..repetitions {
        let started = Instant::now();
        let loaded = if ndjson {
            userql_directory::load_ndjson(&bytes)
        } else {
            userql_directory::load_json(&bytes)
        };
        let took = started.elapsed();
        match &loaded {
            Ok(model) => println!(
                "load {} users in {took:.2?}: {:.0} MB/s",
                model.users.count(),
                megabytes / took.as_secs_f64()
            ),
            Err(errors) => {
                eprintln!("{errors}");
                std::process::exit(1);
            }
        }
        // Freeing millions of strings is not part of loading.
        let started = Instant::now();
        drop(loaded);
        println!("drop in {:.2?}", started.elapsed());
    }
}
