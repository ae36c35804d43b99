//! The worker pool that answers requests: a fixed set of threads fed by one queue.
//!
//! Requests never run on the async workers (a large batch or a slow query would stall every
//! connection they serve). The pool replaces a `spawn_blocking` per request behind a
//! semaphore of `workers` permits: there, a freed permit first woke the waiting request's task
//! on an async worker, which then handed the work to a blocking thread — two wake-ups during
//! which neither core answered anything, and under load the async workers (busy parsing HTTP)
//! were slow to take their turn. Here a worker that finishes one request takes the next from
//! the queue at once; the only hand-off left is the answer going back to the connection.
//!
//! The queue needs no bound of its own: every job holds an admission permit (the server's
//! `max_inflight`) until it ends, so at most that many jobs are ever queued or running, and a
//! job whose deadline passed while it waited returns without working.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};

/// A unit of work for a worker.
type Job = Box<dyn FnOnce() + Send>;

/// A fixed pool of worker threads sharing one job queue. Dropping it lets the workers finish
/// the queued jobs and exit.
#[derive(Debug)]
pub(crate) struct Pool {
    queue: Sender<Job>,
}

impl Pool {
    /// Starts `workers` threads (at least one). If the system refuses a thread, the pool runs
    /// with those it got; with none, jobs are answered as failed (see [`Pool::run`]).
    pub(crate) fn new(workers: usize) -> Pool {
        let (queue, jobs) = channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..workers.max(1) {
            let jobs = Arc::clone(&jobs);
            let started = std::thread::Builder::new()
                .name(format!("userql-worker-{n}"))
                .spawn(move || work(&jobs));
            if let Err(error) = started {
                tracing::error!(%error, "cannot start a worker thread");
            }
        }
        Pool { queue }
    }

    /// Queues `job` now and returns its answer's future: `None` if the job panicked or no
    /// worker could take it.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Option<T>> + Send + 'static {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic is reported to the waiting request (the sender is dropped unsent) and
            // the worker lives on.
            if let Ok(value) = catch_unwind(AssertUnwindSafe(job)) {
                let _ = answer.send(value);
            }
        });
        let queued = self.queue.send(job).is_ok();
        async move {
            if !queued {
                return None;
            }
            answered.await.ok()
        }
    }
}

/// A worker's loop: take the next job, run it, until the pool is dropped.
fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for a job: the other workers queue behind it
        // and each job goes to exactly one of them.
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_jobs_and_survives_a_panicking_one() {
        let pool = Pool::new(2);
        assert_eq!(pool.run(|| 6 * 7).await, Some(42));
        assert_eq!(pool.run(|| -> u8 { panic!("a handler bug") }).await, None);
        // Eight jobs queued at once on two workers; each answer goes to its own asker.
        let pending: Vec<_> = (0..8u32).map(|n| pool.run(move || n)).collect();
        let mut answers = Vec::new();
        for job in pending {
            answers.push(job.await);
        }
        assert_eq!(answers, (0..8).map(Some).collect::<Vec<_>>());
    }

    #[test]
    fn jobs_run_off_the_calling_thread() {
        let pool = Pool::new(1);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let caller = std::thread::current().id();
        let worker = runtime.block_on(pool.run(|| std::thread::current().id()));
        assert!(worker.is_some_and(|id| id != caller));
    }
}
