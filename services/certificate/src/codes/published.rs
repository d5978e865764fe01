//! The events the codes part publishes. Scans publish none: they are
//! recorded in bulk and read by queries. Dependant links belong to no
//! tenant (their tenant is empty); offline codes and venues to the tenant
//! that made them. Code tokens never appear: a printed code is a bearer
//! credential.

use zhongtai_contracts::events::v1 as events;
use zhongtai_events::Event;
use zhongtai_kit::Actor;
use zhongtai_kit::proto::{actor_message, timestamp};

use super::api::convert::{dependant_message, venue_message};
use super::domain::model::{DependantLink, OfflineCode, Venue};
use crate::shared::convert::holder_message;

/// `certificate.dependant.linked`
pub fn dependant_linked(link: &DependantLink, actor: &Actor) -> Event {
    Event::new(
        "certificate.dependant.linked",
        "",
        link.id.to_string(),
        &events::DependantLinked {
            dependant: Some(dependant_message(link)),
            actor: Some(actor_message(actor)),
        },
    )
}

/// `certificate.dependant.unlinked`
pub fn dependant_unlinked(link: &DependantLink, actor: &Actor) -> Event {
    Event::new(
        "certificate.dependant.unlinked",
        "",
        link.id.to_string(),
        &events::DependantUnlinked {
            dependant: Some(dependant_message(link)),
            actor: Some(actor_message(actor)),
        },
    )
}

/// `certificate.offline_code.issued`
pub fn offline_code_issued(code: &OfflineCode) -> Event {
    Event::new(
        "certificate.offline_code.issued",
        code.tenant.key(),
        code.id.to_string(),
        &events::OfflineCodeIssued {
            code_id: code.id.to_string(),
            holder: Some(holder_message(&code.holder.masked())),
            issue_time: Some(timestamp(code.issued_at)),
            expire_time: Some(timestamp(code.expires_at)),
            key_id: code.key_id.clone(),
            actor: Some(actor_message(&code.issued_by)),
        },
    )
}

/// `certificate.offline_code.revoked`
pub fn offline_code_revoked(code: &OfflineCode, actor: &Actor) -> Event {
    Event::new(
        "certificate.offline_code.revoked",
        code.tenant.key(),
        code.id.to_string(),
        &events::OfflineCodeRevoked {
            code_id: code.id.to_string(),
            holder: Some(holder_message(&code.holder.masked())),
            reason: code.revoke_reason.clone(),
            actor: Some(actor_message(actor)),
        },
    )
}

/// `certificate.venue.registered`
pub fn venue_registered(venue: &Venue, actor: &Actor) -> Event {
    Event::new(
        "certificate.venue.registered",
        venue.tenant.key(),
        venue.id.to_string(),
        &events::VenueRegistered {
            venue: Some(venue_message(venue)),
            actor: Some(actor_message(actor)),
        },
    )
}
