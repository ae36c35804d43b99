//! PostgreSQL as a peer (`spec/sql.md`): the directory loaded into a throwaway cluster with
//! `userql pg load`'s loader, each benchmark query compiled by `userql-pg` to one statement.
//! Counting runs the statement with a page of zero rows; the first page with twenty.

use std::sync::Arc;

use userql_directory::generate::GEN_NOW_MS;
use userql_directory::model::Row;
use userql_directory::Snapshot;
use userql_engine::{Engine, Request, Top, Viewer};
use userql_pg::{Backend, PgPage};

use super::{Peer, PAGE_SIZE};
use crate::error::BenchError;
use crate::peers::userql::query_error;
use crate::workload::Case;

/// A backend over a loaded schema; `snapshot` maps the returned ids back to rows.
pub struct PostgresPeer {
    backend: Backend,
    engine: Engine,
    snapshot: Arc<Snapshot>,
}

fn pg_error(e: userql_pg::Error) -> BenchError {
    BenchError::Postgres(e.to_string())
}

impl PostgresPeer {
    /// A peer over an open backend.
    pub fn new(backend: Backend, snapshot: Arc<Snapshot>) -> PostgresPeer {
        PostgresPeer {
            backend,
            engine: Engine::default(),
            snapshot,
        }
    }

    fn request(&self, case: &Case, top: u64) -> Result<Request, BenchError> {
        let mut request = self
            .engine
            .request(&case.hub, Viewer::Admin)
            .map_err(|e| query_error(case, &e))?;
        request.now = GEN_NOW_MS;
        request.top = Top::Count(top);
        Ok(request)
    }

    fn search(&mut self, case: &Case, top: u64) -> Result<PgPage, BenchError> {
        let request = self.request(case, top)?;
        self.backend
            .search(&self.engine, &request)
            .map_err(pg_error)
    }

    /// The statement for the first page and PostgreSQL's `EXPLAIN (ANALYZE, BUFFERS)` of it.
    pub fn explain(&mut self, case: &Case) -> Result<(String, String), BenchError> {
        let request = self.request(case, PAGE_SIZE as u64)?;
        let (statement, plan) = self
            .backend
            .explain(&self.engine, &request)
            .map_err(pg_error)?;
        Ok((statement.to_string(), plan))
    }

    /// The connection (database size queries).
    pub fn backend(&mut self) -> &mut Backend {
        &mut self.backend
    }
}

impl Peer for PostgresPeer {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn count(&mut self, case: &Case) -> Result<u64, BenchError> {
        Ok(self.search(case, 0)?.total)
    }

    fn page(&mut self, case: &Case) -> Result<Vec<Row>, BenchError> {
        let page = self.search(case, PAGE_SIZE as u64)?;
        page.ids
            .iter()
            .map(|id| {
                self.snapshot
                    .row_of_id(id)
                    .ok_or_else(|| BenchError::Postgres(format!("unknown id {id} returned")))
            })
            .collect()
    }
}
