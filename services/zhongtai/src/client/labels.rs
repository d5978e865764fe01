//! How contract values read in tables: tenants as `331100/civil-affairs`,
//! assignees in the form the flags take, enums without their type prefix,
//! times in China Standard Time like the calendar days the flags accept.

use chrono::{DateTime, FixedOffset};
use prost_types::{Duration, Timestamp};
use zhongtai_contracts::approval::v1::{Assignee, DepartmentRole, assignee};
use zhongtai_contracts::common::v1::{Actor, Period, Tenant};

/// `331100` or `331100/civil-affairs`; empty when unset.
pub fn tenant(tenant: Option<&Tenant>) -> String {
    match tenant {
        Some(t) if t.department.is_empty() => t.division_code.clone(),
        Some(t) => format!("{}/{}", t.division_code, t.department),
        None => String::new(),
    }
}

/// `331100/fire-safety/approver`.
pub fn department_role(role: Option<&DepartmentRole>) -> String {
    match role {
        Some(role) => format!("{}/{}", tenant(role.tenant.as_ref()), role.role),
        None => String::new(),
    }
}

/// `331100/fire-safety/approver`, `user:<subject>` or `slot:<name>`.
pub fn assignee(assignee: Option<&Assignee>) -> String {
    match assignee.and_then(|a| a.target.as_ref()) {
        Some(assignee::Target::DepartmentRole(role)) => department_role(Some(role)),
        Some(assignee::Target::User(user)) => format!("user:{user}"),
        Some(assignee::Target::Slot(slot)) => format!("slot:{slot}"),
        None => String::new(),
    }
}

/// Who acted: the display name when there is one, else the subject, with
/// the tenant they acted for.
pub fn actor(actor: Option<&Actor>) -> String {
    let Some(actor) = actor else {
        return String::new();
    };
    let who = if actor.display_name.is_empty() {
        actor.subject.as_str()
    } else {
        actor.display_name.as_str()
    };
    match actor.tenant.as_ref() {
        Some(t) if !t.division_code.is_empty() => format!("{who} ({})", tenant(Some(t))),
        _ => who.to_string(),
    }
}

/// An enum value without its type prefix: `APPLICATION_STATUS_IN_PROGRESS`
/// with prefix `APPLICATION_STATUS_` reads `IN_PROGRESS`.
pub fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_string()
}

fn china_standard_time() -> Option<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
}

/// `2026-12-01 16:00:12+08:00`; empty when unset.
pub fn time(at: Option<&Timestamp>) -> String {
    let Some(at) = at else {
        return String::new();
    };
    let nanos = u32::try_from(at.nanos).unwrap_or(0);
    match (
        DateTime::from_timestamp(at.seconds, nanos),
        china_standard_time(),
    ) {
        (Some(utc), Some(zone)) => utc
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M:%S%:z")
            .to_string(),
        _ => format!("{}s", at.seconds),
    }
}

/// `from … until …` of a period.
pub fn period(period: Option<&Period>) -> String {
    let Some(period) = period else {
        return String::new();
    };
    match (&period.start_time, &period.end_time) {
        (Some(start), Some(end)) => format!("{} – {}", time(Some(start)), time(Some(end))),
        (None, Some(end)) => format!("until {}", time(Some(end))),
        (Some(start), None) => format!("from {}", time(Some(start))),
        (None, None) => String::new(),
    }
}

/// `5d`, `36h`, `90m` or `45s`: the largest whole unit.
pub fn duration(duration: Option<&Duration>) -> String {
    let Some(duration) = duration else {
        return String::new();
    };
    let seconds = duration.seconds;
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if seconds != 0 && seconds % size == 0 {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

/// At most `max` characters, with an ellipsis when cut; newlines become
/// spaces so a cell stays on its line.
pub fn clip(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A form value as text: strings as they are, anything else as JSON.
pub fn value(value: &prost_types::Value) -> String {
    match json_value(value) {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    }
}

fn json_value(value: &prost_types::Value) -> serde_json::Value {
    use prost_types::value::Kind;
    use serde_json::Value as Json;
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        // Whole numbers within ±2^53 print without a fraction.
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 => {
            Json::from(*n as i64)
        }
        Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(*n)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Some(Kind::StructValue(s)) => Json::Object(
            s.fields
                .iter()
                .map(|(k, v)| (k.clone(), json_value(v)))
                .collect(),
        ),
        Some(Kind::ListValue(l)) => Json::Array(l.values.iter().map(json_value).collect()),
    }
}

/// Items joined with `, `.
pub fn list<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> String {
    items
        .into_iter()
        .map(|s| s.as_ref().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_the_flags_write_them() {
        let fire = Tenant {
            division_code: "331100".into(),
            department: "fire-safety".into(),
        };
        assert_eq!(tenant(Some(&fire)), "331100/fire-safety");
        let role = DepartmentRole {
            tenant: Some(fire),
            role: "approver".into(),
        };
        assert_eq!(
            assignee(Some(&Assignee {
                target: Some(assignee::Target::DepartmentRole(role))
            })),
            "331100/fire-safety/approver"
        );
        assert_eq!(
            short("APPLICATION_STATUS_IN_PROGRESS", "APPLICATION_STATUS_"),
            "IN_PROGRESS"
        );
    }

    #[test]
    fn times_and_durations_are_readable() {
        let at = Timestamp {
            seconds: 1_830_268_800,
            nanos: 0,
        };
        assert_eq!(time(Some(&at)), "2028-01-01 00:00:00+08:00");
        let five_days = Duration {
            seconds: 432_000,
            nanos: 0,
        };
        assert_eq!(duration(Some(&five_days)), "5d");
        let odd = Duration {
            seconds: 3_601,
            nanos: 0,
        };
        assert_eq!(duration(Some(&odd)), "3601s");
    }

    #[test]
    fn form_values_read_plainly() {
        use prost_types::value::Kind;
        let text = prost_types::Value {
            kind: Some(Kind::StringValue("丽水青瓷".into())),
        };
        assert_eq!(value(&text), "丽水青瓷");
        let whole = prost_types::Value {
            kind: Some(Kind::NumberValue(12.0)),
        };
        assert_eq!(value(&whole), "12");
        let person = prost_types::Value {
            kind: Some(Kind::StructValue(prost_types::Struct {
                fields: [("name".to_string(), text)].into_iter().collect(),
            })),
        };
        assert_eq!(value(&person), r#"{"name":"丽水青瓷"}"#);
    }

    #[test]
    fn long_cells_are_clipped_on_one_line() {
        assert_eq!(clip("婚姻登记信息", 10), "婚姻登记信息");
        assert_eq!(clip("line one\nline two", 8), "line on…");
    }
}
