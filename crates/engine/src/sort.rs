//! Sorting matches by several `orderBy` keys: every key computed once per row, and only the rows
//! a page needs are fully sorted (`O(m + w log w)` for `w` wanted rows, at most `O(m log m)`).
//!
//! Each row's keys are folded once, then the sort compares precomputed values only
//! ([`compare_rows`], which folds per comparison, is for the overlay's merge of a few rows). Keys are
//! normalised first: a key repeated later in the list can never break a tie (rows tied on the
//! first occurrence have the same value), and nothing after a unique key (login, id, number) can
//! either — so `orderBy: name, name, …` costs one key, however long the list.

use std::cmp::Ordering;

use userql_directory::index::SortKey;
use userql_directory::model::{Model, Row, User};
use userql_directory::text::fold;

use crate::cost::Deadline;
use crate::error::Error;
use crate::OrderKey;

/// The keys that decide an order: first occurrence of each key, up to the first unique key.
/// Empty input stays empty (the caller's default applies).
pub fn normalize(order: &[OrderKey]) -> Vec<OrderKey> {
    let mut out: Vec<OrderKey> = Vec::new();
    for &(key, descending) in order {
        if out.iter().any(|(seen, _)| *seen == key) {
            continue;
        }
        out.push((key, descending));
        if matches!(key, SortKey::Login | SortKey::Id | SortKey::Number) {
            break;
        }
    }
    out
}

/// One precomputed sort value.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SortValue {
    Int(i64),
    Text(String),
}

/// `user` (at `row` of `model`)'s value for `key`.
fn sort_value(model: &Model, row: Row, user: &User, key: SortKey) -> Option<SortValue> {
    match key {
        SortKey::Login => Some(SortValue::Text(fold(&user.login))),
        SortKey::Name => user.name.as_ref().map(|n| SortValue::Text(fold(n))),
        SortKey::Email => user.email.as_ref().map(|e| SortValue::Text(fold(e))),
        SortKey::Id => Some(SortValue::Text(user.id.to_string())),
        SortKey::Created => Some(SortValue::Int(user.created_at)),
        SortKey::LastAccess => model.users.last_access(row as usize).map(SortValue::Int),
        SortKey::Updated => Some(SortValue::Int(user.updated_or_created())),
        SortKey::Number => i64::try_from(user.number).ok().map(SortValue::Int),
    }
}

/// Compares two rows by `order` as [`sort_rows`] does (for the overlay's merge of two sorted
/// runs, which compares few rows and so computes their keys per comparison).
pub fn compare_rows(model: &Model, a: Row, b: Row, order: &[OrderKey]) -> Ordering {
    let (ua, ub) = (&model.users[a as usize], &model.users[b as usize]);
    for &(key, descending) in order {
        let ordering = compare_values(
            sort_value(model, a, ua, key),
            sort_value(model, b, ub, key),
            descending,
        );
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    ua.id.cmp(&ub.id)
}

/// One key's order: values ascending or descending, no value after every value either way.
fn compare_values<T: Ord>(x: Option<T>, y: Option<T>, descending: bool) -> Ordering {
    match (x, y) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) if descending => y.cmp(&x),
        (Some(x), Some(y)) => x.cmp(&y),
    }
}

/// A row's value for one key, as [`top_rows`] compares it (`None`: the user has no value, or
/// no such row). Two rows tie on `key` when their values are equal.
pub(crate) fn key_value(model: &Model, key: SortKey, row: Row) -> Option<SortValue> {
    model
        .users
        .get(row as usize)
        .and_then(|user| sort_value(model, row, user, key))
}

/// Rows per chunk of [`top_rows`]: the deadline is checked between chunks, so a cancelled sort
/// stops within one chunk's work.
const CHUNK: usize = 1 << 16;

type Keyed = (Vec<Option<SortValue>>, Row);

/// Sorts rows by `order` (normalised here): each key ascending or descending, users without a
/// value after the others for that key, remaining ties by id ascending.
pub fn sort_rows(
    model: &Model,
    rows: &mut [Row],
    order: &[OrderKey],
    deadline: &Deadline,
) -> Result<(), Error> {
    let sorted = top_rows(model, rows, order, rows.len(), deadline)?;
    rows.copy_from_slice(&sorted);
    Ok(())
}

/// The first `want` of `rows` in `order` (see [`sort_rows`]): every key computed once per row,
/// then each chunk of `CHUNK` rows selects and sorts its own first `want`, and the chunks are
/// merged — `O(m + chunks · want log want)` comparisons for `m` rows, with the deadline checked
/// while keys are computed and between chunks.
pub fn top_rows(
    model: &Model,
    rows: &[Row],
    order: &[OrderKey],
    want: usize,
    deadline: &Deadline,
) -> Result<Vec<Row>, Error> {
    let keys = normalize(order);
    let want = want.min(rows.len());
    if want == 0 {
        return Ok(Vec::new());
    }
    let mut keyed: Vec<Keyed> = Vec::with_capacity(rows.len());
    for (i, &row) in rows.iter().enumerate() {
        deadline.check_at(i)?;
        let user = &model.users[row as usize];
        keyed.push((
            keys.iter()
                .map(|&(k, _)| sort_value(model, row, user, k))
                .collect(),
            row,
        ));
    }
    let compare = |(a, ra): &Keyed, (b, rb): &Keyed| {
        for ((x, y), &(_, descending)) in a.iter().zip(b).zip(&keys) {
            let ordering = compare_values(x.as_ref(), y.as_ref(), descending);
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        model.users[*ra as usize]
            .id
            .cmp(&model.users[*rb as usize].id)
    };
    let mut heads: Vec<&[Keyed]> = Vec::new();
    for chunk in keyed.chunks_mut(CHUNK) {
        deadline.check()?;
        let take = want.min(chunk.len());
        if take < chunk.len() {
            chunk.select_nth_unstable_by(take - 1, compare);
        }
        chunk[..take].sort_unstable_by(compare);
        heads.push(&chunk[..take]);
    }
    deadline.check()?;
    // k-way merge of the sorted chunk prefixes (k = chunks, small).
    let mut out = Vec::with_capacity(want);
    while out.len() < want {
        let mut best: Option<usize> = None;
        for (i, head) in heads.iter().enumerate() {
            if let Some(first) = head.first() {
                let better = match best {
                    None => true,
                    Some(b) => compare(first, &heads[b][0]) == Ordering::Less,
                };
                if better {
                    best = Some(i);
                }
            }
        }
        let Some(b) = best else { break };
        out.push(heads[b][0].1);
        heads[b] = &heads[b][1..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_and_keys_after_a_unique_one_are_dropped() {
        let name = (SortKey::Name, false);
        let keys = vec![name; 300];
        assert_eq!(normalize(&keys), vec![name]);
        assert_eq!(
            normalize(&[
                (SortKey::Created, true),
                (SortKey::Name, false),
                (SortKey::Created, false),
                (SortKey::Login, false),
                (SortKey::Email, false),
            ]),
            vec![
                (SortKey::Created, true),
                (SortKey::Name, false),
                (SortKey::Login, false)
            ]
        );
    }
}
