//! Requests on conditionally shared resources: reviewed as approval-center
//! applications, decided by the approval events the catalog consumes
//! (idempotently), and listed by requester and owner.

use crate::support::requests::*;
use crate::support::*;
use prost::Message;
use tonic::Code;
use zhongtai_catalog::events::SUBSCRIPTION;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_contracts::common::v1::{
    MaskingKind, MaskingRule, RowCondition, RowFilter, RowOperator,
};
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::Outcome;

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
    let grant = get_grant(&t, &housing, &approved.grant_id).await.unwrap();
    assert_eq!(grant.state(), pb::GrantState::Approved);
    assert_eq!(grant.application_id, pending.application_id);
    assert_eq!(grant.fields, pending.fields);
    assert_eq!(grant.fields[1].masking, Some(keep_last(4)));
    assert_eq!(grant.row_filter, pending.row_filter);
    assert_eq!(grant.period, pending.period);
    assert_eq!(grant.purpose, "provident-fund loan");
    assert_eq!(
        get_grant(&t, &civil, &grant.id).await.unwrap(),
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
