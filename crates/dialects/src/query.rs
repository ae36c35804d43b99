//! Building Hub-language clauses in code, printing them, and evaluating them to a row set.
//!
//! A dialect's filter is a list of clauses that are AND-ed. Printing flattens nested `and`s so
//! the canonical form reads like what a person would write. Evaluation sends every subtree the
//! engine binds to [`Engine::matches`](userql_engine::Engine::matches) as an administrator and
//! answers the five Hub extensions the dialects introduced (`loginContains`, `nameContains`,
//! `emailContains`, `has: ldapIdentity`, `has: projectRole`) from the indexes directly.

use roaring::RoaringBitmap;
use userql_directory::index::{Flag, TextField};
use userql_engine::{Request, Viewer};
use userql_syntax::ast::{Atom, Bound, Expr, ExprKind, Field, Name, Query, Tuple, Value, ValueKind};

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
    and(clauses.to_vec()).map(|e| e.to_string()).unwrap_or_default()
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

/// A Hub extension answered here from the indexes, when `expr` is one.
fn local_rows(call: &Call, expr: &Expr) -> Option<RoaringBitmap> {
    let ExprKind::Field(field) = &expr.kind else {
        return None;
    };
    let index = &call.snapshot.index;
    let text_field = match field.key.normalized.as_str() {
        "loginContains" => Some(TextField::Login),
        "nameContains" => Some(TextField::Name),
        "emailContains" => Some(TextField::PrimaryEmail),
        "has" => None,
        _ => return None,
    };
    let mut out = RoaringBitmap::new();
    for value in &field.values {
        let ValueKind::Single(atom) = &value.kind else {
            return None;
        };
        match text_field {
            Some(text_field) => out |= index.substring(text_field, &atom.text),
            None => match atom.text.to_lowercase().as_str() {
                "ldapidentity" => out |= index.flag(Flag::HasLdapAuth),
                "projectrole" => out |= index.in_any_project(),
                _ => return None,
            },
        }
    }
    Some(out)
}

fn needs_local(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::And(items) | ExprKind::Or(items) => items.iter().any(needs_local),
        ExprKind::Not(inner) => needs_local(inner),
        ExprKind::Field(field) => match field.key.normalized.as_str() {
            "loginContains" | "nameContains" | "emailContains" => true,
            "has" => field.values.iter().any(|v| {
                matches!(&v.kind, ValueKind::Single(a)
                    if a.text.eq_ignore_ascii_case("ldapIdentity") || a.text.eq_ignore_ascii_case("projectRole"))
            }),
            _ => false,
        },
        _ => false,
    }
}

fn engine_rows(call: &Call, expr: Option<Expr>) -> Result<RoaringBitmap, userql_engine::Error> {
    let query = Query { expr, span: 0..0 };
    let mut request = Request::new(query, Viewer::Admin);
    request.now = call.now;
    call.engine.matches(call.snapshot, &request)
}

fn evaluate(call: &Call, expr: &Expr) -> Result<RoaringBitmap, userql_engine::Error> {
    if !needs_local(expr) {
        return engine_rows(call, Some(expr.clone()));
    }
    if let Some(rows) = local_rows(call, expr) {
        return Ok(rows);
    }
    match &expr.kind {
        ExprKind::And(items) => {
            let mut acc: Option<RoaringBitmap> = None;
            for item in items {
                let rows = evaluate(call, item)?;
                acc = Some(match acc {
                    Some(acc) => acc & rows,
                    None => rows,
                });
            }
            Ok(acc.unwrap_or_default())
        }
        ExprKind::Or(items) => {
            let mut acc = RoaringBitmap::new();
            for item in items {
                acc |= evaluate(call, item)?;
            }
            Ok(acc)
        }
        ExprKind::Not(inner) => Ok(call.snapshot.index.all() - evaluate(call, inner)?),
        // `has: ldapIdentity, 2FA`: split the values, each evaluated on its own.
        ExprKind::Field(f) => {
            let mut acc = RoaringBitmap::new();
            for v in &f.values {
                let single = Expr::new(ExprKind::Field(Field {
                    key: f.key.clone(),
                    values: vec![v.clone()],
                }));
                acc |= match local_rows(call, &single) {
                    Some(rows) => rows,
                    None => engine_rows(call, Some(single))?,
                };
            }
            Ok(acc)
        }
        _ => engine_rows(call, Some(expr.clone())),
    }
}

/// The rows matching every clause (every user for no clause).
pub(crate) fn rows(call: &Call, clauses: &[Expr]) -> Result<RoaringBitmap, userql_engine::Error> {
    match and(clauses.to_vec()) {
        None => Ok(call.snapshot.index.all().clone()),
        Some(expr) => evaluate(call, &expr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_flat_conjunctions_and_brackets_options() {
        let clauses = vec![
            field("state", &["active"]),
            and(vec![not(field("is", &["internal"])), field("login", &["Death Star"])])
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
