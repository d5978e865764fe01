//! Gateway values given on the command line: durations (`90d`, `24h`),
//! rate limits (`100/1s`), capability names or `*`, app ids. Each parser's
//! error says what a valid value looks like.

use prost_types::Duration;
use zhongtai_contracts::gateway::v1::RateLimit;

/// Longest duration a flag takes: ten years, far beyond any validity.
const MAX_DURATION_SECS: i64 = 10 * 366 * 86_400;

/// Shortest and longest rate-limit period (as the contract allows).
const MIN_RATE_PERIOD_SECS: i64 = 1;
const MAX_RATE_PERIOD_SECS: i64 = 3600;

/// `45s`, `30m`, `24h` or `90d`: a whole number and one unit.
pub fn duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let shape = || format!("`{value}` is not a duration like 45s, 30m, 24h or 90d");
    let unit_at = value
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(shape)?;
    let (number, unit) = value.split_at(unit_at);
    if number.is_empty() || number.len() > 9 {
        return Err(shape());
    }
    let count: i64 = number.parse().map_err(|_| shape())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(shape()),
    };
    let seconds = count.saturating_mul(unit_secs);
    if seconds > MAX_DURATION_SECS {
        return Err(format!("`{value}` is longer than ten years"));
    }
    Ok(Duration { seconds, nanos: 0 })
}

/// `100/1s`, `100/s`, `6000/1m`, `50000/1h`: requests per period of 1 s..1 h.
pub fn rate(value: &str) -> Result<RateLimit, String> {
    let value = value.trim();
    let shape = || format!("`{value}` is not a rate like 100/1s, 6000/1m or 50000/1h");
    let (requests, period) = value.split_once('/').ok_or_else(shape)?;
    let requests: i64 = requests
        .parse()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("`{value}`: the request count must be a whole number >= 1"))?;
    let period = if period.starts_with(|c: char| c.is_ascii_digit()) {
        period.to_string()
    } else {
        format!("1{period}")
    };
    let period = duration(&period).map_err(|_| shape())?;
    if !(MIN_RATE_PERIOD_SECS..=MAX_RATE_PERIOD_SECS).contains(&period.seconds) {
        return Err(format!("`{value}`: the period must be 1s..1h"));
    }
    Ok(RateLimit {
        requests,
        period: Some(period),
        burst: 0,
    })
}

/// A capability name (lowercase dotted words, e.g. `certificate.verify`)
/// or `*` for an app's default policy.
pub fn policy_capability(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value == "*" {
        return Ok(value.to_string());
    }
    capability(value)
}

/// A capability name: lowercase dotted words, e.g. `certificate.verify`.
pub fn capability(value: &str) -> Result<String, String> {
    let value = value.trim();
    let word_ok = |word: &str| {
        word.starts_with(|c: char| c.is_ascii_lowercase())
            && word
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    };
    if (3..=100).contains(&value.len()) && value.split('.').all(word_ok) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "`{value}` is not a capability name (lowercase dotted words such as certificate.verify)"
        ))
    }
}

/// An app id: a UUID as the gateway assigns them.
pub fn app_id(value: &str) -> Result<String, String> {
    let value = value.trim();
    uuid::Uuid::parse_str(value)
        .map(|id| id.to_string())
        .map_err(|_| format!("`{value}` is not an app id (a UUID)"))
}

/// A positive count (`--day 10000`).
pub fn positive(value: &str) -> Result<i64, String> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("`{value}` is not a whole number >= 1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_one_unit() {
        assert_eq!(duration("90d").unwrap().seconds, 90 * 86_400);
        assert_eq!(duration("24h").unwrap().seconds, 86_400);
        assert_eq!(duration("30m").unwrap().seconds, 1800);
        assert_eq!(duration("0s").unwrap().seconds, 0);
        for bad in ["", "d", "90", "1.5h", "-1h", "90 d", "1w", "99999999999d"] {
            assert!(duration(bad).is_err(), "{bad} accepted");
        }
        assert!(duration("5000d").unwrap_err().contains("ten years"));
    }

    #[test]
    fn rates_are_requests_per_period() {
        let limit = rate("100/1s").unwrap();
        assert_eq!(limit.requests, 100);
        assert_eq!(limit.period.unwrap().seconds, 1);
        assert_eq!(rate("100/s").unwrap().period.unwrap().seconds, 1);
        assert_eq!(rate("6000/1m").unwrap().period.unwrap().seconds, 60);
        assert_eq!(rate("50000/1h").unwrap().period.unwrap().seconds, 3600);
        assert!(rate("0/1s").unwrap_err().contains(">= 1"));
        assert!(rate("100/2h").unwrap_err().contains("1s..1h"));
        assert!(rate("100/0s").unwrap_err().contains("1s..1h"));
        for bad in ["100", "100/", "/1s", "x/1s", "100/1x", "100/1.5s"] {
            assert!(rate(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn policy_targets_are_names_or_the_default() {
        assert_eq!(policy_capability("*").unwrap(), "*");
        assert_eq!(
            policy_capability("certificate.verify").unwrap(),
            "certificate.verify"
        );
        assert!(policy_capability("Certificate.Verify").is_err());
        assert!(policy_capability("**").is_err());
        assert!(capability("a.").is_err());
    }

    #[test]
    fn app_ids_are_uuids() {
        assert!(app_id("0195f3a0-0000-7000-8000-000000000001").is_ok());
        assert!(app_id("bank-app").unwrap_err().contains("UUID"));
        assert!(positive("0").is_err());
        assert_eq!(positive("10000").unwrap(), 10_000);
    }
}
