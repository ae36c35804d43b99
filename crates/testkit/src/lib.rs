//! Random valid directories and Hub queries, decoded from bytes with `arbitrary`: the one
//! builder behind the engine's differential test (`crates/engine/tests/differential.rs`, bytes
//! from proptest) and the fuzz targets (`crates/fuzzing`, bytes from libFuzzer), so both test the
//! same shapes of data and query.
//!
//! - [`model`]: a [`DirectorySpec`] → a valid [`Model`]: unique
//!   logins (case-insensitively) and numbers, an acyclic group forest, every index kind given
//!   data, names with case and accent traps, module and type values in several cases.
//! - [`query`]: a [`QuerySpec`] → query text over every key and tuple of the syntax catalogue,
//!   values drawn from the directory itself, near misses or free text.
//! - [`changes`]: random changes over a directory as it stands, refusals included (the
//!   engine's differential test after changes, the durable state's replay test).
//!
//! Test support only: the engine takes it as a dev-dependency and the fuzzing crate as a
//! dependency; no library build contains it.
#![deny(missing_docs)]

pub mod changes;
mod model;
mod query;
mod spec;

use arbitrary::{Arbitrary, Unstructured};
use userql_directory::model::Model;

pub use model::model;
pub use query::{query, sort_key};
pub use spec::{
    AuthSpec, ClauseSpec, DirectorySpec, GrantSpec, GroupSpec, ProjectSpec, QuerySpec, TeamSpec,
    UserSpec, ValueSpec,
};

/// The clock generated times are relative to: 2026-06-15T12:00:00Z, the generator's "now"
/// (`userql_directory::generate::GEN_NOW_MS`) and the fixture's worked examples.
pub const NOW: i64 = 1_781_524_800_000;

/// The directory the bytes decode to; `None` when they are too few to decode.
pub fn model_from(data: &[u8]) -> Option<Model> {
    let spec = DirectorySpec::arbitrary_take_rest(Unstructured::new(data)).ok()?;
    Some(model(&spec))
}

/// The query text the bytes decode to over `model`; `None` when they are too few to decode.
pub fn query_from(model: &Model, data: &[u8]) -> Option<String> {
    let spec = QuerySpec::arbitrary_take_rest(Unstructured::new(data)).ok()?;
    Some(query(model, &spec))
}
