//! Text-format PostgreSQL values, as pgoutput and simple queries send them,
//! turned into the exchange's typed [`Value`]s. Connections fix
//! `DateStyle=ISO` and `TimeZone=UTC`, so dates and times arrive in one
//! form. A value that does not parse as its type is kept as text rather
//! than lost.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::domain::change::Value;

pub const BOOL: u32 = 16;
pub const BYTEA: u32 = 17;
pub const NAME: u32 = 19;
pub const INT8: u32 = 20;
pub const INT2: u32 = 21;
pub const INT4: u32 = 23;
pub const TEXT: u32 = 25;
pub const JSON: u32 = 114;
pub const FLOAT4: u32 = 700;
pub const FLOAT8: u32 = 701;
pub const BPCHAR: u32 = 1042;
pub const VARCHAR: u32 = 1043;
pub const DATE: u32 = 1082;
pub const TIMESTAMP: u32 = 1114;
pub const TIMESTAMPTZ: u32 = 1184;
pub const NUMERIC: u32 = 1700;
pub const UUID: u32 = 2950;
pub const JSONB: u32 = 3802;

/// The typed value of `text`, a value of type `type_oid` in text format.
pub fn decode(type_oid: u32, text: &str) -> Value {
    let typed = match type_oid {
        BOOL => match text {
            "t" => Some(Value::Bool(true)),
            "f" => Some(Value::Bool(false)),
            _ => None,
        },
        INT2 | INT4 | INT8 => text.parse().ok().map(Value::Int),
        FLOAT4 | FLOAT8 => text.parse().ok().map(Value::Double),
        NUMERIC => Some(Value::Numeric(text.to_owned())),
        BYTEA => text
            .strip_prefix("\\x")
            .and_then(|digits| hex::decode(digits).ok())
            .map(Value::Bytes),
        DATE => Some(Value::Date(text.to_owned())),
        TIMESTAMP => NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
            .ok()
            .map(|naive| Value::Timestamp(naive.and_utc())),
        TIMESTAMPTZ => parse_timestamptz(text).map(Value::Timestamp),
        JSON | JSONB => Some(Value::Json(text.to_owned())),
        _ => None,
    };
    typed.unwrap_or_else(|| Value::Text(text.to_owned()))
}

/// `2024-05-01 08:00:00.5+00`, `…+05:30`, `…-03:30:15`.
fn parse_timestamptz(text: &str) -> Option<DateTime<Utc>> {
    // The offset follows the time; the date's own '-' come before the space.
    let time_start = text.find(' ')?;
    let sign = text[time_start..].rfind(['+', '-'])? + time_start;
    let (stamp, offset) = text.split_at(sign);
    let mut parts = offset[1..].split(':');
    let hours: i64 = parts.next()?.parse().ok()?;
    let minutes: i64 = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    let seconds: i64 = parts.next().map_or(Some(0), |s| s.parse().ok())?;
    let mut offset_seconds = hours * 3600 + minutes * 60 + seconds;
    if offset.starts_with('-') {
        offset_seconds = -offset_seconds;
    }
    let local = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    Some((local - chrono::Duration::seconds(offset_seconds)).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Value {
        Value::Timestamp(
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    #[test]
    fn scalars() {
        assert_eq!(decode(BOOL, "t"), Value::Bool(true));
        assert_eq!(decode(BOOL, "f"), Value::Bool(false));
        assert_eq!(decode(INT2, "-7"), Value::Int(-7));
        assert_eq!(decode(INT4, "42"), Value::Int(42));
        assert_eq!(decode(INT8, "9223372036854775807"), Value::Int(i64::MAX));
        assert_eq!(decode(FLOAT8, "1.5"), Value::Double(1.5));
        assert_eq!(decode(FLOAT4, "-0.25"), Value::Double(-0.25));
        assert!(matches!(decode(FLOAT8, "NaN"), Value::Double(d) if d.is_nan()));
        assert_eq!(
            decode(FLOAT8, "-Infinity"),
            Value::Double(f64::NEG_INFINITY)
        );
        assert_eq!(decode(NUMERIC, "12.3400"), Value::Numeric("12.3400".into()));
    }

    #[test]
    fn texts_and_bytes() {
        for oid in [TEXT, VARCHAR, BPCHAR, NAME, UUID] {
            assert_eq!(decode(oid, "abc"), Value::Text("abc".into()));
        }
        assert_eq!(decode(BYTEA, "\\x00ff10"), Value::Bytes(vec![0, 255, 16]));
        assert_eq!(
            decode(JSONB, "{\"a\": 1}"),
            Value::Json("{\"a\": 1}".into())
        );
        assert_eq!(decode(JSON, "[1]"), Value::Json("[1]".into()));
        // Unknown types (intervals, arrays, enums) travel as text.
        assert_eq!(decode(1186, "1 day"), Value::Text("1 day".into()));
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(decode(DATE, "2024-02-29"), Value::Date("2024-02-29".into()));
        assert_eq!(
            decode(TIMESTAMP, "2024-05-01 08:00:00"),
            at("2024-05-01T08:00:00Z")
        );
        assert_eq!(
            decode(TIMESTAMP, "2024-05-01 08:00:00.123456"),
            at("2024-05-01T08:00:00.123456Z")
        );
        assert_eq!(
            decode(TIMESTAMPTZ, "2024-05-01 08:00:00.5+00"),
            at("2024-05-01T08:00:00.5Z")
        );
        assert_eq!(
            decode(TIMESTAMPTZ, "2024-05-01 08:00:00+05:30"),
            at("2024-05-01T02:30:00Z")
        );
        assert_eq!(
            decode(TIMESTAMPTZ, "2024-05-01 08:00:00-03"),
            at("2024-05-01T11:00:00Z")
        );
    }

    #[test]
    fn what_does_not_parse_stays_text() {
        assert_eq!(decode(INT4, "x"), Value::Text("x".into()));
        assert_eq!(decode(BOOL, "maybe"), Value::Text("maybe".into()));
        assert_eq!(decode(BYTEA, "\\xzz"), Value::Text("\\xzz".into()));
        assert_eq!(decode(BYTEA, "abc"), Value::Text("abc".into()));
        assert_eq!(
            decode(TIMESTAMP, "infinity"),
            Value::Text("infinity".into())
        );
        assert_eq!(
            decode(TIMESTAMPTZ, "-infinity"),
            Value::Text("-infinity".into())
        );
        assert_eq!(
            decode(TIMESTAMPTZ, "2024-05-01 08:00:00+zz"),
            Value::Text("2024-05-01 08:00:00+zz".into())
        );
    }
}
