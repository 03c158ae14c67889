//! A fake clock for the client: `sleep` only records and advances time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tollbooth::stripe_api::Clock;

#[derive(Debug, Default)]
pub struct FakeClock {
    pub now: AtomicI64,
    pub sleeps: Mutex<Vec<Duration>>,
}

impl FakeClock {
    pub fn at(now: i64) -> std::sync::Arc<FakeClock> {
        std::sync::Arc::new(FakeClock {
            now: AtomicI64::new(now),
            sleeps: Mutex::new(Vec::new()),
        })
    }
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
    pub fn set(&self, now: i64) {
        self.now.store(now, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
    fn sleep(&self, d: Duration) {
        self.sleeps.lock().unwrap().push(d);
        self.now.fetch_add(d.as_secs() as i64, Ordering::SeqCst);
    }
}
