//! ArcGIS Enterprise portal admin operations (spec/dialects.md) on tiny.json.

mod common;

use common::*;
use userql_dialects::Dialect::Arcgis;

fn error_of(answer: &userql_dialects::Answer) -> serde_json::Value {
    assert!(answer.error.is_some(), "expected an error");
    assert_eq!(answer.response.status, 200, "ArcGIS errors are HTTP 200");
    body(answer)
}

mod access_and_errors {
    use super::*;

    #[test]
    fn errors_are_http_200_with_a_code() {
        let e = error_of(&ask(Arcgis, "groupName=Rebels", "leia"));
        assert_eq!(e["status"], "error");
        assert_eq!(e["code"], 403);
        assert_eq!(
            error_of(&ask(Arcgis, "groupName=Rebels", "anonymous"))["code"],
            499
        );
        assert_eq!(
            error_of(&ask(Arcgis, "groupName=Rebels", "nobody"))["code"],
            498
        );
        assert_eq!(
            error_of(&ask(Arcgis, "op=deleteEverything", "admin"))["code"],
            400
        );
        let missing = error_of(&ask(Arcgis, "", "admin"));
        assert_eq!(
            missing,
            serde_json::json!({"status": "error", "messages": ["The 'groupName' parameter is required."], "code": 400})
        );
        assert_eq!(
            error_of(&ask(Arcgis, "groupName=Sith", "admin"))["code"],
            404
        );
        assert_eq!(
            error_of(&ask(Arcgis, "op=getEnterpriseGroupsForUser", "admin"))["code"],
            400
        );
        assert_eq!(
            error_of(&ask(
                Arcgis,
                "op=getEnterpriseGroupsForUser&username=maul",
                "admin"
            ))["code"],
            404
        );
    }
}

mod users {
    use super::*;

    #[test]
    fn group_members_are_transitive_in_login_order() {
        let a = ask(Arcgis, "groupName=Imperial+Army&f=json", "admin");
        assert_eq!(ids(ok(&a)), "u-finn u-tk421 u-vader");
        assert_eq!(
            a.response.body,
            r#"{"users":[{"username":"fn-2187","description":"","email":"finn@resistance.example","fullname":"Finn"},{"username":"tk-421","description":"","email":"tk421@empire.example","fullname":"TK-421"},{"username":"vader","description":"","email":"vader@empire.example","fullname":"Darth Vader"}],"hasMore":false}"#
        );
        // Case-insensitive, DOMAIN\ prefix ignored, default op.
        let same = ask(
            Arcgis,
            "op=getUsersWithinEnterpriseGroup&groupName=EMPIRE%5Cimperial+army",
            "admin",
        );
        assert_eq!(ids(ok(&same)), "u-finn u-tk421 u-vader");
    }

    #[test]
    fn filter_is_a_prefix_without_star_and_a_glob_with_it() {
        assert_eq!(
            ids(ok(&ask(Arcgis, "groupName=Rebels&filter=L", "admin"))),
            "u-leia u-luke"
        );
        // Full name prefix.
        assert_eq!(
            ids(ok(&ask(Arcgis, "groupName=Rebels&filter=mon", "admin"))),
            "u-mothma"
        );
        // Email prefix, but not an inner substring.
        assert_eq!(
            ids(ok(&ask(Arcgis, "groupName=Rebels&filter=red", "admin"))),
            ""
        );
        assert_eq!(
            ids(ok(&ask(Arcgis, "groupName=Rebels&filter=han%40", "admin"))),
            "u-han"
        );
        assert_eq!(
            ids(ok(&ask(Arcgis, "groupName=Rebels&filter=*SKY*", "admin"))),
            "u-luke"
        );
        assert_eq!(
            ids(ok(&ask(Arcgis, "groupName=Rebels&filter=*a", "admin"))),
            "u-chewie u-leia u-mothma"
        );
        assert_eq!(
            ids(ok(&ask(Arcgis, "groupName=Rebels&filter=*", "admin")))
                .split(' ')
                .count(),
            8
        );
    }

    #[test]
    fn search_users_covers_everyone() {
        let a = ask(Arcgis, "op=searchEnterpriseUsers&filter=da", "admin");
        assert_eq!(ids(ok(&a)), "u-vader");
        assert_eq!(
            ok(&ask(Arcgis, "op=searchEnterpriseUsers", "admin")).total,
            Some(20)
        );
        let palpatine = body(&ask(
            Arcgis,
            "op=searchEnterpriseUsers&filter=sheev",
            "admin",
        ));
        assert_eq!(
            palpatine["users"][0]["description"],
            "CN=Darth Sidious,OU=Sith,DC=empire"
        );
        let guest = body(&ask(
            Arcgis,
            "op=searchEnterpriseUsers&filter=guest",
            "admin",
        ));
        assert_eq!(guest["users"][0]["email"], "");
    }

    #[test]
    fn max_count_default_cap_and_has_more() {
        let a = ask(Arcgis, "op=searchEnterpriseUsers&maxCount=2", "admin");
        assert_eq!(ids(ok(&a)), "u-ackbar u-c3po");
        assert_eq!(body(&a)["hasMore"], true);
        assert_eq!(a.total, Some(20));
        for fallback in ["0", "-3", "abc", ""] {
            let a = ask(
                Arcgis,
                &format!("op=searchEnterpriseUsers&maxCount={fallback}"),
                "admin",
            );
            assert_eq!(ok(&a).ids.len(), 20, "{fallback}");
            assert_eq!(body(&a)["hasMore"], false);
        }
        assert_eq!(
            ok(&ask(
                Arcgis,
                "op=searchEnterpriseUsers&maxCount=99999",
                "admin"
            ))
            .ids
            .len(),
            20
        );
    }

    #[test]
    fn hub_form_is_a_superset_refined_by_the_glob() {
        assert_eq!(
            hub_form(Arcgis, "groupName=Rebels&filter=l", "admin").as_deref(),
            Ok("group: g-rebels, g-rogue and (nameStartsWith: l or emailContains: l)  [filter: l, orderBy: login, $top: 1000]")
        );
        assert_eq!(
            hub_form(Arcgis, "op=searchEnterpriseUsers&filter=l*e&maxCount=5", "admin").as_deref(),
            Ok("loginContains: l and loginContains: e or nameContains: l and nameContains: e or emailContains: l and emailContains: e  [filter: l*e, orderBy: login, $top: 5]")
        );
    }
}

mod groups {
    use super::*;

    #[test]
    fn search_groups_returns_rolenames() {
        let a = ask(Arcgis, "op=searchEnterpriseGroups&filter=imperial", "admin");
        assert_eq!(ids(ok(&a)), "g-army g-navy");
        assert_eq!(
            a.response.body,
            r#"{"groups":[{"rolename":"Imperial Army"},{"rolename":"Imperial Navy"}],"hasMore":false}"#
        );
        let all = ask(Arcgis, "op=searchEnterpriseGroups&maxCount=3", "admin");
        assert_eq!(ids(ok(&all)), "g-501 g-army g-navy");
        assert_eq!(body(&all)["hasMore"], true);
    }

    #[test]
    fn groups_for_user_are_direct_groups_and_ancestors_as_strings() {
        let a = ask(
            Arcgis,
            "op=getEnterpriseGroupsForUser&username=FN-2187",
            "admin",
        );
        assert_eq!(ids(ok(&a)), "g-501 g-army g-troopers");
        assert_eq!(
            a.response.body,
            r#"{"groups":["501st Legion","Imperial Army","Stormtroopers"],"hasMore":false}"#
        );
        let filtered = ask(
            Arcgis,
            "op=getEnterpriseGroupsForUser&username=corp%5Cfn-2187&filter=*ARMY*",
            "admin",
        );
        assert_eq!(ids(ok(&filtered)), "g-army");
        assert_eq!(
            hub_form(Arcgis, "op=getEnterpriseGroupsForUser&username=luke", "admin").as_deref(),
            Ok("login: luke  [groups of the user with their ancestors: filter: *, orderBy: name, $top: 1000]")
        );
    }
}

mod formats {
    use super::*;

    #[test]
    fn pjson_is_indented_and_html_is_a_table() {
        let pretty = ask(Arcgis, "groupName=Jedi+Order&f=pjson", "admin");
        insta::assert_snapshot!("pjson", pretty.response.render());
        let html = ask(Arcgis, "groupName=Jedi+Order&f=html", "admin");
        assert_eq!(
            html.response.header("Content-Type"),
            Some("text/html; charset=utf-8")
        );
        insta::assert_snapshot!("html", html.response.render());
        let error = ask(Arcgis, "groupName=Sith&f=html", "admin");
        assert!(
            error.response.body.contains("Group &#39;Sith&#39;")
                || error.response.body.contains("Group 'Sith'")
        );
    }
}
