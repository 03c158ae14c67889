//! Event ids this engine stored lately, so a duplicate delivery of one is answered from memory
//! instead of a store read. On PostgreSQL that read is a round trip for every duplicate (the
//! costliest part of one); Stripe's duplicates mostly come soon after the original (a retry
//! after a timeout, a second endpoint, a resend), which is what this holds.
//!
//! Exact, not a guess:
//! - An id gets in only after the transaction that stored its event (or found it stored)
//!   committed.
//! - Stored events are deleted only by retention, which keeps event rows for at least 30 days
//!   (`Retention::event_days`), and an entry is trusted for at most [`TRUST_SECONDS`] of the
//!   caller's clock.
//! - Events stored by another process are not here: their duplicates are found by the store
//!   read, as before.
//!
//! Bounded: at most [`CAPACITY`] ids (~1 MB), the oldest forgotten first. Only stored events
//! get in, so unauthenticated requests cannot fill it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Ids remembered at most.
pub(crate) const CAPACITY: usize = 8_192;

/// How long (seconds of the caller's clock) an entry is trusted: far inside the 30 days for
/// which retention keeps every event row.
pub(crate) const TRUST_SECONDS: i64 = 3_600;

/// The ids and when each was remembered.
#[derive(Default)]
pub(crate) struct RecentIds {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The ids in the order they were first remembered: which to forget first.
    order: VecDeque<String>,
    /// When each was last remembered.
    at: HashMap<String, i64>,
}

impl RecentIds {
    /// Remembers that the event `id` is stored, as of `now`.
    pub(crate) fn remember(&self, id: &str, now: i64) {
        let mut inner = self.lock();
        if inner.at.insert(id.to_owned(), now).is_none() {
            inner.order.push_back(id.to_owned());
        }
        while inner.order.len() > CAPACITY {
            if let Some(old) = inner.order.pop_front() {
                inner.at.remove(&old);
            }
        }
    }

    /// Whether `id` is known stored at `now`: remembered within [`TRUST_SECONDS`] either way
    /// of it (a clock that moved back is not trusted further than one that moved forward).
    pub(crate) fn stored(&self, id: &str, now: i64) -> bool {
        self.lock()
            .at
            .get(id)
            .is_some_and(|at| now.abs_diff(*at) < TRUST_SECONDS as u64)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Each update leaves the maps consistent, so a poisoned lock is safe to reuse.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_id_is_stored_within_the_trusted_window_only() {
        let r = RecentIds::default();
        assert!(!r.stored("evt_1", 1_000));
        r.remember("evt_1", 1_000);
        assert!(r.stored("evt_1", 1_000));
        assert!(r.stored("evt_1", 1_000 + TRUST_SECONDS - 1));
        assert!(!r.stored("evt_1", 1_000 + TRUST_SECONDS));
        assert!(!r.stored("evt_1", 1_000 - TRUST_SECONDS));
        assert!(!r.stored("evt_2", 1_000));
        // Remembered again later: trusted from the later time.
        r.remember("evt_1", 1_000 + TRUST_SECONDS);
        assert!(r.stored("evt_1", 1_000 + TRUST_SECONDS + 10));
    }

    #[test]
    fn it_holds_at_most_capacity_ids_forgetting_the_oldest_first() {
        let r = RecentIds::default();
        for i in 0..CAPACITY + 10 {
            r.remember(&format!("evt_{i}"), 5);
        }
        assert!(!r.stored("evt_0", 5));
        assert!(!r.stored("evt_9", 5));
        assert!(r.stored("evt_10", 5));
        assert!(r.stored(&format!("evt_{}", CAPACITY + 9), 5));
        let inner = r.lock();
        assert_eq!(inner.order.len(), CAPACITY);
        assert_eq!(inner.at.len(), CAPACITY);
    }
}
