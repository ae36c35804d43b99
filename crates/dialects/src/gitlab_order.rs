//! GitLab's explicit orders (`order_by` id / name / username / updated_at, ties by id in the
//! same direction) as permutations of the directory, so a page — offset, keyset, or the tail of
//! the `search` relevance order — walks an order instead of sorting every match.
//!
//! GitLab's keys are not the engine's: names compare as the displayed text, byte for byte (the
//! engine folds case), usernames lower-cased, and ties break by GitLab id, not Hub id. So the
//! dialect keeps its own permutation per key, built on first use for each [`Indexes`] (seeded
//! from the index's nearest order, which it almost matches, so the stable sort that fixes it up
//! is close to linear) and shared by every snapshot over those indexes. Rows the permutation may
//! place by a stale value — dirty now, or dirty when it was built — are the *overlay*: skipped
//! while walking, compared by record and merged in, as the engine does for its own orders.
//!
//! A page of `w` rows out of `n` matches among `u` users either walks the permutation (about
//! `w · u / n` steps) or selects the matches by rank (`O(n + w log w)`), whichever is cheaper —
//! the engine's rule ([`userql_engine::order`]).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use roaring::RoaringBitmap;
use userql_directory::index::{Indexes, SortKey};
use userql_directory::model::{Row, User};
use userql_directory::Snapshot;

use crate::gitlab_rows::display_name;
use crate::source::{GitlabKey, KeyValue};

/// How a GitLab page was ordered: shown by [`crate::gitlab::page_path`] so a test can check that
/// no request falls back to sorting every match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagePath {
    /// Nothing to order (no match, or the page is past the end).
    Trivial,
    /// Walked the permutation until the page was full.
    Walk,
    /// Selected the matches by rank in the permutation.
    Select,
}

impl std::fmt::Display for PagePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PagePath::Trivial => "trivial",
            PagePath::Walk => "walk",
            PagePath::Select => "select",
        })
    }
}

/// A position in an order: the key and GitLab id of the row a keyset page starts after.
pub(crate) type Position = (KeyValue, u64);

/// `login.to_lowercase()`, borrowed when that is the login itself.
fn lowered(login: &str) -> Cow<'_, str> {
    if login.is_ascii() {
        if login.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(login.to_ascii_lowercase())
        } else {
            Cow::Borrowed(login)
        }
    } else {
        Cow::Owned(login.to_lowercase())
    }
}

/// Two users in ascending (`by`'s key, GitLab id) order, as `(KeyValue::of, number)` compares —
/// without building the keys.
fn compare_users(x: &User, y: &User, by: GitlabKey) -> Ordering {
    let first = match by {
        GitlabKey::Number => (x.number as i64).cmp(&(y.number as i64)),
        GitlabKey::DisplayName => display_name(x).cmp(display_name(y)),
        GitlabKey::LoweredLogin => lowered(&x.login).cmp(&lowered(&y.login)),
        GitlabKey::Updated => x.updated_or_created().cmp(&y.updated_or_created()),
    };
    first.then(x.number.cmp(&y.number))
}

/// A user against a position, ascending.
fn compare_to(user: &User, by: GitlabKey, (key, number): &Position) -> Ordering {
    KeyValue::of(user, by)
        .cmp(key)
        .then(user.number.cmp(number))
}

/// The rows the indexes had when a permutation was built, ascending by (key, GitLab id).
#[derive(Debug)]
struct Permutation {
    /// Rows ascending.
    order: Vec<Row>,
    /// `rank[row]` = position of `row` in `order`.
    rank: Vec<u32>,
    /// Rows dirty when this was built: placed by a value the indexes did not see.
    built_dirty: RoaringBitmap,
}

impl Permutation {
    fn build(snapshot: &Snapshot, by: GitlabKey) -> Permutation {
        let users = &snapshot.model.users;
        let index = &snapshot.index;
        let seed = match by {
            GitlabKey::Number => SortKey::Number,
            GitlabKey::DisplayName => SortKey::Name,
            GitlabKey::LoweredLogin => SortKey::Login,
            GitlabKey::Updated => SortKey::Updated,
        };
        let mut order = index.order(seed, false).to_vec();
        // Users deleted since the indexes were built are holes: they match nothing.
        order.retain(|&row| users.is_live(row));
        if by == GitlabKey::LoweredLogin {
            // One lower-cased copy per login, not one per comparison (holes: empty).
            let keys: Vec<Cow<'_, str>> = (0..users.slots())
                .map(|row| {
                    users
                        .get(row)
                        .map_or(Cow::Borrowed(""), |u| lowered(&u.login))
                })
                .collect();
            order.sort_by(|&a, &b| {
                keys[a as usize]
                    .cmp(&keys[b as usize])
                    .then(users[a as usize].number.cmp(&users[b as usize].number))
            });
        } else {
            order.sort_by(|&a, &b| compare_users(&users[a as usize], &users[b as usize], by));
        }
        let mut rank = vec![0u32; users.slots()];
        for (position, &row) in order.iter().enumerate() {
            rank[row as usize] = position as u32;
        }
        Permutation {
            order,
            rank,
            built_dirty: (*snapshot.dirty).clone(),
        }
    }
}

/// The permutations of one [`Indexes`], one cell per [`GitlabKey`].
#[derive(Debug, Default)]
struct Cells {
    index: Weak<Indexes>,
    cells: [OnceLock<Permutation>; 4],
}

/// Permutations of every live [`Indexes`] a GitLab request has ordered; entries whose indexes are
/// gone are dropped on the next look-up.
static CACHE: Mutex<Vec<Arc<Cells>>> = Mutex::new(Vec::new());

fn cells_of(snapshot: &Snapshot) -> Arc<Cells> {
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    cache.retain(|cells| cells.index.strong_count() > 0);
    let wanted = Arc::as_ptr(&snapshot.index);
    if let Some(cells) = cache.iter().find(|c| c.index.as_ptr() == wanted) {
        return Arc::clone(cells);
    }
    let cells = Arc::new(Cells {
        index: Arc::downgrade(&snapshot.index),
        cells: Default::default(),
    });
    cache.push(Arc::clone(&cells));
    cells
}

fn slot(by: GitlabKey) -> usize {
    match by {
        GitlabKey::Number => 0,
        GitlabKey::DisplayName => 1,
        GitlabKey::LoweredLogin => 2,
        GitlabKey::Updated => 3,
    }
}

/// Where the walk of a clean row set starts and which way it goes, in the permutation's
/// ascending positions: `lo..hi`, read backwards when descending.
struct Span {
    lo: usize,
    hi: usize,
    desc: bool,
}

/// The first ascending position whose row is not `before` the cursor, skipping overlay rows
/// (their placement may not follow their current value). Clean rows are sorted, so this is a
/// binary search; a probe that lands on an overlay row moves to the next clean one.
fn boundary(perm: &Permutation, overlay: &RoaringBitmap, before: impl Fn(Row) -> bool) -> usize {
    let (mut lo, mut hi) = (0, perm.order.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match (mid..hi).find(|&i| !overlay.contains(perm.order[i])) {
            Some(probe) if before(perm.order[probe]) => lo = probe + 1,
            _ => hi = mid,
        }
    }
    lo
}

/// Up to `want` rows of `clean` (no overlay row) in the span's direction.
fn clean_page(
    perm: &Permutation,
    clean: &RoaringBitmap,
    span: &Span,
    want: usize,
) -> (Vec<Row>, PagePath) {
    let n = clean.len();
    if n == 0 || want == 0 || span.lo >= span.hi {
        return (Vec::new(), PagePath::Trivial);
    }
    let universe = perm.order.len().max(1) as u128;
    let walk_steps = (want as u128 * universe / u128::from(n)) as u64;
    // The engine's cost rule: a walk step is about three times a select step.
    if walk_steps.saturating_mul(3) <= n + (want as u64) * 8 {
        let slice = &perm.order[span.lo..span.hi];
        let keep = |row: &&Row| clean.contains(**row);
        let rows = if span.desc {
            slice
                .iter()
                .rev()
                .filter(keep)
                .take(want)
                .copied()
                .collect()
        } else {
            slice.iter().filter(keep).take(want).copied().collect()
        };
        return (rows, PagePath::Walk);
    }
    let (lo, hi) = (span.lo as u32, span.hi as u32);
    let mut ranked: Vec<u32> = clean
        .iter()
        .map(|row| perm.rank[row as usize])
        .filter(|rank| (lo..hi).contains(rank))
        .map(|rank| if span.desc { u32::MAX - rank } else { rank })
        .collect();
    if want < ranked.len() {
        ranked.select_nth_unstable(want - 1);
        ranked.truncate(want);
    }
    ranked.sort_unstable();
    let rows = ranked
        .into_iter()
        .map(|r| perm.order[(if span.desc { u32::MAX - r } else { r }) as usize])
        .collect();
    (rows, PagePath::Select)
}

/// Rows `skip .. skip + top` of `rows` in `by` order (descending when `desc`), ties by GitLab id
/// in the same direction, starting after `after` when given — what sorting every match by
/// `(KeyValue::of, number)` gives, from the permutation.
pub(crate) fn page(
    snapshot: &Snapshot,
    rows: &RoaringBitmap,
    by: GitlabKey,
    desc: bool,
    after: Option<&Position>,
    skip: usize,
    top: usize,
) -> (Vec<Row>, PagePath) {
    let want = skip.saturating_add(top).min(rows.len() as usize);
    if want == 0 || skip >= want {
        return (Vec::new(), PagePath::Trivial);
    }
    let cells = cells_of(snapshot);
    let perm = cells.cells[slot(by)].get_or_init(|| Permutation::build(snapshot, by));
    let users = &snapshot.model.users;
    let overlay = &*snapshot.dirty | &perm.built_dirty;
    let (clean, dirty): (Cow<'_, RoaringBitmap>, Vec<Row>) = if overlay.is_empty() {
        (Cow::Borrowed(rows), Vec::new())
    } else {
        (
            Cow::Owned(rows - &overlay),
            (rows & &overlay).iter().collect(),
        )
    };
    let span = match after {
        None => Span {
            lo: 0,
            hi: perm.order.len(),
            desc,
        },
        // Ascending: the rows after the cursor; descending: the rows before it, backwards.
        Some(position) if desc => Span {
            lo: 0,
            hi: boundary(perm, &overlay, |row| {
                compare_to(&users[row as usize], by, position) == Ordering::Less
            }),
            desc,
        },
        Some(position) => Span {
            lo: boundary(perm, &overlay, |row| {
                compare_to(&users[row as usize], by, position) != Ordering::Greater
            }),
            hi: perm.order.len(),
            desc,
        },
    };
    let directed = |a: Row, b: Row| {
        let ordering = compare_users(&users[a as usize], &users[b as usize], by);
        if desc {
            ordering.reverse()
        } else {
            ordering
        }
    };
    let (clean_rows, path) = clean_page(perm, &clean, &span, want);
    if dirty.is_empty() {
        return (clean_rows.into_iter().skip(skip).collect(), path);
    }
    let mut dirty: Vec<Row> = dirty
        .into_iter()
        .filter(|&row| {
            after.is_none_or(|position| {
                let ordering = compare_to(&users[row as usize], by, position);
                if desc {
                    ordering == Ordering::Less
                } else {
                    ordering == Ordering::Greater
                }
            })
        })
        .collect();
    dirty.sort_by(|&a, &b| directed(a, b));
    let merged = merge(clean_rows, dirty, directed, want);
    (merged.into_iter().skip(skip).collect(), path)
}

/// The first `want` rows of two sorted runs.
fn merge(
    left: Vec<Row>,
    right: Vec<Row>,
    order: impl Fn(Row, Row) -> Ordering,
    want: usize,
) -> Vec<Row> {
    let mut out = Vec::with_capacity(want);
    let (mut left, mut right) = (left.into_iter().peekable(), right.into_iter().peekable());
    while out.len() < want {
        let next = match (left.peek(), right.peek()) {
            (Some(&a), Some(&b)) if order(b, a) == Ordering::Less => right.next(),
            (Some(_), _) => left.next(),
            (None, _) => right.next(),
        };
        match next {
            Some(row) => out.push(row),
            None => break,
        }
    }
    out
}
