//! Load generators: a closed loop (a fixed number of callers, each calling
//! again as soon as its call ends) and an open loop (calls started at a
//! fixed rate whatever the answers, with a bound on those outstanding).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::client::{CallOutcome, Target};
use crate::stats::{Latencies, nanos};

/// Counts and latencies of one measured interval.
#[derive(Debug, Default)]
pub struct Tally {
    /// Calls answered OK with the expected response.
    pub ok: u64,
    /// Calls refused (shed or limited).
    pub rejected: u64,
    /// Calls failed otherwise.
    pub failed: u64,
    /// Non-OK answers by gRPC code name.
    pub codes: BTreeMap<String, u64>,
    ok_nanos: Vec<u64>,
    rejected_nanos: Vec<u64>,
}

impl Tally {
    fn record(&mut self, outcome: CallOutcome, latency: Duration) {
        match outcome {
            CallOutcome::Ok => {
                self.ok += 1;
                self.ok_nanos.push(nanos(latency));
            }
            CallOutcome::Rejected(code) => {
                self.rejected += 1;
                self.rejected_nanos.push(nanos(latency));
                *self.codes.entry(format!("{code:?}")).or_default() += 1;
            }
            CallOutcome::Failed(code) => {
                self.failed += 1;
                *self.codes.entry(format!("{code:?}")).or_default() += 1;
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.rejected += other.rejected;
        self.failed += other.failed;
        for (code, count) in other.codes {
            *self.codes.entry(code).or_default() += count;
        }
        self.ok_nanos.extend(other.ok_nanos);
        self.rejected_nanos.extend(other.rejected_nanos);
    }

    /// Latencies of the OK calls.
    pub fn ok_latencies(&self) -> Latencies {
        Latencies::from_nanos(self.ok_nanos.clone())
    }

    /// Latencies of the refused calls.
    pub fn rejection_latencies(&self) -> Latencies {
        Latencies::from_nanos(self.rejected_nanos.clone())
    }
}

/// What a closed-loop interval measured.
#[derive(Debug)]
pub struct ClosedRun {
    pub tally: Tally,
    /// From the first call to the end of the last.
    pub elapsed: Duration,
}

impl ClosedRun {
    /// OK calls per second.
    pub fn ok_per_sec(&self) -> f64 {
        self.tally.ok as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// `concurrency` callers call back to back for `duration`; calls in flight
/// at the deadline finish and count.
pub async fn closed_loop(target: &Target, concurrency: usize, duration: Duration) -> ClosedRun {
    let started = Instant::now();
    let deadline = started + duration;
    let mut callers = JoinSet::new();
    for index in 0..concurrency.max(1) {
        let mut client = target.client(index);
        callers.spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let call_started = Instant::now();
                let outcome = client.call().await;
                tally.record(outcome, call_started.elapsed());
            }
            tally
        });
    }
    let mut tally = Tally::default();
    while let Some(joined) = callers.join_next().await {
        match joined {
            Ok(part) => tally.merge(part),
            Err(_) => tally.failed += 1,
        }
    }
    ClosedRun {
        tally,
        elapsed: started.elapsed(),
    }
}

/// What an open-loop interval measured.
#[derive(Debug)]
pub struct OpenRun {
    pub tally: Tally,
    /// Calls started.
    pub sent: u64,
    /// Calls not started because `max_outstanding` were still unanswered.
    pub not_sent: u64,
    /// The sending interval.
    pub elapsed: Duration,
}

impl OpenRun {
    /// Calls started per second.
    pub fn sent_per_sec(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// OK answers per second of the sending interval.
    pub fn ok_per_sec(&self) -> f64 {
        self.tally.ok as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Longest the open loop waits for outstanding calls after sending stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts calls at `rate` per second for `duration`, over `connections`
/// workers' clients, never more than `max_outstanding` unanswered.
pub async fn open_loop(
    target: &Target,
    rate: f64,
    duration: Duration,
    connections: usize,
    max_outstanding: usize,
) -> OpenRun {
    let clients: Vec<_> = (0..connections.max(1)).map(|i| target.client(i)).collect();
    let permits = Arc::new(Semaphore::new(max_outstanding.max(1)));
    let mut calls = JoinSet::new();
    let mut tally = Tally::default();
    let (mut sent, mut not_sent) = (0u64, 0u64);
    let started = Instant::now();
    let mut due_total = 0u64;
    loop {
        let elapsed = started.elapsed();
        if elapsed >= duration {
            break;
        }
        let due = (elapsed.as_secs_f64() * rate) as u64;
        while due_total < due {
            due_total += 1;
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                not_sent += 1;
                continue;
            };
            let mut client = clients[(due_total as usize) % clients.len()].clone();
            sent += 1;
            calls.spawn(async move {
                let call_started = Instant::now();
                let outcome = client.call().await;
                drop(permit);
                (outcome, call_started.elapsed())
            });
        }
        while let Some(joined) = calls.try_join_next() {
            collect(&mut tally, joined);
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let elapsed = started.elapsed();
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while let Some(joined) = calls.join_next().await {
            collect(&mut tally, joined);
        }
    })
    .await;
    if drained.is_err() {
        // Still unanswered after the drain timeout: count them as failed.
        tally.failed += calls.len() as u64;
        calls.abort_all();
    }
    OpenRun {
        tally,
        sent,
        not_sent,
        elapsed,
    }
}

fn collect(tally: &mut Tally, joined: Result<(CallOutcome, Duration), tokio::task::JoinError>) {
    match joined {
        Ok((outcome, latency)) => tally.record(outcome, latency),
        Err(_) => tally.failed += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_separates_ok_rejected_and_failed() {
        let mut tally = Tally::default();
        tally.record(CallOutcome::Ok, Duration::from_micros(10));
        tally.record(
            CallOutcome::Rejected(tonic::Code::ResourceExhausted),
            Duration::from_micros(3),
        );
        tally.record(
            CallOutcome::Failed(tonic::Code::Internal),
            Duration::from_micros(99),
        );
        let mut other = Tally::default();
        other.record(CallOutcome::Ok, Duration::from_micros(20));
        tally.merge(other);

        assert_eq!((tally.ok, tally.rejected, tally.failed), (2, 1, 1));
        assert_eq!(tally.codes.get("ResourceExhausted"), Some(&1));
        assert_eq!(tally.codes.get("Internal"), Some(&1));
        assert_eq!(tally.ok_latencies().quantile_micros(1.0), Some(20.0));
        assert_eq!(tally.rejection_latencies().quantile_micros(1.0), Some(3.0));
    }
}
