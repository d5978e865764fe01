//! Grants on PostgreSQL: revocation by the owner and by the data bureau,
//! provisioning, expiry by the timer loop (exactly once with two timers),
//! "what may I use" with the union of fields, lineage, and schema changes
//! that would pull a granted field from under a grant.

#![allow(clippy::unwrap_used)] // test helpers

mod support;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::ConnectionTrait;
use support::*;
use tokio_util::sync::CancellationToken;
use tonic::Code;
use zhongtai_catalog::events::{AccessDecisions, SUBSCRIPTION};
use zhongtai_contracts::approval::v1 as approval;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_contracts::common::v1::{FieldAccess, MaskingKind, MaskingRule, Period};
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::{Consumer, Event, EventEnvelope};
use zhongtai_kit::{Caller, Role};

struct Granted {
    marriage: pb::Resource,
    population: pb::Resource,
    /// Housing's reviewed grant on the marriage data.
    reviewed: pb::Grant,
    /// Housing's two policy grants on the population data.
    hashed_names: pb::Grant,
    plain_ids: pb::Grant,
}

fn ask(
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

async fn grant_of(
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

/// The approval center approves the application reviewing the request.
async fn approve(t: &TestCatalog, access_request_id: &str) {
    let application = approval::Application {
        id: FakeReview::application_for(access_request_id),
        origin: Some(approval::ExternalRef {
            service: "catalog".into(),
            kind: "access_request".into(),
            id: access_request_id.into(),
        }),
        ..Default::default()
    };
    let payload = events::ApplicationApproved {
        application: Some(application.clone()),
        entry: None,
    };
    let envelope = EventEnvelope {
        id: uuid::Uuid::now_v7().to_string(),
        r#type: "approval.application.approved".into(),
        subject: application.id.clone(),
        payload: Some(
            Event::new(
                "approval.application.approved",
                DATA_BUREAU,
                &application.id,
                &payload,
            )
            .payload,
        ),
        ..Default::default()
    };
    Consumer::new(t.db.clone(), Arc::new(AccessDecisions))
        .process(SUBSCRIPTION, &envelope)
        .await
        .unwrap();
}

async fn get_grant(t: &TestCatalog, caller: &Caller, id: &str) -> Result<pb::Grant, tonic::Status> {
    t.api
        .get_grant(acting(caller, pb::GetGrantRequest { id: id.into() }))
        .await
        .map(|r| r.into_inner().grant.unwrap())
}

async fn revoke(
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

async fn accessible(t: &TestCatalog, caller: &Caller) -> Vec<pb::AccessibleResource> {
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

async fn setup(t: &TestCatalog) -> Granted {
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
        ask(
            "m-1",
            &marriage.id,
            &[("husband_name", None), ("husband_id_number", None)],
        ),
    )
    .await;
    let hashed_names = grant_of(
        t,
        &housing,
        ask(
            "p-1",
            &population.id,
            &[("holder_name", Some(MaskingKind::Hash))],
        ),
    )
    .await;
    let plain_ids = grant_of(
        t,
        &housing,
        ask(
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

#[tokio::test]
async fn owners_and_the_data_bureau_revoke_and_grantees_cannot() {
    let t = TestCatalog::postgres().await;
    let granted = setup(&t).await;
    let housing = operator(HOUSING_FUND);
    let owner = operator(CIVIL_AFFAIRS);
    let before = t.snapshot().await;

    assert_eq!(
        denial(
            &revoke(&t, &housing, &granted.reviewed.id, "不要了")
                .await
                .unwrap_err()
        ),
        "NOT_GRANT_OWNER"
    );
    let owners_viewer = caller(CIVIL_AFFAIRS, &[Role::Viewer]);
    assert_eq!(
        denial(
            &revoke(&t, &owners_viewer, &granted.reviewed.id, "x")
                .await
                .unwrap_err()
        ),
        "NOT_GRANT_OWNER"
    );
    assert_eq!(
        revoke(&t, &operator(OTHER_CITY), &granted.reviewed.id, "x")
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let other_bureau = operator("330100/data-bureau");
    assert_eq!(
        revoke(&t, &other_bureau, &granted.reviewed.id, "x")
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        violations(&revoke(&t, &owner, "nope", "").await.unwrap_err()),
        ["id", "reason"]
    );
    assert_eq!(
        violations(
            &revoke(&t, &owner, &granted.reviewed.id, &"长".repeat(2001))
                .await
                .unwrap_err()
        ),
        ["reason"]
    );
    assert_eq!(t.snapshot().await, before, "refusals change nothing");

    let revoked = revoke(&t, &owner, &granted.reviewed.id, "purpose fulfilled")
        .await
        .unwrap();
    assert_eq!(revoked.state(), pb::GrantState::Revoked);
    assert_eq!(revoked.revoke_reason, "purpose fulfilled");
    assert_eq!(revoked.revoked_by.as_ref().unwrap().subject, owner.subject);
    assert_eq!(revoked.version, granted.reviewed.version + 1);
    assert_eq!(get_grant(&t, &housing, &revoked.id).await.unwrap(), revoked);
    assert_eq!(t.events("catalog.grant.revoked").await, 1);
    assert_eq!(
        t.count("audit_log WHERE action = 'catalog.grant.revoke'")
            .await,
        1
    );
    // Again: returned unchanged, nothing new announced.
    assert_eq!(
        revoke(&t, &owner, &revoked.id, "again").await.unwrap(),
        revoked
    );
    assert_eq!(t.events("catalog.grant.revoked").await, 1);

    // The owner division's data bureau may revoke too.
    let bureau = operator(DATA_BUREAU);
    assert_eq!(
        get_grant(&t, &bureau, &granted.hashed_names.id)
            .await
            .unwrap(),
        granted.hashed_names
    );
    let by_bureau = revoke(&t, &bureau, &granted.hashed_names.id, "数据局清理")
        .await
        .unwrap();
    assert_eq!(by_bureau.state(), pb::GrantState::Revoked);
    assert_eq!(
        by_bureau.revoked_by.unwrap().tenant,
        Some(tenant(DATA_BUREAU))
    );
    let bureau_view = t
        .api
        .list_grants(acting(
            &bureau,
            pb::ListGrantsRequest {
                as_owner: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .grants;
    assert_eq!(
        bureau_view.len(),
        3,
        "the bureau oversees its division's grants"
    );

    // Only the plain grant on the population data is left to use.
    let usable = accessible(&t, &housing).await;
    assert_eq!(usable.len(), 1);
    assert_eq!(
        usable[0].resource.as_ref().unwrap().id,
        granted.population.id
    );
    assert_eq!(usable[0].grants, std::slice::from_ref(&granted.plain_ids));
}

#[tokio::test]
async fn what_may_i_use_lists_exactly_the_granted_fields_and_lineage_shows_grants() {
    let t = TestCatalog::postgres().await;
    let granted = setup(&t).await;
    let housing = operator(HOUSING_FUND);

    let usable = accessible(&t, &housing).await;
    let by_code = |code: &str| {
        usable
            .iter()
            .find(|entry| entry.resource.as_ref().unwrap().code == code)
            .unwrap()
            .clone()
    };
    assert_eq!(usable.len(), 2);
    let marriage = by_code("marriage-registration");
    assert_eq!(marriage.grants, std::slice::from_ref(&granted.reviewed));
    assert_eq!(
        marriage.fields,
        [
            FieldAccess {
                field: "husband_id_number".into(),
                masking: Some(keep_last(4))
            },
            FieldAccess {
                field: "husband_name".into(),
                masking: None
            },
        ]
    );
    let population = by_code("population-basics");
    assert_eq!(population.grants.len(), 2);
    assert_eq!(
        population.fields,
        [
            FieldAccess {
                field: "holder_name".into(),
                masking: Some(MaskingRule {
                    kind: MaskingKind::Hash as i32,
                    ..Default::default()
                }),
            },
            FieldAccess {
                field: "record_id".into(),
                masking: None
            },
        ],
        "the union, with the strictest masking per field"
    );
    assert!(
        accessible(&t, &operator(CIVIL_AFFAIRS)).await.is_empty(),
        "owners hold nothing"
    );
    let paged = t
        .api
        .list_accessible_resources(acting(
            &housing,
            pb::ListAccessibleResourcesRequest {
                page: Some(zhongtai_contracts::common::v1::PageRequest {
                    page_size: 1,
                    page_token: String::new(),
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paged.resources.len(), 1);
    assert!(!paged.page.unwrap().next_page_token.is_empty());

    // Lineage: the owner sees every grant, a grantee only its own.
    let lineage = |caller: Caller, id: String| {
        let api = &t.api;
        async move {
            api.get_resource_lineage(acting(
                &caller,
                pb::GetResourceLineageRequest { resource_id: id },
            ))
            .await
            .map(|r| r.into_inner())
        }
    };
    let owner_view = lineage(operator(CIVIL_AFFAIRS), granted.population.id.clone())
        .await
        .unwrap();
    assert_eq!(owner_view.line_id, granted.population.line_id);
    assert_eq!(owner_view.source_table, "public.population");
    assert_eq!(owner_view.grants.len(), 2);
    let grantee_view = lineage(housing.clone(), granted.marriage.id.clone())
        .await
        .unwrap();
    assert_eq!(grantee_view.grants, std::slice::from_ref(&granted.reviewed));
    let outsider_view = lineage(operator(OTHER_CITY), granted.marriage.id.clone())
        .await
        .unwrap();
    assert!(
        outsider_view.grants.is_empty(),
        "a shared resource, but none of its grants"
    );
    assert_eq!(
        violations(&lineage(housing.clone(), "x".into()).await.unwrap_err()),
        ["resource_id"]
    );

    // Lists: the holder's view and the owner's, with filters.
    let list = |caller: Caller, request: pb::ListGrantsRequest| {
        let api = &t.api;
        async move {
            api.list_grants(acting(&caller, request))
                .await
                .map(|r| r.into_inner().grants)
        }
    };
    assert_eq!(
        list(housing.clone(), pb::ListGrantsRequest::default())
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(
        list(
            housing.clone(),
            pb::ListGrantsRequest {
                as_owner: true,
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .is_empty()
    );
    let on_population = list(
        operator(CIVIL_AFFAIRS),
        pb::ListGrantsRequest {
            as_owner: true,
            resource_id: granted.population.id.clone(),
            grantee: Some(tenant(HOUSING_FUND)),
            states: vec![pb::GrantState::Approved as i32],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        on_population
            .iter()
            .map(|g| g.id.clone())
            .collect::<Vec<_>>(),
        [
            granted.plain_ids.id.clone(),
            granted.hashed_names.id.clone()
        ]
    );
    let status = list(
        housing.clone(),
        pb::ListGrantsRequest {
            grantee: Some(tenant(OTHER_CITY)),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(denial(&status), "TENANT_MISMATCH");
    let status = list(
        housing.clone(),
        pb::ListGrantsRequest {
            states: vec![0],
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn provisioning_is_recorded_by_the_owner() {
    let t = TestCatalog::postgres().await;
    let granted = setup(&t).await;
    let admin = caller(CIVIL_AFFAIRS, &[Role::Admin]);
    let mark = |caller: Caller, id: String, subscription_id: &'static str| {
        let api = &t.api;
        async move {
            api.mark_grant_provisioned(acting(
                &caller,
                pb::MarkGrantProvisionedRequest {
                    id,
                    subscription_id: subscription_id.into(),
                },
            ))
            .await
            .map(|r| r.into_inner().grant.unwrap())
        }
    };
    let grantee_admin = caller(HOUSING_FUND, &[Role::Admin]);
    assert_eq!(
        denial(
            &mark(grantee_admin, granted.reviewed.id.clone(), "sub-1")
                .await
                .unwrap_err()
        ),
        "NOT_GRANT_OWNER"
    );
    assert_eq!(
        violations(
            &mark(admin.clone(), granted.reviewed.id.clone(), "")
                .await
                .unwrap_err()
        ),
        ["subscription_id"]
    );
    let provisioned = mark(admin.clone(), granted.reviewed.id.clone(), "sub-1")
        .await
        .unwrap();
    assert_eq!(provisioned.state(), pb::GrantState::Provisioned);
    assert_eq!(provisioned.subscription_ids, ["sub-1"]);
    assert_eq!(
        mark(admin.clone(), granted.reviewed.id.clone(), "sub-1")
            .await
            .unwrap(),
        provisioned
    );
    assert_eq!(t.events("catalog.grant.provisioned").await, 1);
    // Still usable.
    assert_eq!(accessible(&t, &operator(HOUSING_FUND)).await.len(), 2);
    revoke(&t, &operator(CIVIL_AFFAIRS), &granted.plain_ids.id, "done")
        .await
        .unwrap();
    assert_eq!(
        mark(admin, granted.plain_ids.id.clone(), "sub-2")
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );
}

#[tokio::test]
async fn the_timer_expires_grants_past_their_period_exactly_once() {
    let t = TestCatalog::postgres().await;
    let granted = setup(&t).await;
    t.db.execute_unprepared(&format!(
        "UPDATE grants SET period_end = period_start WHERE id IN ('{}', '{}')",
        granted.reviewed.id, granted.hashed_names.id
    ))
    .await
    .unwrap();

    // Two timers racing over the same due grants.
    let stop = CancellationToken::new();
    let timers: Vec<_> = (0..2)
        .map(|n| {
            let grants = t.catalog.grants.clone();
            tokio::spawn(zhongtai_kit::timers::every(
                if n == 0 { "expiry-a" } else { "expiry-b" },
                Duration::from_millis(20),
                stop.clone(),
                move || {
                    let grants = grants.clone();
                    async move { grants.expire_due(zhongtai_catalog::domain::now()).await }
                },
            ))
        })
        .collect();
    let housing = operator(HOUSING_FUND);
    zhongtai_testkit::eventually(Duration::from_secs(20), "grants expired", || {
        let t = &t;
        let housing = housing.clone();
        async move { (accessible(t, &housing).await.len() == 1).then_some(()) }
    })
    .await;
    stop.cancel();
    for timer in timers {
        timer.await.unwrap();
    }
    // Another tick finds nothing left to do.
    let after_expiry = t.snapshot().await;
    assert_eq!(
        t.catalog
            .grants
            .expire_due(zhongtai_catalog::domain::now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(t.snapshot().await, after_expiry);
    assert_eq!(t.events("catalog.grant.expired").await, 2, "once per grant");
    assert_eq!(
        t.count("audit_log WHERE action = 'catalog.grant.expire'")
            .await,
        2
    );
    let expired = get_grant(&t, &housing, &granted.reviewed.id).await.unwrap();
    assert_eq!(expired.state(), pb::GrantState::Expired);
    assert_eq!(
        revoke(&t, &operator(CIVIL_AFFAIRS), &expired.id, "too late")
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        get_grant(&t, &housing, &granted.plain_ids.id)
            .await
            .unwrap()
            .state(),
        pb::GrantState::Approved
    );

    // Two instances ticking at the same moment expire a grant once.
    t.db.execute_unprepared(&format!(
        "UPDATE grants SET period_end = period_start WHERE id = '{}'",
        granted.plain_ids.id
    ))
    .await
    .unwrap();
    let now = zhongtai_catalog::domain::now();
    let (a, b) = tokio::join!(
        t.catalog.grants.expire_due(now),
        t.catalog.grants.expire_due(now)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(t.events("catalog.grant.expired").await, 3);
}

#[tokio::test]
async fn granted_fields_cannot_be_removed_or_retyped() {
    let t = TestCatalog::postgres().await;
    let granted = setup(&t).await;
    let owner = operator(CIVIL_AFFAIRS);
    let update = |resource: pb::Resource| {
        let api = &t.api;
        let owner = owner.clone();
        async move {
            api.update_resource(acting(
                &owner,
                pb::UpdateResourceRequest {
                    resource: Some(resource),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["fields".into()],
                    }),
                    change_note: String::new(),
                },
            ))
            .await
            .map(|r| r.into_inner().resource.unwrap())
        }
    };
    let before = t.snapshot().await;
    let mut without = granted.marriage.clone();
    without.fields.retain(|f| f.name != "husband_name");
    let status = update(without).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("husband_name"),
        "{}",
        status.message()
    );
    let mut retyped = granted.marriage.clone();
    retyped.fields[2].r#type = pb::FieldType::Integer as i32;
    assert_eq!(
        update(retyped).await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    assert_eq!(t.snapshot().await, before);

    // Ungranted fields may go, and new ones may come.
    let mut reshaped = granted.marriage.clone();
    reshaped.fields.retain(|f| f.name != "registration_date");
    reshaped.fields.push(field(
        "wife_name",
        "女方姓名",
        pb::SensitivityLevel::Sensitive,
    ));
    assert_eq!(update(reshaped).await.unwrap().version, 2);

    // Once the grant is revoked, the field is free to change.
    revoke(&t, &owner, &granted.reviewed.id, "schema change")
        .await
        .unwrap();
    let mut current = t
        .api
        .get_resource(acting(
            &owner,
            pb::GetResourceRequest {
                id: granted.marriage.id.clone(),
                version: 0,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    current.fields.retain(|f| f.name != "husband_name");
    assert_eq!(update(current).await.unwrap().version, 3);
}
