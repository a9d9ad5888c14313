//! Retries of one export: exponential backoff with jitter, or the delay the collector asked
//! for (HTTP `Retry-After`, gRPC `RetryInfo`), never past the export's deadline.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// Retries after the first try.
const MAX_RETRIES: u32 = 3;
/// The first backoff; it doubles at each retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Why one try failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// Worth another try, after `after` if the collector said so.
    Transient {
        message: String,
        after: Option<Duration>,
    },
    /// Trying again would fail the same way.
    Permanent(String),
}

/// The failure a whole export ends with.
#[derive(Debug)]
pub(super) enum Outcome {
    /// `retryable`: the last try failed for a reason that may pass (the spool keeps it).
    Failed { message: String, retryable: bool },
    /// Rejected points (partial success); never retried.
    Rejected(super::response::Rejected),
}

/// Runs `attempt` until it succeeds, fails permanently, has been retried [`MAX_RETRIES`]
/// times, or the next wait would end after `deadline`. The caller bounds the whole by the
/// deadline too: a try in progress at the deadline is cut off there.
pub(super) async fn with_retries<F, Fut>(deadline: Instant, mut attempt: F) -> Result<(), Outcome>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Result<(), super::response::Rejected>, Failure>>,
{
    let mut backoff = FIRST_BACKOFF;
    for retry in 0..=MAX_RETRIES {
        let (message, after) = match attempt().await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(rejected)) => return Err(Outcome::Rejected(rejected)),
            Err(Failure::Permanent(message)) => {
                return Err(Outcome::Failed {
                    message,
                    retryable: false,
                })
            }
            Err(Failure::Transient { message, after }) => (message, after),
        };
        if retry == MAX_RETRIES {
            return Err(Outcome::Failed {
                message: format!("{message} (after {MAX_RETRIES} retries)"),
                retryable: true,
            });
        }
        // Jitter of up to half the backoff spreads the retries of many exporters.
        let wait = after.unwrap_or_else(|| backoff + backoff.mul_f64(fastrand::f64() / 2.0));
        if Instant::now() + wait > deadline {
            return Err(Outcome::Failed {
                message: format!(
                    "{message} (a retry after {wait:.1?} would end after the timeout)"
                ),
                retryable: true,
            });
        }
        tokio::time::sleep(wait).await;
        backoff *= 2;
    }
    unreachable!("the loop returns at its last retry")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn transient(after: Option<Duration>) -> Failure {
        Failure::Transient {
            message: "busy".to_owned(),
            after,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn backs_off_exponentially_then_gives_up() {
        let tries = AtomicU32::new(0);
        let started = Instant::now();
        let deadline = started + Duration::from_secs(10);
        let result = with_retries(deadline, || async {
            tries.fetch_add(1, Ordering::Relaxed);
            Err(transient(None))
        })
        .await;
        assert_eq!(tries.load(Ordering::Relaxed), 4);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(700), "{waited:?}");
        assert!(waited <= Duration::from_millis(1050), "{waited:?}");
        assert!(
            matches!(result, Err(Outcome::Failed { message, retryable: true }) if message.contains("busy"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn honours_the_delay_asked_for_unless_it_passes_the_deadline() {
        let started = Instant::now();
        let tries = AtomicU32::new(0);
        let result = with_retries(started + Duration::from_secs(2), || async {
            match tries.fetch_add(1, Ordering::Relaxed) {
                0 => Err(transient(Some(Duration::from_millis(1500)))),
                _ => Ok(Ok(())),
            }
        })
        .await;
        assert!(result.is_ok());
        assert_eq!(started.elapsed(), Duration::from_millis(1500));

        let started = Instant::now();
        let result = with_retries(started + Duration::from_secs(2), || async {
            Err(transient(Some(Duration::from_secs(5))))
        })
        .await;
        assert!(matches!(result, Err(Outcome::Failed { .. })));
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
