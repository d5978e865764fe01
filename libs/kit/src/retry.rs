//! Waiting for a dependency at start-up: retry with jittered exponential
//! backoff and one clear log line per failed attempt, until it works or the
//! process is asked to stop.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

const FIRST_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(10);

/// Runs `attempt` until it succeeds; `None` when `shutdown` fires first.
pub async fn retry_forever<T, E, F, Fut>(
    dependency: &str,
    shutdown: &CancellationToken,
    mut attempt: F,
) -> Option<T>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut delay = FIRST_DELAY;
    for attempt_number in 1u64.. {
        let result = tokio::select! {
            _ = shutdown.cancelled() => return None,
            result = attempt() => result,
        };
        match result {
            Ok(value) => {
                if attempt_number > 1 {
                    tracing::info!(
                        dependency,
                        attempts = attempt_number,
                        "dependency reachable"
                    );
                }
                return Some(value);
            }
            Err(e) => {
                let wait = jittered(delay);
                tracing::warn!(
                    dependency,
                    attempt = attempt_number,
                    retry_in_ms = wait.as_millis() as u64,
                    error = %e,
                    "dependency unreachable, retrying"
                );
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(wait) => {}
                }
                delay = (delay * 2).min(MAX_DELAY);
            }
        }
    }
    None
}

/// Between half and all of `delay`, so restarting fleets do not retry in step.
fn jittered(delay: Duration) -> Duration {
    let half = delay / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn retries_until_success() {
        let calls = AtomicU32::new(0);
        let token = CancellationToken::new();
        let value = retry_forever("test", &token, || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move { if n < 2 { Err("down") } else { Ok(n) } }
        })
        .await;
        assert_eq!(value, Some(2));
    }

    #[tokio::test]
    async fn stops_when_cancelled() {
        let token = CancellationToken::new();
        token.cancel();
        let value: Option<()> =
            retry_forever("test", &token, || async { Err::<(), _>("down") }).await;
        assert_eq!(value, None);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        for _ in 0..100 {
            let d = jittered(Duration::from_millis(100));
            assert!(d >= Duration::from_millis(50) && d <= Duration::from_millis(100));
        }
    }
}
