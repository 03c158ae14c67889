//! WAL checkpoints off the request path.
//!
//! SQLite's automatic checkpoint runs inside whichever commit pushes the WAL past 1,000 pages,
//! and that commit pays for copying pages back into the database file and an fsync: the
//! webhook's p99. Instead, an engine on a file database starts one thread that runs a PASSIVE
//! checkpoint (it never blocks readers or writers) on its own connection every
//! [`CHECKPOINT_INTERVAL`]. The request connection keeps a far larger automatic threshold
//! ([`REQUEST_PATH_AUTOCHECKPOINT`]) as a safety net should the thread ever fall behind.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How often the background thread checkpoints.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

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
    /// Starts checkpointing `path` every `interval`. Errors (a busy or vanished file) are
    /// ignored: the next round retries, and the request path's threshold is the backstop.
    pub fn start(path: &str, interval: Duration) -> std::io::Result<Checkpointer> {
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
                while !*stopped {
                    let (guard, _) = cvar
                        .wait_timeout(stopped, interval)
                        .unwrap_or_else(|p| p.into_inner());
                    stopped = guard;
                    if !*stopped {
                        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    }
                }
            })?;
        Ok(Checkpointer {
            stop,
            handle: Some(handle),
        })
    }
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
        let c = Checkpointer::start(path, Duration::from_millis(10)).unwrap();
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
}
