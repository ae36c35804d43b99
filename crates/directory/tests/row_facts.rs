//! The overlay's row facts come from the writer's grants by subject, shared by every snapshot
//! (persistent maps): after any stream of changes they must equal the facts of a fresh build
//! over the same model — for the current snapshot and for one a reader kept from earlier.

use userql_directory::facts::{RowFacts, Subjects};
use userql_directory::generate::{generate, generate_changes, GenOptions};
use userql_directory::store::StoreOptions;
use userql_directory::{Snapshot, Store};

/// Facts with the multiset of grants in a canonical order (the writer removes grants by
/// swapping, a fresh build lists them in directory order).
fn canonical(mut facts: RowFacts) -> RowFacts {
    facts
        .access
        .sort_unstable_by_key(|&(role, scope)| (role, format!("{scope:?}")));
    facts
}

/// Every live row of `snapshot` has the facts a fresh build over its model gives.
fn assert_facts_exact(snapshot: &Snapshot) {
    let fresh = Subjects::build(&snapshot.model);
    let mut checked = 0;
    for (row, _) in snapshot.model.users.iter() {
        assert_eq!(
            canonical(snapshot.row_facts(row)),
            canonical(fresh.facts(&snapshot.model, row)),
            "row {row} at version {}",
            snapshot.version
        );
        checked += 1;
    }
    assert!(checked > 0, "no user was checked");
}

#[test]
fn row_facts_follow_every_change_and_stay_with_their_snapshot() {
    let model = generate(&GenOptions {
        users: 1_500,
        seed: 11,
    });
    let changes = generate_changes(&model, 600, 11);
    for background in [false, true] {
        let store = Store::with_options(
            model.clone(),
            StoreOptions {
                max_dirty: 64,
                max_delta: 0,
                background,
                idle_compaction: None,
            },
        );
        let (first, rest) = changes.split_at(changes.len() / 2);
        for change in first {
            store
                .apply_changes(std::slice::from_ref(change))
                .expect("the generated stream applies");
        }
        let kept = store.snapshot();
        for batch in rest.chunks(7) {
            store
                .apply_changes(batch)
                .expect("the generated stream applies");
        }
        store.wait_for_rebuild();
        assert!(store.version() > kept.version);
        assert_facts_exact(&kept);
        assert_facts_exact(&store.snapshot());
    }
}
