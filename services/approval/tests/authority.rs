//! Who may see and act on an application, on PostgreSQL: unauthorised
//! actors are refused (and audited) and change nothing, repeats are
//! idempotent, finished applications take no action, parties see what they
//! take part in and nobody else does, data-access items take applications
//! from every tenant.

#![allow(clippy::unwrap_used)] // test helpers

mod support;

use tonic::Code;
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::approval::v1::approval_service_server::ApprovalService;
use zhongtai_kit::{DivisionCode, Role};

use pb::StageKind::{Joint, Single};
use support::*;

async fn joint_item(h: &Harness) -> pb::ServiceItem {
    let process = create_process(
        h,
        "joint-review",
        vec![stage(
            "joint",
            Joint,
            vec![role(CIVIL, "approver"), role(BUREAU, "approver")],
            0,
        )],
    )
    .await;
    create_item(h, "business-licence", &process, 0).await
}

fn denial_reason(status: &tonic::Status) -> String {
    String::from_utf8_lossy(status.details()).to_string()
}

#[tokio::test]
async fn someone_who_is_not_the_assignee_cannot_decide_and_changes_nothing() {
    let h = Harness::postgres().await;
    let item = joint_item(&h).await;
    let app = submit(&h, &item).await;
    let before = h.snapshot().await;
    let task_of_civil = app.stages[0].tasks[0].id.clone();

    // The handling tenant's approver sees the application but holds no task.
    let handler = approver(HANDLER);
    for task_id in [String::new(), task_of_civil.clone()] {
        let status = h
            .api
            .approve_application(by(
                &handler,
                pb::ApproveApplicationRequest {
                    request_id: rid(),
                    application_id: app.id.clone(),
                    task_id,
                    comment: String::new(),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        assert!(
            denial_reason(&status).contains("NOT_ASSIGNEE"),
            "{status:?}"
        );
    }
    // A viewer of the assignee department does not hold the role.
    let viewer = caller("viewer", CIVIL, &[Role::Viewer]);
    assert_eq!(
        approve(&h, &viewer, &app.id).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let rejected = reject(&h, &handler, &app.id).await.unwrap_err();
    assert_eq!(rejected.code(), Code::PermissionDenied);
    assert_eq!(h.snapshot().await, before, "nothing was written");
    let unchanged = get(&h, &operator(), &app.id).await.unwrap();
    assert_eq!(unchanged.application.unwrap(), app);
}

#[tokio::test]
async fn approving_twice_answers_the_same_or_fails_the_precondition() {
    let h = Harness::postgres().await;
    let item = joint_item(&h).await;
    let app = submit(&h, &item).await;
    let civil = approver(CIVIL);
    let request = pb::ApproveApplicationRequest {
        request_id: rid(),
        application_id: app.id.clone(),
        task_id: String::new(),
        comment: "同意".into(),
    };
    let first = h
        .api
        .approve_application(by(&civil, request.clone()))
        .await
        .unwrap()
        .into_inner();
    let after_first = h.snapshot().await;
    let repeat = h
        .api
        .approve_application(by(&civil, request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(repeat, first, "a repeat answers as the first time");
    assert_eq!(
        h.snapshot().await,
        after_first,
        "no new history, task or event"
    );
    assert_eq!(
        actions(&h, &app.id).await,
        [pb::HistoryAction::Submitted, pb::HistoryAction::Approved]
    );

    let again = h
        .api
        .approve_application(by(
            &civil,
            pb::ApproveApplicationRequest {
                request_id: rid(),
                ..request
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");
    assert_eq!(h.snapshot().await, after_first);
}

#[tokio::test]
async fn concurrent_approvals_of_a_joint_stage_both_count() {
    let h = Harness::postgres().await;
    let item = joint_item(&h).await;
    for _ in 0..3 {
        let app = submit(&h, &item).await;
        let (civil, bureau) = (approver(CIVIL), approver(BUREAU));
        let (a, b) = tokio::join!(approve(&h, &civil, &app.id), approve(&h, &bureau, &app.id));
        let (a, b) = (a.unwrap(), b.unwrap());
        let statuses = [a.status(), b.status()];
        assert!(
            statuses.contains(&pb::ApplicationStatus::Approved),
            "{statuses:?}"
        );
        assert_eq!(
            actions(&h, &app.id).await,
            [
                pb::HistoryAction::Submitted,
                pb::HistoryAction::Approved,
                pb::HistoryAction::Approved,
                pb::HistoryAction::StageCompleted,
                pb::HistoryAction::Completed
            ]
        );
    }
}

#[tokio::test]
async fn a_finished_application_takes_no_action() {
    use pb::return_application_request::Target;
    let h = Harness::postgres().await;
    let process = create_process(
        &h,
        "single",
        vec![stage("only", Single, vec![role(HANDLER, "approver")], 0)],
    )
    .await;
    let item = create_item(&h, "business-licence", &process, 0).await;
    let app = submit(&h, &item).await;
    let boss = caller(
        "boss",
        HANDLER,
        &[Role::Admin, Role::Approver, Role::Operator],
    );
    approve(&h, &boss, &app.id).await.unwrap();
    let before = h.snapshot().await;
    let id = app.id.clone();

    let answers: Vec<(&str, tonic::Status)> = vec![
        ("approve", approve(&h, &boss, &id).await.unwrap_err()),
        ("reject", reject(&h, &boss, &id).await.unwrap_err()),
        (
            "return",
            h.api
                .return_application(by(
                    &boss,
                    pb::ReturnApplicationRequest {
                        request_id: rid(),
                        application_id: id.clone(),
                        comment: "x".into(),
                        target: Some(Target::Applicant(true)),
                        ..Default::default()
                    },
                ))
                .await
                .unwrap_err(),
        ),
        (
            "resubmit",
            h.api
                .resubmit_application(by(
                    &boss,
                    pb::ResubmitApplicationRequest {
                        request_id: rid(),
                        application_id: id.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .unwrap_err(),
        ),
        (
            "recall",
            h.api
                .recall_application(by(
                    &boss,
                    pb::RecallApplicationRequest {
                        request_id: rid(),
                        application_id: id.clone(),
                        comment: String::new(),
                    },
                ))
                .await
                .unwrap_err(),
        ),
        (
            "add signer",
            h.api
                .add_signer(by(
                    &boss,
                    pb::AddSignerRequest {
                        request_id: rid(),
                        application_id: id.clone(),
                        assignee: Some(user("someone")),
                        comment: String::new(),
                    },
                ))
                .await
                .unwrap_err(),
        ),
        (
            "transfer",
            h.api
                .transfer_task(by(
                    &boss,
                    pb::TransferTaskRequest {
                        request_id: rid(),
                        application_id: id.clone(),
                        task_id: app.stages[0].tasks[0].id.clone(),
                        assignee: Some(user("someone")),
                        comment: String::new(),
                    },
                ))
                .await
                .unwrap_err(),
        ),
    ];
    for (what, status) in answers {
        assert_eq!(
            status.code(),
            Code::FailedPrecondition,
            "{what}: {status:?}"
        );
    }
    assert_eq!(h.snapshot().await, before, "nothing changed");
}

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

/// Through a real server: the access layer audits the domain's refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_approval_is_audited() {
    use support::server::{Instance, Tokens, migrated_database, platform, with_token};
    let database = migrated_database().await;
    let tokens = Tokens::new().await;
    let instance = Instance::start(database.url(), &tokens, &platform(), 1000).await;
    let mut client = instance.client().await;
    let operator = tokens.token("operator", HANDLER, &[Role::Operator]);
    let process = client
        .create_process_definition(with_token(
            pb::CreateProcessDefinitionRequest {
                request_id: rid(),
                key: "single".into(),
                name: "单人审批".into(),
                stages: vec![stage("only", Single, vec![role(CIVIL, "approver")], 0)],
                ..Default::default()
            },
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .process_definition
        .unwrap();
    let item = client
        .create_service_item(with_token(
            pb::CreateServiceItemRequest {
                request_id: rid(),
                code: "business-licence".into(),
                name: "营业执照".into(),
                process: Some(pb::ProcessRef {
                    process_definition_id: process.id,
                    version: 0,
                }),
                ..Default::default()
            },
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    let app = client
        .submit_application(with_token(
            pb::SubmitApplicationRequest {
                request_id: rid(),
                service_item_id: item.id,
                ..Default::default()
            },
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();

    let db = sea_orm::Database::connect(database.url()).await.unwrap();
    let history_before = count(&db, "application_history").await;
    let handler_approver = tokens.token("intruder", HANDLER, &[Role::Approver]);
    let status = client
        .approve_application(with_token(
            pb::ApproveApplicationRequest {
                request_id: rid(),
                application_id: app.id.clone(),
                ..Default::default()
            },
            &handler_approver,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(
        count(
            &db,
            &format!(
                "audit_log WHERE outcome = 'denied' AND reason = 'NOT_ASSIGNEE' AND actor = 'intruder' \
                 AND action = '/zhongtai.approval.v1.ApprovalService/ApproveApplication' \
                 AND target = 'application/{}'",
                app.id
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(&db, "application_history").await,
        history_before,
        "nothing happened"
    );
    let got = client
        .get_application(with_token(
            pb::GetApplicationRequest { id: app.id.clone() },
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(got, app);
    drop(client);
    instance.stop().await;
}
