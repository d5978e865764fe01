//! Counts with thousands separators, lags in the unit that reads best, and
//! times of day short enough for a table cell.

use prost_types::{Duration, Timestamp};

/// `61,234`.
pub fn grouped(count: i64) -> String {
    let digits = count.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if count < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A positive count as `grouped` does, for unsigned positions and sums.
pub fn grouped_unsigned(count: u64) -> String {
    i64::try_from(count).map_or_else(|_| count.to_string(), grouped)
}

/// Whole milliseconds of a duration, saturating.
pub fn millis(duration: &Duration) -> i64 {
    duration
        .seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(duration.nanos / 1_000_000))
}

/// `0 ms`, `850 ms`, `4.2 s`, `3m 05s`, `2h 10m`; `-` when unset.
pub fn lag(duration: Option<&Duration>) -> String {
    match duration {
        Some(duration) => span_ms(millis(duration)),
        None => "-".into(),
    }
}

/// A span of milliseconds as [`lag`] shows it.
pub fn span_ms(ms: i64) -> String {
    if ms < 0 {
        return format!("-{}", span_ms(ms.saturating_neg()));
    }
    if ms < 1000 {
        return format!("{ms} ms");
    }
    if ms < 60_000 {
        return format!("{:.1} s", ms as f64 / 1000.0);
    }
    let seconds = ms / 1000;
    if seconds < 3600 {
        return format!("{}m {:02}s", seconds / 60, seconds % 60);
    }
    format!("{}h {:02}m", seconds / 3600, (seconds % 3600) / 60)
}

/// A coarse remaining time for an ETA: `5s`, `3m 05s`, `2h 10m`.
pub fn eta(duration: &Duration) -> String {
    let seconds = duration.seconds.max(0);
    if seconds < 60 {
        format!("{seconds}s")
    } else {
        span_ms(seconds.saturating_mul(1000))
    }
}

/// Milliseconds from `from` to `to`, when both are set.
pub fn offset_ms(from: Option<&Timestamp>, to: Option<&Timestamp>) -> Option<i64> {
    let (from, to) = (from?, to?);
    let seconds = to.seconds.checked_sub(from.seconds)?;
    let nanos = i64::from(to.nanos) - i64::from(from.nanos);
    seconds
        .checked_mul(1000)?
        .checked_add(nanos.div_euclid(1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(61_234), "61,234");
        assert_eq!(grouped(100_000), "100,000");
        assert_eq!(grouped(-1_234_567), "-1,234,567");
        assert_eq!(grouped_unsigned(u64::MAX), u64::MAX.to_string());
    }

    #[test]
    fn lags_read_in_their_best_unit() {
        let at = |seconds, nanos| Duration { seconds, nanos };
        assert_eq!(lag(None), "-");
        assert_eq!(lag(Some(&at(0, 0))), "0 ms");
        assert_eq!(lag(Some(&at(0, 850_000_000))), "850 ms");
        assert_eq!(lag(Some(&at(4, 200_000_000))), "4.2 s");
        assert_eq!(lag(Some(&at(185, 0))), "3m 05s");
        assert_eq!(lag(Some(&at(7800, 0))), "2h 10m");
        assert_eq!(eta(&at(5, 0)), "5s");
        assert_eq!(eta(&at(185, 0)), "3m 05s");
    }

    #[test]
    fn offsets_are_whole_milliseconds() {
        let commit = Timestamp {
            seconds: 100,
            nanos: 900_000_000,
        };
        let applied = Timestamp {
            seconds: 101,
            nanos: 12_000_000,
        };
        assert_eq!(offset_ms(Some(&commit), Some(&applied)), Some(112));
        assert_eq!(offset_ms(Some(&commit), None), None);
    }
}
