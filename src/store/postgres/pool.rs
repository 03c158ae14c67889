//! A small, lazy, synchronous connection pool.
//!
//! Why not r2d2: it opens connections on its own background threads and, while the server is
//! down, makes every caller wait out the whole checkout timeout retrying, where a webhook
//! should fail fast with `STORE_UNAVAILABLE` so Stripe retries later; it also keeps three
//! threads per pool. (deadpool is async; the engine's API is synchronous.) This pool is a
//! mutex, a condvar and a stack of idle clients:
//! - lazy: nothing connects until a call needs a connection, so a serverless cold start pays
//!   for one connection, not a pool;
//! - at most `size` connections; a caller waits up to `wait` for one to come back, then gets
//!   `STORE_UNAVAILABLE`;
//! - a connect runs on the caller's thread with the connect timeout; a refused connection
//!   fails at once;
//! - a connection that failed at the transport level is dropped, never handed out again, so
//!   the pool heals by itself after a server restart.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::errors;
use crate::error::{Error, ErrorCode, Result};

struct State {
    idle: Vec<Client>,
    /// Connections handed out or idle.
    open: usize,
}

/// The pool. `Sync`: any thread may take a connection.
pub(super) struct Pool {
    config: postgres::Config,
    tls: Option<MakeRustlsConnect>,
    size: usize,
    wait: Duration,
    state: Mutex<State>,
    freed: Condvar,
}

/// A connection on loan; goes back to the pool on drop unless marked broken.
pub(super) struct Conn<'p> {
    pool: &'p Pool,
    client: Option<Client>,
    /// Taken from the idle stack (it may have died while idle) rather than just opened.
    pub(super) reused: bool,
    broken: bool,
}

impl Pool {
    pub(super) fn new(
        config: postgres::Config,
        tls: Option<MakeRustlsConnect>,
        size: usize,
        wait: Duration,
    ) -> Pool {
        Pool {
            config,
            tls,
            size: size.max(1),
            wait,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves the counts consistent enough to go on.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a new connection (not counted: the caller reserved a slot).
    fn connect(&self) -> Result<Client> {
        let r = match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(postgres::NoTls),
        };
        r.map_err(|e| errors::map_connect(&e))
    }

    /// Takes an idle connection or opens one; waits for a free slot up to the pool timeout.
    pub(super) fn get(&self) -> Result<Conn<'_>> {
        let deadline = Instant::now() + self.wait;
        let mut st = self.lock();
        loop {
            while let Some(client) = st.idle.pop() {
                if client.is_closed() {
                    st.open -= 1;
                    continue;
                }
                return Ok(Conn {
                    pool: self,
                    client: Some(client),
                    reused: true,
                    broken: false,
                });
            }
            if st.open < self.size {
                st.open += 1;
                drop(st);
                return match self.connect() {
                    Ok(client) => Ok(Conn {
                        pool: self,
                        client: Some(client),
                        reused: false,
                        broken: false,
                    }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::new(
                    ErrorCode::StoreUnavailable,
                    format!(
                        "no free PostgreSQL connection within {:?} (pool_size {})",
                        self.wait, self.size
                    ),
                ));
            }
            st = self
                .freed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Drops every idle connection (used by `close`).
    pub(super) fn clear(&self) {
        let idle = {
            let mut st = self.lock();
            let idle = std::mem::take(&mut st.idle);
            st.open -= idle.len();
            idle
        };
        for c in idle {
            let _ = c.close();
        }
        self.freed.notify_all();
    }

    /// Connections open now (idle or on loan).
    pub(super) fn open_count(&self) -> usize {
        self.lock().open
    }
}

impl Conn<'_> {
    /// Marks the connection unusable: it is closed instead of going back to the pool.
    pub(super) fn mark_broken(&mut self) {
        self.broken = true;
    }

    pub(super) fn client(&mut self) -> &mut Client {
        self.client.as_mut().expect("client present until drop")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let keep = !self.broken && !client.is_closed();
        {
            let mut st = self.pool.lock();
            if keep {
                st.idle.push(client);
            } else {
                st.open -= 1;
                drop(st);
                drop(client);
            }
        }
        self.pool.freed.notify_one();
    }
}
