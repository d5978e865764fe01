//! The events the consents part publishes (payloads of
//! `zhongtai.events.v1`), built from domain values. Tenant: the custodian;
//! subject: the consent id; routing key: the event type.

use zhongtai_contracts::events::v1 as events;
use zhongtai_events::Event;
use zhongtai_kit::proto::actor_message;

use super::api::messages::{consent_message, unlock_message, usage_message};
use super::domain::{Change, Consent, ConsentEvent, Usage};

/// The events of a change, in the order they happened.
pub fn change_events(change: &Change) -> Vec<Event> {
    let consent = &change.consent;
    change
        .events
        .iter()
        .map(|event| {
            let message = Some(consent_message(consent));
            match event {
                ConsentEvent::Requested { actor } => of(
                    consent,
                    "certificate.consent.requested",
                    &events::ConsentRequested {
                        consent: message,
                        actor: Some(actor_message(actor)),
                    },
                ),
                ConsentEvent::Unlocked { unlock } => of(
                    consent,
                    "certificate.consent.unlocked",
                    &events::ConsentUnlocked {
                        consent: message,
                        unlock: Some(unlock_message(unlock)),
                    },
                ),
                ConsentEvent::Activated => of(
                    consent,
                    "certificate.consent.activated",
                    &events::ConsentActivated { consent: message },
                ),
                ConsentEvent::Declined { actor } => of(
                    consent,
                    "certificate.consent.declined",
                    &events::ConsentDeclined {
                        consent: message,
                        actor: Some(actor_message(actor)),
                    },
                ),
                ConsentEvent::Revoked { actor } => of(
                    consent,
                    "certificate.consent.revoked",
                    &events::ConsentRevoked {
                        consent: message,
                        actor: Some(actor_message(actor)),
                    },
                ),
                ConsentEvent::Exhausted => of(
                    consent,
                    "certificate.consent.exhausted",
                    &events::ConsentExhausted { consent: message },
                ),
                ConsentEvent::Expired => of(
                    consent,
                    "certificate.consent.expired",
                    &events::ConsentExpired { consent: message },
                ),
            }
        })
        .collect()
}

/// `certificate.consent.read`: one logged attempt, allowed or refused.
pub fn read(consent: &Consent, usage: &Usage, remaining_reads: i64) -> Event {
    of(
        consent,
        "certificate.consent.read",
        &events::ConsentRead {
            usage: Some(usage_message(usage)),
            remaining_reads,
        },
    )
}

fn of<M: prost::Name>(consent: &Consent, event_type: &str, payload: &M) -> Event {
    Event::new(
        event_type,
        consent.terms.custodian.key(),
        consent.id.to_string(),
        payload,
    )
}
