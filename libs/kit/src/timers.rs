//! Work that comes due: SLA deadlines, grant expiry. The deadlines live in
//! the database, so nothing is lost across restarts; this loop only decides
//! when to look. Each firing must be a conditional state change (a version
//! check in the same transaction as its events), so when several instances
//! look at once, exactly one of them acts.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Calls `tick` every `interval` until `stop`; a failing tick is logged and
/// retried at the next one. `tick` returns how many items it handled.
pub async fn every<F, Fut, E>(name: &str, interval: Duration, stop: CancellationToken, mut tick: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, E>>,
    E: std::fmt::Display,
{
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        match tick().await {
            Ok(0) => {}
            Ok(handled) => tracing::debug!(timer = name, handled, "due work handled"),
            Err(error) => {
                tracing::warn!(timer = name, %error, "due work failed; retrying at the next tick")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_ticking_after_a_failure_and_ends_when_stopped() {
        let stop = CancellationToken::new();
        let (ticks, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let mut n = 0;
        let task = tokio::spawn(every(
            "test",
            Duration::from_millis(5),
            stop.clone(),
            move || {
                n += 1;
                let _ = ticks.send(n);
                let result = if n == 2 { Err("database away") } else { Ok(n) };
                async move { result }
            },
        ));
        for expected in 1..=3 {
            assert_eq!(seen.recv().await, Some(expected));
        }
        stop.cancel();
        assert!(task.await.is_ok(), "the loop ends when stopped");
    }
}
