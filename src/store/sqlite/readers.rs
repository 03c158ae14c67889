//! Connections of their own for the duplicate check, beside the one that writes.
//!
//! Why: with group commit, deliveries in flight must reach the commit queue while a batch is
//! being written. On the one write connection (behind its mutex) their dedupe read would
//! wait for the whole batch, then run one at a time, and every delivery would end up leading
//! a transaction of its own. In WAL mode a reader on another connection reads the last
//! committed snapshot without waiting for the writer, so the check runs beside the write.
//! A file database only (each `:memory:` connection is a database of its own).

use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::Result;

/// Idle read connections kept for reuse (more may be open for a moment under a burst).
const KEEP_IDLE: usize = 16;

/// The read connections of one store.
pub(crate) struct Readers {
    path: String,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Readers for the database at `path`; `None` for an in-memory database.
    pub(crate) fn new(path: &str, busy_timeout: Duration) -> Option<Readers> {
        (path != ":memory:").then(|| Readers {
            path: path.to_owned(),
            busy_timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn connect(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(self.busy_timeout)?;
        // Reads only: a bug that wrote through here would fail instead.
        conn.pragma_update(None, "query_only", 1)?;
        Ok(conn)
    }

    /// Whether an event id is stored, as of the last commit.
    pub(crate) fn event_exists(&self, id: &str) -> Result<bool> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => self.connect()?,
        };
        let found = conn
            .prepare_cached("SELECT 1 FROM events WHERE id = ?1")
            .and_then(|mut st| st.exists([id]))?;
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < KEEP_IDLE {
            idle.push(conn);
        }
        Ok(found)
    }
}
