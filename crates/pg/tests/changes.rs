//! Change batches (`changes.md`) applied to PostgreSQL as by the in-memory store: random
//! directories × random batches of every change kind — valid and invalid, catalog deletes of
//! referenced objects included — give the same acceptance, the same refusal text, and then the
//! same directory (read back whole), the same answers to random requests, and an `access`
//! table equal to the view it materialises. Seed: `USERQL_PG_SEED` (default 17).

mod common;

use common::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use userql_directory::changes::Change;
use userql_directory::model::Model;
use userql_directory::save::{format_timestamp, to_raw};
use userql_directory::Store;
use userql_pg::{Backend, Schema};

const DIRECTORIES: usize = 8;
const BATCHES: usize = 14;
const REQUESTS_PER_BATCH: usize = 6;
const STATES: [&str; 5] = ["active", "blocked", "banned", "deactivated", "dormant"];

/// An id of `items`, or (one time in six, or when there is none) one that does not exist.
fn pick(rng: &mut ChaCha8Rng, items: &[String], missing: &str) -> String {
    if items.is_empty() || rng.gen_ratio(1, 6) {
        return missing.to_owned();
    }
    items.choose(rng).cloned().unwrap_or_default()
}

/// One change over the directory as it stands; about one in four is refused by the store.
fn random_change(
    dir: &userql_directory::raw::Directory,
    rng: &mut ChaCha8Rng,
    serial: usize,
) -> Change {
    let ids = |items: Vec<&String>| items.into_iter().cloned().collect::<Vec<_>>();
    let users = ids(dir.users.iter().map(|u| &u.id).collect());
    let logins = ids(dir.users.iter().map(|u| &u.login).collect());
    let groups = ids(dir.groups.iter().map(|g| &g.id).collect());
    let teams = ids(dir.teams.iter().map(|t| &t.id).collect());
    let roles = ids(dir.roles.iter().map(|r| &r.id).collect());
    let projects = ids(dir.projects.iter().map(|p| &p.id).collect());
    let orgs = ids(dir.organizations.iter().map(|o| &o.id).collect());
    let services = ids(dir.services.iter().map(|s| &s.id).collect());
    let at = format_timestamp(
        userql_directory::generate::GEN_NOW_MS - rng.gen_range(0..400) * 86_400_000,
    );
    let value = match rng.gen_range(0..20) {
        0..=2 => json!({"op": "touch", "kind": "user", "id": pick(rng, &users, "u-none"),
            "at": if rng.gen_ratio(1, 20) { "noon".to_owned() } else { at.clone() }}),
        3..=5 => {
            let set = match rng.gen_range(0..7) {
                0 => json!({"state": STATES[rng.gen_range(0..STATES.len())]}),
                1 => json!({"admin": rng.gen_bool(0.5), "two_factor": rng.gen_bool(0.5)}),
                2 => {
                    json!({"name": if rng.gen_bool(0.3) { Value::Null } else { json!(format!("Renamé {serial} ß")) }})
                }
                3 => {
                    json!({"login": if rng.gen_bool(0.4) { pick(rng, &logins, "x").to_uppercase() } else { format!("fresh{serial}") }})
                }
                4 => json!({"number": rng.gen_range(1..40)}),
                5 => json!({"emails": [format!("alt{serial}@alt.example")], "email": null}),
                _ => json!({"groups": [pick(rng, &groups, "g-none")]}),
            };
            json!({"op": "patch", "kind": "user", "id": pick(rng, &users, "u-none"), "set": set})
        }
        6 | 7 => {
            let login = if rng.gen_ratio(1, 5) {
                pick(rng, &logins, "x")
            } else {
                format!("Newcomer{serial}")
            };
            let id = if rng.gen_ratio(1, 4) {
                pick(rng, &users, "u-none")
            } else {
                format!("u-new-{serial}")
            };
            let mut user = json!({"id": id, "login": login, "name": "New Marsh",
                "created_at": at, "state": "active",
                "groups": if rng.gen_bool(0.5) { vec![pick(rng, &groups, "g-none")] } else { vec![] }});
            if rng.gen_ratio(1, 4) {
                user["number"] = json!(rng.gen_range(1..60));
            }
            json!({"op": "put", "kind": "user", "value": user})
        }
        8 => json!({"op": "delete", "kind": "user", "id": pick(rng, &users, "u-none")}),
        9 | 10 => {
            json!({"op": if rng.gen_bool(0.6) { "put" } else { "delete" }, "kind": "membership",
            "value": {"user": pick(rng, &users, "u-none"), "group": pick(rng, &groups, "g-none")}})
        }
        11 | 12 => {
            if rng.gen_bool(0.4) && !dir.grants.is_empty() {
                let grant = dir.grants.choose(rng).cloned().unwrap_or_default();
                return Change::Delete(userql_directory::changes::Target::Grant(grant));
            }
            let mut grant = json!({"role": pick(rng, &roles, "role-x")});
            match rng.gen_range(0..3) {
                0 => grant["group"] = json!(pick(rng, &groups, "g-none")),
                1 => grant["team"] = json!(pick(rng, &teams, "t-none")),
                _ => grant["user"] = json!(pick(rng, &users, "u-none")),
            }
            match rng.gen_range(0..3) {
                0 => grant["project"] = json!(pick(rng, &projects, "p-none")),
                1 => grant["organization"] = json!(pick(rng, &orgs, "o-none")),
                _ => {}
            }
            json!({"op": if rng.gen_bool(0.8) { "put" } else { "delete" }, "kind": "grant", "value": grant})
        }
        13 => json!({"op": "put", "kind": "group", "value": {
            "id": if rng.gen_bool(0.3) { pick(rng, &groups, "g-none") } else { format!("g-new-{serial}") },
            "name": format!("Group {serial}"),
            "parent": if rng.gen_bool(0.5) { json!(pick(rng, &groups, "g-none")) } else { Value::Null }}}),
        14 => json!({"op": "patch", "kind": "group", "id": pick(rng, &groups, "g-none"),
            "set": if rng.gen_bool(0.5) { json!({"parent": pick(rng, &groups, "g-none")}) } else { json!({"name": format!("Renamed {serial}")}) }}),
        15 | 16 => {
            let (kind, id) = match rng.gen_range(0..7) {
                0 => ("group", pick(rng, &groups, "g-none")),
                1 => ("project", pick(rng, &projects, "p-none")),
                2 => ("role", pick(rng, &roles, "role-none")),
                3 => ("team", pick(rng, &teams, "t-none")),
                4 => ("organization", pick(rng, &orgs, "o-none")),
                5 => ("service", pick(rng, &services, "s-none")),
                _ => (
                    "permission",
                    dir.permissions
                        .first()
                        .map(|p| p.id.clone())
                        .unwrap_or_default(),
                ),
            };
            json!({"op": "delete", "kind": kind, "id": id})
        }
        17 => json!({"op": "patch", "kind": "team", "id": pick(rng, &teams, "t-none"),
            "set": {"users": [pick(rng, &users, "u-none"), pick(rng, &users, "u-none")]}}),
        18 => json!({"op": "put", "kind": "team", "value": {
            "id": format!("t-{}", rng.gen_range(0..3)), "name": format!("Team {serial}"),
            "project": if projects.is_empty() { Value::Null } else { json!(pick(rng, &projects, "p-none")) },
            "users": [pick(rng, &users, "u-none")], "groups": [pick(rng, &groups, "g-none")]}}),
        _ => {
            json!({"op": "put", "kind": "role", "value": {"id": format!("role-{}", serial % 3), "name": "Role",
            "permissions": dir.permissions.iter().take(2).map(|p| p.id.clone()).collect::<Vec<_>>()}})
        }
    };
    serde_json::from_value(value).expect("generated changes are well-formed")
}

/// The whole directory, every user numbered explicitly (PostgreSQL stores every number), and
/// a team's listings as sets: the schema keys `team_users` and `team_groups` by (team, member),
/// as the loader always has, since every answer depends only on who is listed.
fn normalised(model: &Model) -> Value {
    let mut raw = to_raw(model);
    for team in &mut raw.teams {
        let mut seen = std::collections::HashSet::new();
        team.users.retain(|u| seen.insert(u.clone()));
        let mut seen = std::collections::HashSet::new();
        team.groups.retain(|g| seen.insert(g.clone()));
    }
    for (user, stored) in raw.users.iter_mut().zip(model.users.records()) {
        user.number = i64::try_from(stored.number).ok();
    }
    serde_json::to_value(raw).expect("serialises")
}

/// The `access` table equals the view it materialises.
fn assert_access_exact(backend: &mut Backend, context: &str) {
    let differing: i64 = backend
        .client()
        .query_one(
            "SELECT count(*) FROM (
                (SELECT row, role, project, organization FROM access
                 EXCEPT SELECT row, role, project, organization FROM grant_holders)
                UNION ALL
                (SELECT row, role, project, organization FROM grant_holders
                 EXCEPT SELECT row, role, project, organization FROM access)) d",
            &[],
        )
        .expect("access compares")
        .get(0);
    assert_eq!(
        differing, 0,
        "access table differs from grant_holders {context}"
    );
}

#[test]
fn random_batches_apply_as_in_the_store() {
    let Some(cluster) = userql_pg::cluster::for_test() else {
        return;
    };
    let seed = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut client = userql_pg::connect(&cluster.url()).expect("connects");
    let schema = Schema::default();
    let (mut accepted, mut refused, mut compared, mut serial) = (0, 0, 0, 0);
    for directory in 0..DIRECTORIES {
        let Some(model) = random_directory(&mut rng, directory, 30..150) else {
            continue;
        };
        userql_pg::load(&mut client, &schema, &model).expect("loads");
        let mut backend = Backend::on(client, schema.clone()).expect("opens");
        // The loader computes `access` in Rust; the view is its definition.
        assert_access_exact(
            &mut backend,
            &format!("after loading directory {directory}"),
        );
        let store = Store::new(model);
        for batch_number in 0..BATCHES {
            let dir = to_raw(&store.snapshot().model);
            let batch: Vec<Change> = (0..rng.gen_range(1..5))
                .map(|_| {
                    serial += 1;
                    random_change(&dir, &mut rng, serial)
                })
                .collect();
            let context = format!(
                "directory {directory}, batch {batch_number} (seed {seed}): {}",
                serde_json::to_string(&batch).unwrap_or_default()
            );
            let expected = store.apply_changes(&batch).map_err(|e| e.to_string());
            let actual = match backend.apply_changes(&batch) {
                Ok(version) => Ok(version),
                Err(userql_pg::Error::Refused(e)) => Err(e.to_string()),
                Err(e) => panic!("PostgreSQL failed on {context}: {e}"),
            };
            assert_eq!(actual, expected, "{context}");
            if expected.is_ok() {
                accepted += 1;
            } else {
                refused += 1;
            }
            let snapshot = store.snapshot();
            let ids: Vec<String> = snapshot
                .model
                .users
                .records()
                .map(|u| u.id.to_string())
                .collect();
            let stored = backend.page_model(&ids).expect("reads back");
            let (stored, memory) = (normalised(&stored), normalised(&snapshot.model));
            for key in [
                "services",
                "permissions",
                "roles",
                "organizations",
                "projects",
                "groups",
                "teams",
                "grants",
            ] {
                assert_eq!(stored[key], memory[key], "{key} after {context}");
            }
            let users = |d: &Value| d["users"].as_array().cloned().unwrap_or_default();
            assert_eq!(
                users(&stored).len(),
                users(&memory).len(),
                "users after {context}"
            );
            for (a, b) in users(&stored).iter().zip(users(&memory).iter()) {
                assert_eq!(a, b, "user after {context}");
            }
            assert_access_exact(&mut backend, &context);
            let snapshot = common::snapshot((*snapshot.model).clone());
            for _ in 0..REQUESTS_PER_BATCH {
                let Some((engine, request, text)) = random_request(&mut rng, &snapshot, 300) else {
                    continue;
                };
                let expected = engine_outcome(&engine, &snapshot, &request);
                let actual = pg_outcome(&engine, &mut backend, &request);
                assert_eq!(actual, expected, "{text:?} after {context}");
                compared += 1;
            }
        }
        client = backend.into_client();
    }
    eprintln!("{accepted} batches accepted, {refused} refused, {compared} requests compared (seed {seed})");
    assert!(
        accepted >= 20 && refused >= 20,
        "{accepted} accepted, {refused} refused"
    );
}

/// A backend's cached catalog follows batches applied through another connection: a group
/// created and joined elsewhere is found by `in:`, with its member, without a manual refresh.
#[test]
fn another_connections_batch_invalidates_the_cached_catalog() {
    let Some(cluster) = userql_pg::cluster::for_test() else {
        return;
    };
    let schema = Schema::default();
    let mut writer = load_into(&cluster, &tiny_model(), &schema);
    let reader_client = userql_pg::connect(&cluster.url()).expect("connects");
    let mut reader = Backend::on(reader_client, schema).expect("opens");
    let engine = userql_engine::Engine::default();
    let ask = |backend: &mut Backend| {
        let mut request = engine
            .request("in: {Fresh Squad}", userql_engine::Viewer::Admin)
            .expect("parses");
        request.now = NOW;
        pg_outcome(&engine, backend, &request)
    };
    assert!(ask(&mut reader).is_err(), "the group does not exist yet");
    let batch: Vec<Change> = serde_json::from_value(json!([
        {"op": "put", "kind": "group", "value": {"id": "g-fresh", "name": "Fresh Squad", "parent": "g-army"}},
        {"op": "put", "kind": "membership", "value": {"user": "u-luke", "group": "g-fresh"}}
    ]))
    .expect("a batch");
    writer.apply_changes(&batch).expect("applies");
    assert_eq!(ask(&mut reader), Ok((1, vec!["u-luke".to_owned()])));
}
