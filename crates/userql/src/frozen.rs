//! A snapshot answering HTTP-shaped requests: the store's router over one frozen version, so
//! the searches of every API (the routes listed in [`crate::http`]) answer on a snapshot as they
//! do on the store, and a write finds a store that cannot change.

use std::sync::Arc;

use userql_dialects::route::{self, LiveStore, WriteError};

use crate::http::{HttpRequest, HttpResponse};
use crate::store::Snapshot;
use crate::vocabulary::Viewer;

impl Snapshot {
    /// Answers an HTTP-shaped request the way the API behind its route does (the routes of
    /// [`crate::Store::serve`]), as `viewer`. Never panics; refusals are the API's own error responses.
    ///
    /// ```
    /// use userql::{Directory, HttpRequest, Store, Viewer};
    /// let store = Store::new(Directory::from_json(include_bytes!("../tests/data/tiny.json"))?);
    /// let response = store
    ///     .snapshot()
    ///     .handle(&HttpRequest::get("/api/v4/users?active=true&per_page=2"), &Viewer::admin());
    /// assert_eq!(response.status(), 200);
    /// assert!(response.header("X-Total").is_some());
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn handle(&self, request: &HttpRequest, viewer: &Viewer) -> HttpResponse {
        // The store's own router over this one version: the routes, parameters and refusals
        // are written once (`userql_dialects::route`), and a write finds a store that cannot
        // change.
        let router = route::Service::new(
            Arc::new(Frozen(Arc::clone(self.inner_arc()))),
            route::ServiceOptions {
                tokens: route::Tokens::default(),
                settings: self.dialect_settings().clone(),
                clock: route::Clock::System,
                engine: self.engine().clone(),
            },
        );
        router
            .handle_as(&request.as_route(), viewer.0.clone())
            .response
            .into()
    }
}

/// One version as the router's store: it reads, and refuses every write (writes go through
/// [`crate::Store`], which publishes new versions).
struct Frozen(Arc<userql_directory::Snapshot>);

impl LiveStore for Frozen {
    fn snapshot(&self) -> Arc<userql_directory::Snapshot> {
        Arc::clone(&self.0)
    }

    fn apply(&self, _: &[userql_directory::changes::Change]) -> Result<u64, WriteError> {
        Err(WriteError::Failed(
            "a snapshot is one version and cannot change: send writes to the store".into(),
        ))
    }
}
