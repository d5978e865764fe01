//! The events the certificates part publishes: routing key, tenant,
//! subject and contract payload of each. Certificate events belong to the
//! issuing department; status-list events to the platform.

use chrono::{DateTime, Utc};
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::Event;
use zhongtai_kit::Actor;
use zhongtai_kit::proto::actor_message;

use super::api::status_list_message;
use super::domain::lifecycle::StatusAction;
use super::domain::lists::PublishedList;
use crate::shared::CertificateRecord;
use crate::shared::convert::certificate_message;

pub fn issued(record: &CertificateRecord, actor: &Actor, now: DateTime<Utc>) -> Event {
    Event::new(
        "certificate.certificate.issued",
        record.issuer_tenant.key(),
        record.id.to_string(),
        &events::CertificateIssued {
            certificate: Some(certificate_message(record, now)),
            actor: Some(actor_message(actor)),
        },
    )
}

pub fn status_changed(
    action: StatusAction,
    record: &CertificateRecord,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Event {
    let certificate = Some(certificate_message(record, now));
    let actor = Some(actor_message(actor));
    let tenant = record.issuer_tenant.key();
    let subject = record.id.to_string();
    match action {
        StatusAction::Revoke => Event::new(
            "certificate.certificate.revoked",
            tenant,
            subject,
            &events::CertificateRevoked { certificate, actor },
        ),
        StatusAction::Suspend => Event::new(
            "certificate.certificate.suspended",
            tenant,
            subject,
            &events::CertificateSuspended { certificate, actor },
        ),
        StatusAction::Reinstate => Event::new(
            "certificate.certificate.reinstated",
            tenant,
            subject,
            &events::CertificateReinstated { certificate, actor },
        ),
    }
}

pub fn list_published(list: &PublishedList, platform_tenant: &str) -> Event {
    Event::new(
        "certificate.status_list.published",
        platform_tenant,
        list.id.clone(),
        &events::StatusListPublished {
            status_list: Some(status_list_message(list)),
        },
    )
}
