//! Raw directory → validated [`Model`]: every check of directory.md, every error collected.
//!
//! Complexity: O(total objects) with hash maps keyed by borrowed ids; the only per-user
//! allocation beyond moving the raw strings is the lowercased login for the uniqueness check.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::DateTime;

use super::blocks::Blocks;
use super::places::{Kind, Loc, Places, Style};
use super::rows::{GrantFields, Rows, UserRow};
use super::{CatalogIds, PerCatalog};
use crate::error::{LoadError, LoadErrorKind, LoadErrors};
use crate::model::{self, AccessLevel, GroupIdx, Millis, Model, OrgIdx, ServiceIdx, State};
use crate::raw;

/// Ids of objects that failed to parse: references to them are not reported again as dangling,
/// so one typo does not cascade into dozens of errors.
pub(crate) type Tolerated = HashSet<(Kind, String)>;

/// Checks a raw directory and resolves it into a [`Model`].
///
/// Used by both loaders and by tests that build directories in code. Reports every problem
/// (see [`LoadErrorKind`]); never returns a partial model.
pub fn validate(raw: raw::Directory) -> Result<Model, LoadErrors> {
    validate_with(
        Rows::from(raw),
        &Places::identity(Style::Json),
        &Tolerated::new(),
    )
}

/// Parses an RFC 3339 timestamp (any offset, optional fraction) into UTC epoch milliseconds.
pub fn parse_timestamp(text: &str) -> Result<Millis, String> {
    if let Some(millis) = utc_millis(text.as_bytes()) {
        return Ok(millis);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| e.to_string())
}

/// The common shape `YYYY-MM-DDTHH:MM:SS[.fraction]Z` without a general parser: the digits are
/// read in place and the calendar checked by chrono's date and time constructors. Anything else
/// (an offset, a lowercase `t`/`z`, a leap second, a bad date) is left to
/// `DateTime::parse_from_rfc3339`, which gives the same result or the error message.
fn utc_millis(text: &[u8]) -> Option<Millis> {
    use chrono::{NaiveDate, NaiveTime};
    fn digits(text: &[u8], range: std::ops::Range<usize>) -> Option<u32> {
        text.get(range)?.iter().try_fold(0u32, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    }
    if text.len() < 20 || text.last() != Some(&b'Z') {
        return None;
    }
    let punctuation = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if punctuation.iter().any(|&(at, byte)| text[at] != byte) {
        return None;
    }
    let fraction = &text[19..text.len() - 1];
    let millis = match fraction {
        [] => 0,
        // At most nine digits, as chrono keeps nanoseconds; the millisecond is the first three.
        [b'.', rest @ ..] if (1..=9).contains(&rest.len()) => {
            let all = digits(rest, 0..rest.len())?;
            let scale = 10u32.pow(rest.len() as u32);
            (u64::from(all) * 1000 / u64::from(scale)) as u32
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(
        digits(text, 0..4)? as i32,
        digits(text, 5..7)?,
        digits(text, 8..10)?,
    )?;
    let second = digits(text, 17..19)?;
    if second > 59 {
        return None;
    }
    let time = NaiveTime::from_hms_milli_opt(
        digits(text, 11..13)?,
        digits(text, 14..16)?,
        second,
        millis,
    )?;
    Some(date.and_time(time).and_utc().timestamp_millis())
}

/// The hasher of validation's maps: foldhash, seeded per process (ids come from the input, so
/// the seed keeps a crafted file from choosing the collisions), several times faster than SipHash
/// on short ids.
pub(crate) type IdHasher = foldhash::fast::RandomState;

/// An id → position map over borrowed ids.
pub(crate) type IdMap<'a> = HashMap<&'a str, u32, IdHasher>;

/// The live store's map of user id → row (owned ids: it outlives every batch).
pub(crate) type UserIds = HashMap<String, u32, IdHasher>;

/// Id → position maps over borrowed ids, one per referenceable kind.
#[derive(Default, Clone)]
pub(crate) struct Tables<'a> {
    pub catalog: PerCatalog<IdMap<'a>>,
    pub users: IdMap<'a>,
    /// The live store's catalog maps, consulted for a catalog id the tables above do not
    /// hold (so a batch maps only what it adds or deletes, never the whole catalog).
    pub base: Option<&'a CatalogIds>,
    /// The live store's user ids (live users of the batch's base model), consulted for a user
    /// id `users` does not hold: a batch maps only the users it adds or deletes, so a sign-in
    /// costs one lookup here instead of a map built per batch.
    pub base_users: Option<&'a UserIds>,
}

impl<'a> Tables<'a> {
    fn table(&self, kind: Kind) -> Option<&IdMap<'a>> {
        match kind {
            Kind::User => Some(&self.users),
            _ => self.catalog.get(kind),
        }
    }

    /// `kind`'s own table (no [`Tables::base`]), to register or hide ids (`None` for grants).
    pub(crate) fn table_mut(&mut self, kind: Kind) -> Option<&mut IdMap<'a>> {
        match kind {
            Kind::User => Some(&mut self.users),
            _ => self.catalog.get_mut(kind),
        }
    }

    /// The position of `id` in `kind`'s table, falling back to [`Tables::base`]; an entry
    /// [`Tables::DELETED`] hides the base's (a catalog object deleted by the batch).
    pub(crate) fn get(&self, kind: Kind, id: &str) -> Option<u32> {
        match self.table(kind)?.get(id) {
            Some(&Tables::DELETED) => None,
            Some(&at) => Some(at),
            None if kind == Kind::User => self.base_users.and_then(|ids| ids.get(id).copied()),
            None => self.base.and_then(|base| base.get(kind, id)),
        }
    }

    /// The table entry of an id deleted in a batch (see [`Tables::get`]).
    pub(crate) const DELETED: u32 = u32::MAX;

    /// Maps over the tables of an already valid model.
    #[allow(dead_code)]
    pub(crate) fn of_model(model: &'a Model) -> Tables<'a> {
        Tables::of_model_with_users(model, true)
    }

    fn of_model_with_users(model: &'a Model, with_users: bool) -> Tables<'a> {
        fn map<'m, T: 'm>(
            items: impl IntoIterator<Item = &'m T>,
            id: impl Fn(&'m T) -> &'m str,
        ) -> IdMap<'m> {
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| (id(item), i as u32))
                .collect()
        }
        Tables {
            catalog: PerCatalog {
                services: map(&model.services, |s| s.id.as_str()),
                permissions: map(&model.permissions, |s| s.id.as_str()),
                roles: map(&model.roles, |s| s.id.as_str()),
                organizations: map(&model.organizations, |s| s.id.as_str()),
                projects: map(&model.projects, |s| s.id.as_str()),
                groups: map(&model.groups, |s| s.id.as_str()),
                teams: map(&model.teams, |s| s.id.as_str()),
            },
            users: if with_users {
                model
                    .users
                    .iter()
                    .map(|(row, u)| (u.id.as_ref(), row))
                    .collect()
            } else {
                IdMap::default()
            },
            base: None,
            base_users: None,
        }
    }
}

/// Collects errors and resolves references; shared by [`validate`] and the store.
pub(crate) struct Checker<'p> {
    pub places: &'p Places,
    pub tolerated: &'p Tolerated,
    pub errors: Vec<LoadError>,
}

impl<'p> Checker<'p> {
    pub(crate) fn new(places: &'p Places, tolerated: &'p Tolerated) -> Checker<'p> {
        Checker {
            places,
            tolerated,
            errors: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, loc: Loc<'_>, field: Option<String>, kind: LoadErrorKind) {
        let place = self.places.render(loc);
        self.errors.push(LoadError::new(place, field, kind));
    }

    /// Resolves `id` in `target`'s table, reporting a dangling reference (unless tolerated).
    pub(crate) fn resolve(
        &mut self,
        tables: &Tables<'_>,
        loc: Loc<'_>,
        field: impl FnOnce() -> String,
        target: Kind,
        id: &str,
    ) -> Option<u32> {
        let found = tables.get(target, id);
        if found.is_none() && !self.tolerated.contains(&(target, id.to_owned())) {
            self.error(
                loc,
                Some(field()),
                LoadErrorKind::Dangling {
                    target: target.singular(),
                    id: id.to_owned(),
                },
            );
        }
        found
    }

    fn time(&mut self, loc: Loc<'_>, field: &str, text: &str) -> Millis {
        match parse_timestamp(text) {
            Ok(ms) => ms,
            Err(reason) => {
                self.error(
                    loc,
                    Some(field.to_owned()),
                    LoadErrorKind::BadTimestamp {
                        value: text.to_owned(),
                        reason,
                    },
                );
                0
            }
        }
    }

    fn opt_time(&mut self, loc: Loc<'_>, field: &str, text: Option<&str>) -> Option<Millis> {
        text.map(|t| self.time(loc, field, t))
    }

    fn non_empty(&mut self, loc: Loc<'_>, field: &str, value: &str) {
        if value.is_empty() {
            self.error(loc, Some(field.to_owned()), LoadErrorKind::Empty);
        }
    }

    pub(crate) fn finish<T>(self, value: T) -> Result<T, LoadErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(LoadErrors::new(self.errors))
        }
    }
}

/// Below this many items one thread does the work: a thread costs more than it saves.
const MIN_PARALLEL_ITEMS: usize = 1 << 14;

/// Runs `work` on every row (with its index), consuming the rows: the blocks are cut into one run
/// per core, each run checked on its own thread with its own error list, each block freed as soon
/// as its rows are done. Results and errors are concatenated in row order, so the outcome — the
/// values and every error message in order — is the serial one.
fn in_parallel<T: Send, R: Send>(
    checker: &mut Checker<'_>,
    rows: Blocks<T>,
    work: impl Fn(&mut Checker<'_>, usize, T) -> Option<R> + Sync,
) -> Vec<R> {
    fn run<T, R>(
        checker: &mut Checker<'_>,
        (first, blocks): (usize, Vec<Vec<T>>),
        work: &impl Fn(&mut Checker<'_>, usize, T) -> Option<R>,
        values: &mut Vec<R>,
    ) {
        let mut index = first;
        for block in blocks {
            for row in block {
                values.extend(work(checker, index, row));
                index += 1;
            }
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut all = Vec::with_capacity(rows.len());
    if threads < 2 || rows.len() < MIN_PARALLEL_ITEMS {
        for piece in rows.into_runs(1) {
            run(checker, piece, &work, &mut all);
        }
        return all;
    }
    let (places, tolerated) = (checker.places, checker.tolerated);
    let pieces: Vec<(Vec<R>, Vec<LoadError>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .into_runs(threads)
            .into_iter()
            .map(|piece| {
                let work = &work;
                scope.spawn(move || {
                    let mut local = Checker::new(places, tolerated);
                    let mut values = Vec::new();
                    run(&mut local, piece, work, &mut values);
                    (values, local.errors)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    for (values, errors) in pieces {
        all.extend(values);
        checker.errors.extend(errors);
    }
    all
}

/// Builds an id table for one kind, reporting empty and duplicate ids (the first one wins).
fn id_table<'a, T: 'a>(
    checker: &mut Checker<'_>,
    kind: Kind,
    items: impl IntoIterator<Item = &'a T, IntoIter: ExactSizeIterator>,
    id: impl Fn(&'a T) -> &'a str,
) -> IdMap<'a> {
    let items = items.into_iter();
    let mut table = IdMap::with_capacity_and_hasher(items.len(), IdHasher::default());
    for (index, item) in items.enumerate() {
        let key = id(item);
        let loc = Loc {
            kind,
            index,
            id: key,
        };
        if key.is_empty() {
            checker.error(loc, Some("id".to_owned()), LoadErrorKind::Empty);
            continue;
        }
        if let Some(&first) = table.get(key) {
            let first = checker.places.render(Loc {
                kind,
                index: first as usize,
                id: key,
            });
            checker.error(
                loc,
                Some("id".to_owned()),
                LoadErrorKind::DuplicateId {
                    id: key.to_owned(),
                    first,
                },
            );
        } else {
            table.insert(key, index as u32);
        }
    }
    table
}

/// `validate` with a place renderer (JSON, NDJSON lines) and ids of objects that failed to parse.
pub(crate) fn validate_with(
    rows: Rows<'_>,
    places: &Places,
    tolerated: &Tolerated,
) -> Result<Model, LoadErrors> {
    let mut checker = Checker::new(places, tolerated);
    let Rows {
        rest:
            raw::Directory {
                format,
                services,
                permissions,
                roles,
                organizations,
                projects,
                groups,
                teams,
                grants: _,
                users: _,
            },
        grants,
        users,
    } = rows;
    if format != raw::FORMAT {
        checker.errors.push(LoadError::new(
            "document",
            Some("format".to_owned()),
            LoadErrorKind::BadFormat { found: format },
        ));
    }

    let tables = Tables {
        catalog: PerCatalog {
            services: id_table(&mut checker, Kind::Service, &services, |s| &s.id),
            permissions: id_table(&mut checker, Kind::Permission, &permissions, |s| &s.id),
            roles: id_table(&mut checker, Kind::Role, &roles, |s| &s.id),
            organizations: id_table(&mut checker, Kind::Organization, &organizations, |s| &s.id),
            projects: id_table(&mut checker, Kind::Project, &projects, |s| &s.id),
            groups: id_table(&mut checker, Kind::Group, &groups, |s| &s.id),
            teams: id_table(&mut checker, Kind::Team, &teams, |s| &s.id),
        },
        users: IdMap::default(),
        base: None,
        base_users: None,
    };

    let model_roles = resolve_roles(&mut checker, &tables, &roles);
    let model_projects = resolve_projects(&mut checker, &tables, &projects);
    let model_groups = resolve_groups(&mut checker, &tables, &groups);
    // Teams and grants refer to users by id: resolve them while the user table borrows `users`,
    // before the users are consumed (their strings moved into the model).
    let (model_teams, model_grants) = {
        let with_users = Tables {
            users: id_table(&mut checker, Kind::User, users.iter(), |s| &s.id),
            ..tables.clone()
        };
        let model_teams = resolve_teams(&mut checker, &with_users, &teams);
        let model_grants = in_parallel(&mut checker, grants, |checker, index, grant| {
            resolve_grant(checker, &with_users, index, &grant)
        });
        (model_teams, model_grants)
    };
    let numbers = user_numbers(&mut checker, &users);
    check_logins(&mut checker, &users);

    let model_users = in_parallel(&mut checker, users, |checker, index, user| {
        let (number, explicit) = numbers[index];
        convert_row(checker, &tables, index, user, number, explicit)
            .map(|(user, last_access)| (Arc::new(user), last_access))
    });
    drop(tables);

    let model = Model {
        services: services
            .into_iter()
            .map(|s| model::Service {
                id: s.id,
                name: s.name,
            })
            .collect(),
        permissions: permissions
            .into_iter()
            .map(|p| model::Permission {
                id: p.id,
                name: p.name,
            })
            .collect::<Vec<_>>()
            .into(),
        roles: model_roles.into(),
        organizations: organizations
            .into_iter()
            .map(|o| model::Organization {
                id: o.id,
                name: o.name,
            })
            .collect::<Vec<_>>()
            .into(),
        projects: model_projects.into(),
        groups: model_groups.into(),
        teams: model_teams.into(),
        grants: model_grants.into(),
        users: model::Users::from_shared(model_users),
    };
    checker.finish(model)
}

fn resolve_roles(
    checker: &mut Checker<'_>,
    tables: &Tables<'_>,
    roles: &[raw::Role],
) -> Vec<model::Role> {
    roles
        .iter()
        .enumerate()
        .map(|(index, role)| {
            let loc = Loc {
                kind: Kind::Role,
                index,
                id: &role.id,
            };
            let permissions = role
                .permissions
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    checker
                        .resolve(
                            tables,
                            loc,
                            || format!("permissions[{i}]"),
                            Kind::Permission,
                            p,
                        )
                        .map(model::PermissionIdx)
                })
                .collect();
            model::Role {
                id: role.id.clone(),
                name: role.name.clone(),
                permissions,
            }
        })
        .collect()
}

fn resolve_projects(
    checker: &mut Checker<'_>,
    tables: &Tables<'_>,
    projects: &[raw::Project],
) -> Vec<model::Project> {
    projects
        .iter()
        .enumerate()
        .map(|(index, project)| {
            let loc = Loc {
                kind: Kind::Project,
                index,
                id: &project.id,
            };
            let organization = project.organization.as_deref().and_then(|o| {
                checker
                    .resolve(
                        tables,
                        loc,
                        || "organization".to_owned(),
                        Kind::Organization,
                        o,
                    )
                    .map(OrgIdx)
            });
            model::Project {
                id: project.id.clone(),
                name: project.name.clone(),
                key: project.key.clone(),
                organization,
            }
        })
        .collect()
}

fn resolve_groups(
    checker: &mut Checker<'_>,
    tables: &Tables<'_>,
    groups: &[raw::Group],
) -> Vec<model::Group> {
    let resolved: Vec<model::Group> = groups
        .iter()
        .enumerate()
        .map(|(index, group)| {
            let loc = Loc {
                kind: Kind::Group,
                index,
                id: &group.id,
            };
            let parent = group.parent.as_deref().and_then(|p| {
                checker
                    .resolve(tables, loc, || "parent".to_owned(), Kind::Group, p)
                    .map(GroupIdx)
            });
            model::Group {
                id: group.id.clone(),
                name: group.name.clone(),
                parent,
            }
        })
        .collect();
    report_cycles(checker, &resolved);
    resolved
}

/// Finds every cycle through `parent` (each reported once, by its first group in file order).
fn report_cycles(checker: &mut Checker<'_>, groups: &[model::Group]) {
    const UNSEEN: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut color = vec![UNSEEN; groups.len()];
    let mut path = Vec::new();
    for start in 0..groups.len() {
        if color[start] != UNSEEN {
            continue;
        }
        path.clear();
        let mut current = Some(start);
        while let Some(g) = current {
            match color[g] {
                UNSEEN => {
                    color[g] = ON_PATH;
                    path.push(g);
                    current = groups[g].parent.map(GroupIdx::index);
                }
                ON_PATH => {
                    let begin = path.iter().position(|&p| p == g).unwrap_or(0);
                    let cycle = &path[begin..];
                    let first = cycle.iter().copied().min().unwrap_or(g);
                    let rotate = cycle.iter().position(|&p| p == first).unwrap_or(0);
                    let ids: Vec<String> = cycle[rotate..]
                        .iter()
                        .chain(&cycle[..rotate])
                        .map(|&i| groups[i].id.clone())
                        .collect();
                    checker.error(
                        Loc {
                            kind: Kind::Group,
                            index: first,
                            id: &groups[first].id,
                        },
                        Some("parent".to_owned()),
                        LoadErrorKind::GroupCycle { ids },
                    );
                    current = None;
                }
                _ => current = None,
            }
        }
        for &g in &path {
            color[g] = DONE;
        }
    }
}

fn resolve_teams(
    checker: &mut Checker<'_>,
    tables: &Tables<'_>,
    teams: &[raw::Team],
) -> Vec<model::Team> {
    teams
        .iter()
        .enumerate()
        .map(|(index, team)| {
            let loc = Loc {
                kind: Kind::Team,
                index,
                id: &team.id,
            };
            let project = team.project.as_deref().and_then(|p| {
                checker
                    .resolve(tables, loc, || "project".to_owned(), Kind::Project, p)
                    .map(model::ProjectIdx)
            });
            let users = team
                .users
                .iter()
                .enumerate()
                .filter_map(|(i, u)| {
                    checker.resolve(tables, loc, || format!("users[{i}]"), Kind::User, u)
                })
                .collect();
            let groups = team
                .groups
                .iter()
                .enumerate()
                .filter_map(|(i, g)| {
                    checker
                        .resolve(tables, loc, || format!("groups[{i}]"), Kind::Group, g)
                        .map(GroupIdx)
                })
                .collect();
            model::Team {
                id: team.id.clone(),
                name: team.name.clone(),
                project,
                users,
                groups,
            }
        })
        .collect()
}

/// Resolves one grant; `index` is its position (in the file, or in an update batch).
pub(crate) fn resolve_grant(
    checker: &mut Checker<'_>,
    tables: &Tables<'_>,
    index: usize,
    grant: &impl GrantFields,
) -> Option<model::Grant> {
    let loc = Loc {
        kind: Kind::Grant,
        index,
        id: grant.role(),
    };
    let errors_before = checker.errors.len();
    let role = checker.resolve(tables, loc, || "role".to_owned(), Kind::Role, grant.role());

    let mut found = Vec::new();
    let mut subject = None;
    if let Some(user) = grant.user() {
        found.push("user");
        subject = checker
            .resolve(tables, loc, || "user".to_owned(), Kind::User, user)
            .map(model::Subject::User);
    }
    if let Some(group) = grant.group() {
        found.push("group");
        subject = checker
            .resolve(tables, loc, || "group".to_owned(), Kind::Group, group)
            .map(|g| model::Subject::Group(GroupIdx(g)));
    }
    if let Some(team) = grant.team() {
        found.push("team");
        subject = checker
            .resolve(tables, loc, || "team".to_owned(), Kind::Team, team)
            .map(|t| model::Subject::Team(model::TeamIdx(t)));
    }
    if found.len() != 1 {
        checker.error(loc, None, LoadErrorKind::GrantSubjects { found });
    }

    let mut scope = Some(model::Scope::Global);
    if grant.project().is_some() && grant.organization().is_some() {
        checker.error(loc, None, LoadErrorKind::GrantScope);
    }
    if let Some(project) = grant.project() {
        scope = checker
            .resolve(tables, loc, || "project".to_owned(), Kind::Project, project)
            .map(|p| model::Scope::Project(model::ProjectIdx(p)));
    } else if let Some(org) = grant.organization() {
        scope = checker
            .resolve(
                tables,
                loc,
                || "organization".to_owned(),
                Kind::Organization,
                org,
            )
            .map(|o| model::Scope::Organization(OrgIdx(o)));
    }
    if checker.errors.len() != errors_before {
        return None;
    }
    Some(model::Grant {
        role: model::RoleIdx(role?),
        subject: subject?,
        scope: scope?,
    })
}

/// Each user's number and whether it was explicit, reporting non-positive, duplicate and
/// colliding-default numbers.
fn user_numbers(checker: &mut Checker<'_>, users: &Blocks<UserRow<'_>>) -> Vec<(u64, bool)> {
    let mut explicit: HashMap<u64, usize, IdHasher> = HashMap::default();
    let mut numbers = Vec::with_capacity(users.len());
    for (index, user) in users.iter().enumerate() {
        let loc = Loc {
            kind: Kind::User,
            index,
            id: &user.id,
        };
        match user.number {
            Some(n) if n <= 0 => {
                checker.error(
                    loc,
                    Some("number".to_owned()),
                    LoadErrorKind::NumberNotPositive { value: n },
                );
                numbers.push((0, true));
            }
            Some(n) => {
                let n = n as u64;
                if let Some(&first) = explicit.get(&n) {
                    let first = checker.places.render(Loc {
                        kind: Kind::User,
                        index: first,
                        id: users.get(first).map_or("", |u| &u.id),
                    });
                    checker.error(
                        loc,
                        Some("number".to_owned()),
                        LoadErrorKind::DuplicateNumber { number: n, first },
                    );
                } else {
                    explicit.insert(n, index);
                }
                numbers.push((n, true));
            }
            None => numbers.push((index as u64 + 1, false)),
        }
    }
    if !explicit.is_empty() {
        for (index, user) in users.iter().enumerate() {
            if user.number.is_some() {
                continue;
            }
            let number = index as u64 + 1;
            if let Some(&other) = explicit.get(&number) {
                let other = checker.places.render(Loc {
                    kind: Kind::User,
                    index: other,
                    id: users.get(other).map_or("", |u| &u.id),
                });
                checker.error(
                    Loc {
                        kind: Kind::User,
                        index,
                        id: &user.id,
                    },
                    Some("number".to_owned()),
                    LoadErrorKind::DefaultNumberTaken { number, other },
                );
            }
        }
    }
    numbers
}

fn check_logins(checker: &mut Checker<'_>, users: &Blocks<UserRow<'_>>) {
    let mut seen: HashMap<Cow<'_, str>, usize, IdHasher> =
        HashMap::with_capacity_and_hasher(users.len(), IdHasher::default());
    for (index, user) in users.iter().enumerate() {
        if user.login.is_empty() {
            continue; // reported by convert_user
        }
        // Most logins are lowercase already: only the others are copied.
        let lowercase_ascii = user
            .login
            .bytes()
            .all(|b| b.is_ascii() && !b.is_ascii_uppercase());
        let key = if lowercase_ascii {
            Cow::Borrowed(user.login.as_str())
        } else {
            Cow::Owned(user.login.to_lowercase())
        };
        match seen.entry(key) {
            std::collections::hash_map::Entry::Occupied(first) => {
                let first_index = *first.get();
                let first = checker.places.render(Loc {
                    kind: Kind::User,
                    index: first_index,
                    id: users.get(first_index).map_or("", |u| &u.id),
                });
                checker.error(
                    Loc {
                        kind: Kind::User,
                        index,
                        id: &user.id,
                    },
                    Some("login".to_owned()),
                    LoadErrorKind::DuplicateLogin {
                        login: user.login.clone(),
                        first,
                    },
                );
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(index);
            }
        }
    }
}

/// Resolves one user's references and parses its values: the record, and its last access
/// (kept beside the records, [`model::Users::last_access`]). Returns `None` only if an error
/// was recorded (the caller then discards the whole model anyway).
pub(crate) fn convert_user(
    checker: &mut Checker<'_>,
    tables: &Tables<'_>,
    index: usize,
    user: raw::User,
    number: u64,
    number_explicit: bool,
) -> Option<(model::User, model::OptionalMillis)> {
    let row = UserRow::from(user);
    convert_row(checker, tables, index, row, number, number_explicit)
}

/// [`convert_user`] for a row (borrowed references and timestamps).
fn convert_row(
    checker: &mut Checker<'_>,
    tables: &Tables<'_>,
    index: usize,
    user: UserRow<'_>,
    number: u64,
    number_explicit: bool,
) -> Option<(model::User, model::OptionalMillis)> {
    let errors_before = checker.errors.len();
    let UserRow {
        id,
        number: _,
        login,
        name,
        email,
        email_verified,
        public_email,
        emails,
        state,
        admin,
        guest,
        user_type,
        external,
        two_factor,
        two_factor_capable,
        created_at,
        updated_at,
        last_access_at,
        last_sign_in_at,
        confirmed_at,
        ban,
        auth,
        ssh_keys,
        licenses,
        vcs_user_names,
        origin_service,
        refresh_token,
        permanent_token,
        approved_resource,
        accepted_eua,
        groups,
        organizations,
        enterprise_group,
        profile,
    } = user;
    let loc = Loc {
        kind: Kind::User,
        index,
        id: &id,
    };
    checker.non_empty(loc, "id", &id);
    checker.non_empty(loc, "login", &login);

    let state = match state.as_deref() {
        None => State::Active,
        Some(text) => State::parse(text).unwrap_or_else(|| {
            checker.error(
                loc,
                Some("state".to_owned()),
                LoadErrorKind::BadState {
                    value: text.to_owned(),
                },
            );
            State::Active
        }),
    };
    let created_at = checker.time(loc, "created_at", &created_at);
    let updated_at = checker.opt_time(loc, "updated_at", updated_at.as_deref());
    let last_access_at = checker.opt_time(loc, "last_access_at", last_access_at.as_deref());
    let last_sign_in_at = checker.opt_time(loc, "last_sign_in_at", last_sign_in_at.as_deref());
    let confirmed_at = checker.opt_time(loc, "confirmed_at", confirmed_at.as_deref());
    let ban = ban.map(|b| model::Ban {
        at: checker.opt_time(loc, "ban.at", b.at.as_deref()),
        status: b.status,
        reason: b.reason,
    });

    let licenses = licenses
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            checker
                .resolve(tables, loc, || format!("licenses[{i}]"), Kind::Service, s)
                .map(ServiceIdx)
        })
        .collect();
    let origin_service = origin_service.as_deref().and_then(|s| {
        checker
            .resolve(
                tables,
                loc,
                || "origin_service".to_owned(),
                Kind::Service,
                s,
            )
            .map(ServiceIdx)
    });
    let groups = groups
        .iter()
        .enumerate()
        .filter_map(|(i, g)| {
            let group = checker.resolve(tables, loc, || format!("groups[{i}]"), Kind::Group, &g.id);
            let access = match g.access.as_deref() {
                None => None,
                Some(text) => {
                    let level = AccessLevel::parse(text);
                    if level.is_none() {
                        checker.error(
                            loc,
                            Some(format!("groups[{i}].access")),
                            LoadErrorKind::BadAccess {
                                value: text.to_owned(),
                            },
                        );
                    }
                    level
                }
            };
            group.map(|g| model::Membership {
                group: GroupIdx(g),
                access,
            })
        })
        .collect();
    let organizations = organizations
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            checker
                .resolve(
                    tables,
                    loc,
                    || format!("organizations[{i}]"),
                    Kind::Organization,
                    o,
                )
                .map(OrgIdx)
        })
        .collect();
    let enterprise_group = enterprise_group.as_deref().and_then(|g| {
        checker
            .resolve(
                tables,
                loc,
                || "enterprise_group".to_owned(),
                Kind::Group,
                g,
            )
            .map(GroupIdx)
    });
    if checker.errors.len() != errors_before {
        return None;
    }

    let user = model::User {
        id: id.into(),
        number,
        number_explicit,
        login: login.into(),
        name: name.map(Into::into),
        email: email.map(Into::into),
        email_verified,
        public_email: public_email.map(Into::into),
        emails: emails.into(),
        state,
        admin,
        guest,
        user_type: model::shared_user_type(user_type.as_deref().unwrap_or("human")),
        external,
        two_factor,
        two_factor_capable,
        created_at,
        updated_at: updated_at.into(),
        last_sign_in_at: last_sign_in_at.into(),
        confirmed_at: confirmed_at.into(),
        ban: ban.map(Box::new),
        auth: auth
            .iter()
            .map(|a| model::AuthDetailRef {
                module: &a.module,
                module_name: a.module_name.as_deref(),
                login: a.login.as_deref(),
                name: a.name.as_deref(),
                email: a.email.as_deref(),
                uid: a.uid.as_deref(),
                saml_provider_id: a.saml_provider_id.as_deref(),
            })
            .collect(),
        ssh_keys: ssh_keys
            .iter()
            .map(|k| model::SshKeyRef {
                title: k.title.as_deref(),
                key: &k.key,
                fingerprint: k.fingerprint.as_deref(),
            })
            .collect(),
        licenses,
        vcs_user_names: vcs_user_names.into(),
        origin_service,
        refresh_token,
        permanent_token,
        approved_resource,
        accepted_eua,
        groups,
        organizations,
        enterprise_group,
        profile: profile.into(),
    };
    Some((user, last_access_at.into()))
}

#[cfg(test)]
mod tests {
    use super::{in_parallel, parse_timestamp, utc_millis, Blocks, Checker, MIN_PARALLEL_ITEMS};
    use crate::error::LoadErrorKind;
    use crate::load::places::{Kind, Loc, Places, Style};
    use crate::load::Tolerated;
    use chrono::DateTime;
    use proptest::prelude::*;

    fn chrono_millis(text: &str) -> Option<i64> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.timestamp_millis())
    }

    #[test]
    fn the_fast_path_agrees_with_chrono_on_edge_cases() {
        for text in [
            "2023-01-24T19:07:33.194Z",
            "2023-01-24T19:07:33Z",
            "2023-01-24T19:07:33.1Z",
            "2023-01-24T19:07:33.123456789Z",
            "1969-12-31T23:59:59.999Z",
            "0000-01-01T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-01-01T24:00:00Z",
            "2023-01-01T23:60:00Z",
            "2016-12-31T23:59:60Z",
            "2023-01-01T00:00:00.Z",
            "2023-01-01T00:00:00.1234567891Z",
            "2023-01-01t00:00:00z",
            "2023-01-01 00:00:00Z",
            "2023-01-01T00:00:00+02:00",
            "2023-1-01T00:00:00Z",
            "+023-01-01T00:00:00Z",
            "2023-01-01T00:00:0aZ",
        ] {
            if let Some(fast) = utc_millis(text.as_bytes()) {
                assert_eq!(Some(fast), chrono_millis(text), "{text}");
            }
            assert_eq!(parse_timestamp(text).ok(), chrono_millis(text), "{text}");
        }
        assert!(utc_millis(b"2023-01-24T19:07:33.194Z").is_some());
    }

    /// Values and errors come out in item order whether the items are checked on one thread or
    /// cut into pieces, so error messages never depend on the number of cores.
    #[test]
    fn parallel_checks_keep_the_serial_order() {
        let places = Places::identity(Style::Json);
        let tolerated = Tolerated::new();
        let loc = |index| Loc {
            kind: Kind::User,
            index,
            id: "u",
        };
        let run = |count: usize| {
            let mut checker = Checker::new(&places, &tolerated);
            let items: Blocks<usize> = (0..count).collect();
            let values = in_parallel(&mut checker, items, |checker, index, item: usize| {
                assert_eq!(index, item);
                if index % 7_919 == 3 {
                    checker.error(loc(index), None, LoadErrorKind::Empty);
                    return None;
                }
                Some(item * 2)
            });
            let errors: Vec<String> = checker.errors.iter().map(|e| e.place.clone()).collect();
            (values, errors)
        };
        let count = MIN_PARALLEL_ITEMS * 3 + 5;
        let (values, errors) = run(count);
        let expected: Vec<usize> = (0..count)
            .filter(|i| i % 7_919 != 3)
            .map(|i| i * 2)
            .collect();
        assert_eq!(values, expected);
        let expected: Vec<String> = (0..count)
            .filter(|i| i % 7_919 == 3)
            .map(|i| places.render(loc(i)))
            .collect();
        assert_eq!(errors, expected);
    }

    proptest! {
        #[test]
        fn the_fast_path_agrees_with_chrono(
            year in 0u32..10000, month in 0u32..14, day in 0u32..33, hour in 0u32..26,
            minute in 0u32..62, second in 0u32..62, fraction in "(\\.[0-9]{0,11})?",
        ) {
            let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}Z");
            prop_assert_eq!(parse_timestamp(&text).ok(), chrono_millis(&text), "{}", text);
        }
    }
}
