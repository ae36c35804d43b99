//! The changes (`userql-changes/1`) the write routes are made of: a new user is a `put`, an
//! edit of a user is a `patch` of exactly the fields that differ, a removal a `delete`.
//!
//! Patches are computed by comparing a user's file form before and after the route's edit, so
//! a route edits a [`raw::User`] as it likes (add a key, change a bio) and the batch names only
//! what changed: `{"set": {"ssh_keys": […]}}` for a new key, `{"set": {"state": "blocked"}}` for
//! a block. A field present before and absent after is cleared with `null`.

use serde_json::{Map, Value};
use userql_directory::changes::{Change, EntityKind, Object, Target};
use userql_directory::raw;

/// Inserts a user that does not exist yet (no `number`: the store gives it the next one).
pub(crate) fn put_user(user: raw::User) -> Change {
    Change::Put(Object::User(Box::new(user)))
}

/// Sets the listed fields of user `id`.
pub(crate) fn patch_user<'a>(id: &str, set: impl IntoIterator<Item = (&'a str, Value)>) -> Change {
    Change::Patch {
        kind: EntityKind::User,
        id: id.to_owned(),
        set: set.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    }
}

/// The patch that turns `before` into `after` (same id), or `None` when they are equal.
pub(crate) fn diff_user(before: &raw::User, after: &raw::User) -> Option<Change> {
    let (Ok(Value::Object(old)), Ok(Value::Object(new))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        // Both are plain serde structs: serialising them cannot fail.
        return None;
    };
    let mut set = Map::new();
    for (field, value) in &new {
        if field != "id" && old.get(field) != Some(value) {
            set.insert(field.clone(), value.clone());
        }
    }
    for field in old.keys() {
        if !new.contains_key(field) {
            set.insert(field.clone(), Value::Null);
        }
    }
    (!set.is_empty()).then(|| Change::Patch {
        kind: EntityKind::User,
        id: before.id.clone(),
        set,
    })
}

/// Removes user `id` (with its grants, memberships and team listings).
pub(crate) fn delete_user(id: &str) -> Change {
    Change::Delete(Target::Entity {
        kind: EntityKind::User,
        id: id.to_owned(),
    })
}

/// Sets a user's state (`active`, `blocked`, `deactivated`, …).
pub(crate) fn set_state(id: &str, state: &str) -> Change {
    patch_user(id, [("state", Value::from(state))])
}

/// Bans a user: state `banned` and a ban record stamped `at` (RFC 3339).
pub(crate) fn ban(id: &str, at: String) -> Change {
    patch_user(
        id,
        [
            ("state", Value::from("banned")),
            ("ban", serde_json::json!({ "at": at })),
        ],
    )
}

/// Lifts a ban: state `active`, the ban record cleared.
pub(crate) fn unban(id: &str) -> Change {
    patch_user(id, [("state", Value::from("active")), ("ban", Value::Null)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> raw::User {
        raw::User {
            id: "u-1".into(),
            login: "ada".into(),
            name: Some("Ada".into()),
            created_at: "2026-01-01T00:00:00Z".into(),
            ..raw::User::default()
        }
    }

    #[test]
    fn a_diff_names_exactly_the_changed_fields() {
        let before = user();
        let mut after = before.clone();
        after.emails.push("ada@example.com".into());
        after.name = None;
        after.admin = true;
        let Some(Change::Patch { kind, id, set }) = diff_user(&before, &after) else {
            panic!("a patch");
        };
        assert_eq!((kind, id.as_str()), (EntityKind::User, "u-1"));
        let expected = serde_json::json!({
            "emails": ["ada@example.com"], "name": null, "admin": true,
        });
        assert_eq!(Value::Object(set), expected);
    }

    #[test]
    fn equal_users_need_no_change() {
        assert_eq!(diff_user(&user(), &user()), None);
    }

    #[test]
    fn bans_round_trip_through_the_change_format() {
        for change in [ban("u-1", "2026-01-01T00:00:00Z".into()), unban("u-1")] {
            let text = serde_json::to_string(&change).expect("serialises");
            let back: Change = serde_json::from_str(&text).expect("parses");
            assert_eq!(back, change);
        }
    }
}
