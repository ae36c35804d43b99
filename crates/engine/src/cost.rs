//! The cost bound of a request: a work estimate checked against a budget before anything runs,
//! and a deadline checked while rows are touched.
//!
//! # Cost model
//! Work is counted in *row visits*. A lookup that scans or materialises rows one by one costs the
//! rows it touches: a substring under three bytes scans every user having the field, a longer one
//! verifies its smallest trigram posting, a term/prefix/range lookup builds its matches, an
//! `identity(…)` lookup verifies its candidates. Set operations on bitmaps the index already holds
//! work on 64-bit words, so they cost a 64th of their rows. An `and` adds, for each residual
//! predicate, one check per candidate row; a complement costs a 64th of the universe. The sum is
//! compared with [`crate::Options::work_budget`] (default [`DEFAULT_WORK_BUDGET`], about a second
//! on one core) and a request above it is refused with [`ErrorKind::TooCostly`] —
//! every API answers it with its 400.
//!
//! Paging and projection are bounded separately: a page holds at most `top_cap` users, each
//! projected in O(own grants); sorting is O(m log m) in the matches `m`.
//!
//! # Deadline
//! Estimates can be wrong, so the loops that touch rows (the executor between operators and
//! every [`CHECK_EVERY`] rows of a residual or verification pass, the page walk, the sort key
//! precomputation and every sorted chunk, projection per user) check a [`Deadline`] ([`crate::Options::time_budget`]); past it
//! the request is cancelled with [`ErrorKind::TimedOut`], not finished.

use std::time::{Duration, Instant};

use userql_directory::index::{Flag, Indexes, TermField};

use crate::bound::Pred;
use crate::error::{Error, ErrorKind};
use crate::plan::{precomputed, Node, Plan};

/// Default [`crate::Options::work_budget`]: 16 million row visits (at a million users: four
/// scans for one- or two-character words, about a second on one core).
pub const DEFAULT_WORK_BUDGET: u64 = 16_000_000;
/// Default [`crate::Options::time_budget`].
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(5);
/// Rows between two deadline checks in a row loop (an `Instant::now()` is ~25 ns).
pub const CHECK_EVERY: usize = 4096;
/// Rows per 64-bit word of a bitmap operation.
const WORD: u64 = 64;

/// When a request must be finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Option<Instant>,
    budget: Duration,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Deadline {
        Deadline {
            at: Instant::now().checked_add(budget),
            budget,
        }
    }

    /// No deadline (benchmarks, the oracle).
    pub fn never() -> Deadline {
        Deadline {
            at: None,
            budget: Duration::MAX,
        }
    }

    /// `Err` once the deadline has passed.
    pub fn check(&self) -> Result<(), Error> {
        match self.at {
            Some(at) if Instant::now() >= at => Err(Error::new(
                0..0,
                ErrorKind::TimedOut {
                    limit_ms: u64::try_from(self.budget.as_millis()).unwrap_or(u64::MAX),
                },
            )),
            _ => Ok(()),
        }
    }

    /// Checks every [`CHECK_EVERY`]-th call (pass the loop counter).
    pub fn check_at(&self, counter: usize) -> Result<(), Error> {
        if counter.is_multiple_of(CHECK_EVERY) {
            self.check()
        } else {
            Ok(())
        }
    }
}

/// The estimated row visits of a plan (see the module docs).
pub fn work(plan: &Plan, index: &Indexes) -> u64 {
    node_work(&plan.root, plan.universe, index)
}

/// Refuses a plan whose [`work`] exceeds `budget`.
pub fn check(plan: &Plan, index: &Indexes, budget: u64) -> Result<u64, Error> {
    let estimate = work(plan, index);
    if estimate > budget {
        return Err(Error::new(0..0, ErrorKind::TooCostly { estimate, budget }));
    }
    Ok(estimate)
}

/// Recursion is bounded by the tree limits checked before planning (depth ≤ `max_depth`).
fn node_work(node: &Node, universe: u64, index: &Indexes) -> u64 {
    let words = |rows: u64| rows / WORD + 1;
    match node {
        Node::Empty | Node::All { .. } => 1,
        Node::Lookup { pred, est } => lookup_work(pred, *est, index),
        Node::And {
            inputs,
            minus,
            residual,
            est: _,
        } => {
            let children: u64 = inputs
                .iter()
                .chain(minus)
                .map(|n| node_work(n, universe, index).saturating_add(words(n.est())))
                .fold(0, u64::saturating_add);
            let candidates = inputs.iter().map(Node::est).min().unwrap_or(universe);
            children.saturating_add(candidates.saturating_mul(residual.len() as u64))
        }
        Node::Or { inputs, .. } => inputs
            .iter()
            .map(|n| node_work(n, universe, index).saturating_add(words(n.est())))
            .fold(0, u64::saturating_add),
        Node::Complement { input, .. } => {
            node_work(input, universe, index).saturating_add(words(universe))
        }
    }
}

fn lookup_work(pred: &Pred, est: u64, index: &Indexes) -> u64 {
    if precomputed(pred) {
        return est / WORD + 1;
    }
    match pred {
        // A substring lookup's estimate is what it touches: every value of the field under three
        // bytes, the smallest trigram posting otherwise.
        Pred::Substring(field, needle) => index.substring_estimate(*field, needle),
        // Verified row by row over every user of the provider (or with any auth detail).
        Pred::Identity { provider, .. } => match provider {
            Some(p) => index.term_count(TermField::AuthModuleType, p),
            None => index.flag(Flag::HasAuth).len(),
        },
        _ => est,
    }
    .max(1)
}
