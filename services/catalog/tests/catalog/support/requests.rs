//! Access requests and grants in tests: request messages, reading back,
//! the approval center's outcome events, and a standard set of grants.

use std::sync::Arc;

use prost::Message;
use sea_orm::ConnectionTrait;
use zhongtai_catalog::events::{AccessDecisions, SUBSCRIPTION};
use zhongtai_contracts::approval::v1 as approval;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_contracts::common::v1::{FieldAccess, MaskingKind, MaskingRule, Period};
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::{Consumer, Event, EventEnvelope};
use zhongtai_kit::Caller;

use super::*;

pub fn in_days(days: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: chrono::Utc::now().timestamp() + days * 86_400,
        nanos: 0,
    }
}

pub fn ask(request_id: &str, resource_id: &str, fields: &[&str]) -> pb::RequestAccessRequest {
    pb::RequestAccessRequest {
        request_id: request_id.into(),
        resource_id: resource_id.into(),
        fields: fields
            .iter()
            .map(|name| FieldAccess {
                field: name.to_string(),
                masking: None,
            })
            .collect(),
        purpose: "provident-fund loan".into(),
        period: Some(Period {
            start_time: None,
            end_time: Some(in_days(365)),
        }),
        ..Default::default()
    }
}

pub async fn request(
    t: &TestCatalog,
    caller: &Caller,
    message: pb::RequestAccessRequest,
) -> Result<pb::AccessRequest, tonic::Status> {
    t.api
        .request_access(acting(caller, message))
        .await
        .map(|r| r.into_inner().access_request.unwrap())
}

pub async fn get_request(
    t: &TestCatalog,
    caller: &Caller,
    id: &str,
) -> Result<pb::AccessRequest, tonic::Status> {
    t.api
        .get_access_request(acting(
            caller,
            pb::GetAccessRequestRequest { id: id.into() },
        ))
        .await
        .map(|r| r.into_inner().access_request.unwrap())
}

/// The payload of the one outbox event of `event_type`.
pub async fn only_event<M: prost::Name + Default>(t: &TestCatalog, event_type: &str) -> M {
    let rows =
        t.db.query_all_raw(sea_orm::Statement::from_string(
            t.db.get_database_backend(),
            format!("SELECT envelope FROM event_outbox WHERE event_type = '{event_type}'"),
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one {event_type}");
    let bytes: Vec<u8> = rows[0].try_get("", "envelope").unwrap();
    let envelope = EventEnvelope::decode(bytes.as_slice()).unwrap();
    M::decode(envelope.payload.unwrap().value.as_slice()).unwrap()
}

/// An approval-center event about the application reviewing `access_request_id`.
pub fn approval_event(event_type: &str, access_request_id: &str, comment: &str) -> EventEnvelope {
    let application = approval::Application {
        id: FakeReview::application_for(access_request_id),
        origin: Some(approval::ExternalRef {
            service: "catalog".into(),
            kind: "access_request".into(),
            id: access_request_id.into(),
        }),
        ..Default::default()
    };
    let entry = approval::HistoryEntry {
        application_id: application.id.clone(),
        comment: comment.into(),
        ..Default::default()
    };
    let subject = application.id.clone();
    let payload = match event_type {
        "approval.application.approved" => Event::new(
            event_type,
            DATA_BUREAU,
            &subject,
            &events::ApplicationApproved {
                application: Some(application),
                entry: Some(entry),
            },
        ),
        "approval.application.rejected" => Event::new(
            event_type,
            DATA_BUREAU,
            &subject,
            &events::ApplicationRejected {
                application: Some(application),
                entry: Some(entry),
            },
        ),
        _ => Event::new(
            event_type,
            DATA_BUREAU,
            &subject,
            &events::ApplicationRecalled {
                application: Some(application),
                entry: Some(entry),
            },
        ),
    }
    .payload;
    EventEnvelope {
        id: uuid::Uuid::now_v7().to_string(),
        r#type: event_type.into(),
        tenant: DATA_BUREAU.into(),
        source: "approval".into(),
        subject,
        payload: Some(payload),
        ..Default::default()
    }
}

pub fn consumer(t: &TestCatalog) -> Consumer {
    Consumer::new(t.db.clone(), Arc::new(AccessDecisions))
}

pub async fn get_grant(
    t: &TestCatalog,
    caller: &Caller,
    id: &str,
) -> Result<pb::Grant, tonic::Status> {
    t.api
        .get_grant(acting(caller, pb::GetGrantRequest { id: id.into() }))
        .await
        .map(|r| r.into_inner().grant.unwrap())
}

pub async fn revoke(
    t: &TestCatalog,
    caller: &Caller,
    id: &str,
    reason: &str,
) -> Result<pb::Grant, tonic::Status> {
    t.api
        .revoke_grant(acting(
            caller,
            pb::RevokeGrantRequest {
                id: id.into(),
                reason: reason.into(),
            },
        ))
        .await
        .map(|r| r.into_inner().grant.unwrap())
}

pub async fn accessible(t: &TestCatalog, caller: &Caller) -> Vec<pb::AccessibleResource> {
    t.api
        .list_accessible_resources(acting(
            caller,
            pb::ListAccessibleResourcesRequest::default(),
        ))
        .await
        .unwrap()
        .into_inner()
        .resources
}

pub fn ask_masked(
    request_id: &str,
    resource_id: &str,
    fields: &[(&str, Option<MaskingKind>)],
) -> pb::RequestAccessRequest {
    pb::RequestAccessRequest {
        request_id: request_id.into(),
        resource_id: resource_id.into(),
        fields: fields
            .iter()
            .map(|(name, kind)| FieldAccess {
                field: name.to_string(),
                masking: kind.map(|kind| MaskingRule {
                    kind: kind as i32,
                    ..Default::default()
                }),
            })
            .collect(),
        purpose: "公积金贷款审核".into(),
        period: Some(Period {
            start_time: None,
            end_time: Some(prost_types::Timestamp {
                seconds: chrono::Utc::now().timestamp() + 30 * 86_400,
                nanos: 0,
            }),
        }),
        ..Default::default()
    }
}

/// The approval center approves the application reviewing the request.
/// The approval center approves the application reviewing the request.
pub async fn approve(t: &TestCatalog, access_request_id: &str) {
    let approved = approval_event("approval.application.approved", access_request_id, "同意");
    consumer(t).process(SUBSCRIPTION, &approved).await.unwrap();
}

pub async fn grant_of(
    t: &TestCatalog,
    caller: &Caller,
    message: pb::RequestAccessRequest,
) -> pb::Grant {
    let requested = t
        .api
        .request_access(acting(caller, message))
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap();
    if requested.grant_id.is_empty() {
        approve(t, &requested.id).await;
    }
    let request = t
        .api
        .get_access_request(acting(
            caller,
            pb::GetAccessRequestRequest { id: requested.id },
        ))
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap();
    get_grant(t, caller, &request.grant_id).await.unwrap()
}

/// Civil affairs' marriage data (reviewed) and population data (approved
/// by policy), with housing's grants on them.
pub struct Granted {
    pub marriage: pb::Resource,
    pub population: pb::Resource,
    /// Housing's reviewed grant on the marriage data.
    pub reviewed: pb::Grant,
    /// Housing's two policy grants on the population data.
    pub hashed_names: pb::Grant,
    pub plain_ids: pb::Grant,
}

/// Registers the two resources and grants housing three grants.
pub async fn setup(t: &TestCatalog) -> Granted {
    let civil = operator(CIVIL_AFFAIRS);
    let housing = operator(HOUSING_FUND);
    let marriage = t.register(&civil, marriage_registration()).await;
    let mut population = simple_resource(
        "population-basics",
        "人口基础信息",
        pb::SharingAttribute::Unconditional,
    );
    population.line_id = uuid::Uuid::now_v7().to_string();
    population.source_table = "public.population".into();
    let population = t.register(&civil, population).await;
    let reviewed = grant_of(
        t,
        &housing,
        ask_masked(
            "m-1",
            &marriage.id,
            &[("husband_name", None), ("husband_id_number", None)],
        ),
    )
    .await;
    let hashed_names = grant_of(
        t,
        &housing,
        ask_masked(
            "p-1",
            &population.id,
            &[("holder_name", Some(MaskingKind::Hash))],
        ),
    )
    .await;
    let plain_ids = grant_of(
        t,
        &housing,
        ask_masked(
            "p-2",
            &population.id,
            &[
                ("holder_name", Some(MaskingKind::None)),
                ("record_id", None),
            ],
        ),
    )
    .await;
    Granted {
        marriage,
        population,
        reviewed,
        hashed_names,
        plain_ids,
    }
}
