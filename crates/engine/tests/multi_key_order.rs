//! Pages of orders with several keys: the engine walks the first key's permutation and sorts only
//! the candidates (the matches up to the wanted row plus its ties on the first key); the page must
//! equal the first rows of a full sort of every match, for dense and sparse match sets, every
//! offset, first keys with missing values (never-accessed users) and with many ties (names).

use userql_directory::generate::{generate, GenOptions};
use userql_directory::index::SortKey;
use userql_directory::Snapshot;
use userql_engine::order::{page, OrderKey};
use userql_engine::sort::sort_rows;
use userql_engine::{Deadline, PageStrategy};

const ORDERS: &[&[OrderKey]] = &[
    &[(SortKey::Created, false), (SortKey::Number, false)],
    &[(SortKey::Created, true), (SortKey::Number, false)],
    &[(SortKey::LastAccess, false), (SortKey::Login, false)],
    &[(SortKey::LastAccess, true), (SortKey::Name, true)],
    &[(SortKey::Name, false), (SortKey::Created, true)],
    &[
        (SortKey::Name, true),
        (SortKey::Email, false),
        (SortKey::Id, false),
    ],
    &[(SortKey::Updated, false), (SortKey::Number, true)],
];

#[test]
fn several_keys_page_like_a_full_sort() {
    let snapshot = Snapshot::new(generate(&GenOptions {
        users: 3_000,
        seed: 7,
    }));
    let n = snapshot.model.users.count() as u32;
    let mut walked = 0;
    // Every row, every other row, one row in ten, one in a hundred.
    for stride in [1u32, 2, 10, 100] {
        let rows: roaring::RoaringBitmap = (0..n).step_by(stride as usize).collect();
        for order in ORDERS {
            let mut all: Vec<u32> = rows.iter().collect();
            if let Err(e) = sort_rows(&snapshot.model, &mut all, order, &Deadline::never()) {
                panic!("{e}");
            }
            for (skip, top) in [(0u64, 1u64), (0, 20), (13, 20), (500, 50), (2_990, 20)] {
                let (got, strategy) = page(&snapshot, &rows, order, skip, top);
                walked += usize::from(strategy == PageStrategy::Walk);
                let expected: Vec<u32> = all
                    .iter()
                    .copied()
                    .skip(skip as usize)
                    .take(top as usize)
                    .collect();
                assert_eq!(
                    got, expected,
                    "order {order:?}, one row in {stride}, skip {skip}, top {top} ({strategy:?})"
                );
            }
        }
    }
    assert!(
        walked > 0,
        "no page walked a permutation: the test would not cover the walk"
    );
}
