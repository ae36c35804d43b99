//! Building Hub-language clauses in code, printing them, and evaluating them to a row set.
//!
//! A dialect's filter is a list of clauses that are AND-ed. Printing flattens nested `and`s so
//! the canonical form reads like what a person would write. Evaluation sends the conjunction to
//! [`Engine::matches`](userql_engine::Engine::matches) as an administrator (the dialect has
//! already applied its API's visibility rules); the Hub extensions the dialects need
//! (`loginContains`, `nameContains`, `emailContains`, `has: ldapIdentity`, `has: projectRole`)
//! are ordinary keys of the language.

use userql_engine::{Request, Viewer};
use userql_syntax::ast::{
    Atom, Bound, Expr, ExprKind, Field, Name, Query, Tuple, Value, ValueKind,
};

use crate::Call;

fn value(text: &str) -> Value {
    Value {
        kind: ValueKind::Single(Atom::new(text)),
        span: 0..0,
    }
}

/// `key: v1, v2, …` (the values are OR-ed).
pub(crate) fn field(key: &str, values: &[&str]) -> Expr {
    Expr::new(ExprKind::Field(Field {
        key: Name::canonical(key),
        values: values.iter().map(|v| value(v)).collect(),
    }))
}

/// `key: lo .. hi` with `*` for a missing end.
pub(crate) fn range(key: &str, low: Option<&str>, high: Option<&str>) -> Expr {
    let bound = |end: Option<&str>| match end {
        Some(text) => Bound::Value(Atom::new(text)),
        None => Bound::Open,
    };
    Expr::new(ExprKind::Field(Field {
        key: Name::canonical(key),
        values: vec![Value {
            kind: ValueKind::Range(bound(low), bound(high)),
            span: 0..0,
        }],
    }))
}

/// `name(arg: v, …)`.
pub(crate) fn tuple(name: &str, args: &[(&str, &str)]) -> Expr {
    Expr::new(ExprKind::Tuple(Tuple {
        name: Name::canonical(name),
        args: args
            .iter()
            .map(|(arg, v)| Field {
                key: Name::canonical(arg),
                values: vec![value(v)],
            })
            .collect(),
    }))
}

/// `not x`.
pub(crate) fn not(inner: Expr) -> Expr {
    Expr::new(ExprKind::Not(Box::new(inner)))
}

/// `a or b or …` (one operand stays itself).
pub(crate) fn or(mut operands: Vec<Expr>) -> Expr {
    if operands.len() == 1 {
        return operands.remove(0);
    }
    Expr::new(ExprKind::Or(operands))
}

/// `a and b and …`, nested `and`s flattened; `None` for no operand (every user).
pub(crate) fn and(operands: Vec<Expr>) -> Option<Expr> {
    let mut flat = Vec::new();
    for operand in operands {
        match operand.kind {
            ExprKind::And(inner) => flat.extend(inner),
            other => flat.push(Expr::new(other)),
        }
    }
    match flat.len() {
        0 => None,
        1 => flat.pop(),
        _ => Some(Expr::new(ExprKind::And(flat))),
    }
}

/// A clause no user matches: a reversed number range (hub-query.md: "A reversed range is empty").
/// Used where an API answers "nothing" (GitLab `search=@`, `username=`).
pub(crate) fn nothing() -> Expr {
    range("number", Some("1"), Some("0"))
}

/// The canonical text of the AND of `clauses` (empty for no clause).
pub(crate) fn print(clauses: &[Expr]) -> String {
    and(clauses.to_vec())
        .map(|e| e.to_string())
        .unwrap_or_default()
}

/// The `check` output: the query, two spaces, the options in brackets.
pub(crate) fn hub_line(clauses: &[Expr], options: &str) -> String {
    let query = print(clauses);
    if query.is_empty() {
        format!("[{options}]")
    } else {
        format!("{query}  [{options}]")
    }
}

/// The engine request a dialect evaluates for its clauses: their AND, as an administrator (the
/// dialect has applied its API's visibility rules already). An [`crate::Answer`] carries it, so
/// EXPLAIN plans this very tree instead of re-parsing a printed form.
pub(crate) fn request(call: &Call, clauses: &[Expr]) -> Request {
    let query = Query {
        expr: and(clauses.to_vec()),
        span: 0..0,
    };
    let mut request = Request::new(query, Viewer::Admin);
    request.now = call.now;
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_flat_conjunctions_and_brackets_options() {
        let clauses = vec![
            field("state", &["active"]),
            and(vec![
                not(field("is", &["internal"])),
                field("login", &["Death Star"]),
            ])
            .unwrap_or_else(nothing),
        ];
        assert_eq!(
            hub_line(&clauses, "$top: 20"),
            "state: active and not is: internal and login: {Death Star}  [$top: 20]"
        );
        assert_eq!(hub_line(&[], "$top: 20"), "[$top: 20]");
        assert_eq!(nothing().to_string(), "number: 1 .. 0");
    }
}
