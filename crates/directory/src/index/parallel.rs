//! Independent index builders run on scoped threads.
//!
//! Building the indexes of a million users is a dozen independent passes over the model (each
//! dictionary, the trigrams, the flags, the access bitmaps, …); run one after the other they
//! leave every core but one idle. [`run`] hands a list of jobs to one worker per available core
//! (plain `std::thread::scope`: no thread pool lives on after the build, and an embedder gets no
//! dependency and no global state). Jobs are taken in list order, so listing the longest first
//! keeps the cores busy to the end. Small models are built on the calling thread: spawning costs
//! more than it saves there, and the live store rebuilds small directories often.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Below this many user slots the jobs run on the calling thread.
pub(super) const MIN_PARALLEL_USERS: usize = 20_000;

/// How many workers a build of `users` slots gets: one per available core (at least one), or
/// one for a small model.
pub(super) fn workers_for(users: usize) -> usize {
    if users < MIN_PARALLEL_USERS {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// `jobs.map(work)` on up to `workers` threads, results in job order. A panicking job (a bug)
/// lets the other workers finish their jobs and then propagates, as `std::thread::scope` does.
pub(super) fn run<J: Sync, R: Send>(
    jobs: &[J],
    workers: usize,
    work: impl Fn(&J) -> R + Sync,
) -> Vec<R> {
    let workers = workers.min(jobs.len());
    if workers <= 1 {
        return jobs.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(jobs.len()));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let result = work(job);
                // A poisoned lock means another job panicked; the scope re-raises that panic.
                if let Ok(mut done) = done.lock() {
                    done.push((i, result));
                }
            });
        }
    });
    let mut done = done
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    done.sort_unstable_by_key(|&(i, _)| i);
    done.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_job_order_whatever_the_workers() {
        let jobs: Vec<u64> = (0..50).collect();
        let expected: Vec<u64> = jobs.iter().map(|j| j * j).collect();
        for workers in [1, 2, 3, 8, 100] {
            assert_eq!(
                run(&jobs, workers, |j| j * j),
                expected,
                "{workers} workers"
            );
        }
        assert!(run(&[] as &[u64], 4, |j| *j).is_empty());
    }

    #[test]
    fn small_models_build_on_the_calling_thread() {
        assert_eq!(workers_for(MIN_PARALLEL_USERS - 1), 1);
        assert!(workers_for(MIN_PARALLEL_USERS) >= 1);
    }
}
