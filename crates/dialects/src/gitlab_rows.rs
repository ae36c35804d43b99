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

fn profile_or(user: &User, key: &str, default: Value) -> Value {
    user.profile.get(key).cloned().unwrap_or(default)
}

fn time(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |t| json!(format(t)))
}

/// One user as GitLab's `entity` shows it.
pub(crate) fn user_json(snapshot: &Snapshot, row: Row, entity: Entity, gitlab_url: &str) -> Value {
    let user = &snapshot.model.users[row as usize];
    let mut o = Map::new();
    o.insert("id".into(), json!(user.number));
    o.insert("username".into(), json!(user.login));
    o.insert("public_email".into(), json!(user.public_email));
    o.insert("name".into(), json!(display_name(user)));
    o.insert("state".into(), json!(user.state.as_str()));
    let locked = user
        .profile
        .get("locked")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    o.insert("locked".into(), json!(locked));
    o.insert(
        "avatar_url".into(),
        profile_or(user, "avatar_url", Value::Null),
    );
    o.insert(
        "web_url".into(),
        json!(format!("{gitlab_url}/{}", user.login)),
    );
    if entity == Entity::Basic {
        return Value::Object(o);
    }
    // From the record, not the index: the row may be in the snapshot's overlay.
    let bot = userql_directory::index::Flag::Bot.of_user(user, false);
    o.insert("created_at".into(), json!(format(user.created_at)));
    o.insert("bio".into(), profile_or(user, "bio", json!("")));
    o.insert("location".into(), profile_or(user, "location", Value::Null));
    for key in [
        "linkedin",
        "twitter",
        "discord",
        "website_url",
        "github",
        "job_title",
    ] {
        o.insert(key.into(), profile_or(user, key, json!("")));
    }
    o.insert("pronouns".into(), profile_or(user, "pronouns", Value::Null));
    o.insert(
        "organization".into(),
        profile_or(user, "organization", json!("")),
    );
    o.insert("bot".into(), json!(bot));
    o.insert(
        "work_information".into(),
        profile_or(user, "work_information", Value::Null),
    );
    o.insert("followers".into(), profile_or(user, "followers", json!(0)));
    o.insert("following".into(), profile_or(user, "following", json!(0)));
    o.insert("is_followed".into(), json!(false));
    o.insert(
        "local_time".into(),
        profile_or(user, "local_time", Value::Null),
    );
    o.insert("last_sign_in_at".into(), time(user.last_sign_in_at));
    o.insert("confirmed_at".into(), time(user.confirmed_at));
    o.insert(
        "last_activity_on".into(),
        user.last_access_at
            .map_or(Value::Null, |t| json!(format_day(t))),
    );
    o.insert("email".into(), json!(user.email));
    o.insert("theme_id".into(), profile_or(user, "theme_id", json!(3)));
    o.insert(
        "color_scheme_id".into(),
        profile_or(user, "color_scheme_id", json!(1)),
    );
    o.insert(
        "projects_limit".into(),
        profile_or(user, "projects_limit", json!(100_000)),
    );
    o.insert("current_sign_in_at".into(), time(user.last_sign_in_at));
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
    o.insert("identities".into(), Value::Array(identities));
    o.insert(
        "can_create_group".into(),
        profile_or(user, "can_create_group", json!(true)),
    );
    o.insert(
        "can_create_project".into(),
        profile_or(user, "can_create_project", json!(true)),
    );
    o.insert("two_factor_enabled".into(), json!(user.two_factor));
    o.insert("external".into(), json!(user.external));
    o.insert(
        "private_profile".into(),
        profile_or(user, "private_profile", json!(false)),
    );
    o.insert(
        "commit_email".into(),
        profile_or(user, "commit_email", json!(user.email)),
    );
    o.insert(
        "preferred_language".into(),
        profile_or(user, "preferred_language", json!("en")),
    );
    if entity == Entity::Admin {
        o.insert("is_admin".into(), json!(user.admin));
        o.insert("note".into(), profile_or(user, "note", Value::Null));
        o.insert(
            "namespace_id".into(),
            profile_or(user, "namespace_id", Value::Null),
        );
    }
    o.insert(
        "created_by".into(),
        profile_or(user, "created_by", Value::Null),
    );
    o.insert(
        "shared_runners_minutes_limit".into(),
        profile_or(user, "shared_runners_minutes_limit", Value::Null),
    );
    o.insert(
        "extra_shared_runners_minutes_limit".into(),
        profile_or(user, "extra_shared_runners_minutes_limit", Value::Null),
    );
    o.insert("scim_identities".into(), json!([]));
    o.insert(
        "using_license_seat".into(),
        json!(user.user_type == "human" && user.state == userql_directory::model::State::Active),
    );
    o.insert(
        "is_auditor".into(),
        profile_or(user, "is_auditor", json!(false)),
    );
    o.insert(
        "provisioned_by_group_id".into(),
        profile_or(user, "provisioned_by_group_id", Value::Null),
    );
    let enterprise = user
        .enterprise_group
        .map(|g| snapshot.model.groups[g.index()].id.clone());
    o.insert("enterprise_group_id".into(), json!(enterprise));
    o.insert(
        "enterprise_group_associated_at".into(),
        profile_or(user, "enterprise_group_associated_at", Value::Null),
    );
    Value::Object(o)
}
