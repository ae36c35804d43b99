//! GitLab SSH keys and emails: `GET|POST /user/keys`, `GET|DELETE /user/keys/:key_id`,
//! `GET|POST /users/:id/keys`, `GET|DELETE /users/:id/keys/:key_id`, and the same six shapes
//! under `emails`. A change replaces the user's record with its `ssh_keys` / `emails` list
//! modified (one batch, under the service's write lock).
//!
//! Decisions where the seed is silent:
//! - The directory stores no ids for keys and emails, so an id is derived from the content: a
//!   31-bit FNV-1a hash of the key's SHA-256 fingerprint, or of the case-folded address, plus
//!   one. It is stable across restarts and the same wherever the key is listed.
//! - A key is `TYPE BASE64 [COMMENT]` with a known type; its fingerprint is OpenSSH's
//!   `SHA256:<unpadded base64 of the blob's SHA-256>`. A bad key is a 400
//!   `{"message":{"key":["is invalid"]}}`; a key or an email in use by any user is a 400
//!   `… ["has already been taken"]` as in the seed.
//! - `/users/:id/…` is admin-only, as the seed says (anonymous 401, users 403); `/user/…` needs
//!   a signed-in account (401), and the operator token (no account) gets `404 User Not Found`.
//! - Keys have no stored creation time: `created_at` is the owner's `created_at`. Emails list
//!   the secondary emails; `confirmed_at` is `null`.
//! - Deleting answers 204, or `404 Key Not Found` / `404 Email Not Found`.

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use userql_directory::model::{Row, SshKeyRef, User};
use userql_directory::raw;
use userql_directory::save::user_to_raw;
use userql_directory::text::fold;
use userql_directory::Snapshot;

use super::edits;
use super::gitlab_users::{email_owner, message, require_admin, store_error, user_row, who, Who};
use super::refusal::Api;
use super::{not_allowed, Ctx};
use crate::gitlab_dates;
use crate::http::{HttpResponse, JSON};

/// Keys or emails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Keys,
    Emails,
}

impl Kind {
    fn not_found(self) -> HttpResponse {
        match self {
            Kind::Keys => message(404, "404 Key Not Found"),
            Kind::Emails => message(404, "404 Email Not Found"),
        }
    }
}

/// Whose list: the caller's (`/user`) or a user's by number (`/users/:id`).
enum Owner<'a> {
    Me,
    Number(&'a str),
}

/// The keys and emails routes, or `None` for any other path.
pub(crate) fn route(
    ctx: &Ctx,
    method: &str,
    segs: &[&str],
) -> Option<(&'static str, HttpResponse)> {
    let (owner, kind, item, template) = match segs {
        ["user", "keys"] => (Owner::Me, Kind::Keys, None, "/api/v4/user/keys"),
        ["user", "keys", k] => (Owner::Me, Kind::Keys, Some(*k), "/api/v4/user/keys/:key_id"),
        ["user", "emails"] => (Owner::Me, Kind::Emails, None, "/api/v4/user/emails"),
        ["user", "emails", e] => (
            Owner::Me,
            Kind::Emails,
            Some(*e),
            "/api/v4/user/emails/:email_id",
        ),
        ["users", id, "keys"] => (
            Owner::Number(id),
            Kind::Keys,
            None,
            "/api/v4/users/:id/keys",
        ),
        ["users", id, "keys", k] => (
            Owner::Number(id),
            Kind::Keys,
            Some(*k),
            "/api/v4/users/:id/keys/:key_id",
        ),
        ["users", id, "emails"] => (
            Owner::Number(id),
            Kind::Emails,
            None,
            "/api/v4/users/:id/emails",
        ),
        ["users", id, "emails", e] => (
            Owner::Number(id),
            Kind::Emails,
            Some(*e),
            "/api/v4/users/:id/emails/:email_id",
        ),
        _ => return None,
    };
    let result = match (method, item) {
        ("GET" | "HEAD", None) => list(ctx, &owner, kind),
        ("POST", None) => add(ctx, &owner, kind),
        ("GET" | "HEAD", Some(item)) => show(ctx, &owner, kind, item),
        ("DELETE", Some(item)) => remove(ctx, &owner, kind, item),
        (_, None) => Ok(not_allowed(Api::Gitlab, "GET, POST")),
        (_, Some(_)) => Ok(not_allowed(Api::Gitlab, "GET, DELETE")),
    };
    Some((template, result.unwrap_or_else(|e| e)))
}

/// The owner's row in `snapshot`, after the access checks.
fn owner_row(ctx: &Ctx, snapshot: &Snapshot, owner: &Owner) -> Result<Row, HttpResponse> {
    match owner {
        Owner::Me => match who(ctx)? {
            Who::Anonymous => Err(message(401, "401 Unauthorized")),
            Who::Admin(None) => Err(message(404, "404 User Not Found")),
            Who::Admin(Some(row)) | Who::User(row) => {
                // The caller's row may have moved since the request's snapshot: find it again.
                let id = &ctx.snapshot.model.users[row as usize].id;
                snapshot
                    .row_of_id(id)
                    .ok_or_else(|| message(401, "401 Unauthorized"))
            }
        },
        Owner::Number(number) => {
            require_admin(ctx)?;
            user_row(snapshot, number)
        }
    }
}

/// A 31-bit FNV-1a hash plus one: a stable positive id for a key or an email.
fn content_id(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % 0x7fff_ffff) + 1
}

/// OpenSSH's SHA-256 fingerprint of a public key line, or `None` if it is not one.
fn fingerprint(key: &str) -> Option<String> {
    const TYPES: [&str; 8] = [
        "ssh-rsa",
        "ssh-dss",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    ];
    let mut parts = key.split_whitespace();
    let kind = parts.next()?;
    let blob = parts.next()?;
    if !TYPES.contains(&kind) {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .ok()?;
    if bytes.is_empty() {
        return None;
    }
    let digest = Sha256::digest(&bytes);
    Some(format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    ))
}

/// The fingerprint a stored key goes by: its own, else computed from the key text, else the
/// text itself (a directory may hold keys this module would not accept).
fn print_of(stored: Option<&str>, key: &str) -> String {
    stored
        .map(str::to_owned)
        .or_else(|| fingerprint(key))
        .unwrap_or_else(|| key.to_string())
}

fn key_fingerprint(key: SshKeyRef<'_>) -> String {
    print_of(key.fingerprint, key.key)
}

fn key_json(user: &User, key: SshKeyRef<'_>) -> Value {
    json!({
        "id": content_id(&key_fingerprint(key)),
        "title": key.title.unwrap_or_default(),
        "created_at": gitlab_dates::format(user.created_at),
        "expires_at": null,
        "key": key.key,
        "usage_type": "auth_and_signing",
    })
}

fn email_json(email: &str) -> Value {
    json!({ "id": content_id(&fold(email)), "email": email, "confirmed_at": null })
}

fn items(user: &User, kind: Kind) -> Vec<Value> {
    match kind {
        Kind::Keys => user.ssh_keys.iter().map(|k| key_json(user, k)).collect(),
        Kind::Emails => user.emails.iter().map(|e| email_json(e)).collect(),
    }
}

fn list(ctx: &Ctx, owner: &Owner, kind: Kind) -> Result<HttpResponse, HttpResponse> {
    let row = owner_row(ctx, &ctx.snapshot, owner)?;
    let user = &ctx.snapshot.model.users[row as usize];
    Ok(HttpResponse::json(
        200,
        JSON,
        &Value::Array(items(user, kind)),
    ))
}

fn show(ctx: &Ctx, owner: &Owner, kind: Kind, item: &str) -> Result<HttpResponse, HttpResponse> {
    let row = owner_row(ctx, &ctx.snapshot, owner)?;
    let user = &ctx.snapshot.model.users[row as usize];
    let wanted: Option<u64> = item.parse().ok();
    items(user, kind)
        .into_iter()
        .find(|v| v["id"].as_u64() == wanted && wanted.is_some())
        .map(|v| HttpResponse::json(200, JSON, &v))
        .ok_or_else(|| kind.not_found())
}

fn taken(field: &str) -> HttpResponse {
    HttpResponse::json(
        400,
        JSON,
        &json!({ "message": { field: ["has already been taken"] } }),
    )
}

fn add(ctx: &Ctx, owner: &Owner, kind: Kind) -> Result<HttpResponse, HttpResponse> {
    // Access first (401/403 before 400), then Grape's presence validation.
    owner_row(ctx, &ctx.snapshot, owner)?;
    let required: &[&str] = match kind {
        Kind::Keys => &["title", "key"],
        Kind::Emails => &["email"],
    };
    let missing: Vec<String> = required
        .iter()
        .filter(|p| ctx.input.last(p).is_none_or(str::is_empty))
        .map(|p| format!("{p} is missing"))
        .collect();
    if !missing.is_empty() {
        return Err(super::gitlab_users::invalid(&missing.join(", ")));
    }
    let (_, created) = ctx.write(
        |snapshot| {
            let row = owner_row(ctx, snapshot, owner)?;
            let model_user = &snapshot.model.users[row as usize];
            let before: raw::User = user_to_raw(&snapshot.model, row);
            let mut user = before.clone();
            let created = match kind {
                Kind::Keys => add_key(ctx, snapshot, model_user, &mut user)?,
                Kind::Emails => add_email(ctx, snapshot, &mut user)?,
            };
            Ok((
                edits::diff_user(&before, &user).into_iter().collect(),
                created,
            ))
        },
        store_error,
    )?;
    Ok(HttpResponse::json(201, JSON, &created))
}

fn add_key(
    ctx: &Ctx,
    snapshot: &Snapshot,
    owner: &User,
    user: &mut raw::User,
) -> Result<Value, HttpResponse> {
    let text = ctx.input.last("key").unwrap_or_default().trim().to_string();
    let title = ctx.input.last("title").unwrap_or_default().to_string();
    let Some(print) = fingerprint(&text) else {
        return Err(HttpResponse::json(
            400,
            JSON,
            &json!({"message": {"key": ["is invalid"], "fingerprint_sha256": ["cannot be generated"]}}),
        ));
    };
    // Keys are unique across the instance. A scan: key additions are rare.
    let in_use = snapshot
        .model
        .users
        .records()
        .any(|u| u.ssh_keys.iter().any(|k| key_fingerprint(k) == print));
    if in_use {
        return Err(taken("fingerprint_sha256"));
    }
    let key = SshKeyRef {
        title: Some(&title),
        key: &text,
        fingerprint: Some(&print),
    };
    let shown = key_json(owner, key);
    user.ssh_keys.push(raw::SshKey {
        title: Some(title),
        key: text,
        fingerprint: Some(print),
    });
    Ok(shown)
}

fn add_email(ctx: &Ctx, snapshot: &Snapshot, user: &mut raw::User) -> Result<Value, HttpResponse> {
    let email = ctx
        .input
        .last("email")
        .unwrap_or_default()
        .trim()
        .to_string();
    if !email.contains('@') || email.contains(char::is_whitespace) {
        return Err(HttpResponse::json(
            400,
            JSON,
            &json!({"message": {"email": ["is invalid"]}}),
        ));
    }
    if email_owner(snapshot, &email).is_some() {
        return Err(taken("email"));
    }
    user.emails.push(email.clone());
    Ok(email_json(&email))
}

fn remove(ctx: &Ctx, owner: &Owner, kind: Kind, item: &str) -> Result<HttpResponse, HttpResponse> {
    let wanted: u64 = item.parse().map_err(|_| kind.not_found())?;
    ctx.write(
        |snapshot| {
            let row = owner_row(ctx, snapshot, owner)?;
            let original = user_to_raw(&snapshot.model, row);
            let mut user = original.clone();
            let before = (user.ssh_keys.len(), user.emails.len());
            match kind {
                Kind::Keys => user
                    .ssh_keys
                    .retain(|k| content_id(&print_of(k.fingerprint.as_deref(), &k.key)) != wanted),
                Kind::Emails => user.emails.retain(|e| content_id(&fold(e)) != wanted),
            }
            if before == (user.ssh_keys.len(), user.emails.len()) {
                return Err(kind.not_found());
            }
            Ok((edits::diff_user(&original, &user).into_iter().collect(), ()))
        },
        store_error,
    )?;
    Ok(HttpResponse::new(204, JSON, String::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_openssh_sha256() {
        // `ssh-keygen -lf` of this key prints SHA256:… with no padding.
        let key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b";
        let print = fingerprint(key).unwrap();
        assert!(print.starts_with("SHA256:"));
        assert!(!print.ends_with('='));
        assert_eq!(fingerprint("ssh-foo AAAA"), None);
        assert_eq!(fingerprint("ssh-rsa !!!"), None);
        assert_eq!(fingerprint("ssh-rsa"), None);
    }

    #[test]
    fn content_ids_are_positive_and_stable() {
        let id = content_id("x@example.com");
        assert!((1..=0x7fff_ffff).contains(&id));
        assert_eq!(id, content_id("x@example.com"));
        assert_ne!(id, content_id("y@example.com"));
    }
}
