//! The linear-scan peer: the engine's reference evaluator over `Vec<User>`, with its per-user
//! [`Facts`] prebuilt once (`Facts::new`, linear in users + grants + memberships), then
//! `reference::evaluate` for every query — no index is touched after binding.
//!
//! The first page is a top-k selection by (folded login, id) over the matches — what a scan
//! would do — instead of the reference's full comparator sort, which allocates per comparison.

use std::sync::Arc;

use userql_directory::model::Row;
use userql_directory::text::fold;
use userql_directory::Snapshot;
use userql_engine::reference::{self, Facts};
use userql_engine::Engine;

use super::userql::{query_error, UserqlPeer};
use super::{Peer, PAGE_SIZE};
use crate::error::BenchError;
use crate::workload::Case;

/// The scan peer. Queries are bound against the userql snapshot (entity names → indices only);
/// evaluation never touches an index.
pub struct ScanPeer {
    engine: Engine,
    snapshot: Arc<Snapshot>,
    facts: Facts,
}

impl ScanPeer {
    /// Prebuilds the facts (the timed "build" of this peer).
    pub fn build(snapshot: Arc<Snapshot>) -> ScanPeer {
        let facts = Facts::new(&snapshot.model);
        ScanPeer {
            engine: Engine::default(),
            snapshot,
            facts,
        }
    }

    fn evaluate(&self, case: &Case) -> Result<Vec<Row>, BenchError> {
        let request = UserqlPeer::request(&self.engine, case)?;
        let expr = self
            .engine
            .bind(&self.snapshot, &request)
            .map_err(|e| query_error(case, &e))?;
        Ok(reference::evaluate(
            &self.snapshot.model,
            &self.facts,
            &expr,
        ))
    }
}

impl Peer for ScanPeer {
    fn name(&self) -> &'static str {
        "scan"
    }

    fn count(&mut self, case: &Case) -> Result<u64, BenchError> {
        Ok(self.evaluate(case)?.len() as u64)
    }

    fn page(&mut self, case: &Case) -> Result<Vec<Row>, BenchError> {
        let rows = self.evaluate(case)?;
        let model = &self.snapshot.model;
        let mut keyed: Vec<(String, &str, Row)> = rows
            .into_iter()
            .map(|row| {
                let user = &model.users[row as usize];
                (fold(&user.login), user.id.as_ref(), row)
            })
            .collect();
        if keyed.len() > PAGE_SIZE {
            keyed.select_nth_unstable(PAGE_SIZE - 1);
            keyed.truncate(PAGE_SIZE);
        }
        keyed.sort_unstable();
        Ok(keyed.into_iter().map(|(_, _, row)| row).collect())
    }
}
