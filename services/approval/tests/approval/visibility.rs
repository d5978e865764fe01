//! Who may see an application and apply for an item, on PostgreSQL:
//! parties see what they take part in and nobody else does, submissions are
//! idempotent per submitting actor, data-access items take applications
//! from every tenant, other tenants' public items are invisible, inactive
//! items take none.

use tonic::Code;
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::approval::v1::approval_service_server::ApprovalService;
use zhongtai_kit::{DivisionCode, Role};

use crate::support::*;
use pb::StageKind::Joint;

#[tokio::test]
async fn only_parties_see_an_application() {
    let h = Harness::postgres().await;
    let item = joint_item(&h).await;
    let app = submit(&h, &item).await;

    // Another city's tenant holding every role sees nothing of it.
    let stranger = all_roles("stranger", STRANGER);
    assert_eq!(
        get(&h, &stranger, &app.id).await.unwrap_err().code(),
        Code::NotFound
    );
    let history = h
        .api
        .list_application_history(by(
            &stranger,
            pb::ListApplicationHistoryRequest {
                application_id: app.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(history.code(), Code::NotFound);
    assert_eq!(
        approve(&h, &stranger, &app.id).await.unwrap_err().code(),
        Code::NotFound
    );
    let listed = h
        .api
        .list_applications(by(&stranger, pb::ListApplicationsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.applications.is_empty(), "{listed:?}");
    let tasks = h
        .api
        .list_my_tasks(by(&stranger, pb::ListMyTasksRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(tasks.tasks.is_empty());
    // A department of the same city with no part in it neither.
    let neighbour = all_roles("neighbour", APPLICANT);
    assert_eq!(
        get(&h, &neighbour, &app.id).await.unwrap_err().code(),
        Code::NotFound
    );

    // The handling tenant and each assignee's tenant see it.
    for who in [
        operator(),
        caller("viewer", CIVIL, &[Role::Viewer]),
        approver(BUREAU),
    ] {
        let got = get(&h, &who, &app.id).await.unwrap();
        assert_eq!(got.application.unwrap().id, app.id, "{who:?}");
        let listed = h
            .api
            .list_applications(by(&who, pb::ListApplicationsRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .applications;
        assert_eq!(listed.len(), 1);
    }
    // A provincial auditor with a read grant over the city reads it, and
    // may still not decide it.
    let auditor = caller(
        "auditor",
        "330000/big-data",
        &[Role::Auditor, Role::Approver],
    )
    .with_cross_tenant_read(vec![DivisionCode::parse("331100").unwrap()]);
    assert!(get(&h, &auditor, &app.id).await.is_ok());
    assert_eq!(
        approve(&h, &auditor, &app.id).await.unwrap_err().code(),
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn submission_is_idempotent_per_submitting_actor() {
    let h = Harness::postgres().await;
    let item = joint_item(&h).await;
    let request = submission(&item);
    let first = h
        .api
        .submit_application(by(&clerk(), request.clone()))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    // A retry, even with other content, returns the first application.
    let retry = h
        .api
        .submit_application(by(
            &clerk(),
            pb::SubmitApplicationRequest {
                form_data: Some(form("另一家公司")),
                ..request.clone()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(retry, first);
    assert_eq!(h.count("applications").await, 1);
    assert_eq!(
        h.events(&first.id).await,
        ["approval.application.submitted"]
    );
    // Another actor's request id is its own.
    let colleague = caller("colleague", HANDLER, &[Role::Operator]);
    let theirs = h
        .api
        .submit_application(by(&colleague, request))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_ne!(theirs.id, first.id);
    assert_eq!(h.count("applications").await, 2);
}

/// The data bureau's review of data requests: the owner is bound per
/// request, and every department may ask.
async fn data_access_item(h: &Harness) -> pb::ServiceItem {
    let bureau_operator = caller("bureau-operator", BUREAU, &[Role::Operator]);
    let process = h
        .api
        .create_process_definition(by(
            &bureau_operator,
            pb::CreateProcessDefinitionRequest {
                request_id: rid(),
                key: "data-access-review".into(),
                name: "数据共享审批".into(),
                stages: vec![stage(
                    "joint-review",
                    Joint,
                    vec![slot("owner"), role(BUREAU, "approver")],
                    0,
                )],
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .process_definition
        .unwrap();
    h.api
        .create_service_item(by(
            &bureau_operator,
            pb::CreateServiceItemRequest {
                request_id: rid(),
                code: "data-access".into(),
                name: "数据共享申请".into(),
                kind: pb::ServiceItemKind::DataAccess as i32,
                process: Some(pb::ProcessRef {
                    process_definition_id: process.id,
                    version: 0,
                }),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap()
}

fn data_request(owner: &str) -> pb::SubmitApplicationRequest {
    pb::SubmitApplicationRequest {
        request_id: rid(),
        service_item_key: Some(pb::ServiceItemKey {
            tenant: Some(tenant(BUREAU)),
            code: "data-access".into(),
        }),
        form_data: Some(form("婚姻登记信息: husband_name, registration_date")),
        origin: Some(pb::ExternalRef {
            service: "catalog".into(),
            kind: "access_request".into(),
            id: uuid::Uuid::now_v7().to_string(),
        }),
        assignee_bindings: [(
            "owner".to_string(),
            pb::DepartmentRole {
                tenant: Some(tenant(owner)),
                role: "approver".into(),
            },
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_data_access_item_takes_applications_from_every_tenant() {
    let h = Harness::postgres().await;
    data_access_item(&h).await;
    let housing = caller("housing-app", APPLICANT, &[Role::Operator]);
    let app = h
        .api
        .submit_application(by(&housing, data_request(CIVIL)))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(
        app.tenant,
        Some(tenant(BUREAU)),
        "the item's tenant handles it"
    );
    let applicant = app.applicant.clone().unwrap();
    assert_eq!(applicant.tenant, Some(tenant(APPLICANT)));
    assert_eq!(app.origin.as_ref().unwrap().service, "catalog");
    let owner_task = &app.stages[0].tasks[0];
    assert_eq!(
        owner_task.assignee,
        Some(role(CIVIL, "approver")),
        "the slot resolved"
    );
    assert_eq!(
        app.assignee_bindings
            .get("owner")
            .and_then(|r| r.tenant.clone()),
        Some(tenant(CIVIL))
    );

    // The applicant follows it; the owner finds its task.
    assert!(get(&h, &housing, &app.id).await.is_ok());
    let by_origin = h
        .api
        .list_applications(by(
            &housing,
            pb::ListApplicationsRequest {
                origin_service: "catalog".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .applications;
    assert_eq!(by_origin.len(), 1);
    let mine = h
        .api
        .list_my_tasks(by(&approver(CIVIL), pb::ListMyTasksRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert_eq!(mine.len(), 1);
    // The applicant may not name another applicant tenant.
    let status = h
        .api
        .submit_application(by(
            &housing,
            pb::SubmitApplicationRequest {
                applicant: Some(pb::Applicant {
                    tenant: Some(tenant(CIVIL)),
                    ..Default::default()
                }),
                ..data_request(CIVIL)
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(denial_reason(&status).contains("TENANT_MISMATCH"));
    // Joint approval by the owner and the bureau.
    approve(&h, &approver(BUREAU), &app.id).await.unwrap();
    let done = approve(&h, &approver(CIVIL), &app.id).await.unwrap();
    assert_eq!(done.status(), pb::ApplicationStatus::Approved);
}

#[tokio::test]
async fn another_tenants_public_item_is_invisible_and_inactive_items_take_nothing() {
    let h = Harness::postgres().await;
    let item = joint_item(&h).await;
    let stranger = all_roles("stranger", APPLICANT);
    let by_id = h
        .api
        .submit_application(by(&stranger, submission(&item)))
        .await
        .unwrap_err();
    assert_eq!(by_id.code(), Code::NotFound);
    let by_key = h
        .api
        .submit_application(by(
            &stranger,
            pb::SubmitApplicationRequest {
                service_item_id: String::new(),
                service_item_key: Some(pb::ServiceItemKey {
                    tenant: Some(tenant(HANDLER)),
                    code: item.code.clone(),
                }),
                ..submission(&item)
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(by_key.code(), Code::NotFound);

    let mut version = item.version;
    for state in [
        pb::ServiceItemState::Suspended,
        pb::ServiceItemState::Retired,
    ] {
        let updated = h
            .api
            .update_service_item(by(
                &operator(),
                pb::UpdateServiceItemRequest {
                    item: Some(pb::ServiceItem {
                        id: item.id.clone(),
                        version,
                        state: state as i32,
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["state".into()],
                    }),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .item
            .unwrap();
        version = updated.version;
        let refused = h
            .api
            .submit_application(by(&clerk(), submission(&item)))
            .await
            .unwrap_err();
        assert_eq!(
            refused.code(),
            Code::FailedPrecondition,
            "{state:?}: {refused:?}"
        );
    }
    assert_eq!(h.count("applications").await, 0);
}
