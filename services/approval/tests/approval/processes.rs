//! Process definitions through the gRPC handler on PostgreSQL: versions
//! that never change once written, revisions that supersede, deprecation
//! that refuses new applications, and applications that keep the version
//! they started on.

use tonic::Code;
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::approval::v1::approval_service_server::ApprovalService;
use zhongtai_contracts::common::v1::PageRequest;
use zhongtai_contracts::events::v1 as events;

use crate::support::*;
use pb::ProcessDefinitionState as State;
use pb::StageKind::{Joint, Single};

fn one_stage() -> Vec<pb::StageDefinition> {
    vec![stage("review", Single, vec![role(HANDLER, "approver")], 0)]
}

fn two_stages() -> Vec<pb::StageDefinition> {
    vec![
        stage("accept", Single, vec![role(CIVIL, "approver")], 0),
        stage(
            "review",
            Joint,
            vec![role(HANDLER, "approver"), role(BUREAU, "approver")],
            0,
        ),
    ]
}

async fn revise(
    h: &Harness,
    id: &str,
    base_version: i64,
    request_id: &str,
    stages: Vec<pb::StageDefinition>,
) -> Result<pb::ProcessDefinition, tonic::Status> {
    h.api
        .revise_process_definition(by(
            &operator(),
            pb::ReviseProcessDefinitionRequest {
                request_id: request_id.into(),
                id: id.into(),
                base_version,
                name: String::new(),
                description: "第二版".into(),
                stages,
            },
        ))
        .await
        .map(|r| r.into_inner().process_definition.unwrap())
}

async fn get_version(
    h: &Harness,
    id: &str,
    version: i64,
) -> Result<pb::ProcessDefinition, tonic::Status> {
    h.api
        .get_process_definition(by(
            &operator(),
            pb::GetProcessDefinitionRequest {
                id: id.into(),
                version,
            },
        ))
        .await
        .map(|r| r.into_inner().process_definition.unwrap())
}

async fn deprecate(
    h: &Harness,
    id: &str,
    version: i64,
) -> Result<pb::ProcessDefinition, tonic::Status> {
    h.api
        .deprecate_process_definition(by(
            &operator(),
            pb::DeprecateProcessDefinitionRequest {
                id: id.into(),
                version,
                reason: "法规变更".into(),
            },
        ))
        .await
        .map(|r| r.into_inner().process_definition.unwrap())
}

async fn event_types(h: &Harness, subject: &str) -> Vec<String> {
    h.events(subject).await
}

#[tokio::test]
async fn versions_are_created_revised_read_and_listed() {
    let h = Harness::postgres().await;
    let request = pb::CreateProcessDefinitionRequest {
        request_id: rid(),
        key: "licence-approval".into(),
        name: "营业执照审批".into(),
        description: "第一版".into(),
        stages: one_stage(),
        ..Default::default()
    };
    let v1 = h
        .api
        .create_process_definition(by(&operator(), request.clone()))
        .await
        .unwrap()
        .into_inner()
        .process_definition
        .unwrap();
    assert_eq!((v1.version, v1.state()), (1, State::Active));
    assert_eq!(v1.tenant, Some(tenant(HANDLER)));
    assert_eq!(v1.created_by.as_ref().unwrap().subject, "operator");
    assert_eq!(v1.stages, one_stage());

    // Idempotent on the request id; a reused id for another key, and a
    // taken key, are refused.
    let again = h
        .api
        .create_process_definition(by(&operator(), request.clone()))
        .await
        .unwrap()
        .into_inner()
        .process_definition
        .unwrap();
    assert_eq!(again, v1);
    let reused = h
        .api
        .create_process_definition(by(
            &operator(),
            pb::CreateProcessDefinitionRequest {
                key: "other-key".into(),
                ..request.clone()
            },
        ))
        .await
        .unwrap_err();
    assert_invalid(&reused, "request_id");
    let taken = h
        .api
        .create_process_definition(by(
            &operator(),
            pb::CreateProcessDefinitionRequest {
                request_id: rid(),
                ..request.clone()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert_eq!(h.count("process_definitions").await, 1);

    let revision_id = rid();
    let v2 = revise(&h, &v1.id, 1, &revision_id, two_stages())
        .await
        .unwrap();
    assert_eq!(
        (v2.id.as_str(), v2.version, v2.state()),
        (v1.id.as_str(), 2, State::Active)
    );
    assert_eq!(v2.name, v1.name, "an empty name keeps the current one");
    assert_eq!(v2.description, "第二版");
    assert_eq!(v2.stages, two_stages());
    assert_eq!(
        revise(&h, &v1.id, 1, &revision_id, two_stages())
            .await
            .unwrap(),
        v2,
        "idempotent"
    );
    let stale = revise(&h, &v1.id, 1, &rid(), one_stage())
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    assert!(String::from_utf8_lossy(stale.details()).contains("VERSION_CONFLICT"));

    assert_eq!(
        get_version(&h, &v1.id, 0).await.unwrap(),
        v2,
        "0 is the latest"
    );
    let old = get_version(&h, &v1.id, 1).await.unwrap();
    assert_eq!(old.state(), State::Superseded);
    assert_eq!(old.stages, v1.stages, "a version never changes");
    assert_eq!(
        get_version(&h, &v1.id, 3).await.unwrap_err().code(),
        Code::NotFound
    );

    // Versions newest first, page by page.
    let mut versions = Vec::new();
    let mut token = String::new();
    loop {
        let page = h
            .api
            .list_process_definition_versions(by(
                &operator(),
                pb::ListProcessDefinitionVersionsRequest {
                    page: Some(PageRequest {
                        page_size: 1,
                        page_token: token,
                    }),
                    id: v1.id.clone(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        versions.extend(page.process_definitions.iter().map(|p| p.version));
        token = page.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(versions, [2, 1]);

    // The list shows the latest of each, by key.
    create_process(&h, "a-first-key", one_stage()).await;
    let listed = h
        .api
        .list_process_definitions(by(
            &operator(),
            pb::ListProcessDefinitionsRequest::default(),
        ))
        .await
        .unwrap()
        .into_inner()
        .process_definitions;
    let keys: Vec<(&str, i64)> = listed.iter().map(|p| (p.key.as_str(), p.version)).collect();
    assert_eq!(keys, [("a-first-key", 1), ("licence-approval", 2)]);

    assert_eq!(
        event_types(&h, &v1.id).await,
        [
            "approval.process_definition.created",
            "approval.process_definition.revised"
        ]
    );
    let revised: events::ProcessDefinitionRevised = payload(&h.envelopes(&v1.id).await[1]);
    assert_eq!(revised.previous_version, 1);
    assert_eq!(revised.definition.unwrap(), v2);

    // Another tenant sees none of it.
    let stranger = all_roles("stranger", STRANGER);
    let hidden = h
        .api
        .get_process_definition(by(
            &stranger,
            pb::GetProcessDefinitionRequest {
                id: v1.id.clone(),
                version: 0,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
}

#[tokio::test]
async fn an_application_keeps_its_version_after_a_revision() {
    let h = Harness::postgres().await;
    let v1 = create_process(&h, "licence-approval", one_stage()).await;
    let latest_item = create_item(&h, "follows-latest", &v1, 0).await;
    let pinned_item = create_item(&h, "pinned-to-one", &v1, 1).await;
    let running = submit(&h, &latest_item).await;
    assert_eq!(running.process_version, 1);

    let v2 = revise(&h, &v1.id, 1, &rid(), two_stages()).await.unwrap();
    let newer = submit(&h, &latest_item).await;
    assert_eq!((newer.process_version, newer.stages.len()), (2, 2));
    let pinned = submit(&h, &pinned_item).await;
    assert_eq!((pinned.process_version, pinned.stages.len()), (1, 1));

    // The running one still decides on its own version's single stage.
    let done = approve(&h, &approver(HANDLER), &running.id).await.unwrap();
    assert_eq!(done.process_version, 1);
    assert_eq!(done.status(), pb::ApplicationStatus::Approved);
    let moved = approve(&h, &approver(CIVIL), &newer.id).await.unwrap();
    assert_eq!(moved.current_stage_index, 1, "v2's second stage");
    assert_eq!(v2.version, 2);
}

#[tokio::test]
async fn deprecated_versions_take_no_new_applications() {
    let h = Harness::postgres().await;
    let v1 = create_process(&h, "licence-approval", one_stage()).await;
    let latest_item = create_item(&h, "follows-latest", &v1, 0).await;
    let pinned_item = create_item(&h, "pinned-to-one", &v1, 1).await;
    let running = submit(&h, &latest_item).await;
    revise(&h, &v1.id, 1, &rid(), two_stages()).await.unwrap();

    let v2 = deprecate(&h, &v1.id, 2).await.unwrap();
    assert_eq!((v2.version, v2.state()), (2, State::Deprecated));
    assert_eq!(
        deprecate(&h, &v1.id, 2).await.unwrap(),
        v2,
        "deprecating again changes nothing"
    );
    assert_eq!(
        event_types(&h, &v1.id).await,
        [
            "approval.process_definition.created",
            "approval.process_definition.revised",
            "approval.process_definition.deprecated"
        ]
    );
    let deprecated: events::ProcessDefinitionDeprecated = payload(&h.envelopes(&v1.id).await[2]);
    assert_eq!(deprecated.reason, "法规变更");
    assert_eq!(deprecated.actor.unwrap().subject, "operator");

    let refused = h
        .api
        .submit_application(by(&clerk(), submission(&latest_item)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("deprecated"), "{refused:?}");
    // Version 1 is superseded, not deprecated: pinned items still use it.
    assert_eq!(submit(&h, &pinned_item).await.process_version, 1);
    deprecate(&h, &v1.id, 1).await.unwrap();
    let pinned_refused = h
        .api
        .submit_application(by(&clerk(), submission(&pinned_item)))
        .await
        .unwrap_err();
    assert_eq!(pinned_refused.code(), Code::FailedPrecondition);
    // Running applications carry on.
    let done = approve(&h, &approver(HANDLER), &running.id).await.unwrap();
    assert_eq!(done.status(), pb::ApplicationStatus::Approved);

    // A revision on top of a deprecated latest version is active again; the
    // deprecated one stays deprecated.
    let v3 = revise(&h, &v1.id, 2, &rid(), one_stage()).await.unwrap();
    assert_eq!((v3.version, v3.state()), (3, State::Active));
    assert_eq!(
        get_version(&h, &v1.id, 2).await.unwrap().state(),
        State::Deprecated
    );
    assert_eq!(submit(&h, &latest_item).await.process_version, 3);
    assert_eq!(
        deprecate(&h, &v1.id, 9).await.unwrap_err().code(),
        Code::NotFound
    );
}

#[tokio::test]
async fn items_reference_processes_of_their_own_tenant_only() {
    let h = Harness::postgres().await;
    let own = create_process(&h, "licence-approval", one_stage()).await;
    let theirs = h
        .api
        .create_process_definition(by(
            &caller("theirs", CIVIL, &[zhongtai_kit::Role::Operator]),
            pb::CreateProcessDefinitionRequest {
                request_id: rid(),
                key: "their-process".into(),
                name: "他人流程".into(),
                stages: one_stage(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .process_definition
        .unwrap();
    let items_before = h.count("service_items").await;
    for (process, version, field) in [
        (theirs.id.clone(), 0, "process.process_definition_id"),
        (
            uuid::Uuid::now_v7().to_string(),
            0,
            "process.process_definition_id",
        ),
        (own.id.clone(), 2, "process.version"),
    ] {
        let status = h
            .api
            .create_service_item(by(
                &operator(),
                pb::CreateServiceItemRequest {
                    request_id: rid(),
                    code: "business-licence".into(),
                    name: "营业执照".into(),
                    process: Some(pb::ProcessRef {
                        process_definition_id: process,
                        version,
                    }),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_invalid(&status, field);
    }
    assert_eq!(h.count("service_items").await, items_before);

    // The same check on update.
    let item = create_item(&h, "business-licence", &own, 0).await;
    let status = h
        .api
        .update_service_item(by(
            &operator(),
            pb::UpdateServiceItemRequest {
                item: Some(pb::ServiceItem {
                    id: item.id.clone(),
                    version: item.version,
                    process: Some(pb::ProcessRef {
                        process_definition_id: theirs.id.clone(),
                        version: 0,
                    }),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["process".into()],
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_invalid(&status, "item.process.process_definition_id");
}
