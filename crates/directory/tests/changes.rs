//! Changes (`userql-changes/1`): the format, the reader, and every rule of applying a batch.

use userql_directory::changes::{read_changes, Change, ChangeErrors};
use userql_directory::model::State;
use userql_directory::save::save_json;
use userql_directory::{load_json, Store};

fn tiny() -> Store {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/seeds/load_json/tiny.json"
    ))
    .expect("fixture");
    Store::new(load_json(&bytes).expect("valid fixture"))
}

/// Parses one batch written as JSON lines (without the header).
fn batch(lines: &str) -> Vec<Change> {
    let text = format!("{{\"format\": \"userql-changes/1\"}}\n{lines}");
    read_changes(text.as_bytes())
        .expect("well-formed changes")
        .into_iter()
        .flat_map(|b| b.changes)
        .collect()
}

/// Applies a batch that must be refused and returns the message; checks nothing changed.
fn refused(store: &Store, lines: &str) -> String {
    let before = store.snapshot();
    let errors: ChangeErrors = store.apply_changes(&batch(lines)).expect_err("refused");
    let after = store.snapshot();
    assert_eq!(before.version, after.version);
    assert_eq!(save_json(&before.model), save_json(&after.model));
    errors.to_string()
}

fn user(store: &Store, id: &str) -> userql_directory::model::User {
    let snap = store.snapshot();
    let row = snap.row_of_id(id).expect("user exists");
    snap.model.users[row as usize].clone()
}

#[test]
fn changes_round_trip_through_json() {
    let lines = r#"{"op":"put","kind":"user","value":{"id":"u-new","login":"new","created_at":"2026-01-01T00:00:00Z"}}
{"op":"patch","kind":"group","id":"g-army","set":{"name":"Army","parent":null}}
{"op":"delete","kind":"project","id":"p-ex"}
{"op":"put","kind":"grant","value":{"role":"developer","user":"u-luke","project":"p-yavin"}}
{"op":"delete","kind":"grant","value":{"role":"developer","user":"u-luke"}}
{"op":"put","kind":"membership","value":{"user":"u-luke","group":"g-jedi","access":"owner"}}
{"op":"delete","kind":"membership","value":{"user":"u-luke","group":"g-jedi"}}
{"op":"touch","kind":"user","id":"u-luke","at":"2026-05-01T10:00:00Z"}"#;
    let changes = batch(lines);
    assert_eq!(changes.len(), 8);
    let json = serde_json::to_string(&changes).expect("serializes");
    let back: Vec<Change> = serde_json::from_str(&json).expect("parses back");
    assert_eq!(back, changes);
    let again = serde_json::to_string(&back).expect("serializes");
    assert_eq!(again, json);
}

#[test]
fn touch_patch_and_put_apply() {
    let store = tiny();
    let version = store
        .apply_changes(&batch(
            r#"[{"op":"touch","kind":"user","id":"u-luke","at":"2026-05-01T10:00:00Z"},{"op":"patch","kind":"user","id":"u-leia","set":{"state":"blocked","name":null}}]"#,
        ))
        .expect("applies");
    assert_eq!(version, 1);
    assert_eq!(
        user(&store, "u-luke").last_access_at,
        Some(1_777_629_600_000)
    );
    let leia = user(&store, "u-leia");
    assert_eq!(leia.state, State::Blocked);
    assert_eq!(leia.name, None);
}

#[test]
fn duplicate_login_is_located() {
    let store = tiny();
    let message = refused(
        &store,
        r#"[{"op":"touch","kind":"user","id":"u-luke","at":"2026-05-01T10:00:00Z"},{"op":"put","kind":"user","value":{"id":"u-42","login":"VADER","created_at":"2026-01-01T00:00:00Z"}}]"#,
    );
    insta::assert_snapshot!(message, @"change 2 (user u-42): login 'VADER' is already used by u-vader");
}

#[test]
fn delete_of_a_referenced_group_names_the_references() {
    let store = tiny();
    let message = refused(
        &store,
        r#"{"op":"delete","kind":"group","id":"g-troopers"}"#,
    );
    insta::assert_snapshot!(message, @"change 1 (group g-troopers): still referenced by user u-tk421 (member), group g-501 (parent), team t-ds (groups)");
}
