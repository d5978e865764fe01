//! Values given on the command line, parsed before anything is sent:
//! tenants (`331100/civil-affairs`), assignees (`331100/fire-safety/approver`,
//! `user:<subject>`), field access with masking (`id_number:partial-last-4`),
//! calendar days, enum names and field masks. Each parser's error says what
//! a valid value looks like.

use chrono::{DateTime, Days, FixedOffset, NaiveDate, TimeZone as _, Utc};
use clap::Args;
use prost_types::{FieldMask, Timestamp};
use zhongtai_contracts::approval::v1::{Assignee, DepartmentRole, assignee};
use zhongtai_contracts::common::v1::{FieldAccess, MaskingKind, MaskingRule, PageRequest, Tenant};
use zhongtai_kit::{Role, TenantId};

use super::message_file;

/// Calendar days on the command line are days of the platform's civil
/// calendar, China Standard Time.
const CHINA_STANDARD_TIME_SECS: i32 = 8 * 3600;

/// The idempotency key of a mutating command.
#[derive(Args, Clone, Default)]
pub struct RequestIdArg {
    /// Idempotency key; repeat it to retry safely (default: the file's, else a new UUID)
    #[arg(long)]
    request_id: Option<String>,
}

impl RequestIdArg {
    /// The flag, else the key the file carries, else a fresh UUID.
    pub fn resolve(&self, from_file: &str) -> String {
        match &self.request_id {
            Some(id) => id.clone(),
            None if !from_file.is_empty() => from_file.to_string(),
            None => uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// Paging of list commands.
#[derive(Args, Clone)]
pub struct PageArgs {
    /// Results per page (the server caps it at 500)
    #[arg(long, default_value_t = 50)]
    page_size: i32,
    /// Cursor printed under the previous page
    #[arg(long, default_value = "")]
    page_token: String,
}

impl PageArgs {
    pub fn request(&self) -> Option<PageRequest> {
        Some(PageRequest {
            page_size: self.page_size,
            page_token: self.page_token.clone(),
        })
    }
}

/// `331100` or `331100/civil-affairs`.
pub fn tenant(value: &str) -> Result<Tenant, String> {
    let parsed = TenantId::from_key(value.trim()).map_err(|e| e.to_string())?;
    Ok(tenant_message(&parsed))
}

fn tenant_message(tenant: &TenantId) -> Tenant {
    Tenant {
        division_code: tenant.division.to_string(),
        department: tenant.department.clone().unwrap_or_default(),
    }
}

/// `331100/fire-safety/approver` (a role within a department) or
/// `user:<subject>` (one named user).
pub fn assignee(value: &str) -> Result<Assignee, String> {
    let value = value.trim();
    let target = match value.strip_prefix("user:") {
        Some(subject) => {
            if subject.is_empty() || subject.len() > 256 || subject.contains(char::is_whitespace) {
                return Err(
                    "a user is `user:<subject>`, 1..256 characters without spaces".to_string(),
                );
            }
            assignee::Target::User(subject.to_string())
        }
        None => assignee::Target::DepartmentRole(department_role(value)?),
    };
    Ok(Assignee {
        target: Some(target),
    })
}

/// `331100/fire-safety/approver`.
pub fn department_role(value: &str) -> Result<DepartmentRole, String> {
    let shape = || {
        "expected <division>/<department>/<role>, e.g. 331100/fire-safety/approver, or user:<subject>"
            .to_string()
    };
    let mut parts = value.split('/');
    let (Some(division), Some(department), Some(role), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(shape());
    };
    if department.is_empty() {
        return Err(shape());
    }
    let tenant = TenantId::parse(division, department).map_err(|e| e.to_string())?;
    let role: Role = role
        .parse()
        .map_err(|e: zhongtai_kit::auth::UnknownRole| e.to_string())?;
    Ok(DepartmentRole {
        tenant: Some(tenant_message(&tenant)),
        role: role.as_str().to_string(),
    })
}

/// `field` (the resource's default masking), or `field:<masking>` with
/// masking `none`, `redact`, `hash`, `nullify`, `partial-last-4`,
/// `partial-first-1`, `partial-first-1-last-4`.
pub fn field_access(value: &str) -> Result<FieldAccess, String> {
    let value = value.trim();
    let (field, masking) = match value.split_once(':') {
        Some((field, masking)) => (field, Some(masking_rule(masking)?)),
        None => (value, None),
    };
    let valid_name = !field.is_empty()
        && field.len() <= 63
        && field.starts_with(|c: char| c.is_ascii_lowercase())
        && field
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_name {
        return Err(format!(
            "`{value}`: `{field}` is not a field name (lowercase snake_case, 1..63 characters)"
        ));
    }
    Ok(FieldAccess {
        field: field.to_string(),
        masking,
    })
}

fn masking_rule(spec: &str) -> Result<MaskingRule, String> {
    let rule = |kind: MaskingKind| MaskingRule {
        kind: kind as i32,
        ..Default::default()
    };
    match spec {
        "none" => return Ok(rule(MaskingKind::None)),
        "redact" => return Ok(rule(MaskingKind::Redact)),
        "hash" => return Ok(rule(MaskingKind::Hash)),
        "nullify" => return Ok(rule(MaskingKind::Nullify)),
        _ => {}
    }
    let invalid = || {
        format!(
            "`{spec}` is not a masking: use none, redact, hash, nullify, partial-last-N, \
             partial-first-N or partial-first-N-last-M"
        )
    };
    let rest = spec.strip_prefix("partial-").ok_or_else(invalid)?;
    let mut partial = rule(MaskingKind::Partial);
    let mut words = rest.split('-').peekable();
    let mut seen = false;
    if words.peek() == Some(&"first") {
        words.next();
        partial.keep_first = count(words.next()).ok_or_else(invalid)?;
        seen = true;
    }
    if words.peek() == Some(&"last") {
        words.next();
        partial.keep_last = count(words.next()).ok_or_else(invalid)?;
        seen = true;
    }
    if !seen || words.next().is_some() {
        return Err(invalid());
    }
    Ok(partial)
}

fn count(word: Option<&str>) -> Option<i32> {
    word.filter(|w| !w.is_empty() && w.len() <= 4 && w.bytes().all(|b| b.is_ascii_digit()))?
        .parse()
        .ok()
}

/// The flag form of a field access, as [`field_access`] reads it.
pub fn field_access_spec(access: &FieldAccess) -> String {
    match access.masking.as_ref().and_then(masking_spec) {
        Some(masking) => format!("{}:{masking}", access.field),
        None => access.field.clone(),
    }
}

/// `partial-last-4`, `redact`, …; None for no masking.
pub fn masking_spec(rule: &MaskingRule) -> Option<String> {
    match rule.kind() {
        MaskingKind::Unspecified | MaskingKind::None => None,
        MaskingKind::Redact => Some("redact".into()),
        MaskingKind::Hash => Some("hash".into()),
        MaskingKind::Nullify => Some("nullify".into()),
        MaskingKind::Partial => Some(match (rule.keep_first, rule.keep_last) {
            (0, last) => format!("partial-last-{last}"),
            (first, 0) => format!("partial-first-{first}"),
            (first, last) => format!("partial-first-{first}-last-{last}"),
        }),
    }
}

fn china_standard_time() -> Option<FixedOffset> {
    FixedOffset::east_opt(CHINA_STANDARD_TIME_SECS)
}

/// End of a period: `2027-12-31` means through that day (China Standard
/// Time), so the exclusive end is the next midnight; an RFC 3339 time is
/// taken as it is.
pub fn until(value: &str) -> Result<Timestamp, String> {
    instant(value, |day| day.checked_add_days(Days::new(1)))
}

/// Start of a period: `2026-01-01` means from that day's midnight (China
/// Standard Time); an RFC 3339 time is taken as it is.
pub fn from(value: &str) -> Result<Timestamp, String> {
    instant(value, Some)
}

fn instant(
    value: &str,
    midnight_of: impl Fn(NaiveDate) -> Option<NaiveDate>,
) -> Result<Timestamp, String> {
    let value = value.trim();
    let at: DateTime<Utc> = if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        midnight_of(day)
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .and_then(|midnight| {
                china_standard_time()?
                    .from_local_datetime(&midnight)
                    .single()
            })
            .map(|at| at.with_timezone(&Utc))
            .ok_or_else(|| format!("`{value}` is out of range"))?
    } else {
        DateTime::parse_from_rfc3339(value)
            .map_err(|_| {
                format!(
                    "`{value}` is not a day like 2027-12-31 or a time like 2027-12-31T16:00:00Z"
                )
            })?
            .with_timezone(&Utc)
    };
    Ok(Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    })
}

/// A parser for values of one contract enum: `approved`, `APPROVED` or
/// `APPLICATION_STATUS_APPROVED` all name the same value.
pub fn enum_value(
    full_name: &'static str,
) -> impl Fn(&str) -> Result<i32, String> + Clone + Send + Sync + 'static {
    move |value: &str| {
        let enumeration = message_file::pool()?
            .get_enum_by_name(full_name)
            .ok_or_else(|| format!("{full_name} is not an enum of the contracts"))?;
        let prefix = enumeration
            .values()
            .find(|v| v.number() == 0)
            .and_then(|v| v.name().strip_suffix("UNSPECIFIED").map(str::to_string))
            .unwrap_or_default();
        let wanted = value.trim().to_ascii_uppercase().replace('-', "_");
        let choices: Vec<_> = enumeration.values().filter(|v| v.number() != 0).collect();
        choices
            .iter()
            .find(|v| v.name() == wanted || v.name().strip_prefix(&prefix) == Some(&wanted))
            .map(|v| v.number())
            .ok_or_else(|| {
                let names: Vec<String> = choices
                    .iter()
                    .map(|v| {
                        v.name()
                            .strip_prefix(&prefix)
                            .unwrap_or(v.name())
                            .to_ascii_lowercase()
                            .replace('_', "-")
                    })
                    .collect();
                format!("expected one of {}", names.join(", "))
            })
    }
}

/// Field-mask paths naming fields of `M`, in the .proto's snake_case
/// whichever spelling was given.
pub fn field_mask<M: prost::Name>(paths: &[String]) -> Result<FieldMask, String> {
    let descriptor = message_file::descriptor::<M>()?;
    let mut resolved = Vec::new();
    let mut unknown = Vec::new();
    for path in paths.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        match descriptor
            .get_field_by_name(path)
            .or_else(|| descriptor.get_field_by_json_name(path))
        {
            Some(field) if !resolved.iter().any(|r| r == field.name()) => {
                resolved.push(field.name().to_string());
            }
            Some(_) => {}
            None => unknown.push(path.to_string()),
        }
    }
    if !unknown.is_empty() {
        let known: Vec<String> = descriptor.fields().map(|f| f.name().to_string()).collect();
        return Err(format!(
            "{} has no field {}; its fields are {}",
            descriptor.name(),
            unknown.join(", "),
            known.join(", ")
        ));
    }
    if resolved.is_empty() {
        return Err("name the fields to change with --fields".into());
    }
    Ok(FieldMask { paths: resolved })
}

#[cfg(test)]
mod tests;
