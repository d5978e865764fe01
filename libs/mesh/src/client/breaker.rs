//! A circuit breaker per backend service: after enough consecutive
//! failures, calls are refused at once for a while instead of each waiting
//! for its own timeout, which also gives the backend room to recover. Then
//! a single probe call decides whether traffic resumes.
//!
//! The caller says what a failure is (connection refused, `UNAVAILABLE`,
//! `DEADLINE_EXCEEDED`...), because only it knows that an
//! `INVALID_ARGUMENT` is the request's fault and not the backend's. Only
//! outcomes of calls admitted in the current state count: a slow call that
//! started before the breaker opened says nothing about the backend now.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// When a [`CircuitBreaker`] opens and for how long.
#[derive(Clone, Copy, Debug)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker (at least 1).
    pub failure_threshold: u32,
    /// How long an open breaker refuses calls before letting one probe
    /// through.
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    /// Opens after 5 consecutive failures, for 5 seconds.
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(5),
        }
    }
}

/// Where a [`CircuitBreaker`] stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls are admitted.
    Closed,
    /// Calls are refused until `open_for` has passed.
    Open,
    /// One probe call at a time is admitted; its outcome decides.
    HalfOpen,
}

/// A call refused because the breaker is open or its probe is out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("circuit open: backend failing; retry after {retry_after:?}")]
pub struct CircuitOpen {
    /// How long until the breaker may admit a call again.
    pub retry_after: Duration,
}

/// Consecutive-failure circuit breaker; clones share one state.
#[derive(Clone)]
pub struct CircuitBreaker {
    shared: Arc<Shared>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                failure_threshold: config.failure_threshold.max(1),
                open_for: config.open_for,
                circuit: Mutex::new(Circuit {
                    phase: Phase::Closed { failures: 0 },
                    generation: 0,
                }),
            }),
        }
    }

    /// Closed: admitted. Open: refused until `open_for` has passed, then
    /// one probe at a time (half-open); its success closes the breaker, its
    /// failure opens it again.
    pub fn try_call(&self) -> Result<BreakerPermit, CircuitOpen> {
        let now = Instant::now();
        let mut circuit = self.shared.lock();
        circuit.wake(now);
        let generation = circuit.generation;
        let probe = match &mut circuit.phase {
            Phase::Closed { .. } => false,
            Phase::Open { until } => {
                return Err(CircuitOpen {
                    retry_after: until.saturating_duration_since(now),
                });
            }
            Phase::HalfOpen { probe_out: true } => {
                // The probe's outcome is not known yet; it may reopen the
                // breaker for a full period.
                return Err(CircuitOpen {
                    retry_after: self.shared.open_for,
                });
            }
            Phase::HalfOpen { probe_out } => {
                *probe_out = true;
                true
            }
        };
        Ok(BreakerPermit {
            shared: self.shared.clone(),
            generation,
            probe,
            outcome: None,
        })
    }

    /// The current state; an open breaker whose time is up reads as
    /// half-open.
    pub fn state(&self) -> BreakerState {
        let mut circuit = self.shared.lock();
        circuit.wake(Instant::now());
        match circuit.phase {
            Phase::Closed { .. } => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("state", &self.state())
            .field("failure_threshold", &self.shared.failure_threshold)
            .field("open_for", &self.shared.open_for)
            .finish()
    }
}

/// One admitted call. Report its outcome with [`BreakerPermit::success`] or
/// [`BreakerPermit::failure`]; dropping it counts as neither (and frees the
/// probe slot when it was the probe).
#[must_use = "report the call's outcome with success() or failure()"]
pub struct BreakerPermit {
    shared: Arc<Shared>,
    generation: u64,
    probe: bool,
    outcome: Option<Outcome>,
}

impl BreakerPermit {
    /// The backend answered: resets the failure count, closes a half-open
    /// breaker.
    pub fn success(mut self) {
        self.outcome = Some(Outcome::Success);
    }

    /// The backend failed: counts towards opening, reopens a half-open
    /// breaker.
    pub fn failure(mut self) {
        self.outcome = Some(Outcome::Failure);
    }
}

impl Drop for BreakerPermit {
    fn drop(&mut self) {
        let now = Instant::now();
        let mut circuit = self.shared.lock();
        if circuit.generation != self.generation {
            return;
        }
        let open_for = self.shared.open_for;
        let threshold = self.shared.failure_threshold;
        match (&mut circuit.phase, self.outcome) {
            (Phase::Closed { failures }, Some(Outcome::Success)) => *failures = 0,
            (Phase::Closed { failures }, Some(Outcome::Failure)) => {
                *failures = failures.saturating_add(1);
                if *failures >= threshold {
                    circuit.enter(Phase::Open {
                        until: now + open_for,
                    });
                }
            }
            (Phase::HalfOpen { .. }, Some(Outcome::Success)) if self.probe => {
                circuit.enter(Phase::Closed { failures: 0 });
            }
            (Phase::HalfOpen { .. }, Some(Outcome::Failure)) if self.probe => {
                circuit.enter(Phase::Open {
                    until: now + open_for,
                });
            }
            (Phase::HalfOpen { probe_out }, None) if self.probe => *probe_out = false,
            _ => {}
        }
    }
}

impl std::fmt::Debug for BreakerPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreakerPermit")
            .field("probe", &self.probe)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug)]
enum Outcome {
    Success,
    Failure,
}

struct Shared {
    failure_threshold: u32,
    open_for: Duration,
    circuit: Mutex<Circuit>,
}

impl Shared {
    /// The state is a few plain fields that are valid after any panic, so
    /// a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, Circuit> {
        self.circuit.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Circuit {
    phase: Phase,
    /// Bumped on every transition so late outcomes of calls admitted
    /// before it are ignored.
    generation: u64,
}

impl Circuit {
    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.generation = self.generation.wrapping_add(1);
    }

    /// An open breaker whose time is up becomes half-open.
    fn wake(&mut self, now: Instant) {
        if let Phase::Open { until } = self.phase
            && now >= until
        {
            self.enter(Phase::HalfOpen { probe_out: false });
        }
    }
}

enum Phase {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probe_out: bool },
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN_FOR: Duration = Duration::from_secs(10);

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failure_threshold: 3,
            open_for: OPEN_FOR,
        })
    }

    fn fail(breaker: &CircuitBreaker, times: usize) {
        for _ in 0..times {
            breaker.try_call().unwrap().failure();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn consecutive_failures_open_it() {
        let breaker = breaker();
        fail(&breaker, 2);
        assert_eq!(breaker.state(), BreakerState::Closed);
        fail(&breaker, 1);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert_eq!(
            breaker.try_call().unwrap_err(),
            CircuitOpen {
                retry_after: OPEN_FOR
            }
        );
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(
            breaker.try_call().unwrap_err().retry_after,
            Duration::from_secs(6)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_resets_the_count() {
        let breaker = breaker();
        fail(&breaker, 2);
        breaker.try_call().unwrap().success();
        fail(&breaker, 2);
        assert_eq!(breaker.state(), BreakerState::Closed);
        fail(&breaker, 1);
        assert_eq!(breaker.state(), BreakerState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn after_open_for_one_probe_at_a_time_is_admitted() {
        let breaker = breaker();
        fail(&breaker, 3);
        tokio::time::advance(OPEN_FOR).await;
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        let probe = breaker.try_call().unwrap();
        assert_eq!(
            breaker.try_call().unwrap_err(),
            CircuitOpen {
                retry_after: OPEN_FOR
            },
            "a second call waits for the probe"
        );
        probe.success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        let after = breaker.try_call().unwrap();
        let concurrent = breaker.try_call().unwrap();
        after.success();
        concurrent.success();
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_opens_it_again_for_a_full_period() {
        let breaker = breaker();
        fail(&breaker, 3);
        tokio::time::advance(OPEN_FOR + Duration::from_secs(1)).await;
        breaker.try_call().unwrap().failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert_eq!(breaker.try_call().unwrap_err().retry_after, OPEN_FOR);
        tokio::time::advance(OPEN_FOR).await;
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_probe_frees_the_slot_and_changes_nothing() {
        let breaker = breaker();
        fail(&breaker, 3);
        tokio::time::advance(OPEN_FOR).await;
        drop(breaker.try_call().unwrap());
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        let probe = breaker.try_call().unwrap();
        probe.failure();
        assert_eq!(breaker.state(), BreakerState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn outcomes_of_calls_admitted_before_a_transition_are_ignored() {
        let breaker = breaker();
        let slow = breaker.try_call().unwrap();
        let slow_failure = breaker.try_call().unwrap();
        fail(&breaker, 3);
        tokio::time::advance(OPEN_FOR).await;
        slow.success();
        assert_eq!(
            breaker.state(),
            BreakerState::HalfOpen,
            "a late success does not close it"
        );
        let probe = breaker.try_call().unwrap();
        probe.success();
        slow_failure.failure();
        fail(&breaker, 2);
        assert_eq!(
            breaker.state(),
            BreakerState::Closed,
            "the late failure does not count towards the new threshold"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_a_closed_permit_counts_as_nothing() {
        let breaker = breaker();
        fail(&breaker, 2);
        for _ in 0..10 {
            drop(breaker.try_call().unwrap());
        }
        fail(&breaker, 1);
        assert_eq!(breaker.state(), BreakerState::Open, "drops did not reset");
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_threshold_is_treated_as_one() {
        let breaker = CircuitBreaker::new(BreakerConfig {
            failure_threshold: 0,
            open_for: OPEN_FOR,
        });
        breaker.try_call().unwrap().success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        fail(&breaker, 1);
        assert_eq!(breaker.state(), BreakerState::Open);
    }
}
