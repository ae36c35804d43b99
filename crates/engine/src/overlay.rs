//! The overlay: rows changed since the snapshot's indexes were built.
//!
//! With delta levels ([`userql_directory::store::Levels`]: indexes over some of the dirty rows,
//! each level exact for its own rows) the expression is also planned and run over each level's
//! indexes and kept to its rows; only the dirty rows no level describes are checked one by
//! one, and orders merge a run per level with the base's and the checked rows'.
//!
//! A [`Snapshot`] may carry indexes of an earlier version plus `dirty`, the rows whose records
//! changed since (see `userql_directory::store`). Every answer is then assembled from two
//! parts: the indexed plan's rows minus the dirty ones (the indexes describe every clean row
//! exactly), plus the dirty rows that match when checked one by one against the current model
//! with the reference evaluator's row check. Ordering merges the same way: the clean rows come
//! in index order, the few dirty matches are sorted by comparator, and the two sorted runs are
//! merged. The store keeps `dirty` small (it rebuilds the indexes past a limit), so this costs
//! microseconds per query.

use std::cmp::Ordering;

use roaring::RoaringBitmap;
use userql_directory::facts::{transitive_groups, RowFacts};
use userql_directory::index::SortKey;
use userql_directory::model::Row;
use userql_directory::Snapshot;

use crate::bound::{Expr, Pred};
use crate::cost::Deadline;
use crate::error::Error;
use crate::rowcheck;
use crate::sort::compare_rows;
use crate::{execute, plan};

/// Replaces the dirty rows of an indexed answer by their answer from the delta levels (for the
/// rows they describe) and by their checked answer (the others). Returns how many dirty rows
/// were checked one by one.
pub fn apply(
    snapshot: &Snapshot,
    expr: &Expr,
    rows: &mut RoaringBitmap,
    deadline: &Deadline,
) -> Result<u64, Error> {
    if snapshot.dirty.is_empty() {
        return Ok(0);
    }
    *rows -= &*snapshot.dirty;
    let model = &snapshot.model;
    // Each delta level's indexes are exact for its rows: the same expression planned and run
    // over them, kept to those rows (the levels' rows are disjoint).
    for delta in snapshot.deltas.iter() {
        let plan = plan::plan(expr, model, &delta.index);
        let (found, _) = execute::execute_within(&plan, model, &delta.index, deadline)?;
        *rows |= found & &*delta.rows;
    }
    let undescribed =
        (!snapshot.deltas.is_empty()).then(|| &*snapshot.dirty - snapshot.deltas.rows());
    let recheck = undescribed.as_ref().unwrap_or(&snapshot.dirty);
    let needs_facts = rowcheck::needs_facts(expr);
    for row in recheck.iter() {
        // A deleted user (a hole) matches nothing; its indexed entries were just removed.
        if !model.users.is_live(row) {
            continue;
        }
        // A conjunct the record alone refutes settles the row before its facts are derived.
        if needs_facts && refuted_by_record(snapshot, row, expr) {
            continue;
        }
        // From the writer's grants by subject, shared by every snapshot: nothing is rebuilt
        // per version (a grant change used to make the next reader rebuild them, O(grants)).
        // The row's groups come first, from its record and the group forest: a conjunct that
        // needs nothing more (an `in:` condition) settles most rows before their teams and
        // grants are gathered (those were 12 % of query k's time during a stream).
        let facts = if needs_facts {
            let groups = RowFacts {
                transitive_groups: transitive_groups(model, row),
                ..RowFacts::default()
            };
            if refuted_by_groups(snapshot, row, expr, &groups) {
                continue;
            }
            snapshot.row_facts_with_groups(row, groups.transitive_groups)
        } else {
            Default::default()
        };
        if rowcheck::matches(model, &snapshot.index, &facts, row, expr) {
            rows.insert(row);
        }
    }
    Ok(recheck.len())
}

/// Whether a conjunct of `expr` that needs nothing but the row's record is false for `row`
/// (then `expr` is false whatever the row's facts).
fn refuted_by_record(snapshot: &Snapshot, row: Row, expr: &Expr) -> bool {
    match expr {
        Expr::And(es) => es.iter().any(|e| refuted_by_record(snapshot, row, e)),
        Expr::Pred(p) => {
            rowcheck::row_local(&snapshot.model, &snapshot.index, row, p) == Some(false)
        }
        _ => false,
    }
}

/// Whether a conjunct of `expr` that needs nothing but the row's record and its groups
/// through subgroups (`groups`: facts holding only those) is false for `row`.
fn refuted_by_groups(snapshot: &Snapshot, row: Row, expr: &Expr, groups: &RowFacts) -> bool {
    match expr {
        Expr::And(es) => es
            .iter()
            .any(|e| refuted_by_groups(snapshot, row, e, groups)),
        // A record-only predicate was settled by `refuted_by_record` already.
        Expr::Pred(p) if !matches!(p, Pred::GroupTransitive(_)) => false,
        e if rowcheck::needs_only_groups(e) => {
            !rowcheck::matches(&snapshot.model, &snapshot.index, groups, row, e)
        }
        _ => false,
    }
}

/// Merges two runs that are each sorted by `order` into the rows `skip .. want`.
pub fn merge(
    snapshot: &Snapshot,
    clean: Vec<Row>,
    dirty: Vec<Row>,
    order: &[(SortKey, bool)],
    skip: usize,
    want: usize,
) -> Vec<Row> {
    let model = &snapshot.model;
    let mut out = Vec::with_capacity(want);
    let (mut a, mut b) = (clean.into_iter().peekable(), dirty.into_iter().peekable());
    while out.len() < want {
        let next = match (a.peek(), b.peek()) {
            (Some(&x), Some(&y)) => {
                if compare_rows(model, x, y, order) != Ordering::Greater {
                    a.next()
                } else {
                    b.next()
                }
            }
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => None,
        };
        match next {
            Some(row) => out.push(row),
            None => break,
        }
    }
    out.into_iter().skip(skip).collect()
}
