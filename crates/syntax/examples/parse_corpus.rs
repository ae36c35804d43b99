//! Parses the grammar corpus in rounds and prints queries per second: the parser's throughput
//! measurement, small enough to run under `valgrind --tool=callgrind` (instruction counts are
//! repeatable on a noisy machine, wall time is not).
//!
//! `cargo run --release -p userql-syntax --example parse_corpus -- [ROUNDS]`

use std::time::Instant;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(2_000);
    let corpus: Vec<&str> = include_str!("../../../grammar/corpus/valid.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let started = Instant::now();
    let mut parsed = 0u64;
    for _ in 0..rounds {
        for query in &corpus {
            std::hint::black_box(userql_syntax::parse_query(std::hint::black_box(query)).is_ok());
            parsed += 1;
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{parsed} queries in {:.3} s: {:.0} queries/s",
        elapsed.as_secs_f64(),
        parsed as f64 / elapsed.as_secs_f64()
    );
}
