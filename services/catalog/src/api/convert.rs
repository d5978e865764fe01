//! Contract messages ↔ domain values. Translation only: a value that cannot
//! be translated is handed to the domain as `Err(problem)`, which reports it
//! with every other problem of the request.

use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::common::v1 as common;
use zhongtai_kit::TenantId;
use zhongtai_kit::proto::{actor_message, instant, tenant_message, timestamp};

use crate::domain::access_request::{AccessRequest, AccessRequestState, FieldAccess, Period};
use crate::domain::drafts::{DetailsDraft, FieldDraft, MaskingDraft, Parsed};
use crate::domain::grant::{Grant, GrantState};
use crate::domain::masking::{MaskingKind, MaskingRule};
use crate::domain::resource::{
    FieldType, OpenAttribute, Resource, ResourceField, ResourceLayer, ResourceState,
    ResourceVersion, Sensitivity, Sharing, UpdateFrequency,
};
use crate::domain::row_filter::{RowCondition, RowFilter, RowOperator};

/// Maps a contract enum to a domain enum and back. The contract's
/// UNSPECIFIED value (and any number it does not define) is not a domain
/// value: translating it yields the problem to report.
macro_rules! enum_mapping {
    ($parse:ident, $message:ident, $module:ident :: $contract:ident, $domain:ident, $what:literal,
     { $($variant:ident => $domain_variant:ident),+ $(,)? }) => {
        pub fn $parse(value: i32) -> Parsed<$domain> {
            match $module::$contract::try_from(value) {
                $(Ok($module::$contract::$variant) => Ok($domain::$domain_variant),)+
                Ok(_) => Err("must be set".to_string()),
                Err(_) => Err(format!("{value} is not a {}", $what)),
            }
        }

        pub fn $message(value: $domain) -> i32 {
            match value {
                $($domain::$domain_variant => $module::$contract::$variant as i32,)+
            }
        }
    };
}

enum_mapping!(layer, layer_number, pb::ResourceLayer, ResourceLayer, "resource layer", {
    Raw => Raw, Base => Base, Theme => Theme,
});
enum_mapping!(sharing, sharing_number, pb::SharingAttribute, Sharing, "sharing attribute", {
    Unconditional => Unconditional, Conditional => Conditional, NotShared => NotShared,
});
enum_mapping!(open, open_number, pb::OpenAttribute, OpenAttribute, "open attribute", {
    Open => Open, Restricted => Restricted, Closed => Closed,
});
enum_mapping!(frequency, frequency_number, pb::UpdateFrequency, UpdateFrequency, "update frequency", {
    RealTime => RealTime, Hourly => Hourly, Daily => Daily, Weekly => Weekly,
    Monthly => Monthly, Quarterly => Quarterly, Yearly => Yearly, Irregular => Irregular,
});
enum_mapping!(field_type, field_type_number, pb::FieldType, FieldType, "field type", {
    String => String, Integer => Integer, Decimal => Decimal, Double => Double,
    Boolean => Boolean, Date => Date, Timestamp => Timestamp, Bytes => Bytes, Json => Json,
});
enum_mapping!(sensitivity, sensitivity_number, pb::SensitivityLevel, Sensitivity, "sensitivity level", {
    Public => Public, Internal => Internal, Sensitive => Sensitive, HighlySensitive => HighlySensitive,
});
enum_mapping!(row_operator, row_operator_number, common::RowOperator, RowOperator, "row operator", {
    Equals => Equals, NotEquals => NotEquals, In => In, GreaterOrEqual => GreaterOrEqual,
    LessThan => LessThan, Prefix => Prefix, WithinDivision => WithinDivision,
});
enum_mapping!(request_state, request_state_number, pb::AccessRequestState, AccessRequestState, "access request state", {
    PendingApproval => PendingApproval, Approved => Approved, Rejected => Rejected, Withdrawn => Withdrawn,
});
enum_mapping!(grant_state, grant_state_number, pb::GrantState, GrantState, "grant state", {
    Pending => Pending, Approved => Approved, Provisioned => Provisioned, Revoked => Revoked, Expired => Expired,
});

fn resource_state_number(state: ResourceState) -> i32 {
    match state {
        ResourceState::Published => pb::ResourceState::Published as i32,
        ResourceState::Retired => pb::ResourceState::Retired as i32,
    }
}

/// Unset (UNSPECIFIED) masking means none.
fn masking_kind(value: i32) -> Parsed<MaskingKind> {
    match common::MaskingKind::try_from(value) {
        Ok(common::MaskingKind::Unspecified | common::MaskingKind::None) => Ok(MaskingKind::None),
        Ok(common::MaskingKind::Partial) => Ok(MaskingKind::Partial),
        Ok(common::MaskingKind::Redact) => Ok(MaskingKind::Redact),
        Ok(common::MaskingKind::Hash) => Ok(MaskingKind::Hash),
        Ok(common::MaskingKind::Nullify) => Ok(MaskingKind::Nullify),
        Err(_) => Err(format!("{value} is not a masking kind")),
    }
}

fn masking_kind_number(kind: MaskingKind) -> i32 {
    (match kind {
        MaskingKind::None => common::MaskingKind::None,
        MaskingKind::Partial => common::MaskingKind::Partial,
        MaskingKind::Redact => common::MaskingKind::Redact,
        MaskingKind::Hash => common::MaskingKind::Hash,
        MaskingKind::Nullify => common::MaskingKind::Nullify,
    }) as i32
}

pub fn masking_draft(rule: &common::MaskingRule) -> MaskingDraft {
    MaskingDraft {
        kind: masking_kind(rule.kind),
        keep_first: rule.keep_first,
        keep_last: rule.keep_last,
        mask_character: rule.mask_character.clone(),
    }
}

pub fn masking_message(rule: &MaskingRule) -> common::MaskingRule {
    common::MaskingRule {
        kind: masking_kind_number(rule.kind),
        keep_first: rule.keep_first,
        keep_last: rule.keep_last,
        mask_character: rule.mask_character.clone(),
    }
}

pub fn field_access_message(access: &FieldAccess) -> common::FieldAccess {
    common::FieldAccess {
        field: access.field.clone(),
        masking: access.masking.as_ref().map(masking_message),
    }
}

pub fn row_filter(filter: Option<&common::RowFilter>) -> RowFilter {
    RowFilter {
        conditions: filter
            .map(|filter| {
                filter
                    .conditions
                    .iter()
                    .map(|condition| RowCondition {
                        field: condition.field.clone(),
                        operator: row_operator(condition.operator).ok(),
                        values: condition.values.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Unset for an empty filter, so "all rows" reads the same either way.
pub fn row_filter_message(filter: &RowFilter) -> Option<common::RowFilter> {
    (!filter.is_empty()).then(|| common::RowFilter {
        conditions: filter
            .conditions
            .iter()
            .map(|condition| common::RowCondition {
                field: condition.field.clone(),
                operator: condition
                    .operator
                    .map(row_operator_number)
                    .unwrap_or_default(),
                values: condition.values.clone(),
            })
            .collect(),
    })
}

pub fn period_message(period: &Period) -> common::Period {
    common::Period {
        start_time: Some(timestamp(period.start)),
        end_time: Some(timestamp(period.end)),
    }
}

pub fn instant_of(
    field: &str,
    at: &prost_types::Timestamp,
) -> Parsed<chrono::DateTime<chrono::Utc>> {
    instant(field, at).map_err(|e| e.message().to_string())
}

/// An optional tenant: unset, or with an empty division, is none.
pub fn optional_tenant(tenant: Option<&common::Tenant>) -> Option<Parsed<TenantId>> {
    tenant
        .filter(|t| !t.division_code.is_empty())
        .map(|tenant| {
            TenantId::parse(&tenant.division_code, &tenant.department).map_err(|e| e.to_string())
        })
}

pub fn details_draft(resource: &pb::Resource) -> DetailsDraft {
    DetailsDraft {
        title: resource.title.clone(),
        description: resource.description.clone(),
        fields: resource
            .fields
            .iter()
            .map(|field| FieldDraft {
                name: field.name.clone(),
                title: field.title.clone(),
                description: field.description.clone(),
                field_type: field_type(field.r#type),
                sensitivity: sensitivity(field.sensitivity),
                primary_key: field.primary_key,
                nullable: field.nullable,
                default_masking: field.default_masking.as_ref().map(masking_draft),
            })
            .collect(),
        layer: layer(resource.layer),
        sharing: sharing(resource.sharing),
        sharing_conditions: resource.sharing_conditions.clone(),
        open: open(resource.open),
        update_frequency: frequency(resource.update_frequency),
        line_id: resource.line_id.clone(),
        source_table: resource.source_table.clone(),
        tags: resource.tags.clone(),
    }
}

fn field_message(field: &ResourceField) -> pb::ResourceField {
    pb::ResourceField {
        name: field.name.clone(),
        title: field.title.clone(),
        description: field.description.clone(),
        r#type: field_type_number(field.field_type),
        sensitivity: sensitivity_number(field.sensitivity),
        primary_key: field.primary_key,
        nullable: field.nullable,
        default_masking: field.default_masking.as_ref().map(masking_message),
    }
}

/// The contract form of a resource.
pub fn resource_message(resource: &Resource) -> pb::Resource {
    let details = &resource.details;
    pb::Resource {
        id: resource.id.to_string(),
        owner: Some(tenant_message(&resource.owner)),
        code: resource.code.clone(),
        title: details.title.clone(),
        description: details.description.clone(),
        fields: details.fields.iter().map(field_message).collect(),
        layer: layer_number(details.layer),
        sharing: sharing_number(details.sharing),
        sharing_conditions: details.sharing_conditions.clone(),
        open: open_number(details.open),
        update_frequency: frequency_number(details.update_frequency),
        line_id: details.line_id.map(|id| id.to_string()).unwrap_or_default(),
        source_table: details.source_table.clone(),
        tags: details.tags.clone(),
        version: resource.version,
        state: resource_state_number(resource.state),
        create_time: Some(timestamp(resource.created_at)),
        update_time: Some(timestamp(resource.updated_at)),
    }
}

pub fn version_message(entry: &ResourceVersion) -> pb::ResourceVersion {
    pb::ResourceVersion {
        version: entry.resource.version,
        resource: Some(resource_message(&entry.resource)),
        changed_fields: Some(prost_types::FieldMask {
            paths: entry.changed_fields.clone(),
        }),
        changed_by: Some(actor_message(&entry.changed_by)),
        change_note: entry.change_note.clone(),
        time: Some(timestamp(entry.time)),
    }
}

/// The contract form of an access request; the grantee is reported even
/// when it is the requester.
pub fn request_message(request: &AccessRequest) -> pb::AccessRequest {
    pb::AccessRequest {
        id: request.id.to_string(),
        resource_id: request.resource_id.to_string(),
        resource_version: request.resource_version,
        requester: Some(tenant_message(&request.requester)),
        fields: request.fields.iter().map(field_access_message).collect(),
        purpose: request.purpose.clone(),
        period: Some(period_message(&request.period)),
        row_filter: row_filter_message(&request.row_filter),
        state: request_state_number(request.state),
        application_id: request.application_id.clone().unwrap_or_default(),
        grant_id: request
            .grant_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        requested_by: Some(actor_message(&request.requested_by)),
        request_id: request.request_id.clone(),
        decision_reason: request.decision_reason.clone(),
        create_time: Some(timestamp(request.created_at)),
        update_time: Some(timestamp(request.updated_at)),
        grantee: Some(tenant_message(&request.grantee)),
    }
}

pub fn grant_message(grant: &Grant) -> pb::Grant {
    pb::Grant {
        id: grant.id.to_string(),
        resource_id: grant.resource_id.to_string(),
        resource_version: grant.resource_version,
        owner: Some(tenant_message(&grant.owner)),
        grantee: Some(tenant_message(&grant.grantee)),
        access_request_id: grant.access_request_id.to_string(),
        application_id: grant.application_id.clone(),
        fields: grant.fields.iter().map(field_access_message).collect(),
        row_filter: row_filter_message(&grant.row_filter),
        purpose: grant.purpose.clone(),
        period: Some(period_message(&grant.period)),
        state: grant_state_number(grant.state),
        subscription_ids: grant.subscription_ids.clone(),
        revoke_reason: grant.revoke_reason.clone(),
        revoked_by: grant.revoked_by.as_ref().map(actor_message),
        version: grant.version,
        create_time: Some(timestamp(grant.created_at)),
        update_time: Some(timestamp(grant.updated_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_and_unknown_enums_are_problems() {
        assert_eq!(
            layer(pb::ResourceLayer::Base as i32),
            Ok(ResourceLayer::Base)
        );
        assert_eq!(layer(0), Err("must be set".to_string()));
        assert!(layer(99).is_err_and(|e| e.contains("99")));
        assert_eq!(
            layer_number(ResourceLayer::Theme),
            pb::ResourceLayer::Theme as i32
        );
        assert_eq!(masking_kind(0), Ok(MaskingKind::None));
    }

    #[test]
    fn masking_round_trips_exactly() {
        let rule = common::MaskingRule {
            kind: common::MaskingKind::Partial as i32,
            keep_first: 0,
            keep_last: 4,
            mask_character: String::new(),
        };
        let domain = masking_draft(&rule).check().unwrap();
        assert_eq!(masking_message(&domain), rule);
    }
}
