//! PostgreSQL as a peer (`spec/sql.md`): the directory loaded into a throwaway cluster with
//! `userql pg load`'s loader, each benchmark query compiled by `userql-pg` to one statement.
//! Counting runs the statement with a page of zero rows; the first page with twenty. Dialect
//! requests (benchmark.md's GitLab and TFE rows) are answered through the dialects' row-source
//! seam ([`userql_pg::PgSource`]): one statement computes the total and the page.

use std::sync::Arc;

use userql_dialects::{parse_query_string, Answer, Dialect, Settings};
use userql_directory::generate::GEN_NOW_MS;
use userql_directory::model::Row;
use userql_directory::Snapshot;
use userql_engine::{Engine, Request, Top, Viewer};
use userql_pg::dialect::DialectRequest;
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

    /// A dialect request as an administrator at the generator's clock.
    fn dialect_request(dialect: Dialect, query_string: &str) -> DialectRequest {
        DialectRequest {
            dialect,
            params: parse_query_string(query_string),
            viewer: Viewer::Admin,
            now: GEN_NOW_MS,
        }
    }

    /// The whole answer of a dialect request (status, headers, body, ids, total), as the API
    /// would send it.
    pub fn dialect(&mut self, dialect: Dialect, query_string: &str) -> Result<Answer, BenchError> {
        userql_pg::dialect::answer(
            &mut self.backend,
            &self.engine,
            Self::dialect_request(dialect, query_string),
            &Settings::default(),
        )
        .map_err(pg_error)
    }

    /// Each statement a dialect request runs, with PostgreSQL's `EXPLAIN (ANALYZE, BUFFERS)`.
    pub fn dialect_explain(
        &mut self,
        dialect: Dialect,
        query_string: &str,
    ) -> Result<Vec<(String, String)>, BenchError> {
        let request = Self::dialect_request(dialect, query_string);
        let context =
            userql_pg::dialect::backend_context(&mut self.backend, &request).map_err(pg_error)?;
        let (_, statements) = userql_pg::dialect::statements(
            &self.engine,
            self.backend.catalog(),
            &context,
            request,
            &Settings::default(),
        )
        .map_err(pg_error)?;
        statements
            .into_iter()
            .map(|statement| {
                let plan = self
                    .backend
                    .explain_statement(&statement)
                    .map_err(pg_error)?;
                Ok((statement.to_string(), plan))
            })
            .collect()
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
