//! `spec/serve.md` through the routing library alone (no HTTP stack): tokens to viewers, each
//! API's refusals, and writes that the next read sees. tiny.json numbers users by position
//! (palpatine 1, vader 66, tarkin 3, … luke 7, leia 8, lando 11, jabba 12, wedge 17).

mod common;

use serde_json::{json, Value};
use userql_dialects::route::{Clock, Request, Routed, Service, ServiceOptions, Tokens};
use userql_dialects::Settings;
use userql_directory::Store;
use userql_engine::{Engine, Options, Viewer};

fn service() -> Service {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../userql/tests/data/tiny.json");
    let model = userql_directory::load_json(&std::fs::read(path).expect("tiny.json"))
        .expect("tiny.json is valid");
    let mut tokens = Tokens::admin("root");
    tokens.insert("vader-token", Viewer::Login("vader".into()));
    tokens.insert("palpatine-token", Viewer::Login("palpatine".into()));
    Service::new(
        std::sync::Arc::new(Store::new(model)),
        ServiceOptions {
            tokens,
            settings: Settings::default(),
            clock: Clock::Fixed(common::NOW),
            engine: Engine::new(Options::default()),
        },
    )
}

/// One request with a GitLab/TFE/Hub token (both headers) and a JSON body.
fn call(service: &Service, method: &str, target: &str, token: &str, body: &str) -> Routed {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    if !token.is_empty() {
        headers.push(("PRIVATE-TOKEN".into(), token.into()));
        headers.push(("Authorization".into(), format!("Bearer {token}")));
    }
    service.handle(&Request {
        method,
        path,
        query,
        headers: &headers,
        body: body.as_bytes(),
    })
}

fn json_of(routed: &Routed) -> Value {
    serde_json::from_str(&routed.response.body).unwrap_or(Value::Null)
}

fn status_body(routed: &Routed) -> (u16, Value) {
    (routed.response.status, json_of(routed))
}

#[test]
fn gitlab_writes_are_visible_to_the_next_read() {
    let s = service();
    let created = call(
        &s,
        "POST",
        "/api/v4/users",
        "root",
        r#"{"email":"rey@jakku.example","username":"rey","name":"Rey","password":"secret","bio":"scavenger"}"#,
    );
    assert_eq!(created.response.status, 201, "{}", created.response.body);
    let user = json_of(&created);
    assert_eq!(
        (user["username"].clone(), user["bio"].clone()),
        (json!("rey"), json!("scavenger"))
    );
    assert_eq!(user["created_at"], json!("2026-06-15T12:00:00.000Z"));
    let id = user["id"].as_u64().expect("a number");
    assert_eq!(
        id, 67,
        "one more than the largest number in use (vader's 66)"
    );
    let listed = call(&s, "GET", "/api/v4/users?username=REY", "root", "");
    assert_eq!(json_of(&listed)[0]["id"], json!(id));

    let updated = call(
        &s,
        "PUT",
        &format!("/api/v4/users/{id}"),
        "root",
        r#"{"name":"Rey Skywalker","external":"true"}"#,
    );
    assert_eq!(updated.response.status, 200);
    let fetched = json_of(&call(&s, "GET", &format!("/api/v4/users/{id}"), "root", ""));
    assert_eq!(
        (fetched["name"].clone(), fetched["external"].clone()),
        (json!("Rey Skywalker"), json!(true))
    );

    let blocked = call(&s, "POST", &format!("/api/v4/users/{id}/block"), "root", "");
    assert_eq!(
        (blocked.response.status, blocked.response.body.as_str()),
        (201, "true")
    );
    assert_eq!(
        json_of(&call(
            &s,
            "GET",
            "/api/v4/users?username=rey",
            "vader-token",
            ""
        )),
        json!([])
    );
    assert_eq!(
        call(&s, "GET", &format!("/api/v4/users/{id}"), "vader-token", "")
            .response
            .status,
        404
    );
    assert_eq!(
        call(
            &s,
            "PUT",
            &format!("/api/v4/users/{id}/unblock"),
            "root",
            ""
        )
        .response
        .status,
        200
    );
    assert_eq!(
        json_of(&call(
            &s,
            "GET",
            "/api/v4/users?username=rey",
            "vader-token",
            ""
        ))[0]["state"],
        json!("active")
    );

    assert_eq!(
        call(&s, "DELETE", &format!("/api/v4/users/{id}"), "root", "")
            .response
            .status,
        204
    );
    assert_eq!(
        status_body(&call(&s, "GET", &format!("/api/v4/users/{id}"), "root", "")),
        (404, json!({"message": "404 User Not Found"}))
    );
}

#[test]
fn gitlab_refusals_have_gitlabs_status_and_body() {
    let s = service();
    let body = r#"{"email":"x@y.z","username":"x","name":"X"}"#;
    assert_eq!(
        status_body(&call(&s, "POST", "/api/v4/users", "", body)),
        (401, json!({"message": "401 Unauthorized"}))
    );
    assert_eq!(
        status_body(&call(&s, "POST", "/api/v4/users", "vader-token", body)),
        (403, json!({"message": "403 Forbidden"}))
    );
    assert_eq!(
        status_body(&call(&s, "POST", "/api/v4/users", "nope", body)),
        (401, json!({"message": "401 Unauthorized"}))
    );
    assert_eq!(
        status_body(&call(
            &s,
            "POST",
            "/api/v4/users",
            "root",
            r#"{"username":"x"}"#
        )),
        (400, json!({"error": "email is missing, name is missing"}))
    );
    assert_eq!(
        status_body(&call(
            &s,
            "POST",
            "/api/v4/users",
            "root",
            r#"{"email":"a@b.c","username":"VADER","name":"V"}"#
        )),
        (409, json!({"message": "Username has already been taken"}))
    );
    assert_eq!(
        status_body(&call(
            &s,
            "PUT",
            "/api/v4/users/3",
            "root",
            r#"{"admin":"perhaps"}"#
        )),
        (400, json!({"error": "admin is invalid"}))
    );
    // jabba (12) is blocked, lando (11) banned, wedge (17) LDAP-blocked.
    assert_eq!(
        status_body(&call(&s, "POST", "/api/v4/users/12/ban", "root", "")),
        (403, json!({"message": "You cannot ban blocked users."}))
    );
    assert_eq!(
        status_body(&call(&s, "POST", "/api/v4/users/3/unban", "root", "")),
        (403, json!({"message": "You cannot unban active users."}))
    );
    assert_eq!(
        status_body(&call(&s, "POST", "/api/v4/users/17/unblock", "root", "")),
        (
            403,
            json!({"message": "403 Forbidden - LDAP blocked users cannot be unblocked by the API"})
        )
    );
    assert_eq!(
        call(&s, "POST", "/api/v4/users/11/unban", "root", "")
            .response
            .status,
        201
    );
    assert_eq!(
        status_body(&call(&s, "GET", "/api/v4/users/999", "root", "")),
        (404, json!({"message": "404 User Not Found"}))
    );
    assert_eq!(
        status_body(&call(&s, "GET", "/api/v4/nowhere", "root", "")),
        (404, json!({"error": "404 Not Found"}))
    );
    assert_eq!(
        status_body(&call(&s, "PATCH", "/api/v4/users", "root", "")).0,
        405
    );
    assert_eq!(
        status_body(&call(&s, "POST", "/api/v4/users", "root", "{")).0,
        400
    );
}

#[test]
fn current_user_keys_and_emails() {
    let s = service();
    let me = json_of(&call(&s, "GET", "/api/v4/user", "vader-token", ""));
    assert_eq!(me["username"], json!("vader"));
    assert!(me.get("is_admin").is_none());
    assert_eq!(
        json_of(&call(&s, "GET", "/api/v4/user", "root", ""))["is_admin"],
        json!(true)
    );
    assert_eq!(call(&s, "GET", "/api/v4/user", "", "").response.status, 401);

    let key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl vader@ds";
    let added = call(
        &s,
        "POST",
        "/api/v4/user/keys",
        "vader-token",
        &json!({"title": "ds", "key": key}).to_string(),
    );
    assert_eq!(added.response.status, 201, "{}", added.response.body);
    let key_id = json_of(&added)["id"].as_u64().expect("id");
    let keys = json_of(&call(&s, "GET", "/api/v4/users/66/keys", "root", ""));
    assert!(keys
        .as_array()
        .expect("array")
        .iter()
        .any(|k| k["id"] == json!(key_id)));
    assert_eq!(
        call(&s, "GET", "/api/v4/users/66/keys", "vader-token", "")
            .response
            .status,
        403
    );
    let again = call(
        &s,
        "POST",
        "/api/v4/users/3/keys",
        "root",
        &json!({"title": "t", "key": key}).to_string(),
    );
    assert_eq!(
        status_body(&again),
        (
            400,
            json!({"message": {"fingerprint_sha256": ["has already been taken"]}})
        )
    );
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("/api/v4/user/keys/{key_id}"),
            "vader-token",
            ""
        )
        .response
        .status,
        204
    );
    assert_eq!(
        status_body(&call(
            &s,
            "DELETE",
            &format!("/api/v4/user/keys/{key_id}"),
            "vader-token",
            ""
        )),
        (404, json!({"message": "404 Key Not Found"}))
    );

    let email = call(
        &s,
        "POST",
        "/api/v4/users/66/emails",
        "root",
        r#"{"email":"anakin@tatooine.example"}"#,
    );
    assert_eq!(email.response.status, 201);
    let email_id = json_of(&email)["id"].as_u64().expect("id");
    let found = json_of(&call(
        &s,
        "GET",
        "/api/v4/users?search=anakin@tatooine.example",
        "root",
        "",
    ));
    assert_eq!(
        found[0]["username"],
        json!("vader"),
        "admins search secondary emails"
    );
    let taken = call(
        &s,
        "POST",
        "/api/v4/users/3/emails",
        "root",
        r#"{"email":"ANAKIN@tatooine.example"}"#,
    );
    assert_eq!(
        status_body(&taken),
        (
            400,
            json!({"message": {"email": ["has already been taken"]}})
        )
    );
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("/api/v4/users/66/emails/{email_id}"),
            "root",
            ""
        )
        .response
        .status,
        204
    );
    assert_eq!(
        json_of(&call(&s, "GET", "/api/v4/user/emails", "vader-token", ""))
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[test]
fn enterprise_users_two_factor_reset() {
    let s = service();
    let path = "/api/v4/groups/g-rebels/enterprise_users/7/disable_two_factor";
    assert_eq!(
        call(&s, "PATCH", path, "vader-token", "").response.status,
        403
    );
    assert_eq!(call(&s, "PATCH", path, "root", "").response.status, 204);
    let luke = json_of(&call(
        &s,
        "GET",
        "/api/v4/groups/g-rebels/enterprise_users/7",
        "root",
        "",
    ));
    assert_eq!(luke["two_factor_enabled"], json!(false));
    let again = call(&s, "PATCH", path, "root", "");
    assert_eq!(again.response.status, 400, "{}", again.response.body);
    assert_eq!(
        call(
            &s,
            "PATCH",
            "/api/v4/groups/g-nope/enterprise_users/7/disable_two_factor",
            "root",
            ""
        )
        .response
        .status,
        404
    );
}

#[test]
fn tfe_admin_actions() {
    let s = service();
    let suspend = call(
        &s,
        "POST",
        "/api/v2/admin/users/u-han/actions/suspend",
        "root",
        "",
    );
    assert_eq!(suspend.response.status, 200);
    assert_eq!(
        json_of(&suspend)["data"]["attributes"]["is-suspended"],
        json!(true)
    );
    let read = json_of(&call(
        &s,
        "GET",
        "/api/v2/admin/users/u-han",
        "palpatine-token",
        "",
    ));
    assert_eq!(read["data"]["attributes"]["is-suspended"], json!(true));
    let unsuspend = json_of(&call(
        &s,
        "POST",
        "/api/v2/admin/users/u-han/actions/unsuspend",
        "root",
        "",
    ));
    assert_eq!(
        unsuspend["data"]["attributes"]["is-suspended"],
        json!(false)
    );
    let granted = json_of(&call(
        &s,
        "POST",
        "/api/v2/admin/users/u-han/actions/grant_admin",
        "root",
        "",
    ));
    assert_eq!(granted["data"]["attributes"]["is-admin"], json!(true));
    let listed = json_of(&call(
        &s,
        "GET",
        "/api/v2/admin/users?filter%5Badmin%5D=true",
        "root",
        "",
    ));
    assert!(listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .any(|u| u["id"] == json!("u-han")));
    let revoked = json_of(&call(
        &s,
        "POST",
        "/api/v2/admin/users/u-han/actions/revoke_admin",
        "root",
        "",
    ));
    assert_eq!(revoked["data"]["attributes"]["is-admin"], json!(false));
    let reset = json_of(&call(
        &s,
        "POST",
        "/api/v2/admin/users/u-luke/actions/disable_two_factor",
        "root",
        "",
    ));
    assert_eq!(
        reset["data"]["attributes"]["two-factor"]["enabled"],
        json!(false)
    );
    assert_eq!(
        call(
            &s,
            "POST",
            "/api/v2/admin/users/u-han/actions/impersonate",
            "root",
            ""
        )
        .response
        .status,
        204
    );
    assert_eq!(
        call(
            &s,
            "POST",
            "/api/v2/admin/users/u-palpatine/actions/impersonate",
            "palpatine-token",
            ""
        )
        .response
        .status,
        422
    );
    assert_eq!(
        status_body(&call(
            &s,
            "POST",
            "/api/v2/admin/users/u-han/actions/suspend",
            "vader-token",
            ""
        )),
        (
            404,
            json!({"errors": [{"status": "404", "title": "not found"}]})
        )
    );
    assert_eq!(
        call(&s, "DELETE", "/api/v2/admin/users/u-han", "root", "")
            .response
            .status,
        204
    );
    assert_eq!(
        call(&s, "GET", "/api/v2/admin/users/u-han", "root", "")
            .response
            .status,
        404
    );
    assert_eq!(
        call(&s, "GET", "/api/v2/admin/users", "nope", "")
            .response
            .status,
        401
    );
}

#[test]
fn arcgis_and_hub_routes() {
    let s = service();
    let form = |path: &str, body: &str| {
        s.handle(&Request {
            method: "POST",
            path,
            query: "",
            headers: &[(
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            )],
            body: body.as_bytes(),
        })
    };
    let users = form(
        "/arcgis/admin/orgs/abc/security/groups/getUsersWithinEnterpriseGroup",
        "groupName=Rebels&f=json&token=root",
    );
    assert_eq!(users.response.status, 200);
    assert!(
        json_of(&users)["users"].as_array().is_some(),
        "{}",
        users.response.body
    );
    let refused = form(
        "/portaladmin/security/users/searchEnterpriseUsers",
        "token=nope",
    );
    assert_eq!(json_of(&refused)["code"], json!(498));
    let wrong = form(
        "/portaladmin/security/users/getUsersWithinEnterpriseGroup",
        "token=root",
    );
    assert_eq!(json_of(&wrong)["code"], json!(404));

    let page = json_of(&call(
        &s,
        "GET",
        "/hub/api/rest/users?query=is%3A%20banned&fields=id,login",
        "root",
        "",
    ));
    assert_eq!(page["users"], json!([{"id": "u-lando", "login": "lando"}]));
    let one = json_of(&call(
        &s,
        "GET",
        "/hub/api/rest/users/u-lando?fields=login",
        "root",
        "",
    ));
    assert_eq!(one, json!({"login": "lando"}));
    assert_eq!(
        call(&s, "GET", "/hub/api/rest/users/u-nobody", "root", "")
            .response
            .status,
        404
    );
    let assist = json_of(&call(
        &s,
        "GET",
        "/hub/api/rest/users/queryAssist?query=is%3A%20ban",
        "root",
        "",
    ));
    assert_eq!(assist["caret"], json!(7));
    assert_eq!(
        call(&s, "GET", "/hub/api/rest/users", "nope", "")
            .response
            .status,
        401
    );
}
