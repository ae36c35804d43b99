//! Terraform Enterprise `GET /api/v2/admin/users` (spec/dialects.md) on tiny.json.

mod common;

use common::*;
use userql_dialects::Dialect::Tfe;

const BY_CREATION: &str = "u-guest u-yoda u-ghost u-palpatine u-tk421 u-jabba u-han u-chewie u-tarkin u-mothma u-lando u-wedge u-vader u-r2d2 u-c3po u-piett u-luke u-leia u-finn u-ackbar";

mod access {
    use super::*;

    #[test]
    fn only_admins_everyone_else_404() {
        assert_eq!(ids(ok(&ask(Tfe, "", "admin"))), BY_CREATION);
        assert_eq!(ids(ok(&ask(Tfe, "", "palpatine"))), BY_CREATION);
        let not_found = r#"{"errors":[{"status":"404","title":"not found"}]}"#;
        assert_eq!(refusal(&ask(Tfe, "", "leia")), (404, not_found.into()));
        assert_eq!(refusal(&ask(Tfe, "", "anonymous")), (404, not_found.into()));
        assert_eq!(refusal(&ask(Tfe, "", "nobody")).0, 401);
        assert_eq!(
            ask(Tfe, "", "leia").response.header("Content-Type"),
            Some("application/vnd.api+json")
        );
    }
}

mod params {
    use super::*;

    fn admin_ids(query: &str) -> String {
        ids(ok(&ask(Tfe, query, "admin")))
    }

    #[test]
    fn q_is_a_case_insensitive_substring_of_login_or_email() {
        assert_eq!(admin_ids("q=LUKE"), "u-luke");
        assert_eq!(
            admin_ids("q=rebellion.example"),
            "u-mothma u-wedge u-c3po u-luke u-leia u-ackbar"
        );
        assert_eq!(admin_ids("q=vader%40empire.example"), "u-vader");
        // Not the full name.
        assert_eq!(admin_ids("q=skywalker"), "");
        assert_eq!(admin_ids("q="), BY_CREATION);
    }

    #[test]
    fn admin_and_suspended_filters_true_false_other() {
        assert_eq!(admin_ids("filter%5Badmin%5D=true"), "u-palpatine");
        assert_eq!(
            ok(&ask(Tfe, "filter[admin]=false", "admin")).total,
            Some(19)
        );
        assert_eq!(ok(&ask(Tfe, "filter[admin]=yes", "admin")).total, Some(20));
        assert_eq!(
            admin_ids("filter[suspended]=true"),
            "u-tk421 u-jabba u-lando u-wedge u-ackbar"
        );
        assert_eq!(
            ok(&ask(Tfe, "filter[suspended]=false", "admin")).total,
            Some(15)
        );
        assert_eq!(
            ok(&ask(Tfe, "filter[suspended]=TRUE", "admin")).total,
            Some(20)
        );
    }

    #[test]
    fn status_counts_ignore_the_two_filters() {
        let a = ask(Tfe, "q=rebellion&filter[suspended]=true", "admin");
        assert_eq!(ids(ok(&a)), "u-wedge u-ackbar");
        let meta = &body(&a)["meta"];
        assert_eq!(
            meta["status-counts"],
            serde_json::json!({"total": 6, "suspended": 2, "admin": 0})
        );
        assert_eq!(meta["pagination"]["total-count"], 2);
    }

    #[test]
    fn page_size_outside_1_to_100_is_422() {
        let invalid = r#"{"errors":[{"status":"422","title":"invalid attribute","detail":"page[size] must be between 1 and 100"}]}"#;
        for size in ["0", "101", "-5", "abc"] {
            assert_eq!(
                refusal(&ask(Tfe, &format!("page[size]={size}"), "admin")),
                (422, invalid.into()),
                "{size}"
            );
        }
        assert_eq!(ok(&ask(Tfe, "page[size]=100", "admin")).ids.len(), 20);
    }

    #[test]
    fn page_number_defaults_clamps_and_past_the_end_is_empty() {
        let a = ask(Tfe, "page[number]=999&page[size]=100", "admin");
        assert_eq!(ids(ok(&a)), "");
        assert_eq!(body(&a)["meta"]["pagination"]["current-page"], 999);
        let a = ask(Tfe, "page[number]=0&page[size]=3", "admin");
        assert_eq!(ids(ok(&a)), "u-guest u-yoda u-ghost");
        assert_eq!(body(&a)["meta"]["pagination"]["current-page"], 1);
        assert_eq!(
            ids(ok(&ask(Tfe, "page[number]=2&page[size]=3", "admin"))),
            "u-palpatine u-tk421 u-jabba"
        );
    }

    #[test]
    fn include_organizations_or_400() {
        let a = ask(Tfe, "include=organizations&q=vader", "admin");
        let doc = body(&a);
        assert_eq!(doc["included"][0]["id"], "Galactic Empire");
        assert_eq!(
            doc["data"][0]["relationships"]["organizations"]["data"][0]["id"],
            "Galactic Empire"
        );
        assert!(body(&ask(Tfe, "q=vader", "admin"))
            .get("included")
            .is_none());
        let bad = r#"{"errors":[{"status":"400","title":"bad request","detail":"Invalid include parameter"}]}"#;
        assert_eq!(
            refusal(&ask(Tfe, "include=workspaces", "admin")),
            (400, bad.into())
        );
        assert_eq!(
            refusal(&ask(Tfe, "include=organizations,teams", "admin")).0,
            400
        );
    }
}

mod document {
    use super::*;

    #[test]
    fn links_are_absolute_and_null_at_the_ends() {
        let a = ask(Tfe, "page[number]=2&page[size]=5", "admin");
        let links = &body(&a)["links"];
        let url = |n: u32| {
            format!(
                "https://tfe.example.com/api/v2/admin/users?page%5Bnumber%5D={n}&page%5Bsize%5D=5"
            )
        };
        assert_eq!(links["self"], url(2));
        assert_eq!(links["first"], url(1));
        assert_eq!(links["prev"], url(1));
        assert_eq!(links["next"], url(3));
        assert_eq!(links["last"], url(4));
        let first = body(&ask(Tfe, "page[size]=50", "admin"));
        assert!(first["links"]["prev"].is_null());
        assert!(first["links"]["next"].is_null());
        assert!(first["meta"]["pagination"]["prev-page"].is_null());
        let filtered = body(&ask(Tfe, "q=luke&page[size]=5", "admin"));
        assert_eq!(filtered["links"]["self"], format!("{}&q=luke", url(1)));
    }

    #[test]
    fn full_document() {
        let a = ask(
            Tfe,
            "q=rebellion&page[size]=2&page[number]=2&include=organizations",
            "admin",
        );
        insta::assert_snapshot!(a.response.render());
    }

    #[test]
    fn hub_line() {
        assert_eq!(
            common::hub_form(Tfe, "q=luke&filter[admin]=false&page[number]=3&page[size]=10", "admin").as_deref(),
            Ok("(loginContains: luke or emailContains: luke) and not is: admin  [orderBy: creationTime, number, $skip: 20, $top: 10]")
        );
    }
}
