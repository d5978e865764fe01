//! Revocation by the owner and by the owner division's data bureau, never
//! by the grantee; provisioning recorded by the owner.

use crate::support::requests::*;
use crate::support::*;
use tonic::Code;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_kit::{Caller, Role};

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
