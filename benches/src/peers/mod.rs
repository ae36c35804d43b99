//! The peers that answer the workload: userql itself, SQLite (B-tree indexes, and FTS5 trigrams
//! for the substring query) and the linear scan. One trait so the harness times them alike.

pub mod postgres;
pub mod scan;
pub mod sqlite;
pub mod userql;

use userql_directory::model::Row;

use crate::error::BenchError;
use crate::workload::Case;

/// Rows in a first page (benchmark.md: "the first page of 20 ordered by login").
pub const PAGE_SIZE: usize = 20;

/// Something that answers benchmark queries over the same directory.
pub trait Peer {
    /// The column name in the report.
    fn name(&self) -> &'static str;

    /// Whether this peer answers the query (the FTS5 peer only answers c).
    fn answers(&self, case: &Case) -> bool {
        let _ = case;
        true
    }

    /// The number of matching users.
    fn count(&mut self, case: &Case) -> Result<u64, BenchError>;

    /// The first [`PAGE_SIZE`] matching rows ordered by login (case-insensitively), ties by id.
    fn page(&mut self, case: &Case) -> Result<Vec<Row>, BenchError>;
}
