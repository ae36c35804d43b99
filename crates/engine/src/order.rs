//! Ordering and paging: the page of a row set without sorting every match when the page is small.
//!
//! Three strategies, chosen per request from the match count `n`, the universe `u` and the rows
//! wanted `w = skip + top`:
//! - **walk**: step through the index's sort permutation, keeping rows in the set, until `w` are
//!   found — expected `w · u / n` steps, best when the matches are many;
//! - **select**: collect the matches, `select_nth_unstable` by rank to the first `w`, sort those —
//!   `O(n + w log w)`, best when matches are few or the page is deep;
//! - **full sort** with precomputed keys ([`crate::sort`]), only for multi-key orders whose first
//!   key has ties: `O(m log m)`.
//!
//! Every loop that touches rows checks the request's [`Deadline`].

use roaring::RoaringBitmap;
use userql_directory::index::{Indexes, SortKey};
use userql_directory::model::{Model, Row};
use userql_directory::Snapshot;

use crate::cost::Deadline;
use crate::error::Error;
use crate::sort::{key_value, normalize, top_rows, SortValue};

/// One sort key and its direction (`true` = descending).
pub type OrderKey = (SortKey, bool);

/// How a page was produced (shown by EXPLAIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStrategy {
    /// Nothing to order (empty set or empty page).
    Trivial,
    /// Walked the sort permutation.
    Walk,
    /// Selected the top rows by rank.
    Select,
    /// Sorted every match with a comparator.
    FullSort,
}

/// The rows `skip .. skip + top` of `rows` in `order` (ties by id; users without a value last),
/// overlay included: clean rows come from the index orders, dirty rows are sorted by comparator,
/// and the two runs are merged (see [`crate::overlay`]).
pub fn page(
    snapshot: &Snapshot,
    rows: &RoaringBitmap,
    order: &[OrderKey],
    skip: u64,
    top: u64,
) -> (Vec<Row>, PageStrategy) {
    page_within(snapshot, rows, order, skip, top, &Deadline::never())
        .unwrap_or((Vec::new(), PageStrategy::Trivial))
}

/// [`page`] that gives up with [`crate::ErrorKind::TimedOut`] past the deadline.
pub fn page_within(
    snapshot: &Snapshot,
    rows: &RoaringBitmap,
    order: &[OrderKey],
    skip: u64,
    top: u64,
    deadline: &Deadline,
) -> Result<(Vec<Row>, PageStrategy), Error> {
    if snapshot.dirty.is_empty() {
        return page_indexed_within(
            &snapshot.model,
            &snapshot.index,
            rows,
            order,
            skip,
            top,
            deadline,
        );
    }
    let n = rows.len();
    if n == 0 || top == 0 || skip >= n {
        return Ok((Vec::new(), PageStrategy::Trivial));
    }
    let want = skip.saturating_add(top).min(n);
    let mut order = normalize(order);
    if order.is_empty() {
        order.push((SortKey::Login, false));
    }
    let clean = rows - &*snapshot.dirty;
    let changed = rows & &*snapshot.dirty;
    let checked: Vec<Row> = (&changed - snapshot.delta_rows()).iter().collect();
    let mut dirty = top_rows(&snapshot.model, &checked, &order, want as usize, deadline)?;
    for delta in snapshot.deltas.iter() {
        // Each delta level's rows come in its own index orders (it describes them exactly).
        let in_delta = &changed & &*delta.rows;
        if in_delta.is_empty() {
            continue;
        }
        let (delta_rows, _) = page_indexed_within(
            &snapshot.model,
            &delta.index,
            &in_delta,
            &order,
            0,
            want,
            deadline,
        )?;
        dirty = crate::overlay::merge(snapshot, delta_rows, dirty, &order, 0, want as usize);
    }
    let (clean_rows, strategy) = page_indexed_within(
        &snapshot.model,
        &snapshot.index,
        &clean,
        &order,
        0,
        want,
        deadline,
    )?;
    let merged = crate::overlay::merge(
        snapshot,
        clean_rows,
        dirty,
        &order,
        skip as usize,
        want as usize,
    );
    Ok((merged, strategy))
}

/// [`page`] for rows the index describes exactly (no overlay).
pub fn page_indexed(
    model: &Model,
    index: &Indexes,
    rows: &RoaringBitmap,
    order: &[OrderKey],
    skip: u64,
    top: u64,
) -> (Vec<Row>, PageStrategy) {
    page_indexed_within(model, index, rows, order, skip, top, &Deadline::never())
        .unwrap_or((Vec::new(), PageStrategy::Trivial))
}

/// The matches that can be among the first `want` of an order whose first key is `first`: walking
/// that key's permutation, every match up to the `want`-th, plus the matches tied with it on the
/// first key (only later keys can order those). Every other match has a worse first key than
/// `want` candidates do, so sorting the candidates by every key gives the page — without
/// computing keys for, or sorting, every match (TFE's creation order, GitLab's `updated_at`,
/// Hub's `orderBy` with several keys).
fn first_key_candidates(
    model: &Model,
    index: &Indexes,
    rows: &RoaringBitmap,
    first: OrderKey,
    want: usize,
    deadline: &Deadline,
) -> Result<Vec<Row>, Error> {
    let (key, descending) = first;
    let mut candidates = Vec::with_capacity(want);
    // The `want`-th match's first-key value, computed once: every later match is compared to it.
    let mut boundary: Option<Option<SortValue>> = None;
    for (step, &row) in index.order(key, descending).iter().enumerate() {
        deadline.check_at(step)?;
        if !rows.contains(row) {
            continue;
        }
        if let Some(last) = &boundary {
            if key_value(model, key, row) != *last {
                break;
            }
        }
        candidates.push(row);
        if candidates.len() == want {
            boundary = Some(key_value(model, key, row));
        }
    }
    Ok(candidates)
}

/// [`page_indexed`] that gives up past the deadline.
pub fn page_indexed_within(
    model: &Model,
    index: &Indexes,
    rows: &RoaringBitmap,
    order: &[OrderKey],
    skip: u64,
    top: u64,
    deadline: &Deadline,
) -> Result<(Vec<Row>, PageStrategy), Error> {
    let n = rows.len();
    if n == 0 || top == 0 || skip >= n {
        return Ok((Vec::new(), PageStrategy::Trivial));
    }
    let want = skip.saturating_add(top).min(n) as usize;
    let skip = skip as usize;
    // Repeated keys and keys after a unique one never break a tie.
    let mut effective = normalize(order);
    if effective.is_empty() {
        effective.push((SortKey::Login, false));
    }
    let (key, descending) = effective[0];
    deadline.check()?;
    let universe = u64::from(index.user_count()).max(1);
    let walk_steps = (want as u128 * universe as u128 / n as u128) as u64;
    // A walk step (a permutation read plus a bitmap probe at a random position) costs about
    // three times what collecting one match and selecting by rank does (benches/RESULTS.md:
    // query k at 0.4 % density was 2.5–3× slower walking).
    let select_cost = n + (want as u64) * 8;
    let walk = walk_steps.saturating_mul(3) <= select_cost;
    if effective.len() > 1 {
        let candidates: Vec<Row> = if walk {
            first_key_candidates(model, index, rows, (key, descending), want, deadline)?
        } else {
            rows.iter().collect()
        };
        let first = top_rows(model, &candidates, &effective, want, deadline)?;
        let strategy = if walk {
            PageStrategy::Walk
        } else {
            PageStrategy::FullSort
        };
        return Ok((first.into_iter().skip(skip).collect(), strategy));
    }
    if walk {
        let mut out = Vec::with_capacity(want - skip);
        let mut seen = 0usize;
        for (step, &row) in index.order(key, descending).iter().enumerate() {
            deadline.check_at(step)?;
            if rows.contains(row) {
                if seen >= skip {
                    out.push(row);
                }
                seen += 1;
                if seen == want {
                    break;
                }
            }
        }
        return Ok((out, PageStrategy::Walk));
    }
    // Each match's rank is read once, in row order, into (rank, row) pairs: the selection
    // then compares pairs instead of re-reading the 4 MB rank array at random positions in
    // each of its passes (query k at 1M users: 4,315 matches, 0.37 → ~0.1 ms).
    let rank = index.rank(key, descending);
    let mut all: Vec<(u32, Row)> = rows.iter().map(|r| (rank[r as usize], r)).collect();
    if want < all.len() {
        all.select_nth_unstable(want - 1);
        all.truncate(want);
    }
    all.sort_unstable();
    deadline.check()?;
    Ok((
        all.into_iter().skip(skip).map(|(_, row)| row).collect(),
        PageStrategy::Select,
    ))
}
