//! Exponential backoff with full jitter for every retry loop in this crate
//! (relay rounds, broker reconnects, consumer restarts), so a dead broker or
//! database is never hammered and many processes do not retry in lockstep.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Backoff state of one retry loop.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial: initial.max(Duration::from_millis(1)),
            max: max.max(initial),
            attempt: 0,
        }
    }

    /// Failures since the last success.
    pub(crate) fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The delay before the next try: a random duration up to
    /// `initial * 2^attempt`, capped at `max`.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let exponent = self.attempt.min(20);
        self.attempt = self.attempt.saturating_add(1);
        let ceiling = self.initial.saturating_mul(1u32 << exponent).min(self.max);
        // At least half the ceiling, so the delay still grows reliably.
        let half = ceiling / 2;
        half + ceiling.mul_f64(fastrand::f64() * 0.5)
    }

    /// Starts over after a success.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Sleeps for `delay` unless `cancel` fires first; returns false when
/// cancelled.
pub(crate) async fn sleep_unless_cancelled(delay: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(delay) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_up_to_the_cap_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let first = backoff.next_delay();
        assert!(
            first >= Duration::from_millis(50) && first <= Duration::from_millis(100),
            "{first:?}"
        );
        for _ in 0..10 {
            backoff.next_delay();
        }
        let capped = backoff.next_delay();
        assert!(
            capped >= Duration::from_secs(1) && capped <= Duration::from_secs(2),
            "{capped:?}"
        );
        assert_eq!(backoff.attempt(), 12);
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }
}
