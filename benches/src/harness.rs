//! The comparison run: generate, build every peer, check that all peers agree, time every query
//! on every peer. Shared by the `compare` binary and the smoke test.

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use userql_directory::generate::{generate, GenOptions};
use userql_directory::model::{Model, Row};

use crate::error::BenchError;
use crate::measure::{repeat, resident_bytes, Samples};
use crate::peers::scan::ScanPeer;
use crate::peers::sqlite::{Database, FtsPeer, SqlitePeer};
use crate::peers::userql::UserqlPeer;
use crate::peers::Peer;
use crate::workload::{cases, pick_values, Case, Values};

/// How much to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Users to generate.
    pub users: usize,
    /// Generator seed (benchmark.md: 42).
    pub seed: u64,
    /// Timed repetitions per (query, peer, count/page), after one warm-up run.
    pub reps: usize,
    /// Stop repeating once this much time went into one (query, peer, kind), after at least
    /// three repetitions — keeps slow peers from dominating the run.
    pub budget: Duration,
}

/// The work of building one peer.
#[derive(Debug, Clone, PartialEq)]
pub struct Build {
    /// The peer.
    pub peer: &'static str,
    /// Wall time.
    pub time: Duration,
    /// Growth of the resident set during the build (bytes), when measurable.
    pub resident: Option<u64>,
}

/// Timings of one query on one peer.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerTiming {
    /// The peer.
    pub peer: &'static str,
    /// Counting.
    pub count: Samples,
    /// The first page.
    pub page: Samples,
    /// The first page *and* its `COUNT(*)`, one after the other: the work a userql page does (it
    /// also computes the total), timed for the SQLite peer only.
    pub page_with_count: Option<Samples>,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The query.
    pub case: Case,
    /// Its match count (all peers agreed on it).
    pub rows: u64,
    /// Per peer that answers it, in peer order.
    pub timings: Vec<PeerTiming>,
}

/// Every peer over one generated directory.
pub struct Setup {
    /// The directory.
    pub model: Arc<Model>,
    /// The concrete values L, E, G, G1, G2, P.
    pub values: Values,
    /// The twelve queries.
    pub cases: Vec<Case>,
    /// Generation time.
    pub generate: Duration,
    /// Build time and memory per peer (`sqlite-fts5` is the trigram table on top of `sqlite`).
    pub builds: Vec<Build>,
    /// userql (kept typed: the extras need its snapshot).
    pub userql: UserqlPeer,
    /// The other peers, in report order.
    pub others: Vec<Box<dyn Peer>>,
}

fn measured<T>(peer: &'static str, builds: &mut Vec<Build>, build: impl FnOnce() -> T) -> T {
    let before = resident_bytes();
    let started = Instant::now();
    let value = build();
    let time = started.elapsed();
    let resident = before
        .zip(resident_bytes())
        .map(|(b, a)| a.saturating_sub(b));
    builds.push(Build {
        peer,
        time,
        resident,
    });
    value
}

impl Setup {
    /// Generates the directory and builds every peer, timing each build.
    pub fn new(users: usize, seed: u64) -> Result<Setup, BenchError> {
        let started = Instant::now();
        let model = Arc::new(generate(&GenOptions { users, seed }));
        let generate = started.elapsed();
        let values = pick_values(&model);
        let cases = cases(&model, &values);
        let mut builds = Vec::new();
        let userql = measured("userql", &mut builds, || {
            UserqlPeer::build(Arc::clone(&model))
        });
        let db = measured("sqlite", &mut builds, || Database::load(&model))?;
        measured("sqlite-fts5", &mut builds, || db.add_trigram_index(&model))?;
        let db = Rc::new(db);
        let scan = measured("scan", &mut builds, || {
            ScanPeer::build(Arc::clone(userql.snapshot()))
        });
        let others: Vec<Box<dyn Peer>> = vec![
            Box::new(SqlitePeer::new(Rc::clone(&db), &model, &values)),
            Box::new(FtsPeer::new(db)),
            Box::new(scan),
        ];
        Ok(Setup {
            model,
            values,
            cases,
            generate,
            builds,
            userql,
            others,
        })
    }

    fn peers_mut(&mut self) -> impl Iterator<Item = &mut dyn Peer> {
        std::iter::once(&mut self.userql as &mut dyn Peer)
            .chain(self.others.iter_mut().map(|p| p.as_mut() as &mut dyn Peer))
    }

    /// Names of all peers, userql first.
    pub fn peer_names(&self) -> Vec<&'static str> {
        std::iter::once(self.userql.name())
            .chain(self.others.iter().map(|p| p.name()))
            .collect()
    }

    /// Runs every query once on every peer and compares counts and first pages with userql's.
    /// Returns the counts; any difference is a [`BenchError::Mismatch`] listing all of them.
    /// This run doubles as the warm-up (caches, lazily built sort orders, prepared statements).
    pub fn check_agreement(&mut self) -> Result<Vec<u64>, BenchError> {
        let cases = self.cases.clone();
        let model = Arc::clone(&self.model);
        let mut answers: Vec<Vec<(&'static str, u64, Vec<Row>)>> = vec![Vec::new(); cases.len()];
        for peer in self.peers_mut() {
            for (k, case) in cases.iter().enumerate() {
                if peer.answers(case) {
                    answers[k].push((peer.name(), peer.count(case)?, peer.page(case)?));
                }
            }
        }
        let mut problems = Vec::new();
        let mut counts = Vec::new();
        for (case, answers) in cases.iter().zip(&answers) {
            let Some((_, expected_count, expected_page)) = answers.first() else {
                continue;
            };
            counts.push(*expected_count);
            for (peer, count, page) in &answers[1..] {
                if count != expected_count {
                    problems.push(format!(
                        "query {} `{}`: userql counts {expected_count}, {peer} counts {count}",
                        case.letter, case.hub
                    ));
                }
                if page != expected_page {
                    let logins = |rows: &[Row]| -> Vec<String> {
                        rows.iter()
                            .map(|&r| {
                                model
                                    .users
                                    .get(r as usize)
                                    .map_or("?".to_owned(), |u| u.login.to_string())
                            })
                            .collect()
                    };
                    problems.push(format!(
                        "query {} `{}`: first pages differ\n  userql: {:?}\n  {peer}: {:?}",
                        case.letter,
                        case.hub,
                        logins(expected_page),
                        logins(page)
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(counts)
        } else {
            Err(BenchError::Mismatch(problems.join("\n")))
        }
    }

    /// Times every query on every peer that answers it.
    pub fn time_queries(
        &mut self,
        counts: &[u64],
        reps: usize,
        budget: Duration,
    ) -> Result<Vec<QueryResult>, BenchError> {
        let cases = self.cases.clone();
        let mut results: Vec<QueryResult> = cases
            .iter()
            .zip(counts)
            .map(|(case, &rows)| QueryResult {
                case: case.clone(),
                rows,
                timings: Vec::new(),
            })
            .collect();
        for peer in self.peers_mut() {
            for result in &mut results {
                let case = &result.case;
                if !peer.answers(case) {
                    continue;
                }
                let (count, _) = repeat(reps, 3, budget, || peer.count(case))?;
                let (page, _) = repeat(reps, 3, budget, || peer.page(case))?;
                let page_with_count = if peer.name() == "sqlite" {
                    let (samples, _) = repeat(reps, 3, budget, || {
                        let total = peer.count(case)?;
                        Ok::<_, BenchError>((total, peer.page(case)?))
                    })?;
                    Some(samples)
                } else {
                    None
                };
                result.timings.push(PeerTiming {
                    peer: peer.name(),
                    count,
                    page,
                    page_with_count,
                });
            }
        }
        Ok(results)
    }
}

/// Everything the comparison table needs for one directory size.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The options used.
    pub options: RunOptions,
    /// Generation time.
    pub generate: Duration,
    /// Per peer build cost.
    pub builds: Vec<Build>,
    /// Peer names, userql first.
    pub peers: Vec<&'static str>,
    /// One row per query.
    pub results: Vec<QueryResult>,
}

/// Generates, builds, checks agreement and times the queries: the whole comparison for one size.
/// Returns the setup too, so callers can run the extra measurements on the same data.
pub fn compare(options: &RunOptions) -> Result<(Comparison, Setup), BenchError> {
    let mut setup = Setup::new(options.users, options.seed)?;
    let counts = setup.check_agreement()?;
    let results = setup.time_queries(&counts, options.reps, options.budget)?;
    Ok((
        Comparison {
            options: *options,
            generate: setup.generate,
            builds: setup.builds.clone(),
            peers: setup.peer_names(),
            results,
        },
        setup,
    ))
}
