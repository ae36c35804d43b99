//! Benchmarks and the peer comparison harness for userql (see `benches/RESULTS.md`).
