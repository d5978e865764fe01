//! How stages decide, through the gRPC handler on PostgreSQL (the main flow
//! on SQLite too): joint, n-of-m and any-of stages — each checked by the
//! statuses a user sees, the history entries and the events written to the
//! outbox, in order. Routing and signers are in `routing.rs`.

use tonic::Code;
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::approval::v1::approval_service_server::ApprovalService;
use zhongtai_contracts::events::v1 as events;

use crate::support::*;
use pb::HistoryAction as A;
use pb::StageKind::{AnyOf, Joint, NOfM, Single};

async fn joint_approval_in_any_order(h: &Harness) {
    let process = create_process(
        h,
        "joint-review",
        vec![stage(
            "joint",
            Joint,
            vec![
                role(CIVIL, "approver"),
                role(BUREAU, "approver"),
                role(HANDLER, "approver"),
            ],
            0,
        )],
    )
    .await;
    let item = create_item(h, "business-licence", &process, 0).await;
    let app = submit(h, &item).await;
    assert_eq!(app.status(), pb::ApplicationStatus::InProgress);
    assert_eq!(app.version, 1);
    assert_eq!(app.current_stage_index, 0);
    assert_eq!(app.stages[0].tasks.len(), 3);

    // Each assignee sees its task in "my tasks".
    let mine = h
        .api
        .list_my_tasks(by(&approver(BUREAU), pb::ListMyTasksRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].application.as_ref().unwrap().id, app.id);

    let after_bureau = approve(h, &approver(BUREAU), &app.id).await.unwrap();
    assert_eq!(after_bureau.status(), pb::ApplicationStatus::InProgress);
    assert_eq!(
        task_statuses(&after_bureau, 0),
        [
            pb::TaskStatus::Pending,
            pb::TaskStatus::Approved,
            pb::TaskStatus::Pending
        ]
    );
    let after_handler = approve(h, &approver(HANDLER), &app.id).await.unwrap();
    assert_eq!(after_handler.status(), pb::ApplicationStatus::InProgress);
    let done = approve(h, &approver(CIVIL), &app.id).await.unwrap();
    assert_eq!(done.status(), pb::ApplicationStatus::Approved);
    assert_eq!(done.current_stage_index, -1);
    assert!(done.complete_time.is_some());
    assert_eq!(done.stages[0].status(), pb::StageStatus::Approved);

    assert_eq!(
        actions(h, &app.id).await,
        [
            A::Submitted,
            A::Approved,
            A::Approved,
            A::Approved,
            A::StageCompleted,
            A::Completed
        ]
    );
    assert_eq!(
        h.events(&app.id).await,
        application_events(&[
            "submitted",
            "task_approved",
            "task_approved",
            "task_approved",
            "stage_completed",
            "approved"
        ])
    );
    let envelopes = h.envelopes(&app.id).await;
    let approved = envelopes.last().unwrap();
    assert_eq!(approved.tenant, HANDLER);
    let approved_event: events::ApplicationApproved = payload(approved);
    let application = approved_event.application.unwrap();
    assert_eq!(application.status(), pb::ApplicationStatus::Approved);
    assert_eq!(application.certificate_type, "business-licence");
    assert_eq!(application.form_data, Some(form("某某科技有限公司")));
    let applicant = application.applicant.unwrap();
    assert_eq!(applicant.tenant, Some(tenant(HANDLER)));
    assert_eq!(applicant.submitted_by.unwrap().subject, "clerk");
    assert_eq!(approved_event.entry.unwrap().action(), A::Completed);
    // Every event carries the application right after its transition.
    let task_approved: events::ApplicationTaskApproved = payload(&envelopes[1]);
    let entry = task_approved.entry.unwrap();
    assert_eq!(entry.action(), A::Approved);
    assert_eq!(entry.actor.unwrap().subject, format!("approver-{BUREAU}"));
    assert_eq!(task_approved.application.unwrap().version, 2);
    let versions: Vec<i64> = envelopes
        .iter()
        .skip(1)
        .map(|e| application_in(e).version)
        .collect();
    assert_eq!(versions, [2, 3, 4, 5, 6]);
    assert_eq!(
        get(h, &operator(), &app.id)
            .await
            .unwrap()
            .application
            .unwrap(),
        done,
        "what the last approval answered is what reads return"
    );
}

#[tokio::test]
async fn joint_approval_completes_whatever_the_order_on_postgres() {
    joint_approval_in_any_order(&Harness::postgres().await).await;
}

#[tokio::test]
async fn joint_approval_completes_whatever_the_order_on_sqlite() {
    joint_approval_in_any_order(&Harness::sqlite().await).await;
}

#[tokio::test]
async fn one_joint_rejection_rejects_the_application() {
    let h = Harness::postgres().await;
    let process = create_process(
        &h,
        "joint-review",
        vec![
            stage(
                "joint",
                Joint,
                vec![role(CIVIL, "approver"), role(BUREAU, "approver")],
                0,
            ),
            stage("sign", Single, vec![role(HANDLER, "approver")], 0),
        ],
    )
    .await;
    let item = create_item(&h, "business-licence", &process, 0).await;
    let app = submit(&h, &item).await;
    approve(&h, &approver(CIVIL), &app.id).await.unwrap();
    let rejected = reject(&h, &approver(BUREAU), &app.id).await.unwrap();
    assert_eq!(rejected.status(), pb::ApplicationStatus::Rejected);
    assert_eq!(rejected.stages[0].status(), pb::StageStatus::Rejected);
    assert_eq!(rejected.stages[1].status(), pb::StageStatus::Pending);
    assert_eq!(
        actions(&h, &app.id).await,
        [A::Submitted, A::Approved, A::Rejected]
    );
    assert_eq!(
        h.events(&app.id).await,
        application_events(&["submitted", "task_approved", "rejected"])
    );
    let rejected_event: events::ApplicationRejected =
        payload(h.envelopes(&app.id).await.last().unwrap());
    assert_eq!(rejected_event.entry.unwrap().comment, "不同意");
}

#[tokio::test]
async fn n_of_m_completes_at_n_and_is_rejected_once_n_is_unreachable() {
    let h = Harness::postgres().await;
    let panel = vec![
        role(CIVIL, "approver"),
        role(BUREAU, "approver"),
        role(HANDLER, "approver"),
    ];
    let process = create_process(&h, "panel-review", vec![stage("panel", NOfM, panel, 2)]).await;
    let item = create_item(&h, "business-licence", &process, 0).await;

    let app = submit(&h, &item).await;
    approve(&h, &approver(HANDLER), &app.id).await.unwrap();
    let done = approve(&h, &approver(CIVIL), &app.id).await.unwrap();
    assert_eq!(done.status(), pb::ApplicationStatus::Approved);
    assert_eq!(
        task_statuses(&done, 0),
        [
            pb::TaskStatus::Approved,
            pb::TaskStatus::Cancelled,
            pb::TaskStatus::Approved
        ]
    );
    assert_eq!(
        h.events(&app.id).await,
        application_events(&[
            "submitted",
            "task_approved",
            "task_approved",
            "stage_completed",
            "approved"
        ])
    );

    let app = submit(&h, &item).await;
    let once = reject(&h, &approver(CIVIL), &app.id).await.unwrap();
    assert_eq!(
        once.status(),
        pb::ApplicationStatus::InProgress,
        "2 of the 2 left may still approve"
    );
    let twice = reject(&h, &approver(BUREAU), &app.id).await.unwrap();
    assert_eq!(twice.status(), pb::ApplicationStatus::Rejected);
    assert_eq!(
        actions(&h, &app.id).await,
        [A::Submitted, A::Rejected, A::Rejected]
    );
    assert_eq!(
        h.events(&app.id).await,
        application_events(&["submitted", "task_rejected", "rejected"])
    );
}

#[tokio::test]
async fn any_of_follows_the_first_decision() {
    let h = Harness::postgres().await;
    let process = create_process(
        &h,
        "any-review",
        vec![stage(
            "any",
            AnyOf,
            vec![role(CIVIL, "approver"), role(BUREAU, "approver")],
            0,
        )],
    )
    .await;
    let item = create_item(&h, "business-licence", &process, 0).await;
    let app = submit(&h, &item).await;
    let done = approve(&h, &approver(BUREAU), &app.id).await.unwrap();
    assert_eq!(done.status(), pb::ApplicationStatus::Approved);
    assert_eq!(
        task_statuses(&done, 0),
        [pb::TaskStatus::Cancelled, pb::TaskStatus::Approved]
    );
    let late = approve(&h, &approver(CIVIL), &app.id).await.unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert_eq!(
        h.events(&app.id).await,
        application_events(&["submitted", "task_approved", "stage_completed", "approved"])
    );
}
