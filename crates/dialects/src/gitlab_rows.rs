//! GitLab user JSON: `UserBasic` (non-admin viewers), `UserWithAdmin` (admins) and `UserPublic`
//! (enterprise users), reference §1.8.
//!
//! `id` is the user's `number`. Profile-type fields (`bio`, `location`, `linkedin`, …) come from
//! the user's free-form `profile` when present there, else GitLab's defaults: `""` for the
//! text fields GitLab stores as empty strings (`bio`, `linkedin`, `twitter`, `discord`,
//! `website_url`, `github`, `job_title`, `organization`), `null` for the optional ones. URLs:
//! `web_url` is `<gitlab_url>/<username>`; `avatar_url` is `profile.avatar_url`, else `null`
//! (GitLab with Gravatar disabled and no upload). `locked` (Devise's temporary lock, not a
//! state) is `profile.locked` when it is a boolean, else `false`. `identities` lists every auth
//! detail except `core` (the password, which GitLab does not model as an identity).

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::sync::OnceLock;

use serde_json::{json, Map, Value};
use userql_directory::model::{Row, User};
use userql_directory::Snapshot;

use crate::gitlab_dates::{format, format_day};

/// Which entity renders the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entity {
    /// `UserBasic`: non-admin and anonymous viewers.
    Basic,
    /// `UserWithAdmin`: admin viewers of `GET /users`.
    Admin,
    /// `UserPublic`: enterprise users (the admin row without `is_admin`, `note`, `namespace_id`).
    Public,
}

/// The displayed name: GitLab names are never empty, so a user without one shows the login.
pub(crate) fn display_name(user: &User) -> &str {
    user.name.as_deref().unwrap_or(&user.login)
}

/// A profile value, else the default GitLab shows (`()` serialises as `null`).
struct Or<'a, T>(Option<&'a Value>, T);

impl<T: Serialize> Serialize for Or<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(value) => value.serialize(serializer),
            None => self.1.serialize(serializer),
        }
    }
}

/// `<gitlab_url>/<login>`, written without an intermediate string.
struct WebUrl<'a>(&'a str, &'a str);

impl Serialize for WebUrl<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{}/{}", self.0, self.1))
    }
}

/// One user as GitLab's `entity` shows it, serialised field by field in GitLab's order: a page
/// of rows is written as JSON text directly, without building (and hashing the keys of) a
/// `Value` map per row first — that tree was most of the cost of answering a list request.
pub(crate) struct UserRow<'a> {
    /// The directory version.
    pub snapshot: &'a Snapshot,
    /// The user's row.
    pub row: Row,
    /// Which entity renders it.
    pub entity: Entity,
    /// The GitLab base URL (for `web_url`).
    pub gitlab_url: &'a str,
}

impl Serialize for UserRow<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let user = &self.snapshot.model.users[self.row as usize];
        let profile = |key: &str| user.profile.get(key);
        let time = |ms: Option<i64>| ms.map(format);
        let mut o = serializer.serialize_map(None)?;
        o.serialize_entry("id", &user.number)?;
        o.serialize_entry("username", &user.login)?;
        o.serialize_entry("public_email", &user.public_email)?;
        o.serialize_entry("name", display_name(user))?;
        o.serialize_entry("state", user.state.as_str())?;
        let locked = profile("locked").and_then(Value::as_bool).unwrap_or(false);
        o.serialize_entry("locked", &locked)?;
        o.serialize_entry("avatar_url", &Or(profile("avatar_url"), ()))?;
        o.serialize_entry("web_url", &WebUrl(self.gitlab_url, &user.login))?;
        if self.entity == Entity::Basic {
            return o.end();
        }
        // From the record, not the index: the row may be in the snapshot's overlay.
        let bot = userql_directory::index::Flag::Bot.of_user(user, false, None);
        o.serialize_entry("created_at", &format(user.created_at))?;
        o.serialize_entry("bio", &Or(profile("bio"), ""))?;
        o.serialize_entry("location", &Or(profile("location"), ()))?;
        for key in [
            "linkedin",
            "twitter",
            "discord",
            "website_url",
            "github",
            "job_title",
        ] {
            o.serialize_entry(key, &Or(profile(key), ""))?;
        }
        o.serialize_entry("pronouns", &Or(profile("pronouns"), ()))?;
        o.serialize_entry("organization", &Or(profile("organization"), ""))?;
        o.serialize_entry("bot", &bot)?;
        o.serialize_entry("work_information", &Or(profile("work_information"), ()))?;
        o.serialize_entry("followers", &Or(profile("followers"), 0))?;
        o.serialize_entry("following", &Or(profile("following"), 0))?;
        o.serialize_entry("is_followed", &false)?;
        o.serialize_entry("local_time", &Or(profile("local_time"), ()))?;
        o.serialize_entry("last_sign_in_at", &time(user.last_sign_in_at.get()))?;
        o.serialize_entry("confirmed_at", &time(user.confirmed_at.get()))?;
        o.serialize_entry(
            "last_activity_on",
            &(self.snapshot.model.users)
                .last_access(self.row as usize)
                .map(format_day),
        )?;
        o.serialize_entry("email", &user.email)?;
        o.serialize_entry("theme_id", &Or(profile("theme_id"), 3))?;
        o.serialize_entry("color_scheme_id", &Or(profile("color_scheme_id"), 1))?;
        o.serialize_entry("projects_limit", &Or(profile("projects_limit"), 100_000))?;
        o.serialize_entry("current_sign_in_at", &time(user.last_sign_in_at.get()))?;
        let identities: Vec<Value> = user
            .auth
            .iter()
            .filter(|a| a.module != "core")
            .map(|a| {
                json!({
                    "provider": a.module,
                    "extern_uid": a.uid,
                    "saml_provider_id": a.saml_provider_id,
                })
            })
            .collect();
        o.serialize_entry("identities", &identities)?;
        o.serialize_entry("can_create_group", &Or(profile("can_create_group"), true))?;
        o.serialize_entry(
            "can_create_project",
            &Or(profile("can_create_project"), true),
        )?;
        o.serialize_entry("two_factor_enabled", &user.two_factor)?;
        o.serialize_entry("external", &user.external)?;
        o.serialize_entry("private_profile", &Or(profile("private_profile"), false))?;
        o.serialize_entry("commit_email", &Or(profile("commit_email"), &user.email))?;
        o.serialize_entry(
            "preferred_language",
            &Or(profile("preferred_language"), "en"),
        )?;
        if self.entity == Entity::Admin {
            o.serialize_entry("is_admin", &user.admin)?;
            o.serialize_entry("note", &Or(profile("note"), ()))?;
            o.serialize_entry("namespace_id", &Or(profile("namespace_id"), ()))?;
        }
        o.serialize_entry("created_by", &Or(profile("created_by"), ()))?;
        for key in [
            "shared_runners_minutes_limit",
            "extra_shared_runners_minutes_limit",
        ] {
            o.serialize_entry(key, &Or(profile(key), ()))?;
        }
        o.serialize_entry("scim_identities", &[(); 0])?;
        o.serialize_entry(
            "using_license_seat",
            &(&*user.user_type == "human" && user.state == userql_directory::model::State::Active),
        )?;
        o.serialize_entry("is_auditor", &Or(profile("is_auditor"), false))?;
        o.serialize_entry(
            "provisioned_by_group_id",
            &Or(profile("provisioned_by_group_id"), ()),
        )?;
        let enterprise = user
            .enterprise_group
            .map(|g| self.snapshot.model.groups[g.index()].id.as_str());
        o.serialize_entry("enterprise_group_id", &enterprise)?;
        o.serialize_entry(
            "enterprise_group_associated_at",
            &Or(profile("enterprise_group_associated_at"), ()),
        )?;
        o.end()
    }
}

/// One user as GitLab's `entity` shows it, as a `Value` (for responses that add to it).
pub(crate) fn user_json(snapshot: &Snapshot, row: Row, entity: Entity, gitlab_url: &str) -> Value {
    let user = UserRow {
        snapshot,
        row,
        entity,
        gitlab_url,
    };
    // Serialising into a `Value` cannot fail: every key is a string.
    serde_json::to_value(&user).unwrap_or(Value::Null)
}

/// Whether `serde_json`'s map keeps insertion order (its `preserve_order` feature, which the
/// `preserve-order` feature turns on somewhere in the build) or sorts its keys.
fn map_keeps_order() -> bool {
    static KEEPS: OnceLock<bool> = OnceLock::new();
    *KEEPS.get_or_init(|| {
        let mut map = Map::new();
        map.insert("b".into(), Value::Null);
        map.insert("a".into(), Value::Null);
        map.keys().next().is_some_and(|key| key == "b")
    })
}

/// A page of users as a JSON array, written straight to text when `Value` maps keep GitLab's
/// field order; otherwise through `Value`, whose map then sorts the keys as it always did — the
/// same bytes as [`user_json`] either way.
pub(crate) fn users_json(
    snapshot: &Snapshot,
    rows: &[Row],
    entity: Entity,
    gitlab_url: &str,
) -> String {
    let users: Vec<UserRow<'_>> = rows
        .iter()
        .map(|&row| UserRow {
            snapshot,
            row,
            entity,
            gitlab_url,
        })
        .collect();
    let text = if map_keeps_order() {
        serde_json::to_string(&users)
    } else {
        serde_json::to_value(&users).map(|value| value.to_string())
    };
    // Neither can fail: every key is a string.
    text.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use userql_directory::index::Indexes;

    use super::*;

    #[test]
    fn rows_written_directly_equal_rows_built_as_values() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../userql/tests/data/tiny.json");
        let bytes = std::fs::read(path).expect("tiny.json is readable");
        let model = userql_directory::load_json(&bytes).expect("tiny.json is valid");
        let index = Indexes::build(&model);
        let snapshot = Snapshot::indexed(0, Arc::new(model), Arc::new(index));
        let rows: Vec<Row> = (0..snapshot.model.users.slots() as Row).collect();
        assert!(rows.len() > 5);
        for entity in [Entity::Basic, Entity::Admin, Entity::Public] {
            let values: Vec<Value> = rows
                .iter()
                .map(|&row| user_json(&snapshot, row, entity, "https://gitlab.example"))
                .collect();
            let direct: Vec<UserRow<'_>> = rows
                .iter()
                .map(|&row| UserRow {
                    snapshot: &snapshot,
                    row,
                    entity,
                    gitlab_url: "https://gitlab.example",
                })
                .collect();
            assert_eq!(
                serde_json::to_string(&direct).unwrap_or_default(),
                Value::Array(values).to_string(),
                "{entity:?}"
            );
        }
    }
}
