//! Index changes replayed onto an earlier version's indexes (what a background rebuild's
//! publication does) against a fresh build of the final model, deterministically: the same
//! logs through the live path (each batch onto the previous batch's indexes) and all at once
//! onto the indexes of the version before them.

use serde_json::json;

use super::txn::Applied;
use super::writer::{apply_ops, IndexOp, Writer};
use crate::changes::{apply_changes, Change};
use crate::index::{AccessScope, Indexes};
use crate::model::{GroupIdx, Model, OrgIdx, ProjectIdx, RoleIdx, TeamIdx};

/// The writer after `applied`, a batch on `model`, as the store's commit makes it follow;
/// returns the batch's model.
pub(super) fn follow(writer: &mut Writer, model: &Model, applied: Applied) -> Model {
    writer.follow(
        &applied.changed,
        false,
        &applied.ops,
        applied.subjects,
        (model, &applied.model),
    );
    applied.model
}

/// The tiny fixture directory (shared by the store's unit tests).
pub(super) fn tiny() -> Model {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/seeds/load_json/tiny.json"
    ))
    .expect("fixture");
    crate::load_json(&bytes).expect("valid fixture")
}

/// A grant change (`op` put or delete) of role `observer` to a group or team.
fn grant(op: &str, subject: &str, id: &str) -> Change {
    change(json!({"op": op, "kind": "grant", "value": {"role": "observer", subject: id}}))
}

/// Group `id` moved under `parent` (none: a root).
fn moved(id: &str, parent: Option<&str>) -> Change {
    change(json!({"op": "patch", "kind": "group", "id": id, "set": {"parent": parent}}))
}

pub(super) fn membership(op: &str, user: &str, group: &str) -> Change {
    change(json!({"op": op, "kind": "membership", "value": {"user": user, "group": group}}))
}

pub(super) fn change(value: serde_json::Value) -> Change {
    serde_json::from_value(value).expect("well-formed change")
}

/// The access and membership answers of `live` against a fresh build of `model`.
fn assert_same(live: &Indexes, model: &Model, what: &str) {
    let fresh = Indexes::build(model);
    let mut scopes = vec![AccessScope::Any];
    scopes.extend((0..model.projects.len() as u32).map(|p| AccessScope::Project(ProjectIdx(p))));
    scopes.extend(
        (0..model.organizations.len() as u32).map(|o| AccessScope::Organization(OrgIdx(o))),
    );
    for &scope in &scopes {
        assert_eq!(
            live.access(scope, None),
            fresh.access(scope, None),
            "{what}: access({scope:?})"
        );
        for role in (0..model.roles.len() as u32).map(RoleIdx) {
            let one = [role];
            assert_eq!(
                live.access(scope, Some(&one)),
                fresh.access(scope, Some(&one)),
                "{what}: access({scope:?}, {role:?})"
            );
            assert_eq!(
                live.own_role(role),
                fresh.own_role(role),
                "{what}: {role:?}"
            );
        }
    }
    assert_eq!(live.in_any_project(), fresh.in_any_project(), "{what}");
    for g in (0..model.groups.len() as u32).map(GroupIdx) {
        assert_eq!(
            live.group_transitive(g),
            fresh.group_transitive(g),
            "{what}: {g:?}"
        );
    }
    for t in (0..model.teams.len() as u32).map(TeamIdx) {
        assert_eq!(live.team_members(t), fresh.team_members(t), "{what}: {t:?}");
    }
}

/// Applies `setup`, builds the indexes, then applies `log` batch by batch: each batch's index
/// changes onto the previous indexes (the live path), and all of them at once onto the
/// indexes built before the log (a background rebuild brought forward); both must equal a
/// fresh build of the final model.
fn replay(setup: &[Change], log: &[Vec<Change>], what: &str) {
    let mut model = tiny();
    let mut writer = Writer::of_model(&model);
    let step = |model: &mut Model, writer: &mut Writer, batch: &[Change]| -> Vec<IndexOp> {
        let applied = apply_changes(model, batch, writer)
            .unwrap_or_else(|e| panic!("{what}: batch {batch:?} refused: {e}"));
        assert!(!applied.structural, "{what}: a structural batch");
        assert!(
            applied.changed.is_empty(),
            "{what}: rows left to the overlay: {:?}",
            applied.changed
        );
        let ops = applied.ops.clone();
        *model = follow(writer, model, applied);
        ops
    };
    step(&mut model, &mut writer, setup);
    let base = Indexes::build(&model);
    let mut live = base.clone();
    let mut all = Vec::new();
    for batch in log {
        let ops = step(&mut model, &mut writer, batch);
        let unmoved = apply_ops(&mut live, &ops, &model, &writer.subjects);
        assert!(unmoved.is_empty(), "{what}");
        all.extend(ops);
    }
    assert_same(&live, &model, &format!("{what} (live)"));
    let mut replayed = base;
    apply_ops(&mut replayed, &all, &model, &writer.subjects);
    assert_same(&replayed, &model, &format!("{what} (replayed)"));
}

/// [`replay`] of every case after `setup`, in each of its [`splits`].
fn replay_every_split(setup: &[Change], cases: &[(&str, Vec<Change>)]) {
    for (what, changes) in cases {
        for (i, log) in splits(changes).iter().enumerate() {
            replay(setup, log, &format!("{what} #{i}"));
        }
    }
}

/// Every split of `changes` into batches that keeps their order: one batch, one per change,
/// and the first change alone then the rest.
fn splits(changes: &[Change]) -> Vec<Vec<Vec<Change>>> {
    let mut splits = vec![
        vec![changes.to_vec()],
        changes.iter().map(|c| vec![c.clone()]).collect(),
    ];
    if changes.len() > 2 {
        splits.push(vec![changes[..1].to_vec(), changes[1..].to_vec()]);
    }
    splits
}

/// A group moved out of a subtree whose grant is removed, in either order: the moved members
/// lose the role (they held it through the old ancestor only).
#[test]
fn a_group_move_and_a_grant_removal_replay_exactly() {
    let setup = [grant("put", "group", "g-army")];
    let cases: Vec<(&str, Vec<Change>)> = vec![
        (
            "remove then move out",
            vec![
                grant("delete", "group", "g-army"),
                moved("g-troopers", None),
            ],
        ),
        (
            "move out then remove",
            vec![
                moved("g-troopers", None),
                grant("delete", "group", "g-army"),
            ],
        ),
        (
            "remove, move out, move back",
            vec![
                grant("delete", "group", "g-army"),
                moved("g-troopers", None),
                moved("g-troopers", Some("g-army")),
            ],
        ),
        (
            "move out, grant again, remove, move back",
            vec![
                moved("g-troopers", None),
                grant("put", "group", "g-army"),
                grant("delete", "group", "g-army"),
                moved("g-troopers", Some("g-army")),
            ],
        ),
        (
            "move under the navy, grant to the navy, remove the army's",
            vec![
                moved("g-501", Some("g-navy")),
                grant("put", "group", "g-navy"),
                grant("delete", "group", "g-army"),
            ],
        ),
        (
            "remove the army's, move into the navy, grant to the navy",
            vec![
                grant("delete", "group", "g-army"),
                moved("g-troopers", Some("g-navy")),
                grant("put", "group", "g-navy"),
            ],
        ),
        (
            "join, remove, move",
            vec![
                membership("put", "u-leia", "g-501"),
                grant("delete", "group", "g-army"),
                moved("g-501", None),
            ],
        ),
    ];
    replay_every_split(&setup, &cases);
}

/// Two paths to the same role (the old ancestor's grant and a team listing the moved group):
/// removing one keeps the members that the other still reaches, whatever the order.
#[test]
fn one_of_two_paths_removed_around_a_move_keeps_the_other() {
    let setup = [
        grant("put", "group", "g-army"),
        grant("put", "team", "t-ds"),
    ];
    let cases: Vec<(&str, Vec<Change>)> = vec![
        (
            "remove the army's, move the troopers out",
            vec![
                grant("delete", "group", "g-army"),
                moved("g-troopers", None),
            ],
        ),
        (
            "move the troopers out, remove the team's",
            vec![moved("g-troopers", None), grant("delete", "team", "t-ds")],
        ),
        (
            "move the 501st out, remove the army's, remove the team's",
            vec![
                moved("g-501", None),
                grant("delete", "group", "g-army"),
                grant("delete", "team", "t-ds"),
            ],
        ),
    ];
    replay_every_split(&setup, &cases);
}

/// Memberships with several paths to one role: leaving one group keeps what another path
/// (a second group's grant, a team listing a group, the user's own grant) still gives, and a
/// nested membership followed by its grant's removal drops the role.
#[test]
fn memberships_remove_only_the_paths_they_end() {
    let setup = [
        grant("put", "group", "g-army"),
        grant("put", "group", "g-navy"),
        grant("put", "team", "t-ds"),
    ];
    let cases: Vec<(&str, Vec<Change>)> = vec![
        (
            "vader leaves the army, keeps the navy's",
            vec![membership("delete", "u-vader", "g-army")],
        ),
        (
            "vader leaves both",
            vec![
                membership("delete", "u-vader", "g-army"),
                membership("delete", "u-vader", "g-navy"),
            ],
        ),
        (
            "finn joins the navy, leaves the 501st, the team's grant goes",
            vec![
                membership("put", "u-finn", "g-navy"),
                membership("delete", "u-finn", "g-501"),
                grant("delete", "team", "t-ds"),
            ],
        ),
        (
            "luke joins the 501st (nested), then the army's and the team's grants go",
            vec![
                membership("put", "u-luke", "g-501"),
                grant("delete", "group", "g-army"),
                grant("delete", "team", "t-ds"),
            ],
        ),
        (
            "tk421 leaves the troopers, gets a grant of its own, joins again",
            vec![
                membership("delete", "u-tk421", "g-troopers"),
                grant("put", "user", "u-tk421"),
                membership("put", "u-tk421", "g-troopers"),
                grant("delete", "group", "g-army"),
            ],
        ),
    ];
    replay_every_split(&setup, &cases);
}
