//! Which path a batch's changes take on the writer: memberships left to the overlay while the
//! writer has room for them, then made in place; a user deletion's grants removed from the
//! model and the grants by subject but not from the indexes; the batch's grants by subject
//! adopted by the writer instead of being made again.

use serde_json::json;

use super::replayed_ops::{change, follow, membership, tiny};
use super::writer::{IndexOp, Writer};
use crate::changes::apply_changes;
use crate::facts::Subjects;
use crate::model::{Model, Subject};

fn row(model: &Model, id: &str) -> u32 {
    model
        .users
        .iter()
        .find(|(_, user)| &*user.id == id)
        .map(|(row, _)| row)
        .expect("tiny user")
}

/// Every grant by subject of `subjects` equals a fresh build's from `model`.
fn same_as_built(subjects: &Subjects, model: &Model) {
    let built = Subjects::build(model);
    for (row, _) in model.users.iter() {
        assert_eq!(
            subjects.grants_of_user(row),
            built.grants_of_user(row),
            "grants of row {row}"
        );
    }
    for at in 0..model.groups.len() {
        let group = Subject::Group(crate::model::GroupIdx(at as u32));
        let (ours, theirs): (Vec<_>, Vec<_>) = (
            subjects.grants_of(group).collect(),
            built.grants_of(group).collect(),
        );
        assert_eq!(ours, theirs, "grants of group {at}");
    }
}

#[test]
fn memberships_take_the_overlay_room_then_go_in_place() {
    let model = tiny();
    let (han, lando) = (row(&model, "u-han"), row(&model, "u-lando"));
    let mut writer = Writer::of_model(&model);
    writer.overlay_room = 1;
    let batch = [
        membership("put", "u-han", "g-501"),
        membership("put", "u-lando", "g-501"),
    ];
    let applied = apply_changes(&model, &batch, &writer).expect("applies");
    // The first takes the one row of room: dirty, no index change.
    assert!(applied.changed.contains(han));
    // The second finds none left: made in place, its row clean.
    assert!(!applied.changed.contains(lando));
    let placed: Vec<u32> = applied
        .ops
        .iter()
        .filter_map(|op| match op {
            IndexOp::Membership { row, .. } => Some(*row),
            _ => None,
        })
        .collect();
    assert_eq!(placed, vec![lando]);
}

#[test]
fn without_room_every_membership_is_made_in_place() {
    let model = tiny();
    let writer = Writer::of_model(&model);
    assert_eq!(writer.overlay_room, 0, "a writer of a model alone has none");
    let applied =
        apply_changes(&model, &[membership("put", "u-han", "g-501")], &writer).expect("applies");
    assert!(applied.changed.is_empty());
    assert_eq!(applied.ops.len(), 1);
}

#[test]
fn a_deleted_users_grants_leave_the_model_and_subjects_not_the_indexes() {
    let model = tiny();
    let vader = row(&model, "u-vader");
    assert!(model
        .grants
        .iter()
        .any(|g| g.subject == Subject::User(vader)));
    let mut writer = Writer::of_model(&model);
    let delete = change(json!({"op": "delete", "kind": "user", "id": "u-vader"}));
    let applied = apply_changes(&model, &[delete], &writer).expect("applies");
    assert!(
        !applied
            .ops
            .iter()
            .any(|op| matches!(op, IndexOp::GrantRemoved(_))),
        "no index change for the hole's own grants: {:?}",
        applied.ops
    );
    assert!(applied.changed.contains(vader), "the hole is dirty");
    assert!(!applied
        .model
        .grants
        .iter()
        .any(|g| g.subject == Subject::User(vader)));
    let subjects = applied.subjects.as_ref().expect("the batch changed grants");
    assert!(subjects.grants_of_user(vader).is_empty());
    let after = follow(&mut writer, &model, applied);
    same_as_built(&writer.subjects, &after);
}

#[test]
fn the_writer_adopts_the_batchs_grants_by_subject() {
    let model = tiny();
    let mut writer = Writer::of_model(&model);
    let batch = [
        change(
            json!({"op": "put", "kind": "grant", "value": {"role": "observer", "group": "g-501"}}),
        ),
        change(
            json!({"op": "delete", "kind": "grant", "value": {"role": "observer", "user": "u-tarkin"}}),
        ),
        change(
            json!({"op": "put", "kind": "grant", "value": {"role": "observer", "user": "u-han"}}),
        ),
        change(
            json!({"op": "put", "kind": "project", "value": {"id": "p-new", "name": "New", "key": "NEW", "organization": "o-empire"}}),
        ),
    ];
    let applied = apply_changes(&model, &batch, &writer).expect("applies");
    assert!(applied.subjects.is_some());
    let after = follow(&mut writer, &model, applied);
    same_as_built(&writer.subjects, &after);
    // The new project is among its organization's, as a build from the model has it.
    let built = Subjects::build(&after);
    let empire = crate::model::OrgIdx(
        after
            .organizations
            .iter()
            .position(|o| o.id == "o-empire")
            .expect("tiny organization") as u32,
    );
    assert_eq!(
        writer.subjects.projects_of(empire),
        built.projects_of(empire)
    );
    // A batch without grant changes leaves them as they were.
    let touch =
        change(json!({"op": "touch", "kind": "user", "id": "u-han", "at": "2026-01-01T00:00:00Z"}));
    let applied = apply_changes(&after, &[touch], &writer).expect("applies");
    assert!(applied.subjects.is_none());
}
