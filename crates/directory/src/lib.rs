//! The user directory: model, loading, indexes, snapshots and updates (issue 3).
#![deny(missing_docs)]

pub mod changes;
pub mod error;
pub mod facts;
pub mod footprint;
#[cfg(feature = "generate")]
pub mod generate;
pub mod index;
pub mod load;
pub mod model;
pub mod packed;
pub mod raw;
pub mod save;
pub mod shared;
pub mod store;
pub mod text;

pub use load::{load_json, load_ndjson, load_path, load_path_limited, DEFAULT_MAX_FILE_BYTES};
pub use roaring::RoaringBitmap as RowSet;
pub use store::{Snapshot, Store};
