//! Grants, deletions and catalog changes made in place by the live store's writer: the grants
//! by subject it publishes with every snapshot match a fresh build of the snapshot's model, and
//! the access index stays exact through grants to deep subtrees and their removal.

use serde_json::json;
use userql_directory::changes::Change;
use userql_directory::facts::{transitive_groups, Subjects};
use userql_directory::generate::{generate, generate_changes, GenOptions};
use userql_directory::index::{AccessScope, Indexes, RoaringBitmap};
use userql_directory::model::{Model, OrgIdx, ProjectIdx, RoleIdx};
use userql_directory::store::StoreOptions;
use userql_directory::{load_json, Snapshot, Store};

fn tiny(options: StoreOptions) -> Store {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/seeds/load_json/tiny.json"
    ))
    .expect("fixture");
    Store::with_options(load_json(&bytes).expect("valid fixture"), options)
}

fn parse(value: serde_json::Value) -> Change {
    serde_json::from_value(value).expect("well-formed change")
}

/// The grants reaching each live user, as grants (positions differ between a live model and a
/// fresh build only if the published grants by subject are wrong).
fn reaching(model: &Model, subjects: &Subjects) -> Vec<Vec<String>> {
    model
        .users
        .iter()
        .map(|(row, _)| {
            let facts = subjects.facts(model, row);
            subjects
                .grants_reaching(row, &facts)
                .into_iter()
                .map(|at| format!("{:?}", model.grants[at as usize]))
                .collect()
        })
        .collect()
}

/// The snapshot's grants by subject (kept by the writer) against a fresh build, and its access
/// bitmaps against fresh indexes (rows the indexes describe).
fn check(snap: &Snapshot) {
    let model = &snap.model;
    let fresh = Subjects::build(model);
    assert_eq!(reaching(model, snap.subjects()), reaching(model, &fresh));
    for o in 0..model.organizations.len() as u32 {
        assert_eq!(
            snap.subjects().projects_of(OrgIdx(o)),
            fresh.projects_of(OrgIdx(o))
        );
    }
    let index = Indexes::build(model);
    let dirty = &*snap.dirty;
    let same = |what: String, live: &RoaringBitmap, fresh: &RoaringBitmap| {
        assert_eq!(live - dirty, fresh - dirty, "{what}");
    };
    let mut scopes = vec![AccessScope::Any];
    scopes.extend((0..model.projects.len() as u32).map(|p| AccessScope::Project(ProjectIdx(p))));
    scopes.extend(
        (0..model.organizations.len() as u32).map(|o| AccessScope::Organization(OrgIdx(o))),
    );
    for &scope in &scopes {
        let what = format!("access({scope:?})");
        same(
            what,
            &snap.index.access(scope, None),
            &index.access(scope, None),
        );
        for role in (0..model.roles.len() as u32).map(RoleIdx) {
            let one = [role];
            let what = format!("access({scope:?}, {role:?})");
            same(
                what,
                &snap.index.access(scope, Some(&one)),
                &index.access(scope, Some(&one)),
            );
            let what = format!("own_role({role:?})");
            same(
                what,
                &snap.index.own_role(role).to_bitmap(),
                &index.own_role(role).to_bitmap(),
            );
        }
    }
    let what = "in_any_project".to_owned();
    same(
        what,
        &snap.index.in_any_project().to_bitmap(),
        &index.in_any_project().to_bitmap(),
    );
}

fn options(background: bool) -> StoreOptions {
    StoreOptions {
        max_dirty: 16,
        max_delta: 0,
        background,
        idle_compaction: None,
    }
}

/// A generated stream (grant puts and deletions, user deletions with their grants, catalog
/// puts), one change per batch, with background rebuilds on and off.
#[test]
fn published_grants_by_subject_follow_a_generated_stream() {
    for background in [false, true] {
        let model = generate(&GenOptions {
            users: 300,
            seed: 5,
        });
        let changes = generate_changes(&model, 800, 5);
        let store = Store::with_options(model, options(background));
        for (i, change) in changes.iter().enumerate() {
            if let Err(e) = store.apply_changes(std::slice::from_ref(change)) {
                panic!("change {i} refused: {e}");
            }
            if i % 40 == 0 {
                check(&store.snapshot());
            }
        }
        store.wait_for_rebuild();
        check(&store.snapshot());
    }
}

/// A grant to the top of a three-level subtree reaches every member below; removing it keeps
/// the role exactly for the users another path (a direct grant, a grant to a subgroup) still
/// gives it, and equal grants repeated in one batch are removed one at a time.
#[test]
fn a_grant_to_a_deep_subtree_and_its_removal_are_exact() {
    for background in [false, true] {
        let store = tiny(options(background));
        let setup = vec![
            parse(json!({"op":"put","kind":"role","value":{"id":"r-deep","name":"Deep"}})),
            parse(json!({"op":"put","kind":"group","value":{"id":"g-top","name":"Top"}})),
            parse(
                json!({"op":"put","kind":"group","value":{"id":"g-mid","name":"Mid","parent":"g-top"}}),
            ),
            parse(
                json!({"op":"put","kind":"group","value":{"id":"g-low","name":"Low","parent":"g-mid"}}),
            ),
            parse(
                json!({"op":"put","kind":"membership","value":{"user":"u-luke","group":"g-low"}}),
            ),
            parse(
                json!({"op":"put","kind":"membership","value":{"user":"u-finn","group":"g-mid"}}),
            ),
            parse(
                json!({"op":"put","kind":"membership","value":{"user":"u-vader","group":"g-top"}}),
            ),
        ];
        store.apply_changes(&setup).expect("applies");
        // Clean indexes over the subtree (memberships may still be on the overlay).
        let store = Store::with_options(Model::clone(&store.snapshot().model), options(background));
        let to = |subject: serde_json::Value, op: &str| {
            let mut grant = json!({"role": "r-deep", "project": "p-ds"});
            for (k, v) in subject.as_object().expect("object") {
                grant[k] = v.clone();
            }
            parse(json!({"op": op, "kind": "grant", "value": grant}))
        };
        store
            .apply_changes(&[
                to(json!({"group": "g-top"}), "put"),
                to(json!({"group": "g-low"}), "put"),
                to(json!({"user": "u-finn"}), "put"),
            ])
            .expect("applies");
        let snap = store.snapshot();
        check(&snap);
        let role = snap.index.resolve_role("r-deep")[0];
        let row = |id: &str| snap.row_of_id(id).expect("tiny user");
        let holders = |store: &Store| {
            let snap = store.snapshot();
            check(&snap);
            snap.index.access(AccessScope::Any, Some(&[role]))
        };
        let all = holders(&store);
        for id in ["u-luke", "u-finn", "u-vader"] {
            assert!(all.contains(row(id)), "{id} is in g-top's subtree");
        }
        store
            .apply_changes(&[to(json!({"group": "g-top"}), "delete")])
            .expect("applies");
        let left = holders(&store);
        assert!(left.contains(row("u-luke")), "luke keeps it through g-low");
        assert!(left.contains(row("u-finn")), "finn keeps it directly");
        assert!(!left.contains(row("u-vader")), "vader had g-top only");
        store
            .apply_changes(&[
                to(json!({"group": "g-low"}), "delete"),
                to(json!({"user": "u-finn"}), "delete"),
            ])
            .expect("applies");
        assert!(holders(&store).is_empty());
        assert!(store
            .apply_changes(&[to(json!({"user": "u-finn"}), "delete")])
            .is_err());
    }
}

/// Deleting a user removes its grants (found by subject) and nothing else.
#[test]
fn a_deleted_users_grants_go_with_it() {
    let store = tiny(options(false));
    let snap = store.snapshot();
    let before = snap.model.grants.len();
    let row = snap.row_of_id("u-vader").expect("tiny user");
    let own = snap
        .model
        .grants
        .iter()
        .filter(|g| g.subject == userql_directory::model::Subject::User(row))
        .count();
    assert!(own > 0, "the fixture grants to vader directly");
    store
        .apply_changes(&[parse(json!({"op":"delete","kind":"user","id":"u-vader"}))])
        .expect("applies");
    let snap = store.snapshot();
    assert_eq!(snap.model.grants.len(), before - own);
    check(&snap);
}

/// A catalog rename moves the object's names in the entity lookups in place: the new name
/// resolves, the old one no longer does, and a new object resolves at once.
#[test]
fn a_renamed_catalog_object_resolves_by_its_new_name_only() {
    let store = tiny(options(false));
    let army = store.snapshot().index.resolve_group("Imperial Army");
    assert_eq!(army.len(), 1);
    store
        .apply_changes(&[
            parse(json!({"op":"patch","kind":"group","id":"g-army","set":{"name":"First Order"}})),
            parse(json!({"op":"patch","kind":"project","id":"p-ds","set":{"key":"DS2","name":"Death Star II"}})),
            parse(json!({"op":"put","kind":"group","value":{"id":"g-new","name":"Imperial Army"}})),
        ])
        .expect("applies");
    let snap = store.snapshot();
    assert_eq!(snap.index.resolve_group("first order"), army);
    assert_eq!(snap.index.resolve_group("g-army"), army);
    let new = snap.index.resolve_group("g-new");
    assert_eq!(new.len(), 1);
    assert_eq!(snap.index.resolve_group("Imperial Army"), new);
    let ds = snap.index.resolve_project("p-ds");
    assert_eq!(snap.index.resolve_project("ds2"), ds);
    assert_eq!(snap.index.resolve_project("Death Star II"), ds);
    assert!(snap.index.resolve_project("DS").is_empty());
    assert!(snap.index.resolve_project("Death Star").is_empty());
    assert_eq!(
        snap.index.resolve_project("ds2"),
        Indexes::build(&snap.model).resolve_project("ds2")
    );
}

/// A membership put or delete of a clean row is made in place when compactions run on the
/// writer's path: the row stays clean, the nested group's ancestors and the role granted to an
/// ancestor follow at once, and leaving takes them away again.
#[test]
fn a_membership_to_a_nested_group_is_made_in_place() {
    let store = tiny(options(false));
    let snap = store.snapshot();
    let han = snap.row_of_id("u-han").expect("tiny user");
    let army = snap.index.resolve_group("g-army")[0];
    let observer = snap.index.resolve_role("observer")[0];
    let empire = snap.index.resolve_organization("o-empire")[0];
    let scope = AccessScope::Organization(empire);
    assert!(!snap.index.group_transitive(army).contains(han));
    let membership = |op: &str| {
        parse(json!({"op": op, "kind": "membership",
            "value": {"user": "u-han", "group": "g-501"}}))
    };
    store.apply_changes(&[membership("put")]).expect("applies");
    let snap = store.snapshot();
    assert!(!snap.dirty.contains(han), "the row stays clean");
    assert!(snap.index.group_transitive(army).contains(han));
    assert!(snap.index.access(scope, Some(&[observer])).contains(han));
    check(&snap);
    store
        .apply_changes(&[membership("delete")])
        .expect("applies");
    store.wait_for_rebuild();
    let snap = store.snapshot();
    assert!(!snap.dirty.contains(han));
    assert!(!snap.index.group_transitive(army).contains(han));
    assert!(!snap.index.access(scope, Some(&[observer])).contains(han));
    check(&snap);
}

/// With compactions in the background, a membership is left to the overlay while the rows
/// re-checked one by one stay under twice `max_dirty`: the row is dirty, the indexes keep
/// its old bits (which every indexed answer leaves out), and the model has the membership.
#[test]
fn a_membership_with_background_compactions_goes_to_the_overlay() {
    let store = tiny(options(true));
    let snap = store.snapshot();
    let han = snap.row_of_id("u-han").expect("tiny user");
    let army = snap.index.resolve_group("g-army")[0];
    let put = parse(json!({"op": "put", "kind": "membership",
        "value": {"user": "u-han", "group": "g-501"}}));
    store.apply_changes(&[put]).expect("applies");
    let snap = store.snapshot();
    assert!(snap.dirty.contains(han), "left to the overlay");
    assert!(
        !snap.index.group_transitive(army).contains(han),
        "no index written"
    );
    assert!(snap.model.users[han as usize]
        .groups
        .iter()
        .any(|m| snap.model.groups[m.group.index()].id == "g-501"));
    check(&snap);
}

/// With delta levels built on the writer's path, a membership goes to the overlay while the
/// rows re-checked one by one stay within `max_dirty` (the batch crossing it builds the level
/// itself), and is made in place once that room is used up.
#[test]
fn a_membership_with_delta_levels_on_the_writers_path_takes_room_up_to_max_dirty() {
    let store = tiny(StoreOptions {
        max_dirty: 1,
        max_delta: 100,
        background: false,
        idle_compaction: None,
    });
    let snap = store.snapshot();
    let han = snap.row_of_id("u-han").expect("tiny user");
    let lando = snap.row_of_id("u-lando").expect("tiny user");
    let army = snap.index.resolve_group("g-army")[0];
    let put = |user: &str| {
        parse(json!({"op": "put", "kind": "membership",
            "value": {"user": user, "group": "g-501"}}))
    };
    store.apply_changes(&[put("u-han")]).expect("applies");
    let snap = store.snapshot();
    assert!(snap.dirty.contains(han), "left to the overlay");
    assert!(!snap.index.group_transitive(army).contains(han));
    assert_eq!(snap.undescribed(), 1);
    check(&snap);
    store.apply_changes(&[put("u-lando")]).expect("applies");
    let snap = store.snapshot();
    assert!(!snap.dirty.contains(lando), "no room left: made in place");
    assert!(snap.index.group_transitive(army).contains(lando));
    check(&snap);
}

/// Memberships into and out of the groups of the biggest subtree, whose root and members hold
/// many grants at every scope level (global, organization, several projects, several roles):
/// after every few single-change batches the access bitmaps equal a fresh build's, and a
/// user leaving keeps exactly the roles another path still gives it.
#[test]
fn memberships_under_a_heavily_granted_subtree_match_a_fresh_build() {
    let model = generate(&GenOptions {
        users: 1_200,
        seed: 11,
    });
    // The root with the most descendants, and its subtree.
    let parent_of = |g: usize| model.groups[g].parent.map(|p| p.index());
    let root_of = |mut g: usize| {
        while let Some(p) = parent_of(g) {
            g = p;
        }
        g
    };
    let mut size = vec![0usize; model.groups.len()];
    for g in 0..model.groups.len() {
        size[root_of(g)] += 1;
    }
    let root = (0..model.groups.len())
        .max_by_key(|&g| size[g])
        .expect("generated groups");
    let subtree: Vec<String> = (0..model.groups.len())
        .filter(|&g| root_of(g) == root)
        .map(|g| model.groups[g].id.clone())
        .collect();
    assert!(subtree.len() > 1, "a nested subtree");
    let roles: Vec<String> = model.roles.iter().take(6).map(|r| r.id.clone()).collect();
    let projects: Vec<String> = model
        .projects
        .iter()
        .take(4)
        .map(|p| p.id.clone())
        .collect();
    let org = model.organizations[0].id.clone();
    let users: Vec<String> = model
        .users
        .iter()
        .take(40)
        .map(|(_, u)| u.id.to_string())
        .collect();
    let store = Store::with_options(model.clone(), options(false));
    // Grants to the root and to a subgroup at every level, plus direct grants to some users
    // (other paths to the same roles).
    let mut grants = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        let group = &subtree[i % subtree.len()];
        grants.push(json!({"role": role, "group": &subtree[0]}));
        grants.push(json!({"role": role, "group": group, "organization": &org}));
        for project in &projects {
            grants.push(json!({"role": role, "group": group, "project": project}));
        }
        grants.push(json!({"role": role, "user": &users[i], "project": &projects[0]}));
    }
    for grant in &grants {
        let change = parse(json!({"op": "put", "kind": "grant", "value": grant}));
        // An equal grant may exist already: adding it again changes nothing.
        let _ = store.apply_changes(&[change]);
    }
    // Clean indexes (no overlay) over the grants, then memberships one batch at a time.
    let store = Store::with_options(Model::clone(&store.snapshot().model), options(false));
    check(&store.snapshot());
    let mut step = 0usize;
    for round in 0..3 {
        for (i, user) in users.iter().enumerate() {
            let group = &subtree[(i * 7 + round) % subtree.len()];
            let membership = json!({"user": user, "group": group});
            let put = parse(json!({"op": "put", "kind": "membership", "value": membership}));
            store
                .apply_changes(&[put])
                .expect("a membership put applies");
            step += 1;
            if i.is_multiple_of(3) {
                let delete =
                    parse(json!({"op": "delete", "kind": "membership", "value": membership}));
                store.apply_changes(&[delete]).expect("just joined");
                step += 1;
            }
            if step.is_multiple_of(10) {
                check(&store.snapshot());
            }
        }
        check(&store.snapshot());
    }
    // Grants removed one by one (several paths each) stay exact too.
    for grant in grants.iter().rev().step_by(3) {
        let change = parse(json!({"op": "delete", "kind": "grant", "value": grant}));
        if store.apply_changes(&[change]).is_ok() {
            check(&store.snapshot());
        }
    }
}

/// Removing a grant from a group of many members (past the few users re-derived one by one,
/// so the members' paths to grants decide) leaves every access bitmap as a fresh build makes
/// it: members that hold the role at another scope (through a subgroup, a team or a grant of
/// their own) keep its union, those holding another role at the scope keep the any-role
/// level, and only those left with no role covering a project leave "in a project".
#[test]
fn removing_a_grant_from_a_large_group_is_exact() {
    let model = generate(&GenOptions {
        users: 3_000,
        seed: 13,
    });
    // The group with the most members, directly or through subgroups.
    let mut members = vec![0usize; model.groups.len()];
    for (row, _) in model.users.iter() {
        for g in transitive_groups(&model, row) {
            members[g.index()] += 1;
        }
    }
    let big = (0..model.groups.len())
        .max_by_key(|&g| members[g])
        .expect("generated groups");
    assert!(
        members[big] > 300,
        "more members than are re-derived one by one: {}",
        members[big]
    );
    let group = model.groups[big].id.clone();
    let child = (0..model.groups.len())
        .find(|&g| model.groups[g].parent.is_some_and(|p| p.index() == big))
        .map(|g| model.groups[g].id.clone());
    let team = model
        .teams
        .iter()
        .find(|t| !t.users.is_empty())
        .map(|t| t.id.clone());
    let roles: Vec<String> = model.roles.iter().take(3).map(|r| r.id.clone()).collect();
    let (role, other) = (&roles[0], &roles[1]);
    let project = model.projects[0].id.clone();
    let org = model.organizations[0].id.clone();
    let user = model
        .users
        .iter()
        .map(|(_, u)| u.id.to_string())
        .next()
        .expect("users");
    // The grants removed, one per scope kind, and the other paths that survive them.
    let removed = [
        json!({"role": role, "group": &group, "project": &project}),
        json!({"role": role, "group": &group, "organization": &org}),
        json!({"role": role, "group": &group}),
    ];
    let mut others = vec![
        json!({"role": other, "group": &group, "project": &project}),
        json!({"role": role, "user": &user, "project": &project}),
    ];
    if let Some(child) = &child {
        others.push(json!({"role": role, "group": child, "organization": &org}));
    }
    if let Some(team) = &team {
        others.push(json!({"role": role, "team": team}));
    }
    for background in [false, true] {
        let store = Store::with_options(model.clone(), options(background));
        for grant in removed.iter().chain(&others) {
            let change = parse(json!({"op": "put", "kind": "grant", "value": grant}));
            // An equal grant may exist already: adding it again changes nothing.
            let _ = store.apply_changes(&[change]);
        }
        store.wait_for_rebuild();
        check(&store.snapshot());
        for grant in &removed {
            let change = parse(json!({"op": "delete", "kind": "grant", "value": grant}));
            store.apply_changes(&[change]).expect("the grant was put");
            check(&store.snapshot());
        }
        // The surviving paths go too, the last of them with the role's union.
        for grant in &others {
            let change = parse(json!({"op": "delete", "kind": "grant", "value": grant}));
            let _ = store.apply_changes(&[change]);
            check(&store.snapshot());
        }
    }
}
