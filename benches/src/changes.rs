//! The changes workload of benchmark.md (section Changes): a seeded change stream applied to
//! userql's live store and, as the same changes written as SQL, to SQLite over its indexes
//! (one transaction per batch), each with per-kind apply times, while a reader thread keeps
//! answering a query on userql.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use userql_directory::changes::{Change, EntityKind, Object, Target};
use userql_directory::generate::GEN_NOW_MS;
use userql_directory::load::parse_timestamp;
use userql_directory::model::Model;
use userql_directory::raw;
use userql_directory::store::{Backpressure, Store};
use userql_engine::{Engine, Request, Viewer};

use crate::error::BenchError;
use crate::measure::Samples;
use crate::peers::sqlite::Database;

pub mod large_group;

/// Puts and deletes of grants to the large group ([`large_group`]) applied after the stream.
pub const LARGE_GROUP_PAIRS: usize = 15;

/// The benchmark's name for the kind of a change (one row of the per-kind table).
pub fn kind_of(change: &Change) -> &'static str {
    match change {
        Change::Touch { .. } => "touch",
        Change::Patch {
            kind: EntityKind::User,
            ..
        } => "patch user",
        Change::Put(Object::Membership(_)) => "membership put",
        Change::Delete(Target::Membership(_)) => "membership delete",
        Change::Put(Object::Grant(g)) | Change::Delete(Target::Grant(g)) => {
            let put = matches!(change, Change::Put(_));
            match (put, g.user.is_some(), g.group.is_some()) {
                (true, true, _) => "grant put (user)",
                (true, _, true) => "grant put (group)",
                (true, _, _) => "grant put (team)",
                (false, true, _) => "grant delete (user)",
                (false, _, true) => "grant delete (group)",
                (false, _, _) => "grant delete (team)",
            }
        }
        Change::Put(Object::User(_)) => "new user",
        Change::Delete(Target::Entity {
            kind: EntityKind::User,
            ..
        }) => "delete user",
        _ => "catalog",
    }
}

/// Apply times per change kind, for one peer.
#[derive(Debug, Default)]
pub struct PerKind {
    /// Kind → the time of each apply (batch of one).
    pub times: BTreeMap<&'static str, Vec<Duration>>,
    /// Wall time of the whole stream.
    pub elapsed: Duration,
    /// Changes applied.
    pub changes: usize,
    /// Batches that waited for the store's background compaction, and how long (userql only).
    pub backpressure: Backpressure,
}

impl PerKind {
    /// Adds `other`'s times per kind (the count of changes, the elapsed time and the rate stay
    /// this run's: they describe the stream).
    pub fn merge(&mut self, other: PerKind) {
        for (kind, times) in other.times {
            self.times.entry(kind).or_default().extend(times);
        }
    }

    /// Single-change batches per second over the whole stream.
    pub fn rate(&self) -> f64 {
        self.changes as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// (kind, count, median, p99, max) rows.
    pub fn rows(&self) -> Vec<(&'static str, usize, Duration, Duration, Duration)> {
        self.times
            .iter()
            .map(|(kind, times)| {
                let samples = Samples {
                    times: times.clone(),
                };
                let max = times.iter().max().copied().unwrap_or_default();
                (*kind, times.len(), samples.median(), samples.p99(), max)
            })
            .collect()
    }
}

/// Index heap bytes (the sum of [`userql_directory::index::Indexes::stats`]) of the live store
/// after the stream, and of indexes built from scratch for the same resulting directory.
#[derive(Debug, Clone, Copy)]
pub struct Footprint {
    /// The live snapshot's indexes (parts updated in place, plus the overlay's base).
    pub live: u64,
    /// A fresh build over the final model.
    pub fresh: u64,
}

fn index_bytes(index: &userql_directory::index::Indexes) -> u64 {
    index.stats().iter().map(|s| s.bytes).sum()
}

/// One read of the reader thread during the stream, with what its snapshot carried (to tell
/// what a slow read paid for).
#[derive(Debug, Clone, Copy)]
pub struct ReadTrace {
    /// The whole read.
    pub time: Duration,
    /// The snapshot's version.
    pub version: u64,
    /// Rows the read checked one by one (described by neither the base indexes nor the delta
    /// level).
    pub dirty: u64,
    /// Of [`ReadTrace::time`], how long the reader thread was runnable but waited for a core
    /// (Linux's `/proc/thread-self/schedstat`; zero where it cannot be read): on two cores the
    /// writer, a background compaction and the reader are three threads, and a read that is
    /// preempted waits a scheduler slice whatever the read itself costs.
    pub waited: Duration,
}

/// The calling thread's time spent waiting on a run queue so far (the second field of
/// `/proc/thread-self/schedstat`, in nanoseconds), if the system reports it.
pub fn run_queue_wait() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let waited = stat.split_whitespace().nth(1)?.parse::<u64>().ok()?;
    Some(Duration::from_nanos(waited))
}

/// What a run of [`userql_stream`] measured.
#[derive(Debug)]
pub struct StreamRun {
    /// Apply times per kind, the large group's grants included.
    pub per_kind: PerKind,
    /// The reader's reads during the stream.
    pub traces: Vec<ReadTrace>,
    /// Index heap after the stream versus a fresh build.
    pub footprint: Footprint,
    /// The large group's grants ([`large_group::grants`]), as applied after the stream: the
    /// same changes for the other peers.
    pub large: Vec<Change>,
    /// The large group's id and transitive members after the stream.
    pub large_group: Option<(String, u64)>,
}

/// userql: each change its own batch through [`Store::apply_changes`], then
/// [`LARGE_GROUP_PAIRS`] grants put to and deleted from a group with 10k+ transitive members
/// ([`large_group`]), while a reader thread answers `reader` (Hub text) in a loop; returns the
/// per-kind times, the reader's latencies, and the index footprint after the stream versus a
/// fresh build.
pub fn userql_stream(
    model: &Model,
    changes: &[Change],
    reader: &str,
    tuning: Tuning,
) -> Result<StreamRun, BenchError> {
    let store = live_store(model, tuning);
    let engine = Engine::default();
    let mut request: Request = engine
        .request(reader, Viewer::Admin)
        .map_err(|e| BenchError::Update(e.to_string()))?;
    request.now = GEN_NOW_MS;
    let stop = AtomicBool::new(false);
    let reads = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut times = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let snapshot = store.snapshot();
                let queued = run_queue_wait();
                let t = Instant::now();
                let _ = std::hint::black_box(engine.matches(&snapshot, &request));
                let time = t.elapsed();
                let waited = match (queued, run_queue_wait()) {
                    (Some(before), Some(after)) => after.saturating_sub(before).min(time),
                    _ => Duration::ZERO,
                };
                times.push(ReadTrace {
                    time,
                    version: snapshot.version,
                    dirty: snapshot.undescribed(),
                    waited,
                });
            }
            if let Ok(mut all) = reads.lock() {
                *all = times;
            }
        });
        let apply = |change: &Change| {
            store
                .apply_changes(std::slice::from_ref(change))
                .map(|_| ())
                .map_err(|e| BenchError::Update(e.to_string()))
        };
        let result = apply_all(changes, kind_of, apply).and_then(|mut per_kind| {
            let after = store.snapshot();
            let large = large_group::group(&after.model);
            let grants = large.as_ref().map_or_else(Vec::new, |(group, id, _)| {
                large_group::grants(&after.model, *group, id, LARGE_GROUP_PAIRS)
            });
            drop(after);
            per_kind.merge(apply_all(&grants, large_group::kind, apply)?);
            Ok((per_kind, grants, large.map(|(_, id, count)| (id, count))))
        });
        stop.store(true, Ordering::Relaxed);
        result
    })
    .map(|(mut per_kind, large, large_group)| {
        per_kind.backpressure = store.backpressure();
        let traces = reads.into_inner().unwrap_or_default();
        let snapshot = store.snapshot();
        let footprint = Footprint {
            live: index_bytes(&snapshot.index),
            fresh: index_bytes(&userql_directory::index::Indexes::build(&snapshot.model)),
        };
        StreamRun {
            per_kind,
            traces,
            footprint,
            large,
            large_group,
        }
    })
}

/// How the live store of a run departs from the defaults (`StoreOptions::for_users`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tuning {
    /// Rows re-checked one by one before a compaction (`--max-dirty`, to compare limits).
    pub max_dirty: Option<u64>,
    /// Compactions on the writer's path instead of a background thread (`--foreground`).
    pub foreground: bool,
}

/// A store over `model` with the default options as `tuning` changes them.
fn live_store(model: &Model, tuning: Tuning) -> Store {
    let mut options = userql_directory::store::StoreOptions::for_users(model.users.count());
    if let Some(max_dirty) = tuning.max_dirty {
        options.max_dirty = max_dirty;
    }
    if tuning.foreground {
        options.background = false;
    }
    Store::with_options(model.clone(), options)
}

/// userql: the stream in batches of `size`; returns changes per second and the batches' waits
/// for compactions.
pub fn userql_batches(
    model: &Model,
    changes: &[Change],
    size: usize,
    tuning: Tuning,
) -> Result<(f64, Backpressure), BenchError> {
    let store = live_store(model, tuning);
    let started = Instant::now();
    for batch in changes.chunks(size.max(1)) {
        store
            .apply_changes(batch)
            .map_err(|e| BenchError::Update(e.to_string()))?;
    }
    store.wait_for_rebuild();
    let rate = changes.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    Ok((rate, store.backpressure()))
}

/// The writer alone: each change its own batch, no reader and no index rebuild (the overlay
/// may grow without bound), so the per-kind times are the writer's per-batch constant.
pub fn writer_only(model: &Model, changes: &[Change]) -> Result<PerKind, BenchError> {
    let options = userql_directory::store::StoreOptions::never_compact();
    let store = Store::with_options(model.clone(), options);
    apply_all(changes, kind_of, |change| {
        store
            .apply_changes(std::slice::from_ref(change))
            .map(|_| ())
            .map_err(|e| BenchError::Update(e.to_string()))
    })
}

/// The reader's latencies on an idle store.
pub fn reader_idle(model: &Model, reader: &str, runs: usize) -> Result<Samples, BenchError> {
    let store = Store::new(model.clone());
    let engine = Engine::default();
    let mut request: Request = engine
        .request(reader, Viewer::Admin)
        .map_err(|e| BenchError::Update(e.to_string()))?;
    request.now = GEN_NOW_MS;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let snapshot = store.snapshot();
        let t = Instant::now();
        let _ = std::hint::black_box(engine.matches(&snapshot, &request));
        times.push(t.elapsed());
    }
    Ok(Samples { times })
}

/// Applies each change as its own batch, timing each under its `kind`.
fn apply_all(
    changes: &[Change],
    kind: impl Fn(&Change) -> &'static str,
    mut apply: impl FnMut(&Change) -> Result<(), BenchError>,
) -> Result<PerKind, BenchError> {
    let mut per_kind = PerKind::default();
    let started = Instant::now();
    for change in changes {
        let t = Instant::now();
        apply(change)?;
        per_kind
            .times
            .entry(kind(change))
            .or_default()
            .push(t.elapsed());
        per_kind.changes += 1;
    }
    per_kind.elapsed = started.elapsed();
    Ok(per_kind)
}

/// SQLite: each change as SQL statements in its own transaction, over the comparison
/// harness's schema and indexes (plus indexes on the id columns changes look rows up by); then
/// `large`, the large group's grants ([`StreamRun::large`]), under their own kinds.
pub fn sqlite_stream(
    model: &Model,
    changes: &[Change],
    large: &[Change],
) -> Result<PerKind, BenchError> {
    let mut database = Database::load(model)?;
    let orgs: BTreeMap<String, i64> = model
        .organizations
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id.clone(), i as i64))
        .collect();
    let conn = database.connection();
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS users_id ON users(id);
         CREATE INDEX IF NOT EXISTS projects_id ON projects(id);
         CREATE INDEX IF NOT EXISTS roles_id ON roles(id);
         CREATE INDEX IF NOT EXISTS team_grants_team ON team_grants(team, role, project);",
    )?;
    let teams: BTreeMap<String, i64> = model
        .teams
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.clone(), i as i64))
        .collect();
    let mut apply = |change: &Change| {
        let tx = conn.transaction()?;
        sql_change(&tx, change, &orgs, &teams)?;
        tx.commit()?;
        Ok(())
    };
    let mut per_kind = apply_all(changes, kind_of, &mut apply)?;
    per_kind.merge(apply_all(large, large_group::kind, apply)?);
    Ok(per_kind)
}

fn millis(text: &str) -> Option<i64> {
    parse_timestamp(text).ok()
}

const USER_ROW: &str = "(SELECT row FROM users WHERE id = ?";
const GROUP_IDX: &str = "(SELECT idx FROM groups WHERE id = ?";

/// One change as SQL (ids resolved by subqueries over indexed id columns; organizations and
/// teams, which the schema keeps only as positions, through maps built once).
fn sql_change(
    tx: &Connection,
    change: &Change,
    orgs: &BTreeMap<String, i64>,
    teams: &BTreeMap<String, i64>,
) -> Result<(), BenchError> {
    match change {
        Change::Touch { id, at } => {
            tx.prepare_cached("UPDATE users SET last_access_at = ?1 WHERE id = ?2")?
                .execute(params![millis(at), id])?;
        }
        Change::Patch {
            kind: EntityKind::User,
            id,
            set,
        } => {
            for (field, value) in set {
                let column = match field.as_str() {
                    "state" | "name" | "email" | "admin" | "two_factor" => field.as_str(),
                    _ => continue,
                };
                let value: rusqlite::types::Value = match value {
                    serde_json::Value::Bool(b) => i64::from(*b).into(),
                    serde_json::Value::String(s) => s.clone().into(),
                    _ => rusqlite::types::Value::Null,
                };
                tx.prepare_cached(&format!("UPDATE users SET {column} = ?1 WHERE id = ?2"))?
                    .execute(params![value, id])?;
            }
        }
        Change::Put(Object::Membership(m)) => {
            tx.prepare_cached(&format!(
                "INSERT INTO memberships(group_idx, row) SELECT {GROUP_IDX}1), {USER_ROW}2) \
                 WHERE NOT EXISTS (SELECT 1 FROM memberships WHERE group_idx = {GROUP_IDX}1) \
                 AND row = {USER_ROW}2))"
            ))?
            .execute(params![m.group, m.user])?;
        }
        Change::Delete(Target::Membership(m)) => {
            tx.prepare_cached(&format!(
                "DELETE FROM memberships WHERE group_idx = {GROUP_IDX}1) AND row = {USER_ROW}2)"
            ))?
            .execute(params![m.group, m.user])?;
        }
        Change::Put(Object::Grant(g)) | Change::Delete(Target::Grant(g)) => {
            grant_sql(tx, g, matches!(change, Change::Put(_)), orgs, teams)?;
        }
        Change::Put(Object::User(u)) => {
            tx.prepare_cached(
                "INSERT INTO users(row, id, login, name, email, state, admin, external, two_factor, \
                 created_at, last_access_at) VALUES ((SELECT max(row) + 1 FROM users), ?1, ?2, ?3, \
                 ?4, 'active', 0, 0, 0, ?5, NULL)",
            )?
            .execute(params![u.id, u.login, u.name, u.email, millis(&u.created_at)])?;
        }
        Change::Delete(Target::Entity {
            kind: EntityKind::User,
            id,
        }) => {
            let row: i64 = tx
                .prepare_cached("SELECT row FROM users WHERE id = ?1")?
                .query_row(params![id], |r| r.get(0))?;
            for table in [
                "memberships",
                "user_grants",
                "team_users",
                "user_emails",
                "auth",
                "users",
            ] {
                tx.prepare_cached(&format!("DELETE FROM {table} WHERE row = ?1"))?
                    .execute(params![row])?;
            }
        }
        Change::Put(Object::Group(g)) => {
            tx.prepare_cached(&format!(
                "INSERT INTO groups(idx, id, name, parent) VALUES \
                 ((SELECT max(idx) + 1 FROM groups), ?2, ?3, {GROUP_IDX}1))"
            ))?
            .execute(params![g.parent, g.id, g.name])?;
        }
        Change::Put(Object::Project(p)) => {
            tx.prepare_cached(
                "INSERT INTO projects(idx, id, org) VALUES ((SELECT max(idx) + 1 FROM projects), ?1, NULL)",
            )?
            .execute(params![p.id])?;
        }
        Change::Patch {
            kind: EntityKind::Group,
            id,
            set,
        } => {
            if let Some(name) = set.get("name").and_then(|v| v.as_str()) {
                tx.prepare_cached("UPDATE groups SET name = ?1 WHERE id = ?2")?
                    .execute(params![name, id])?;
            }
            if let Some(parent) = set.get("parent").and_then(|v| v.as_str()) {
                tx.prepare_cached(&format!(
                    "UPDATE groups SET parent = {GROUP_IDX}1) WHERE id = ?2"
                ))?
                .execute(params![parent, id])?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn grant_sql(
    tx: &Connection,
    g: &raw::Grant,
    put: bool,
    orgs: &BTreeMap<String, i64>,
    teams: &BTreeMap<String, i64>,
) -> Result<(), BenchError> {
    let org = g.organization.as_ref().and_then(|o| orgs.get(o)).copied();
    let project = "(SELECT idx FROM projects WHERE id = ?3)";
    let role = "(SELECT idx FROM roles WHERE id = ?2)";
    // The subject is bound as ?1: an id looked up by subquery, or a team's position.
    let (table, column, subject, subject_value): (_, _, String, rusqlite::types::Value) =
        if let Some(user) = &g.user {
            (
                "user_grants",
                "row",
                format!("{USER_ROW}1)"),
                user.clone().into(),
            )
        } else if let Some(group) = &g.group {
            (
                "group_grants",
                "group_idx",
                format!("{GROUP_IDX}1)"),
                group.clone().into(),
            )
        } else {
            let team = g.team.as_ref().and_then(|t| teams.get(t)).copied();
            (
                "team_grants",
                "team",
                "?1".to_owned(),
                team.unwrap_or(-1).into(),
            )
        };
    let sql = if put {
        format!(
            "INSERT INTO {table}({column}, role, project, org) VALUES ({subject}, {role}, {project}, ?4)"
        )
    } else {
        format!(
            "DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {column} = {subject} \
             AND role = {role} AND project IS {project} AND org IS ?4 LIMIT 1)"
        )
    };
    tx.prepare_cached(&sql)?
        .execute(params![subject_value, g.role, g.project, org])?;
    Ok(())
}
