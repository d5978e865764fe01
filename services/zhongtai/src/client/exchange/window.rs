//! Instants for reconciliation windows: `now`, a span before now (`-5m`,
//! `-90s`, `-2h`, `-1d`), or a time as the other commands take it (a day
//! like `2026-12-01`, or RFC 3339).

use chrono::{DateTime, Utc};
use prost_types::Timestamp;

use super::super::flags;

/// Longest span a relative instant may reach back: reconciliation windows
/// are at most a day long, so a year is already generous.
const MAX_LOOKBACK_SECS: i64 = 366 * 86_400;

/// The flag value as an instant, read against the clock.
pub fn instant(value: &str) -> Result<Timestamp, String> {
    instant_at(value, Utc::now())
}

/// The flag value as an instant, read against `now`.
pub fn instant_at(value: &str, now: DateTime<Utc>) -> Result<Timestamp, String> {
    let value = value.trim();
    if value == "now" {
        return Ok(timestamp(now));
    }
    let Some(span) = value.strip_prefix('-') else {
        return flags::from(value)
            .map_err(|e| format!("{e}; or a span before now like -5m, -90s, -2h, -1d, or `now`"));
    };
    let seconds = span_seconds(span).ok_or_else(|| {
        format!("`{value}` is not a span before now: use -<number><s|m|h|d>, like -5m")
    })?;
    if seconds > MAX_LOOKBACK_SECS {
        return Err(format!("`{value}` reaches back more than a year"));
    }
    let at = now - chrono::Duration::seconds(seconds);
    Ok(timestamp(at))
}

fn span_seconds(span: &str) -> Option<i64> {
    let unit_at = span.len().checked_sub(1)?;
    let (number, unit) = span.split_at(unit_at);
    if number.is_empty() || number.len() > 9 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count: i64 = number.parse().ok()?;
    let size = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    count.checked_mul(size)
}

fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noon() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn spans_count_back_from_now() {
        let now = noon().timestamp();
        assert_eq!(instant_at("-5m", noon()).unwrap().seconds, now - 300);
        assert_eq!(instant_at("-90s", noon()).unwrap().seconds, now - 90);
        assert_eq!(instant_at("-2h", noon()).unwrap().seconds, now - 7200);
        assert_eq!(instant_at("-1d", noon()).unwrap().seconds, now - 86_400);
        assert_eq!(instant_at(" now ", noon()).unwrap().seconds, now);
    }

    #[test]
    fn times_are_taken_as_they_are() {
        let at = instant_at("2026-12-01T11:55:00Z", noon()).unwrap();
        assert_eq!(at.seconds, noon().timestamp() - 300);
        // A day is its midnight in China Standard Time.
        let day = instant_at("2026-12-01", noon()).unwrap();
        assert_eq!(day.seconds, noon().timestamp() - 20 * 3600);
    }

    #[test]
    fn malformed_spans_say_what_is_expected() {
        for bad in ["-5", "-m", "-5w", "-1.5h", "-99999999999s", "yesterday"] {
            let error = instant_at(bad, noon()).unwrap_err();
            assert!(error.contains("-5m"), "{bad}: {error}");
        }
        assert!(instant_at("-400d", noon()).unwrap_err().contains("year"));
    }
}
