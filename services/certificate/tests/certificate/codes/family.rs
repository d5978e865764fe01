//! Family codes: a parent links her two children with their birth medical
//! certificates and holds a code for each.

use tonic::Code;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::code_service_server::CodeService;

use super::world::*;
use crate::support::{HEALTH, by, citizen, revoke, rid};

#[tokio::test]
async fn a_parent_holds_family_codes_for_her_two_children() {
    let w = World::new().await;
    w.parent_certified().await;
    let births = [w.birth_certificate(0).await, w.birth_certificate(1).await];
    let mut links = Vec::new();
    for (i, birth) in births.iter().enumerate() {
        let link = w.link(&parent(), i, &birth.id, &rid()).await.unwrap();
        assert_eq!(link.state(), pb::DependantState::Active);
        assert_eq!(link.guardian.as_ref().unwrap().id_number, PARENT_ID);
        assert_eq!(link.guardian.as_ref().unwrap().name, PARENT_NAME);
        assert_eq!(link.dependant.as_ref().unwrap().id_number, CHILD_IDS[i]);
        assert_eq!(w.events("certificate.dependant.linked", &link.id).await, 1);
        links.push(link);
    }

    let codes = w.family_codes(&parent(), &[]).await.unwrap();
    assert_eq!(codes.len(), 2);
    for (code, (link, name)) in codes.iter().zip(links.iter().zip(CHILD_NAMES)) {
        assert_eq!(code.kind(), pb::CodeKind::Family);
        assert_eq!(code.dependant_id, link.id);
        assert!(format!("{:?}", code.holder).contains(name));
        let answer = w.verify(&code.qr_payload).await.unwrap();
        assert_eq!(answer.code_kind(), pb::CodeKind::Family);
        assert_eq!(
            answer.result.unwrap().outcome(),
            pb::VerificationOutcome::Valid
        );
    }
    let one = w.family_codes(&parent(), &[&links[1].id]).await.unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].dependant_id, links[1].id);

    let listed =
        w.h.codes
            .list_dependants(by(&parent(), pb::ListDependantsRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .dependants;
    assert_eq!(
        listed.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [links[0].id.as_str(), links[1].id.as_str()]
    );
    let strangers =
        w.h.codes
            .list_dependants(by(
                &citizen(STRANGER_ID),
                pb::ListDependantsRequest::default(),
            ))
            .await
            .unwrap()
            .into_inner()
            .dependants;
    assert!(strangers.is_empty(), "links are the guardian's alone");
}

#[tokio::test]
async fn an_unlinked_child_gets_no_more_family_codes() {
    let w = World::new().await;
    let birth = w.birth_certificate(0).await;
    let link = w.link(&parent(), 0, &birth.id, &rid()).await.unwrap();
    let unlink = || {
        w.h.codes.unlink_dependant(by(
            &parent(),
            pb::UnlinkDependantRequest {
                id: link.id.clone(),
            },
        ))
    };
    let removed = unlink().await.unwrap().into_inner().dependant.unwrap();
    assert_eq!(removed.state(), pb::DependantState::Removed);
    let again = unlink().await.unwrap().into_inner().dependant.unwrap();
    assert_eq!(again.state(), pb::DependantState::Removed);
    assert_eq!(
        w.events("certificate.dependant.unlinked", &link.id).await,
        1
    );

    assert!(w.family_codes(&parent(), &[]).await.unwrap().is_empty());
    let named = w.family_codes(&parent(), &[&link.id]).await.unwrap_err();
    assert_eq!(named.code(), Code::FailedPrecondition, "{named:?}");

    // The child can be linked again.
    let relinked = w.link(&parent(), 0, &birth.id, &rid()).await.unwrap();
    assert_ne!(relinked.id, link.id);
    let stranger_unlink =
        w.h.codes
            .unlink_dependant(by(
                &citizen(STRANGER_ID),
                pb::UnlinkDependantRequest {
                    id: relinked.id.clone(),
                },
            ))
            .await
            .unwrap_err();
    assert_eq!(stranger_unlink.code(), Code::NotFound);
}

#[tokio::test]
async fn linking_needs_evidence_in_force_naming_both() {
    let w = World::new().await;
    let births = [w.birth_certificate(0).await, w.birth_certificate(1).await];

    // The first child's certificate does not name the second child.
    let wrong_child = w
        .link(&parent(), 1, &births[0].id, &rid())
        .await
        .unwrap_err();
    assert_eq!(
        wrong_child.code(),
        Code::FailedPrecondition,
        "{wrong_child:?}"
    );
    // Nor does it name a stranger as the mother.
    let stranger = w
        .link(&citizen(STRANGER_ID), 0, &births[0].id, &rid())
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::FailedPrecondition, "{stranger:?}");
    let unknown = w
        .link(&parent(), 0, &uuid::Uuid::new_v4().to_string(), &rid())
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");

    revoke(&w.h, HEALTH, &births[1].id, "登记错误").await;
    let revoked = w
        .link(&parent(), 1, &births[1].id, &rid())
        .await
        .unwrap_err();
    assert_eq!(revoked.code(), Code::FailedPrecondition, "{revoked:?}");
    assert_eq!(w.h.count("dependant_links").await, 0);
}

#[tokio::test]
async fn a_repeated_link_request_answers_the_same_link_and_a_reused_id_is_refused() {
    let w = World::new().await;
    let births = [w.birth_certificate(0).await, w.birth_certificate(1).await];
    let request_id = rid();
    let first = w
        .link(&parent(), 0, &births[0].id, &request_id)
        .await
        .unwrap();
    let again = w
        .link(&parent(), 0, &births[0].id, &request_id)
        .await
        .unwrap();
    assert_eq!(first, again);
    let reused = w
        .link(&parent(), 1, &births[1].id, &request_id)
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::InvalidArgument, "{reused:?}");
    assert_eq!(fields(&reused), ["request_id"]);
    let twice = w
        .link(&parent(), 0, &births[0].id, &rid())
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists, "{twice:?}");
    assert_eq!(w.h.count("dependant_links").await, 1);
    assert_eq!(w.events("certificate.dependant.linked", &first.id).await, 1);
}
