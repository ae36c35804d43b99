//! Runs Hub queries many times over a generated directory, for profiling (`perf record`): per
//! query the mean time of a search (count and first page of 20) and its EXPLAIN.
//!
//! ```sh
//! cargo run --release -p userql-engine --example profile_query -- 1000000 200 'access(project: p-0, with: Developer)' ['nameStartsWith: mar' …]
//! ```

use std::time::Instant;

use userql_directory::generate::{generate, GenOptions, GEN_NOW_MS};
use userql_directory::Snapshot;
use userql_engine::{Engine, Top, Viewer};

fn main() {
    let mut args = std::env::args().skip(1);
    let users: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let mut queries: Vec<String> = args.collect();
    if queries.is_empty() {
        queries.push("has: 2FA".to_string());
    }
    let snapshot = Snapshot::new(generate(&GenOptions { users, seed: 42 }));
    let engine = Engine::default();
    for query in &queries {
        let mut request = match engine.request(query, Viewer::Admin) {
            Ok(request) => request,
            Err(error) => {
                eprint!("{}", error.render(query));
                std::process::exit(2);
            }
        };
        request.now = GEN_NOW_MS;
        request.top = Top::Count(20);
        let mut total = 0;
        let started = Instant::now();
        for _ in 0..runs {
            match engine.search(&snapshot, &request) {
                Ok(page) => total = page.total,
                Err(error) => {
                    eprint!("{}", error.render(query));
                    std::process::exit(2);
                }
            }
        }
        let elapsed = started.elapsed();
        println!(
            "{query}: {total} matches, {:.3} ms per search over {runs} runs",
            elapsed.as_secs_f64() * 1e3 / runs as f64
        );
        if let Ok((_, explain)) = engine.explain(&snapshot, &request) {
            println!("{explain}");
        }
    }
}
