//! The adaptive limiter in front of a simulated backend driven at ten times
//! its capacity, in simulated time: the limit must settle where admitted
//! calls stay fast and the backend stays busy, shedding Sheddable and
//! Normal calls before Critical ones.

#![allow(clippy::unwrap_used)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use zhongtai_mesh::{AdaptiveConfig, AdaptiveLimiter, AdaptivePermit, Priority};

/// Calls the backend serves at once without slowing down.
const CAPACITY: usize = 20;
/// Latency of one call when the backend is not saturated.
const BASE_MICROS: u64 = 10_000;
/// Offered load as a multiple of what the backend can serve.
const OVERLOAD: u64 = 10;
const SIMULATED_MICROS: u64 = 10_000_000;
/// Statistics only count from here, once the limit had time to settle.
const SETTLED_FROM_MICROS: u64 = 5_000_000;

/// A backend whose latency grows with concurrency beyond its capacity:
/// `base * max(1, in_flight / capacity)`, so it serves at most
/// `CAPACITY / BASE` calls per second whatever it is sent.
fn latency_micros(in_flight: usize) -> u64 {
    let load = in_flight as f64 / CAPACITY as f64;
    (BASE_MICROS as f64 * load.max(1.0)) as u64
}

/// One in every hundred calls is Critical, four in ten Sheddable.
fn priority_of(call: u64) -> Priority {
    if call.is_multiple_of(100) {
        Priority::Critical
    } else if call % 10 < 4 {
        Priority::Sheddable
    } else {
        Priority::Normal
    }
}

#[derive(Default, Debug)]
struct Tally {
    offered: [u64; 3],
    admitted: [u64; 3],
    completed: u64,
    latencies_micros: Vec<u64>,
}

fn rank(priority: Priority) -> usize {
    match priority {
        Priority::Sheddable => 0,
        Priority::Normal => 1,
        Priority::Critical => 2,
    }
}

struct Running {
    permit: AdaptivePermit,
    admitted_at: u64,
    finishes_at: u64,
}

#[tokio::test(start_paused = true)]
async fn settles_near_baseline_latency_with_full_goodput_at_ten_times_capacity() {
    let limiter = AdaptiveLimiter::new(AdaptiveConfig {
        initial_limit: 100,
        normal_percent: 80,
        probe_interval: Duration::from_secs(2),
        ..AdaptiveConfig::new(1000)
    });
    let interarrival_micros = BASE_MICROS / (CAPACITY as u64 * OVERLOAD);

    let mut running: HashMap<u64, Running> = HashMap::new();
    let mut completions: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
    let mut tally = Tally::default();
    let mut clock_micros = 0u64;
    let mut next_call = 0u64;
    let mut limits_seen = Vec::new();

    loop {
        let next_arrival = next_call * interarrival_micros;
        let next_completion = completions.peek().map(|Reverse((at, _))| *at);
        let now = match next_completion {
            Some(at) if at <= next_arrival => at,
            _ => next_arrival,
        };
        if now >= SIMULATED_MICROS {
            break;
        }
        // The limiter reads tokio's clock; keep it within a millisecond of
        // simulated time.
        if now >= clock_micros + 1000 {
            tokio::time::advance(Duration::from_micros(now - clock_micros)).await;
            clock_micros = now;
        }
        let settled = now >= SETTLED_FROM_MICROS;

        if next_completion == Some(now) {
            let Some(Reverse((_, call))) = completions.pop() else {
                unreachable!("peeked above");
            };
            let done = running.remove(&call).unwrap();
            let latency = done.finishes_at - done.admitted_at;
            done.permit.complete(Duration::from_micros(latency), false);
            if done.admitted_at >= SETTLED_FROM_MICROS {
                tally.completed += 1;
                tally.latencies_micros.push(latency);
            }
            continue;
        }

        let priority = priority_of(next_call);
        if settled {
            tally.offered[rank(priority)] += 1;
        }
        if let Ok(permit) = limiter.try_acquire(priority) {
            let finishes_at = now + latency_micros(limiter.in_flight());
            running.insert(
                next_call,
                Running {
                    permit,
                    admitted_at: now,
                    finishes_at,
                },
            );
            completions.push(Reverse((finishes_at, next_call)));
            if settled {
                tally.admitted[rank(priority)] += 1;
            }
        }
        if next_call.is_multiple_of(20_000) {
            limits_seen.push(limiter.limit());
        }
        next_call += 1;
    }

    tally.latencies_micros.sort_unstable();
    let p99 = tally.latencies_micros[tally.latencies_micros.len() * 99 / 100];
    let measured_seconds = (SIMULATED_MICROS - SETTLED_FROM_MICROS) as f64 / 1e6;
    let capacity_per_second = CAPACITY as f64 * 1e6 / BASE_MICROS as f64;
    let goodput = tally.completed as f64 / measured_seconds / capacity_per_second;
    let admitted_share = |priority: Priority| {
        tally.admitted[rank(priority)] as f64 / tally.offered[rank(priority)] as f64
    };
    let report = format!(
        "p99 {p99} µs, goodput {goodput:.3} of capacity, admitted shares \
         sheddable {:.3} normal {:.3} critical {:.3}, limits over time {limits_seen:?}",
        admitted_share(Priority::Sheddable),
        admitted_share(Priority::Normal),
        admitted_share(Priority::Critical),
    );
    println!("{report}");

    assert!(p99 <= 3 * BASE_MICROS, "admitted calls stay fast: {report}");
    assert!(goodput >= 0.9, "the backend stays busy: {report}");
    assert!(
        admitted_share(Priority::Critical) >= 0.95,
        "critical calls keep getting through: {report}"
    );
    assert!(
        admitted_share(Priority::Sheddable) < admitted_share(Priority::Normal),
        "sheddable calls are refused before normal ones: {report}"
    );
    assert!(
        admitted_share(Priority::Normal) < 0.2,
        "at ten times capacity most normal calls are refused: {report}"
    );
    assert!(
        limiter.shed_total(Priority::Sheddable) > limiter.shed_total(Priority::Critical),
        "{report}"
    );
}
