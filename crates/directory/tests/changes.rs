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
    let snap = store.snapshot();
    let luke = snap.row_of_id("u-luke").expect("luke exists");
    assert_eq!(
        snap.model.users.last_access(luke as usize),
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

#[test]
fn a_generated_stream_applies_without_refusal_and_saves_faithfully() {
    use userql_directory::generate::{generate, generate_changes, GenOptions};
    let options = GenOptions {
        users: 400,
        seed: 7,
    };
    let model = generate(&options);
    let changes = generate_changes(&model, 1500, 7);
    let store = Store::new(model);
    for (i, change) in changes.iter().enumerate() {
        if let Err(e) = store.apply_changes(std::slice::from_ref(change)) {
            panic!("change {i} refused: {e}");
        }
    }
    assert_eq!(store.version(), 1500);
    let snap = store.snapshot();
    let saved = save_json(&snap.model);
    let reloaded = load_json(&saved).expect("the result loads");
    assert_eq!(save_json(&reloaded), saved);
    // Deleted users are holes in the store's rows; a save writes none, so the reloaded rows are
    // dense. The same users, in the same order, with the same numbers.
    assert!(
        !snap.model.users.holes().is_empty(),
        "the stream deletes users"
    );
    assert_eq!(reloaded.users.count(), snap.model.users.count());
    let numbered = |m: &userql_directory::model::Model| -> Vec<(String, u64)> {
        m.users
            .records()
            .map(|u| (u.id.to_string(), u.number))
            .collect()
    };
    assert_eq!(numbered(&reloaded), numbered(&snap.model));
}

/// Every refusal rule, with its exact located message; each refused batch changes nothing.
#[test]
fn every_refusal_is_located_and_changes_nothing() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"op":"patch","kind":"user","id":"u-nobody","set":{"admin":true}}"#,
            r#"change 1 (user u-nobody): no such user: "u-nobody""#,
        ),
        (
            r#"{"op":"patch","kind":"user","id":"u-luke","set":{"id":"u-other"}}"#,
            r#"change 1 (user u-luke), field `id`: `id` cannot change (from "u-luke" to "u-other")"#,
        ),
        (
            r#"{"op":"patch","kind":"user","id":"u-luke","set":{"login":null}}"#,
            "change 1 (user u-luke): `set`: missing field `login`",
        ),
        (
            r#"{"op":"put","kind":"user","value":{"id":"u-x","login":"x","created_at":"yesterday"}}"#,
            r#"change 1 (user u-x), field `created_at`: invalid RFC 3339 timestamp "yesterday": premature end of input"#,
        ),
        (
            r#"{"op":"put","kind":"user","value":{"id":"u-x","login":"x","number":66,"created_at":"2026-01-01T00:00:00Z"}}"#,
            "change 1 (user u-x): number 66 is already used by u-vader",
        ),
        (
            r#"{"op":"patch","kind":"user","id":"u-luke","set":{"state":"asleep"}}"#,
            r#"change 1 (user u-luke), field `state`: unknown state "asleep" (expected active, blocked, ldap_blocked, deactivated, banned or blocked_pending_approval)"#,
        ),
        (
            r#"{"op":"touch","kind":"user","id":"u-luke","at":"noon"}"#,
            r#"change 1 (user u-luke), field `at`: invalid RFC 3339 timestamp "noon": premature end of input"#,
        ),
        (
            r#"{"op":"delete","kind":"grant","value":{"role":"darth","user":"u-luke"}}"#,
            r#"change 1 (grant role darth): no such grant: "role darth, user u-luke""#,
        ),
        (
            r#"{"op":"put","kind":"grant","value":{"role":"darth","user":"u-luke","group":"g-navy"}}"#,
            "change 1 (grant role darth): a grant needs exactly one of `user`, `group`, `team`; found user, group",
        ),
        (
            r#"{"op":"delete","kind":"membership","value":{"user":"u-luke","group":"g-navy"}}"#,
            r#"change 1 (membership u-luke in g-navy), field `groups`: no such membership: "u-luke in g-navy""#,
        ),
        (
            r#"{"op":"put","kind":"membership","value":{"user":"u-luke","group":"g-nowhere"}}"#,
            r#"change 1 (membership u-luke in g-nowhere), field `group`: unknown group id "g-nowhere""#,
        ),
        (
            r#"{"op":"put","kind":"membership","value":{"user":"u-luke","group":"g-navy","access":"king"}}"#,
            r#"change 1 (membership u-luke in g-navy), field `access`: unknown access level "king" (expected guest, planner, reporter, developer, maintainer or owner)"#,
        ),
        (
            r#"{"op":"delete","kind":"role","id":"developer"}"#,
            "change 1 (role developer): still referenced by grant of role developer to user u-vader in project p-ds, grant of role developer to team t-ds in project p-ds, grant of role developer to group g-rebels in organization o-rebels",
        ),
        (
            r#"{"op":"delete","kind":"project","id":"p-ds"}"#,
            "change 1 (project p-ds): still referenced by team t-ds (project), grant of role developer to user u-vader in project p-ds, grant of role developer to team t-ds in project p-ds",
        ),
        (
            r#"{"op":"delete","kind":"organization","id":"o-empire"}"#,
            "change 1 (organization o-empire): still referenced by user u-palpatine (organizations), user u-vader (organizations), user u-tarkin (organizations), project p-ds (organization), project p-ex (organization) and 1 more",
        ),
        (
            r#"{"op":"delete","kind":"permission","id":"read-issue"}"#,
            "change 1 (permission read-issue): still referenced by role developer (permissions), role observer (permissions), role project-admin (permissions)",
        ),
        (
            r#"{"op":"delete","kind":"service","id":"youtrack"}"#,
            "change 1 (service youtrack): still referenced by user u-palpatine (licenses), user u-vader (licenses), user u-piett (licenses), user u-luke (licenses), user u-c3po (licenses)",
        ),
        (
            r#"{"op":"delete","kind":"team","id":"t-ds"}"#,
            "change 1 (team t-ds): still referenced by grant of role developer to team t-ds in project p-ds",
        ),
        (
            r#"{"op":"delete","kind":"group","id":"g-nowhere"}"#,
            r#"change 1 (group g-nowhere): no such group: "g-nowhere""#,
        ),
        (
            r#"{"op":"patch","kind":"group","id":"g-army","set":{"parent":"g-501"}}"#,
            "change 1 (group g-army), field `parent`: group cycle: g-army -> g-501 -> g-troopers -> g-army",
        ),
        (
            r#"{"op":"put","kind":"group","value":{"id":"g-loop","parent":"g-loop"}}"#,
            "change 1 (group g-loop), field `parent`: group cycle: g-loop -> g-loop",
        ),
        (
            r#"{"op":"put","kind":"role","value":{"id":"r-x","permissions":["nope"]}}"#,
            r#"change 1 (role r-x), field `permissions[0]`: unknown permission id "nope""#,
        ),
        (
            // Every problem of the batch is reported, each at its change.
            r#"[{"op":"delete","kind":"user","id":"u-luke"},{"op":"touch","kind":"user","id":"u-luke","at":"2026-01-01T00:00:00Z"},{"op":"put","kind":"team","value":{"id":"t-x","project":"p-none","users":["u-luke"]}}]"#,
            "change 2 (user u-luke): no such user: \"u-luke\"\nchange 3 (team t-x), field `project`: unknown project id \"p-none\"\nchange 3 (team t-x), field `users[0]`: unknown user id \"u-luke\"",
        ),
    ];
    for (lines, expected) in cases {
        let store = tiny();
        assert_eq!(refused(&store, lines), *expected, "for {lines}");
    }
}

#[test]
fn malformed_changes_are_located_by_line_and_change() {
    let text = "{\"format\": \"userql-changes/1\"}\n\n[{\"op\":\"touch\",\"kind\":\"user\",\"id\":\"u\",\"at\":\"x\"},{\"op\":\"patch\",\"kind\":\"grant\",\"id\":\"x\",\"set\":{}}]\n";
    let errors = read_changes(text.as_bytes()).expect_err("malformed");
    assert_eq!(
        errors.to_string(),
        "line 3, change 2: a grant cannot be patched (put or delete it)"
    );
    let errors = read_changes(b"{\"op\":\"touch\"}\n").expect_err("no header");
    assert_eq!(
        errors.to_string(),
        "line 1: expected the header {\"format\": \"userql-changes/1\"}, found {\"op\":\"touch\"}"
    );
    let text = "{\"format\": \"userql-changes/1\"}\n{\"op\":\"put\",\"kind\":\"group\"}\n";
    let errors = read_changes(text.as_bytes()).expect_err("no value");
    assert_eq!(
        errors.to_string(),
        "line 2, change 1: missing field `value` (a put of a group needs it)"
    );
    let text = "{\"format\": \"userql-changes/1\"}\n[1,\n";
    let errors = read_changes(text.as_bytes()).expect_err("bad JSON");
    assert_eq!(
        errors.to_string(),
        "line 2: invalid JSON at column 3: EOF while parsing a value"
    );
}

#[test]
fn put_replaces_and_numbers_users() {
    let store = tiny();
    let before = user(&store, "u-vader");
    store
        .apply_changes(&batch(
            r#"[{"op":"put","kind":"user","value":{"id":"u-vader","login":"vader","name":"Anakin","created_at":"2026-01-01T00:00:00Z"}},{"op":"put","kind":"user","value":{"id":"u-new","login":"newbie","created_at":"2026-01-01T00:00:00Z"}}]"#,
        ))
        .expect("applies");
    let vader = user(&store, "u-vader");
    assert_eq!(vader.number, before.number);
    assert_eq!(vader.name.as_deref(), Some("Anakin"));
    assert!(vader.groups.is_empty(), "a put replaces the whole user");
    let largest = store
        .snapshot()
        .model
        .users
        .records()
        .filter(|u| &*u.id != "u-new")
        .map(|u| u.number)
        .max()
        .unwrap_or(0);
    assert_eq!(user(&store, "u-new").number, largest + 1);
}

#[test]
fn patch_sets_clears_and_replaces_lists() {
    let store = tiny();
    store
        .apply_changes(&batch(
            r#"{"op":"patch","kind":"user","id":"u-luke","set":{"name":null,"emails":["a@x.org"],"admin":true}}"#,
        ))
        .expect("applies");
    let luke = user(&store, "u-luke");
    assert_eq!(luke.name, None);
    assert_eq!(luke.emails, vec!["a@x.org".to_owned()].into());
    assert!(luke.admin);
}

#[test]
fn grants_and_memberships() {
    let store = tiny();
    let grants = store.snapshot().model.grants.len();
    let existing = r#"{"op":"put","kind":"grant","value":{"role":"darth","user":"u-vader"}}"#;
    store.apply_changes(&batch(existing)).expect("applies");
    assert_eq!(store.snapshot().model.grants.len(), grants, "idempotent");
    store
        .apply_changes(&batch(
            r#"[{"op":"put","kind":"grant","value":{"role":"darth","user":"u-luke"}},{"op":"delete","kind":"grant","value":{"role":"darth","user":"u-vader"}}]"#,
        ))
        .expect("applies");
    let snap = store.snapshot();
    let darth: Vec<String> = snap
        .model
        .grants
        .iter()
        .filter(|g| snap.model.roles[g.role.index()].id == "darth")
        .map(|g| {
            userql_directory::save::grant_to_raw(&snap.model, g)
                .user
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(darth, vec!["u-luke".to_owned()]);
    store
        .apply_changes(&batch(
            r#"[{"op":"put","kind":"membership","value":{"user":"u-luke","group":"g-navy","access":"owner"}},{"op":"put","kind":"membership","value":{"user":"u-luke","group":"g-navy","access":"guest"}}]"#,
        ))
        .expect("applies");
    let snap = store.snapshot();
    let luke = user(&store, "u-luke");
    let navy = luke
        .groups
        .iter()
        .find(|m| snap.model.groups[m.group.index()].id == "g-navy")
        .expect("member");
    assert_eq!(
        navy.access,
        Some(userql_directory::model::AccessLevel::Guest)
    );
}

#[test]
fn deleting_a_user_cascades() {
    let store = tiny();
    store
        .apply_changes(&batch(r#"{"op":"delete","kind":"user","id":"u-tarkin"}"#))
        .expect("applies");
    let snap = store.snapshot();
    assert!(snap.row_of_id("u-tarkin").is_none());
    let raw = userql_directory::save::to_raw(&snap.model);
    assert!(raw
        .grants
        .iter()
        .all(|g| g.user.as_deref() != Some("u-tarkin")));
    assert!(raw
        .teams
        .iter()
        .all(|t| !t.users.contains(&"u-tarkin".to_owned())));
}

#[test]
fn catalog_objects_are_put_patched_and_deleted() {
    let store = tiny();
    store
        .apply_changes(&batch(
            r#"[{"op":"put","kind":"group","value":{"id":"g-new","name":"New","parent":"g-navy"}},{"op":"put","kind":"group","value":{"id":"g-after","name":"After"}},{"op":"put","kind":"membership","value":{"user":"u-leia","group":"g-after"}},{"op":"put","kind":"membership","value":{"user":"u-luke","group":"g-new"}},{"op":"patch","kind":"group","id":"g-army","set":{"name":"The Army"}},{"op":"put","kind":"project","value":{"id":"p-new","name":"New Project","organization":"o-rebels"}},{"op":"put","kind":"grant","value":{"role":"observer","group":"g-new","project":"p-new"}}]"#,
        ))
        .expect("applies");
    let snap = store.snapshot();
    let raw = userql_directory::save::to_raw(&snap.model);
    let army = raw.groups.iter().find(|g| g.id == "g-army").expect("kept");
    assert_eq!(army.name, "The Army");
    // Unreferenced objects go; everything after them is renumbered consistently.
    store
        .apply_changes(&batch(
            r#"[{"op":"delete","kind":"grant","value":{"role":"observer","group":"g-new","project":"p-new"}},{"op":"delete","kind":"membership","value":{"user":"u-luke","group":"g-new"}},{"op":"delete","kind":"group","id":"g-new"},{"op":"delete","kind":"project","id":"p-new"}]"#,
        ))
        .map_err(|e| e.to_string())
        .expect("applies");
    let after = userql_directory::save::to_raw(&store.snapshot().model);
    let mut expected = raw.clone();
    expected.groups.retain(|g| g.id != "g-new");
    expected.projects.retain(|p| p.id != "p-new");
    expected
        .grants
        .retain(|g| g.group.as_deref() != Some("g-new"));
    for user in &mut expected.users {
        user.groups.retain(|m| m.id != "g-new");
    }
    assert_eq!(after, expected);
}
