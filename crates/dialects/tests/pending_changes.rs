//! Pending changes answer like a rebuild: the same requests over a snapshot whose changed rows sit
//! in the overlay (re-checked row by row) and over a snapshot whose indexes were rebuilt from the
//! same model must give the same responses, for the Hub path and every dialect — with module and
//! user-type values in mixed case, which the case rule (`userql_directory::text`) folds on both
//! paths.

mod common;

use std::sync::Arc;

use userql_dialects::Dialect;
use userql_directory::raw::AuthDetail;
use userql_directory::save::user_to_raw;
use userql_directory::store::{StoreOptions, Update};
use userql_directory::{Snapshot, Store};
use userql_engine::Viewer;

use common::{ask_on as ask, tiny};

fn auth(module: &str, uid: Option<&str>) -> AuthDetail {
    AuthDetail {
        module: module.into(),
        uid: uid.map(Into::into),
        ..AuthDetail::default()
    }
}

/// The fixture with mixed-case types and modules written as pending changes (no rebuild), and
/// a clean snapshot of the very same model.
fn overlaid_and_rebuilt() -> (Arc<Snapshot>, Snapshot) {
    let store = Store::from_snapshot(Arc::new(tiny()), StoreOptions::never_compact());
    let before = store.snapshot();
    let edit = |id: &str, user_type: &str, modules: Vec<AuthDetail>| {
        let row = before.row_of_id(id).expect("fixture user");
        let mut raw = user_to_raw(&before.model, row);
        raw.user_type = Some(user_type.into());
        raw.auth = modules;
        Update::ReplaceUser(raw)
    };
    store
        .apply(&[
            edit(
                "u-luke",
                "Project_Bot",
                vec![auth("CORE", None), auth("LDAPmain", Some("cn=luke"))],
            ),
            edit(
                "u-leia",
                "SERVICE ACCOUNT",
                vec![auth("Google", Some("g-leia"))],
            ),
            edit("u-vader", "Bot", vec![auth(" Ldap ", Some("cn=vader"))]),
            edit("u-finn", "HUMAN", vec![auth("OpenID", Some("o-finn"))]),
            edit("u-wedge", "Service-User", vec![auth("Core", None)]),
            Update::SetAdmin {
                id: "u-finn".into(),
                admin: true,
            },
            Update::SetState {
                id: "u-wedge".into(),
                state: "blocked".into(),
            },
        ])
        .expect("the changes are valid");
    let overlaid = store.snapshot();
    assert!(
        overlaid.has_overlay(),
        "the changes are pending, not rebuilt"
    );
    let rebuilt = Snapshot::new((*overlaid.model).clone());
    (overlaid, rebuilt)
}

/// Requests whose answers depend on the changed rows, per dialect (`has: login` is a `core`
/// auth detail).
const REQUESTS: &[(Dialect, &str)] = &[
    (Dialect::Hub, "query=has:%20login&$top=-1"),
    (Dialect::Hub, "query=is:%20bot&$top=-1"),
    (Dialect::Hub, "query=not%20is:%20internal&$top=-1"),
    (Dialect::Hub, "query=has:%20ldapIdentity&$top=-1"),
    (Dialect::Hub, "query=type:%20{project%20bot}&$top=-1"),
    (
        Dialect::Hub,
        "query=authModule:%20ldapmain%20or%20authModule:%20GOOGLE&$top=-1",
    ),
    (
        Dialect::Hub,
        "query=is:%20admin%20or%20state:%20blocked&orderBy=login&$top=-1",
    ),
    (Dialect::Gitlab, "humans=true&per_page=100"),
    (Dialect::Gitlab, "exclude_internal=true&per_page=100"),
    (Dialect::Gitlab, "without_project_bots=true&per_page=100"),
    (Dialect::Gitlab, "skip_ldap=true&per_page=100"),
    (Dialect::Gitlab, "provider=google&extern_uid=g-leia"),
    (Dialect::Gitlab, "provider=ldapmain&extern_uid=cn=luke"),
    (Dialect::Gitlab, "admins=true&per_page=100"),
    (Dialect::GitlabEnterprise, "id=g-rebels&per_page=100"),
    (Dialect::Tfe, "page[size]=100"),
    (Dialect::Tfe, "filter[admin]=true"),
    (Dialect::Arcgis, "groupName=Rebels&f=json"),
    (
        Dialect::Arcgis,
        "op=searchEnterpriseUsers&filter=*&maxCount=100&f=json",
    ),
];

#[test]
fn pending_changes_answer_like_a_rebuild_in_every_dialect() {
    let (overlaid, rebuilt) = overlaid_and_rebuilt();
    for &(dialect, query) in REQUESTS {
        let pending = ask(&overlaid, dialect, query, Viewer::Admin);
        let clean = ask(&rebuilt, dialect, query, Viewer::Admin);
        assert!(
            pending.error.is_none(),
            "{dialect} {query}: {}",
            pending.response.body
        );
        assert_eq!(
            pending.response.status, clean.response.status,
            "{dialect} {query}"
        );
        assert_eq!(pending.ids, clean.ids, "{dialect} {query}");
        assert_eq!(
            pending.response.body, clean.response.body,
            "{dialect} {query}"
        );
    }
    for dialect in Dialect::ALL {
        assert!(
            REQUESTS.iter().any(|(d, _)| *d == dialect),
            "{dialect} has a request"
        );
    }
}

#[test]
fn mixed_case_values_count_under_the_case_rule() {
    let (overlaid, rebuilt) = overlaid_and_rebuilt();
    for snapshot in [&*overlaid, &rebuilt] {
        let ids = |dialect, query| ask(snapshot, dialect, query, Viewer::Admin).ids;
        let core = ids(Dialect::Hub, "query=has:%20login&$top=-1");
        assert!(core.contains(&"u-luke".to_string()), "CORE is core");
        assert!(core.contains(&"u-wedge".to_string()), "Core is core");
        let bots = ids(Dialect::Hub, "query=is:%20bot&$top=-1");
        for id in ["u-luke", "u-leia", "u-vader"] {
            assert!(bots.contains(&id.to_string()), "{id} is a bot: {bots:?}");
        }
        assert!(!bots.contains(&"u-finn".to_string()));
        let ldap = ids(Dialect::Hub, "query=has:%20ldapIdentity&$top=-1");
        assert!(ldap.contains(&"u-vader".to_string()), "' Ldap ' is ldap");
        assert_eq!(
            ids(Dialect::Gitlab, "provider=google&extern_uid=g-leia"),
            vec!["u-leia".to_string()]
        );
    }
    let counts = |snapshot: &Snapshot| {
        let body = ask(snapshot, Dialect::Tfe, "page[size]=1", Viewer::Admin)
            .response
            .body;
        let doc: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        doc["meta"]["status-counts"].clone()
    };
    let pending = counts(&overlaid);
    assert_eq!(pending, counts(&rebuilt));
    let before = counts(&tiny());
    assert_eq!(
        pending["admin"].as_u64(),
        before["admin"].as_u64().map(|n| n + 1),
        "finn's new admin flag counts while pending: {pending}"
    );
}
