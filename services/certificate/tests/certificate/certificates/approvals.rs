//! Issuing on approval, through the consumer's handler in its own
//! transaction (the delivery through RabbitMQ and the inbox is the
//! scenario test's): exactly one certificate per application however often
//! the event comes, and applications that cannot be issued on are settled
//! with an audit record instead of retried.

use prost_types::value::Kind;
use prost_types::{Struct, Value};
use sea_orm::TransactionTrait;
use zhongtai_contracts::approval::v1 as approval;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::common::v1 as common;
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::Event;
use zhongtai_kit::Role;

use crate::support::*;

const APPROVED: &str = "approval.application.approved";

fn form(fields: &[(&str, &str)]) -> Struct {
    Struct {
        fields: fields
            .iter()
            .map(|(name, value)| {
                (
                    name.to_string(),
                    Value {
                        kind: Some(Kind::StringValue(value.to_string())),
                    },
                )
            })
            .collect(),
    }
}

fn application(tenant: &str, certificate_type: &str, form_data: Struct) -> approval::Application {
    let (division, department) = tenant.split_once('/').unwrap();
    approval::Application {
        id: uuid::Uuid::new_v4().to_string(),
        tenant: Some(common::Tenant {
            division_code: division.into(),
            department: department.into(),
        }),
        service_item_code: "business-licence".into(),
        applicant: Some(approval::Applicant {
            holder: Some(organization(COMPANY, COMPANY_CREDIT_CODE)),
            ..Default::default()
        }),
        form_data: Some(form_data),
        certificate_type: certificate_type.into(),
        status: approval::ApplicationStatus::Approved as i32,
        ..Default::default()
    }
}

fn licence_form() -> Struct {
    form(&[
        ("company_name", COMPANY),
        ("legal_representative", "王青"),
        ("registered_capital", "500000.00"),
        ("contact_phone", "13800000000"),
    ])
}

fn approved(application: &approval::Application) -> events::EventEnvelope {
    let event = Event::new(
        APPROVED,
        "331100/market-regulation",
        application.id.clone(),
        &events::ApplicationApproved {
            application: Some(application.clone()),
            entry: None,
        },
    );
    events::EventEnvelope {
        id: uuid::Uuid::now_v7().to_string(),
        r#type: event.event_type,
        tenant: event.tenant,
        source: "approval".into(),
        subject: event.subject,
        payload: Some(event.payload),
        ..Default::default()
    }
}

/// Hands `event` to the certificate center's consumer in a transaction of
/// its own, committed, as the consumer does.
async fn deliver(h: &Harness, event: &events::EventEnvelope) {
    let subscriptions = h.center.subscriptions();
    let (subscription, handler) = subscriptions
        .iter()
        .find(|(subscription, _)| subscription.bindings.iter().any(|b| b == APPROVED))
        .expect("a consumer of approved applications");
    assert_eq!(subscription.name, "certificate.issue-on-approval");
    let txn = h.db.begin().await.unwrap();
    handler.handle(&txn, event).await.unwrap();
    txn.commit().await.unwrap();
}

#[tokio::test]
async fn an_approved_application_is_issued_on_exactly_once() {
    let h = Harness::postgres().await;
    let issuer = licence_issuer(&h).await;
    let application = application(MARKET, "business-licence", licence_form());
    let event = approved(&application);
    deliver(&h, &event).await;
    deliver(&h, &event).await;
    // A second delivery under another event id (a re-publication).
    deliver(&h, &approved(&application)).await;

    assert_eq!(h.count("certificates").await, 1);
    assert_eq!(
        h.count("event_outbox WHERE event_type = 'certificate.certificate.issued'")
            .await,
        1
    );
    let listed = list_as(&h, &staff("clerk", MARKET, &[Role::Viewer])).await;
    let licence = &listed[0];
    assert_eq!(licence.application_id, application.id);
    assert_eq!(licence.issuer_id, issuer.id);
    let names: Vec<&str> = licence.claims.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["company_name", "legal_representative", "registered_capital"],
        "form fields become the type's claims by name; the rest stay behind"
    );
    assert_eq!(
        h.count("audit_log WHERE actor = 'certificate' AND action = 'certificate.certificate.issue' AND outcome = 'allowed'")
            .await,
        1
    );
    let result = verify(
        &h,
        &staff("teller", "331100/agricultural-bank", &[Role::Viewer]),
        &licence.token,
        false,
    )
    .await
    .unwrap();
    assert_eq!(result.outcome(), pb::VerificationOutcome::Valid);
}

#[tokio::test]
async fn applications_that_cannot_be_issued_on_are_audited_and_settled() {
    let h = Harness::postgres().await;
    licence_issuer(&h).await;
    let audited = |reason: &'static str| {
        let h = &h;
        async move {
            h.count(&format!(
                "audit_log WHERE action = 'certificate.certificate.issue' AND outcome = 'failed' AND reason = '{reason}'"
            ))
            .await
        }
    };

    // No certificate type on the item: not the center's business at all.
    let before = h.count("audit_log").await;
    deliver(&h, &approved(&application(MARKET, "", licence_form()))).await;
    assert_eq!(h.count("audit_log").await, before);

    deliver(
        &h,
        &approved(&application(HEALTH, "business-licence", licence_form())),
    )
    .await;
    assert_eq!(audited("NO_ISSUER").await, 1);
    deliver(
        &h,
        &approved(&application(MARKET, "no-such-type", licence_form())),
    )
    .await;
    assert_eq!(audited("UNKNOWN_CERTIFICATE_TYPE").await, 1);
    let incomplete = form(&[("company_name", COMPANY)]);
    deliver(
        &h,
        &approved(&application(MARKET, "business-licence", incomplete)),
    )
    .await;
    let malformed = form(&[
        ("company_name", COMPANY),
        ("legal_representative", "王青"),
        ("established_on", "May 1st"),
    ]);
    deliver(
        &h,
        &approved(&application(MARKET, "business-licence", malformed)),
    )
    .await;
    assert_eq!(audited("FORM_DOES_NOT_FIT").await, 2);
    let mut person_applicant = application(MARKET, "business-licence", licence_form());
    person_applicant.applicant = Some(approval::Applicant {
        holder: Some(person("张三", "33110019900101123X")),
        ..Default::default()
    });
    deliver(&h, &approved(&person_applicant)).await;
    assert_eq!(
        audited("FORM_DOES_NOT_FIT").await,
        3,
        "a person is no licence holder"
    );
    let mut nobody = application(MARKET, "business-licence", licence_form());
    nobody.applicant = None;
    deliver(&h, &approved(&nobody)).await;
    assert_eq!(audited("APPLICATION_UNREADABLE").await, 1);

    assert_eq!(h.count("certificates").await, 0);
}

async fn list_as(h: &Harness, caller: &zhongtai_kit::Caller) -> Vec<pb::Certificate> {
    use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;
    h.api
        .list_certificates(by(caller, pb::ListCertificatesRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .certificates
}
