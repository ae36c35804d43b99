//! The engine's cost bound (issue 11): limits on every tree, a work estimate against a budget,
//! a deadline, and the page/sort/dedupe costs — asserted as counted work or refusal, never time.

use std::sync::Arc;

use serde_json::Value;
use userql_directory::generate::{generate, GenOptions};
use userql_directory::index::{Indexes, SortKey};
use userql_directory::model::Subject;
use userql_directory::Snapshot;
use userql_engine::bound::{Expr, Pred};
use userql_engine::{cost, plan, project, sort, Engine, ErrorKind, Options, Request, Top, Viewer};
use userql_syntax::ast::{self, ExprKind};

fn generated(users: usize) -> Snapshot {
    let model = generate(&GenOptions { users, seed: 7 });
    let index = Indexes::build(&model);
    Snapshot::indexed(0, Arc::new(model), Arc::new(index))
}

fn request(engine: &Engine, text: &str) -> Request {
    let mut request = engine.request(text, Viewer::Admin).expect("parses");
    request.now = 1_781_524_800_000;
    request
}

fn two_letter_words(n: usize) -> Vec<String> {
    let letters = "bcdfghjklmpqrstvwxz";
    letters
        .chars()
        .flat_map(|a| letters.chars().map(move |b| format!("{a}{b}")))
        .chain((0..).map(|i| format!("{i:02}")))
        .take(n)
        .collect()
}

#[test]
fn item_4_a_page_reads_each_users_own_grants_only() {
    let snapshot = generated(2_000);
    let model = &snapshot.model;
    let subjects = snapshot.subjects();
    for row in (0..model.users.count() as u32).step_by(37) {
        let facts = subjects.facts(model, row);
        // Counted work: the grants visited are exactly those reaching the user.
        let visited = subjects.grants_reaching(row, &facts);
        let reaching: Vec<u32> = model
            .grants
            .iter()
            .enumerate()
            .filter(|(_, g)| match g.subject {
                Subject::User(r) => r == row,
                Subject::Group(group) => facts.transitive_groups.contains(&group),
                Subject::Team(team) => facts.teams.contains(&team),
            })
            .map(|(i, _)| i as u32)
            .collect();
        assert_eq!(visited, reaching, "row {row}");
    }
    // `fields=id` builds nothing else.
    let selection = userql_syntax::parse_fields("id").ok();
    let user = project::project_user(
        &snapshot,
        5,
        userql_engine::Visibility::ADMIN,
        selection.as_ref(),
    );
    assert_eq!(user.as_object().map(|o| o.len()), Some(1));
}

#[test]
fn item_4_every_page_row_lists_the_project_roles_its_grants_give() {
    let snapshot = generated(1_000);
    let engine = Engine::default();
    let mut request = request(&engine, "");
    request.top = Top::All;
    request.selection = userql_syntax::parse_fields("id,projectRoles").ok();
    let body = engine.respond(&snapshot, &request).expect("answers");
    let users = body["users"].as_array().expect("users");
    assert_eq!(users.len(), 1_000);
    let with_roles = users
        .iter()
        .filter(|u| u["projectRoles"].as_array().is_some_and(|r| !r.is_empty()))
        .count();
    assert!(with_roles > 100, "{with_roles} users with project roles");
    for user in users {
        let roles = user["projectRoles"].as_array().expect("array");
        let mut pairs: Vec<(&Value, &Value)> = roles
            .iter()
            .map(|r| (&r["role"]["id"], &r["project"]["id"]))
            .collect();
        let before = pairs.len();
        pairs.sort_by_key(|(r, p)| (r.to_string(), p.to_string()));
        pairs.dedup();
        assert_eq!(pairs.len(), before, "one entry per (role, project)");
    }
}

#[test]
fn item_5_repeated_order_keys_are_one_key_and_the_order_matches_the_oracle() {
    let snapshot = generated(1_500);
    let engine = Engine::default();
    let keys = vec![(SortKey::Name, false); 300];
    assert_eq!(sort::normalize(&keys).len(), 1);
    let mut request = request(&engine, "has: 2FA or is: guest or state: active");
    request.order = [vec![(SortKey::Created, true), (SortKey::Name, false)], keys].concat();
    request.top = Top::All;
    let fast = engine.search(&snapshot, &request).expect("answers");
    let oracle = engine.reference(&snapshot, &request).expect("answers");
    assert_eq!(fast.rows, oracle.rows);
    assert!(fast.total > 100);
}

#[test]
fn item_6_values_inside_one_key_count_against_the_item_limit() {
    let engine = Engine::default();
    let words = two_letter_words(1_100);
    let error = engine
        .parse(&format!("loginContains: {}", words.join(", ")))
        .expect_err("over the item limit");
    assert!(matches!(
        error.kind,
        ErrorKind::Syntax(ref e) if matches!(e.kind, userql_syntax::ErrorKind::TooManyItems { .. })
    ));
}

#[test]
fn item_6_short_words_cost_a_scan_each_and_too_many_are_refused() {
    let snapshot = generated(3_000);
    let engine = Engine::default();
    let work_of = |text: &str| {
        let expr = engine
            .bind(&snapshot, &request(&engine, text))
            .expect("binds");
        cost::work(
            &plan::plan(&expr, &snapshot.model, &snapshot.index),
            &snapshot.index,
        )
    };
    let words = two_letter_words(400);
    let one = work_of(&words[0]);
    let many = work_of(&words.join(" or "));
    // Each short word scans every user's login, name and emails: linear in the words.
    assert!(one >= 3_000, "one short word: {one}");
    assert!(many >= 300 * one, "400 short words: {many} vs {one}");
    // Longer words use trigram postings: far cheaper.
    assert!(work_of("smith") < one);
    let tight = Engine::new(Options {
        work_budget: 100 * one,
        ..Options::default()
    });
    let error = tight
        .search(&snapshot, &request(&tight, &words.join(" or ")))
        .expect_err("over the budget");
    assert!(matches!(error.kind, ErrorKind::TooCostly { .. }), "{error}");
    assert!(error.kind.is_cost_bound());
    assert!(tight.search(&snapshot, &request(&tight, &words[0])).is_ok());
}

#[test]
fn a_zero_time_budget_cancels_any_request_that_touches_rows() {
    let snapshot = generated(500);
    let engine = Engine::new(Options {
        time_budget: std::time::Duration::ZERO,
        ..Options::default()
    });
    let error = engine
        .search(&snapshot, &request(&engine, "has: 2FA"))
        .expect_err("cancelled");
    assert!(matches!(error.kind, ErrorKind::TimedOut { .. }), "{error}");
}

#[test]
fn item_7_repeated_operands_are_removed_by_hashing() {
    let pred = Expr::Pred(Pred::Number(
        std::ops::Bound::Included(1),
        std::ops::Bound::Included(9),
    ));
    let other = Expr::Pred(Pred::Number(
        std::ops::Bound::Included(3),
        std::ops::Bound::Unbounded,
    ));
    let mut items = vec![pred.clone(); 100_000];
    items.push(other.clone());
    items.extend(vec![pred.clone(); 100_000]);
    assert_eq!(
        plan::simplify(Expr::Or(items)),
        Expr::Or(vec![pred.clone(), other])
    );
    let contradiction = Expr::And(vec![pred.clone(), Expr::not(pred)]);
    assert_eq!(plan::simplify(contradiction), Expr::Nothing);
}

#[test]
fn item_7_trees_built_in_code_meet_the_parser_limits() {
    let snapshot = generated(200);
    let engine = Engine::default();
    let field = |value: &str| {
        ast::Expr::new(ExprKind::Field(ast::Field {
            key: ast::Name::canonical("loginContains"),
            values: vec![ast::Value {
                kind: ast::ValueKind::Single(ast::Atom::new(value)),
                span: 0..0,
            }],
        }))
    };
    let wide = ast::Expr::new(ExprKind::Or(
        (0..5_000).map(|i| field(&format!("w{i}"))).collect(),
    ));
    let mut deep = field("x");
    for _ in 0..1_000 {
        deep = ast::Expr::new(ExprKind::Not(Box::new(deep)));
    }
    let long = field(&"y".repeat(100_000));
    for (tree, what) in [(wide, "items"), (deep, "depth"), (long, "length")] {
        let request = Request::new(
            ast::Query {
                expr: Some(tree),
                span: 0..0,
            },
            Viewer::Admin,
        );
        let error = engine
            .matches(&snapshot, &request)
            .expect_err("over a limit");
        assert!(error.kind.is_cost_bound(), "{what}: {error}");
    }
}
