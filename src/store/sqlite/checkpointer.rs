//! WAL checkpoints off the request path.
//!
//! SQLite's automatic checkpoint runs inside whichever commit pushes the WAL past 1,000 pages,
//! and that commit pays for copying pages back into the database file and an fsync: the
//! webhook's p99. Instead, an engine on a file database starts one thread that runs a PASSIVE
//! checkpoint (it never blocks readers or writers) on its own connection every
//! [`CHECKPOINT_INTERVAL`] while the database is quiet, and every [`BUSY_CHECKPOINT_INTERVAL`]
//! while commits keep adding frames. The request connection keeps a far larger automatic
//! threshold ([`REQUEST_PATH_AUTOCHECKPOINT`]) as a safety net should the thread ever fall
//! behind.
//!
//! Why two intervals: at ~9,000 deliveries a second (~9 WAL pages each) a fixed 250 ms lets the
//! WAL pass the request path's threshold between two rounds, so the commit that crosses it
//! runs the checkpoint (and its fsync) itself: 11 % of a delivery's time in a profile of one
//! caller. A thread that checks again soon while frames keep coming keeps the WAL far below
//! the threshold; a quiet database is still only looked at four times a second.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How often the background thread checkpoints a quiet database.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// How soon it checkpoints again when the last round found new frames.
pub const BUSY_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(20);

/// `wal_autocheckpoint` on the request connection while the background thread runs (pages;
/// about 40 MB of WAL). Reached only if the thread cannot keep up.
pub const REQUEST_PATH_AUTOCHECKPOINT: i64 = 10_000;

/// The background checkpoint thread; stops and joins on drop.
#[derive(Debug)]
pub struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing `path` every `interval` (every `busy_interval` while the WAL
    /// grows). Errors (a busy or vanished file) are ignored: the next round retries, and the
    /// request path's threshold is the backstop.
    pub fn start(
        path: &str,
        interval: Duration,
        busy_interval: Duration,
    ) -> std::io::Result<Checkpointer> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = stop.clone();
        let path = path.to_owned();
        let handle = std::thread::Builder::new()
            .name("tollbooth-checkpoint".into())
            .spawn(move || {
                let Ok(conn) = Connection::open(&path) else {
                    return;
                };
                let _ = conn.busy_timeout(Duration::from_millis(100));
                let (lock, cvar) = &*flag;
                let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                let mut last = WalFrames::default();
                let mut wait = interval;
                while !*stopped {
                    let (guard, _) = cvar
                        .wait_timeout(stopped, wait)
                        .unwrap_or_else(|p| p.into_inner());
                    stopped = guard;
                    if !*stopped {
                        let now = checkpoint(&conn).unwrap_or(last);
                        wait = next_wait(last, now, interval, busy_interval);
                        last = now;
                    }
                }
            })?;
        Ok(Checkpointer {
            stop,
            handle: Some(handle),
        })
    }
}

/// What `PRAGMA wal_checkpoint` reports: frames in the WAL and frames copied back.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct WalFrames {
    log: i64,
    checkpointed: i64,
}

fn checkpoint(conn: &Connection) -> rusqlite::Result<WalFrames> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok(WalFrames {
            log: r.get(1)?,
            checkpointed: r.get(2)?,
        })
    })
}

/// The wait before the next round: short while commits added frames since the last one (the
/// WAL's figures moved), the quiet interval otherwise.
fn next_wait(last: WalFrames, now: WalFrames, quiet: Duration, busy: Duration) -> Duration {
    if now != last { busy } else { quiet }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cvar.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_checkpoints_the_wal_and_stops_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let path = path.to_str().unwrap();
        let conn = Connection::open(path).unwrap();
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(100000));")
            .unwrap();
        let c =
            Checkpointer::start(path, Duration::from_millis(10), Duration::from_millis(5)).unwrap();
        // Wait (bounded) until the background thread has copied the WAL back.
        let mut done = false;
        for _ in 0..500 {
            std::thread::sleep(Duration::from_millis(10));
            let (log, ckpt): (i64, i64) = conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get(1)?, r.get(2)?))
                })
                .unwrap();
            conn.execute("INSERT INTO t VALUES (zeroblob(10))", [])
                .unwrap();
            if log > 0 && ckpt == log {
                done = true;
                break;
            }
        }
        assert!(done);
        drop(c); // joins: must not hang
    }

    #[test]
    fn a_growing_wal_is_checkpointed_again_soon_and_a_quiet_one_at_the_quiet_interval() {
        let quiet = Duration::from_millis(250);
        let busy = Duration::from_millis(20);
        let f = |log, checkpointed| WalFrames { log, checkpointed };
        assert_eq!(next_wait(f(10, 10), f(40, 40), quiet, busy), busy);
        // Reset WAL (a writer restarted it from the beginning): still activity.
        assert_eq!(next_wait(f(900, 900), f(12, 12), quiet, busy), busy);
        assert_eq!(next_wait(f(40, 40), f(40, 40), quiet, busy), quiet);
        assert_eq!(next_wait(f(0, 0), f(0, 0), quiet, busy), quiet);
    }
}
