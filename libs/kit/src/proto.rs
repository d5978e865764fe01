//! Conversions between contract messages and the shared domain values, used
//! by every service's API layer.

use chrono::{DateTime, Utc};
use zhongtai_contracts::common::v1 as common;

use crate::actor::{Actor, ActorKind};
use crate::status::ApiError;
use crate::tenant::TenantId;

/// `google.protobuf.Timestamp` of an instant.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// The instant of a `google.protobuf.Timestamp`; `field` names it in the error.
pub fn instant(field: &str, at: &prost_types::Timestamp) -> Result<DateTime<Utc>, ApiError> {
    u32::try_from(at.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(at.seconds, nanos))
        .ok_or_else(|| ApiError::invalid_field(field, "is not a valid timestamp"))
}

/// A required tenant; `field` names it in the error (e.g. `tenant`).
pub fn tenant(field: &str, tenant: Option<&common::Tenant>) -> Result<TenantId, ApiError> {
    let tenant = tenant.ok_or_else(|| ApiError::invalid_field(field, "is required"))?;
    TenantId::parse(&tenant.division_code, &tenant.department)
        .map_err(|e| ApiError::invalid_field(field, e.to_string()))
}

/// An optional tenant: unset, or set with an empty division, means none.
pub fn optional_tenant(
    field: &str,
    tenant: Option<&common::Tenant>,
) -> Result<Option<TenantId>, ApiError> {
    match tenant {
        Some(t) if !t.division_code.is_empty() => self::tenant(field, Some(t)).map(Some),
        _ => Ok(None),
    }
}

/// The contract form of a tenant.
pub fn tenant_message(tenant: &TenantId) -> common::Tenant {
    common::Tenant {
        division_code: tenant.division.to_string(),
        department: tenant.department.clone().unwrap_or_default(),
    }
}

/// The contract form of an actor.
pub fn actor_message(actor: &Actor) -> common::Actor {
    common::Actor {
        kind: match actor.kind {
            ActorKind::User => common::ActorKind::User,
            ActorKind::Service => common::ActorKind::Service,
            ActorKind::App => common::ActorKind::App,
            ActorKind::System => common::ActorKind::System,
        } as i32,
        subject: actor.subject.clone(),
        tenant: actor.tenant.as_ref().map(tenant_message),
        roles: actor.roles.clone(),
        display_name: String::new(),
    }
}

/// The paging part of a list response.
pub fn page_response(next_page_token: String) -> common::PageResponse {
    common::PageResponse {
        next_page_token,
        total_size: -1,
    }
}

/// Validates a list request's paging.
pub fn page_query(page: Option<&common::PageRequest>) -> Result<crate::PageQuery, ApiError> {
    match page {
        Some(page) => crate::PageQuery::parse(page.page_size, &page.page_token),
        None => crate::PageQuery::parse(0, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        let now = Utc::now();
        assert_eq!(instant("t", &timestamp(now)).ok(), Some(now));
        let bad = prost_types::Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert!(instant("t", &bad).is_err());
    }

    #[test]
    fn tenants_are_validated() {
        let ok = common::Tenant {
            division_code: "331100".into(),
            department: "housing-fund".into(),
        };
        assert_eq!(
            tenant("tenant", Some(&ok)).map(|t| t.key()).ok(),
            Some("331100/housing-fund".into())
        );
        let bad = common::Tenant {
            division_code: "33".into(),
            department: String::new(),
        };
        let error = tenant("tenant", Some(&bad)).expect_err("bad division");
        assert_eq!(error.code(), tonic::Code::InvalidArgument);
        assert!(tenant("tenant", None).is_err());
        assert_eq!(optional_tenant("tenant", None).ok(), Some(None));
    }
}
