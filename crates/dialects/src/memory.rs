//! The in-memory row source: a [`Fetch`] answered from the call's snapshot (its indexes plus
//! pending changes) with the engine, GitLab's orders walked from their permutations
//! (`gitlab_order.rs`, `gitlab_search.rs`). Apart from [`crate::source`], which holds
//! only the seam's types, so the dialects that use the seam and the orders this source walks do
//! not import each other in a cycle.

use roaring::RoaringBitmap;
use userql_directory::index::{SortKey, TextField, Wildcard, WildcardPath};
use userql_directory::model::{Row, User};
use userql_directory::Snapshot;
use userql_engine::order::PageStrategy;
use userql_engine::project::{page_envelope, project_users};
use userql_engine::{OrderKey, Request};

use crate::arcgis_glob::glob;
use crate::gitlab_order::{self, PagePath};
use crate::gitlab_search;
use crate::source::{
    Failure, Fetch, Fetched, GitlabKey, HubRows, KeyValue, PageView, Position, RowOrder, RowSource,
    SourceError, Window,
};
use crate::Call;

/// The in-memory engine over the request's snapshot.
#[derive(Debug)]
pub struct MemorySource<'c, 'a> {
    call: &'c Call<'a>,
    path: Option<PagePath>,
    exact_tier: usize,
    glob: Option<GlobPath>,
}

impl<'c, 'a> MemorySource<'c, 'a> {
    /// A source reading `call.snapshot` with `call.engine`.
    pub fn new(call: &'c Call<'a>) -> Self {
        MemorySource {
            call,
            path: None,
            exact_tier: 0,
            glob: None,
        }
    }

    fn rows(&self, request: &Request) -> Result<RoaringBitmap, userql_engine::Error> {
        if request.query.expr.is_none() {
            return Ok(self.call.snapshot.all_rows());
        }
        self.call.engine.matches(self.call.snapshot, request)
    }
}

/// The fields an ArcGIS glob matches.
const GLOB_FIELDS: [(TextField, &str); 3] = [
    (TextField::Login, "login"),
    (TextField::Name, "name"),
    (TextField::PrimaryEmail, "email"),
];

/// Whether the glob `pattern` ([`crate::arcgis_glob::glob`]) matches `user`'s login, name or primary
/// email, compared in plain lowercase as [`crate::arcgis_glob::glob_matches`] does.
fn glob_passes(pattern: &Wildcard, user: &User) -> bool {
    [
        Some(user.login.as_ref()),
        user.name.as_deref(),
        user.email.as_deref(),
    ]
    .into_iter()
    .flatten()
    .any(|text| pattern.matches(&text.to_lowercase()))
}

/// The users an ArcGIS glob matches, from the text dictionaries
/// ([`userql_directory::index::Indexes::wildcard`]) instead of checking every candidate's record:
/// exact for each row whose values fold to their plain lowercase and whose record the indexes
/// describe. The others — values with irregular whitespace or case
/// ([`userql_directory::index::Indexes::unlowered`]) and rows changed since the build — are
/// checked on the record. Returns the rows and how they were found.
fn glob_rows(snapshot: &Snapshot, filter: &str) -> (RoaringBitmap, GlobPath) {
    let pattern = glob(filter);
    let index = &snapshot.index;
    let mut rows = RoaringBitmap::new();
    let mut unsure = (*snapshot.dirty).clone();
    let mut paths = Vec::with_capacity(GLOB_FIELDS.len());
    for (field, name) in GLOB_FIELDS {
        let (matching, path) = index.wildcard(field, &pattern);
        rows |= matching;
        unsure |= index.unlowered(field);
        paths.push((name, path));
    }
    rows -= &unsure;
    let users = &snapshot.model.users;
    for row in &unsure {
        if users.is_live(row) && glob_passes(&pattern, &users[row as usize]) {
            rows.insert(row);
        }
    }
    let path = GlobPath {
        fields: paths,
        rechecked: unsure.len(),
    };
    (rows, path)
}

/// How a glob was answered: the path per field and how many rows were checked on their records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobPath {
    /// (field, path) for the login, the name and the primary email, in that order.
    pub fields: Vec<(&'static str, WildcardPath)>,
    /// Rows checked on their records.
    pub rechecked: u64,
}

impl std::fmt::Display for GlobPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, path) in &self.fields {
            write!(f, "{name}: {path}, ")?;
        }
        write!(f, "{} rows re-checked", self.rechecked)
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl MemorySource<'_, '_> {
    /// How the last fetched page was ordered (see [`crate::gitlab::page_path`]).
    pub fn last_path(&self) -> Option<PagePath> {
        self.path
    }

    /// How the last fetch's ArcGIS glob was answered, if it had one.
    pub fn last_glob(&self) -> Option<&GlobPath> {
        self.glob.as_ref()
    }

    /// How many rows of the last relevance-ordered fetch were in GitLab's exact-match tiers.
    pub fn last_exact_tier(&self) -> usize {
        self.exact_tier
    }

    fn offset(
        &mut self,
        rows: &RoaringBitmap,
        order: &RowOrder,
        skip: u64,
        top_n: u64,
    ) -> (Vec<Row>, PagePath) {
        let snapshot = self.call.snapshot;
        let engine_page = |keys: &[OrderKey]| {
            let (rows, strategy) = userql_engine::order::page(snapshot, rows, keys, skip, top_n);
            let path = match strategy {
                PageStrategy::Trivial => PagePath::Trivial,
                PageStrategy::Walk => PagePath::Walk,
                PageStrategy::Select | PageStrategy::FullSort => PagePath::Select,
            };
            (rows, path)
        };
        match order {
            RowOrder::Engine(keys) => engine_page(keys),
            // Numbers are unique: the index's permutation is already GitLab's order.
            RowOrder::Gitlab {
                key: GitlabKey::Number,
                desc,
            } => engine_page(&[(SortKey::Number, *desc)]),
            RowOrder::Gitlab { key, desc } => gitlab_order::page(
                snapshot,
                rows,
                *key,
                *desc,
                None,
                to_usize(skip),
                to_usize(top_n),
            ),
            RowOrder::Relevance(query) => {
                let (rows, exact, path) = gitlab_search::relevance_page(
                    snapshot,
                    rows,
                    query,
                    to_usize(skip),
                    to_usize(top_n),
                );
                self.exact_tier = exact;
                (rows, path)
            }
        }
    }

    /// A keyset page walked from the cursor's position in the order's permutation, one row
    /// more than asked to learn whether another page follows.
    fn keyset(
        &self,
        rows: &RoaringBitmap,
        order: &RowOrder,
        position: &Position,
        limit: u64,
    ) -> Result<(Vec<Row>, bool, PagePath), SourceError> {
        let RowOrder::Gitlab { key, desc } = *order else {
            return Err(
                Failure::Unsupported("keyset paging outside GitLab's orders".into()).into(),
            );
        };
        let snapshot = self.call.snapshot;
        let position = match position {
            Position::Start => None,
            Position::After(value, number) => Some((value.clone(), *number)),
            Position::AfterRow(number) => {
                let row = snapshot
                    .row_of_number(*number)
                    .ok_or(SourceError::CursorInvalid)?;
                Some((
                    KeyValue::of(&snapshot.model.users[row as usize], key),
                    *number,
                ))
            }
        };
        let limit = to_usize(limit);
        let (mut page, path) = gitlab_order::page(
            snapshot,
            rows,
            key,
            desc,
            position.as_ref(),
            0,
            limit.saturating_add(1),
        );
        let more = page.len() > limit;
        page.truncate(limit);
        Ok((page, more, path))
    }
}

impl<'a> RowSource<'a> for MemorySource<'_, 'a> {
    fn fetch(&mut self, fetch: &Fetch) -> Result<Fetched<'a>, SourceError> {
        let mut rows = match &fetch.residue.glob {
            Some(filter) => {
                let (matching, path) = glob_rows(self.call.snapshot, filter);
                self.glob = Some(path);
                // The filter holds the glob's Hub superset (or nothing): evaluated for its other
                // clauses and for the engine's bounds, then narrowed to the glob's rows.
                if fetch.filter.query.expr.is_none() {
                    matching
                } else {
                    self.rows(&fetch.filter)? & matching
                }
            }
            None => self.rows(&fetch.filter)?,
        };
        if let Some(email) = &fetch.residue.exact_public_email {
            let users = &self.call.snapshot.model.users;
            rows = rows
                .iter()
                .filter(|&r| users[r as usize].public_email.as_deref() == Some(email.as_str()))
                .collect();
        }
        let counts = fetch
            .counts
            .iter()
            .map(|request| self.rows(request).map(|rows| rows.len()))
            .collect::<Result<Vec<u64>, _>>()?;
        let (page, more, path) = match &fetch.window {
            Window::Offset { skip, top } => {
                let (page, path) = self.offset(&rows, &fetch.order, *skip, *top);
                (page, false, path)
            }
            Window::Keyset { position, limit } => {
                self.keyset(&rows, &fetch.order, position, *limit)?
            }
        };
        self.path = Some(path);
        Ok(Fetched {
            total: rows.len(),
            view: PageView::Borrowed(self.call.snapshot),
            rows: page,
            more,
            counts,
        })
    }

    fn hub(&mut self, request: &Request) -> Result<HubRows, SourceError> {
        let call = self.call;
        let page = call.engine.search(call.snapshot, request)?;
        let users = project_users(
            call.snapshot,
            &page.rows,
            page.visibility(),
            request.selection.as_ref(),
            &page.deadline,
        )?;
        let body = page_envelope(
            users,
            page.skip,
            page.top,
            page.total,
            request.selection.as_ref(),
        );
        Ok(HubRows {
            body,
            ids: page
                .rows
                .iter()
                .map(|&r| call.snapshot.model.users[r as usize].id.to_string())
                .collect(),
            total: page.total,
            visibility: page.visibility(),
        })
    }
}
