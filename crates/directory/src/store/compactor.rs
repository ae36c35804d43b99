//! The store's compaction thread: one for the store's life, started by its first background
//! compaction, ended when the store is dropped.
//!
//! One thread rather than one per compaction: it also times the quiet period after which the
//! store folds its delta levels into a whole rebuild ([`Owner::idle`]). It was first meant to
//! keep the allocator's per-thread heaps from being abandoned by exited compaction threads;
//! measured, that made no difference to the resident set after a long change stream
//! (`benches/RESULTS.md`, "idle13").
//!
//! At most one job is in flight: [`Compactor::start`] refuses a second while one runs (the
//! store starts the next compaction at its next batch), and [`Compactor::wait`] returns once
//! the job in flight has published (or failed).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// A compaction to run on the thread.
type Job = Box<dyn FnOnce() + Send>;

/// What the compaction thread serves: the store's shared state.
pub(super) trait Owner: Send + Sync + Sized + 'static {
    /// The owner's compactor.
    fn compactor(&self) -> &Compactor;
    /// How long the thread waits for a job before calling [`Owner::idle`] (and again after
    /// each call while no job comes); `None`: never.
    fn idle_period(&self) -> Option<Duration>;
    /// Called on the compaction thread when no job came for [`Owner::idle_period`]; may
    /// start one ([`Compactor::start`]).
    fn idle(self: &Arc<Self>);
}

/// Why [`Compactor::start`] did not start a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// A job is in flight.
    Busy,
    /// The system gave no thread to run it on.
    NoThread,
}

/// The compaction thread's queue and whether a job is in flight.
#[derive(Default)]
pub(super) struct Compactor {
    /// The queue to the thread, once it is started (dropping it ends the thread).
    jobs: Mutex<Option<Sender<Job>>>,
    /// Whether a job is in flight.
    busy: Mutex<bool>,
    /// Signalled when a job ends.
    done: Condvar,
}

impl Compactor {
    /// Runs `job` with `owner` on the compaction thread unless a job is in flight or no
    /// thread could be started. The thread holds `owner` only while a job or [`Owner::idle`]
    /// runs, so dropping the owner's other handles ends it.
    pub(super) fn start<S: Owner>(
        owner: &Arc<S>,
        job: impl FnOnce(&S) + Send + 'static,
    ) -> Result<(), Refused> {
        let compactor = owner.compactor();
        let mut busy = compactor.busy();
        if *busy {
            return Err(Refused::Busy);
        }
        let mut jobs = compactor
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let sender = match jobs.as_ref() {
            Some(sender) => sender.clone(),
            None => match spawn(owner) {
                Some(sender) => jobs.insert(sender).clone(),
                None => return Err(Refused::NoThread), // the overlay stays correct, only larger
            },
        };
        drop(jobs);
        let owner = Arc::clone(owner);
        let job: Job = Box::new(move || {
            // A panicking compaction (a bug) publishes nothing; the overlay stays correct,
            // only larger, and the thread stays up for the next one.
            let _ = catch_unwind(AssertUnwindSafe(|| job(&owner)));
            owner.compactor().finish();
        });
        if sender.send(job).is_err() {
            return Err(Refused::NoThread); // the thread is gone
        }
        *busy = true;
        Ok(())
    }

    /// Marks the job in flight ended and wakes the waiters.
    fn finish(&self) {
        *self.busy() = false;
        self.done.notify_all();
    }

    /// Waits until no job is in flight.
    pub(super) fn wait(&self) {
        let mut busy = self.busy();
        while *busy {
            busy = self.done.wait(busy).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn busy(&self) -> MutexGuard<'_, bool> {
        self.busy.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts the compaction thread of `owner` and returns its queue; `None` when the system has
/// no thread to give. The thread ends when the queue's last sender (the owner's) is dropped.
fn spawn<S: Owner>(owner: &Arc<S>) -> Option<Sender<Job>> {
    let (sender, receiver) = channel::<Job>();
    let period = owner.idle_period();
    let owner = Arc::downgrade(owner);
    std::thread::Builder::new()
        .name("userql-compaction".to_owned())
        .spawn(move || loop {
            let next = match period {
                Some(period) => receiver.recv_timeout(period),
                None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match next {
                Ok(job) => job(),
                Err(RecvTimeoutError::Timeout) => match owner.upgrade() {
                    Some(owner) => {
                        let _ = catch_unwind(AssertUnwindSafe(|| owner.idle()));
                    }
                    None => break,
                },
                Err(RecvTimeoutError::Disconnected) => break,
            }
        })
        .ok()?;
    Some(sender)
}
