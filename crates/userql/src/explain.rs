//! EXPLAIN: how a Hub search was answered.

use std::fmt;

/// The plan a search ran, with estimated and actual rows per step and the time spent.
///
/// `Display` prints the plan with timings; [`Explain::without_times`] the same without them (stable
/// across runs, for tests and logs).
#[derive(Debug, Clone)]
pub struct Explain(pub(crate) userql_engine::Explain);

impl Explain {
    /// Every match.
    pub fn total(&self) -> u64 {
        self.0.total
    }

    /// Rows changed since the indexes were built that were checked one by one.
    pub fn overlay_rows(&self) -> u64 {
        self.0.overlay_rows
    }

    /// The plan, one step a line, without timings.
    pub fn without_times(&self) -> String {
        self.0.without_times()
    }
}

impl fmt::Display for Explain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
