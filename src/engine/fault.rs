//! Test-only fault injection: make the ingest transaction fail at a named step, to prove that
//! a failure anywhere rolls back the whole delivery and that a redelivery then succeeds.
//!
//! Compiled in only with the `testing` cargo feature (the test suites turn it on). Without
//! it, [`Faults`] is empty and every check is a constant `Ok(())` the optimizer removes, so
//! the production path carries no test hook.

#[cfg(feature = "testing")]
use std::sync::Mutex;
#[cfg(feature = "testing")]
use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::Result;
#[cfg(feature = "testing")]
use crate::error::{Error, ErrorCode};

/// A step of the ingest transaction after which an injected failure is raised (with the
/// `testing` feature; without it the points exist only as names).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FaultPoint {
    /// The event id was checked (inside the write lock) and is new.
    AfterDedupe = 1,
    /// Billing rows were written, no job enqueued yet.
    AfterApply,
    /// The side-effect jobs were enqueued.
    AfterEnqueue,
    /// The raw event row was inserted.
    AfterInsertEvent,
    /// Everything was written (delivery-log row included); the commit is next.
    BeforeCommit,
}

impl FaultPoint {
    /// Every point, in pipeline order.
    pub const ALL: [FaultPoint; 5] = [
        FaultPoint::AfterDedupe,
        FaultPoint::AfterApply,
        FaultPoint::AfterEnqueue,
        FaultPoint::AfterInsertEvent,
        FaultPoint::BeforeCommit,
    ];
}

/// The armed fault point of one engine (0 = none), and the one event id it is limited to
/// (`None`: every delivery).
#[derive(Debug, Default)]
pub(crate) struct Faults {
    #[cfg(feature = "testing")]
    point: AtomicU8,
    #[cfg(feature = "testing")]
    only: Mutex<Option<String>>,
}

impl Faults {
    #[cfg(feature = "testing")]
    pub(crate) fn set(&self, point: Option<FaultPoint>) {
        *self.only.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.point
            .store(point.map_or(0, |p| p as u8), Ordering::Relaxed);
    }

    /// Arms `point` for the deliveries of `event_id` only.
    #[cfg(feature = "testing")]
    pub(crate) fn set_for(&self, point: FaultPoint, event_id: &str) {
        *self.only.lock().unwrap_or_else(|p| p.into_inner()) = Some(event_id.to_owned());
        self.point.store(point as u8, Ordering::Relaxed);
    }

    /// Fails with `STORE_ERROR` when `point` is armed (for `event_id`, when limited).
    #[cfg(feature = "testing")]
    #[inline]
    pub(crate) fn check(&self, point: FaultPoint, event_id: &str) -> Result<()> {
        if self.point.load(Ordering::Relaxed) == point as u8
            && self
                .only
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_deref()
                .is_none_or(|only| only == event_id)
        {
            return Err(Error::new(
                ErrorCode::StoreError,
                format!("injected fault at {point:?} (test only)"),
            ));
        }
        Ok(())
    }

    /// Never fails: fault injection is compiled out.
    #[cfg(not(feature = "testing"))]
    #[inline(always)]
    pub(crate) fn check(&self, _point: FaultPoint, _event_id: &str) -> Result<()> {
        Ok(())
    }
}
