//! The events the approval center publishes, built from domain values.
//! Tenant: the owning (handling) tenant; subject: the aggregate's id.

use prost_types::FieldMask;
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::Event;
use zhongtai_kit::Actor;
use zhongtai_kit::proto::actor_message;

use crate::api::convert::{application_message, history_entry_message};
use crate::api::{item_message, process_message};
use crate::domain::application::{Transition, TransitionKind};
use crate::domain::process::ProcessDefinition;
use crate::domain::{ItemChange, ServiceItem};

/// `approval.service_item.created`
pub fn item_created(item: &ServiceItem) -> Event {
    Event::new(
        "approval.service_item.created",
        item.tenant.key(),
        item.id.to_string(),
        &events::ServiceItemCreated {
            item: Some(item_message(item)),
        },
    )
}

/// `approval.service_item.updated`
pub fn item_updated(change: &ItemChange) -> Event {
    Event::new(
        "approval.service_item.updated",
        change.item.tenant.key(),
        change.item.id.to_string(),
        &events::ServiceItemUpdated {
            item: Some(item_message(&change.item)),
            changed_fields: Some(FieldMask {
                paths: change.changed_fields.clone(),
            }),
            actor: Some(actor_message(&change.actor)),
        },
    )
}

/// `approval.process_definition.created`
pub fn process_created(process: &ProcessDefinition) -> Event {
    Event::new(
        "approval.process_definition.created",
        process.tenant.key(),
        process.id.to_string(),
        &events::ProcessDefinitionCreated {
            definition: Some(process_message(process)),
        },
    )
}

/// `approval.process_definition.revised`
pub fn process_revised(process: &ProcessDefinition, previous_version: i64) -> Event {
    Event::new(
        "approval.process_definition.revised",
        process.tenant.key(),
        process.id.to_string(),
        &events::ProcessDefinitionRevised {
            definition: Some(process_message(process)),
            previous_version,
        },
    )
}

/// `approval.process_definition.deprecated`
pub fn process_deprecated(process: &ProcessDefinition, reason: &str, actor: &Actor) -> Event {
    Event::new(
        "approval.process_definition.deprecated",
        process.tenant.key(),
        process.id.to_string(),
        &events::ProcessDefinitionDeprecated {
            definition: Some(process_message(process)),
            reason: reason.to_string(),
            actor: Some(actor_message(actor)),
        },
    )
}

/// The event of one application transition, carrying the application
/// right after it and the history entry it appended.
pub fn application_event(transition: &Transition) -> Event {
    let application = Some(application_message(&transition.application));
    let entry = Some(history_entry_message(&transition.entry));
    let tenant = transition.application.tenant.key();
    let subject = transition.application.id.to_string();
    macro_rules! event {
        ($verb:literal, $payload:ident) => {
            Event::new(
                concat!("approval.application.", $verb),
                tenant,
                subject,
                &events::$payload { application, entry },
            )
        };
    }
    match transition.kind {
        TransitionKind::Submitted => event!("submitted", ApplicationSubmitted),
        TransitionKind::Resubmitted => event!("resubmitted", ApplicationResubmitted),
        TransitionKind::TaskApproved => event!("task_approved", ApplicationTaskApproved),
        TransitionKind::TaskRejected => event!("task_rejected", ApplicationTaskRejected),
        TransitionKind::StageCompleted => event!("stage_completed", ApplicationStageCompleted),
        TransitionKind::Approved => event!("approved", ApplicationApproved),
        TransitionKind::Rejected => event!("rejected", ApplicationRejected),
        TransitionKind::Returned => event!("returned", ApplicationReturned),
        TransitionKind::Recalled => event!("recalled", ApplicationRecalled),
        TransitionKind::SignerAdded => event!("signer_added", ApplicationSignerAdded),
        TransitionKind::TaskTransferred => event!("task_transferred", ApplicationTaskTransferred),
        TransitionKind::ReminderDue => event!("reminder_due", ApplicationReminderDue),
        TransitionKind::Escalated => event!("escalated", ApplicationEscalated),
    }
}
