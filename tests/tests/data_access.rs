//! S1 steps 2–3 across real services: civil affairs registers its marriage
//! data in the catalog, the housing-fund centre finds it by a Chinese search
//! and requests masked fields; the request runs as an approval-center
//! application (reached through etcd discovery over mutual TLS) with a joint
//! approval by the owner department and the data bureau; the grant and its
//! revocation are published on RabbitMQ for the exchange center and gateway.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

mod support;

use std::time::Duration;

use prost::Message;
use prost_types::Timestamp;
use tonic::Code;
use zhongtai_contracts::approval::v1 as approval;
use zhongtai_contracts::catalog::v1 as catalog;
use zhongtai_contracts::common::v1::{FieldAccess, Period};
use zhongtai_contracts::events::v1::{GrantApproved, GrantRevoked};
use zhongtai_kit::Role;

use support::data_sharing::{
    CIVIL_AFFAIRS, DATA_BUREAU, HOUSING_FUND, approval_client, approve, catalog_client, keep_last,
    my_task, register_marriage_data, request_id, set_up_data_access_review, tenant,
};
use support::{Mesh, Services, count, with_token};

const EVENT_WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_request_runs_a_joint_approval_and_becomes_a_revocable_grant() {
    let mesh = Mesh::start(Services::ApprovalAndCatalog).await;
    let mut observer = mesh
        .observe(&["catalog.grant.*", "approval.application.*"])
        .await;
    set_up_data_access_review(&mesh).await;
    let resource = register_marriage_data(&mesh).await;

    // The housing-fund centre finds the dataset with a Chinese query.
    let housing = mesh
        .security
        .token(HOUSING_FUND, &[Role::Operator, Role::Viewer]);
    let found = catalog_client(&mesh)
        .search_resources(with_token(
            catalog::SearchResourcesRequest {
                query: "婚姻".into(),
                ..Default::default()
            },
            &housing,
        ))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].resource.as_ref().unwrap().id, resource.id);
    assert!(!found[0].granted);

    // It asks for names, ID numbers (last 4 kept) and dates, for a year.
    let now = chrono::Utc::now().timestamp();
    let requested = catalog_client(&mesh)
        .request_access(with_token(
            catalog::RequestAccessRequest {
                request_id: request_id(),
                resource_id: resource.id.clone(),
                fields: ["husband_name", "husband_id_number", "registration_date"]
                    .into_iter()
                    .map(|name| FieldAccess {
                        field: name.into(),
                        masking: None,
                    })
                    .collect(),
                purpose: "provident-fund loan".into(),
                period: Some(Period {
                    start_time: None,
                    end_time: Some(Timestamp {
                        seconds: now + 365 * 24 * 3600,
                        nanos: 0,
                    }),
                }),
                ..Default::default()
            },
            &housing,
        ))
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap();
    assert_eq!(
        requested.state(),
        catalog::AccessRequestState::PendingApproval
    );
    let application_id = requested.application_id.clone();
    assert!(!application_id.is_empty(), "an application was raised");
    observer
        .expect(
            "approval.application.submitted",
            &application_id,
            EVENT_WAIT,
        )
        .await;

    // Somebody who is not an assignee cannot decide it; nothing changes.
    let outsider = mesh.security.token(HOUSING_FUND, &[Role::Approver]);
    let status = approval_client(&mesh)
        .approve_application(with_token(
            approval::ApproveApplicationRequest {
                request_id: request_id(),
                application_id: application_id.clone(),
                task_id: my_task(
                    &mesh,
                    &mesh.security.token(CIVIL_AFFAIRS, &[Role::Approver]),
                    &application_id,
                )
                .await,
                comment: String::new(),
            },
            &outsider,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    // Joint approval: the data bureau first, then the owner.
    approve(
        &mesh,
        &mesh.security.token(DATA_BUREAU, &[Role::Approver]),
        &application_id,
    )
    .await;
    let pending = catalog_client(&mesh)
        .get_access_request(with_token(
            catalog::GetAccessRequestRequest {
                id: requested.id.clone(),
            },
            &housing,
        ))
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap();
    assert_eq!(
        pending.state(),
        catalog::AccessRequestState::PendingApproval,
        "one of two approvals is not enough"
    );
    approve(
        &mesh,
        &mesh.security.token(CIVIL_AFFAIRS, &[Role::Approver]),
        &application_id,
    )
    .await;
    observer
        .expect("approval.application.approved", &application_id, EVENT_WAIT)
        .await;

    // The catalog acts on the approval event: the request is approved and a
    // grant with the owner's masking is announced on RabbitMQ.
    let approved = zhongtai_testkit::eventually(EVENT_WAIT, "access request approved", || {
        let mut client = catalog_client(&mesh);
        let request = with_token(
            catalog::GetAccessRequestRequest {
                id: requested.id.clone(),
            },
            &housing,
        );
        async move {
            let found = client.get_access_request(request).await.ok()?;
            let access = found.into_inner().access_request?;
            (access.state() == catalog::AccessRequestState::Approved).then_some(access)
        }
    })
    .await;
    let announced = observer
        .expect("catalog.grant.approved", &approved.grant_id, EVENT_WAIT)
        .await;
    let grant = GrantApproved::decode(announced.payload.unwrap().value.as_slice())
        .unwrap()
        .grant
        .unwrap();
    assert_eq!(grant.state(), catalog::GrantState::Approved);
    assert_eq!(grant.grantee, Some(tenant(HOUSING_FUND)));
    assert_eq!(grant.owner, Some(tenant(CIVIL_AFFAIRS)));
    assert_eq!(grant.application_id, application_id);
    let id_number = grant
        .fields
        .iter()
        .find(|f| f.field == "husband_id_number")
        .unwrap();
    assert_eq!(
        id_number.masking,
        Some(keep_last(4)),
        "the owner's default masking applies"
    );
    assert_eq!(grant.fields.len(), 3);

    // "What may I use" now lists exactly that resource and those fields.
    let accessible = catalog_client(&mesh)
        .list_accessible_resources(with_token(
            catalog::ListAccessibleResourcesRequest::default(),
            &housing,
        ))
        .await
        .unwrap()
        .into_inner()
        .resources;
    assert_eq!(accessible.len(), 1);
    let mut fields: Vec<_> = accessible[0]
        .fields
        .iter()
        .map(|f| f.field.clone())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["husband_id_number", "husband_name", "registration_date"]
    );

    // The owner revokes it: REVOKED, announced, and no longer usable.
    let revoked = catalog_client(&mesh)
        .revoke_grant(with_token(
            catalog::RevokeGrantRequest {
                id: grant.id.clone(),
                reason: "purpose fulfilled".into(),
            },
            &mesh.security.token(CIVIL_AFFAIRS, &[Role::Admin]),
        ))
        .await
        .unwrap()
        .into_inner()
        .grant
        .unwrap();
    assert_eq!(revoked.state(), catalog::GrantState::Revoked);
    let announced = observer
        .expect("catalog.grant.revoked", &grant.id, EVENT_WAIT)
        .await;
    let revoked = GrantRevoked::decode(announced.payload.unwrap().value.as_slice())
        .unwrap()
        .grant
        .unwrap();
    assert_eq!(revoked.revoke_reason, "purpose fulfilled");
    let accessible = catalog_client(&mesh)
        .list_accessible_resources(with_token(
            catalog::ListAccessibleResourcesRequest::default(),
            &housing,
        ))
        .await
        .unwrap()
        .into_inner()
        .resources;
    assert!(accessible.is_empty(), "{accessible:#?}");

    // The approval event was handled once, even though RabbitMQ may deliver
    // it again: one grant in the catalog's database.
    assert_eq!(count(&mesh.db("catalog").await, "grants").await, 1);
    mesh.stop().await;
}
