"""End-to-end: the APIs' real clients against `userql serve` (spec/serve.md).

Run by crates/cli/tests/serve_clients.rs, which starts the server on a free loopback port over
the demo directory and passes, in the environment:
  USERQL_URL          http://127.0.0.1:PORT
  USERQL_ADMIN_TOKEN  a token whose viewer is `admin`
  USERQL_USER_TOKEN   a token whose viewer is USERQL_USER_LOGIN (an active non-admin)
  USERQL_USER_LOGIN
python-gitlab and pytfe are pinned in requirements.txt beside this file.
Each check is a function `check_*`; the script prints `N passed, M failed` and exits 1 on any
failure.
"""

import json
import os
import sys
import traceback
import urllib.error
import urllib.parse
import urllib.request

import gitlab
from gitlab import exceptions as gle
from pytfe import TFEClient, TFEConfig
from pytfe.models.admin_user import AdminUserListOptions

URL = os.environ["USERQL_URL"]
ADMIN = os.environ["USERQL_ADMIN_TOKEN"]
USER_TOKEN = os.environ["USERQL_USER_TOKEN"]
USER_LOGIN = os.environ["USERQL_USER_LOGIN"]

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl e2e@test"

gl = gitlab.Gitlab(URL, private_token=ADMIN, per_page=100)
gl_user = gitlab.Gitlab(URL, private_token=USER_TOKEN, per_page=100)
gl_anon = gitlab.Gitlab(URL, per_page=100)

_all_users = None


def all_users():
    """Every user as the admin sees it (the reference the filters are checked against)."""
    global _all_users
    if _all_users is None:
        _all_users = [u.attributes for u in gl.users.list(get_all=True)]
        assert len(_all_users) >= 300, len(_all_users)
    return _all_users


def ids(users):
    return sorted(u.id if hasattr(u, "id") else u["id"] for u in users)


def listed(client=gl, **filters):
    return client.users.list(get_all=True, **filters)


def http(method, path, token=None, header="Authorization", data=None, content_type=None):
    """Plain HTTP: (status, headers, parsed JSON body or text)."""
    headers = {}
    if token is not None:
        headers[header] = f"Bearer {token}" if header == "Authorization" else token
    body = None
    if data is not None:
        body = urllib.parse.urlencode(data).encode()
        headers["Content-Type"] = content_type or "application/x-www-form-urlencoded"
    request = urllib.request.Request(URL + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, hdrs, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, hdrs, raw = error.code, dict(error.headers), error.read()
    text = raw.decode()
    try:
        return status, hdrs, json.loads(text) if text else None
    except json.JSONDecodeError:
        return status, hdrs, text


# ---------------------------------------------------------------- GitLab: who asks


def check_auth_and_current_user():
    gl.auth()
    assert gl.user.username == "admin" and gl.user.is_admin is True
    gl_user.auth()
    assert gl_user.user.username == USER_LOGIN
    assert "is_admin" not in gl_user.user.attributes


def check_unknown_token_is_401():
    bad = gitlab.Gitlab(URL, private_token="not-a-token")
    try:
        bad.auth()
        raise AssertionError("expected 401")
    except gle.GitlabAuthenticationError as e:
        assert e.response_code == 401
        assert json.loads(e.response_body) == {"message": "401 Unauthorized"}


def check_anonymous_needs_username():
    try:
        gl_anon.users.list(get_all=False)
        raise AssertionError("expected 403")
    except gle.GitlabListError as e:
        assert e.response_code == 403
    found = gl_anon.users.list(username=USER_LOGIN)
    assert [u.username for u in found] == [USER_LOGIN]


# ---------------------------------------------------------------- GitLab: list filters


def check_list_filters_match_the_rows():
    users = all_users()
    by_state = lambda *states: [u for u in users if u["state"] in states]
    cases = [
        ({"blocked": True}, by_state("blocked", "ldap_blocked")),
        ({"exclude_active": True}, [u for u in users if u["state"] != "active"]),
        ({"external": True}, [u for u in users if u["external"]]),
        ({"exclude_external": True}, [u for u in users if not u["external"]]),
        ({"admins": True}, [u for u in users if u["is_admin"]]),
        ({"two_factor": "enabled"}, [u for u in users if u["two_factor_enabled"]]),
        ({"two_factor": "disabled"}, [u for u in users if not u["two_factor_enabled"]]),
        (
            {"skip_ldap": True},
            [u for u in users if not any(i["provider"].startswith("ldap") for i in u["identities"])],
        ),
        (
            {"created_after": "2024-01-01T00:00:00Z"},
            [u for u in users if u["created_at"] >= "2024-01-01T00:00:00"],
        ),
        (
            {"created_before": "2023-01-01"},
            [u for u in users if u["created_at"] <= "2023-01-01T00:00:00.000Z"],
        ),
    ]
    for filters, expected in cases:
        got = listed(**filters)
        assert ids(got) == ids(expected), (filters, len(got), len(expected))


def check_list_filters_that_partition():
    total = len(all_users())
    for yes, no in [("humans", "exclude_humans"), ("external", "exclude_external")]:
        assert len(listed(**{yes: True})) + len(listed(**{no: True})) == total, yes
    active = listed(active=True)
    assert active and all(u.state == "active" for u in active)
    for name in ["exclude_internal", "without_project_bots", "without_projects"]:
        got = listed(**{name: True})
        assert 0 < len(got) <= total, name


def check_list_identity_username_email_search():
    users = all_users()
    someone = next(u for u in users if u["public_email"])
    assert ids(listed(username=someone["username"].upper())) == [someone["id"]]
    assert someone["id"] in ids(listed(public_email=someone["public_email"]))
    term = someone["username"][:4]
    found = listed(search=term)
    assert someone["id"] in ids(found)
    with_identity = next(u for u in users if any(i["extern_uid"] for i in u["identities"]))
    identity = next(i for i in with_identity["identities"] if i["extern_uid"])
    got = listed(extern_uid=identity["extern_uid"], provider=identity["provider"])
    assert with_identity["id"] in ids(got)


def check_list_order_and_bad_params():
    names = [u.username for u in gl.users.list(order_by="username", sort="asc", per_page=50, get_all=False)]
    assert names == sorted(names, key=str.lower) or names == sorted(names), names[:5]
    try:
        gl.users.list(order_by="shoe_size")
        raise AssertionError("expected 400")
    except gle.GitlabListError as e:
        assert e.response_code == 400
        assert json.loads(e.response_body) == {"error": "order_by does not have a valid value"}


def check_iterator_pages_through_link_headers():
    iterator = gl.users.list(iterator=True, per_page=20)
    seen = []
    for user in iterator:
        seen.append(user.id)
        if len(seen) >= 320:
            break
    assert len(seen) == 320 and len(set(seen)) == 320
    assert seen == sorted(seen, reverse=True)
    assert iterator.total == len(all_users())
    assert iterator.total_pages == -(-iterator.total // 20)


# ---------------------------------------------------------------- GitLab: writes


def check_user_lifecycle():
    created = gl.users.create(
        {
            "email": "e2e.person@example.test",
            "password": "not-kept-anywhere",
            "username": "e2e_person",
            "name": "E2E Person",
            "bio": "first",
        }
    )
    uid = created.id
    assert created.username == "e2e_person" and created.bio == "first"
    fetched = gl.users.get(uid)
    assert fetched.email == "e2e.person@example.test"
    assert [u.id for u in listed(username="e2e_person")] == [uid]

    fetched.bio = "second"
    fetched.name = "E2E Renamed"
    fetched.save()
    again = gl.users.get(uid)
    assert again.bio == "second" and again.name == "E2E Renamed"

    try:
        gl.users.create({"email": "other@example.test", "username": "E2E_PERSON", "name": "x", "password": "p"})
        raise AssertionError("expected 409")
    except gle.GitlabCreateError as e:
        assert e.response_code == 409
    try:
        gl_user.users.create({"email": "x@example.test", "username": "nope", "name": "x", "password": "p"})
        raise AssertionError("expected 403")
    except gle.GitlabCreateError as e:
        assert e.response_code == 403 and json.loads(e.response_body) == {"message": "403 Forbidden"}

    user = gl.users.get(uid)
    assert user.block() is True
    assert gl.users.get(uid).state == "blocked"
    assert listed(gl_user, username="e2e_person") == []
    assert user.unblock() is True
    assert gl.users.get(uid).state == "active"
    user.deactivate()
    assert gl.users.get(uid).state == "deactivated"
    user.activate()
    assert gl.users.get(uid).state == "active"
    user.ban()
    assert gl.users.get(uid).state == "banned"
    user.unban()
    assert gl.users.get(uid).state == "active"

    gl.users.delete(uid)
    try:
        gl.users.get(uid)
        raise AssertionError("expected 404")
    except gle.GitlabGetError as e:
        assert e.response_code == 404 and json.loads(e.response_body) == {"message": "404 User Not Found"}


def check_keys_and_emails_for_a_user():
    target = gl.users.get(next(u["id"] for u in all_users() if u["state"] == "active" and u["username"] != USER_LOGIN))
    before = len(target.keys.list())
    key = target.keys.create({"title": "e2e key", "key": ED25519})
    listed_keys = target.keys.list()
    assert len(listed_keys) == before + 1 and key.id in [k.id for k in listed_keys]
    try:
        target.keys.create({"title": "again", "key": ED25519})
        raise AssertionError("expected 400")
    except gle.GitlabCreateError as e:
        assert e.response_code == 400
    target.keys.delete(key.id)
    assert key.id not in [k.id for k in target.keys.list()]

    email = target.emails.create({"email": "e2e.secondary@example.test"})
    assert "e2e.secondary@example.test" in [e.email for e in target.emails.list()]
    assert target.id in ids(listed(search="e2e.secondary@example.test"))
    target.emails.delete(email.id)
    assert "e2e.secondary@example.test" not in [e.email for e in target.emails.list()]


def check_keys_and_emails_for_the_current_user():
    gl_user.auth()
    me = gl_user.user
    key = me.keys.create({"title": "mine", "key": ED25519.replace("e2e@test", "me@test")})
    assert key.id in [k.id for k in me.keys.list()]
    assert me.keys.get(key.id).title == "mine"
    me.keys.delete(key.id)
    assert key.id not in [k.id for k in me.keys.list()]
    email = me.emails.create({"email": "e2e.me@example.test"})
    assert email.id in [e.id for e in me.emails.list()]
    me.emails.delete(email.id)
    assert email.id not in [e.id for e in me.emails.list()]


# ---------------------------------------------------------------- GitLab: enterprise users


def check_enterprise_users():
    users = all_users()
    member = next(u for u in users if u.get("enterprise_group_id"))
    group = member["enterprise_group_id"]
    rows = gl.http_get(f"/groups/{group}/enterprise_users", query_data={"per_page": 100})
    assert rows and all(r["enterprise_group_id"] == group for r in rows)
    one = gl.http_get(f"/groups/{group}/enterprise_users/{member['id']}")
    assert one["id"] == member["id"]
    try:
        gl.http_get("/groups/no-such-group/enterprise_users")
        raise AssertionError("expected 404")
    except gle.GitlabHttpError as e:
        assert e.response_code == 404
    with_2fa = next((r for r in rows if r["two_factor_enabled"]), None)
    if with_2fa is not None:
        path = f"/groups/{group}/enterprise_users/{with_2fa['id']}/disable_two_factor"
        response = gl.http_request("patch", path)
        assert response.status_code == 204
        assert gl.users.get(with_2fa["id"]).two_factor_enabled is False
        try:
            gl.http_request("patch", path)
            raise AssertionError("expected 400")
        except gle.GitlabHttpError as e:
            assert e.response_code == 400


# ---------------------------------------------------------------- Terraform Enterprise (pytfe)


def tfe(token=ADMIN):
    return TFEClient(TFEConfig(address=URL, token=token, max_retries=0, http2=False))


def check_tfe_list_filters_and_paging():
    client = tfe()
    everyone = list(client.admin.users.list(AdminUserListOptions(page_size=100)))
    assert len(everyone) == len(all_users())
    admins = list(client.admin.users.list(AdminUserListOptions(administrators=True)))
    assert admins and all(u.is_admin for u in admins)
    assert len(admins) == sum(1 for u in all_users() if u["is_admin"])
    active = list(client.admin.users.list(AdminUserListOptions(suspended=False)))
    assert all(not u.is_suspended for u in active)
    suspended = list(client.admin.users.list(AdminUserListOptions(suspended=True)))
    assert len(active) + len(suspended) == len(everyone)
    someone = everyone[10]
    found = list(client.admin.users.list(AdminUserListOptions(query=someone.username.upper())))
    assert someone.id in [u.id for u in found]
    page = list(client.admin.users.list(AdminUserListOptions(page_number=2, page_size=7)))
    assert len(page) == len(everyone) - 7  # pytfe follows next-page from page 2 on
    status, _, body = http("GET", "/api/v2/admin/users?include=organizations&page%5Bsize%5D=50", ADMIN)
    assert status == 200 and "included" in body
    assert all(item["type"] == "organizations" for item in body["included"])
    status, _, body = http("GET", "/api/v2/admin/users?page%5Bsize%5D=500", ADMIN)
    assert status == 422 and body["errors"][0]["status"] == "422"


def check_tfe_actions():
    client = tfe()
    target = next(
        u for u in client.admin.users.list(AdminUserListOptions(suspended=False, administrators=False))
        if u.username != USER_LOGIN
    )
    assert client.admin.users.read(target.id).username == target.username
    assert client.admin.users.suspend(target.id).is_suspended is True
    assert client.admin.users.read(target.id).is_suspended is True
    assert client.admin.users.unsuspend(target.id).is_suspended is False
    assert client.admin.users.grant_admin(target.id).is_admin is True
    assert client.admin.users.read(target.id).is_admin is True
    assert client.admin.users.revoke_admin(target.id).is_admin is False
    client.admin.users.disable_two_factor(target.id)
    status, _, body = http("GET", f"/api/v2/admin/users/{target.id}", ADMIN)
    assert body["data"]["attributes"]["two-factor"]["enabled"] is False
    status, _, _ = http("POST", f"/api/v2/admin/users/{target.id}/actions/impersonate", ADMIN)
    assert status == 204
    client.admin.users.delete(target.id)
    status, _, body = http("GET", f"/api/v2/admin/users/{target.id}", ADMIN)
    assert status == 404 and body == {"errors": [{"status": "404", "title": "not found"}]}


def check_tfe_refusals():
    status, _, body = http("GET", "/api/v2/admin/users", USER_TOKEN)
    assert status == 404 and body["errors"][0]["title"] == "not found"
    status, _, body = http("GET", "/api/v2/admin/users", "not-a-token")
    assert status == 401 and body["errors"][0]["status"] == "401"
    try:
        list(tfe(USER_TOKEN).admin.users.list())
        raise AssertionError("expected a 404 error")
    except Exception as e:  # pytfe raises NotFound
        assert getattr(e, "status", 404) == 404


# ---------------------------------------------------------------- ArcGIS and Hub (plain HTTP)


def check_arcgis_get_and_form_post():
    status, _, body = http("GET", f"/portaladmin/security/users/searchEnterpriseUsers?filter=a&maxCount=5&f=json&token={ADMIN}")
    assert status == 200 and len(body["users"]) <= 5 and "hasMore" in body
    status, _, body = http(
        "POST",
        "/arcgis/admin/orgs/0123456789ABCDEF/security/groups/searchEnterpriseGroups",
        data={"filter": "", "maxCount": "3", "f": "json", "token": ADMIN},
    )
    assert status == 200 and len(body["groups"]) <= 3
    group = body["groups"][0]["rolename"]
    status, _, body = http(
        "POST",
        "/portaladmin/security/groups/getUsersWithinEnterpriseGroup",
        data={"groupName": group, "f": "json", "token": ADMIN},
    )
    assert status == 200 and "users" in body
    status, _, body = http("GET", "/portaladmin/security/users/searchEnterpriseUsers?f=json&token=nope")
    assert status == 200 and body["code"] == 498
    status, _, body = http("GET", "/portaladmin/security/groups/getUsersWithinEnterpriseGroup?f=json&token=" + ADMIN)
    assert status == 200 and body["status"] == "error" and body["code"] == 400


def check_hub_users_one_user_and_assist():
    status, _, body = http("GET", "/hub/api/rest/users?query=is%3A%20banned&%24top=5&fields=id,login,banned", ADMIN)
    assert status == 200 and body["type"] == "userPage" and len(body["users"]) <= 5
    assert all(u["banned"] for u in body["users"])
    some_id = body["users"][0]["id"] if body["users"] else None
    if some_id:
        status, _, one = http("GET", f"/hub/api/rest/users/{some_id}", ADMIN)
        assert status == 200 and one["id"] == some_id
    status, _, body = http("GET", "/hub/api/rest/users/queryAssist?query=is%3A%20ban&caret=9", ADMIN)
    assert status == 200 and "suggestions" in body and "styleRanges" in body
    status, _, body = http("GET", "/hub/api/rest/users?query=nokey%3A%20x", ADMIN)
    assert status == 400 and body["error"] == "invalid_query"
    status, _, _ = http("GET", "/hub/api/rest/users", "not-a-token")
    assert status == 401
    status, _, _ = http("GET", "/hub/api/rest/users/no-such-id", ADMIN)
    assert status == 404


def main():
    checks = [(n, f) for n, f in sorted(globals().items()) if n.startswith("check_") and callable(f)]
    # Reads first, writes after: the list checks compare against one reference listing.
    checks.sort(key=lambda item: (item[0] not in READ_ONLY, item[0]))
    passed = failed = 0
    for name, function in checks:
        try:
            function()
            passed += 1
            print(f"ok   {name}", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {name}", flush=True)
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


READ_ONLY = {
    "check_auth_and_current_user",
    "check_unknown_token_is_401",
    "check_anonymous_needs_username",
    "check_list_filters_match_the_rows",
    "check_list_filters_that_partition",
    "check_list_identity_username_email_search",
    "check_list_order_and_bad_params",
    "check_iterator_pages_through_link_headers",
    "check_tfe_list_filters_and_paging",
    "check_tfe_refusals",
    "check_arcgis_get_and_form_post",
    "check_hub_users_one_user_and_assist",
}

if __name__ == "__main__":
    sys.exit(main())
