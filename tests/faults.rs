//! Fault injection in the store: a locked database, a full disk, a read-only database, a
//! corrupt file, and a failure injected between every pair of ingest steps. For each: a clear
//! code that maps to HTTP 500 (Stripe retries), nothing of the delivery half-written, and the
//! same delivery processed normally once the fault clears.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use rusqlite::Connection;
use tollbooth::engine::FaultPoint;
use tollbooth::{Config, Engine, ErrorCode, Outcome};

/// Row counts of every table a delivery writes, except the delivery log (a failed delivery
/// is logged on purpose).
fn rows(path: &str) -> Vec<(String, i64)> {
    let c = Connection::open(path).unwrap();
    [
        "events",
        "customers",
        "subscriptions",
        "invoices",
        "checkout_sessions",
        "jobs",
    ]
    .iter()
    .map(|t| {
        let n = c
            .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
            .unwrap();
        (t.to_string(), n)
    })
    .collect()
}

fn failed_payment(n: usize) -> (Vec<u8>, i64) {
    let t = T0 + n as i64;
    let body = event(
        &format!("evt_fault_{n}"),
        "invoice.payment_failed",
        t,
        invoice(
            &format!("in_f{n}"),
            "cus_1",
            "sub_1",
            "open",
            1,
            t,
            Shape::Basil,
        ),
    );
    (body, t)
}

fn engine_with(path: &str, f: impl FnOnce(&mut Config)) -> Engine {
    let mut cfg = Config::new(path, &[SECRET]).unwrap();
    f(&mut cfg);
    Engine::open(cfg).unwrap()
}

/// Asserts a store failure: a server-side code (HTTP 500, Stripe retries) with a message.
fn assert_store_error(r: tollbooth::Result<tollbooth::Handled>, want: ErrorCode) -> String {
    let e = r.expect_err("the delivery must not be acknowledged");
    assert_eq!(e.code(), want, "{e}");
    assert!(
        !e.code().is_client_error(),
        "{e} would be a 400: Stripe would not retry"
    );
    assert!(!e.message().is_empty());
    e.to_string()
}

fn failed_log_rows(e: &Engine, code: ErrorCode) -> u64 {
    e.delivery_counts(0)
        .unwrap()
        .by_reason
        .iter()
        .find(|(r, _)| r == code.as_str())
        .map_or(0, |(_, n)| *n)
}

#[test]
fn busy_beyond_the_timeout_is_store_busy_and_redelivery_processes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let path = path.to_str().unwrap();
    let e = engine_with(path, |c| c.sqlite.busy_timeout = Duration::from_millis(150));
    let (body, t) = failed_payment(1);
    let before = rows(path);

    let mut other = Connection::open(path).unwrap();
    let lock = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    assert_store_error(deliver(&e, &body, t), ErrorCode::StoreBusy);
    assert_store_error(deliver(&e, &body, t), ErrorCode::StoreBusy);
    lock.rollback().unwrap();

    assert_eq!(rows(path), before, "a busy delivery wrote something");
    let h = deliver(&e, &body, t).unwrap();
    assert_eq!(h.outcome, Outcome::Processed);
    assert_eq!(h.jobs.len(), 1);
    assert_eq!(deliver(&e, &body, t).unwrap().outcome, Outcome::Duplicate);
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs(dir))
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

/// Fills the file system under `dir` with a filler file until a write fails.
fn fill_disk(dir: &Path) -> std::path::PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0xA5u8; 4096];
    for _ in 0..100_000 {
        if f.write_all(&chunk).and_then(|_| f.sync_all()).is_err() {
            break;
        }
    }
    filler
}

#[test]
fn full_disk_is_store_full_nothing_half_written_and_processing_resumes() {
    let Some(fs) = Tmpfs::mount("2m") else {
        eprintln!(
            "NOTICE: skipped: cannot mount a tmpfs here (needs root); see the max_page_count test"
        );
        return;
    };
    let path = fs.path().join("full.db");
    let path = path.to_str().unwrap();
    let e = engine_at(path);
    for n in 0..5 {
        let (body, t) = failed_payment(n);
        deliver(&e, &body, t).unwrap();
    }
    let before = rows(path);
    let filler = fill_disk(fs.path());

    // Enough new events that the WAL must grow past what is already allocated.
    let mut failed_at = None;
    for n in 5..400 {
        let (body, t) = failed_payment(n);
        match deliver(&e, &body, t) {
            Ok(_) => continue,
            Err(err) => {
                assert_store_error(Err(err), ErrorCode::StoreFull);
                failed_at = Some(n);
                break;
            }
        }
    }
    let failed_at = failed_at.expect("the disk never filled up");
    let stored = rows(path);
    assert_eq!(
        stored[0].1 as usize, failed_at,
        "events: {stored:?} vs {before:?}"
    );
    let events_before_fault = stored.clone();

    std::fs::remove_file(filler).unwrap();
    let (body, t) = failed_payment(failed_at);
    let h = deliver(&e, &body, t).unwrap();
    assert_eq!((h.outcome, h.jobs.len()), (Outcome::Processed, 1));
    let after = rows(path);
    assert_eq!(after[0].1, events_before_fault[0].1 + 1);
    assert_eq!(
        after[5].1,
        events_before_fault[5].1 + 1,
        "exactly the one new job"
    );
    drop(e);
}

#[test]
fn database_size_limit_is_store_full_and_raising_it_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cap.db");
    let path = path.to_str().unwrap();
    let e = engine_at(path);
    let (body, t) = failed_payment(1);
    deliver(&e, &body, t).unwrap();
    let pages: i64 = Connection::open(path)
        .unwrap()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    e.with_store_hooks(|h| h.set_pragma("max_page_count", pages))
        .unwrap();
    let before = rows(path);
    let mut failures = 0;
    for n in 2..200 {
        let (body, t) = failed_payment(n);
        if let Err(err) = deliver(&e, &body, t) {
            assert_store_error(Err(err), ErrorCode::StoreFull);
            failures += 1;
            let n_events = rows(path)[0].1;
            assert_eq!(n_events, before[0].1 + (n as i64 - 2));
            break;
        }
    }
    assert_eq!(failures, 1, "the size limit was never reached");
    e.with_store_hooks(|h| h.set_pragma("max_page_count", 1 << 30))
        .unwrap();
    let (count_before, jobs_before) = (rows(path)[0].1, rows(path)[5].1);
    let n = count_before as usize + 1;
    let (body, t) = failed_payment(n);
    assert_eq!(deliver(&e, &body, t).unwrap().outcome, Outcome::Processed);
    assert_eq!(rows(path)[0].1, count_before + 1);
    assert_eq!(rows(path)[5].1, jobs_before + 1);
    assert_eq!(failed_log_rows(&e, ErrorCode::StoreFull), 1);
}

#[test]
fn read_only_connection_is_store_readonly_and_processing_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    let path = path.to_str().unwrap();
    let e = engine_at(path);
    let (body, t) = failed_payment(1);
    e.with_store_hooks(|h| h.set_pragma("query_only", 1))
        .unwrap();
    let before = rows(path);
    assert_store_error(deliver(&e, &body, t), ErrorCode::StoreReadonly);
    assert_eq!(rows(path), before);
    // Reads keep working while writes are refused.
    assert!(!e.access("cus_1", t).unwrap().has_access);
    e.with_store_hooks(|h| h.set_pragma("query_only", 0))
        .unwrap();
    assert_eq!(deliver(&e, &body, t).unwrap().outcome, Outcome::Processed);
    // The failure was logged with the next successful write.
    assert_eq!(failed_log_rows(&e, ErrorCode::StoreReadonly), 1);
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// A database file the process may read but not write (a deployment whose app user does not
/// own the file). Root ignores file modes, so as root the check runs in a child process that
/// `setpriv` has dropped to `nobody`.
#[test]
fn read_only_database_file_is_store_readonly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro_file.db");
    let path_s = path.to_str().unwrap().to_owned();
    let e = engine_at(&path_s);
    let (body, t) = failed_payment(1);
    deliver(&e, &body, t).unwrap();
    e.close().unwrap();
    drop(e);
    set_mode(dir.path(), 0o777);
    set_mode(&path, 0o444);
    let before = rows(&path_s);
    let code = if running_as_root() {
        let exe = std::env::current_exe().unwrap();
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&exe)
            .args([
                "--ignored",
                "--exact",
                "child_opens_read_only_file",
                "--nocapture",
            ])
            .env("TB_RO_DB", &path_s)
            .output();
        let Ok(out) = out else {
            eprintln!("NOTICE: skipped: running as root and setpriv is not available");
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() && text.contains("Permission denied") {
            eprintln!("NOTICE: skipped: nobody cannot run the test binary here");
            return;
        }
        assert!(out.status.success(), "child failed: {text}");
        text.lines()
            .find_map(|l| l.strip_prefix("CODE="))
            .expect("child printed no code")
            .to_owned()
    } else {
        open_read_only_and_deliver(&path_s)
    };
    assert_eq!(code, "STORE_READONLY");
    assert_eq!(rows(&path_s), before);
    // The operator fixes the permissions: processing resumes.
    set_mode(&path, 0o644);
    let e = engine_at(&path_s);
    let (body, t) = failed_payment(2);
    assert_eq!(deliver(&e, &body, t).unwrap().outcome, Outcome::Processed);
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Opens the read-only file and delivers; returns the error code (the open may already fail).
fn open_read_only_and_deliver(path: &str) -> String {
    match Engine::open(Config::new(path, &[SECRET]).unwrap()) {
        Err(e) => {
            assert!(!e.message().is_empty());
            e.code().as_str().to_owned()
        }
        Ok(e) => {
            let (body, t) = failed_payment(2);
            let err = deliver(&e, &body, t).expect_err("a write to a read-only file succeeded");
            err.code().as_str().to_owned()
        }
    }
}

#[test]
#[ignore = "child process entry of read_only_database_file_is_store_readonly"]
fn child_opens_read_only_file() {
    let Ok(path) = std::env::var("TB_RO_DB") else {
        return;
    };
    println!("\nCODE={}", open_read_only_and_deliver(&path));
}

#[test]
fn corrupt_database_is_store_corrupt_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.db");
    let path_s = path.to_str().unwrap().to_owned();
    let e = engine_at(&path_s);
    let events = many_histories(6);
    for (_, created, body) in &events {
        deliver(&e, body, *created).unwrap();
    }
    e.close().unwrap();
    drop(e); // the last connection checkpoints the WAL into the file
    let good = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(
        good.len() >= 4 * page,
        "database too small to corrupt: {}",
        good.len()
    );
    // Overwrite the b-tree page headers of every page but the first (the schema stays
    // readable, every table and index is garbage).
    let mut bad = good.clone();
    for p in (page..bad.len()).step_by(page) {
        bad[p..p + 64].fill(0xEE);
    }
    std::fs::write(&path, &bad).unwrap();

    let err = match Engine::open(Config::new(&path_s, &[SECRET]).unwrap()) {
        Err(err) => err,
        Ok(e) => {
            let (body, t) = failed_payment(1);
            let err = deliver(&e, &body, t).expect_err("delivered into a corrupt database");
            let read = e
                .access("cus_1", T0)
                .expect_err("read from a corrupt database");
            assert_eq!(read.code(), ErrorCode::StoreCorrupt, "{read}");
            err
        }
    };
    assert!(
        matches!(
            err.code(),
            ErrorCode::StoreCorrupt | ErrorCode::StoreOpenFailed
        ),
        "{err}"
    );
    assert!(!err.code().is_client_error());
    let msg = err.to_string();
    assert!(
        msg.contains("malformed") || msg.contains("not a database"),
        "{msg}"
    );

    // Restoring the file (from a backup) clears the fault: the events are still known.
    std::fs::write(&path, &good).unwrap();
    let e = engine_at(&path_s);
    let (_, created, body) = &events[0];
    assert_eq!(
        deliver(&e, body, *created).unwrap().outcome,
        Outcome::Duplicate
    );
}

#[test]
fn a_failure_between_any_two_ingest_steps_rolls_back_the_whole_delivery() {
    for point in FaultPoint::ALL {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fp.db");
        let path = path.to_str().unwrap();
        let e = engine_at(path);
        let events = history(1, Shape::Basil);
        // Everything up to the failed payment, then the failed payment under the fault.
        let (failing, rest) = events.split_at(4);
        for (_, created, body) in failing {
            deliver(&e, body, *created).unwrap();
        }
        let (id, created, body) = &rest[0];
        let before = rows(path);
        let access_before = e.access("cus_1", created + 1).unwrap();
        e.set_fault_point(Some(point));
        let msg = assert_store_error(deliver(&e, body, *created), ErrorCode::StoreError);
        assert!(msg.contains("injected"), "{point:?}: {msg}");
        // Nothing of the delivery remains; the failure itself is in the log.
        assert_eq!(rows(path), before, "{point:?} left part of the delivery");
        assert!(
            e.invoices("cus_1")
                .unwrap()
                .iter()
                .all(|i| i.id != "in_1_2")
        );
        assert_eq!(e.access("cus_1", created + 1).unwrap(), access_before);
        // Stripe retries: the same delivery goes through once the fault clears.
        e.set_fault_point(None);
        let h = deliver(&e, body, *created).unwrap();
        assert_eq!(h.outcome, Outcome::Processed, "{point:?}");
        assert_eq!(h.jobs.len(), 1, "{point:?}: {:?}", h.jobs);
        assert_eq!(h.event_id, *id);
        // The failure is in the delivery log (buffered while the store failed, written with
        // this successful delivery).
        assert_eq!(failed_log_rows(&e, ErrorCode::StoreError), 1, "{point:?}");
        for (_, created, body) in &rest[1..] {
            deliver(&e, body, *created).unwrap();
        }
        let oracle = engine();
        for (_, created, body) in &events {
            deliver(&oracle, body, *created).unwrap();
        }
        assert_eq!(state_digest(&e, 1), state_digest(&oracle, 1), "{point:?}");
        assert_eq!(
            rows(path)[5].1 as usize,
            oracle.jobs(&Default::default()).unwrap().len()
        );
    }
}
