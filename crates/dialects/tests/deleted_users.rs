//! A deleted user vanishes everywhere at once: Hub queries (including `not` queries and the
//! empty query, answered by complement against every row), every dialect's listing and counts,
//! lookups by id, login and number, and saves, while the deletion itself rebuilds no index on
//! the writer's path (the row becomes a hole that the overlay hides until a background rebuild).

mod common;

use std::sync::Arc;

use userql_dialects::{Answer, Dialect};
use userql_directory::changes::{Change, EntityKind, Target};
use userql_directory::save::save_json;
use userql_directory::store::StoreOptions;
use userql_directory::{Snapshot, Store};
use userql_engine::Viewer;

use common::{ask_on, tiny};

/// Users deleted by the test: a direct grant and a team listing (tarkin), a team listing and a
/// GitLab group membership (leia), two direct grants and two groups (vader).
const DELETED: [&str; 3] = ["u-tarkin", "u-leia", "u-vader"];

fn ask(snapshot: &Snapshot, dialect: Dialect, query: &str) -> Answer {
    ask_on(snapshot, dialect, query, Viewer::Admin)
}

/// Requests that would list or count the deleted users.
const REQUESTS: &[(Dialect, &str)] = &[
    (Dialect::Hub, "query=&$top=-1"),
    (Dialect::Hub, "query=not%20login:%20nobody&$top=-1"),
    (Dialect::Hub, "query=not%20is:%20admin&$top=-1"),
    (
        Dialect::Hub,
        "query=has:%20ownRole%20or%20has:%20projectRole&$top=-1",
    ),
    (
        Dialect::Hub,
        "query=in:%20Rebels%20or%20in:%20{Imperial%20Army}&$top=-1",
    ),
    (
        Dialect::Hub,
        "query=login:%20tarkin%20or%20login:%20leia&$top=-1",
    ),
    (Dialect::Hub, "query=&orderBy=login%20desc&$top=-1"),
    (Dialect::Gitlab, "per_page=100"),
    (Dialect::Gitlab, "username=leia"),
    (Dialect::Gitlab, "search=vader"),
    (Dialect::GitlabEnterprise, "id=g-rebels&per_page=100"),
    (Dialect::Tfe, "page[size]=100"),
    (Dialect::Tfe, "q=tarkin"),
    (Dialect::Arcgis, "groupName=Rebels&f=json"),
    (
        Dialect::Arcgis,
        "op=searchEnterpriseUsers&filter=*&maxCount=100&f=json",
    ),
];

fn deletion(id: &str) -> Change {
    Change::Delete(Target::Entity {
        kind: EntityKind::User,
        id: id.to_owned(),
    })
}

#[test]
fn a_deleted_user_vanishes_from_every_answer_without_a_rebuild() {
    let store = Store::from_snapshot(Arc::new(tiny()), StoreOptions::never_compact());
    let before = store.snapshot();
    let numbers: Vec<u64> = DELETED
        .iter()
        .map(|id| {
            let row = before.row_of_id(id).expect("fixture user");
            before.model.users[row as usize].number
        })
        .collect();
    store
        .apply_changes(&[deletion(DELETED[0])])
        .expect("deletable");
    store
        .apply_changes(&[deletion(DELETED[1]), deletion(DELETED[2])])
        .expect("deletable");
    assert_eq!(store.writer_rebuilds(), 0, "no index rebuild on the writer");
    let live = store.snapshot();
    assert!(live.has_overlay(), "the holes are pending, not rebuilt");
    assert_eq!(live.model.users.count(), before.model.users.count() - 3);
    assert_eq!(live.model.users.slots(), before.model.users.slots());
    assert_eq!(live.all_rows().len(), live.model.users.count() as u64);

    for (id, number) in DELETED.iter().zip(numbers) {
        assert_eq!(live.row_of_id(id), None, "{id} by id");
        assert_eq!(live.row_of_number(number), None, "{id} by number");
    }
    assert_eq!(live.row_of_login("TARKIN"), None);

    let rebuilt = Snapshot::new((*live.model).clone());
    for &(dialect, query) in REQUESTS {
        let pending = ask(&live, dialect, query);
        let clean = ask(&rebuilt, dialect, query);
        assert!(
            pending.error.is_none(),
            "{dialect} {query}: {}",
            pending.response.body
        );
        for id in DELETED {
            assert!(
                !pending.ids.iter().any(|i| i == id),
                "{dialect} {query} lists {id}: {:?}",
                pending.ids
            );
            assert!(
                !pending.response.body.contains(&format!("\"{id}\"")),
                "{dialect} {query} mentions {id}: {}",
                pending.response.body
            );
        }
        assert_eq!(pending.ids, clean.ids, "{dialect} {query}");
        assert_eq!(
            pending.response.body, clean.response.body,
            "{dialect} {query}"
        );
    }

    // Counts: Hub's total and TFE's status counts move with the deletions.
    let total = |snapshot: &Snapshot| {
        let body = ask(snapshot, Dialect::Hub, "query=&$top=1").response.body;
        let doc: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        doc["total"].as_u64()
    };
    assert_eq!(total(&live), total(&before).map(|n| n - 3));
    let counts = |snapshot: &Snapshot| {
        let body = ask(snapshot, Dialect::Tfe, "page[size]=1").response.body;
        let doc: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        doc["meta"]["status-counts"].clone()
    };
    assert_eq!(counts(&live), counts(&rebuilt));
    assert_eq!(
        counts(&live)["total"].as_u64(),
        counts(&before)["total"].as_u64().map(|n| n - 3)
    );

    // Saves write no holes and none of the deleted users; the reload answers the same.
    let saved = String::from_utf8(save_json(&live.model)).expect("UTF-8");
    for id in DELETED {
        assert!(!saved.contains(&format!("\"{id}\"")), "saved {id}");
    }
    let reloaded = Snapshot::new(userql_directory::load_json(saved.as_bytes()).expect("loads"));
    for &(dialect, query) in REQUESTS {
        assert_eq!(
            ask(&reloaded, dialect, query).ids,
            ask(&live, dialect, query).ids,
            "{dialect} {query} after a reload"
        );
    }
}

#[test]
fn a_deleted_users_id_and_login_can_be_put_again() {
    let store = Store::from_snapshot(Arc::new(tiny()), StoreOptions::for_users(20));
    let before = store.snapshot();
    let row = before.row_of_id("u-leia").expect("fixture user");
    let raw = userql_directory::save::user_to_raw(&before.model, row);
    store
        .apply_changes(&[deletion("u-leia")])
        .expect("deletable");
    store
        .apply_changes(&[Change::Put(userql_directory::changes::Object::User(
            Box::new(raw),
        ))])
        .expect("the id and login are free again");
    let after = store.snapshot();
    let new_row = after.row_of_id("u-leia").expect("put back");
    assert_ne!(new_row, row, "a hole is never reused");
    assert_eq!(after.row_of_login("Leia"), Some(new_row));
    let ids = ask(&after, Dialect::Hub, "query=login:%20leia&$top=-1").ids;
    assert_eq!(ids, vec!["u-leia".to_owned()]);
    assert_eq!(store.writer_rebuilds(), 0);
}
