//! Domain values ↔ table rows. Rows are written only from domain values
//! here; a row that does not read back is corruption, reported as a
//! storage failure rather than a panic.

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;
use zhongtai_kit::{Actor, TenantId};

use super::entities::{access_request, grant, resource, resource_version};
use crate::domain::CatalogError;
use crate::domain::access_request::{AccessRequest, AccessRequestState, Period};
use crate::domain::grant::{Grant, GrantState};
use crate::domain::resource::{
    OpenAttribute, Resource, ResourceDetails, ResourceLayer, ResourceState, ResourceVersion,
    Sharing, UpdateFrequency,
};

pub(super) fn storage(e: impl std::fmt::Display + 'static) -> CatalogError {
    CatalogError::storage(e)
}

pub(super) fn department(tenant: &TenantId) -> String {
    tenant.department.clone().unwrap_or_default()
}

fn json<T: Serialize>(value: &T) -> Result<serde_json::Value, CatalogError> {
    serde_json::to_value(value).map_err(storage)
}

fn from_json<T: DeserializeOwned>(
    value: &serde_json::Value,
    corrupt: impl Fn(&str) -> CatalogError,
    what: &str,
) -> Result<T, CatalogError> {
    serde_json::from_value(value.clone()).map_err(|_| corrupt(what))
}

fn id_or_empty(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

pub(super) fn resource_row(
    resource: &Resource,
    request_id: Option<&str>,
) -> Result<resource::Model, CatalogError> {
    let details = &resource.details;
    Ok(resource::Model {
        id: resource.id.to_string(),
        owner_division: resource.owner.division.to_string(),
        owner_department: department(&resource.owner),
        code: resource.code.clone(),
        title: details.title.clone(),
        layer: details.layer.as_str().to_string(),
        state: resource.state.as_str().to_string(),
        version: resource.version,
        created_at: resource.created_at,
        updated_at: resource.updated_at,
        description: details.description.clone(),
        fields: json(&details.fields)?,
        sharing: details.sharing.as_str().to_string(),
        sharing_conditions: details.sharing_conditions.clone(),
        open: details.open.as_str().to_string(),
        update_frequency: details.update_frequency.as_str().to_string(),
        line_id: id_or_empty(details.line_id),
        source_table: details.source_table.clone(),
        tags: json(&details.tags)?,
        request_id: request_id.map(str::to_string),
    })
}

pub(super) fn resource_from_row(row: resource::Model) -> Result<Resource, CatalogError> {
    let id = row.id.clone();
    let corrupt = move |what: &str| CatalogError::Storage(format!("resource {id}: bad {what}"));
    Ok(Resource {
        id: Uuid::parse_str(&row.id).map_err(|_| corrupt("id"))?,
        owner: TenantId::parse(&row.owner_division, &row.owner_department)
            .map_err(|_| corrupt("owner"))?,
        details: ResourceDetails {
            fields: from_json(&row.fields, &corrupt, "fields")?,
            tags: from_json(&row.tags, &corrupt, "tags")?,
            layer: ResourceLayer::from_name(&row.layer).ok_or_else(|| corrupt("layer"))?,
            sharing: Sharing::from_name(&row.sharing).ok_or_else(|| corrupt("sharing"))?,
            open: OpenAttribute::from_name(&row.open).ok_or_else(|| corrupt("open"))?,
            update_frequency: UpdateFrequency::from_name(&row.update_frequency)
                .ok_or_else(|| corrupt("update_frequency"))?,
            line_id: match row.line_id.as_str() {
                "" => None,
                line => Some(Uuid::parse_str(line).map_err(|_| corrupt("line_id"))?),
            },
            title: row.title,
            description: row.description,
            sharing_conditions: row.sharing_conditions,
            source_table: row.source_table,
        },
        state: ResourceState::from_name(&row.state).ok_or_else(|| corrupt("state"))?,
        code: row.code,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(super) fn version_row(
    entry: &ResourceVersion,
) -> Result<resource_version::Model, CatalogError> {
    let resource = &entry.resource;
    Ok(resource_version::Model {
        resource_id: resource.id.to_string(),
        version: resource.version,
        owner_division: resource.owner.division.to_string(),
        owner_department: department(&resource.owner),
        snapshot: json(resource)?,
        changed_fields: json(&entry.changed_fields)?,
        changed_by: json(&entry.changed_by)?,
        change_note: entry.change_note.clone(),
        created_at: entry.time,
    })
}

pub(super) fn version_from_row(
    row: resource_version::Model,
) -> Result<ResourceVersion, CatalogError> {
    let key = format!("{}@{}", row.resource_id, row.version);
    let corrupt =
        move |what: &str| CatalogError::Storage(format!("resource version {key}: bad {what}"));
    Ok(ResourceVersion {
        resource: from_json(&row.snapshot, &corrupt, "snapshot")?,
        changed_fields: from_json(&row.changed_fields, &corrupt, "changed_fields")?,
        changed_by: from_json(&row.changed_by, &corrupt, "changed_by")?,
        change_note: row.change_note,
        time: row.created_at,
    })
}

pub(super) fn request_row(request: &AccessRequest) -> Result<access_request::Model, CatalogError> {
    Ok(access_request::Model {
        id: request.id.to_string(),
        request_id: request.request_id.clone(),
        resource_id: request.resource_id.to_string(),
        resource_version: request.resource_version,
        owner_division: request.owner.division.to_string(),
        owner_department: department(&request.owner),
        requester_division: request.requester.division.to_string(),
        requester_department: department(&request.requester),
        grantee_division: request.grantee.division.to_string(),
        grantee_department: department(&request.grantee),
        fields: json(&request.fields)?,
        purpose: request.purpose.clone(),
        period_start: request.period.start,
        period_end: request.period.end,
        row_filter: json(&request.row_filter)?,
        state: request.state.as_str().to_string(),
        application_id: request.application_id.clone().unwrap_or_default(),
        grant_id: id_or_empty(request.grant_id),
        requested_by: json(&request.requested_by)?,
        decision_reason: request.decision_reason.clone(),
        version: request.version,
        created_at: request.created_at,
        updated_at: request.updated_at,
    })
}

pub(super) fn request_from_row(row: access_request::Model) -> Result<AccessRequest, CatalogError> {
    let id = row.id.clone();
    let corrupt =
        move |what: &str| CatalogError::Storage(format!("access request {id}: bad {what}"));
    let tenant = |division: &str, department: &str, what: &str| {
        TenantId::parse(division, department).map_err(|_| corrupt(what))
    };
    Ok(AccessRequest {
        id: Uuid::parse_str(&row.id).map_err(|_| corrupt("id"))?,
        resource_id: Uuid::parse_str(&row.resource_id).map_err(|_| corrupt("resource_id"))?,
        owner: tenant(&row.owner_division, &row.owner_department, "owner")?,
        requester: tenant(
            &row.requester_division,
            &row.requester_department,
            "requester",
        )?,
        grantee: tenant(&row.grantee_division, &row.grantee_department, "grantee")?,
        fields: from_json(&row.fields, &corrupt, "fields")?,
        row_filter: from_json(&row.row_filter, &corrupt, "row_filter")?,
        requested_by: from_json::<Actor>(&row.requested_by, &corrupt, "requested_by")?,
        state: AccessRequestState::from_name(&row.state).ok_or_else(|| corrupt("state"))?,
        application_id: Some(row.application_id).filter(|id| !id.is_empty()),
        grant_id: match row.grant_id.as_str() {
            "" => None,
            grant => Some(Uuid::parse_str(grant).map_err(|_| corrupt("grant_id"))?),
        },
        period: Period {
            start: row.period_start,
            end: row.period_end,
        },
        request_id: row.request_id,
        resource_version: row.resource_version,
        purpose: row.purpose,
        decision_reason: row.decision_reason,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(super) fn grant_row(grant: &Grant) -> Result<grant::Model, CatalogError> {
    Ok(grant::Model {
        id: grant.id.to_string(),
        resource_id: grant.resource_id.to_string(),
        resource_version: grant.resource_version,
        owner_division: grant.owner.division.to_string(),
        owner_department: department(&grant.owner),
        grantee_division: grant.grantee.division.to_string(),
        grantee_department: department(&grant.grantee),
        access_request_id: grant.access_request_id.to_string(),
        application_id: grant.application_id.clone(),
        fields: json(&grant.fields)?,
        row_filter: json(&grant.row_filter)?,
        purpose: grant.purpose.clone(),
        period_start: grant.period.start,
        period_end: grant.period.end,
        state: grant.state.as_str().to_string(),
        subscription_ids: json(&grant.subscription_ids)?,
        revoke_reason: grant.revoke_reason.clone(),
        revoked_by: grant.revoked_by.as_ref().map(json).transpose()?,
        version: grant.version,
        created_at: grant.created_at,
        updated_at: grant.updated_at,
    })
}

pub(super) fn grant_from_row(row: grant::Model) -> Result<Grant, CatalogError> {
    let id = row.id.clone();
    let corrupt = move |what: &str| CatalogError::Storage(format!("grant {id}: bad {what}"));
    let tenant = |division: &str, department: &str, what: &str| {
        TenantId::parse(division, department).map_err(|_| corrupt(what))
    };
    Ok(Grant {
        id: Uuid::parse_str(&row.id).map_err(|_| corrupt("id"))?,
        resource_id: Uuid::parse_str(&row.resource_id).map_err(|_| corrupt("resource_id"))?,
        access_request_id: Uuid::parse_str(&row.access_request_id)
            .map_err(|_| corrupt("access_request_id"))?,
        owner: tenant(&row.owner_division, &row.owner_department, "owner")?,
        grantee: tenant(&row.grantee_division, &row.grantee_department, "grantee")?,
        fields: from_json(&row.fields, &corrupt, "fields")?,
        row_filter: from_json(&row.row_filter, &corrupt, "row_filter")?,
        subscription_ids: from_json(&row.subscription_ids, &corrupt, "subscription_ids")?,
        revoked_by: row
            .revoked_by
            .as_ref()
            .map(|actor| from_json::<Actor>(actor, &corrupt, "revoked_by"))
            .transpose()?,
        state: GrantState::from_name(&row.state).ok_or_else(|| corrupt("state"))?,
        period: Period {
            start: row.period_start,
            end: row.period_end,
        },
        resource_version: row.resource_version,
        application_id: row.application_id,
        purpose: row.purpose,
        revoke_reason: row.revoke_reason,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
