//! Who may act on an application, on PostgreSQL: unauthorised actors are
//! refused (and audited, through a real server) and change nothing,
//! repeats are idempotent, concurrent decisions all count, finished
//! applications take no action. Who may see one is in `visibility.rs`.

use tonic::Code;
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::approval::v1::approval_service_server::ApprovalService;
use zhongtai_kit::Role;

use crate::support::*;
use pb::StageKind::{Joint, Single};

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

/// Through a real server: the access layer audits the domain's refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_approval_is_audited() {
    use crate::support::server::{Instance, Tokens, migrated_database, platform, with_token};
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
