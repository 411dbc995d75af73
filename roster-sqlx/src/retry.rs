//! Running a write transaction again when the database gave it up for a
//! reason that a second try can cure: a serialisation failure or deadlock
//! in PostgreSQL, a lock that stayed busy in SQLite. Nothing else is
//! retried; a refused write (a duplicate, a stale version, a constraint)
//! fails at once.

use std::time::Duration;

use roster_core::StoreError;

/// Retries after the first attempt.
pub(crate) const RETRIES: u32 = 3;

/// The wait before the first retry; each later retry waits twice as long,
/// plus up to as much again at random, so that transactions that collided
/// do not collide again in step.
const FIRST_WAIT: Duration = Duration::from_millis(5);

/// When to try a failed write again, and how long to wait first.
pub(crate) struct Backoff {
    retries: u32,
    wait: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff {
            retries: 0,
            wait: FIRST_WAIT,
        }
    }

    /// Whether to try again after `err`: `retryable` accepts it and fewer
    /// than [`RETRIES`] retries were made. If so, waits first.
    pub(crate) async fn wait(
        &mut self,
        err: &StoreError,
        retryable: impl Fn(&StoreError) -> bool,
    ) -> bool {
        if self.retries >= RETRIES || !retryable(err) {
            return false;
        }
        self.retries += 1;
        let jitter = self.wait.mul_f64(fastrand::f64());
        tracing::debug!(retry = self.retries, "write transaction gave way; retrying");
        tokio::time::sleep(self.wait + jitter).await;
        self.wait *= 2;
        true
    }
}

/// Runs `$attempt` (a block that may `.await` and use `?`) until it
/// succeeds, fails with an error `$retryable` rejects, or has been retried
/// [`RETRIES`] times. A macro rather than a function taking an async
/// closure, whose future the compiler cannot yet prove `Send` for every
/// borrow, as `async_trait` requires.
macro_rules! retrying {
    ($retryable:expr, $attempt:block) => {{
        let mut backoff = $crate::retry::Backoff::new();
        loop {
            // An async block, so that `?` ends the attempt, not the caller.
            match async $attempt.await {
                Err(err) if backoff.wait(&err, $retryable).await => {}
                result => break result,
            }
        }
    }};
}
pub(crate) use retrying;

/// The sqlx error behind a backend failure, if that is what it is.
pub(crate) fn sqlx_source(err: &StoreError) -> Option<&sqlx::Error> {
    match err {
        StoreError::Backend { source, .. } => source.downcast_ref::<sqlx::Error>(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn transient() -> StoreError {
        StoreError::Backend {
            transient: true,
            source: "gave way".into(),
        }
    }

    fn conflict() -> StoreError {
        StoreError::Conflict {
            entity: "expert",
            id: "E-0001".into(),
            expected: 1,
            current: 2,
        }
    }

    fn is_backend(err: &StoreError) -> bool {
        matches!(err, StoreError::Backend { .. })
    }

    #[tokio::test]
    async fn a_retryable_failure_is_tried_again_until_it_passes() {
        let attempts = AtomicU32::new(0);
        let result = retrying!(is_backend, {
            if attempts.fetch_add(1, Ordering::Relaxed) < 2 {
                Err(transient())
            } else {
                Ok(7)
            }
        });
        assert_eq!(result.ok(), Some(7));
        assert_eq!(attempts.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn retries_stop_after_three() {
        let attempts = AtomicU32::new(0);
        let result: Result<(), _> = retrying!(is_backend, {
            attempts.fetch_add(1, Ordering::Relaxed);
            Err(transient())
        });
        assert!(matches!(result, Err(StoreError::Backend { .. })));
        assert_eq!(attempts.load(Ordering::Relaxed), 1 + RETRIES);
    }

    #[tokio::test]
    async fn other_failures_are_not_retried() {
        let attempts = AtomicU32::new(0);
        let result: Result<(), _> = retrying!(is_backend, {
            attempts.fetch_add(1, Ordering::Relaxed);
            Err(conflict())
        });
        assert!(matches!(result, Err(StoreError::Conflict { .. })));
        assert_eq!(attempts.load(Ordering::Relaxed), 1);
    }
}
