//! The events the catalog publishes, built from domain values: routing key,
//! tenant, subject and the contract payload of each.

use zhongtai_contracts::events::v1 as events;
use zhongtai_events::Event;
use zhongtai_kit::proto::actor_message;

use crate::api::{grant_message, request_message, resource_message};
use crate::domain::changes::CatalogEvent;
use crate::domain::grant::Grant;

/// Resource and grant events belong to the resource's owner; access-request
/// events to the requester.
pub fn event(event: &CatalogEvent) -> Event {
    match event {
        CatalogEvent::ResourcePublished { resource, actor } => Event::new(
            "catalog.resource.published",
            resource.owner.key(),
            resource.id.to_string(),
            &events::ResourcePublished {
                resource: Some(resource_message(resource)),
                actor: Some(actor_message(actor)),
            },
        ),
        CatalogEvent::ResourceUpdated {
            resource,
            changed_fields,
            actor,
            note,
        } => Event::new(
            "catalog.resource.updated",
            resource.owner.key(),
            resource.id.to_string(),
            &events::ResourceUpdated {
                resource: Some(resource_message(resource)),
                changed_fields: Some(prost_types::FieldMask {
                    paths: changed_fields.clone(),
                }),
                actor: Some(actor_message(actor)),
                change_note: note.clone(),
            },
        ),
        CatalogEvent::ResourceRetired {
            resource,
            actor,
            reason,
        } => Event::new(
            "catalog.resource.retired",
            resource.owner.key(),
            resource.id.to_string(),
            &events::ResourceRetired {
                resource: Some(resource_message(resource)),
                actor: Some(actor_message(actor)),
                reason: reason.clone(),
            },
        ),
        CatalogEvent::AccessRequestSubmitted(request) => Event::new(
            "catalog.access_request.submitted",
            request.requester.key(),
            request.id.to_string(),
            &events::AccessRequestSubmitted {
                access_request: Some(request_message(request)),
            },
        ),
        CatalogEvent::AccessRequestApproved {
            request,
            grant,
            auto_approved,
        } => Event::new(
            "catalog.access_request.approved",
            request.requester.key(),
            request.id.to_string(),
            &events::AccessRequestApproved {
                access_request: Some(request_message(request)),
                grant: Some(grant_message(grant)),
                auto_approved: *auto_approved,
            },
        ),
        CatalogEvent::AccessRequestRejected(request) => Event::new(
            "catalog.access_request.rejected",
            request.requester.key(),
            request.id.to_string(),
            &events::AccessRequestRejected {
                access_request: Some(request_message(request)),
            },
        ),
        CatalogEvent::AccessRequestWithdrawn { request, actor } => Event::new(
            "catalog.access_request.withdrawn",
            request.requester.key(),
            request.id.to_string(),
            &events::AccessRequestWithdrawn {
                access_request: Some(request_message(request)),
                actor: Some(actor_message(actor)),
            },
        ),
        CatalogEvent::GrantCreated(grant) => grant_event(
            "catalog.grant.created",
            grant,
            &events::GrantCreated {
                grant: Some(grant_message(grant)),
            },
        ),
        CatalogEvent::GrantApproved(grant) => grant_event(
            "catalog.grant.approved",
            grant,
            &events::GrantApproved {
                grant: Some(grant_message(grant)),
            },
        ),
        CatalogEvent::GrantProvisioned {
            grant,
            subscription_id,
        } => grant_event(
            "catalog.grant.provisioned",
            grant,
            &events::GrantProvisioned {
                grant: Some(grant_message(grant)),
                subscription_id: subscription_id.clone(),
            },
        ),
        CatalogEvent::GrantRevoked(grant) => grant_event(
            "catalog.grant.revoked",
            grant,
            &events::GrantRevoked {
                grant: Some(grant_message(grant)),
            },
        ),
        CatalogEvent::GrantExpired(grant) => grant_event(
            "catalog.grant.expired",
            grant,
            &events::GrantExpired {
                grant: Some(grant_message(grant)),
            },
        ),
    }
}

fn grant_event<M: prost::Name>(event_type: &str, grant: &Grant, payload: &M) -> Event {
    Event::new(event_type, grant.owner.key(), grant.id.to_string(), payload)
}
