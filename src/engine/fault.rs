//! Test-only fault injection: make the ingest transaction fail at a named step, to prove that
//! a failure anywhere rolls back the whole delivery and that a redelivery then succeeds.
//!
//! Not part of the API (`#[doc(hidden)]`). When no fault is set, each check is one relaxed
//! atomic load and compare.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::{Error, ErrorCode, Result};

/// A step of the ingest transaction after which an injected failure is raised.
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

/// The armed fault point of one engine (0 = none).
#[derive(Debug, Default)]
pub(crate) struct Faults(AtomicU8);

impl Faults {
    pub(crate) fn set(&self, point: Option<FaultPoint>) {
        self.0
            .store(point.map_or(0, |p| p as u8), Ordering::Relaxed);
    }

    /// Fails with `STORE_SQLITE` when `point` is armed.
    #[inline]
    pub(crate) fn check(&self, point: FaultPoint) -> Result<()> {
        if self.0.load(Ordering::Relaxed) == point as u8 {
            return Err(Error::new(
                ErrorCode::StoreSqlite,
                format!("injected fault at {point:?} (test only)"),
            ));
        }
        Ok(())
    }
}
