//! Percentiles of latency samples and the median and spread of repeated
//! measurements.

use std::time::Duration;

use serde::Serialize;

/// Latency samples in nanoseconds, sorted once for percentile queries.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    sorted_nanos: Vec<u64>,
}

impl Latencies {
    /// Sorts `nanos` (any order).
    pub fn from_nanos(mut nanos: Vec<u64>) -> Self {
        nanos.sort_unstable();
        Self {
            sorted_nanos: nanos,
        }
    }

    /// The `q`-quantile (0.0..=1.0) in microseconds by the nearest-rank
    /// method; `None` without samples.
    pub fn quantile_micros(&self, q: f64) -> Option<f64> {
        let count = self.sorted_nanos.len();
        if count == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * count as f64).ceil() as usize;
        let index = rank.saturating_sub(1).min(count - 1);
        Some(self.sorted_nanos[index] as f64 / 1_000.0)
    }
}

/// Nanoseconds of a duration, saturating.
pub fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Median, minimum and maximum of repeated measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; `None` when empty or any value is NaN.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() || values.iter().any(|v| v.is_nan()) {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = if sorted.len().is_multiple_of(2) {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        } else {
            sorted[middle]
        };
        Some(Self {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let samples = Latencies::from_nanos((1..=100).rev().map(|i| i * 1_000).collect());
        assert_eq!(samples.quantile_micros(0.5), Some(50.0));
        assert_eq!(samples.quantile_micros(0.99), Some(99.0));
        assert_eq!(samples.quantile_micros(1.0), Some(100.0));
        assert_eq!(samples.quantile_micros(0.0), Some(1.0));
    }

    #[test]
    fn no_samples_have_no_quantile() {
        assert_eq!(Latencies::default().quantile_micros(0.5), None);
    }

    #[test]
    fn spread_is_median_min_and_max() {
        let spread = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!(
            spread,
            Spread {
                median: 2.0,
                min: 1.0,
                max: 3.0
            }
        );
        assert_eq!(Spread::of(&[1.0, 4.0]).unwrap().median, 2.5);
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(Spread::of(&[1.0, f64::NAN]), None);
    }
}
