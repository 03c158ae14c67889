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
//! the threshold; a quiet database is still only looked at four times a second. The first
//! round comes after the short interval: a burst right after opening would otherwise fill the
//! WAL to the request path's threshold before the thread ever looked (measured: one 50 ms
//! commit at the request path's threshold, then 10,000 frames, on all 16 deliveries of its
//! batch).
//!
//! Why a catch-up: a PASSIVE round copies back the frames committed before it started, and
//! the log restarts from its beginning (instead of growing) only when a writer begins with
//! every frame copied back. Under steady load a commit always lands while the round runs, so
//! the log never restarts, grows to the request path's threshold, and that commit pays for a
//! checkpoint of its own (measured: 14–50 ms on a whole batch). So once the log is past
//! [`RESTART_FRAMES`], the thread runs more rounds back to back while each still finds many
//! new frames, then a last one on the write connection itself ([`CatchUp`]): between two
//! write transactions, with none able to start, it copies the few frames left, and the next
//! writer restarts the log. Writers wait for that catch-up (its two fsyncs: 1–10 ms under
//! load on the CI machine) instead of a request-path checkpoint of the whole remainder.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How often the background thread checkpoints a quiet database.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// How soon it checkpoints again when the last round found new frames.
pub const BUSY_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(20);

/// `wal_autocheckpoint` on the request connection while the background thread runs (pages;
/// about 64 MB of WAL). Reached only if the thread cannot keep up, or its catch-ups keep
/// failing to restart the log.
pub const REQUEST_PATH_AUTOCHECKPOINT: i64 = 16_000;

/// Frames in the WAL from which a round ends with a catch-up on the write connection, so the
/// next write transaction restarts the log from its beginning (about 32 MB of WAL). Every
/// catch-up holds up the deliveries in flight for a few milliseconds, so it should come
/// rarely: at 4,000 frames (every ~800 deliveries under load) the Node p99 at 16 in flight
/// was 6.8–7.1 ms in runs of 6,000 deliveries, at 8,000 frames 4.1–4.4 ms (the hand-written
/// baseline's: 5.6–5.9 ms).
pub const RESTART_FRAMES: i64 = 8_000;

/// New frames below which the thread stops chasing the log and catches up (about 1 MB of
/// WAL): what is left then is a few milliseconds of commits.
const CHASE_FRAMES: i64 = 256;

/// Most extra rounds before the catch-up, so commits faster than the copy cannot keep the
/// thread chasing.
const MAX_CHASES: u32 = 4;

/// Runs a PASSIVE checkpoint on the write connection while holding it, so no write
/// transaction starts until the frames committed during the last background round are
/// copied back too (see the module doc).
pub type CatchUp = Box<dyn Fn() + Send>;

/// The background checkpoint thread; stops and joins on drop.
#[derive(Debug)]
pub struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing `path` every `interval` (every `busy_interval` while the WAL
    /// grows, and for the first round), ending a round on a long log with `catch_up`. Errors (a busy or vanished file) are ignored: the next round retries, and the
    /// request path's threshold is the backstop.
    pub fn start(
        path: &str,
        interval: Duration,
        busy_interval: Duration,
        catch_up: Option<CatchUp>,
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
                let mut wait = busy_interval;
                while !*stopped {
                    let (guard, _) = cvar
                        .wait_timeout(stopped, wait)
                        .unwrap_or_else(|p| p.into_inner());
                    stopped = guard;
                    if !*stopped {
                        let now = round(&conn, last, catch_up.as_deref());
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

/// One round: a PASSIVE checkpoint; on a long log, more back to back while each still finds
/// many frames committed since the one before (so what is left shrinks toward what a few
/// milliseconds of commits add), then the catch-up on the write connection, which copies only
/// that remainder while no write transaction can start.
fn round(conn: &Connection, last: WalFrames, catch_up: Option<&(dyn Fn() + Send)>) -> WalFrames {
    let mut before = last;
    let mut now = checkpoint(conn).unwrap_or(before);
    let Some(catch_up) = catch_up else {
        return now;
    };
    let mut chased = 0;
    while chase_again(before, now, chased) {
        before = now;
        now = checkpoint(conn).unwrap_or(before);
        chased += 1;
    }
    if restarts(now) {
        catch_up();
    }
    now
}

/// Whether to run another background round before the catch-up: the log is long, the last
/// round found many new frames (so the catch-up would still have much to copy), and the
/// chase has not run out.
fn chase_again(before: WalFrames, now: WalFrames, chased: u32) -> bool {
    restarts(now) && chased < MAX_CHASES && fresh(before, now) > CHASE_FRAMES
}

/// Frames committed between two rounds (all of the log's frames when it restarted between).
fn fresh(before: WalFrames, now: WalFrames) -> i64 {
    if now.log >= before.log {
        now.log - before.log
    } else {
        now.log
    }
}

/// Whether the round that found `now` should end with a catch-up: the log is long enough
/// that restarting it is worth a moment of the write connection.
fn restarts(now: WalFrames) -> bool {
    now.log >= RESTART_FRAMES
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
        let c = Checkpointer::start(
            path,
            Duration::from_millis(10),
            Duration::from_millis(5),
            None,
        )
        .unwrap();
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
    fn a_long_log_is_chased_while_rounds_find_many_new_frames_then_caught_up() {
        let f = |log| WalFrames {
            log,
            checkpointed: log,
        };
        let long = RESTART_FRAMES + 1_000;
        // Short log: no chase, and the round ends without a catch-up.
        assert!(!chase_again(f(10), f(RESTART_FRAMES - 1), 0));
        assert!(!restarts(f(RESTART_FRAMES - 1)));
        assert!(restarts(f(RESTART_FRAMES)));
        // Long log with many new frames since the round before: chase.
        assert!(chase_again(f(long - CHASE_FRAMES - 1), f(long), 0));
        // Few new frames: catch up now.
        assert!(!chase_again(f(long - CHASE_FRAMES), f(long), 0));
        // The chase is bounded.
        assert!(!chase_again(f(0), f(long), MAX_CHASES));
        // A log that restarted between two rounds: all its frames are new.
        assert_eq!(fresh(f(long), f(300)), 300);
        assert_eq!(fresh(f(100), f(300)), 200);
    }

    /// Under writes that never pause (and point reads that never pause, like the duplicate
    /// checks beside the writer), the log restarts instead of growing. Without the catch-up
    /// it never restarts (checked: 12,000 writes left all their frames in the WAL, 36,839
    /// pages). The writer's lock is `parking_lot`'s, as the store's is: its
    /// eventual fairness lets the catch-up in between two writes. (With `std`'s mutex a writer
    /// that never pauses can take the lock back every time until the run ends: the first
    /// version of this test failed that way on a loaded machine.)
    ///
    /// It writes until the log restarts (read from the WAL header), not a fixed count under a
    /// bound on the file: when the catch-up runs, and whether a reader's snapshot keeps it
    /// from restarting the log, depends on the scheduler, and on a loaded machine a round can
    /// come late.
    #[test]
    fn under_steady_writes_the_catch_up_restarts_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steady.db");
        let path = path.to_str().unwrap().to_owned();
        let writer = Connection::open(&path).unwrap();
        writer
            .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        writer.pragma_update(None, "synchronous", "NORMAL").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer
            .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)")
            .unwrap();
        let writer = Arc::new(parking_lot::Mutex::new(writer));
        let held = writer.clone();
        let catch_up: CatchUp = Box::new(move || {
            let c = held.lock();
            c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                .unwrap();
        });
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let r = Connection::open(&path).unwrap();
                let mut id = 0i64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    id = (id + 7) % 10_000;
                    r.prepare_cached("SELECT 1 FROM t WHERE id = ?1")
                        .unwrap()
                        .exists([id])
                        .unwrap();
                }
            })
        };
        let c = Checkpointer::start(
            &path,
            Duration::from_millis(20),
            Duration::from_millis(2),
            Some(catch_up),
        )
        .unwrap();
        // Each transaction adds two or three frames (a 3 KB row and its leaf). Write until
        // the log has restarted, or about six times the request path's threshold.
        let wal_path = format!("{path}-wal");
        let blob = vec![7u8; 3_000];
        let mut restarts = 0;
        for i in 0..32_000 {
            let w = writer.lock();
            w.execute("INSERT INTO t (b) VALUES (?1)", [&blob]).unwrap();
            drop(w);
            if i % 256 == 255 {
                restarts = checkpoint_sequence(&wal_path);
                if restarts > 0 {
                    break;
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        reader.join().unwrap();
        drop(c);
        let wal_pages = std::fs::metadata(&wal_path).unwrap().len() / 4_096;
        assert!(
            restarts >= 1,
            "the log never restarted: the WAL grew to {wal_pages} pages"
        );
    }

    /// The WAL header's checkpoint sequence (after the magic, the format version and the page
    /// size; big-endian): 0 until the log first restarts, then one more at each restart.
    fn checkpoint_sequence(wal_path: &str) -> u32 {
        use std::io::Read;
        let mut header = [0u8; 16];
        std::fs::File::open(wal_path)
            .unwrap()
            .read_exact(&mut header)
            .unwrap();
        u32::from_be_bytes([header[12], header[13], header[14], header[15]])
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
