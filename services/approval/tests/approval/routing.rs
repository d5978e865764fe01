//! Moving applications other than forward, through the gRPC handler on
//! PostgreSQL: sending back to an earlier stage or to the applicant,
//! resubmitting, recalling, adding signers and transferring tasks — each
//! checked by the statuses, the history entries and the events written to
//! the outbox, in order.

use tonic::Code;
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::approval::v1::approval_service_server::ApprovalService;
use zhongtai_contracts::events::v1 as events;
use zhongtai_kit::Role;

use crate::support::*;
use pb::HistoryAction as A;
use pb::StageKind::{Joint, Single};

async fn send_back(
    h: &Harness,
    who: &Caller,
    id: &str,
    target: pb::return_application_request::Target,
    requested: &[&str],
) -> Result<pb::Application, tonic::Status> {
    h.api
        .return_application(by(
            who,
            pb::ReturnApplicationRequest {
                request_id: rid(),
                application_id: id.into(),
                comment: "请补正".into(),
                target: Some(target),
                requested_materials: requested.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        ))
        .await
        .map(|r| r.into_inner().application.unwrap())
}

fn two_stages() -> Vec<pb::StageDefinition> {
    vec![
        stage("accept", Single, vec![role(CIVIL, "approver")], 0),
        stage("review", Single, vec![role(HANDLER, "approver")], 0),
    ]
}

#[tokio::test]
async fn sent_back_to_an_earlier_stage_it_runs_again_from_there() {
    use pb::return_application_request::Target;
    let h = Harness::postgres().await;
    let process = create_process(&h, "two-stages", two_stages()).await;
    let item = create_item(&h, "business-licence", &process, 0).await;
    let app = submit(&h, &item).await;
    let moved = approve(&h, &approver(CIVIL), &app.id).await.unwrap();
    assert_eq!(moved.current_stage_index, 1);

    let later = send_back(
        &h,
        &approver(HANDLER),
        &app.id,
        Target::StageKey("review".into()),
        &[],
    )
    .await
    .unwrap_err();
    assert_invalid(&later, "stage_key");
    let back = send_back(
        &h,
        &approver(HANDLER),
        &app.id,
        Target::StageKey("accept".into()),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(back.status(), pb::ApplicationStatus::InProgress);
    assert_eq!(back.current_stage_index, 0);
    assert_eq!(back.stages[0].status(), pb::StageStatus::Active);
    assert_eq!(back.stages[1].status(), pb::StageStatus::Returned);
    assert_eq!(
        task_statuses(&back, 0),
        [pb::TaskStatus::Approved, pb::TaskStatus::Pending]
    );
    let history = get(&h, &operator(), &app.id).await.unwrap().history;
    let returned = history.iter().find(|e| e.action() == A::Returned).unwrap();
    assert_eq!(returned.stage_key, "review");
    assert_eq!(
        returned.detail,
        Some(pb::history_entry::Detail::Returned(pb::ReturnDetail {
            target: Some(pb::return_detail::Target::StageKey("accept".into())),
            requested_materials: vec![],
        }))
    );

    approve(&h, &approver(CIVIL), &app.id).await.unwrap();
    let done = approve(&h, &approver(HANDLER), &app.id).await.unwrap();
    assert_eq!(done.status(), pb::ApplicationStatus::Approved);
    assert_eq!(
        actions(&h, &app.id).await,
        [
            A::Submitted,
            A::Approved,
            A::StageCompleted,
            A::Returned,
            A::Approved,
            A::StageCompleted,
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
            "stage_completed",
            "returned",
            "task_approved",
            "stage_completed",
            "task_approved",
            "stage_completed",
            "approved"
        ])
    );
}

#[tokio::test]
async fn sent_back_to_the_applicant_it_resumes_after_resubmission() {
    use pb::return_application_request::Target;
    let h = Harness::postgres().await;
    let process = create_process(&h, "two-stages", two_stages()).await;
    let item = create_item(&h, "business-licence", &process, 0).await;
    let app = submit(&h, &item).await;
    approve(&h, &approver(CIVIL), &app.id).await.unwrap();
    let unknown = send_back(
        &h,
        &approver(HANDLER),
        &app.id,
        Target::Applicant(true),
        &["passport"],
    )
    .await
    .unwrap_err();
    assert_invalid(&unknown, "requested_materials[0]");
    let returned = send_back(
        &h,
        &approver(HANDLER),
        &app.id,
        Target::Applicant(true),
        &["photo"],
    )
    .await
    .unwrap();
    assert_eq!(returned.status(), pb::ApplicationStatus::Returned);
    assert_eq!(returned.current_stage_index, -1);
    let event: events::ApplicationReturned = payload(h.envelopes(&app.id).await.last().unwrap());
    assert_eq!(
        event.entry.unwrap().detail,
        Some(pb::history_entry::Detail::Returned(pb::ReturnDetail {
            target: Some(pb::return_detail::Target::Applicant(true)),
            requested_materials: vec!["photo".into()],
        }))
    );
    // Nobody approves while the applicant holds it.
    let waiting = approve(&h, &approver(HANDLER), &app.id).await.unwrap_err();
    assert_eq!(waiting.code(), Code::FailedPrecondition);

    let resubmit = |materials: Vec<pb::SubmittedMaterial>, who: Caller| {
        let api = &h.api;
        let id = app.id.clone();
        async move {
            api.resubmit_application(by(
                &who,
                pb::ResubmitApplicationRequest {
                    request_id: rid(),
                    application_id: id,
                    materials,
                    comment: "已补充".into(),
                    ..Default::default()
                },
            ))
            .await
        }
    };
    let missing = resubmit(vec![], clerk()).await.unwrap_err();
    assert_invalid(&missing, "photo");
    let not_applicant = resubmit(vec![document("photo")], approver(HANDLER))
        .await
        .unwrap_err();
    assert_eq!(not_applicant.code(), Code::PermissionDenied);
    let resumed = resubmit(vec![document("photo")], clerk())
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(resumed.status(), pb::ApplicationStatus::InProgress);
    assert_eq!(
        resumed.current_stage_index, 1,
        "where it was sent back from"
    );
    assert_eq!(resumed.materials.len(), 2);
    let done = approve(&h, &approver(HANDLER), &app.id).await.unwrap();
    assert_eq!(done.status(), pb::ApplicationStatus::Approved);
    assert_eq!(
        actions(&h, &app.id).await,
        [
            A::Submitted,
            A::Approved,
            A::StageCompleted,
            A::Returned,
            A::Resubmitted,
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
            "stage_completed",
            "returned",
            "resubmitted",
            "task_approved",
            "stage_completed",
            "approved"
        ])
    );
}

async fn recall(h: &Harness, who: &Caller, id: &str) -> Result<pb::Application, tonic::Status> {
    h.api
        .recall_application(by(
            who,
            pb::RecallApplicationRequest {
                request_id: rid(),
                application_id: id.into(),
                comment: "不办了".into(),
            },
        ))
        .await
        .map(|r| r.into_inner().application.unwrap())
}

#[tokio::test]
async fn recall_is_allowed_until_the_current_stage_acts() {
    let h = Harness::postgres().await;
    let process = create_process(
        &h,
        "joint-review",
        vec![stage(
            "joint",
            Joint,
            vec![role(CIVIL, "approver"), role(HANDLER, "approver")],
            0,
        )],
    )
    .await;
    let item = create_item(&h, "business-licence", &process, 0).await;

    let app = submit(&h, &item).await;
    let not_applicant = recall(&h, &approver(CIVIL), &app.id).await.unwrap_err();
    assert_eq!(not_applicant.code(), Code::PermissionDenied);
    let recalled = recall(&h, &clerk(), &app.id).await.unwrap();
    assert_eq!(recalled.status(), pb::ApplicationStatus::Recalled);
    assert_eq!(recalled.stages[0].status(), pb::StageStatus::Cancelled);
    assert_eq!(
        task_statuses(&recalled, 0),
        [pb::TaskStatus::Cancelled, pb::TaskStatus::Cancelled]
    );
    assert_eq!(actions(&h, &app.id).await, [A::Submitted, A::Recalled]);
    assert_eq!(
        h.events(&app.id).await,
        application_events(&["submitted", "recalled"])
    );
    // Another operator of the applicant department may recall too; this
    // one is final now.
    let colleague = caller("colleague", HANDLER, &[Role::Admin]);
    assert_eq!(
        recall(&h, &colleague, &app.id).await.unwrap_err().code(),
        Code::FailedPrecondition
    );

    let app = submit(&h, &item).await;
    approve(&h, &approver(CIVIL), &app.id).await.unwrap();
    let before = get(&h, &operator(), &app.id).await.unwrap();
    let refused = recall(&h, &clerk(), &app.id).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(
        get(&h, &operator(), &app.id).await.unwrap(),
        before,
        "unchanged"
    );
    assert_eq!(
        h.events(&app.id).await,
        application_events(&["submitted", "task_approved"])
    );
}

#[tokio::test]
async fn an_added_signer_must_also_approve() {
    let h = Harness::postgres().await;
    let process = create_process(
        &h,
        "joint-review",
        vec![stage("joint", Joint, vec![role(HANDLER, "approver")], 0)],
    )
    .await;
    let item = create_item(&h, "business-licence", &process, 0).await;
    let app = submit(&h, &item).await;
    let add = |who: Caller, assignee: pb::Assignee| {
        let api = &h.api;
        let id = app.id.clone();
        async move {
            api.add_signer(by(
                &who,
                pb::AddSignerRequest {
                    request_id: rid(),
                    application_id: id,
                    assignee: Some(assignee),
                    comment: "需数据局会签".into(),
                },
            ))
            .await
        }
    };
    let invisible = add(approver(BUREAU), role(BUREAU, "approver"))
        .await
        .unwrap_err();
    assert_eq!(invisible.code(), Code::NotFound, "not a party yet");
    let no_task = add(operator(), role(BUREAU, "approver")).await.unwrap_err();
    assert_eq!(
        no_task.code(),
        Code::PermissionDenied,
        "sees it, holds no task"
    );
    let with_slot = add(approver(HANDLER), slot("owner")).await.unwrap_err();
    assert_invalid(&with_slot, "assignee.slot");
    let added = add(approver(HANDLER), role(BUREAU, "approver"))
        .await
        .unwrap()
        .into_inner();
    let task = added.task.unwrap();
    assert_eq!(task.origin(), pb::TaskOrigin::AddedSigner);
    assert_eq!(task.status(), pb::TaskStatus::Pending);
    assert_eq!(added.application.unwrap().stages[0].tasks.len(), 2);

    let first = approve(&h, &approver(HANDLER), &app.id).await.unwrap();
    assert_eq!(
        first.status(),
        pb::ApplicationStatus::InProgress,
        "the added signer has not signed"
    );
    let done = approve(&h, &approver(BUREAU), &app.id).await.unwrap();
    assert_eq!(done.status(), pb::ApplicationStatus::Approved);
    let history = get(&h, &operator(), &app.id).await.unwrap().history;
    assert_eq!(
        history.iter().map(|e| e.action()).collect::<Vec<_>>(),
        [
            A::Submitted,
            A::SignerAdded,
            A::Approved,
            A::Approved,
            A::StageCompleted,
            A::Completed
        ]
    );
    let Some(pb::history_entry::Detail::SignerAdded(detail)) = &history[1].detail else {
        panic!("signer detail: {:?}", history[1]);
    };
    assert_eq!(detail.new_task_id, task.id);
    assert_eq!(detail.assignee, Some(role(BUREAU, "approver")));
    assert_eq!(
        h.events(&app.id).await,
        application_events(&[
            "submitted",
            "signer_added",
            "task_approved",
            "task_approved",
            "stage_completed",
            "approved"
        ])
    );
}

#[tokio::test]
async fn a_transferred_task_is_decided_by_its_new_assignee() {
    let h = Harness::postgres().await;
    let process = create_process(
        &h,
        "single",
        vec![stage("only", Single, vec![role(HANDLER, "approver")], 0)],
    )
    .await;
    let item = create_item(&h, "business-licence", &process, 0).await;
    let app = submit(&h, &item).await;
    let original = app.stages[0].tasks[0].id.clone();
    let transferred = h
        .api
        .transfer_task(by(
            &approver(HANDLER),
            pb::TransferTaskRequest {
                request_id: rid(),
                application_id: app.id.clone(),
                task_id: original.clone(),
                assignee: Some(user("wangfang")),
                comment: "出差，转王芳".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let new_task = transferred.task.unwrap();
    assert_eq!(new_task.origin(), pb::TaskOrigin::Transfer);
    let application = transferred.application.unwrap();
    assert_eq!(
        task_statuses(&application, 0),
        [pb::TaskStatus::Transferred, pb::TaskStatus::Pending]
    );

    // The former assignee may no longer decide; the new one, a user of
    // another department, sees the task and decides.
    assert_eq!(
        approve(&h, &approver(HANDLER), &app.id)
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );
    let wang = caller("wangfang", CIVIL, &[Role::Approver]);
    let mine = h
        .api
        .list_my_tasks(by(&wang, pb::ListMyTasksRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].task.as_ref().unwrap().id, new_task.id);
    assert!(
        get(&h, &wang, &app.id).await.is_ok(),
        "a user assignee sees the application"
    );
    let done = approve(&h, &wang, &app.id).await.unwrap();
    assert_eq!(done.status(), pb::ApplicationStatus::Approved);

    let history = get(&h, &operator(), &app.id).await.unwrap().history;
    assert_eq!(
        history.iter().map(|e| e.action()).collect::<Vec<_>>(),
        [
            A::Submitted,
            A::Transferred,
            A::Approved,
            A::StageCompleted,
            A::Completed
        ]
    );
    assert_eq!(history[1].task_id, original);
    assert_eq!(
        history[1].detail,
        Some(pb::history_entry::Detail::Transferred(pb::TransferDetail {
            from: Some(role(HANDLER, "approver")),
            to: Some(user("wangfang")),
            new_task_id: new_task.id.clone(),
        }))
    );
    assert_eq!(
        h.events(&app.id).await,
        application_events(&[
            "submitted",
            "task_transferred",
            "task_approved",
            "stage_completed",
            "approved"
        ])
    );
    // The decided task leaves "my tasks", and shows under its status.
    let decided = h
        .api
        .list_my_tasks(by(
            &wang,
            pb::ListMyTasksRequest {
                statuses: vec![pb::TaskStatus::Approved as i32],
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert_eq!(decided.len(), 1);
    assert!(
        h.api
            .list_my_tasks(by(&wang, pb::ListMyTasksRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .tasks
            .is_empty()
    );
}
