//! Group commit: deliveries that arrive while a write transaction is being written join the
//! next one, so concurrent callers share one commit (one WAL sync on SQLite, one fsync and the
//! writer-lock round trips on PostgreSQL) instead of queueing for a transaction each.
//!
//! Leader/follower, no timer: a caller queues its delivery; if no transaction is being written
//! it becomes the leader at once, takes up to [`MAX_BATCH`] queued deliveries (its own among
//! them) and writes them in one transaction; callers that arrive meanwhile wait on a condvar
//! and the first of them to wake after the commit leads the next batch. A lone caller on an
//! idle engine therefore writes immediately, exactly as without the pipeline. Every caller
//! gets its own result only after the transaction holding its delivery committed (or failed).
//!
//! Store-neutral: the batch is written by a closure the engine passes (through
//! [`crate::store::Store::write`]; a failed delivery is left out and the batch written again,
//! see `Engine::write_batch`), so both backends — and any later one — use the same pipeline.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Most deliveries written in one transaction. Bounded so one transaction (and the wait of
/// the callers in it) stays short, and so are the rewrites of a batch when its deliveries
/// fail one by one.
pub(crate) const MAX_BATCH: usize = 32;

/// A caller's slot after its batch: its item back with the result, or `None` when the leader
/// writing it panicked (the item is gone; the transaction was rolled back on unwind).
type Finished<T, R> = Option<(T, R)>;

/// A queued delivery: its ticket, the item, and the condvar its caller sleeps on.
type Entry<T> = (u64, T, Arc<Condvar>);

struct State<T, R> {
    queue: VecDeque<Entry<T>>,
    /// A leader is writing a batch now.
    writing: bool,
    /// Results not yet picked up, by ticket.
    finished: HashMap<u64, Finished<T, R>>,
    next_ticket: u64,
    /// Transactions written and the items they held (for the figures in the benchmarks).
    batches: u64,
    items: u64,
}

/// The queue of one engine. `T` is a delivery to write, `R` its result.
///
/// Each caller sleeps on a condvar of its own, and a leader wakes exactly the callers whose
/// deliveries it wrote plus the one at the front of the queue (the next leader). One shared
/// condvar and `notify_all` woke every caller in flight after every batch, only for all but
/// one or two to go back to sleep: with 16 in flight and batches of 3–4, five wakeups per
/// delivery on a 2-core machine.
pub(crate) struct GroupCommit<T, R> {
    state: Mutex<State<T, R>>,
    max_batch: usize,
}

/// How many transactions the pipeline wrote and how many deliveries they held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitFigures {
    /// Write transactions (batches).
    pub batches: u64,
    /// Deliveries written in them.
    pub deliveries: u64,
}

impl<T, R> Default for GroupCommit<T, R> {
    fn default() -> Self {
        Self::with_max_batch(MAX_BATCH)
    }
}

impl<T, R> GroupCommit<T, R> {
    pub(crate) fn with_max_batch(max_batch: usize) -> Self {
        GroupCommit {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                writing: false,
                finished: HashMap::new(),
                next_ticket: 0,
                batches: 0,
                items: 0,
            }),
            max_batch: max_batch.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T, R>> {
        // Every update below leaves the state consistent, so a poisoned lock is safe to reuse.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `item` and returns it with its result once the batch holding it was written by
    /// `write` (one call per batch, one result per item, in order). `None` when the leader
    /// writing its batch panicked.
    pub(crate) fn submit(&self, item: T, write: &dyn Fn(&[T]) -> Vec<R>) -> Finished<T, R> {
        let wake = Arc::new(Condvar::new());
        let mut st = self.lock();
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        st.queue.push_back((ticket, item, wake.clone()));
        loop {
            if let Some(done) = st.finished.remove(&ticket) {
                return done;
            }
            if !st.writing {
                st = self.lead(st, write);
                continue;
            }
            st = wake.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Writes one batch from the front of the queue (the caller's own item is in it: it was
    /// queued and nothing was being written, so nobody took it).
    fn lead<'a>(
        &'a self,
        mut st: MutexGuard<'a, State<T, R>>,
        write: &dyn Fn(&[T]) -> Vec<R>,
    ) -> MutexGuard<'a, State<T, R>> {
        st.writing = true;
        let n = st.queue.len().min(self.max_batch);
        let mut tickets = Vec::with_capacity(n);
        let mut items = Vec::with_capacity(n);
        let mut wakes = Vec::with_capacity(n);
        for (ticket, item, wake) in st.queue.drain(..n) {
            tickets.push(ticket);
            items.push(item);
            wakes.push(wake);
        }
        drop(st);
        let abandon = Abandon {
            pipeline: self,
            tickets: &tickets,
            wakes: &wakes,
        };
        let results = write(&items);
        std::mem::forget(abandon);
        let mut st = self.lock();
        st.batches += 1;
        st.items += tickets.len() as u64;
        let mut results = results.into_iter();
        for (ticket, item) in tickets.iter().zip(items) {
            // A writer that returned too few results fails the rest like a panic would.
            let done = results.next().map(|r| (item, r));
            st.finished.insert(*ticket, done);
        }
        self.release(&mut st, &wakes);
        st
    }

    /// Ends a batch: no batch is being written, the batch's callers are woken for their
    /// results, and the caller at the front of the queue to lead the next batch.
    fn release(&self, st: &mut State<T, R>, wakes: &[Arc<Condvar>]) {
        st.writing = false;
        for w in wakes {
            w.notify_one();
        }
        if let Some((_, _, next)) = st.queue.front() {
            next.notify_one();
        }
    }

    /// Transactions and deliveries written so far.
    pub(crate) fn figures(&self) -> CommitFigures {
        let st = self.lock();
        CommitFigures {
            batches: st.batches,
            deliveries: st.items,
        }
    }
}

/// A test's hold on the pipeline: while it lives, callers queue as if a transaction were
/// being written; dropping it lets the next caller lead them all in one batch.
#[cfg(feature = "testing")]
pub(crate) struct Held<'a, T, R>(&'a GroupCommit<T, R>);

#[cfg(feature = "testing")]
impl<T, R> GroupCommit<T, R> {
    /// Waits until no batch is being written, then holds the pipeline.
    pub(crate) fn hold(&self) -> Held<'_, T, R> {
        loop {
            let mut st = self.lock();
            if !st.writing {
                st.writing = true;
                return Held(self);
            }
            drop(st);
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Deliveries queued now.
    pub(crate) fn queued(&self) -> usize {
        self.lock().queue.len()
    }
}

#[cfg(feature = "testing")]
impl<T, R> Drop for Held<'_, T, R> {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        self.0.release(&mut st, &[]);
    }
}

/// Unwind guard of a leader: if writing the batch panics, its callers are told (instead of
/// waiting forever) and the next caller may lead.
struct Abandon<'a, T, R> {
    pipeline: &'a GroupCommit<T, R>,
    tickets: &'a [u64],
    wakes: &'a [Arc<Condvar>],
}

impl<T, R> Drop for Abandon<'_, T, R> {
    fn drop(&mut self) {
        let mut st = self.pipeline.lock();
        for t in self.tickets {
            st.finished.insert(*t, None);
        }
        self.pipeline.release(&mut st, self.wakes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::time::Duration;

    #[test]
    fn a_lone_caller_writes_at_once_in_a_batch_of_its_own() {
        let p: GroupCommit<u32, u32> = GroupCommit::default();
        let (item, r) = p
            .submit(7, &|items| items.iter().map(|i| i * 2).collect())
            .unwrap();
        assert_eq!((item, r), (7, 14));
        assert_eq!(
            p.figures(),
            CommitFigures {
                batches: 1,
                deliveries: 1
            }
        );
    }

    #[test]
    fn callers_arriving_during_a_write_share_the_next_transaction() {
        let p: Arc<GroupCommit<u32, usize>> = Arc::new(GroupCommit::default());
        let threads = 16;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads as u32)
            .map(|i| {
                let (p, barrier) = (p.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    // Each batch takes a while, so the others queue behind it; the result
                    // says how big the caller's batch was.
                    p.submit(i, &|items| {
                        std::thread::sleep(Duration::from_millis(20));
                        vec![items.len(); items.len()]
                    })
                    .unwrap()
                })
            })
            .collect();
        let mut seen: Vec<u32> = Vec::new();
        for h in handles {
            let (item, _) = h.join().unwrap();
            seen.push(item);
        }
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..threads as u32).collect::<Vec<_>>(),
            "each caller got its own item"
        );
        let f = p.figures();
        assert_eq!(f.deliveries, threads as u64);
        assert!(
            f.batches < threads as u64,
            "16 callers in flight shared transactions: {f:?}"
        );
    }

    #[test]
    fn a_batch_never_exceeds_the_bound() {
        let p: Arc<GroupCommit<u32, usize>> = Arc::new(GroupCommit::with_max_batch(3));
        let barrier = Arc::new(Barrier::new(12));
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let (p, barrier) = (p.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    p.submit(i, &|items| {
                        std::thread::sleep(Duration::from_millis(10));
                        vec![items.len(); items.len()]
                    })
                    .unwrap()
                    .1
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().unwrap() <= 3);
        }
        assert!(p.figures().batches >= 4);
    }

    #[test]
    fn a_panicking_leader_releases_its_followers_and_the_next_caller_leads() {
        let p: Arc<GroupCommit<u32, u32>> = Arc::new(GroupCommit::default());
        let p2 = p.clone();
        let lead = std::thread::spawn(move || {
            p2.submit(1, &|_| panic!("writer bug (test)"));
        });
        assert!(lead.join().is_err());
        let (item, r) = p.submit(2, &|items| items.to_vec()).unwrap();
        assert_eq!((item, r), (2, 2));
    }
}
