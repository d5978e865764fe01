//! Requests on unconditionally shared resources, approved by policy at
//! once: a grant and the full set of events, no application.

use crate::support::requests::*;
use crate::support::*;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::events::v1 as events;

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
    let grant = get_grant(&t, &civil, &approved.grant_id).await.unwrap();
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
