//! Live index maintenance: after any sequence of batches, the indexes a snapshot carries (updated
//! in place for grants and catalog objects, shared for everything else) answer every lookup
//! exactly like indexes built from scratch on the snapshot's model — for every row the indexes
//! claim to describe (rows outside [`Snapshot::dirty`]); dirty rows are the overlay's business.

use std::ops::Bound;

use serde_json::json;
use userql_directory::changes::{Change, Target};
use userql_directory::generate::{generate, generate_changes, GenOptions};
use userql_directory::index::{
    AccessScope, Flag, Indexes, PrefixField, RoaringBitmap, SortKey, TermField, TextField,
    TimeColumn,
};
use userql_directory::model::{
    GroupIdx, OrgIdx, PermissionIdx, ProjectIdx, RoleIdx, ServiceIdx, State, TeamIdx,
};
use userql_directory::save::grant_to_raw;
use userql_directory::store::StoreOptions;
use userql_directory::{load_json, Snapshot, Store};

/// Tiny deterministic generator (the test is a pure function of its seeds).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Asserts that `live` and `fresh` agree on every row outside `dirty`.
fn same(what: &str, live: &RoaringBitmap, fresh: &RoaringBitmap, dirty: &RoaringBitmap) {
    let (live, fresh) = (live - dirty, fresh - dirty);
    assert_eq!(
        live,
        fresh,
        "{what}: live only {:?}, fresh only {:?}",
        (&live - &fresh).iter().take(5).collect::<Vec<_>>(),
        (&fresh - &live).iter().take(5).collect::<Vec<_>>()
    );
}

/// Every lookup of the live snapshot's indexes against a fresh build of its model.
fn check(snap: &Snapshot) {
    let fresh = Indexes::build(&snap.model);
    let live = &snap.index;
    let dirty = &*snap.dirty;
    let model = &snap.model;

    // Access: every scope, any role and each role alone, and every pair of roles.
    let mut scopes = vec![AccessScope::Any];
    scopes.extend((0..model.projects.len() as u32).map(|p| AccessScope::Project(ProjectIdx(p))));
    scopes.extend(
        (0..model.organizations.len() as u32).map(|o| AccessScope::Organization(OrgIdx(o))),
    );
    let roles: Vec<RoleIdx> = (0..model.roles.len() as u32).map(RoleIdx).collect();
    for &scope in &scopes {
        let what = format!("access({scope:?}, any)");
        same(
            &what,
            &live.access(scope, None),
            &fresh.access(scope, None),
            dirty,
        );
        for role in &roles {
            let what = format!("access({scope:?}, {role:?})");
            let one = std::slice::from_ref(role);
            same(
                &what,
                &live.access(scope, Some(one)),
                &fresh.access(scope, Some(one)),
                dirty,
            );
        }
    }
    for &role in &roles {
        same(
            &format!("own_role({role:?})"),
            &live.own_role(role).to_bitmap(),
            &fresh.own_role(role).to_bitmap(),
            dirty,
        );
    }
    same(
        "in_any_project",
        &live.in_any_project().to_bitmap(),
        &fresh.in_any_project().to_bitmap(),
        dirty,
    );
    for p in 0..model.permissions.len() as u32 {
        assert_eq!(
            live.roles_with_permission(PermissionIdx(p)),
            fresh.roles_with_permission(PermissionIdx(p)),
            "roles with permission {p}"
        );
    }

    // Structure.
    for g in (0..model.groups.len() as u32).map(GroupIdx) {
        same(
            &format!("group_direct({g:?})"),
            &live.group_direct(g).to_bitmap(),
            &fresh.group_direct(g).to_bitmap(),
            dirty,
        );
        same(
            &format!("group_transitive({g:?})"),
            &live.group_transitive(g).to_bitmap(),
            &fresh.group_transitive(g).to_bitmap(),
            dirty,
        );
        same(
            &format!("enterprise_users({g:?})"),
            live.enterprise_users(g),
            fresh.enterprise_users(g),
            dirty,
        );
        assert_eq!(live.group_ancestors(g), fresh.group_ancestors(g), "{g:?}");
        assert_eq!(
            live.group_descendants(g),
            fresh.group_descendants(g),
            "{g:?}"
        );
    }
    for t in (0..model.teams.len() as u32).map(TeamIdx) {
        same(
            &format!("team_members({t:?})"),
            &live.team_members(t).to_bitmap(),
            &fresh.team_members(t).to_bitmap(),
            dirty,
        );
    }
    for o in (0..model.organizations.len() as u32).map(OrgIdx) {
        same(
            &format!("org_members({o:?})"),
            live.org_members(o),
            fresh.org_members(o),
            dirty,
        );
    }
    for s in (0..model.services.len() as u32).map(ServiceIdx) {
        same("license", live.license(s), fresh.license(s), dirty);
        same(
            "origin_service",
            live.origin_service(s),
            fresh.origin_service(s),
            dirty,
        );
    }

    // Entity lookups: every id and name of every kind.
    let mut names: Vec<String> = Vec::new();
    names.extend(
        model
            .groups
            .iter()
            .flat_map(|g| [g.id.clone(), g.name.clone()]),
    );
    names.extend(
        model
            .teams
            .iter()
            .flat_map(|t| [t.id.clone(), t.name.clone()]),
    );
    names.extend(model.projects.iter().flat_map(|p| {
        [p.id.clone(), p.name.clone()]
            .into_iter()
            .chain(p.key.clone())
    }));
    names.extend(
        model
            .roles
            .iter()
            .flat_map(|r| [r.id.clone(), r.name.clone()]),
    );
    names.extend(
        model
            .organizations
            .iter()
            .flat_map(|o| [o.id.clone(), o.name.clone()]),
    );
    names.extend(
        model
            .permissions
            .iter()
            .flat_map(|p| [p.id.clone(), p.name.clone()]),
    );
    names.extend(
        model
            .services
            .iter()
            .flat_map(|s| [s.id.clone(), s.name.clone()]),
    );
    names.push("no such thing".to_owned());
    for name in &names {
        assert_eq!(
            live.resolve_group(name),
            fresh.resolve_group(name),
            "{name}"
        );
        assert_eq!(live.resolve_team(name), fresh.resolve_team(name), "{name}");
        assert_eq!(
            live.resolve_project(name),
            fresh.resolve_project(name),
            "{name}"
        );
        assert_eq!(live.resolve_role(name), fresh.resolve_role(name), "{name}");
        assert_eq!(
            live.resolve_organization(name),
            fresh.resolve_organization(name),
            "{name}"
        );
        assert_eq!(
            live.resolve_permission(name),
            fresh.resolve_permission(name),
            "{name}"
        );
        assert_eq!(
            live.resolve_service(name),
            fresh.resolve_service(name),
            "{name}"
        );
    }

    // Per-user columns: terms, prefixes, substrings, ranges, flags and states of a sample of
    // users (shared, never copied, by the live path: clean rows must still match).
    for (_, user) in model.users.iter().step_by(7) {
        let prefix: String = user.login.chars().take(2).collect();
        let needle: String = user.login.chars().skip(1).take(3).collect();
        same(
            "term login",
            &live.term(TermField::Login, &user.login),
            &fresh.term(TermField::Login, &user.login),
            dirty,
        );
        same(
            "term id",
            &live.term(TermField::Id, &user.id),
            &fresh.term(TermField::Id, &user.id),
            dirty,
        );
        same(
            "prefix login",
            &live.prefix(PrefixField::Login, &prefix),
            &fresh.prefix(PrefixField::Login, &prefix),
            dirty,
        );
        same(
            "substring login",
            &live.substring(TextField::Login, &needle),
            &fresh.substring(TextField::Login, &needle),
            dirty,
        );
        let at = user.created_at;
        same(
            "created range",
            &live.time_range(TimeColumn::Created, Bound::Included(at), Bound::Unbounded),
            &fresh.time_range(TimeColumn::Created, Bound::Included(at), Bound::Unbounded),
            dirty,
        );
    }
    // Last access (moved in place by sign-ins): ranges around every tenth user's time, the
    // counts of clean rows, and both `orderBy` permutations restricted to clean rows.
    for (row, _) in model.users.iter().step_by(10) {
        let Some(at) = model.users.last_access(row as usize) else {
            continue;
        };
        for (lo, hi) in [
            (Bound::Included(at), Bound::Unbounded),
            (Bound::Unbounded, Bound::Excluded(at)),
            (
                Bound::Excluded(at - 86_400_000),
                Bound::Included(at + 86_400_000),
            ),
        ] {
            same(
                "last access range",
                &live.time_range(TimeColumn::LastAccess, lo, hi),
                &fresh.time_range(TimeColumn::LastAccess, lo, hi),
                dirty,
            );
        }
    }
    for descending in [false, true] {
        let clean = |order: &[u32]| -> Vec<u32> {
            order
                .iter()
                .copied()
                .filter(|&row| !dirty.contains(row))
                .collect()
        };
        assert_eq!(
            clean(live.order(SortKey::LastAccess, descending)),
            clean(fresh.order(SortKey::LastAccess, descending)),
            "orderBy lastAccess (descending: {descending})"
        );
    }
    for flag in Flag::ALL {
        same(
            &format!("flag {flag:?}"),
            live.flag(flag),
            fresh.flag(flag),
            dirty,
        );
    }
    for state in State::ALL {
        same(
            &format!("state {state:?}"),
            live.state(state),
            fresh.state(state),
            dirty,
        );
    }
}

/// A random grant change (put or delete of an existing grant) or catalog change over the
/// directory as it stands.
fn random_change(snap: &Snapshot, r: &mut Lcg, serial: usize) -> Change {
    let model = &snap.model;
    let parse = |value: serde_json::Value| -> Change {
        serde_json::from_value(value).expect("generated changes are well-formed")
    };
    let group = |r: &mut Lcg| model.groups[r.below(model.groups.len())].id.clone();
    match r.below(10) {
        0..=2 if !model.grants.is_empty() => {
            let grant = &model.grants[r.below(model.grants.len())];
            Change::Delete(Target::Grant(grant_to_raw(model, grant)))
        }
        0..=5 => {
            let role = &model.roles[r.below(model.roles.len())].id;
            let mut grant = json!({ "role": role });
            match r.below(3) {
                0 => grant["group"] = json!(group(r)),
                1 if !model.teams.is_empty() => {
                    grant["team"] = json!(model.teams[r.below(model.teams.len())].id)
                }
                _ => grant["user"] = json!(live_user(model, r.below(model.users.count())).id),
            }
            match r.below(3) {
                0 if !model.projects.is_empty() => {
                    grant["project"] = json!(model.projects[r.below(model.projects.len())].id)
                }
                1 if !model.organizations.is_empty() => {
                    let org = &model.organizations[r.below(model.organizations.len())];
                    grant["organization"] = json!(org.id)
                }
                _ => {}
            }
            parse(json!({"op": "put", "kind": "grant", "value": grant}))
        }
        6 => {
            let user = &live_user(model, r.below(model.users.count())).id;
            let op = if r.chance(60) { "put" } else { "delete" };
            parse(
                json!({"op": op, "kind": "membership", "value": {"user": user, "group": group(r)}}),
            )
        }
        7 => {
            // A rename, a move (possibly refused as a cycle), or a new group.
            let id = group(r);
            match r.below(3) {
                0 => parse(json!({"op": "patch", "kind": "group", "id": id,
                    "set": {"name": format!("Renamed {serial}")}})),
                1 => parse(json!({"op": "patch", "kind": "group", "id": id,
                    "set": {"parent": group(r)}})),
                _ => parse(json!({"op": "put", "kind": "group", "value": {
                    "id": format!("g-live-{serial}"), "name": format!("Live {serial}"),
                    "parent": if r.chance(50) { json!(group(r)) } else { json!(null) }}})),
            }
        }
        8 => {
            let user = &live_user(model, r.below(model.users.count())).id;
            parse(json!({"op": "delete", "kind": "user", "id": user}))
        }
        _ => {
            if r.chance(50) && !model.roles.is_empty() {
                let role = &model.roles[r.below(model.roles.len())].id;
                parse(json!({"op": "patch", "kind": "role", "id": role,
                    "set": {"name": format!("Role {serial}")}}))
            } else {
                let organization = if r.chance(50) && !model.organizations.is_empty() {
                    json!(model.organizations[r.below(model.organizations.len())].id)
                } else {
                    json!(null)
                };
                parse(json!({"op": "put", "kind": "project", "value": {
                    "id": format!("p-live-{serial}"), "name": format!("Live {serial}"),
                    "key": format!("LV{serial}"), "organization": organization}}))
            }
        }
    }
}

fn run(seed: u64, options: StoreOptions, batches: usize) {
    let model = generate(&GenOptions {
        users: 300,
        seed: 11 + seed,
    });
    let store = Store::with_options(model, options);
    let mut r = Lcg(seed);
    let mut serial = 0;
    let mut accepted = 0;
    for _ in 0..batches {
        let snap = store.snapshot();
        let batch: Vec<Change> = (0..1 + r.below(4))
            .map(|_| {
                serial += 1;
                random_change(&snap, &mut r, serial)
            })
            .collect();
        accepted += usize::from(store.apply_changes(&batch).is_ok());
        if r.chance(20) {
            store.wait_for_rebuild();
        }
        check(&store.snapshot());
    }
    assert!(
        accepted * 2 > batches,
        "only {accepted} of {batches} accepted"
    );
    store.wait_for_rebuild();
    check(&store.snapshot());
}

#[test]
fn live_indexes_match_a_fresh_build_without_rebuilds() {
    for seed in 0..3 {
        let options = StoreOptions {
            max_dirty: u64::MAX,
            max_delta: 0,
            background: false,
            idle_compaction: None,
        };
        run(seed, options, 40);
    }
}

#[test]
fn live_indexes_match_a_fresh_build_with_background_rebuilds() {
    for seed in 3..6 {
        let options = StoreOptions {
            max_dirty: 4,
            max_delta: 0,
            background: true,
            idle_compaction: None,
        };
        run(seed, options, 40);
    }
}

#[test]
fn live_indexes_match_a_fresh_build_with_synchronous_rebuilds() {
    let options = StoreOptions {
        max_dirty: 4,
        max_delta: 0,
        background: false,
        idle_compaction: None,
    };
    run(6, options, 40);
}

#[test]
fn a_generated_change_stream_keeps_the_indexes_exact() {
    let model = generate(&GenOptions {
        users: 400,
        seed: 3,
    });
    let changes = generate_changes(&model, 600, 3);
    let store = Store::with_options(
        model,
        StoreOptions {
            max_dirty: 64,
            max_delta: 0,
            background: true,
            idle_compaction: None,
        },
    );
    for (i, chunk) in changes.chunks(25).enumerate() {
        if let Err(e) = store.apply_changes(chunk) {
            panic!("chunk {i} refused: {e}");
        }
        check(&store.snapshot());
    }
}

/// Sign-ins move rows inside the last-access column without dirtying them, across the
/// column's copy-on-write chunks (thousands of entries each: this directory has several), with
/// and without background rebuilds replaying them onto indexes of an earlier version.
#[test]
fn sign_ins_move_rows_in_place_without_dirtying_them() {
    for background in [false, true] {
        let model = generate(&GenOptions {
            users: 12_000,
            seed: 5,
        });
        let changes = generate_changes(&model, 1_500, 5);
        let store = Store::with_options(
            model,
            StoreOptions {
                max_dirty: if background { 40 } else { u64::MAX },
                max_delta: 0,
                background,
                idle_compaction: None,
            },
        );
        let mut touches = 0;
        for batch in changes.chunks(50) {
            store
                .apply_changes(batch)
                .expect("a generated batch applies");
            touches += batch
                .iter()
                .filter(|c| matches!(c, Change::Touch { .. }))
                .count();
        }
        store.wait_for_rebuild();
        let snap = store.snapshot();
        assert!(touches > 500, "the stream signs in");
        if !background {
            // Only the other kinds (and first sign-ins) dirty rows.
            assert!(
                (snap.dirty.len() as usize) < changes.len() - touches / 2,
                "{} dirty rows after {touches} sign-ins",
                snap.dirty.len()
            );
        }
        check(&snap);
    }
}

/// Memberships and user deletions applied one change per batch (the benchmark's slow kinds) on
/// a directory spanning two 65,536-row blocks, so the large holder sets are kept in shared
/// blocks and each change writes a row or two into them row by row (`BlockBitmap`'s few-rows
/// path) while the previous snapshot keeps its own: every index stays a fresh build's, and the
/// snapshot taken before the stream is untouched.
#[test]
fn memberships_and_deletions_one_by_one_stay_exact_over_several_blocks() {
    let model = generate(&GenOptions {
        users: 70_000,
        seed: 9,
    });
    let changes: Vec<Change> = generate_changes(&model, 1_200, 9)
        .into_iter()
        .filter(|c| {
            matches!(
                c,
                Change::Put(userql_directory::changes::Object::Membership(_))
                    | Change::Delete(Target::Membership(_))
                    | Change::Delete(Target::Entity {
                        kind: userql_directory::changes::EntityKind::User,
                        ..
                    })
            )
        })
        .collect();
    let store = Store::with_options(model, StoreOptions::never_compact());
    let first = store.snapshot();
    let mut applied = 0;
    for change in &changes {
        // A change whose subject an earlier one deleted is refused, atomically.
        if store.apply_changes(std::slice::from_ref(change)).is_ok() {
            applied += 1;
        }
    }
    assert!(applied > 80, "{applied} of {} applied", changes.len());
    check(&store.snapshot());
    check(&first);
}

/// Member sets large enough to be kept in 65,536-row blocks (two full blocks of members) gain
/// and lose a member in a third block one change per batch: a membership in a nested group
/// (the group's direct and transitive sets, its ancestors', a team listing its parent) and a
/// direct grant (the own-role holders). The first change adds a block, the removals empty it
/// again; after each change every index equals a fresh build's, the changed row stays clean,
/// and the snapshots taken before keep their own rows.
#[test]
fn member_sets_in_blocks_gain_and_empty_a_block_exactly() {
    let model = generate(&GenOptions {
        users: 132_000,
        seed: 5,
    });
    let project = model.projects[0].id.clone();
    let id = |n: usize| live_user(&model, n).id.clone();
    let mut setup = vec![
        json!({"op":"put","kind":"role","value":{"id":"r-blk","name":"Blocks"}}),
        json!({"op":"put","kind":"group","value":{"id":"g-btop","name":"Block top"}}),
        json!({"op":"put","kind":"group","value":{"id":"g-bmid","name":"Block mid","parent":"g-btop"}}),
        json!({"op":"put","kind":"group","value":{"id":"g-blow","name":"Block low","parent":"g-bmid"}}),
        json!({"op":"put","kind":"team","value":{"id":"t-blk","name":"Block team","project":project,"groups":["g-bmid"]}}),
        json!({"op":"put","kind":"grant","value":{"role":"r-blk","group":"g-btop","project":project}}),
        json!({"op":"put","kind":"grant","value":{"role":"r-blk","team":"t-blk"}}),
    ];
    // Every 8th user of the first two blocks in the low group, every 16th granted the role.
    for n in (0..131_072).step_by(8) {
        setup.push(json!({"op":"put","kind":"membership","value":{"user":id(n),"group":"g-blow"}}));
        if n % 16 == 0 {
            setup.push(json!({"op":"put","kind":"grant","value":{"role":"r-blk","user":id(n)}}));
        }
    }
    let (far, near) = (id(131_500), id(8));
    let lines: Vec<String> = setup.iter().map(|c| c.to_string()).collect();
    let staging = Store::with_options(model, StoreOptions::never_compact());
    staging
        .apply_changes(&batch(&lines.join("\n")))
        .expect("setup applies");
    // Clean indexes built over the setup.
    let model = userql_directory::model::Model::clone(&staging.snapshot().model);
    let store = Store::with_options(model, StoreOptions::never_compact());
    let start = store.snapshot();
    let group = |name: &str| start.index.resolve_group(name)[0];
    let (top, low) = (group("g-btop"), group("g-blow"));
    let team = start.index.resolve_team("t-blk")[0];
    let role = start.index.resolve_role("r-blk")[0];
    let far_row = start.row_of_id(&far).expect("generated user");
    assert!(far_row >= 2 << 16, "the user's row is in a third block");
    for (what, set) in [
        ("direct", start.index.group_direct(low)),
        ("transitive", start.index.group_transitive(top)),
        ("team", start.index.team_members(team)),
        ("own role", start.index.own_role(role)),
    ] {
        assert!(set.as_bitmap().is_none(), "{what}: kept in blocks");
        assert!(!set.contains(far_row), "{what}");
    }
    let membership = |op: &str, user: &str| {
        format!(
            r#"{{"op":"{op}","kind":"membership","value":{{"user":"{user}","group":"g-blow"}}}}"#
        )
    };
    let grant = |op: &str| {
        format!(r#"{{"op":"{op}","kind":"grant","value":{{"role":"r-blk","user":"{far}"}}}}"#)
    };
    let step = |change: String| {
        store.apply_changes(&batch(&change)).expect("applies");
        let snap = store.snapshot();
        assert!(snap.dirty.is_empty(), "made in place: {change}");
        check(&snap);
        snap
    };
    let joined = step(membership("put", &far));
    let ix = &joined.index;
    assert!(ix.group_direct(low).contains(far_row));
    assert!(ix.group_transitive(top).contains(far_row));
    assert!(ix.team_members(team).contains(far_row));
    assert!(ix.access(AccessScope::Any, Some(&[role])).contains(far_row));
    let granted = step(grant("put"));
    assert!(granted.index.own_role(role).contains(far_row));
    let left = step(membership("delete", &far));
    let ix = &left.index;
    assert!(!ix.group_direct(low).contains(far_row));
    assert!(!ix.group_transitive(top).contains(far_row));
    assert!(!ix.team_members(team).contains(far_row));
    assert!(
        ix.access(AccessScope::Any, Some(&[role])).contains(far_row),
        "granted directly"
    );
    let ungranted = step(grant("delete"));
    assert!(!ungranted.index.own_role(role).contains(far_row));
    assert!(!ungranted
        .index
        .access(AccessScope::Any, Some(&[role]))
        .contains(far_row));
    step(membership("delete", &near));
    // Earlier versions are untouched by the later writes.
    assert!(joined.index.group_transitive(top).contains(far_row));
    assert!(!joined.index.own_role(role).contains(far_row));
    assert!(granted.index.own_role(role).contains(far_row));
    check(&start);
    check(&joined);
}

/// Parses one batch written as JSON lines (without the header).
fn batch(lines: &str) -> Vec<Change> {
    let text = format!("{{\"format\": \"userql-changes/1\"}}\n{lines}");
    userql_directory::changes::read_changes(text.as_bytes())
        .expect("well-formed changes")
        .into_iter()
        .flat_map(|b| b.changes)
        .collect()
}

/// Users holding a role through two paths (a grant to a group they are in transitively and a
/// grant to a team listing that group) keep it when one path goes and lose it when both go;
/// users reached by one path only lose it at once.
#[test]
fn removing_one_of_two_paths_keeps_the_role() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/seeds/load_json/tiny.json"
    ))
    .expect("fixture");
    let store = Store::with_options(
        load_json(&bytes).expect("valid fixture"),
        StoreOptions {
            max_dirty: u64::MAX,
            max_delta: 0,
            background: false,
            idle_compaction: None,
        },
    );
    store
        .apply_changes(&batch(
            r#"{"op":"put","kind":"role","value":{"id":"r-live","name":"Live"}}"#,
        ))
        .expect("applies");
    let snap = store.snapshot();
    let row = |id: &str| snap.row_of_id(id).expect("tiny user");
    let (finn, tk421, vader) = (row("u-finn"), row("u-tk421"), row("u-vader"));
    let role = snap.index.resolve_role("r-live")[0];
    let holders = |store: &Store| {
        let snap = store.snapshot();
        check(&snap);
        assert!(
            snap.dirty.is_empty(),
            "grants to groups and teams dirty no row"
        );
        snap.index.access(AccessScope::Any, Some(&[role]))
    };
    let to_army = r#"{"op":"put","kind":"grant","value":{"role":"r-live","group":"g-army"}}"#;
    let to_team = r#"{"op":"put","kind":"grant","value":{"role":"r-live","team":"t-ds"}}"#;
    let before = holders(&store);
    assert!(before.is_empty());

    store
        .apply_changes(&batch(&format!("{to_army}\n{to_team}")))
        .expect("applies");
    let both = holders(&store);
    assert!(both.contains(finn) && both.contains(tk421) && both.contains(vader));

    store
        .apply_changes(&batch(&to_army.replace("\"put\"", "\"delete\"")))
        .expect("applies");
    let team_only = holders(&store);
    assert!(team_only.contains(finn), "finn still holds it through t-ds");
    assert!(
        team_only.contains(tk421),
        "tk421 still holds it through t-ds"
    );
    assert!(
        !team_only.contains(vader),
        "vader held it through g-army only"
    );

    store
        .apply_changes(&batch(&to_team.replace("\"put\"", "\"delete\"")))
        .expect("applies");
    assert_eq!(holders(&store), before);
}

/// A user holding a role at one scope through grants to two groups it is a member of keeps it
/// (at that scope, in the role's union, in the any-role sets) when it leaves one group, and
/// loses it when it leaves both; each change is made in place (the row stays clean) and every
/// index equals a fresh build's after it.
#[test]
fn leaving_one_of_two_granted_groups_keeps_the_role() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/seeds/load_json/tiny.json"
    ))
    .expect("fixture");
    let model = load_json(&bytes).expect("valid fixture");
    let project = model.projects[0].id.clone();
    let store = Store::with_options(model, StoreOptions::never_compact());
    let setup = [
        json!({"op":"put","kind":"role","value":{"id":"r-two","name":"Two"}}),
        json!({"op":"put","kind":"grant","value":{"role":"r-two","group":"g-navy","project":project}}),
        json!({"op":"put","kind":"grant","value":{"role":"r-two","group":"g-jedi","project":project}}),
    ];
    let lines: Vec<String> = setup.iter().map(|c| c.to_string()).collect();
    store
        .apply_changes(&batch(&lines.join("\n")))
        .expect("setup applies");
    let snap = store.snapshot();
    let tarkin = snap.row_of_id("u-tarkin").expect("tiny user");
    let role = snap.index.resolve_role("r-two")[0];
    let project = snap.index.resolve_project(&project)[0];
    let membership = |op: &str, group: &str| {
        format!(
            r#"{{"op":"{op}","kind":"membership","value":{{"user":"u-tarkin","group":"{group}"}}}}"#
        )
    };
    let holds = |change: String| {
        store.apply_changes(&batch(&change)).expect("applies");
        let snap = store.snapshot();
        assert!(snap.dirty.is_empty(), "made in place: {change}");
        check(&snap);
        let ix = &snap.index;
        let at_project = ix.access(AccessScope::Project(project), Some(&[role]));
        let anywhere = ix.access(AccessScope::Any, Some(&[role]));
        assert_eq!(at_project.contains(tarkin), anywhere.contains(tarkin));
        at_project.contains(tarkin)
    };
    assert!(
        snap.index
            .access(AccessScope::Any, Some(&[role]))
            .contains(tarkin),
        "u-tarkin is in g-navy"
    );
    assert!(holds(membership("put", "g-jedi")), "both groups");
    assert!(
        holds(membership("delete", "g-navy")),
        "still through g-jedi"
    );
    assert!(holds(membership("put", "g-navy")), "both again");
    assert!(
        holds(membership("delete", "g-jedi")),
        "still through g-navy"
    );
    assert!(!holds(membership("delete", "g-navy")), "neither group");
    assert!(holds(membership("put", "g-jedi")), "one group");
}

/// The `n`th user still in the directory (deleted users leave holes in the rows).
fn live_user(model: &userql_directory::model::Model, n: usize) -> &userql_directory::model::User {
    model
        .users
        .records()
        .nth(n)
        .expect("n is below the user count")
}

/// A generated directory of `users` with a stream of `changes` applied in batches of `batch`
/// to a store compacting in the background past 16 dirty rows (delta levels up to 1,000 rows),
/// quiet after `idle`; and whether some batch left a delta level.
fn streamed_store(
    users: usize,
    changes: usize,
    batch: usize,
    idle: Option<std::time::Duration>,
) -> (Store, bool) {
    let seed = users as u64;
    let model = generate(&GenOptions { users, seed });
    let changes = generate_changes(&model, changes, seed);
    let store = Store::with_options(
        model,
        StoreOptions {
            max_dirty: 16,
            max_delta: 1_000,
            background: true,
            idle_compaction: idle,
        },
    );
    let mut saw_levels = false;
    for (i, chunk) in changes.chunks(batch).enumerate() {
        if let Err(e) = store.apply_changes(chunk) {
            panic!("batch {i} refused: {e}");
        }
        saw_levels |= !store.snapshot().deltas.is_empty();
    }
    (store, saw_levels)
}

/// A quiet store folds its delta levels and dirty rows into a whole rebuild by itself
/// (`StoreOptions::idle_compaction`): the version does not move, no row stays dirty, the
/// indexes are exact. A few dirty rows afterwards (at most `max_dirty`, no level) are left
/// alone, so a trickle of changes does not rebuild every period.
#[test]
fn a_quiet_store_compacts_its_levels_into_a_whole_rebuild() {
    let quiet = std::time::Duration::from_millis(50);
    let (store, saw_levels) = streamed_store(2_000, 600, 20, Some(quiet));
    assert!(saw_levels, "the stream builds delta levels");
    let version = store.version();
    let clean = wait_until(|| !store.snapshot().has_overlay());
    let snap = store.snapshot();
    assert!(clean, "still {} dirty rows", snap.dirty.len());
    assert!(snap.deltas.is_empty());
    assert_eq!(
        snap.version, version,
        "a compaction publishes no new version"
    );
    check(&snap);

    // One dirty row: below max_dirty and no level, so nothing to fold.
    let login = snap.model.users.get(0).map(|u| u.id.to_string());
    let Some(id) = login else { panic!("no user 0") };
    let patch = batch(&format!(
        r#"{{"op": "patch", "kind": "user", "id": "{id}", "set": {{"name": "Quiet Renamed"}}}}"#
    ));
    store.apply_changes(&patch).expect("the rename applies");
    std::thread::sleep(quiet * 6);
    store.wait_for_rebuild();
    let after = store.snapshot();
    assert_eq!(
        after.dirty.len(),
        1,
        "a single dirty row is left to the overlay"
    );
    check(&after);
}

/// `Store::compact` leaves no dirty row and no level, whatever the options.
#[test]
fn compact_folds_every_change_into_the_indexes() {
    let (store, _) = streamed_store(1_500, 300, 30, None);
    assert!(
        store.snapshot().has_overlay(),
        "the stream leaves dirty rows"
    );
    store.compact();
    let snap = store.snapshot();
    assert!(!snap.has_overlay(), "{} dirty rows", snap.dirty.len());
    assert!(snap.deltas.is_empty());
    check(&snap);
}

/// Polls `done` for up to 30 s (a loaded test machine may take seconds for a rebuild).
fn wait_until(done: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    done()
}
