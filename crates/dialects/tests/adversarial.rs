//! Hostile requests through every dialect (issue 11): leaks, stalls and wrong answers, each
//! asserted on the answer; cost asserted as a refusal or as counted work, never as time.

use std::sync::Arc;

use serde_json::Value;
use userql_dialects::{answer, parse_query_string, Answer, Call, Dialect};
use userql_directory::index::Indexes;
use userql_directory::Snapshot;
use userql_engine::{Engine, Options, Viewer};

/// `2026-06-15T12:00:00Z`.
const NOW: i64 = 1_781_524_800_000;

/// The fixture copy kept in the repository.
fn tiny_bytes() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds/load_json/tiny.json");
    std::fs::read(path).expect("tiny.json is readable")
}

fn snapshot_of(bytes: &[u8]) -> Snapshot {
    let model = userql_directory::load_json(bytes).expect("valid directory");
    let index = Indexes::build(&model);
    Snapshot::indexed(0, Arc::new(model), Arc::new(index))
}

fn viewer(name: &str) -> Viewer {
    match name {
        "admin" => Viewer::Admin,
        "anonymous" => Viewer::Anonymous,
        login => Viewer::Login(login.to_string()),
    }
}

fn ask_on(snapshot: &Snapshot, engine: &Engine, dialect: Dialect, qs: &str, who: &str) -> Answer {
    let call = Call {
        dialect,
        params: parse_query_string(qs),
        viewer: viewer(who),
        now: NOW,
        engine,
        snapshot,
    };
    answer(&call)
}

fn ask(dialect: Dialect, qs: &str, who: &str) -> Answer {
    ask_on(
        &snapshot_of(&tiny_bytes()),
        &Engine::default(),
        dialect,
        qs,
        who,
    )
}

fn body(answer: &Answer) -> Value {
    serde_json::from_str(&answer.response.body).expect("JSON body")
}

/// The status the API reports: HTTP for most, the body's `code` for ArcGIS (errors are 200s).
fn api_status(dialect: Dialect, answer: &Answer) -> u64 {
    if dialect == Dialect::Arcgis {
        if let Ok(value) = serde_json::from_str::<Value>(&answer.response.body) {
            if let Some(code) = value.get("code").and_then(Value::as_u64) {
                return code;
            }
        }
    }
    u64::from(answer.response.status)
}

// ---- leaks ----------------------------------------------------------------------------------

#[test]
fn item_2_hub_refuses_order_by_a_private_attribute_for_non_admins() {
    let refused = ask(Dialect::Hub, "query=&orderBy=email%20desc", "leia");
    assert_eq!(refused.response.status, 400);
    assert_eq!(body(&refused)["error_field"], "orderBy");
    assert!(refused.response.body.contains("private attribute"));
    let admin = ask(Dialect::Hub, "query=&orderBy=email%20desc", "admin");
    assert_eq!(admin.response.status, 200);
    // Public keys stay orderable for everyone.
    assert_eq!(
        ask(Dialect::Hub, "orderBy=creationTime", "leia")
            .response
            .status,
        200
    );
}

#[test]
fn item_1_answers_say_what_the_viewer_may_see() {
    use userql_engine::visibility::Attribute;
    let leia = ask(Dialect::Hub, "query=login:%20han", "leia");
    assert!(!leia.visibility.may_see(Attribute::Email));
    assert!(leia.visibility.may_see(Attribute::Activity));
    assert!(!leia.response.body.contains("falcon.example"));
    let gitlab = ask(Dialect::Gitlab, "username=han", "luke");
    assert!(!gitlab.visibility.may_see(Attribute::Activity));
    assert!(!gitlab.response.body.contains("created_at"));
    let admin = ask(Dialect::Hub, "query=login:%20han&fields=profile", "admin");
    assert!(admin.visibility.may_see(Attribute::Email));
}

#[test]
fn item_3_gitlab_cursors_carry_no_hidden_value_and_ignore_forged_ones() {
    let qs = "pagination=keyset&per_page=1&order_by=updated_at";
    let first = ask(Dialect::Gitlab, qs, "luke");
    let cursor = first
        .response
        .header("X-Next-Cursor")
        .expect("a next cursor")
        .to_string();
    let decoded = decode_hex(&cursor);
    assert!(
        !decoded.contains("key"),
        "cursor leaks a sort value: {decoded}"
    );
    // The next page continues after the first row, exactly as one page of two would.
    let second = ask(Dialect::Gitlab, &format!("{qs}&cursor={cursor}"), "luke");
    let two = ask(
        Dialect::Gitlab,
        "pagination=keyset&per_page=2&order_by=updated_at",
        "luke",
    );
    assert_eq!([first.ids.clone(), second.ids.clone()].concat(), two.ids);
    // A value forged into the cursor is ignored for a viewer who may not see it.
    let forged = encode_hex(&decoded.replace('{', r#"{"key":0,"#));
    let probed = ask(Dialect::Gitlab, &format!("{qs}&cursor={forged}"), "luke");
    assert_eq!(probed.ids, second.ids);
    // An admin's cursor does carry the value (the admin may see it).
    let admin = ask(Dialect::Gitlab, qs, "admin");
    let admin_cursor = admin.response.header("X-Next-Cursor").expect("cursor");
    assert!(decode_hex(admin_cursor).contains("key"));
}

fn decode_hex(text: &str) -> String {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect();
    String::from_utf8(bytes).expect("utf-8")
}

fn encode_hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

// ---- stalls ---------------------------------------------------------------------------------

#[test]
fn item_7_dialect_trees_are_bounded_like_hub_text() {
    let pieces: Vec<String> = (0..15_000).map(|i| format!("p{i}")).collect();
    let arcgis = ask(
        Dialect::Arcgis,
        &format!("op=searchEnterpriseUsers&filter={}", pieces.join("*")),
        "admin",
    );
    assert_eq!(api_status(Dialect::Arcgis, &arcgis), 400);
    assert!(arcgis.response.body.contains("request refused"));
    let terms: Vec<String> = (0..15_000).map(|i| format!("t{i:05}")).collect();
    let gitlab = ask(
        Dialect::Gitlab,
        &format!("search={}", terms.join("+")),
        "admin",
    );
    assert_eq!(gitlab.response.status, 400);
    let tfe = ask(Dialect::Tfe, &format!("q={}", "x".repeat(40_000)), "admin");
    assert_eq!(tfe.response.status, 400);
    assert!(tfe.error.is_some());
}

#[test]
fn item_6_work_over_the_budget_is_refused_with_each_apis_400() {
    let snapshot = snapshot_of(&tiny_bytes());
    let engine = Engine::new(Options {
        work_budget: 0,
        ..Options::default()
    });
    for (dialect, qs) in [
        (Dialect::Hub, "query=ab%20or%20cd"),
        (Dialect::Gitlab, "search=luke"),
        (Dialect::Tfe, "q=lu"),
        (Dialect::Arcgis, "op=searchEnterpriseUsers&filter=l*u"),
    ] {
        let answer = ask_on(&snapshot, &engine, dialect, qs, "admin");
        assert_eq!(api_status(dialect, &answer), 400, "{dialect} {qs}");
        assert!(
            answer.response.body.contains("too costly"),
            "{dialect}: {}",
            answer.response.body
        );
    }
}

#[test]
fn a_request_past_its_deadline_is_cancelled_not_finished() {
    let snapshot = snapshot_of(&tiny_bytes());
    let engine = Engine::new(Options {
        time_budget: std::time::Duration::ZERO,
        ..Options::default()
    });
    let hub = ask_on(
        &snapshot,
        &engine,
        Dialect::Hub,
        "query=has:%202FA",
        "admin",
    );
    assert_eq!(hub.response.status, 400);
    assert!(hub.response.body.contains("cancelled"));
    let gitlab = ask_on(&snapshot, &engine, Dialect::Gitlab, "active=true", "admin");
    assert_eq!(gitlab.response.status, 400);
}

// ---- wrong answers --------------------------------------------------------------------------

#[test]
fn item_8_an_answer_carries_the_tree_it_evaluated() {
    let answer = ask(Dialect::Gitlab, "search=abc++[def", "admin");
    let request = answer.request.expect("the evaluated request");
    let text = request.query.to_string();
    assert!(
        text.contains("nameContains: \"[def\"") || text.contains("[def"),
        "{text}"
    );
    // The tree is planned as is: no print-then-parse.
    let engine = Engine::default();
    let snapshot = snapshot_of(&tiny_bytes());
    assert!(engine.explain(&snapshot, &request).is_ok());
}

#[test]
fn item_9_arcgis_group_members_never_include_a_team_with_the_same_id() {
    let mut directory: Value = serde_json::from_slice(&tiny_bytes()).expect("json");
    directory["teams"]
        .as_array_mut()
        .expect("teams")
        .push(serde_json::json!({
            "id": "g-rebels", "name": "Sith Team", "project": "p-ds",
            "users": ["u-vader", "u-palpatine"]
        }));
    let snapshot = snapshot_of(directory.to_string().as_bytes());
    let answer = ask_on(
        &snapshot,
        &Engine::default(),
        Dialect::Arcgis,
        "groupName=Rebels",
        "admin",
    );
    assert!(
        !answer.ids.contains(&"u-vader".to_string()),
        "{:?}",
        answer.ids
    );
    assert!(answer.ids.contains(&"u-leia".to_string()));
    // Transitive: members of the subgroup Rogue Squadron are in.
    assert!(answer.ids.contains(&"u-wedge".to_string()));
}

#[test]
fn item_10_tfe_page_numbers_past_u64_are_past_the_end() {
    let answer = ask(
        Dialect::Tfe,
        "page[number]=99999999999999999999999999",
        "admin",
    );
    assert_eq!(answer.response.status, 200);
    assert_eq!(body(&answer)["data"], serde_json::json!([]));
    let first = ask(Dialect::Tfe, "page[number]=abc", "admin");
    assert_eq!(
        body(&first)["meta"]["pagination"]["current-page"],
        serde_json::json!(1)
    );
}

// ---- generated hostile inputs ---------------------------------------------------------------

/// Long, many-item, deep, repeated and huge-number inputs for every dialect: each answer is
/// bounded — never a 500, never more rows than the API's cap — and comes back (no hang).
#[test]
fn generated_hostile_inputs_get_bounded_answers_in_every_dialect() {
    let snapshot = snapshot_of(&tiny_bytes());
    let engine = Engine::default();
    let huge = "9".repeat(40);
    let long = "a".repeat(100_000);
    let many = |sep: &str, n: usize| {
        (0..n)
            .map(|i| format!("v{i}"))
            .collect::<Vec<_>>()
            .join(sep)
    };
    let deep = format!("{}a{}", "(".repeat(5_000), ")".repeat(5_000));
    let nots = format!("{}a", "not ".repeat(5_000));
    let repeated =
        |param: &str, value: &str, n: usize| vec![format!("{param}={value}"); n].join("&");
    let cases: Vec<(Dialect, String)> = vec![
        (Dialect::Hub, format!("query={long}")),
        (Dialect::Hub, format!("query={}", many("%20or%20", 5_000))),
        (
            Dialect::Hub,
            format!("query=loginContains:{}", many(",", 5_000)),
        ),
        (Dialect::Hub, format!("query={}", deep.replace(' ', "%20"))),
        (Dialect::Hub, format!("query={}", nots.replace(' ', "%20"))),
        (Dialect::Hub, format!("query=&$top={huge}&$skip={huge}")),
        (Dialect::Hub, format!("orderBy={}", many(",", 5_000))),
        (
            Dialect::Hub,
            format!("orderBy={}", vec!["name"; 5_000].join(",")),
        ),
        (Dialect::Hub, format!("fields={}", many(",", 5_000))),
        (Dialect::Hub, repeated("query", "ab", 5_000)),
        (Dialect::Gitlab, format!("search={long}")),
        (Dialect::Gitlab, format!("search={}", many("+", 5_000))),
        (Dialect::Gitlab, format!("page={huge}&per_page={huge}")),
        (Dialect::Gitlab, format!("username={long}")),
        (Dialect::Gitlab, format!("created_after={huge}")),
        (Dialect::Gitlab, repeated("search", "abc", 5_000)),
        (Dialect::Gitlab, format!("pagination=keyset&cursor={long}")),
        (
            Dialect::GitlabEnterprise,
            format!("id={huge}&search={long}"),
        ),
        (
            Dialect::GitlabEnterprise,
            format!("id=g-rebels&search={}", many("+", 5_000)),
        ),
        (Dialect::Tfe, format!("q={long}")),
        (
            Dialect::Tfe,
            format!("page[number]={huge}&page[size]={huge}"),
        ),
        (Dialect::Tfe, repeated("q", "lu", 5_000)),
        (
            Dialect::Arcgis,
            format!("op=searchEnterpriseUsers&filter={long}"),
        ),
        (
            Dialect::Arcgis,
            format!("op=searchEnterpriseUsers&filter={}", many("*", 20_000)),
        ),
        (
            Dialect::Arcgis,
            format!("op=searchEnterpriseUsers&maxCount={huge}"),
        ),
        (Dialect::Arcgis, format!("groupName={long}")),
        (Dialect::Arcgis, repeated("filter", "*a*", 5_000)),
    ];
    for (dialect, qs) in &cases {
        let answer = ask_on(&snapshot, &engine, *dialect, qs, "admin");
        let status = api_status(*dialect, &answer);
        let shown = &qs[..qs.len().min(60)];
        assert_ne!(status, 500, "{dialect} {shown}…: {}", answer.response.body);
        assert!(
            answer.ids.len() <= 10_000,
            "{dialect} {shown}…: {} rows",
            answer.ids.len()
        );
        if status >= 400 {
            assert!(
                answer.error.is_some(),
                "{dialect} {shown}…: refused without error"
            );
        }
    }
}
