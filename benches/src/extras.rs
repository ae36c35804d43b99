//! The measurements beside the query table: parse throughput, updates per second under a
//! concurrent reader, and the GitLab / TFE dialect variants.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use userql_dialects::{answer, parse_query_string, Call, Dialect};
use userql_directory::generate::GEN_NOW_MS;
use userql_directory::model::Model;
use userql_directory::store::{Store, Update};
use userql_directory::Snapshot;
use userql_engine::{Engine, Request, Viewer};

use crate::error::BenchError;
use crate::measure::{repeat, Samples};
use crate::workload::{dialect_cases, Case};

/// The parser corpus: every line of `grammar/corpus/valid.txt` that is not a comment.
pub fn corpus() -> Vec<&'static str> {
    include_str!("../../grammar/corpus/valid.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// Parse throughput over a corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseThroughput {
    /// Distinct queries in the corpus.
    pub queries: usize,
    /// Bytes in the corpus.
    pub bytes: usize,
    /// Queries parsed in total.
    pub parsed: u64,
    /// Wall time spent.
    pub elapsed: Duration,
}

impl ParseThroughput {
    /// Queries per second.
    pub fn per_second(&self) -> f64 {
        self.parsed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Megabytes (10^6) of query text per second.
    pub fn megabytes_per_second(&self) -> f64 {
        let rounds = self.parsed as f64 / self.queries.max(1) as f64;
        rounds * self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Parses the corpus (the grammar corpus plus the benchmark queries: short and long) in rounds
/// until `budget` is spent.
pub fn parse_throughput(extra: &[Case], budget: Duration) -> ParseThroughput {
    let mut queries: Vec<&str> = corpus();
    queries.extend(extra.iter().map(|c| c.hub.as_str()));
    let bytes = queries.iter().map(|q| q.len()).sum();
    let engine = Engine::default();
    let started = Instant::now();
    let mut parsed = 0u64;
    while started.elapsed() < budget || parsed == 0 {
        for query in &queries {
            std::hint::black_box(engine.parse(std::hint::black_box(query)).is_ok());
        }
        parsed += queries.len() as u64;
    }
    ParseThroughput {
        queries: queries.len(),
        bytes,
        parsed,
        elapsed: started.elapsed(),
    }
}

/// Single-user updates applied while a reader thread keeps querying.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateThroughput {
    /// Updates applied (each its own batch, each published as a new snapshot).
    pub updates: u64,
    /// Wall time of the writer.
    pub elapsed: Duration,
    /// Queries the reader completed meanwhile.
    pub reader_queries: u64,
    /// Slowest reader query meanwhile.
    pub reader_max: Duration,
}

impl UpdateThroughput {
    /// Updates per second.
    pub fn per_second(&self) -> f64 {
        self.updates as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Reader queries per second during the updates.
    pub fn reader_per_second(&self) -> f64 {
        self.reader_queries as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Applies up to `max_updates` single-user updates (2FA toggles of spread-out users) through
/// [`Store::apply`], stopping once `budget` is spent, while one reader thread answers `reader`
/// (count) on the current snapshot in a loop. The store is built from a copy of `model` (not
/// timed).
pub fn update_throughput(
    model: &Model,
    reader: &Case,
    max_updates: usize,
    budget: Duration,
) -> Result<UpdateThroughput, BenchError> {
    let store = Store::new(model.clone());
    let engine = Engine::default();
    let mut request: Request = engine
        .request(&reader.hub, Viewer::Admin)
        .map_err(|e| BenchError::Update(e.to_string()))?;
    request.now = GEN_NOW_MS;
    let stop = AtomicBool::new(false);
    let reads = AtomicU64::new(0);
    let slowest = AtomicU64::new(0);
    let users = model.users.count().max(1);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let snapshot = store.snapshot();
                let t = Instant::now();
                let _ = std::hint::black_box(engine.matches(&snapshot, &request));
                slowest.fetch_max(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
                reads.fetch_add(1, Ordering::Relaxed);
            }
        });
        let started = Instant::now();
        let mut applied = 0u64;
        let mut outcome = Ok(());
        for k in 0..max_updates {
            if k > 0 && started.elapsed() > budget {
                break;
            }
            let user = &model.users[(k * 7919 + 1) % users];
            let update = Update::SetTwoFactor {
                id: user.id.to_string(),
                enabled: !user.two_factor,
            };
            if let Err(e) = store.apply(&[update]) {
                outcome = Err(BenchError::Update(e.to_string()));
                break;
            }
            applied += 1;
        }
        let elapsed = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        outcome.map(|()| UpdateThroughput {
            updates: applied,
            elapsed,
            reader_queries: reads.load(Ordering::Relaxed),
            reader_max: Duration::from_nanos(slowest.load(Ordering::Relaxed)),
        })
    })
}

/// One dialect request's answer and timing.
#[derive(Debug, Clone, PartialEq)]
pub struct DialectResult {
    /// The benchmark query it corresponds to (`c`, `e`, `f`), or what it exercises.
    pub letter: &'static str,
    /// The dialect.
    pub dialect: Dialect,
    /// The query string.
    pub query_string: String,
    /// HTTP status of the answer.
    pub status: u16,
    /// Matches before paging (when the API reports it).
    pub total: Option<u64>,
    /// Rows on the returned page.
    pub page_rows: usize,
    /// Timings of the whole answer (parse params, evaluate, page, render).
    pub samples: Samples,
}

/// Answers every request of [`dialect_cases`] as an administrator.
pub fn dialects(snapshot: &Snapshot, reps: usize, budget: Duration) -> Vec<DialectResult> {
    let engine = Engine::default();
    dialect_cases(&snapshot.model)
        .into_iter()
        .map(|case| {
            let call = Call {
                dialect: case.dialect,
                params: parse_query_string(&case.query_string),
                viewer: Viewer::Admin,
                now: GEN_NOW_MS,
                engine: &engine,
                snapshot,
            };
            let first = answer(&call);
            let (samples, _) = repeat::<_, ()>(reps, 3, budget, || Ok(answer(&call).ids.len()))
                .unwrap_or_default();
            DialectResult {
                letter: case.letter,
                dialect: case.dialect,
                query_string: case.query_string,
                status: first.response.status,
                total: first.total,
                page_rows: first.ids.len(),
                samples,
            }
        })
        .collect()
}
