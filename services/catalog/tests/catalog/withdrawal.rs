//! Withdrawal by the requester (recalling the application), and a request
//! made while the approval center was down resuming on retry.

use crate::support::requests::*;
use crate::support::*;
use tonic::Code;
use zhongtai_catalog::events::SUBSCRIPTION;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_kit::Caller;

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
