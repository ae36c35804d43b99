//! The user directory: model, loading, indexes, snapshots and updates (issue 3).
#![deny(missing_docs)]

pub mod model;
pub mod text;
