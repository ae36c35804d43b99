//! One rewrite, one test: each planner rewrite is checked by itself, on hand-built bound
//! expressions, by the shape of the plan it produces (printed compactly, estimates left out), so a
//! change to one rule shows up as exactly one failing test with a readable diff.

use std::sync::Arc;

use userql_directory::generate::{generate, GenOptions};
use userql_directory::index::{Flag, Indexes, TermField, TextField};
use userql_directory::model::{Model, State};
use userql_engine::bound::{Expr, Pred};
use userql_engine::plan::{plan, simplify, Node};

/// A directory big enough for selectivity to matter (residual checks need a large gap between
/// estimates), built once per test binary.
fn directory() -> &'static (Arc<Model>, Indexes) {
    static DIRECTORY: std::sync::OnceLock<(Arc<Model>, Indexes)> = std::sync::OnceLock::new();
    DIRECTORY.get_or_init(|| {
        let model = generate(&GenOptions {
            users: 2_000,
            seed: 7,
        });
        let index = Indexes::build(&model);
        (Arc::new(model), index)
    })
}

/// The plan's shape: operators and predicates, no estimates.
fn shape(node: &Node) -> String {
    let list = |nodes: &[Node]| nodes.iter().map(shape).collect::<Vec<_>>().join(", ");
    match node {
        Node::Empty => "empty".to_string(),
        Node::All { .. } => "all".to_string(),
        Node::Lookup { pred, .. } => pred.to_string(),
        Node::Or { inputs, .. } => format!("or({})", list(inputs)),
        Node::Complement { input, .. } => format!("not({})", shape(input)),
        Node::And {
            inputs,
            minus,
            residual,
            ..
        } => {
            let mut text = format!("and({})", list(inputs));
            if !minus.is_empty() {
                text.push_str(&format!(" minus({})", list(minus)));
            }
            if !residual.is_empty() {
                let checks: Vec<String> = residual
                    .iter()
                    .map(|(pred, negated)| {
                        if *negated {
                            format!("not {pred}")
                        } else {
                            pred.to_string()
                        }
                    })
                    .collect();
                text.push_str(&format!(" check({})", checks.join(", ")));
            }
            text
        }
    }
}

fn planned(expr: Expr) -> String {
    let (model, index) = directory();
    shape(&plan(&expr, model, index).root)
}

fn flag(flag: Flag) -> Expr {
    Expr::Pred(Pred::Flag(flag))
}

fn state(state: State) -> Expr {
    Expr::Pred(Pred::State(state))
}

fn login(value: &str) -> Expr {
    Expr::Pred(Pred::Term(TermField::Login, value.to_string()))
}

fn not(expr: Expr) -> Expr {
    Expr::Not(Box::new(expr))
}

#[test]
fn nested_ands_and_ors_are_flattened() {
    let nested = Expr::And(vec![
        flag(Flag::Admin),
        Expr::And(vec![flag(Flag::TwoFactor), flag(Flag::HasEmail)]),
    ]);
    assert_eq!(
        simplify(nested),
        Expr::And(vec![
            flag(Flag::Admin),
            flag(Flag::TwoFactor),
            flag(Flag::HasEmail)
        ])
    );
    let nested = Expr::Or(vec![
        Expr::Or(vec![flag(Flag::Admin), flag(Flag::Guest)]),
        flag(Flag::External),
    ]);
    assert_eq!(
        simplify(nested),
        Expr::Or(vec![
            flag(Flag::Admin),
            flag(Flag::Guest),
            flag(Flag::External)
        ])
    );
}

#[test]
fn constants_fold_away() {
    assert_eq!(
        simplify(Expr::And(vec![Expr::All, flag(Flag::Admin)])),
        flag(Flag::Admin)
    );
    assert_eq!(
        simplify(Expr::And(vec![Expr::Nothing, flag(Flag::Admin)])),
        Expr::Nothing
    );
    assert_eq!(
        simplify(Expr::Or(vec![Expr::All, flag(Flag::Admin)])),
        Expr::All
    );
    assert_eq!(
        simplify(Expr::Or(vec![Expr::Nothing, flag(Flag::Admin)])),
        flag(Flag::Admin)
    );
    assert_eq!(planned(not(Expr::All)), "empty");
    assert_eq!(planned(not(Expr::Nothing)), "all");
}

#[test]
fn duplicate_operands_are_dropped() {
    let twice = Expr::And(vec![flag(Flag::Admin), flag(Flag::Admin)]);
    assert_eq!(simplify(twice), flag(Flag::Admin));
    let twice = Expr::Or(vec![login("a"), login("b"), login("a")]);
    assert_eq!(simplify(twice), Expr::Or(vec![login("a"), login("b")]));
}

#[test]
fn double_negation_cancels() {
    assert_eq!(simplify(not(not(flag(Flag::Admin)))), flag(Flag::Admin));
    assert_eq!(planned(not(not(flag(Flag::Admin)))), "flag Admin");
}

#[test]
fn a_contradiction_is_empty() {
    let contradiction = Expr::And(vec![flag(Flag::Admin), not(flag(Flag::Admin))]);
    assert_eq!(planned(contradiction), "empty");
}

#[test]
fn and_not_is_a_difference_not_a_complement() {
    let expr = Expr::And(vec![flag(Flag::TwoFactor), not(flag(Flag::Admin))]);
    assert_eq!(planned(expr), "and(flag TwoFactor) minus(flag Admin)");
}

#[test]
fn only_negations_are_the_complement_of_one_union() {
    let expr = Expr::And(vec![not(flag(Flag::Admin)), not(flag(Flag::Guest))]);
    assert_eq!(planned(expr), "not(or(flag Admin, flag Guest))");
}

#[test]
fn an_or_with_negations_takes_one_complement() {
    // not a or b = U − (a − b)
    let expr = Expr::Or(vec![not(flag(Flag::Admin)), flag(Flag::TwoFactor)]);
    assert_eq!(planned(expr), "not(and(flag Admin) minus(flag TwoFactor))");
}

#[test]
fn positive_operands_run_most_selective_first() {
    // Every user is active or not; one login is one row: the login goes first.
    let expr = Expr::And(vec![state(State::Active), login("nobody-has-this-login")]);
    let text = planned(expr);
    assert!(
        text.starts_with("and(term Login = \"nobody-has-this-login\""),
        "{text}"
    );
}

#[test]
fn an_expensive_lookup_on_few_candidates_becomes_a_row_check() {
    let (model, _) = directory();
    let someone = model.users[0].login.clone();
    let substring = Expr::Pred(Pred::Substring(TextField::Name, "a".to_string()));
    let expr = Expr::And(vec![login(&someone), substring]);
    assert_eq!(
        planned(expr),
        format!("and(term Login = {someone:?}) check(substring Name \"a\")")
    );
    let negated = Expr::And(vec![
        login(&someone),
        not(Expr::Pred(Pred::Substring(
            TextField::Name,
            "a".to_string(),
        ))),
    ]);
    assert_eq!(
        planned(negated),
        format!("and(term Login = {someone:?}) check(not substring Name \"a\")")
    );
}

#[test]
fn precomputed_bitmaps_are_never_row_checks() {
    let (model, _) = directory();
    let someone = model.users[0].login.clone();
    let expr = Expr::And(vec![login(&someone), state(State::Active)]);
    assert_eq!(
        planned(expr),
        format!("and(term Login = {someone:?}, state active)")
    );
}
