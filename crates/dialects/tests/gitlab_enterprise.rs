//! GitLab `GET /groups/:id/enterprise_users` (spec/dialects.md) on tiny.json.

mod common;

use common::*;
use userql_dialects::Dialect::GitlabEnterprise as Ent;

mod access {
    use super::*;

    #[test]
    fn owner_and_admin_list_every_state_by_number_desc() {
        assert_eq!(
            ids(ok(&ask(Ent, "id=g-rebels", "mothma"))),
            "u-ackbar u-wedge u-leia u-luke"
        );
        assert_eq!(
            ids(ok(&ask(Ent, "id=Rebels", "admin"))),
            "u-ackbar u-wedge u-leia u-luke"
        );
        assert_eq!(
            ids(ok(&ask(Ent, "id=rebels", "palpatine"))),
            "u-ackbar u-wedge u-leia u-luke"
        );
    }

    #[test]
    fn group_must_exist_and_be_top_level() {
        assert_eq!(
            refusal(&ask(Ent, "id=nope", "admin")),
            (404, r#"{"message":"404 Group Not Found"}"#.into())
        );
        assert_eq!(refusal(&ask(Ent, "", "admin")).0, 404);
        assert_eq!(
            refusal(&ask(Ent, "id=g-rogue", "admin")),
            (
                400,
                r#"{"message":"400 Bad request - Must be a top-level group"}"#.into()
            )
        );
    }

    #[test]
    fn non_owners_are_forbidden_and_anonymous_unauthorized() {
        // leia is a maintainer of Rebels, not an owner.
        assert_eq!(
            refusal(&ask(Ent, "id=g-rebels", "leia")),
            (403, r#"{"message":"403 Forbidden"}"#.into())
        );
        // vader owns Imperial Navy, not Rebels.
        assert_eq!(refusal(&ask(Ent, "id=g-rebels", "vader")).0, 403);
        assert_eq!(ids(ok(&ask(Ent, "id=g-navy", "vader"))), "");
        assert_eq!(
            refusal(&ask(Ent, "id=g-rebels", "anonymous")),
            (401, r#"{"message":"401 Unauthorized"}"#.into())
        );
        // Validation first.
        assert_eq!(
            refusal(&ask(Ent, "id=g-rebels&active=bad", "leia")),
            (400, r#"{"error":"active is invalid"}"#.into())
        );
    }
}

mod params {
    use super::*;

    fn owner(query: &str) -> String {
        ids(ok(&ask(Ent, &format!("id=g-rebels&{query}"), "mothma")))
    }

    #[test]
    fn filters() {
        assert_eq!(owner("username=LEIA"), "u-leia");
        assert_eq!(owner("active=true"), "u-leia u-luke");
        assert_eq!(owner("blocked=yes"), "u-wedge");
        assert_eq!(owner("active=true&blocked=true"), "");
        assert_eq!(owner("two_factor=enabled"), "u-leia u-luke");
        assert_eq!(owner("two_factor=disabled"), "u-ackbar u-wedge");
        assert_eq!(owner("two_factor=other"), "u-ackbar u-wedge u-leia u-luke");
        assert_eq!(
            owner("created_after=2023-05-04T10:00:00Z"),
            "u-ackbar u-leia u-luke"
        );
        assert_eq!(
            owner("created_before=2023-05-04T10:00:00Z"),
            "u-wedge u-leia u-luke"
        );
        assert_eq!(
            refusal(&ask(Ent, "id=g-rebels&created_before=x", "mothma")),
            (400, r#"{"error":"created_before is invalid"}"#.into())
        );
    }

    #[test]
    fn search_always_matches_private_emails() {
        // A non-admin owner still matches the primary and secondary emails.
        assert_eq!(owner("search=wedge%40rebellion.example"), "u-wedge");
        assert_eq!(owner("search=red5%40rebellion.example"), "u-luke");
        assert_eq!(owner("search=sky"), "u-luke");
        // Results stay in number order.
        assert_eq!(owner("search=%22a%22"), "");
    }

    #[test]
    fn paging_headers_point_at_the_group_path() {
        let a = ask(Ent, "id=g-rebels&per_page=3&page=1", "mothma");
        assert_eq!(ids(ok(&a)), "u-ackbar u-wedge u-leia");
        assert_eq!(header(&a, "X-Next-Page"), Some("2"));
        assert_eq!(header(&a, "X-Total"), Some("4"));
        let link = header(&a, "Link").unwrap_or_default();
        assert!(link.starts_with("<https://gitlab.example.com/api/v4/groups/g-rebels/enterprise_users?id=g-rebels&page=2&per_page=3>; rel=\"next\""), "{link}");
        // No keyset here: offset headers regardless.
        assert_eq!(
            header(
                &ask(Ent, "id=g-rebels&pagination=keyset", "mothma"),
                "X-Page"
            ),
            Some("1")
        );
        assert_eq!(
            refusal(&ask(Ent, "id=g-rebels&per_page=0", "mothma")).0,
            400
        );
    }

    #[test]
    fn user_id_gets_one_user() {
        let a = ask(Ent, "id=g-rebels&user_id=7", "mothma");
        assert_eq!(ids(ok(&a)), "u-luke");
        assert_eq!(body(&a)["username"], "luke");
        assert_eq!(
            refusal(&ask(Ent, "id=g-rebels&user_id=1", "mothma")),
            (404, r#"{"message":"404 Not found"}"#.into())
        );
        assert_eq!(
            refusal(&ask(Ent, "id=g-rebels&user_id=-1", "mothma")).0,
            404
        );
        assert_eq!(
            refusal(&ask(Ent, "id=g-rebels&user_id=x", "mothma")),
            (400, r#"{"error":"user_id is invalid"}"#.into())
        );
        assert_eq!(
            hub_form(Ent, "id=g-rebels&user_id=7", "mothma").as_deref(),
            Ok("enterpriseGroup: g-rebels and number: 7  [$top: 1]")
        );
    }
}

mod responses {
    use super::*;

    #[test]
    fn rows_are_user_public_without_admin_fields() {
        let a = ask(Ent, "id=g-rebels&username=luke", "mothma");
        let row = &body(&a)[0];
        for absent in ["is_admin", "note", "namespace_id"] {
            assert!(row.get(absent).is_none(), "{absent}");
        }
        assert_eq!(row["email"], "luke@rebellion.example");
        assert_eq!(row["enterprise_group_id"], "g-rebels");
        insta::assert_snapshot!(a.response.render());
    }

    #[test]
    fn hub_line() {
        assert_eq!(
            common::hub_form(Ent, "id=Rebels&active=1&search=sky", "mothma").as_deref(),
            Ok("enterpriseGroup: g-rebels and (email: sky or nameContains: sky or loginContains: sky) and state: active and not is: internal  [orderBy: number desc, $skip: 0, $top: 20]")
        );
    }
}
