//! What to do with one HTTP attempt's result: done, wait and retry, or fail with a code.
//! Pure (the delay comes out as a value; the client's clock does the sleeping), so the whole
//! schedule is unit-tested without a server.
//!
//! The rules are the ones Stripe documents for its own SDKs: `Stripe-Should-Retry` wins when
//! present, 429 waits for `Retry-After` (or backs off), 5xx, timeouts and connection failures
//! are retried a bounded number of times, and 401/403 fail at once because no wait fixes a key.

use std::time::Duration;

use crate::error::ErrorCode;
use crate::outbox::jitter_for;

/// How hard the client retries. The defaults suit a sync or a worker: five attempts in all,
/// 0.5 s doubling to at most 8 s between them (half to full, jittered), and a server-requested
/// wait of up to 60 s honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `max_retries + 1` attempts at most).
    pub max_retries: u32,
    /// The first backoff delay.
    pub base_delay: Duration,
    /// The longest backoff delay.
    pub max_delay: Duration,
    /// The longest `Retry-After` the client waits for; a longer one fails at once with
    /// `STRIPE_RATE_LIMITED` (a worker then reschedules the job instead of blocking).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// One attempt's result, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// An HTTP answer.
    Status {
        /// The status code.
        code: u16,
        /// `Stripe-Should-Retry: true|false`, when sent.
        should_retry: Option<bool>,
        /// `Retry-After` in seconds, when sent.
        retry_after: Option<Duration>,
    },
    /// The request (or reading its answer) timed out.
    Timeout,
    /// No connection, or it broke.
    Transport,
}

/// What the client does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A 2xx: use the body.
    Done,
    /// Sleep this long, then send the request again.
    Retry(Duration),
    /// Give up with this code. `retry_after` is the server's hint, for a job's reschedule.
    Fail {
        /// The code of the error.
        code: ErrorCode,
        /// The server's `Retry-After`, when it gave one.
        retry_after: Option<Duration>,
    },
}

impl RetryPolicy {
    /// The backoff before retry number `retry` (1-based), jittered by `seq` (a per-request
    /// number, so the schedule is reproducible and a herd of requests still spreads).
    pub(crate) fn backoff(&self, retry: u32, seq: u64) -> Duration {
        let doubled = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(20));
        let capped = doubled.min(self.max_delay);
        capped.mul_f64(0.5 + 0.5 * jitter_for(seq as i64, retry))
    }

    /// Decides after attempt number `attempt` (1-based) of request `seq`.
    pub(crate) fn decide(&self, result: &Attempt, attempt: u32, seq: u64) -> Verdict {
        let can_retry = attempt <= self.max_retries;
        let backoff = self.backoff(attempt, seq);
        let fail = |code, retry_after| Verdict::Fail { code, retry_after };
        match *result {
            Attempt::Status { code, .. } if (200..300).contains(&code) => Verdict::Done,
            Attempt::Status {
                code: 401 | 403, ..
            } => fail(ErrorCode::StripeAuth, None),
            Attempt::Status {
                code,
                should_retry,
                retry_after,
            } => {
                let code_for = match code {
                    429 => ErrorCode::StripeRateLimited,
                    404 => ErrorCode::StripeNotFound,
                    500..=599 => ErrorCode::StripeUnavailable,
                    _ => ErrorCode::StripeRequestInvalid,
                };
                let retryable = should_retry.unwrap_or(matches!(code, 409 | 429 | 500..=599));
                if !retryable || !can_retry {
                    return fail(code_for, retry_after);
                }
                match retry_after {
                    Some(wait) if wait > self.max_retry_after => fail(code_for, Some(wait)),
                    Some(wait) => Verdict::Retry(wait),
                    None => Verdict::Retry(backoff),
                }
            }
            Attempt::Timeout | Attempt::Transport if can_retry => Verdict::Retry(backoff),
            Attempt::Timeout | Attempt::Transport => fail(ErrorCode::StripeUnavailable, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, should_retry: Option<bool>, retry_after: Option<u64>) -> Attempt {
        Attempt::Status {
            code,
            should_retry,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    fn failed(code: ErrorCode) -> Verdict {
        Verdict::Fail {
            code,
            retry_after: None,
        }
    }

    #[test]
    fn success_auth_and_client_errors() {
        let p = RetryPolicy::default();
        assert_eq!(p.decide(&status(200, None, None), 1, 0), Verdict::Done);
        assert_eq!(
            p.decide(&status(401, Some(true), None), 1, 0),
            failed(ErrorCode::StripeAuth)
        );
        assert_eq!(
            p.decide(&status(403, None, None), 1, 0),
            failed(ErrorCode::StripeAuth)
        );
        assert_eq!(
            p.decide(&status(404, None, None), 1, 0),
            failed(ErrorCode::StripeNotFound)
        );
        assert_eq!(
            p.decide(&status(400, None, None), 1, 0),
            failed(ErrorCode::StripeRequestInvalid)
        );
        // Stripe says a 400 is worth retrying (e.g. a lock timeout): believe it.
        assert!(matches!(
            p.decide(&status(400, Some(true), None), 1, 0),
            Verdict::Retry(_)
        ));
    }

    #[test]
    fn rate_limits_honour_retry_after_and_should_retry() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(&status(429, None, Some(7)), 1, 0),
            Verdict::Retry(Duration::from_secs(7))
        );
        assert!(matches!(
            p.decide(&status(429, None, None), 1, 0),
            Verdict::Retry(_)
        ));
        assert_eq!(
            p.decide(&status(429, Some(false), Some(2)), 1, 0),
            Verdict::Fail {
                code: ErrorCode::StripeRateLimited,
                retry_after: Some(Duration::from_secs(2))
            }
        );
        // A wait beyond the policy's patience fails at once and hands the wait on.
        assert_eq!(
            p.decide(&status(429, None, Some(3600)), 1, 0),
            Verdict::Fail {
                code: ErrorCode::StripeRateLimited,
                retry_after: Some(Duration::from_secs(3600))
            }
        );
        assert_eq!(
            p.decide(&status(429, None, None), 5, 0),
            failed(ErrorCode::StripeRateLimited)
        );
    }

    #[test]
    fn server_errors_and_timeouts_are_bounded() {
        let p = RetryPolicy::default();
        for a in 1..=4 {
            assert!(matches!(
                p.decide(&status(503, None, None), a, 9),
                Verdict::Retry(_)
            ));
            assert!(matches!(
                p.decide(&Attempt::Timeout, a, 9),
                Verdict::Retry(_)
            ));
        }
        assert_eq!(
            p.decide(&status(500, None, None), 5, 9),
            failed(ErrorCode::StripeUnavailable)
        );
        assert_eq!(
            p.decide(&Attempt::Transport, 5, 9),
            failed(ErrorCode::StripeUnavailable)
        );
        assert_eq!(
            p.decide(&status(500, Some(false), None), 1, 9),
            failed(ErrorCode::StripeUnavailable)
        );
    }

    #[test]
    fn backoff_doubles_to_the_cap_with_half_to_full_jitter() {
        let p = RetryPolicy::default();
        for retry in 1..=10u32 {
            let full = Duration::from_millis(500)
                .saturating_mul(1 << (retry - 1))
                .min(Duration::from_secs(8));
            for seq in 0..50 {
                let d = p.backoff(retry, seq);
                assert!(d >= full / 2 && d <= full, "retry {retry}: {d:?}");
            }
        }
        assert_eq!(p.backoff(3, 42), p.backoff(3, 42), "reproducible");
    }
}
