//! The directory the dialect and assist targets answer from: built once per process.

use std::sync::{Arc, OnceLock};

use userql_directory::generate::{generate, GenOptions};
use userql_directory::index::Indexes;
use userql_directory::Snapshot;

/// Generated (fixed seed, so runs are reproducible) rather than read from a file, so the targets
/// need nothing outside the repository. 60 users is enough for every key to have values and for
/// paging to have several pages, and small enough that one input costs well under a millisecond.
const USERS: usize = 60;

/// The shared snapshot.
pub(crate) fn snapshot() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let model = generate(&GenOptions {
            users: USERS,
            seed: 2026,
        });
        let index = Indexes::build(&model);
        Snapshot::indexed(0, Arc::new(model), Arc::new(index))
    })
}
