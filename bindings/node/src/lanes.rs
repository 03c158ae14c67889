//! The threads that run Promise-form webhook deliveries (`handleWebhook`).
//!
//! Why not libuv's pool, which every other Promise method uses: it has 4 threads unless
//! `UV_THREADPOOL_SIZE` is set before the pool first starts (in a Next.js app, long before our
//! module loads), and a delivery waiting for its group commit blocks the thread it runs on. On
//! libuv's pool at most 4 deliveries would be in the engine at once, so at most 4 could share
//! a transaction however many requests are in flight, and the app's `fs`, `crypto` and `dns`
//! work would queue behind them. These lanes are threads of their own: up to [`MAX_LANES`]
//! (the engine's batch bound), started on demand and then kept, idle ones asleep on a condvar.
//! A lone request on an idle process runs on an already started lane at once.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, OnceLock};

/// Most lanes: the engine writes at most 32 deliveries per transaction, so more threads
/// would only wait. Requests beyond it queue here, in arrival order.
pub const MAX_LANES: usize = 32;

type Job = Box<dyn FnOnce() + Send>;

struct State {
    queue: VecDeque<Job>,
    /// Lanes asleep waiting for work.
    idle: usize,
    /// Lanes started.
    started: usize,
}

struct Lanes {
    state: Mutex<State>,
    work: Condvar,
}

fn lanes() -> &'static Lanes {
    static LANES: OnceLock<Lanes> = OnceLock::new();
    LANES.get_or_init(|| Lanes {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            idle: 0,
            started: 0,
        }),
        work: Condvar::new(),
    })
}

/// Runs `job` on a lane. The job must not panic (callers wrap the engine call in
/// `error::catch`); it settles its Promise itself.
pub fn run(job: Job) {
    let lanes = lanes();
    let mut st = lanes.state.lock().unwrap_or_else(|p| p.into_inner());
    st.queue.push_back(job);
    if st.queue.len() > st.idle && st.started < MAX_LANES {
        st.started += 1;
        let spawned = std::thread::Builder::new()
            .name("tollbooth-lane".into())
            .spawn(move || lane(lanes));
        if spawned.is_err() {
            // No thread to be had: the started lanes (if any) drain the queue; with none,
            // run it here rather than never.
            st.started -= 1;
            if st.started == 0 {
                let job = st.queue.pop_back().expect("just queued");
                drop(st);
                job();
                return;
            }
        }
    }
    drop(st);
    lanes.work.notify_one();
}

/// One lane: takes jobs in arrival order until the process exits.
fn lane(lanes: &Lanes) {
    let mut st = lanes.state.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if let Some(job) = st.queue.pop_front() {
            drop(st);
            job();
            st = lanes.state.lock().unwrap_or_else(|p| p.into_inner());
            continue;
        }
        st.idle += 1;
        st = lanes.work.wait(st).unwrap_or_else(|p| p.into_inner());
        st.idle -= 1;
    }
}
