//! Adaptive, priority-aware admission for a front door that calls the
//! limiter itself rather than through a tower stack.
//!
//! A fixed concurrency limit is either too low (wasted capacity on a good
//! day) or too high (a queue, and latency for everyone, on a bad one). The
//! limit here follows the backend instead, with a latency gradient as in
//! Netflix's Gradient2 and Envoy's adaptive concurrency: while calls finish
//! as fast as the baseline the limit grows by a queue allowance of
//! `sqrt(limit)`; once they slow down it shrinks in proportion
//! (`baseline / recent`, never below half per step), and an explicit
//! overload signal (timeout, `RESOURCE_EXHAUSTED`) cuts it like the worst
//! gradient. Little's law makes this settle where in-flight calls just
//! cover the backend's capacity, so admitted calls keep near-baseline
//! latency and the excess is refused at once instead of waiting.
//!
//! Choices, and why:
//! - The hot path (`try_acquire`) is one atomic load and one
//!   compare-and-swap; completions add to atomic window counters, and only
//!   the completion that fills a window of `window_samples` takes a
//!   `try_lock` to recompute the limit. Nobody ever waits on that lock: a
//!   completion that finds it taken just leaves its sample in the next
//!   window. Windows count samples, not time, so a quiet service is not
//!   judged on three calls and a busy one updates every few milliseconds.
//! - The baseline is not a slow average of all latencies: under sustained
//!   overload such an average drifts up with the queue it should detect,
//!   and the limit follows it up without end. Instead the baseline is
//!   measured the way Envoy does it, by briefly pinning the limit to
//!   `min_limit` (a "probe") and averaging calls admitted at that low
//!   concurrency. Probes run at start-up, every `probe_interval`, and
//!   whenever the limit has halved since the last one: a backend that got
//!   slower at any concurrency then gets a new baseline quickly instead of
//!   being starved. Between probes a faster window may lower the baseline.
//! - The limit does not grow while the window's peak in-flight stayed below
//!   half of it: light traffic says nothing about what the backend can
//!   take, and an inflated limit would let the next burst through whole.
//! - Priorities share one count: Sheddable calls are refused once in-flight
//!   reaches `sheddable_percent` of the current limit, Normal ones at
//!   `normal_percent`, Critical ones only at the full limit, so the
//!   headroom above the Normal share is kept for Critical calls.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use tokio::time::Instant;

use super::Priority;

/// Most samples a window may take; keeps the window's latency sum far from
/// overflowing.
const MAX_WINDOW_SAMPLES: u32 = 10_000;
/// Fewest samples a window may take; fewer make the mean too noisy.
const MIN_WINDOW_SAMPLES: u32 = 8;
/// Longest latency a sample counts for: beyond it, the call was lost anyway.
const MAX_SAMPLE_LATENCY: Duration = Duration::from_secs(600);
/// The gradient never cuts the limit by more than half per window.
const MIN_GRADIENT: f64 = 0.5;

/// Bounds, shedding shares and tuning of an [`AdaptiveLimiter`].
#[derive(Clone, Debug)]
pub struct AdaptiveConfig {
    /// The limit never grows above this many calls in flight.
    pub max_limit: usize,
    /// The limit never shrinks below this (at least 1); probes run at it.
    pub min_limit: usize,
    /// Limit used after the start-up probe, before any adaptation.
    pub initial_limit: usize,
    /// Sheddable calls are refused once in-flight reaches this share
    /// (percent) of the current limit.
    pub sheddable_percent: u8,
    /// Normal calls are refused once in-flight reaches this share (percent)
    /// of the current limit; Critical ones only at the full limit.
    pub normal_percent: u8,
    /// How long refused callers are told to wait.
    pub retry_after: Duration,
    /// Completed calls per limit update (8 to 10 000).
    pub window_samples: u32,
    /// Weight of each new estimate in the limit (0.01 to 1): lower is
    /// steadier, higher reacts faster.
    pub smoothing: f64,
    /// How much slower than the baseline calls may get before the limit
    /// shrinks (1 to 4; 1.5 tolerates 50 %), so that ordinary latency noise
    /// does not hold the limit down.
    pub latency_tolerance: f64,
    /// How often the baseline latency is re-measured at `min_limit`.
    pub probe_interval: Duration,
}

impl AdaptiveConfig {
    /// Up to `max_limit` calls in flight, starting at a tenth of it;
    /// sheddable calls refused above 50 % of the current limit, normal ones
    /// above 90 %; the baseline re-measured every 15 s.
    pub fn new(max_limit: usize) -> Self {
        let max_limit = max_limit.max(1);
        let min_limit = 4.min(max_limit);
        Self {
            max_limit,
            min_limit,
            initial_limit: (max_limit / 10).clamp(min_limit, max_limit),
            sheddable_percent: 50,
            normal_percent: 90,
            retry_after: Duration::from_millis(200),
            window_samples: 32,
            smoothing: 0.2,
            latency_tolerance: 1.5,
            probe_interval: Duration::from_secs(15),
        }
    }
}

/// A call refused because the limit for its priority is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "overloaded: {priority:?} call refused at {in_flight} in flight (limit {limit}); retry after {retry_after:?}"
)]
pub struct Shed {
    /// How long the caller should wait before trying again.
    pub retry_after: Duration,
    /// The full (Critical) limit when the call was refused.
    pub limit: usize,
    /// Calls in flight when the call was refused.
    pub in_flight: usize,
    /// The refused call's priority.
    pub priority: Priority,
}

/// Concurrency limit that adapts to the backend's latency and sheds the
/// least important calls first. Clones share all state.
#[derive(Clone)]
pub struct AdaptiveLimiter {
    shared: Arc<Shared>,
}

impl AdaptiveLimiter {
    /// A limiter that starts by measuring the baseline latency at
    /// `min_limit`, then admits up to `initial_limit` and adapts.
    /// Out-of-range settings are brought into range.
    pub fn new(config: AdaptiveConfig) -> Self {
        let tuning = Tuning::from(config);
        let shared = Shared {
            admit_below: Default::default(),
            in_flight: AtomicUsize::new(0),
            epoch: AtomicU64::new(1),
            shed: Default::default(),
            window: Window::default(),
            control: Mutex::new(Control {
                limit: tuning.initial_limit,
                baseline_nanos: None,
                probing: true,
                last_probe: Instant::now(),
                limit_at_last_probe: tuning.initial_limit,
            }),
            tuning,
        };
        shared.publish(shared.tuning.min_limit as usize);
        Self {
            shared: Arc::new(shared),
        }
    }

    /// Admits a call now or refuses it at once; never waits.
    pub fn try_acquire(&self, priority: Priority) -> Result<AdaptivePermit, Shed> {
        let shared = &self.shared;
        let epoch = shared.epoch.load(Ordering::Acquire);
        let admit_below = shared.admit_below[rank(priority)].load(Ordering::Acquire);
        match shared
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                (current < admit_below).then_some(current + 1)
            }) {
            Ok(_) => Ok(AdaptivePermit {
                shared: self.shared.clone(),
                epoch,
            }),
            Err(in_flight) => {
                shared.shed[rank(priority)].fetch_add(1, Ordering::Relaxed);
                Err(Shed {
                    retry_after: shared.tuning.retry_after,
                    limit: self.limit(),
                    in_flight,
                    priority,
                })
            }
        }
    }

    /// Calls of any priority are admitted while fewer than this many are in
    /// flight (during a probe: `min_limit`).
    pub fn limit(&self) -> usize {
        self.shared.admit_below[rank(Priority::Critical)].load(Ordering::Acquire)
    }

    /// Calls admitted and not yet completed or dropped.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// Calls of `priority` refused since the limiter was created.
    pub fn shed_total(&self, priority: Priority) -> u64 {
        self.shared.shed[rank(priority)].load(Ordering::Relaxed)
    }

    /// Whether the baseline latency is being measured at `min_limit` now.
    pub fn is_probing(&self) -> bool {
        self.shared.epoch.load(Ordering::Acquire) % 2 == 1
    }
}

impl std::fmt::Debug for AdaptiveLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdaptiveLimiter")
            .field("limit", &self.limit())
            .field("in_flight", &self.in_flight())
            .field("probing", &self.is_probing())
            .finish_non_exhaustive()
    }
}

/// One admitted call. Dropping it without [`AdaptivePermit::complete`]
/// frees its slot and leaves the limit alone.
#[must_use = "dropping the permit ends the call at once"]
pub struct AdaptivePermit {
    shared: Arc<Shared>,
    /// Epoch at admission: tells probe calls from calls admitted before it.
    epoch: u64,
}

impl AdaptivePermit {
    /// The call finished; `latency` feeds the limit. `overloaded` means the
    /// backend said it was overloaded or the call timed out, a stronger
    /// signal than latency alone.
    pub fn complete(self, latency: Duration, overloaded: bool) {
        self.shared.record(self.epoch, latency, overloaded);
    }
}

impl Drop for AdaptivePermit {
    fn drop(&mut self) {
        self.shared.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for AdaptivePermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdaptivePermit")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// Index of a priority in the per-priority arrays.
fn rank(priority: Priority) -> usize {
    match priority {
        Priority::Sheddable => 0,
        Priority::Normal => 1,
        Priority::Critical => 2,
    }
}

/// [`AdaptiveConfig`] brought into range, in the units the control uses.
#[derive(Clone, Copy, Debug)]
struct Tuning {
    min_limit: f64,
    max_limit: f64,
    initial_limit: f64,
    sheddable_percent: usize,
    normal_percent: usize,
    retry_after: Duration,
    window_samples: u64,
    smoothing: f64,
    latency_tolerance: f64,
    probe_interval: Duration,
}

impl From<AdaptiveConfig> for Tuning {
    fn from(config: AdaptiveConfig) -> Self {
        let max_limit = config.max_limit.max(1);
        let min_limit = config.min_limit.clamp(1, max_limit);
        let finite_or = |value: f64, fallback: f64| {
            if value.is_finite() { value } else { fallback }
        };
        Self {
            min_limit: min_limit as f64,
            max_limit: max_limit as f64,
            initial_limit: config.initial_limit.clamp(min_limit, max_limit) as f64,
            sheddable_percent: usize::from(config.sheddable_percent.min(100)),
            normal_percent: usize::from(config.normal_percent.min(100)),
            retry_after: config.retry_after,
            window_samples: u64::from(
                config
                    .window_samples
                    .clamp(MIN_WINDOW_SAMPLES, MAX_WINDOW_SAMPLES),
            ),
            smoothing: finite_or(config.smoothing, 0.2).clamp(0.01, 1.0),
            latency_tolerance: finite_or(config.latency_tolerance, 1.5).clamp(1.0, 4.0),
            probe_interval: config.probe_interval.max(Duration::from_millis(100)),
        }
    }
}

/// State shared by a limiter's clones and its permits.
struct Shared {
    tuning: Tuning,
    /// Per priority: calls are admitted while in-flight is below this.
    admit_below: [AtomicUsize; 3],
    in_flight: AtomicUsize,
    /// Odd while a probe runs; bumped when one starts and when it ends.
    epoch: AtomicU64,
    shed: [AtomicU64; 3],
    window: Window,
    control: Mutex<Control>,
}

impl Shared {
    /// Sets the admission thresholds for a full limit of `limit`.
    fn publish(&self, limit: usize) {
        let share = |percent: usize| (limit.saturating_mul(percent) / 100).max(1);
        let t = &self.tuning;
        self.admit_below[rank(Priority::Sheddable)]
            .store(share(t.sheddable_percent), Ordering::Release);
        self.admit_below[rank(Priority::Normal)].store(share(t.normal_percent), Ordering::Release);
        self.admit_below[rank(Priority::Critical)].store(limit, Ordering::Release);
    }

    fn record(&self, admitted_in: u64, latency: Duration, overloaded: bool) {
        let current = self.epoch.load(Ordering::Acquire);
        if current % 2 == 1 && admitted_in != current {
            // Admitted before the probe at a higher concurrency: its latency
            // would spoil the baseline being measured.
            return;
        }
        let window = &self.window;
        window
            .peak_in_flight
            .fetch_max(self.in_flight.load(Ordering::Acquire), Ordering::AcqRel);
        let nanos = u64::try_from(latency.min(MAX_SAMPLE_LATENCY).as_nanos()).unwrap_or(u64::MAX);
        window.latency_nanos.fetch_add(nanos, Ordering::AcqRel);
        if overloaded {
            window.overloads.fetch_add(1, Ordering::AcqRel);
        }
        let samples = window.samples.fetch_add(1, Ordering::AcqRel) + 1;
        if samples >= self.tuning.window_samples {
            self.close_window();
        }
    }

    /// Turns a full window into a limit update, unless another completion
    /// is already doing so.
    fn close_window(&self) {
        let Some(mut control) = try_lock(&self.control) else {
            return;
        };
        if self.window.samples.load(Ordering::Acquire) < self.tuning.window_samples {
            return;
        }
        let summary = self.window.take();
        match control.on_window(&self.tuning, summary, Instant::now()) {
            Step::Adjust(limit) => self.publish(limit),
            Step::StartProbe => {
                self.publish(self.tuning.min_limit as usize);
                self.epoch.fetch_add(1, Ordering::AcqRel);
                self.window.take();
            }
            Step::EndProbe(limit) => {
                self.epoch.fetch_add(1, Ordering::AcqRel);
                self.window.take();
                self.publish(limit);
            }
        }
    }
}

/// Takes the lock if it is free; a poisoned lock still holds valid numbers.
fn try_lock<T>(mutex: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match mutex.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// Samples collected since the last limit update.
#[derive(Default)]
struct Window {
    samples: AtomicU64,
    latency_nanos: AtomicU64,
    overloads: AtomicU64,
    peak_in_flight: AtomicUsize,
}

impl Window {
    /// Empties the window, returning what it held.
    fn take(&self) -> WindowSummary {
        WindowSummary {
            samples: self.samples.swap(0, Ordering::AcqRel),
            latency_nanos: self.latency_nanos.swap(0, Ordering::AcqRel),
            overloads: self.overloads.swap(0, Ordering::AcqRel),
            peak_in_flight: self.peak_in_flight.swap(0, Ordering::AcqRel),
        }
    }
}

/// One closed window.
#[derive(Clone, Copy, Debug)]
struct WindowSummary {
    samples: u64,
    latency_nanos: u64,
    overloads: u64,
    peak_in_flight: usize,
}

impl WindowSummary {
    fn mean_nanos(&self) -> f64 {
        self.latency_nanos as f64 / self.samples.max(1) as f64
    }
}

/// What a closed window changes.
#[derive(Debug, PartialEq)]
enum Step {
    /// New full limit.
    Adjust(usize),
    /// Pin the limit to `min_limit` to measure the baseline.
    StartProbe,
    /// Baseline measured; back to this full limit.
    EndProbe(usize),
}

/// The limit computation; only the completion closing a window touches it.
#[derive(Debug)]
struct Control {
    limit: f64,
    baseline_nanos: Option<f64>,
    probing: bool,
    last_probe: Instant,
    limit_at_last_probe: f64,
}

impl Control {
    fn on_window(&mut self, tuning: &Tuning, window: WindowSummary, now: Instant) -> Step {
        let mean = window.mean_nanos().max(1.0);
        if self.probing {
            self.probing = false;
            self.baseline_nanos = Some(mean);
            self.last_probe = now;
            self.limit_at_last_probe = self.limit;
            return Step::EndProbe(self.limit as usize);
        }
        let baseline = match self.baseline_nanos {
            // A faster window means the baseline was measured high; move
            // towards it without trusting one window entirely.
            Some(baseline) if mean < baseline => baseline - (baseline - mean) / 4.0,
            Some(baseline) => baseline,
            None => mean,
        };
        self.baseline_nanos = Some(baseline);

        let (gradient, queue_allowance) = if window.overloads > 0 {
            (MIN_GRADIENT, 0.0)
        } else {
            let gradient = (tuning.latency_tolerance * baseline / mean).clamp(MIN_GRADIENT, 1.0);
            (gradient, self.limit.sqrt())
        };
        let mut estimate = self.limit * gradient + queue_allowance;
        let app_limited = (window.peak_in_flight as f64) * 2.0 < self.limit;
        if estimate > self.limit && app_limited {
            estimate = self.limit;
        }
        let smoothed = self.limit * (1.0 - tuning.smoothing) + estimate * tuning.smoothing;
        self.limit = smoothed.clamp(tuning.min_limit, tuning.max_limit);

        let probe_due = now.saturating_duration_since(self.last_probe) >= tuning.probe_interval;
        let halved = self.limit * 2.0 <= self.limit_at_last_probe;
        if probe_due || halved {
            self.probing = true;
            return Step::StartProbe;
        }
        Step::Adjust(self.limit as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(10);

    fn config() -> AdaptiveConfig {
        AdaptiveConfig {
            max_limit: 200,
            min_limit: 4,
            initial_limit: 40,
            sheddable_percent: 50,
            normal_percent: 80,
            retry_after: Duration::from_millis(250),
            window_samples: 10,
            smoothing: 0.5,
            latency_tolerance: 1.0,
            probe_interval: Duration::from_secs(3600),
        }
    }

    /// Fills the limit with Critical calls and completes them all with
    /// `latency`, `rounds` times, so every window sees full concurrency.
    fn feed(limiter: &AdaptiveLimiter, rounds: usize, latency: Duration) {
        for _ in 0..rounds {
            let permits: Vec<_> =
                std::iter::from_fn(|| limiter.try_acquire(Priority::Critical).ok())
                    .take(1000)
                    .collect();
            for permit in permits {
                permit.complete(latency, false);
            }
        }
    }

    /// A limiter whose start-up probe measured `BASE`.
    fn measured(config: AdaptiveConfig) -> AdaptiveLimiter {
        let limiter = AdaptiveLimiter::new(config);
        assert!(limiter.is_probing(), "starts by measuring the baseline");
        assert_eq!(limiter.limit(), 4, "the probe runs at min_limit");
        while limiter.is_probing() {
            limiter
                .try_acquire(Priority::Critical)
                .unwrap()
                .complete(BASE, false);
        }
        limiter
    }

    #[test]
    fn starts_with_a_probe_then_admits_the_initial_limit() {
        let limiter = measured(config());
        assert_eq!(limiter.limit(), 40);
        assert_eq!(limiter.in_flight(), 0);
    }

    #[test]
    fn sheds_sheddable_then_normal_then_critical() {
        let limiter = measured(config());
        let shed_before = [Priority::Sheddable, Priority::Normal, Priority::Critical]
            .map(|priority| limiter.shed_total(priority));
        let mut held = Vec::new();
        for _ in 0..20 {
            held.push(limiter.try_acquire(Priority::Sheddable).unwrap());
        }
        let refused = limiter.try_acquire(Priority::Sheddable).unwrap_err();
        assert_eq!(
            refused,
            Shed {
                retry_after: Duration::from_millis(250),
                limit: 40,
                in_flight: 20,
                priority: Priority::Sheddable,
            }
        );
        for _ in 0..12 {
            held.push(limiter.try_acquire(Priority::Normal).unwrap());
        }
        assert!(limiter.try_acquire(Priority::Normal).is_err());
        assert!(limiter.try_acquire(Priority::Sheddable).is_err());
        for _ in 0..8 {
            held.push(limiter.try_acquire(Priority::Critical).unwrap());
        }
        let full = limiter.try_acquire(Priority::Critical).unwrap_err();
        assert_eq!((full.in_flight, full.limit), (40, 40));
        let shed_since = [Priority::Sheddable, Priority::Normal, Priority::Critical]
            .map(|priority| limiter.shed_total(priority));
        assert_eq!(
            shed_since,
            [shed_before[0] + 2, shed_before[1] + 1, shed_before[2] + 1]
        );

        held.truncate(19);
        assert_eq!(limiter.in_flight(), 19);
        assert!(
            limiter.try_acquire(Priority::Sheddable).is_ok(),
            "dropped permits free their slots"
        );
        assert_eq!(limiter.in_flight(), 19, "the temporary permit was dropped");
    }

    /// Fills the limit and completes one window's worth of calls with
    /// `latency`; the other calls are dropped.
    fn one_window(limiter: &AdaptiveLimiter, latency: Duration) {
        let mut permits: Vec<_> =
            std::iter::from_fn(|| limiter.try_acquire(Priority::Critical).ok())
                .take(1000)
                .collect();
        assert!(permits.len() >= 10, "room for a window");
        for permit in permits.drain(..10) {
            permit.complete(latency, false);
        }
    }

    #[test]
    fn shrinks_when_latency_rises_and_grows_back_when_it_falls() {
        let limiter = measured(config());
        one_window(&limiter, BASE * 2);
        let shrunk = limiter.limit();
        assert_eq!(shrunk, 33, "40 * (0.5 + 0.5 * (0.5 + sqrt(40) / 40))");
        one_window(&limiter, BASE * 2);
        assert!(limiter.limit() < shrunk, "still slow, still shrinking");
        assert!(!limiter.is_probing());

        feed(&limiter, 20, BASE);
        let grown = limiter.limit();
        assert!(
            grown > 40,
            "baseline latency lets the limit grow past where it started, got {grown}"
        );
    }

    #[test]
    fn an_overload_signal_cuts_the_limit_even_at_baseline_latency() {
        let limiter = measured(config());
        let permits: Vec<_> = (0..10)
            .map(|_| limiter.try_acquire(Priority::Critical).unwrap())
            .collect();
        for (index, permit) in permits.into_iter().enumerate() {
            permit.complete(BASE, index == 0);
        }
        assert_eq!(limiter.limit(), 30, "40 * (0.5 + 0.5 * 0.5)");
    }

    #[test]
    fn the_limit_stays_within_its_bounds() {
        let mut small = config();
        small.max_limit = 50;
        small.min_limit = 6;
        let limiter = AdaptiveLimiter::new(small);
        while limiter.is_probing() {
            feed(&limiter, 1, BASE);
        }
        feed(&limiter, 200, BASE);
        assert_eq!(limiter.limit(), 50, "growth stops at max_limit");

        // Latency that rises without end would take the limit to nothing;
        // between the probes it triggers, it never goes below min_limit.
        for step in 1..200u32 {
            feed(&limiter, 1, BASE * step);
            assert!(limiter.limit() >= 6, "limit {} below min", limiter.limit());
            assert!(limiter.limit() <= 50);
        }
    }

    #[test]
    fn light_traffic_does_not_inflate_the_limit() {
        let limiter = measured(config());
        for _ in 0..200 {
            let permit = limiter.try_acquire(Priority::Normal).unwrap();
            permit.complete(BASE, false);
        }
        assert_eq!(
            limiter.limit(),
            40,
            "one call at a time says nothing about capacity"
        );
    }

    #[test]
    fn dropping_a_permit_frees_it_without_a_sample() {
        let limiter = measured(config());
        for _ in 0..100 {
            drop(limiter.try_acquire(Priority::Critical).unwrap());
        }
        assert_eq!(limiter.in_flight(), 0);
        assert_eq!(limiter.limit(), 40, "no samples, no change");
    }

    #[test]
    fn a_backend_slower_at_any_concurrency_gets_a_new_baseline() {
        let limiter = measured(config());
        // Twice as slow whatever the concurrency: the limit halves, which
        // triggers a probe that measures the new baseline.
        let mut probed = false;
        for _ in 0..50 {
            feed(&limiter, 1, BASE * 2);
            probed |= limiter.is_probing();
        }
        assert!(probed, "halving the limit starts a probe");
        assert!(!limiter.is_probing());
        feed(&limiter, 40, BASE * 2);
        assert!(
            limiter.limit() > 40,
            "at the new baseline the limit grows again, got {}",
            limiter.limit()
        );
    }

    #[test]
    fn calls_admitted_before_a_probe_do_not_count_towards_it() {
        let limiter = measured(config());
        let early: Vec<_> = (0..10)
            .map(|_| limiter.try_acquire(Priority::Critical).unwrap())
            .collect();
        while !limiter.is_probing() {
            feed(&limiter, 1, BASE * 10);
        }
        for permit in early {
            permit.complete(BASE * 100, false);
        }
        assert!(
            limiter.is_probing(),
            "a window of calls admitted before the probe does not end it"
        );
        feed(&limiter, 3, BASE);
        assert!(!limiter.is_probing(), "ten probe calls end it");
        let after_probe = limiter.limit();
        one_window(&limiter, BASE * 2);
        assert!(
            limiter.limit() < after_probe,
            "the probe measured BASE, so twice BASE is slow"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_baseline_is_measured_again_every_probe_interval() {
        let mut periodic = config();
        periodic.probe_interval = Duration::from_secs(10);
        let limiter = measured(periodic);
        feed(&limiter, 2, BASE);
        assert!(!limiter.is_probing());
        tokio::time::advance(Duration::from_secs(11)).await;
        feed(&limiter, 1, BASE);
        assert!(limiter.is_probing(), "the interval passed");
        assert_eq!(limiter.limit(), 4);
    }

    #[test]
    fn out_of_range_settings_are_brought_into_range() {
        let limiter = AdaptiveLimiter::new(AdaptiveConfig {
            max_limit: 0,
            min_limit: 0,
            initial_limit: 1000,
            sheddable_percent: 255,
            normal_percent: 0,
            retry_after: Duration::ZERO,
            window_samples: 0,
            smoothing: f64::NAN,
            latency_tolerance: -3.0,
            probe_interval: Duration::ZERO,
        });
        assert_eq!(limiter.limit(), 1);
        let permit = limiter.try_acquire(Priority::Normal).unwrap();
        assert!(limiter.try_acquire(Priority::Critical).is_err());
        permit.complete(Duration::MAX, true);
        assert_eq!(limiter.in_flight(), 0);
    }
}
