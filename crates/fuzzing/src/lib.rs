//! Fuzz target bodies: one `pub fn(&[u8])` per target, shared by the cargo-fuzz crate (`fuzz/`,
//! nightly-only instrumentation) and the stable replay test (`tests/replay.rs`), so CI re-checks
//! every committed seed and regression input without libFuzzer.
//!
//! Contract of every target: it returns normally on *any* input, and panics only when it has
//! found a real bug — a parser or translator panicking, a broken documented property (canonical
//! print → re-parse round trip, load → save → load, in-range spans), or the indexed engine
//! disagreeing with the reference evaluator. Inputs that are merely invalid (a query that does not
//! parse, a directory that does not load) are the normal, uninteresting case.
#![deny(missing_docs)]

mod assist;
mod checks;
mod dialect;
mod differential;
mod fixture;
mod load;
mod options;
mod query;
mod router;

use std::borrow::Cow;

pub use assist::{assist, MAX_ASSIST_LEN};
pub use dialect::dialect_params;
pub use differential::{
    describe_differential, differential, directory_from, request_from, DifferentialCase,
    GeneratedRequest,
};
pub use load::load_json;
pub use options::{fields, order_by};
pub use query::hub_query;
pub use router::router;

/// A target body: returns on any input, panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target by its cargo-fuzz name (`fuzz/fuzz_targets/<name>.rs`, `fuzz/seeds/<name>/`), so
/// the replay test and the scripts cannot drift from the list of functions.
pub const TARGETS: &[(&str, Target)] = &[
    ("hub_query", hub_query),
    ("fields", fields),
    ("order_by", order_by),
    ("dialect_params", dialect_params),
    ("load_json", load_json),
    ("assist", assist),
    ("differential", differential),
    ("router", router),
];

/// Text targets see bytes as UTF-8 with invalid sequences replaced: parsers take `&str`, and a
/// lossy decode lets every mutation reach them instead of being discarded at the door.
fn text(data: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(data)
}
