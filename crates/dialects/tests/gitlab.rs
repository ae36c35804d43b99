//! GitLab `GET /users` (spec/dialects.md "GitLab `GET /users`") on tiny.json.

mod common;

use common::*;
use userql_dialects::Dialect::Gitlab;
use userql_dialects::Settings;

const ALL_BY_NUMBER_DESC: &str = "u-vader u-ghost u-yoda u-ackbar u-wedge u-mothma u-guest u-c3po u-r2d2 u-jabba u-lando u-chewie u-han u-leia u-luke u-tk421 u-finn u-piett u-tarkin u-palpatine";

mod viewers {
    use super::*;

    #[test]
    fn fixture_worked_example_non_admin_default_page() {
        let a = ask(Gitlab, "", "leia");
        assert_eq!(
            ids(ok(&a)),
            "u-vader u-ghost u-yoda u-ackbar u-mothma u-guest u-c3po u-r2d2 u-chewie u-han u-leia u-luke u-tk421 u-finn u-piett u-tarkin u-palpatine"
        );
        assert_eq!(a.total, Some(17));
    }

    #[test]
    fn admin_sees_every_state() {
        let a = ask(Gitlab, "", "admin");
        assert_eq!(ids(ok(&a)), ALL_BY_NUMBER_DESC);
        // An admin account used as the viewer is an admin.
        assert_eq!(ids(ok(&ask(Gitlab, "", "palpatine"))), ALL_BY_NUMBER_DESC);
    }

    #[test]
    fn anonymous_needs_a_non_empty_username() {
        let forbidden = r#"{"message":"403 Forbidden - Not authorized to access /api/v4/users"}"#;
        assert_eq!(
            refusal(&ask(Gitlab, "", "anonymous")),
            (403, forbidden.into())
        );
        assert_eq!(
            refusal(&ask(Gitlab, "username=", "anonymous")),
            (403, forbidden.into())
        );
        assert_eq!(
            ids(ok(&ask(Gitlab, "username=LUKE", "anonymous"))),
            "u-luke"
        );
        // Anonymous sees the non-admin row.
        let row = &body(&ask(Gitlab, "username=luke", "anonymous"))[0];
        assert!(row.get("email").is_none());
    }

    #[test]
    fn unknown_viewer_is_unauthorized() {
        assert_eq!(
            refusal(&ask(Gitlab, "", "nobody")),
            (401, r#"{"message":"401 Unauthorized"}"#.into())
        );
    }

    #[test]
    fn hidden_states_stay_hidden_even_when_asked_for() {
        assert_eq!(ids(ok(&ask(Gitlab, "blocked=true", "leia"))), "");
        assert_eq!(ids(ok(&ask(Gitlab, "username=jabba", "leia"))), "");
        assert_eq!(
            ids(ok(&ask(Gitlab, "blocked=true", "admin"))),
            "u-wedge u-jabba"
        );
    }
}

mod booleans {
    use super::*;

    #[test]
    fn every_true_spelling_filters_and_false_does_not() {
        let active = ids(ok(&ask(Gitlab, "active=true", "admin")));
        assert_eq!(
            active,
            "u-vader u-yoda u-mothma u-guest u-c3po u-r2d2 u-chewie u-han u-leia u-luke u-finn u-piett u-tarkin u-palpatine"
        );
        for t in ["1", "on", "T", "TRUE", "y", "Yes"] {
            assert_eq!(
                ids(ok(&ask(Gitlab, &format!("active={t}"), "admin"))),
                active,
                "{t}"
            );
        }
        for f in ["0", "off", "F", "false", "n", "NO"] {
            assert_eq!(
                ids(ok(&ask(Gitlab, &format!("active={f}"), "admin"))),
                ALL_BY_NUMBER_DESC,
                "{f}"
            );
        }
    }

    #[test]
    fn bad_and_empty_values_are_400_joined_in_one_body() {
        assert_eq!(
            refusal(&ask(Gitlab, "active=maybe", "admin")),
            (400, r#"{"error":"active is invalid"}"#.into())
        );
        assert_eq!(
            refusal(&ask(Gitlab, "external=", "admin")),
            (400, r#"{"error":"external is invalid"}"#.into())
        );
        let a = ask(
            Gitlab,
            "blocked=2&active=x&order_by=magic&sort=up&per_page=0",
            "admin",
        );
        assert_eq!(
            refusal(&a),
            (400, r#"{"error":"active is invalid, blocked is invalid, order_by does not have a valid value, sort does not have a valid value, per_page has a value not allowed"}"#.into())
        );
        assert!(a
            .error
            .as_ref()
            .is_some_and(|e| e.message.contains("active is invalid")));
    }

    #[test]
    fn repeated_param_last_wins() {
        assert_eq!(
            ok(&ask(Gitlab, "active=bad&active=true", "admin")).total,
            Some(14)
        );
        assert_eq!(
            refusal(&ask(Gitlab, "active=true&active=bad", "admin")).0,
            400
        );
    }

    #[test]
    fn validation_comes_before_403() {
        assert_eq!(refusal(&ask(Gitlab, "active=bad", "anonymous")).0, 400);
        assert_eq!(
            refusal(&ask(
                Gitlab,
                "extern_uid=x&provider=ldap&active=bad",
                "leia"
            ))
            .0,
            400
        );
    }
}

mod filters {
    use super::*;

    fn admin_ids(query: &str) -> String {
        ids(ok(&ask(Gitlab, query, "admin")))
    }

    #[test]
    fn username_is_case_insensitive_and_empty_matches_nobody() {
        assert_eq!(admin_ids("username=VaDeR"), "u-vader");
        assert_eq!(admin_ids("username="), "");
    }

    #[test]
    fn public_email_is_exact_and_case_sensitive() {
        assert_eq!(admin_ids("public_email=luke@rebellion.example"), "u-luke");
        assert_eq!(admin_ids("public_email=Luke@rebellion.example"), "");
        assert_eq!(admin_ids("public_email=luke@rebellion"), "");
    }

    #[test]
    fn state_filters() {
        assert_eq!(admin_ids("blocked=true"), "u-wedge u-jabba");
        assert_eq!(
            admin_ids("exclude_active=true"),
            "u-ackbar u-wedge u-jabba u-lando u-tk421"
        );
        assert_eq!(admin_ids("active=true&blocked=true"), "");
    }

    #[test]
    fn type_and_external_filters() {
        assert_eq!(admin_ids("external=true"), "u-han u-finn");
        assert_eq!(
            ok(&ask(Gitlab, "exclude_external=true", "admin")).total,
            Some(18)
        );
        assert_eq!(admin_ids("exclude_humans=true"), "u-ghost u-c3po u-r2d2");
        assert_eq!(ok(&ask(Gitlab, "humans=true", "admin")).total, Some(17));
        assert_eq!(
            admin_ids("exclude_internal=true&exclude_active=true"),
            "u-ackbar u-wedge u-jabba u-lando u-tk421"
        );
        assert!(!admin_ids("exclude_internal=true").contains("u-ghost"));
        assert!(admin_ids("exclude_internal=true").contains("u-r2d2"));
        assert!(!admin_ids("without_project_bots=true").contains("u-r2d2"));
        assert_eq!(
            ok(&ask(Gitlab, "without_project_bots=true", "admin")).total,
            Some(19)
        );
    }

    #[test]
    fn admins_is_ignored_for_non_admins() {
        assert_eq!(admin_ids("admins=true"), "u-palpatine");
        assert_eq!(ok(&ask(Gitlab, "admins=true", "leia")).total, Some(17));
    }

    #[test]
    fn skip_ldap_is_honoured_for_everyone() {
        let admin = admin_ids("skip_ldap=true");
        for ldap in ["u-vader", "u-wedge", "u-palpatine"] {
            assert!(!admin.contains(ldap), "{ldap}");
        }
        assert_eq!(ok(&ask(Gitlab, "skip_ldap=true", "admin")).total, Some(17));
        assert_eq!(ok(&ask(Gitlab, "skip_ldap=true", "leia")).total, Some(15));
    }

    #[test]
    fn two_factor_enabled_disabled_other_and_non_admin() {
        assert_eq!(
            admin_ids("two_factor=enabled"),
            "u-vader u-leia u-luke u-palpatine"
        );
        assert_eq!(
            ok(&ask(Gitlab, "two_factor=disabled", "admin")).total,
            Some(16)
        );
        assert_eq!(
            ok(&ask(Gitlab, "two_factor=maybe", "admin")).total,
            Some(20)
        );
        assert_eq!(
            ok(&ask(Gitlab, "two_factor=enabled", "leia")).total,
            Some(17)
        );
    }

    #[test]
    fn created_bounds_are_inclusive_and_admin_only() {
        assert_eq!(
            admin_ids("created_before=2018-01-01"),
            "u-ghost u-yoda u-guest u-jabba u-chewie u-han u-tk421 u-palpatine"
        );
        assert_eq!(
            admin_ids("created_after=2023-05-04T10:00:00Z"),
            "u-ackbar u-leia u-luke u-finn"
        );
        assert_eq!(
            admin_ids("created_after=2018-01-01&created_before=2018-01-01T00:00"),
            "u-chewie u-han"
        );
        assert_eq!(
            admin_ids("created_after=2024-12-19T18:00:00%2B01:00&created_before=2024-12-19"),
            ""
        );
        assert_eq!(
            ok(&ask(Gitlab, "created_before=2018-01-01", "leia")).total,
            Some(17)
        );
        assert_eq!(
            refusal(&ask(Gitlab, "created_after=invalid-date", "admin")),
            (400, r#"{"error":"created_after is invalid"}"#.into())
        );
        assert_eq!(
            refusal(&ask(Gitlab, "created_before=2020-13-01", "leia")).0,
            400
        );
    }

    #[test]
    fn without_projects_is_admin_only() {
        assert_eq!(
            admin_ids("without_projects=true"),
            "u-ghost u-guest u-c3po u-jabba u-lando u-palpatine"
        );
        assert_eq!(
            ok(&ask(Gitlab, "without_projects=true", "leia")).total,
            Some(17)
        );
    }

    #[test]
    fn extern_uid_and_provider() {
        assert_eq!(
            admin_ids("provider=ldap&extern_uid=cn%3Ddarth+vader%2Cou%3Dsith"),
            "u-vader"
        );
        assert_eq!(admin_ids("provider=ldap&extern_uid=nobody"), "");
        let both = r#"{"error":"extern_uid, provider provide all or none of parameters"}"#;
        assert_eq!(
            refusal(&ask(Gitlab, "provider=ldap", "admin")),
            (400, both.into())
        );
        assert_eq!(
            refusal(&ask(Gitlab, "extern_uid=x", "leia")),
            (400, both.into())
        );
        assert_eq!(
            refusal(&ask(Gitlab, "provider=ldap&extern_uid=x", "leia")),
            (403, r#"{"message":"403 Forbidden"}"#.into())
        );
        assert_eq!(
            refusal(&ask(
                Gitlab,
                "provider=ldap&extern_uid=x&username=vader",
                "anonymous"
            ))
            .0,
            401
        );
    }

    #[test]
    fn unknown_params_are_ignored() {
        assert_eq!(admin_ids("status=active&custom=1"), ALL_BY_NUMBER_DESC);
    }
}

mod search {
    use super::*;

    #[test]
    fn blank_is_no_filter_and_a_lone_at_matches_nothing() {
        assert_eq!(ok(&ask(Gitlab, "search=+", "admin")).total, Some(20));
        assert_eq!(ok(&ask(Gitlab, "search=%40", "admin")).total, Some(0));
    }

    #[test]
    fn terms_of_three_characters_are_substrings_of_name_or_login() {
        assert_eq!(ids(ok(&ask(Gitlab, "search=SKY", "leia"))), "u-luke");
        assert_eq!(ids(ok(&ask(Gitlab, "search=%40luke", "leia"))), "u-luke");
        // Every term in the name, or every term in the login: not split across the two.
        assert_eq!(
            ids(ok(&ask(Gitlab, "search=luke+walker", "leia"))),
            "u-luke"
        );
        assert_eq!(ids(ok(&ask(Gitlab, "search=luke+vader", "leia"))), "");
        assert_eq!(
            ids(ok(&ask(Gitlab, "search=%22darth+vader%22", "leia"))),
            "u-vader"
        );
        assert_eq!(
            ids(ok(&ask(Gitlab, "search=%22vader+darth%22", "leia"))),
            ""
        );
    }

    #[test]
    fn short_queries_need_whole_string_equality() {
        assert_eq!(ids(ok(&ask(Gitlab, "search=lu", "leia"))), "");
        assert_eq!(ids(ok(&ask(Gitlab, "search=Yoda", "leia"))), "u-yoda");
        assert_eq!(ids(ok(&ask(Gitlab, "search=r2+d2", "leia"))), "");
    }

    #[test]
    fn emails_are_exact_public_for_users_private_for_admins() {
        assert_eq!(
            ids(ok(&ask(Gitlab, "search=vader%40empire.example", "leia"))),
            "u-vader"
        );
        assert_eq!(
            ids(ok(&ask(
                Gitlab,
                "search=palpatine%40empire.example",
                "leia"
            ))),
            ""
        );
        assert_eq!(
            ids(ok(&ask(
                Gitlab,
                "search=palpatine%40empire.example",
                "admin"
            ))),
            "u-palpatine"
        );
        assert_eq!(
            ids(ok(&ask(Gitlab, "search=red5%40rebellion.example", "admin"))),
            "u-luke"
        );
        assert_eq!(
            ids(ok(&ask(Gitlab, "search=rebellion.example", "admin"))),
            ""
        );
    }

    /// A directory where one query lands in every relevance bucket.
    fn buckets() -> userql_directory::Snapshot {
        let user = |id: &str, number: u64, login: &str, name: &str, public: &str| {
            format!(
                r#"{{"id": "{id}", "number": {number}, "login": "{login}", "name": "{name}", "email": "{login}@shire.example", "public_email": {public}, "created_at": "2020-01-01T00:00:00Z"}}"#
            )
        };
        let users = [
            user("u-e", 1, "other", "Samwise", "null"),
            user("u-c", 2, "gamgee", "Samwise", "null"),
            user("u-d", 3, "alice", "Alice Sam", "null"),
            user("u-b", 4, "bee", "Sam", "null"),
            user("u-a", 5, "sam", "Anything", "null"),
            user("u-p", 6, "pub", "Zed", r#""SAM@shire.example""#),
            user("u-q", 7, "pubsam", "Zed", r#""sam@shire.example""#),
        ];
        let text = format!(
            r#"{{"format": "userql-directory/1", "users": [{}]}}"#,
            users.join(",")
        );
        let model = userql_directory::load_json(text.as_bytes()).expect("valid inline directory");
        let index = userql_directory::index::Indexes::build(&model);
        userql_directory::Snapshot::indexed(
            0,
            std::sync::Arc::new(model),
            std::sync::Arc::new(index),
        )
    }

    fn ask_buckets(query: &str) -> String {
        ask_buckets_as(query, userql_engine::Viewer::Admin)
    }

    fn ask_buckets_as(query: &str, viewer: userql_engine::Viewer) -> String {
        let snapshot = buckets();
        let engine = userql_engine::Engine::default();
        let call = userql_dialects::Call {
            dialect: Gitlab,
            params: userql_dialects::parse_query_string(query),
            viewer,
            now: NOW,
            engine: &engine,
            snapshot: &snapshot,
        };
        ids(ok(&userql_dialects::answer(&call)))
    }

    #[test]
    fn relevance_orders_email_then_login_then_name_then_name_and_id() {
        // sam: login equal (1); bee: name "Sam" (2); the rest (3) by name, then id.
        assert_eq!(ask_buckets("search=sam"), "u-a u-b u-d u-e u-c u-q");
        // Public emails equal to the query (compared case-insensitively: reference open question 6).
        let bee = userql_engine::Viewer::Login("bee".into());
        assert_eq!(ask_buckets_as("search=sam%40shire.example", bee), "u-p u-q");
        // Admins match primary emails instead.
        assert_eq!(ask_buckets("search=sam%40shire.example"), "u-a");
        // An explicit order replaces relevance; ties by id in the same direction.
        assert_eq!(
            ask_buckets("search=sam&sort=asc"),
            "u-e u-c u-d u-b u-a u-q"
        );
        assert_eq!(
            ask_buckets("search=sam&order_by=name"),
            "u-q u-c u-e u-b u-a u-d"
        );
    }

    #[test]
    fn explicit_order_replaces_relevance() {
        let a = ask(Gitlab, "search=an&sort=asc", "admin");
        assert!(a
            .hub
            .as_deref()
            .is_some_and(|h| h.contains("orderBy: number asc")));
    }
}

mod order {
    use super::*;

    #[test]
    fn order_by_each_key_with_ties_by_id_in_the_same_direction() {
        let page = |q: &str| ids(ok(&ask(Gitlab, &format!("{q}&per_page=4"), "admin")));
        assert_eq!(
            page("order_by=id&sort=asc"),
            "u-palpatine u-tarkin u-piett u-finn"
        );
        assert_eq!(
            page("order_by=created_at&sort=asc"),
            "u-palpatine u-tarkin u-piett u-finn"
        );
        assert_eq!(
            page("order_by=name&sort=asc"),
            "u-c3po u-chewie u-vader u-finn"
        );
        assert_eq!(page("order_by=username"), "u-yoda u-wedge u-vader u-tk421");
        assert_eq!(
            page("order_by=updated_at&sort=asc"),
            "u-guest u-yoda u-ghost u-tk421"
        );
        // han (9) and chewie (10) share created_at = updated_at.
        let asc = ids(ok(&ask(Gitlab, "order_by=updated_at&sort=asc&created_before=2018-01-01T00:00:00Z&created_after=2018-01-01", "admin")));
        assert_eq!(asc, "u-han u-chewie");
        let desc = ids(ok(&ask(Gitlab, "order_by=updated_at&sort=desc&created_before=2018-01-01T00:00:00Z&created_after=2018-01-01", "admin")));
        assert_eq!(desc, "u-chewie u-han");
    }

    #[test]
    fn bad_order_and_sort_are_400() {
        assert_eq!(
            refusal(&ask(Gitlab, "order_by=magic", "admin")),
            (
                400,
                r#"{"error":"order_by does not have a valid value"}"#.into()
            )
        );
        assert_eq!(
            refusal(&ask(Gitlab, "sort=up", "leia")),
            (
                400,
                r#"{"error":"sort does not have a valid value"}"#.into()
            )
        );
    }

    #[test]
    fn order_and_sort_are_honoured_for_non_admins() {
        assert_eq!(
            ids(ok(&ask(Gitlab, "sort=asc&per_page=2", "leia"))),
            "u-palpatine u-tarkin"
        );
    }
}

mod paging {
    use super::*;

    #[test]
    fn headers_and_link_on_a_middle_page() {
        let a = ask(Gitlab, "per_page=5&page=2&active=true", "admin");
        assert_eq!(ids(ok(&a)), "u-r2d2 u-chewie u-han u-leia u-luke");
        assert_eq!(header(&a, "X-Page"), Some("2"));
        assert_eq!(header(&a, "X-Per-Page"), Some("5"));
        assert_eq!(header(&a, "X-Next-Page"), Some("3"));
        assert_eq!(header(&a, "X-Prev-Page"), Some("1"));
        assert_eq!(header(&a, "X-Total"), Some("14"));
        assert_eq!(header(&a, "X-Total-Pages"), Some("3"));
        let base = "https://gitlab.example.com/api/v4/users?active=true";
        assert_eq!(
            header(&a, "Link"),
            Some(format!(
                "<{base}&page=1&per_page=5>; rel=\"prev\", <{base}&page=3&per_page=5>; rel=\"next\", <{base}&page=1&per_page=5>; rel=\"first\", <{base}&page=3&per_page=5>; rel=\"last\""
            ).as_str())
        );
    }

    #[test]
    fn ends_have_empty_next_and_prev() {
        let first = ask(Gitlab, "per_page=10", "admin");
        assert_eq!(header(&first, "X-Prev-Page"), Some(""));
        assert_eq!(header(&first, "X-Next-Page"), Some("2"));
        let last = ask(Gitlab, "per_page=10&page=2", "admin");
        assert_eq!(header(&last, "X-Next-Page"), Some(""));
        assert_eq!(header(&last, "X-Prev-Page"), Some("1"));
        let beyond = ask(Gitlab, "per_page=10&page=7", "admin");
        assert_eq!(ids(ok(&beyond)), "");
        assert_eq!(header(&beyond, "X-Prev-Page"), Some(""));
        assert_eq!(header(&beyond, "X-Total-Pages"), Some("2"));
        let empty = ask(Gitlab, "username=nobody", "admin");
        assert_eq!(header(&empty, "X-Total-Pages"), Some("1"));
        assert_eq!(header(&empty, "X-Total"), Some("0"));
    }

    #[test]
    fn page_and_per_page_edge_values() {
        assert_eq!(header(&ask(Gitlab, "page=0", "admin"), "X-Page"), Some("1"));
        assert_eq!(
            header(&ask(Gitlab, "page=-4", "admin"), "X-Page"),
            Some("1")
        );
        assert_eq!(
            header(&ask(Gitlab, "per_page=500", "admin"), "X-Per-Page"),
            Some("100")
        );
        assert_eq!(
            header(&ask(Gitlab, "per_page=-3", "admin"), "X-Per-Page"),
            Some("20")
        );
        assert_eq!(
            refusal(&ask(Gitlab, "per_page=0", "admin")),
            (
                400,
                r#"{"error":"per_page has a value not allowed"}"#.into()
            )
        );
        assert_eq!(
            refusal(&ask(Gitlab, "page=abc", "admin")),
            (400, r#"{"error":"page is invalid"}"#.into())
        );
        assert_eq!(
            refusal(&ask(Gitlab, "per_page=1.5", "admin")),
            (400, r#"{"error":"per_page is invalid"}"#.into())
        );
    }

    #[test]
    fn link_params_are_sorted_encoded_and_last_wins() {
        let a = ask(
            Gitlab,
            "zeta=1&search=Luke+Sky&custom_attributes%5Bk%5D=v&page=1&page=1",
            "admin",
        );
        let link = header(&a, "Link").unwrap_or_default();
        assert!(link.starts_with("<https://gitlab.example.com/api/v4/users?custom_attributes%5Bk%5D=v&page=1&per_page=20&search=Luke+Sky&zeta=1>; rel=\"first\""), "{link}");
    }

    #[test]
    fn counts_vanish_above_the_count_limit() {
        let settings = Settings {
            count_limit: 5,
            ..Settings::default()
        };
        let a = ask_with(Gitlab, "per_page=5", "admin", &settings);
        assert_eq!(header(&a, "X-Total"), None);
        assert_eq!(header(&a, "X-Total-Pages"), None);
        assert_eq!(header(&a, "X-Next-Page"), Some("2"));
        assert!(!header(&a, "Link")
            .unwrap_or_default()
            .contains("rel=\"last\""));
        assert_eq!(a.total, Some(20));
        let small = ask_with(Gitlab, "active=true&blocked=true", "admin", &settings);
        assert_eq!(header(&small, "X-Total"), Some("0"));
    }

    #[test]
    fn offset_limit_is_405() {
        let settings = Settings {
            offset_limit: 10,
            ..Settings::default()
        };
        assert_eq!(
            ok(&ask_with(Gitlab, "per_page=5&page=2", "admin", &settings))
                .ids
                .len(),
            5
        );
        let (status, body) = refusal(&ask_with(Gitlab, "per_page=5&page=3", "admin", &settings));
        assert_eq!(status, 405);
        assert_eq!(
            body,
            r#"{"message":"Offset pagination has a maximum allowed offset of 10 for requests that return objects of type User. Remaining records can be retrieved using keyset pagination."}"#
        );
        assert_eq!(
            refusal(&ask(Gitlab, "per_page=100&page=501", "admin")).0,
            405
        );
    }
}

mod keyset {
    use super::*;
    use userql_dialects::parse_query_string;

    fn walk(first: &str) -> Vec<String> {
        let mut all = Vec::new();
        let mut query = first.to_string();
        for _ in 0..20 {
            let a = ask(Gitlab, &query, "admin");
            ok(&a);
            assert_eq!(header(&a, "X-Total"), None);
            all.extend(a.ids.clone());
            let Some(link) = header(&a, "Link") else {
                return all;
            };
            assert!(link.ends_with("; rel=\"next\""), "{link}");
            let url = link
                .trim_start_matches('<')
                .split('>')
                .next()
                .unwrap_or_default();
            query = url
                .split_once('?')
                .map(|(_, q)| q.to_string())
                .unwrap_or_default();
            let params = parse_query_string(&query);
            assert!(params.iter().any(|(k, _)| k == "cursor"));
        }
        panic!("keyset paging did not end");
    }

    #[test]
    fn following_next_links_visits_every_row_once_in_order() {
        assert_eq!(
            walk("pagination=keyset&per_page=3").join(" "),
            ALL_BY_NUMBER_DESC
        );
        let by_name = ids(ok(&ask(
            Gitlab,
            "order_by=name&sort=asc&per_page=100",
            "admin",
        )));
        assert_eq!(
            walk("pagination=keyset&per_page=6&order_by=name&sort=asc").join(" "),
            by_name
        );
        let by_login = ids(ok(&ask(
            Gitlab,
            "order_by=username&sort=desc&per_page=100",
            "admin",
        )));
        assert_eq!(
            walk("pagination=keyset&per_page=7&order_by=username").join(" "),
            by_login
        );
    }

    #[test]
    fn last_page_has_no_link_and_bad_cursor_is_400() {
        let a = ask(Gitlab, "pagination=keyset&per_page=100", "admin");
        assert_eq!(header(&a, "Link"), None);
        assert_eq!(
            refusal(&ask(Gitlab, "pagination=keyset&cursor=zz", "admin")),
            (400, r#"{"error":"cursor is invalid"}"#.into())
        );
    }
}

mod responses {
    use super::*;

    #[test]
    fn non_admin_rows_have_the_basic_fields_only() {
        let a = ask(Gitlab, "per_page=2", "leia");
        insta::assert_snapshot!(a.response.render());
    }

    #[test]
    fn admin_rows_have_every_field() {
        let a = ask(Gitlab, "username=vader", "admin");
        insta::assert_snapshot!(a.response.render());
        let a = ask(Gitlab, "username=palpatine", "admin");
        let row = &body(&a)[0];
        assert_eq!(row["identities"][0]["provider"], "ldap");
        assert_eq!(row["bio"], "Emperor.");
        assert_eq!(row["is_admin"], true);
        assert_eq!(row["last_activity_on"], "2026-06-14");
    }
}

mod hub_form {
    use super::*;

    #[test]
    fn prints_the_equivalent_hub_query() {
        assert_eq!(
            hub_form(Gitlab, "active=true", "admin").as_deref(),
            Ok("state: active and not is: internal  [orderBy: number desc, $skip: 0, $top: 20]")
        );
        assert_eq!(
            hub_form(Gitlab, "search=luke&per_page=5&page=3&skip_ldap=1", "leia").as_deref(),
            Ok("not state: blocked, banned, ldap_blocked and (publicEmail: luke or nameContains: luke or loginContains: luke) and not has: ldapIdentity  [orderBy: searchRelevance, name, number, $skip: 10, $top: 5]")
        );
        assert_eq!(
            hub_form(Gitlab, "two_factor=enabled&created_after=2018-01-01&without_projects=yes&provider=ldap&extern_uid=x&admins=1&order_by=name&pagination=keyset", "admin").as_deref(),
            Ok("is: admin and has: 2FA and created: 2018-01-01T00:00:00.000Z .. * and not has: projectRole and identity(provider: ldap, uid: x)  [orderBy: name desc, number desc, keyset: start, $top: 20]")
        );
        assert_eq!(
            hub_form(Gitlab, "active=x", "admin"),
            Err(r#"{"error":"active is invalid"}"#.into())
        );
    }
}
