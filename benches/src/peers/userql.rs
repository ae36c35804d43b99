//! userql answering through its public API, exactly as a caller would: parse, bind, plan,
//! execute (and page). Parsing is inside the timing — it is part of answering query text, and
//! SQLite's equivalent (statement preparation) is cached, so this errs against userql.

use std::sync::Arc;

use userql_directory::generate::GEN_NOW_MS;
use userql_directory::index::Indexes;
use userql_directory::model::{Model, Row};
use userql_directory::Snapshot;
use userql_engine::{Engine, Request, Top, Viewer};

use super::{Peer, PAGE_SIZE};
use crate::error::BenchError;
use crate::workload::Case;

/// userql over one snapshot, as an administrator, with the clock fixed to the generator's "now".
pub struct UserqlPeer {
    engine: Engine,
    snapshot: Arc<Snapshot>,
}

impl UserqlPeer {
    /// Builds the indexes for `model` (the timed "build" of this peer).
    pub fn build(model: Arc<Model>) -> UserqlPeer {
        let index = Indexes::build(&model);
        UserqlPeer::over(Arc::new(Snapshot::indexed(0, model, Arc::new(index))))
    }

    /// A peer over an existing snapshot.
    pub fn over(snapshot: Arc<Snapshot>) -> UserqlPeer {
        UserqlPeer {
            engine: Engine::default(),
            snapshot,
        }
    }

    /// The snapshot (shared with the scan peer, which binds queries against it).
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    /// The engine used for every request.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// `case` as a request: admin viewer, fixed clock, first page of [`PAGE_SIZE`] by login.
    pub fn request(engine: &Engine, case: &Case) -> Result<Request, BenchError> {
        let mut request = engine
            .request(&case.hub, Viewer::Admin)
            .map_err(|e| query_error(case, &e))?;
        request.now = GEN_NOW_MS;
        request.top = Top::Count(PAGE_SIZE as u64);
        Ok(request)
    }
}

/// The harness error for an engine error on a benchmark query.
pub fn query_error(case: &Case, error: &userql_engine::Error) -> BenchError {
    BenchError::Query {
        letter: case.letter,
        query: case.hub.clone(),
        message: error.to_string(),
    }
}

impl Peer for UserqlPeer {
    fn name(&self) -> &'static str {
        "userql"
    }

    fn count(&mut self, case: &Case) -> Result<u64, BenchError> {
        let request = Self::request(&self.engine, case)?;
        let rows = self
            .engine
            .matches(&self.snapshot, &request)
            .map_err(|e| query_error(case, &e))?;
        Ok(rows.len())
    }

    fn page(&mut self, case: &Case) -> Result<Vec<Row>, BenchError> {
        let request = Self::request(&self.engine, case)?;
        let page = self
            .engine
            .search(&self.snapshot, &request)
            .map_err(|e| query_error(case, &e))?;
        Ok(page.rows)
    }
}
