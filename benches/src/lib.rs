//! Benchmarks and the peer comparison harness for userql (see `benches/RESULTS.md`).
//!
//! `spec/benchmark.md` is the contract: one generated directory (seed 42), twelve queries a–l,
//! and peers answering the same questions over the same data in the same run — userql, SQLite
//! in memory with the indexes a competent developer would add, SQLite's FTS5 trigram index for
//! the substring query, and the engine's reference evaluator as a linear scan. The harness
//! checks that every peer returns the same counts and first pages before it reports a single
//! timing: numbers for different answers would be meaningless.
//!
//! Modules, one job each: [`workload`] (the queries and their concrete values), [`peers`] (one
//! implementation per peer behind [`peers::Peer`]), [`harness`] (build, check, time),
//! [`extras`] (parse, update and dialect throughput), [`measure`] (samples, memory) and
//! [`report`] (markdown); [`loadgen`] is the HTTP load generator of `userql serve`. The `compare` binary and `tests/smoke.rs` both drive [`harness`].
//! Criterion lives only in `benches/benches/` (a dev-dependency), never in a library crate.
#![deny(missing_docs)]

/// The allocator of every harness binary and bench (feature `mimalloc`, on by default; this crate
/// is never a dependency of a library). RESULTS.md, "Allocator", has the measurements.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod changes;
pub mod error;
pub mod extras;
pub mod harness;
pub mod loadgen;
pub mod measure;
pub mod peers;
pub mod report;
pub mod workload;

pub use error::BenchError;
