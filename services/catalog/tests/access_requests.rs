//! Access requests (点菜) through the handler on PostgreSQL, with the
//! approval center replaced by a test double of the review port: policy
//! approval of unconditional resources, review applications for
//! conditional ones, their outcomes arriving as approval events, withdrawal,
//! idempotency across an approval outage, and refusals.

#![allow(clippy::unwrap_used)] // test helpers

mod support;

use std::sync::Arc;

use prost::Message;
use sea_orm::ConnectionTrait;
use support::*;
use tonic::Code;
use zhongtai_catalog::events::{AccessDecisions, SUBSCRIPTION};
use zhongtai_contracts::approval::v1 as approval;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_contracts::common::v1::{
    FieldAccess, MaskingKind, MaskingRule, Period, RowCondition, RowFilter, RowOperator,
};
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::{Consumer, Event, EventEnvelope, Outcome};
use zhongtai_kit::{Caller, Role};

fn in_days(days: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: chrono::Utc::now().timestamp() + days * 86_400,
        nanos: 0,
    }
}

fn ask(request_id: &str, resource_id: &str, fields: &[&str]) -> pb::RequestAccessRequest {
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

async fn request(
    t: &TestCatalog,
    caller: &Caller,
    message: pb::RequestAccessRequest,
) -> Result<pb::AccessRequest, tonic::Status> {
    t.api
        .request_access(acting(caller, message))
        .await
        .map(|r| r.into_inner().access_request.unwrap())
}

async fn get_request(
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

async fn get_grant(t: &TestCatalog, caller: &Caller, id: &str) -> pb::Grant {
    t.api
        .get_grant(acting(caller, pb::GetGrantRequest { id: id.into() }))
        .await
        .unwrap()
        .into_inner()
        .grant
        .unwrap()
}

/// The payload of the one outbox event of `event_type`.
async fn only_event<M: prost::Name + Default>(t: &TestCatalog, event_type: &str) -> M {
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
fn approval_event(event_type: &str, access_request_id: &str, comment: &str) -> EventEnvelope {
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

fn consumer(t: &TestCatalog) -> Consumer {
    Consumer::new(t.db.clone(), Arc::new(AccessDecisions))
}

#[tokio::test]
async fn unconditional_resources_are_approved_by_policy() {
    let t = TestCatalog::postgres().await;
    let owner = operator(HOUSING_FUND);
    let resource = t
        .register(
            &owner,
            simple_resource(
                "fund-deposits",
                "住房公积金缴存信息",
                pb::SharingAttribute::Unconditional,
            ),
        )
        .await;
    let civil = operator(CIVIL_AFFAIRS);
    let approved = request(&t, &civil, ask("auto-1", &resource.id, &["holder_name"]))
        .await
        .unwrap();
    assert_eq!(approved.state(), pb::AccessRequestState::Approved);
    assert!(approved.application_id.is_empty(), "no application");
    assert!(t.review.submitted().is_empty());
    let grant = get_grant(&t, &civil, &approved.grant_id).await;
    assert_eq!(grant.state(), pb::GrantState::Approved);
    assert_eq!(grant.grantee, Some(tenant(CIVIL_AFFAIRS)));
    assert_eq!(grant.owner, Some(tenant(HOUSING_FUND)));
    assert_eq!(grant.access_request_id, approved.id);
    assert_eq!(grant.version, 2);
    for event_type in [
        "catalog.access_request.submitted",
        "catalog.grant.created",
        "catalog.grant.approved",
        "catalog.access_request.approved",
    ] {
        assert_eq!(t.events(event_type).await, 1, "{event_type}");
    }
    let announced: events::AccessRequestApproved =
        only_event(&t, "catalog.access_request.approved").await;
    assert!(announced.auto_approved);
    assert_eq!(announced.grant.unwrap(), grant);
    let created: events::GrantCreated = only_event(&t, "catalog.grant.created").await;
    assert_eq!(created.grant.unwrap().state(), pb::GrantState::Pending);
    let submitted: events::AccessRequestSubmitted =
        only_event(&t, "catalog.access_request.submitted").await;
    assert_eq!(
        submitted.access_request.unwrap().state(),
        pb::AccessRequestState::PendingApproval
    );

    // A repeat returns the same request and grants nothing more.
    let again = request(&t, &civil, ask("auto-1", &resource.id, &["holder_name"]))
        .await
        .unwrap();
    assert_eq!(again, approved);
    assert_eq!(t.count("grants").await, 1);
}

#[tokio::test]
async fn conditional_requests_are_reviewed_and_decided_by_approval_events() {
    let t = TestCatalog::postgres().await;
    let civil = operator(CIVIL_AFFAIRS);
    let resource = t.register(&civil, marriage_registration()).await;
    let housing = operator(HOUSING_FUND);

    let mut message = ask(
        "loan-1",
        &resource.id,
        &["husband_name", "husband_id_number", "registration_date"],
    );
    // Asking for the ID number unmasked still gets the owner's masking;
    // a stricter wish for the name is kept.
    message.fields[1].masking = Some(MaskingRule {
        kind: MaskingKind::None as i32,
        ..Default::default()
    });
    message.fields[0].masking = Some(MaskingRule {
        kind: MaskingKind::Hash as i32,
        ..Default::default()
    });
    message.row_filter = Some(RowFilter {
        conditions: vec![RowCondition {
            field: "district_code".into(),
            operator: RowOperator::WithinDivision as i32,
            values: vec!["331100".into()],
        }],
    });
    let pending = request(&t, &housing, message).await.unwrap();
    assert_eq!(pending.state(), pb::AccessRequestState::PendingApproval);
    assert_eq!(
        pending.application_id,
        FakeReview::application_for(&pending.id)
    );
    assert_eq!(pending.requester, Some(tenant(HOUSING_FUND)));
    assert_eq!(pending.grantee, Some(tenant(HOUSING_FUND)));
    assert_eq!(
        pending.fields[1].masking,
        Some(keep_last(4)),
        "the default, exactly"
    );
    assert_eq!(
        pending.fields[0].masking.as_ref().unwrap().kind(),
        MaskingKind::Hash
    );
    assert_eq!(pending.resource_version, 1);
    assert_eq!(
        get_request(&t, &housing, &pending.id).await.unwrap(),
        pending
    );
    assert_eq!(
        get_request(&t, &civil, &pending.id).await.unwrap(),
        pending,
        "the owner sees it too"
    );
    assert_eq!(
        get_request(&t, &operator(OTHER_CITY), &pending.id)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );

    // The review runs as the owner division's data-bureau item, with the
    // owner bound as reviewer.
    let submitted = t.review.submitted();
    assert_eq!(submitted.len(), 1);
    assert_eq!(submitted[0].item_tenant.key(), DATA_BUREAU);
    assert_eq!(submitted[0].item_code, "data-access");
    assert_eq!(submitted[0].request.owner.key(), CIVIL_AFFAIRS);
    let announced: events::AccessRequestSubmitted =
        only_event(&t, "catalog.access_request.submitted").await;
    assert_eq!(announced.access_request.unwrap(), pending);
    assert_eq!(t.count("grants").await, 0);

    // Approval: the request is approved and a grant issued with the
    // request's fields, masking and rows.
    let approved_event = approval_event("approval.application.approved", &pending.id, "同意");
    assert_eq!(
        consumer(&t)
            .process(SUBSCRIPTION, &approved_event)
            .await
            .unwrap(),
        Outcome::Processed
    );
    let approved = get_request(&t, &housing, &pending.id).await.unwrap();
    assert_eq!(approved.state(), pb::AccessRequestState::Approved);
    let grant = get_grant(&t, &housing, &approved.grant_id).await;
    assert_eq!(grant.state(), pb::GrantState::Approved);
    assert_eq!(grant.application_id, pending.application_id);
    assert_eq!(grant.fields, pending.fields);
    assert_eq!(grant.fields[1].masking, Some(keep_last(4)));
    assert_eq!(grant.row_filter, pending.row_filter);
    assert_eq!(grant.period, pending.period);
    assert_eq!(grant.purpose, "provident-fund loan");
    assert_eq!(
        get_grant(&t, &civil, &grant.id).await,
        grant,
        "the owner sees it too"
    );
    let approved_grant: events::GrantApproved = only_event(&t, "catalog.grant.approved").await;
    assert_eq!(approved_grant.grant.unwrap(), grant);
    let decided: events::AccessRequestApproved =
        only_event(&t, "catalog.access_request.approved").await;
    assert!(!decided.auto_approved);

    // The same event again is dropped by the inbox; another copy of the
    // decision changes nothing either.
    assert_eq!(
        consumer(&t)
            .process(SUBSCRIPTION, &approved_event)
            .await
            .unwrap(),
        Outcome::Duplicate
    );
    let late_copy = approval_event("approval.application.approved", &pending.id, "同意");
    assert_eq!(
        consumer(&t)
            .process(SUBSCRIPTION, &late_copy)
            .await
            .unwrap(),
        Outcome::Processed
    );
    let late_rejection = approval_event("approval.application.rejected", &pending.id, "迟到");
    consumer(&t)
        .process(SUBSCRIPTION, &late_rejection)
        .await
        .unwrap();
    assert_eq!(t.count("grants").await, 1);
    assert_eq!(t.events("catalog.grant.approved").await, 1);
    assert_eq!(
        get_request(&t, &housing, &pending.id).await.unwrap(),
        approved
    );

    // Rejection keeps the approver's reason.
    let second = request(&t, &housing, ask("loan-2", &resource.id, &["husband_name"]))
        .await
        .unwrap();
    consumer(&t)
        .process(
            SUBSCRIPTION,
            &approval_event(
                "approval.application.rejected",
                &second.id,
                "用途与职责不符",
            ),
        )
        .await
        .unwrap();
    let rejected = get_request(&t, &housing, &second.id).await.unwrap();
    assert_eq!(rejected.state(), pb::AccessRequestState::Rejected);
    assert_eq!(rejected.decision_reason, "用途与职责不符");
    assert_eq!(t.events("catalog.access_request.rejected").await, 1);

    // A recall in the approval center withdraws the request.
    let third = request(&t, &housing, ask("loan-3", &resource.id, &["husband_name"]))
        .await
        .unwrap();
    consumer(&t)
        .process(
            SUBSCRIPTION,
            &approval_event("approval.application.recalled", &third.id, "不再需要"),
        )
        .await
        .unwrap();
    let recalled = get_request(&t, &housing, &third.id).await.unwrap();
    assert_eq!(recalled.state(), pb::AccessRequestState::Withdrawn);
    assert_eq!(t.events("catalog.access_request.withdrawn").await, 1);

    // Events about applications the catalog did not raise are ignored.
    let mut foreign = approval_event("approval.application.approved", &third.id, "");
    let mut application: events::ApplicationApproved =
        Message::decode(foreign.payload.as_ref().unwrap().value.as_slice()).unwrap();
    application.application.as_mut().unwrap().origin = None;
    foreign.payload.as_mut().unwrap().value = application.encode_to_vec();
    let before = t.snapshot().await;
    consumer(&t)
        .process("other-consumer", &foreign)
        .await
        .unwrap();
    assert_eq!(t.snapshot().await, before);

    // Lists: the requester's view and the owner's.
    let mine = t
        .api
        .list_access_requests(acting(&housing, pb::ListAccessRequestsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .access_requests;
    assert_eq!(
        mine.iter()
            .map(|r| r.request_id.as_str())
            .collect::<Vec<_>>(),
        ["loan-3", "loan-2", "loan-1"],
        "newest first"
    );
    let received = t
        .api
        .list_access_requests(acting(
            &civil,
            pb::ListAccessRequestsRequest {
                as_owner: true,
                states: vec![pb::AccessRequestState::Approved as i32],
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .access_requests;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].id, pending.id);
    let none_made = t
        .api
        .list_access_requests(acting(&civil, pb::ListAccessRequestsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .access_requests;
    assert!(none_made.is_empty());
    let status = t
        .api
        .list_access_requests(acting(
            &civil,
            pb::ListAccessRequestsRequest {
                states: vec![17],
                resource_id: "x".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn requesters_withdraw_pending_requests_and_recall_their_applications() {
    let t = TestCatalog::postgres().await;
    let civil = operator(CIVIL_AFFAIRS);
    let resource = t.register(&civil, marriage_registration()).await;
    let housing = operator(HOUSING_FUND);
    let pending = request(&t, &housing, ask("w-1", &resource.id, &["husband_name"]))
        .await
        .unwrap();

    let withdraw = |caller: Caller, id: String| {
        let api = &t.api;
        async move {
            api.withdraw_access_request(acting(
                &caller,
                pb::WithdrawAccessRequestRequest {
                    id,
                    reason: "计划取消".into(),
                },
            ))
            .await
            .map(|r| r.into_inner().access_request.unwrap())
        }
    };
    let before = t.snapshot().await;
    assert_eq!(
        denial(
            &withdraw(civil.clone(), pending.id.clone())
                .await
                .unwrap_err()
        ),
        "NOT_REQUESTER"
    );
    assert_eq!(
        withdraw(operator(OTHER_CITY), pending.id.clone())
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(t.snapshot().await, before);

    let withdrawn = withdraw(housing.clone(), pending.id.clone()).await.unwrap();
    assert_eq!(withdrawn.state(), pb::AccessRequestState::Withdrawn);
    assert_eq!(withdrawn.decision_reason, "计划取消");
    assert_eq!(
        *t.review.recalls.lock().unwrap(),
        [(
            pending.application_id.clone(),
            format!("withdraw-{}", pending.id)
        )]
    );
    assert_eq!(t.events("catalog.access_request.withdrawn").await, 1);
    // Twice changes nothing; the recall's own event changes nothing either.
    assert_eq!(
        withdraw(housing.clone(), pending.id.clone()).await.unwrap(),
        withdrawn
    );
    consumer(&t)
        .process(
            SUBSCRIPTION,
            &approval_event("approval.application.recalled", &pending.id, ""),
        )
        .await
        .unwrap();
    assert_eq!(t.events("catalog.access_request.withdrawn").await, 1);

    // A decided request can no longer be withdrawn.
    let second = request(&t, &housing, ask("w-2", &resource.id, &["husband_name"]))
        .await
        .unwrap();
    consumer(&t)
        .process(
            SUBSCRIPTION,
            &approval_event("approval.application.approved", &second.id, ""),
        )
        .await
        .unwrap();
    assert_eq!(
        withdraw(housing.clone(), second.id.clone())
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );
    let status = t
        .api
        .withdraw_access_request(acting(
            &housing,
            pb::WithdrawAccessRequestRequest {
                id: "x".into(),
                reason: "r".repeat(2001),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["id", "reason"]);
}

#[tokio::test]
async fn a_request_made_while_the_approval_center_is_down_resumes_on_retry() {
    let t = TestCatalog::postgres().await;
    let civil = operator(CIVIL_AFFAIRS);
    let resource = t.register(&civil, marriage_registration()).await;
    let housing = operator(HOUSING_FUND);

    t.review.set_mode(ReviewMode::Unavailable);
    let status = request(
        &t,
        &housing,
        ask("outage-1", &resource.id, &["husband_name"]),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        t.count("access_requests WHERE application_id = ''").await,
        1
    );
    assert_eq!(t.events("catalog.access_request.submitted").await, 0);

    t.review.set_mode(ReviewMode::Accept);
    let resumed = request(
        &t,
        &housing,
        ask("outage-1", &resource.id, &["husband_name"]),
    )
    .await
    .unwrap();
    assert_eq!(
        resumed.application_id,
        FakeReview::application_for(&resumed.id)
    );
    assert_eq!(t.count("access_requests").await, 1);
    assert_eq!(t.events("catalog.access_request.submitted").await, 1);
    let again = request(
        &t,
        &housing,
        ask("outage-1", &resource.id, &["husband_name"]),
    )
    .await
    .unwrap();
    assert_eq!(again, resumed);
    assert_eq!(t.review.submitted().len(), 1);

    // Reusing the key for another resource is a client error.
    let other = t
        .register(
            &civil,
            simple_resource("other-data", "其他", pb::SharingAttribute::Conditional),
        )
        .await;
    let status = request(&t, &housing, ask("outage-1", &other.id, &["holder_name"]))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["request_id"]);

    // Without the bureau's review item, the answer says what to set up.
    t.review.set_mode(ReviewMode::NoItem);
    let status = request(
        &t,
        &housing,
        ask("no-item", &resource.id, &["husband_name"]),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("331100"), "{}", status.message());
    assert!(
        status
            .message()
            .contains("service item data-access of kind DATA_ACCESS"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn requests_are_refused_for_private_retired_or_badly_described_access() {
    let t = TestCatalog::postgres().await;
    let civil = operator(CIVIL_AFFAIRS);
    let housing = caller(HOUSING_FUND, &[Role::Operator, Role::Admin]);
    let shared = t.register(&civil, marriage_registration()).await;
    let private = t
        .register(
            &civil,
            simple_resource(
                "internal-ledger",
                "内部台账",
                pb::SharingAttribute::NotShared,
            ),
        )
        .await;
    let own_private = t
        .register(
            &housing,
            simple_resource("own-ledger", "自有台账", pb::SharingAttribute::NotShared),
        )
        .await;
    let retired = t
        .register(
            &housing,
            simple_resource("old-data", "旧数据", pb::SharingAttribute::Conditional),
        )
        .await;
    t.api
        .retire_resource(acting(
            &housing,
            pb::RetireResourceRequest {
                id: retired.id.clone(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap();
    let before = t.snapshot().await;

    let status = request(&t, &housing, ask("p-1", &private.id, &["holder_name"]))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "others' private data does not exist for the caller"
    );
    let status = request(&t, &housing, ask("p-2", &own_private.id, &["holder_name"]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let status = request(&t, &housing, ask("p-3", &retired.id, &["holder_name"]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");

    let status = request(
        &t,
        &housing,
        ask("u-1", &shared.id, &["husband_name", "wife_name"]),
    )
    .await
    .unwrap_err();
    assert_eq!(violations(&status), ["fields[1].field"]);

    // Every problem at once.
    let mut bad = ask("", "not-a-uuid", &[]);
    bad.purpose = " ".into();
    bad.period = Some(Period {
        start_time: Some(in_days(10)),
        end_time: Some(in_days(5)),
    });
    bad.grantee = Some(tenant("12345"));
    let status = request(&t, &housing, bad).await.unwrap_err();
    assert_eq!(
        violations(&status),
        [
            "request_id",
            "resource_id",
            "purpose",
            "fields",
            "grantee",
            "period.end_time"
        ]
    );
    let mut bad = ask(
        "b-2",
        &shared.id,
        &["husband_name", "husband_name", "registration_date"],
    );
    bad.fields[2].masking = Some(MaskingRule {
        kind: MaskingKind::Redact as i32,
        keep_first: 3,
        mask_character: "##".into(),
        ..Default::default()
    });
    bad.period = Some(Period {
        start_time: None,
        end_time: Some(in_days(4 * 365)),
    });
    bad.row_filter = Some(RowFilter {
        conditions: vec![
            RowCondition {
                field: "district_code".into(),
                operator: RowOperator::WithinDivision as i32,
                values: vec!["3311".into()],
            },
            RowCondition {
                field: "nope".into(),
                operator: RowOperator::In as i32,
                values: vec![],
            },
            RowCondition {
                field: "husband_name".into(),
                operator: 0,
                values: vec!["x".into()],
            },
        ],
    });
    let status = request(&t, &housing, bad).await.unwrap_err();
    assert_eq!(
        violations(&status),
        [
            "fields[2].masking.keep_first",
            "fields[2].masking.mask_character",
            "period.end_time",
            "fields[1].field",
            "row_filter.conditions[0].values[0]",
            "row_filter.conditions[1].field",
            "row_filter.conditions[1].values",
            "row_filter.conditions[2].operator",
        ]
    );
    let mut too_many = ask("b-3", &shared.id, &["husband_name"]);
    too_many.row_filter = Some(RowFilter {
        conditions: vec![
            RowCondition {
                field: "husband_name".into(),
                operator: RowOperator::Equals as i32,
                values: vec!["x".into()],
            };
            17
        ],
    });
    assert_eq!(
        violations(&request(&t, &housing, too_many).await.unwrap_err()),
        ["row_filter.conditions"]
    );
    assert_eq!(t.snapshot().await, before, "nothing was written");

    // Naming another tenant as the receiver is allowed.
    let mut for_city = ask("g-1", &shared.id, &["husband_name"]);
    for_city.grantee = Some(tenant(OTHER_CITY));
    let requested = request(&t, &housing, for_city).await.unwrap();
    assert_eq!(requested.grantee, Some(tenant(OTHER_CITY)));
    assert_eq!(requested.requester, Some(tenant(HOUSING_FUND)));
}
