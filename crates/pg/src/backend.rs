//! A connection to a loaded schema: binds requests against the cached catalog and answers them
//! with one statement each.

use std::sync::Arc;

use postgres::{Client, NoTls};
use userql_directory::index::Indexes;
use userql_directory::model::Model;
use userql_directory::text::fold;
use userql_directory::Snapshot;
use userql_engine::bind::{bind, BindContext};
use userql_engine::{Engine, Error as EngineError, ErrorKind, Request, Viewer};

use crate::catalog;
use crate::compile::{statement, Paging};
use crate::error::Error;
use crate::schema::{Schema, SCHEMA_VERSION};
use crate::sql::Statement;

/// One page answered by PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgPage {
    /// Every match, regardless of paging.
    pub total: u64,
    /// The page's user ids, in order.
    pub ids: Vec<String>,
    /// Rows skipped.
    pub skip: u64,
    /// The effective page size.
    pub top: u64,
    /// Whether the viewer is an administrator.
    pub admin_viewer: bool,
}

/// The statement for a request, bound against `catalog` (a user-less snapshot or a whole
/// directory) for a viewer whose admin status is known.
pub fn compile(
    engine: &Engine,
    catalog: &Snapshot,
    admin: bool,
    request: &Request,
) -> Result<Statement, Error> {
    // The engine's own checks, in the engine's order: limits on the tree, then the viewer's
    // right to the order keys — a request the engine refuses is refused here too.
    userql_syntax::check_tree(&request.query, &engine.options.limits)
        .map_err(userql_engine::Error::from)?;
    userql_engine::Visibility::hub(admin).check_order(&request.order)?;
    let ctx = BindContext {
        model: &catalog.model,
        index: &catalog.index,
        admin,
        now: request.now,
        lenient: engine.options.lenient,
    };
    let filter = bind(&request.query, &ctx)?;
    let paging = Paging {
        order: request.order.clone(),
        skip: request.skip,
        top: engine.effective_top(request.top),
    };
    Ok(statement(&catalog.model, &filter, &paging))
}

/// A connection to one userql schema, with its catalog cached.
pub struct Backend {
    client: Client,
    schema: Schema,
    catalog: Snapshot,
    /// The catalog with every grant to a group or team, indexed: what a dialect request naming
    /// no user translates against ([`Backend::shared_context`]). Built on first use, dropped
    /// with the catalog.
    shared: Option<(Arc<Model>, Arc<Indexes>)>,
    /// The schema's generation when the catalog was read ([`generation`]).
    generation: (i64, i64),
}

/// Which state of the schema a catalog was read from: the batches applied since the load, and
/// the OID of `userql_schema_version` (a reload creates it anew). Any change batch, from any
/// connection, and any reload change it.
fn generation(client: &mut Client) -> Result<(i64, i64), Error> {
    let row = client.query_one(
        "SELECT batches, tableoid::int8 FROM userql_schema_version LIMIT 1",
        &[],
    )?;
    Ok((row.get(0), row.get(1)))
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// Opens a connection (a libpq connection string or `postgres://` URL).
pub fn connect(url: &str) -> Result<Client, Error> {
    Ok(Client::connect(url, NoTls)?)
}

impl Backend {
    /// Connects, checks the schema version and reads the catalog.
    pub fn connect(url: &str, schema: Schema) -> Result<Backend, Error> {
        Backend::on(connect(url)?, schema)
    }

    /// Uses an open connection.
    pub fn on(mut client: Client, schema: Schema) -> Result<Backend, Error> {
        client.batch_execute(&format!("SET search_path TO {}, public", schema.quoted()))?;
        let found = client
            .query_opt("SELECT version FROM userql_schema_version LIMIT 1", &[])
            .map_err(|e| Error::Schema {
                schema: schema.name().to_owned(),
                message: format!(
                    "not a userql schema (load it with `userql pg load`): {}",
                    Error::from(e)
                ),
            })?;
        let version: Option<i32> = found.map(|row| row.get(0));
        if version != Some(SCHEMA_VERSION) {
            return Err(Error::Schema {
                schema: schema.name().to_owned(),
                message: format!(
                    "schema version {version:?}, this userql reads version {SCHEMA_VERSION}; reload with `userql pg load`"
                ),
            });
        }
        // The generation first: a batch committing in between makes the next check re-read.
        let generation = generation(&mut client)?;
        let catalog = catalog::snapshot(catalog::read(&mut client)?);
        Ok(Backend {
            client,
            schema,
            catalog,
            shared: None,
            generation,
        })
    }

    /// Re-reads the catalog (after the database changed underneath).
    pub fn refresh(&mut self) -> Result<(), Error> {
        self.generation = generation(&mut self.client)?;
        self.catalog = catalog::snapshot(catalog::read(&mut self.client)?);
        self.shared = None;
        Ok(())
    }

    /// Re-reads the catalog if a change batch or a reload (from any connection) changed the
    /// schema since it was read: one indexed single-row read per request, so a long-lived
    /// backend never binds names against a stale catalog.
    pub fn revalidate(&mut self) -> Result<(), Error> {
        if generation(&mut self.client)? != self.generation {
            self.refresh()?;
        }
        Ok(())
    }

    /// The directory of [`Backend::page_model`] for no user — the catalog and the grants to
    /// groups and teams — indexed once per catalog read instead of once per dialect request.
    pub fn shared_context(&mut self) -> Result<Snapshot, Error> {
        let (model, index) = match &self.shared {
            Some(shared) => shared.clone(),
            None => {
                let model = Arc::new(self.page_model(&[])?);
                let index = Arc::new(Indexes::build(&model));
                self.shared = Some((Arc::clone(&model), Arc::clone(&index)));
                (model, index)
            }
        };
        Ok(Snapshot::indexed(0, model, index))
    }

    /// Applies one change batch in one transaction (see [`crate::changes`]) and re-reads the
    /// catalog; returns the schema's batch count. A refused batch changes nothing.
    pub fn apply_changes(
        &mut self,
        batch: &[userql_directory::changes::Change],
    ) -> Result<u64, Error> {
        let version = crate::changes::apply(&mut self.client, batch)?;
        self.refresh()?;
        Ok(version)
    }

    /// Gives the connection back (e.g. to load another directory through it).
    pub fn into_client(self) -> Client {
        self.client
    }

    /// The cached catalog.
    pub fn catalog(&self) -> &Snapshot {
        &self.catalog
    }

    /// The connection and the cached catalog at once.
    pub fn client_and_catalog(&mut self) -> (&mut Client, &Snapshot) {
        (&mut self.client, &self.catalog)
    }

    /// PostgreSQL's `EXPLAIN (ANALYZE, BUFFERS)` of a statement.
    pub fn explain_statement(&mut self, statement: &Statement) -> Result<String, Error> {
        let text = format!("EXPLAIN (ANALYZE, BUFFERS) {}", statement.text);
        let rows = self.client.query(text.as_str(), &statement.args())?;
        let plan: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        Ok(plan.join("\n"))
    }

    /// The connection.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Whether the viewer is an administrator: the same rule as `Engine::is_admin`, with the
    /// viewer's account looked up by folded login in the database.
    pub fn is_admin(&mut self, viewer: &Viewer) -> Result<bool, Error> {
        match viewer {
            Viewer::Admin => Ok(true),
            Viewer::Anonymous => Ok(false),
            Viewer::Login(login) => {
                let folded = fold(login);
                if folded.contains('\0') {
                    return Err(unknown_viewer(login));
                }
                let row = self.client.query_opt(
                    "SELECT f_admin FROM users WHERE login_f = $1::text",
                    &[&folded],
                )?;
                row.map(|r| r.get(0)).ok_or_else(|| unknown_viewer(login))
            }
        }
    }

    /// The statement for a request and whether the viewer is an administrator.
    pub fn compile(
        &mut self,
        engine: &Engine,
        request: &Request,
    ) -> Result<(Statement, bool), Error> {
        self.revalidate()?;
        let admin = self.is_admin(&request.viewer)?;
        Ok((compile(engine, &self.catalog, admin, request)?, admin))
    }

    /// Answers a request: total and the page's ids.
    pub fn search(&mut self, engine: &Engine, request: &Request) -> Result<PgPage, Error> {
        let (statement, admin) = self.compile(engine, request)?;
        let row = self
            .client
            .query_one(statement.text.as_str(), &statement.args())?;
        let total: i64 = row.get(0);
        let ids: Vec<String> = row.get(1);
        Ok(PgPage {
            total: u64::try_from(total).unwrap_or(0),
            ids,
            skip: request.skip,
            top: engine.effective_top(request.top),
            admin_viewer: admin,
        })
    }

    /// Hub's response body (`userPage`), byte for byte the engine's.
    pub fn respond(
        &mut self,
        engine: &Engine,
        request: &Request,
    ) -> Result<(PgPage, serde_json::Value), Error> {
        let page = self.search(engine, request)?;
        let model = self.page_model(&page.ids)?;
        let body = crate::respond::hub_page(&model, &page, request.selection.as_ref());
        Ok((page, body))
    }

    /// The catalog plus the users `ids` (rows 0.. in that order) with their teams and grants:
    /// everything the engine's projection reads about them.
    pub fn page_model(&mut self, ids: &[String]) -> Result<userql_directory::model::Model, Error> {
        crate::respond::page_model(&mut self.client, &self.catalog.model, ids)
    }

    /// The statement and PostgreSQL's `EXPLAIN (ANALYZE, BUFFERS)` of it.
    pub fn explain(
        &mut self,
        engine: &Engine,
        request: &Request,
    ) -> Result<(Statement, String), Error> {
        let (statement, _) = self.compile(engine, request)?;
        let plan = self.explain_statement(&statement)?;
        Ok((statement, plan))
    }
}

fn unknown_viewer(login: &str) -> Error {
    Error::Request(EngineError::new(
        0..0,
        ErrorKind::UnknownViewer(login.to_owned()),
    ))
}
