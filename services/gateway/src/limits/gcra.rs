//! The generic cell rate algorithm: a rate limit kept as one number, the
//! theoretical arrival time (TAT) of the next call at the steady rate.
//! A call fits when, after adding its emission interval, the TAT is at most
//! `burst` intervals ahead of now.

use std::time::Duration;

use crate::domain::RateLimit;

/// A rate limit in microseconds, as the shared `rate_states` row keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    /// Time one call uses up at the steady rate (rounded up, so the rate is
    /// never exceeded), at least 1 µs.
    pub interval_us: i64,
    /// Most calls at once.
    pub burst: u64,
}

impl Gcra {
    /// The algorithm's parameters for `limit` (0 requests or burst count
    /// as 1).
    pub fn new(limit: &RateLimit) -> Self {
        let period_us = i64::try_from(limit.period.as_micros()).unwrap_or(i64::MAX);
        let requests = i64::try_from(limit.requests.max(1)).unwrap_or(i64::MAX);
        let interval_us = (period_us.saturating_add(requests - 1) / requests).max(1);
        Self {
            interval_us,
            burst: limit.burst.max(1),
        }
    }

    /// How far ahead of now the TAT may run: `burst` intervals.
    pub fn capacity_us(&self) -> i64 {
        self.interval_us
            .saturating_mul(i64::try_from(self.burst).unwrap_or(i64::MAX))
    }

    /// The TAT after taking `cells` calls at `now_us`, or how long until
    /// they would fit.
    pub fn take(&self, tat_us: Option<i64>, now_us: i64, cells: u64) -> Result<i64, Duration> {
        let cost = self.cost_us(cells);
        let next = tat_us.unwrap_or(now_us).max(now_us).saturating_add(cost);
        let ahead = next.saturating_sub(now_us);
        if ahead <= self.capacity_us() {
            Ok(next)
        } else {
            Err(micros(ahead - self.capacity_us()))
        }
    }

    /// Time `cells` calls use up.
    pub fn cost_us(&self, cells: u64) -> i64 {
        self.interval_us
            .saturating_mul(i64::try_from(cells).unwrap_or(i64::MAX))
    }

    /// Calls that would fit at `now_us`.
    pub fn available(&self, tat_us: i64, now_us: i64) -> u64 {
        let ahead = tat_us.max(now_us) - now_us;
        let room = self.capacity_us().saturating_sub(ahead).max(0);
        u64::try_from(room / self.interval_us).unwrap_or(0)
    }

    /// How long until the next single call fits.
    pub fn retry_after(&self, tat_us: i64, now_us: i64) -> Duration {
        match self.take(Some(tat_us), now_us, 1) {
            Ok(_) => Duration::ZERO,
            Err(wait) => wait,
        }
    }

    /// How long until the full burst is available again.
    pub fn reset_after(&self, tat_us: i64, now_us: i64) -> Duration {
        micros(tat_us.saturating_sub(now_us))
    }
}

fn micros(value: i64) -> Duration {
    Duration::from_micros(u64::try_from(value).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    fn gcra(requests: u64, period_secs: u64, burst: u64) -> Gcra {
        Gcra::new(&RateLimit {
            requests,
            period: Duration::from_secs(period_secs),
            burst,
        })
    }

    /// Takes one call at a time from `tat`, returning how many fit.
    fn admitted_at(g: &Gcra, tat: &mut Option<i64>, now: i64, tries: u32) -> u32 {
        let mut admitted = 0;
        for _ in 0..tries {
            if let Ok(next) = g.take(*tat, now, 1) {
                *tat = Some(next);
                admitted += 1;
            }
        }
        admitted
    }

    #[test]
    fn a_burst_is_admitted_at_once_then_refused() {
        let g = gcra(10, 1, 5);
        let mut tat = None;
        assert_eq!(admitted_at(&g, &mut tat, 0, 20), 5);
        assert_eq!(g.available(tat.unwrap(), 0), 0);
    }

    #[test]
    fn the_steady_rate_refills_one_call_per_interval() {
        let g = gcra(10, 1, 5);
        assert_eq!(g.interval_us, SECOND / 10);
        let mut tat = None;
        admitted_at(&g, &mut tat, 0, 5);
        // One interval later exactly one more fits; a whole second gives
        // ten intervals but the burst caps it at five.
        assert_eq!(admitted_at(&g, &mut tat, SECOND / 10, 3), 1);
        assert_eq!(admitted_at(&g, &mut tat, 3 * SECOND, 50), 5);
        // Steady calls at the rate are all admitted.
        let mut steady = None;
        let admitted: u32 = (0..100)
            .map(|i| admitted_at(&g, &mut steady, i * SECOND / 10, 1))
            .sum();
        assert_eq!(admitted, 100);
    }

    #[test]
    fn a_refusal_says_when_the_next_call_fits() {
        let g = gcra(2, 1, 1);
        let tat = g.take(None, 0, 1).unwrap();
        assert_eq!(g.take(Some(tat), 0, 1), Err(Duration::from_millis(500)));
        assert_eq!(g.retry_after(tat, 200_000), Duration::from_millis(300));
        assert!(g.take(Some(tat), 500_000, 1).is_ok());
        assert_eq!(g.reset_after(tat, 100_000), Duration::from_millis(400));
    }

    #[test]
    fn blocks_of_cells_fit_only_within_the_burst() {
        let g = gcra(100, 1, 10);
        let tat = g.take(None, 0, 8).unwrap();
        assert_eq!(g.available(tat, 0), 2);
        assert!(g.take(Some(tat), 0, 3).is_err());
        assert_eq!(g.take(Some(tat), 0, 2), Ok(10 * g.interval_us));
    }

    #[test]
    fn uneven_rates_round_the_interval_up() {
        let g = gcra(3, 1, 1);
        assert_eq!(g.interval_us, 333_334);
        let g = gcra(0, 1, 0);
        assert_eq!((g.interval_us, g.burst), (SECOND, 1));
    }
}
