//! Proptest strategies for ASTs (feature `arbitrary-ast`), shared with the engine's tests.
//!
//! Every generated tree is one the parser can produce: operators have at least two operands, values
//! are non-empty, texts are bare words that are not keywords, and tuples have valid argument sets —
//! so `parse(print(tree)) == tree` must hold for all of them. Every catalogue key, tuple and closed
//! value appears with plausible values (dates, ranges, multi-word and awkward texts).

use proptest::prelude::*;
use proptest::sample::select;

use crate::ast::{Atom, Bound, Expr, ExprKind, Field, Name, Query, Tuple, Value, ValueKind};
use crate::catalogue::{self, FIELD_KEYS, HAS_VALUES, IS_VALUES, STATE_VALUES};

/// Any query: mostly expressions, sometimes the empty query.
pub fn arb_query() -> impl Strategy<Value = Query> {
    prop_oneof![
        1 => Just(Query { expr: None, span: 0..0 }),
        20 => arb_expr().prop_map(|e| Query { expr: Some(e), span: 0..0 }),
    ]
}

/// Any expression tree up to a few levels deep.
pub fn arb_expr() -> impl Strategy<Value = Expr> {
    arb_item().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| Expr::new(ExprKind::Or(v))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| Expr::new(ExprKind::And(v))),
            inner.prop_map(|e| Expr::new(ExprKind::Not(Box::new(e)))),
        ]
    })
}

/// One item: a field, a tuple, a word or a phrase.
pub fn arb_item() -> impl Strategy<Value = Expr> {
    prop_oneof![
        6 => arb_field().prop_map(|f| Expr::new(ExprKind::Field(f))),
        2 => arb_tuple().prop_map(|t| Expr::new(ExprKind::Tuple(t))),
        1 => arb_text().prop_map(|t| Expr::new(ExprKind::Text(t))),
        1 => "[a-zA-Z \"\\\\é{}()]{1,10}".prop_map(|p| Expr::new(ExprKind::Phrase(p))),
    ]
}

/// A bare word usable as free text (not a keyword, no `:` nor delimiters, not starting with `-`).
pub fn arb_text() -> impl Strategy<Value = String> {
    "[a-zA-Zé0-9][a-zA-Z0-9._é@-]{0,8}"
        .prop_filter("keywords are not text", |t| !catalogue::is_keyword(t))
}

/// Any atom text: identifiers, multi-word values and the characters that need braces or escapes.
pub fn arb_atom() -> impl Strategy<Value = Atom> + Clone {
    prop_oneof![
        4 => "[a-zA-Z0-9][a-zA-Z0-9._@-]{0,10}",
        2 => "[a-zA-Z0-9 ]{1,12}",
        1 => "[a-z:.*{}\\\\\"() ,é-]{1,8}",
        1 => select(vec!["and", "or", "not", "*", "login:x", "a..b", "x:", "-x", "{", "}"]).prop_map(str::to_string),
    ]
    .prop_map(Atom::new)
}

fn single(atom: Atom) -> Value {
    Value {
        kind: ValueKind::Single(atom),
        span: 0..0,
    }
}

fn arb_bound(atom: impl Strategy<Value = Atom>) -> impl Strategy<Value = Bound> {
    prop_oneof![1 => Just(Bound::Open), 3 => atom.prop_map(Bound::Value)]
}

fn arb_range(atom: impl Strategy<Value = Atom> + Clone) -> impl Strategy<Value = Value> {
    (arb_bound(atom.clone()), arb_bound(atom)).prop_map(|(low, high)| Value {
        kind: ValueKind::Range(low, high),
        span: 0..0,
    })
}

/// A date as the spec's instant forms write it.
pub fn arb_instant() -> impl Strategy<Value = Atom> + Clone {
    prop_oneof![
        "20[0-2][0-9]-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])",
        "20[0-2][0-9]-(0[1-9]|1[0-2])",
        "20[0-2][0-9]",
        "(0[1-9]|1[0-2])-(0[1-9]|1[0-9])",
        "20[0-2][0-9]-0[1-9]-1[0-9]T[01][0-9]:[0-5][0-9](:[0-5][0-9])?(Z|\\+02:00)?",
        "1[67][0-9]{11}",
        "[1-9] (day|days|week|weeks|month|months|year|years) ago",
        select(vec!["now", "today", "yesterday"]).prop_map(str::to_string),
    ]
    .prop_map(Atom::new)
}

fn closed(values: &'static [catalogue::ClosedValue]) -> impl Strategy<Value = Value> + Clone {
    select(values.iter().map(|v| v.name).collect::<Vec<_>>()).prop_map(|v| single(Atom::new(v)))
}

/// Plausible values for a field key (by its canonical name).
fn arb_values(key: &'static str) -> BoxedStrategy<Vec<Value>> {
    let values: BoxedStrategy<Value> = match key {
        "is" => closed(IS_VALUES).boxed(),
        "has" => closed(HAS_VALUES).boxed(),
        "state" => closed(STATE_VALUES).boxed(),
        "after" | "before" => arb_instant().prop_map(single).boxed(),
        "lastAccess" | "created" => {
            prop_oneof![arb_range(arb_instant()), arb_instant().prop_map(single)].boxed()
        }
        "number" => prop_oneof![
            "[0-9]{1,6}".prop_map(|n| single(Atom::new(n))),
            arb_range("[0-9]{1,6}".prop_map(Atom::new)),
        ]
        .boxed(),
        _ => prop_oneof![9 => arb_atom().prop_map(single), 1 => arb_range(arb_atom())].boxed(),
    };
    prop::collection::vec(values, 1..4).boxed()
}

/// A field with any catalogue key (aliases written as such but normalised) and plausible values.
pub fn arb_field() -> impl Strategy<Value = Field> {
    select(FIELD_KEYS.iter().map(|k| k.name).collect::<Vec<_>>()).prop_flat_map(|key| {
        arb_values(key).prop_map(move |values| Field {
            key: Name::canonical(key),
            values,
        })
    })
}

fn arg(name: &'static str, values: Vec<Value>) -> Field {
    Field {
        key: Name::canonical(name),
        values,
    }
}

fn arb_names() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(arb_atom().prop_map(single), 1..3)
}

/// A tuple with a valid argument set (no slot twice, never project with organization).
pub fn arb_tuple() -> impl Strategy<Value = Tuple> {
    let access = (
        select(vec![None, Some("project"), Some("organization")]),
        select(vec![None, Some("with"), Some("role"), Some("permission")]),
        arb_names(),
        arb_names(),
    )
        .prop_filter("access needs an argument", |(scope, with, _, _)| {
            scope.is_some() || with.is_some()
        })
        .prop_map(|(scope, with, scope_values, with_values)| {
            let mut args = Vec::new();
            if let Some(scope) = scope {
                args.push(arg(scope, scope_values));
            }
            if let Some(with) = with {
                args.push(arg(with, with_values));
            }
            ("access", args)
        });
    let last_access = (any::<(bool, bool)>(), arb_instant(), arb_instant()).prop_map(
        |((after, before), a, b)| {
            let mut args = Vec::new();
            if after || !before {
                args.push(arg("after", vec![single(a)]));
            }
            if before {
                args.push(arg("before", vec![single(b)]));
            }
            ("lastAccess", args)
        },
    );
    let identity =
        (any::<(bool, bool)>(), arb_names(), arb_names()).prop_map(|((provider, uid), p, u)| {
            let mut args = Vec::new();
            if provider || !uid {
                args.push(arg("provider", p));
            }
            if uid {
                args.push(arg("uid", u));
            }
            ("identity", args)
        });
    (
        prop_oneof![3 => access, 2 => last_access, 1 => identity],
        any::<bool>(),
    )
        .prop_map(|((name, mut args), reverse)| {
            if reverse {
                args.reverse();
            }
            Tuple {
                name: Name::canonical(name),
                args,
            }
        })
}
