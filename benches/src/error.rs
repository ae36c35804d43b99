//! What can go wrong in a benchmark run.

/// A benchmark failure. A [`BenchError::Mismatch`] means the peers disagree: some answer is
/// wrong, and the run must fail rather than print numbers for different questions.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// SQLite refused a statement or failed while loading.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// userql refused a benchmark query (a broken workload, since every query is valid Hub).
    #[error("userql rejected query {letter} `{query}`: {message}")]
    Query {
        /// The query letter.
        letter: char,
        /// The query text.
        query: String,
        /// The engine's message.
        message: String,
    },
    /// Peers returned different answers; the text lists every difference.
    #[error("peers disagree:\n{0}")]
    Mismatch(String),
    /// PostgreSQL (the cluster, the load or a statement) failed.
    #[error("postgres: {0}")]
    Postgres(String),
    /// Writing the report failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A directory update was refused (the update benchmark builds only valid ones).
    #[error("update refused: {0}")]
    Update(String),
}
