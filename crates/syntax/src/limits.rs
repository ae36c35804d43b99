//! The parser's [`Limits`] applied to a tree, whoever built it.
//!
//! Hub text is bounded while it is parsed; the GitLab, TFE and ArcGIS dialects build their trees
//! in code from query-string params, so the same bounds are checked again on the finished tree
//! before it is bound (style rule 22: limits apply to the tree, whatever dialect built it). The
//! walk uses an explicit stack, so a tree of any depth is measured without recursion.
//!
//! What counts: every value of a field (so `loginContains: a, b, c` is three items), every tuple
//! argument value, every free-text word and phrase; the *length* is the bytes of every key, tuple
//! name and value (what a person would have had to type, less separators); the *depth* is the
//! nesting of `and`, `or` and `not` nodes.

use crate::ast::{Bound, Expr, ExprKind, Field, Query, ValueKind};
use crate::error::{Error, ErrorKind};
use crate::parser::Limits;

/// What a tree measures, as far as the walk got (it stops at the first limit exceeded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeSize {
    /// Items: field values, tuple argument values, words and phrases.
    pub items: usize,
    /// Bytes of keys, names and values.
    pub len: usize,
    /// Deepest nesting of `and` / `or` / `not`.
    pub depth: usize,
}

/// Checks a tree against the limits; the error is the parser's own kind for that limit, with the
/// span of the node that crossed it (`0..0` for trees built in code).
pub fn check_tree(query: &Query, limits: &Limits) -> Result<TreeSize, Error> {
    let mut size = TreeSize::default();
    let Some(root) = &query.expr else {
        return Ok(size);
    };
    let mut stack: Vec<(&Expr, usize)> = vec![(root, 0)];
    while let Some((expr, depth)) = stack.pop() {
        let fail = |kind: ErrorKind| Err(Error::new(expr.span.clone(), kind));
        match &expr.kind {
            ExprKind::Or(items) | ExprKind::And(items) => {
                if depth + 1 > limits.max_depth {
                    return fail(ErrorKind::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                size.depth = size.depth.max(depth + 1);
                stack.extend(items.iter().map(|item| (item, depth + 1)));
            }
            ExprKind::Not(inner) => {
                if depth + 1 > limits.max_depth {
                    return fail(ErrorKind::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                size.depth = size.depth.max(depth + 1);
                stack.push((inner, depth + 1));
            }
            ExprKind::Field(field) => add_field(&mut size, field),
            ExprKind::Tuple(tuple) => {
                size.len += tuple.name.normalized.len();
                for arg in &tuple.args {
                    add_field(&mut size, arg);
                }
            }
            ExprKind::Text(text) | ExprKind::Phrase(text) => {
                size.items += 1;
                size.len += text.len();
            }
        }
        if size.items > limits.max_items {
            return fail(ErrorKind::TooManyItems {
                limit: limits.max_items,
            });
        }
        if size.len > limits.max_len {
            return fail(ErrorKind::TooLong {
                limit: limits.max_len,
                len: size.len,
            });
        }
    }
    Ok(size)
}

fn add_field(size: &mut TreeSize, field: &Field) {
    size.len += field.key.normalized.len();
    for value in &field.values {
        size.items += 1;
        size.len += match &value.kind {
            ValueKind::Single(atom) => atom.text.len(),
            ValueKind::Range(low, high) => bound_len(low) + bound_len(high),
        };
    }
}

fn bound_len(bound: &Bound) -> usize {
    match bound {
        Bound::Open => 1,
        Bound::Value(atom) => atom.text.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_query;

    #[test]
    fn values_inside_one_key_count_as_items() {
        let limits = Limits {
            max_items: 3,
            ..Limits::default()
        };
        let ok = parse_query("loginContains: ab, cd, ef").unwrap();
        assert_eq!(check_tree(&ok, &limits).map(|s| s.items), Ok(3));
        let over = parse_query("loginContains: ab, cd, ef, gh").unwrap();
        assert!(matches!(
            check_tree(&over, &limits).map_err(|e| e.kind),
            Err(ErrorKind::TooManyItems { limit: 3 })
        ));
    }

    #[test]
    fn depth_and_length_are_measured_on_the_tree() {
        let query = parse_query("not (a or not (b and c))").unwrap();
        let size = check_tree(&query, &Limits::default()).unwrap();
        assert_eq!(size.depth, 4);
        assert_eq!(size.len, 3);
        let tight = Limits {
            max_len: 2,
            ..Limits::default()
        };
        assert!(matches!(
            check_tree(&query, &tight).map_err(|e| e.kind),
            Err(ErrorKind::TooLong { limit: 2, .. })
        ));
    }
}
